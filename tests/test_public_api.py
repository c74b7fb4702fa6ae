"""The package's public face (kratos_conformance/__init__.py): every name it exports is there and documented, and the
example in its docstring runs as written against the embedded reference target."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import kratos_conformance


def test_every_exported_name_exists_and_says_what_it_is() -> None:
    undocumented = [name for name in kratos_conformance.__all__ if name != "__version__"
                    and not inspect.getdoc(getattr(kratos_conformance, name))]
    assert not undocumented, f"exported without a docstring: {undocumented}"
    assert sorted(kratos_conformance.__all__) == kratos_conformance.__all__


def test_the_docstring_example_walks_a_flow_to_passed_challenge(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    doc = inspect.getdoc(kratos_conformance) or ""
    example = re.search(r"::\n\n((?:    .*\n|\n)+)", doc + "\n")
    assert example, "the package docstring has no example"
    code = "\n".join(line[4:] for line in example.group(1).splitlines())
    monkeypatch.chdir(tmp_path)  # its report_dir "reports" lands here
    namespace: dict[str, object] = {}
    exec(compile(code, "kratos_conformance.__doc__", "exec"), namespace)
    step = namespace["step"]
    assert step.flow is not None and step.flow.state == "passed_challenge"  # type: ignore[attr-defined]
    assert namespace["run"].recorder.exchanges  # type: ignore[attr-defined]
