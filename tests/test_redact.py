"""Redaction hides every secret the suite could record, and keeps what checks and readers need."""

from __future__ import annotations

import json

import httpx

from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.redact import REDACTED, redact_body, redact_headers, redact_json, redact_text, redact_url

SECRET = "s3cr3t-VALUE-9f8e7d"


def test_headers_hide_cookie_values_tokens_and_keep_names() -> None:
    out = dict(redact_headers([
        ("Cookie", f"csrf_token_abc={SECRET}; other={SECRET}"),
        ("Set-Cookie", f"csrf_token_abc={SECRET}; Path=/; HttpOnly; SameSite=Lax"),
        ("Authorization", f"Bearer {SECRET}"),
        ("X-Session-Token", SECRET),
        ("Location", f"http://h/self-service/verification?flow=1&token={SECRET}"),
        ("Content-Type", "application/json"),
    ]))
    assert SECRET not in json.dumps(out)
    assert out["Cookie"] == f"csrf_token_abc={REDACTED}; other={REDACTED}"
    assert out["Set-Cookie"] == f"csrf_token_abc={REDACTED}; Path=/; HttpOnly; SameSite=Lax"
    assert out["Authorization"] == f"Bearer {REDACTED}"
    assert "flow=1" in out["Location"]
    assert out["Content-Type"] == "application/json"


def test_url_and_text_hide_code_and_token_parameters() -> None:
    assert SECRET not in redact_url(f"http://h/v?flow=abc&code={SECRET}")
    assert "flow=abc" in redact_url(f"http://h/v?flow=abc&code={SECRET}")
    text = f'<a href="http://h/self-service/verification?flow=1&amp;token={SECRET}">go</a> code={SECRET}'
    assert SECRET not in redact_text(text)


def test_json_hides_csrf_and_code_node_values_but_keeps_layout() -> None:
    flow = {"id": "f", "ui": {"nodes": [
        {"type": "input", "attributes": {"name": "csrf_token", "type": "hidden", "value": SECRET}},
        {"type": "input", "attributes": {"name": "code", "type": "text", "value": SECRET}},
        {"type": "input", "attributes": {"name": "email", "type": "email", "value": "a@b.test"}},
    ]}, "request_url": f"http://h/x?token={SECRET}"}
    out = json.dumps(redact_json(flow))
    assert SECRET not in out
    assert "a@b.test" in out and '"csrf_token"' in out


def test_a_flow_s_layout_in_a_failure_detail_hides_secret_values() -> None:
    flow = Flow({"ui": {"nodes": [
        {"type": "input", "attributes": {"name": "csrf_token", "type": "hidden", "value": SECRET}},
        {"type": "input", "attributes": {"name": "code", "type": "text", "value": SECRET}},
        {"type": "input", "attributes": {"name": "email", "type": "email", "value": "a@b.test"}},
        {"type": "a", "attributes": {"id": "continue", "href": f"http://h/after?token={SECRET}"}},
    ]}})
    shown = " ".join(flow.layout)
    assert SECRET not in shown
    assert f"csrf_token(hidden='{REDACTED}')" in shown and "email(email='a@b.test')" in shown


def test_a_schema_violation_quoting_a_node_hides_its_secret_value() -> None:
    import jsonschema

    from kratos_conformance.rules.contract import validation_errors

    schema = {"type": "object", "properties": {"nodes": {"type": "array", "items": {"required": ["group"]}}},
              "additionalProperties": {"type": "integer"}}
    doc = {"nodes": [{"attributes": {"name": "csrf_token", "value": SECRET}}], "extra": f"http://h/x?code={SECRET}"}
    messages = " ".join(validation_errors(jsonschema.Draft202012Validator(schema), doc))
    assert "'group' is a required property" in messages and REDACTED in messages
    assert SECRET not in messages


def test_bodies_of_every_encoding_are_redacted() -> None:
    assert SECRET not in redact_body(json.dumps({"code": SECRET, "method": "code"}).encode(), "application/json")
    form = redact_body(f"csrf_token={SECRET}&method=code&email=a%40b.test".encode(),
                       "application/x-www-form-urlencoded")
    assert SECRET not in form and "method=code" in form
    multipart = (f'--b\r\nContent-Disposition: form-data; name="code"\r\n\r\n{SECRET}\r\n'
                 f'--b\r\nContent-Disposition: form-data; name="method"\r\n\r\ncode\r\n--b--\r\n')
    out = redact_body(multipart.encode(), "multipart/form-data; boundary=b")
    assert SECRET not in out and "code" in out


def test_exchange_record_is_redacted_but_live_response_is_not() -> None:
    request = httpx.Request("POST", f"http://h/self-service/verification?flow=f&token={SECRET}",
                            headers={"Cookie": f"csrf_token_x={SECRET}"}, json={"code": SECRET})
    response = httpx.Response(200, json={"ui": {"nodes": [{"attributes": {"name": "code", "value": SECRET}}]}},
                              headers={"Set-Cookie": f"csrf_token_x={SECRET}; Path=/"}, request=request)
    ex = Exchange.record(response, "native", 0.0, 0.01)
    assert ex.operation == "updateVerificationFlow"
    assert SECRET not in ex.render() and SECRET not in json.dumps(ex.as_dict())
    assert ex.json()["ui"]["nodes"][0]["attributes"]["value"] == SECRET


def test_what_the_server_reflects_of_the_request_is_taken_out_too() -> None:
    """An error page that quotes the request (its Cookie header, its body) or a debug header echoing the token:
    the values the request carried are secrets wherever they come back, in the record and in a check's detail."""
    from kratos_conformance.rules import checks
    from kratos_conformance.rules.checks import RequirementFailure

    cookie, csrf, code = "c00kie-" + SECRET, "csrf-" + SECRET, "311886"
    request = httpx.Request("POST", "http://h/self-service/verification?flow=f",
                            headers={"Cookie": f"csrf_token_x={cookie}", "Content-Type": "application/json"},
                            content=json.dumps({"csrf_token": csrf, "code": code, "method": "code"}).encode())
    page = f"Traceback ...\nCookie: csrf_token_x={cookie}\nbody: {{'csrf_token': '{csrf}', 'code': '{code}'}}\n"
    response = httpx.Response(500, text=page, headers={"X-Debug-Echo": f"{csrf} {code}"}, request=request)
    ex = Exchange.record(response, "spa", 0.0, 0.01)
    shown = ex.render() + json.dumps(ex.as_dict())
    assert cookie not in shown and csrf not in shown and code not in shown
    assert "Traceback" in ex.response_body and ex.response.text == page  # the live answer is untouched
    try:
        checks.expect("VER-RESP-NO-5XX", False, f"server error: {page[:200]}", ex, name="no_5xx")
    except RequirementFailure as failure:
        assert csrf not in failure.detail and cookie not in failure.render() and "server error" in failure.detail
    else:
        raise AssertionError("the check did not fail")


def test_a_huge_or_deeply_nested_body_is_shown_clipped_and_never_crashes_the_record() -> None:
    from kratos_conformance.wire.redact import MAX_SHOWN_BODY

    request = httpx.Request("GET", "http://h/self-service/verification/flows?id=f")
    huge = httpx.Response(200, content=b"x" * (MAX_SHOWN_BODY * 4), headers={"Content-Type": "text/plain"},
                          request=request)
    ex = Exchange.record(huge, "native", 0.0, 0.01)
    assert len(ex.response_body) < MAX_SHOWN_BODY + 100 and "more characters not shown" in ex.response_body
    assert len(ex.response.content) == MAX_SHOWN_BODY * 4
    nested = httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000,
                            headers={"Content-Type": "application/json"}, request=request)
    assert Exchange.record(nested, "native", 0.0, 0.01).response_body.startswith("[[[")


def test_a_failure_quoting_a_mail_shows_neither_its_code_nor_its_token() -> None:
    """A subject or link quoted in a failure detail (a mail that went to the wrong address, a link the suite could
    not use) carries the code or token: every code and token received by mail is taken out of failure details."""
    from kratos_conformance.mail.message import Mail
    from kratos_conformance.rules import checks
    from kratos_conformance.rules.checks import RequirementFailure

    mail = Mail("m", ("nobody@conformance.test",), "Use code 633861 to verify your account",
                "Your code: 633861\nhttp://h/self-service/verification?flow=f&token=tok-" + SECRET)
    broken = Mail("b", ("x@conformance.test",), "Verify", "http://[127.0.0.1/self-service/verification?flow=f&code=1")
    assert broken.flow_id is None and broken.code is None  # a link that is no URL names nothing, and is no crash
    for detail in (f"unexpected mail to nobody: subject {mail.subject!r}", f"no usable link in {mail.text!r}"):
        try:
            checks.expect("VER-ENUM-NO-MAIL", False, detail, name="no_mail")
        except RequirementFailure as failure:
            assert "633861" not in failure.render() and SECRET not in failure.render()
        else:
            raise AssertionError("the check did not fail")
