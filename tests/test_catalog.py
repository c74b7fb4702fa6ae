"""The requirement catalog is the one index: every id it lists is checked somewhere, every id used is listed."""

from __future__ import annotations

import re
from pathlib import Path

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
