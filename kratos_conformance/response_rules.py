"""The rules one response is held to, each written once.

The scenarios (through :mod:`~kratos_conformance.checks`), the contract judge that sees every exchange
(:mod:`~kratos_conformance.contract_checks`) and the fuzzer's checks (:mod:`~kratos_conformance.fuzzing`) all ask
these functions, so a rule cannot be stricter in one place than in another. Each answers with what is wrong, in
words, or with nothing when the response keeps the rule. Message ids and node layouts, which depend on the
release, are :mod:`~kratos_conformance.ui_expectations`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .redact import redact_url

# --- VER-RESP-NO-LEAK ----------------------------------------------------------------------------------------

#: stack traces of the languages identity servers are written in (Python, Go, Java)
LEAK_PATTERN = re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+|goroutine \d+ \[|panic: |'
                          r'\bat [\w.$]+\([\w]+\.java:\d+\)')


def leak(text: str, document: Any) -> str | None:
    """What a response body leaks (a stack trace, an ``error.debug`` member), or None.

    ``text`` is the body as text, ``document`` its parsed JSON (None when it is not JSON)."""
    m = LEAK_PATTERN.search(text)
    if m:
        return f"stack trace ({m.group(0)[:60]!r})"
    err = document.get("error") if isinstance(document, dict) else None
    if isinstance(err, dict) and "debug" in err:
        return "error.debug is present"
    return None


# --- VER-GET-CACHE-CONTROL ----------------------------------------------------------------------------------

#: the directives Kratos marks a flow read with (``private, no-cache, no-store, must-revalidate``)
NO_CACHE_DIRECTIVES = ("private", "no-cache", "no-store", "must-revalidate")


def cache_control_problem(value: str | None) -> str | None:
    """Why a ``Cache-Control`` value lets a flow be cached (None when it has every directive of
    :data:`NO_CACHE_DIRECTIVES`, in any order, among any others)."""
    directives = {d.strip().lower() for d in (value or "").split(",") if d.strip()}
    missing = [d for d in NO_CACHE_DIRECTIVES if d not in directives]
    if not missing:
        return None
    return (f"Cache-Control {value or '(absent)'!r} lacks {', '.join(missing)} "
            f"(expected '{', '.join(NO_CACHE_DIRECTIVES)}')")


# --- VER-INIT-CSRF-COOKIE -----------------------------------------------------------------------------------

CSRF_COOKIE_NAME = re.compile(r"^csrf_token_[0-9a-f]{64}$")


def is_csrf_cookie(set_cookie: str) -> bool:
    """The ``Set-Cookie`` value sets an anti-CSRF cookie (``csrf_token...``)."""
    return set_cookie.split("=", 1)[0].strip().startswith("csrf_token")


def cookie_attributes(set_cookie: str) -> dict[str, str]:
    """The attributes of one ``Set-Cookie`` value, by lower-case name (a flag such as HttpOnly maps to "")."""
    attrs: dict[str, str] = {}
    for part in set_cookie.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key:
            attrs[key.lower()] = value.strip()
    return attrs


def csrf_cookie_problems(set_cookie: str, *, secure: bool | None = None) -> list[str]:
    """What is wrong with one CSRF ``Set-Cookie`` value (empty when it has Kratos's attributes).

    Kratos: ``csrf_token_<sha256 hex>``, HttpOnly, Path=/, SameSite=Lax, Max-Age=31536000; ``secure`` (when not
    None) says whether the Secure attribute is due (https deployments) or must be absent (plain http).
    """
    name = set_cookie.split("=", 1)[0].strip()
    attrs = cookie_attributes(set_cookie)
    problems = []
    if not CSRF_COOKIE_NAME.match(name):
        problems.append(f"name {name!r} is not csrf_token_<sha256 hex>")
    if "httponly" not in attrs:
        problems.append("not HttpOnly")
    if attrs.get("path") != "/":
        problems.append(f"Path is {attrs.get('path')!r}, not '/'")
    if attrs.get("samesite", "").lower() != "lax":
        problems.append(f"SameSite is {attrs.get('samesite')!r}, not Lax")
    if attrs.get("max-age") != "31536000":
        problems.append(f"Max-Age is {attrs.get('max-age')!r}, not 31536000")
    if secure is not None and ("secure" in attrs) != secure:
        problems.append("Secure missing" if secure else "Secure set on a plain-http deployment")
    return problems


# --- VER-RESP-LOCATION --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RedirectTargets:
    """Where a server may send a client: its public API, its UI, its error UI, an allow-listed return_to."""

    public_url: str
    ui_url: str | None = None
    error_ui_url: str | None = None
    return_to: str | None = None

    @property
    def known(self) -> bool:
        """Both UIs are known, so a redirect elsewhere can be told apart from one to them."""
        return self.ui_url is not None and self.error_ui_url is not None


def under(location: str, prefix: str | None) -> bool:
    """``location`` is ``prefix`` or lies below it (``?``, ``#`` or ``/`` follows): ``https://ui.example/v``
    is not under ``https://ui.example/verification``, and ``https://app.example.com.evil`` is not under
    ``https://app.example.com``."""
    if not prefix or not location.startswith(prefix):
        return False
    rest = location[len(prefix):]
    return prefix.endswith("/") or rest == "" or rest[0] in "?#/"


def location_problem(location: str | None, targets: RedirectTargets) -> str | None:
    """Why a redirect's ``Location`` is not allowed (None when it points where the server may send clients).

    Every redirect needs an absolute http(s) Location; it must lie under the public API's ``self-service/``
    routes, the UI, the error UI or the return_to URL. When the UIs are not known only the shape is judged."""
    if not location:
        return "a redirect without a Location header"
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Location {redact_url(location)!r} is not an absolute http(s) URL"
    allowed = [targets.public_url + "self-service/", targets.ui_url, targets.error_ui_url, targets.return_to]
    if any(under(location, prefix) for prefix in allowed):
        return None
    if not targets.known:
        return None
    names = ", ".join(p for p in allowed if p)
    return f"Location {redact_url(location)!r} is none of the UI, the error UI or the public API ({names})"
