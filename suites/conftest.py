"""Fixtures shared by every suite: the client kind matrix, the flow walker, and flows and challenges left to expire
(made by :mod:`kratos_conformance.flows.expiring`), and the run order that lets them expire while other scenarios
run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.ahead import Ahead, Lookahead
from kratos_conformance.flows.expiring import Expiring, ExpiringChallenges, ExpiringFlows, SentChallenge
from kratos_conformance.flows.expiry_budget import challenge_expiry_skip
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.mail import MailSource
from kratos_conformance.run.conformance_run import ConformanceRun
from kratos_conformance.run.session_services import launch_embedded_target
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import Client, ClientFactory, ClientKind

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
