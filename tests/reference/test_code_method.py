"""The code method end to end for native, browser and SPA clients, with mails read from the SMTP sink."""

from __future__ import annotations

import threading
import time

import httpx
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

from kratos_reference import RunningTarget


def test_native_client_walks_the_code_flow(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    identity = create_identity(code_target.admin_url, email)
    with native_client() as client:
        init = client.get(code_target.public_url + "self-service/verification/api")
        assert init.status_code == 200 and "set-cookie" not in init.headers
        flow = init.json()
        assert (flow["type"], flow["state"], flow["active"]) == ("api", "choose_method", "code")
        assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["email", "method"]
        assert "messages" not in flow["ui"]

        sent = client.post(flow["ui"]["action"], json={"method": "code", "email": email})
        assert sent.status_code == 200
        flow = sent.json()
        assert flow["state"] == "sent_email" and message_ids(flow) == [1080003]
        assert [(n["attributes"]["name"], n["attributes"]["type"]) for n in flow["ui"]["nodes"]] == [
            ("method", "hidden"), ("code", "text"), ("method", "submit"), ("email", "submit")]
        assert node(flow, "email")["meta"]["label"]["id"] == 1070008
        assert get_identity(code_target.admin_url, identity["id"])["verifiable_addresses"][0]["status"] == "sent"

        mail = smtp_sink.wait_for(email)
        assert mail.subject == f"Use code {mail.code} to verify your account"
        assert f"flow={flow['id']}" in mail.text and f"code={mail.code}" in mail.text

        wrong = "000000" if mail.code != "000000" else "111111"
        rejected = client.post(flow["ui"]["action"], json={"method": "code", "code": wrong})
        assert rejected.status_code == 200 and rejected.json()["id"] == flow["id"]
        assert message_ids(rejected.json()) == [4070006] and rejected.json()["state"] == "sent_email"
        assert rejected.json()["transient_payload"] == {}  # Kratos echoes the flow it holds, payload included

        done = client.post(flow["ui"]["action"], json={"method": "code", "code": mail.code})
        assert done.status_code == 200
        flow = done.json()
        assert flow["state"] == "passed_challenge" and message_ids(flow) == [1080002]
        assert flow["ui"]["method"] == "GET"
        assert flow["ui"]["action"] == code_target.public_url + "ui/welcome"
        anchor = node(flow, "continue")
        assert anchor["type"] == "a" and anchor["attributes"]["href"] == flow["ui"]["action"]
        assert anchor["attributes"]["title"]["id"] == 1070009 and anchor["attributes"]["node_type"] == "a"
        assert [n["attributes"].get("name", n["attributes"].get("id")) for n in flow["ui"]["nodes"]] == [
            "csrf_token", "continue"]

        address = get_identity(code_target.admin_url, identity["id"])["verifiable_addresses"][0]
        assert address["verified"] is True and address["status"] == "completed" and "verified_at" in address

        replay = client.post(code_target.public_url + "self-service/verification", params={"flow": flow["id"]},
                             json={"method": "code", "code": mail.code})
        assert replay.status_code == 410
        body = replay.json()
        assert body["error"]["id"] == "self_service_flow_replaced" and body["use_flow_id"] != flow["id"]
        fresh = client.get(code_target.public_url + "self-service/verification/flows",
                           params={"id": body["use_flow_id"]}).json()
        assert message_ids(fresh) == [4070002] and fresh["type"] == "api"


def test_browser_client_is_redirected_through_the_code_flow(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with browser_client() as client:
        init = client.get(code_target.public_url + "self-service/verification/browser")
        assert init.status_code == 303 and init.text.startswith("<a href=")
        cookie = init.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Path=/" in cookie and "SameSite=Lax" in cookie
        assert "Max-Age=31536000" in cookie and "Secure" not in cookie
        flow_id = query_param(init.headers["location"], "flow")
        assert init.headers["location"].startswith(code_target.public_url + "ui/verification?")

        flow = client.get(code_target.public_url + "self-service/verification/flows", params={"id": flow_id})
        assert flow.status_code == 200
        assert flow.headers["cache-control"] == "private, no-cache, no-store, must-revalidate"
        token = csrf_token(flow.json())
        cookie_value = client.cookies.get(code_target.services.verification.cookie_name)
        assert token and cookie_value and token != cookie_value

        sent = client.post(flow.json()["ui"]["action"], data={"method": "code", "email": email, "csrf_token": token})
        assert sent.status_code == 303 and sent.content == b""
        assert query_param(sent.headers["location"], "flow") == flow_id
        mail = smtp_sink.wait_for(email)

        current = client.get(code_target.public_url + "self-service/verification/flows", params={"id": flow_id}).json()
        assert current["state"] == "sent_email"
        done = client.post(current["ui"]["action"], data={"method": "code", "code": mail.code,
                                                          "csrf_token": csrf_token(current)})
        assert done.status_code == 303 and query_param(done.headers["location"], "flow") == flow_id
        final = client.get(code_target.public_url + "self-service/verification/flows", params={"id": flow_id}).json()
        assert final["state"] == "passed_challenge" and message_ids(final) == [1080002]


def test_spa_client_gets_json_and_csrf_is_enforced(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with spa_client() as client:
        init = client.get(code_target.public_url + "self-service/verification/browser")
        assert init.status_code == 200 and "set-cookie" in init.headers
        flow = init.json()
        assert flow["type"] == "browser" and csrf_token(flow)
        assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["email", "method", "csrf_token"]

        forged = client.post(flow["ui"]["action"], json={"method": "code", "email": email, "csrf_token": "forged"})
        assert forged.status_code == 403
        error = forged.json()["error"]
        assert error["id"] == "security_csrf_violation" and "reject_reason" in error["details"]
        assert "debug" not in error
        smtp_sink.assert_no_mail(email, settle=0.2)

        sent = client.post(flow["ui"]["action"], json={"method": "code", "email": email,
                                                       "csrf_token": csrf_token(flow)})
        assert sent.status_code == 200 and sent.json()["state"] == "sent_email"
        assert csrf_token(sent.json())
        code = smtp_sink.wait_for(email).code
        done = client.post(flow["ui"]["action"], json={"method": "code", "code": code})
        assert done.status_code == 200 and done.json()["state"] == "passed_challenge"
        again = client.post(flow["ui"]["action"], json={"method": "code", "code": code})
        assert again.status_code == 410 and again.json()["use_flow_id"]


def test_browser_form_post_without_csrf_goes_to_the_error_ui(code_target: RunningTarget) -> None:
    with browser_client() as client:
        flow_id = query_param(client.get(code_target.public_url + "self-service/verification/browser")
                              .headers["location"], "flow")
        refused = client.post(code_target.public_url + "self-service/verification", params={"flow": flow_id},
                              data={"method": "code", "email": unique_email()})
        assert refused.status_code == 303
        assert refused.headers["location"].startswith(code_target.public_url + "ui/error?id=")
        stored = client.get(code_target.public_url + "self-service/errors",
                            params={"id": query_param(refused.headers["location"], "id")})
        assert stored.status_code == 200 and stored.json()["error"]["id"] == "security_csrf_violation"
        page = client.get(refused.headers["location"])
        assert page.status_code == 200 and "security_csrf_violation" in page.text


def test_api_flow_rejects_cookie_and_origin_headers(code_target: RunningTarget) -> None:
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        with_origin = client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()},
                                  headers={"Origin": "https://spa.test"})
        assert with_origin.status_code == 400 and message_ids(with_origin.json()) == [4000001]
        assert '"Origin"' in with_origin.json()["ui"]["messages"][0]["text"]
        with_cookie = client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()},
                                  headers={"Cookie": "some=cookie"})
        assert with_cookie.status_code == 400 and '"Cookie"' in with_cookie.json()["ui"]["messages"][-1]["text"]
        assert with_cookie.json()["state"] == "choose_method"


def test_validation_errors_land_on_nodes_and_accumulate(code_target: RunningTarget) -> None:
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        missing = client.post(flow["ui"]["action"], json={"method": "code"})
        assert missing.status_code == 400
        email_node = node(missing.json(), "email")
        assert [m["id"] for m in email_node["messages"]] == [4000002]
        assert email_node["messages"][0]["text"] == "Property email is missing."
        assert email_node["attributes"]["value"] == ""
        assert node(missing.json(), "csrf_token")["attributes"]["value"] == ""  # an API request has no CSRF token
        invalid = client.post(flow["ui"]["action"], json={"method": "code", "email": "not-an-address"})
        assert invalid.status_code == 400
        assert [m["id"] for m in node(invalid.json(), "email")["messages"]] == [4000002, 4000040]
        bad_method = client.post(flow["ui"]["action"], json={"method": "sms", "email": unique_email()})
        assert bad_method.status_code == 400 and bad_method.json()["active"] == "code"
        assert [m["id"] for m in node(bad_method.json(), "method")["messages"]] == [4000001]


def test_a_submission_no_method_takes_disables_the_flow(code_target: RunningTarget) -> None:
    """4010006 makes "default" the flow's active method: from then on every submission gets 4010006 too."""
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        email = unique_email()
        wrong_method = client.post(flow["ui"]["action"], json={"method": "link", "email": email})
        assert wrong_method.status_code == 400 and message_ids(wrong_method.json()) == [4010006]
        assert wrong_method.json()["active"] == "default"
        assert node(wrong_method.json(), "email")["attributes"]["value"] == email
        valid = client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()})
        assert valid.status_code == 400 and message_ids(valid.json()) == [4010006, 4010006]
        assert valid.json()["state"] == "choose_method"


def test_unknown_address_gets_the_same_answer_and_no_mail(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    known, unknown = unique_email(), unique_email()
    create_identity(code_target.admin_url, known)
    with native_client() as client:
        answers = []
        for email in (known, unknown):
            flow = client.get(code_target.public_url + "self-service/verification/api").json()
            answer = client.post(flow["ui"]["action"], json={"method": "code", "email": email})
            answers.append((answer.status_code, answer.json()["state"], message_ids(answer.json())))
        assert answers[0] == answers[1] == (200, "sent_email", [1080003])
    smtp_sink.wait_for(known)
    smtp_sink.assert_no_mail(unknown)


def test_notify_unknown_recipients_sends_a_notice(start_target: StartTarget, smtp_sink: SmtpSink) -> None:
    target = start_target(notify_unknown_recipients=True)
    email = unique_email()
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        assert client.post(flow["ui"]["action"], json={"method": "code", "email": email}).status_code == 200
    assert smtp_sink.wait_for(email).subject == "Someone tried to verify this email address"


def test_resend_replaces_the_old_code(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
        first = smtp_sink.wait_for(email, 1).code
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
        second = smtp_sink.wait_for(email, 2).code
        if first != second:
            stale = client.post(flow["ui"]["action"], json={"method": "code", "code": first})
            assert message_ids(stale.json()) == [4070006]
        fresh = client.post(flow["ui"]["action"], json={"method": "code", "code": second})
        assert fresh.json()["state"] == "passed_challenge"


def test_code_from_another_flow_is_rejected(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with native_client() as client:
        first = client.get(code_target.public_url + "self-service/verification/api").json()
        other = client.get(code_target.public_url + "self-service/verification/api").json()
        client.post(first["ui"]["action"], json={"method": "code", "email": email})
        code = smtp_sink.wait_for(email).code
        client.post(other["ui"]["action"], json={"method": "code", "email": unique_email()})
        foreign = client.post(other["ui"]["action"], json={"method": "code", "code": code})
        assert foreign.status_code == 200 and message_ids(foreign.json()) == [4070006]


def test_max_submissions_replaces_the_flow(start_target: StartTarget) -> None:
    target = start_target(max_submissions=2)
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": unique_email()})
        statuses = [client.post(flow["ui"]["action"], json={"method": "code", "code": "123456"}).status_code
                    for _ in range(2)]
        assert statuses == [200, 200]
        cut_off = client.post(flow["ui"]["action"], json={"method": "code", "code": "123456"})
        assert cut_off.status_code == 410
        replacement = client.get(target.public_url + "self-service/verification/flows",
                                 params={"id": cut_off.json()["use_flow_id"]}).json()
        assert replacement["type"] == "api" and replacement["ui"]["messages"][0]["id"] == 4000001
        assert replacement["ui"]["messages"][0]["text"] == ("The request was submitted too often. "
                                                            "Please request another code.")
    with browser_client() as browser:
        location = browser.get(target.public_url + "self-service/verification/browser").headers["location"]
        flow_id = query_param(location, "flow")
        for _ in range(2):
            assert browser.post(target.public_url + "self-service/verification", params={"flow": flow_id},
                                data={"method": "code", "code": "1"}).status_code == 303
        cut = browser.post(target.public_url + "self-service/verification", params={"flow": flow_id},
                           data={"method": "code", "code": "1"})
        assert cut.status_code == 303 and query_param(cut.headers["location"], "flow") != flow_id


def test_expired_code_answers_like_an_expired_flow(start_target: StartTarget, smtp_sink: SmtpSink) -> None:
    target = start_target(code_lifespan="300ms")
    email = unique_email()
    create_identity(target.admin_url, email)
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
        code = smtp_sink.wait_for(email).code
        time.sleep(0.4)
        expired = client.post(flow["ui"]["action"], json={"method": "code", "code": code})
        assert expired.status_code == 410 and expired.headers["content-type"] == "application/json"
        body = expired.json()
        assert body["error"]["id"] == "self_service_flow_expired"
        assert body["expired_at"].endswith("Z") and body["since"] > 0 and body["use_flow_id"] != flow["id"]
        replacement = client.get(target.public_url + "self-service/verification/flows",
                                 params={"id": body["use_flow_id"]}).json()
        assert replacement["type"] == "api" and message_ids(replacement) == [4070005]


def test_emailed_code_link_prefills_but_does_not_verify(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    identity = create_identity(code_target.admin_url, email)
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
    mail = smtp_sink.wait_for(email)
    with browser_client() as mail_reader:
        scanned = mail_reader.head(mail.link)  # link scanners probe with HEAD: refused, nothing counted or verified
        assert scanned.status_code == 400
        opened = mail_reader.get(mail.link)
        assert opened.status_code == 303 and "text/html" in opened.headers["content-type"]
        assert query_param(opened.headers["location"], "flow") == flow["id"]
        assert "set-cookie" in opened.headers
        prefilled = mail_reader.get(code_target.public_url + "self-service/verification/flows",
                                    params={"id": flow["id"]}).json()
        assert node(prefilled, "code")["attributes"]["value"] == mail.code
        assert node(prefilled, "csrf_token")["attributes"]["value"]  # the API flow now carries the new token
        assert prefilled["state"] == "sent_email" and message_ids(prefilled) == [1080003, 4000001]
    address = get_identity(code_target.admin_url, identity["id"])["verifiable_addresses"][0]
    assert address["verified"] is False


def test_return_to_becomes_the_continue_url(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api",
                          params={"return_to": "https://app.example.com/done"}).json()
        assert flow["return_to"] == "https://app.example.com/done"
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
        done = client.post(flow["ui"]["action"], json={"method": "code", "code": smtp_sink.wait_for(email).code})
        assert done.json()["ui"]["action"] == "https://app.example.com/done"
        assert node(done.json(), "continue")["attributes"]["href"] == "https://app.example.com/done"


def test_two_simultaneous_correct_codes_verify_once(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
    code = smtp_sink.wait_for(email).code
    barrier = threading.Barrier(2)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait(5)
        response = httpx.post(flow["ui"]["action"], json={"method": "code", "code": code},
                              headers={"Accept": "application/json"}, timeout=10)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 410]
    passed = [r.json() for r in results if r.status_code == 200]
    assert len(passed) == 1 and passed[0]["state"] == "passed_challenge"
