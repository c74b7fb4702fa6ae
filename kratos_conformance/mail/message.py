"""A received mail and what the suite reads from it: the verification code, the link, its flow and token."""

from __future__ import annotations

import email
import email.policy
import re
import string
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cached_property

from kratos_conformance.wire.query import query_param
from kratos_conformance.wire.redact import remember_received

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class Mail:
    """One mail as any mail source delivers it (the same shape for the SMTP sink and every HTTP reader). Its
    content never changes, so what is read from it (links, code, flow, token) is read once and kept."""

    id: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str = ""
    sender: str = ""
    received_at: float = 0.0
    raw_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # its code and token are secrets wherever a failure detail quotes this mail (its subject, its link)
        remember_received(self.code, self.token, self.link_param("code"))

    def is_to(self, address: str) -> bool:
        """True if ``address`` is among the recipients (case-insensitive)."""
        wanted = address.strip().lower()
        return any(r.strip().lower() == wanted for r in self.recipients)

    @cached_property
    def links(self) -> list[str]:
        """Every http(s) URL in the text part, then in the HTML part, in order, without duplicates."""
        found: list[str] = []
        for url in _URL.findall(self.text) + _URL.findall(self.html):
            url = url.replace("&amp;", "&").rstrip(".,)")
            if url not in found:
                found.append(url)
        return found

    @cached_property
    def verification_link(self) -> str | None:
        """The first link to the verification route (``/self-service/verification?...``), if any."""
        for url in self.links:
            if "/self-service/verification?" in url:
                return url
        return None

    def link_param(self, name: str) -> str | None:
        """A query parameter of the verification link (``flow``, ``token``, ``code``)."""
        link = self.verification_link
        if link is None:
            return None
        try:
            return query_param(link, name)
        except ValueError:  # a link that is no URL (an unclosed IPv6 bracket): it names no parameter
            return None

    @cached_property
    def message_id(self) -> str | None:
        """The Message-ID header, if the source kept the headers (two deliveries of one message share it)."""
        for name, value in self.raw_headers.items():
            if name.lower() == "message-id" and value.strip():
                return value.strip()
        return None

    def may_carry(self, flow_id: str | None) -> bool:
        """Whether this mail may carry the challenge of flow ``flow_id`` (of any flow, when None): its verification
        link names that flow, or it names none but holds a code or a verification link (a server may mail a code
        alone). Not a mail naming another flow, nor one with neither (an unrelated mail to the same address)."""
        if flow_id is None:
            return True
        named = self.flow_id
        if named is not None:
            return named == flow_id
        return self.holds_a_challenge

    @property
    def holds_a_challenge(self) -> bool:
        """Whether the mail holds a verification code or a verification link (a welcome mail holds neither)."""
        return self.code is not None or self.verification_link is not None

    @cached_property
    def flow_id(self) -> str | None:
        """The flow the mail belongs to, read from its verification link."""
        return self.link_param("flow")

    @cached_property
    def token(self) -> str | None:
        """The link method's token, read from the verification link."""
        return self.link_param("token")

    @cached_property
    def code(self) -> str | None:
        """The 6-digit verification code: from the subject, else the text, else the link's ``code`` parameter."""
        for text in (self.subject, self.text):
            m = _CODE.search(_without_urls(text))
            if m:
                return m.group(1)
        return self.link_param("code")


def wrong_code(code: str | None) -> str:
    """A code of the same length and alphabet as ``code`` that is not ``code``: its last character moved on by one
    within its alphabet (digits, lower-case or upper-case letters). For no code, a six-digit one."""
    code = code or "000000"
    last = code[-1]
    for alphabet in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
        if last in alphabet:
            return code[:-1] + alphabet[(alphabet.index(last) + 1) % len(alphabet)]
    return code[:-1] + ("1" if last == "0" else "0")


def wrong_codes(code: str | None, count: int) -> list[str]:
    """``count`` distinct codes of the same length and alphabet as ``code``, none of them ``code``: the code read as
    a number written in the alphabets its characters come from (digits, lower-case, upper-case letters), plus 1,
    2, ... ``count`` (wrapping around); a character of no such alphabet stays where it is. A guesser sends
    distinct guesses, and so does the suite: a server that only counts a guess it has not seen must still be
    caught. For no code, six-digit ones."""
    code = code or "000000"
    alphabet = "".join(a for a in (string.digits, string.ascii_lowercase, string.ascii_uppercase)
                       if any(c in a for c in code)) or string.digits
    places = [i for i, c in enumerate(code) if c in alphabet]
    base, space = len(alphabet), len(alphabet) ** len(places)
    if count >= space:
        raise ValueError(f"only {space - 1} codes like {len(code)}-character codes differ from one")
    value = 0
    for i in places:
        value = value * base + alphabet.index(code[i])
    out = []
    for step in range(1, count + 1):
        number, chars = (value + step) % space, list(code)
        for i in reversed(places):
            number, digit = divmod(number, base)
            chars[i] = alphabet[digit]
        out.append("".join(chars))
    return out


def _without_urls(text: str) -> str:
    return _URL.sub(" ", text)


def mail_from_bytes(mail_id: str, data: bytes, recipients: tuple[str, ...] = (), received_at: float = 0.0) -> Mail:
    """Parse an RFC 5322 message into a :class:`Mail` (text and HTML parts decoded). A malformed message (an
    unknown charset, a header that does not parse) is read as far as it goes, never refused: what the server sent
    is then judged by the checks that read the mail."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    plain = email.message_from_bytes(data, policy=email.policy.compat32)  # headers as sent, unparsed
    try:
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001 - a structure the parser chokes on: the whole message as text
        text_part, html_part = None, None
    to = recipients or tuple(a.strip() for a in _header(msg, plain, "To").split(",") if a.strip())
    text = _content(text_part) if text_part is not None else ("" if html_part is not None else _payload(msg))
    return Mail(
        id=mail_id,
        recipients=tuple(_bare_address(a) for a in to),
        subject=_header(msg, plain, "Subject"),
        text=text,
        html=_content(html_part) if html_part is not None else "",
        sender=_header(msg, plain, "From"),
        received_at=received_at,
        raw_headers={k: _header(msg, plain, k) for k in plain.keys()},
    )


def _header(msg: EmailMessage, plain: email.message.Message, name: str) -> str:
    """A header, decoded where it parses, else as sent."""
    try:
        return str(msg.get(name, ""))
    except Exception:  # noqa: BLE001 - the email package raises many kinds on a malformed header
        return str(plain.get(name, ""))


def _content(part: email.message.Message) -> str:
    """A text part decoded by its charset, or, with a charset Python does not know, as UTF-8 as far as it goes."""
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - LookupError, UnicodeError, and the parser's own errors
        return _payload(part)


def _payload(part: email.message.Message) -> str:
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    return str(part.get_payload() or "")


def _bare_address(value: str) -> str:
    m = re.search(r"<([^>]+)>", value)
    return (m.group(1) if m else value).strip()
