"""CSRF: browser flows need the form token that matches the cookie; API flows must not carry browser state."""

from __future__ import annotations

import uuid

import pytest

from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import ClientFactory, ClientKind
from kratos_conformance.wire.exchanges import Exchange


def _address() -> str:
    return f"csrf-{uuid.uuid4().hex[:10]}@conformance.test"


def _refused(verifier: Verifier, ex: Exchange, req: str, target: Target) -> None:
    """403 security_csrf_violation for JSON clients, 303 to the error UI for a browser."""
    if verifier.kind.wants_json:
        checks.status(ex, 403, req)
        checks.error(ex, req, code=403, error_id="security_csrf_violation")
    else:
        checks.redirect_to_error_ui_with_id(ex, target, req)


@pytest.mark.requirement("VER-CSRF-MISSING", "VER-SUBMIT-ERROR-UI-ID")
@pytest.mark.parametrize("kind", ["browser", "spa"])
def test_browser_flow_email_without_csrf_token_is_refused(verifier: Verifier, target: Target, req: str) -> None:
    flow = verifier.new_flow()
    body = verifier.email_body(flow, _address())
    body.pop("csrf_token", None)
    ex = verifier.client.submit(flow.id, body)
    _refused(verifier, ex, req, target)
    checks.flow_state(verifier.fetch(flow.id), "choose_method", req, ex)


@pytest.mark.requirement("VER-CSRF-WRONG", "VER-SUBMIT-ERROR-UI-ID")
@pytest.mark.parametrize("token", ["forged", "another-sessions"])
@pytest.mark.parametrize("kind", ["browser", "spa"])
def test_browser_flow_email_with_a_wrong_csrf_token_is_refused(verifier: Verifier, make_client: ClientFactory,
                                                               target: Target, token: str, req: str) -> None:
    """A wrong token beside the flow's own cookie: one made up, or a real one issued to another session."""
    flow = verifier.new_flow()
    if token == "forged":
        wrong = "x" * max(len(flow.csrf_token), 16)
    else:
        wrong = Verifier(make_client(verifier.kind), target, verifier.mail, verifier.method).new_flow().csrf_token
    ex = verifier.client.submit(flow.id, verifier.email_body(flow, _address(), csrf_token=wrong))
    _refused(verifier, ex, req, target)


@pytest.mark.requirement("VER-CSRF-API-COOKIE")
@pytest.mark.parametrize("kind", ["native"])
def test_api_flow_email_with_a_cookie_is_400(verifier: Verifier, req: str) -> None:
    flow = verifier.new_flow()
    ex = verifier.client.submit(flow.id, verifier.email_body(flow, _address()), headers={"Cookie": "session=abc"})
    checks.status(ex, 400, req)
    result = checks.flow(ex, req)
    checks.flow_messages(result, [ids.GENERIC_ERROR], req, ex)


@pytest.mark.requirement("VER-CSRF-API-ORIGIN")
@pytest.mark.parametrize("kind", ["native"])
def test_api_flow_email_with_an_origin_is_400(verifier: Verifier, req: str) -> None:
    flow = verifier.new_flow()
    ex = verifier.client.submit(flow.id, verifier.email_body(flow, _address()),
                                headers={"Origin": "https://app.conformance.test"})
    checks.status(ex, 400, req)
    result = checks.flow(ex, req)
    checks.flow_messages(result, [ids.GENERIC_ERROR], req, ex)


@pytest.mark.requirement("VER-CSRF-TOKEN-BOUND", "VER-SUBMIT-ERROR-UI-ID")
@pytest.mark.parametrize(("kind", "submitter"), [("browser", "browser"), ("spa", "spa"), ("browser", "spa"),
                                                 ("spa", "browser"), ("browser", "native"), ("spa", "native")])
def test_the_right_token_without_its_cookie_is_refused(verifier: Verifier, make_client: ClientFactory,
                                                       target: Target, submitter: str, req: str) -> None:
    """A browser flow's token is bound to the cookie of the client it was issued to: the right token sent by another
    client is refused, whether that client has no CSRF cookie at all (a fresh client of the same kind, a native
    app) or one of its own session (a browser, an SPA)."""
    flow = verifier.new_flow()
    other = Verifier(make_client(ClientKind(submitter)), target, verifier.mail, verifier.method)
    if other.kind not in (verifier.kind, ClientKind.NATIVE):
        other.new_flow()  # its own session: a CSRF cookie that is not the flow's
    ex = other.client.submit(flow.id, verifier.email_body(flow, _address()))
    _refused(other, ex, req, target)
