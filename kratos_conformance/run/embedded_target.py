"""Start and stop the embedded reference target as a separate process.

The suite never imports the reference target's code: it starts ``python -m kratos_reference`` and talks
to it over HTTP, exactly as it talks to a deployed server. That keeps a bug shared by both from hiding itself.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail import free_port

#: Settings the conformance run gives the reference target: short lifespans so expiry scenarios run, not skip.
#: Codes and tokens die before their flow, so an expired code can be tried on a flow that is still alive.
FLOW_LIFESPAN = 3.0
CHALLENGE_LIFESPAN = 1.5
CONFORMANCE_SETTINGS: dict[str, str] = {
    "flow-lifespan": f"{FLOW_LIFESPAN:g}s",
    "code-lifespan": f"{CHALLENGE_LIFESPAN:g}s",
    "link-lifespan": f"{CHALLENGE_LIFESPAN:g}s",
    "max-submissions": "5",
}
#: the return_to URL the embedded target allows (scenarios use it; anything else is foreign).
ALLOWED_RETURN_TO = "https://app.conformance.test/welcome"
#: where the embedded target serves its own verification and error pages (relative to its public URL).
UI_PATH = "ui/verification"
ERROR_UI_PATH = "ui/error"
#: where the embedded target sends users who finished without a return_to (its default return URL).
WELCOME_PATH = "ui/welcome"
#: targets told to stop without waiting (``stop(wait=False)``), reaped at exit.
_stopping: list[subprocess.Popen[str]] = []


def _reap(proc: subprocess.Popen[str]) -> None:
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _reap_all() -> None:
    while _stopping:
        _reap(_stopping.pop())


_READY = re.compile(r"reference target listening: public (?P<public>\S+) admin (?P<admin>\S+)")


@dataclass
class EmbeddedTarget:
    """A reference target process; :meth:`start` blocks (bounded) until it listens."""

    method: str
    smtp_url: str
    faults: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=lambda: dict(CONFORMANCE_SETTINGS))
    allowed_return_urls: tuple[str, ...] = (ALLOWED_RETURN_TO,)
    startup_timeout: float = 20.0
    log_path: Path = Path("reports/reference-target.log")
    #: the public API's scheme: https needs "tls-cert" and "tls-key" in ``settings``
    scheme: str = "http"
    public_url: str = ""
    admin_url: str = ""
    _process: subprocess.Popen[str] | None = None
    _launched_at: float = 0.0

    @property
    def pid(self) -> int | None:
        """The process id of the running target (None before :meth:`launch` and after :meth:`stop`)."""
        return self._process.pid if self._process is not None else None

    def command(self, public_port: int, admin_port: int) -> list[str]:
        """The command line that starts the reference target on these ports with this run's settings."""
        public = f"{self.scheme}://127.0.0.1:{public_port}/"
        cmd = [sys.executable, "-m", "kratos_reference",
               "--public-url", public, "--admin-url", f"http://127.0.0.1:{admin_port}/",
               "--ui-url", public + UI_PATH, "--error-ui-url", public + ERROR_UI_PATH,
               "--method", self.method, "--smtp", self.smtp_url,
               "--parent-pid", str(os.getpid())]  # it stops by itself if this process is killed
        for key, value in self.settings.items():
            cmd += [f"--{key}"] if value == "" else [f"--{key}", value]  # "": a flag, such as secure-cookies
        for url in self.allowed_return_urls:
            cmd += ["--allowed-return-url", url]
        for fault in self.faults:
            cmd += ["--fault", fault]
        return cmd

    def start(self) -> EmbeddedTarget:
        """Launch the process and wait until it prints where it listens; its output goes to ``log_path``."""
        return self.launch().wait_ready()

    def launch(self) -> EmbeddedTarget:
        """Start the process without waiting for it (:meth:`wait_ready` waits)."""
        if self._process is not None:
            return self
        cmd = self.command(free_port(), free_port())
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w", encoding="utf-8")
        self._process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, env=env,
                                         stdin=subprocess.DEVNULL)
        log.close()
        self._launched_at = time.monotonic()
        return self

    def wait_ready(self) -> EmbeddedTarget:
        """Wait (at most ``startup_timeout`` from the launch) until the launched process says where it listens;
        CannotJudge, with its last line of output, if it exits or stays silent."""
        if self.public_url:
            return self
        if self._process is None:
            self.launch()
        assert self._process is not None
        deadline = self._launched_at + self.startup_timeout
        while time.monotonic() < deadline:
            output = self.log_path.read_text(encoding="utf-8", errors="replace")
            m = _READY.search(output)
            if m:
                self.public_url, self.admin_url = m.group("public"), m.group("admin")
                return self
            if self._process.poll() is not None:
                lines = output.strip().splitlines()
                raise CannotJudge(f"reference target did not start: {lines[-1] if lines else 'it exited'}")
            time.sleep(0.01)
        self.stop()
        raise CannotJudge(f"reference target did not report listening within {self.startup_timeout:g}s")

    def stop(self, *, wait: bool = True) -> None:
        """Stop the process: SIGTERM, then SIGKILL after 5 s. ``wait=False`` returns at once; the process is
        reaped (with the same bound) when this Python process exits."""
        proc, self._process = self._process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        if wait:
            _reap(proc)
        else:
            if not _stopping:
                atexit.register(_reap_all)
            _stopping.append(proc)

    def __enter__(self) -> EmbeddedTarget:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
