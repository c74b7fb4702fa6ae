"""The requirement catalog is the one index: every id it lists is checked somewhere, every id used is listed."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from kratos_conformance.rules import checks
from kratos_conformance.rules.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
ID = re.compile(r'"(VER-[A-Z0-9]+(?:-[A-Z0-9]+)*)"')  # a whole quoted id (a prefix such as "VER-BROWSER-" is none)


def _ids_in(paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        for req_id in ID.findall(path.read_text(encoding="utf-8")):
            found.setdefault(req_id, []).append(str(path.relative_to(ROOT)))
    return found


def _python(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_every_id_used_in_suites_and_library_is_in_the_catalog() -> None:
    catalog = load_catalog()
    used = _ids_in(_python("suites") + _python("kratos_conformance"))
    unknown = {i: where for i, where in used.items() if i not in catalog}
    assert not unknown, f"ids used but not in the catalog: {unknown}"


def test_every_catalog_requirement_is_checked_by_a_suite() -> None:
    catalog = load_catalog()
    tagged = _ids_in(_python("suites"))
    unchecked = sorted(set(catalog) - set(tagged))
    assert not unchecked, f"requirements no suite checks: {unchecked}"


def test_catalog_entries_are_complete() -> None:
    for req in load_catalog().values():
        assert req.statement and req.source and req.level in ("MUST", "SHOULD"), req.id
        assert re.fullmatch(r"VER-[A-Z0-9]+(-[A-Z0-9]+)+", req.id), req.id


def test_every_check_takes_the_requirement_after_what_it_judges_and_before_its_evidence() -> None:
    """One argument order for the checks of rules/checks.py (its docstring): a check's ``req`` comes after what it
    judges and what that should be, and only evidence exchanges (``ex``) follow it positionally."""
    own = [f for _, f in inspect.getmembers(checks, inspect.isfunction)
           if f.__module__ == checks.__name__ and not f.__name__.startswith("_")]
    judging = [f for f in own if "req" in inspect.signature(f).parameters]
    assert len(judging) >= 20, [f.__name__ for f in judging]
    wrong = {}
    for f in judging:
        params = list(inspect.signature(f).parameters.values())
        after = params[[p.name for p in params].index("req") + 1:]
        positional = [p.name for p in after if p.kind is p.POSITIONAL_OR_KEYWORD]
        if set(positional) - {"ex"}:
            wrong[f.__name__] = positional
    assert not wrong, f"checks taking more than evidence after req: {wrong}"
