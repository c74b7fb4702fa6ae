"""Fixtures of the security scenarios: how hard they may press the server (``--security-load``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from security_load import LOADS, Load

from kratos_conformance.run.target import Target


@pytest.fixture(scope="session")
def load(target: Target) -> Load:
    """The load the races and timing measurements may put on the server: the ``--security-load`` preset with the
    figures ``--race-size``, ``--race-wrong-codes``, ``--race-concurrency`` and ``--timing-samples`` set; skips them
    with ``--security-load off``."""
    if target.security_load == "off":
        pytest.skip("--security-load off: the race and timing scenarios are load, and were turned off")
    figures = {"racers": target.race_size, "wrong_codes": target.race_wrong_codes, "samples": target.timing_samples,
               "concurrency": target.race_concurrency}
    return replace(LOADS[target.security_load], **{name: value for name, value in figures.items() if value is not None})
