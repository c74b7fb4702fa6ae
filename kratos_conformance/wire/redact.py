"""Redaction of secrets at the point where an exchange is recorded.

Contract: nothing that leaves this module can carry a cookie value, a CSRF token, a verification code, a link
token, an Authorization header or an API key. Every recorded exchange passes through :func:`redact_headers`,
:func:`redact_url` and :func:`redact_body` before it is stored, so reports and logs only ever see the redacted
form. Redacted values keep their length class out of sight: they all become ``REDACTED``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kratos_conformance.wire.media_types import media_type

REDACTED = "REDACTED"

#: Header names whose whole value is a secret.
SECRET_HEADERS = frozenset({"authorization", "x-session-token", "x-api-key", "ory-api-key", "proxy-authorization"})
#: Query or form field names whose value is a secret.
SECRET_FIELDS = frozenset({"csrf_token", "code", "token", "api_key", "apikey", "password", "session_token"})

_COOKIE_PAIR = re.compile(r"(?P<name>[^=;,\s]+)=(?P<value>[^;,]*)")
_SET_COOKIE_ATTRS = frozenset({"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority"})
_SECRET_NAMES = "|".join(sorted(SECRET_FIELDS))
_QUERY_SECRET = re.compile(r"(?P<key>(?:^|[?&;\s])(?:" + _SECRET_NAMES + r")=)(?P<value>[^&#\s\"'<>]+)")


def redact_cookie_header(value: str) -> str:
    """Keep the cookie names of a ``Cookie`` header, hide every value."""
    return "; ".join(f"{m.group('name')}={REDACTED}" for m in _COOKIE_PAIR.finditer(value))


def redact_set_cookie(value: str) -> str:
    """Hide the value of a ``Set-Cookie`` header, keep its name and attributes (they are what checks look at)."""
    first, _, attrs = value.partition(";")
    name, _, _ = first.partition("=")
    return f"{name.strip()}={REDACTED}" + (f";{attrs}" if attrs else "")


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the headers with secret values replaced; order and repeated names are kept."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        if lower in SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} {REDACTED}" if rest else REDACTED
        elif lower == "cookie":
            value = redact_cookie_header(value)
        elif lower == "set-cookie":
            value = redact_set_cookie(value)
        elif lower == "location":
            value = redact_url(value)
        out.append((name, value))
    return out


def redact_url(url: str) -> str:
    """Hide secret query parameters (``token``, ``code``, ...) of a URL."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [(k, REDACTED if k.lower() in SECRET_FIELDS else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="/:")))


def redact_text(text: str) -> str:
    """Hide secret query parameters wherever a URL appears inside free text (HTML bodies, mail bodies)."""
    return _QUERY_SECRET.sub(lambda m: m.group("key") + REDACTED, text)


def redact_json(value: object) -> object:
    """Return a copy of a JSON document with secrets hidden.

    Hidden: values of keys named like a secret field; ``attributes.value`` of UI nodes whose name is a secret
    field (the CSRF token node, the code node); secret query parameters inside any string (continue links,
    ``request_url``).
    """
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if key in SECRET_FIELDS and isinstance(item, str) and item:
                out[key] = REDACTED
            else:
                out[key] = redact_json(item)
        attrs = out.get("attributes")
        if isinstance(attrs, dict) and attrs.get("name") in SECRET_FIELDS and attrs.get("value"):
            out["attributes"] = {**attrs, "value": REDACTED}
        return out
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def secret_values(value: object) -> set[str]:
    """The secrets a JSON document holds, as :func:`redact_json` finds them (to take out of text that quotes the
    document, such as a schema validator's message)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in SECRET_FIELDS and isinstance(item, str) and item:  # not error.code, a number
                found.add(item)
            found |= secret_values(item)
        attrs = value.get("attributes")
        if isinstance(attrs, Mapping) and attrs.get("name") in SECRET_FIELDS and attrs.get("value"):
            found.add(str(attrs["value"]))
    elif isinstance(value, list):
        for item in value:
            found |= secret_values(item)
    elif isinstance(value, str):
        found |= {m.group("value") for m in _QUERY_SECRET.finditer(value)}
    return found


#: codes and link tokens the run has received by mail: a failure detail that quotes a mail (its subject, a link)
#: must not show them, wherever the detail is written.
_RECEIVED: set[str] = set()


def remember_received(*values: str | None) -> None:
    """Note secrets that arrived by mail (a code, a link token), for :func:`received_secrets`."""
    _RECEIVED.update(v for v in values if v and len(v) >= MIN_SENT_SECRET)


def received_secrets() -> frozenset[str]:
    """Every secret noted by :func:`remember_received` in this process."""
    return frozenset(_RECEIVED)


def redact_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``secrets`` replaced by REDACTED (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


#: the most of one body that is kept for showing (reports, failure transcripts); the checks read the live body.
MAX_SHOWN_BODY = 256 * 1024
#: the shortest value taken out of an answer as a secret the request carried (a code has six digits).
MIN_SENT_SECRET = 6


def sent_secrets(headers: Iterable[tuple[str, str]], url: str, body: bytes, content_type: str | None) -> set[str]:
    """The secrets a request carried: cookie values, credentials in secret headers, secret query parameters and
    body fields. A server that reflects its request (an error page quoting the Cookie header, a debug header) would
    otherwise put them into what is shown; values shorter than :data:`MIN_SENT_SECRET` are left alone."""
    found: set[str] = set()
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            found |= {m.group("value") for m in _COOKIE_PAIR.finditer(value)}
        elif lower in SECRET_HEADERS:
            found.add(value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value)
    found |= {v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k.lower() in SECRET_FIELDS}
    if body:
        ctype = media_type(content_type)
        text = body.decode("utf-8", errors="replace")
        if ctype == "application/x-www-form-urlencoded":
            found |= {v for k, v in parse_qsl(text, keep_blank_values=True) if k.lower() in SECRET_FIELDS}
        elif ctype.endswith("json"):
            try:
                found |= secret_values(json.loads(text))
            except (ValueError, RecursionError):
                pass
    return {v.strip() for v in found if len(v.strip()) >= MIN_SENT_SECRET}


def redact_body(body: bytes, content_type: str | None, also: Iterable[str] = ()) -> str:
    """Return a printable, redacted rendering of a request or response body, at most :data:`MAX_SHOWN_BODY`
    characters of it; ``also``: further secret values to take out (those the request carried)."""
    if not body:
        return ""
    shown = _redacted_body(body, content_type)
    if also:
        shown = redact_values(shown, also)
    if len(shown) > MAX_SHOWN_BODY:
        shown = shown[:MAX_SHOWN_BODY] + f"\n[... {len(shown) - MAX_SHOWN_BODY} more characters not shown]"
    return shown


def _redacted_body(body: bytes, content_type: str | None) -> str:
    ctype = media_type(content_type)
    text = body.decode("utf-8", errors="replace")
    if ctype.endswith("json") or ctype == "":
        try:
            return json.dumps(redact_json(json.loads(text)), indent=2, sort_keys=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses: shown as text
            pass
    if ctype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True)
        return urlencode([(k, REDACTED if k.lower() in SECRET_FIELDS else v) for k, v in pairs])
    if ctype.startswith("multipart/"):
        return _redact_multipart(text)
    return redact_text(text)


_MULTIPART_FIELD = re.compile(
    r'(name="(?P<name>[^"]+)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>[^\r\n]*)', re.IGNORECASE
)


def _redact_multipart(text: str) -> str:
    def hide(m: re.Match[str]) -> str:
        if m.group("name").lower() in SECRET_FIELDS:
            return m.group(1) + REDACTED
        return m.group(0)

    return _MULTIPART_FIELD.sub(hide, text)
