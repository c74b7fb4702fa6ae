"""Expired flows: GET answers 410 with where to start over (403 first to a client without the flow's CSRF cookie);
POST starts over with a new flow carrying ids.FLOW_EXPIRED.

The flow lifespan is read from the flows themselves (expires_at - issued_at). The flows are made when the session
starts and these scenarios run last (``expired`` in suites/conftest.py), so the wait overlaps with the rest.
"""

from __future__ import annotations

import pytest

from kratos_conformance.flows.expiring import ExpiringFlows
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.rules.response_rules import under
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import ClientFactory


@pytest.mark.requirement("VER-GET-410-API")
def test_expired_api_flow_is_410_with_details_api(expired: ExpiringFlows, target: Target, req: str) -> None:
    e = expired.get("native")
    ex = e.verifier.client.get_flow(e.flow.id)
    checks.status(ex, 410, req)
    err = checks.error(ex, req, code=410)
    api = (err.get("details") or {}).get("api")
    want = target.public("self-service/verification/api")
    checks.expect(req, api == want, f"details.api is {api!r}, want {want}", ex, name="details_api")


@pytest.mark.requirement("VER-GET-410-BROWSER")
@pytest.mark.parametrize("kind", ["browser", "spa"])
def test_expired_browser_flow_is_410_with_redirect_to(expired: ExpiringFlows, target: Target, kind: str,
                                                      req: str) -> None:
    e = expired.get(kind)
    ex = e.verifier.client.get_flow(e.flow.id)
    checks.status(ex, 410, req)
    err = checks.error(ex, req, code=410)
    redirect_to = str((err.get("details") or {}).get("redirect_to") or "")
    want = target.public("self-service/verification/browser")
    checks.expect(req, under(redirect_to, want), f"details.redirect_to is {redirect_to!r}, want {want}...", ex,
                  name="details_redirect_to")


@pytest.mark.requirement("VER-GET-403-BEFORE-410")
@pytest.mark.parametrize("kind", ["browser", "spa"])
def test_expired_browser_flow_without_its_cookie_is_403_not_410(expired: ExpiringFlows, make_client: ClientFactory,
                                                                kind: str, req: str) -> None:
    e = expired.get(kind)
    stranger = make_client(kind)  # a client without the flow's CSRF cookie
    ex = stranger.get_flow(e.flow.id)
    checks.expect(req, ex.status != 410, "an expired flow answered 410 to a client without its CSRF cookie", ex,
                  name="no_410_without_cookie")
    checks.status(ex, 403, req)
    checks.error(ex, req, code=403, error_id="security_csrf_violation")


@pytest.mark.requirement("VER-EXPIRY-POST")
def test_post_to_expired_flow_starts_over_with_4070005(expired: ExpiringFlows, target: Target, kind: str,
                                                       req: str) -> None:
    e = expired.get(kind)
    verifier = e.verifier
    ex = verifier.client.submit(e.flow.id, verifier.email_body(e.flow, "late@conformance.test"))
    checks.expect(req, ex.status != 410, "an expired flow answered 410 to a POST (Kratos redirects)", ex,
                  name="no_410_to_post")
    if verifier.kind.wants_json:
        location = checks.redirect(ex, target.public("self-service/verification/flows"), req)
    else:
        location = checks.redirect_to_ui(ex, target, req)
    new = verifier.fetch(checks.new_flow_named(ex, e.flow.id, req, location=location), cookies_of=ex)
    checks.flow_type(new, "browser", req, ex)
    checks.flow_state(new, "choose_method", req, ex)
    checks.flow_messages(new, [ids.FLOW_EXPIRED], req, ex)


@pytest.mark.requirement("VER-EXPIRY-RETURN-TO")
def test_new_flow_after_expiry_keeps_return_to(expired: ExpiringFlows, target: Target, kind: str, req: str) -> None:
    if target.return_to is None:
        pytest.skip("no allow-listed --return-to given for this target")
    e = expired.get(kind, "return_to")
    verifier = e.verifier
    ex = verifier.client.submit(e.flow.id, verifier.email_body(e.flow, "late@conformance.test"))
    new = verifier.outcome(ex)
    checks.expect(req, new is not None and new.id != e.flow.id, "no new flow after expiry", ex,
                  name="new_flow_after_expiry")
    assert new is not None
    checks.return_to_kept(new, target.return_to, req, ex)
