"""The matrix: every planned run, the verdict per fault, the requirements each fault proves, and its reports.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kratos_conformance.mutation.launchers import ForkLauncher, SpawnLauncher
from kratos_conformance.mutation.plan import (
    BROWSER_FAULTS,
    FUZZ_FAULTS,
    SUITES,
    TIME_BUDGET_SECONDS,
    UNPROVEN_BY_DESIGN,
    Fault,
    MatrixOptions,
    RunSpec,
    child_environment,
    list_faults,
    plan_runs,
)
from kratos_conformance.mutation.runs import RunResult, execute


@dataclass
class Matrix:
    """Everything one matrix run found."""

    faults: list[Fault]
    runs: list[RunResult]
    jobs: int
    wall: float
    options: dict[str, Any]
    #: every named fault was planned (no ``--faults`` selection): only then must every requirement be proven
    complete: bool = True

    @property
    def fault_runs(self) -> dict[str, RunResult]:
        return {r.fault: r for r in self.runs if r.fault is not None}

    @property
    def clean_runs(self) -> list[RunResult]:
        return [r for r in self.runs if r.fault is None]

    @property
    def caught(self) -> list[str]:
        runs = self.fault_runs
        return [f.name for f in self.faults if f.name in runs and runs[f.name].verdict == "caught"]

    @property
    def score(self) -> float:
        return len(self.caught) / len(self.faults) if self.faults else 1.0

    @property
    def proofs(self) -> dict[str, list[str]]:
        """Per catalog requirement, the faults whose run it caught (empty: no fault shows its check can fail)."""
        from kratos_conformance.rules.catalog import load_catalog

        found: dict[str, list[str]] = {req_id: [] for req_id in load_catalog()}
        for f in self.faults:
            run = self.fault_runs.get(f.name)
            for req_id in (run.requirements if run is not None else {}):
                found.setdefault(req_id, []).append(f.name)
        return found

    @property
    def unproven(self) -> list[str]:
        """The requirements no fault of this matrix made fail, in catalog order."""
        return [req_id for req_id, faults in self.proofs.items() if not faults]

    @property
    def gaps(self) -> list[str]:
        """The requirements no fault made fail and that are not unproven by design: checks not shown able to fail.
        Only a complete matrix has gaps (a selection of faults proves a selection of requirements)."""
        return [req_id for req_id in self.unproven if req_id not in UNPROVEN_BY_DESIGN] if self.complete else []

    @property
    def check_proofs(self) -> dict[str, list[str]]:
        """Per named check that passed somewhere in the matrix (the reports' judged_by), the faults whose run it
        failed: the requirement proofs one level down, for the conditions themselves. A check with none may be
        shadowed (another check on the same answer fails first) or never shown able to fail."""
        found: dict[str, list[str]] = {name: [] for run in self.runs for name in run.judged_checks}
        for f in self.faults:
            run = self.fault_runs.get(f.name)
            for name in (run.failed_checks if run is not None else {}):
                found.setdefault(name, []).append(f.name)
        return dict(sorted(found.items()))

    @property
    def unproven_checks(self) -> list[str]:
        """The named checks no fault of this matrix made fail (a figure, not part of :attr:`ok`)."""
        return [name for name, faults in self.check_proofs.items() if not faults]

    @property
    def unattributed(self) -> dict[str, list[str]]:
        """Per fault, the tests of its run that failed naming no requirement (a crash, not a judgement): a user
        would be told nothing by such a failure, even in a run that also failed on a requirement."""
        return {name: tests for name, run in self.fault_runs.items()
                if (tests := [x.test for x in run.failures if not x.requirement])}

    @property
    def clean_ok(self) -> bool:
        return all(r.verdict == "passed" for r in self.clean_runs)  # vacuously true with --clean-runs 0

    @property
    def ok(self) -> bool:
        """The matrix's verdict: every clean run passed, every fault was caught by a named requirement and by
        nothing else, and (for a complete matrix) every requirement was made to fail by some fault."""
        return (self.clean_ok and len(self.caught) == len(self.faults) and not self.unattributed
                and not self.gaps)

    def to_json(self) -> dict[str, Any]:
        runs, unattributed = self.fault_runs, self.unattributed
        return {
            "score": round(self.score, 4),
            "caught": len(self.caught),
            "faults_total": len(self.faults),
            "clean_ok": self.clean_ok,
            "ok": self.ok,
            "wall_seconds": round(self.wall, 2),
            "jobs": self.jobs,
            "options": self.options,
            "faults": [{
                "name": f.name, "methods": list(f.methods), "description": f.description, "run_method": f.run_method,
                "verdict": runs[f.name].verdict if f.name in runs else "not-run",
                "caught_by": runs[f.name].requirements if f.name in runs else {},
                "unattributed": unattributed.get(f.name, []),
                "run": runs[f.name].name if f.name in runs else None,
            } for f in self.faults],
            "clean_runs": [{"name": r.name, "method": r.method, "verdict": r.verdict, "tests": r.tests,
                            "skipped": r.skipped, "failures": [asdict(x) for x in r.failures], "note": r.note}
                           for r in self.clean_runs],
            "requirements_proven": {req_id: faults for req_id, faults in self.proofs.items() if faults},
            "requirements_unproven": self.unproven,
            "gaps": self.gaps,
            "checks_proven": {name: faults for name, faults in self.check_proofs.items() if faults},
            "checks_unproven": self.unproven_checks,
            "complete": self.complete,
            "runs": [{**{k: v for k, v in asdict(r).items() if k != "failures"}, "verdict": r.verdict,
                      "failures": [asdict(x) for x in r.failures]} for r in self.runs],
        }

    def to_markdown(self) -> str:
        runs, unattributed_of = self.fault_runs, self.unattributed
        lines = ["# Mutation matrix", "",
                 f"Mutation score: **{len(self.caught)}/{len(self.faults)}** ({self.score:.1%}) of the reference "
                 f"target's named faults caught; clean runs: "
                 + ("all passed" if self.clean_ok else "**NOT all passed**")
                 + f" ({len(self.clean_runs)} runs). Wall time {self.wall:.0f} s with {self.jobs} parallel runs.", "",
                 f"Suites: {', '.join(self.options.get('suites', []))}; fuzz budget {self.options.get('fuzz_budget')}"
                 f", seed {self.options.get('fuzz_seed')}; security load {self.options.get('security_load')}; "
                 f"suites/browser only for {', '.join(sorted(BROWSER_FAULTS))}; suites/fuzz in the clean runs and "
                 + ("every fault run" if self.options.get("fuzz_every_run")
                    else f"for {', '.join(sorted(FUZZ_FAULTS))}") + ".", "",
                 "| fault | methods | run with | verdict | caught by (requirement: failing tests) |",
                 "|---|---|---|---|---|"]
        for f in self.faults:
            run = runs.get(f.name)
            if run is None:
                lines.append(f"| `{f.name}` | {','.join(f.methods)} | {f.run_method} | not run | |")
                continue
            caught = "; ".join(f"{req} ({len(tests)}: {_short(tests)})"
                               for req, tests in sorted(run.requirements.items()))
            unattributed = unattributed_of.get(f.name, [])
            if unattributed:
                caught += ("; " if caught else "") + f"no requirement id: {_short(unattributed)}"
            if run.verdict == "not-judged":
                caught = run.note.replace("|", "/")
            lines.append(f"| `{f.name}` | {','.join(f.methods)} | {f.run_method} | {run.verdict} | {caught} |")
        proofs = self.proofs
        lines += ["", "## Requirements and the faults that prove their checks can fail", "",
                  f"{len(proofs) - len(self.unproven)} of {len(proofs)} catalog requirements failed in at least one "
                  "fault run. Not made to fail by any fault: "
                  + ("; ".join(f"{r} ({UNPROVEN_BY_DESIGN.get(r, 'not by design: a gap')})" for r in self.unproven)
                     if self.unproven else "none") + ".", "",
                  "| requirement | faults |", "|---|---|"]
        lines += [f"| {req_id} | {', '.join(f'`{f}`' for f in faults) or '-'} |" for req_id, faults in proofs.items()]
        checks = self.check_proofs
        lines += ["", "## Named checks and the faults that made them fail", "",
                  f"{len(checks) - len(self.unproven_checks)} of {len(checks)} named checks that passed in some run "
                  "failed in at least one fault run (a check with none is shadowed by another that judges the same "
                  "answer first, or is not shown able to fail).", "",
                  "| check | faults |", "|---|---|"]
        lines += [f"| `{name}` | {_short(faults, 6) or '-'} |" for name, faults in checks.items()]
        lines += ["", "## Clean runs", "", "| run | verdict | tests | skipped | wall s | failures |",
                  "|---|---|---|---|---|---|"]
        for run in self.clean_runs:
            failures = "; ".join(f"{x.test}: {x.requirement or x.message[:80]}" for x in run.failures) or run.note
            lines.append(f"| {run.name} | {run.verdict} | {run.tests} | {run.skipped} | {run.wall:.1f} | {failures} |")
        return "\n".join(lines) + "\n"


def _short(tests: Sequence[str], keep: int = 3) -> str:
    shown = ", ".join(f"`{t}`" for t in tests[:keep])
    return shown + (f", +{len(tests) - keep} more" if len(tests) > keep else "")


def run_matrix(options: MatrixOptions, faults: Sequence[Fault] | None = None,
               progress: Callable[[RunResult, int, int], None] | None = None) -> Matrix:
    """Run every planned run (``options.jobs`` at a time) and collect the matrix."""
    all_faults = list(faults) if faults is not None else list_faults(options.python)
    if options.faults:
        known = {f.name for f in all_faults}
        unknown = [name for name in options.faults if name not in known]
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r} (see python -m kratos_reference --list-faults)")
        all_faults = [f for f in all_faults if f.name in options.faults]
    plan = plan_runs(all_faults, options.clean_runs)
    options.report_dir.mkdir(parents=True, exist_ok=True)
    jobs = max(1, options.effective_jobs)
    origin = time.monotonic()
    results: list[RunResult] = []
    lock = threading.Lock()
    browser_lock = threading.Lock()  # one Chromium at a time: the walks are the runs most sensitive to load

    def one(spec: RunSpec) -> RunResult:
        with browser_lock if spec.fault in BROWSER_FAULTS else contextlib.nullcontext():
            result = execute(spec, options, origin, launcher)
        with lock:
            results.append(result)
            if progress is not None:
                progress(result, len(results), len(plan))
        return result

    launcher: Any = SpawnLauncher()
    if options.fork:
        try:
            launcher = ForkLauncher(options.python, child_environment(options))
        except (RuntimeError, OSError):
            launcher = SpawnLauncher()
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, plan))
    finally:
        launcher.close()
    order = {spec.name: i for i, spec in enumerate(plan)}
    results.sort(key=lambda r: order[r.name])
    suites = [s for s in SUITES if options.fuzz or s != "suites/fuzz"]
    return Matrix(all_faults, results, jobs, time.monotonic() - origin,
                  {"suites": suites, "fuzz_budget": options.fuzz_budget if options.fuzz else None,
                   "fuzz_seed": options.fuzz_seed if options.fuzz else None,
                   "fuzz_every_run": options.fuzz_every_run if options.fuzz else None,
                   "security_load": options.security_load,
                   "clean_runs_per_method": options.clean_runs,
                   "pytest_args": list(options.pytest_args), "launcher": launcher.name},
                  complete=not options.faults)


def write_reports(matrix: Matrix, report_dir: Path) -> tuple[Path, Path]:
    """Write ``matrix.json`` and ``matrix.md`` into ``report_dir``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = report_dir / "matrix.json", report_dir / "matrix.md"
    json_path.write_text(json.dumps(matrix.to_json(), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(matrix.to_markdown(), encoding="utf-8")
    return json_path, md_path


def print_matrix(matrix: Matrix, out: Any = sys.stdout) -> None:
    """The matrix in the terminal: one line per fault, then the clean runs and the score."""
    runs = matrix.fault_runs
    width = max((len(f.name) for f in matrix.faults), default=10)
    for f in matrix.faults:
        run = runs.get(f.name)
        if run is None:
            continue
        reqs = ", ".join(f"{req}x{len(tests)}" for req, tests in sorted(run.requirements.items()))
        if run.verdict == "not-judged":
            reqs = run.note
        elif run.verdict == "caught-unattributed":
            reqs = "failing tests name no requirement: " + ", ".join(x.test for x in run.failures[:3])
        print(f"{f.name:<{width}}  {','.join(f.methods):<9} {run.verdict:<19} {reqs}", file=out)
    for run in matrix.clean_runs:
        extra = "; ".join(f"{x.test}: {x.requirement or x.message[:60]}" for x in run.failures[:3]) or run.note
        print(f"{run.name:<{width}}  {run.method:<9} {run.verdict:<19} {run.tests} tests, {run.skipped} skipped"
              + (f"  {extra}" if extra else ""), file=out)
    unproven = matrix.unproven
    print(f"requirements made to fail by a fault: {len(matrix.proofs) - len(unproven)}/{len(matrix.proofs)}"
          + (f"; by none: {', '.join(unproven)}" if unproven else ""), file=out)
    unproven_checks = matrix.unproven_checks
    print(f"named checks made to fail by a fault: {len(matrix.check_proofs) - len(unproven_checks)}/"
          f"{len(matrix.check_proofs)}" + (f"; by none: {', '.join(unproven_checks)}" if unproven_checks else ""),
          file=out)
    if matrix.gaps:
        print(f"GAPS: requirements whose checks no fault made fail (not by design): {', '.join(matrix.gaps)}",
              file=out)
    for name, tests in matrix.unattributed.items():
        print(f"UNATTRIBUTED: the run of {name} failed tests that name no requirement: {_short(tests)}", file=out)
    print(f"mutation score: {len(matrix.caught)}/{len(matrix.faults)} ({matrix.score:.1%}); clean runs "
          f"{'all passed' if matrix.clean_ok else 'NOT all passed'} ({len(matrix.clean_runs)}); "
          f"{matrix.wall:.0f}s with {matrix.jobs} parallel runs "
          f"({'within' if matrix.wall <= TIME_BUDGET_SECONDS else 'OVER'} its {TIME_BUDGET_SECONDS} s budget)",
          file=out)
