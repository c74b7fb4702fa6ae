"""The one interface every mail source implements, and the shared wait-with-deadline on top of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Protocol

from .message import Mail


class MailSource(Protocol):
    """Where the suite reads mail from. Implementations: the SMTP sink and the HTTP readers."""

    @property
    def name(self) -> str:
        """Short name shown in errors and reports (``smtp-sink``, ``mailpit``, ...)."""

    @property
    def poll_interval(self) -> float:
        """Seconds between two looks while waiting for a mail (cheap in-process sources poll faster)."""

    def idle(self, seconds: float) -> None:
        """Pause before the next look, up to ``seconds``; a source that knows when mail arrives returns then."""

    def check(self) -> None:
        """Raise :class:`~kratos_conformance.errors.CannotJudge` (one line) if the source cannot be reached."""

    def messages_to(self, address: str) -> list[Mail]:
        """Every mail currently held for ``address``, oldest first."""

    def close(self) -> None:
        """Release what the source holds (servers, connections)."""


class MailNotReceived(AssertionError):
    """No matching mail arrived within the deadline."""


def wait_for_mail(
    source: MailSource,
    address: str,
    *,
    timeout: float,
    ignore: Collection[str] = (),
    match: Callable[[Mail], bool] | None = None,
) -> Mail:
    """Poll ``source`` until a mail to ``address`` arrives that is not in ``ignore`` (mail ids) and satisfies
    ``match``; return the oldest such mail. Raise :class:`MailNotReceived` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for mail in source.messages_to(address):
            if mail.id not in ignore and (match is None or match(mail)):
                return mail
        if time.monotonic() >= deadline:
            raise MailNotReceived(f"no mail to {address} arrived within {timeout:g}s via {source.name}")
        source.idle(min(source.poll_interval, max(0.0, deadline - time.monotonic())))


def assert_no_mail(source: MailSource, address: str, *, wait: float, ignore: Collection[str] = ()) -> None:
    """Watch ``source`` for ``wait`` seconds and fail if a new mail to ``address`` arrives."""
    deadline = time.monotonic() + wait
    while True:
        fresh = [m for m in source.messages_to(address) if m.id not in ignore]
        if fresh:
            raise AssertionError(f"unexpected mail to {address}: subject {fresh[0].subject!r}")
        if time.monotonic() >= deadline:
            return
        source.idle(min(source.poll_interval, max(0.0, deadline - time.monotonic())))
