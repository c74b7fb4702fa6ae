"""From a requirement id to what checks it: ``kratos-conformance explain VER-CODE-REPLAY``.

Reads the catalog entry, the suite tests whose ``requirement`` marker names the id (found by reading the suites'
source, not by running pytest), and the lines of the library that name it (its checks and rules). Works from a
checkout and from an installed wheel alike (:func:`~kratos_conformance.bundle.data_root`).
"""

from __future__ import annotations

import ast
import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path

from .bundle import data_root
from .catalog import Requirement, load_catalog
from .errors import CannotJudge

_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Explanation:
    """What the project holds for one requirement."""

    requirement: Requirement
    #: ``suites/...::test_name`` of every test whose marker names it (``main``: it is the marker's first id)
    tests: tuple[tuple[str, bool], ...]
    #: ``kratos_conformance/...:line`` and the line, wherever the library names the id
    judged_in: tuple[tuple[str, str], ...]

    def render(self) -> str:
        req = self.requirement
        lines = [f"{req.id} ({req.level}, {req.area}): {req.statement}", f"  source: {req.source}"]
        lines.append("  tests (requirement marker):" if self.tests else
                     "  tests: none names it in its marker (judged on every answer by the checks below)")
        lines += [f"    {name}{'' if main else '  (among its other requirements)'}" for name, main in self.tests]
        if self.judged_in:
            lines.append("  named in the library:")
            lines += [f"    {where}: {text}" for where, text in self.judged_in]
        return "\n".join(lines)


def marked_tests(requirement_id: str, suites: Path) -> list[tuple[str, bool]]:
    """The suite tests whose ``@pytest.mark.requirement(...)`` names ``requirement_id`` (literally, or through a
    tuple of ids defined in the module or imported from the library), and whether it is the marker's first id (the
    test's main requirement)."""
    found = []
    for path in sorted(suites.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _id_tuples(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.requirement":
                    ids = [rid for arg in decorator.args for rid in _ids_of(arg, names)]
                    if requirement_id in ids:
                        found.append((f"{path.relative_to(suites.parent)}::{node.name}", ids[0] == requirement_id))
    return found


def _id_tuples(tree: ast.Module) -> dict[str, list[str]]:
    """The tuples of requirement ids a suite module can name in its markers: its own module-level ones, and those it
    imports from the library (``from kratos_conformance.fuzzing import RESPONSE_REQUIREMENTS``)."""
    names: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)):
            values = [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = values
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kratos_conformance"):
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
                    names[alias.asname or alias.name] = list(value)
    return names


def _ids_of(arg: ast.expr, names: dict[str, list[str]]) -> list[str]:
    """The ids one marker argument stands for (a literal, a tuple's name, or ``*`` a tuple's name)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.Starred):
        arg = arg.value
    return names.get(arg.id, []) if isinstance(arg, ast.Name) else []


def library_lines(requirement_id: str) -> list[tuple[str, str]]:
    """Where the library's Python code names ``requirement_id`` (file:line and the stripped line)."""
    found = []
    for path in sorted(_PACKAGE.rglob("*.py")):
        if "_bundle" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if f'"{requirement_id}' in line:
                found.append((f"{path.relative_to(_PACKAGE.parent)}:{number}", line.strip()[:110]))
    return found


def explain(requirement_id: str) -> Explanation:
    """What checks ``requirement_id``; :class:`CannotJudge` (one line) for an id the catalog does not have."""
    catalog = load_catalog()
    wanted = requirement_id.strip().upper()
    if wanted not in catalog:
        near = difflib.get_close_matches(wanted, list(catalog), n=3, cutoff=0.8)
        hint = f" (did you mean {', '.join(near)}?)" if near else " (see kratos_conformance/requirements.yaml)"
        raise CannotJudge(f"no requirement {requirement_id!r} in the catalog{hint}")
    return Explanation(catalog[wanted], tuple(marked_tests(wanted, data_root() / "suites")),
                       tuple(library_lines(wanted)))
