"""The suite and the reference target are two products that share no code but the UI markup: the suite talks to the
reference target over HTTP only, as to any server, so a misunderstanding cannot hide by being imported by both."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = [ROOT / "kratos_conformance", ROOT / "suites", ROOT / "conftest.py"]
REFERENCE = [ROOT / "kratos_reference"]


def imported_packages(paths: list[Path]) -> dict[str, set[str]]:
    """Per Python file under ``paths``, the top-level packages it imports (relative imports left out)."""
    found: dict[str, set[str]] = {}
    for base in paths:
        for path in [base] if base.is_file() else sorted(base.rglob("*.py")):
            names = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
            found[str(path.relative_to(ROOT) if ROOT in path.parents else path)] = names
    return found


def test_the_suite_never_imports_the_reference_target() -> None:
    offenders = [f for f, names in imported_packages(SUITE).items() if "kratos_reference" in names]
    assert not offenders, f"these suite files import kratos_reference (start it and talk HTTP instead): {offenders}"


def test_the_reference_target_never_imports_the_suite() -> None:
    offenders = [f for f, names in imported_packages(REFERENCE).items() if "kratos_conformance" in names]
    assert not offenders, f"these reference-target files import kratos_conformance: {offenders}"


def test_the_import_scan_sees_an_import(tmp_path: Path) -> None:
    """The scan finds both import forms (a scan that finds nothing would pass the tests above on anything)."""
    (tmp_path / "a.py").write_text("import kratos_reference.server\nfrom kratos_reference import faults\n")
    (tmp_path / "b.py").write_text("from . import kratos_reference\n")
    found = imported_packages([tmp_path])
    assert found[str(tmp_path / "a.py")] == {"kratos_reference"}
    assert found[str(tmp_path / "b.py")] == set()  # a module of the importing package, not the reference target
