"""Fixtures for the reference target's own tests: a real SMTP sink and targets started with serve()."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference_helpers import SmtpSink, StartTarget  # noqa: E402

from kratos_reference import ReferenceConfig, RunningTarget, serve  # noqa: E402


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """One aiosmtpd server on 127.0.0.1 for the whole run."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def _config(sink: SmtpSink, **overrides: Any) -> ReferenceConfig:
    settings: dict[str, Any] = {"public_url": "http://127.0.0.1:0/", "admin_url": "http://127.0.0.1:0/",
                                "smtp_url": sink.url}
    settings.update(overrides)
    return ReferenceConfig(**settings)


@pytest.fixture(scope="session")
def code_target(smtp_sink: SmtpSink) -> Iterator[RunningTarget]:
    """A clean target, code method, :memory: database (shared; tests use unique addresses)."""
    with serve(_config(smtp_sink, method="code", allowed_return_urls=("https://app.example.com/done",
                                                                       "https://*.allowed.test/"))) as target:
        yield target


@pytest.fixture(scope="session")
def link_target(smtp_sink: SmtpSink) -> Iterator[RunningTarget]:
    """A clean target, link method, :memory: database."""
    with serve(_config(smtp_sink, method="link")) as target:
        yield target


@pytest.fixture
def start_target(smtp_sink: SmtpSink) -> Iterator[StartTarget]:
    """Start extra targets with config overrides; all are stopped after the test."""
    started: list[RunningTarget] = []

    def start(**overrides: Any) -> RunningTarget:
        target = serve(_config(smtp_sink, **overrides))
        started.append(target)
        return target

    yield start
    for target in started:
        target.stop()
