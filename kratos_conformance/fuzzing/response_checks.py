"""The fuzzer's own response checks, and the one requirement each check the fuzzer runs breaks.

* **Custom checks** (:data:`CUSTOM_CHECKS`), each made by one :func:`rule_check` call that names it, states the
  one requirement whose response rule it holds, and registers it with schemathesis by that name when this module is
  imported (here and only here, so each is registered once): Cache-Control on flow reads, CSRF cookie attributes, a
  flow's media type, message ids known to the profile, redirect targets, no debug or stack traces. They judge
  against the :class:`CheckTarget` made active with :func:`checking`; without one they skip.
* **Check to requirement** (:data:`CHECK_REQUIREMENTS`): every check the fuzzer runs (schemathesis's, named there,
  and the custom ones, with the requirement they carry) and the ONE requirement a failure of it breaks;
  :func:`fuzz_check_functions` looks them up in schemathesis's registry.
* What the checks (and the rest of the package) read from a case or a response: :func:`operation_id`
  (:data:`OPERATION_IDS`), :func:`header_values`, :func:`answer_of` and :func:`rules_of` (what every rule of
  :mod:`~kratos_conformance.rules.response_rules` finds on a response, judged once).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, cast

import schemathesis

from kratos_conformance.rules.response_rules import Answer, CookiePolicy, RedirectTargets, judge_answer
from kratos_conformance.rules.ui_expectations import UiExpectations, expectations
from kratos_conformance.run.target import Target
from kratos_conformance.wire.exchanges import OPERATIONS
from kratos_conformance.wire.media_types import media_type


@dataclass(frozen=True)
class CheckTarget(RedirectTargets):
    """What the custom checks judge against: where redirects may point (:class:`RedirectTargets`), which message
    ids the release shows, whether the CSRF cookie must be Secure."""

    #: the release's messages (None: not judged).
    ui: UiExpectations | None = None
    #: the CSRF cookie's attributes on this deployment (None: only Kratos's fixed ones are judged).
    cookie_policy: CookiePolicy | None = None

    @classmethod
    def from_target(cls, target: Target) -> CheckTarget:
        return cls(**asdict(target.redirect_targets), ui=expectations(target.profile),
                   cookie_policy=target.cookie_policy)


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


#: operationId by (METHOD, path as the contract writes it); the custom checks tell operations apart with it.
OPERATION_IDS: dict[tuple[str, str], str] = {
    (method, "/" + path): op_id for (method, path), op_id in OPERATIONS.items()}
#: operations that take a flow id: the ones where "reached flow logic" is measured.
FLOW_OPERATIONS = frozenset({"getVerificationFlow", "updateVerificationFlow", "followVerificationLink"})


def operation_id(case: schemathesis.Case) -> str:
    return OPERATION_IDS.get((str(case.method).upper(), case.path), f"{case.method} {case.path}")


def header_values(response: schemathesis.Response, name: str) -> list[str]:
    """Every value of a response header (names compared without case)."""
    lower = name.lower()
    return [v for k, values in response.headers.items() if k.lower() == lower for v in values]


def json_or_none(response: schemathesis.Response) -> Any:
    """The JSON document a response carries (None when it is not JSON). schemathesis keeps the parsed document on
    the response, so every check of one response shares one parse."""
    ctype = media_type((header_values(response, "content-type") or [""])[0])
    if not ctype.endswith("json") or not response.content:
        return None
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


def answer_of(case: schemathesis.Case, response: schemathesis.Response) -> Answer:
    """A fuzzed response as the response rules read it."""
    headers = tuple((name, value) for name, values in response.headers.items() for value in values)
    return Answer(operation_id(case), response.status_code, headers, response.content or b"")


#: the last response judged, the target it was judged against, and the verdicts (one entry: a response is judged
#: by all the checks in a row)
_last_judged: contextvars.ContextVar[tuple[Any, Any, dict[str, list[str]]] | None] = contextvars.ContextVar(
    "fuzz_last_judged", default=None)


def rules_of(case: schemathesis.Case, response: schemathesis.Response,
             check_target: CheckTarget | None = None) -> dict[str, list[str]]:
    """:func:`response_rules.judge_answer` of a fuzzed response, against ``check_target`` or the one made active
    with :func:`checking` (without one: no redirect or message rule), never the node layout (Kratos lays a flow
    out after the input it was given: a fuzzed email on a passed flow adds an email node, a transient_payload a
    node of its own; layouts are judged on the scenarios' scripted answers only). Judged once per response: every
    custom check, and :func:`~kratos_conformance.fuzzing.judging.could_break`, read the same verdicts."""
    target = check_target or _active_target.get()
    cached = _last_judged.get()
    if cached is not None and cached[0] is response and cached[1] is target:
        return cached[2]
    found = judge_answer(answer_of(case, response), targets=target,
                         cookie_policy=target.cookie_policy if target is not None else None,
                         flow_rules=target.ui if target is not None else None, layouts=False)
    _last_judged.set((response, target, found))
    return found


class RuleCheck:
    """A custom schemathesis check that holds every fuzzed response to one requirement's response rule (found by
    :func:`rules_of`): it fails with the rule's problems, passes when the rule judged the response and found none, and
    passes unjudged (``True``) when the rule cannot judge that response. Made, named and registered by
    :func:`rule_check`, which states the requirement once."""

    def __init__(self, name: str, requirement: str, doc: str) -> None:
        self.__name__ = self.__qualname__ = name  # schemathesis registers and reports a check by its name
        self.__doc__ = f"{requirement}: {doc}"
        self.requirement = requirement

    def __call__(self, ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
        problems = rules_of(case, response).get(self.requirement)
        if problems:
            raise AssertionError("; ".join(problems))
        return None if problems is not None else True


def rule_check(name: str, requirement: str, doc: str) -> RuleCheck:
    """Make the check ``name`` of ``requirement``'s rule and register it with schemathesis."""
    check = RuleCheck(name, requirement, doc)
    schemathesis.check(check)
    return check


flow_cache_control = rule_check("flow_cache_control", "VER-GET-CACHE-CONTROL",
                                "a flow read (GET /flows answering 200) is marked not cacheable.")
csrf_cookie_attributes = rule_check("csrf_cookie_attributes", "VER-INIT-CSRF-COOKIE",
                                    "every CSRF cookie the target sets has Kratos's name and attributes.")
known_message_ids = rule_check("known_message_ids", "VER-RESP-MESSAGE-IDS",
                               "every message in a flow is one the release shows, with the type it gives it.")
redirect_location = rule_check("redirect_location", "VER-RESP-LOCATION",
                               "every redirect points at the UI, the error UI or the target's public API.")
flow_content_type = rule_check("flow_content_type", "VER-RESP-JSON-TYPE",
                               "a flow is served as UTF-8 JSON (response_rules.FLOW_CONTENT_TYPE), whatever "
                               "Content-Type it was labelled with.")
no_body_leak = rule_check("no_body_leak", "VER-RESP-NO-LEAK", "no response carries debug details or a stack trace.")

CUSTOM_CHECKS: tuple[RuleCheck, ...] = (
    flow_cache_control, csrf_cookie_attributes, flow_content_type, known_message_ids, redirect_location,
    no_body_leak,
)


def _requirements_of(*checks: RuleCheck) -> dict[str, str]:
    return {check.__name__: check.requirement for check in checks}


#: Every check the fuzzer runs and the ONE requirement a failure of it breaks, in reporting priority: when one
#: response fails several checks, the first one here is the requirement the failure is reported under. The custom
#: checks bring their own requirement; schemathesis's are named here.
CHECK_REQUIREMENTS: dict[str, str] = {
    "not_a_server_error": "VER-RESP-NO-5XX",
    "status_code_conformance": "VER-RESP-STATUS",
    **_requirements_of(no_body_leak, flow_cache_control, csrf_cookie_attributes, redirect_location),
    "content_type_conformance": "VER-RESP-CONTENT-TYPE",
    **_requirements_of(flow_content_type),
    "response_headers_conformance": "VER-RESP-HEADERS",
    "response_schema_conformance": "VER-RESP-SCHEMA",
    **_requirements_of(known_message_ids),
    "negative_data_rejection": "VER-FUZZ-NEGATIVE-REJECTED",
    "positive_data_acceptance": "VER-FUZZ-POSITIVE-ACCEPTED",
}
STATEFUL_REQUIREMENT = "VER-FUZZ-STATEFUL"
#: what every fuzzed response is judged against: the requirements of the response checks, without the two that
#: judge whether a request was accepted (VER-FUZZ-POSITIVE-ACCEPTED, VER-FUZZ-NEGATIVE-REJECTED).
RESPONSE_REQUIREMENTS: tuple[str, ...] = tuple(
    req for req in CHECK_REQUIREMENTS.values() if not req.startswith("VER-FUZZ-"))


def fuzz_check_functions() -> list[Callable[..., bool | None]]:
    """The check functions of :data:`CHECK_REQUIREMENTS`, looked up in schemathesis's registry by name."""
    from schemathesis import checks as st_checks

    st_checks.load_all_checks()
    return [cast(Callable[..., bool | None], st_checks.CHECKS.get_one(name)) for name in CHECK_REQUIREMENTS]
