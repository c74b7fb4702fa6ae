"""Judging one fuzzed response, and the failure reported when it breaks the contract.

* **Judging** (:func:`judge`): the fuzzing checks run on one response; every check maps to exactly one
  requirement id (:data:`~.response_checks.CHECK_REQUIREMENTS`). :func:`could_break` names the requirements a
  response was able to break (so that keeping them is evidence), :func:`negative_on_the_wire` whether a negative
  case still breaks the contract as the server reads it.
* **Failures** (:func:`requirement_failure`): a failing response becomes a
  :class:`~kratos_conformance.rules.checks.RequirementFailure` whose detail carries the minimal reproducing request as
  a redacted curl line (:func:`curl_for`, :func:`curl_for_case`, built with
  :func:`~kratos_conformance.wire.curl.curl_line`) and whose transcript holds the redacted exchange
  (:func:`fuzzed_exchange`).
"""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation

from kratos_conformance.fuzzing.response_checks import (
    CHECK_REQUIREMENTS,
    OPERATION_IDS,
    STATEFUL_REQUIREMENT,
    CheckTarget,
    fuzz_check_functions,
    header_values,
    operation_id,
    rules_of,
)
from kratos_conformance.rules.catalog import requirement
from kratos_conformance.rules.checks import RequirementFailure, expect_unless_known
from kratos_conformance.rules.contract import (
    component_validator,
    deref,
    load_contract,
    operations,
    required_headers,
    response_schema,
    schema_validator,
    validation_errors,
)
from kratos_conformance.rules.profiles import Profile
from kratos_conformance.rules.response_rules import NO_ANSWER_REQUIREMENT
from kratos_conformance.wire.curl import curl_line
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.media_types import media_type
from kratos_conformance.wire.redact import redact_text


@dataclass(frozen=True)
class Finding:
    """One failed check on one response."""

    check: str
    requirement: str
    message: str


_results: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("fuzz_check_results", default=None)


def _collect_results(context: Any, case: Any, response: Any, results: list[Any]) -> None:
    """``after_validate`` hook: hand the per-check results of :func:`judge` back to it."""
    sink = _results.get()
    if sink is not None:
        sink.extend(results)


def judge(case: schemathesis.Case, response: schemathesis.Response,
          check_functions: Sequence[Callable[..., bool | None]] | None = None) -> list[Finding]:
    """Run the fuzzing checks on one response; the findings, in :data:`CHECK_REQUIREMENTS` order."""
    functions = list(check_functions or fuzz_check_functions())
    hooks = case.operation.schema.hooks
    if _collect_results not in hooks.get_all_by_name("after_validate"):
        hooks.register_hook_with_name(_collect_results, "after_validate")
    sink: list[Any] = []
    token = _results.set(sink)
    try:
        case.validate_response(response, checks=functions)
    except (Failure, FailureGroup):
        pass
    finally:
        _results.reset(token)
    findings = [Finding(r.name, CHECK_REQUIREMENTS.get(r.name, STATEFUL_REQUIREMENT),
                        (r.name == "response_schema_conformance" and _schema_failure_text(case, response))
                        or _failure_text(r.failure))
                for r in sink if r.failure is not None
                and (r.name != "negative_data_rejection" or negative_on_the_wire(case))]
    order = list(CHECK_REQUIREMENTS)
    return sorted(findings, key=lambda f: order.index(f.check) if f.check in order else len(order))


def could_break(case: schemathesis.Case, response: schemathesis.Response,
                check_target: CheckTarget | None) -> list[str]:
    """The requirements a response to ``case`` was able to break, so that keeping them is evidence: a cache rule
    only on a flow read, the Location rule only on a redirect, rejection only for a case still negative on the
    wire, the schema only where the contract documents one, and so on. Requirements a response could not break
    are not counted as passed by it."""
    op_id = operation_id(case)
    found = ["VER-RESP-NO-5XX"]
    documented = _documented(op_id, response.status_code)
    if op_id in OPERATION_IDS.values():
        found.append("VER-RESP-STATUS")
    if documented is not None:
        declares_content, declares_headers, declares_schema = documented
        ctype = media_type((header_values(response, "content-type") or [""])[0])
        if declares_content:
            found.append("VER-RESP-CONTENT-TYPE")
        if declares_headers:
            found.append("VER-RESP-HEADERS")
        if declares_schema and ctype.endswith("json"):
            found.append("VER-RESP-SCHEMA")
    found += list(rules_of(case, response, check_target))  # the response rules it was judged by
    meta = case.meta
    if meta is None or meta.generation.mode.is_positive:
        found.append("VER-FUZZ-POSITIVE-ACCEPTED")
    elif negative_on_the_wire(case):
        found.append("VER-FUZZ-NEGATIVE-REJECTED")
    return found


@functools.lru_cache(maxsize=256)
def _documented(op_id: str, status: int) -> tuple[bool, bool, bool] | None:
    """For a status the contract documents for an operation: whether it declares a body, a required header (what
    VER-RESP-HEADERS judges), a JSON schema (None: not documented; ``default`` does not count)."""
    contract = load_contract()
    op = next((op for _, _, op in operations(contract) if op["operationId"] == op_id), None)
    response = (op.get("responses") or {}).get(str(status)) if op is not None else None
    if response is None:
        return None
    response = deref(contract, response)
    content = response.get("content") or {}
    schema = any("json" in media and (body or {}).get("schema") for media, body in content.items())
    return bool(content), bool(required_headers(contract, response)), schema


#: media types whose values reach the server as text: a type mutation (a boolean ``code``, a numeric
#: ``transient_payload``) arrives as a string, which the server cannot tell from a valid one.
TEXT_BODY_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


#: where every value reaches the server as text, and what it does not know is ignored
_TEXT_LOCATIONS = frozenset({ParameterLocation.QUERY, ParameterLocation.HEADER, ParameterLocation.COOKIE})


def negative_on_the_wire(case: schemathesis.Case) -> bool:
    """True if a negative case still breaks the contract as the server receives it, so rejecting it can be asked.

    A query string, a header and a form or multipart body carry every value as text, and Kratos ignores query
    parameters and headers it does not know (the contract's headers are optional strings): schemathesis's mutations
    of those parts (wrong types, extra parameters) do not survive serialization. Kratos reads a JSON body the same
    way, form-style (contract: the submission's requestBody): a value of another type given for a text field
    arrives as its text, and null or "" as nothing, so a JSON body
    counts as negative only if it still breaks the body schema read that way (:func:`body_as_read`). The
    scenarios check the text-encoded refusals (missing flow, empty body, bad encodings) one by one.
    """
    meta = case.meta
    if meta is None:
        return True
    media = media_type(case.media_type)
    for location, info in meta.components.items():
        if info.mode is not GenerationMode.NEGATIVE or location in _TEXT_LOCATIONS:
            continue
        if location is ParameterLocation.BODY:
            if media in TEXT_BODY_MEDIA_TYPES:
                continue
            if media == "application/json" and _submission_schema().is_valid(body_as_read(case.body)):
                continue
        return True
    return False


def body_as_read(body: Any) -> Any:
    """A JSON submission as Kratos reads it (contract: the submission's requestBody): a member given as null or
    as an empty string is left out; every other value given for a text field (method, email, code, csrf_token)
    becomes text, whatever its JSON type; other members stay as they are."""
    if not isinstance(body, dict):
        return body
    return {key: value if key not in _text_fields() or isinstance(value, str) else json.dumps(value)
            for key, value in body.items() if value is not None and value != ""}


@functools.lru_cache(maxsize=1)
def _text_fields() -> frozenset[str]:
    """The submission's members the contract types as text (any branch)."""
    schemas = load_contract()["components"]["schemas"]
    return frozenset(name for branch in ("updateVerificationFlowWithCodeMethod", "updateVerificationFlowWithLinkMethod")
                     for name, prop in schemas[branch]["properties"].items() if prop.get("type") == "string")


@functools.lru_cache(maxsize=1)
def _submission_schema() -> Any:
    """A validator of the submission body schema (updateVerificationFlowBody)."""
    return component_validator("updateVerificationFlowBody")


def _failure_text(failure: Failure) -> str:
    text = f"{failure.title}: {failure.message}" if failure.message else failure.title
    return redact_text(" ".join(text.split()))[:600]


def _schema_failure_text(case: schemathesis.Case, response: schemathesis.Response) -> str | None:
    """A schema failure told as the contract judge tells it: the best-matching error first, with its JSON path and
    the schema rule (``/active: 'password' is not one of [...] (rule enum at ...)``), not schemathesis's
    message quoting the whole body before it; ``None`` when the contract does not explain it."""
    content_type = media_type((response.headers.get("content-type") or [""])[0])
    try:
        schema = response_schema(load_contract(), case.operation.path, case.operation.method.lower(),
                                 str(response.status_code), content_type)
        errors = validation_errors(schema_validator(schema), response.json())
    except (KeyError, TypeError, ValueError):
        return None
    if not errors:
        return None
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return redact_text(f"Response violates schema: {errors[0]}{more}")[:600]


def known_transient(response: schemathesis.Response, profile: Profile) -> bool:
    """Whether ``response`` is a transient server error ``profile`` knows as the release's own defect
    (:meth:`Profile.tolerates_transient`): it is then reported as that known defect and judged no further."""
    body = (response.content or b"").decode("utf-8", errors="replace")
    known = profile.tolerates_transient(response.status_code, body)
    if known:
        expect_unless_known(NO_ANSWER_REQUIREMENT, False, f"transient error answered {response.status_code}",
                            fuzzed_exchange(response), name="fuzz transient_error", known=known)
    return known is not None


def fuzzed_exchange(response: schemathesis.Response, label: str = "fuzz") -> Exchange:
    """A redacted :class:`Exchange` for a schemathesis response (for the failure transcript)."""
    request = response.request
    headers = sent_headers(request)
    raw = sent_body(request)
    body = raw.encode("utf-8") if isinstance(raw, str) else raw or b""  # Exchange.record redacts it
    http_request = httpx.Request(str(request.method), str(request.url),
                                 headers=[(k, v) for k, v in headers if k.lower() != "content-length"], content=body)
    headers = [(k, v) for k, values in response.headers.items() for v in values]
    http_response = httpx.Response(response.status_code, headers=headers, content=response.content or b"",
                                   request=http_request)
    return Exchange.record(http_response, label, 0.0, float(response.elapsed or 0.0))


def requirement_failure(findings: Sequence[Finding], response: schemathesis.Response, *, context: str,
                        requirement_id: str | None = None, steps: Sequence[str] = (),
                        rerun: str | None = None) -> RequirementFailure:
    """The failure to report for ``findings``: the first finding's requirement (or ``requirement_id``), what
    failed, the reproducing curl line and, for stateful runs, the steps that led there; every finding's own
    requirement is failed too (``also``)."""
    first = findings[0]
    req_id = requirement_id or first.requirement
    lines = [f"{context}: check `{first.check}` ({first.requirement}) failed: {first.message}"]
    for other in findings[1:]:
        lines.append(f"  also failed: `{other.check}` ({other.requirement}): {other.message[:200]}")
    if steps:
        lines.append("steps before it (redacted):")
        lines += [f"  {i}. {step}" for i, step in enumerate(steps, 1)]
    lines.append("reproduce (secrets redacted):")
    lines.append(f"  {curl_for(response)}")
    if rerun:
        lines.append(f"rerun the fuzzing that found it: {rerun}")
    return RequirementFailure(requirement(req_id), "\n".join(lines), [fuzzed_exchange(response)],
                              also=[f.requirement for f in findings])


def no_answer_failure(exc: BaseException, request_line: str, *, context: str) -> RequirementFailure:
    """A request that got no HTTP answer at all."""
    detail = (f"{context}: no HTTP answer ({type(exc).__name__}: {redact_text(str(exc))[:200]})\n"
              f"reproduce (secrets redacted):\n  {request_line}")
    return RequirementFailure(requirement(NO_ANSWER_REQUIREMENT), detail)


# ========================================================================================== reproductions

def sent_headers(request: requests.PreparedRequest) -> list[tuple[str, str]]:
    """A prepared request's headers as text."""
    return [(k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in request.headers.items()]


def sent_body(request: requests.PreparedRequest) -> bytes | str | None:
    """A prepared request's body (None for a stream, which the fuzzer never sends)."""
    body = request.body
    return body if isinstance(body, (bytes, str)) else None


def curl_for(response: schemathesis.Response) -> str:
    """The curl line of the request that produced a schemathesis ``response``."""
    request = response.request
    return curl_line(str(request.method), str(request.url), sent_headers(request), sent_body(request))


_REQUEST_ARGUMENTS = ("method", "url", "headers", "files", "data", "params", "cookies", "json")


def curl_for_case(case: schemathesis.Case, base_url: str | None = None) -> str:
    """The curl line of a case that got no answer (built the way the case is serialized for sending)."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in _REQUEST_ARGUMENTS}).prepare()
    return curl_line(str(prepared.method), str(prepared.url), sent_headers(prepared), sent_body(prepared))
