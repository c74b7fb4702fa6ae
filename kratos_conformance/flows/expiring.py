"""Flows and challenges made early and left to expire while other scenarios run.

A scenario about an expired flow or an expired code needs something only time makes. :class:`ExpiringFlows` makes
one flow per client kind when the session starts; :class:`ExpiringChallenges` makes sent challenges in batches just
ahead of the scenarios that need them (the run order and
:class:`~kratos_conformance.flows.ahead.Lookahead` decide when).
Both make their work ahead (:class:`~kratos_conformance.flows.ahead.Ahead`), so its exchanges are reported by the
scenario that claims it, and both skip (with the reason) what the run cannot afford
(:mod:`~kratos_conformance.flows.expiry_budget`). The fixtures handing them out are ``suites/conftest.py``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest

from kratos_conformance.flows.admin_api import Identity
from kratos_conformance.flows.ahead import Ahead
from kratos_conformance.flows.expiry_budget import EXPIRY_MARGIN, FLOW_RESERVE, flow_expiry_skip
from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.mail import Mail
from kratos_conformance.wire.clients import ClientKind
from kratos_conformance.wire.exchanges import Recorder


@dataclass
class Expiring:
    """A flow left to expire, the verifier (client and cookies) that made it, and its return_to."""

    verifier: Verifier
    flow: Flow
    return_to: str | None


class ExpiringFlows:
    """Flows made when the session starts and left to expire while the other scenarios run.

    Scenarios that need an expired flow take the ``expired`` fixture and call :meth:`get`, which waits only for
    what is left of the lifespan; :func:`pytest_collection_modifyitems` runs those scenarios last, so usually
    nothing is left. Each flow is made ahead (:class:`~kratos_conformance.flows.ahead.Ahead`): its exchanges are
    reported by the scenario that uses it.
    """

    def __init__(self, made: dict[tuple[str, str], Ahead[Expiring]], wait_budget: float) -> None:
        self.made = made
        self.wait_budget = wait_budget

    def get(self, kind: str, variant: str = "plain") -> Expiring:
        """The expired flow of a client kind (``variant``: ``plain`` or ``return_to``), once it has expired.

        Skips when the flow carries no usable lifespan or one longer than the wait budget."""
        ahead = self.made[(kind, variant)]
        made = ahead.claim()
        lifespan = made.flow.lifespan
        reason = flow_expiry_skip(lifespan, self.wait_budget)
        if reason:
            pytest.skip(reason)
        assert ahead.finished_at is not None and lifespan is not None
        time.sleep(max(0.0, ahead.finished_at + lifespan + EXPIRY_MARGIN - time.monotonic()))
        return made


@dataclass
class SentChallenge:
    """A flow in sent_email for a seeded identity, and the mail carrying its code or link (read when first asked
    for: the challenge is made ahead, and a server's courier may take a while to send it)."""

    verifier: Verifier
    identity: Identity
    flow: Flow
    _mail: Mail | None = None

    @property
    def mail(self) -> Mail:
        if self._mail is None:
            self._mail = self.verifier.wait_mail(self.identity.email, self.flow)
        return self._mail


class ExpiringChallenges:
    """For every client kind a sent challenge whose code or token expires while its flow lives on.

    Challenges are made ahead in batches (one per client kind): the first when :class:`Lookahead` says the first
    scenario needing them is one :attr:`lead` away, then one every :attr:`PERIOD` until they are claimed. A
    scenario takes the batch whose code has expired (or will soonest) and whose flow still has
    :data:`.expiry_budget.FLOW_RESERVE` to live, so it rarely waits; batches that miss that window are
    dropped unreported.
    Without a usable batch the claim makes one and waits the whole challenge lifespan.
    """

    #: seconds between two batches while the scenarios needing them draw near, and how many batches at most.
    PERIOD = 0.4
    MAX_BATCHES = 5

    def __init__(self, make: Callable[[ClientKind], SentChallenge], recorder: Recorder, lifespan: float) -> None:
        self._make = make
        self._recorder = recorder
        self.lifespan = lifespan
        self._batches: list[dict[str, Ahead[SentChallenge]]] = []
        self._claimed: set[str] = set()

    @property
    def lead(self) -> float:
        """How long before the first scenario needing them the first batch should be made."""
        return self.lifespan + EXPIRY_MARGIN + self.PERIOD

    def start(self) -> None:
        """Make a batch for the kinds not claimed yet (evidence held for the scenario that claims it)."""
        batch = {kind.value: Ahead(self._recorder, partial(self._make, kind))
                 for kind in ClientKind if kind.value not in self._claimed}
        for ahead in batch.values():
            ahead.run()
        self._batches.append(batch)

    def keep_rolling(self) -> None:
        """Called as each scenario starts once the first batch is made: another batch every :attr:`PERIOD`."""
        if not self._batches or len(self._batches) >= self.MAX_BATCHES or len(self._claimed) == len(ClientKind):
            return
        newest = [a.started_at for a in self._batches[-1].values() if a.started_at is not None]
        if not newest or time.monotonic() - min(newest) >= self.PERIOD:
            self.start()

    def _ready_at(self, ahead: Ahead[SentChallenge]) -> float:
        """When the challenge's code or token will have expired; never, for work that failed ahead (its claim redoes
        it in the open, so that the scenario reports the failure as its own)."""
        if ahead.finished_at is None:
            return float("inf")
        return ahead.finished_at + self.lifespan + EXPIRY_MARGIN

    def _alive_until(self, ahead: Ahead[SentChallenge]) -> float:
        sent = ahead.peek()
        lifespan = sent.flow.lifespan if sent is not None else None
        if lifespan is None or ahead.started_at is None:
            return float("inf")
        return ahead.started_at + lifespan - FLOW_RESERVE

    def _usable(self, kind: str) -> list[Ahead[SentChallenge]]:
        now = time.monotonic()
        made = [batch[kind] for batch in self._batches if kind in batch and batch[kind].done]
        return [a for a in made if self._alive_until(a) > max(now, self._ready_at(a))]

    def __getitem__(self, kind: str) -> SentChallenge:
        """The challenge of ``kind``, once its code or token has expired (and its flow has not)."""
        usable = self._usable(kind)
        if not usable:
            self.start()
            usable = [self._batches[-1][kind]]
        ahead = min(usable, key=self._ready_at)
        self._claimed.add(kind)
        for batch in self._batches:
            batch.pop(kind, None)
        sent = ahead.claim()
        time.sleep(max(0.0, self._ready_at(ahead) - time.monotonic()))
        return sent
