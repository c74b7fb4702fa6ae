"""The benchmarks' measuring helper reads what it claims: a child's output, exit code and peak memory."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.process import run_measured

ROOT = Path(__file__).resolve().parents[1]
#: a process that holds 80 MiB resident for a moment (the sampler reads every 0.1 s)
HOLDS_80_MIB = "import time; b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"


def test_the_command_s_peak_memory_and_its_children_s_are_told_apart() -> None:
    """The suite's own figure and the reference target's (a process it starts) are measured separately, and the
    benchmark's own memory (which the command was forked from) counts in neither."""
    ballast = bytearray(100 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    starts_one = (f"import subprocess, sys; subprocess.run([sys.executable, '-c', {HOLDS_80_MIB!r}]); "
                  "print('12 passed, 1 skipped in 0.50s'); sys.exit(3)")
    done = run_measured([sys.executable, "-c", starts_one], ROOT)
    assert done.exit_code == 3 and done.pytest_summary() == ("12 passed, 1 skipped", 0.5)
    assert done.peak_rss_mib < 60, done                     # a small python, not the 100 MiB it was forked from
    assert 80 <= done.children_peak_rss_mib < 150, done
    itself = run_measured([sys.executable, "-c", HOLDS_80_MIB], ROOT)
    assert 80 <= itself.peak_rss_mib < 150 and itself.children_peak_rss_mib == 0, itself
    del ballast


def test_the_capture_hands_the_suite_an_answer_it_can_still_read_to_its_end() -> None:
    """The benchmark's capture reads each answer; the suite then reads it raw, to a deadline. A capture that left
    the stream consumed made every captured run fail (and the benchmark timed the failures)."""
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from benchmarks import capture_plugin
    from kratos_conformance.wire.clients import request_within

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "11")
            self.end_headers()
            self.wfile.write(b'{"ok":true}')

        def log_message(self, *args: object) -> None:
            pass

    class Captured(httpx.HTTPTransport):
        handle_request = capture_plugin._httpx_handle_request

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    capture_plugin._originals["httpx"] = httpx.HTTPTransport.handle_request
    try:
        with httpx.Client(transport=Captured()) as http:
            answer = request_within(http, "GET", f"http://127.0.0.1:{server.server_address[1]}/", deadline=5)
        assert answer.json() == {"ok": True}
        (captured,) = capture_plugin._captured
        assert base64.b64decode(captured["response_body"]) == b'{"ok":true}' and captured["status"] == 200
    finally:
        capture_plugin._originals.clear()
        capture_plugin._captured.clear()
        server.shutdown()
        server.server_close()


def test_the_deployed_benchmark_reads_the_preflight_s_time_from_what_the_command_prints() -> None:
    from benchmarks.bench_deployed import preflight_seconds

    said = ("kratos-conformance: the SMTP sink listens on 127.0.0.1:1025 (where the server's courier sends)\n"
            "kratos-conformance: preflight: http://127.0.0.1:4433/ answers as itself, flow lifespan 10s, identity "
            "schema 'default', a verification mail arrived in 0.4s via smtp-sink (preflight 1.7s)\n....\n")
    assert preflight_seconds(said) == 1.7
    assert preflight_seconds("kratos-conformance: cannot judge: ...") is None


def test_the_deployed_benchmark_keeps_the_one_line_a_run_that_could_not_judge_ends_with() -> None:
    from benchmarks.bench_deployed import why_not_judged

    said = ("kratos-conformance: the SMTP sink listens on 127.0.0.1:1025 (where the server's courier sends)\n"
            "kratos-conformance: the admin API at http://127.0.0.1:4434/ does not answer (connection refused): "
            "check --admin-url\n")
    assert why_not_judged(said) == ("the admin API at http://127.0.0.1:4434/ does not answer (connection refused): "
                                    "check --admin-url")
    assert why_not_judged("") is None
