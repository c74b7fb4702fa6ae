"""The verification state machine as one run saw it: an SVG drawn from the report's transition counts.

States are boxes; every distinct (state before, state after) of ``coverage.transitions`` is one edge, labelled with
its count per client kind. An edge seen in a failing test is drawn red and says how often; the transitions every
server must have (:data:`EXPECTED`) that the run never saw are drawn dashed. No JavaScript, no external asset: the
SVG is inlined in ``summary.html`` (whose style sheet carries :data:`STYLE`) and written beside it as
``state-machine.svg`` (with the style inside).

Stable hooks: ``<svg id="state-machine">``, one ``g.state`` per state (``data-state``) and one ``g.edge`` per edge
(``data-from``, ``data-to``, ``data-count``, ``data-failed``, ``data-exercised``), drawn under the state boxes;
each edge's count is a ``text.edge-label`` (same ``data-from`` and ``data-to``) drawn over them, on no box.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from math import hypot
from typing import Any

#: the flow's own states, left to right.
MAIN_STATES = ("choose_method", "sent_email", "passed_challenge")
NEW_FLOW = "choose_method (new flow)"
#: the transitions of the verification state machine: what a conformance run is expected to walk.
EXPECTED: tuple[tuple[str, str], ...] = (
    ("choose_method", "sent_email"), ("sent_email", "sent_email"), ("sent_email", "passed_challenge"),
    ("choose_method", "choose_method"), ("choose_method", NEW_FLOW), ("sent_email", NEW_FLOW),
    ("passed_challenge", NEW_FLOW),
)
KIND_ORDER = ("native", "browser", "spa")
ROW_Y = (90, 220, 350, 440)
BOX_H, CHAR_W, GAP, MARGIN = 30, 7.0, 36.0, 20.0
#: an edge label's height and the width of one of its characters (10 px text, measured generously).
LABEL_H, LABEL_CHAR_W = 10.0, 6.2
#: where along an edge (0 its start, 1 its end) its label may sit, in order of preference.
LABEL_STOPS = (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85)


@dataclass
class Edge:
    """One (before, after) pair: counts per client kind, how many were in failing tests."""

    source: str
    target: str
    counts: dict[str, int] = field(default_factory=dict)
    failed: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def label(self) -> str:
        kinds = [k for k in KIND_ORDER if k in self.counts] + sorted(set(self.counts) - set(KIND_ORDER))
        text = " · ".join(f"{k} {self.counts[k]}" for k in kinds) or "never seen"
        return text + (f" · {self.failed} in failing tests" if self.failed else "")


def edges(transitions: Iterable[Mapping[str, Any]]) -> list[Edge]:
    """The edges of ``coverage.transitions`` (rows of before, after, operation, client kind, count, failed), then the
    expected ones the run never saw (count 0)."""
    found: dict[tuple[str, str], Edge] = {}
    for row in transitions:
        key = (str(row["from"]), str(row["to"]))
        edge = found.setdefault(key, Edge(*key))
        kind = str(row["client_kind"])
        edge.counts[kind] = edge.counts.get(kind, 0) + int(row["count"])
        edge.failed += int(row.get("failed", 0))
    missing = [Edge(a, b) for a, b in EXPECTED if (a, b) not in found]
    return list(found.values()) + missing


def _row(state: str) -> int:
    if state in MAIN_STATES:
        return 0
    if state.startswith("error"):
        return 2
    if state.startswith("redirect"):
        return 3
    return 1


def _layout(states: Sequence[str], main_gap: float = 0.0) -> tuple[dict[str, tuple[float, float, float]], float]:
    """Centre and width of each state's box, and the drawing's width: the flow's states on top (at least
    ``main_gap`` apart, room for the label between two of them), new flows (and unknown) below them, then errors,
    then redirects; each row centred."""
    rows: dict[int, list[str]] = defaultdict(list)
    for state in MAIN_STATES:
        rows[0].append(state)
    for state in states:
        if state not in MAIN_STATES:
            rows[_row(state)].append(state)
    widths = {s: len(s) * CHAR_W + 24 for row in rows.values() for s in row}
    width = max(sum(widths[s] for s in row) + GAP * (len(row) - 1) for row in rows.values()) + 2 * MARGIN
    main_row = sum(widths[s] for s in rows[0]) + (main_gap + GAP) * (len(rows[0]) + 1)
    width = max(width, main_row, 900.0)
    placed: dict[str, tuple[float, float, float]] = {}
    for row, members in rows.items():
        members = sorted(members, key=lambda s: (s != "unknown", s)) if row else members
        used = sum(widths[s] for s in members) + GAP * (len(members) - 1)
        spare = (width - used) / (len(members) + 1) if row == 0 else (width - used) / 2
        x = spare if row == 0 else (width - used) / 2
        for state in members:
            placed[state] = (x + widths[state] / 2, ROW_Y[row], widths[state])
            x += widths[state] + (spare if row == 0 else GAP)
    return placed, width


def _anchor(box: tuple[float, float, float], towards: tuple[float, float]) -> tuple[float, float]:
    """The point where the line from the box's centre to ``towards`` leaves the box."""
    x, y, w = box
    dx, dy = towards[0] - x, towards[1] - y
    if dx == 0 and dy == 0:
        return x, y
    scale = min((w / 2) / abs(dx) if dx else float("inf"), (BOX_H / 2) / abs(dy) if dy else float("inf"))
    return x + dx * scale, y + dy * scale


Box = tuple[float, float, float, float]  # left, top, right, bottom


def _edge_geometry(edge: Edge, boxes: Mapping[str, tuple[float, float, float]],
                   bend: float) -> tuple[str, list[tuple[float, float]]]:
    """The edge's path and the points along it where its label may sit (in order of preference)."""
    a, b = boxes[edge.source], boxes[edge.target]
    if edge.source == edge.target:  # a loop above the box; the label above the loop
        x, y, _ = a
        path = (f"M{x - 14:.0f},{y - BOX_H / 2:.0f} C{x - 40:.0f},{y - 62:.0f} {x + 40:.0f},{y - 62:.0f} "
                f"{x + 14:.0f},{y - BOX_H / 2:.0f}")
        return path, [(x, y - 56), (x, y - 68)]
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    length = hypot(b[0] - a[0], b[1] - a[1]) or 1.0
    cx, cy = mx - (b[1] - a[1]) / length * bend, my + (b[0] - a[0]) / length * bend
    sx, sy = _anchor(a, (cx, cy))
    ex, ey = _anchor(b, (cx, cy))
    path = f"M{sx:.0f},{sy:.0f} Q{cx:.0f},{cy:.0f} {ex:.0f},{ey:.0f}"
    spots = []
    for t in LABEL_STOPS:
        px = (1 - t) ** 2 * sx + 2 * (1 - t) * t * cx + t * t * ex
        py = (1 - t) ** 2 * sy + 2 * (1 - t) * t * cy + t * t * ey
        spots += [(px, py - 5), (px, py + LABEL_H + 3)]  # just above the line, then just below it
    return path, spots


def _label_box(text: str, at: tuple[float, float]) -> Box:
    """Where a label centred on ``at`` (its baseline) is drawn, padded by its halo."""
    half = len(text) * LABEL_CHAR_W / 2 + 3
    return at[0] - half, at[1] - LABEL_H - 1, at[0] + half, at[1] + 4


def _overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _place_label(text: str, spots: Sequence[tuple[float, float]], taken: list[Box], width: float,
                 height: float) -> tuple[float, float]:
    """The first spot whose label covers no state box, no other label and stays inside the drawing; failing that,
    the spot covering least. The chosen box is added to ``taken``."""
    def cost(spot: tuple[float, float]) -> float:
        box = _label_box(text, spot)
        outside = max(0.0, -box[0]) + max(0.0, box[2] - width) + max(0.0, -box[1]) + max(0.0, box[3] - height)
        return sum(_overlap(box, other) for other in taken) + outside * 100

    best = min(spots, key=lambda spot: (cost(spot) > 0, cost(spot)))  # min keeps the first of equals
    taken.append(_label_box(text, best))
    return best


def _style(edge: Edge) -> str:
    return "failing" if edge.failed else ("seen" if edge.total else "missing")


def _edge_svg(edge: Edge, path: str) -> str:
    end, before = _path_end(path)
    return (f'<g class="edge {_style(edge)}" data-from="{escape(edge.source)}" data-to="{escape(edge.target)}" '
            f'data-count="{edge.total}" data-failed="{edge.failed}" data-exercised="{str(bool(edge.total)).lower()}">'
            f'<title>{escape(edge.source)} → {escape(edge.target)}: {escape(edge.label)}</title>'
            f'<path d="{path}"/>{_arrowhead(before, end)}</g>')


def _label_svg(edge: Edge, at: tuple[float, float]) -> str:
    return (f'<text class="edge-label {_style(edge)}" data-from="{escape(edge.source)}" '
            f'data-to="{escape(edge.target)}" x="{at[0]:.0f}" y="{at[1]:.0f}" text-anchor="middle">'
            f'{escape(edge.label)}</text>')


def _path_end(path: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """The last point of a path and the control point before it (the arrow points from one to the other)."""
    numbers = [float(n) for part in path.replace("M", " ").replace("Q", " ").replace("C", " ").split()
               for n in part.split(",")]
    points = list(zip(numbers[0::2], numbers[1::2]))
    return points[-1], points[-2]


def _arrowhead(before: tuple[float, float], end: tuple[float, float], size: float = 8.0) -> str:
    dx, dy = end[0] - before[0], end[1] - before[1]
    length = hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = end[0] - ux * size, end[1] - uy * size
    left = (bx - uy * size / 2, by + ux * size / 2)
    right = (bx + uy * size / 2, by - ux * size / 2)
    return (f'<polygon class="head" points="{end[0]:.1f},{end[1]:.1f} {left[0]:.1f},{left[1]:.1f} '
            f'{right[0]:.1f},{right[1]:.1f}"/>')


def render_svg(transitions: Iterable[Mapping[str, Any]], *, standalone: bool = True) -> str:
    """The state machine of a report's ``coverage.transitions`` as SVG: a document of its own (``standalone``), or
    an element for a page whose style sheet has :data:`STYLE`.

    Drawn in three layers: the edges' lines, the state boxes over them, and last the edges' labels, each where it
    covers no box and no other label (with a halo where it crosses a line)."""
    drawn = edges(transitions)
    states = sorted({e.source for e in drawn} | {e.target for e in drawn})
    between_main = [e for e in drawn if e.source != e.target and {e.source, e.target} <= set(MAIN_STATES)]
    boxes, width = _layout(states, main_gap=max((len(e.label) for e in between_main), default=0) * LABEL_CHAR_W)
    height = ROW_Y[-1] + 40
    seen_pairs = {(e.source, e.target) for e in drawn}
    lines, labels, geometry = [], [], []
    for edge in drawn:
        bend = 28.0 if (edge.target, edge.source) in seen_pairs else 14.0
        path, spots = _edge_geometry(edge, boxes, bend)
        lines.append(_edge_svg(edge, path))
        geometry.append((edge, spots))
    taken: list[Box] = [(x - w / 2, y - BOX_H / 2, x + w / 2, y + BOX_H / 2) for x, y, w in boxes.values()]
    def crowded_first(pair: tuple[Edge, list[tuple[float, float]]]) -> tuple[bool, bool]:
        """The main row's edges, then the loops: their labels have the fewest places to go."""
        return pair[0] not in between_main, pair[0].source != pair[0].target

    for edge, spots in sorted(geometry, key=crowded_first):
        labels.append(_label_svg(edge, _place_label(edge.label, spots, taken, width, height)))
    boxes_svg = []
    for state in states:
        x, y, w = boxes[state]
        kind = "main" if state in MAIN_STATES else "error" if state.startswith("error") else "other"
        boxes_svg.append(f'<g class="state {kind}" data-state="{escape(state)}"><rect x="{x - w / 2:.0f}" '
                         f'y="{y - BOX_H / 2:.0f}" width="{w:.0f}" height="{BOX_H}" rx="6"/>'
                         f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle">{escape(state)}</text></g>')
    inline_style = f"<style>{STYLE}</style>" if standalone else ""
    size = f'width="{width:.0f}" height="{height}"' if standalone else 'width="100%"'
    return (f'<svg id="state-machine" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height}" '
            f'{size} role="img" aria-label="verification state machine">{inline_style}'
            f'{"".join(lines)}{"".join(boxes_svg)}{"".join(labels)}</svg>')


#: how the state machine looks (scoped to #state-machine, so the summary page can carry it in its style sheet).
STYLE = ("#state-machine text{font:11px system-ui,sans-serif;fill:#1d2330}"
         "#state-machine .state rect{fill:#eef3fb;stroke:#4a6fa5}"
         "#state-machine .state.main rect{fill:#dff3e4;stroke:#1f7a3d}"
         "#state-machine .state.error rect{fill:#fdece9;stroke:#b42318}"
         "#state-machine .edge path{fill:none;stroke:#4a6fa5;stroke-width:1.4}#state-machine .head{fill:#4a6fa5}"
         "#state-machine .edge-label{font-size:10px;fill:#33415c;paint-order:stroke;stroke:#fff;stroke-width:3px;"
         "stroke-linejoin:round}"
         "#state-machine .edge.failing path{stroke:#b42318;stroke-width:2.2}#state-machine .edge.failing .head"
         "{fill:#b42318}#state-machine .edge-label.failing{fill:#b42318;font-weight:600}"
         "#state-machine .edge.missing path{stroke:#999;stroke-dasharray:5 4}#state-machine .edge.missing .head"
         "{fill:#999}#state-machine .edge-label.missing{fill:#888}")
