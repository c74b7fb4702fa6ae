"""How a check's result is made and who hears it: the machinery under :mod:`.checks`.

:func:`expect` is the primitive every check ends in: it makes a :class:`CheckResult`, tells the listeners (the
pytest plugin's report, the contract judge's evidence) or the innermost :func:`hold`, and raises
:class:`RequirementFailure` when the condition is false. :func:`measure` and :func:`expect_unless_known` report
figures and a release's known defects; :func:`precondition` marks checks made on the way to a test's state; check
names say when a check judged against a learned value (:func:`check_name`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from kratos_conformance.rules.catalog import Requirement, requirement
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.redact import received_secrets, redact_values


class RequirementFailure(AssertionError):
    """A check failed: carries the requirement, what was wrong and the exchanges that show it."""

    def __init__(self, req: Requirement, detail: str, exchanges: Sequence[Exchange] = (), *,
                 also: Sequence[str] = ()) -> None:
        self.requirement = req
        self.detail = detail
        self.exchanges = list(exchanges)
        #: other requirements the same exchanges break (a fuzzed response failing several checks)
        self.also = [rid for rid in dict.fromkeys(also) if rid != req.id]
        super().__init__(self.render())

    def render(self) -> str:
        req = self.requirement
        detail = self.detail.replace("\n", "\n     ")  # a detail's further lines under its first
        parts = [f"[{req.id}] {req.level}: {req.statement}", f"  -> {detail}"]
        for i, ex in enumerate(self.exchanges, 1):
            parts.append(f"--- exchange {i}/{len(self.exchanges)} ---\n{ex.render()}")
        return "\n".join(parts)


@dataclass(frozen=True)
class Measurement:
    """A number a check judged (how many of N simultaneous codes verified, a guessing probability, a timing
    difference): shown with the requirement in the report and the summary."""

    name: str
    value: float
    unit: str = ""
    #: what the value was held to, in words (``at most 1``, ``below 1e-4``).
    limit: str = ""


@dataclass(frozen=True)
class CheckResult:
    """One evaluated check (reported to listeners)."""

    requirement: str
    name: str
    passed: bool
    detail: str
    exchanges: tuple[Exchange, ...]
    measurement: Measurement | None = None
    #: judged on the way to the state a test needs (inside :func:`precondition`), not by the test itself.
    precondition: bool = False
    #: how many answers the check judged (a fuzzing run's pass stands for every response that could break it).
    judged: int = 1


#: the name of a :func:`measure` result: a figure reported, not a check judged.
MEASURE = "measure"
#: the name of the report :func:`expect_unless_known` makes of a failure the release profile tolerates: like a
#: measurement no evidence of a pass, and shown with the requirement's result (``known_defects``).
KNOWN_DEFECT = "known defect"

#: added to a check's name, with what was learned, when what it compared with was learned from the target's own
#: answers (UI URLs taken from its first redirects, the method from its mail or a flow): the report then shows the
#: evidence as consistency, not as the configured value.
AGAINST_LEARNED = ", against learned "
#: added to a check's name when what it would compare with is unknown (neither given nor learned), so that it judged
#: the shape alone (a redirect to some absolute http(s) URL, not to the UI).
SHAPE_ONLY = ", shape only"


def check_name(name: str, *, learned: bool, what: str = "UI URLs", shape_only: bool = False) -> str:
    """The name a check reports under: ``name``, marked ``, shape only`` (:data:`SHAPE_ONLY`) when it could judge
    only the shape, else ``, against learned <what>`` (:data:`AGAINST_LEARNED`) when it judged against a value
    learned from the target's own answers rather than given."""
    if shape_only:
        return f"{name}{SHAPE_ONLY}"
    return f"{name}{AGAINST_LEARNED}{what}" if learned else name


def base_check_name(name: str) -> str:
    """A reported check name without its :data:`AGAINST_LEARNED` or :data:`SHAPE_ONLY` mark."""
    return name.split(AGAINST_LEARNED, 1)[0].split(SHAPE_ONLY, 1)[0]


CheckListener = Callable[[CheckResult], None]
_listeners: list[CheckListener] = []
_held: list[list[CheckResult]] = []
_in_precondition: contextvars.ContextVar[bool] = contextvars.ContextVar("in_precondition", default=False)


@contextmanager
def precondition() -> Iterator[None]:
    """Inside the block, checks judge the steps that bring a flow into the state a test needs (a helper's
    init, email submission, mail). They are marked as the helper's, not the test's: a failure fails its requirement
    like any other, but a pass is no evidence for it (the report counts only the checks of tests that set out to
    judge a requirement, so a requirement whose own tests did not run is not exercised, never passed on the way)."""
    token = _in_precondition.set(True)
    try:
        yield
    finally:
        _in_precondition.reset(token)


@contextmanager
def for_its_own_sake() -> Iterator[None]:
    """Inside the block, checks judge an answer for itself, wherever the request came from: the contract judge
    judges every exchange, one made on the way to a test's state (inside :func:`precondition`) included, and such
    a judgement is evidence like any test's."""
    token = _in_precondition.set(False)
    try:
        yield
    finally:
        _in_precondition.reset(token)


def add_check_listener(listener: CheckListener) -> None:
    """Be told about every check evaluated in this process (the pytest plugin listens)."""
    _listeners.append(listener)


def remove_check_listener(listener: CheckListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


@contextmanager
def hold() -> Iterator[list[CheckResult]]:
    """Inside the block, check results go to the yielded list only (a failed check still raises); no listener
    hears of them until :func:`tell` (work done ahead of the test it serves, see
    :mod:`kratos_conformance.flows.ahead`)."""
    held: list[CheckResult] = []
    _held.append(held)
    try:
        yield held
    finally:
        _held.remove(held)


def tell(result: CheckResult) -> None:
    """Give ``result`` to every listener (or to the innermost :func:`hold`)."""
    if _held:
        _held[-1].append(result)
        return
    for listener in list(_listeners):
        listener(result)


def expect(req_id: str, condition: bool, detail: str, *exchanges: Exchange, name: str,
           measurement: Measurement | None = None, judged: int = 1) -> None:
    """The primitive every check ends in: record the outcome (with the figure it judged, if any, and how many
    answers it judged) and raise if ``condition`` is false."""
    req = requirement(req_id)
    if not condition:  # a detail may quote what the server reflected of the request, or a mail: secrets come out
        detail = redact_values(detail, {s for ex in exchanges for s in ex.sent_secrets} | received_secrets())
    tell(CheckResult(req_id, name, bool(condition), detail, tuple(exchanges), measurement,
                     precondition=_in_precondition.get(), judged=judged))
    if not condition:
        raise RequirementFailure(req, detail, exchanges)


def measure(req_id: str, measurement: Measurement, detail: str, *exchanges: Exchange) -> None:
    """Report a figure under ``req_id`` without judging it (an effect size, a case a profile tolerates): it is
    shown in the report's measurements, and it is no evidence that the requirement passed."""
    requirement(req_id)
    tell(CheckResult(req_id, MEASURE, True, detail, tuple(exchanges), measurement))


def expect_unless_known(req_id: str, condition: bool, detail: str, *exchanges: Exchange, name: str,
                        known: str | None, measurement: Measurement | None = None) -> None:
    """:func:`expect`, except where the release profile knows the failure as its own defect (``known``, from
    :meth:`Profile.tolerates`): then the figure (or, with none, one occurrence of the defect) is reported with
    :func:`measure`, saying why it was tolerated, and the requirement is not failed. A run with
    ``--known-defects fail`` has no known defects."""
    if not condition and known:
        figure = measurement or Measurement(f"a known defect: {(detail.splitlines() or [''])[0][:200]}", 1)
        limit = "; ".join(filter(None, (figure.limit, "tolerated: a known defect of the release")))
        requirement(req_id)
        tell(CheckResult(req_id, KNOWN_DEFECT, True, f"{detail}: {known}", tuple(exchanges),
                         replace(figure, limit=limit)))
        return
    expect(req_id, condition, detail, *exchanges, name=name, measurement=measurement)
