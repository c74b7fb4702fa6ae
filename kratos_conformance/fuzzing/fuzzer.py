"""The driver (:class:`Fuzzer`): runs the fuzzing of one target and reports what it found.

Per-operation fuzzing (positive and negative) and stateful fuzzing through the contract's links with cookies
carried across steps, within a :class:`~.budget.Budget`; every response is judged (:func:`~.judging.judge`), the
first contract break is reported as a :class:`~kratos_conformance.rules.checks.RequirementFailure` with the smallest
reproduction found, and the statistics (:class:`~.stats.RunStats`) tell how many positive requests reached flow
logic. :func:`report_passes` tells the reports which requirements a run holds evidence for; :func:`detect_method`
tells the target's method before the pool and the fuzzer are made.
"""

from __future__ import annotations

import http.cookiejar
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import requests
import schemathesis
import urllib3
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import FlakyStrategyDefinition, InvalidDefinition
from schemathesis import GenerationMode

from kratos_conformance.errors import CannotJudge
from kratos_conformance.flows.flow_document import Flow, is_flow_document
from kratos_conformance.fuzzing.budget import Budget, derive_seed
from kratos_conformance.fuzzing.judging import (
    could_break,
    curl_for,
    curl_for_case,
    judge,
    known_transient,
    no_answer_failure,
    requirement_failure,
)
from kratos_conformance.fuzzing.live_flows import (
    ALL_SLOTS,
    Injection,
    LivePool,
    Plan,
    current_injection,
    plan_strategy,
    register_hooks,
)
from kratos_conformance.fuzzing.response_checks import (
    CHECK_REQUIREMENTS,
    FLOW_OPERATIONS,
    OPERATION_IDS,
    STATEFUL_REQUIREMENT,
    CheckTarget,
    checking,
    fuzz_check_functions,
    json_or_none,
    operation_id,
)
from kratos_conformance.fuzzing.schema import fuzz_schema
from kratos_conformance.fuzzing.stats import RunStats, reached_flow_logic
from kratos_conformance.rules.checks import RequirementFailure, check_name, expect
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import (
    BROWSER_ACCEPT,
    JSON_ACCEPT,
    Client,
    ClientKind,
    causes,
    server_gone,
    unreachable,
)
from kratos_conformance.wire.exchanges import Recorder
from kratos_conformance.wire.http_transport import new_transport, trusted_certificates


#: requests that cannot be put on the wire at all (client-side refusals): skipped, not judged.
def _server_gone(exc: BaseException) -> CannotJudge | None:
    """The run's end that ``exc`` (as hypothesis re-raises it: maybe grouped) stands for, when the server was not
    there: a request that could not connect. None for anything else."""
    if isinstance(exc, CannotJudge):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        return next((gone for sub in exc.exceptions if (gone := _server_gone(sub)) is not None), None)
    if isinstance(exc, requests.RequestException):
        method = str(getattr(exc.request, "method", "") or "a request")
        url = str(getattr(exc.request, "url", "") or "")
        if _never_connected(exc) or (url and unreachable(url)):
            return server_gone(method, url, exc)
    return None


def _never_connected(exc: BaseException) -> bool:
    """Whether a failed request never reached the server (no connection could be made)."""
    return any(isinstance(seen, (ConnectionRefusedError, requests.exceptions.ConnectTimeout,
                                 urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
               for seen in causes(exc))


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
            learned = stats.against_learned.get(req_id)
            name = check_name(fuzz_check_name(req_id), learned=learned is not None, what=learned or "",
                              shape_only=req_id in stats.shape_only)
            expect(req_id, True, f"{judged} of {stats.requests} fuzzed responses could break it and kept it "
                   f"({stats.label})", name=name, judged=judged)


#: requirement -> the fuzzing check that judges it (:data:`CHECK_REQUIREMENTS` read backwards)
_CHECK_OF: dict[str, str] = {req: check for check, req in CHECK_REQUIREMENTS.items()}


def fuzz_check_name(req_id: str) -> str:
    """What a fuzzing verdict on ``req_id`` is reported under (the report's judged_by): the check that judges it
    (``fuzz status_code_conformance``), or for the walk itself ``fuzz stateful_walk``."""
    check = _CHECK_OF.get(req_id)
    return f"fuzz {check}" if check else "fuzz stateful_walk" if req_id == STATEFUL_REQUIREMENT else "fuzz answered"


def _emit(failure: RequirementFailure) -> None:
    """Report ``failure`` through :func:`checks.expect` (listeners hear of it once), and as a failure of each other
    requirement the same response broke (``failure.also``), and raise it."""
    for other in failure.also:
        try:
            expect(other, False, failure.detail, *failure.exchanges, name=fuzz_check_name(other))
        except RequirementFailure:
            pass  # recorded; the failure raised is the main one
    req_id = failure.requirement.id
    expect(req_id, False, failure.detail, *failure.exchanges, name=fuzz_check_name(req_id))


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
        #: requirements judged against values learned from the target's own answers, or by their shape only
        self.against_learned, self.shape_only = target.learned_for, target.shape_only_for
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
        stats = RunStats(f"{op_id} [{mode}]", method=self.method, against_learned=dict(self.against_learned),
                         shape_only=self.shape_only)
        search = _Search(budget.time_limit, budget.shrink_time, stats)
        session, verify = _session(keep_cookies=False), trusted_certificates()
        strategy = operation.as_strategy(generation_mode=generation)
        plans = plan_strategy(ALL_SLOTS if op_id in FLOW_OPERATIONS else (), negative=negative)
        context = f"{operation.label} [{mode}]"

        def one_case(case: schemathesis.Case, plan: Plan) -> None:
            if not search.may_send():
                raise _Stop()
            injection = Injection(plan, self.pool, self.method)
            token = current_injection.set(injection)
            try:
                response = case.call(session=session, verify=verify)
            except _UNSENDABLE:
                stats.unsendable += 1
                return
            except requests.RequestException as exc:
                gone = _server_gone(exc)
                if gone is not None:
                    raise gone from None
                request_line = curl_for_case(case, self.schema.config.base_url)
                raise search.failed(no_answer_failure(exc, request_line, context=context), request_line) from None
            except ValueError as exc:  # an answer the HTTP client cannot read (a Location that is no URL)
                request_line = curl_for_case(case, self.schema.config.base_url)
                raise search.failed(no_answer_failure(exc, request_line, context=context), request_line) from None
            finally:
                current_injection.reset(token)
            self._count(stats, case, response, injection.applied)
            if known_transient(response, self.target.profile):
                return
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
                    if (gone := _server_gone(exc)) is not None:
                        raise gone from None
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
        stats.slowest_request = max(stats.slowest_request, float(response.elapsed or 0.0))
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
        stats = RunStats(f"stateful [{kind}]", method=self.method, against_learned=dict(self.against_learned),
                         shape_only=self.shape_only)
        search = _Search(budget.stateful_time_limit, 0.0, stats)
        base = self.schema.as_state_machine()
        accept, verify = KIND_ACCEPT[kind], trusted_certificates()

        class Walk(base):  # type: ignore[misc, valid-type]
            def setup(self) -> None:
                self.session = _session(keep_cookies=kind != "native")
                self.tokens: dict[str, str] = {}
                self.steps: list[str] = []

            def teardown(self) -> None:
                self.session.close()

            def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
                return {"session": self.session, "headers": {"Accept": accept}, "verify": verify}

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
                doc = json_or_none(response)
                if is_flow_document(doc) and doc.get("id"):
                    token = Flow(doc).csrf_token
                    if token:
                        self.tokens[str(doc["id"])] = token
                node = self.recorder.cases.get(case.id)
                linked = node is not None and node.transition is not None and node.is_transition_applied
                fuzzer._count(stats, case, response, live=False, linked=linked)

            def validate_response(self, response: schemathesis.Response, case: schemathesis.Case,
                                  additional_checks: Any = None, **kwargs: Any) -> None:
                if known_transient(response, fuzzer.target.profile):
                    return
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
                    if (gone := _server_gone(exc)) is not None:
                        raise gone from None
                    _reraise_as_requirement(search, exc)
                    break  # the budget ran out mid-walk
        finally:
            stats.seconds = time.monotonic() - search.started
            self._told(stats)
        return stats


def detect_method(target: Target, transport: httpx.BaseTransport | None = None) -> str | None:
    """The method (code or link) of the target: the embedded one says, else the one the preflight found (from its
    mail), else the ``active`` of a fresh API flow.

    Unlike the plugin's ``active_method`` fixture this is not judged: a target whose flows break the contract
    still gets fuzzed (and the fuzzing reports the break with a reproduction). None if it cannot be told.
    """
    if target.known_method is not None:
        return target.known_method
    own = transport is None
    transport = transport or new_transport()
    try:
        ex = Client(target, ClientKind.NATIVE, Recorder(), transport).init()
        active = ex.json().get("active")
    except (httpx.HTTPError, ValueError, AttributeError):
        active = None
    finally:
        if own:
            transport.close()
    return active if active in ("code", "link") else None
