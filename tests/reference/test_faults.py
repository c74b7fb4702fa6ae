"""Every fault in KNOWN_FAULTS changes observable behaviour: the same probe answers differently on a clean target
and on a target with only that fault switched on."""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx
import pytest

from reference_helpers import (SmtpSink, StartTarget, create_identity, get_identity, message_ids, native_client,
                               spa_client, unique_email)

from kratos_conformance.reference import KNOWN_FAULTS, RunningTarget

Probe = Callable[[RunningTarget, SmtpSink], Any]
JSON = {"Accept": "application/json"}


def _api_flow(target: RunningTarget, **params: str) -> httpx.Response:
    return httpx.get(target.public_url + "self-service/verification/api", params=params, headers=JSON)


def _sent_flow(target: RunningTarget, sink: SmtpSink) -> tuple[dict[str, Any], str, str]:
    """An api flow in sent_email for a fresh identity: (flow, code, identity id)."""
    email = unique_email()
    identity = create_identity(target.admin_url, email)
    flow = _api_flow(target).json()
    sent = httpx.post(flow["ui"]["action"], json={"method": "code", "email": email}, headers=JSON)
    return sent.json(), sink.wait_for(email).code, identity["id"]


def _submit_code(flow: dict[str, Any], code: str) -> httpx.Response:
    return httpx.post(flow["ui"]["action"], json={"method": "code", "code": code}, headers=JSON)


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def probe_code_reusable(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    _submit_code(flow, code)
    return _submit_code(flow, code).status_code


def probe_expired_flow_get_200(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    time.sleep(0.25)
    return httpx.get(target.public_url + "self-service/verification/flows", params={"id": flow["id"]}).status_code


def probe_wrong_code_400(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    return _submit_code(flow, _wrong(code)).status_code


def probe_no_attempt_limit(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return [_submit_code(flow, "123456").status_code for _ in range(2)]


def probe_csrf_not_checked(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        flow = client.get(target.public_url + "self-service/verification/browser").json()
        return client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email(),
                                                       "csrf_token": "forged"}).status_code


def probe_cookie_not_httponly(target: RunningTarget, sink: SmtpSink) -> Any:
    cookie = httpx.get(target.public_url + "self-service/verification/browser").headers["set-cookie"]
    return "HttpOnly" in cookie


def probe_unknown_address_mailed(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    flow = _api_flow(target).json()
    httpx.post(flow["ui"]["action"], json={"method": "code", "email": email}, headers=JSON)
    try:
        sink.wait_for(email, timeout=1.5)
    except AssertionError:
        return 0
    return len(sink.mails_to(email))


def probe_address_not_marked_verified(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, identity_id = _sent_flow(target, sink)
    _submit_code(flow, code)
    return get_identity(target.admin_url, identity_id)["verifiable_addresses"][0]["verified"]


def probe_get_link_verifies(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, identity_id = _sent_flow(target, sink)
    httpx.get(target.public_url + "self-service/verification", params={"flow": flow["id"], "code": code})
    return get_identity(target.admin_url, identity_id)["verifiable_addresses"][0]["verified"]


def probe_return_to_unchecked(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target, return_to="https://evil.test/steal").status_code


def probe_malformed_body_500(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return httpx.post(flow["ui"]["action"], content=b"{broken",
                      headers={**JSON, "Content-Type": "application/json"}).status_code


def probe_flow_missing_state(target: RunningTarget, sink: SmtpSink) -> Any:
    return "state" in _api_flow(target).json()


def probe_undocumented_status_418(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    httpx.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()}, headers=JSON)
    return httpx.get(target.public_url + "self-service/verification/flows", params={"id": flow["id"]}).status_code


def probe_replaced_without_use_flow_id(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    _submit_code(flow, "123456")
    return "use_flow_id" in _submit_code(flow, "123456").json()


def probe_expired_keeps_old_id(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    time.sleep(0.25)
    answer = httpx.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()}, headers=JSON)
    return answer.headers["location"].endswith(flow["id"])


def probe_no_cache_control(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return httpx.get(target.public_url + "self-service/verification/flows",
                     params={"id": flow["id"]}).headers.get("cache-control")


def probe_wrong_success_message(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    return message_ids(_submit_code(flow, code).json())


def probe_state_not_advanced(target: RunningTarget, sink: SmtpSink) -> Any:
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        return client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()}).json()["state"]


# fault -> (probe, config overrides for both targets, what the clean target answers)
PROBES: dict[str, tuple[Probe, dict[str, Any], Any]] = {
    "code_reusable": (probe_code_reusable, {}, 410),
    "expired_flow_get_200": (probe_expired_flow_get_200, {"flow_lifespan": "200ms"}, 410),
    "wrong_code_400": (probe_wrong_code_400, {}, 200),
    "no_attempt_limit": (probe_no_attempt_limit, {"max_submissions": 1}, [200, 410]),
    "csrf_not_checked": (probe_csrf_not_checked, {}, 403),
    "cookie_not_httponly": (probe_cookie_not_httponly, {}, True),
    "unknown_address_mailed": (probe_unknown_address_mailed, {}, 0),
    "address_not_marked_verified": (probe_address_not_marked_verified, {}, True),
    "get_link_verifies": (probe_get_link_verifies, {}, False),
    "return_to_unchecked": (probe_return_to_unchecked, {}, 400),
    "malformed_body_500": (probe_malformed_body_500, {}, 400),
    "flow_missing_state": (probe_flow_missing_state, {}, True),
    "undocumented_status_418": (probe_undocumented_status_418, {}, 200),
    "replaced_without_use_flow_id": (probe_replaced_without_use_flow_id, {"max_submissions": 1}, True),
    "expired_keeps_old_id": (probe_expired_keeps_old_id, {"flow_lifespan": "200ms"}, False),
    "no_cache_control": (probe_no_cache_control, {}, "private, no-cache, no-store, must-revalidate"),
    "wrong_success_message": (probe_wrong_success_message, {}, [1080002]),
    "state_not_advanced": (probe_state_not_advanced, {}, "sent_email"),
}


def test_every_known_fault_has_a_probe() -> None:
    assert set(PROBES) == set(KNOWN_FAULTS)


@pytest.mark.parametrize("fault", sorted(KNOWN_FAULTS))
def test_fault_changes_observable_behaviour(fault: str, start_target: StartTarget, smtp_sink: SmtpSink) -> None:
    probe, overrides, clean_expected = PROBES[fault]
    clean = start_target(**overrides)
    faulty = start_target(**overrides, faults=frozenset({fault}))
    clean_answer = probe(clean, smtp_sink)
    faulty_answer = probe(faulty, smtp_sink)
    assert clean_answer == clean_expected, f"{fault}: the clean target answered {clean_answer!r}"
    assert faulty_answer != clean_answer, f"{fault}: the faulty target answered the same {faulty_answer!r}"
