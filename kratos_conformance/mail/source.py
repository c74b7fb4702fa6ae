"""The one interface every mail source implements, and the shared wait-with-deadline on top of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from kratos_conformance.mail.message import Mail


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
    ``match``; return the oldest such mail. Raise :class:`MailNotReceived` after ``timeout`` seconds, naming the
    mails that arrived for the address but did not match."""
    deadline = time.monotonic() + timeout
    while True:
        others: list[Mail] = []
        for mail in source.messages_to(address):
            if mail.id in ignore:
                continue
            if match is None or match(mail):
                return mail
            others.append(mail)
        if time.monotonic() >= deadline:
            raise MailNotReceived(f"no mail to {address} arrived within {timeout:g}s via {source.name}"
                                  + _not_matching(others))
        source.idle(min(source.poll_interval, max(0.0, deadline - time.monotonic())))


def _not_matching(others: Sequence[Mail]) -> str:
    """What the mails that arrived but did not match were, in a few words (the first of them)."""
    if not others:
        return ""
    first = others[0]
    named = f"naming flow {first.flow_id}" if first.flow_id else "naming no flow"
    holds = "with" if first.code or first.verification_link else "without"
    return (f" ({len(others)} other mail(s) did, not the one asked for: the first {first.subject!r}, {named}, "
            f"{holds} a code or verification link)")


class Inbox:
    """What one client reads of one mail source: each mail once, the next one asked for being the oldest not read.

    A mail read before is not new, nor is another delivery of it (the same Message-ID and the same content: a
    courier that retried, a catcher holding both copies), so a duplicate is never mistaken for a resend's mail; a
    server that reuses one Message-ID for every mail still has its resends (new content) read. Asked for the mail
    of one flow, the inbox takes the mail :meth:`Mail.may_carry` that flow's challenge, so an unrelated mail to the
    same address is passed over."""

    def __init__(self, source: MailSource) -> None:
        self.source = source
        self.read_ids: set[str] = set()
        self._deliveries: set[tuple[str, str, str, str]] = set()

    def is_read(self, mail: Mail) -> bool:
        """Whether ``mail`` (or another delivery of it) was read before."""
        return mail.id in self.read_ids or _delivery(mail) in self._deliveries

    def next_mail(self, address: str, *, timeout: float, flow_id: str | None = None) -> Mail:
        """The oldest unread mail to ``address`` that may carry flow ``flow_id``'s challenge (any mail when None),
        now read; :class:`MailNotReceived` when none came within ``timeout`` seconds."""
        found = wait_for_mail(self.source, address, timeout=timeout, ignore=self.read_ids,
                              match=lambda mail: not self.is_read(mail) and mail.may_carry(flow_id))
        self.read_ids.add(found.id)
        if found.message_id is not None:
            self._deliveries.add(_delivery(found))
        return found


def _delivery(mail: Mail) -> tuple[str, str, str, str]:
    """What two deliveries of one message share (no mail without a Message-ID is a delivery of another)."""
    return mail.message_id or f"<none {mail.id}>", mail.subject, mail.text, mail.html


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
