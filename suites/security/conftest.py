"""Fixtures of the security scenarios: how hard they may press the server (``--security-load``)."""

from __future__ import annotations

import pytest
from security_load import LOADS, Load

from kratos_conformance.target import Target


@pytest.fixture(scope="session")
def load(target: Target) -> Load:
    """The load the races and timing measurements may put on the server; skips them with ``--security-load off``."""
    if target.security_load == "off":
        pytest.skip("--security-load off: the race and timing scenarios are load, and were turned off")
    return LOADS[target.security_load]
