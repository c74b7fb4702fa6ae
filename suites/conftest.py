"""Fixtures shared by every suite: the client kind matrix, the flow walker, and flows left to expire."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from kratos_conformance.clients import Client, ClientFactory, ClientKind
from kratos_conformance.flow import Flow
from kratos_conformance.flows import Verifier
from kratos_conformance.identities import AdminApi, Identity
from kratos_conformance.mail import Mail, MailSource
from kratos_conformance.target import Target

KINDS = [k.value for k in ClientKind]


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
    """Flows created when the session starts and left to expire while the other scenarios run.

    Scenarios that need an expired flow take the ``expired`` fixture, which waits only for what is left of the
    lifespan; :func:`pytest_collection_modifyitems` runs those scenarios last, so usually nothing is left.
    """

    def __init__(self, made: dict[tuple[str, str], Expiring], lifespan: float) -> None:
        self.made = made
        self.lifespan = lifespan
        self.ready_at = time.monotonic() + lifespan + 0.3

    def get(self, kind: str, variant: str = "plain") -> Expiring:
        """The expired flow of a client kind (``variant``: ``plain`` or ``return_to``), once it has expired."""
        time.sleep(max(0.0, self.ready_at - time.monotonic()))
        return self.made[(kind, variant)]


@pytest.fixture(scope="session")
def expiring_flows(conformance_run, target: Target, mail: MailSource, active_method: str) -> ExpiringFlows:
    """For every client kind one flow without and one with return_to (when the target has an allowed one)."""
    made: dict[tuple[str, str], Expiring] = {}
    lifespans = [0.0]
    for kind in ClientKind:
        for variant, return_to in (("plain", None), ("return_to", target.return_to)):
            if variant == "return_to" and return_to is None:
                continue
            verifier = Verifier(conformance_run.clients(kind), target, mail, active_method)
            flow = verifier.new_flow(return_to)
            lifespans.append(flow.lifespan or 0.0)
            made[(kind.value, variant)] = Expiring(verifier, flow, return_to)
    return ExpiringFlows(made, max(lifespans))


@pytest.fixture
def expired(expiring_flows: ExpiringFlows, target: Target) -> ExpiringFlows:
    """The session's expiring flows, for a scenario that needs them expired (skips if that takes too long)."""
    if expiring_flows.lifespan <= 0:
        pytest.skip("the flows carry no usable expires_at - issued_at")
    if expiring_flows.lifespan > target.wait_budget:
        pytest.skip(f"flow lifespan {expiring_flows.lifespan:g}s exceeds the wait budget {target.wait_budget:g}s "
                    "(--wait-budget)")
    return expiring_flows


@dataclass
class SentChallenge:
    """A flow in sent_email for a seeded identity, with the mail carrying its code or link."""

    verifier: Verifier
    identity: Identity
    flow: Flow
    mail: Mail


@pytest.fixture(scope="module")
def expired_challenges(conformance_run, target: Target, mail: MailSource, admin: AdminApi,
                       active_method: str) -> dict[str, SentChallenge]:
    """For every client kind a sent challenge whose code or token has expired while its flow has not.

    All kinds are prepared first and waited for once. Skips when the challenge lifespan is unknown or longer than
    the wait budget.
    """
    lifespan = target.challenge_lifespan
    if lifespan is None:
        pytest.skip("the target's code/token lifespan is unknown: pass --challenge-lifespan to run this scenario")
    if lifespan > target.wait_budget:
        pytest.skip(f"code/token lifespan {lifespan:g}s exceeds the wait budget {target.wait_budget:g}s")
    made: dict[str, SentChallenge] = {}
    for kind in ClientKind:
        verifier = Verifier(conformance_run.clients(kind), target, mail, active_method)
        identity = admin.create_identity()
        flow, sent_mail = verifier.sent(identity.email)
        made[kind.value] = SentChallenge(verifier, identity, flow, sent_mail)
    time.sleep(lifespan + 0.3)
    return made


@pytest.fixture(scope="session", autouse=True)
def _start_expiring_early(request: pytest.FixtureRequest) -> None:
    """Create the expiring flows before the first scenario, if any scenario of this run needs them."""
    if any("expired" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("expiring_flows")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the scenarios that need expired flows last, so their wait overlaps with everything else."""
    items.sort(key=lambda item: "expired" in getattr(item, "fixturenames", ()))
