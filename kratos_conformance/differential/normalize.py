"""Turn one target's answers into a form that another target's answers can be compared with.

What varies between two healthy servers and between two runs is abstracted; what a client can rely on is kept.

- abstracted: ids (every UUID becomes ``<id1>``, ``<id2>``... in order of first appearance within a case, so "the
  same flow" and "a new flow" stay apart), timestamps (``<time>``), durations, CSRF tokens, codes and link tokens
  (``<csrf>``, ``<code>``, ``<token>``), cookie values, the addresses a case made up (``<addr1>``...), and the base
  URLs each server was configured with (``<public>/``, ``<ui>``, ``<error-ui>``, ``<return-to>``, ...);
- kept: the request as sent, status, the headers a client acts on (Content-Type, Location, Cache-Control,
  Set-Cookie name and attributes), the JSON body with its states, active method, messages (ids, types, texts), node
  names, types, groups, order and labels, error ids, codes and details.

A :class:`Normalizer` lives as long as one case: its id and address numbering is what makes two cases comparable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kratos_conformance.rules.response_rules import CSRF_COOKIE_NAME, cookie_shape
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.media_types import media_type

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
_DECIMAL = re.compile(r"\b\d+\.\d+\b")
_SIX_DIGITS = re.compile(r"^\d{6}$")

#: response headers a client acts on; the others (Date, Vary, Content-Length...) are left out.
KEPT_RESPONSE_HEADERS = ("content-type", "location", "cache-control", "set-cookie")
#: request headers that change how a server answers (Accept and Content-Type decide JSON vs redirect).
KEPT_REQUEST_HEADERS = ("accept", "content-type", "origin")
#: query and body fields whose values are secrets, and what they become.
SECRET_FIELDS = {"csrf_token": "<csrf>", "code": "<code>", "token": "<token>"}
#: keys whose values are timings that differ on every run.
VOLATILE_NUMBERS = {"since", "expired_at_unix"}


class Normalizer:
    """Normalizes the exchanges and observations of one case against the base URLs of one target."""

    def __init__(self, bases: Mapping[str, str | None]) -> None:
        # longest first, so <public>ui/verification is the UI, not <public>/ui/verification
        self._bases = sorted(((url, name) for name, url in bases.items() if url), key=lambda b: -len(b[0]))
        self._ids: dict[str, str] = {}
        self._addresses: dict[str, str] = {}

    # -- placeholders ------------------------------------------------------------------------------------------
    def id(self, value: str) -> str:
        """``<idN>`` for a UUID, the same N every time this case shows it."""
        key = value.lower()
        if key not in self._ids:
            self._ids[key] = f"<id{len(self._ids) + 1}>"
        return self._ids[key]

    def address(self, value: str) -> str:
        """``<addrN>`` for an address the case made up."""
        key = value.lower()
        if key not in self._addresses:
            self._addresses[key] = f"<addr{len(self._addresses) + 1}>"
        return self._addresses[key]

    def known_address(self, value: str) -> bool:
        return value.lower() in self._addresses

    # -- values ------------------------------------------------------------------------------------------------
    def url(self, value: str) -> str:
        """A URL with its base replaced by the base's name and its query values normalized (keys sorted)."""
        head, sep, query = value.partition("?")
        for base, name in self._bases:
            root = base.rstrip("/")
            if head.rstrip("/") == root:
                head = f"<{name}>"
                break
            if head.startswith(root + "/"):
                head = f"<{name}>/{head[len(root) + 1:]}"
                break
        else:
            parts = urlsplit(head)
            if parts.scheme and parts.netloc:
                head = f"<foreign:{parts.netloc}>{parts.path}"
        if not sep:
            return self.text(head)
        pairs = sorted(parse_qsl(query, keep_blank_values=True))
        normalized = "&".join(f"{k}={self.field(k, v)}" for k, v in pairs)
        return f"{self.text(head)}?{normalized}"

    def field(self, name: str, value: Any) -> Any:
        """A form, query or JSON field value: secrets by name, then by shape."""
        if name in SECRET_FIELDS and isinstance(value, str) and value:
            if name == "code" and not _SIX_DIGITS.match(value):
                return f"<code:{len(value)} chars>"
            return SECRET_FIELDS[name]
        if name == "return_to" and isinstance(value, str) and "://" in value:
            return self.url(value)
        return self.value(value)

    def value(self, value: Any, key: str = "") -> Any:
        """Any JSON value, recursively."""
        if isinstance(value, dict):
            return self.document(value)
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            return f"<{key}>" if key in VOLATILE_NUMBERS else value
        if not isinstance(value, str):
            return value
        if _TIME.match(value):
            return "<time>"
        if "://" in value and " " not in value:
            return self.url(value)
        return self.text(value)

    def text(self, value: str) -> str:
        """A string with ids, made-up addresses and decimal numbers (``expired 0.02 minutes ago``) abstracted."""
        value = _UUID.sub(lambda m: self.id(m.group(0)), value)
        for address, placeholder in self._addresses.items():
            value = re.sub(re.escape(address), placeholder, value, flags=re.IGNORECASE)
        return _DECIMAL.sub("<n>", value)

    def document(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A JSON object; node attributes of secret inputs lose their values."""
        out: dict[str, Any] = {}
        for key, value in doc.items():
            out[key] = self.field(key, value) if key in SECRET_FIELDS and isinstance(value, str) else \
                self.value(value, key)
        attrs = doc.get("attributes")
        if isinstance(attrs, dict) and attrs.get("name") in SECRET_FIELDS and "value" in attrs:
            out["attributes"] = {**out["attributes"],
                                 "value": self.field(str(attrs["name"]), attrs.get("value"))}
        return out

    # -- headers and bodies ------------------------------------------------------------------------------------
    def set_cookie(self, raw: str) -> str:
        """``name=<value>; attr; attr`` with the CSRF cookie's hashed name abstracted and attributes sorted."""
        name, attrs = cookie_shape(raw)
        if CSRF_COOKIE_NAME.match(name):
            name = "csrf_token_<sha256>"
        return "; ".join([f"{name}=<value>", *attrs])

    def body(self, content: bytes, content_type: str) -> Any:
        """A body: parsed JSON or form fields, ``<html>`` for markup, ``<N bytes>`` for anything else."""
        if not content:
            return None
        media = media_type(content_type)
        if media.endswith("json"):
            try:
                return self.value(json.loads(content))
            except (ValueError, RecursionError):
                return f"<invalid json: {len(content)} bytes>"
        if media == "application/x-www-form-urlencoded":
            pairs = parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: self.field(k, v) for k, v in pairs}
        if media.startswith("text/html"):
            return "<html>"
        if media == "multipart/form-data":
            return f"<multipart: {len(content)} bytes>"
        return f"<{media or 'no type'}: {len(content)} bytes>"

    def exchange(self, ex: Exchange) -> dict[str, Any]:
        """One request and its answer, from the live request and response (never the redacted copies)."""
        request = ex.response.request
        req_headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in KEPT_REQUEST_HEADERS}
        if "content-type" in req_headers:
            req_headers["content-type"] = media_type(req_headers["content-type"])
        cookies = sorted(self.set_cookie(c).split("=", 1)[0] for c in request.headers.get("cookie", "").split(";")
                         if c.strip())
        sent: dict[str, Any] = {"method": request.method, "url": self.url(str(request.url)), "headers": req_headers}
        if cookies:
            sent["cookies"] = cookies
        req_content = request.content if hasattr(request, "_content") else b""
        if req_content:
            sent["body"] = self.body(req_content, request.headers.get("content-type", ""))
        headers: dict[str, Any] = {}
        for name in KEPT_RESPONSE_HEADERS:
            values = ex.response.headers.get_list(name)
            if not values:
                continue
            if name == "set-cookie":
                headers[name] = sorted(self.set_cookie(v) for v in values)
            elif name == "location":
                headers[name] = self.url(values[0])
            else:
                headers[name] = values[0]
        answer: dict[str, Any] = {"status": ex.status, "headers": headers}
        body = self.body(ex.response.content, ex.response.headers.get("content-type", ""))
        if body is not None:
            answer["body"] = body
        return {"request": sent, "response": answer}
