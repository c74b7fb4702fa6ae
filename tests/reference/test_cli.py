"""The command line: start, print one line, serve, stop on SIGTERM; one-line errors with exit code 2."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from reference_helpers import SmtpSink

from kratos_reference import FAULT_METHODS, KNOWN_FAULTS

COMMAND = [sys.executable, "-m", "kratos_reference"]


def _first_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The first stdout line of ``process`` (bounded wait)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(timeout)
    assert lines, "the target printed nothing in time"
    return lines[0]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(COMMAND + args, capture_output=True, text=True, timeout=30)


def test_cli_starts_prints_one_line_and_stops_on_sigterm(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    config_file = tmp_path / "reference.yaml"
    config_file.write_text("method: link\nflow_lifespan: 10m\nadmin_url: http://127.0.0.1:0/\n", encoding="utf-8")
    process = subprocess.Popen(COMMAND + ["--config", str(config_file), "--public-url", "http://127.0.0.1:0/",
                                          "--smtp", smtp_sink.url, "--fault", "wrong_code_400"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _first_line(process)
        found = re.fullmatch(r"reference target listening: public (\S+) admin (\S+) method link\n", line)
        assert found, line
        public, admin = found.groups()
        assert not public.endswith(":0/") and not admin.endswith(":0/")
        assert httpx.get(public + "health/alive", timeout=5).json() == {"status": "ok"}
        assert httpx.get(admin + "version", timeout=5).json()["version"] == "v26.2.0-reference"
        flow = httpx.get(public + "self-service/verification/api", headers={"Accept": "application/json"}).json()
        assert flow["active"] == "link"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_cli_stops_by_itself_when_the_process_that_started_it_is_gone(smtp_sink: SmtpSink) -> None:
    """A suite killed with SIGKILL cannot stop its target: --parent-pid (which the suite passes) does."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    process = subprocess.Popen(COMMAND + ["--public-url", "http://127.0.0.1:0/", "--admin-url", "http://127.0.0.1:0/",
                                          "--smtp", smtp_sink.url, "--parent-pid", str(parent.pid)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _first_line(process).startswith("reference target listening")
        assert process.poll() is None
        parent.kill()
        parent.wait(5)
        assert process.wait(timeout=10) == 0
        assert "that started it is gone" in (process.stdout.read() if process.stdout else "")
    finally:
        for proc in (parent, process):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


@pytest.mark.parametrize("args, fragment", [
    (["--method", "sms"], "--method"),
    (["--bogus"], "unrecognized arguments"),
    (["--fault", "no_such_fault"], "unknown fault"),
    (["--flow-lifespan", "soon"], "flow_lifespan"),
    (["--config", "/nonexistent/reference.yaml"], "cannot read"),
    (["--public-url", "not a url"], "public_url"),
    (["--public-url", "http://127.0.0.1:0/", "--admin-url", "http://127.0.0.1:0/",
      "--database", "/nonexistent/dir/reference.sqlite"], "database: cannot open"),
])
def test_cli_bad_options_exit_2_with_one_line(args: list[str], fragment: str) -> None:
    result = _run(args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kratos-reference: error: ") and fragment in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _run(["--public-url", f"http://127.0.0.1:{port}/", "--admin-url", "http://127.0.0.1:0/"])
    assert result.returncode == 2
    assert result.stderr.startswith("kratos-reference: error: public_url: cannot listen")
    assert len(result.stderr.splitlines()) == 1


def test_cli_bad_yaml_exits_2(tmp_path: Path) -> None:
    config_file = tmp_path / "bad.yaml"
    config_file.write_text("method: [unclosed\n", encoding="utf-8")
    result = _run(["--config", str(config_file)])
    assert result.returncode == 2 and "not valid YAML" in result.stderr and len(result.stderr.splitlines()) == 1


def test_cli_lists_faults() -> None:
    result = _run(["--list-faults"])
    assert result.returncode == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == list(KNOWN_FAULTS)
    for name, methods, description in rows:
        assert methods in ("code", "link", "code,link"), name
        assert tuple(methods.split(",")) == FAULT_METHODS[name] and description == KNOWN_FAULTS[name]
