"""One run of the suite and what it says: from its JUnit XML, the tests that failed and the requirement each one's
message names; from its conformance report, the requirements those tests failed besides.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kratos_conformance.mutation.launchers import SpawnLauncher
from kratos_conformance.mutation.plan import BROWSER_FAULTS, MatrixOptions, RunSpec, child_environment, pytest_command
from kratos_conformance.report.results import OUTSIDE_CHECKS
from kratos_conformance.rules.check_results import base_check_name

_REQUIREMENT = re.compile(r"\[(VER-[A-Z0-9]+(?:-[A-Z0-9]+)*)\] (?:MUST|SHOULD)\b")


@dataclass
class Failure:
    """A test that failed (or errored) in a run, and the requirement its message names (None if none)."""

    test: str
    requirement: str | None
    message: str


@dataclass
class RunResult:
    """One pytest run of the suite against one target."""

    name: str
    method: str
    fault: str | None
    exit_code: int | None
    wall: float
    started: float
    attempts: int = 1
    tests: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: seconds pytest reported for the session, and the part spent in each suite (from the JUnit test times)
    #: CPU seconds of the run (pytest and the reference target it started), when the launcher can tell
    cpu: float | None = None
    session_seconds: float = 0.0
    suite_seconds: dict[str, float] = field(default_factory=dict)
    note: str = ""
    #: requirement id -> tests, for requirements the run's report failed beyond the one each failing test's message
    #: names (a fuzzed response that broke several checks fails each one's requirement)
    also_failed: dict[str, list[str]] = field(default_factory=dict)
    #: named check -> the requirements it judged and passed in this run (from the report's judged_by; a check's
    #: mark for a learned value or a shape-only judgement left off)
    judged_checks: dict[str, list[str]] = field(default_factory=dict)
    #: named check -> the requirements it failed in this run (from the report's failures)
    failed_checks: dict[str, list[str]] = field(default_factory=dict)

    @property
    def requirements(self) -> dict[str, list[str]]:
        """Requirement id -> the tests that failed naming it."""
        found: dict[str, list[str]] = {}
        for failure in self.failures:
            if failure.requirement:
                found.setdefault(failure.requirement, []).append(failure.test)
        for rid, tests in self.also_failed.items():
            found.setdefault(rid, []).extend(t for t in tests if t not in found[rid])
        return found

    @property
    def verdict(self) -> str:
        """For a fault run: caught, caught-unattributed, missed or not-judged; for a clean run: passed/failed/
        not-judged."""
        judged = self.exit_code in (0, 1)
        if self.fault is None:
            if not judged:
                return "not-judged"
            return "passed" if self.exit_code == 0 and not self.failures else "failed"
        if not judged:
            return "not-judged"
        if self.requirements:
            return "caught"
        return "caught-unattributed" if self.failures or self.exit_code == 1 else "missed"



def execute(spec: RunSpec, options: MatrixOptions, origin: float, launcher: Any = None) -> RunResult:
    """Run the suite once for ``spec`` (retrying a run that could not judge) and read its JUnit XML."""
    launcher = launcher or SpawnLauncher()
    run_dir = (options.report_dir / "runs" / spec.name).resolve()
    attempts, result = 0, None
    while attempts <= options.retries:
        attempts += 1
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("junit.xml", "pytest.log", "conformance-report.json"):
            (run_dir / stale).unlink(missing_ok=True)
        started = time.monotonic()
        code, note, cpu = launcher.run(pytest_command(spec, run_dir, options), run_dir / "pytest.log",
                                       child_environment(options), options.timeout)
        wall = time.monotonic() - started
        result = RunResult(spec.name, spec.method, spec.fault, code, round(wall, 3), round(started - origin, 3),
                           attempts, cpu=round(cpu, 3) if cpu is not None else None, note=note)
        read_junit(run_dir / "junit.xml", result)
        read_report(run_dir / "conformance-report.json", result)
        if spec.fault in BROWSER_FAULTS and code == 1 and not any(
                r.startswith("VER-BROWSER-") for r in result.requirements):
            # the walk meant to catch it failed earlier: under the matrix's load a walk can outlast the embedded
            # target's 1.5 s link or code lifespan and end on a new flow; once more, so the walk is what judges
            result.note = "a browser walk failed before its own check; run again"
            continue
        if code != 2:
            break
        if not result.note:
            result.note = last_line(run_dir / "pytest.log")
    assert result is not None
    return result


def last_line(path: Path) -> str:
    """The last non-empty line of a file (what pytest.exit said), or ""."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def read_report(path: Path, result: RunResult) -> None:
    """Add to ``result`` the requirements the run's conformance report failed that no failing test's message named,
    and which named checks passed and failed which requirements (nothing if there is no report)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    named = result.requirements
    for requirement in doc.get("requirements", []):
        rid = requirement.get("id")
        if requirement.get("status") == "failed" and rid not in named:
            tests = sorted({str(f.get("test", "")).rsplit("/", 1)[-1].replace(".py::", "::")
                            for f in requirement.get("failures", [])})
            result.also_failed[rid] = tests
        for check in requirement.get("judged_by") or {}:
            _add(result.judged_checks, base_check_name(check), rid)
        for failure in requirement.get("failures") or []:
            if failure.get("check") and failure["check"] != OUTSIDE_CHECKS:
                _add(result.failed_checks, base_check_name(str(failure["check"])), rid)


def _add(found: dict[str, list[str]], check: str, requirement: str) -> None:
    if requirement not in found.setdefault(check, []):
        found[check].append(requirement)


def read_junit(path: Path, result: RunResult) -> None:
    """Fill ``result`` with the test counts, failures and suite times of a JUnit XML file (if there is one)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        result.session_seconds += float(suite.get("time") or 0.0)
    for case in root.iter("testcase"):
        result.tests += 1
        classname = case.get("classname", "")
        test = f"{classname.rsplit('.', 1)[-1]}::{case.get('name', '')}"
        suite_name = "/".join(classname.split(".")[:2]) or "other"
        result.suite_seconds[suite_name] = round(result.suite_seconds.get(suite_name, 0.0)
                                                 + float(case.get("time") or 0.0), 3)
        if case.find("skipped") is not None:
            result.skipped += 1
        for tag in ("failure", "error"):
            for element in case.findall(tag):
                message = element.get("message") or ""
                found = _REQUIREMENT.search(message) or _REQUIREMENT.search(element.text or "")
                result.failures.append(Failure(test, found.group(1) if found else None,
                                               " ".join(message.split())[:300]))
    result.failed = len({f.test for f in result.failures})
