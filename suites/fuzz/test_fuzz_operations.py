"""Per-operation contract fuzzing: schemathesis generates requests for each operation, valid (positive) and
schema-breaking (negative); most of them carry live flow ids, cookies and CSRF tokens so they reach flow logic.

Every response is judged by schemathesis's checks and the suite's own (see ``kratos_conformance.fuzzing``); the
first response that breaks one is reported under that check's requirement id with a curl line reproducing it.
"""

from __future__ import annotations

import pytest

from kratos_conformance.fuzzing import RESPONSE_REQUIREMENTS, Fuzzer, report_passes
from kratos_conformance.fuzzing.plugin import FuzzRun
from kratos_conformance.wire.exchanges import OPERATIONS as CONTRACT_OPERATIONS

#: every operation of the contract, in its order
OPERATIONS = list(dict.fromkeys(CONTRACT_OPERATIONS.values()))


@pytest.mark.requirement("VER-FUZZ-POSITIVE-ACCEPTED", *RESPONSE_REQUIREMENTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_valid_requests_get_contract_answers(fuzzer: Fuzzer, fuzz_run: FuzzRun, operation: str, req: str) -> None:
    stats = fuzzer.fuzz_operation(operation, "positive", fuzz_run.budget)
    report_passes(stats, (req, *RESPONSE_REQUIREMENTS))


@pytest.mark.requirement("VER-FUZZ-NEGATIVE-REJECTED", *RESPONSE_REQUIREMENTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_invalid_requests_are_rejected_within_the_contract(fuzzer: Fuzzer, fuzz_run: FuzzRun, operation: str,
                                                           req: str) -> None:
    stats = fuzzer.fuzz_operation(operation, "negative", fuzz_run.budget)
    report_passes(stats, (req, *RESPONSE_REQUIREMENTS))
