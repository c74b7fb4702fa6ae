"""Bad input never produces a 500 or a traceback: malformed ids, garbage bodies, huge bodies, odd routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from reference_helpers import SmtpSink, message_ids, native_client, query_param, spa_client

from kratos_reference import RunningTarget


def _api_flow(target: RunningTarget) -> dict[str, Any]:
    with native_client() as client:
        return client.get(target.public_url + "self-service/verification/api").json()


@pytest.mark.parametrize("content, content_type, expected_reason", [
    (b"", "application/json", 'HTTP Header "Content-Length" is zero'),
    (b"{not json", "application/json", "Unable to decode form as JSON."),
    (b"[1, 2]", "application/json", "to be an object but got: JSON"),
    (b"\xff\xfe\x00", "application/json", "Unable to decode form as JSON."),
    (b"email=a@b.test", "text/plain", 'unknown HTTP Header "Content-Type: text/plain"'),
    (b"x", "", 'unknown HTTP Header "Content-Type: "'),
])
def test_malformed_bodies_answer_400_with_the_flow(code_target: RunningTarget, content: bytes, content_type: str,
                                                    expected_reason: str) -> None:
    flow = _api_flow(code_target)
    answer = httpx.post(flow["ui"]["action"], content=content,
                        headers={"Accept": "application/json", "Content-Type": content_type})
    assert answer.status_code == 400
    body = answer.json()
    assert body["id"] == flow["id"] and message_ids(body) == [4000001]
    assert expected_reason in body["ui"]["messages"][0]["text"]


def test_oversized_body_answers_413_json(code_target: RunningTarget) -> None:
    flow = _api_flow(code_target)
    huge = b'{"email": "' + b"a" * (code_target.config.max_body_bytes + 10) + b'"}'
    answer = httpx.post(flow["ui"]["action"], content=huge,
                        headers={"Accept": "application/json", "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == 413


def test_multipart_is_not_understood_and_urlencoded_garbage_is_handled(code_target: RunningTarget) -> None:
    flow = _api_flow(code_target)
    multipart = httpx.post(flow["ui"]["action"], headers={"Accept": "application/json"},
                           files={"upload": ("x.txt", b"data")}, data={"method": "code", "email": "a@b.test"})
    assert multipart.status_code == 400 and message_ids(multipart.json()) == [4010006]
    assert multipart.json()["active"] == "default" and multipart.json()["state"] == "choose_method"
    other = _api_flow(code_target)
    broken = httpx.post(other["ui"]["action"], content=b"--nope\r\ngarbage",
                        headers={"Accept": "application/json", "Content-Type": "multipart/form-data; boundary=zz"})
    assert broken.status_code == 400 and message_ids(broken.json()) == [4010006]
    percent = httpx.post(flow["ui"]["action"], content=b"method=%zz&email=%%%",
                         headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"})
    assert percent.status_code == 400 and "ui" in percent.json()


@pytest.mark.parametrize("flow_param", [None, "", "nope", "00000000-0000-0000-0000-000000000000", "' OR 1=1 --",
                                        "8f1f3e3c-4a0b-4b59-9a4e-0b7c3b0f4d1"])
def test_missing_or_malformed_flow_ids_answer_400(code_target: RunningTarget, flow_param: str | None) -> None:
    params = {} if flow_param is None else {"flow": flow_param}
    answer = httpx.post(code_target.public_url + "self-service/verification", params=params,
                        json={"method": "code", "email": "a@b.test"}, headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["reason"] == "The flow query parameter is missing or malformed."
    with spa_client() as browserish:
        as_browser = browserish.post(code_target.public_url + "self-service/verification", params=params,
                                     data={"method": "code"}, headers={"Accept": "text/html"})
        assert as_browser.status_code == 303 and "ui/error?id=" in as_browser.headers["location"]


def test_unknown_flow_answers_404(code_target: RunningTarget) -> None:
    unknown = "8f1f3e3c-4a0b-4b59-9a4e-0b7c3b0f4d11"
    answer = httpx.post(code_target.public_url + "self-service/verification", params={"flow": unknown},
                        json={"method": "code"}, headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json()["error"]["status"] == "Not Found"
    browser = httpx.get(code_target.public_url + "self-service/verification", params={"flow": unknown, "code": "1"})
    assert browser.status_code == 303 and "ui/error?id=" in browser.headers["location"]
    assert browser.text.startswith("<a href=")


def test_unknown_routes_and_methods_are_errors(code_target: RunningTarget) -> None:
    """An unknown path is Go's plain 404 with the CSRF cookie, as Kratos v26.2.0 answers it (its nosurf sets the
    cookie on any public answer to a request without one: a client's first request, wherever it goes, gets it)."""
    missing = httpx.get(code_target.public_url + "no/such/route")
    assert (missing.status_code, missing.text) == (404, "404 page not found\n")
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert missing.headers["set-cookie"].startswith("csrf_token_")
    assert httpx.head(code_target.public_url).headers["set-cookie"].startswith("csrf_token_")
    wrong_method = httpx.delete(code_target.public_url + "self-service/verification/api")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == 405
    trailing = httpx.get(code_target.public_url + "self-service/verification/api/")
    assert trailing.status_code == 404
    assert httpx.get(code_target.public_url + "self-service/errors", params={"id": "nope"}).status_code == 404


def test_no_request_in_a_sweep_reaches_a_500(code_target: RunningTarget) -> None:
    flow = _api_flow(code_target)
    submit = code_target.public_url + "self-service/verification"
    probes = [
        ("GET", submit, {"flow": flow["id"]}, None, {}),
        ("GET", submit, {"flow": flow["id"], "token": "t"}, None, {}),
        ("GET", submit, {"flow": flow["id"], "code": "x" * 5000}, None, {}),
        ("POST", submit, {"flow": flow["id"]}, b'{"email": {"nested": [1, 2]}}', {"Content-Type": "application/json"}),
        ("POST", submit, {"flow": flow["id"]}, b'{"code": 123456, "method": null}',
         {"Content-Type": "application/json"}),
        ("POST", submit, {"flow": flow["id"]}, b'{"transient_payload": "x"}', {"Content-Type": "application/json"}),
        ("POST", submit, {"flow": flow["id"]}, b'"string"', {"Content-Type": "application/json"}),
        ("POST", submit, {"flow": flow["id"]}, b"\x00" * 100, {"Content-Type": "application/x-www-form-urlencoded"}),
        ("GET", code_target.public_url + "self-service/verification/flows", {"id": "\u00e9" * 200}, None, {}),
        ("GET", code_target.public_url + "self-service/verification/browser", {"return_to": "http://[::1"}, None, {}),
        ("GET", code_target.public_url + "ui/verification", {"flow": "bogus"}, None, {}),
        ("GET", code_target.public_url + "ui/error", {"id": "bogus"}, None, {}),
        ("GET", code_target.public_url + "schemas/nope", {}, None, {}),
    ]
    for method, url, params, content, headers in probes:
        answer = httpx.request(method, url, params=params, content=content,
                               headers={"Accept": "application/json", **headers})
        assert answer.status_code < 500, (method, url, params, answer.status_code, answer.text[:200])
        assert "Traceback" not in answer.text


def test_code_submitted_while_choosing_method_counts_as_wrong(code_target: RunningTarget) -> None:
    flow = _api_flow(code_target)
    answer = httpx.post(flow["ui"]["action"], json={"method": "code", "code": "123456"},
                        headers={"Accept": "application/json"})
    assert answer.status_code == 200 and message_ids(answer.json()) == [4070006]
    assert answer.json()["state"] == "choose_method"


def test_api_flow_success_redirects_without_json_accept(code_target: RunningTarget) -> None:
    flow = _api_flow(code_target)
    answer = httpx.post(flow["ui"]["action"], json={"method": "code", "email": "someone@example.org"})
    assert answer.status_code == 303 and query_param(answer.headers["location"], "flow") == flow["id"]
    assert answer.content == b""


def test_last_resort_handler_answers_json_500_without_details(smtp_sink: SmtpSink) -> None:
    import anyio

    from kratos_reference import ReferenceConfig, create_public_app
    from kratos_reference.server import build_services

    config = ReferenceConfig(smtp_url=smtp_sink.url)
    services = build_services(config)
    app = create_public_app(config, services)
    services.close()  # storage closed: every flow lookup now fails inside the app

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:4433") as client:
            return await client.get("/self-service/verification/api", headers={"Accept": "application/json"})

    answer = anyio.run(call)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": {"code": 500, "status": "Internal Server Error", "message":
                                       "An internal server error occurred, please contact the system administrator"}}


@pytest.mark.parametrize(("body", "status", "flow_messages", "field", "field_messages"), [
    ({"method": "code", "code": []}, 200, [4070006], None, []),
    ({"method": "code", "email": 5}, 400, [], "email", [4000040]),
    ({"method": ["code"], "email": "a@b.test"}, 400, [], "method", [4000001]),
    ({"method": "code", "email": "a@b.test", "transient_payload": 5}, 400, [], "transient_payload", [4000026]),
    ({"method": "code", "email": "a@b.test", "csrf_token": False}, 200, [1080003], None, []),
])
def test_json_values_are_read_as_their_form_text(code_target: RunningTarget, body: dict[str, Any], status: int,
                                                 flow_messages: list[int], field: str | None,
                                                 field_messages: list[int]) -> None:
    """Kratos reads a JSON body as a form: {"code": []} is the code "[]", {"email": 5} the address "5"."""
    with httpx.Client(headers={"Accept": "application/json"}) as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        answer = client.post(code_target.public_url + f"self-service/verification?flow={flow['id']}", json=body)
    assert answer.status_code == status and message_ids(answer.json()) == flow_messages
    if field is not None:
        assert [m["id"] for n in answer.json()["ui"]["nodes"] if n["attributes"].get("name") == field
                for m in n["messages"]] == field_messages


def test_unreadable_transient_payload_is_an_internal_error_in_a_400(code_target: RunningTarget) -> None:
    flow = _api_flow(code_target)
    answer = httpx.post(flow["ui"]["action"], headers={"Accept": "application/json"},
                        json={"method": "code", "email": "a@b.test", "transient_payload": "not-an-object"})
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (500, "Internal Server Error") and error["message"]
