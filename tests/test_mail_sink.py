"""The SMTP sink is a real SMTP server; mails parse into codes, links, flows and tokens."""

from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage

import pytest

from kratos_conformance.mail import MailNotReceived, SmtpSink, assert_no_mail, wait_for_mail

TOKEN = "A" * 32


def _send(sink: SmtpSink, to: str, subject: str, text: str, html: str | None = None) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "no-reply@ref.test", to, subject
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(msg)


@pytest.fixture
def sink() -> SmtpSink:
    with SmtpSink() as s:
        yield s


def test_code_mail_is_received_and_parsed(sink: SmtpSink) -> None:
    link = "http://127.0.0.1:4433/self-service/verification?flow=f-1&code=123456"
    _send(sink, "A@Example.test", "Use code 123456 to verify your account", f"Your code: 123456\n{link}\n")
    mail = wait_for_mail(sink, "a@example.test", timeout=5)
    assert mail.code == "123456" and mail.flow_id == "f-1" and mail.verification_link == link


def test_link_mail_from_html_part(sink: SmtpSink) -> None:
    url = f"http://127.0.0.1:4433/auth/self-service/verification?flow=f-2&amp;token={TOKEN}"
    _send(sink, "b@example.test", "Please verify your email address", "Open the HTML part.", f'<a href="{url}">x</a>')
    mail = wait_for_mail(sink, "b@example.test", timeout=5)
    assert mail.token == TOKEN and mail.flow_id == "f-2" and mail.code is None


def test_wait_ignores_seen_mail_and_times_out(sink: SmtpSink) -> None:
    _send(sink, "c@example.test", "Use code 111111 to verify your account", "111111")
    first = wait_for_mail(sink, "c@example.test", timeout=5)
    with pytest.raises(MailNotReceived):
        wait_for_mail(sink, "c@example.test", timeout=0.2, ignore={first.id})
    threading.Timer(0.1, _send, (sink, "c@example.test", "Use code 222222 to verify your account", "222222")).start()
    assert wait_for_mail(sink, "c@example.test", timeout=5, ignore={first.id}).code == "222222"


def test_assert_no_mail_fails_when_one_arrives(sink: SmtpSink) -> None:
    assert_no_mail(sink, "d@example.test", wait=0.1)
    _send(sink, "d@example.test", "hello", "x")
    with pytest.raises(AssertionError):
        assert_no_mail(sink, "d@example.test", wait=0.5)


def test_idle_returns_as_soon_as_a_mail_arrives(sink: SmtpSink) -> None:
    threading.Timer(0.05, _send, (sink, "e@example.test", "hello", "x")).start()
    started = time.monotonic()
    sink.idle(5.0)
    assert time.monotonic() - started < 2.0 and sink.messages_to("e@example.test")


def test_a_malformed_mail_is_read_as_far_as_it_goes() -> None:
    """An unknown charset, a To and a Message-ID that do not parse: the mail is still read (the code found in it),
    not refused by the sink's SMTP session with a traceback."""
    from kratos_conformance.mail.message import mail_from_bytes

    raw = (b"From: Kratos <noreply@kratos.test>\r\nTo: [not an address]@@example..test\r\n"
           b"Message-ID: <[bad@>\r\nSubject: Verify your account\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=x-bogus-charset\r\n\r\n"
           b"Your verification code is: 482913\r\n")
    mail = mail_from_bytes("m1", raw, ("a@b.test",))
    assert mail.code == "482913" and mail.subject == "Verify your account"
    assert mail.raw_headers["Message-ID"] == "<[bad@>"
    mail = mail_from_bytes("m2", raw.replace(b"To: ", b"X-To: "))  # recipients from the To header, which is gone
    assert mail.code == "482913"
