"""The link method end to end: mailed tokens, used/unknown/other-flow/expired tokens, replay."""

from __future__ import annotations

import time

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


def test_native_link_flow_layout_and_verification(link_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    identity = create_identity(link_target.admin_url, email)
    with native_client() as client:
        flow = client.get(link_target.public_url + "self-service/verification/api").json()
        assert flow["active"] == "link"
        assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["csrf_token", "email", "method"]
        assert node(flow, "csrf_token")["attributes"]["value"] == ""
        assert node(flow, "email")["group"] == "link"

        sent = client.post(flow["ui"]["action"], json={"method": "link", "email": email})
        assert sent.status_code == 200 and sent.json()["state"] == "sent_email"
        assert message_ids(sent.json()) == [1080001]
        assert node(sent.json(), "email")["attributes"]["value"] == email

    mail = smtp_sink.wait_for(email)
    assert mail.subject == "Please verify your email address"
    token = query_param(mail.link, "token")
    assert len(token) == 32 and query_param(mail.link, "flow") == flow["id"]

    with browser_client() as mail_reader:
        clicked = mail_reader.get(mail.link)
        assert clicked.status_code == 303 and query_param(clicked.headers["location"], "flow") == flow["id"]
    address = get_identity(link_target.admin_url, identity["id"])["verifiable_addresses"][0]
    assert address["verified"] is True and address["status"] == "completed"

    with native_client() as client:
        finished = client.get(link_target.public_url + "self-service/verification/flows", params={"id": flow["id"]})
        assert finished.json()["state"] == "passed_challenge" and message_ids(finished.json()) == [1080002]
        assert node(finished.json(), "continue")["group"] == "link"
        again = client.post(flow["ui"]["action"], json={"method": "link", "email": email})
        assert again.status_code == 303
        assert again.headers["location"].startswith(link_target.public_url + "self-service/verification/flows?id=")


def test_used_unknown_and_foreign_tokens_start_new_flows(link_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(link_target.admin_url, email)
    with native_client() as client:
        flow = client.get(link_target.public_url + "self-service/verification/api").json()
        other = client.get(link_target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "link", "email": email})
    token = query_param(smtp_sink.wait_for(email).link, "token")
    with spa_client() as client:
        submit = link_target.public_url + "self-service/verification"
        for params in ({"flow": other["id"], "token": token}, {"flow": flow["id"], "token": "x" * 32}):
            answer = client.get(submit, params=params)  # each answer issues a fresh CSRF cookie
            assert answer.status_code == 303
            new_id = query_param(answer.headers["location"], "flow")
            assert new_id not in (flow["id"], other["id"])
            new_flow = client.get(link_target.public_url + "self-service/verification/flows", params={"id": new_id})
            assert new_flow.status_code == 200 and message_ids(new_flow.json()) == [4070001]
            assert new_flow.json()["type"] == "browser"
        used_once = client.post(submit, params={"flow": flow["id"], "token": token}, json={})
        assert used_once.status_code == 200 and used_once.json()["state"] == "passed_challenge"
        used_twice = client.get(submit, params={"flow": flow["id"], "token": token})
        assert used_twice.status_code == 303
        replay = client.get(link_target.public_url + "self-service/verification/flows",
                            params={"id": query_param(used_twice.headers["location"], "flow")})
        assert message_ids(replay.json()) == [4070001]


def test_browser_link_flow_with_csrf(link_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(link_target.admin_url, email)
    with browser_client() as client:
        location = client.get(link_target.public_url + "self-service/verification/browser").headers["location"]
        flow = client.get(link_target.public_url + "self-service/verification/flows",
                          params={"id": query_param(location, "flow")}).json()
        missing = client.post(flow["ui"]["action"], data={"method": "link", "csrf_token": csrf_token(flow)})
        assert missing.status_code == 303
        after = client.get(link_target.public_url + "self-service/verification/flows", params={"id": flow["id"]})
        assert [m["id"] for m in node(after.json(), "email")["messages"]] == [4000002]
        sent = client.post(flow["ui"]["action"], data={"method": "link", "email": email,
                                                       "csrf_token": csrf_token(flow)})
        assert sent.status_code == 303
        link = smtp_sink.wait_for(email).link
        assert client.get(link).status_code == 303
        done = client.get(link_target.public_url + "self-service/verification/flows", params={"id": flow["id"]})
        assert done.json()["state"] == "passed_challenge"


def test_expired_link_token_gives_4070005(start_target: StartTarget, smtp_sink: SmtpSink) -> None:
    target = start_target(method="link", link_lifespan="300ms")
    email = unique_email()
    create_identity(target.admin_url, email)
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "link", "email": email})
    link = smtp_sink.wait_for(email).link
    time.sleep(0.4)
    with spa_client() as client:
        expired = client.get(link)
        assert expired.status_code == 303
        new_flow = client.get(target.public_url + "self-service/verification/flows",
                              params={"id": query_param(expired.headers["location"], "flow")}).json()
        assert message_ids(new_flow) == [4070005]
        assert set(new_flow["ui"]["messages"][0]["context"]) == {"expired_at", "expired_at_unix"}
