"""Compare two normalized transcripts and list where the servers answered differently.

Each step is flattened into ``path -> value`` pairs (``3.response.body.ui.nodes[1].attributes.name``); a difference
is a path whose value differs or that only one side has. A file of accepted differences (YAML: ``case`` and
``path`` patterns in shell glob syntax, and the ``reason``) takes known, explained ones out of the list; an entry
that no longer matches anything is reported as stale, so the file cannot outlive what it explains.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kratos_conformance.errors import CannotJudge, first_line

FORMAT = 1
#: error texts written for people: two servers may word them differently without a client noticing, so only
#: whether each side has one is compared.
PROSE_PATHS = ("*.response.body.error.reason", "*.response.body.error.message", "*.response.body.error.details.hint",
               "*.response.body.error.details.reject_reason", "*.response.body.error.details.docs")


@dataclass(frozen=True)
class Difference:
    """One path of one step where the two transcripts disagree (``MISSING`` where a side has nothing)."""

    case: str
    path: str
    a: Any
    b: Any

    def render(self, names: tuple[str, str] = ("a", "b")) -> str:
        return f"{self.case}  {self.path}\n    {names[0]}: {_show(self.a)}\n    {names[1]}: {_show(self.b)}"


class _Missing:
    def __repr__(self) -> str:
        return "(nothing)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Accepted:
    """An accepted difference: differences on matching cases and paths are known, for ``reason``."""

    case: str
    path: str
    reason: str

    def matches(self, diff: Difference) -> bool:
        return fnmatch.fnmatchcase(diff.case, self.case) and fnmatch.fnmatchcase(diff.path, self.path)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}``; empty containers stay as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def compare(a: Mapping[str, Any], b: Mapping[str, Any], *, prose: bool = False) -> list[Difference]:
    """Every difference between the cases of transcripts ``a`` and ``b`` (their ``cases`` mappings or whole
    documents). ``prose``: also compare the wording of error texts (by default only their presence: PROSE_PATHS)."""
    cases_a, cases_b = _cases(a), _cases(b)
    found: list[Difference] = []
    for name in [*cases_a, *(n for n in cases_b if n not in cases_a)]:
        steps_a, steps_b = cases_a.get(name), cases_b.get(name)
        if steps_a is None or steps_b is None:
            found.append(Difference(name, "(case)", "recorded" if steps_a is not None else MISSING,
                                    "recorded" if steps_b is not None else MISSING))
            continue
        flat_a = {k: v for i, step in enumerate(steps_a) for k, v in flatten(step, str(i)).items()}
        flat_b = {k: v for i, step in enumerate(steps_b) for k, v in flatten(step, str(i)).items()}
        for path in [*flat_a, *(p for p in flat_b if p not in flat_a)]:
            va, vb = flat_a.get(path, MISSING), flat_b.get(path, MISSING)
            if va == vb or (va is MISSING and vb is MISSING):
                continue
            if not prose and MISSING not in (va, vb) and any(fnmatch.fnmatchcase(path, p) for p in PROSE_PATHS):
                continue
            found.append(Difference(name, path, va, vb))
    return found


def apply_accepted(diffs: Iterable[Difference], accepted: Iterable[Accepted]
                 ) -> tuple[list[Difference], list[Accepted]]:
    """The differences no accepted entry covers, and the accepted entries that covered nothing (stale)."""
    entries = list(accepted)
    used: set[int] = set()
    left: list[Difference] = []
    for diff in diffs:
        hits = [i for i, entry in enumerate(entries) if entry.matches(diff)]
        used.update(hits)
        if not hits:
            left.append(diff)
    return left, [entry for i, entry in enumerate(entries) if i not in used]


def load_accepted(path: str | Path) -> list[Accepted]:
    """Read a file of accepted differences; CannotJudge (one line) if it is unreadable or malformed."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    except OSError as exc:
        raise CannotJudge(f"accepted differences {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CannotJudge(f"accepted differences {path}: not YAML ({first_line(exc, 120)})") from None
    entries = doc.get("accepted", []) if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise CannotJudge(f"accepted differences {path}: expected a list of entries (case, path, reason)")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("case", "path", "reason")):
            raise CannotJudge(f"accepted differences {path}: entry {i + 1} needs case, path and reason")
        out.append(Accepted(entry["case"], entry["path"], entry["reason"]))
    return out


def load_transcript(path: str | Path) -> dict[str, Any]:
    """Read a transcript written by ``kratos-conformance record``; CannotJudge if it is not one."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotJudge(f"transcript {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CannotJudge(f"transcript {path}: not JSON ({first_line(exc, 120)})") from None
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(cases, dict) or not all(
            isinstance(steps, list) and all(isinstance(step, dict) for step in steps) for steps in cases.values()):
        raise CannotJudge(f"transcript {path}: not a format-{FORMAT} transcript (cases: name -> list of steps)")
    return doc


def save_transcript(doc: Mapping[str, Any], path: str | Path) -> None:
    """Write a transcript as indented JSON (one line per value: readable in a diff)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def render(diffs: list[Difference], names: tuple[str, str] = ("a", "b"), limit: int = 200) -> str:
    """The differences grouped by case, at most ``limit`` of them."""
    lines = [d.render(names) for d in diffs[:limit]]
    if len(diffs) > limit:
        lines.append(f"... and {len(diffs) - limit} more")
    return "\n".join(lines)


def overview(diffs: list[Difference], names: tuple[str, str] = ("a", "b"), pairs: int = 2) -> str:
    """The differences by kind, most frequent first: one line per path with its step number taken off
    (``response.headers.cache-control``), counting the differences and the cases, with up to ``pairs`` of the value
    pairs seen (what a reader comparing two releases wants before the case-by-case list)."""
    kinds: dict[str, list[Difference]] = {}
    for diff in diffs:
        kinds.setdefault(diff.path.split(".", 1)[-1] if diff.path[:1].isdigit() else diff.path, []).append(diff)
    lines = [f"{len(diffs)} difference(s) of {len(kinds)} kind(s):"]
    for kind, found in sorted(kinds.items(), key=lambda item: (-len(item[1]), item[0])):
        seen: dict[tuple[str, str], None] = {}
        for diff in found:
            seen.setdefault((_show(diff.a), _show(diff.b)), None)
        shown = "; ".join(f"{names[0]} {a}, {names[1]} {b}" for a, b in list(seen)[:pairs])
        more = f" (and {len(seen) - pairs} other pair(s) of values)" if len(seen) > pairs else ""
        lines.append(f"  {kind}: {len(found)} in {len({d.case for d in found})} case(s); {shown}{more}")
    return "\n".join(lines)


def _cases(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    cases = doc.get("cases")
    return cases if isinstance(cases, Mapping) else doc


def _show(value: Any) -> str:
    return repr(value) if value is MISSING else json.dumps(value, ensure_ascii=False)
