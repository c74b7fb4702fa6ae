"""Decoding submission bodies of POST/GET /self-service/verification (framework-free).

Contract:
- ``check_request(http_method, content_type, body)`` rejects what Kratos's decoder rejects before parsing:
  an empty POST body and a Content-Type other than application/json, application/x-www-form-urlencoded or
  multipart/form-data (parameters such as charset are ignored). The result is a ``BodyError`` with Kratos's
  reason text, shown to the client as message 4000001.
- ``decode_json(body, query)``: the body must be a JSON object whose properties have the schema's types
  (strings; transient_payload an object; null counts as absent): a wrong type is a 4000001 "expected string, but
  got array" on that field, as Kratos validates JSON bodies against its schema. Query values override body
  values, as in Kratos.
- ``decode_pairs(body_pairs, query_pairs)``: form fields (urlencoded or multipart); body values win over query
  values; the first value of a repeated field counts.
- Only the schema properties (method, code, token, email, flow, csrf_token, transient_payload) are kept and
  empty strings count as absent. ``Submission.field_errors`` lists schema violations per field:
  method not in {code, link} -> 4000001 on "method"; email not an address -> 4000040 on "email".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import messages

SCHEMA_PROPERTIES: tuple[str, ...] = ("method", "code", "token", "email", "flow", "csrf_token", "transient_payload")
ALLOWED_CONTENT_TYPES: tuple[str, ...] = ("multipart/form-data", "application/x-www-form-urlencoded",
                                          "application/json")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@dataclass(frozen=True)
class BodyError:
    """The body could not be decoded; ``reason`` is shown as message 4000001; ``kind`` names the problem."""

    reason: str
    kind: str


@dataclass(frozen=True)
class Submission:
    """Decoded submission values (non-empty strings only) and schema violations as (field, message)."""

    values: dict[str, str]
    field_errors: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)

    def get(self, name: str) -> str:
        """The value of ``name`` or ""."""
        return self.values.get(name, "")


def media_type(content_type: str | None) -> str:
    """The lowercase media type of a Content-Type header, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_request(http_method: str, content_type: str | None, body: bytes) -> BodyError | None:
    """Kratos's pre-decoding checks for a POST; None when the body may be decoded."""
    if http_method.upper() == "GET":
        return None
    if not body:
        return BodyError('Unable to decode HTTP Request Body because its HTTP Header "Content-Length" is zero.',
                         "empty")
    if media_type(content_type) not in ALLOWED_CONTENT_TYPES:
        allowed = " ".join(ALLOWED_CONTENT_TYPES)
        return BodyError(f'HTTP {http_method.upper()} Request used unknown HTTP Header "Content-Type: '
                         f'{content_type or ""}", only [{allowed}] are supported.', "content_type")
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _json_type_name(value: Any) -> str:
    """The type name Kratos's JSON library (gjson) reports for a top-level value."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return "Number"
    return "String" if isinstance(value, str) else "JSON"


def decode_json(body: bytes, query: Iterable[tuple[str, str]]) -> Submission | BodyError:
    """Decode a JSON object body merged with the query (query wins)."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return BodyError("Unable to decode form as JSON.", "json_syntax")
    if not isinstance(parsed, dict):
        return BodyError(f"Expected JSON sent in request body to be an object but got: {_json_type_name(parsed)}",
                         "json_not_object")
    values = {key: _as_text(value) for key, value in parsed.items() if key in SCHEMA_PROPERTIES}
    for key, value in query:
        if key in SCHEMA_PROPERTIES:
            values[key] = value
    submission = validate(values)
    type_errors = tuple(
        (key, messages.generic_error(f"expected {want}, but got {_schema_type_name(parsed[key])}"))
        for key, want in _PROPERTY_TYPES.items()
        if key in parsed and parsed[key] is not None and not _has_type(parsed[key], want)
    )
    if not type_errors:
        return submission
    mistyped = {key for key, _ in type_errors}
    return Submission(submission.values,
                      type_errors + tuple(e for e in submission.field_errors if e[0] not in mistyped))


#: JSON types of the schema's properties: Kratos validates JSON bodies against its schema before reading them.
_PROPERTY_TYPES: dict[str, str] = {**{key: "string" for key in SCHEMA_PROPERTIES if key != "transient_payload"},
                                   "transient_payload": "object"}


def _has_type(value: Any, want: str) -> bool:
    return isinstance(value, dict) if want == "object" else isinstance(value, str)


def _schema_type_name(value: Any) -> str:
    """The JSON Schema name of a value's type, as a validator reports it."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


def decode_pairs(body_pairs: Iterable[tuple[str, str]], query_pairs: Iterable[tuple[str, str]]) -> Submission:
    """Decode form fields merged with the query (body wins; first value of a repeated field counts)."""
    values: dict[str, str] = {}
    for key, value in [*body_pairs, *query_pairs]:
        if key in SCHEMA_PROPERTIES and key not in values:
            values[key] = value
    return validate(values)


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


def validate(values: dict[str, str]) -> Submission:
    """Drop empty values and check the schema: method enum and email format."""
    kept = {key: value for key, value in values.items() if value != ""}
    errors: list[tuple[str, dict[str, Any]]] = []
    method = kept.get("method")
    if method is not None and method not in ("code", "link"):
        errors.append(("method", messages.generic_error('value must be one of "code", "link"')))
    email = kept.get("email")
    if email is not None and not is_valid_email(email):
        errors.append(("email", messages.invalid_email(email)))
    return Submission(kept, tuple(errors))
