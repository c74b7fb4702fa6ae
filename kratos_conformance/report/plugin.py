"""The report plugin: turns a suite run into the reports and the gate's exit code.

Load it next to :mod:`kratos_conformance.run.pytest_plugin` (``-p kratos_conformance.report.plugin``, or the
repository's ``conftest.py``). It stays inert unless the session ran tests that name requirements
(``@pytest.mark.requirement``), so the project's own tests are not affected.

In each test's process (an xdist worker, or the only one):

- Allure: every exchange becomes a step with its redacted transcript attached, every check a step; at the end of
  the test, labels (endpoint, transition, client kind) and requirement links (:mod:`.report.allure_steps`); the
  Allure files are written by a background thread (:mod:`.report.allure_writer`);
- a failure whose failing checks are ALL covered by the expected-failures file is reported as ``xfailed``
  (strict=False semantics), so JUnit, Allure and pytest's own summary agree with the gate;
- the test's log is condensed into a :class:`~.report.results.TestRecord` (plain data) and attached to the teardown
  report, so it reaches the xdist controller (``pytest_runtest_logreport``).

On the controller (or the only process), at the end of the session: requirement results, the verdict, the coverage
matrix, ``conformance-report.json`` and ``summary.html`` in the report directory, and the session's exit status is
set to the verdict: 0 conformant, 1 not conformant, 2 cannot judge.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest.register_assert_rewrite("kratos_conformance.run.pytest_plugin")  # imported here first when loaded with -p

from kratos_conformance.errors import EXIT_CANNOT_JUDGE, CannotJudge  # noqa: E402
from kratos_conformance.report import debug_secrets  # noqa: E402
from kratos_conformance.report.conformance_json import build_report, utc_now, write_report  # noqa: E402
from kratos_conformance.report.coverage import coverage_matrix  # noqa: E402
from kratos_conformance.report.expected_failures import (  # noqa: E402
    EXPECTED_FAILURES,
    ExpectedFailures,
    RunContext,
    expected_failures_path,
    load_expected_failures,
)
from kratos_conformance.report.html import write_summary  # noqa: E402
from kratos_conformance.report.results import (  # noqa: E402
    FAILED,
    Phase,
    TestRecord,
    Verdict,
    decide_verdict,
    derive_results,
    outcome_from_phases,
    record_test,
    unattributed_failures,
    verdict_lines,
)
from kratos_conformance.rules import checks  # noqa: E402
from kratos_conformance.rules.catalog import load_catalog  # noqa: E402
from kratos_conformance.rules.profiles import DEFAULT_PROFILE  # noqa: E402
from kratos_conformance.run.bundle import suites_dir  # noqa: E402
from kratos_conformance.run.options import RunOptions  # noqa: E402
from kratos_conformance.run.pytest_plugin import OPTIONS_KEY, TEST_LOG_KEY, TestLog  # noqa: E402

#: the attribute of a teardown report that carries the test's record (survives pytest-xdist serialisation).
RECORD_ATTR = "kratos_conformance_record"
STATE_KEY = pytest.StashKey["ReportState"]()
_FAILED_KEY = pytest.StashKey[bool]()
_MESSAGE_LIMIT = 2000
_ABORTED = {2: "the run was interrupted", 3: "pytest hit an internal error", 4: "pytest was used wrongly",
            5: "no tests were collected"}


@dataclass
class ReportState:
    """The session's report state: the expected failures, what the tests saw, and (at the end) the verdict."""

    options: RunOptions
    expected_failures: ExpectedFailures
    secrets_file: Path | None
    worker: bool
    allure: bool
    started_at: str = ""
    started: float = 0.0
    context: RunContext | None = None
    target: dict[str, Any] | None = None
    phases: dict[str, list[Phase]] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    records: dict[str, TestRecord] = field(default_factory=dict)
    aborted: str | None = None
    verdict: Verdict | None = None
    written: list[Path] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)
    unexpected_ids: list[str] = field(default_factory=list)
    tolerated_ids: list[str] = field(default_factory=list)
    profile: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def _state(config: pytest.Config) -> ReportState | None:
    return config.stash.get(STATE_KEY, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kratos-conformance", "Kratos verification-flow conformance")
    group.addoption(EXPECTED_FAILURES.flag, dest=EXPECTED_FAILURES.dest, default=None,
                    help=f"{EXPECTED_FAILURES.help} (env {EXPECTED_FAILURES.env})")


def pytest_itemcollected(item: pytest.Item) -> None:
    """The JUnit XML names each test's requirements: one ``<property name="requirement" value="VER-...">`` per id of
    its marker, main one first, so a CI system reading junit.xml can group and link results by requirement (pytest
    writes an item's ``user_properties`` into its ``<testcase>``)."""
    for rid in (rid for mark in item.iter_markers("requirement") for rid in mark.args):
        item.user_properties.append(("requirement", str(rid)))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the expected failures and check the debug secrets file (after the conformance plugin parsed the options)."""
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None:
        return
    try:
        expected_failures = load_expected_failures(expected_failures_path(config.getoption(EXPECTED_FAILURES.dest)))
    except CannotJudge as exc:
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    secrets_file = Path(os.environ[debug_secrets.ENV]) if os.environ.get(debug_secrets.ENV) else None
    if secrets_file is not None:
        problem = debug_secrets.check_location(secrets_file, options.report_dir)
        if problem:
            pytest.exit(f"kratos-conformance: {problem}", returncode=EXIT_CANNOT_JUDGE)
    state = ReportState(
        options=options, expected_failures=expected_failures, secrets_file=secrets_file,
        worker=hasattr(config, "workerinput"),
        allure=bool(getattr(config.option, "allure_report_dir", None)),
    )
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(ReportPlugin(state), "kratos-conformance-report-session")
    if state.allure:
        from kratos_conformance.report.allure_writer import write_allure_in_background

        writer = write_allure_in_background()
        if writer is not None:
            config.add_cleanup(writer.close)


# --- in the test's process ------------------------------------------------------------------------------------

def public_url_without_credentials(url: str | None) -> str | None:
    """``url`` without any user:password part (a report never shows credentials)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


@pytest.fixture(autouse=True)
def _conformance_report(request: pytest.FixtureRequest, _test_log: TestLog) -> Iterator[None]:
    """Per test: learn the target (for the expected failures), stream Allure steps, and (debug only) dump the real
    secrets."""
    state = _state(request.config)
    if state is None or "conformance_run" not in request.fixturenames:
        yield
        return
    run = request.getfixturevalue("conformance_run")
    if (state.context is None or state.context.method is None) and run.target is not None:
        method = request.getfixturevalue("active_method") if "active_method" in request.fixturenames \
            else run.target.reference_method
        opts = state.options
        url = public_url_without_credentials(run.target.public_url)
        state.context = RunContext(url, opts.embedded, run.target.profile.name, method)
        state.target = {"public_url": url, "embedded": opts.embedded, "method": method,
                        "profile": run.target.profile.name,
                        "reference_faults": list(opts.reference_faults) if opts.embedded else [],
                        "admin_api": run.target.has_admin, "settings": dict(run.target.settings)}
    emitter = None
    if state.allure:
        from kratos_conformance.report.allure_steps import StepEmitter

        emitter = StepEmitter()
        run.recorder.add_listener(emitter.on_exchange)
        checks.add_check_listener(emitter.on_check)
    yield
    if emitter is not None:
        checks.remove_check_listener(emitter.on_check)
        run.recorder.remove_listener(emitter.on_exchange)
    if state.secrets_file is not None:
        found = debug_secrets.merge(
            *(debug_secrets.exchange_secrets(ex) for ex in _test_log.exchanges),
            *(debug_secrets.mail_secrets(m) for m in getattr(run.mail, "all_messages", list)()),
            {"credential": {state.options.admin_token}} if state.options.admin_token else {})
        debug_secrets.dump(state.secrets_file, request.node.nodeid, found)


def _expected_xfail(state: ReportState, log: TestLog | None) -> str | None:
    """The xfail reason if every failing check of the test is an expected failure, else None."""
    if log is None or state.context is None:
        return None
    failing = list(dict.fromkeys(c.requirement for c in log.checks if not c.passed))
    entries = [state.expected_failures.lookup(rid, state.context) for rid in failing]
    if not failing or not all(entries):
        return None
    return "expected failure (expected-failures file): " + "; ".join(f"{e.requirement}: {e.reason} ({e.link})"
                                                      for e in entries if e is not None)


def _kind(item: pytest.Item, log: TestLog | None) -> str | None:
    """The client kind the test ran as: its ``kind`` parameter, else the one kind its exchanges used."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "kind" in callspec.params:
        return str(callspec.params["kind"])
    kinds = {ex.client_kind for ex in (log.exchanges if log else [])} - {"admin"}
    return kinds.pop() if len(kinds) == 1 else None


class UnnamedRequirementWarning(pytest.PytestWarning):
    """A test judged a requirement its ``requirement`` marker does not name (the report would credit the
    requirement to a test a newcomer cannot find from its id)."""


#: checks that judge every exchange whatever the test is about (the contract judge), and figures reported
#: without judging (a measurement, a known defect of the release tolerated): they are not the test's own
#: requirements.
CROSS_CUTTING_CHECKS = frozenset({"contract", checks.MEASURE, checks.KNOWN_DEFECT})


@functools.cache
def _suites() -> Path:
    """The suites' folder, resolved once (every test's teardown asks whether the test lies in it)."""
    return suites_dir().resolve()


def unnamed_requirements(markers: Sequence[str], results: Sequence[checks.CheckResult]) -> list[str]:
    """The requirements a test's own checks judged that its markers do not name, sorted (a helper's checks on
    the way to a state, see :func:`checks.precondition`, are not the test's own)."""
    return sorted({r.requirement for r in results
                   if checks.base_check_name(r.name) not in CROSS_CUTTING_CHECKS and not r.precondition}
                  - set(markers))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """ExpectedFailures xfails, and the test's record on its teardown report."""
    report = yield
    state = _state(item.config)
    if state is None:
        return report
    log = item.stash.get(TEST_LOG_KEY, None)
    if report.failed and report.when in ("setup", "call") and call.excinfo is not None \
            and isinstance(call.excinfo.value, checks.RequirementFailure):
        reason = _expected_xfail(state, log)
        if reason is not None:
            report.outcome, report.wasxfail = "skipped", reason
    if report.failed:
        item.stash[_FAILED_KEY] = True
    if report.when == "teardown":
        markers = [rid for mark in item.iter_markers("requirement") for rid in mark.args]
        record = record_test(item.nodeid, _kind(item, log), markers, log.exchanges if log else [],
                             log.checks if log else [], failed=item.stash.get(_FAILED_KEY, False),
                             target=state.target)
        setattr(report, RECORD_ATTR, record.to_dict())
        in_a_suite = markers or item.path.resolve().is_relative_to(_suites())
        unnamed = unnamed_requirements(markers, log.checks if log else []) if in_a_suite else []
        if unnamed:
            item.warn(UnnamedRequirementWarning(
                f"judged {', '.join(unnamed)}, which its requirement marker does not name: add them to the "
                "marker, or judge the requirement the test is about"))
        if state.allure:
            from kratos_conformance.report.allure_steps import label_test, link_patterns

            label_test(record, link_patterns(item.config))
    return report


# --- on the controller ------------------------------------------------------------------------------------------

def _message(report: pytest.TestReport) -> str:
    """A short message for a phase: the skip reason or the failure's crash line (redacted at the source)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2]).removeprefix("Skipped: ")
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = str(crash.message) if crash is not None else str(longrepr or "")
    return "\n".join(text.splitlines()[:3])[:_MESSAGE_LIMIT]


def _seed(config: pytest.Config) -> str | None:
    """The fuzz seed: the one the fuzz plugin resolved (its config stash), else the ``--fuzz-seed`` given."""
    fuzz_plugin = sys.modules.get("kratos_conformance.fuzzing.plugin")  # only if the fuzz suite was loaded
    run = config.stash.get(fuzz_plugin.FUZZ_RUN_KEY, None) if fuzz_plugin is not None else None
    options = config.stash.get(OPTIONS_KEY, None)
    value = run.seed.value if run is not None else options.fuzz_seed if options is not None else None
    return str(value) if value not in (None, "") else None


class ReportPlugin:
    """Session hooks that need the report state (registered by :func:`pytest_configure`)."""

    def __init__(self, state: ReportState) -> None:
        self.state = state

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.state.started_at, self.state.started = utc_now(), time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect phase outcomes and records (from this process or, under xdist, from the workers)."""
        state = self.state
        state.phases.setdefault(report.nodeid, []).append(
            Phase(report.when or "", report.outcome, "" if report.passed else _message(report),
                  getattr(report, "wasxfail", None)))
        state.durations[report.nodeid] = state.durations.get(report.nodeid, 0.0) + float(report.duration or 0.0)
        data = getattr(report, RECORD_ATTR, None)
        if data is not None:
            state.records[report.nodeid] = TestRecord.from_dict(data)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Remember why the run stopped early (``pytest.exit`` by the conformance plugin: the target is unusable; a
        signal). Errors while collecting are not a stop of a run: pytest reports them itself."""
        if isinstance(excinfo.value, pytest.Session.Interrupted):
            return
        message = str(getattr(excinfo.value, "msg", "") or "the run was interrupted")
        self.state.aborted = message.removeprefix("kratos-conformance: ")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Derive the results, write the JSON report and the HTML summary, set the exit status to the verdict."""
        state = self.state
        if state.worker:
            return
        records = list(state.records.values())
        for rec in records:
            rec.outcome, rec.reason = outcome_from_phases(state.phases.get(rec.nodeid, []))
            rec.duration = state.durations.get(rec.nodeid, 0.0)
        if not state.aborted and not any(rec.markers for rec in records):
            return  # not a conformance run (the project's own tests)
        opts = state.options
        recorded: dict[str, Any] | None = next((r.target for r in records if r.target), None)
        target_info = dict(recorded or state.target or {
            "public_url": public_url_without_credentials(opts.public_url), "embedded": opts.embedded,
            "method": None, "reference_faults": list(opts.reference_faults) if opts.embedded else [],
            "admin_api": bool(opts.admin_url)})
        method = target_info.pop("method", None)
        profile = target_info.pop("profile", None) or opts.profile or DEFAULT_PROFILE
        context = RunContext(target_info["public_url"], opts.embedded, profile, method)
        results = derive_results(records, load_catalog(), state.expected_failures, context)
        unattributed = unattributed_failures(records)
        verdict = decide_verdict(results, unattributed, state.aborted or _ABORTED.get(int(exitstatus)),
                                 should_failures=opts.should_failures)
        doc = build_report(
            target=target_info, profile=profile, method=method, seed=_seed(session.config),
            started_at=state.started_at or utc_now(), finished_at=utc_now(),
            duration=time.monotonic() - state.started if state.started else 0.0, verdict=verdict,
            results=results, records=records, unattributed=unattributed,
            coverage=coverage_matrix(r.observed for r in records), expected_failures_path=state.expected_failures.path,
        )
        json_path = write_report(doc, opts.report_dir)
        cli = _cli_plugin(session.config)
        written = write_summary(doc, opts.report_dir,
                                compare_with=cli.previous_report if cli is not None else opts.compare_with)
        state.verdict, state.written, state.counts = verdict, [json_path, *written], dict(doc["counts"])
        state.failed_ids = [r.id for r in results if r.status == FAILED]
        state.unexpected_ids = list(doc["unexpectedly_passing"])
        state.tolerated_ids, state.profile = [r.id for r in results if r.known_defects], profile
        session.exitstatus = verdict.exit_code

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        """Print the verdict (unless the ``kratos-conformance`` command runs pytest: it prints it itself)."""
        state = self.state
        cli = _cli_plugin(config) is not None
        if state.verdict is None or cli:
            return
        markup = {"green": True} if state.verdict.exit_code == 0 else \
            {"red": True} if state.verdict.exit_code == 1 else {"yellow": True}
        terminalreporter.write_sep("=", "conformance", **markup)
        for line in verdict_lines(state.verdict, state.counts, state.failed_ids, state.unexpected_ids,
                                  state.written, tolerated=state.tolerated_ids, profile=state.profile):
            terminalreporter.write_line(line)


__all__ = ["RECORD_ATTR", "STATE_KEY", "ReportPlugin", "ReportState"]


def _cli_plugin(config: pytest.Config) -> Any:
    """The ``kratos-conformance`` command's marker plugin when the command runs this session (None otherwise)."""
    return next((p for p in config.pluginmanager.get_plugins() if getattr(p, "kratos_conformance_cli", False)), None)
