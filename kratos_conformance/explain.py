"""From a requirement id to what checks it: ``kratos-conformance explain VER-CODE-REPLAY``.

Reads the catalog entry, the suite tests whose ``requirement`` marker names the id (found by reading the suites'
source, not by running pytest), and the lines of the library that name it (its checks and rules). Works from a
checkout and from an installed wheel alike (:func:`~kratos_conformance.run.bundle.data_root`).
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kratos_conformance.errors import CannotJudge
from kratos_conformance.rules import response_rules, ui_expectations
from kratos_conformance.rules.catalog import Requirement, load_catalog
from kratos_conformance.rules.contract import required_headers
from kratos_conformance.run.bundle import data_root

_PACKAGE = Path(__file__).resolve().parent
#: the one implementation of each response rule, by the requirement it judges: the scenarios, the contract judge
#: and the fuzzer all call it (tests/test_response_rules.py holds them to that)
RULES: dict[str, tuple[Callable[..., Any], ...]] = {
    "VER-RESP-NO-LEAK": (response_rules.leak,),
    "VER-GET-CACHE-CONTROL": (response_rules.cache_control_problem,),
    "VER-INIT-CSRF-COOKIE": (response_rules.csrf_cookie_problems,),
    "VER-BROWSER-COOKIE-HTTPONLY": (response_rules.stored_csrf_cookie_problems,),
    "VER-RESP-NO-5XX": (response_rules.server_error_problem,),
    "VER-SUBMIT-ERROR-UI-ID": (response_rules.error_id_problem,),
    "VER-RESP-JSON-TYPE": (response_rules.flow_content_type_problem,),
    "VER-RESP-LOCATION": (response_rules.location_problem,),
    "VER-RESP-HEADERS": (required_headers,),
    "VER-RESP-MESSAGE-IDS": (ui_expectations.UiExpectations.message_problems,),
    "VER-UI-LAYOUT": (ui_expectations.UiExpectations.layout_problem,),
}


@dataclass(frozen=True)
class Explanation:
    """What the project holds for one requirement."""

    requirement: Requirement
    #: ``suites/...::test_name`` of every test whose marker names it (``main``: it is the marker's first id)
    tests: tuple[tuple[str, bool], ...]
    #: ``kratos_conformance/...:line`` and the line, wherever the library names the id
    judged_in: tuple[tuple[str, str], ...]
    #: ``kratos_conformance/...:line`` and the name of each function that implements its rule (:data:`RULES`)
    rules: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        req = self.requirement
        lines = [f"{req.id} ({req.level}, {req.area}): {req.statement}", f"  source: {req.source}"]
        lines.append("  tests (requirement marker):" if self.tests else
                     "  tests: none names it in its marker (judged on every answer by the checks below)")
        lines += [f"    {name}{'' if main else '  (among its other requirements)'}" for name, main in self.tests]
        if self.rules:
            lines.append("  its rule, written once:")
            lines += [f"    {where}: {name}" for where, name in self.rules]
        if self.judged_in:
            lines.append("  named in the library:")
            lines += [f"    {where}: {text}" for where, text in self.judged_in]
        return "\n".join(lines)


def marked_tests(requirement_id: str, suites: Path) -> list[tuple[str, bool]]:
    """The suite tests whose ``@pytest.mark.requirement(...)`` names ``requirement_id`` (literally, or through a
    constant of ids defined in the module or imported from the library), and whether it is the marker's first id
    (the test's main requirement): that test first (there is at most one), then the others in path order."""
    found = []
    for path in sorted(suites.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = id_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                ids = marker_ids(node, names)
                if requirement_id in ids:
                    found.append((f"{path.relative_to(suites.parent)}::{node.name}", ids[0] == requirement_id))
    return sorted(found, key=lambda test: not test[1])  # the test whose main requirement it is first


def marker_ids(test: ast.FunctionDef, names: dict[str, list[str]]) -> list[str]:
    """The ids a test's ``requirement`` markers name, in order, constants resolved through ``names``
    (:func:`id_names`); ``"*"`` stands for an argument that cannot be resolved."""
    ids: list[str] = []
    for decorator in test.decorator_list:
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.requirement":
            for arg in decorator.args:
                ids += _ids_of(arg.value if isinstance(arg, ast.Starred) else arg, names) or ["*"]
    return ids


def id_names(tree: ast.Module) -> dict[str, list[str]]:
    """The constants of requirement ids a suite module can name in its markers: its own module-level ones (an id,
    a tuple of ids and such constants, two names unpacked from a tuple of ids), and those it imports from the library
    (``from kratos_conformance.fuzzing import RESPONSE_REQUIREMENTS``)."""
    names: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            pairs = (list(zip(target.elts, value.elts)) if isinstance(target, ast.Tuple)
                     and isinstance(value, ast.Tuple) else [(target, value)])
            for name, element in pairs:
                ids = _ids_of(element, names)
                if isinstance(name, ast.Name) and ids is not None:
                    names[name.id] = ids
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kratos_conformance"):
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                imported = getattr(module, alias.name, None)
                if isinstance(imported, str):
                    imported = [imported]
                if isinstance(imported, (tuple, list)) and all(isinstance(v, str) for v in imported):
                    names[alias.asname or alias.name] = list(imported)
    return names


def _ids_of(node: ast.expr, names: dict[str, list[str]]) -> list[str] | None:
    """The ids an expression stands for (a literal, a known constant's name, a tuple or list of those, ``*`` a
    constant's name inside one); None if it is none of these."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, (ast.Tuple, ast.List)):
        parts = [_ids_of(e.value if isinstance(e, ast.Starred) else e, names) for e in node.elts]
        return None if any(p is None for p in parts) else [i for p in parts for i in p or []]
    return None


def library_lines(requirement_id: str) -> list[tuple[str, str]]:
    """Where the library's Python code names ``requirement_id`` (file:line and the stripped line)."""
    found = []
    for path in sorted(_PACKAGE.rglob("*.py")):
        if "_bundle" in path.parts or path.name == "explain.py":  # its RULES are shown as the rule, not here
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if f'"{requirement_id}' in line:
                found.append((f"{path.relative_to(_PACKAGE.parent)}:{number}", line.strip()[:110]))
    return found


def rule_functions(requirement_id: str) -> list[tuple[str, str]]:
    """Where the functions of :data:`RULES` for ``requirement_id`` are defined (file:line) and their names."""
    found = []
    for function in RULES.get(requirement_id, ()):
        path = Path(inspect.getsourcefile(function) or "").resolve()
        line = inspect.getsourcelines(function)[1]
        found.append((f"{path.relative_to(_PACKAGE.parent)}:{line}", function.__qualname__))
    return found


def explain(requirement_id: str) -> Explanation:
    """What checks ``requirement_id``; :class:`CannotJudge` (one line) for an id the catalog does not have."""
    catalog = load_catalog()
    wanted = requirement_id.strip().upper()
    if wanted not in catalog:
        near = difflib.get_close_matches(wanted, list(catalog), n=3, cutoff=0.8)
        hint = f" (did you mean {', '.join(near)}?)" if near else " (see kratos_conformance/rules/requirements.yaml)"
        raise CannotJudge(f"no requirement {requirement_id!r} in the catalog{hint}")
    return Explanation(catalog[wanted], tuple(marked_tests(wanted, data_root() / "suites")),
                       tuple(library_lines(wanted)), tuple(rule_functions(wanted)))
