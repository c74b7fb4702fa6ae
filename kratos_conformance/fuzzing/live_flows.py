"""Live flows for the fuzzed requests, and the plans that put them into generated cases.

* **Live flows** (:class:`LivePool`): real flow ids of both types in every state (:data:`ALL_SLOTS`:
  choose_method, sent_email, passed_challenge) with the cookie header and csrf_token that belong to them,
  refreshed before they expire.
* **Plans and injection**: a global ``before_call`` hook (:func:`_inject_live_flow`, registered with schemathesis
  when this module is imported) mutates a share of the generated cases to use them (:func:`apply_plan`),
  following a :class:`Plan` that hypothesis draws next to the case (:func:`plan_strategy`; so injection is seeded
  and shrinkable). The driver makes a case's :class:`Injection` active while it is sent. schemathesis re-validates
  a case a ``before_call`` hook changed, so a mutated case is judged as what it is (positive or negative) when it
  is sent.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st

from kratos_conformance.errors import CannotJudge
from kratos_conformance.flows.admin_api import AdminApi, unique_address
from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.fuzzing.response_checks import FLOW_OPERATIONS, operation_id
from kratos_conformance.rules.checks import RequirementFailure
from kratos_conformance.rules.checks import hold as hold_checks
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import BROWSER_ACCEPT, JSON_ACCEPT, Client, ClientKind
from kratos_conformance.wire.exchanges import Exchange, Recorder
from kratos_conformance.wire.http_transport import new_transport
from kratos_conformance.wire.redact import redact_text

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
        self.transport = transport or new_transport(httpx.Limits(max_connections=10, max_keepalive_connections=10))
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
        from kratos_conformance.flows.verifier import Verifier  # the scenarios' flow walker, used for the mail loop

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


#: the injection of the case being sent (the fuzzer sets it around each case; the hooks read it)
current_injection: contextvars.ContextVar[Injection | None] = contextvars.ContextVar("fuzz_injection", default=None)


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
    injection = current_injection.get()
    if injection is not None:
        apply_plan(case, injection)


_hook_lock = threading.Lock()


def register_hooks() -> None:
    """Register the fuzzer's global ``before_call`` hook with schemathesis (idempotent)."""
    with _hook_lock:
        if _inject_live_flow not in schemathesis.hooks.get_all_by_name("before_call"):
            schemathesis.hook("before_call")(_inject_live_flow)


register_hooks()
