"""What one fuzzing test did (:class:`RunStats`): requests, time, statuses, the requirements its responses kept,
and how many positive requests reached flow logic instead of an unknown-flow answer (:func:`reached_flow_logic`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import schemathesis

from kratos_conformance.flows.flow_document import is_flow_document
from kratos_conformance.fuzzing.response_checks import header_values, json_or_none
from kratos_conformance.rules.response_rules import is_redirect


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
    #: the longest a single request took to be answered (seconds): the server's slowest answer, not the fuzzer's
    #: own work, which ``seconds`` includes
    slowest_request: float = 0.0
    passed: Counter[str] = field(default_factory=Counter)
    #: requirements whose checks compared the answers with values learned from the target's own answers, and what
    #: was learned (the UI URLs, when not given; the CSRF cookie's Secure): their passes are reported as such.
    against_learned: dict[str, str] = field(default_factory=dict)
    #: requirements whose checks could judge only the shape (the UI URLs unknown): their passes are reported as such.
    shape_only: frozenset[str] = frozenset()

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
        self.slowest_request = max(self.slowest_request, other.slowest_request)
        self.passed.update(other.passed)
        self.against_learned.update(other.against_learned)
        self.shape_only |= other.shape_only

    def summary(self) -> str:
        share = self.reached_share
        reach = f"{share:.0%} ({self.reached}/{self.positive_flow_requests})" if share is not None else "n/a"
        codes = " ".join(f"{code}x{n}" for code, n in sorted(self.statuses.items()))
        linked = ""
        if self.linked_flow_requests:
            linked = (f" (flow ids from links: {self.linked_reached / self.linked_flow_requests:.0%} of "
                      f"{self.linked_flow_requests})")
        dropped = f", {self.dropped_walks} walk round(s) dropped" if self.dropped_walks else ""
        return (f"{self.label}: {self.requests} requests in {self.seconds:.1f}s ({self.rate:.0f}/s, slowest "
                f"answer {self.slowest_request:.2f}s), positive requests reaching flow logic {reach}{linked}, "
                f"statuses {codes or '-'}{dropped}")


def reached_flow_logic(response: schemathesis.Response) -> bool:
    """Whether a response to a flow operation came from flow logic rather than "no such flow".

    Not reached: a 404; a 400 error object without a flow (missing or malformed flow id); a redirect that names no
    flow (the error UI). Conservative: a CSRF failure sent to the error UI counts as not reached.
    """
    status = response.status_code
    if status == 404:
        return False
    if status == 400:
        doc = json_or_none(response)
        return is_flow_document(doc)
    if is_redirect(status):
        location = (header_values(response, "location") or [""])[0]
        query = parse_qs(urlsplit(location).query)
        return "flow" in query or ("id" in query and "/self-service/verification/flows" in location)
    return True
