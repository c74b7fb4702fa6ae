"""The reference target answers like Ory Kratos v26.2.0, held to Kratos's recorded behaviour without Kratos present.

The same scripted requests (kratos_conformance/differential/cases.py) that were recorded from a real Kratos v26.2.0
(kratos_conformance/recordings/) are sent to the embedded reference target; both transcripts are normalized and
compared. Every difference fails the test unless differences-from-kratos.yaml accepts it with a reason, and an
accepted difference that no longer occurs fails it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kratos_conformance.differential import apply_accepted, compare, load_accepted, record_embedded, recording, render

ACCEPTED = Path(__file__).with_name("differences-from-kratos.yaml")
KRATOS = "kratos-v26.2.0"


@pytest.mark.parametrize("method", ["code", "link"])
def test_the_reference_target_answers_like_kratos(method: str, tmp_path: Path) -> None:
    mine = record_embedded(method, log_path=tmp_path / "reference.log")
    left, stale = apply_accepted(compare(recording(KRATOS, method), mine), load_accepted(ACCEPTED))
    assert not left, f"{len(left)} differences from {KRATOS} ({method}):\n" + render(left, ("kratos", "reference"))
    assert not stale, "accepted differences that no longer occur: " + "; ".join(f"{e.case} {e.path}" for e in stale)


def test_one_changed_answer_is_a_difference(tmp_path: Path) -> None:
    """A reference target that answers a wrong code with 400 instead of 200 no longer matches the recording."""
    mine = record_embedded("code", faults=("wrong_code_400",), only=("code.wrong",), log_path=tmp_path / "ref.log")
    kratos = recording(KRATOS, "code")
    kratos = {**kratos, "cases": {k: v for k, v in kratos["cases"].items() if k in mine["cases"]}}
    left, _ = apply_accepted(compare(kratos, mine), load_accepted(ACCEPTED))
    changed = [(d.case, d.path, d.a, d.b) for d in left]
    assert ("code.wrong/native", "3.response.status", 200, 400) in changed, render(left)


def test_the_backslash_return_to_is_refused_exactly_as_kratos_refuses_a_foreign_one(tmp_path: Path) -> None:
    """Kratos accepts the backslash form (its defect, accepted in differences-from-kratos.yaml); the reference
    target refuses it, and that refusal is held to Kratos's recorded refusal of a foreign return_to in everything
    but the request URL (status, headers, cookies, error body), so the accepted difference hides nothing else."""
    mine = record_embedded("code", only=("init.return-to-backslash",), log_path=tmp_path / "reference.log")
    kratos = recording(KRATOS, "code")

    def refusals(doc: dict[str, Any], case: str) -> dict[str, Any]:
        cases = {name.replace(case, "init.refused"): steps for name, steps in doc["cases"].items()
                 if name.startswith(case + "/")}
        return {**doc, "cases": cases}

    left = compare(refusals(kratos, "init.return-to-foreign"), refusals(mine, "init.return-to-backslash"))
    assert {d.case for d in left} == {"init.refused/native", "init.refused/browser", "init.refused/spa"}
    assert {d.path for d in left} == {"0.request.url"}, render(left, ("kratos", "reference"))

