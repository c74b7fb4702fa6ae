"""Admin operations on identities and courier messages (framework-free), shaped like Kratos's admin API.

Contract:
- ``create_identity(payload)`` takes ``{"schema_id": "default", "traits": {"email": ...}}`` (schema_id optional,
  defaulting to the configured ``identity_schema_id``, the only schema; optional "state" and
  "verifiable_addresses" [{value, verified, status}] to seed an address) and answers (201, identity JSON,
  Location) / (400, error) for an unknown schema, a missing or invalid email trait or a missing required trait /
  (409, error) when the address belongs to another identity. Addresses are stored lowercase.
- Identity JSON: id, schema_id, schema_url, state, state_changed_at, traits, verifiable_addresses
  [{id, value, verified, via "email", status, verified_at (only when verified), created_at, updated_at}],
  recovery_addresses, metadata_public null, metadata_admin null, created_at, updated_at, organization_id null.
- ``get_identity`` / ``delete_identity``: unknown or malformed ids -> 404 errorGeneric.
- ``list_identities(credentials_identifier)`` -> 200 with a JSON array.
- ``list_messages(recipient)`` -> 200 with the courier messages, newest first.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from . import api_errors
from .bodies import is_valid_email
from .config import ReferenceConfig
from .storage import AddressRecord, DuplicateAddress, IdentityRecord, Storage
from .timefmt import format_time, now_us

Answer = tuple[int, Any]


def _address_json(address: AddressRecord) -> dict[str, Any]:
    body: dict[str, Any] = {"id": address.id, "value": address.value, "verified": address.verified,
                            "via": address.via, "status": address.status}
    if address.verified and address.verified_us is not None:
        body["verified_at"] = format_time(address.verified_us)
    body["created_at"] = format_time(address.created_us)
    body["updated_at"] = format_time(address.updated_us)
    return body


def schema_ref(schema_id: str) -> str:
    """How Kratos names a schema in its schema URLs: the id, base64url-encoded without padding."""
    return base64.urlsafe_b64encode(schema_id.encode("utf-8")).decode("ascii").rstrip("=")


def identity_json(identity: IdentityRecord, public_url: str) -> dict[str, Any]:
    """The Kratos-shaped JSON of an identity."""
    return {
        "id": identity.id,
        "schema_id": identity.schema_id,
        "schema_url": f"{public_url}schemas/{schema_ref(identity.schema_id)}",
        "state": identity.state,
        "state_changed_at": format_time(identity.created_us),
        "traits": identity.traits,
        "verifiable_addresses": [_address_json(a) for a in identity.verifiable_addresses],
        "recovery_addresses": [{"id": r["id"], "value": r["value"], "via": r["via"],
                                "created_at": format_time(r["created_us"]), "updated_at": format_time(r["updated_us"])}
                               for r in identity.recovery_addresses],
        "metadata_public": None,
        "metadata_admin": None,
        "created_at": format_time(identity.created_us),
        "updated_at": format_time(identity.updated_us),
        "organization_id": None,
    }


def _bad(reason: str) -> Answer:
    return 400, api_errors.envelope(api_errors.bad_request(reason))


def _not_found() -> Answer:
    return 404, api_errors.envelope(api_errors.resource_not_found())


def _parse_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value)) if len(value) <= 64 else None
    except ValueError:
        return None


class IdentityAdmin:
    """Identity and courier administration over one storage."""

    def __init__(self, config: ReferenceConfig, storage: Storage) -> None:
        self.config = config
        self.storage = storage

    def create_identity(self, payload: Any) -> tuple[int, Any, str | None]:
        """POST /admin/identities: (status, body, Location header or None)."""
        if not isinstance(payload, dict):
            return (*_bad("The request body must be a JSON object."), None)
        schema_id = payload.get("schema_id", self.config.identity_schema_id)
        if schema_id != self.config.identity_schema_id:
            return (*_bad(f"Unable to find JSON Schema ID: {schema_id}"), None)
        traits = payload.get("traits")
        if not isinstance(traits, dict):
            return (*_bad('I[#/traits] S[#/properties/traits/type] expected object'), None)
        email = traits.get("email")
        if not isinstance(email, str) or not email:
            return (*_bad('I[#/traits] S[#/properties/traits/required] missing properties: "email"'), None)
        if not is_valid_email(email):
            return (*_bad(f'I[#/traits/email] S[#/properties/traits/properties/email/format] "{email}" is not valid '
                          '"email"'), None)
        missing = [name for name in self.config.identity_required_traits
                   if not isinstance(traits.get(name), str) or not traits[name]]
        if missing:
            listed = ", ".join(f'"{name}"' for name in missing)
            return (*_bad(f"I[#/traits] S[#/properties/traits/required] missing properties: {listed}"), None)
        state = payload.get("state", "active")
        if state not in ("active", "inactive"):
            return (*_bad('state: value must be one of "active", "inactive"'), None)
        value = email.lower()
        verified, status = False, "pending"
        for seed in payload.get("verifiable_addresses") or []:
            if isinstance(seed, dict) and str(seed.get("value", "")).lower() == value:
                verified = seed.get("verified") is True
                given = seed.get("status")
                status = given if given in ("pending", "sent", "completed") else (
                    "completed" if verified else "pending")
        now = now_us()
        identity = IdentityRecord(str(uuid.uuid4()), schema_id, traits, state, now, now)
        if self.config.verifiable_email:
            identity.verifiable_addresses.append(AddressRecord(str(uuid.uuid4()), identity.id, value, "email",
                                                               verified, status, now if verified else None, now, now))
        identity.recovery_addresses.append({"id": str(uuid.uuid4()), "value": value, "via": "email",
                                            "created_us": now, "updated_us": now})
        try:
            self.storage.create_identity(identity)
        except DuplicateAddress:
            return 409, api_errors.envelope(api_errors.api_error(
                409, "This identity conflicts with another identity that already exists.")), None
        location = f"{self.config.admin_url}admin/identities/{identity.id}"
        return 201, identity_json(identity, self.config.public_url), location

    def get_identity(self, raw_id: str) -> Answer:
        """GET /admin/identities/{id}."""
        identity_id = _parse_id(raw_id)
        identity = self.storage.get_identity(identity_id) if identity_id else None
        if identity is None:
            return _not_found()
        return 200, identity_json(identity, self.config.public_url)

    def delete_identity(self, raw_id: str) -> Answer:
        """DELETE /admin/identities/{id}: 204 or 404."""
        identity_id = _parse_id(raw_id)
        if identity_id is None or not self.storage.delete_identity(identity_id):
            return _not_found()
        return 204, None

    def list_identities(self, credentials_identifier: str | None) -> Answer:
        """GET /admin/identities[?credentials_identifier=<email>]."""
        address = credentials_identifier.lower() if credentials_identifier else None
        return 200, [identity_json(i, self.config.public_url) for i in self.storage.list_identities(address)]

    def list_messages(self, recipient: str | None) -> Answer:
        """GET /admin/courier/messages[?recipient=<email>]: the courier's messages, newest first."""
        found = self.storage.list_messages()
        if recipient:
            found = [m for m in found if m.recipient.lower() == recipient.lower()]
        return 200, [{"id": m.id, "type": "email", "status": m.status, "recipient": m.recipient,
                      "subject": m.subject, "body": m.body, "template_type": m.template_type,
                      "send_count": m.send_count, "created_at": format_time(m.created_us),
                      "updated_at": format_time(m.updated_us)} for m in found]
