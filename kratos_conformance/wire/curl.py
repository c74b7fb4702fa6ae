"""curl lines that send a recorded request again, every secret replaced by ``REDACTED``.

A failure shows one (fuzzing findings and the HTML summary alike) so that whoever reads it can repeat the request
by hand. Cookie values, CSRF tokens, codes and link tokens are hidden wherever they are (URL, headers, body); the
flow id is kept: it is what the request is about, not a secret.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from kratos_conformance.wire.media_types import media_type
from kratos_conformance.wire.redact import (
    REDACTED,
    SECRET_FIELDS,
    redact_body,
    redact_headers,
    redact_json,
    redact_text,
    redact_url,
)

#: headers every HTTP library adds; leaving them out keeps the reproduction short.
_NOISE_HEADERS = frozenset({"user-agent", "accept-encoding", "connection", "content-length",
                            "x-schemathesis-testcaseid"})
_SECRET_NAMES = "|".join(sorted(SECRET_FIELDS))
_JSONISH_SECRET = re.compile(r'(?P<key>"(?:' + _SECRET_NAMES + r')"\s*:\s*")(?P<value>(?:[^"\\]|\\.)*)')


def redact_request_body(body: bytes | str | None, content_type: str | None) -> str:
    """A request body with every secret hidden, compact enough for one curl line.

    JSON is re-serialized compactly; forms and multipart keep their shape; anything unparsable (truncated JSON,
    garbage) is searched for ``"csrf_token":"..."``-like pairs and secret query parameters.
    """
    if body is None:
        return ""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if not raw:
        return ""
    ctype = media_type(content_type)
    text = raw.decode("utf-8", errors="replace")
    if ctype.endswith("json"):
        try:
            return json.dumps(redact_json(json.loads(text)), separators=(",", ":"), ensure_ascii=False)
        except (ValueError, RecursionError):
            pass
    elif ctype in ("application/x-www-form-urlencoded",) or ctype.startswith("multipart/"):
        text = redact_body(raw, content_type)
    return _JSONISH_SECRET.sub(lambda m: m.group("key") + REDACTED, redact_text(text))


def _shell_quote(value: str) -> str:
    """Quote for a POSIX shell; control characters use bash's $'...' form."""
    if all(ch.isprintable() for ch in value):
        return shlex.quote(value)
    out = []
    for ch in value:
        if ch in ("\\", "'"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def _printf_format(value: str) -> str:
    """``value`` as a printf format string: every byte that is not printable ASCII as an octal escape."""
    out = []
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch == "%":
            out.append("%%")
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return shlex.quote("".join(out))


def curl_line(method: str, url: str, headers: Sequence[tuple[str, str]] | Mapping[str, str],
              body: bytes | str | None = None) -> str:
    """One shell line (curl) that sends this request again, with every secret replaced by ``REDACTED``.

    Cookie values, CSRF tokens, codes and link tokens (in the URL, the headers or the body) are hidden; the
    flow id is kept (it is what the request is about, not a secret). A body holding NUL bytes cannot be a
    command-line argument: it is piped in with ``printf`` and ``--data-binary @-``.
    """
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    kept = [(k, v) for k, v in items if k.lower() not in _NOISE_HEADERS]
    parts = ["curl"]
    if method.upper() != "GET" or body:
        parts += ["-X", method.upper()]
    for name, value in redact_headers(kept):
        parts += ["-H", _shell_quote(f"{name}: {value}")]
    content_type = next((v for k, v in items if k.lower() == "content-type"), None)
    rendered = redact_request_body(body, content_type)
    prefix = ""
    if "\x00" in rendered:
        prefix = f"printf {_printf_format(rendered)} | "
        parts += ["--data-binary", "@-"]
    elif rendered:
        parts += ["--data-binary", _shell_quote(rendered)]
    parts.append(_shell_quote(redact_url(url)))
    return prefix + " ".join(parts)




def curl_for_exchange(exchange: Mapping[str, Any]) -> str:
    """The curl line of a recorded exchange (:meth:`~kratos_conformance.wire.exchanges.Exchange.as_dict`: already
    redacted, so nothing secret can come back)."""
    return curl_line(str(exchange["method"]), str(exchange["url"]), list(exchange["request_headers"]),
                     exchange.get("request_body") or None)
