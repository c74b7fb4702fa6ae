"""The HTML pages: a form-following "browser" walks the whole flow through the UI page alone."""

from __future__ import annotations

import time

import httpx
from reference_helpers import (
    FormParser,
    SmtpSink,
    StartTarget,
    browser_client,
    create_identity,
    get_identity,
    parse_page,
    query_param,
    unique_email,
)

from kratos_conformance.differential import recording
from kratos_reference import RunningTarget
from kratos_reference.ui import flow_page


def _submit(client: httpx.Client, page: FormParser, fields: dict[str, str], button: dict[str, str]) -> httpx.Response:
    """Submit the page's form like a browser: hidden inputs + filled fields + the clicked button."""
    data = {i["name"]: i.get("value", "") for i in page.inputs if i.get("type") == "hidden"}
    data.update(fields)
    data[button["name"]] = button["value"]
    return client.post(page.action, data=data)


def test_browser_walks_the_code_flow_through_the_ui(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    identity = create_identity(code_target.admin_url, email)
    with browser_client() as client:
        start = client.get(code_target.public_url + "ui/verification")
        assert start.status_code == 303 and start.headers["location"].endswith("self-service/verification/browser")
        init = client.get(start.headers["location"])
        ui_page = client.get(init.headers["location"])
        assert ui_page.status_code == 200 and "text/html" in ui_page.headers["content-type"]
        page = parse_page(ui_page.text)
        assert page.method == "post" and "self-service/verification?flow=" in page.action
        assert {i.get("name") for i in page.inputs} >= {"email", "csrf_token"}
        assert "<script" not in ui_page.text

        sent = _submit(client, page, {"email": email}, page.buttons[0])
        assert sent.status_code == 303
        page = parse_page(client.get(sent.headers["location"]).text)
        assert "1080003" in page.message_ids
        assert [b["name"] for b in page.buttons] == ["method", "email"]

        code = smtp_sink.wait_for(email).code
        done = _submit(client, page, {"code": code}, page.buttons[0])
        final = client.get(done.headers["location"])
        page = parse_page(final.text)
        assert "1080002" in page.message_ids and page.method == "get"
        continue_link = [a for a in page.anchors if a.get("id") == "continue"]
        assert continue_link and continue_link[0]["href"] == code_target.public_url + "ui/welcome"
        welcome = client.get(continue_link[0]["href"])
        assert welcome.status_code == 200 and 'id="welcome"' in welcome.text
    assert get_identity(code_target.admin_url, identity["id"])["verifiable_addresses"][0]["verified"] is True


def test_ui_shows_node_messages_and_resends(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    create_identity(code_target.admin_url, email)
    with browser_client() as client:
        init = client.get(code_target.public_url + "self-service/verification/browser")
        page = parse_page(client.get(init.headers["location"]).text)
        invalid = _submit(client, page, {"email": "not-an-address"}, page.buttons[0])
        shown = client.get(invalid.headers["location"])
        assert 'data-message-id="4000040"' in shown.text and "node-messages" in shown.text
        page = parse_page(shown.text)
        page = parse_page(client.get(_submit(client, page, {"email": email}, page.buttons[0])
                                     .headers["location"]).text)
        resend = [b for b in page.buttons if b["name"] == "email"][0]
        assert resend["value"] == email
        again = _submit(client, page, {"code": ""}, resend)
        assert again.status_code == 303
        smtp_sink.wait_for(email, count=2)


def test_ui_restarts_unknown_csrf_rejected_and_expired_flows(start_target: StartTarget) -> None:
    target = start_target(flow_lifespan="300ms")
    init_url = target.public_url + "self-service/verification/browser"
    with browser_client() as owner, browser_client() as stranger:
        unknown = owner.get(target.public_url + "ui/verification",
                            params={"flow": "8f1f3e3c-4a0b-4b59-9a4e-0b7c3b0f4d11"})
        assert unknown.status_code == 303 and unknown.headers["location"] == init_url
        flow_id = query_param(owner.get(init_url, params={"return_to": init_url}).headers["location"], "flow")
        foreign = stranger.get(target.public_url + "ui/verification", params={"flow": flow_id})
        assert foreign.status_code == 303 and foreign.headers["location"] == init_url
        time.sleep(0.4)
        expired = owner.get(target.public_url + "ui/verification", params={"flow": flow_id})
        assert expired.status_code == 303 and expired.headers["location"].startswith(init_url + "?return_to=")


def test_error_page_shows_the_stored_error(code_target: RunningTarget) -> None:
    with browser_client() as client:
        answer = client.post(code_target.public_url + "self-service/verification", data={"method": "code"})
        assert answer.status_code == 303
        error_id = query_param(answer.headers["location"], "id")
        page = client.get(answer.headers["location"])
        assert page.status_code == 200 and f'data-error-id="{error_id}"' in page.text
        assert "The flow query parameter is missing or malformed." in page.text
        assert client.get(code_target.public_url + "ui/error", params={"id": "nope"}).status_code == 404


def test_every_recorded_kratos_flow_renders_as_a_form_a_browser_can_drive() -> None:
    """The markup both UIs share (verification_page.py), on every flow Kratos v26.2.0 answered in the recordings:
    the form posts to ui.action, every input node is a field or button by its name, every anchor keeps its id, and
    every message is shown with its id."""
    flows = [step["response"]["body"] for method in ("code", "link")
             for steps in recording("kratos-v26.2.0", method)["cases"].values() for step in steps
             if isinstance(step.get("response", {}).get("body"), dict) and "ui" in step["response"]["body"]]
    assert len(flows) > 200
    for flow in flows:
        page = parse_page(flow_page(flow).body.decode())
        ui, nodes = flow["ui"], flow["ui"]["nodes"]
        assert (page.action, page.method) == (ui["action"], ui["method"].lower())
        names = [node["attributes"]["name"] for node in nodes if node["type"] == "input"]
        assert sorted(field.get("name", "") for field in page.inputs + page.buttons) == sorted(names), nodes
        assert [a.get("id") for a in page.anchors] == [n["attributes"]["id"] for n in nodes if n["type"] == "a"]
        shown = [str(m["id"]) for m in ui.get("messages") or []] + [
            str(m["id"]) for n in nodes for m in n.get("messages") or []]
        assert sorted(page.message_ids) == sorted(shown), flow["id"]
