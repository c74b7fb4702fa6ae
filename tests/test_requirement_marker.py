""""This test checks requirement X" is written once: in the test's ``requirement`` marker, read by the ``req``
fixture (a test about several requirements names its main one first, which is ``req``, and writes the others in the
checks that judge them; the plugin warns on an id its marker does not name)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["pytester"]


def _module_ids(module: ast.Module) -> dict[str, list[str]]:
    """The module's names bound to an id or a tuple of ids and names (``A, B = "VER-X", "VER-Y"`` too), resolved."""
    known: dict[str, list[str]] = {}

    def ids_of(node: ast.expr) -> list[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Name):
            return known.get(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            parts = [ids_of(e.value if isinstance(e, ast.Starred) else e) for e in node.elts]
            return None if any(p is None for p in parts) else [i for p in parts for i in p or []]
        return None

    for stmt in module.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
            pairs = (zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
                     else [(target, value)])
            for name, node in pairs:
                found = ids_of(node)
                if isinstance(name, ast.Name) and found is not None:
                    known[name.id] = found
    return known


def _marked_ids(test: ast.FunctionDef, constants: dict[str, list[str]] | None = None) -> list[str]:
    """The ids in the test's requirement marker, module constants resolved ("*" for an argument that is neither a
    literal id nor a module constant of ids)."""
    ids: list[str] = []
    for dec in test.decorator_list:
        if isinstance(dec, ast.Call) and ast.unparse(dec.func) == "pytest.mark.requirement":
            for arg in dec.args:
                node = arg.value if isinstance(arg, ast.Starred) else arg
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    ids.append(node.value)
                elif isinstance(node, ast.Name) and node.id in (constants or {}):
                    ids.extend((constants or {})[node.id])
                else:
                    ids.append("*")
    return ids


def _suite_tests() -> list[tuple[str, ast.FunctionDef, dict[str, list[str]]]]:
    found = []
    for path in sorted((ROOT / "suites").rglob("test_*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_ids(module)
        for node in ast.walk(module):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.append((f"{path.relative_to(ROOT)}::{node.name}", node, constants))
    return found


def test_a_test_writes_its_main_requirement_only_in_the_marker() -> None:
    """The marker's first id (the test's only one, or its main one) is judged through ``req``, never written again:
    no ``req = "VER-..."`` beside the marker, nothing to keep in step."""
    repeated, without_req = [], []
    for name, test, constants in _suite_tests():
        ids = _marked_ids(test, constants)
        if not ids or ids[0] == "*":
            continue
        literals = {n.value for stmt in test.body for n in ast.walk(stmt) if isinstance(n, ast.Constant)}
        if ids[0] in literals:
            repeated.append(name)
        if "req" not in [a.arg for a in test.args.args]:
            without_req.append(name)
    assert not repeated, f"the marker's id is written again in the body (take the req fixture): {repeated}"
    assert not without_req, f"tests that judge their main requirement without the req fixture: {without_req}"


def test_every_suite_test_names_its_requirements() -> None:
    unmarked = [name for name, test, _ in _suite_tests() if not test.decorator_list
                or not any(isinstance(d, ast.Call) and ast.unparse(d.func) == "pytest.mark.requirement"
                           for d in test.decorator_list)]
    assert not unmarked, f"suite tests without a requirement marker: {unmarked}"


def test_req_is_the_markers_first_id_and_refuses_none(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.requirement("VER-INIT-SHAPE")
        def test_one(req):
            assert req == "VER-INIT-SHAPE"

        @pytest.mark.requirement("VER-INIT-API-200", "VER-INIT-API-NO-COOKIE")
        def test_two(req):
            assert req == "VER-INIT-API-200"

        def test_none(req):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "kratos_conformance.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*marker names its requirement; this one has none*"])


def test_the_plugin_warns_when_a_test_judges_an_id_its_marker_does_not_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_judging="""
        import pytest
        from kratos_conformance import checks

        @pytest.mark.requirement("VER-INIT-SHAPE")
        def test_named(req):
            checks.expect(req, True, "judged what the marker names")

        @pytest.mark.requirement("VER-INIT-SHAPE")
        def test_unnamed(req):
            checks.expect(req, True, "judged what the marker names")
            checks.expect("VER-GET-200", True, "and one it does not name")
    """)
    result = pytester.runpytest_subprocess("-p", "kratos_conformance.pytest_plugin", "-p",
                                           "kratos_conformance.report.plugin", "-p", "no:cacheprovider",
                                           "--report-dir", str(pytester.path / "reports"))
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*test_unnamed*", "*UnnamedRequirementWarning: judged VER-GET-200, which its "
                                 "requirement marker does not name*"])
    assert "test_named" not in result.stdout.str().split("warnings summary")[1]
