"""The pure parts of the fuzzing library (kratos_conformance.fuzzing): budgets, seeds, curl lines, the custom
checks, requirement mapping and live-flow injection. No server: responses are built with httpx.Response."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis

from kratos_conformance import fuzzing
from kratos_conformance.errors import CannotJudge
from kratos_conformance.explain import RULES
from kratos_conformance.mail import SmtpSink
from kratos_conformance.rules import checks, response_rules
from kratos_conformance.rules.catalog import requirement
from kratos_conformance.rules.checks import CheckResult, RequirementFailure
from kratos_conformance.rules.profiles import get_profile
from kratos_conformance.rules.ui_expectations import expectations
from kratos_conformance.run.target import Target
from kratos_conformance.wire.curl import curl_line

PUBLIC = "http://127.0.0.1:4433/"
UI = PUBLIC + "ui/verification"
ERROR_UI = PUBLIC + "ui/error"
FLOW_ID = "2a4b6c8d-1111-4222-8333-944455556666"
CSRF_SECRET = "c2VjcmV0LWNzcmYtdG9rZW4tdmFsdWU="
COOKIE_NAME = "csrf_token_" + "ab" * 32
GOOD_COOKIE = f"{COOKIE_NAME}={CSRF_SECRET}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
NO_STORE = "private, no-cache, no-store, must-revalidate"
JSON = "application/json; charset=utf-8"
CHECK_TARGET = fuzzing.CheckTarget(public_url=PUBLIC, ui_url=UI, error_ui_url=ERROR_UI,
                                   return_to="https://app.conformance.test/welcome",
                                   ui=expectations(get_profile("kratos-v26")))


def text(message_id: int, kind: str = "info") -> dict[str, Any]:
    return {"id": message_id, "text": f"message {message_id}", "type": kind}


def _input(group: str, name: str, kind: str, label: int | None = None, value: str | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"name": name, "type": kind, "required": kind != "submit", "disabled": False,
                                  "node_type": "input"}
    if value is not None:
        attributes["value"] = value
    return {"type": "input", "group": group, "messages": [], "meta": {"label": text(label)} if label else {},
            "attributes": attributes}


def flow_doc(messages: list[int] | None = None, state: str = "choose_method", **extra: Any) -> dict[str, Any]:
    """A browser flow of the code method in ``state`` (choose_method or sent_email), its nodes laid out as Kratos
    v26.2.0 lays them out, valid against the contract."""
    csrf = _input("default", "csrf_token", "hidden", value="masked-csrf-value")
    nodes = {
        "choose_method": [_input("code", "email", "email", 1070007), _input("code", "method", "submit", 1070009,
                                                                            "code"), csrf],
        "sent_email": [_input("code", "method", "hidden", value="code"), _input("code", "code", "text", 1070011),
                       _input("code", "method", "submit", 1070009, "code"), csrf,
                       _input("code", "email", "submit", 1070008, "a@example.org")],
    }[state]
    doc: dict[str, Any] = {
        "id": FLOW_ID, "type": "browser", "state": state, "active": "code",
        "expires_at": "2026-01-01T00:10:00Z", "issued_at": "2026-01-01T00:00:00Z",
        "request_url": PUBLIC + "self-service/verification/browser",
        "ui": {
            "action": f"{PUBLIC}self-service/verification?flow={FLOW_ID}", "method": "POST",
            "messages": [text(m) for m in messages or []],
            "nodes": nodes,
        },
    }
    doc.update(extra)
    return doc


@pytest.fixture(scope="module")
def st_schema() -> Any:
    return fuzzing.fuzz_schema(PUBLIC, seed_value=1)


def case_for(st_schema: Any, method: str, path: str, **kwargs: Any) -> Any:
    return st_schema[path][method].Case(**kwargs)


def response(status: int, *, body: Any = None, headers: list[tuple[str, str]] | None = None,
             method: str = "GET", url: str = PUBLIC, request_body: bytes = b"",
             request_headers: dict[str, str] | None = None) -> schemathesis.Response:
    """A schemathesis Response built from an httpx.Response, as if the server had answered."""
    all_headers = list(headers or [])
    content = b""
    if body is not None:
        content = json.dumps(body).encode()
        all_headers.append(("Content-Type", JSON))
    request = httpx.Request(method, url, content=request_body, headers=request_headers or {})
    answer = httpx.Response(status, headers=all_headers, content=content, request=request)
    answer.elapsed = timedelta(milliseconds=3)
    return schemathesis.Response.from_any(answer)


def flows_get(st_schema: Any) -> Any:
    return case_for(st_schema, "GET", "/self-service/verification/flows", query={"id": FLOW_ID})


# ------------------------------------------------------------------------------------------ budgets, seeds

def test_budgets_parse_by_name_without_case_or_blanks() -> None:
    assert fuzzing.parse_budget(None).name == "default"
    assert fuzzing.parse_budget("").name == "default"
    assert fuzzing.parse_budget(" Smoke ").name == "smoke"
    assert fuzzing.parse_budget("DEEP").name == "deep"


def test_an_unknown_budget_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(CannotJudge, match=r"--fuzz-budget: 'huge' is not one of smoke, default, deep"):
        fuzzing.parse_budget("huge")


def test_budgets_grow_from_smoke_to_deep() -> None:
    smoke, default, deep = (fuzzing.BUDGETS[n] for n in ("smoke", "default", "deep"))
    for field in ("max_examples", "time_limit", "scenarios", "stateful_time_limit"):
        assert getattr(smoke, field) <= getattr(default, field) < getattr(deep, field), field
    assert all(b.time_limit > 0 and b.max_examples > 0 for b in fuzzing.BUDGETS.values())


def test_a_given_seed_wins_and_accepts_hex() -> None:
    assert fuzzing.resolve_seed("42", {"CI": "true"}) == fuzzing.Seed(42, "given")
    assert fuzzing.resolve_seed("0x10", {}) == fuzzing.Seed(16, "given")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_a_bad_seed_is_refused(value: str) -> None:
    with pytest.raises(CannotJudge, match="--fuzz-seed"):
        fuzzing.resolve_seed(value, {})


def test_ci_gets_a_fixed_seed_and_a_developer_a_random_one() -> None:
    assert fuzzing.resolve_seed(None, {"CI": "true"}) == fuzzing.Seed(fuzzing.CI_SEED, "ci")
    assert fuzzing.resolve_seed("", {"CI": "1"}).value == fuzzing.CI_SEED
    seeds = {fuzzing.resolve_seed(None, {}).value for _ in range(5)}
    assert len(seeds) > 1 and all(fuzzing.resolve_seed(None, {"CI": "false"}).source == "random" for _ in range(2))


def test_derived_seeds_are_stable_and_distinct_per_label() -> None:
    assert fuzzing.derive_seed(7, "op", "positive", 0) == fuzzing.derive_seed(7, "op", "positive", 0)
    assert len({fuzzing.derive_seed(7, "op", mode, r) for mode in ("positive", "negative") for r in range(3)}) == 6
    assert fuzzing.derive_seed(7, "op") != fuzzing.derive_seed(8, "op")


# ---------------------------------------------------------------------------------------------- curl lines

SECRETS = (CSRF_SECRET, "masked-csrf-value", "123456", "tok3n-tok3n-tok3n-tok3n-tok3n-32")


def assert_no_secret(line: str) -> None:
    for secret in SECRETS:
        assert secret not in line, f"{secret!r} leaked into {line!r}"


def test_curl_line_redacts_cookies_tokens_and_codes_and_keeps_the_flow_id() -> None:
    line = curl_line(
        "POST", f"{PUBLIC}self-service/verification?flow={FLOW_ID}&token={SECRETS[3]}",
        {"Content-Type": "application/json", "Cookie": f"{COOKIE_NAME}={CSRF_SECRET}", "Accept": "application/json",
         "User-Agent": "schemathesis", "X-Schemathesis-TestCaseId": "abc"},
        json.dumps({"method": "code", "code": "123456", "csrf_token": "masked-csrf-value"}).encode())
    assert_no_secret(line)
    assert FLOW_ID in line and COOKIE_NAME in line and "REDACTED" in line
    assert "User-Agent" not in line and "TestCaseId" not in line
    argv = shlex.split(line)
    assert argv[:3] == ["curl", "-X", "POST"]
    body = json.loads(argv[argv.index("--data-binary") + 1])
    assert body == {"method": "code", "code": "REDACTED", "csrf_token": "REDACTED"}


def test_curl_line_redacts_secrets_in_forms_multipart_and_broken_json() -> None:
    form = curl_line("POST", PUBLIC, {"Content-Type": "application/x-www-form-urlencoded"},
                             f"email=a%40b.c&csrf_token={SECRETS[1]}&code=123456")
    multipart_body = (f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{SECRETS[1]}\r\n'
                      f'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.c\r\n--b--\r\n')
    multipart = curl_line("POST", PUBLIC, {"Content-Type": "multipart/form-data; boundary=b"},
                                  multipart_body.encode())
    broken = curl_line("POST", PUBLIC, {"Content-Type": "application/json"},
                               f'{{"csrf_token": "{SECRETS[1]}", "code": "123456", "ema'.encode())
    for line in (form, multipart, broken):
        assert_no_secret(line)
        assert "REDACTED" in line
    assert "a@b.c" in multipart and "%40" in form


def test_curl_line_for_a_get_is_short() -> None:
    assert curl_line("GET", f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}",
                             {"Accept": "application/json"}) == (
        f"curl -H 'Accept: application/json' '{PUBLIC}self-service/verification/flows?id={FLOW_ID}'")


def test_a_body_with_nul_bytes_is_piped_in_with_printf() -> None:
    line = curl_line("POST", PUBLIC, {"Content-Type": "application/json"}, b'\x00{"a":"%\\"}')
    printf, _, curl = line.partition(" | ")
    assert printf == r"""printf '\000{"a":"%%\\"}'""" and "--data-binary @-" in curl


def test_curl_for_a_response_uses_the_request_that_was_sent() -> None:
    resp = response(404, body={"error": {"code": 404, "status": "Not Found", "message": "x"}},
                    url=f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}",
                    request_headers={"Cookie": f"{COOKIE_NAME}={CSRF_SECRET}"})
    line = fuzzing.curl_for(resp)
    assert line.startswith("curl ") and FLOW_ID in line
    assert_no_secret(line)


def test_curl_for_a_case_that_got_no_answer(st_schema: Any) -> None:
    case = case_for(st_schema, "POST", "/self-service/verification", query={"flow": FLOW_ID},
                    headers={"Cookie": f"{COOKIE_NAME}={CSRF_SECRET}"},
                    body={"method": "code", "csrf_token": SECRETS[1]}, media_type="application/json")
    line = fuzzing.curl_for_case(case, PUBLIC.rstrip("/"))
    assert line.startswith("curl -X POST") and f"flow={FLOW_ID}" in line and '"method":"code"' in line
    assert_no_secret(line)


# ------------------------------------------------------------------------------------------ custom checks

def passes(check: Any, resp: schemathesis.Response, case: Any) -> bool:
    with fuzzing.checking(CHECK_TARGET):
        try:
            check(None, resp, case)
        except AssertionError:
            return False
    return True


def test_custom_checks_are_registered_with_schemathesis_by_name() -> None:
    from schemathesis import checks as st_checks

    for check in fuzzing.CUSTOM_CHECKS:
        assert st_checks.CHECKS.get_one(check.__name__) is check
        assert fuzzing.CHECK_REQUIREMENTS[check.__name__] == check.requirement  # stated once, by rule_check
        assert check.requirement in RULES, f"{check.__name__} holds {check.requirement}, which has no response rule"
    assert [f.__name__ for f in fuzzing.fuzz_check_functions()] == list(fuzzing.CHECK_REQUIREMENTS)


def test_every_check_maps_to_one_catalog_requirement() -> None:
    for name, req_id in fuzzing.CHECK_REQUIREMENTS.items():
        assert requirement(req_id).id == req_id, name
    requirement(fuzzing.STATEFUL_REQUIREMENT)
    requirement(response_rules.NO_ANSWER_REQUIREMENT)


def test_cache_control_check(st_schema: Any) -> None:
    case = flows_get(st_schema)
    good = response(200, body=flow_doc(), headers=[("Cache-Control", NO_STORE)])
    cacheable = response(200, body=flow_doc(), headers=[("Cache-Control", "private, max-age=60")])
    missing = response(200, body=flow_doc())
    assert passes(fuzzing.flow_cache_control, good, case)
    assert not passes(fuzzing.flow_cache_control, cacheable, case)
    assert not passes(fuzzing.flow_cache_control, missing, case)
    # only flow reads that answered 200 are judged
    assert passes(fuzzing.flow_cache_control, response(404, body={"error": {}}), case)
    init = case_for(st_schema, "GET", "/self-service/verification/api")
    assert passes(fuzzing.flow_cache_control, missing, init)


@pytest.mark.parametrize(("cookie", "problem"), [
    (f"{COOKIE_NAME}=v; Path=/; Max-Age=31536000; SameSite=Lax", "not HttpOnly"),
    (f"{COOKIE_NAME}=v; Path=/x; Max-Age=31536000; HttpOnly; SameSite=Lax", "Path"),
    (f"{COOKIE_NAME}=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax", "Max-Age"),
    (f"{COOKIE_NAME}=v; Path=/; Max-Age=31536000; HttpOnly; SameSite=None", "SameSite"),
    ("csrf_token=v; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax", "sha256"),
])
def test_csrf_cookie_check(st_schema: Any, cookie: str, problem: str) -> None:
    case = case_for(st_schema, "GET", "/self-service/verification/browser")
    assert passes(fuzzing.csrf_cookie_attributes, response(200, body=flow_doc(), headers=[("Set-Cookie", GOOD_COOKIE)]),
                  case)
    bad = response(200, body=flow_doc(), headers=[("Set-Cookie", "other=1"), ("Set-Cookie", cookie)])
    with pytest.raises(AssertionError, match=problem):
        fuzzing.csrf_cookie_attributes(None, bad, case)
    assert response_rules.csrf_cookie_problems(GOOD_COOKIE) == []


def test_message_id_check(st_schema: Any) -> None:
    case = flows_get(st_schema)
    assert passes(fuzzing.known_message_ids, response(200, body=flow_doc([1080003], "sent_email")), case)
    unknown = flow_doc([1080003, 4999999], "sent_email")
    assert not passes(fuzzing.known_message_ids, response(200, body=unknown), case)
    labelled = flow_doc()
    labelled["ui"]["nodes"][1]["meta"]["label"] = text(1234567)
    assert not passes(fuzzing.known_message_ids, response(200, body=labelled), case)
    mistyped = flow_doc()
    mistyped["ui"]["messages"] = [text(1080003, "error")]  # Kratos shows 1080003 as info
    assert not passes(fuzzing.known_message_ids, response(200, body=mistyped), case)
    early = flow_doc([1080003])  # "a code was sent" on a flow still choosing its method
    assert not passes(fuzzing.known_message_ids, response(200, body=early), case)


def test_the_fuzzer_does_not_judge_node_layouts() -> None:
    """Kratos lays a flow out after the input it was given (a fuzzed email on a passed flow adds an email node, a
    transient_payload adds a node of its own; seen against Kratos v26.2.0), so a layout is judged only on the
    scenarios' scripted answers, which the recordings cover (contract_judge), never on fuzzed ones."""
    assert "VER-UI-LAYOUT" not in fuzzing.CHECK_REQUIREMENTS.values()


@pytest.mark.parametrize(("location", "ok"), [
    (f"{UI}?flow={FLOW_ID}", True),
    (f"{ERROR_UI}?id={FLOW_ID}", True),
    (f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}", True),
    ("https://app.conformance.test/welcome", True),
    ("https://evil.example/phish?flow=1", False),
    (f"{UI}-evil?flow=1", False),
    (f"/ui/verification?flow={FLOW_ID}", False),
    (None, False),
])
def test_redirect_location_check(st_schema: Any, location: str | None, ok: bool) -> None:
    case = case_for(st_schema, "GET", "/self-service/verification/browser")
    headers = [("Location", location)] if location else []
    assert passes(fuzzing.redirect_location, response(303, headers=headers), case) is ok


def test_redirects_are_judged_by_shape_when_the_uis_are_unknown() -> None:
    loose = fuzzing.CheckTarget(public_url=PUBLIC)
    assert response_rules.location_problem("https://ui.example/verify?flow=1", loose) is None
    assert response_rules.location_problem("/relative", loose) is not None


def test_custom_checks_skip_without_a_check_target(st_schema: Any) -> None:
    case = flows_get(st_schema)
    assert fuzzing.redirect_location(None, response(303, headers=[("Location", "https://evil/")]), case) is True
    assert fuzzing.known_message_ids(None, response(200, body=flow_doc([4999999])), case) is True


def test_leak_check(st_schema: Any) -> None:
    case = flows_get(st_schema)
    clean = {"error": {"code": 404, "status": "Not Found", "message": "not found"}}
    debug = {"error": {"code": 500, "status": "Internal", "message": "x", "debug": "db down"}}
    assert passes(fuzzing.no_body_leak, response(404, body=clean), case)
    assert not passes(fuzzing.no_body_leak, response(500, body=debug), case)
    answer = httpx.Response(500, content=b'Traceback (most recent call last):\n  File "app.py", line 3, in <module>',
                            headers={"Content-Type": "text/plain"}, request=httpx.Request("GET", PUBLIC))
    answer.elapsed = timedelta(milliseconds=3)
    trace = schemathesis.Response.from_any(answer)
    assert not passes(fuzzing.no_body_leak, trace, case)


# ------------------------------------------------------------------------------------------------- judging

def test_judge_reports_an_undocumented_status_under_ver_resp_status(st_schema: Any) -> None:
    """``default`` is dropped from the fuzzing contract, so a 418 is undocumented (VER-RESP-STATUS)."""
    case = flows_get(st_schema)
    resp = response(418, body={"error": {"code": 418, "status": "I'm a teapot", "message": "teapot"}},
                    headers=[("Cache-Control", NO_STORE)], url=f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}")
    with fuzzing.checking(CHECK_TARGET):
        findings = fuzzing.judge(case, resp)
    assert findings and findings[0].check == "status_code_conformance"
    assert findings[0].requirement == "VER-RESP-STATUS"


def test_judge_finds_nothing_wrong_with_a_conforming_flow_read(st_schema: Any) -> None:
    case = flows_get(st_schema)
    resp = response(200, body=flow_doc([1080003], "sent_email"), headers=[("Cache-Control", NO_STORE)],
                    url=f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}")
    with fuzzing.checking(CHECK_TARGET):
        assert fuzzing.judge(case, resp) == []


def test_judge_orders_findings_by_requirement_priority(st_schema: Any) -> None:
    case = flows_get(st_schema)
    doc = flow_doc([4999999])
    del doc["state"]
    resp = response(200, body=doc, url=f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}")
    with fuzzing.checking(CHECK_TARGET):
        found = [f.requirement for f in fuzzing.judge(case, resp)]
    assert found[0] == "VER-GET-CACHE-CONTROL"
    assert {"VER-RESP-SCHEMA", "VER-RESP-MESSAGE-IDS"} <= set(found)
    order = list(fuzzing.CHECK_REQUIREMENTS.values())
    assert found == sorted(found, key=order.index)


def test_a_schema_failure_names_the_best_matching_error_not_the_whole_body(st_schema: Any) -> None:
    """An ``active`` no method has, as the fuzzer reports it: the offending path, the value and the rule first,
    as the contract judge says it, not schemathesis's "is not valid under any of the given schemas"."""
    case = flows_get(st_schema)
    doc = flow_doc([1080003], "sent_email")
    doc["active"] = "password"
    resp = response(200, body=doc, headers=[("Cache-Control", NO_STORE)],
                    url=f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}")
    with fuzzing.checking(CHECK_TARGET):
        (schema,) = [f for f in fuzzing.judge(case, resp) if f.requirement == "VER-RESP-SCHEMA"]
    assert schema.message.startswith(
        "Response violates schema: /active: 'password' is not one of ['code', 'link', 'default']")
    assert "(rule enum at " in schema.message and "any of" not in schema.message


def test_a_failure_starts_with_the_requirement_and_carries_a_redacted_curl_line(st_schema: Any) -> None:
    case = case_for(st_schema, "POST", "/self-service/verification", query={"flow": FLOW_ID},
                    body={"method": "code"}, media_type="application/json")
    resp = response(500, body={"error": {"code": 500, "status": "Internal Server Error", "message": "boom"}},
                    method="POST", url=f"{PUBLIC}self-service/verification?flow={FLOW_ID}",
                    request_body=json.dumps({"method": "code", "csrf_token": SECRETS[1]}).encode(),
                    request_headers={"Content-Type": "application/json", "Cookie": f"{COOKIE_NAME}={CSRF_SECRET}"})
    with fuzzing.checking(CHECK_TARGET):
        findings = fuzzing.judge(case, resp)
    failure = fuzzing.requirement_failure(findings, resp, context="POST [negative]")
    assert isinstance(failure, RequirementFailure)
    rendered = failure.render()
    assert rendered.startswith("[VER-RESP-NO-5XX] MUST:")
    curl = next(line.strip() for line in rendered.splitlines() if line.strip().startswith("curl "))
    assert FLOW_ID in curl and "--data-binary" in curl
    assert_no_secret(rendered)


def test_stateful_failures_are_reported_as_ver_fuzz_stateful(st_schema: Any) -> None:
    case = flows_get(st_schema)
    resp = response(418, body={"error": {"code": 418, "status": "x", "message": "x"}})
    with fuzzing.checking(CHECK_TARGET):
        findings = fuzzing.judge(case, resp)
    failure = fuzzing.requirement_failure(findings, resp, context="stateful", requirement_id="VER-FUZZ-STATEFUL",
                                          steps=["GET /api -> 200: curl ..."])
    assert failure.render().startswith("[VER-FUZZ-STATEFUL]")
    assert "VER-RESP-STATUS" in failure.detail and "1. GET /api" in failure.detail
    # the requirement the response broke fails too, not only the walk's
    assert "VER-RESP-STATUS" in failure.also
    heard = _heard(lambda: pytest.raises(RequirementFailure, fuzzing.fuzzer._emit, failure))
    assert {r.requirement for r in heard if not r.passed} == {"VER-FUZZ-STATEFUL", *failure.also}


def test_the_fuzzing_contract_drops_default_and_expects_documented_statuses(st_schema: Any) -> None:
    contract = fuzzing.fuzz_contract()
    for item in contract["paths"].values():
        for op in item.values():
            assert "default" not in op["responses"]
    op = st_schema["/self-service/verification"]["POST"]
    config = st_schema.config.checks_config_for(operation=op)
    assert config.positive_data_acceptance.expected_statuses == ["200", "303", "400", "403", "404", "410", "5XX"]
    assert config.negative_data_rejection.expected_statuses == ["3XX", "4XX", "5XX"]


@pytest.mark.parametrize(("status", "headers", "body", "reached"), [
    (404, [], {"error": {"code": 404}}, False),
    (400, [], {"error": {"code": 400}}, False),
    (400, [], flow_doc(), True),
    (303, [("Location", f"{ERROR_UI}?id=x")], None, False),
    (303, [("Location", f"{UI}?flow={FLOW_ID}")], None, True),
    (303, [("Location", f"{PUBLIC}self-service/verification/flows?id={FLOW_ID}")], None, True),
    (410, [], {"error": {"code": 410}}, True),
    (200, [], flow_doc(), True),
])
def test_reached_flow_logic(status: int, headers: list[tuple[str, str]], body: Any, reached: bool) -> None:
    resp = response(status, headers=headers, body=body)
    assert fuzzing.reached_flow_logic(resp) is reached


# ------------------------------------------------------------------------------------------------ injection

class FakePool:
    """Hands out one fixed live flow per slot."""

    def get(self, slot: fuzzing.Slot, substitute: bool = False) -> fuzzing.LiveFlow:
        cookie = f"{COOKIE_NAME}={CSRF_SECRET}" if slot.type == "browser" else None
        return fuzzing.LiveFlow(slot, FLOW_ID, cookie, "masked-csrf-value", 0.0, 60.0)


def plan(**overrides: Any) -> fuzzing.Plan:
    values = dict(slot=fuzzing.Slot("browser", "choose_method"), accept="json", cookie=True, csrf=True, email=True,
                  active_method=True, corrupt=False)
    values.update(overrides)
    return fuzzing.Plan(**values)


def test_a_plan_puts_the_live_flow_its_cookie_and_csrf_token_into_a_submission(st_schema: Any) -> None:
    case = case_for(st_schema, "POST", "/self-service/verification", query={"flow": "random"},
                    body={"method": "link", "email": "x", "csrf_token": "junk"}, media_type="application/json")
    injection = fuzzing.Injection(plan(), FakePool(), "code")  # type: ignore[arg-type]
    fuzzing.apply_plan(case, injection)
    assert injection.applied and case.query["flow"] == FLOW_ID
    assert case.headers["Cookie"].startswith(COOKIE_NAME) and case.headers["Accept"] == "application/json"
    assert case.body["csrf_token"] == "masked-csrf-value" and case.body["method"] == "code"
    assert re.fullmatch(r"fuzz-unknown-[0-9a-f]+@conformance\.test", case.body["email"])


def test_a_plan_without_a_slot_keeps_the_random_id(st_schema: Any) -> None:
    case = case_for(st_schema, "GET", "/self-service/verification/flows", query={"id": "random"})
    injection = fuzzing.Injection(plan(slot=None, accept="html"), FakePool(), "code")  # type: ignore[arg-type]
    fuzzing.apply_plan(case, injection)
    assert not injection.applied and case.query["id"] == "random" and "text/html" in case.headers["Accept"]


def test_a_negative_flow_id_is_left_alone(st_schema: Any) -> None:
    case = case_for(st_schema, "GET", "/self-service/verification/flows", query={"id": ["a", "b"]})
    injection = fuzzing.Injection(plan(), FakePool(), "code")  # type: ignore[arg-type]
    fuzzing.apply_plan(case, injection)
    assert not injection.applied and case.query["id"] == ["a", "b"]


def test_api_flows_get_no_cookie_and_a_corrupt_plan_truncates_the_json_body(st_schema: Any) -> None:
    case = case_for(st_schema, "POST", "/self-service/verification", query={"flow": "random"},
                    body={"method": "code", "email": "x"}, media_type="application/json")
    injection = fuzzing.Injection(plan(slot=fuzzing.Slot("api", "sent_email"), corrupt=True, email=False),
                                  FakePool(), "code")  # type: ignore[arg-type]
    fuzzing.apply_plan(case, injection)
    assert "Cookie" not in case.headers
    assert isinstance(case.body, bytes) and case.body.startswith(b'{"method"')
    with pytest.raises(ValueError):
        json.loads(case.body)


def test_plans_mostly_use_live_flows() -> None:
    from hypothesis import HealthCheck, given, settings

    seen: list[fuzzing.Plan] = []

    @settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(fuzzing.plan_strategy(fuzzing.ALL_SLOTS, negative=False))
    def collect(p: fuzzing.Plan) -> None:
        seen.append(p)

    collect()
    live = sum(p.slot is not None for p in seen)
    assert 0.7 < live / len(seen) < 1.0
    assert {p.slot for p in seen if p.slot} == set(fuzzing.ALL_SLOTS)
    assert not any(p.corrupt for p in seen)


def test_a_broken_slot_is_substituted_by_a_working_one_reproducibly() -> None:
    import time

    from kratos_conformance.run.target import Target

    target = Target(public_url=PUBLIC, admin_url=None, admin_token=None, profile=get_profile("kratos-v26"),
                    wait_budget=30, mail_timeout=10)
    pool = fuzzing.LivePool(target, None, "code")
    try:
        for slot in fuzzing.ALL_SLOTS:
            if slot.state == "passed_challenge":
                pool.broken[slot] = "needs the admin API"
            else:
                pool._flows[slot] = fuzzing.LiveFlow(slot, f"id-{slot}", None, "", time.monotonic(), 600.0)
        passed = fuzzing.Slot("api", "passed_challenge")
        assert pool.get(passed) is None
        first = pool.get(passed, substitute=True)
        assert first is not None and first.slot in pool.available()
        assert pool.get(passed, substitute=True).slot == first.slot
        assert passed not in pool.available() and len(pool.available()) == 4
        assert "broken: api/passed_challenge: needs the admin API" in pool.describe()
    finally:
        pool.close()


def _negative(st_schema: Any, media_type: str, *where: str, body: Any = None) -> Any:
    """An updateVerificationFlow case whose ``where`` components were generated negative."""
    from schemathesis import GenerationMode
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.generation.meta import (
        CaseMetadata,
        ComponentInfo,
        FuzzingPhaseData,
        GenerationInfo,
        PhaseInfo,
        TestPhase,
    )

    meta = CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.NEGATIVE),
        components={ParameterLocation(w): ComponentInfo(mode=GenerationMode.NEGATIVE) for w in where},
        phase=PhaseInfo(name=TestPhase.FUZZING, data=FuzzingPhaseData(None, None, None, None)),
    )
    case = case_for(st_schema, "POST", "/self-service/verification", query={"flow": "f"},
                    body={"code": True} if body is None else body, media_type=media_type)
    object.__setattr__(case, "_meta", meta)  # what the generator records on the cases it makes
    case.freeze_metadata()
    return case


@pytest.mark.parametrize(("media_type", "where", "judged"), [
    ("application/json", ("body",), False),                      # Kratos reads the boolean code as the text "true"
    ("application/x-www-form-urlencoded", ("body",), False),     # ... as a form sends it as "True"
    ("multipart/form-data", ("body",), False),
    ("application/json", ("query",), False),                     # query values are text; unknown ones ignored
    ("multipart/form-data", ("query", "header"), False),         # a header is text too; an extra one is ignored
])
def test_rejection_is_only_asked_of_cases_that_stay_negative_on_the_wire(
        st_schema: Any, media_type: str, where: tuple[str, ...], judged: bool) -> None:
    assert fuzzing.negative_on_the_wire(_negative(st_schema, media_type, *where)) is judged


@pytest.mark.parametrize(("body", "judged"), [
    ({"code": [], "method": "code"}, False),                      # read as text: a (wrong) code
    ({"code": {"a": 1}, "csrf_token": 7}, False),
    ({"code": "123456", "transient_payload": 5}, True),           # transient_payload must still be an object
    ({"method": ["code"], "email": "a@b.test"}, True),            # the method's text is no method
    ({"email": "a@b.test"}, True),                                # neither method nor code
    # null and "" count as left out (Kratos v26.2.0, v25.4.0, v1.3.1: case email.json-null-payload)
    ({"code": "123456", "transient_payload": None}, False),
    ({"transient_payload": "", "method": "", "email": "", "code": "123456"}, False),
    ({"method": "code", "email": "a@b.test", "transient_payload": []}, True),  # [] is neither nothing nor an object
])
def test_a_json_body_is_negative_if_it_stays_so_when_read_as_text(st_schema: Any, body: Any, judged: bool) -> None:
    case = _negative(st_schema, "application/json", "body", body=body)
    assert fuzzing.negative_on_the_wire(case) is judged


# ------------------------------------------------------------------------------------------ evidence

def _heard(work: Callable[[], object]) -> list[CheckResult]:
    """The check results the reports would hear while ``work`` runs."""
    heard: list[CheckResult] = []
    checks.add_check_listener(heard.append)
    try:
        work()
    finally:
        checks.remove_check_listener(heard.append)
    return heard


def test_a_response_is_evidence_only_for_what_it_could_break(st_schema: Any) -> None:
    init = case_for(st_schema, "GET", "/self-service/verification/api")
    answer = fuzzing.could_break(init, response(200, body=flow_doc()), CHECK_TARGET)
    assert "VER-GET-CACHE-CONTROL" not in answer            # only a flow read can break it
    assert "VER-RESP-LOCATION" not in answer                # not a redirect
    assert "VER-INIT-CSRF-COOKIE" not in answer             # no cookie set
    assert {"VER-RESP-NO-5XX", "VER-RESP-STATUS", "VER-RESP-SCHEMA", "VER-RESP-MESSAGE-IDS"} <= set(answer)
    read = fuzzing.could_break(flows_get(st_schema), response(200, body=flow_doc()), CHECK_TARGET)
    assert "VER-GET-CACHE-CONTROL" in read
    redirect = fuzzing.could_break(init, response(303, headers=[("Location", UI + "?flow=1")]), CHECK_TARGET)
    assert "VER-RESP-LOCATION" in redirect and "VER-RESP-SCHEMA" not in redirect
    assert "VER-RESP-LOCATION" not in fuzzing.could_break(init, response(303), None)   # nothing to judge it by
    assert "VER-RESP-NO-LEAK" not in fuzzing.could_break(init, response(303), None)    # no body to leak from
    browser_init = case_for(st_schema, "GET", "/self-service/verification/browser")
    spa_answer = fuzzing.could_break(browser_init, response(200, body=flow_doc()), CHECK_TARGET)
    assert "VER-RESP-HEADERS" not in spa_answer  # it documents an optional Set-Cookie only: nothing to break
    assert "VER-RESP-HEADERS" in redirect        # a redirect requires Location


def test_a_negative_case_filtered_out_is_no_evidence_of_rejection(st_schema: Any) -> None:
    read_as_text = _negative(st_schema, "application/json", "body", body={"code": 123456, "method": "code"})
    still_negative = _negative(st_schema, "application/json", "body", body={"method": ["code"], "email": "a@b.c"})
    refused = response(400, body=flow_doc())
    assert "VER-FUZZ-NEGATIVE-REJECTED" not in fuzzing.could_break(read_as_text, refused, CHECK_TARGET)
    assert "VER-FUZZ-NEGATIVE-REJECTED" in fuzzing.could_break(still_negative, refused, CHECK_TARGET)
    assert "VER-FUZZ-POSITIVE-ACCEPTED" not in fuzzing.could_break(still_negative, refused, CHECK_TARGET)


def test_a_run_reports_passes_only_for_requirements_it_holds_evidence_for() -> None:
    stats = fuzzing.RunStats("per-operation", requests=40)
    stats.passed.update({"VER-RESP-NO-5XX": 40, "VER-RESP-SCHEMA": 12})
    heard = _heard(lambda: fuzzing.report_passes(stats, ("VER-RESP-NO-5XX", "VER-RESP-SCHEMA",
                                                         "VER-GET-CACHE-CONTROL", "VER-FUZZ-NEGATIVE-REJECTED")))
    assert [(r.requirement, r.passed) for r in heard] == [("VER-RESP-NO-5XX", True), ("VER-RESP-SCHEMA", True)]
    assert "12 of 40" in heard[1].detail
    assert [r.judged for r in heard] == [40, 12]  # the report counts the responses judged, not the run
    learned = fuzzing.RunStats("per-operation", requests=5, against_learned={"VER-RESP-LOCATION": "UI URLs"})
    learned.passed.update({"VER-RESP-LOCATION": 5, "VER-RESP-NO-5XX": 5})
    names = {r.requirement: r.name for r in _heard(
        lambda: fuzzing.report_passes(learned, ("VER-RESP-LOCATION", "VER-RESP-NO-5XX")))}
    assert names == {"VER-RESP-LOCATION": "fuzz redirect_location, against learned UI URLs",
                     "VER-RESP-NO-5XX": "fuzz not_a_server_error"}  # the check that judged it, by name
    unknown = fuzzing.RunStats("per-operation", requests=5, shape_only=frozenset({"VER-RESP-LOCATION"}))
    unknown.passed.update({"VER-RESP-LOCATION": 5})
    assert [r.name for r in _heard(lambda: fuzzing.report_passes(unknown, ("VER-RESP-LOCATION",)))] == [
        "fuzz redirect_location, shape only"]  # any absolute URL passes when the UIs are unknown: the report says so
    assert _heard(lambda: fuzzing.report_passes(fuzzing.RunStats("empty"), ("VER-RESP-NO-5XX",))) == []


def test_flows_made_for_the_fuzzer_are_no_evidence_for_the_running_test() -> None:
    from kratos_reference import ReferenceConfig, serve

    with SmtpSink() as sink, serve(ReferenceConfig(public_url="http://127.0.0.1:0/", admin_url="http://127.0.0.1:0/",
                                                  smtp_url=sink.url, method="code")) as running:
        target = Target(public_url=running.public_url, admin_url=running.admin_url, admin_token=None,
                        profile=get_profile("kratos-v26"), wait_budget=30, mail_timeout=10)
        pool = fuzzing.LivePool(target, sink, "code")
        try:
            made: list[Any] = []
            heard = _heard(lambda: made.append(pool.get(fuzzing.Slot("api", "passed_challenge"))))
        finally:
            pool.close()
    assert made[0] is not None and made[0].id
    assert heard == []  # the walk to passed_challenge was checked step by step, but told no report


def test_a_transient_500_the_profile_knows_is_reported_as_its_defect_not_judged() -> None:
    from kratos_conformance.fuzzing.judging import known_transient
    from kratos_conformance.rules.checks import KNOWN_DEFECT, add_check_listener, remove_check_listener
    from kratos_conformance.rules.profiles import get_profile

    locked = response(500, body={"error": {"code": 500, "message": "sqlite create: database table is locked"}})
    other = response(500, body={"error": {"code": 500, "message": "boom"}})
    heard: list[CheckResult] = []
    add_check_listener(heard.append)
    try:
        assert known_transient(locked, get_profile("kratos-v1.3"))
        assert not known_transient(other, get_profile("kratos-v1.3"))
        assert known_transient(locked, get_profile("kratos-v26"))
        assert not known_transient(locked, get_profile("kratos-v1.3", tolerate_known_defects=False))
    finally:
        remove_check_listener(heard.append)
    assert [(r.requirement, r.name) for r in heard] == [("VER-RESP-NO-5XX", KNOWN_DEFECT)] * 2
