"""From a requirement id to what checks it: ``kratos-conformance explain VER-CODE-REPLAY``.

Reads the catalog entry, the suite tests whose ``requirement`` marker names the id (found by reading the suites'
source, not by running pytest), the checks those tests call with it, and the lines of the library that name it
(its checks and rules). Works from a checkout and from an installed wheel alike
(:func:`~kratos_conformance.run.bundle.data_root`).
"""

from __future__ import annotations

import ast
import difflib
import functools
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
    #: per test of :attr:`tests`, the checks it calls with the id (:func:`checks_called`), where it calls any
    checks: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def render(self) -> str:
        req = self.requirement
        lines = [f"{req.id} ({req.level}, {req.area}): {req.statement}", f"  source: {req.source}"]
        lines.append("  tests (requirement marker):" if self.tests else
                     "  tests: none names it in its marker (judged on every answer by the checks below)")
        lines += [f"    {name}{'' if main else '  (among its other requirements)'}" for name, main in self.tests]
        if self.checks:
            lines.append("  checks those tests call with it (the steps they take, such as verifier.sent, judge more):")
            lines += [f"    {test.rsplit('::', 1)[1]}: {', '.join(names)}" for test, names in self.checks]
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
        tree = _parsed(path)
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


@functools.cache
def _parsed(path: Path) -> ast.Module:
    """A suite module's syntax tree, read once per path (the marker search and the check search both walk it)."""
    return ast.parse(path.read_text(encoding="utf-8"))


def checks_called(requirement_id: str, test: str, suites: Path) -> list[str]:
    """The checks of :mod:`kratos_conformance.rules.checks` that ``test`` (``suites/...::test_name``) calls with
    ``requirement_id``, in the order written, each once: in its body and in the module's functions it hands its
    ``req`` to. A check's requirement is its ``req`` argument: the ``req`` fixture (the marker's first id), an id
    written out, or a local name bound to one; an inline ``checks.expect`` is shown by the name it reports under."""
    path, name = test.split("::", 1)
    tree = _parsed(suites.parent / path)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    main = marker_ids(functions[name], id_names(tree))[:1]
    found: list[str] = []
    _collect_checks(functions[name], {"req": main[0] if main else ""}, requirement_id, functions, found, set())
    return list(dict.fromkeys(found))


def _collect_checks(function: ast.FunctionDef, bound: dict[str, str], requirement_id: str,
                    functions: dict[str, ast.FunctionDef], found: list[str], seen: set[str]) -> None:
    """Add to ``found`` the checks ``function`` calls with ``requirement_id`` (``bound``: its names that hold ids),
    following the calls that hand a requirement to another function of the module."""
    seen.add(function.name)
    bound = dict(bound)
    for node in ast.walk(function):  # local names bound to an id: walk_req = "VER-BROWSER-WALK-CODE"
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            bound.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    for call in sorted((n for n in ast.walk(function) if isinstance(n, ast.Call)), key=lambda n: (n.lineno,
                                                                                                   n.col_offset)):
        ids = [_requirement_of(arg, bound) for arg in [*call.args, *(k.value for k in call.keywords if k.arg == "req")]]
        if requirement_id not in ids:
            continue
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "checks":
            named = next((k.value for k in call.keywords if k.arg == "name"), None)
            label = _first_string(named) if func.attr in ("expect", "expect_unless_known") else None
            found.append(label or func.attr)
        elif isinstance(func, ast.Name) and func.id in functions and func.id not in seen:
            helper = functions[func.id]
            params = [a.arg for a in helper.args.args]
            handed = {params[i]: rid for i, rid in enumerate(ids[:len(call.args)])
                      if rid and i < len(params) and not isinstance(call.args[i], ast.Starred)}
            _collect_checks(helper, handed, requirement_id, functions, found, seen)


def _requirement_of(node: ast.expr, bound: dict[str, str]) -> str | None:
    """The id an argument stands for: an id written out, or a name bound to one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("VER-"):
        return node.value
    return bound.get(node.id) if isinstance(node, ast.Name) else None


def _first_string(node: ast.expr | None) -> str | None:
    """A check's name as written: the string itself, or the first string in the call that makes it
    (``check_name("active", learned=...)``)."""
    if node is None:
        return None
    return next((n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)), None)


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
    suites = data_root() / "suites"
    tests = marked_tests(wanted, suites)
    called = [(test, tuple(names)) for test, _ in tests if (names := checks_called(wanted, test, suites))]
    return Explanation(catalog[wanted], tuple(tests), tuple(library_lines(wanted)), tuple(rule_functions(wanted)),
                       tuple(called))
