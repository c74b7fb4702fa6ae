"""Anti-enumeration: an unknown address is answered exactly like a known one, and gets no mail."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kratos_conformance.flows.admin_api import AdminApi, unique_address
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.rules import checks
from kratos_conformance.run.target import Target

#: bounds (seconds) of the extra watch for a mail to the unknown address once the later mail has arrived.
MIN_GRACE, MAX_GRACE = 0.05, 1.0
#: JSON keys whose values legitimately differ between two flows (``id`` only where it is a string: a flow's or
#: node's id; the numeric ids of messages and labels must be the same for both addresses).
VOLATILE_KEYS = {"id", "issued_at", "expires_at", "created_at", "updated_at"}


def normalized(value: Any, replace: dict[str, str]) -> Any:
    """``value`` with volatile keys blanked, secret node values blanked and the given strings replaced."""
    if isinstance(value, dict):
        out = {k: ("<volatile>" if k in VOLATILE_KEYS and not isinstance(v, int) else normalized(v, replace))
               for k, v in value.items()}
        attrs = out.get("attributes")
        if isinstance(attrs, dict) and attrs.get("name") == "csrf_token":
            out["attributes"] = {**attrs, "value": "<csrf>"}
        return out
    if isinstance(value, list):
        return [normalized(v, replace) for v in value]
    if isinstance(value, str):
        for old, new in replace.items():
            value = value.replace(old, new)
        return value
    return value


@pytest.mark.requirement("VER-ENUM-SAME-RESPONSE", "VER-ENUM-NO-MAIL")
def test_unknown_address_looks_like_a_known_one_and_gets_no_mail(verifier: Verifier, admin: AdminApi,
                                                                 target: Target, req: str) -> None:
    known = admin.create_identity()
    unknown = unique_address("nobody")
    known_flow, unknown_flow = verifier.new_flow(), verifier.new_flow()
    k = verifier.submit_email(known_flow, known.email)
    u = verifier.submit_email(unknown_flow, unknown)
    checks.expect(req, k.exchange.status == u.exchange.status,
                  f"status {k.exchange.status} for a known address, {u.exchange.status} for an unknown one",
                  k.exchange, u.exchange, name="same_status")
    known_after = checks.came_back(k.flow, req, k.exchange)
    unknown_after = checks.came_back(u.flow, req, u.exchange)
    a = normalized(known_after.data, {known_flow.id: "<flow>", known.email: "<address>"})
    b = normalized(unknown_after.data, {unknown_flow.id: "<flow>", unknown: "<address>"})
    checks.expect(req, a == b, "the flows for a known and an unknown address differ beyond ids and timestamps",
                  k.exchange, u.exchange, name="same_flow")
    verifier.wait_mail(known.email, known_after)
    # A mail to a second known address submitted AFTER the unknown one: once it has arrived, the courier has
    # handled the unknown address too (couriers send in order). A grace as long as that mail took (within
    # bounds) covers a second courier working in parallel.
    sentinel = admin.create_identity()
    sentinel_flow = verifier.new_flow()
    submitted = time.monotonic()
    verifier.submit_email(sentinel_flow, sentinel.email)
    verifier.wait_mail(sentinel.email)
    grace = min(max(time.monotonic() - submitted, MIN_GRACE), MAX_GRACE)
    if not target.notify_unknown_recipients:
        checks.no_mail(verifier.mail, unknown, "VER-ENUM-NO-MAIL", wait=grace)
        return
    notice = verifier.wait_mail(unknown, req="VER-ENUM-NO-MAIL")
    checks.expect("VER-ENUM-NO-MAIL", notice.code is None and notice.verification_link is None,
                  "the notice to an unknown address carries a code or a verification link", name="nothing_to_prove")

