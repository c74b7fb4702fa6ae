"""Fixtures of the fuzzing suite: one live-flow pool and one fuzzer per session.

The options (``--fuzz-budget``, ``--fuzz-seed``), the seed in the report header and the summary come from
``kratos_conformance.fuzz_plugin``. While the repository's ``conftest.py`` does not load that plugin, the hooks
below stand in for it (they step aside once it is loaded, so nothing runs twice). A conftest below the root only
sees its options when pytest starts from this directory (``pytest suites/fuzz``); from further up, the
environment variables ``KRATOS_CONFORMANCE_FUZZ_BUDGET`` / ``..._SEED`` still apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kratos_conformance import fuzz_plugin
from kratos_conformance.fuzz_plugin import FuzzRun
from kratos_conformance.fuzzing import Fuzzer, LivePool, detect_method, keep_alive_for
from kratos_conformance.mail import MailSource
from kratos_conformance.target import Target


def _stand_in(config: pytest.Config) -> bool:
    """True while the plugin is not registered: this conftest provides its hooks."""
    return not config.pluginmanager.has_plugin(fuzz_plugin.PLUGIN_NAME)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin(fuzz_plugin.PLUGIN_NAME):
        fuzz_plugin.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    if _stand_in(config):
        fuzz_plugin.fuzz_run(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return fuzz_plugin.report_header(config) if _stand_in(config) else []


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _stand_in(config):
        fuzz_plugin.terminal_summary(terminalreporter, config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    if _stand_in(node.config):
        fuzz_plugin.configure_node(node)


@pytest.fixture(scope="session")
def fuzz_run(pytestconfig: pytest.Config) -> FuzzRun:
    """The run's budget and seed (and the statistics the fuzzing tests collect)."""
    return fuzz_plugin.fuzz_run(pytestconfig)


@pytest.fixture(scope="session")
def fuzz_method(target: Target, fuzz_run: FuzzRun) -> str:
    """The target's method, read without judging (the plugin's ``active_method`` judges the flow it reads, so a
    target whose flows break the contract would error every fuzzing test instead of failing one with a
    reproduction)."""
    method = detect_method(target)
    if method is None:
        fuzz_run.notes.append("could not tell the target's method from an API flow; fuzzing as if it were 'code'")
        method = "code"
    return method


@pytest.fixture(scope="session")
def live_pool(target: Target, mail: MailSource, fuzz_method: str, fuzz_run: FuzzRun) -> Iterator[LivePool]:
    """Live flows of both types in every state, with their cookies and CSRF tokens."""
    pool = LivePool(target, mail, fuzz_method, keep_alive=keep_alive_for(target))
    pool.warm()
    yield pool
    fuzz_run.notes.append(pool.describe())
    pool.close()


@pytest.fixture(scope="session")
def fuzzer(target: Target, live_pool: LivePool, fuzz_method: str, fuzz_run: FuzzRun) -> Fuzzer:
    """The session's fuzzer (the contract loaded into schemathesis, seeded with the run's seed)."""
    return Fuzzer(target, live_pool, fuzz_method, run_seed=fuzz_run.seed.value,
                  keep_alive=keep_alive_for(target), on_stats=fuzz_run.record)
