"""Flow init and GET /flows: return_to, disabled verification, 403/404/410, expiry on submit, prefixes."""

from __future__ import annotations

import time

import httpx
from reference_helpers import (
    StartTarget,
    browser_client,
    message_ids,
    native_client,
    query_param,
    spa_client,
    unique_email,
)

from kratos_reference import RunningTarget


def test_flow_json_shape(code_target: RunningTarget) -> None:
    with native_client() as client:
        response = client.get(code_target.public_url + "self-service/verification/api")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    flow = response.json()
    assert list(flow) == ["id", "type", "expires_at", "issued_at", "request_url", "active", "ui", "state"]
    assert flow["expires_at"].endswith("Z") and flow["issued_at"].endswith("Z")
    assert flow["request_url"] == code_target.public_url + "self-service/verification/api"
    assert flow["ui"]["action"] == code_target.public_url + f"self-service/verification?flow={flow['id']}"
    assert flow["ui"]["method"] == "POST"
    for item in flow["ui"]["nodes"]:
        assert set(item) == {"type", "group", "attributes", "messages", "meta"} and item["messages"] == []


def test_return_to_allowed_kept_and_forbidden_rejected_even_for_browsers(code_target: RunningTarget) -> None:
    with browser_client() as client:
        allowed = client.get(code_target.public_url + "self-service/verification/browser",
                             params={"return_to": "https://shop.allowed.test/cart"})
        assert allowed.status_code == 303
        flow = client.get(code_target.public_url + "self-service/verification/flows",
                          params={"id": query_param(allowed.headers["location"], "flow")}).json()
        assert flow["return_to"] == "https://shop.allowed.test/cart"
        forbidden = client.get(code_target.public_url + "self-service/verification/browser",
                               params={"return_to": "https://evil.test/"})
        assert forbidden.status_code == 400
        assert forbidden.json()["error"]["id"] == "self_service_flow_return_to_forbidden"
    with native_client() as client:
        api = client.get(code_target.public_url + "self-service/verification/api",
                         params={"return_to": "https://evil.test/"})
        assert api.status_code == 400 and api.json()["error"]["id"] == "self_service_flow_return_to_forbidden"


def test_get_flow_statuses(code_target: RunningTarget) -> None:
    flows = code_target.public_url + "self-service/verification/flows"
    with native_client() as client:
        for params in ({}, {"id": "not-a-uuid"}, {"id": "8f1f3e3c-4a0b-4b59-9a4e-0b7c3b0f4d11"}):
            missing = client.get(flows, params=params)
            assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
            assert missing.json()["error"]["status"] == "Not Found"
    with spa_client() as owner, spa_client() as stranger:
        flow = owner.get(code_target.public_url + "self-service/verification/browser").json()
        assert owner.get(flows, params={"id": flow["id"]}).status_code == 200
        no_cookie = stranger.get(flows, params={"id": flow["id"]})
        assert no_cookie.status_code == 403 and "set-cookie" in no_cookie.headers
        error = no_cookie.json()["error"]
        assert error["id"] == "security_csrf_violation"
        assert error["details"]["reject_reason"] == "The HTTP Cookie Header is empty or not set."
        stranger.get(code_target.public_url + "self-service/verification/browser")
        mismatch = stranger.get(flows, params={"id": flow["id"]})
        assert mismatch.status_code == 403 and "set-cookie" not in mismatch.headers
        # a GET carries no form: Kratos reports its own cookie's token as not sent
        assert "reject_reason" not in mismatch.json()["error"]["details"]
        assert "token was not included" in mismatch.json()["error"]["details"]["hint"]


def test_content_types_and_cache_control(code_target: RunningTarget) -> None:
    """Flows are JSON with a charset, error documents plain application/json; every GET is marked no-cache."""
    no_cache = "private, no-cache, no-store, must-revalidate"
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api")
        assert flow.headers["cache-control"] == no_cache
        unknown = client.get(code_target.public_url + "self-service/verification/flows", params={"id": "x"})
        assert unknown.headers["content-type"] == "application/json" and unknown.headers["cache-control"] == no_cache
        posted = client.post(flow.json()["ui"]["action"], json={"method": "code", "email": unique_email()})
        assert posted.headers["content-type"] == "application/json; charset=utf-8"
        assert "cache-control" not in posted.headers


def test_expiry_get_410_and_post_303(start_target: StartTarget) -> None:
    target = start_target(flow_lifespan="300ms")
    flows = target.public_url + "self-service/verification/flows"
    with native_client() as native, spa_client() as spa, browser_client() as browser:
        api_flow = native.get(target.public_url + "self-service/verification/api").json()
        spa_flow = spa.get(target.public_url + "self-service/verification/browser",
                           params={"return_to": target.public_url + "self-service/verification/browser"}).json()
        browser_id = query_param(browser.get(target.public_url + "self-service/verification/browser")
                                 .headers["location"], "flow")
        time.sleep(0.4)

        gone_api = native.get(flows, params={"id": api_flow["id"]})
        assert gone_api.status_code == 410
        assert gone_api.json()["error"]["details"]["api"] == target.public_url + "self-service/verification/api"
        gone_browser = spa.get(flows, params={"id": spa_flow["id"]})
        assert gone_browser.status_code == 410
        details = gone_browser.json()["error"]["details"]
        assert details["redirect_to"].startswith(target.public_url + "self-service/verification/browser?return_to=")
        assert details["return_to"] == spa_flow["return_to"]

        posted = native.post(api_flow["ui"]["action"], json={"method": "code", "email": unique_email()})
        assert posted.status_code == 303 and posted.content == b""
        assert posted.headers["location"].startswith(flows + "?id=") and "set-cookie" in posted.headers
        spa_posted = spa.post(spa_flow["ui"]["action"], json={"method": "code", "email": unique_email()})
        assert spa_posted.status_code == 303
        renewed = spa.get(spa_posted.headers["location"]).json()
        assert renewed["type"] == "browser" and message_ids(renewed) == [4070005]
        assert renewed["return_to"] == spa_flow["return_to"] and renewed["id"] != spa_flow["id"]
        browser_posted = browser.post(target.public_url + "self-service/verification", params={"flow": browser_id},
                                      data={"method": "code", "email": unique_email()})
        assert browser_posted.status_code == 303
        assert browser_posted.headers["location"].startswith(target.public_url + "ui/verification?flow=")


def test_disabled_verification(start_target: StartTarget) -> None:
    target = start_target(enabled=False)
    with native_client() as client:
        for path in ("self-service/verification/api", "self-service/verification/browser",
                     "self-service/verification/flows?id=8f1f3e3c-4a0b-4b59-9a4e-0b7c3b0f4d11"):
            answer = client.get(target.public_url + path)
            assert answer.status_code == 400
            assert answer.json()["error"]["reason"] == "Verification is not allowed because it was disabled."
    with browser_client() as client:
        redirected = client.get(target.public_url + "self-service/verification/browser")
        assert redirected.status_code == 303
        assert redirected.headers["location"].startswith(target.public_url + "ui/error?id=")


def test_public_url_prefix_and_secure_cookie(start_target: StartTarget) -> None:
    target = start_target(public_url="http://127.0.0.1:0/auth/", dev_mode=False)
    assert target.public_url.endswith("/auth/")
    root = target.public_url.rsplit("/auth/", 1)[0] + "/"
    with browser_client() as client:
        init = client.get(target.public_url + "self-service/verification/browser")
        assert init.status_code == 303 and init.headers["location"].startswith(target.public_url + "ui/verification")
        assert "Secure" in init.headers["set-cookie"] and "Path=/;" in init.headers["set-cookie"]
        assert client.get(root + "self-service/verification/browser").status_code == 404
    assert httpx.get(target.public_url + "health/alive").json() == {"status": "ok"}
    assert httpx.get(target.public_url + "health/ready").status_code == 200
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        assert flow["ui"]["action"].startswith(target.public_url + "self-service/verification?flow=")
