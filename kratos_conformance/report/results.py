"""Requirement results, derived from what every test did, and the run's verdict.

Data flows one way::

    TestLog (live objects, in the process that ran the test)
      -> TestRecord (plain data: travels from pytest-xdist workers to the controller inside the teardown report)
      -> RequirementResult (one per requirement of the catalog) -> Verdict

A requirement is

- **failed** when any check of it failed, in any test, or when a test that names it (``@requirement``) failed
  outside any check (an exception, a plain assert): a broken scenario never counts as evidence of conformance;
- **expected failure** when it failed and the expected-failures file has an entry for it that applies;
- **passed** when checks of it were evaluated and all of them passed (if the expected failures lists it anyway, it is
  *unexpectedly passing*: shrink the expected-failures file);
- **skipped** when it was never evaluated and the tests that name it were skipped (the reasons are kept);
- **not exercised** when no check of it was ever evaluated and no skipped test names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from kratos_conformance.errors import EXIT_CANNOT_JUDGE, EXIT_CONFORMANT, EXIT_NOT_CONFORMANT
from kratos_conformance.report.coverage import Observed, observe
from kratos_conformance.report.expected_failures import ExpectedFailures, RunContext
from kratos_conformance.rules.catalog import Requirement
from kratos_conformance.rules.checks import KNOWN_DEFECT, MEASURE
from kratos_conformance.wire.redact import redact_text

PASSED, FAILED, EXPECTED_FAILURE, SKIPPED, NOT_EXERCISED = (
    "passed", "failed", "expected_failure", "skipped", "not_exercised")
#: every requirement status, worst first (the order merged reports use to combine runs).
STATUSES: tuple[str, ...] = (FAILED, EXPECTED_FAILURE, PASSED, SKIPPED, NOT_EXERCISED)
UNEXPECTEDLY_PASSING = "unexpectedly passing: shrink the expected-failures file"
OUTSIDE_CHECKS = "(outside any check)"
#: how many of its last exchanges a test that failed outside any check keeps for the report.
FAILURE_CONTEXT_EXCHANGES = 3


@dataclass
class FailedCheck:
    """A check that failed, with the redacted exchanges that show it."""

    requirement: str
    name: str
    detail: str
    exchanges: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TestRecord:
    """Plain, serialisable data about one test: what it checked, what it covered and how it ended."""

    __test__ = False  # not a pytest test class

    nodeid: str
    kind: str | None = None
    #: requirement ids of the test's ``@pytest.mark.requirement`` markers.
    markers: list[str] = field(default_factory=list)
    #: per requirement id, how many answers passing checks judged.
    passed_checks: dict[str, int] = field(default_factory=dict)
    #: per requirement id, which checks passed and on how many answers (``contract``: the contract judge, one per
    #: exchange; ``status``, ``redirect``...: a scenario's named condition; ``fuzz``: the fuzzed responses that
    #: could break it).
    judged_by: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_checks: list[FailedCheck] = field(default_factory=list)
    #: (operation, status, client kind) per exchange; (before, after, operation, kind) per submission.
    hits: list[list[Any]] = field(default_factory=list)
    transitions: list[list[str]] = field(default_factory=list)
    #: the transitions a failed check cited as evidence (None: not known, as for a test failed outside any check)
    failing_transitions: list[list[str]] | None = None
    #: the run's target as the test's process saw it (public_url, embedded, method, faults), if it used one.
    target: dict[str, Any] | None = None
    #: the last exchanges of a test that failed outside any check.
    context_exchanges: list[dict[str, Any]] = field(default_factory=list)
    #: numbers the test's checks judged: requirement, name, value, unit, limit, passed.
    measurements: list[dict[str, Any]] = field(default_factory=list)
    #: (requirement, detail) of each failure the release profile tolerates as a known defect of the release.
    known_defects: list[list[str]] = field(default_factory=list)
    #: passed | failed | skipped | xfailed (set on the controller from the phase reports).
    outcome: str = PASSED
    reason: str = ""
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestRecord:
        fields = dict(data)
        fields["failed_checks"] = [FailedCheck(**fc) for fc in fields.get("failed_checks", [])]
        return cls(**fields)

    @property
    def observed(self) -> Observed:
        failing = None if self.failing_transitions is None else [tuple(t) for t in self.failing_transitions]
        return Observed([tuple(h) for h in self.hits], [tuple(t) for t in self.transitions],  # type: ignore[misc]
                        failed=self.outcome == FAILED, failing=failing)  # type: ignore[arg-type]


def plain_exchange(exchange: Any) -> dict[str, Any]:
    """The redacted record of an exchange as JSON-shaped data (lists, not tuples), as it comes out of a report."""
    return dict(json.loads(json.dumps(exchange.as_dict())))


def record_test(nodeid: str, kind: str | None, markers: Sequence[str], exchanges: Sequence[Any],
                check_results: Sequence[Any], *, failed: bool, target: dict[str, Any] | None) -> TestRecord:
    """Turn a test's live log (Exchange objects and CheckResults) into a :class:`TestRecord`."""
    passed: dict[str, int] = {}
    judged_by: dict[str, dict[str, int]] = {}
    failures: list[FailedCheck] = []
    measurements = [{"requirement": c.requirement, "name": redact_text(c.measurement.name),
                     "value": c.measurement.value, "unit": c.measurement.unit, "limit": c.measurement.limit,
                     "passed": c.passed}
                    for c in check_results if getattr(c, "measurement", None) is not None]
    known_defects: list[list[str]] = []
    for check in check_results:
        if check.name == KNOWN_DEFECT:
            known_defects.append([check.requirement, redact_text(check.detail)])
            continue  # tolerated, not passed: shown with the requirement's result
        if check.name == MEASURE:
            continue  # a figure reported, not a check judged
        if check.passed:
            judged = getattr(check, "judged", 1)
            if not judged or getattr(check, "precondition", False):
                # judged no answer (the suite's own coverage, say), or a step on the way to the test's state (its
                # helper's checks; see checks.precondition): no evidence for or against the server
                continue
            passed[check.requirement] = passed.get(check.requirement, 0) + judged
            by = judged_by.setdefault(check.requirement, {})
            by[check.name] = by.get(check.name, 0) + judged
        else:
            failures.append(FailedCheck(check.requirement, check.name, redact_text(check.detail),
                                        [plain_exchange(ex) for ex in check.exchanges]))
    dicts = [plain_exchange(ex) for ex in exchanges]
    # the exchanges failed checks cite, told by identity (two reads of one flow can look alike in every field)
    cited_ids = {id(ex) for check in check_results if not check.passed for ex in check.exchanges}
    seen = observe(dicts, cited=[id(ex) in cited_ids for ex in exchanges] if cited_ids else None)
    return TestRecord(
        nodeid=nodeid, kind=kind, markers=list(markers), passed_checks=passed, judged_by=judged_by,
        failed_checks=failures,
        hits=[list(h) for h in seen.hits], transitions=[list(t) for t in seen.transitions], target=target,
        failing_transitions=None if seen.failing is None else [list(t) for t in seen.failing],
        context_exchanges=dicts[-FAILURE_CONTEXT_EXCHANGES:] if failed and not failures else [],
        measurements=measurements, known_defects=known_defects,
    )


@dataclass(frozen=True)
class Phase:
    """The parts of one pytest phase report (setup / call / teardown) that decide a test's outcome."""

    when: str
    outcome: str
    message: str = ""
    wasxfail: str | None = None


def outcome_from_phases(phases: Iterable[Phase]) -> tuple[str, str]:
    """(outcome, reason) of a test from its phase reports: failed > xfailed > skipped > passed."""
    outcome, reason = PASSED, ""
    for phase in phases:
        if phase.outcome == "failed":
            return FAILED, redact_text(phase.message)
        if phase.outcome == "skipped" and phase.wasxfail is not None:
            outcome, reason = "xfailed", phase.wasxfail
        elif phase.outcome == "skipped" and outcome == PASSED:
            outcome, reason = SKIPPED, phase.message
    return outcome, reason


@dataclass
class Failure:
    """One piece of evidence that a requirement is not met."""

    test: str
    check: str
    detail: str
    exchanges: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RequirementResult:
    """The result of one requirement in one run."""

    id: str
    level: str
    area: str
    statement: str
    source: str
    status: str = NOT_EXERCISED
    reason: str = ""
    tests: list[str] = field(default_factory=list)
    passed_checks: int = 0
    #: which checks passed it and on how many answers, over every test (the evidence behind a pass).
    judged_by: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    #: the expected failure that applies (an entry of the --expected-failures file), if one does
    expected_failure: dict[str, str] | None = None
    unexpectedly_passing: bool = False
    #: failures the release profile tolerates as known defects of the release (test, detail): a requirement that
    #: passed with one says so in its reason.
    known_defects: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def derive_results(records: Iterable[TestRecord], catalog: Mapping[str, Requirement], expected: ExpectedFailures,
                   context: RunContext) -> list[RequirementResult]:
    """One result per catalog requirement (catalog order), from every test record and the expected failures."""
    results = {rid: RequirementResult(rid, r.level, r.area, r.statement, r.source) for rid, r in catalog.items()}
    marked: dict[str, set[str]] = {rid: set() for rid in catalog}
    skips: dict[str, set[str]] = {rid: set() for rid in catalog}
    for rec in records:
        touched = set(rec.passed_checks) | {fc.requirement for fc in rec.failed_checks}
        for rid, n in rec.passed_checks.items():
            results[rid].passed_checks += n
        for rid, by in rec.judged_by.items():
            for name, n in by.items():
                results[rid].judged_by[name] = results[rid].judged_by.get(name, 0) + n
        for fc in rec.failed_checks:
            results[fc.requirement].failures.append(Failure(rec.nodeid, fc.name, fc.detail, fc.exchanges))
        for rid, detail in rec.known_defects:
            results[rid].known_defects.append({"test": rec.nodeid, "detail": detail})
        for rid in rec.markers:
            marked[rid].add(rec.nodeid)
            # a test that failed outside its checks fails its main requirement (the marker's first id), not every
            # requirement it might have judged
            if rec.outcome == FAILED and not rec.failed_checks and rid == rec.markers[0]:
                results[rid].failures.append(
                    Failure(rec.nodeid, OUTSIDE_CHECKS, rec.reason or "the test failed", rec.context_exchanges))
                touched.add(rid)
            elif rec.outcome == SKIPPED and rid not in touched:
                skips[rid].add(rec.reason)
        for rid in touched:
            results[rid].tests.append(rec.nodeid)
    for rid, res in results.items():
        _decide(res, sorted(marked[rid]), skips[rid])
        entry = expected.lookup(rid, context)
        if entry is not None:
            res.expected_failure = entry.as_dict()
            if res.status == FAILED:
                res.status, res.reason = EXPECTED_FAILURE, f"{entry.reason} ({entry.link})"
            elif res.status == PASSED:
                res.unexpectedly_passing, res.reason = True, UNEXPECTEDLY_PASSING
    return list(results.values())


def _decide(res: RequirementResult, marked: list[str], skip_reasons: set[str]) -> None:
    """Set the status and reason of ``res`` from its evidence (before the expected failures is applied)."""
    if res.failures:
        res.status = FAILED
        res.reason = res.failures[0].detail.splitlines()[0] if res.failures[0].detail else "a check failed"
    elif res.passed_checks:
        res.status = PASSED
        if res.known_defects:
            count = len(res.known_defects)
            res.reason = (f"passed, with {count} known defect{'s' if count > 1 else ''} of the release tolerated "
                          f"(--known-defects fail fails it): {res.known_defects[0]['detail']}")
    elif res.known_defects:  # judged, but all it showed is a defect the profile tolerates: no evidence of a pass
        res.status = NOT_EXERCISED
        res.reason = (f"not shown to be met: only a known defect of the release was measured, tolerated "
                      f"(--known-defects fail fails it): {res.known_defects[0]['detail']}")
        res.tests = sorted({k["test"] for k in res.known_defects})
    elif skip_reasons:
        res.status, res.reason = SKIPPED, "; ".join(sorted(r for r in skip_reasons if r)) or "skipped"
        res.tests = marked
    else:
        res.status = NOT_EXERCISED
        res.reason = (f"named by {len(marked)} test(s) that evaluated no check of it" if marked
                      else "no test evaluated a check of it")


def unattributed_failures(records: Iterable[TestRecord]) -> list[dict[str, str]]:
    """Tests that failed outside any check and name no requirement: they fail the gate on their own."""
    return [{"test": r.nodeid, "reason": r.reason} for r in records
            if r.outcome == FAILED and not r.failed_checks and not r.markers]


@dataclass(frozen=True)
class Verdict:
    """The gate's answer: conformant (0), not conformant (1) or cannot judge (2), with one line saying why."""

    name: str
    exit_code: int
    reason: str
    #: SHOULD requirements the server did not meet, reported as warnings (``--should-failures warn``): not failed
    warnings: list[str] = field(default_factory=list)


CONFORMANT, NOT_CONFORMANT, CANNOT_JUDGE = "conformant", "not_conformant", "cannot_judge"


def decide_verdict(results: Sequence[RequirementResult], unattributed: Sequence[Mapping[str, str]],
                   cannot_judge: str | None = None, *, should_failures: str = "warn") -> Verdict:
    """The verdict of one run from its requirement results (the expected failures is already applied). A SHOULD
    requirement not met is a warning, named in the verdict, unless ``should_failures`` is ``fail``: the gate is the
    MUST requirements (RFC 2119: a SHOULD may be departed from for a reason the server's owner weighed)."""
    if cannot_judge:
        return Verdict(CANNOT_JUDGE, EXIT_CANNOT_JUDGE, cannot_judge)
    # a SHOULD's own checks found it not met; a test of it that crashed (failed outside its checks) fails the gate
    warned = [r.id for r in results if r.status == FAILED and r.level == "SHOULD" and should_failures != "fail"
              and r.failures and all(f.check != OUTSIDE_CHECKS for f in r.failures)]
    failed = [r.id for r in results if r.status == FAILED and r.id not in warned]
    warning = (f", {len(warned)} SHOULD requirement(s) not met (warnings: {', '.join(warned)})" if warned else "")
    if failed or unattributed:
        parts = [f"{len(failed)} requirement(s) failed"] if failed else []
        parts += [f"{len(unattributed)} test(s) failed outside any requirement"] if unattributed else []
        return Verdict(NOT_CONFORMANT, EXIT_NOT_CONFORMANT, ", ".join(parts) + warning, warned)
    judged = [r for r in results if r.status in (PASSED, EXPECTED_FAILURE)]
    if not judged:
        return Verdict(CANNOT_JUDGE, EXIT_CANNOT_JUDGE, "no requirement was exercised", warned)
    expected = sum(r.status == EXPECTED_FAILURE for r in results)
    return Verdict(CONFORMANT, EXIT_CONFORMANT, f"{len(judged) - expected} requirement(s) passed"
                   + (f", {expected} expected failure(s) from the expected-failures file" if expected else "")
                   + warning, warned)


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many requirements have each status (every status present, zero or not)."""
    counts = {s: 0 for s in STATUSES}
    for status in statuses:
        counts[status] += 1
    return counts


def tolerated_in(requirements: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ids of a report's requirements where the release profile tolerated a known defect."""
    return [r["id"] for r in requirements if r.get("known_defects")]


def tolerated_line(tolerated: Sequence[str], profile: str) -> str:
    """What a verdict says of the requirements where ``profile`` tolerated a known defect of its release."""
    return (f"known defects of the release tolerated by profile {profile or '(none named)'} (not failed; "
            f"--known-defects fail fails them): " + ", ".join(tolerated))


def verdict_lines(verdict: Verdict, counts: Mapping[str, int], failed: Sequence[str], unexpected: Sequence[str],
                  written: Sequence[Any], *, tolerated: Sequence[str] = (), profile: str = "") -> list[str]:
    """The verdict as the terminal shows it (pytest's summary and the CLI print the same lines); ``tolerated``:
    the requirements where ``profile`` tolerated a known defect of its release (said, so that a green gate is
    never read as a clean one)."""
    lines = [f"kratos-conformance: {verdict.name.replace('_', ' ').upper()} (exit {verdict.exit_code}): "
             f"{verdict.reason}"]
    if counts:
        lines.append("  requirements: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))
    failed = [rid for rid in failed if rid not in verdict.warnings]
    if failed:
        lines.append("  failed: " + ", ".join(failed))
    if verdict.warnings:
        lines.append("  SHOULD requirements not met, warnings (--should-failures fail fails the gate on them): "
                     + ", ".join(verdict.warnings))
    if tolerated:
        lines.append("  " + tolerated_line(tolerated, profile))
    if unexpected:
        lines.append("  unexpectedly passing (shrink the expected-failures file): " + ", ".join(unexpected))
    if written:
        lines.append("  reports: " + ", ".join(str(p) for p in written))
    return lines
