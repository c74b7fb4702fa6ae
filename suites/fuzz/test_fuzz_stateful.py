"""Stateful contract fuzzing: walk the contract's links (init -> get -> submit, and the redirects' flows) with
generated data, as each kind of client, with its cookies carried from step to step.

A response that breaks the contract is reported as VER-FUZZ-STATEFUL, naming the check (and its own
requirement, which fails too), the steps that led there and a curl line for the failing request; the responses that
kept a response requirement they could have broken are evidence for it, as in the per-operation fuzzing.
"""

from __future__ import annotations

import pytest

from kratos_conformance.fuzzing import RESPONSE_REQUIREMENTS, Fuzzer, report_passes
from kratos_conformance.fuzzing.plugin import FuzzRun

#: a walk's requests are valid ones: a response refusing one breaks this too
POSITIVE = "VER-FUZZ-POSITIVE-ACCEPTED"


@pytest.mark.requirement("VER-FUZZ-STATEFUL", POSITIVE, *RESPONSE_REQUIREMENTS)
@pytest.mark.parametrize("kind", ["native", "browser", "spa"])
def test_walking_the_links_keeps_to_the_contract(fuzzer: Fuzzer, fuzz_run: FuzzRun, kind: str, req: str) -> None:
    stats = fuzzer.fuzz_stateful(kind, fuzz_run.budget)
    report_passes(stats, (req, POSITIVE, *RESPONSE_REQUIREMENTS))
