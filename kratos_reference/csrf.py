"""Anti-CSRF cookie and token handling, modelled on the nosurf middleware Kratos puts in front of its public API.

Contract:
- Cookie name: ``csrf_token_<hex sha256 of the public base URL>``; attributes Path=/, Max-Age=31536000,
  HttpOnly, SameSite=Lax, plus Secure unless the target runs in dev mode.
- The cookie holds a random 32-byte secret, base64url-encoded without padding.
- The token put into forms and flows is *masked* (the BREACH mitigation nosurf uses): a fresh random 32-byte pad
  followed by pad XOR secret, base64url-encoded. Every masked token differs from the cookie and from every other
  masked token, yet unmasks to the same secret, so a token "matches" a cookie when ``unmask(token) == secret``
  (constant-time compare). An unmasked secret sent as the token matches too.
- ``RequestCsrf`` is the per-request state: the secret of the request's valid cookie (if any), ``token()`` (a
  fresh masked token of it, "" without one) and ``regenerate()`` (a new secret, once per request, whose
  Set-Cookie the answer carries: ``issued``). Routes nosurf does not ignore (browser init, GET /flows) issue a
  cookie up front when the request brought no valid one (``issue_if_missing``); the API init and the submit
  route only issue one when the flow logic regenerates it.
- ``csrf_violation(...)`` builds the 403 ``security_csrf_violation`` error with Kratos's hint and reject reason:
  no Cookie header, no anti-CSRF cookie, no token sent (only judged for non-JSON bodies; this variant carries the
  hint alone), or a mismatch. The hint says "AJAX" when Sec-Fetch-Mode is ``cors`` or ``same-origin``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

SECRET_BYTES = 32
COOKIE_MAX_AGE = 31_536_000

_REASON = ("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from "
           "Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, "
           "and other serious security issues.")
_MESSAGE = "the request was rejected to protect you from Cross-Site-Request-Forgery"
_DOCS = "https://www.ory.sh/kratos/docs/debug/csrf"
_HINT_AJAX = ("We detected an AJAX call, please ensure that CORS is enabled and configured correctly, and that your "
              "AJAX code sends cookies and has credentials enabled. For further debugging, check your Browser's "
              "Network Tab to see what cookies are included or excluded.")
_HINT_SERVER = ("We detected a regular browser or server-side call. To debug browser calls check your Browser's "
                "Network Tab to see what cookies are included or excluded. If you are calling from a server ensure "
                "that the appropriate cookies are being forwarded and that the SDK method is called correctly.")
REJECT_NO_COOKIES = "The HTTP Cookie Header is empty or not set."
REJECT_COOKIE_MISSING = "The HTTP Cookie Header was set but did not include the anti-CSRF cookie."
HINT_TOKEN_NOT_SENT = ("The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request "
                       "body (csrf_token) nor in the HTTP Header (X-CSRF-Token).")
REJECT_MISMATCH = ("The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend "
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
    """The secret a token stands for (a masked token, or the bare secret), or None when it is malformed."""
    if not token or len(token) > 256:
        return None
    raw = _b64decode(token)
    if raw is not None and len(raw) == SECRET_BYTES:
        return raw
    if raw is None or len(raw) != 2 * SECRET_BYTES:
        return None
    pad, masked = raw[:SECRET_BYTES], raw[SECRET_BYTES:]
    return bytes(a ^ b for a, b in zip(pad, masked))


def token_matches(token: str | None, secret: bytes | None) -> bool:
    """True when ``token`` unmasks to ``secret``."""
    unmasked = unmask(token)
    return secret is not None and unmasked is not None and hmac.compare_digest(unmasked, secret)


def set_cookie_header(name: str, secret: bytes, *, secure: bool, same_site: str = "Lax", path: str = "/",
                      http_only: bool = True) -> str:
    """The Set-Cookie header value for the CSRF cookie: SameSite as configured on a Secure cookie, else Lax (as
    Kratos: browsers refuse SameSite=None without Secure)."""
    parts = [f"{name}={encode_cookie(secret)}", f"Path={path}", f"Max-Age={COOKIE_MAX_AGE}"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    parts.append(f"SameSite={same_site if secure else 'Lax'}")
    return "; ".join(parts)


class RequestCsrf:
    """The CSRF state of one request: the cookie's secret, tokens for it, and a cookie (re)issued by the answer."""

    def __init__(self, cookie_value: str | None, *, issue_if_missing: bool) -> None:
        self.secret = decode_cookie(cookie_value)
        self.issued: bytes | None = None
        if self.secret is None and issue_if_missing:
            self.regenerate()

    def token(self) -> str:
        """A fresh masked token of the request's secret, or "" when the request has none."""
        return mask(self.secret) if self.secret is not None else ""

    def regenerate(self) -> str:
        """Issue a new cookie secret (at most once per request) and return a token for it."""
        if self.issued is None:
            self.issued = self.secret = new_secret()
        return self.token()

    def matches(self, token: str | None) -> bool:
        """True when ``token`` stands for the request's secret."""
        return token_matches(token, self.secret)


def csrf_violation(headers: Mapping[str, str], cookies: Mapping[str, str], name: str,
                   form_token: str | None) -> dict[str, Any]:
    """The 403 security_csrf_violation error (the ``error`` object) for a request whose token was refused.

    ``headers`` are keyed lower-case; ``form_token`` is the csrf_token the request's form carried (None when the
    request has no form, e.g. a GET)."""
    ajax = headers.get("sec-fetch-mode", "") in ("cors", "same-origin")
    hint = _HINT_AJAX if ajax else _HINT_SERVER
    details: dict[str, Any] = {"docs": _DOCS}
    if not headers.get("cookie"):
        details.update(hint=hint, reject_reason=REJECT_NO_COOKIES)
    elif name not in cookies:
        details.update(hint=hint, reject_reason=REJECT_COOKIE_MISSING)
    elif not headers.get("content-type", "").startswith("application/json") and not (
            form_token or headers.get("x-csrf-token")):
        details.update(hint=HINT_TOKEN_NOT_SENT)
    else:
        details.update(hint=hint, reject_reason=REJECT_MISMATCH)
    return {"id": "security_csrf_violation", "code": 403, "status": "Forbidden", "reason": _REASON,
            "details": details, "message": _MESSAGE}
