"""Decoding submissions to /self-service/verification (POST bodies, and GET on the emailed links) as Kratos does.

Contract: ``decode(http_method, content_type, body, query, schema)`` returns a ``Submission``, a ``BodyError``
(Kratos answers it with message 4000001 carrying ``reason``) or a ``PayloadError`` (a value Kratos cannot even
unmarshal: it answers with an internal error body). Kratos's form decoder is followed step by step:
- Only GET and POST are decoded; a POST needs a body and a Content-Type of application/json,
  application/x-www-form-urlencoded or multipart/form-data (parameters such as charset are ignored).
- GET: the query. JSON: the body must be one JSON object (text after it is ignored); each top-level value
  becomes text the way a form would carry it (strings as they are, null as "", anything else as its JSON text,
  so ``{"code": 123}`` is the code "123"); query values override body values. Urlencoded: body values first,
  then the query; the first value of a repeated field counts. Multipart: the body is not read (Kratos's form
  parser skips it), only the query counts.
- Only the schema's properties are kept and empty strings count as absent. transient_payload is JSON text:
  unparsable -> ``PayloadError`` (JSON bodies) or ``BodyError`` (forms); parsed but not an object -> 4000026 on a
  transient_payload field; absent -> ``{}``.
- Schema violations become ``Submission.field_errors`` (field, message): a method outside the schema's enum
  (the code method's schema has one, the link method's has none) -> 4000001 on "method"; an email that is not
  an address -> 4000040 on "email".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from . import messages

ALLOWED_CONTENT_TYPES: tuple[str, ...] = ("multipart/form-data", "application/x-www-form-urlencoded",
                                          "application/json")
DECODED_METHODS: tuple[str, ...] = ("POST", "GET")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Schema:
    """The properties a method's submission schema knows, and the values its ``method`` property allows."""

    properties: tuple[str, ...]
    methods: tuple[str, ...] | None


CODE_SCHEMA = Schema(("method", "code", "email", "flow", "csrf_token", "transient_payload"), ("code", "link"))
LINK_SCHEMA = Schema(("method", "token", "email", "flow", "csrf_token", "transient_payload"), None)


@dataclass(frozen=True)
class BodyError:
    """The submission could not be decoded; ``reason`` is shown as message 4000001; ``kind`` names the problem."""

    reason: str
    kind: str


@dataclass(frozen=True)
class PayloadError:
    """A value could not be unmarshalled at all (not a validation problem); ``message`` says why."""

    message: str


@dataclass(frozen=True)
class Submission:
    """Decoded values (non-empty strings only), the transient payload and schema violations as (field, message)."""

    values: dict[str, str]
    transient_payload: Any = field(default_factory=dict)
    field_errors: tuple[tuple[str, dict[str, Any]], ...] = ()

    def get(self, name: str) -> str:
        """The value of ``name`` or ""."""
        return self.values.get(name, "")


Decoded = Submission | BodyError | PayloadError


def media_type(content_type: str | None) -> str:
    """The lowercase media type of a Content-Type header, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_request(http_method: str, content_type: str | None, body: bytes) -> BodyError | None:
    """Kratos's checks before decoding; None when the request may be decoded."""
    method = http_method.upper()
    if method not in DECODED_METHODS:
        return BodyError(f'Unable to decode body because HTTP Request Method was "{method}" but only '
                         f'[{" ".join(DECODED_METHODS)}] are supported.', "method")
    if method == "GET":
        return None
    if not body:
        return BodyError('Unable to decode HTTP Request Body because its HTTP Header "Content-Length" is zero.',
                         "empty")
    if media_type(content_type) not in ALLOWED_CONTENT_TYPES:
        allowed = " ".join(ALLOWED_CONTENT_TYPES)
        return BodyError(f'HTTP {method} Request used unknown HTTP Header "Content-Type: '
                         f'{content_type or ""}", only [{allowed}] are supported.', "content_type")
    return None


def decode(http_method: str, content_type: str | None, body: bytes, query: Iterable[tuple[str, str]],
           schema: Schema) -> Decoded:
    """Decode one submission against ``schema`` (see the module docstring)."""
    problem = check_request(http_method, content_type, body)
    if problem is not None:
        return problem
    query_pairs = list(query)
    kind = "form" if http_method.upper() == "GET" else media_type(content_type)
    if kind == "application/json":
        pairs = _json_pairs(body)
        if isinstance(pairs, BodyError):
            return pairs
        values = _first_values(pairs)
        values.update(_first_values(query_pairs))
    elif kind == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", errors="replace")
        bad = _BAD_ESCAPE.search(text)
        if bad:
            return BodyError(f'Unable to decode HTTP POST form body: invalid URL escape "{text[bad.start():][:3]}"',
                             "form")
        values = _first_values([*parse_qsl(text, keep_blank_values=True), *query_pairs])
    else:
        values = _first_values(query_pairs)
    return _validate(values, schema, json_body=kind == "application/json")


def _first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


def _json_pairs(body: bytes) -> list[tuple[str, str]] | BodyError:
    """The top-level members of a JSON object body as (name, text) pairs."""
    text = body.decode("utf-8", errors="replace").lstrip()
    try:
        parsed, _ = json.JSONDecoder().raw_decode(text)
    except (json.JSONDecodeError, RecursionError):
        return BodyError("Unable to decode form as JSON.", "json_syntax")
    if not isinstance(parsed, dict):
        return BodyError(f"Expected JSON sent in request body to be an object but got: {_gjson_type(parsed)}",
                         "json_not_object")
    return [(key, _as_text(value)) for key, value in parsed.items()]


def _as_text(value: Any) -> str:
    """A JSON value as form text: strings as they are, null as "", anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _gjson_type(value: Any) -> str:
    """The type name Kratos's JSON library (gjson) reports for a top-level value."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return "Number"
    return "String" if isinstance(value, str) else "JSON"


def _schema_type(value: Any) -> str:
    """The JSON Schema name of a value's type, as Kratos's validator reports it."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {dict: "object", list: "array", str: "string"}
    return names.get(type(value), "null")


def _validate(raw: dict[str, str], schema: Schema, *, json_body: bool) -> Decoded:
    """Keep the schema's properties, parse the transient payload and check the schema's rules."""
    values = {key: value for key, value in raw.items() if key in schema.properties and value != ""}
    errors: list[tuple[str, dict[str, Any]]] = []
    transient: Any = {}
    payload = values.pop("transient_payload", None)
    if payload is not None:
        try:
            transient = json.loads(payload)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "exceeded max depth"
            if json_body:
                return PayloadError(f"invalid transient_payload: {reason}")
            return BodyError(f"Unable to decode JSON payload: {reason}", "form")
        if not isinstance(transient, dict):
            errors.append(("transient_payload", messages.wrong_type("object", _schema_type(transient))))
    method = values.get("method")
    if schema.methods is not None and method is not None and method not in schema.methods:
        allowed = ", ".join(f'"{name}"' for name in schema.methods)
        errors.append(("method", messages.generic_error(f"value must be one of {allowed}")))
    email = values.get("email")
    if email is not None and not is_valid_email(email):
        errors.append(("email", messages.invalid_email(email)))
    return Submission(values, transient, tuple(errors))


def is_valid_email(value: str) -> bool:
    """A pragmatic "format: email" check: local@hostname, lengths within RFC limits, no display names."""
    if len(value) > 254 or "@" not in value:
        return False
    local, _, domain = value.rpartition("@")
    if not local or len(local) > 64 or not _LOCAL_PART.match(local):
        return False
    host = domain[:-1] if domain.endswith(".") else domain
    if not host or len(host) > 253:
        return False
    return all(_HOST_LABEL.match(label) for label in host.split("."))
