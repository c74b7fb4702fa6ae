"""What the mutation matrix runs: the faults (asked from the reference target's command line, never imported),
the matrix's options, and the pytest command and environment of each run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kratos_conformance.run.bundle import data_root

ROOT = data_root()
METHODS: tuple[str, ...] = ("code", "link")
SUITES: tuple[str, ...] = ("suites/scenarios", "suites/security", "suites/fuzz")
#: the fault runs that add ``suites/browser`` (Chromium): one fault per browser requirement, so the walks are proven
#: to fail too without a browser in every run
BROWSER_FAULTS: frozenset[str] = frozenset({"ui_page_mirrors_csrf_cookie", "continue_href_relative",
                                            "link_continue_href_relative", "expired_replacement_without_form",
                                            "wrong_code_400", "resend_keeps_old_code", "ui_page_resets_csrf_cookie",
                                            "ui_page_exposes_csrf_token", "ui_page_drops_csrf_token",
                                            "ui_page_restarts_on_error", "ui_page_sends_errors_home",
                                            "ui_page_hides_form_on_error", "expired_flow_renewed"})
#: the fault runs that keep ``suites/fuzz`` (the clean runs always fuzz, so a false failure of the fuzzer still fails
#: the matrix): the faults that prove the fuzzer's own requirements (VER-FUZZ-STATEFUL, VER-FUZZ-POSITIVE-ACCEPTED),
#: the one rule only fuzzed answers showed failing (VER-GET-CACHE-CONTROL), and one fault for each of the fuzzer's
#: response checks (content type, media type, leak, CSRF cookie, redirect target, message ids), so each is seen to
#: fail. Measured in CI on 2026-12-03 with the fuzzer in every run: no fault was caught by the fuzzer alone, and it
#: took two fifths of a run (637 s for the matrix, over its budget). A fault only the fuzzer catches shows up as
#: missed, and belongs here; ``--fuzz-every-run`` fuzzes in every run.
FUZZ_FAULTS: frozenset[str] = frozenset({"unknown_flow_422", "no_cache_control", "flow_missing_state",
                                         "flow_json_text_plain", "error_leaks_debug", "csrf_cookie_samesite_none",
                                         "error_redirect_foreign", "email_label_renumbered",
                                         "transient_payload_500"})
#: the wall time the whole matrix may take on the project's 2-core machine (CI runs it after ``make test``);
#: printed beside the measured time, never asserted (a benchmark figure, not a test)
TIME_BUDGET_SECONDS = 600
#: the requirements no fault is expected to make fail, and why (the matrix lists any other it could not prove)
UNPROVEN_BY_DESIGN: dict[str, str] = {
    "VER-FUZZ-NEGATIVE-REJECTED": "a fuzzing verdict: a fault that accepts a request the contract forbids is caught "
                                  "by the scenario of that request first",
}
DEFAULT_REPORT_DIR = Path("reports/mutation")
DEFAULT_FUZZ_BUDGET = "smoke"
DEFAULT_SECURITY_LOAD = "low"
#: a fixed fuzzing seed: the matrix must not depend on chance (override with --fuzz-seed).
DEFAULT_FUZZ_SEED = 20260601
DEFAULT_TIMEOUT = 300.0
EXIT_OK, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2



@dataclass(frozen=True)
class Fault:
    """A named defect of the reference target, as ``--list-faults`` describes it."""

    name: str
    methods: tuple[str, ...]
    description: str

    @property
    def run_method(self) -> str:
        """The method the matrix runs it with: ``code`` when the fault applies to it, else its only method."""
        return "code" if "code" in self.methods else self.methods[0]


def parse_fault_list(text: str) -> list[Fault]:
    """Parse ``name<TAB>methods<TAB>description`` lines (methods: ``code``, ``link`` or ``code,link``)."""
    faults: list[Fault] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"--list-faults line {number}: expected name<TAB>methods<TAB>description, got {line!r}")
        name, methods, description = (part.strip() for part in parts)
        chosen = tuple(m.strip() for m in methods.split(",") if m.strip())
        if not name or not chosen or not set(chosen) <= set(METHODS):
            raise ValueError(f"--list-faults line {number}: bad name or methods in {line!r}")
        faults.append(Fault(name, chosen, description))
    return faults


def list_faults(python: str = sys.executable) -> list[Fault]:
    """The reference target's faults, asked from its command line (never imported)."""
    done = subprocess.run([python, "-m", "kratos_reference", "--list-faults"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"--list-faults exited {done.returncode}: {done.stderr.strip()[:300]}")
    return parse_fault_list(done.stdout)



@dataclass(frozen=True)
class RunSpec:
    """What to run: a method, a fault (None: the clean target), and a name for the run's directory."""

    name: str
    method: str
    fault: str | None = None


@dataclass
class MatrixOptions:
    report_dir: Path = DEFAULT_REPORT_DIR
    jobs: int = 0
    clean_runs: int = 3
    faults: tuple[str, ...] = ()
    fuzz: bool = True
    #: fuzz in every fault run, not only in the clean runs and those of FUZZ_FAULTS
    fuzz_every_run: bool = False
    fuzz_budget: str = DEFAULT_FUZZ_BUDGET
    fuzz_seed: int = DEFAULT_FUZZ_SEED
    #: how hard the security suite's races and timing press the target: low catches every named fault (a fault
    #: opens a 0.1 s race window or adds 150 ms) at a third of the default's requests
    security_load: str = DEFAULT_SECURITY_LOAD
    timeout: float = DEFAULT_TIMEOUT
    retries: int = 1
    pytest_args: tuple[str, ...] = ()
    python: str = sys.executable
    quiet: bool = False
    #: start runs from a fork server (POSIX; falls back to plain processes if it cannot start)
    fork: bool = hasattr(os, "fork")

    @property
    def effective_jobs(self) -> int:
        return self.jobs if self.jobs > 0 else default_jobs()


def default_jobs() -> int:
    """Two runs per CPU: a run spends about half its wall time waiting (flows and codes expiring, mail arriving,
    fuzzing time limits), so two per CPU keep the CPUs busy (measured: benchmarks/bench_mutation.py)."""
    return 2 * (os.cpu_count() or 1)


def plan_runs(faults: Sequence[Fault], clean_runs: int) -> list[RunSpec]:
    """The runs in the order they start: the clean runs spread evenly among the fault runs."""
    fault_specs = [RunSpec(f"fault-{f.name}", f.run_method, f.name) for f in faults]
    clean_specs = [RunSpec(f"clean-{method}-{i}", method) for i in range(1, clean_runs + 1) for method in METHODS]
    if not clean_specs:
        return fault_specs
    plan: list[RunSpec] = []
    step = max(1, len(fault_specs) // len(clean_specs))
    queue = list(fault_specs)
    for spec in clean_specs:
        plan.append(spec)
        plan.extend(queue[:step])
        del queue[:step]
    return plan + queue


def pytest_command(spec: RunSpec, run_dir: Path, options: MatrixOptions) -> list[str]:
    """The pytest command line of one run (from the repository root)."""
    fuzz = fuzzes(spec, options)
    suites = [s for s in SUITES if fuzz or s != "suites/fuzz"]
    if spec.fault in BROWSER_FAULTS:
        suites.append("suites/browser")
    cmd = [options.python, "-m", "pytest", *suites, "-q", "-p", "no:cacheprovider",
           f"--reference-method={spec.method}", f"--report-dir={run_dir}", f"--junitxml={run_dir / 'junit.xml'}",
           "-o", "junit_logging=no", "-o", "junit_suite_name=conformance",
           # a forked run finds hypothesis and schemathesis imported already: nothing to rewrite, nothing to warn
           "-W", "ignore::pytest.PytestAssertRewriteWarning",
           # the requirement failures are rendered by the plugin either way; pytest's own long tracebacks (source
           # parsed per frame, ~0.1 CPU-s a failing test) would be thrown away: a fault failing 170 tests costs 10
           # CPU-s with them, 3 without
           "--tb=line", f"--security-load={options.security_load}",
           # a fault may be one a Kratos profile tolerates as the release's own defect (a single-use race): the
           # matrix proves each check can fail, so nothing is tolerated, and a SHOULD not met fails like a MUST
           "--known-defects=fail", "--should-failures=fail"]
    if spec.fault:
        cmd.append(f"--reference-faults={spec.fault}")
    if fuzz:
        cmd += [f"--fuzz-budget={options.fuzz_budget}", f"--fuzz-seed={options.fuzz_seed}"]
    return cmd + list(options.pytest_args)


def fuzzes(spec: RunSpec, options: MatrixOptions) -> bool:
    """Whether the run includes ``suites/fuzz``: every clean run, and the runs of FUZZ_FAULTS (of every fault with
    ``fuzz_every_run``), unless the matrix runs without fuzzing."""
    return options.fuzz and (spec.fault is None or options.fuzz_every_run or spec.fault in FUZZ_FAULTS)


def child_environment(options: MatrixOptions) -> dict[str, str]:
    """The environment of a run: no inherited KRATOS_CONFORMANCE_* setting may aim it elsewhere, and no PYTEST_*
    variable (PYTEST_ADDOPTS, an outer xdist worker's) may change how it runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRATOS_CONFORMANCE_", "PYTEST_"))}
    env["PYTHONUNBUFFERED"] = "1"
    if options.fuzz:
        env["KRATOS_CONFORMANCE_FUZZ_BUDGET"] = options.fuzz_budget
        env["KRATOS_CONFORMANCE_FUZZ_SEED"] = str(options.fuzz_seed)
    return env
