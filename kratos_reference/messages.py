"""UI text messages (``uiText``) with the ids, types and texts of Ory Kratos v26.2.0.

Contract: every builder returns a fresh JSON-ready dict ``{"id", "text", "type"[, "context"]}``.
Only messages with something to say in it carry a ``context`` (validation errors and the expiry notice), as in
Kratos; node labels and the info, success and verification error messages have none.
"""

from __future__ import annotations

from typing import Any

from .timefmt import format_time

Message = dict[str, Any]


#: a label id no Kratos release uses (the email_label_renumbered fault puts it on the email input)
UNKNOWN_LABEL_ID = 1070099


def _message(message_id: int, text: str, message_type: str, context: dict[str, Any] | None) -> Message:
    message: Message = {"id": message_id, "text": text, "type": message_type}
    if context is not None:
        message["context"] = context
    return message


# --- node labels (no context) -------------------------------------------------------------------

def label_submit() -> Message:
    """1070009 "Continue": the label of submit buttons and of the continue link."""
    return _message(1070009, "Continue", "info", None)


def label_email() -> Message:
    """1070007 "Email": the label of the email input."""
    return _message(1070007, "Email", "info", None)


def label_resend_code() -> Message:
    """1070008 "Resend code": the label of the resend button."""
    return _message(1070008, "Resend code", "info", None)


def label_verification_code() -> Message:
    """1070011 "Verification code": the label of the code input."""
    return _message(1070011, "Verification code", "info", None)


# --- flow messages --------------------------------------------------------------------------------

_SENT_SUFFIX = (" If you have not received an email, check the spelling of the address and make sure to use"
                " the address you registered with.")


def verification_link_sent() -> Message:
    """1080001: the link mail was sent (or would have been, for an unknown address)."""
    return _message(1080001, "An email containing a verification link has been sent to the email address you "
                    "provided." + _SENT_SUFFIX, "info", None)


def verification_successful() -> Message:
    """1080002: the address was verified."""
    return _message(1080002, "You successfully verified your email address.", "success", None)


def verification_code_sent() -> Message:
    """1080003: the code mail was sent (or would have been, for an unknown address)."""
    return _message(1080003, "An email containing a verification code has been sent to the email address you "
                    "provided." + _SENT_SUFFIX, "info", None)


def token_invalid_or_used() -> Message:
    """4070001: the link token is unknown, used or belongs to another flow."""
    return _message(4070001, "The verification token is invalid or has already been used. Please retry the flow.",
                    "error", None)


def retry_after_success() -> Message:
    """4070002: the flow already passed its challenge."""
    return _message(4070002, "The request was already completed successfully and can not be retried.", "error", None)


def state_failure() -> Message:
    """4070003: the flow is in an unknown state."""
    return _message(4070003, "The verification flow reached a failure state and must be retried.", "error", None)


def flow_expired(expired_at_us: int, now_us: int) -> Message:
    """4070005: the flow, code or link expired; text carries the minutes since expiry with two decimals."""
    minutes = max(0, now_us - expired_at_us) / 60_000_000
    return _message(4070005, f"The verification flow expired {minutes:.2f} minutes ago, please try again.",
                    "error", {"expired_at": format_time(expired_at_us), "expired_at_unix": expired_at_us // 1_000_000})


def code_invalid_or_used() -> Message:
    """4070006: the flow issued no such code (a wrong one, one replaced by a resend, another flow's)."""
    return _message(4070006, "The verification code is invalid or has already been used. Please try again.",
                    "error", None)


def no_strategy_found() -> Message:
    """4010006: no method takes the submission (or the flow refuses submissions after one no method took)."""
    return _message(4010006, "Could not find a strategy to verify your account with. Did you fill out the form "
                    "correctly?", "error", None)


def generic_error(reason: str) -> Message:
    """4000001: a generic validation error whose text is the reason."""
    return _message(4000001, reason, "error", {"reason": reason})


def property_missing(name: str) -> Message:
    """4000002: a required property is missing."""
    return _message(4000002, f"Property {name} is missing.", "error", {"property": name})


def wrong_type(allowed: str, actual: str) -> Message:
    """4000026: a value of the wrong JSON type (e.g. a non-object transient_payload)."""
    return _message(4000026, f"expected {allowed}, but got {actual}", "error",
                    {"allowed_types": [allowed], "actual_type": actual})


#: the id of :func:`invalid_email`
INVALID_EMAIL_ID = 4000040


def invalid_email(value: str) -> Message:
    """4000040: the email property is not a valid address (v26.2.0 wording)."""
    return _message(INVALID_EMAIL_ID, "Enter a valid email address", "error", {"value": value})
