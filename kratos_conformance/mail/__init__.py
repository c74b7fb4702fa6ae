"""Mail sources: one interface (:class:`MailSource`), several implementations.

``smtp-sink`` is built in (a real SMTP server in this process; under pytest-xdist the controller runs it and the
workers read its spool, :mod:`.spool`); the HTTP readers talk to the mail catchers that
deployments run (Mailpit, MailHog, MailSlurper, MailDev). :func:`open_mail_source` builds one from a spec string.
"""

from __future__ import annotations

from dataclasses import dataclass

from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail.message import Mail, mail_from_bytes, wrong_code, wrong_codes
from kratos_conformance.mail.smtp_sink import SmtpSink, free_port
from kratos_conformance.mail.source import Inbox, MailNotReceived, MailSource, assert_no_mail, wait_for_mail
from kratos_conformance.mail.spool import SpoolReader
from kratos_conformance.run.urls import parse_given_url

HTTP_READERS = ("mailpit", "mailhog", "mailslurper", "maildev")

__all__ = [
    "HTTP_READERS", "Inbox", "Mail", "MailNotReceived", "MailSource", "MailSourceSpec", "SmtpSink", "SpoolReader",
    "assert_no_mail",
    "free_port", "mail_from_bytes", "open_mail_source", "parse_mail_source", "wait_for_mail",
    "wrong_code",
    "wrong_codes",
]


@dataclass(frozen=True)
class MailSourceSpec:
    """A parsed ``--mail-source``: the kind and, for HTTP readers, the API URL; for the sink, where to listen."""

    kind: str
    url: str | None = None
    host: str = "127.0.0.1"
    port: int = 0


def parse_mail_source(spec: str) -> MailSourceSpec:
    """Parse ``smtp-sink``, ``smtp-sink://HOST:PORT`` or ``<reader>:<http url>``; raise CannotJudge if bad."""
    spec = spec.strip()
    if spec == "smtp-sink":
        return MailSourceSpec("smtp-sink")
    if spec.startswith("smtp-sink://"):
        parts = parse_given_url("--mail-source", spec, schemes=("smtp-sink",), port_required=True,
                                example="smtp-sink://127.0.0.1:2525")
        return MailSourceSpec("smtp-sink", host=str(parts.hostname), port=int(parts.port or 0))
    kind, sep, url = spec.partition(":")
    if kind in HTTP_READERS and sep:
        parse_given_url(f"--mail-source {kind}", url, example=f"{kind}:http://127.0.0.1:8025")
        return MailSourceSpec(kind, url=url.rstrip("/"))
    raise CannotJudge(
        f"--mail-source: {spec!r} is not smtp-sink[://HOST:PORT] or one of {', '.join(HTTP_READERS)} with a URL"
    )


def open_mail_source(spec: MailSourceSpec) -> MailSource:
    """Start or connect the mail source described by ``spec`` and check that it can be reached."""
    if spec.kind == "smtp-sink":
        source: MailSource = SmtpSink(spec.host, spec.port)
    else:
        from kratos_conformance.mail import http_readers  # the HTTP readers are only loaded when used

        source = http_readers.open_reader(spec.kind, spec.url or "")
    source.check()
    return source
