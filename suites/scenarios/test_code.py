"""The code method: wrong codes, the attempt limit, success, resend, replay and the emailed link (GET and HEAD)."""

from __future__ import annotations

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.expiring import ExpiringChallenges
from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.flows.verifier import Verifier, replaced
from kratos_conformance.mail import Mail, wrong_code, wrong_codes
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.rules.response_rules import is_absolute_http_url
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import ClientFactory
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.query import query_param

pytestmark = pytest.mark.usefixtures("code_method")


@pytest.mark.requirement("VER-CODE-NODES-SENT")
def test_sent_email_nodes(verifier: Verifier, admin: AdminApi, req: str) -> None:
    """What a sent_email code flow's layout does not hold: the code input required, the resend button's address,
    the csrf_token node per flow type. The layout (the code submit button among it) the contract judge holds to the
    release's recordings on this very answer (VER-UI-LAYOUT)."""
    identity = admin.create_identity()
    sent, _ = verifier.sent(identity.email)
    ex = verifier.client.get_flow(sent.id)
    flow = checks.flow(ex, req, state="sent_email")  # the nodes judged are the ones this exchange shows
    code = flow.node("code")
    checks.expect(req, code is not None and code.attributes.get("required") is True and code.input_type == "text",
                  f"no required text input 'code': {flow.layout}", ex, name="code_node")
    resend = flow.node("email", "submit")
    checks.expect(req, resend is not None and resend.value == identity.email,
                  f"no resend button carrying the address: {flow.layout}", ex, name="resend_button")
    has_csrf = flow.node("csrf_token") is not None
    checks.expect(req, has_csrf == (flow.type == "browser"), f"csrf_token node presence wrong: {flow.layout}", ex,
                  name="csrf_token_node")


@pytest.mark.requirement("VER-CODE-WRONG")
def test_wrong_code_keeps_the_flow_and_says_4070006(verifier: Verifier, admin: AdminApi, target: Target,
                                                    req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    step = verifier.submit_code(flow, wrong_code(mail.code))
    checks.answered_with_flow(step.exchange, flow.id, req, wants_json=verifier.kind.wants_json, target=target)
    kept = checks.flow_kept(step.flow, flow.id, req, step.exchange)
    checks.flow_state(kept, "sent_email", req, step.exchange)
    checks.flow_messages(kept, [ids.CODE_INVALID_OR_USED], req, step.exchange)
    checks.address_not_verified(*admin.address(identity), req, after="a wrong code")


@pytest.mark.requirement("VER-CODE-OTHER-FLOW")
def test_code_of_another_flow_is_wrong(verifier: Verifier, admin: AdminApi, req: str) -> None:
    identity = admin.create_identity()
    _, other_mail = verifier.sent(identity.email)
    flow, _ = verifier.sent(identity.email)
    step = verifier.submit_code(flow, str(other_mail.code))
    after = checks.came_back(step.flow, req, step.exchange)
    checks.flow_messages(after, [ids.CODE_INVALID_OR_USED], req, step.exchange)
    checks.flow_state(after, "sent_email", req, step.exchange)


@pytest.mark.requirement("VER-CODE-LIMIT")
def test_too_many_attempts_replace_the_flow(verifier: Verifier, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    limit = target.max_submissions
    # distinct wrong codes, as a guesser sends them; bounded: 10 past the limit
    for attempt, bad in enumerate(wrong_codes(mail.code, limit + 10), start=1):  # noqa: B007 (read after the loop)
        ex = verifier.client.submit(flow.id, verifier.code_body(flow, bad))
        # an answer that is no evaluated attempt (a 410, or a 303 that does not lead back to this flow) ends them;
        # whether it replaced the flow properly is judged below
        if ex.status == 410 or (ex.status == 303 and query_param(ex.location, "flow") != flow.id):
            break
    else:
        checks.expect(req, False, f"{attempt} wrong codes never replaced the flow (max_submissions {limit})", ex,
                      name="flow_replaced_at_limit")
    checks.expect(req, attempt == limit + 1, f"wrong code {attempt} replaced the flow; with max_submissions {limit} "
                  f"the first {limit} are evaluated and number {limit + 1} replaces it (--max-submissions)", ex,
                  name="flow_replaced_at_limit")
    if verifier.kind.wants_json:
        checks.status(ex, 410, req)
        checks.expect(req, replaced(ex, flow.id), "410 without error.id self_service_flow_replaced", ex,
                      name="replaced_error_id")
    else:
        checks.redirect_to_ui(ex, target, req)
    new = verifier.fetch(checks.new_flow_named(ex, flow.id, req))
    checks.flow_type(new, flow.type, req, ex)
    checks.flow_state(new, "choose_method", req, ex)
    checks.flow_messages(new, [ids.GENERIC_ERROR], req, ex)
    # the right code no longer works on the old flow
    late = verifier.submit_code(flow, str(mail.code))
    checks.expect(req, late.flow is None or late.flow.state != "passed_challenge",
                  "the right code still verified after the attempt limit", late.exchange, name="not_passed_after_limit")


@pytest.mark.smoke
@pytest.mark.requirement("VER-CODE-SUCCESS", "VER-CODE-CONTINUE", "VER-CODE-VERIFIED")
def test_correct_code_verifies_the_address(verifier: Verifier, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    step = verifier.submit_code(flow, str(mail.code))
    checks.answered_with_flow(step.exchange, flow.id, req, wants_json=verifier.kind.wants_json, target=target)
    passed = checks.came_back(step.flow, req, step.exchange)
    checks.flow_state(passed, "passed_challenge", req, step.exchange)
    checks.flow_messages(passed, [ids.VERIFIED], req, step.exchange)
    _check_continue(passed, step.exchange, "VER-CODE-CONTINUE")
    checks.address_verified(*admin.address(identity), "VER-CODE-VERIFIED")


def _check_continue(flow: Flow, ex: Exchange, req: str) -> None:
    """The passed flow's continue anchor: an absolute href, and ui.method/action a GET to it."""
    href = flow.continue_url
    checks.expect(req, bool(href) and is_absolute_http_url(str(href)),
                  f"no continue anchor with an absolute href: {flow.layout}", ex, name="continue_link")
    checks.expect(req, flow.ui.get("method") == "GET" and flow.ui.get("action") == href,
                  f"ui.method/action {flow.ui.get('method')!r} {flow.ui.get('action')!r} do not lead to {href!r}", ex,
                  name="continue_ui")


@pytest.mark.requirement("VER-CODE-RESEND")
def test_resend_mails_a_new_code_and_the_old_one_stops_working(verifier: Verifier, admin: AdminApi, req: str) -> None:
    identity = admin.create_identity()
    flow, first = verifier.sent(identity.email)
    resent = verifier.submit_email(flow, identity.email)
    again = checks.came_back(resent.flow, req, resent.exchange)
    checks.flow_state(again, "sent_email", req, resent.exchange)
    old = verifier.submit_code(again, str(first.code))  # at once: the answer to the resend ended the old code
    second: Mail = verifier.wait_mail(identity.email, flow)
    checks.new_code_mailed(first, second, req)  # judged first: the old code mailed again would explain its success
    checks.flow_messages(checks.came_back(old.flow, req, old.exchange), [ids.CODE_INVALID_OR_USED], req, old.exchange)
    new = verifier.submit_code(again, str(second.code))
    checks.flow_state(checks.came_back(new.flow, req, new.exchange), "passed_challenge", req, new.exchange)


@pytest.mark.smoke
@pytest.mark.requirement("VER-CODE-REPLAY")
def test_submitting_again_after_success_gets_a_new_flow(verifier: Verifier, admin: AdminApi, target: Target,
                                                        req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    verifier.prove(flow, mail)
    ex = verifier.client.submit(flow.id, verifier.code_body(flow, str(mail.code)))
    if verifier.kind.wants_json:
        checks.status(ex, 410, req)
    else:
        checks.redirect_to_ui(ex, target, req)
    new = verifier.fetch(checks.new_flow_named(ex, flow.id, req))
    checks.flow_messages(new, [ids.ALREADY_PASSED], req, ex)
    checks.flow_state(new, "choose_method", req, ex)


def _sent_with_code_link(verifier: Verifier, email: str, req: str) -> tuple[Flow, Mail, str]:
    """A flow in sent_email, its mail, and the link in the mail that carries the code (``?flow=&code=``)."""
    flow, mail = verifier.sent(email)
    link = mail.verification_link
    checks.expect(req, link is not None and query_param(link, "code") == mail.code, "the mail has no code link",
                  name="mail_code_link")
    return flow, mail, str(link)


@pytest.mark.requirement("VER-CODE-LINK-NO-VERIFY")
@pytest.mark.parametrize("kind", ["browser"])
def test_emailed_code_link_prefills_but_does_not_verify(verifier: Verifier, admin: AdminApi, target: Target,
                                                        req: str) -> None:
    identity = admin.create_identity()
    flow, mail, link = _sent_with_code_link(verifier, identity.email, req)
    ex = verifier.client.open(link)
    checks.redirect_to_ui(ex, target, req, query={"flow": flow.id})
    fetched = verifier.client.get_flow(flow.id)  # the user's flow, as it reads now
    after = checks.flow(fetched, req, state="sent_email")
    code_node = after.node("code")
    checks.expect(req, code_node is not None and code_node.value == mail.code, "the code node is not pre-filled",
                  fetched, name="code_node_prefilled")
    checks.address_not_verified(*admin.address(identity), req, after="opening the link")


@pytest.mark.requirement("VER-CODE-LINK-HEAD")
@pytest.mark.parametrize("kind", ["native"])
def test_head_on_the_emailed_code_link_does_not_verify(verifier: Verifier, admin: AdminApi, make_client: ClientFactory,
                                                       req: str) -> None:
    # the user's flow is an API flow, so it can be read back after a stranger touched it (no CSRF binding)
    identity = admin.create_identity()
    flow, mail, link = _sent_with_code_link(verifier, identity.email, req)
    scanner = make_client("browser")  # a mail scanner or link preview: a client of its own
    scanner.request("HEAD", link)
    # a server error here fails VER-RESP-NO-5XX (the contract judge judges every answer, this one too)
    checks.address_not_verified(*admin.address(identity), req, after="a HEAD on the emailed link")
    checks.flow(verifier.client.get_flow(flow.id), req, state="sent_email")  # the user's flow, as it reads now
    # nor did it use up the code: the user, coming after the scanner, still verifies with it
    after = verifier.submit_code(flow, str(mail.code))
    checks.flow_state(checks.came_back(after.flow, req, after.exchange), "passed_challenge", req, after.exchange)


@pytest.mark.requirement("VER-CSRF-CODE-EXEMPT")
@pytest.mark.parametrize("kind", ["browser", "spa"])
def test_code_submission_is_not_csrf_checked(verifier: Verifier, admin: AdminApi, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    body = verifier.code_body(flow, str(mail.code))
    body.pop("csrf_token", None)
    ex = verifier.client.submit(flow.id, body)
    result = verifier.outcome(ex)
    checks.expect(req, result is not None and result.state == "passed_challenge",
                  "a code without the CSRF token did not verify", ex, name="passed_challenge")


@pytest.mark.requirement("VER-CODE-EXPIRED")
def test_expired_code_starts_over_with_4070005(expired_challenges: ExpiringChallenges, kind: str, admin: AdminApi,
                                               target: Target, req: str) -> None:
    sent = expired_challenges[kind]
    verifier, flow = sent.verifier, sent.flow
    ex = verifier.client.submit(flow.id, verifier.code_body(flow, str(sent.mail.code)))
    if verifier.kind.wants_json:
        checks.status(ex, 410, req)
        checks.expect(req, ex.error_id == "self_service_flow_expired",
                      f"error.id is {ex.error_id!r}, not self_service_flow_expired", ex, name="expired_error_id")
    else:
        checks.redirect_to_ui(ex, target, req)
    new = verifier.fetch(checks.new_flow_named(ex, flow.id, req), cookies_of=ex)
    checks.flow_type(new, flow.type, req, ex)
    checks.flow_state(new, "choose_method", req, ex)
    checks.flow_messages(new, [ids.FLOW_EXPIRED], req, ex)
    checks.address_not_verified(*admin.address(sent.identity), req, after="an expired code")
