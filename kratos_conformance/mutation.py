"""The mutation matrix: does the suite catch every named defect of the reference target?

``python -m kratos_conformance.mutation`` runs the conformance suite (``suites/scenarios``, ``suites/security`` and
``suites/fuzz`` at the smoke fuzzing budget; ``suites/browser`` only in the runs of the faults in ``BROWSER_FAULTS``,
one Chromium at a time: it needs Chromium and adds nothing to the other faults) against:

- the clean reference target, ``--clean-runs`` times (default 3) per method (code and link): every one of these
  runs must pass with zero failures, which also shows the suite is not flaky;
- the reference target with each named fault switched on, once, with the method the fault applies to (a fault
  that applies to both methods runs with ``code``).

The faults are learned from ``python -m kratos_reference --list-faults`` (``name<TAB>methods<TAB>
description``); like the suite, this module never imports the reference target. Each run is a separate pytest
process (the plugin starts its own reference target with ``--reference-faults``) writing JUnit XML; a failed
test's message starts with ``[VER-ID] MUST|SHOULD: ...``, so the XML says which requirements caught the fault.
By default the runs are forked from a fork server that imported pytest, hypothesis and schemathesis once (about a
fifth of a run's CPU time is otherwise spent importing them and tearing the interpreter down); ``--spawn`` starts
each run as a fresh ``python -m pytest`` instead. Either way every run is its own process and session.

Verdicts of a fault run:

- ``caught``: at least one test failed with a requirement id;
- ``caught-unattributed``: tests failed, but none named a requirement (a scenario crashed instead of judging);
- ``missed``: the run passed: nothing noticed the defect (a gap in the suite);
- ``not-judged``: the run ended without a verdict (exit code 2: cannot judge, a timeout, a crash).

The mutation score is caught / faults. The matrix also lists, per catalog requirement, the faults that made it
fail: every requirement's check must be shown to fail on some fault, but for those in ``UNPROVEN_BY_DESIGN`` (with
the reason). The matrix is printed and written to ``<report-dir>/matrix.json`` and
``matrix.md`` (default ``reports/mutation/``); every run keeps its JUnit XML, pytest output and reports under
``<report-dir>/runs/<run>/``. Exit code: 0 when every fault is caught and every clean run passed, 1 otherwise,
2 when the matrix could not run at all (bad option, the fault list unreadable).

Runs go in parallel (``--jobs``; default: two per CPU, because a run spends about half its time waiting for flows
and codes to expire and for mail). A run that ends with exit code 2 is retried once: two runs starting at the same
moment can race for the same free port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .bundle import data_root

ROOT = data_root()
METHODS: tuple[str, ...] = ("code", "link")
SUITES: tuple[str, ...] = ("suites/scenarios", "suites/security", "suites/fuzz")
#: the fault runs that add ``suites/browser`` (Chromium): one fault per browser requirement, so the walks are proven
#: to fail too without a browser in every run
BROWSER_FAULTS: frozenset[str] = frozenset({"ui_page_mirrors_csrf_cookie", "continue_href_relative",
                                            "link_continue_href_relative", "expired_replacement_without_form"})
#: the wall time the whole matrix may take on the project's 2-core machine (it runs in ``make test``, which must stay
#: well under CI's 15 minutes); printed beside the measured time, never asserted (a benchmark figure, not a test)
TIME_BUDGET_SECONDS = 600
#: the requirements no fault is expected to make fail, and why (the matrix lists any other it could not prove)
UNPROVEN_BY_DESIGN: dict[str, str] = {
    "VER-FUZZ-POSITIVE-ACCEPTED": "a fuzzing verdict: a fault that refuses valid requests is caught by the scenario "
                                  "of that request first",
    "VER-FUZZ-NEGATIVE-REJECTED": "a fuzzing verdict: a fault that accepts a request the contract forbids is caught "
                                  "by the scenario of that request first",
    "VER-INJECT-CRLF": "the reference target's HTTP server refuses to write CR or LF into a header, so a fault "
                       "cannot put them there (tests/test_hostile_server.py shows the check failing on a proxy that "
                       "echoes return_to into a header)",
}
DEFAULT_REPORT_DIR = Path("reports/mutation")
DEFAULT_FUZZ_BUDGET = "smoke"
DEFAULT_SECURITY_LOAD = "low"
#: a fixed fuzzing seed: the matrix must not depend on chance (override with --fuzz-seed).
DEFAULT_FUZZ_SEED = 20260601
DEFAULT_TIMEOUT = 300.0
EXIT_OK, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2

_REQUIREMENT = re.compile(r"\[(VER-[A-Z0-9]+(?:-[A-Z0-9]+)*)\] (?:MUST|SHOULD)\b")


# ============================================================================================= the faults

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


# ================================================================================================= runs

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

    @property
    def requirements(self) -> dict[str, list[str]]:
        """Requirement id -> the tests that failed naming it."""
        found: dict[str, list[str]] = {}
        for failure in self.failures:
            if failure.requirement:
                found.setdefault(failure.requirement, []).append(failure.test)
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
    suites = [s for s in SUITES if options.fuzz or s != "suites/fuzz"]
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
           # matrix proves each check can fail, so nothing is tolerated
           "--known-defects=fail"]
    if spec.fault:
        cmd.append(f"--reference-faults={spec.fault}")
    if options.fuzz:
        cmd += [f"--fuzz-budget={options.fuzz_budget}", f"--fuzz-seed={options.fuzz_seed}"]
    return cmd + list(options.pytest_args)


def child_environment(options: MatrixOptions) -> dict[str, str]:
    """The environment of a run: no inherited KRATOS_CONFORMANCE_* setting may aim it elsewhere, and no PYTEST_*
    variable (PYTEST_ADDOPTS, an outer xdist worker's) may change how it runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRATOS_CONFORMANCE_", "PYTEST_"))}
    env["PYTHONUNBUFFERED"] = "1"
    if options.fuzz:
        env["KRATOS_CONFORMANCE_FUZZ_BUDGET"] = options.fuzz_budget
        env["KRATOS_CONFORMANCE_FUZZ_SEED"] = str(options.fuzz_seed)
    return env


class SpawnLauncher:
    """Starts every run as a fresh ``python -m pytest`` process (the plain way; also the fallback)."""

    name = "spawn"

    def run(self, cmd: list[str], log_path: Path, env: dict[str, str],
            timeout: float) -> tuple[int | None, str, float | None]:
        """Run ``cmd`` in its own process group, output in ``log_path``: (exit code or None, note, CPU seconds)."""
        with log_path.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        note = ""
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                code = proc.returncode if proc.returncode >= 0 and not note else None
                return code, note, usage.ru_utime + usage.ru_stime
            if not note and time.monotonic() > deadline:
                note = f"timed out after {timeout:g}s"
                _stop_group(proc.pid)
            time.sleep(0.05)

    def close(self) -> None:
        pass


def _stop_group(pgid: int) -> None:
    """SIGTERM the run's own process group (pytest and the reference target it started), SIGKILL after 10 s."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return

    def kill_later() -> None:
        time.sleep(10)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    threading.Thread(target=kill_later, daemon=True).start()


#: third-party modules a fork server imports once for every run (the suite's own modules are left to each run, so
#: pytest can rewrite their asserts).
PRELOAD: tuple[str, ...] = ("pytest", "_pytest.junitxml", "hypothesis", "hypothesis.strategies", "schemathesis",
                            "schemathesis.pytest.plugin", "_hypothesis_pytestplugin", "allure_pytest.plugin",
                            "xdist.plugin", "httpx", "jsonschema", "jsonschema_rs", "yaml", "aiosmtpd.controller")


class ForkLauncher:
    """Runs pytest in processes forked from a server that has imported the heavy libraries once.

    A run then starts in a fraction of a second instead of paying ~1.5 CPU-seconds of imports, and ends with
    ``os._exit`` instead of tearing the interpreter down. Each run is still its own process (a fresh copy of the
    server, which never runs a test), in its own session: nothing carries over from one run to the next. The server
    is ``python -m kratos_conformance.mutation --fork-server``, speaking JSON lines on stdin/stdout.
    """

    name = "fork"

    def __init__(self, python: str, env: dict[str, str], ready_timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen([python, "-m", "kratos_conformance.mutation", "--fork-server"], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._lock = threading.Lock()
        self._replies: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition(self._lock)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._counter = 0
        with self._changed:
            self._changed.wait_for(lambda: "ready" in self._replies or "eof" in self._replies, timeout=ready_timeout)
            ready = "ready" in self._replies
        if not ready:
            self.close()
            raise RuntimeError("the fork server did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self._changed:
                self._replies.setdefault(str(message.get("id")), {}).update(message)
                self._changed.notify_all()
        with self._changed:
            self._replies.setdefault("eof", {})
            self._changed.notify_all()

    def run(self, cmd: list[str], log_path: Path, env: dict[str, str],
            timeout: float) -> tuple[int | None, str, float | None]:
        assert cmd[1:3] == ["-m", "pytest"] and self.proc.stdin is not None
        with self._changed:
            self._counter += 1
            run_id = str(self._counter)
            request = {"id": run_id, "args": cmd[3:], "env": env, "log": str(log_path), "cwd": str(ROOT)}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            ended = self._changed.wait_for(lambda: "exit" in self._replies.get(run_id, {}) or "eof" in self._replies,
                                           timeout=timeout)
            reply = self._replies.get(run_id, {})
        note = ""
        if not ended:
            note = f"timed out after {timeout:g}s"
            if reply.get("pid"):
                _stop_group(int(reply["pid"]))
            with self._changed:
                self._changed.wait_for(lambda: "exit" in self._replies.get(run_id, {}) or "eof" in self._replies,
                                       timeout=30)
                reply = self._replies.get(run_id, {})
        if "exit" not in reply:
            return None, note or "the fork server went away", None
        code = reply["exit"]
        return (code if isinstance(code, int) and code >= 0 and not note else None), note, reply.get("cpu")

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fork_server() -> int:
    """The fork server's loop (``--fork-server``): import the heavy libraries, then fork one child per request.

    Requests (stdin, one JSON object a line): ``{"id", "args", "env", "log", "cwd"}``. Replies (stdout):
    ``{"id": "ready"}`` once, ``{"id", "pid"}`` when a run starts, ``{"id", "exit", "cpu"}`` when it ends (exit is
    the negative signal number if it was killed). EOF on stdin: wait for the running children, then exit.
    """
    import importlib
    import select

    reply_fd = os.dup(1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the replies
    replies = os.fdopen(reply_fd, "w", buffering=1)
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a missing optional plugin only costs its import later
            pass
    running: dict[int, str] = {}
    replies.write(json.dumps({"id": "ready"}) + "\n")
    buffered, open_input = b"", True
    while open_input or running:
        if open_input:
            readable, _, _ = select.select([0], [], [], 0.05)
            if readable:
                chunk = os.read(0, 65536)
                open_input = bool(chunk)
                buffered += chunk
                while b"\n" in buffered:
                    line, buffered = buffered.split(b"\n", 1)
                    if line.strip():
                        request = json.loads(line)
                        pid = _fork_run(request, reply_fd)
                        running[pid] = request["id"]
                        replies.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
        else:
            time.sleep(0.05)
        while running:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
            if pid in running:
                replies.write(json.dumps({"id": running.pop(pid), "exit": os.waitstatus_to_exitcode(status),
                                          "cpu": round(usage.ru_utime + usage.ru_stime, 3)}) + "\n")
    return 0


def _fork_run(request: dict[str, Any], reply_fd: int) -> int:
    """Fork one run: the child becomes a session leader, takes the run's environment, cwd and log, runs pytest."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        os.setsid()
        os.close(reply_fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        import random

        import pytest

        random.seed()
        sys.argv = ["pytest", *request["args"]]
        code = int(pytest.main(list(request["args"])))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report anything, never return into the server's loop
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def execute(spec: RunSpec, options: MatrixOptions, origin: float, launcher: Any = None) -> RunResult:
    """Run the suite once for ``spec`` (retrying a run that could not judge) and read its JUnit XML."""
    launcher = launcher or SpawnLauncher()
    run_dir = (options.report_dir / "runs" / spec.name).resolve()
    attempts, result = 0, None
    while attempts <= options.retries:
        attempts += 1
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("junit.xml", "pytest.log"):
            (run_dir / stale).unlink(missing_ok=True)
        started = time.monotonic()
        code, note, cpu = launcher.run(pytest_command(spec, run_dir, options), run_dir / "pytest.log",
                                       child_environment(options), options.timeout)
        wall = time.monotonic() - started
        result = RunResult(spec.name, spec.method, spec.fault, code, round(wall, 3), round(started - origin, 3),
                           attempts, cpu=round(cpu, 3) if cpu is not None else None, note=note)
        read_junit(run_dir / "junit.xml", result)
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


# =============================================================================================== matrix

@dataclass
class Matrix:
    """Everything one matrix run found."""

    faults: list[Fault]
    runs: list[RunResult]
    jobs: int
    wall: float
    options: dict[str, Any]

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
        from .catalog import load_catalog

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
    def clean_ok(self) -> bool:
        return all(r.verdict == "passed" for r in self.clean_runs)  # vacuously true with --clean-runs 0

    @property
    def ok(self) -> bool:
        return self.clean_ok and len(self.caught) == len(self.faults)

    def to_json(self) -> dict[str, Any]:
        runs = self.fault_runs
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
                "unattributed": [x.test for x in runs[f.name].failures if not x.requirement] if f.name in runs else [],
                "run": runs[f.name].name if f.name in runs else None,
            } for f in self.faults],
            "clean_runs": [{"name": r.name, "method": r.method, "verdict": r.verdict, "tests": r.tests,
                            "skipped": r.skipped, "failures": [asdict(x) for x in r.failures], "note": r.note}
                           for r in self.clean_runs],
            "requirements_proven": {req_id: faults for req_id, faults in self.proofs.items() if faults},
            "requirements_unproven": self.unproven,
            "runs": [{**{k: v for k, v in asdict(r).items() if k != "failures"}, "verdict": r.verdict,
                      "failures": [asdict(x) for x in r.failures]} for r in self.runs],
        }

    def to_markdown(self) -> str:
        runs = self.fault_runs
        lines = ["# Mutation matrix", "",
                 f"Mutation score: **{len(self.caught)}/{len(self.faults)}** ({self.score:.1%}) of the reference "
                 f"target's named faults caught; clean runs: "
                 + ("all passed" if self.clean_ok else "**NOT all passed**")
                 + f" ({len(self.clean_runs)} runs). Wall time {self.wall:.0f} s with {self.jobs} parallel runs.", "",
                 f"Suites: {', '.join(self.options.get('suites', []))}; fuzz budget {self.options.get('fuzz_budget')}"
                 f", seed {self.options.get('fuzz_seed')}; security load {self.options.get('security_load')}; "
                 f"suites/browser only for {', '.join(sorted(BROWSER_FAULTS))}.", "",
                 "| fault | methods | run with | verdict | caught by (requirement: failing tests) |",
                 "|---|---|---|---|---|"]
        for f in self.faults:
            run = runs.get(f.name)
            if run is None:
                lines.append(f"| `{f.name}` | {','.join(f.methods)} | {f.run_method} | not run | |")
                continue
            caught = "; ".join(f"{req} ({len(tests)}: {_short(tests)})"
                               for req, tests in sorted(run.requirements.items()))
            unattributed = [x.test for x in run.failures if not x.requirement]
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
                   "security_load": options.security_load,
                   "clean_runs_per_method": options.clean_runs,
                   "pytest_args": list(options.pytest_args), "launcher": launcher.name})


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
    print(f"mutation score: {len(matrix.caught)}/{len(matrix.faults)} ({matrix.score:.1%}); clean runs "
          f"{'all passed' if matrix.clean_ok else 'NOT all passed'} ({len(matrix.clean_runs)}); "
          f"{matrix.wall:.0f}s with {matrix.jobs} parallel runs "
          f"({'within' if matrix.wall <= TIME_BUDGET_SECONDS else 'OVER'} its {TIME_BUDGET_SECONDS} s budget)",
          file=out)


# ================================================================================================= main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kratos_conformance.mutation",
                                     description="Run the suite against the clean reference target and against each "
                                                 "of its named faults; print which requirements caught each fault.")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR,
                        help=f"where matrix.json, matrix.md and the runs go (default {DEFAULT_REPORT_DIR})")
    parser.add_argument("--jobs", "-j", type=int, default=0,
                        help=f"runs at a time (default: 2 x CPUs = {default_jobs()})")
    parser.add_argument("--clean-runs", type=int, default=3, help="clean runs per method (default 3)")
    parser.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    parser.add_argument("--no-fuzz", dest="fuzz", action="store_false", help="scenarios only")
    parser.add_argument("--fuzz-budget", default=DEFAULT_FUZZ_BUDGET, help="default smoke")
    parser.add_argument("--fuzz-seed", type=int, default=DEFAULT_FUZZ_SEED, help=f"default {DEFAULT_FUZZ_SEED}")
    parser.add_argument("--security-load", default=DEFAULT_SECURITY_LOAD,
                        help=f"load of the security suite's races and timing (default {DEFAULT_SECURITY_LOAD})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per run (default 300)")
    parser.add_argument("--pytest-arg", dest="pytest_args", action="append", default=[],
                        help="an extra argument for every pytest run (repeatable)")
    parser.add_argument("--spawn", dest="fork", action="store_false",
                        help="start every run as a fresh process instead of forking it from a fork server")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    parser.add_argument("--fork-server", action="store_true", help=argparse.SUPPRESS)
    return parser


def options_from_args(args: argparse.Namespace) -> MatrixOptions:
    return MatrixOptions(report_dir=args.report_dir, jobs=args.jobs, clean_runs=args.clean_runs,
                         faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()), fuzz=args.fuzz,
                         fuzz_budget=args.fuzz_budget, fuzz_seed=args.fuzz_seed, security_load=args.security_load,
                         timeout=args.timeout,
                         pytest_args=tuple(args.pytest_args), quiet=args.quiet,
                         fork=args.fork and hasattr(os, "fork"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the matrix; 0 when every fault is caught and the clean runs pass, 1 otherwise, 2 if it cannot run."""
    args = build_parser().parse_args(argv)
    if args.fork_server:
        return fork_server()
    options = options_from_args(args)
    if options.clean_runs < 0 or options.timeout <= 0:
        print("mutation: --clean-runs must be >= 0 and --timeout > 0", file=sys.stderr)
        return EXIT_CANNOT_RUN

    def progress(result: RunResult, done: int, total: int) -> None:
        if not options.quiet:
            label = result.verdict + (f" ({result.note})" if result.note and result.verdict == "not-judged" else "")
            print(f"[{done:>2}/{total}] {result.name:<40} {result.method:<4} {result.wall:6.1f}s  {label}", flush=True)

    try:
        matrix = run_matrix(options, progress=progress)
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    json_path, md_path = write_reports(matrix, options.report_dir)
    print_matrix(matrix)
    print(f"written: {json_path} {md_path}")
    return EXIT_OK if matrix.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
