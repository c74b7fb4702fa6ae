"""Profiles: a release's measured defects are tolerated by name, shown as figures, and can be held to the rule."""

from __future__ import annotations

import json

import pytest

from kratos_conformance.errors import CannotJudge
from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import CheckResult, Measurement, RequirementFailure
from kratos_conformance.rules.profiles import (
    PROFILES,
    choose_profile,
    get_profile,
    profile_of_release,
    within_known_race,
)


def test_every_kratos_profile_knows_the_measured_defects_by_requirement_and_case() -> None:
    for profile in PROFILES.values():
        assert profile.tolerates("VER-RACE-CODE-SINGLE-USE")
        assert profile.tolerates("VER-RACE-LINK-SINGLE-USE")
        assert profile.tolerates("VER-RETURN-TO-OPEN-REDIRECT", "backslash")
        assert profile.tolerates("VER-RETURN-TO-OPEN-REDIRECT", "userinfo") is None
        assert profile.tolerates("VER-RETURN-TO-OPEN-REDIRECT") is None
        assert profile.tolerates("VER-RACE-ATTEMPT-LIMIT") is None
        # a resend and the old code racing it both taking effect; on SQLite one of two flows proven at once refused
        assert profile.tolerates("VER-RACE-RESEND") and profile.tolerates("VER-RACE-TWO-FLOWS")


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
    checks.expect_unless_known("VER-RACE-CODE-SINGLE-USE", False, "3 of 10 verified", name="single_verification",
                               known=PROFILES["kratos-v26"].tolerates("VER-RACE-CODE-SINGLE-USE"), measurement=figure)
    (result,) = heard
    assert result.name == checks.KNOWN_DEFECT and result.measurement is not None
    assert result.measurement.value == 3 and "tolerated" in result.measurement.limit
    assert "PostgreSQL" in result.detail


def test_a_known_defect_without_a_figure_is_counted_under_what_the_check_saw(heard: list[CheckResult]) -> None:
    checks.expect_unless_known("VER-RETURN-TO-OPEN-REDIRECT", False, "return_to backslash was not refused: 303\nmore",
                               name="return_to_refused",
                               known=PROFILES["kratos-v26"].tolerates("VER-RETURN-TO-OPEN-REDIRECT", "backslash"))
    (result,) = heard
    assert result.name == checks.KNOWN_DEFECT and result.measurement is not None
    assert result.measurement.name == "a known defect: return_to backslash was not refused: 303"
    assert result.measurement.value == 1 and result.measurement.limit == "tolerated: a known defect of the release"


def test_without_a_known_defect_the_same_outcome_fails(heard: list[CheckResult]) -> None:
    with pytest.raises(RequirementFailure, match="VER-RACE-CODE-SINGLE-USE"):
        checks.expect_unless_known("VER-RACE-CODE-SINGLE-USE", False, "3 of 10 verified", name="single_verification",
                                   known=None, measurement=Measurement("verifications among 10", 3, limit="at most 1"))
    assert [r.passed for r in heard] == [False]


def test_a_pass_is_a_pass_whatever_the_profile_tolerates(heard: list[CheckResult]) -> None:
    checks.expect_unless_known("VER-RACE-LINK-SINGLE-USE", True, "1 of 10 verified", name="single_verification",
                               known="a known defect")
    assert [(r.name, r.passed) for r in heard] == [("single_verification", True)]


LOCKED = b'{"error":{"code":500,"status":"Internal Server Error","message":"sqlite create: named insert: database ' \
         b'table is locked"}}'


def test_the_kratos_profiles_tolerate_a_locked_in_memory_sqlite_and_only_that_500() -> None:
    for name in ("kratos-v1.3", "kratos-v25", "kratos-v26"):
        profile = PROFILES[name]
        assert "in-memory SQLite" in str(profile.tolerates_transient(500, LOCKED.decode())), name
        assert profile.tolerates_transient(500, '{"error":{"code":500,"message":"boom"}}') is None
        assert profile.tolerates_transient(400, LOCKED.decode())  # a browser flow's JSON request is answered so
        assert profile.tolerates_transient(303, LOCKED.decode()) is None
        assert profile.strict().tolerates_transient(500, LOCKED.decode()) is None  # --known-defects fail


def _flow_with(message: dict[str, object]) -> str:
    return json.dumps({"id": "f", "state": "sent_email", "ui": {"nodes": [], "messages": [
        {"id": 1080003, "text": "An email containing a verification code has been sent.", "type": "info"},
        message]}}, indent=2)


def test_the_locked_table_caught_by_the_flow_s_error_handler_is_known_too() -> None:
    """Where the flow's error handler catches the lock, v1.3.1 answers the flow with 4000001 and no text (its
    audit log says 'database table is locked'); a 4000001 that says something is an ordinary validation error."""
    v13, strict = PROFILES["kratos-v1.3"], PROFILES["kratos-v26"].strict()
    caught = _flow_with({"id": 4000001, "text": "", "type": "error", "context": {"reason": ""}})
    assert v13.tolerates_transient(400, caught) and v13.tolerates_transient(200, caught)
    assert v13.tolerates_transient(303, caught) is None and strict.tolerates_transient(400, caught) is None
    invalid = _flow_with({"id": 4000001, "text": '"x" is not valid "email"', "type": "error"})
    assert v13.tolerates_transient(400, invalid) is None
    assert v13.tolerates_transient(400, "4000001, not JSON") is None


CONFLICT = '{"error":{"code":400,"status":"Bad Request","message":"Unable to serialize access due to a concurrent ' \
           'update in another session"}}'


def test_kratos_s_write_conflict_is_known_as_a_conflict_to_retry_and_only_as_a_400() -> None:
    """v1.3.1 refused racing correct codes with ory/x's ErrConcurrentUpdate (a 400): known to the Kratos profiles
    as a transient answer, not as a 500 or a 200, and not under --known-defects fail."""
    v13 = PROFILES["kratos-v1.3"]
    assert "concurrent update" in str(v13.tolerates_transient(400, CONFLICT))
    assert v13.tolerates_transient(500, CONFLICT) is None and v13.tolerates_transient(200, CONFLICT) is None
    assert v13.strict().tolerates_transient(400, CONFLICT) is None
    assert v13.tolerates_transient(400, '{"error":{"code":400,"message":"The request was malformed"}}') is None


@pytest.mark.parametrize(("profile", "statuses", "failed"), [
    ("kratos-v26", [500, 200], False),    # sent once more; the 500 shown as the known defect
    ("strict", [500], True),              # the same answer under --known-defects fail fails
])
def test_a_known_transient_500_is_sent_once_more_and_reported(heard: list[CheckResult], profile: str,
                                                              statuses: list[int], failed: bool) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kratos_conformance.rules.contract_judge import ContractJudge
    from kratos_conformance.run.target import Target
    from kratos_conformance.wire.clients import ClientFactory
    from kratos_conformance.wire.exchanges import Recorder

    answers = iter([(500, LOCKED), (200, json.dumps({"ok": True}).encode())])

    class LockedOnce(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, body = next(answers)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), LockedOnce)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        target = Target(public_url=f"http://127.0.0.1:{server.server_address[1]}/", admin_url=None,
                        admin_token=None, wait_budget=30, mail_timeout=5,
                        profile=get_profile("kratos-v26", tolerate_known_defects=profile != "strict"))
        recorder = Recorder()
        seen: list[int] = []
        recorder.add_listener(lambda ex: seen.append(ex.status))
        recorder.add_listener(ContractJudge(target).judge)
        client = ClientFactory(target, recorder)("native")
        if failed:
            with pytest.raises(RequirementFailure, match="VER-RESP-NO-5XX"):
                client.open(target.public_url + "somewhere")
        else:
            client.open(target.public_url + "somewhere")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == statuses
    first = heard[0]
    assert first.requirement == "VER-RESP-NO-5XX" and first.passed is not failed
    assert first.name == ("contract" if failed else checks.KNOWN_DEFECT)


@pytest.mark.parametrize(("winners", "racers", "within"), [
    (1, 10, True), (4, 10, True), (5, 10, True), (6, 10, False), (10, 10, False),
    (2, 4, True), (3, 4, False), (2, 2, True), (2, 3, True), (3, 3, False)])
def test_kratos_s_single_use_race_is_excused_only_as_far_as_it_was_measured(winners: int, racers: int,
                                                                             within: bool) -> None:
    assert within_known_race(winners, racers) is within


def test_a_race_with_no_winner_is_known_to_every_kratos_profile_as_its_own_case() -> None:
    """None of the racers verifying is excused as Kratos's SQLite defect under its own case key (the racers' shape
    is judged by the race scenario), never under the requirement's key that excuses extra winners."""
    for name in ("kratos-v1.3", "kratos-v25", "kratos-v26"):
        profile = PROFILES[name]
        for requirement in ("VER-RACE-CODE-SINGLE-USE", "VER-RACE-LINK-SINGLE-USE"):
            assert "flow replaced" in str(profile.tolerates(requirement, "no-winner")), (name, requirement)
            assert profile.tolerates(requirement, "no-winner") != profile.tolerates(requirement)
            assert profile.strict().tolerates(requirement, "no-winner") is None


def test_a_release_s_known_defects_are_tolerated_only_where_the_release_is_named() -> None:
    """By --profile or by the server's admin/version; any other server is held to every requirement unless the run
    says --known-defects tolerate; --known-defects fail always wins."""
    assert profile_of_release("v26.2.0") == "kratos-v26" and profile_of_release("v1.3.1") == "kratos-v1.3"
    assert profile_of_release("v25.4.0") == "kratos-v25"
    assert profile_of_release("master") is None and profile_of_release(None) is None
    assert profile_of_release("v1.30.0") is None  # not v1.3.x
    assert profile_of_release("v26.2.0-reference") is None and profile_of_release("v1.2.0") is None
    given, line, _ = choose_profile("kratos-v25", None, None)
    assert given.name == "kratos-v25" and given.known_defects and "(given)" in line
    named, line, _ = choose_profile(None, "v1.3.1", None)
    assert named.name == "kratos-v1.3" and named.known_defects and "admin/version says v1.3.1" in line
    unnamed, line, _ = choose_profile(None, "master", None)
    assert unnamed.name == "kratos-v26" and not unnamed.known_defects and "'master'" in line
    assert not choose_profile(None, None, None)[0].known_defects
    assert choose_profile(None, None, "tolerate")[0].known_defects
    assert not choose_profile("kratos-v26", "v26.2.0", "fail")[0].known_defects
