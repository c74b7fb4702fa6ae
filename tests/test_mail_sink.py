"""The SMTP sink is a real SMTP server; mails parse into codes, links, flows and tokens."""

from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage

import pytest

from kratos_conformance.mail import Inbox, MailNotReceived, SmtpSink, assert_no_mail, wait_for_mail, wrong_code
from kratos_conformance.rules import checks

TOKEN = "A" * 32


def _send(sink: SmtpSink, to: str, subject: str, text: str, html: str | None = None,
          message_id: str | None = None) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "no-reply@ref.test", to, subject
    if message_id:
        msg["Message-ID"] = message_id
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


def test_the_inbox_passes_over_a_mail_unrelated_to_the_flow(sink: SmtpSink) -> None:
    """A welcome mail that beats the verification mail to the address is not read as the flow's (it has no code
    or link: taken, it would fail VER-CODE-MAIL on a healthy server); one naming another flow is not either."""
    address = "e@example.test"
    _send(sink, address, "Welcome aboard", "Your account is ready.")
    _send(sink, address, "Use code 333333", "333333 http://x.test/self-service/verification?flow=other&code=333333")
    _send(sink, address, "Use code 444444", "444444 http://x.test/self-service/verification?flow=mine&code=444444")
    inbox = Inbox(sink)
    assert inbox.next_mail(address, timeout=5, flow_id="mine").code == "444444"
    assert inbox.next_mail(address, timeout=5).subject == "Welcome aboard"  # no flow asked for: the oldest unread


def test_a_code_alone_may_be_the_flow_s_mail(sink: SmtpSink) -> None:
    _send(sink, "f@example.test", "Your verification code", "Enter 555555 to verify.")
    assert Inbox(sink).next_mail("f@example.test", timeout=5, flow_id="any").code == "555555"


def test_a_second_delivery_of_a_read_mail_is_not_new(sink: SmtpSink) -> None:
    """A courier that retried leaves two copies of one message: the second is not the resend's mail."""
    address, link = "g@example.test", "http://x.test/self-service/verification?flow=mine&code={}"
    for _ in range(2):
        _send(sink, address, "Use code 666666", link.format(666666), message_id="<one@courier.test>")
    inbox = Inbox(sink)
    assert inbox.next_mail(address, timeout=5, flow_id="mine").code == "666666"
    with pytest.raises(MailNotReceived):
        inbox.next_mail(address, timeout=0.3, flow_id="mine")
    _send(sink, address, "Use code 777777", link.format(777777), message_id="<two@courier.test>")
    assert inbox.next_mail(address, timeout=5, flow_id="mine").code == "777777"
    # a server that gives every mail one Message-ID: its resend (new content) is still new
    _send(sink, address, "Use code 888888", link.format(888888), message_id="<two@courier.test>")
    assert inbox.next_mail(address, timeout=5, flow_id="mine").code == "888888"


def test_no_mail_for_the_flow_fails_the_requirement_saying_what_came(sink: SmtpSink) -> None:
    _send(sink, "h@example.test", "Welcome aboard", "Your account is ready.")
    with pytest.raises(checks.RequirementFailure) as failed:
        checks.mail_arrives(Inbox(sink), "h@example.test", "VER-CODE-MAIL", wait=0.3, flow_id="mine")
    assert failed.value.requirement.id == "VER-CODE-MAIL"
    assert "no mail to h@example.test arrived within 0.3s via smtp-sink (1 other mail(s) did, not the one asked " \
           "for: the first 'Welcome aboard', naming no flow, without a code or verification link)" in str(failed.value)


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


@pytest.mark.parametrize(("code", "wrong"), [("123456", "123457"), ("999999", "999990"), ("0042", "0043"),
                                             ("ab9z", "ab9a"), ("K7Q", "K7R"), (None, "000001")])
def test_a_wrong_code_keeps_the_length_and_alphabet_of_the_right_one(code: str | None, wrong: str) -> None:
    assert wrong_code(code) == wrong != code


def test_wrong_codes_are_distinct_of_the_code_s_shape_and_never_the_code() -> None:
    from kratos_conformance.mail import wrong_codes

    for code in ("123456", "999999", "aZ3", "ab-cd"):
        guesses = wrong_codes(code, 30)
        assert len(set(guesses)) == 30 and code not in guesses
        assert all(len(g) == len(code) for g in guesses)
    assert wrong_codes("999999", 2) == ["000000", "000001"]  # wraps around
    assert {g[2] for g in wrong_codes("ab-cd", 30)} == {"-"}  # a character of no alphabet stays
    assert all(g.isdigit() for g in wrong_codes("123456", 30))
    with pytest.raises(ValueError):
        wrong_codes("7", 10)
