"""The pytest plugin: options, the run's fixtures, requirement markers and readable failures (what the session runs
beside the tests, the embedded target, a shared SMTP sink, the served UI, is :mod:`.session_services`).

Loaded by the repository's ``conftest.py``. Fixtures a scenario uses:

- ``target`` (:class:`Target`), ``mail`` (:class:`MailSource`), ``admin`` (:class:`AdminApi`, skips without one),
- ``native``, ``browser``, ``spa``: a fresh client of that kind for the test; ``make_client(kind)`` for more,
- ``active_method``: the method (code or link) the target uses, read from a fresh flow.

Without ``--public-url`` the run starts the embedded reference target (and an SMTP sink for its courier) once per
session (per worker under pytest-xdist), launched as the session starts so it boots while pytest collects, and
stops it at the end. Against a deployed target under pytest-xdist, the built-in SMTP sink runs once, on the
controller, and the workers read its spool.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from kratos_conformance.errors import EXIT_CANNOT_JUDGE, CannotJudge
from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.mail import MailSource
from kratos_conformance.rules import checks
from kratos_conformance.rules.catalog import UnknownRequirement, requirement
from kratos_conformance.rules.contract_judge import unanswered
from kratos_conformance.run.conformance_run import ConformanceRun
from kratos_conformance.run.options import OPTIONS, parse_options
from kratos_conformance.run.session_services import (
    LAUNCHED_RUN_KEY,
    OPTIONS_KEY,
    WORKER_SPOOL_KEY,
    serve_the_ui,
    share_the_sink,
)
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import Client, ClientFactory, ClientKind, NoAnswer
from kratos_conformance.wire.exchanges import Exchange, Recorder

TEST_LOG_KEY = pytest.StashKey["TestLog"]()


@dataclass
class TestLog:
    """What one test did: its exchanges and the checks it evaluated."""

    __test__ = False  # not a test class, whatever its name

    exchanges: list[Exchange] = field(default_factory=list)
    checks: list[checks.CheckResult] = field(default_factory=list)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kratos-conformance", "Kratos verification-flow conformance")
    for spec in OPTIONS:
        group.addoption(spec.flag, dest=spec.dest, default=None, help=f"{spec.help} (env {spec.env})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): requirement ids from the catalog that this test checks")
    config.addinivalue_line("markers", "smoke: part of the smoke run profile (a happy path per client kind and the "
                            "status codes that gate deploys)")
    try:
        config.stash[OPTIONS_KEY] = parse_options({s.dest: config.getoption(s.dest) for s in OPTIONS})
    except CannotJudge as exc:
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    share_the_sink(config, config.stash[OPTIONS_KEY])
    serve_the_ui(config, config.stash[OPTIONS_KEY])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every requirement id a test names must be in the catalog; the smoke profile keeps only smoke tests."""
    if OPTIONS_KEY in config.stash and config.stash[OPTIONS_KEY].run_profile == "smoke":
        dropped = [item for item in items if item.get_closest_marker("smoke") is None]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item.get_closest_marker("smoke") is not None]
    for item in items:
        for mark in item.iter_markers("requirement"):
            for req_id in mark.args:
                try:
                    requirement(req_id)
                except UnknownRequirement:
                    raise pytest.UsageError(f"{item.nodeid}: requirement {req_id!r} is not in the catalog") from None


@pytest.fixture(scope="session")
def conformance_run(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Iterator[ConformanceRun]:
    """The started run (target, mail source, clients). Ends the session with exit code 2 if it cannot start."""
    spool = (getattr(pytestconfig, "workerinput", None) or {}).get(WORKER_SPOOL_KEY)
    run = pytestconfig.stash.get(LAUNCHED_RUN_KEY, None) or ConformanceRun(pytestconfig.stash[OPTIONS_KEY], spool)
    run.browser_walks = any(item.path.parent.name == "browser" for item in request.session.items)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        def say(line: str) -> None:
            with capture.global_and_fixture_disabled():  # on the terminal, not in the test's captured output
                reporter.write_line(f"kratos-conformance: {line}")
        run.say = say
    try:
        run.start()
    except CannotJudge as exc:
        run.close()
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    yield run
    run.close()


@pytest.fixture
def req(request: pytest.FixtureRequest) -> str:
    """The requirement the test is about, read from its ``requirement`` marker: the id is written once, in the
    marker, and the test's checks judge ``req``. A test about several requirements names its main one first (that
    is ``req``) and writes the others in the checks that judge them."""
    ids = [rid for mark in request.node.iter_markers("requirement") for rid in mark.args]
    if not ids:
        pytest.fail("the req fixture serves a test whose requirement marker names its requirement; this one has "
                    "none", pytrace=False)
    return str(ids[0])


@pytest.fixture(scope="session")
def target(conformance_run: ConformanceRun) -> Target:
    assert conformance_run.target is not None
    return conformance_run.target


@pytest.fixture(scope="session")
def mail(conformance_run: ConformanceRun) -> MailSource:
    assert conformance_run.mail is not None
    return conformance_run.mail


@pytest.fixture(scope="session")
def recorder(conformance_run: ConformanceRun) -> Recorder:
    return conformance_run.recorder


@pytest.fixture(scope="session")
def admin(conformance_run: ConformanceRun) -> AdminApi:
    """The admin API; skips the test (with the reason) when the run has no admin URL."""
    target = conformance_run.target
    assert target is not None and conformance_run.clients is not None
    if not target.has_admin:
        pytest.skip("needs the admin API to seed a known address: no --admin-url given")
    return AdminApi(target, conformance_run.recorder, conformance_run.clients.transport)


@pytest.fixture
def make_client(conformance_run: ConformanceRun) -> ClientFactory:
    """``make_client("native" | "browser" | "spa")`` -> a fresh client with an empty cookie jar."""
    assert conformance_run.clients is not None
    return conformance_run.clients


@pytest.fixture
def native(make_client: ClientFactory) -> Client:
    return make_client(ClientKind.NATIVE)


@pytest.fixture
def browser(make_client: ClientFactory) -> Client:
    return make_client(ClientKind.BROWSER)


@pytest.fixture
def spa(make_client: ClientFactory) -> Client:
    return make_client(ClientKind.SPA)


@pytest.fixture(scope="session")
def active_method(conformance_run: ConformanceRun) -> str:
    """The verification method the target uses (``code`` or ``link``): the embedded target's configured one, else
    the one the preflight found (:attr:`Target.known_method`), else read from a fresh API flow (so a broken init
    fails its own scenario instead of ending the run)."""
    assert conformance_run.clients is not None and conformance_run.target is not None
    if conformance_run.target.known_method is not None:
        return conformance_run.target.known_method  # flows' active is judged against it
    with checks.hold():  # the fixture's own flow is no evidence for a test (a broken answer errors their setup)
        ex = conformance_run.clients(ClientKind.NATIVE).init()
    try:
        method = ex.json().get("active")
    except (ValueError, AttributeError):
        method = None
    if method not in ("code", "link"):
        pytest.exit(f"kratos-conformance: cannot tell the target's method: API flow 'active' is {method!r}",
                    returncode=EXIT_CANNOT_JUDGE)
    return str(method)


@pytest.fixture(autouse=True)
def _test_log(request: pytest.FixtureRequest) -> Iterator[TestLog]:
    """Collect the exchanges and checks of each test (for failure output and reports)."""
    log = TestLog()
    request.node.stash[TEST_LOG_KEY] = log
    run: ConformanceRun | None = None
    if "conformance_run" in request.fixturenames:
        run = request.getfixturevalue("conformance_run")
        run.recorder.add_listener(log.exchanges.append)
    checks.add_check_listener(log.checks.append)
    yield log
    checks.remove_check_listener(log.checks.append)
    if run is not None:
        run.recorder.remove_listener(log.exchanges.append)


@contextmanager
def _judged_as_the_run_ends() -> Iterator[None]:
    """A mail source or target lost mid-run ends the session with exit code 2 and one line, like at start; a
    request the server left unanswered is its failure, named like every other (see
    :func:`~kratos_conformance.rules.contract_judge.unanswered`), not a traceback."""
    try:
        yield
    except CannotJudge as exc:
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    except NoAnswer as exc:
        unanswered(exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """In a fixture: see :func:`_judged_as_the_run_ends`."""
    with _judged_as_the_run_ends():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """In a test: see :func:`_judged_as_the_run_ends`."""
    with _judged_as_the_run_ends():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show a failed requirement as its id, statement and redacted exchanges instead of a traceback."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, checks.RequirementFailure):
        report.longrepr = call.excinfo.value.render()
    return report
