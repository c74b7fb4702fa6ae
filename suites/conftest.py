"""Fixtures shared by every suite: the client kind matrix and the flow walker."""

from __future__ import annotations

import pytest

from kratos_conformance.clients import Client, ClientFactory, ClientKind
from kratos_conformance.flows import Verifier
from kratos_conformance.mail import MailSource
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


@pytest.fixture
def code_method(active_method: str) -> None:
    """Skip (with the reason) unless the target verifies with codes."""
    if active_method != "code":
        pytest.skip(f"the target uses the {active_method} method; this scenario is for the code method")


@pytest.fixture
def link_method(active_method: str) -> None:
    """Skip (with the reason) unless the target verifies with links."""
    if active_method != "link":
        pytest.skip(f"the target uses the {active_method} method; this scenario is for the link method")
