"""Work done ahead of the test that needs it, with its evidence held back until that test claims it.

Some scenarios need something only time can make: a flow past its lifespan, a code past its own. Making it inside
the scenario means sleeping there; making it earlier lets the wait overlap with other scenarios. The catch is
attribution: the exchanges and checks of that early work would land in whichever test happened to be running.
:class:`Ahead` holds them back (:meth:`Recorder.hold <kratos_conformance.wire.exchanges.Recorder.hold>`,
:func:`checks.hold <kratos_conformance.rules.checks.hold>`) and records them when the scenario that needs the result
claims it, so they are judged and reported as that scenario's own. Work that failed early is redone at the claim,
in the open, so its failure is reported by the scenario too. :class:`Lookahead` says when to start such work so
that it is ready just as the first scenario needing it runs.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import CheckResult
from kratos_conformance.wire.exchanges import Exchange, Recorder

T = TypeVar("T")


class Ahead(Generic[T]):
    """``work`` run early (:meth:`run`) or late (:meth:`claim`); the result reaches its test with its evidence."""

    def __init__(self, recorder: Recorder, work: Callable[[], T]) -> None:
        self._recorder = recorder
        self._work = work
        self._value: T | None = None
        self._exchanges: list[Exchange] = []
        self._checks: list[CheckResult] = []
        self.done = False
        #: monotonic clock readings around the run that produced the value (None before one succeeded).
        self.started_at: float | None = None
        self.finished_at: float | None = None

    def run(self) -> bool:
        """Do the work now with its exchanges and checks held back; True if it succeeded.

        A failure is not raised here (it belongs to no test yet): the work is redone by :meth:`claim`.
        """
        started = time.monotonic()
        with self._recorder.hold() as exchanges, checks.hold() as results:
            try:
                value = self._work()
            except Exception:  # noqa: BLE001 - redone in the open by claim(), where the failure is reported
                return False
        self._value, self._exchanges, self._checks = value, list(exchanges), list(results)
        self.started_at, self.finished_at, self.done = started, time.monotonic(), True
        return True

    def peek(self) -> T | None:
        """The result of a successful :meth:`run`, without recording its evidence (None before one)."""
        return self._value if self.done else None

    def claim(self) -> T:
        """The result, in the test that needs it: the held exchanges and checks are recorded now (the contract
        judge and the test's report see them); if the work never succeeded, it runs now, in the open."""
        if not self.done:
            self.started_at = time.monotonic()
            self._value = self._work()
            self.finished_at, self.done = time.monotonic(), True
            return self._value
        exchanges, results, self._exchanges, self._checks = self._exchanges, self._checks, [], []
        for ex in exchanges:
            self._recorder.record(ex)
        for result in results:
            checks.tell(result)
        return cast(T, self._value)  # set by run()


class Lookahead:
    """Says when to start work that should be ready ``lead`` seconds after it starts, just as the first test that
    needs it begins. It extrapolates the pace of the last :attr:`WINDOW` tests over the tests still to come,
    counting only tests that run (a scenario for the other method skips in no time).

    ``items``: the run order (anything with a ``nodeid``); ``needing``: the indexes of the tests that need the
    work (the first of them that runs is the one the work must be ready for).
    """

    WINDOW = 30

    def __init__(self, items: Sequence[Any], needing: list[int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.order = {item.nodeid: i for i, item in enumerate(items)}
        self.items = items
        self.needing = needing
        self.due = needing[0]
        self.started = False
        self._seen: deque[tuple[int, float]] = deque(maxlen=self.WINDOW)
        self._runs_before: list[int] = []

    def time_to_start(self, nodeid: str, lead: float, runs: Callable[[Any], bool]) -> bool:
        """Called as each test starts (``runs``: whether a test will run rather than skip); True once, when the
        work should start now."""
        index = self.order.get(nodeid)
        if self.started or index is None or index > self.due:
            return False
        if not self._runs_before:
            self._runs_before = [0]
            for item in self.items:
                self._runs_before.append(self._runs_before[-1] + int(runs(item)))
            self.due = next((i for i in self.needing if runs(self.items[i])), self.needing[0])
        now = self.clock()
        ran = self._runs_before[index]
        self._seen.append((ran, now))
        first_ran, first_time = self._seen[0]
        remaining = self._runs_before[self.due] - ran
        if index >= self.due or (ran > first_ran and remaining * (now - first_time) / (ran - first_ran) <= lead):
            self.started = True
        return self.started
