"""Every response conforms to the contract.

The plugin's contract judge (kratos_conformance/rules/contract_judge.py) judges EVERY exchange of every scenario as it
is recorded: documented status, media type, required headers, body schema, redirect targets, a flow read's
Cache-Control, CSRF cookies, a flow's media type, the release's messages and node layouts, no leaks, no server
errors. This module walks each client kind through every branch once
and proves the judge really evaluated each of those requirements along the way.
"""

from __future__ import annotations

import uuid

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.mail import wrong_code
from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import base_check_name
from kratos_conformance.run.pytest_plugin import TestLog
from kratos_conformance.wire.exchanges import OPERATIONS

JUDGED = ("VER-RESP-STATUS", "VER-RESP-CONTENT-TYPE", "VER-RESP-HEADERS", "VER-RESP-SCHEMA",
          "VER-RESP-MESSAGE-IDS", "VER-UI-LAYOUT", "VER-RESP-NO-LEAK", "VER-RESP-NO-5XX", "VER-RESP-JSON-TYPE",
          "VER-GET-CACHE-CONTROL")
#: judged only where a browser or SPA client is answered: redirects, and the CSRF cookie of its flow's init
REDIRECTS, CSRF_COOKIE = "VER-RESP-LOCATION", "VER-INIT-CSRF-COOKIE"
JUDGED_FOR_BROWSERS = (REDIRECTS, CSRF_COOKIE)


@pytest.mark.requirement(*JUDGED, *JUDGED_FOR_BROWSERS)
def test_every_response_of_a_full_walk_conforms(verifier: Verifier, admin: AdminApi, _test_log: TestLog,
                                               req: str) -> None:
    identity = admin.create_identity()
    client = verifier.client
    client.get_flow(str(uuid.uuid4()))                               # 404
    client.submit(str(uuid.uuid4()), {"method": verifier.method})    # 404 / 303 error UI
    flow = verifier.new_flow()                                       # 200 / 303 UI
    client.get_flow(flow.id)                                         # 200
    client.submit(flow.id, verifier.email_body(flow, "not-an-email"))  # 400 / 303 UI
    flow, mail = verifier.sent(identity.email)                       # 200 / 303 UI
    if verifier.method == "code":
        verifier.submit_code(flow, wrong_code(mail.code))            # 200 / 303 UI
    verifier.prove(flow, mail)                                       # passed_challenge
    client.submit(flow.id, verifier.email_body(flow, identity.email))  # replaced flow: 410 / 303

    contract = [c for c in _test_log.checks if base_check_name(c.name) == "contract"]
    judged = {c.requirement for c in contract}
    # the judge's own coverage, charged to the requirement it missed (judged=0: no evidence of the server either way)
    expected = [*JUDGED, *([REDIRECTS] if not verifier.kind.wants_json else []),
                *([CSRF_COOKIE] if verifier.kind.flow_type == "browser" else [])]
    for rid in expected:
        checks.expect(rid, rid in judged, f"the contract judge never evaluated {rid} during a full walk of a "
                      f"{verifier.kind.value} client (a browser walk redirects, and a browser flow's init sets the "
                      f"CSRF cookie)", name="judge-coverage", judged=0)
    # every answer to one of the contract's operations was judged, not only some
    answered = [ex for ex in _test_log.exchanges if ex.operation in OPERATIONS.values()]
    status_judged = [c for c in contract if c.requirement == req]
    checks.expect(req, len(status_judged) == len(answered) > 0, f"{len(answered)} answers to the contract's "
                  f"operations, {len(status_judged)} judged for {req}", name="judge-coverage", judged=0)
