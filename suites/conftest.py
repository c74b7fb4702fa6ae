"""Fixtures shared by every suite: the client kind matrix, the flow walker, and flows left to expire."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest

from kratos_conformance.admin_api import AdminApi, Identity
from kratos_conformance.ahead import Ahead, Lookahead
from kratos_conformance.clients import Client, ClientFactory, ClientKind
from kratos_conformance.conformance_run import ConformanceRun
from kratos_conformance.exchanges import Recorder
from kratos_conformance.expiry import EXPIRY_MARGIN, FLOW_RESERVE, challenge_expiry_skip, flow_expiry_skip
from kratos_conformance.flow_document import Flow
from kratos_conformance.mail import Mail, MailSource
from kratos_conformance.pytest_plugin import launch_embedded_target
from kratos_conformance.target import Target
from kratos_conformance.verifier import Verifier

KINDS = [k.value for k in ClientKind]


def pytest_sessionstart(session: pytest.Session) -> None:
    """An embedded reference target starts while the scenarios are collected."""
    launch_embedded_target(session.config)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each scenario that takes ``kind`` runs once per client kind: native, browser, spa."""
    return str(request.param)


@pytest.fixture
def client(kind: str, make_client: ClientFactory) -> Client:
    return make_client(kind)


@pytest.fixture
def verifier(client: Client, target: Target, mail: MailSource, active_method: str) -> Verifier:
    return Verifier(client, target, mail, active_method)


@pytest.fixture(scope="session")
def code_method(active_method: str) -> None:
    """Skip (with the reason) unless the target verifies with codes."""
    if active_method != "code":
        pytest.skip(f"the target uses the {active_method} method; this scenario is for the code method")


@pytest.fixture(scope="session")
def link_method(active_method: str) -> None:
    """Skip (with the reason) unless the target verifies with links."""
    if active_method != "link":
        pytest.skip(f"the target uses the {active_method} method; this scenario is for the link method")


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
    nothing is left. Each flow is made ahead (:class:`~kratos_conformance.ahead.Ahead`): its exchanges are reported
    by the scenario that uses it.
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


@pytest.fixture(scope="session")
def expiring_flows(conformance_run: ConformanceRun, target: Target, mail: MailSource,
                   active_method: str) -> ExpiringFlows:
    """For every client kind one flow without and one with return_to (when the target has an allowed one)."""
    def make(kind: ClientKind, return_to: str | None) -> Callable[[], Expiring]:
        def work() -> Expiring:
            assert conformance_run.clients is not None
            verifier = Verifier(conformance_run.clients(kind), target, mail, active_method)
            return Expiring(verifier, verifier.new_flow(return_to), return_to)
        return work

    made: dict[tuple[str, str], Ahead[Expiring]] = {}
    for kind in ClientKind:
        for variant, return_to in (("plain", None), ("return_to", target.return_to)):
            if variant == "return_to" and return_to is None:
                continue
            made[(kind.value, variant)] = ahead = Ahead(conformance_run.recorder, make(kind, return_to))
            ahead.run()
    return ExpiringFlows(made, target.wait_budget)


@pytest.fixture
def expired(expiring_flows: ExpiringFlows) -> ExpiringFlows:
    """The session's expiring flows, for a scenario that needs them expired."""
    return expiring_flows


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
    :data:`~kratos_conformance.expiry.FLOW_RESERVE` to live, so it rarely waits; batches that miss that window are
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


@pytest.fixture(scope="session")
def expiring_challenges(conformance_run: ConformanceRun, target: Target, mail: MailSource, active_method: str
                        ) -> ExpiringChallenges | None:
    """The session's expiring challenges, or None when the target's code/token lifespan is unknown or too long."""
    lifespan = target.challenge_lifespan
    if lifespan is None or challenge_expiry_skip(lifespan, target.flow_lifespan, target.wait_budget,
                                                 has_admin=target.has_admin):
        return None
    assert conformance_run.clients is not None
    admin = AdminApi(target, conformance_run.recorder, conformance_run.clients.transport)

    def make(kind: ClientKind) -> SentChallenge:
        assert conformance_run.clients is not None
        verifier = Verifier(conformance_run.clients(kind), target, mail, active_method)
        identity = admin.create_identity()
        return SentChallenge(verifier, identity, verifier.send(identity.email))

    return ExpiringChallenges(make, conformance_run.recorder, lifespan)


@pytest.fixture
def expired_challenges(expiring_challenges: ExpiringChallenges | None, target: Target,
                       admin: AdminApi) -> ExpiringChallenges:
    """``expired_challenges[kind]``: a sent challenge whose code or token has expired while its flow has not.

    Skips when the challenge lifespan is unknown or longer than the wait budget."""
    reason = challenge_expiry_skip(target.challenge_lifespan, target.flow_lifespan, target.wait_budget,
                                   has_admin=target.has_admin)
    if reason:
        pytest.skip(reason)
    assert expiring_challenges is not None  # made whenever nothing above skips
    return expiring_challenges


_LOOKAHEAD = pytest.StashKey[Lookahead]()


@pytest.fixture(scope="session", autouse=True)
def _start_expiring_early(request: pytest.FixtureRequest) -> None:
    """Make the expiring flows before the first scenario, if any scenario of this run needs them."""
    if any("expired" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("expiring_flows")


@pytest.fixture(autouse=True)
def _make_challenges_ahead(request: pytest.FixtureRequest) -> None:
    """Make the expiring challenges ahead of the first scenario that needs them (see :class:`ExpiringChallenges`)."""
    lookahead = request.session.stash.get(_LOOKAHEAD, None)
    if lookahead is None or hasattr(request.config, "workerinput"):
        return  # under pytest-xdist a worker cannot know its order: the first claim makes them (and waits)
    challenges = request.getfixturevalue("expiring_challenges")
    if challenges is None:
        return
    if lookahead.started:
        challenges.keep_rolling()
        return
    other = {"code": "link_method", "link": "code_method"}.get(request.getfixturevalue("active_method"))
    if lookahead.time_to_start(request.node.nodeid, challenges.lead,
                               runs=lambda item: not _needs(item, str(other))):
        challenges.start()


def _needs(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after the smoke profile has deselected what it does not run
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Run order: scenarios needing expired flows last (their wait overlaps with everything else); scenarios
    needing expired codes or tokens right after the last other scenario of their folder, where the pace is steady
    enough for :class:`Lookahead` to make their challenges just in time."""
    late = [item for item in items if _needs(item, "expired")]
    stale = [item for item in items if _needs(item, "expired_challenges") and not _needs(item, "expired")]
    rest = [item for item in items if not _needs(item, "expired") and not _needs(item, "expired_challenges")]
    if stale:
        folder = stale[0].path.parent
        after = max((i for i, item in enumerate(rest) if item.path.parent == folder), default=len(rest) - 1) + 1
        rest[after:after] = stale
    items[:] = rest + late
    if stale:
        first = items.index(stale[0])
        session.stash[_LOOKAHEAD] = Lookahead(items, list(range(first, first + len(stale))))
