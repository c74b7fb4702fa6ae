"""Debug aid for the leak test: write down the REAL secrets a run handled, so a test can grep the reports for them.

Off unless ``KRATOS_CONFORMANCE_DEBUG_SECRETS_FILE`` names a file, which must lie outside the report directory.
The report plugin then appends, after each test, one JSON line ``{"test": nodeid, "secrets": {kind: [...]}}`` with every
cookie value, CSRF token, verification code, link token and credential the test's exchanges and mails carried
(read from the live requests and responses, before redaction), by kind. Nothing else ever reads the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kratos_conformance.mail import Mail
from kratos_conformance.run.options import DEBUG_SECRETS_ENV
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.redact import SECRET_FIELDS, SECRET_HEADERS

#: the variable that names the file (named once, in kratos_conformance.run.options)
ENV = DEBUG_SECRETS_ENV
#: shorter values are not secrets worth grepping for (codes have 6 digits).
MIN_LENGTH = 6
_IN_TEXT = re.compile(r"(?:^|[?&;\s\"'])(" + "|".join(sorted(SECRET_FIELDS)) + r")=([^&#\s\"'<>]+)")
Found = Iterator[tuple[str, str]]
"""(kind, value) pairs: the kind is the field name (code, token, csrf_token, ...), ``cookie`` or ``credential``."""


def _query(url: str | None) -> Found:
    for key, value in parse_qsl(urlsplit(url or "").query, keep_blank_values=True):
        if key.lower() in SECRET_FIELDS:
            yield key.lower(), value


def _json_secrets(doc: Any) -> Found:
    if isinstance(doc, dict):
        attrs = doc.get("attributes")
        if isinstance(attrs, dict) and attrs.get("name") in SECRET_FIELDS and isinstance(attrs.get("value"), str):
            yield attrs["name"], attrs["value"]
        for key, value in doc.items():
            if key in SECRET_FIELDS and isinstance(value, str):
                yield key, value
            else:
                yield from _json_secrets(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _json_secrets(item)
    elif isinstance(doc, str):
        yield from _IN_TEXT.findall(doc)


def _body_secrets(content: bytes) -> Found:
    text = content.decode("utf-8", errors="replace")
    try:
        yield from _json_secrets(json.loads(text))
    except (ValueError, RecursionError):
        yield from ((k.lower(), v) for k, v in parse_qsl(text, keep_blank_values=True) if k.lower() in SECRET_FIELDS)
        yield from _IN_TEXT.findall(text)


def _header_secrets(headers: Iterable[tuple[str, str]]) -> Found:
    for name, value in headers:
        lower = name.lower()
        if lower in SECRET_HEADERS:
            yield "credential", value.partition(" ")[2] or value
        elif lower == "cookie":
            yield from (("cookie", pair.partition("=")[2].strip()) for pair in value.split(";"))
        elif lower == "set-cookie":
            yield "cookie", value.split(";", 1)[0].partition("=")[2].strip()
        elif lower == "location":
            yield from _query(value)


Secrets = dict[str, set[str]]


def _collect(found: Iterable[tuple[str, str]]) -> Secrets:
    out: Secrets = {}
    for kind, value in found:
        if len(value) >= MIN_LENGTH:
            out.setdefault(kind, set()).add(value)
    return out


def exchange_secrets(ex: Exchange) -> Secrets:
    """Every secret value the live request and response of ``ex`` carried, by kind."""
    response = ex.response
    request = response.request
    return _collect(chain(
        _query(str(request.url)), _header_secrets(request.headers.multi_items()),
        _header_secrets(response.headers.multi_items()),
        _body_secrets(request.content if hasattr(request, "_content") else b""), _body_secrets(response.content),
    ))


def mail_secrets(mail: Mail) -> Secrets:
    """The code, the link token and every secret query value of the links in ``mail``, by kind."""
    return _collect(chain([("code", mail.code or ""), ("token", mail.token or "")],
                          (pair for link in mail.links for pair in _query(link))))


def merge(*parts: Secrets) -> Secrets:
    """The union of several findings."""
    out: Secrets = {}
    for part in parts:
        for kind, values in part.items():
            out.setdefault(kind, set()).update(values)
    return out


def check_location(path: Path, report_dir: Path) -> str | None:
    """Why ``path`` may not be used (it lies inside the report directory), or None."""
    try:
        path.resolve().relative_to(report_dir.resolve())
    except ValueError:
        return None
    return f"{ENV}={path} lies inside the report directory {report_dir}: it must not"


def dump(path: Path, test: str, found: Secrets) -> None:
    """Append one JSON line with the secrets of ``test``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"test": test, "secrets": {k: sorted(v) for k, v in sorted(found.items())}}) + "\n")


def read_dump(path: Path) -> Secrets:
    """Every secret written to ``path``, by kind."""
    return merge(*({k: set(v) for k, v in json.loads(line)["secrets"].items()}
                   for line in path.read_text(encoding="utf-8").splitlines() if line.strip()))
