"""Expectations that depend on how a server is configured follow the option that says so (default: Kratos's).

A server that mails unknown addresses a notice (Kratos's notify_unknown_recipients) passes the enumeration scenario
with --notify-unknown-recipients yes, and fails VER-ENUM-NO-MAIL without it (the option's default is Kratos's: off).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kratos_conformance import cli
from kratos_conformance.mail import free_port
from kratos_reference import ReferenceConfig, RunningTarget, serve


@pytest.fixture(scope="module")
def notifying() -> Iterator[tuple[RunningTarget, int]]:
    port = free_port()
    target = serve(ReferenceConfig(public_url="http://127.0.0.1:0/", admin_url="http://127.0.0.1:0/",
                                   smtp_url=f"smtp://127.0.0.1:{port}", notify_unknown_recipients=True))
    yield target, port
    target.stop()


def enumeration(target: RunningTarget, port: int, report_dir: Path, *extra: str) -> dict:
    code = cli.main(["run", "--suite", "scenarios", "--public-url", target.public_url, "--admin-url", target.admin_url,
                     "--mail-source", f"smtp-sink://127.0.0.1:{port}", "--report-dir", str(report_dir), *extra,
                     "--", "-k", "unknown_address", "-p", "no:randomly"])
    report = json.loads((report_dir / "conformance-report.json").read_text())
    assert code == report["verdict"]["exit_code"]
    return {r["id"]: r["status"] for r in report["requirements"]}


def test_a_notice_to_an_unknown_address_is_expected_when_the_option_says_so(notifying, tmp_path: Path) -> None:
    target, port = notifying
    assert enumeration(target, port, tmp_path / "on", "--notify-unknown-recipients", "yes")["VER-ENUM-NO-MAIL"] == \
        "passed"
    assert enumeration(target, port, tmp_path / "off")["VER-ENUM-NO-MAIL"] == "failed"
