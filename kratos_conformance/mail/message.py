"""A received mail and what the suite reads from it: the verification code, the link, its flow and token."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class Mail:
    """One mail as any mail source delivers it (the same shape for the SMTP sink and every HTTP reader)."""

    id: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str = ""
    sender: str = ""
    received_at: float = 0.0
    raw_headers: dict[str, str] = field(default_factory=dict)

    def is_to(self, address: str) -> bool:
        """True if ``address`` is among the recipients (case-insensitive)."""
        wanted = address.strip().lower()
        return any(r.strip().lower() == wanted for r in self.recipients)

    @property
    def links(self) -> list[str]:
        """Every http(s) URL in the text part, then in the HTML part, in order, without duplicates."""
        found: list[str] = []
        for url in _URL.findall(self.text) + _URL.findall(self.html):
            url = url.replace("&amp;", "&").rstrip(".,)")
            if url not in found:
                found.append(url)
        return found

    @property
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
        values = parse_qs(urlsplit(link).query).get(name)
        return values[0] if values else None

    @property
    def flow_id(self) -> str | None:
        """The flow the mail belongs to, read from its verification link."""
        return self.link_param("flow")

    @property
    def token(self) -> str | None:
        """The link method's token, read from the verification link."""
        return self.link_param("token")

    @property
    def code(self) -> str | None:
        """The 6-digit verification code: from the subject, else the text, else the link's ``code`` parameter."""
        for text in (self.subject, self.text):
            m = _CODE.search(_without_urls(text))
            if m:
                return m.group(1)
        return self.link_param("code")


def _without_urls(text: str) -> str:
    return _URL.sub(" ", text)


def mail_from_bytes(mail_id: str, data: bytes, recipients: tuple[str, ...] = (), received_at: float = 0.0) -> Mail:
    """Parse an RFC 5322 message into a :class:`Mail` (text and HTML parts decoded)."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    to = recipients or tuple(a.strip() for a in str(msg.get("To", "")).split(",") if a.strip())
    return Mail(
        id=mail_id,
        recipients=tuple(_bare_address(a) for a in to),
        subject=str(msg.get("Subject", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
        sender=str(msg.get("From", "")),
        received_at=received_at,
        raw_headers={k: str(v) for k, v in msg.items()},
    )


def _bare_address(value: str) -> str:
    m = re.search(r"<([^>]+)>", value)
    return (m.group(1) if m else value).strip()
