"""Fixtures of the fuzzing suite: one live-flow pool and one fuzzer per session.

The options (``--fuzz-budget``, ``--fuzz-seed``), the seed in the report header and the summary come from
``kratos_conformance.fuzzing.plugin``, which the ``kratos-conformance`` command loads (and the repository's
``conftest.py``, for pytest run by hand in a checkout).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kratos_conformance.fuzzing import Fuzzer, LivePool, detect_method
from kratos_conformance.fuzzing import plugin as fuzz_plugin
from kratos_conformance.fuzzing.plugin import FuzzRun
from kratos_conformance.mail import MailSource
from kratos_conformance.run.target import Target


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
    pool = LivePool(target, mail, fuzz_method)
    pool.warm()
    yield pool
    fuzz_run.notes.append(pool.describe())
    pool.close()


@pytest.fixture(scope="session")
def fuzzer(target: Target, live_pool: LivePool, fuzz_method: str, fuzz_run: FuzzRun) -> Fuzzer:
    """The session's fuzzer (the contract loaded into schemathesis, seeded with the run's seed)."""
    return Fuzzer(target, live_pool, fuzz_method, run_seed=fuzz_run.seed.value,
                  on_stats=fuzz_run.record)
