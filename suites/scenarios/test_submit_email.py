"""Submitting an email: the sent_email transition, encodings, validation errors and malformed requests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.flows.verifier import Step, Verifier
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import Client, ClientFactory


@pytest.mark.smoke
@pytest.mark.requirement("VER-SUBMIT-EMAIL-SENT", "VER-SUBMIT-BROWSER-303", "VER-CODE-MAIL", "VER-LINK-MAIL")
def test_valid_email_moves_the_flow_to_sent_email_and_mails_the_address(
    verifier: Verifier, admin: AdminApi, target: Target, active_method: str, req: str
) -> None:
    identity = admin.create_identity()
    flow = verifier.new_flow()
    step = verifier.submit_email(flow, identity.email)
    checks.answered_with_flow(step.exchange, flow.id, req if verifier.kind.wants_json else "VER-SUBMIT-BROWSER-303",
                              wants_json=verifier.kind.wants_json, target=target)
    sent = checks.came_back(step.flow, req, step.exchange)
    checks.flow_state(sent, "sent_email", req, step.exchange)
    checks.flow_messages(sent, [ids.SENT[active_method]], req, step.exchange,
                         name=by_method("flow_messages", target))
    mail = verifier.wait_mail(identity.email, sent)
    checks.challenge_mail(mail, active_method, flow.id, target)


@pytest.mark.requirement("VER-SUBMIT-ENCODINGS")
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_every_body_encoding_is_accepted(verifier: Verifier, encoding: str, req: str) -> None:
    flow = verifier.new_flow()
    step = verifier.submit_email(flow, f"enc-{uuid.uuid4().hex[:8]}@conformance.test", encoding=encoding)
    checks.status(step.exchange, 200 if verifier.kind.wants_json else 303, req)
    checks.flow_state(checks.came_back(step.flow, req, step.exchange), "sent_email", req, step.exchange)


@pytest.mark.requirement("VER-SUBMIT-BROWSER-303")
@pytest.mark.parametrize("kind", ["browser"])
def test_browser_posting_to_an_api_flow_is_redirected_to_the_ui(
    verifier: Verifier, make_client: ClientFactory, target: Target, req: str
) -> None:
    api_flow = Verifier(make_client("native"), target, verifier.mail, verifier.method).new_flow()
    address = f"x-{uuid.uuid4().hex[:8]}@conformance.test"
    ex = verifier.client.submit(api_flow.id, verifier.email_body(api_flow, address))
    checks.redirect_to_ui(ex, target, req, query={"flow": api_flow.id})


def by_method(name: str, target: Target) -> str:
    """The name of a check whose expectation depends on the server's method: marked when the method was learned
    (from its mail or a flow), not given, so the report shows the check judged consistency with what was learned."""
    return checks.check_name(name, learned=target.learned("method"), what=target.learned_as("method"))


def _validation_error(verifier: Verifier, flow: Flow, body: dict[str, Any], req: str, target: Target) -> Step:
    """Post ``body``: JSON clients get 400 with the flow, a browser gets 303 back to the UI.

    Returns the step whose exchange shows the resulting flow (the POST, or the browser's follow-up GET).
    """
    ex = verifier.client.submit(flow.id, body)
    if verifier.kind.wants_json:
        checks.status(ex, 400, req)
        return Step(ex, checks.flow(ex, req))
    checks.redirect_to_ui(ex, target, req, query={"flow": flow.id})
    fetched = verifier.client.get_flow(flow.id)
    return Step(fetched, checks.flow(fetched, req))


@pytest.mark.requirement("VER-SUBMIT-EMAIL-MISSING")
def test_missing_email_is_400_with_4000002(verifier: Verifier, target: Target, req: str) -> None:
    flow = verifier.new_flow()
    body = verifier.email_body(flow, "")
    del body["email"]
    step = _validation_error(verifier, flow, body, req, target)
    assert step.flow is not None
    checks.node_message(step.flow, "email", ids.REQUIRED, req, step.exchange)


@pytest.mark.smoke
@pytest.mark.requirement("VER-SUBMIT-EMAIL-INVALID")
def test_invalid_email_gets_the_profile_message(verifier: Verifier, target: Target, req: str) -> None:
    flow = verifier.new_flow()
    step = _validation_error(verifier, flow, verifier.email_body(flow, "not-an-email"),
                             req, target)
    assert step.flow is not None
    result, ex = step.flow, step.exchange
    profile = target.profile
    checks.node_message(result, "email", profile.invalid_email_message_id, req, ex)
    texts = [m.get("text") for n in result.nodes_named("email") for m in n.data.get("messages") or []]
    want = profile.invalid_email_text("not-an-email")
    checks.expect(req, want in texts, f"email node texts {texts}, want {want!r}", ex, name="email_node_text")


@pytest.mark.requirement("VER-SUBMIT-METHOD-UNKNOWN")
def test_unknown_method_is_400(verifier: Verifier, target: Target, active_method: str, req: str) -> None:
    flow = verifier.new_flow()
    body = verifier.email_body(flow, "m@conformance.test", method="carrier-pigeon")
    step = _validation_error(verifier, flow, body, req, target)
    kept = checks.flow_kept(step.flow, flow.id, req, step.exchange)
    if active_method == "code":
        checks.node_message(kept, "method", ids.GENERIC_ERROR, req, step.exchange,
                            name=by_method("node_message", target))
    else:
        checks.flow_messages(kept, [ids.NO_METHOD], req, step.exchange, name=by_method("flow_messages", target))


@pytest.mark.requirement("VER-SUBMIT-METHOD-INACTIVE")
def test_inactive_method_is_400_with_4010006(verifier: Verifier, target: Target, active_method: str, req: str) -> None:
    flow = verifier.new_flow()
    other = "link" if active_method == "code" else "code"
    body = verifier.email_body(flow, "m@conformance.test", method=other)
    step = _validation_error(verifier, flow, body, req, target)
    assert step.flow is not None
    checks.flow_messages(step.flow, [ids.NO_METHOD], req, step.exchange, name=by_method("flow_messages", target))


@pytest.mark.requirement("VER-SUBMIT-METHOD-MISSING")
def test_address_without_method_is_400_with_4010006(verifier: Verifier, target: Target, req: str) -> None:
    """An address alone, naming no method: refused with 4010006 on the same flow, which stays in choose_method (a
    server that took it for its own method would move the flow to sent_email)."""
    flow = verifier.new_flow()
    body = verifier.email_body(flow, "m@conformance.test")
    del body["method"]
    step = _validation_error(verifier, flow, body, req, target)
    kept = checks.flow_kept(step.flow, flow.id, req, step.exchange)
    checks.flow_state(kept, "choose_method", req, step.exchange)
    checks.flow_messages(kept, [ids.NO_METHOD], req, step.exchange)


@pytest.mark.requirement("VER-SUBMIT-EMPTY-BODY")
@pytest.mark.parametrize("kind", ["native", "spa"])
def test_empty_body_is_400_with_4000001(verifier: Verifier, req: str) -> None:
    flow = verifier.new_flow()
    ex = verifier.client.submit(flow.id, content=b"", headers={"Content-Type": "application/json"})
    checks.status(ex, 400, req)
    result = checks.flow(ex, req)
    checks.flow_messages(result, [ids.GENERIC_ERROR], req, ex)


@pytest.mark.requirement("VER-SUBMIT-CONTENT-TYPE")
@pytest.mark.parametrize("kind", ["native", "spa"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_unknown_content_type_is_400_with_4000001(verifier: Verifier, content_type: str, req: str) -> None:
    flow = verifier.new_flow()
    ex = verifier.client.submit(flow.id, content=b"method=code&email=a@b.test", headers={"Content-Type": content_type})
    checks.status(ex, 400, req)
    result = checks.flow(ex, req)
    checks.flow_messages(result, [ids.GENERIC_ERROR], req, ex)


@pytest.mark.requirement("VER-SUBMIT-MALFORMED", "VER-RESP-NO-5XX")
@pytest.mark.parametrize("kind", ["native", "spa"])
@pytest.mark.parametrize("body", [b"{", b'{"method": ', b"[1,2,3]", b"\xff\xfe\x00", b'"just a string"'],
                         ids=["open-brace", "truncated", "array", "binary", "string"])
def test_malformed_json_is_400_never_a_server_error(verifier: Verifier, body: bytes, req: str) -> None:
    flow = verifier.new_flow()
    ex = verifier.client.submit(flow.id, content=body, headers={"Content-Type": "application/json"})
    checks.status(ex, 400, req)


@pytest.mark.requirement("VER-SUBMIT-FLOW-MISSING", "VER-SUBMIT-ERROR-UI-ID")
def test_submission_without_flow_id(client: Client, target: Target, req: str) -> None:
    ex = client.submit(None, {"method": "code", "email": "a@conformance.test"})
    if client.kind.wants_json:
        checks.status(ex, 400, req)
        checks.error(ex, req, code=400)
    else:
        checks.redirect_to_error_ui_with_id(ex, target, req)


@pytest.mark.requirement("VER-SUBMIT-FLOW-UNKNOWN", "VER-SUBMIT-ERROR-UI-ID")
def test_submission_to_unknown_flow(client: Client, target: Target, req: str) -> None:
    ex = client.submit(str(uuid.uuid4()), {"method": "code", "email": "a@conformance.test"})
    if client.kind.wants_json:
        checks.status(ex, 404, req)
        checks.error(ex, req, code=404)
    else:
        checks.redirect_to_error_ui_with_id(ex, target, req)
