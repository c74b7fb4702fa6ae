"""The mails the reference target sends (subjects as in Kratos; bodies are this project's own wording).

Contract: every builder returns ``MailContent(template_type, subject, text, html)``.
- code:    subject "Use code <code> to verify your account"; the text holds the code and the link
           ``<public>self-service/verification?flow=<id>&code=<code>``.
- link:    subject "Please verify your email address"; the text holds the link
           ``<public>self-service/verification?flow=<id>&token=<token>``.
- unknown: subject "Someone tried to verify this email address" (only with notify_unknown_recipients).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class MailContent:
    """One mail: a template type (Kratos's names), subject, plain text and an HTML alternative."""

    template_type: str
    subject: str
    text: str
    html: str


def code_mail(code: str, link: str | None) -> MailContent:
    """The verification code mail (it also carries the pre-filling link, unless ``link`` is None)."""
    text = (f"Hello,\n\nto verify your email address, enter this code:\n\n{code}\n\n"
            + (f"or open this link:\n\n{link}\n\n" if link else "")
            + "The code expires after a while; request a new one if needed.\n")
    html = (f"<p>Hello,</p><p>to verify your email address, enter this code:</p><p><strong>{escape(code)}</strong>"
            "</p>" + (f"<p>or open <a href=\"{escape(link)}\">this link</a>.</p>" if link else ""))
    return MailContent("verification_code_valid", f"Use code {code} to verify your account", text, html)


def link_mail(link: str) -> MailContent:
    """The verification link mail."""
    text = f"Hello,\n\nplease verify your email address by opening this link:\n\n{link}\n"
    html = f"<p>Hello,</p><p>please verify your email address by opening <a href=\"{escape(link)}\">this link</a>.</p>"
    return MailContent("verification_valid", "Please verify your email address", text, html)


def unknown_address_mail() -> MailContent:
    """The notice to an address that has no account (sent only when notify_unknown_recipients is on)."""
    text = ("Hello,\n\nsomeone asked to verify this email address, but there is no account with it. "
            "If it was you, check whether you signed up with another address. Otherwise ignore this mail.\n")
    html = ("<p>Hello,</p><p>someone asked to verify this email address, but there is no account with it. "
            "If it was you, check whether you signed up with another address. Otherwise ignore this mail.</p>")
    return MailContent("verification_invalid", "Someone tried to verify this email address", text, html)
