"""Contract fuzzing with schemathesis: budgets, seeds, live flows, custom checks and curl reproductions.

Everything that is not pytest glue (``suites/fuzz/`` holds the tests, ``plugin`` the pytest options), one job per
module; each module imports only the ones listed before it, and ``fuzzer`` them all:

* :mod:`.budget`: **budgets** (:data:`BUDGETS`, :func:`parse_budget`): how many requests each fuzzing test may
  send and for how long. **Seeds** (:func:`resolve_seed`, :func:`derive_seed`): one printed seed per run
  reproduces every test; CI (``CI=true``) gets a fixed seed unless one is given.
* :mod:`.schema`: **the fuzzing contract** (:func:`fuzz_schema`): ``openapi/verification.yaml`` loaded into
  schemathesis without its ``default`` responses (VER-RESP-STATUS: ``default`` does not count), with the expected
  statuses of ``positive_data_acceptance`` taken from the contract (documented business-rule 400s are not
  failures).
* :mod:`.response_checks`: **custom checks**, registered with schemathesis by name (:data:`CUSTOM_CHECKS`):
  Cache-Control on flow reads, CSRF cookie attributes, message ids known to the profile, redirect targets, no
  debug or stack traces. They judge against the :class:`CheckTarget` made active with :func:`checking`; without
  one they skip. Every check the fuzzer runs maps to exactly one requirement id (:data:`CHECK_REQUIREMENTS`).
* :mod:`.judging`: **judging** (:func:`judge`): a failing response becomes a
  :class:`~kratos_conformance.rules.checks.RequirementFailure` (:func:`requirement_failure`) whose detail carries the
  minimal reproducing request as a redacted curl line (:func:`curl_line`); :func:`could_break` tells which
  requirements a response was able to break, so that keeping them is evidence.
* :mod:`.live_flows`: **live flows** (:class:`LivePool`): real flow ids of both types in every state
  (choose_method, sent_email, passed_challenge) with the cookie header and csrf_token that belong to them,
  refreshed before they expire. A global ``before_call`` hook (``_inject_live_flow``) mutates a share of the
  generated cases to use them, following a :class:`Plan` that hypothesis draws next to the case (so injection is
  seeded and shrinkable). schemathesis re-validates a case a ``before_call`` hook changed, so a mutated case is
  judged as what it is (positive or negative) when it is sent.
* :mod:`.stats`: **statistics** (:class:`RunStats`): what a fuzzing test did, with how many positive requests
  reached flow logic instead of an unknown-flow answer (:func:`reached_flow_logic`).
* :mod:`.fuzzer`: **the driver** (:class:`Fuzzer`): per-operation fuzzing (positive and negative) and stateful
  fuzzing through the contract's links with cookies carried across steps.

Importing the package registers the custom checks and the ``before_call`` hook with schemathesis (once: each is
defined in one module only). The names below are the package's interface; the rest is reached through the
modules.
"""

from kratos_conformance.fuzzing.budget import BUDGETS, CI_SEED, Budget, Seed, derive_seed, parse_budget, resolve_seed
from kratos_conformance.fuzzing.fuzzer import Fuzzer, detect_method, report_passes
from kratos_conformance.fuzzing.judging import (
    could_break,
    curl_for,
    curl_for_case,
    judge,
    negative_on_the_wire,
    requirement_failure,
)
from kratos_conformance.fuzzing.live_flows import (
    ALL_SLOTS,
    Injection,
    LiveFlow,
    LivePool,
    Plan,
    Slot,
    apply_plan,
    plan_strategy,
)
from kratos_conformance.fuzzing.response_checks import (
    CHECK_REQUIREMENTS,
    CUSTOM_CHECKS,
    RESPONSE_REQUIREMENTS,
    STATEFUL_REQUIREMENT,
    CheckTarget,
    checking,
    csrf_cookie_attributes,
    flow_cache_control,
    flow_content_type,
    fuzz_check_functions,
    known_message_ids,
    no_body_leak,
    redirect_location,
)
from kratos_conformance.fuzzing.schema import fuzz_contract, fuzz_schema
from kratos_conformance.fuzzing.stats import RunStats, reached_flow_logic

__all__ = [
    # budget
    "BUDGETS", "CI_SEED", "Budget", "Seed", "derive_seed", "parse_budget", "resolve_seed",
    # schema
    "fuzz_contract", "fuzz_schema",
    # response_checks
    "CHECK_REQUIREMENTS", "CUSTOM_CHECKS", "RESPONSE_REQUIREMENTS", "STATEFUL_REQUIREMENT", "CheckTarget",
    "checking", "csrf_cookie_attributes", "flow_cache_control", "flow_content_type", "fuzz_check_functions",
    "known_message_ids", "no_body_leak", "redirect_location",
    # judging
    "could_break", "curl_for", "curl_for_case", "judge", "negative_on_the_wire", "requirement_failure",
    # live_flows
    "ALL_SLOTS", "Injection", "LiveFlow", "LivePool", "Plan", "Slot", "apply_plan", "plan_strategy",
    # stats
    "RunStats", "reached_flow_logic",
    # fuzzer
    "Fuzzer", "detect_method", "report_passes",
]
