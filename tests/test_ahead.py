"""Work done ahead of its scenario: evidence reaches the scenario that claims it, failures are redone in the open,
and the lookahead starts the work one lead before the first test that needs it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from kratos_conformance.flows.ahead import Ahead, Lookahead
from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import CheckResult, RequirementFailure
from kratos_conformance.wire.exchanges import Exchange, Recorder

REQ = "VER-INIT-API-200"


def _exchange(status: int = 200) -> Exchange:
    request = httpx.Request("GET", "http://target.test/self-service/verification/api")
    return Exchange.record(httpx.Response(status, request=request, json={}), "native", 0.0, 0.001)


@pytest.fixture
def heard() -> tuple[Recorder, list[Exchange], list[CheckResult]]:
    recorder, exchanges, results = Recorder(), [], []
    recorder.add_listener(exchanges.append)
    checks.add_check_listener(results.append)
    yield recorder, exchanges, results
    checks.remove_check_listener(results.append)


def test_evidence_of_early_work_is_held_until_the_claim(heard) -> None:
    recorder, exchanges, results = heard

    def work() -> str:
        ex = _exchange()
        recorder.record(ex)
        checks.expect(REQ, True, "made", ex, name="made")
        return "flow"

    ahead = Ahead(recorder, work)
    assert ahead.run() and ahead.done
    assert exchanges == [] and results == [] and recorder.exchanges == []
    assert ahead.peek() == "flow"
    assert ahead.claim() == "flow"
    assert len(exchanges) == 1 and [r.requirement for r in results] == [REQ]
    assert recorder.exchanges == exchanges


def test_failed_early_work_is_redone_in_the_open_and_fails_there(heard) -> None:
    recorder, exchanges, results = heard

    def work() -> str:
        ex = _exchange(500)
        recorder.record(ex)
        checks.expect(REQ, ex.status == 200, f"status {ex.status}", ex, name="status")
        return "flow"

    ahead = Ahead(recorder, work)
    assert ahead.run() is False and not ahead.done
    assert exchanges == [] and results == []  # the failed attempt reached nobody
    with pytest.raises(RequirementFailure):
        ahead.claim()
    assert len(exchanges) == 1 and [r.passed for r in results] == [False]


@dataclass
class _Item:
    nodeid: str
    runs: bool = True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lookahead_starts_one_lead_before_the_first_test_that_needs_it() -> None:
    items = [_Item(f"t{i}") for i in range(100)]
    clock = _Clock()
    look = Lookahead(items, needing=[90, 91], clock=clock)
    started_at = None
    for index in range(91):
        if look.time_to_start(f"t{index}", lead=2.05, runs=lambda item: item.runs):
            started_at = index
            break
        clock.now += 0.1  # every test takes 0.1 s
    assert started_at == 70  # 20 tests of 0.1 s before t90
    assert not look.time_to_start("t71", lead=2.0, runs=lambda item: item.runs)  # once only


def test_lookahead_does_not_count_tests_that_will_skip() -> None:
    items = [_Item(f"t{i}", runs=i < 50) for i in range(90)] + [_Item("t90")]
    clock = _Clock()
    look = Lookahead(items, needing=[90], clock=clock)
    started_at = None
    for index in range(91):
        if look.time_to_start(f"t{index}", lead=1.05, runs=lambda item: item.runs):
            started_at = index
            break
        clock.now += 0.1 if items[index].runs else 0.0
    assert started_at == 40  # t40..t49 run (1 s); t50..t89 skip in no time


def test_lookahead_waits_for_the_first_needing_test_that_runs() -> None:
    items = [_Item(f"t{i}") for i in range(10)] + [_Item("code-only", runs=False), _Item("link-only")]
    look = Lookahead(items, needing=[10, 11])
    assert look.time_to_start("t0", lead=0.0, runs=lambda item: item.runs) is False
    assert look.due == 11
