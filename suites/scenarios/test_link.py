"""The link method: a valid token verifies; used, unknown, foreign and expired tokens start over."""

from __future__ import annotations

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.expiring import ExpiringChallenges
from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.run.target import Target
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.query import query_param

pytestmark = pytest.mark.usefixtures("link_method")


def with_token(link: str, token: str) -> str:
    """``link`` with its token replaced."""
    old = query_param(link, "token") or ""
    return link.replace(f"token={old}", f"token={token}")


def _restarted(verifier: Verifier, ex: Exchange, old: Flow, message_id: int, req: str, target: Target) -> Flow:
    """303 to the UI with a NEW browser flow carrying ``message_id``; returns that flow."""
    location = checks.redirect_to_ui(ex, target, req)
    new = verifier.fetch(checks.new_flow_named(ex, old.id, req, location=location), cookies_of=ex)
    checks.flow_type(new, "browser", req, ex)
    checks.flow_messages(new, [message_id], req, ex)
    return new


@pytest.mark.smoke
@pytest.mark.requirement("VER-LINK-VALID", "VER-LINK-VERIFIED")
def test_valid_token_verifies_the_address(verifier: Verifier, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    step = verifier.prove(flow, mail)
    checks.answered_with_flow(step.exchange, flow.id, req, wants_json=verifier.kind.wants_json, target=target)
    passed = checks.came_back(step.flow, req, step.exchange)
    checks.flow_state(passed, "passed_challenge", req, step.exchange)
    checks.flow_messages(passed, [ids.VERIFIED], req, step.exchange)
    checks.address_verified(*admin.address(identity), "VER-LINK-VERIFIED")


@pytest.mark.requirement("VER-LINK-USED")
def test_used_token_starts_over_with_4070001(verifier: Verifier, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    verifier.prove(flow, mail)
    ex = verifier.client.open(str(mail.verification_link))
    _restarted(verifier, ex, flow, ids.LINK_INVALID_OR_USED, req, target)


@pytest.mark.requirement("VER-LINK-UNKNOWN")
def test_unknown_token_starts_over_with_4070001(verifier: Verifier, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    ex = verifier.client.open(with_token(str(mail.verification_link), "Z" * 32))
    _restarted(verifier, ex, flow, ids.LINK_INVALID_OR_USED, req, target)
    checks.address_not_verified(*admin.address(identity), req, after="an unknown token")


@pytest.mark.requirement("VER-LINK-OTHER-FLOW")
def test_token_of_another_flow_starts_over_with_4070001(verifier: Verifier, admin: AdminApi, target: Target,
                                                        req: str) -> None:
    identity = admin.create_identity()
    _, first = verifier.sent(identity.email)
    flow, _ = verifier.sent(identity.email)
    link = str(first.verification_link).replace(f"flow={first.flow_id}", f"flow={flow.id}")
    ex = verifier.client.open(link)
    _restarted(verifier, ex, flow, ids.LINK_INVALID_OR_USED, req, target)


@pytest.mark.requirement("VER-LINK-EXPIRED")
def test_expired_token_starts_over_with_4070005(expired_challenges: ExpiringChallenges, kind: str, admin: AdminApi,
                                                target: Target, req: str) -> None:
    sent = expired_challenges[kind]
    ex = sent.verifier.client.open(str(sent.mail.verification_link))
    _restarted(sent.verifier, ex, sent.flow, ids.FLOW_EXPIRED, req, target)
    checks.address_not_verified(*admin.address(sent.identity), req, after="an expired token")


@pytest.mark.requirement("VER-LINK-REPLAY")
def test_email_after_success_starts_over_with_4070002(verifier: Verifier, admin: AdminApi, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    verifier.prove(flow, mail)
    ex = verifier.client.submit(flow.id, verifier.email_body(flow, identity.email))
    checks.status(ex, 303, req)
    new = verifier.fetch(checks.new_flow_named(ex, flow.id, req), cookies_of=ex)
    checks.flow_messages(new, [ids.ALREADY_PASSED], req, ex)
