"""Read a verification flow document: state, messages, nodes, the CSRF token and the continue link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from kratos_conformance.wire.redact import REDACTED, SECRET_FIELDS, redact_url


def is_flow_document(document: Any) -> TypeGuard[dict[str, Any]]:
    """A parsed JSON body is a verification flow: an object with a ``ui`` object (an error document has none). The
    one test of "is this body a flow" every part of the suite uses: the rules for flow JSON (VER-RESP-JSON-TYPE,
    messages, layouts) judge what it accepts, whatever the Content-Type said."""
    return isinstance(document, dict) and isinstance(document.get("ui"), dict)


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a document of the wrong shape is read as missing the
    part (its schema check says what is wrong), never as a crash of the suite."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one (see :func:`mapping`)."""
    return value if isinstance(value, list) else []


def message_id(message: Any) -> int:
    """A message's integer id, 0 when it has none of that type."""
    found = mapping(message).get("id")
    return found if isinstance(found, int) and not isinstance(found, bool) else 0


@dataclass(frozen=True)
class Node:
    """One UI node: its type, group, attributes and message ids."""

    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))

    @property
    def group(self) -> str:
        return str(self.data.get("group", ""))

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(mapping(self.data.get("attributes")))

    @property
    def name(self) -> str | None:
        return self.attributes.get("name")

    @property
    def input_type(self) -> str | None:
        return self.attributes.get("type")

    @property
    def value(self) -> Any:
        return self.attributes.get("value")

    @property
    def message_ids(self) -> list[int]:
        return [message_id(m) for m in items(self.data.get("messages"))]

    @property
    def label_id(self) -> int | None:
        return message_id(mapping(self.data.get("meta")).get("label")) or None

    def describe(self) -> str:
        """The node in one line for failure details, e.g. ``input:email(email='')``; the value of a secret field
        (the CSRF token, a pre-filled code) shown as REDACTED, a link's secrets taken out of its href."""
        a = self.attributes
        shown = a.get("value", a.get("href", ""))
        if shown and a.get("name") in SECRET_FIELDS:
            shown = REDACTED
        elif isinstance(shown, str) and "href" in a and "value" not in a:
            shown = redact_url(shown)
        return f"{self.type}:{a.get('name') or a.get('id')}({a.get('type', '')}={shown!r})"


@dataclass(frozen=True)
class Flow:
    """A verification flow document as the server returned it."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))

    @property
    def state(self) -> str:
        return str(self.data.get("state", ""))

    @property
    def active(self) -> str | None:
        return self.data.get("active")

    @property
    def ui(self) -> dict[str, Any]:
        return dict(mapping(self.data.get("ui")))

    @property
    def message_ids(self) -> list[int]:
        """Ids of the flow-level messages (``ui.messages``)."""
        return [message_id(m) for m in items(self.ui.get("messages"))]

    def message(self, message_id: int) -> dict[str, Any] | None:
        for m in items(self.ui.get("messages")):
            if isinstance(m, dict) and m.get("id") == message_id:
                return dict(m)
        return None

    @property
    def nodes(self) -> list[Node]:
        return [Node(n) for n in items(self.ui.get("nodes")) if isinstance(n, dict)]

    def nodes_named(self, name: str) -> list[Node]:
        """Every node whose ``attributes.name`` (or, for anchors, ``attributes.id``) is ``name``."""
        return [n for n in self.nodes if n.name == name or (n.name is None and n.attributes.get("id") == name)]

    def node(self, name: str, input_type: str | None = None) -> Node | None:
        """The first node named ``name`` (with that input ``type`` if given), or None."""
        for n in self.nodes_named(name):
            if input_type is None or n.input_type == input_type:
                return n
        return None

    @property
    def csrf_token(self) -> str:
        """The value of the ``csrf_token`` node ("" when the flow has none)."""
        node = self.node("csrf_token")
        return str(node.value or "") if node else ""

    @property
    def continue_url(self) -> str | None:
        """The ``href`` of the continue anchor node after a passed challenge."""
        node = self.node("continue")
        return node.attributes.get("href") if node else None

    @property
    def layout(self) -> list[str]:
        """A compact description of the nodes, for messages and snapshot comparisons."""
        return [n.describe() for n in self.nodes]

    @property
    def issued_at(self) -> datetime | None:
        return parse_time(self.data.get("issued_at"))

    @property
    def expires_at(self) -> datetime | None:
        return parse_time(self.data.get("expires_at"))

    @property
    def lifespan(self) -> float | None:
        """``expires_at - issued_at`` in seconds (None if either is missing or unreadable)."""
        issued, expires = self.issued_at, self.expires_at
        return (expires - issued).total_seconds() if issued and expires else None


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp as Kratos writes it (nanoseconds, ``Z``); None if it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    head, dot, tail = text.partition(".")
    if dot:  # Python reads at most microseconds: drop the extra digits, keep the zone
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[:min(digits, 6)].ljust(6, '0')}{tail[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
