"""Fetching a flow: GET /self-service/verification/flows for every client kind."""

from __future__ import annotations

import uuid

import pytest

from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.rules import checks
from kratos_conformance.wire.clients import Client, ClientFactory


@pytest.mark.smoke
@pytest.mark.requirement("VER-GET-200", "VER-GET-CACHE-CONTROL", "VER-RESP-JSON-TYPE")
def test_fetching_a_flow_returns_it_unchanged(verifier: Verifier, client: Client, req: str) -> None:
    """The flow read back is the flow made. Its Cache-Control (VER-GET-CACHE-CONTROL) and media type
    (VER-RESP-JSON-TYPE) are judged by the contract judge as the answer is recorded, as on every flow read
    (``rules/response_rules.py``); checking them again here could never fail."""
    flow = verifier.new_flow()
    ex = client.get_flow(flow.id)
    checks.status(ex, 200, req)
    fetched = checks.flow(ex, req, type=flow.type, state="choose_method")
    checks.expect(req, fetched.id == flow.id, f"fetched flow id {fetched.id!r} is not {flow.id!r}", ex, name="flow_id")


@pytest.mark.smoke
@pytest.mark.requirement("VER-GET-404-UNKNOWN")
def test_unknown_flow_is_404(client: Client, req: str) -> None:
    ex = client.get_flow(str(uuid.uuid4()))
    checks.status(ex, 404, req)
    err = checks.error(ex, req, code=404)
    checks.expect(req, err.get("status") == "Not Found", f"error.status {err.get('status')!r}", ex, name="error_status")


@pytest.mark.requirement("VER-GET-404-MALFORMED")
@pytest.mark.parametrize("flow_id", ["not-a-uuid", "", None, "' OR 1=1 --", "%00", "0" * 5000],
                         ids=["word", "empty", "missing", "injection", "nul", "huge"])
def test_malformed_or_missing_flow_id_is_404(client: Client, flow_id: str | None, req: str) -> None:
    ex = client.get_flow(flow_id)
    checks.status(ex, 404, req)
    checks.error(ex, req, code=404)


@pytest.mark.smoke
@pytest.mark.requirement("VER-GET-403-CSRF")
@pytest.mark.parametrize("kind", ["browser", "spa"])
def test_browser_flow_without_its_cookie_is_403(verifier: Verifier, make_client: ClientFactory, kind: str,
                                                req: str) -> None:
    flow = verifier.new_flow()
    stranger = make_client(kind)  # a client without the flow's CSRF cookie
    ex = stranger.get_flow(flow.id)
    checks.status(ex, 403, req)
    err = checks.error(ex, req, code=403, error_id="security_csrf_violation")
    checks.expect(req, bool((err.get("details") or {}).get("reject_reason")),
                  "error.details.reject_reason is missing", ex, name="reject_reason")
