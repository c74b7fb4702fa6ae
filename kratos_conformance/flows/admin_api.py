"""Identities through the admin API: seed one with a known address, read back its verification outcome."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from kratos_conformance.errors import CannotJudge
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import send
from kratos_conformance.wire.exchanges import Exchange, Recorder

#: where the address goes in a traits template (``--identity-traits``).
EMAIL_PLACEHOLDER = "{email}"
#: the traits of a seeded identity when nothing else is known: the address as the ``email`` trait.
DEFAULT_TRAITS: dict[str, Any] = {"email": EMAIL_PLACEHOLDER}


def traits_for(template: Mapping[str, Any], email: str) -> dict[str, Any]:
    """The traits of a new identity: the template with every ``{email}`` replaced by ``email``."""
    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(EMAIL_PLACEHOLDER, email)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value
    return fill(dict(template))


def parse_traits_template(text: str | None) -> dict[str, Any] | None:
    """``--identity-traits``: a JSON object with ``{email}`` where the address goes; CannotJudge if it is not one."""
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CannotJudge(f"--identity-traits: not JSON ({exc.msg}), e.g. '{{\"email\": \"{{email}}\"}}'") from None
    if not isinstance(doc, dict) or EMAIL_PLACEHOLDER not in json.dumps(doc):
        raise CannotJudge("--identity-traits: a JSON object with \"{email}\" where the address goes, e.g. "
                          "'{\"email\": \"{email}\", \"name\": \"Test\"}'")
    return doc


def unique_address(label: str = "user") -> str:
    """A fresh address no other scenario uses (scenarios never share identities)."""
    return f"{label}-{uuid.uuid4().hex[:12]}@conformance.test"


@dataclass(frozen=True)
class VerifiableAddress:
    """One entry of an identity's ``verifiable_addresses``."""

    value: str
    verified: bool
    status: str
    verified_at: str | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifiableAddress:
        return cls(str(data.get("value", "")), bool(data.get("verified")), str(data.get("status", "")),
                   data.get("verified_at"), data)


@dataclass(frozen=True)
class Identity:
    """An identity seeded by a scenario."""

    id: str
    email: str
    created: Exchange


def _identity_document(ex: Exchange, what: str) -> dict[str, Any]:
    """The identity JSON object an admin API answer carries; CannotJudge when it carries none (the admin API is
    the suite's tool here, not what it judges)."""
    try:
        doc = ex.json()
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise CannotJudge(f"the admin API answered {ex.method} {ex.url} with no JSON object for {what} ({ex.status}, "
                          f"{ex.response.headers.get('content-type') or 'no content type'}): the suite cannot seed "
                          "and read identities")
    return doc


class AdminApi:
    """The admin API of the target (Kratos: a separate port, 4434 by default; Ory Network: a bearer token)."""

    def __init__(self, target: Target, recorder: Recorder, transport: httpx.BaseTransport) -> None:
        self.target = target
        headers = {"Accept": "application/json", "User-Agent": "kratos-conformance (admin)"}
        if target.admin_token:
            headers["Authorization"] = f"Bearer {target.admin_token}"
        self.http = httpx.Client(transport=transport, headers=headers, timeout=httpx.Timeout(15.0))
        self.recorder = recorder

    def create_identity(self, email: str | None = None) -> Identity:
        """Create an identity of the target's identity schema whose traits are its template with ``email`` (a fresh
        address by default); fail loudly if refused."""
        email = email or unique_address()
        body = {"schema_id": self.target.identity_schema, "traits": traits_for(self.target.identity_traits, email)}
        ex = send(self.http, self.recorder, "admin", "POST", self.target.admin("admin/identities"), json=body)
        if ex.status != 201:
            raise AssertionError(f"the admin API refused to create an identity:\n{ex.render()}")
        created = _identity_document(ex, "the identity it created")
        if not created.get("id"):
            raise CannotJudge(f"the admin API answered an identity's creation without its id ({ex.status}): the "
                              "suite cannot seed identities")
        return Identity(id=str(created["id"]), email=email, created=ex)

    def get_identity(self, identity_id: str) -> Exchange:
        """GET /admin/identities/{id}."""
        return send(self.http, self.recorder, "admin", "GET", self.target.admin(f"admin/identities/{identity_id}"))

    def address(self, identity: Identity) -> tuple[VerifiableAddress, Exchange]:
        """The identity's verifiable address for its email, read fresh from the admin API."""
        ex = self.get_identity(identity.id)
        if ex.status != 200:
            raise AssertionError(f"the admin API did not return identity {identity.id}:\n{ex.render()}")
        addresses = _identity_document(ex, f"identity {identity.id}").get("verifiable_addresses")
        for entry in addresses if isinstance(addresses, list) else []:
            if isinstance(entry, dict) and str(entry.get("value", "")).lower() == identity.email.lower():
                return VerifiableAddress.from_json(entry), ex
        raise AssertionError(f"identity {identity.id} has no verifiable address {identity.email}:\n{ex.render()}")
