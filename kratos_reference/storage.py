"""SQLite persistence of the reference target (stdlib sqlite3).

Contract:
- ``Storage(database)`` opens ``":memory:"`` or a file path and creates the schema. One connection is shared
  by all threads and guarded by a lock; every public method is one short transaction, so the store is safe
  under concurrent requests.
- "Use once" operations (``use_code``, ``use_token``) are a single ``UPDATE ... WHERE used_us IS NULL`` whose
  row count decides: of two concurrent users exactly one succeeds.
- Times are integer microseconds since the epoch. Codes and tokens are stored as SHA-256 hashes only.
- Email addresses are stored and compared lowercase; a second identity with the same address is refused
  with ``DuplicateAddress``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS identities (
    id TEXT PRIMARY KEY, schema_id TEXT NOT NULL, traits TEXT NOT NULL, state TEXT NOT NULL,
    created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS verifiable_addresses (
    id TEXT PRIMARY KEY, identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    value TEXT NOT NULL UNIQUE, via TEXT NOT NULL, verified INTEGER NOT NULL, status TEXT NOT NULL,
    verified_us INTEGER, created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recovery_addresses (
    id TEXT PRIMARY KEY, identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    value TEXT NOT NULL, via TEXT NOT NULL, created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS flows (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, state TEXT NOT NULL, active TEXT NOT NULL,
    request_url TEXT NOT NULL, issued_us INTEGER NOT NULL, expires_us INTEGER NOT NULL,
    csrf_token TEXT NOT NULL, ui TEXT NOT NULL, submit_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS codes (
    id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, address_id TEXT, code_hash TEXT NOT NULL,
    expires_us INTEGER NOT NULL, used_us INTEGER, created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, address_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    expires_us INTEGER NOT NULL, used_us INTEGER, created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS courier_messages (
    id TEXT PRIMARY KEY, recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    html_body TEXT NOT NULL, template_type TEXT NOT NULL, status TEXT NOT NULL,
    send_count INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS errors (
    id TEXT PRIMARY KEY, error TEXT NOT NULL, created_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS codes_by_flow ON codes(flow_id);
CREATE INDEX IF NOT EXISTS courier_by_status ON courier_messages(status);
"""


class DuplicateAddress(Exception):
    """An identity with this email address exists already."""


@dataclass
class FlowRecord:
    """A stored verification flow; ``ui`` is the JSON-ready ui container (action, method, nodes, messages)."""

    id: str
    type: str
    state: str
    active: str
    request_url: str
    issued_us: int
    expires_us: int
    csrf_token: str
    ui: dict[str, Any]
    submit_count: int = 0
    #: headers the answer to the current request carries (not stored; only faults set any)
    answer_headers: dict[str, str] = field(default_factory=dict)
    #: the status a JSON client's answer to the current request carries (not stored; only a fault changes it)
    answer_status: int = 200


@dataclass
class AddressRecord:
    """A verifiable address row."""

    id: str
    identity_id: str
    value: str
    via: str
    verified: bool
    status: str
    verified_us: int | None
    created_us: int
    updated_us: int


@dataclass
class IdentityRecord:
    """An identity with its addresses."""

    id: str
    schema_id: str
    traits: dict[str, Any]
    state: str
    created_us: int
    updated_us: int
    verifiable_addresses: list[AddressRecord] = field(default_factory=list)
    recovery_addresses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CourierMessage:
    """A queued or sent mail."""

    id: str
    recipient: str
    subject: str
    body: str
    html_body: str
    template_type: str
    status: str
    send_count: int
    created_us: int
    updated_us: int


class Storage:
    """Thread-safe SQLite store for identities, flows, codes, tokens, mails and errors."""

    def __init__(self, database: str) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- identities -------------------------------------------------------------------------------

    def create_identity(self, identity: IdentityRecord) -> None:
        """Insert an identity with its addresses; DuplicateAddress when an address is taken."""
        try:
            with self._transaction() as db:
                db.execute("INSERT INTO identities VALUES (?, ?, ?, ?, ?, ?)",
                           (identity.id, identity.schema_id, json.dumps(identity.traits), identity.state,
                            identity.created_us, identity.updated_us))
                for a in identity.verifiable_addresses:
                    db.execute("INSERT INTO verifiable_addresses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (a.id, identity.id, a.value, a.via, int(a.verified), a.status, a.verified_us,
                                a.created_us, a.updated_us))
                for r in identity.recovery_addresses:
                    db.execute("INSERT INTO recovery_addresses VALUES (?, ?, ?, ?, ?, ?)",
                               (r["id"], identity.id, r["value"], r["via"], r["created_us"], r["updated_us"]))
        except sqlite3.IntegrityError as exc:
            raise DuplicateAddress(str(exc)) from None

    def _load_identity(self, row: sqlite3.Row) -> IdentityRecord:
        identity = IdentityRecord(row["id"], row["schema_id"], json.loads(row["traits"]), row["state"],
                                  row["created_us"], row["updated_us"])
        for a in self._conn.execute("SELECT * FROM verifiable_addresses WHERE identity_id = ? ORDER BY value",
                                    (identity.id,)):
            identity.verifiable_addresses.append(_address(a))
        for r in self._conn.execute("SELECT * FROM recovery_addresses WHERE identity_id = ? ORDER BY value",
                                    (identity.id,)):
            identity.recovery_addresses.append(dict(r))
        return identity

    def get_identity(self, identity_id: str) -> IdentityRecord | None:
        """The identity with this id, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM identities WHERE id = ?", (identity_id,)).fetchone()
            return self._load_identity(row) if row else None

    def list_identities(self, address: str | None = None, limit: int = 1000) -> list[IdentityRecord]:
        """Identities ordered by creation, optionally only the one owning ``address`` (lowercase)."""
        with self._lock:
            if address is None:
                rows = self._conn.execute("SELECT * FROM identities ORDER BY created_us, id LIMIT ?", (limit,))
            else:
                rows = self._conn.execute(
                    "SELECT i.* FROM identities i JOIN verifiable_addresses a ON a.identity_id = i.id "
                    "WHERE a.value = ? ORDER BY i.created_us LIMIT ?", (address, limit))
            return [self._load_identity(row) for row in rows.fetchall()]

    def delete_identity(self, identity_id: str) -> bool:
        """Delete an identity and its addresses; False when it did not exist."""
        with self._transaction() as db:
            return db.execute("DELETE FROM identities WHERE id = ?", (identity_id,)).rowcount == 1

    def address_by_value(self, value: str) -> AddressRecord | None:
        """The verifiable address with this (lowercase) value, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM verifiable_addresses WHERE value = ?", (value,)).fetchone()
            return _address(row) if row else None

    def mark_address_sent(self, address_id: str, now_us: int) -> None:
        """Status pending -> sent (a completed address stays completed)."""
        with self._transaction() as db:
            db.execute("UPDATE verifiable_addresses SET status = 'sent', updated_us = ? "
                       "WHERE id = ? AND status != 'completed'", (now_us, address_id))

    def mark_address_verified(self, address_id: str, now_us: int, *, unless_changed_since: int | None = None) -> bool:
        """verified=true, verified_at=now, status completed; with ``unless_changed_since`` (an
        :meth:`address_version`) only while the address is still at that version. Whether it was marked."""
        sql = ("UPDATE verifiable_addresses SET verified = 1, verified_us = ?, status = 'completed', updated_us = ? "
               "WHERE id = ?")
        params: tuple[object, ...] = (now_us, now_us, address_id)
        if unless_changed_since is not None:
            sql, params = sql + " AND updated_us = ?", (*params, unless_changed_since)
        with self._transaction() as db:
            return db.execute(sql, params).rowcount == 1

    def address_version(self, address_id: str) -> int | None:
        """When the address was last updated, as a version to compare and set with (the address_update_conflict
        fault only)."""
        with self._lock:
            row = self._conn.execute("SELECT updated_us FROM verifiable_addresses WHERE id = ?",
                                     (address_id,)).fetchone()
            return int(row["updated_us"]) if row else None

    # --- flows ----------------------------------------------------------------------------------

    def insert_flow(self, flow: FlowRecord) -> None:
        """Store a new flow."""
        with self._transaction() as db:
            db.execute("INSERT INTO flows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (flow.id, flow.type, flow.state, flow.active, flow.request_url, flow.issued_us,
                        flow.expires_us, flow.csrf_token, json.dumps(flow.ui), flow.submit_count))

    def get_flow(self, flow_id: str) -> FlowRecord | None:
        """The flow with this id, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM flows WHERE id = ?", (flow_id,)).fetchone()
        if row is None:
            return None
        return FlowRecord(row["id"], row["type"], row["state"], row["active"], row["request_url"],
                          row["issued_us"], row["expires_us"], row["csrf_token"], json.loads(row["ui"]),
                          row["submit_count"])

    def update_flow(self, flow: FlowRecord) -> None:
        """Persist state, active method, CSRF token and ui of a flow (not its submit count)."""
        with self._transaction() as db:
            db.execute("UPDATE flows SET state = ?, active = ?, csrf_token = ?, ui = ? WHERE id = ?",
                       (flow.state, flow.active, flow.csrf_token, json.dumps(flow.ui), flow.id))

    def renew_flow(self, flow_id: str, issued_us: int, expires_us: int) -> None:
        """Give a flow a new lifetime (only the fault expired_flow_renewed does: Kratos replaces an expired flow)."""
        with self._transaction() as db:
            db.execute("UPDATE flows SET issued_us = ?, expires_us = ? WHERE id = ?", (issued_us, expires_us, flow_id))

    def increment_submit_count(self, flow_id: str) -> int:
        """Count one more code attempt on the flow; returns the new count."""
        with self._transaction() as db:
            db.execute("UPDATE flows SET submit_count = submit_count + 1 WHERE id = ?", (flow_id,))
            row = db.execute("SELECT submit_count FROM flows WHERE id = ?", (flow_id,)).fetchone()
            return int(row["submit_count"]) if row else 0

    def submit_count(self, flow_id: str) -> int:
        """The flow's code attempts so far."""
        with self._lock:
            row = self._conn.execute("SELECT submit_count FROM flows WHERE id = ?", (flow_id,)).fetchone()
            return int(row["submit_count"]) if row else 0

    def set_submit_count(self, flow_id: str, count: int) -> None:
        """Overwrite the flow's attempt count (only the race_attempt_count fault counts this way)."""
        with self._transaction() as db:
            db.execute("UPDATE flows SET submit_count = ? WHERE id = ?", (count, flow_id))

    # --- codes and tokens ------------------------------------------------------------------------

    def delete_codes_of_flow(self, flow_id: str, issued_before_us: int | None = None) -> None:
        """Drop every code issued for the flow (or only those issued before ``issued_before_us``)."""
        with self._transaction() as db:
            if issued_before_us is None:
                db.execute("DELETE FROM codes WHERE flow_id = ?", (flow_id,))
            else:
                db.execute("DELETE FROM codes WHERE flow_id = ? AND created_us < ?", (flow_id, issued_before_us))

    def insert_code(self, code_id: str, flow_id: str, address_id: str | None, code_hash: str,
                    expires_us: int, now_us: int) -> None:
        """Store a code hash for the flow."""
        with self._transaction() as db:
            db.execute("INSERT INTO codes VALUES (?, ?, ?, ?, ?, NULL, ?)",
                       (code_id, flow_id, address_id, code_hash, expires_us, now_us))

    def find_code(self, flow_id: str, code_hash: str) -> sqlite3.Row | None:
        """The code of this flow with this hash, whether expired or used (None when there is none)."""
        with self._lock:
            return self._conn.execute("SELECT * FROM codes WHERE flow_id = ? AND code_hash = ?",
                                      (flow_id, code_hash)).fetchone()

    def unused_codes(self) -> list[sqlite3.Row]:
        """Every code not used yet, of every flow (only the code_other_flow_accepted fault looks)."""
        with self._lock:
            return self._conn.execute("SELECT * FROM codes WHERE used_us IS NULL").fetchall()

    def use_code(self, code_id: str, now_us: int) -> bool:
        """Mark a code used; True only for the one caller that flipped it."""
        with self._transaction() as db:
            return db.execute("UPDATE codes SET used_us = ? WHERE id = ? AND used_us IS NULL",
                              (now_us, code_id)).rowcount == 1

    def insert_token(self, token_id: str, flow_id: str, address_id: str, token_hash: str,
                     expires_us: int, now_us: int) -> None:
        """Store a link token hash for the flow."""
        with self._transaction() as db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL, ?)",
                       (token_id, flow_id, address_id, token_hash, expires_us, now_us))

    def use_token(self, flow_id: str, token_hash: str, now_us: int) -> sqlite3.Row | None:
        """Atomically consume this flow's unused token with this hash; the row (expired or not) or None."""
        with self._transaction() as db:
            changed = db.execute("UPDATE tokens SET used_us = ? WHERE flow_id = ? AND token_hash = ? "
                                 "AND used_us IS NULL", (now_us, flow_id, token_hash)).rowcount
            if changed != 1:
                return None
            return db.execute("SELECT * FROM tokens WHERE token_hash = ?", (token_hash,)).fetchone()

    def find_token(self, token_hash: str) -> sqlite3.Row | None:
        """The token with this hash, whatever its flow, used or not (None when there is none)."""
        with self._lock:
            return self._conn.execute("SELECT * FROM tokens WHERE token_hash = ?", (token_hash,)).fetchone()

    # --- courier ---------------------------------------------------------------------------------

    def enqueue_message(self, message: CourierMessage) -> None:
        """Queue a mail for the courier."""
        with self._transaction() as db:
            db.execute("INSERT INTO courier_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (message.id, message.recipient, message.subject, message.body, message.html_body,
                        message.template_type, message.status, message.send_count, message.created_us,
                        message.updated_us))

    def queued_messages(self, limit: int = 20) -> list[CourierMessage]:
        """The oldest mails still waiting to be sent."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM courier_messages WHERE status = 'queued' "
                                      "ORDER BY created_us LIMIT ?", (limit,)).fetchall()
        return [CourierMessage(**dict(row)) for row in rows]

    def list_messages(self, limit: int = 1000) -> list[CourierMessage]:
        """All mails, newest first."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM courier_messages ORDER BY created_us DESC LIMIT ?",
                                      (limit,)).fetchall()
        return [CourierMessage(**dict(row)) for row in rows]

    def record_send_attempt(self, message_id: str, sent: bool, max_attempts: int, now_us: int) -> None:
        """After one attempt: sent, or queued again until ``max_attempts`` then abandoned."""
        with self._transaction() as db:
            db.execute(
                "UPDATE courier_messages SET send_count = send_count + 1, updated_us = ?, status = CASE "
                "WHEN ? THEN 'sent' WHEN send_count + 1 >= ? THEN 'abandoned' ELSE 'queued' END WHERE id = ?",
                (now_us, int(sent), max_attempts, message_id))

    # --- errors ----------------------------------------------------------------------------------

    def insert_error(self, error_id: str, error: dict[str, Any], now_us: int) -> None:
        """Store an error shown by the error UI."""
        with self._transaction() as db:
            db.execute("INSERT INTO errors VALUES (?, ?, ?)", (error_id, json.dumps(error), now_us))

    def get_error(self, error_id: str) -> tuple[dict[str, Any], int] | None:
        """(error object, created_us) or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM errors WHERE id = ?", (error_id,)).fetchone()
        return (json.loads(row["error"]), row["created_us"]) if row else None


def _address(row: sqlite3.Row) -> AddressRecord:
    return AddressRecord(row["id"], row["identity_id"], row["value"], row["via"], bool(row["verified"]),
                         row["status"], row["verified_us"], row["created_us"], row["updated_us"])
