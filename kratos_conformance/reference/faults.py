"""Named defects that can be switched on in the reference target.

Contract: ``KNOWN_FAULTS`` maps a fault name to a one-line description of the defect it introduces.
A target started with ``ReferenceConfig(faults=frozenset({...}))`` behaves like the clean target except at
the exact point each fault names; the business logic checks ``name in config.faults`` right there, so every
fault is a few lines that can be found by grepping its name.

Adding a fault: add one entry here, then one ``if "<name>" in self.config.faults:`` at the point of the
defect, then one probe in tests/reference/test_faults.py.
"""

from __future__ import annotations

KNOWN_FAULTS: dict[str, str] = {
    "code_reusable": "a correct code is not consumed: submitting it again to the finished flow succeeds again",
    "expired_flow_get_200": "GET /self-service/verification/flows answers 200 instead of 410 for an expired flow",
    "wrong_code_400": "a wrong code answers 400 instead of 200 (with message 4070006)",
    "no_attempt_limit": "max_submissions is ignored: code attempts are never cut off",
    "csrf_not_checked": "browser email submissions are accepted without or with a wrong CSRF token",
    "cookie_not_httponly": "the CSRF cookie is set without the HttpOnly attribute",
    "unknown_address_mailed": "an unknown address gets a verification mail (account enumeration)",
    "address_not_marked_verified": "a successful verification does not mark the address verified",
    "get_link_verifies": "opening the emailed code link (GET ?flow=&code=) verifies the address",
    "return_to_unchecked": "return_to is not checked against the allow-list",
    "malformed_body_500": "a malformed JSON body answers 500 instead of 400",
    "flow_missing_state": "flow JSON lacks the required 'state' property",
    "undocumented_status_418": "GET /flows answers 418 for api flows in state sent_email",
    "replaced_without_use_flow_id": "410 errorFlowReplaced answers lack 'use_flow_id'",
    "expired_keeps_old_id": "a submission to an expired flow redirects to the same (expired) flow id",
    "no_cache_control": "flow GETs lack the Cache-Control: private, no-cache, no-store, must-revalidate header",
    "wrong_success_message": "a successful verification carries message 1080003 instead of 1080002",
    "state_not_advanced": "a valid email submission leaves the flow in state choose_method",
}
