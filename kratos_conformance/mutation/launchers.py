"""How a run's pytest process starts: a fresh process each (:class:`SpawnLauncher`), or forked from a server that
imported the heavy libraries once (:class:`ForkLauncher`, :func:`fork_server`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kratos_conformance.mutation.plan import ROOT


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


#: third-party modules a fork server imports once for every run (the library's public face comes with the package
#: itself; the pytest plugins and the suites are left to each run, so pytest can rewrite their asserts).
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
