"""The response rules: what each says, and that each is written once.

The scenarios, the contract judge and the fuzzer's checks must hold a response to the same rule; a second copy
of a rule is how they came to disagree (a prefix match in one place, a boundary-aware match in another).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kratos_conformance.rules import response_rules
from kratos_conformance.rules.response_rules import (
    CookiePolicy,
    RedirectTargets,
    cache_control_problem,
    csrf_cookie_problems,
    flow_content_type_problem,
    leak,
    location_problem,
    stored_csrf_cookie_problems,
)

ROOT = Path(__file__).resolve().parents[1]
TARGETS = RedirectTargets("https://id.example/", "https://ui.example/verification", "https://ui.example/error",
                          "https://app.example.com/after")
COOKIE = "csrf_token_" + "a" * 64 + "=secret; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"


@pytest.mark.parametrize(("location", "allowed"), [
    ("https://ui.example/verification?flow=1", True),
    ("https://ui.example/error?id=2", True),
    ("https://id.example/self-service/verification/flows?id=3", True),
    ("https://app.example.com/after", True),
    ("https://ui.example/verification-evil", False),        # a prefix, but not below it
    ("https://app.example.com/after.evil.example/", False),
    ("https://id.example/admin/identities", False),         # the public API, but not its self-service routes
    ("//evil.example/", False),                             # not absolute
    (None, False),
])
def test_a_redirect_may_only_lead_to_the_ui_the_error_ui_the_api_or_return_to(location: str | None,
                                                                             allowed: bool) -> None:
    assert (location_problem(location, TARGETS) is None) is allowed


def test_with_the_uis_unknown_only_the_shape_of_a_redirect_is_judged() -> None:
    loose = RedirectTargets("https://id.example/")
    assert location_problem("https://anywhere.example/x", loose) is None
    assert location_problem("/relative", loose) is not None


@pytest.mark.parametrize(("value", "ok"), [
    ("private, no-cache, no-store, must-revalidate", True),
    ("no-store, must-revalidate, private, no-cache, max-age=0", True),   # any order, others allowed
    ("no-cache", False),
    (None, False),
])
def test_a_flow_read_must_not_be_cacheable(value: str | None, ok: bool) -> None:
    assert (cache_control_problem(value) is None) is ok


def test_the_csrf_cookie_has_kratos_name_and_attributes() -> None:
    assert csrf_cookie_problems(COOKIE) == []
    assert csrf_cookie_problems(COOKIE, CookiePolicy(secure=True)) == ["Secure missing"]
    assert csrf_cookie_problems(COOKIE + "; Secure", CookiePolicy(secure=False)) == [
        "Secure set on a plain-http deployment"]
    assert "not HttpOnly" in csrf_cookie_problems(COOKIE.replace("; HttpOnly", ""))
    assert csrf_cookie_problems(COOKIE.replace("Max-Age=31536000", "Max-Age=60")) == [
        "Max-Age is '60', not 31536000"]
    assert csrf_cookie_problems("csrf_token=x; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax") == [
        "name 'csrf_token' is not csrf_token_<sha256 hex>"]


def test_the_csrf_cookie_keeps_the_deployment_s_same_site_and_path() -> None:
    strict = CookiePolicy(secure=True, same_site="Strict", path="/auth")
    secure_strict = COOKIE.replace("SameSite=Lax", "SameSite=Strict").replace("Path=/", "Path=/auth") + "; Secure"
    assert csrf_cookie_problems(secure_strict, strict) == []
    assert csrf_cookie_problems(secure_strict.replace("SameSite=Strict", "SameSite=Lax"), strict) == [
        "SameSite is 'Lax', not Strict"]
    assert csrf_cookie_problems(secure_strict.replace("Path=/auth", "Path=/"), strict) == ["Path is '/', not '/auth'"]
    # Kratos sends Lax on a cookie that is not Secure, whatever is configured; None is never right without Secure
    dev = CookiePolicy(secure=False, same_site="None")
    assert csrf_cookie_problems(COOKIE, dev) == []
    assert csrf_cookie_problems(COOKIE.replace("SameSite=Lax", "SameSite=None"), dev) == []
    assert csrf_cookie_problems(COOKIE.replace("SameSite=Lax", "SameSite=None")) == ["SameSite is 'None', not Lax"]
    assert csrf_cookie_problems(COOKIE.replace("; SameSite=Lax", "")) == ["SameSite is None, not Lax"]


def test_the_cookie_a_browser_stored_is_held_to_the_same_policy() -> None:
    stored = {"name": "csrf_token_ab", "httpOnly": True, "path": "/", "sameSite": "Lax", "secure": False}
    assert stored_csrf_cookie_problems(stored, CookiePolicy(secure=False)) == []
    assert stored_csrf_cookie_problems({**stored, "httpOnly": False, "sameSite": "None"}) == [
        "not HttpOnly", "SameSite is 'None', not Lax"]
    assert stored_csrf_cookie_problems(stored, CookiePolicy(path="/auth")) == ["Path is '/', not '/auth'"]


@pytest.mark.parametrize(("text", "document", "found"), [
    ('Traceback (most recent call last):\n  File "x.py", line 3', None, True),
    ("goroutine 12 [running]:", None, True),
    ("{}", {"error": {"code": 500, "debug": "sql: no rows"}}, True),
    ("{}", {"error": {"code": 400, "reason": "bad"}}, False),
])
def test_a_body_must_not_leak_internals(text: str, document: object, found: bool) -> None:
    assert (leak(text, document) is not None) is found


@pytest.mark.parametrize(("value", "ok"), [
    ("application/json; charset=utf-8", True), ("application/json;charset=UTF-8", True),
    ("application/json", False), ("text/html; charset=utf-8", False), (None, False),
])
def test_a_flow_is_served_as_utf_8_json(value: str | None, ok: bool) -> None:
    assert (flow_content_type_problem(value) is None) is ok


@pytest.mark.parametrize(("url", "ok"), [
    ("https://ui.example/verification", True), ("http://127.0.0.1:4455/", True),
    ("//evil.example/", False), ("/verification", False), ("javascript:alert(1)", False), ("https:///x", False),
])
def test_an_absolute_http_url(url: str, ok: bool) -> None:
    assert response_rules.is_absolute_http_url(url) is ok


#: a literal only a copy of a rule would contain, by rule
RULE_MARKERS = {
    "the CSRF cookie's attributes": re.escape('"not HttpOnly"'),
    "the absolute-URL shape": re.escape('scheme in ("http", "https") and bool('),
    "the flow's content type": re.escape("application/json; charset=utf-8"),
    "the CSRF cookie's name": re.escape("csrf_token_[0-9a-f]"),
    "the stack-trace pattern": re.escape("goroutine \\d+"),
    "the no-cache directives": r"\(\s*\"private\",\s*\"no-cache\"",
    "the redirect boundary": re.escape('rest[0] in "?#/"'),
    "what a redirect is": r"300\s*<=\s*[\w.]+\s*<\s*400",
    "what a server error is": r"status\s*>=\s*500",
    "the error UI's error id": re.escape("?id=<uuid>"),
    "a cookie's shape, compared": r'!= "expires"|"expires=',
}


def _judges_holding(pattern: re.Pattern[str]) -> list[str]:
    """The judges' modules (the library and the suites) whose source matches ``pattern``."""
    return sorted(str(path.relative_to(ROOT)) for folder in ("kratos_conformance", "suites")
                  for path in (ROOT / folder).rglob("*.py") if pattern.search(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("rule", sorted(RULE_MARKERS))
def test_each_rule_is_written_once(rule: str) -> None:
    """Only kratos_conformance/rules/response_rules.py holds the rule among the judges (the library and the suites; the
    reference target, kratos_reference/, is a server, not a judge)."""
    pattern = re.compile(RULE_MARKERS[rule])
    holders = _judges_holding(pattern)
    assert holders == ["kratos_conformance/rules/response_rules.py"], f"{rule} is written in {holders}"
    assert pattern.search(Path(response_rules.__file__).read_text(encoding="utf-8"))


#: what only a copy of a release's UI rules would contain: reading the ids the release knows, laying a flow out
UI_RULE_MARKERS = {
    "the message ids a release knows (VER-RESP-MESSAGE-IDS)": r"\.known_message_ids\b",
    "a flow's node layout (VER-UI-LAYOUT)": r"\blayout_of\(",
}


@pytest.mark.parametrize("rule", sorted(UI_RULE_MARKERS))
def test_each_ui_rule_is_written_once(rule: str) -> None:
    """The message-id and layout rules live in kratos_conformance/rules/ui_expectations.py alone: the contract judge and
    the fuzzer's known_message_ids call UiExpectations, nothing reads the profile's ids or lays a flow out again."""
    from kratos_conformance.rules import ui_expectations

    pattern = re.compile(UI_RULE_MARKERS[rule])
    holders = _judges_holding(pattern)
    assert holders == ["kratos_conformance/rules/ui_expectations.py"], f"{rule} is written in {holders}"
    assert pattern.search(Path(ui_expectations.__file__).read_text(encoding="utf-8"))


def test_the_contract_leaves_header_values_to_the_rules() -> None:
    """The contract documents which headers a response carries; what their values must say is a rule of
    response_rules.py (the no-cache directives once had a second, disagreeing copy as a header pattern here, and
    Location's ``format: uri`` made schemathesis judge VER-RESP-HEADERS differently from the contract judge)."""
    from kratos_conformance.rules.contract import load_contract

    headers = load_contract()["components"]["headers"]
    constrained = sorted(name for name, header in headers.items() if header.get("schema") != {"type": "string"})
    assert constrained == [], f"header values judged by the contract's schema: {constrained}"


def test_a_scenario_s_redirect_check_with_the_ui_unknown_judges_the_shape_and_can_fail() -> None:
    """``checks.redirect(to=None)`` (no UI URL given nor learned) accepts only a 303 to an absolute http(s) URL:
    never "any Location", as ``ui_url or ""`` once did."""
    import httpx

    from kratos_conformance.rules import checks
    from kratos_conformance.wire.exchanges import Exchange

    def answer(status: int, location: str) -> Exchange:
        request = httpx.Request("GET", "http://127.0.0.1:4433/self-service/verification/browser")
        return Exchange.record(httpx.Response(status, headers={"location": location}, request=request), "browser",
                               0.0, 0.0)

    with checks.hold() as held:
        assert checks.redirect(answer(303, "https://ui.example/verification?flow=1"), None,
                               "VER-INIT-BROWSER-303") == "https://ui.example/verification?flow=1"
        for status, location in ((303, "/verification?flow=1"), (302, "https://ui.example/verification"),
                                 (303, "javascript:alert(1)")):
            with pytest.raises(checks.RequirementFailure, match="absolute URL"):
                checks.redirect(answer(status, location), None, "VER-INIT-BROWSER-303")
    assert [r.passed for r in held] == [True, False, False, False]
    assert {r.name for r in held} == {"redirect, shape only"}  # a pass on shape alone says so


def test_the_contract_judge_says_when_it_judged_a_redirect_by_its_shape_alone() -> None:
    """With the UIs unknown (not given, not learned), any absolute Location passes VER-RESP-LOCATION: the contract
    judge reports that pass as ``contract, shape only``, as the scenarios' redirect check does; with them given,
    plainly ``contract``."""
    import httpx

    from kratos_conformance.rules import checks
    from kratos_conformance.rules.contract_judge import ContractJudge
    from kratos_conformance.rules.profiles import get_profile
    from kratos_conformance.run.target import Target
    from kratos_conformance.wire.exchanges import Exchange

    def target(**uis: str) -> Target:
        return Target(public_url="http://127.0.0.1:4433/", admin_url=None, admin_token=None,
                      profile=get_profile("kratos-v26"), wait_budget=30.0, mail_timeout=10.0, **uis)

    request = httpx.Request("GET", "http://127.0.0.1:4433/self-service/verification/browser")
    answer = Exchange.record(httpx.Response(303, headers={"location": "https://anywhere.example/x",
                                                          "content-type": "text/html; charset=utf-8"},
                                            text='<a href="https://anywhere.example/x">See Other</a>.',
                                            request=request), "browser", 0.0, 0.0)
    for uis, name, passed in (
            ({}, "contract, shape only", True),
            ({"ui_url": "https://ui.example/verification", "error_ui_url": "https://ui.example/error"}, "contract",
             False)):
        with checks.hold() as held:
            try:
                ContractJudge(target(**uis)).judge(answer)
            except checks.RequirementFailure:
                pass
        location = [r for r in held if r.requirement == "VER-RESP-LOCATION"]
        assert [(r.name, r.passed) for r in location] == [(name, passed)]


def test_a_redirect_carries_exactly_one_location() -> None:
    """Every judge reads all of an answer's Location headers the same way: two are a problem, whichever is first
    (the contract judge once read httpx's comma-joined value, the fuzzer the first one)."""
    fine = "https://ui.example/verification?flow=1"
    assert response_rules.location_problem([fine], TARGETS) is None
    assert response_rules.location_problem(fine, TARGETS) is None
    assert response_rules.location_problem([fine, "https://evil.example/"], TARGETS) == \
        "a redirect with 2 Location headers"
    assert response_rules.location_problem([], TARGETS) == "a redirect without a Location header"
    assert [response_rules.is_redirect(s) for s in (299, 300, 303, 399, 400)] == [False, True, True, True, False]
