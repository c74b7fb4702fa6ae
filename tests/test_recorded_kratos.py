"""Every answer recorded from a real Ory Kratos release passes the suite's contract judge under that release's profile.

The recordings (kratos_conformance/recordings/) hold what Kratos really answered to every scripted case, with ids,
tokens, times and base URLs abstracted. Each answer is turned back into a concrete HTTP response (placeholders
replaced by well-formed values) and judged the way a scenario's exchange is judged: documented status, media type
and headers, body schema, redirect target, a flow read's Cache-Control, CSRF cookies, a flow's media type, message
ids and announcements per method and state as the profile's release shows them, node layouts, no leaks, no server
error. A contract that a healthy Kratos breaks would fail every run against it; this catches it without Kratos
present.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from kratos_conformance.differential import recording
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.rules.contract_judge import ContractJudge
from kratos_conformance.rules.profiles import PROFILES, get_profile
from kratos_conformance.run.target import Target
from kratos_conformance.wire.exchanges import Exchange

PUBLIC = "http://127.0.0.1:4433/"
BASES = {"<public>": PUBLIC.rstrip("/"), "<admin>": "http://127.0.0.1:4434", "<ui>": "http://127.0.0.1:4455/verification",
         "<error-ui>": "http://127.0.0.1:4455/error", "<return-to>": "http://127.0.0.1:4455/after",
         "<default-return>": "http://127.0.0.1:4455"}


def target(profile: str) -> Target:
    return Target(public_url=PUBLIC, admin_url=None, admin_token=None, profile=get_profile(profile), wait_budget=30,
                  mail_timeout=10, ui_url=BASES["<ui>"], error_ui_url=BASES["<error-ui>"],
                  return_to=BASES["<return-to>"])
_PLACEHOLDER = re.compile(r"<(id|addr)(\d+)>|<(time|csrf|code|token|since|expired_at_unix)>")


def concrete(value: Any) -> Any:
    """A normalized value with its placeholders replaced by well-formed stand-ins."""
    if isinstance(value, dict):
        return {k: concrete(v) for k, v in value.items()}
    if isinstance(value, list):
        return [concrete(v) for v in value]
    if not isinstance(value, str):
        return value
    if value in ("<since>", "<expired_at_unix>"):
        return 1
    for name, base in BASES.items():
        value = value.replace(name, base)
    return _PLACEHOLDER.sub(_stand_in, value)


def _stand_in(m: re.Match[str]) -> str:
    kind, number, plain = m.group(1), m.group(2), m.group(3)
    if kind == "id":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, number))
    if kind == "addr":
        return f"addr{number}@conformance.test"
    return {"time": "2026-12-01T17:41:15.580746917Z", "csrf": "c" * 88, "code": "123456", "token": "t" * 32}[plain]


def exchange(step: dict[str, Any]) -> Exchange:
    """The recorded step as a live exchange the contract judge can read."""
    sent, answer = step["request"], step["response"]
    headers: list[tuple[str, str]] = []
    for name, value in answer["headers"].items():
        for one in value if isinstance(value, list) else [value]:
            if name == "set-cookie":
                one = one.replace("csrf_token_<sha256>=<value>", "csrf_token_" + "0" * 64 + "=v")
            headers.append((name, concrete(one)))
    body = answer.get("body")
    if isinstance(body, (dict, list)):
        content = json.dumps(concrete(body)).encode()
    else:
        content = b"<a href=\"x\">See Other</a>.\n" if body == "<html>" else b""
    request = httpx.Request(sent["method"], concrete(sent["url"]))
    response = httpx.Response(answer["status"], headers=headers, content=content, request=request)
    return Exchange.record(response, "recorded", 0.0, 0.0)


def problems(judge: ContractJudge, ex: Exchange) -> list[str]:
    """What the contract judge finds wrong with one exchange (empty when it conforms)."""
    return [f"{req}: {p}" for req, found in judge.findings(ex).items() for p in found]


@pytest.mark.parametrize("method", ["code", "link"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_recorded_kratos_answer_conforms_to_the_contract(profile: str, method: str) -> None:
    judge = ContractJudge(target(profile))
    failures = []
    judged = 0
    for case, steps in recording(PROFILES[profile].recording, method)["cases"].items():
        for i, step in enumerate(steps):
            if "request" not in step:
                continue
            ex = exchange(step)
            if ex.operation not in judge.operations:
                continue
            judged += 1
            failures += [f"{case} step {i} ({ex.method} {ex.url} -> {ex.status}): {p}" for p in problems(judge, ex)]
    assert judged > 300
    assert not failures, "\n".join(failures[:40])


def test_a_broken_answer_is_judged_wrong() -> None:
    """The check above can fail: a recorded flow with an unknown state breaks the contract."""
    steps = recording("kratos-v26.2.0", "code")["cases"]["init.create/native"]
    broken = json.loads(json.dumps(steps[0]))
    broken["response"]["body"]["state"] = "done"
    assert any("VER-RESP-SCHEMA" in p for p in problems(ContractJudge(target("kratos-v26")), exchange(broken)))


def _last_step(case: str) -> dict[str, Any]:
    """A copy of the last step of a case recorded from Kratos v26.2.0 (code)."""
    return json.loads(json.dumps(recording("kratos-v26.2.0", "code")["cases"][case][-1]))


def test_headers_are_judged_only_on_answers_that_document_headers() -> None:
    """A native flow's creation documents no header: VER-RESP-HEADERS is not judged on it (a pass there would be
    evidence of nothing); a flow read documents Cache-Control and is judged, and fails without it."""
    judge = ContractJudge(target("kratos-v26"))
    created = exchange(_last_step("init.create/native"))
    assert "VER-RESP-STATUS" in judge.findings(created) and "VER-RESP-HEADERS" not in judge.findings(created)
    read = _last_step("get.own/native")
    assert judge.findings(exchange(read))["VER-RESP-HEADERS"] == []
    read["response"]["headers"] = {k: v for k, v in read["response"]["headers"].items() if k != "cache-control"}
    assert judge.findings(exchange(read))["VER-RESP-HEADERS"]
    # a browser flow's creation documents Set-Cookie only, which it need not send: nothing there can break it
    assert "VER-RESP-HEADERS" not in judge.findings(exchange(_last_step("init.create/spa")))


def test_leaks_are_judged_only_on_answers_with_a_body() -> None:
    """An answer without a body (a HEAD's, a bare redirect's) cannot leak: VER-RESP-NO-LEAK is not judged on it."""
    judge = ContractJudge(target("kratos-v26"))
    read = _last_step("get.own/native")
    assert judge.findings(exchange(read))["VER-RESP-NO-LEAK"] == []
    read["response"]["body"] = ""
    assert "VER-RESP-NO-LEAK" not in judge.findings(exchange(read))


def test_layout_is_judged_only_where_a_recording_shows_one() -> None:
    """A flow whose method cannot be told (active "default", no method nodes) has no recorded layout to compare
    with: VER-UI-LAYOUT is not judged on it rather than passed; a recorded state is judged, and fails when changed."""
    judge = ContractJudge(target("kratos-v26"))
    step = _last_step("init.create/native")
    assert judge.findings(exchange(step))["VER-UI-LAYOUT"] == []
    body = step["response"]["body"]
    body["ui"]["nodes"] = [n for n in body["ui"]["nodes"] if n["group"] not in ("code", "link")]
    assert judge.findings(exchange(step))["VER-UI-LAYOUT"]          # active "code": judged, and wrong
    body["active"] = "default"
    assert "VER-UI-LAYOUT" not in judge.findings(exchange(step))    # nothing to compare with: not judged


def _swap(nodes: list[dict[str, Any]], i: int, j: int) -> None:
    nodes[i], nodes[j] = nodes[j], nodes[i]


def _swap_labels(nodes: list[dict[str, Any]], i: int, j: int) -> None:
    nodes[i]["meta"]["label"], nodes[j]["meta"]["label"] = nodes[j]["meta"]["label"], nodes[i]["meta"]["label"]


#: one change each to the nodes of a code flow in sent_email as Kratos v26.2.0 answers it: the hidden method node,
#: the code input (label 1070011), the method button (1070009), the resend button (1070008)
LAYOUT_CHANGES = {
    "order": lambda nodes: _swap(nodes, 1, 2),
    "group": lambda nodes: nodes[1].update(group="default"),
    "hidden method node missing": lambda nodes: nodes.pop(0),
    "hidden method node's value": lambda nodes: nodes[0]["attributes"].update(value="link"),
    "labels 1070011 and 1070009 swapped": lambda nodes: _swap_labels(nodes, 1, 2),
    "resend label 1070008 as 1070007": lambda nodes: nodes[3]["meta"]["label"].update(id=ids.LABEL_EMAIL),
    "type": lambda nodes: nodes[1]["attributes"].update(type="number"),
}


@pytest.mark.parametrize("change", sorted(LAYOUT_CHANGES))
def test_each_part_of_a_node_layout_is_judged(change: str) -> None:
    """VER-UI-LAYOUT holds a flow's nodes to Kratos's in their order, groups, names, types, labels and the method a
    method node submits: the recorded flow conforms, and any one change to it fails."""
    judge = ContractJudge(target("kratos-v26"))
    step = json.loads(json.dumps(recording("kratos-v26.2.0", "code")["cases"]["email.known/native"][1]))
    nodes = step["response"]["body"]["ui"]["nodes"]
    assert [(n["attributes"]["name"], (n["meta"].get("label") or {}).get("id")) for n in nodes] == [
        ("method", None), ("code", ids.LABEL_VERIFICATION_CODE), ("method", ids.LABEL_CONTINUE),
        ("email", ids.LABEL_RESEND_CODE)]
    assert judge.findings(exchange(step))["VER-UI-LAYOUT"] == []
    LAYOUT_CHANGES[change](nodes)
    assert judge.findings(exchange(step))["VER-UI-LAYOUT"], change


def test_announcements_are_judged_per_method_and_state() -> None:
    """What a flow announces (code sent, link sent, verified) is judged against the states Kratos announces it in,
    per method: "verified" on a flow still choosing its method, or a link flow saying a code was sent, is wrong."""
    judge = ContractJudge(target("kratos-v26"))
    passed = json.loads(json.dumps(recording("kratos-v26.2.0", "code")["cases"]["code.correct/native"][3]))
    assert judge.findings(exchange(passed))["VER-RESP-MESSAGE-IDS"] == []
    created = _last_step("init.create/native")
    created["response"]["body"]["ui"]["messages"] = [{"id": ids.VERIFIED, "type": "success", "text": "verified"}]
    assert judge.findings(exchange(created))["VER-RESP-MESSAGE-IDS"] == [
        "message 1080002 in a code flow in choose_method; kratos-v26.2.0 shows it only in passed_challenge"]
    link = json.loads(json.dumps(recording("kratos-v26.2.0", "link")["cases"]["email.known/native"][1]))
    assert judge.findings(exchange(link))["VER-RESP-MESSAGE-IDS"] == []
    link["response"]["body"]["ui"]["messages"][0]["id"] = ids.CODE_SENT
    assert judge.findings(exchange(link))["VER-RESP-MESSAGE-IDS"] == [
        "message 1080003 in a link flow in sent_email; kratos-v26.2.0 shows it in no link flow"]


def test_the_cache_cookie_and_media_type_rules_are_judged_on_every_answer_they_apply_to() -> None:
    """The contract judge holds every exchange to the response rules the scenarios and the fuzzer use: a flow
    read's Cache-Control, every CSRF cookie's attributes, a flow's media type; each only where it can be broken,
    and each fails when the recorded answer is changed to break it."""
    judge = ContractJudge(target("kratos-v26"))
    read = _last_step("get.own/native")
    assert judge.findings(exchange(read))["VER-GET-CACHE-CONTROL"] == []
    assert judge.findings(exchange(read))["VER-RESP-JSON-TYPE"] == []
    created = exchange(_last_step("init.create/native"))
    assert "VER-GET-CACHE-CONTROL" not in judge.findings(created)          # not a flow read: not judged
    assert "VER-INIT-CSRF-COOKIE" not in judge.findings(created)           # no CSRF cookie: not judged
    read["response"]["headers"]["cache-control"] = "max-age=60"
    read["response"]["headers"]["content-type"] = "application/json"
    found = judge.findings(exchange(read))
    assert found["VER-GET-CACHE-CONTROL"] and found["VER-RESP-JSON-TYPE"], found

    browser = _last_step("init.create/spa")
    assert judge.findings(exchange(browser))["VER-INIT-CSRF-COOKIE"] == []
    cookies = browser["response"]["headers"]["set-cookie"]
    browser["response"]["headers"]["set-cookie"] = [c.replace("; httponly", "") for c in
                                                    (cookies if isinstance(cookies, list) else [cookies])]
    assert judge.findings(exchange(browser))["VER-INIT-CSRF-COOKIE"] == ["CSRF cookie: not HttpOnly"]
