"""Contract fuzzing with schemathesis: budgets, seeds, live flows, custom checks and curl reproductions.

What lives here (everything that is not pytest glue; ``suites/fuzz/`` holds the tests, ``fuzz_plugin`` the options):

* **Budgets** (:data:`BUDGETS`, :func:`parse_budget`): how many requests each fuzzing test may send and for how
  long. **Seeds** (:func:`resolve_seed`, :func:`derive_seed`): one printed seed per run reproduces every test;
  CI (``CI=true``) gets a fixed seed unless one is given.
* **The fuzzing contract** (:func:`fuzz_schema`): ``openapi/verification.yaml`` loaded into schemathesis without
  its ``default`` responses (VER-RESP-STATUS: ``default`` does not count), with the expected statuses of
  ``positive_data_acceptance`` taken from the contract (documented business-rule 400s are not failures).
* **Custom checks**, registered with schemathesis by name (:data:`CUSTOM_CHECKS`): Cache-Control on flow reads,
  CSRF cookie attributes, message ids known to the profile, redirect targets, no debug or stack traces. They
  judge against the :class:`CheckTarget` made active with :func:`checking`; without one they skip.
* **Judging** (:func:`judge`): every check maps to exactly one requirement id (:data:`CHECK_REQUIREMENTS`); a
  failing response becomes a :class:`~kratos_conformance.checks.RequirementFailure` whose detail carries the
  minimal reproducing request as a redacted curl line (:func:`curl_line`).
* **Live flows** (:class:`LivePool`): real flow ids of both types in every state (choose_method, sent_email,
  passed_challenge) with the cookie header and csrf_token that belong to them, refreshed before they expire.
  A global ``before_call`` hook (:func:`_inject_live_flow`) mutates a share of the generated cases to use them,
  following a :class:`Plan` that hypothesis draws next to the case (so injection is seeded and shrinkable).
  schemathesis re-validates a case a ``before_call`` hook changed, so a mutated case is judged as what it is
  (positive or negative) when it is sent.
* **The driver** (:class:`Fuzzer`): per-operation fuzzing (positive and negative) and stateful fuzzing through
  the contract's links with cookies carried across steps, with statistics on how many positive requests reached
  flow logic instead of an unknown-flow answer (:class:`RunStats`).
"""

from __future__ import annotations

import contextvars
import copy
import functools
import http.cookiejar
import json
import os
import random
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition, InvalidDefinition
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation

from .catalog import requirement
from .checks import RequirementFailure, expect
from .checks import hold as hold_checks
from .clients import BROWSER_ACCEPT, JSON_ACCEPT, Client, ClientKind
from .contract import DEFAULT_CONTRACT_PATH, component_validator, deref, load_contract
from .curl import curl_line, redact_request_body
from .errors import CannotJudge
from .exchanges import Exchange, Recorder
from .flow import Flow
from .identities import AdminApi, unique_address
from .redact import redact_text
from .response_rules import (
    RedirectTargets,
    cache_control_problem,
    csrf_cookie_problems,
    is_csrf_cookie,
    leak,
    location_problem,
)
from .target import Target
from .ui_expectations import UiExpectations, expectations

# ================================================================================================== budgets


@dataclass(frozen=True)
class Budget:
    """How much fuzzing one run does.

    ``max_examples`` and ``time_limit`` bound each per-operation test (one operation, one generation mode);
    ``scenarios``, ``steps`` and ``stateful_time_limit`` bound each stateful test (one client kind). Whichever
    bound is reached first ends the test. ``shrink_time`` bounds the search for a smaller failing request.
    """

    name: str
    max_examples: int
    time_limit: float
    scenarios: int
    steps: int
    stateful_time_limit: float
    shrink_time: float

    def describe(self) -> str:
        return (f"{self.name}: {self.max_examples} requests or {self.time_limit:g}s per operation and mode, "
                f"{self.scenarios} stateful scenarios of up to {self.steps} steps or {self.stateful_time_limit:g}s "
                f"per client kind")


BUDGETS: dict[str, Budget] = {
    "smoke": Budget("smoke", max_examples=8, time_limit=2.0, scenarios=3, steps=6, stateful_time_limit=2.0,
                    shrink_time=2.0),
    "default": Budget("default", max_examples=40, time_limit=4.0, scenarios=12, steps=8, stateful_time_limit=3.0,
                      shrink_time=4.0),
    "deep": Budget("deep", max_examples=600, time_limit=90.0, scenarios=300, steps=12, stateful_time_limit=90.0,
                   shrink_time=30.0),
}
DEFAULT_BUDGET = "default"


def parse_budget(value: str | None) -> Budget:
    """The budget named ``value`` (``smoke``, ``default``, ``deep``; case and blanks ignored; None: default)."""
    name = (value or "").strip().lower() or DEFAULT_BUDGET
    try:
        return BUDGETS[name]
    except KeyError:
        raise CannotJudge(f"--fuzz-budget: {value!r} is not one of {', '.join(BUDGETS)}") from None


# ==================================================================================================== seeds

#: The seed a CI run uses when none is given: CI results must not depend on chance.
CI_SEED = 20260601


def is_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when the ``CI`` environment variable says so (``true``, ``1``, ``yes``)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Seed:
    """The run's seed and where it came from (``given``, ``ci`` or ``random``)."""

    value: int
    source: str


def resolve_seed(value: str | None, environ: Mapping[str, str] | None = None) -> Seed:
    """The run's seed: ``value`` (decimal or 0x-hex) if given, the fixed CI seed under CI, else a random one."""
    text = (value or "").strip()
    if text:
        try:
            number = int(text, 0)
        except ValueError:
            raise CannotJudge(f"--fuzz-seed: {value!r} is not an integer") from None
        if number < 0:
            raise CannotJudge(f"--fuzz-seed: must not be negative, got {value}")
        return Seed(number, "given")
    if is_ci(environ):
        return Seed(CI_SEED, "ci")
    return Seed(random.SystemRandom().randrange(2**32), "random")


def derive_seed(run_seed: int, *labels: object) -> int:
    """A seed for one test (or one round of it), fixed by the run's seed and the labels."""
    text = "\x1f".join(str(label) for label in labels).encode("utf-8")
    return (run_seed * 1_000_003 + zlib.crc32(text)) % (2**64)


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


# ============================================================================================== custom checks

@dataclass(frozen=True)
class CheckTarget(RedirectTargets):
    """What the custom checks judge against: where redirects may point (:class:`RedirectTargets`), which message
    ids the release shows, whether the CSRF cookie must be Secure."""

    #: the release's messages (None: not judged).
    ui: UiExpectations | None = None
    #: the CSRF cookie's Secure attribute is due (True), must be absent (False), or is not judged (None).
    secure_cookies: bool | None = None

    @classmethod
    def from_target(cls, target: Target) -> CheckTarget:
        return cls(public_url=target.public_url, ui_url=target.ui_url, error_ui_url=target.error_ui_url,
                   return_to=target.return_to, ui=expectations(target.profile), secure_cookies=target.secure_cookies)


_active_target: contextvars.ContextVar[CheckTarget | None] = contextvars.ContextVar("fuzz_check_target",
                                                                                  default=None)


@contextmanager
def checking(check_target: CheckTarget) -> Iterator[CheckTarget]:
    """Make ``check_target`` what the custom checks judge against while the block runs."""
    token = _active_target.set(check_target)
    try:
        yield check_target
    finally:
        _active_target.reset(token)


#: operationId by (METHOD, path) of the contract; the custom checks tell operations apart with it.
OPERATION_IDS: dict[tuple[str, str], str] = {
    (method.upper(), path): op["operationId"]
    for path, item in load_contract()["paths"].items()
    for method, op in item.items() if isinstance(op, dict) and "operationId" in op
}
INIT_OPERATIONS = frozenset({"createBrowserVerificationFlow", "createNativeVerificationFlow"})
#: operations that take a flow id: the ones where "reached flow logic" is measured.
FLOW_OPERATIONS = frozenset({"getVerificationFlow", "updateVerificationFlow", "followVerificationLink"})


def operation_id(case: schemathesis.Case) -> str:
    return OPERATION_IDS.get((str(case.method).upper(), case.path), f"{case.method} {case.path}")


def header_values(response: schemathesis.Response, name: str) -> list[str]:
    """Every value of a response header (names compared without case)."""
    lower = name.lower()
    return [v for k, values in response.headers.items() if k.lower() == lower for v in values]


def _json_or_none(response: schemathesis.Response) -> Any:
    ctype = (header_values(response, "content-type") or [""])[0].split(";")[0].strip().lower()
    if not ctype.endswith("json") or not response.content:
        return None
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        return None


@schemathesis.check
def flow_cache_control(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """VER-GET-CACHE-CONTROL: a flow read (GET /flows answering 200) is marked not cacheable."""
    if operation_id(case) != "getVerificationFlow" or response.status_code != 200:
        return None
    problem = cache_control_problem(", ".join(header_values(response, "cache-control")) or None)
    if problem:
        raise AssertionError(problem)
    return None


_COOKIE_SPLIT = re.compile(r",\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)")


def set_cookies(response: schemathesis.Response) -> list[str]:
    """Every Set-Cookie value, also when a client library folded several into one comma-separated header."""
    return [part for value in header_values(response, "set-cookie") for part in _COOKIE_SPLIT.split(value)]


@schemathesis.check
def csrf_cookie_attributes(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """VER-INIT-CSRF-COOKIE: every CSRF cookie the target sets has Kratos's name and attributes."""
    check_target = _active_target.get()
    secure = check_target.secure_cookies if check_target is not None else None
    found = []
    for raw in set_cookies(response):
        if is_csrf_cookie(raw):
            found += csrf_cookie_problems(raw, secure=secure)
    if found:
        raise AssertionError("CSRF cookie: " + "; ".join(dict.fromkeys(found)))
    return None


@schemathesis.check
def known_message_ids(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """VER-RESP-MESSAGE-IDS: every message in a flow is one the release shows, with the type it gives it."""
    check_target = _active_target.get()
    if check_target is None or check_target.ui is None:
        return True  # nothing to judge against: skipped
    problems = check_target.ui.message_problems(_json_or_none(response))
    if problems:
        raise AssertionError("; ".join(problems))
    return None


@schemathesis.check
def redirect_location(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """VER-RESP-LOCATION: every redirect points at the UI, the error UI or the target's public API."""
    check_target = _active_target.get()
    if check_target is None:
        return True  # nothing to judge against: skipped
    if not 300 <= response.status_code < 400:
        return None
    locations = header_values(response, "location")
    problem = location_problem(locations[0] if locations else None, check_target)
    if problem:
        raise AssertionError(problem)
    return None


@schemathesis.check
def no_body_leak(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """VER-RESP-NO-LEAK: no response carries debug details or a stack trace."""
    found = leak((response.content or b"").decode("utf-8", errors="replace"), _json_or_none(response))
    if found:
        raise AssertionError(f"the body leaks internals: {found}")
    return None


CUSTOM_CHECKS: tuple[Callable[..., bool | None], ...] = (
    flow_cache_control, csrf_cookie_attributes, known_message_ids, redirect_location, no_body_leak,
)

#: Every check the fuzzer runs and the ONE requirement a failure of it breaks, in reporting priority: when one
#: response fails several checks, the first one here is the requirement the failure is reported under.
CHECK_REQUIREMENTS: dict[str, str] = {
    "not_a_server_error": "VER-RESP-NO-5XX",
    "status_code_conformance": "VER-RESP-STATUS",
    "no_body_leak": "VER-RESP-NO-LEAK",
    "flow_cache_control": "VER-GET-CACHE-CONTROL",
    "csrf_cookie_attributes": "VER-INIT-CSRF-COOKIE",
    "redirect_location": "VER-RESP-LOCATION",
    "content_type_conformance": "VER-RESP-CONTENT-TYPE",
    "response_headers_conformance": "VER-RESP-HEADERS",
    "response_schema_conformance": "VER-RESP-SCHEMA",
    "known_message_ids": "VER-RESP-MESSAGE-IDS",
    "negative_data_rejection": "VER-FUZZ-NEGATIVE-REJECTED",
    "positive_data_acceptance": "VER-FUZZ-POSITIVE-ACCEPTED",
}
#: What a request that got no HTTP answer at all (connection reset, timeout) is reported under.
NO_ANSWER_REQUIREMENT = "VER-RESP-NO-5XX"
STATEFUL_REQUIREMENT = "VER-FUZZ-STATEFUL"


def fuzz_check_functions() -> list[Callable[..., bool | None]]:
    """The check functions of :data:`CHECK_REQUIREMENTS`, looked up in schemathesis's registry by name."""
    from schemathesis import checks as st_checks

    st_checks.load_all_checks()
    return [cast(Callable[..., bool | None], st_checks.CHECKS.get_one(name)) for name in CHECK_REQUIREMENTS]


# ================================================================================================ judging

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
    findings = [Finding(r.name, CHECK_REQUIREMENTS.get(r.name, STATEFUL_REQUIREMENT), _failure_text(r.failure))
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
    found = ["VER-RESP-NO-5XX", "VER-RESP-NO-LEAK"]
    documented = _documented(op_id, response.status_code)
    if op_id in OPERATION_IDS.values():
        found.append("VER-RESP-STATUS")
    if documented is not None:
        declares_content, declares_headers, declares_schema = documented
        ctype = (header_values(response, "content-type") or [""])[0].split(";")[0].strip().lower()
        if declares_content:
            found.append("VER-RESP-CONTENT-TYPE")
        if declares_headers:
            found.append("VER-RESP-HEADERS")
        if declares_schema and ctype.endswith("json"):
            found.append("VER-RESP-SCHEMA")
    if op_id == "getVerificationFlow" and response.status_code == 200:
        found.append("VER-GET-CACHE-CONTROL")
    if any(is_csrf_cookie(raw) for raw in set_cookies(response)):
        found.append("VER-INIT-CSRF-COOKIE")
    if check_target is not None and 300 <= response.status_code < 400:
        found.append("VER-RESP-LOCATION")
    doc = _json_or_none(response)
    if check_target is not None and check_target.ui is not None and isinstance(doc, dict) \
            and isinstance(doc.get("ui"), dict):
        found.append("VER-RESP-MESSAGE-IDS")
    meta = case.meta
    if meta is None or meta.generation.mode.is_positive:
        found.append("VER-FUZZ-POSITIVE-ACCEPTED")
    elif negative_on_the_wire(case):
        found.append("VER-FUZZ-NEGATIVE-REJECTED")
    return found


@functools.lru_cache(maxsize=256)
def _documented(op_id: str, status: int) -> tuple[bool, bool, bool] | None:
    """For a status the contract documents for an operation: whether it declares a body, headers, a JSON schema
    (None: not documented; ``default`` does not count)."""
    contract = load_contract()
    for item in contract["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == op_id:
                response = (op.get("responses") or {}).get(str(status))
                if response is None:
                    return None
                response = deref(contract, response)
                content = response.get("content") or {}
                schema = any("json" in media and (body or {}).get("schema") for media, body in content.items())
                return bool(content), bool(response.get("headers")), schema
    return None


#: media types whose values reach the server as text: a type mutation (a boolean ``code``, a numeric
#: ``transient_payload``) arrives as a string, which the server cannot tell from a valid one.
TEXT_BODY_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def negative_on_the_wire(case: schemathesis.Case) -> bool:
    """True if a negative case still breaks the contract as the server receives it, so rejecting it can be asked.

    A query string and a form or multipart body carry every value as text, and Kratos ignores query parameters
    it does not know: schemathesis's mutations of those parts (wrong types, extra parameters) do not survive
    serialization. Kratos reads a JSON body the same way, form-style (contract: the submission's requestBody): a
    value of another type given for a text field arrives as its text, and null or "" as nothing, so a JSON body
    counts as negative only if it still breaks the body schema read that way (:func:`body_as_read`). The
    scenarios check the text-encoded refusals (missing flow, empty body, bad encodings) one by one.
    """
    meta = case.meta
    if meta is None:
        return True
    media = (case.media_type or "").split(";")[0].strip().lower()
    for location, info in meta.components.items():
        if info.mode is not GenerationMode.NEGATIVE or location is ParameterLocation.QUERY:
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


def exchange_of(response: schemathesis.Response, label: str = "fuzz") -> Exchange:
    """A redacted :class:`Exchange` for a schemathesis response (for the failure transcript)."""
    request = response.request
    headers = sent_headers(request)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    body = redact_request_body(sent_body(request), content_type).encode("utf-8")
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
    failed, the reproducing curl line and, for stateful runs, the steps that led there."""
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
    return RequirementFailure(requirement(req_id), "\n".join(lines), [exchange_of(response)])


def no_answer_failure(exc: BaseException, request_line: str, *, context: str) -> RequirementFailure:
    """A request that got no HTTP answer at all."""
    detail = (f"{context}: no HTTP answer ({type(exc).__name__}: {redact_text(str(exc))[:200]})\n"
              f"reproduce (secrets redacted):\n  {request_line}")
    return RequirementFailure(requirement(NO_ANSWER_REQUIREMENT), detail)


# ====================================================================================== the fuzzing contract

def contract_statuses(contract: Mapping[str, Any]) -> dict[str, list[str]]:
    """Documented statuses (``default`` excluded) per operationId."""
    out: dict[str, list[str]] = {}
    for item in contract["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                out[op["operationId"]] = [code for code in op.get("responses", {}) if code != "default"]
    return out


def fuzz_config(contract: Mapping[str, Any], *, seed_value: int | None = None) -> Any:
    """The schemathesis configuration of a fuzzing run, built here (never discovered from a schemathesis.toml).

    Per operation, ``positive_data_acceptance`` expects the documented statuses (business-rule 400s are
    documented, so they are not failures) and ``negative_data_rejection`` expects a rejection: a 4xx or a redirect
    (a browser is answered with a 303, to the UI showing the error or to the error UI). 5xx are left to
    ``not_a_server_error`` (VER-RESP-NO-5XX) so one server error is not reported twice.
    """
    operations = [
        {"include-operation-id": op_id,
         "checks": {"positive_data_acceptance": {"expected-statuses": [*statuses, "5XX"]},
                    "negative_data_rejection": {"expected-statuses": ["3XX", "4XX", "5XX"]}}}
        for op_id, statuses in contract_statuses(contract).items()
    ]
    data: dict[str, Any] = {"operations": operations}
    if seed_value is not None:
        data["seed"] = seed_value
    return schemathesis.Config.from_dict(data)


def fuzz_contract(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The contract as the fuzzer loads it: ``default`` responses dropped (VER-RESP-STATUS: default does not count).

    With ``default`` in place, schemathesis's status_code_conformance accepts any status at all; without it, an
    undocumented status is reported and its body, which the contract does not describe, is not judged further.
    """
    contract = copy.deepcopy(load_contract(Path(path) if path is not None else None))
    for item in contract["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.get("responses", {}).pop("default", None)
    return contract


def fuzz_schema(base_url: str, *, seed_value: int | None = None,
                contract_path: str | os.PathLike[str] | None = None) -> Any:
    """The contract loaded into schemathesis for fuzzing ``base_url`` (see :func:`fuzz_contract`)."""
    contract = fuzz_contract(contract_path or DEFAULT_CONTRACT_PATH)
    schema = schemathesis.openapi.from_dict(contract, config=fuzz_config(contract, seed_value=seed_value))
    schema.config.update(base_url=base_url.rstrip("/"))
    return schema


# ============================================================================================== live flows

STATES = ("choose_method", "sent_email", "passed_challenge")
FLOW_TYPES = ("api", "browser")


@dataclass(frozen=True, order=True)
class Slot:
    """A kind of live flow: its type (api, browser) and the state it was brought to."""

    type: str
    state: str

    def __str__(self) -> str:
        return f"{self.type}/{self.state}"


ALL_SLOTS: tuple[Slot, ...] = tuple(Slot(t, s) for t in FLOW_TYPES for s in STATES)


@dataclass
class LiveFlow:
    """A real flow on the target and what a client needs to use it."""

    slot: Slot
    id: str
    cookie: str | None
    csrf_token: str
    created: float
    lifespan: float | None
    uses: int = 0


class LivePool:
    """Live flows of every type and state, made on demand and replaced before they expire.

    A flow is replaced once it has lived ``refresh_fraction`` of its lifespan (read from the flow:
    expires_at - issued_at) or served ``max_uses`` requests (fuzzed requests move flows along). The pool talks to
    the target with the suite's own clients but records into a private recorder: building flows is not judged
    (the fuzzed requests are). A slot the target cannot produce (no admin API for a known address, a target
    fault) is marked broken with the reason; plans that want it fall back to random ids.
    """

    def __init__(self, target: Target, mail: Any, method: str, *, transport: httpx.BaseTransport | None = None,
                 refresh_fraction: float = 0.5, max_uses: int = 25) -> None:
        self.target = target
        self.mail = mail
        self._own_transport = transport is None
        self.transport = transport or httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10))
        self.method = method
        self.refresh_fraction = refresh_fraction
        self.max_uses = max_uses
        self.recorder = _BoundedRecorder()
        self._flows: dict[Slot, LiveFlow] = {}
        self.broken: dict[Slot, str] = {}
        self.made: Counter[Slot] = Counter()
        self.seconds_spent = 0.0
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------------------------
    def get(self, slot: Slot, *, substitute: bool = False) -> LiveFlow | None:
        """A live flow for ``slot`` (made or replaced now if needed), or None if the slot is broken.

        ``substitute``: for a broken slot, hand out a flow of another slot that works (chosen by the slot, so the
        choice is reproducible) instead of None.
        """
        if substitute and slot in self.broken:
            working = self.available()
            if not working:
                return None
            slot = working[ALL_SLOTS.index(slot) % len(working)]
        with self._lock:
            if slot in self.broken:
                return None
            flow = self._flows.get(slot)
            if flow is None or self._stale(flow):
                flow = self._make(slot)
                if flow is None:
                    return None
                self._flows[slot] = flow
            flow.uses += 1
            return flow

    def close(self) -> None:
        if self._own_transport:
            self.transport.close()

    def available(self) -> list[Slot]:
        return [s for s in ALL_SLOTS if s not in self.broken]

    def warm(self) -> None:
        """Make one flow per slot now (so broken slots are known before fuzzing starts)."""
        for slot in ALL_SLOTS:
            self.get(slot)

    def describe(self) -> str:
        made = ", ".join(f"{s} x{self.made[s]}" for s in ALL_SLOTS if self.made[s])
        broken = "; ".join(f"{s}: {why}" for s, why in self.broken.items())
        made_text = f"live flows made: {made or 'none'} in {self.seconds_spent:.1f}s"
        return made_text + (f"; broken: {broken}" if broken else "")

    # -- making flows ---------------------------------------------------------------------------------------
    def _stale(self, flow: LiveFlow) -> bool:
        if flow.uses >= self.max_uses:
            return True
        lifespan = flow.lifespan if flow.lifespan and flow.lifespan > 0 else 3600.0
        return time.monotonic() - flow.created > lifespan * self.refresh_fraction

    def _client(self, flow_type: str) -> Client:
        # API flows as a native app makes them; browser flows as an SPA (JSON answers, cookies kept).
        kind = ClientKind.NATIVE if flow_type == "api" else ClientKind.SPA
        return Client(self.target, kind, self.recorder, self.transport)

    def _make(self, slot: Slot) -> LiveFlow | None:
        started = time.monotonic()
        try:
            with hold_checks():  # a flow made for the fuzzer is no evidence for the test that happens to run
                flow = self._build(slot)
        except CannotJudge as exc:
            self.broken[slot] = str(exc)
            return None
        except (AssertionError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, RequirementFailure):
                reason = f"{exc.requirement.id}: {exc.detail.splitlines()[0]}"
            else:
                reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            self.broken[slot] = f"could not be made ({redact_text(reason)[:200]})"
            return None
        finally:
            self.seconds_spent += time.monotonic() - started
        self.made[slot] += 1
        return flow

    def _build(self, slot: Slot) -> LiveFlow:
        from .flows import Verifier  # the scenarios' flow walker, used for the mail loop

        client = self._client(slot.type)
        verifier = Verifier(client, self.target, self.mail, self.method)
        if slot.state == "passed_challenge":
            if not self.target.has_admin:
                raise CannotJudge("needs the admin API for a known address (no --admin-url)")
            admin = AdminApi(self.target, self.recorder, self.transport)
            identity = admin.create_identity(unique_address("fuzz"))
            _, step = verifier.passed(identity.email)
            flow = step.flow
        else:
            flow = self._start(client)
            if slot.state == "sent_email":
                # An unknown address: the same answer as for a known one, and no mail to wait for.
                step = verifier.submit_email(flow, unique_address("fuzz-unknown"))
                if step.flow is None:
                    raise ValueError(f"the email submission answered {step.exchange.status} without a flow")
                flow = step.flow
        assert flow is not None
        if not flow.id:
            raise ValueError("the flow has no id")
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.http.cookies.jar) or None
        return LiveFlow(slot, flow.id, cookie if slot.type == "browser" else None, flow.csrf_token,
                        time.monotonic(), flow.lifespan)

    def _start(self, client: Client) -> Flow:
        ex = client.init()
        doc = ex.json()
        if ex.status != 200 or not isinstance(doc, dict) or not doc.get("id"):
            raise ValueError(f"the init answered {ex.status} without a flow")
        return Flow(doc)


def detect_method(target: Target, transport: httpx.BaseTransport | None = None) -> str | None:
    """The method (code or link) of the target: the embedded one says, else the ``active`` of a fresh API flow.

    Unlike the plugin's ``active_method`` fixture this is not judged: a target whose flows break the contract
    still gets fuzzed (and the fuzzing reports the break with a reproduction). None if it cannot be told.
    """
    if target.reference_method in ("code", "link"):
        return target.reference_method
    own = transport is None
    transport = transport or httpx.HTTPTransport()
    try:
        ex = Client(target, ClientKind.NATIVE, Recorder(), transport).init()
        active = ex.json().get("active")
    except (httpx.HTTPError, ValueError, AttributeError):
        active = None
    finally:
        if own:
            transport.close()
    return active if active in ("code", "link") else None


class _BoundedRecorder(Recorder):
    """A recorder that keeps only the last exchanges (the pool makes many flows in a deep run)."""

    def __init__(self, keep: int = 50) -> None:
        super().__init__()
        self.keep = keep

    def record(self, exchange: Exchange) -> None:
        super().record(exchange)
        del self.exchanges[:-self.keep]


# ================================================================================== plans and injection

@dataclass(frozen=True)
class Plan:
    """How one generated case is mutated before it is sent (drawn by hypothesis next to the case).

    ``slot``: the live flow whose id replaces the generated flow id (None keeps the generated, random id, so
    unknown-flow paths stay covered); ``accept``: ``json``, ``html`` or ``none`` (the library default);
    ``cookie``: send the live browser flow's cookies; ``csrf``: put its csrf_token into the body; ``email``: use
    a valid (unknown) address instead of the generated string; ``active_method``: submit the target's method;
    ``corrupt``: (negative runs) send a truncated JSON body.
    """

    slot: Slot | None
    accept: str
    cookie: bool
    csrf: bool
    email: bool
    active_method: bool
    corrupt: bool


#: share of cases that keep their generated (random) flow id, in percent.
RANDOM_ID_PERCENT = 12


def plan_strategy(slots: Sequence[Slot], *, negative: bool) -> st.SearchStrategy[Plan]:
    """Plans: ~88% of cases get a live flow (spread over ``slots``), the rest keep their random id."""
    chosen = list(slots)

    def pick(n: int) -> Slot | None:
        # Small numbers (what hypothesis starts and shrinks towards) pick live flows; the top share keeps the
        # random id.
        if not chosen or n >= 100 - RANDOM_ID_PERCENT:
            return None
        return chosen[n % len(chosen)]

    def share(percent: int) -> st.SearchStrategy[bool]:
        return st.integers(0, 99).map(lambda n: n < percent)  # 0, where hypothesis starts, means yes

    return st.builds(
        Plan,
        slot=st.integers(0, 99).map(pick),
        accept=st.sampled_from(("json", "html", "none")),
        cookie=share(90),
        csrf=share(90),
        email=share(35),
        active_method=share(50),
        corrupt=share(15) if negative else st.just(False),
    )


@dataclass
class Injection:
    """The plan of the case being sent and what applying it did (read back by the driver)."""

    plan: Plan
    pool: LivePool
    method: str
    flow: LiveFlow | None = None
    applied: bool = False


_injection: contextvars.ContextVar[Injection | None] = contextvars.ContextVar("fuzz_injection", default=None)


def apply_plan(case: schemathesis.Case, injection: Injection) -> None:
    """Mutate ``case`` as its plan says (called from the ``before_call`` hook, once per send)."""
    plan = injection.plan
    if plan.accept == "json":
        case.headers["Accept"] = JSON_ACCEPT
    elif plan.accept == "html":
        case.headers["Accept"] = BROWSER_ACCEPT
    op = operation_id(case)
    if op not in FLOW_OPERATIONS or plan.slot is None:
        return
    param = "id" if op == "getVerificationFlow" else "flow"
    if not isinstance(case.query, dict) or not isinstance(case.query.get(param), str):
        return  # negative case whose flow id is missing or not a string: that is what it tests
    flow = injection.pool.get(plan.slot, substitute=True)
    if flow is None:
        return
    injection.flow = flow
    injection.applied = True
    case.query[param] = flow.id
    if flow.cookie and plan.cookie:
        case.headers["Cookie"] = flow.cookie
    body = case.body
    if op == "updateVerificationFlow" and isinstance(body, dict):
        if flow.slot.type == "browser" and plan.csrf and isinstance(body.get("csrf_token", ""), str):
            body["csrf_token"] = flow.csrf_token
        if plan.email and isinstance(body.get("email"), str):
            body["email"] = unique_address("fuzz-unknown")
        if plan.active_method and isinstance(body.get("method"), str):
            body["method"] = injection.method
            if injection.method == "link" and "email" not in body:
                body["email"] = unique_address("fuzz-unknown")  # the link variant requires one
        if plan.corrupt and (case.media_type or "").endswith("json"):
            text = json.dumps(body, ensure_ascii=False)
            case.body = text[: max(1, len(text) // 2)].encode("utf-8")


def _inject_live_flow(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Global ``before_call`` hook: applies the active plan; does nothing outside a fuzzing send."""
    injection = _injection.get()
    if injection is not None:
        apply_plan(case, injection)


_hook_lock = threading.Lock()


def register_hooks() -> None:
    """Register the fuzzer's global ``before_call`` hook with schemathesis (idempotent)."""
    with _hook_lock:
        if _inject_live_flow not in schemathesis.hooks.get_all_by_name("before_call"):
            schemathesis.hook("before_call")(_inject_live_flow)


register_hooks()


# =============================================================================================== statistics

@dataclass
class RunStats:
    """What one fuzzing test did."""

    label: str
    method: str = ""
    requests: int = 0
    seconds: float = 0.0
    positive_flow_requests: int = 0
    reached: int = 0
    live: int = 0
    #: stateful runs: positive requests to flow operations whose flow id came from a link, and how many reached.
    linked_flow_requests: int = 0
    linked_reached: int = 0
    unsendable: int = 0
    #: stateful runs: rounds hypothesis could not carry on with, because a walk's draws depend on the target's
    #: answers (a replay that drew differently, a state where no rule applied); dropped, not failures.
    dropped_walks: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    passed: Counter[str] = field(default_factory=Counter)

    @property
    def reached_share(self) -> float | None:
        return self.reached / self.positive_flow_requests if self.positive_flow_requests else None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def merge(self, other: RunStats) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.positive_flow_requests += other.positive_flow_requests
        self.reached += other.reached
        self.live += other.live
        self.linked_flow_requests += other.linked_flow_requests
        self.linked_reached += other.linked_reached
        self.unsendable += other.unsendable
        self.dropped_walks += other.dropped_walks
        self.statuses.update(other.statuses)
        self.passed.update(other.passed)

    def summary(self) -> str:
        share = self.reached_share
        reach = f"{share:.0%} ({self.reached}/{self.positive_flow_requests})" if share is not None else "n/a"
        codes = " ".join(f"{code}x{n}" for code, n in sorted(self.statuses.items()))
        linked = ""
        if self.linked_flow_requests:
            linked = (f" (flow ids from links: {self.linked_reached / self.linked_flow_requests:.0%} of "
                      f"{self.linked_flow_requests})")
        dropped = f", {self.dropped_walks} walk round(s) dropped" if self.dropped_walks else ""
        return (f"{self.label}: {self.requests} requests in {self.seconds:.1f}s ({self.rate:.0f}/s), positive "
                f"requests reaching flow logic {reach}{linked}, statuses {codes or '-'}{dropped}")


def reached_flow_logic(response: schemathesis.Response) -> bool:
    """Whether a response to a flow operation came from flow logic rather than "no such flow".

    Not reached: a 404; a 400 error object without a flow (missing or malformed flow id); a redirect that names no
    flow (the error UI). Conservative: a CSRF failure sent to the error UI counts as not reached.
    """
    status = response.status_code
    if status == 404:
        return False
    if status == 400:
        doc = _json_or_none(response)
        return isinstance(doc, dict) and "ui" in doc
    if 300 <= status < 400:
        location = (header_values(response, "location") or [""])[0]
        query = parse_qs(urlsplit(location).query)
        return "flow" in query or ("id" in query and "/self-service/verification/flows" in location)
    return True


# ================================================================================================== driver

#: requests that cannot be put on the wire at all (client-side refusals): skipped, not judged.
_UNSENDABLE = (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeEncodeError,
               requests.exceptions.InvalidJSONError)
#: how many generated cases one hypothesis run covers; a test runs rounds until its budget is spent.
ROUND_SIZE = 25
KIND_ACCEPT = {"native": JSON_ACCEPT, "spa": JSON_ACCEPT, "browser": BROWSER_ACCEPT}


def _session(keep_cookies: bool) -> requests.Session:
    """A requests session without default headers (they would override the generated ones)."""
    session = requests.Session()
    session.headers.clear()
    session.trust_env = False
    if not keep_cookies:
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


class _Search:
    """State shared by the rounds of one test: budget clock, failures seen, statistics."""

    def __init__(self, budget_seconds: float, shrink_seconds: float, stats: RunStats) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + budget_seconds
        self.shrink_seconds = shrink_seconds
        self.stats = stats
        self.failures: list[tuple[str, RequirementFailure]] = []
        self.first_failure_at: float | None = None

    def may_send(self) -> bool:
        now = time.monotonic()
        if self.first_failure_at is not None:
            return now < self.first_failure_at + self.shrink_seconds
        return now < self.deadline

    def failed(self, failure: RequirementFailure, curl: str) -> RequirementFailure:
        if self.first_failure_at is None:
            self.first_failure_at = time.monotonic()
        self.failures.append((curl, failure))
        return failure

    def best_failure(self) -> RequirementFailure | None:
        """The failure with the shortest reproduction among the highest-priority requirement's."""
        if not self.failures:
            return None
        order = list(CHECK_REQUIREMENTS.values())

        def rank(item: tuple[str, RequirementFailure]) -> tuple[int, int]:
            req_id = item[1].requirement.id
            return (order.index(req_id) if req_id in order else len(order), len(item[0]))

        return min(self.failures, key=rank)[1]


def _clip(line: str, limit: int = 300) -> str:
    return line if len(line) <= limit else line[:limit] + f" ... ({len(line) - limit} more characters)"


class _Stop(BaseException):
    """Ends a hypothesis run at once (hypothesis lets a BaseException that is not an Exception through): the
    budget is spent, or the time to shrink a failure is up. Not an Exception, so it is never taken for a finding."""


def _reraise_as_requirement(search: _Search, exc: BaseException) -> None:
    """After hypothesis stopped on a failure (flaky replay, multiple errors, shrink time up), report the best one
    recorded. Without one, a spent budget is a normal end: hypothesis takes the :class:`_Stop` raised mid-walk
    for a failure and replays the example, which then draws differently (the target's state moved on) and ends
    as FlakyStrategyDefinition. Anything else goes through."""
    best = search.best_failure()
    if best is None:
        if not search.may_send():
            return
        raise exc
    _emit(best)


def report_passes(stats: RunStats, requirement_ids: Sequence[str]) -> None:
    """Tell the check listeners (reports) which of ``requirement_ids`` a fuzzing run holds evidence for: those
    at least one of its responses could have broken (:func:`could_break`) and kept. The others stay as the run
    left them: not exercised, unless another test judged them."""
    for req_id in requirement_ids:
        judged = stats.passed[req_id]
        if judged:
            expect(req_id, True, f"{judged} of {stats.requests} fuzzed responses could break it and kept it "
                   f"({stats.label})", name="fuzz")


def _emit(failure: RequirementFailure) -> None:
    """Report ``failure`` through :func:`checks.expect` (listeners hear of it once) and raise it."""
    expect(failure.requirement.id, False, failure.detail, *failure.exchanges, name="fuzz")


class Fuzzer:
    """Fuzzes one target: per operation (positive, negative) and statefully (per client kind)."""

    def __init__(self, target: Target, pool: LivePool, method: str, *, run_seed: int,
                 contract_path: str | os.PathLike[str] | None = None,
                 on_stats: Callable[[RunStats], None] | None = None) -> None:
        self.target = target
        #: told about the statistics of every run, failed or not (the pytest summary listens).
        self.on_stats = on_stats
        self.pool = pool
        self.method = method
        self.run_seed = run_seed
        self.schema = fuzz_schema(target.public_url, seed_value=run_seed, contract_path=contract_path)
        self.check_target = CheckTarget.from_target(target)
        self.checks = fuzz_check_functions()
        register_hooks()

    def operation(self, op_id: str) -> Any:
        for result in self.schema.get_all_operations():
            op = result.ok()
            if OPERATION_IDS.get((op.method.upper(), op.path)) == op_id:
                return op
        raise KeyError(f"no operation {op_id!r} in the contract")

    # -- per operation ----------------------------------------------------------------------------------------
    def fuzz_operation(self, op_id: str, mode: str, budget: Budget) -> RunStats:
        """Fuzz one operation in one generation mode (``positive``/``negative``) within ``budget``.

        Raises :class:`RequirementFailure` (through :func:`checks.expect`) for the first contract break found,
        shrunk to a small request when the budget allows; returns the statistics otherwise.
        """
        operation = self.operation(op_id)
        generation = GenerationMode(mode)
        negative = generation is GenerationMode.NEGATIVE
        stats = RunStats(f"{op_id} [{mode}]", method=self.method)
        search = _Search(budget.time_limit, budget.shrink_time, stats)
        session = _session(keep_cookies=False)
        strategy = operation.as_strategy(generation_mode=generation)
        plans = plan_strategy(ALL_SLOTS if op_id in FLOW_OPERATIONS else (), negative=negative)
        context = f"{operation.label} [{mode}]"

        def one_case(case: schemathesis.Case, plan: Plan) -> None:
            if not search.may_send():
                raise _Stop()
            injection = Injection(plan, self.pool, self.method)
            token = _injection.set(injection)
            try:
                response = case.call(session=session)
            except _UNSENDABLE:
                stats.unsendable += 1
                return
            except requests.RequestException as exc:
                request_line = curl_for_case(case, self.schema.config.base_url)
                raise search.failed(no_answer_failure(exc, request_line, context=context), request_line) from None
            finally:
                _injection.reset(token)
            self._count(stats, case, response, injection.applied)
            with checking(self.check_target):
                findings = judge(case, response, self.checks)
            if findings:
                where = context
                if op_id in FLOW_OPERATIONS:
                    where += f", live {injection.flow.slot} flow" if injection.flow else ", generated flow id"
                failure = requirement_failure(findings, response, context=where,
                                              rerun=f"--fuzz-seed={self.run_seed} --fuzz-budget={budget.name}")
                raise search.failed(failure, curl_for(response))
            stats.passed.update(could_break(case, response, self.check_target))

        rounds = 0
        try:
            while len(search.failures) == 0 and search.may_send() and stats.requests < budget.max_examples:
                n = min(ROUND_SIZE, budget.max_examples - stats.requests)
                test = given(case=strategy, plan=plans)(one_case)
                test = settings(max_examples=n, deadline=None, database=None, derandomize=False,
                                phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
                                suppress_health_check=list(HealthCheck))(test)
                test = seed(derive_seed(self.run_seed, op_id, mode, rounds))(test)
                before = stats.requests
                rounds += 1
                try:
                    test()
                except RequirementFailure as failure:
                    _emit(failure)
                except _Stop as stop:
                    if not search.failures:
                        break  # the budget is spent
                    _reraise_as_requirement(search, stop)
                except BaseException as exc:  # noqa: BLE001 - hypothesis wraps flaky and multiple failures
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    _reraise_as_requirement(search, exc)
                    break  # the budget ran out mid-example
                if stats.requests == before:
                    break  # nothing new to generate (small input space) or out of time
        finally:
            session.close()
            stats.seconds = time.monotonic() - search.started
            self._told(stats)
        return stats

    def _told(self, stats: RunStats) -> None:
        if self.on_stats is not None:
            self.on_stats(stats)

    def _count(self, stats: RunStats, case: schemathesis.Case, response: schemathesis.Response, live: bool,
               linked: bool = False) -> None:
        stats.requests += 1
        stats.statuses[response.status_code] += 1
        stats.live += int(live)
        op = operation_id(case)
        meta = case.meta
        positive = meta is None or meta.generation.mode.is_positive
        if positive and op in FLOW_OPERATIONS:
            reached = int(reached_flow_logic(response))
            stats.positive_flow_requests += 1
            stats.reached += reached
            if linked:
                stats.linked_flow_requests += 1
                stats.linked_reached += reached

    # -- stateful ------------------------------------------------------------------------------------------
    def fuzz_stateful(self, kind: str, budget: Budget) -> RunStats:
        """Walk the contract's links (init -> get -> submit) as a ``kind`` client (native, browser, spa).

        Each scenario gets a fresh requests session (the cookie jar; a native app keeps no cookies) from
        ``setup()``, handed to every call by ``get_call_kwargs()``; browser kinds also copy the csrf_token of the
        flow they submit from the last answer that showed it. Every response is judged by the same checks; a
        failure is reported as VER-FUZZ-STATEFUL with the steps that led to it.
        """
        fuzzer = self
        stats = RunStats(f"stateful [{kind}]", method=self.method)
        search = _Search(budget.stateful_time_limit, 0.0, stats)
        base = self.schema.as_state_machine()
        accept = KIND_ACCEPT[kind]

        class Walk(base):  # type: ignore[misc, valid-type]
            def setup(self) -> None:
                self.session = _session(keep_cookies=kind != "native")
                self.tokens: dict[str, str] = {}
                self.steps: list[str] = []

            def teardown(self) -> None:
                self.session.close()

            def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
                return {"session": self.session, "headers": {"Accept": accept}}

            def before_call(self, case: schemathesis.Case) -> None:
                if not search.may_send():
                    raise _Stop()  # the budget is spent
                if kind == "native":
                    return
                # A browser sends its cookie jar, not a generated Cookie header (which would replace the jar).
                if case.headers:
                    case.headers.pop("Cookie", None)
                # ... and copies the csrf_token of the flow it submits into the form, as a UI would.
                flow_id = case.query.get("flow") if isinstance(case.query, dict) else None
                # (Only over a string or an absent token: this edit is not re-validated, so it must not turn a
                # schema-breaking case into a valid one.)
                if (operation_id(case) == "updateVerificationFlow" and isinstance(case.body, dict)
                        and isinstance(flow_id, str) and flow_id in self.tokens
                        and isinstance(case.body.get("csrf_token", ""), str)):
                    case.body["csrf_token"] = self.tokens[flow_id]

            def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
                doc = _json_or_none(response)
                if isinstance(doc, dict) and doc.get("id") and isinstance(doc.get("ui"), dict):
                    token = Flow(doc).csrf_token
                    if token:
                        self.tokens[str(doc["id"])] = token
                node = self.recorder.cases.get(case.id)
                linked = node is not None and node.transition is not None and node.is_transition_applied
                fuzzer._count(stats, case, response, live=False, linked=linked)

            def validate_response(self, response: schemathesis.Response, case: schemathesis.Case,
                                  additional_checks: Any = None, **kwargs: Any) -> None:
                with checking(fuzzer.check_target):
                    findings = judge(case, response, fuzzer.checks)
                if findings:
                    failure = requirement_failure(findings, response, context=f"stateful walk ({kind} client), "
                                                  f"{case.operation.label}", requirement_id=STATEFUL_REQUIREMENT,
                                                  steps=self.steps[-6:],
                                                  rerun=f"--fuzz-seed={fuzzer.run_seed} --fuzz-budget={budget.name}")
                    raise search.failed(failure, curl_for(response))
                stats.passed.update(could_break(case, response, fuzzer.check_target))
                node = self.recorder.cases.get(case.id)
                if node is not None and node.transition is not None and node.is_transition_applied:
                    stats.passed[STATEFUL_REQUIREMENT] += 1  # a step the contract's links led to, judged
                self.steps.append(_clip(f"{case.operation.label} -> {response.status_code}: {curl_for(response)}"))

        rounds = 0
        scenarios = 0
        try:
            while not search.failures and search.may_send() and scenarios < budget.scenarios:
                n = min(5, budget.scenarios - scenarios)
                walk_settings = settings(Walk.TestCase.settings, max_examples=n, stateful_step_count=budget.steps,
                                         database=None, deadline=None, report_multiple_bugs=False,
                                         suppress_health_check=list(HealthCheck))
                seed(derive_seed(self.run_seed, "stateful", kind, rounds))(Walk)
                rounds += 1
                scenarios += n
                try:
                    Walk.run(settings=walk_settings)
                except RequirementFailure as failure:
                    _emit(failure)
                except _Stop as stop:
                    if not search.failures:
                        break
                    _reraise_as_requirement(search, stop)
                except (FlakyStrategyDefinition, InvalidDefinition) as exc:
                    # A walk's draws depend on the target's answers (links, cookies, flows that expire): a replay
                    # may draw differently, or a walk reach a state no rule applies to. Contract findings are
                    # recorded before hypothesis sees them; without one there is nothing to report: drop the round.
                    if search.failures:
                        _reraise_as_requirement(search, exc)
                    if isinstance(exc, InvalidDefinition) and "No progress can be made" not in str(exc):
                        raise  # a real mistake in the walk's definition
                    stats.dropped_walks += 1
                except BaseException as exc:  # noqa: BLE001 - hypothesis and schemathesis wrap failures
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    _reraise_as_requirement(search, exc)
                    break  # the budget ran out mid-walk
        finally:
            stats.seconds = time.monotonic() - search.started
            self._told(stats)
        return stats
