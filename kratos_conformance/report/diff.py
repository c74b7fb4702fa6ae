"""Compare two conformance reports requirement by requirement: what broke, what got fixed, what else changed.

A *regression* is a requirement that passed in the old report and fails in the new one (``failed`` or
``expected_failure``: an expected failure explains a failure, it does not undo it). A SHOULD requirement that the new
report lists among its verdict's warnings (not met, and the run did not fail the gate on it) is a *warning*
instead: listed, but, as in the verdict, no regression. A *fix* is the way back. Every other change of status
(passed -> skipped, not exercised -> passed, a requirement added to or dropped from the catalog) is listed as a
change. ``kratos-conformance diff`` exits 1 when there is a regression, else 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kratos_conformance.errors import EXIT_CONFORMANT, EXIT_NOT_CONFORMANT
from kratos_conformance.report.results import EXPECTED_FAILURE, FAILED, PASSED

FAILING = frozenset({FAILED, EXPECTED_FAILURE})
ABSENT = "absent"


@dataclass(frozen=True)
class Change:
    """One requirement whose status differs between the reports."""

    requirement: str
    old: str
    new: str
    statement: str = ""
    reason: str = ""


@dataclass
class Diff:
    """The changes between two reports, sorted into regressions, fixes and other changes."""

    regressions: list[Change] = field(default_factory=list)
    #: SHOULD requirements now not met that the new run's verdict counts as warnings: no regression
    warnings: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def exit_code(self) -> int:
        return EXIT_NOT_CONFORMANT if self.regressions else EXIT_CONFORMANT

    def as_dict(self) -> dict[str, Any]:
        return {
            "regressions": [vars(c) for c in self.regressions],
            "warnings": [vars(c) for c in self.warnings],
            "fixes": [vars(c) for c in self.fixes],
            "changes": [vars(c) for c in self.changes],
            "unchanged": self.unchanged,
            "exit_code": self.exit_code,
        }


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    """The :class:`Diff` from ``old`` to ``new`` (two report documents), in catalog order."""
    before = {r["id"]: r for r in old["requirements"]}
    after = {r["id"]: r for r in new["requirements"]}
    result = Diff()
    warned = set(new.get("verdict", {}).get("warnings") or ())
    for rid in list(after) + [r for r in before if r not in after]:
        o, n = before.get(rid), after.get(rid)
        old_status, new_status = (o or {}).get("status", ABSENT), (n or {}).get("status", ABSENT)
        if old_status == new_status:
            result.unchanged += 1
            continue
        change = Change(rid, old_status, new_status, (n or o or {}).get("statement", ""), (n or {}).get("reason", ""))
        if old_status == PASSED and new_status in FAILING:
            (result.warnings if rid in warned else result.regressions).append(change)
        elif old_status in FAILING and new_status == PASSED:
            result.fixes.append(change)
        else:
            result.changes.append(change)
    return result


def render_diff(diff: Diff, old_name: str = "old", new_name: str = "new") -> str:
    """A readable listing of the diff, one requirement per line."""
    lines = [f"conformance diff: {old_name} -> {new_name}"]
    for title, items in (("regressions (passed -> failing)", diff.regressions),
                         ("warnings (passed -> a SHOULD not met, not failing the gate)", diff.warnings),
                         ("fixes (failing -> passed)", diff.fixes), ("other changes", diff.changes)):
        lines.append(f"{title}: {len(items)}")
        for c in items:
            why = f"  -- {c.reason}" if c.reason and c.new != PASSED else ""
            lines.append(f"  {c.requirement:<34} {c.old} -> {c.new}{why}")
    lines.append(f"unchanged: {diff.unchanged}")
    return "\n".join(lines)
