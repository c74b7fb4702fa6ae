"""Every fault in KNOWN_FAULTS changes observable behaviour: the same probe answers differently on a clean target
and on a target with only that fault switched on."""

from __future__ import annotations

import string
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from reference_helpers import (
    SmtpSink,
    StartTarget,
    browser_client,
    create_identity,
    csrf_token,
    get_identity,
    message_ids,
    native_client,
    node,
    query_param,
    spa_client,
    unique_email,
)

from kratos_reference import KNOWN_FAULTS, RunningTarget

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


def _submit_code(flow: dict[str, Any], code: str, client: httpx.Client | None = None) -> httpx.Response:
    return (client or httpx).post(flow["ui"]["action"], json={"method": "code", "code": code}, headers=JSON)


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


def probe_csrf_token_unbound(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as mine, spa_client() as theirs:
        flow = mine.get(target.public_url + "self-service/verification/browser").json()
        token = next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
        theirs.get(target.public_url + "self-service/verification/browser")  # a session, a cookie, of its own
        return theirs.post(flow["ui"]["action"], json={"method": "code", "email": unique_email(),
                                                       "csrf_token": token}).status_code


def probe_cookie_not_httponly(target: RunningTarget, sink: SmtpSink) -> Any:
    cookie = httpx.get(target.public_url + "self-service/verification/browser").headers["set-cookie"]
    return "HttpOnly" in cookie


def _cookie_attribute(target: RunningTarget, name: str) -> Any:
    """An attribute of the CSRF cookie an SPA's browser-flow init gets (True for a flag, the value otherwise)."""
    cookie = httpx.get(target.public_url + "self-service/verification/browser", headers=JSON).headers["set-cookie"]
    attributes = dict((part.split("=", 1) + [True])[:2] for part in (p.strip() for p in cookie.split(";")[1:]))
    return attributes.get(name, False)


def probe_csrf_cookie_secure_per_request(target: RunningTarget, sink: SmtpSink) -> Any:
    return _cookie_attribute(target, "Secure")


def probe_csrf_cookie_samesite_none(target: RunningTarget, sink: SmtpSink) -> Any:
    return _cookie_attribute(target, "SameSite")


def probe_csrf_cookie_path_narrow(target: RunningTarget, sink: SmtpSink) -> Any:
    return _cookie_attribute(target, "Path")


def probe_ui_page_mirrors_csrf_cookie(target: RunningTarget, sink: SmtpSink) -> Any:
    with browser_client() as client:
        init = client.get(target.public_url + "self-service/verification/browser")
        page = client.get(init.headers["location"])
        csrf_cookies = [name for name in client.cookies if name.startswith("csrf_token")]
    return len(csrf_cookies), page.status_code


def probe_ui_page_drops_csrf_token(target: RunningTarget, sink: SmtpSink) -> Any:
    with browser_client() as client:
        init = client.get(target.public_url + "self-service/verification/browser")
        return 'name="csrf_token"' in client.get(init.headers["location"]).text


def probe_ui_page_resets_csrf_cookie(target: RunningTarget, sink: SmtpSink) -> Any:
    with browser_client() as client:
        init = client.get(target.public_url + "self-service/verification/browser")
        page = client.get(init.headers["location"])
    return [c for c in page.headers.get_list("set-cookie") if c.startswith("csrf_token")]


def probe_ui_page_on_error(target: RunningTarget, sink: SmtpSink) -> Any:
    """The UI page of a browser flow answered with an error message (an email submission without address)."""
    with browser_client() as client:
        init = client.get(target.public_url + "self-service/verification/browser")
        flow_id = query_param(init.headers["location"], "flow")
        flow = client.get(target.public_url + "self-service/verification/flows", params={"id": flow_id}).json()
        failed = client.post(flow["ui"]["action"], data={"method": "code", "csrf_token": csrf_token(flow)})
        page = client.get(failed.headers["location"])
    return page.status_code, 'name="email"' in page.text


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


def _submitted_expired(target: RunningTarget) -> tuple[dict[str, Any], httpx.Response]:
    """An api flow left to expire (the probes run with a 200 ms flow lifespan), then an address submitted to it:
    (the flow, the answer)."""
    flow = _api_flow(target).json()
    time.sleep(0.25)
    return flow, _submit_email(flow, unique_email())


def _read_redirected_flow(answer: httpx.Response) -> httpx.Response:
    """GET the flow an answer's Location names, with the cookies the answer set."""
    with spa_client() as client:
        client.cookies.update(answer.cookies)
        return client.get(answer.headers["location"])


def probe_expired_keeps_old_id(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, answer = _submitted_expired(target)
    return answer.headers["location"].endswith(flow["id"])


def probe_expired_flow_renewed(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, answer = _submitted_expired(target)
    return answer.headers["location"].endswith(flow["id"]) and _read_redirected_flow(answer).status_code == 200


def probe_missing_method_as_configured(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return httpx.post(flow["ui"]["action"], json={"email": unique_email()}, headers=JSON).status_code


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



def _node_names(flow: dict[str, Any]) -> list[str]:
    return [n["attributes"].get("name", n["attributes"].get("id")) for n in flow["ui"]["nodes"]]


def _node_messages(flow: dict[str, Any], name: str) -> list[int]:
    return [m["id"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == name for m in n["messages"]]


def _submit_email(flow: dict[str, Any], email: str, method: str = "code",
                  client: httpx.Client | None = None) -> httpx.Response:
    return (client or httpx).post(flow["ui"]["action"], json={"method": method, "email": email}, headers=JSON)


def _sent_link_flow(target: RunningTarget, sink: SmtpSink, email: str | None = None,
                    count: int = 1) -> tuple[dict[str, Any], str, str]:
    """An api flow of a link target in sent_email: (flow, emailed link, identity id or "")."""
    identity_id = ""
    if email is None:
        email = unique_email()
        identity_id = create_identity(target.admin_url, email)["id"]
    flow = _submit_email(_api_flow(target).json(), email, "link").json()
    return flow, sink.wait_for(email, count=count).link, identity_id


def _spa_browser_flow(client: httpx.Client, target: RunningTarget, **params: str) -> dict[str, Any]:
    return client.get(target.public_url + "self-service/verification/browser", params=params).json()


def _browser_post_without_flow(target: RunningTarget) -> httpx.Response:
    with browser_client() as client:
        return client.post(target.public_url + "self-service/verification", data={"method": "code"})


def probe_expired_flow_get_404(target: RunningTarget, sink: SmtpSink) -> Any:
    return probe_expired_flow_get_200(target, sink)


def probe_attempt_limit_200(target: RunningTarget, sink: SmtpSink) -> Any:
    return probe_no_attempt_limit(target, sink)


def probe_expired_post_410(target: RunningTarget, sink: SmtpSink) -> Any:
    return _submitted_expired(target)[1].status_code


def probe_ui_redirect_without_flow_id(target: RunningTarget, sink: SmtpSink) -> Any:
    with browser_client() as client:
        location = client.get(target.public_url + "self-service/verification/browser").headers["location"]
        flow = client.get(target.public_url + "self-service/verification/flows",
                          params={"id": query_param(location, "flow")}).json()
        answer = client.post(flow["ui"]["action"], data={"method": "code", "email": unique_email(),
                                                         "csrf_token": csrf_token(flow)})
        return answer.status_code, "flow=" in answer.headers.get("location", "")


def probe_api_flow_redirected(target: RunningTarget, sink: SmtpSink) -> Any:
    return _submit_email(_api_flow(target).json(), unique_email()).status_code


def probe_browser_error_as_json(target: RunningTarget, sink: SmtpSink) -> Any:
    return _browser_post_without_flow(target).status_code


def probe_error_redirect_without_id(target: RunningTarget, sink: SmtpSink) -> Any:
    return "id=" in _browser_post_without_flow(target).headers.get("location", "")


def probe_link_token_reusable(target: RunningTarget, sink: SmtpSink) -> Any:
    _, link, _ = _sent_link_flow(target, sink)
    return [httpx.get(link, headers=JSON).status_code for _ in range(2)]


def probe_code_never_expires(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    time.sleep(0.3)
    return _submit_code(flow, code).status_code


def probe_link_token_never_expires(target: RunningTarget, sink: SmtpSink) -> Any:
    _, link, _ = _sent_link_flow(target, sink)
    time.sleep(0.3)
    return httpx.get(link, headers=JSON).status_code


def _old_code_after_a_resend(target: RunningTarget, sink: SmtpSink, *, new_mail_first: bool) -> Any:
    """The messages answering the first code, sent after a resend: once its mail came, or the moment it was
    answered."""
    email = unique_email()
    create_identity(target.admin_url, email)
    flow = _submit_email(_api_flow(target).json(), email).json()
    first = sink.wait_for(email).code
    _submit_email(flow, email)
    if new_mail_first:
        sink.wait_for(email, count=2)
    return message_ids(_submit_code(flow, first).json())


def probe_resend_keeps_old_code(target: RunningTarget, sink: SmtpSink) -> Any:
    return _old_code_after_a_resend(target, sink, new_mail_first=True)


def probe_resend_drops_old_code_late(target: RunningTarget, sink: SmtpSink) -> Any:
    return _old_code_after_a_resend(target, sink, new_mail_first=False)


def probe_link_token_other_flow_accepted(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    first, link, _ = _sent_link_flow(target, sink, email)
    second, _, _ = _sent_link_flow(target, sink, email, count=2)
    return httpx.get(link.replace(first["id"], second["id"]), headers=JSON).status_code


def probe_code_length(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    _submit_email(_api_flow(target).json(), email)
    return len(query_param(sink.wait_for(email).link, "code"))


def probe_link_token_short(target: RunningTarget, sink: SmtpSink) -> Any:
    _, link, _ = _sent_link_flow(target, sink)
    return len(query_param(link, "token"))


def probe_head_link_verifies(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, identity_id = _sent_flow(target, sink)
    httpx.head(target.public_url + "self-service/verification", params={"flow": flow["id"], "code": code})
    return get_identity(target.admin_url, identity_id)["verifiable_addresses"][0]["verified"]


def probe_head_link_consumes_code(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    httpx.head(target.public_url + "self-service/verification", params={"flow": flow["id"], "code": code})
    return _submit_code(flow, code).json().get("state")


def probe_code_submission_csrf_checked(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    with spa_client() as client:
        flow = _spa_browser_flow(client, target)
        sent = client.post(flow["ui"]["action"], json={"method": "code", "email": email,
                                                       "csrf_token": csrf_token(flow)}).json()
        answer = client.post(sent["ui"]["action"], json={"method": "code", "code": sink.wait_for(email).code})
        return answer.status_code


def probe_api_init_sets_csrf_cookie(target: RunningTarget, sink: SmtpSink) -> Any:
    return "set-cookie" in _api_flow(target).headers


def probe_get_flow_csrf_unchecked(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        flow = _spa_browser_flow(client, target)
    return httpx.get(target.public_url + "self-service/verification/flows", params={"id": flow["id"]}).status_code


def probe_get_flow_expiry_before_csrf(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        flow = _spa_browser_flow(client, target)
    time.sleep(0.25)
    return httpx.get(target.public_url + "self-service/verification/flows", params={"id": flow["id"]}).status_code


def probe_unknown_address_distinguishable(target: RunningTarget, sink: SmtpSink) -> Any:
    return message_ids(_submit_email(_api_flow(target).json(), unique_email()).json())


def probe_email_jumps_to_passed(target: RunningTarget, sink: SmtpSink) -> Any:
    return _submit_email(_api_flow(target).json(), unique_email()).json()["state"]


def probe_return_to_dropped_after_expiry(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        flow = _spa_browser_flow(client, target, return_to="https://app.example.com/done")
        time.sleep(0.25)
        answer = client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email(),
                                                         "csrf_token": csrf_token(flow)})
        return client.get(answer.headers["location"]).json().get("return_to")


def probe_browser_flow_no_csrf_node(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        return "csrf_token" in _node_names(_spa_browser_flow(client, target))


def probe_no_email_node(target: RunningTarget, sink: SmtpSink) -> Any:
    return "email" in _node_names(_api_flow(target).json())


def probe_ui_action_wrong_host(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).json()["ui"]["action"].startswith(target.public_url)


def probe_missing_email_not_flagged(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return _node_messages(httpx.post(flow["ui"]["action"], json={"method": "code"}, headers=JSON).json(), "email")


def probe_invalid_email_accepted(target: RunningTarget, sink: SmtpSink) -> Any:
    return _submit_email(_api_flow(target).json(), "not-an-email").status_code


def probe_flow_json_text_plain(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).headers["content-type"]


def probe_error_leaks_debug(target: RunningTarget, sink: SmtpSink) -> Any:
    answer = httpx.get(target.public_url + "self-service/verification/flows", params={"id": str(uuid.uuid4())})
    return sorted(answer.json()["error"])


def _at_once(count: int, send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """``count`` calls of ``send``, each with a client of its own built beforehand, released together (within the
    faults' race window: building a client takes longer than that)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(count)
    clients = [httpx.Client() for _ in range(count)]

    def released(client: httpx.Client) -> httpx.Response:
        barrier.wait(timeout=5)
        return send(client)

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(released, clients))
    finally:
        for client in clients:
            client.close()


def probe_race_single_use(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    answers = _at_once(5, lambda client: _submit_code(flow, code, client))
    return sum(a.status_code == 200 and a.json().get("state") == "passed_challenge" for a in answers)


def probe_race_stale_flow(target: RunningTarget, sink: SmtpSink) -> Any:
    """A resend and the old code sent at once: whether both succeeded (the resend mailed, the code verified)."""
    flow, code, _ = _sent_flow(target, sink)
    email = node(flow, "email")["attributes"]["value"]
    lock, order = threading.Lock(), ["code", "resend"]

    def send(client: httpx.Client) -> httpx.Response:
        with lock:
            which = order.pop()
        if which == "code":
            return _submit_code(flow, code, client)
        return _submit_email(flow, email, client=client)

    answers = _at_once(2, send)
    return all(a.status_code == 200 for a in answers) and {a.json().get("state") for a in answers} == {
        "sent_email", "passed_challenge"}


def probe_race_link_single_use(target: RunningTarget, sink: SmtpSink) -> Any:
    _, link, _ = _sent_link_flow(target, sink)
    answers = _at_once(5, lambda client: client.get(link, headers=JSON))
    return sum(a.status_code == 200 and a.json().get("state") == "passed_challenge" for a in answers)


def probe_race_attempt_count(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    answers = _at_once(10, lambda client: _submit_code(flow, _wrong(code), client))
    return sum(a.status_code == 200 and 4070006 in message_ids(a.json()) for a in answers) <= 5


def probe_address_update_conflict(target: RunningTarget, sink: SmtpSink) -> Any:
    """Two flows for one address, each proven with its own code at the same moment: how many passed."""
    email = unique_email()
    create_identity(target.admin_url, email)
    proofs = []
    for count in (1, 2):
        flow = _api_flow(target).json()
        sent = httpx.post(flow["ui"]["action"], json={"method": "code", "email": email}, headers=JSON).json()
        proofs.append((sent, sink.wait_for(email, count).code))
    answers = iter(proofs)
    passed = _at_once(2, lambda client: _submit_code(*next(answers), client))
    return sum(a.status_code == 200 and a.json().get("state") == "passed_challenge" for a in passed)


def probe_host_header_links(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    flow = _api_flow(target).json()
    httpx.post(flow["ui"]["action"], json={"method": "code", "email": email},
               headers={**JSON, "X-Forwarded-Host": "evil.example"})
    return sink.wait_for(email).link.startswith(target.public_url)


def probe_host_header_action(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    flow = _api_flow(target).json()
    answer = httpx.post(flow["ui"]["action"], json={"method": "code", "email": email},
                        headers={**JSON, "X-Forwarded-Host": "evil.example"})
    return answer.json()["ui"]["action"].startswith(target.public_url)


def probe_host_header_init_action(target: RunningTarget, sink: SmtpSink) -> Any:
    answer = httpx.get(target.public_url + "self-service/verification/api",
                       headers={"X-Forwarded-Host": "evil.example"})
    return answer.json()["ui"]["action"].startswith(target.public_url)


def probe_crlf_header_split(target: RunningTarget, sink: SmtpSink) -> Any:
    answer = _api_flow(target, return_to="https://app.example.com/\r\nX-Injected: yes")
    return answer.headers.get("x-injected")


def probe_return_to_prefix_match(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target, return_to="https://app.example.com@evil.example/").status_code


def probe_return_to_backslash(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target, return_to="https:\\\\evil.example\\").status_code


def probe_return_to_hostless(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target, return_to="javascript:alert(document.domain)//").status_code


def _fastest_submission(target: RunningTarget, email: str, tries: int = 3) -> float:
    """The quickest of a few email submissions (each on a fresh flow): the minimum shrugs off a busy machine."""
    times = []
    for _ in range(tries):
        flow = _api_flow(target).json()
        started = time.monotonic()
        _submit_email(flow, email)
        times.append(time.monotonic() - started)
    return min(times)


def probe_timing_leak(target: RunningTarget, sink: SmtpSink) -> Any:
    """Whether a known address is answered about as fast as an unknown one (the fault adds 150 ms).

    Compared against the unknown address rather than a fixed limit, so that a loaded CI machine slowing every
    request does not read as a leak."""
    email = unique_email()
    create_identity(target.admin_url, email)
    known = _fastest_submission(target, email)
    unknown = _fastest_submission(target, unique_email())
    return known - unknown < 0.075


# fault -> (probe, config overrides for both targets, what the clean target answers)

# --- probes of the faults that prove one requirement each --------------------------------------------------------

def _flows(target: RunningTarget, **params: str) -> httpx.Response:
    return httpx.get(target.public_url + "self-service/verification/flows", params=params, headers=JSON)


def probe_attempt_limit_off_by_one(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return [_submit_code(flow, "123456").status_code for _ in range(3)]


def probe_api_init_refused(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).status_code


def probe_unknown_flow(target: RunningTarget, sink: SmtpSink) -> Any:
    return _flows(target, id=str(uuid.uuid4())).status_code


def _post_raw(target: RunningTarget, body: bytes, content_type: str) -> httpx.Response:
    flow = _api_flow(target).json()
    return httpx.post(flow["ui"]["action"], content=body, headers={**JSON, "Content-Type": content_type})


def probe_unknown_content_type_error(target: RunningTarget, sink: SmtpSink) -> Any:
    return "ui" in _post_raw(target, b"email=a", "text/plain").json()


def probe_empty_body_error(target: RunningTarget, sink: SmtpSink) -> Any:
    return "ui" in _post_raw(target, b"", "application/json").json()


def probe_malformed_body_403(target: RunningTarget, sink: SmtpSink) -> Any:
    return _post_raw(target, b"{broken", "application/json").status_code


def probe_unknown_method_message_on_flow(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    answer = httpx.post(flow["ui"]["action"], json={"method": "carrier-pigeon", "email": unique_email()},
                        headers=JSON).json()
    return _node_messages(answer, "method")


def probe_error_redirect_foreign(target: RunningTarget, sink: SmtpSink) -> Any:
    return _browser_post_without_flow(target).headers.get("location", "").startswith(target.public_url)


def probe_browser_init_without_flow_id(target: RunningTarget, sink: SmtpSink) -> Any:
    with browser_client() as client:
        location = client.get(target.public_url + "self-service/verification/browser").headers["location"]
    return "flow=" in location


def probe_browser_init_json_ignored(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        return client.get(target.public_url + "self-service/verification/browser").status_code


def probe_sequential_codes(target: RunningTarget, sink: SmtpSink) -> Any:
    (_, first, _), (_, second, _) = _sent_flow(target, sink), _sent_flow(target, sink)
    return (int(second) - int(first)) % 1_000_000 == 7919


def probe_attempt_count_reset_on_replace(target: RunningTarget, sink: SmtpSink) -> Any:
    """With max_submissions 1: a wrong code, a second (which replaces the flow), then the right code to the
    replaced flow."""
    flow, code, _ = _sent_flow(target, sink)
    _submit_code(flow, _wrong(code))
    _submit_code(flow, _wrong(code))
    return _submit_code(flow, code).status_code


def probe_wrong_code_new_flow(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    return _submit_code(flow, _wrong(code)).json()["id"] == flow["id"]


def probe_codes_repeat_per_address(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    for _ in range(2):
        _submit_email(_api_flow(target).json(), email)
    return sink.wait_for(email).code == sink.wait_for(email, count=2).code


def probe_link_without_flow(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, link, _ = _sent_link_flow(target, sink)
    return f"flow={flow['id']}" in link


def probe_error_details_dropped(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    time.sleep(0.25)
    return "details" in _flows(target, id=flow["id"]).json()["error"]


def probe_error_status_numeric(target: RunningTarget, sink: SmtpSink) -> Any:
    return _flows(target, id=str(uuid.uuid4())).json()["error"]["status"]


def probe_expired_code_as_replaced(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    time.sleep(0.25)
    return _submit_code(flow, code).json()["error"].get("id")


def probe_code_link_not_prefilled(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    with browser_client() as client:
        init = client.get(target.public_url + "self-service/verification/browser")
        flow_id = query_param(init.headers["location"], "flow")
        flow = client.get(target.public_url + "self-service/verification/flows", params={"id": flow_id}).json()
        client.post(flow["ui"]["action"], data={"method": "code", "email": email, "csrf_token": csrf_token(flow)})
        client.get(sink.wait_for(email).link)
        after = client.get(target.public_url + "self-service/verification/flows", params={"id": flow_id}).json()
    return node(after, "code")["attributes"].get("value") == sink.wait_for(email).code


def probe_new_flow_form_get(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).json()["ui"]["method"]


def probe_expires_at_as_issued_at(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return flow["expires_at"] > flow["issued_at"]


def probe_request_url_empty(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).json()["request_url"] == target.public_url + "self-service/verification/api"


def probe_expired_post_410_new_flow(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    time.sleep(0.25)
    return _submit_email(flow, unique_email()).status_code


def probe_flow_id_upper_case_on_read(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return _flows(target, id=flow["id"]).json()["id"] == flow["id"]


def probe_csrf_error_generic_id(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        flow = _spa_browser_flow(client, target)
    return _flows(target, id=flow["id"]).json()["error"]["id"]


def probe_limit_answered_as_expired(target: RunningTarget, sink: SmtpSink) -> Any:
    """With max_submissions 1: the second wrong code replaces the flow."""
    flow, code, _ = _sent_flow(target, sink)
    _submit_code(flow, _wrong(code))
    return _submit_code(flow, _wrong(code)).json()["error"]["id"]


def probe_limit_replacement_api_typed(target: RunningTarget, sink: SmtpSink) -> Any:
    """With max_submissions 1, a browser: the second wrong code sends it to a new flow."""
    email = unique_email()
    create_identity(target.admin_url, email)
    flows = target.public_url + "self-service/verification/flows"
    with browser_client() as client:
        flow_id = query_param(client.get(target.public_url + "self-service/verification/browser").headers["location"],
                              "flow")
        flow = client.get(flows, params={"id": flow_id}).json()
        client.post(flow["ui"]["action"], data={"method": "code", "email": email, "csrf_token": csrf_token(flow)})
        wrong = {"method": "code", "code": _wrong(sink.wait_for(email).code), "csrf_token": csrf_token(flow)}
        client.post(flow["ui"]["action"], data=wrong)
        new_id = query_param(client.post(flow["ui"]["action"], data=wrong).headers["location"], "flow")
        return client.get(flows, params={"id": new_id}).json()["type"]


def probe_code_mail_without_link(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    _submit_email(_api_flow(target).json(), email)
    return "/self-service/verification?" in sink.wait_for(email).text


def probe_mail_link_internal_host(target: RunningTarget, sink: SmtpSink) -> Any:
    return _sent_link_flow(target, sink)[1].startswith(target.public_url)


def probe_new_flow_active_default(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).json()["active"]


def probe_new_flow_other_method(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return flow["active"], node(flow, "method")["attributes"]["value"]


def probe_browser_init_no_csrf_cookie(target: RunningTarget, sink: SmtpSink) -> Any:
    init = httpx.get(target.public_url + "self-service/verification/browser")
    return any(c.startswith("csrf_token") for c in init.headers.get_list("set-cookie"))


def probe_csrf_node_empty(target: RunningTarget, sink: SmtpSink) -> Any:
    with spa_client() as client:
        return bool(csrf_token(_spa_browser_flow(client, target)))


def probe_resend_button_without_address(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, _, _ = _sent_flow(target, sink)
    return bool(node(flow, "email")["attributes"].get("value"))


def probe_invalid_email_old_wording(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _submit_email(_api_flow(target).json(), "not-an-email").json()
    return [m["text"] for m in node(flow, "email")["messages"]]


def probe_transient_payload_500(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return httpx.post(flow["ui"]["action"], headers=JSON, json={"method": "code", "email": unique_email(),
                                                                "transient_payload": {"from": "probe"}}).status_code


def probe_unknown_address_400(target: RunningTarget, sink: SmtpSink) -> Any:
    return _submit_email(_api_flow(target).json(), unique_email()).status_code


def probe_sequential_link_tokens(target: RunningTarget, sink: SmtpSink) -> Any:
    digits = string.digits + string.ascii_lowercase + string.ascii_uppercase
    first, second = (query_param(_sent_link_flow(target, sink)[1], "token") for _ in range(2))
    number = [sum(digits.index(c) * 62 ** i for i, c in enumerate(reversed(t))) for t in (first, second)]
    return (number[1] - number[0]) % 62 ** 32 == 7919


def probe_link_unknown_token_404(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return httpx.get(target.public_url + "self-service/verification",
                     params={"flow": flow["id"], "token": "x" * 32}).status_code


def probe_link_success_without_message(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, link, _ = _sent_link_flow(target, sink)
    httpx.get(link)
    return message_ids(_flows(target, id=flow["id"]).json()["ui"])


def probe_link_leaves_address_unverified(target: RunningTarget, sink: SmtpSink) -> Any:
    _, link, identity_id = _sent_link_flow(target, sink)
    httpx.get(link)
    return get_identity(target.admin_url, identity_id)["verifiable_addresses"][0]["verified"]


def probe_link_replay_wrong_message(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, link, _ = _sent_link_flow(target, sink)
    httpx.get(link)
    replay = _submit_email(flow, unique_email(), "link")
    return message_ids(httpx.get(replay.headers["location"], headers=JSON).json()["ui"])


def probe_inactive_method_accepted(target: RunningTarget, sink: SmtpSink) -> Any:
    return _submit_email(_api_flow(target).json(), unique_email(), "link").json()["state"]


def probe_api_flow_browser_headers_accepted(target: RunningTarget, sink: SmtpSink) -> Any:
    flow = _api_flow(target).json()
    return httpx.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()},
                      headers={**JSON, "Origin": "https://app.example.com"}).status_code


def probe_continue_via_post(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    return _submit_code(flow, code).json()["ui"]["method"]


def probe_return_to_not_kept(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target, return_to="https://app.example.com/done").json().get("return_to")


def probe_return_to_not_continued(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    flow = _api_flow(target, return_to="https://app.example.com/done").json()
    sent = _submit_email(flow, email).json()
    return _submit_code(sent, sink.wait_for(email).code).json()["ui"]["action"]


def probe_email_input_optional(target: RunningTarget, sink: SmtpSink) -> Any:
    return [n["attributes"].get("required") for n in _api_flow(target).json()["ui"]["nodes"]
            if n["attributes"].get("name") == "email"]


def probe_code_input_optional(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, _, _ = _sent_flow(target, sink)
    return [n["attributes"].get("required") for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "code"]


def probe_email_label_renumbered(target: RunningTarget, sink: SmtpSink) -> Any:
    return [n["meta"]["label"]["id"] for n in _api_flow(target).json()["ui"]["nodes"]
            if n["attributes"].get("name") == "email"]


def probe_code_other_flow_accepted(target: RunningTarget, sink: SmtpSink) -> Any:
    email = unique_email()
    create_identity(target.admin_url, email)
    _submit_email(_api_flow(target).json(), email).json()
    first_code = sink.wait_for(email).code
    second = _submit_email(_api_flow(target).json(), email).json()
    sink.wait_for(email, count=2)
    return _submit_code(second, first_code).json()["state"]


def probe_unknown_address_header(target: RunningTarget, sink: SmtpSink) -> Any:
    return "x-recipient-status" in _submit_email(_api_flow(target).json(), unique_email()).headers


def probe_unknown_address_cookie(target: RunningTarget, sink: SmtpSink) -> Any:
    return "recipient_hint" in _submit_email(_api_flow(target).json(), unique_email()).cookies


def _continue_href(flow: dict[str, Any]) -> str:
    return next(n["attributes"]["href"] for n in flow["ui"]["nodes"] if n["attributes"].get("id") == "continue")


def probe_continue_href_relative(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, code, _ = _sent_flow(target, sink)
    return _continue_href(_submit_code(flow, code).json()).startswith("http")


def probe_link_continue_href_relative(target: RunningTarget, sink: SmtpSink) -> Any:
    flow, link, _ = _sent_link_flow(target, sink)
    httpx.get(link)
    return _continue_href(_flows(target, id=flow["id"]).json()).startswith("http")


def probe_expired_replacement_without_form(target: RunningTarget, sink: SmtpSink) -> Any:
    _, answer = _submitted_expired(target)
    return "email" in _node_names(_read_redirected_flow(answer).json())


def probe_flow_json_no_charset(target: RunningTarget, sink: SmtpSink) -> Any:
    return _api_flow(target).headers["content-type"]


PROBES: dict[str, tuple[Probe, dict[str, Any], Any]] = {
    "code_reusable": (probe_code_reusable, {}, 410),
    "expired_flow_get_200": (probe_expired_flow_get_200, {"flow_lifespan": "200ms"}, 410),
    "wrong_code_400": (probe_wrong_code_400, {}, 200),
    "no_attempt_limit": (probe_no_attempt_limit, {"max_submissions": 1}, [200, 410]),
    "csrf_not_checked": (probe_csrf_not_checked, {}, 403),
    "csrf_token_unbound": (probe_csrf_token_unbound, {}, 403),
    "cookie_not_httponly": (probe_cookie_not_httponly, {}, True),
    "csrf_cookie_secure_per_request": (probe_csrf_cookie_secure_per_request, {}, False),
    "csrf_cookie_samesite_none": (probe_csrf_cookie_samesite_none, {}, "Lax"),
    "csrf_cookie_path_narrow": (probe_csrf_cookie_path_narrow, {}, "/"),
    "ui_page_mirrors_csrf_cookie": (probe_ui_page_mirrors_csrf_cookie, {}, (1, 200)),
    "ui_page_exposes_csrf_token": (probe_ui_page_mirrors_csrf_cookie, {}, (1, 200)),
    "ui_page_drops_csrf_token": (probe_ui_page_drops_csrf_token, {}, True),
    "ui_page_restarts_on_error": (probe_ui_page_on_error, {}, (200, True)),
    "ui_page_sends_errors_home": (probe_ui_page_on_error, {}, (200, True)),
    "ui_page_hides_form_on_error": (probe_ui_page_on_error, {}, (200, True)),
    "ui_page_resets_csrf_cookie": (probe_ui_page_resets_csrf_cookie, {}, []),
    "unknown_address_mailed": (probe_unknown_address_mailed, {}, 0),
    "address_not_marked_verified": (probe_address_not_marked_verified, {}, True),
    "get_link_verifies": (probe_get_link_verifies, {}, False),
    "return_to_unchecked": (probe_return_to_unchecked, {}, 400),
    "malformed_body_500": (probe_malformed_body_500, {}, 400),
    "flow_missing_state": (probe_flow_missing_state, {}, True),
    "undocumented_status_418": (probe_undocumented_status_418, {}, 200),
    "replaced_without_use_flow_id": (probe_replaced_without_use_flow_id, {"max_submissions": 1}, True),
    "expired_keeps_old_id": (probe_expired_keeps_old_id, {"flow_lifespan": "200ms"}, False),
    "expired_flow_renewed": (probe_expired_flow_renewed, {"flow_lifespan": "200ms"}, False),
    "missing_method_as_configured": (probe_missing_method_as_configured, {}, 400),
    "no_cache_control": (probe_no_cache_control, {}, "private, no-cache, no-store, must-revalidate"),
    "wrong_success_message": (probe_wrong_success_message, {}, [1080002]),
    "state_not_advanced": (probe_state_not_advanced, {}, "sent_email"),
    "expired_flow_get_404": (probe_expired_flow_get_404, {"flow_lifespan": "200ms"}, 410),
    "attempt_limit_200": (probe_attempt_limit_200, {"max_submissions": 1}, [200, 410]),
    "expired_post_410": (probe_expired_post_410, {"flow_lifespan": "200ms"}, 303),
    "ui_redirect_without_flow_id": (probe_ui_redirect_without_flow_id, {}, (303, True)),
    "api_flow_redirected": (probe_api_flow_redirected, {}, 200),
    "browser_error_as_json": (probe_browser_error_as_json, {}, 303),
    "error_redirect_without_id": (probe_error_redirect_without_id, {}, True),
    "link_token_reusable": (probe_link_token_reusable, {"method": "link"}, [200, 303]),
    "code_never_expires": (probe_code_never_expires, {"code_lifespan": "200ms"}, 410),
    "link_token_never_expires": (probe_link_token_never_expires, {"method": "link", "link_lifespan": "200ms"}, 303),
    "resend_keeps_old_code": (probe_resend_keeps_old_code, {}, [4070006]),
    "resend_drops_old_code_late": (probe_resend_drops_old_code_late, {}, [4070006]),
    "link_token_other_flow_accepted": (probe_link_token_other_flow_accepted, {"method": "link"}, 303),
    "code_8_digits": (probe_code_length, {}, 6),
    "code_4_digits": (probe_code_length, {}, 6),
    "address_update_conflict": (probe_address_update_conflict, {}, 2),
    "link_token_short": (probe_link_token_short, {"method": "link"}, 32),
    "head_link_verifies": (probe_head_link_verifies, {}, False),
    "head_link_consumes_code": (probe_head_link_consumes_code, {}, "passed_challenge"),
    "code_submission_csrf_checked": (probe_code_submission_csrf_checked, {}, 200),
    "api_init_sets_csrf_cookie": (probe_api_init_sets_csrf_cookie, {}, False),
    "get_flow_csrf_unchecked": (probe_get_flow_csrf_unchecked, {}, 403),
    "get_flow_expiry_before_csrf": (probe_get_flow_expiry_before_csrf, {"flow_lifespan": "200ms"}, 403),
    "unknown_address_distinguishable": (probe_unknown_address_distinguishable, {}, [1080003]),
    "email_jumps_to_passed": (probe_email_jumps_to_passed, {}, "sent_email"),
    "return_to_dropped_after_expiry": (probe_return_to_dropped_after_expiry,
                                       {"flow_lifespan": "200ms", "allowed_return_urls": ("https://app.example.com/",)},
                                       "https://app.example.com/done"),
    "browser_flow_no_csrf_node": (probe_browser_flow_no_csrf_node, {}, True),
    "no_email_node": (probe_no_email_node, {}, True),
    "ui_action_wrong_host": (probe_ui_action_wrong_host, {}, True),
    "missing_email_not_flagged": (probe_missing_email_not_flagged, {}, [4000002]),
    "invalid_email_accepted": (probe_invalid_email_accepted, {}, 400),
    "flow_json_text_plain": (probe_flow_json_text_plain, {}, "application/json; charset=utf-8"),
    "error_leaks_debug": (probe_error_leaks_debug, {}, ["code", "message", "status"]),
    "race_single_use": (probe_race_single_use, {}, 1),
    "race_refuses_all": (probe_race_single_use, {}, 1),
    "race_stale_flow": (probe_race_stale_flow, {}, False),
    "race_link_single_use": (probe_race_link_single_use, {"method": "link"}, 1),
    "race_attempt_count": (probe_race_attempt_count, {}, True),
    "host_header_links": (probe_host_header_links, {}, True),
    "host_header_action": (probe_host_header_action, {}, True),
    "host_header_init_action": (probe_host_header_init_action, {}, True),
    "crlf_header_split": (probe_crlf_header_split, {}, None),
    "return_to_prefix_match": (probe_return_to_prefix_match, {"allowed_return_urls": ("https://app.example.com/",)},
                               400),
    "return_to_backslash": (probe_return_to_backslash, {"allowed_return_urls": ("https://app.example.com/",)}, 400),
    "return_to_hostless": (probe_return_to_hostless, {"allowed_return_urls": ("https://app.example.com/",)}, 400),
    "timing_leak": (probe_timing_leak, {}, True),
    "attempt_limit_off_by_one": (probe_attempt_limit_off_by_one, {"max_submissions": 1}, [200, 410, 410]),
    "api_init_refused": (probe_api_init_refused, {}, 200),
    "unknown_flow_410": (probe_unknown_flow, {}, 404),
    "unknown_flow_422": (probe_unknown_flow, {}, 404),
    "unknown_content_type_error": (probe_unknown_content_type_error, {}, True),
    "empty_body_error": (probe_empty_body_error, {}, True),
    "malformed_body_403": (probe_malformed_body_403, {}, 400),
    "unknown_method_message_on_flow": (probe_unknown_method_message_on_flow, {}, [4000001]),
    "error_redirect_foreign": (probe_error_redirect_foreign, {}, True),
    "browser_init_without_flow_id": (probe_browser_init_without_flow_id, {}, True),
    "browser_init_json_ignored": (probe_browser_init_json_ignored, {}, 200),
    "sequential_codes": (probe_sequential_codes, {}, False),
    "attempt_count_reset_on_replace": (probe_attempt_count_reset_on_replace, {"max_submissions": 1}, 410),
    "wrong_code_new_flow": (probe_wrong_code_new_flow, {}, True),
    "codes_repeat_per_address": (probe_codes_repeat_per_address, {}, False),
    "link_without_flow": (probe_link_without_flow, {"method": "link"}, True),
    "unknown_address_400": (probe_unknown_address_400, {}, 200),
    "transient_payload_500": (probe_transient_payload_500, {}, 200),
    "csrf_node_empty": (probe_csrf_node_empty, {}, True),
    "resend_button_without_address": (probe_resend_button_without_address, {}, True),
    "invalid_email_old_wording": (probe_invalid_email_old_wording, {}, ["Enter a valid email address"]),
    "expired_post_410_new_flow": (probe_expired_post_410_new_flow, {"flow_lifespan": "200ms"}, 303),
    "flow_id_upper_case_on_read": (probe_flow_id_upper_case_on_read, {}, True),
    "csrf_error_generic_id": (probe_csrf_error_generic_id, {}, "security_csrf_violation"),
    "limit_spares_right_code": (probe_attempt_count_reset_on_replace, {"max_submissions": 1}, 410),
    "limit_answered_as_expired": (probe_limit_answered_as_expired, {"max_submissions": 1},
                                  "self_service_flow_replaced"),
    "limit_replacement_api_typed": (probe_limit_replacement_api_typed, {"max_submissions": 1}, "browser"),
    "code_mail_without_link": (probe_code_mail_without_link, {}, True),
    "mail_link_internal_host": (probe_mail_link_internal_host, {"method": "link"}, True),
    "new_flow_active_default": (probe_new_flow_active_default, {}, "code"),
    "new_flow_other_method": (probe_new_flow_other_method, {}, ("code", "code")),
    "browser_init_no_csrf_cookie": (probe_browser_init_no_csrf_cookie, {}, True),
    "new_flow_form_get": (probe_new_flow_form_get, {}, "POST"),
    "expires_at_as_issued_at": (probe_expires_at_as_issued_at, {}, True),
    "request_url_empty": (probe_request_url_empty, {}, True),
    "error_details_dropped": (probe_error_details_dropped, {"flow_lifespan": "200ms"}, True),
    "error_status_numeric": (probe_error_status_numeric, {}, "Not Found"),
    "code_link_not_prefilled": (probe_code_link_not_prefilled, {}, True),
    "expired_code_as_replaced": (probe_expired_code_as_replaced, {"code_lifespan": "200ms"},
                                 "self_service_flow_expired"),
    "sequential_link_tokens": (probe_sequential_link_tokens, {"method": "link"}, False),
    "link_unknown_token_404": (probe_link_unknown_token_404, {"method": "link"}, 303),
    "link_success_without_message": (probe_link_success_without_message, {"method": "link"}, [1080002]),
    "link_leaves_address_unverified": (probe_link_leaves_address_unverified, {"method": "link"}, True),
    "link_replay_wrong_message": (probe_link_replay_wrong_message, {"method": "link"}, [4070002]),
    "inactive_method_accepted": (probe_inactive_method_accepted, {}, "choose_method"),
    "api_flow_browser_headers_accepted": (probe_api_flow_browser_headers_accepted, {}, 400),
    "continue_via_post": (probe_continue_via_post, {}, "GET"),
    "return_to_not_kept": (probe_return_to_not_kept, {"allowed_return_urls": ("https://app.example.com/",)},
                           "https://app.example.com/done"),
    "return_to_not_continued": (probe_return_to_not_continued, {"allowed_return_urls": ("https://app.example.com/",)},
                                "https://app.example.com/done"),
    "email_input_optional": (probe_email_input_optional, {}, [True]),
    "code_input_optional": (probe_code_input_optional, {}, [True]),
    "email_label_renumbered": (probe_email_label_renumbered, {}, [1070007]),
    "flow_json_no_charset": (probe_flow_json_no_charset, {}, "application/json; charset=utf-8"),
    "code_other_flow_accepted": (probe_code_other_flow_accepted, {}, "sent_email"),
    "continue_href_relative": (probe_continue_href_relative, {}, True),
    "link_continue_href_relative": (probe_link_continue_href_relative, {"method": "link"}, True),
    "expired_replacement_without_form": (probe_expired_replacement_without_form, {"flow_lifespan": "200ms"}, True),
    "unknown_address_header": (probe_unknown_address_header, {}, False),
    "unknown_address_cookie": (probe_unknown_address_cookie, {}, False),
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
