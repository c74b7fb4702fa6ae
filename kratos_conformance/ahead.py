"""Work done ahead of the test that needs it, with its evidence held back until that test claims it.

Some scenarios need something only time can make: a flow past its lifespan, a code past its own. Making it inside
the scenario means sleeping there; making it earlier lets the wait overlap with other scenarios. The catch is
attribution: the exchanges and checks of that early work would land in whichever test happened to be running.
:class:`Ahead` holds them back (:meth:`Recorder.hold <kratos_conformance.exchanges.Recorder.hold>`,
:func:`checks.hold <kratos_conformance.checks.hold>`) and records them when the scenario that needs the result
claims it, so they are judged and reported as that scenario's own. Work that failed early is redone at the claim,
in the open, so its failure is reported by the scenario too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from . import checks
from .checks import CheckResult
from .exchanges import Exchange, Recorder

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
        return self._value  # type: ignore[return-value] - set by run()
