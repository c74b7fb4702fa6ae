"""A broken or hostile server gets a verdict, never a crash of the suite: the reference target behind a proxy that
spoils one kind of answer (tests/hostile_proxy.py), and the command run against it as a user would.

Whatever the server does, the run ends in a verdict: exit 1 with a report whose failures name requirements (not a
Python error of the suite), or exit 2 with one line; never a traceback, and never a secret it was sent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hostile_proxy import HostileProxy

from kratos_conformance.mail import free_port
from kratos_conformance.run.embedded_target import EmbeddedTarget

ROOT = Path(__file__).resolve().parents[1]
#: Python errors that, as a test's failure, would be the suite's own defect rather than the server's
SUITE_ERRORS = re.compile(r"\b(AttributeError|TypeError|KeyError|IndexError|RecursionError|JSONDecodeError|"
                          r"UnboundLocalError|NameError|ExceptionGroup)\b")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[EmbeddedTarget, int]]:
    port = free_port()
    with EmbeddedTarget(method="code", smtp_url=f"smtp://127.0.0.1:{port}",
                        log_path=ROOT / "reports" / "hostile-upstream.log") as target:
        yield target, port


def run_through(upstream: tuple[EmbeddedTarget, int], tmp_path: Path, public: HostileProxy | None = None,
                admin: HostileProxy | None = None, env: dict[str, str] | None = None, args: Sequence[str] = ()
                ) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The smoke run (or what ``args`` make of it) against the upstream, through the proxies given; its result and
    report folder."""
    target, port = upstream
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "kratos_conformance", "run", "--run-profile", "smoke", "--report-dir", str(reports),
           "--public-url", public.url if public else target.public_url,
           "--admin-url", admin.url if admin else target.admin_url, "--mail-source", f"smtp-sink://127.0.0.1:{port}",
           *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KRATOS_CONFORMANCE_")}
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
                            env={**clean, **(env or {})})
    return result, reports


def assert_a_verdict(result: subprocess.CompletedProcess[str], reports: Path) -> dict[str, object] | None:
    """Exit 1 with a report whose failures are the server's, or exit 2 with one line; no traceback."""
    assert "INTERNALERROR" not in result.stdout and "Traceback" not in result.stderr, result.stdout[-2000:]
    assert result.returncode in (1, 2), result.stdout[-2000:] + result.stderr
    if result.returncode == 2:
        assert len(result.stderr.splitlines()) == 1, result.stderr
        return None
    doc = json.loads((reports / "conformance-report.json").read_text(encoding="utf-8"))
    failures = [f for r in doc["requirements"] for f in r["failures"]]
    assert failures, "exit 1 with no failed requirement"
    crashes = [f["detail"][:200] for f in failures if SUITE_ERRORS.search(f["detail"].splitlines()[0])]
    assert crashes == [], crashes
    return doc


@pytest.mark.parametrize("mode", ["nodes-not-a-list", "nodes-of-the-wrong-shape", "nested-too-deep", "garbage"])
def test_spoiled_flows_mid_run_are_the_server_s_failures(upstream: tuple[EmbeddedTarget, int], tmp_path: Path,
                                                         mode: str) -> None:
    target, _ = upstream
    with HostileProxy(target.public_url, mode, r"/self-service/verification/(api|browser|flows)", after=3) as proxy:
        result, reports = run_through(upstream, tmp_path, proxy)
    doc = assert_a_verdict(result, reports)
    assert doc is not None and result.returncode == 1, "a server spoiling its flows is not conformant"


@pytest.mark.parametrize("mode", ["nested-too-deep", "garbage"])
def test_spoiled_answers_to_the_preflight_are_one_line(upstream: tuple[EmbeddedTarget, int], tmp_path: Path,
                                                       mode: str) -> None:
    target, _ = upstream
    with HostileProxy(target.public_url, mode, r"/self-service/verification/api") as proxy:
        result, reports = run_through(upstream, tmp_path, proxy)
    assert_a_verdict(result, reports)
    assert result.returncode == 2 and "kratos-conformance: " in result.stderr


def test_an_admin_api_answering_garbage_mid_run_cannot_be_judged(upstream: tuple[EmbeddedTarget, int],
                                                                 tmp_path: Path) -> None:
    target, _ = upstream
    with HostileProxy(target.admin_url, "garbage", r"/admin/identities$", method="POST", after=1) as admin:
        result, reports = run_through(upstream, tmp_path, None, admin)
    assert_a_verdict(result, reports)
    assert result.returncode == 2 and "the admin API answered" in result.stderr, result.stderr


def test_a_server_reflecting_what_it_was_sent_gets_no_secret_into_the_reports(upstream: tuple[EmbeddedTarget, int],
                                                                             tmp_path: Path) -> None:
    """An error page quoting the request's Cookie header and body: the CSRF cookie, the token and the code the
    suite sent must not reach any report, log or output."""
    from kratos_conformance.report import debug_secrets

    target, _ = upstream
    dump = tmp_path / "secrets.jsonl"
    with HostileProxy(target.public_url, "reflects-the-request", r"/self-service/verification\?flow=",
                      method="POST", after=2) as proxy:
        result, reports = run_through(upstream, tmp_path, proxy, env={debug_secrets.ENV: str(dump)})
    assert_a_verdict(result, reports)
    assert_no_secret_shown(dump, result, reports)


def assert_no_secret_shown(dump: Path, result: subprocess.CompletedProcess[str], reports: Path) -> None:
    """None of the secrets the run sent or received (the debug dump of a run given ``debug_secrets.ENV``) is in
    its reports or its output."""
    from kratos_conformance.report import debug_secrets

    secrets = debug_secrets.read_dump(dump)
    values = sorted({v for found in secrets.values() for v in found if len(v) >= 6})
    assert secrets.get("cookie") and values
    outputs = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in reports.rglob("*") if p.is_file()}
    outputs["stdout"], outputs["stderr"] = result.stdout, result.stderr
    leaks = [(name, value) for name, text in outputs.items() for value in values if value in text]
    assert leaks == []


def test_an_answer_dripped_a_byte_at_a_time_is_cut_at_the_deadline() -> None:
    """Each read gets a byte before the client's read timeout, so only a deadline on the whole answer ends it."""
    import socket
    import threading
    import time

    import httpx

    from kratos_conformance.wire.clients import request_within

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(100):  # bounded: 20 s at most
                if stop.wait(0.2):
                    break
                connection.sendall(b" ")

    server = threading.Thread(target=drip, daemon=True)
    server.start()
    started = time.monotonic()
    try:
        with httpx.Client(timeout=5.0) as http, pytest.raises(httpx.ReadTimeout, match="did not end within 1s"):
            request_within(http, "GET", f"http://127.0.0.1:{listener.getsockname()[1]}/", deadline=1.0)
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        server.join(5)
        listener.close()


def test_a_mailed_link_to_a_closed_port_is_the_server_s_failure_not_the_server_gone(
        upstream: tuple[EmbeddedTarget, int]) -> None:
    """The server chose where its link points; only the server's own address failing means the server is gone."""
    import httpx

    from kratos_conformance.errors import CannotJudge
    from kratos_conformance.wire.clients import NoAnswer, send_unrecorded

    target, _ = upstream
    elsewhere = f"http://127.0.0.1:{free_port()}/self-service/verification?flow=f&token=secret-link-token"
    with httpx.Client(timeout=5.0) as http:
        with pytest.raises(NoAnswer, match=r"^GET http://127\.0\.0\.1:\d+/self-service/verification\?flow=f&token="
                                           r"\S+ got no HTTP answer \(Connection refused\)\n") as caught:
            send_unrecorded(http, "browser", "GET", elsewhere, home=target.public_url)
        assert str(caught.value).splitlines()[1].startswith("reproduce (secrets redacted): curl ")
        assert "secret-link-token" not in str(caught.value)
        with pytest.raises(CannotJudge, match="the server stopped answering"):
            send_unrecorded(http, "browser", "GET", elsewhere, home=elsewhere)


def test_a_request_left_unanswered_fails_the_requirement_in_one_line(upstream: tuple[EmbeddedTarget, int],
                                                                    tmp_path: Path) -> None:
    """A server that hangs up on a submission (it still answers everything else) fails VER-RESP-NO-5XX, named
    with the request and its curl line, secrets redacted, in the report and on the terminal: no traceback of the
    HTTP client."""
    from kratos_conformance.report import debug_secrets

    target, _ = upstream
    dump = tmp_path / "secrets.jsonl"
    with HostileProxy(target.public_url, "hangs-up", r"/self-service/verification\?flow=", method="POST",
                      after=2) as proxy:
        result, reports = run_through(upstream, tmp_path, proxy, env={debug_secrets.ENV: str(dump)})
    doc = assert_a_verdict(result, reports)
    assert_no_secret_shown(dump, result, reports)  # the failure shows the curl line of a request with a CSRF token
    assert doc is not None and result.returncode == 1
    unanswered = [f for r in doc["requirements"] if r["id"] == "VER-RESP-NO-5XX" for f in r["failures"]]
    assert unanswered and all(re.match(r"POST http://127\.0\.0\.1:\d+/self-service/verification\?flow=\S+ got no "
                                       r"HTTP answer \(", f["detail"]) for f in unanswered), unanswered[:1]
    assert all("\nreproduce (secrets redacted): curl -X POST " in f["detail"] for f in unanswered)
    assert "RemoteProtocolError" not in result.stdout and "httpx/_transports" not in result.stdout


def test_a_server_that_writes_a_query_value_into_a_header_fails_the_crlf_check(upstream: tuple[EmbeddedTarget, int],
                                                                             tmp_path: Path) -> None:
    """VER-INJECT-CRLF can fail: no fault of the reference target can write CR or LF into a header (its HTTP server
    refuses), so a proxy echoes return_to, decoded, into a header of its own, and the injected line arrives."""
    target, _ = upstream
    with HostileProxy(target.public_url, "reflects-query-in-a-header", r"/self-service/verification/") as proxy:
        result, reports = run_through(upstream, tmp_path, proxy, args=[
            "--suite", "security", "--run-profile", "default", "--", "-k", "cr_and_lf"])
    doc = assert_a_verdict(result, reports)
    assert doc is not None and result.returncode == 1, result.stdout[-2000:]
    crlf = next(r for r in doc["requirements"] if r["id"] == "VER-INJECT-CRLF")  # type: ignore[union-attr]
    assert crlf["status"] == "failed" and "x-injected" in crlf["failures"][0]["detail"].lower()
