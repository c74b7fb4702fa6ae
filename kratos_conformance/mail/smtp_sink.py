"""The built-in SMTP sink: a real SMTP server (aiosmtpd) that keeps every mail it receives in memory.

Point the target's courier at it (``smtp://HOST:PORT``). It listens on loopback by default.
"""

from __future__ import annotations

import socket
import threading
import time
from itertools import count
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail.message import Mail, mail_from_bytes
from kratos_conformance.mail.spool import spool_mail


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        self._sink._store(content, tuple(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on ``host``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """A running SMTP server holding received mail; thread-safe; use as a context manager or call close()."""

    name = "smtp-sink"
    poll_interval = 0.05  # idle() wakes as soon as a mail arrives: this only bounds a wait

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, spool: Path | None = None) -> None:
        """Listen on ``host:port`` (a free port if 0); with ``spool``, also write every mail into that directory
        for the pytest-xdist workers to read (:mod:`.spool`)."""
        self.host = host
        self.spool = spool
        self.port = port or free_port(host)
        self._mails: list[Mail] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._ids = count(1)
        self._controller = Controller(_Handler(self), hostname=host, port=self.port, ready_timeout=5)
        try:
            self._controller.start()
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise CannotJudge(f"smtp-sink: cannot listen on {host}:{self.port}: {exc}") from None

    @property
    def url(self) -> str:
        """``smtp://host:port``: what the target's courier should be configured with."""
        return f"smtp://{self.host}:{self.port}"

    def _store(self, content: bytes, recipients: tuple[str, ...]) -> None:
        with self._lock:
            mail_id = f"smtp-{next(self._ids)}"
        mail = mail_from_bytes(mail_id, content, recipients, received_at=time.time())
        if self.spool is not None:
            spool_mail(self.spool, mail_id, content, recipients, mail.received_at)
        with self._arrived:
            self._mails.append(mail)
            self._arrived.notify_all()

    def check(self) -> None:
        """The sink runs in this process; it is reachable once constructed."""

    def idle(self, seconds: float) -> None:
        """Wait up to ``seconds``, returning as soon as a mail arrives."""
        with self._arrived:
            self._arrived.wait(seconds)

    def messages_to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self._mails if m.is_to(address)]

    def all_messages(self) -> list[Mail]:
        """Every mail received so far, oldest first."""
        with self._lock:
            return list(self._mails)

    def close(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
