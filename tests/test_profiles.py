"""Profiles: a release's measured defects are tolerated by name, shown as figures, and can be held to the rule."""

from __future__ import annotations

import pytest

from kratos_conformance import checks
from kratos_conformance.checks import CheckResult, Measurement, RequirementFailure
from kratos_conformance.errors import CannotJudge
from kratos_conformance.profiles import PROFILES, get_profile


def test_every_kratos_profile_knows_the_measured_defects_by_requirement_and_case() -> None:
    for profile in PROFILES.values():
        assert profile.tolerates("VER-RACE-CODE-SINGLE-USE")
        assert profile.tolerates("VER-RACE-LINK-SINGLE-USE")
        assert profile.tolerates("VER-RETURN-TO-OPEN-REDIRECT", "backslash")
        assert profile.tolerates("VER-RETURN-TO-OPEN-REDIRECT", "userinfo") is None
        assert profile.tolerates("VER-RETURN-TO-OPEN-REDIRECT") is None
        assert profile.tolerates("VER-RACE-ATTEMPT-LIMIT") is None


def test_failing_on_known_defects_drops_them_and_nothing_else() -> None:
    strict = get_profile("kratos-v25", tolerate_known_defects=False)
    assert strict.tolerates("VER-RACE-CODE-SINGLE-USE") is None
    assert (strict.name, strict.recording) == ("kratos-v25", PROFILES["kratos-v25"].recording)
    with pytest.raises(CannotJudge, match="kratos-v9"):
        get_profile("kratos-v9")


@pytest.fixture()
def heard() -> list[CheckResult]:
    results: list[CheckResult] = []
    checks.add_check_listener(results.append)
    yield results
    checks.remove_check_listener(results.append)


def test_a_known_defect_is_measured_not_failed(heard: list[CheckResult]) -> None:
    figure = Measurement("verifications among 10", 3, limit="at most 1")
    checks.expect_unless_known("VER-RACE-CODE-SINGLE-USE", False, "3 of 10 verified",
                               known=PROFILES["kratos-v26"].tolerates("VER-RACE-CODE-SINGLE-USE"), measurement=figure)
    (result,) = heard
    assert result.name == checks.KNOWN_DEFECT and result.measurement is not None
    assert result.measurement.value == 3 and "tolerated" in result.measurement.limit
    assert "PostgreSQL" in result.detail


def test_without_a_known_defect_the_same_outcome_fails(heard: list[CheckResult]) -> None:
    with pytest.raises(RequirementFailure, match="VER-RACE-CODE-SINGLE-USE"):
        checks.expect_unless_known("VER-RACE-CODE-SINGLE-USE", False, "3 of 10 verified", known=None,
                                   measurement=Measurement("verifications among 10", 3, limit="at most 1"))
    assert [r.passed for r in heard] == [False]


def test_a_pass_is_a_pass_whatever_the_profile_tolerates(heard: list[CheckResult]) -> None:
    checks.expect_unless_known("VER-RACE-LINK-SINGLE-USE", True, "1 of 10 verified", known="a known defect")
    assert [(r.name, r.passed) for r in heard] == [("expect", True)]
