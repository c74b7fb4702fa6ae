"""Anti-CSRF cookie and token handling.

Contract:
- Cookie name: ``csrf_token_<hex sha256 of the public base URL>``; attributes Path=/, Max-Age=31536000,
  HttpOnly, SameSite=Lax, plus Secure unless the target runs in dev mode.
- The cookie holds a random 32-byte secret, base64url-encoded without padding.
- The token put into forms and flows is *masked* (the BREACH mitigation Kratos's nosurf uses): a fresh random
  32-byte pad followed by pad XOR secret, base64url-encoded. Every masked token differs from the cookie and
  from every other masked token, yet unmasks to the same secret, so a token "matches" a cookie when
  ``unmask(token) == secret`` (constant-time compare).
- ``csrf_violation(...)`` builds the 403 ``security_csrf_violation`` error with Kratos's hint and
  ``details.reject_reason`` texts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

SECRET_BYTES = 32
COOKIE_MAX_AGE = 31_536_000

_REASON = ("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from "
           "Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, "
           "and other serious security issues.")
_MESSAGE = ("The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account "
            "takeover, leaking personal information, and other serious security issues.")
_DOCS = "https://www.ory.sh/docs/kratos/debug/csrf"
_HINT_AJAX = ("We detected an AJAX call, please ensure that CORS is enabled and configured correctly, and that your "
              "AJAX code sends cookies and has credentials enabled. For further debugging, check your browser's "
              "network tab to see what cookies are included or excluded.")
_HINT_SERVER = ("We detected a regular browser or server-side call. To debug browser calls check your browser's "
                "network tab to see what cookies are included or excluded. If you are calling from a server ensure "
                "that the appropriate cookies are being forwarded and that the SDK method is called correctly.")
REJECT_NO_COOKIES = "The HTTP cookie header is empty or not set."
REJECT_COOKIE_MISSING = "The HTTP cookie header was set but did not include the anti-CSRF cookie."
REJECT_TOKEN_NOT_SENT = ("The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request "
                         "body (csrf_token) nor in the HTTP header (X-CSRF-Token).")
REJECT_MISMATCH = ("The HTTP cookie header was set and a CSRF token was sent but they do not match. We recommend "
                   "deleting all cookies for this domain and retrying the flow.")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def cookie_name(public_url: str) -> str:
    """The CSRF cookie name for a target whose public base URL is ``public_url``."""
    return "csrf_token_" + hashlib.sha256(public_url.encode("utf-8")).hexdigest()


def new_secret() -> bytes:
    """A fresh random cookie secret."""
    return secrets.token_bytes(SECRET_BYTES)


def encode_cookie(secret: bytes) -> str:
    """The cookie value carrying ``secret``."""
    return _b64encode(secret)


def decode_cookie(value: str | None) -> bytes | None:
    """The secret in a cookie value, or None when the value is missing or malformed."""
    if not value or len(value) > 128:
        return None
    secret = _b64decode(value)
    return secret if secret is not None and len(secret) == SECRET_BYTES else None


def mask(secret: bytes) -> str:
    """A fresh masked token for ``secret`` (pad || pad XOR secret)."""
    pad = secrets.token_bytes(SECRET_BYTES)
    return _b64encode(pad + bytes(a ^ b for a, b in zip(pad, secret)))


def unmask(token: str | None) -> bytes | None:
    """The secret a masked token stands for, or None when the token is malformed."""
    if not token or len(token) > 256:
        return None
    raw = _b64decode(token)
    if raw is None or len(raw) != 2 * SECRET_BYTES:
        return None
    pad, masked = raw[:SECRET_BYTES], raw[SECRET_BYTES:]
    return bytes(a ^ b for a, b in zip(pad, masked))


def token_matches(token: str | None, secret: bytes | None) -> bool:
    """True when the masked ``token`` unmasks to ``secret``."""
    unmasked = unmask(token)
    return secret is not None and unmasked is not None and hmac.compare_digest(unmasked, secret)


def set_cookie_header(name: str, secret: bytes, *, secure: bool, http_only: bool = True) -> str:
    """The Set-Cookie header value for the CSRF cookie."""
    parts = [f"{name}={encode_cookie(secret)}", "Path=/", f"Max-Age={COOKIE_MAX_AGE}"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    parts.append("SameSite=Lax")
    return "; ".join(parts)


def csrf_violation(*, has_cookie_header: bool, has_csrf_cookie: bool, token_sent: bool, ajax: bool) -> dict[str, Any]:
    """The 403 security_csrf_violation error (the ``error`` object), with hint and reject_reason."""
    if not has_cookie_header:
        reject = REJECT_NO_COOKIES
    elif not has_csrf_cookie:
        reject = REJECT_COOKIE_MISSING
    elif not token_sent:
        reject = REJECT_TOKEN_NOT_SENT
    else:
        reject = REJECT_MISMATCH
    hint = REJECT_TOKEN_NOT_SENT if reject == REJECT_TOKEN_NOT_SENT else (_HINT_AJAX if ajax else _HINT_SERVER)
    return {"id": "security_csrf_violation", "code": 403, "status": "Forbidden", "reason": _REASON,
            "details": {"docs": _DOCS, "hint": hint, "reject_reason": reject}, "message": _MESSAGE}
