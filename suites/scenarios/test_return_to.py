"""return_to: an allow-listed URL is where the user continues after verifying."""

from __future__ import annotations

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.rules import checks
from kratos_conformance.run.target import Target


@pytest.mark.requirement("VER-RETURN-TO-CONTINUE")
def test_allowed_return_to_becomes_the_continue_url(verifier: Verifier, admin: AdminApi, target: Target,
                                                    req: str) -> None:
    if target.return_to is None:
        pytest.skip("no allow-listed --return-to given for this target")
    identity = admin.create_identity()
    _, step = verifier.passed(identity.email, return_to=target.return_to)
    passed = checks.came_back(step.flow, req, step.exchange)
    checks.expect(req, passed.continue_url == target.return_to,
                  f"continue URL is {passed.continue_url!r}, want {target.return_to}", step.exchange,
                  name="continue_url")
