"""What a Kratos release shows on a verification flow: its messages and, per state, its node layouts.

One place for two rules every flow a server answers is held to:

- **messages** (VER-RESP-MESSAGE-IDS): every message id in a flow (``ui.messages``, node messages, labels, anchor
  titles, texts) is one the release profile knows, with the type (info, error, success) that release gives it;
- **layouts** (VER-UI-LAYOUT): the nodes a flow shows in a state, as (group, name or anchor id, input or node type,
  label id) in order, are a layout the release shows for the same method, flow type and state.

Both are learned from the transcripts recorded from the real release (:mod:`kratos_conformance.differential`,
``recordings/<release>/``), which the profile names; the profile's list of known ids adds the ones no recorded case
reaches. Values, messages on nodes and the message texts are not part of a layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from kratos_conformance.flows.flow_document import is_flow_document, items, mapping, message_id
from kratos_conformance.rules.profiles import Profile

#: one node as a layout sees it: (group, name or anchor id, input type or node type, label id, and for a ``method``
#: node its value: the method it submits).
NodeShape = tuple[str, str, str, "int | None", "str | None"]
Layout = tuple[NodeShape, ...]


def texts(flow: Any) -> Iterator[dict[str, Any]]:
    """Every ui text of a flow document: ui.messages, node messages, labels, anchor titles, text nodes."""
    ui = flow.get("ui") if isinstance(flow, dict) else None
    if not isinstance(ui, dict):
        return
    candidates: list[Any] = list(items(ui.get("messages")))
    for node in items(ui.get("nodes")):
        if not isinstance(node, dict):
            continue
        candidates += items(node.get("messages"))
        candidates.append(mapping(node.get("meta")).get("label"))
        attrs = mapping(node.get("attributes"))
        candidates += [attrs.get(key) for key in ("label", "title", "text")]
    for text in candidates:
        if isinstance(text, dict) and message_id(text):
            yield text


def layout_of(flow: Any) -> Layout:
    """The layout of a flow document's nodes."""
    shapes: list[NodeShape] = []
    for node in items(mapping(mapping(flow).get("ui")).get("nodes")):
        node = mapping(node)
        attrs = mapping(node.get("attributes"))
        label = message_id(mapping(node.get("meta")).get("label")) or None
        name = str(attrs.get("name") or attrs.get("id") or "")
        value = str(attrs.get("value")) if name == "method" and attrs.get("value") is not None else None
        shapes.append((str(node.get("group", "")), name, str(attrs.get("type") or node.get("type") or ""), label,
                       value))
    return tuple(shapes)


def flow_method(flow: Any) -> str | None:
    """The verification method a flow belongs to: its ``active``, or (after Kratos set it to ``default``) the group
    of its method nodes."""
    active = flow.get("active") if isinstance(flow, dict) else None
    if active in ("code", "link"):
        return str(active)
    groups = {shape[0] for shape in layout_of(flow)}
    found = groups & {"code", "link"}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class UiExpectations:
    """A release's messages and layouts, as recorded."""

    release: str
    known_ids: frozenset[int]
    message_types: dict[int, str]
    layouts: dict[tuple[str, str, str], frozenset[Layout]]
    #: the announcements (a flow's info and success messages: a code or link sent, the address verified) the
    #: release shows, by (method, state). Error messages are judged per release only: which one a state shows
    #: depends on input beyond any script.
    state_messages: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)

    def message_problems(self, flow: Any) -> list[str]:
        """Messages of the flow the release does not show: unknown ids, a known id of another type, or an
        announcement the release shows for this method only in other states."""
        problems = []
        method, state = flow_method(flow), str(flow.get("state")) if isinstance(flow, dict) else ""
        announced = self._announced
        for text in texts(flow):
            msg_id, msg_type = text["id"], text.get("type")
            if msg_id not in self.known_ids:
                problems.append(f"message {msg_id} is unknown to {self.release}")
            elif msg_id in self.message_types and msg_type != self.message_types[msg_id]:
                problems.append(f"message {msg_id} has type {msg_type!r}, {self.release} gives it "
                                f"{self.message_types[msg_id]!r}")
            elif method is not None and msg_id in announced \
                    and msg_id not in self.state_messages.get((method, state), frozenset()):
                shown = sorted(s for (m, s), found in self.state_messages.items() if m == method and msg_id in found)
                problems.append(f"message {msg_id} in a {method} flow in {state}; {self.release} shows it "
                                + (f"only in {', '.join(shown)}" if shown else f"in no {method} flow"))
        return sorted(set(problems))

    @cached_property
    def _announced(self) -> frozenset[int]:
        """Every announcement the release shows in some method and state (derived once, not per flow judged)."""
        return frozenset().union(*self.state_messages.values())

    def can_judge_layout(self, flow: Any) -> bool:
        """Whether the recordings hold layouts for the flow's method, type and state (else there is nothing to
        compare its nodes with, and :meth:`layout_problem` must not be read as a pass)."""
        return self._recorded_layouts(flow) is not None

    def _recorded_layouts(self, flow: Any) -> frozenset[Layout] | None:
        method = flow_method(flow)
        if method is None:
            return None
        return self.layouts.get((method, str(flow.get("type")), str(flow.get("state")))) or None

    def layout_problem(self, flow: Any) -> str | None:
        """Why the flow's node layout is not one the release shows in its state (None when it is, or when
        :meth:`can_judge_layout` says there is nothing to compare with)."""
        seen = self._recorded_layouts(flow)
        if seen is None:
            return None
        key = (str(flow_method(flow)), str(flow.get("type")), str(flow.get("state")))
        mine = layout_of(flow)
        if mine in seen:
            return None
        closest = min(seen, key=lambda layout: _distance(layout, mine))
        return (f"{key[0]} {key[1]} flow in {key[2]} shows nodes {_show(mine)}; {self.release} shows "
                f"{_show(closest)}" + (f" (or one of {len(seen) - 1} other layouts)" if len(seen) > 1 else ""))


def _distance(a: Layout, b: Layout) -> int:
    return len(set(a) ^ set(b)) + sum(x != y for x, y in zip(a, b))


def _show(layout: Layout) -> str:
    return "[" + ", ".join(f"{g}/{n}:{t}" + (f"={value}" if value else "") + (f"#{label}" if label else "")
                           for g, n, t, label, value in layout) + "]"


def expectations(profile: Profile) -> UiExpectations:
    """The expectations of a release profile, learned from its recordings."""
    return _learned(profile.recording, profile.known_message_ids)


@lru_cache(maxsize=4)
def _learned(release: str, known_ids: frozenset[int]) -> UiExpectations:
    from kratos_conformance.differential import (
        recording,  # the recordings are loaded once, when the first flow is judged
    )

    message_types: dict[int, str] = {}
    layouts: dict[tuple[str, str, str], set[Layout]] = {}
    announcements: dict[tuple[str, str], set[int]] = {}
    for method in ("code", "link"):
        for flow in _recorded_flows(recording(release, method)["cases"].values()):
            announcements.setdefault((method, str(flow.get("state"))), set())
            for text in texts(flow):
                message_types.setdefault(text["id"], str(text.get("type")))
                if text.get("type") in ("info", "success") and text in items(mapping(flow.get("ui")).get("messages")):
                    announcements[(method, str(flow.get("state")))].add(text["id"])
            key = (method, str(flow.get("type")), str(flow.get("state")))
            layouts.setdefault(key, set()).add(layout_of(flow))
    return UiExpectations(release, known_ids | frozenset(message_types), message_types,
                          {key: frozenset(found) for key, found in layouts.items()},
                          {key: frozenset(found) for key, found in announcements.items()})


def _recorded_flows(cases: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for steps in cases:
        for step in steps:
            body = (step.get("response") or {}).get("body")
            if is_flow_document(body) and "state" in body:
                yield body
