"""Coverage: which operations answered which status codes to which client kinds, and which state transitions ran.

Both are read from the redacted exchanges (:meth:`Exchange.as_dict`), never from the scenarios' intentions.

A *transition* is a submission (``updateVerificationFlow`` or ``followVerificationLink``) seen with the state of
its flow before and after: before is the last state any earlier exchange of the test showed for the flow named
in the request; after is the state of the flow the answer carries (JSON) or redirects to (the flow fetched next).
An answer that leads to a different flow is marked ``(new flow)``; an answer that is an error is ``error <status>``
with its ``error.id``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kratos_conformance.flows.flow_document import is_flow_document
from kratos_conformance.wire.exchanges import OPERATIONS
from kratos_conformance.wire.query import query_param

#: the contract's operations (rows of the coverage grid, in this order).
CONTRACT_OPERATIONS: tuple[str, ...] = tuple(OPERATIONS.values())
SUBMISSIONS = frozenset({"updateVerificationFlow", "followVerificationLink"})
UNKNOWN_STATE = "unknown"

Hit = tuple[str, int, str]
"""(operation, status, client kind) of one exchange."""
Transition = tuple[str, str, str, str]
"""(state before, state after, operation, client kind) of one submission."""


@dataclass(frozen=True)
class Observed:
    """What one test's exchanges covered (``failed``: the test failed)."""

    hits: list[Hit]
    transitions: list[Transition]
    failed: bool = False
    #: the transitions a failed check cited as evidence (its submission, or the read that showed where it led);
    #: None when that is unknown (a test that failed outside any check): then every transition of a failed test
    failing: list[Transition] | None = None


def _body(ex: Mapping[str, Any]) -> Any:
    try:
        return json.loads(ex.get("response_body") or "")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python decodes
        return None


def _flow(doc: Any) -> tuple[str, str] | None:
    """(id, state) of a verification flow document, else None."""
    if is_flow_document(doc) and isinstance(doc.get("id"), str) and isinstance(doc.get("state"), str):
        return doc["id"], doc["state"]
    return None


def _location(ex: Mapping[str, Any]) -> str | None:
    for name, value in ex.get("response_headers") or ():
        if name.lower() == "location":
            return str(value)
    return None


def _after(ex: Mapping[str, Any], flow_id: str | None, later: Sequence[Mapping[str, Any]],
           read: list[Mapping[str, Any]] | None = None) -> str:
    """The state a submission led to (see the module docstring); the read that showed it, if any, goes to ``read``."""
    found = _flow(_body(ex))
    if found is None and ex.get("status") == 303:
        target = query_param(_location(ex), "flow") or query_param(_location(ex), "id")
        if target is None:
            return "redirect (no flow)"
        for nxt in later:
            if nxt.get("operation") == "getVerificationFlow" and query_param(nxt.get("url"), "id") == target:
                got = _flow(_body(nxt))
                found = got if got is not None else (target, f"error {nxt.get('status')}")
                if read is not None:
                    read.append(nxt)
                break
        else:
            return "redirect (flow not fetched)" if target == flow_id else "redirect (new flow, not fetched)"
    if found is None:
        doc = _body(ex)
        err = doc.get("error") if isinstance(doc, dict) else None
        error_id = err.get("id") if isinstance(err, dict) else None
        return f"error {ex.get('status')}" + (f" ({error_id})" if error_id else "")
    new_id, state = found
    return state if new_id == flow_id else f"{state} (new flow)"


def observe(exchanges: Sequence[Mapping[str, Any]], cited: Sequence[bool] | None = None) -> Observed:
    """Hits and transitions of one test's exchanges (redacted dicts, in the order they happened). ``cited``: per
    exchange, whether a failed check gave it as evidence; a transition whose submission (or the read that showed
    where it led) was cited is a failing one (None: not known)."""
    hits: list[Hit] = []
    transitions: list[Transition] = []
    failing: list[Transition] = []
    evidence = {id(ex) for ex, was in zip(exchanges, cited or ()) if was}
    states: dict[str, str] = {}
    for i, ex in enumerate(exchanges):
        operation, kind = str(ex.get("operation")), str(ex.get("client_kind"))
        hits.append((operation, int(ex.get("status") or 0), kind))
        if operation in SUBMISSIONS:
            flow_id = query_param(ex.get("url"), "flow")
            before = states.get(flow_id or "", UNKNOWN_STATE)
            read: list[Mapping[str, Any]] = []
            transition = (before, _after(ex, flow_id, exchanges[i + 1:], read), operation, kind)
            transitions.append(transition)
            if any(id(e) in evidence for e in [ex, *read]):
                failing.append(transition)
        found = _flow(_body(ex))
        if found is not None:
            states[found[0]] = found[1]
    return Observed(hits, transitions, failing=failing if cited is not None else None)


def coverage_matrix(observed: Iterable[Observed]) -> dict[str, list[dict[str, Any]]]:
    """Count hits and transitions over many tests: the ``coverage`` section of the conformance report."""
    hits: Counter[Hit] = Counter()
    transitions: Counter[Transition] = Counter()
    failed: Counter[Transition] = Counter()
    for item in observed:
        hits.update(_as_hit(h) for h in item.hits)
        transitions.update(_as_transition(t) for t in item.transitions)
        if item.failed:
            failed.update(_as_transition(t) for t in (item.transitions if item.failing is None else item.failing))
    return _rows(hits, transitions, failed)


def merge_matrices(matrices: Iterable[Mapping[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """Add up the coverage sections of several reports (one per method) into one."""
    hits: Counter[Hit] = Counter()
    transitions: Counter[Transition] = Counter()
    failed: Counter[Transition] = Counter()
    for matrix in matrices:
        for r in matrix["operations"]:
            hits[(r["operation"], r["status"], r["client_kind"])] += r["count"]
        for r in matrix["transitions"]:
            key = (r["from"], r["to"], r["operation"], r["client_kind"])
            transitions[key] += r["count"]
            failed[key] += r.get("failed", 0)
    return _rows(hits, transitions, failed)


def _as_hit(h: Sequence[Any]) -> Hit:
    return str(h[0]), int(h[1]), str(h[2])


def _as_transition(t: Sequence[Any]) -> Transition:
    return str(t[0]), str(t[1]), str(t[2]), str(t[3])


def _rows(hits: Counter[Hit], transitions: Counter[Transition],
          failed: Counter[Transition]) -> dict[str, list[dict[str, Any]]]:
    return {
        "operations": [
            {"operation": op, "status": status, "client_kind": kind, "count": n,
             "contract": op in CONTRACT_OPERATIONS}
            for (op, status, kind), n in sorted(hits.items(), key=lambda kv: _op_order(kv[0]))
        ],
        "transitions": [
            {"from": before, "to": after, "operation": op, "client_kind": kind, "count": n,
             "failed": failed[(before, after, op, kind)]}
            for (before, after, op, kind), n in sorted(transitions.items())
        ],
    }


def _op_order(hit: Hit) -> tuple[int, str, int, str]:
    op, status, kind = hit
    rank = CONTRACT_OPERATIONS.index(op) if op in CONTRACT_OPERATIONS else len(CONTRACT_OPERATIONS)
    return rank, op, status, kind
