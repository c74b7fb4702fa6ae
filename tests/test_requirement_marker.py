""""This test checks requirement X" is written once: in the test's ``requirement`` marker, read by the ``req``
fixture (a test about several requirements names its main one first, which is ``req``, and writes the others in the
checks that judge them; the plugin warns on an id its marker does not name)."""

from __future__ import annotations

import ast
from pathlib import Path
from xml.etree import ElementTree

import pytest

from kratos_conformance.explain import id_names, marker_ids

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["pytester"]


def _suite_tests() -> list[tuple[str, ast.FunctionDef, dict[str, list[str]]]]:
    """Every suite test, with the constants of ids its module can name in markers (as ``explain`` reads them)."""
    found = []
    for path in sorted((ROOT / "suites").rglob("test_*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"))
        names = id_names(module)
        for node in ast.walk(module):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.append((f"{path.relative_to(ROOT)}::{node.name}", node, names))
    return found


def test_a_test_writes_its_main_requirement_only_in_the_marker() -> None:
    """The marker's first id (the test's only one, or its main one) is judged through ``req``, never written again:
    no ``req = "VER-..."`` beside the marker, nothing to keep in step."""
    repeated, without_req = [], []
    for name, test, constants in _suite_tests():
        ids = marker_ids(test, constants)
        if not ids or ids[0] == "*":
            continue
        literals = {n.value for stmt in test.body for n in ast.walk(stmt) if isinstance(n, ast.Constant)}
        if ids[0] in literals:
            repeated.append(name)
        if "req" not in [a.arg for a in test.args.args]:
            without_req.append(name)
    assert not repeated, f"the marker's id is written again in the body (take the req fixture): {repeated}"
    assert not without_req, f"tests that judge their main requirement without the req fixture: {without_req}"


def test_a_requirement_is_the_main_one_of_one_test_at_most() -> None:
    """From a requirement id, one test: the test whose marker names it first (its cases are that test's
    parameters); other tests may judge it too, naming it after their own main id."""
    mains: dict[str, list[str]] = {}
    for name, test, constants in _suite_tests():
        ids = marker_ids(test, constants)
        if ids and ids[0] != "*":
            mains.setdefault(ids[0], []).append(name)
    shared = {rid: names for rid, names in mains.items() if len(names) > 1}
    assert not shared, f"requirements that are the main id of more than one test: {shared}"


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
    result = pytester.runpytest_subprocess("-p", "kratos_conformance.run.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*marker names its requirement; this one has none*"])


def test_the_plugin_warns_when_a_test_judges_an_id_its_marker_does_not_name_and_junit_names_its_ids(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_judging="""
        import pytest
        from kratos_conformance.rules import checks

        @pytest.mark.requirement("VER-INIT-SHAPE", "VER-INIT-API-200")
        def test_named(req):
            checks.expect(req, True, "judged what the marker names", name="named")

        @pytest.mark.requirement("VER-INIT-SHAPE")
        def test_unnamed(req):
            checks.expect(req, True, "judged what the marker names", name="named")
            checks.expect("VER-GET-200", True, "and one it does not name", name="unnamed")
    """)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess("-p", "kratos_conformance.run.pytest_plugin", "-p",
                                           "kratos_conformance.report.plugin", "-p", "no:cacheprovider",
                                           "--report-dir", str(pytester.path / "reports"), f"--junitxml={junit}")
    result.assert_outcomes(passed=2, warnings=1)
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    assert {case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")] for case in cases} == {
        "test_named": [("requirement", "VER-INIT-SHAPE"), ("requirement", "VER-INIT-API-200")],
        "test_unnamed": [("requirement", "VER-INIT-SHAPE")]}
    result.stdout.fnmatch_lines(["*test_unnamed*", "*UnnamedRequirementWarning: judged VER-GET-200, which its "
                                 "requirement marker does not name*"])
    assert "test_named" not in result.stdout.str().split("warnings summary")[1]
