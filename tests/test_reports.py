"""Reports and the gate: results from test records, the expected failures, coverage, the JSON report and its schema,
the HTML summary (rendered by headless Chromium), the diff, and the xdist hand-over of test records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from kratos_conformance.errors import CannotJudge
from kratos_conformance.report import debug_secrets
from kratos_conformance.report.conformance_json import (
    SCHEMA_PATH,
    build_report,
    merge_reports,
    validation_problems,
)
from kratos_conformance.report.coverage import Observed, coverage_matrix, merge_matrices, observe
from kratos_conformance.report.diff import diff_reports, render_diff
from kratos_conformance.report.expected_failures import (
    ExpectedFailure,
    ExpectedFailures,
    RunContext,
    expected_failures_path,
    load_expected_failures,
)
from kratos_conformance.report.html import MAX_REGRESSIONS_SHOWN, render_summary
from kratos_conformance.report.results import (
    EXPECTED_FAILURE,
    FAILED,
    NOT_EXERCISED,
    OUTSIDE_CHECKS,
    PASSED,
    SKIPPED,
    UNEXPECTEDLY_PASSING,
    FailedCheck,
    Phase,
    TestRecord,
    decide_verdict,
    derive_results,
    outcome_from_phases,
    plain_exchange,
    record_test,
    unattributed_failures,
    verdict_lines,
)
from kratos_conformance.rules.catalog import load_catalog
from kratos_conformance.rules.checks import KNOWN_DEFECT, MEASURE, CheckResult, Measurement
from kratos_conformance.wire.exchanges import Exchange

BASE = "http://127.0.0.1:4433/"
FLOW = "0b1f5bde-3e0c-4a8c-9d3c-5f1e2c3d4e5f"
NEW_FLOW = "7c2a9d10-1111-4222-8333-944455556666"
CTX = RunContext(BASE, True, "kratos-v26", "code")


# --- synthetic material ---------------------------------------------------------------------------------------

def flow_doc(flow_id: str = FLOW, state: str = "choose_method") -> dict[str, Any]:
    return {"id": flow_id, "type": "api", "state": state, "ui": {"nodes": [], "messages": []}}


def ex(operation: str, status: int, *, kind: str = "native", url: str = "", body: Any = None,
       location: str | None = None) -> dict[str, Any]:
    """A recorded exchange as Exchange.as_dict() gives it."""
    headers = [["content-type", "application/json"]] + ([["location", location]] if location else [])
    method = "POST" if operation == "updateVerificationFlow" else "GET"
    return {"operation": operation, "client_kind": kind, "method": method, "url": url or BASE, "request_headers": [],
            "request_body": "", "status": status, "response_headers": headers,
            "response_body": json.dumps(body) if body is not None else "", "elapsed": 0.01}


def submit(status: int, body: Any = None, *, kind: str = "native", flow_id: str = FLOW,
           location: str | None = None) -> dict[str, Any]:
    return ex("updateVerificationFlow", status, kind=kind, url=f"{BASE}self-service/verification?flow={flow_id}",
              body=body, location=location)


def get_flow(flow_id: str, state: str, kind: str = "browser") -> dict[str, Any]:
    return ex("getVerificationFlow", 200, kind=kind, url=f"{BASE}self-service/verification/flows?id={flow_id}",
              body=flow_doc(flow_id, state))


def record(nodeid: str, *, markers: tuple[str, ...] = (), passed: dict[str, int] | None = None,
           failed: tuple[str, ...] = (), outcome: str = PASSED, reason: str = "") -> TestRecord:
    return TestRecord(nodeid=nodeid, kind="native", markers=list(markers), passed_checks=dict(passed or {}),
                      failed_checks=[FailedCheck(r, "status", f"expected status 200, got 400 ({r})",
                                                 [submit(400, flow_doc(state="sent_email"))]) for r in failed],
                      hits=[["updateVerificationFlow", 200, "native"]],
                      transitions=[["choose_method", "sent_email", "updateVerificationFlow", "native"]],
                      outcome=outcome, reason=reason)


def by_id(results: list[Any]) -> dict[str, Any]:
    return {r.id: r for r in results}


RECORDS = [
    record("t::passes", markers=("VER-GET-200",), passed={"VER-GET-200": 3, "VER-RESP-STATUS": 2}),
    record("t::fails", markers=("VER-CODE-WRONG",), passed={"VER-RESP-STATUS": 1, "VER-SUBMIT-EMAIL-SENT": 1},
           failed=("VER-CODE-WRONG",), outcome=FAILED, reason="[VER-CODE-WRONG] MUST: ..."),
    record("t::errors", markers=("VER-CODE-LIMIT",), passed={"VER-RESP-STATUS": 1}, outcome=FAILED,
           reason="KeyError: 'ui'"),
    record("t::skipped", markers=("VER-LINK-VALID",), outcome=SKIPPED, reason="the target uses the code method"),
    record("t::also-skipped", markers=("VER-GET-404-UNKNOWN",), outcome=SKIPPED, reason="no admin API"),
    record("t::covers-skipped", passed={"VER-GET-404-UNKNOWN": 1}),
    record("t::marks-without-checking", markers=("VER-CSRF-WRONG",)),
]


# --- results --------------------------------------------------------------------------------------------------

def test_a_test_that_fails_outside_its_checks_fails_its_main_requirement_only() -> None:
    """A fuzzing test names every response requirement it may judge; when it crashes (no check failed), its main
    requirement, the marker's first id, fails, and the others are not failed for what they were never judged on."""
    crashed = record("t::fuzz", markers=("VER-FUZZ-POSITIVE-ACCEPTED", "VER-RESP-SCHEMA", "VER-RESP-LOCATION"),
                     outcome=FAILED, reason="RuntimeError: schemathesis fell over")
    results = by_id(derive_results([crashed], load_catalog(), ExpectedFailures(), CTX))
    assert results["VER-FUZZ-POSITIVE-ACCEPTED"].status == FAILED
    assert results["VER-FUZZ-POSITIVE-ACCEPTED"].failures[0].check == OUTSIDE_CHECKS
    assert results["VER-RESP-SCHEMA"].status != FAILED and results["VER-RESP-LOCATION"].status != FAILED


def test_requirement_results_follow_the_checks() -> None:
    results = by_id(derive_results(RECORDS, load_catalog(), ExpectedFailures(), CTX))
    assert len(results) == len(load_catalog())
    assert results["VER-GET-200"].status == PASSED and results["VER-GET-200"].passed_checks == 3
    assert results["VER-RESP-STATUS"].status == PASSED and results["VER-RESP-STATUS"].passed_checks == 4
    # passing checks in a test that failed on another requirement still count for their own requirement
    assert results["VER-SUBMIT-EMAIL-SENT"].status == PASSED
    wrong = results["VER-CODE-WRONG"]
    assert wrong.status == FAILED and wrong.tests == ["t::fails"] and wrong.reason.startswith("expected status 200")
    assert wrong.failures[0].exchanges[0]["status"] == 400
    limit = results["VER-CODE-LIMIT"]
    assert limit.status == FAILED and limit.failures[0].check == OUTSIDE_CHECKS and "KeyError" in limit.reason
    assert results["VER-LINK-VALID"].status == SKIPPED
    assert results["VER-LINK-VALID"].reason == "the target uses the code method"
    assert results["VER-GET-404-UNKNOWN"].status == PASSED  # skipped in one test, exercised in another
    assert results["VER-CSRF-WRONG"].status == NOT_EXERCISED and "named by 1 test" in results["VER-CSRF-WRONG"].reason
    assert results["VER-LINK-REPLAY"].status == NOT_EXERCISED
    assert results["VER-LINK-REPLAY"].reason == "no test evaluated a check of it"


def test_expected_failures_turn_failures_into_expected_failures_and_flags_stale_entries() -> None:
    expected = ExpectedFailures((ExpectedFailure("VER-CODE-WRONG", "known: answers 400", "https://tracker/1"),
                     ExpectedFailure("VER-GET-200", "was broken", "https://tracker/2")))
    results = by_id(derive_results(RECORDS, load_catalog(), expected, CTX))
    assert results["VER-CODE-WRONG"].status == EXPECTED_FAILURE
    assert results["VER-CODE-WRONG"].reason == "known: answers 400 (https://tracker/1)"
    assert results["VER-CODE-WRONG"].expected_failure == {"requirement": "VER-CODE-WRONG",
                                                          "reason": "known: answers 400", "link": "https://tracker/1"}
    assert results["VER-GET-200"].status == PASSED and results["VER-GET-200"].unexpectedly_passing
    assert results["VER-GET-200"].reason == UNEXPECTEDLY_PASSING
    # VER-CODE-LIMIT still fails: the gate stays red
    verdict = decide_verdict(list(results.values()), [])
    assert (verdict.name, verdict.exit_code) == ("not_conformant", 1)


def test_verdicts() -> None:
    catalog = load_catalog()
    clean = [r for r in RECORDS if r.outcome != FAILED]
    ok = decide_verdict(derive_results(clean, catalog, ExpectedFailures(), CTX), [])
    assert (ok.name, ok.exit_code) == ("conformant", 0)
    expected = ExpectedFailures((ExpectedFailure("VER-CODE-WRONG", "r", "l"),
                                 ExpectedFailure("VER-CODE-LIMIT", "r", "l")))
    known = decide_verdict(derive_results(RECORDS, catalog, expected, CTX), [])
    assert (known.name, known.exit_code) == ("conformant", 0) and "2 expected failure(s)" in known.reason
    broken = decide_verdict(derive_results(RECORDS, catalog, ExpectedFailures(), CTX), [])
    assert (broken.name, broken.exit_code, broken.reason) == ("not_conformant", 1, "2 requirement(s) failed")
    unattributed = unattributed_failures([record("t::helper", outcome=FAILED, reason="boom")])
    assert unattributed == [{"test": "t::helper", "reason": "boom"}]
    assert decide_verdict(derive_results(clean, catalog, ExpectedFailures(), CTX), unattributed).exit_code == 1
    nothing = decide_verdict(derive_results([RECORDS[3]], catalog, ExpectedFailures(), CTX), [])
    assert (nothing.exit_code, nothing.reason) == (2, "no requirement was exercised")
    stopped = decide_verdict([], [], "target unreachable at http://x/: refused")
    assert (stopped.name, stopped.exit_code) == ("cannot_judge", 2)


def test_only_the_transitions_a_failed_check_cites_are_failing_edges() -> None:
    """A test that fails at its wrong-code step walked choose_method -> sent_email on the way: that healthy edge is
    not marked failing, the one the failed check cites is; a test that failed outside any check marks all it walked."""
    submit_url = f"{BASE}self-service/verification?flow={FLOW}"
    walk = [ex("createNativeVerificationFlow", 200, body=flow_doc()),
            ex("updateVerificationFlow", 200, url=submit_url, body=flow_doc(state="sent_email")),
            ex("updateVerificationFlow", 200, url=submit_url, body=flow_doc(state="sent_email"))]
    assert walk[1] == walk[2]  # alike in every field: told apart by which one the check cited
    seen = observe(walk, cited=[False, False, True])
    assert seen.transitions == [("choose_method", "sent_email", "updateVerificationFlow", "native"),
                                ("sent_email", "sent_email", "updateVerificationFlow", "native")]
    assert seen.failing == [seen.transitions[1]]
    counted = coverage_matrix([Observed(seen.hits, seen.transitions, failed=True, failing=seen.failing)])
    assert {(t["from"], t["to"]): t["failed"] for t in counted["transitions"]} == {
        ("choose_method", "sent_email"): 0, ("sent_email", "sent_email"): 1}
    crashed = coverage_matrix([Observed(seen.hits, seen.transitions, failed=True)])  # failed outside its checks
    assert all(t["failed"] == 1 for t in crashed["transitions"])


def test_a_should_not_met_is_a_warning_unless_the_run_fails_on_them() -> None:
    """RFC 2119: a SHOULD may be departed from for a weighed reason; the gate is the MUST requirements, and the
    warning is named in the verdict, its lines and the report (--should-failures fail: it fails like a MUST)."""
    catalog = load_catalog()
    assert catalog["VER-ENUM-TIMING"].level == "SHOULD" and catalog["VER-GET-200"].level == "MUST"
    slow = record("t::timing", markers=("VER-ENUM-TIMING",), failed=("VER-ENUM-TIMING",), outcome=FAILED)
    results = derive_results([RECORDS[0], slow], catalog, ExpectedFailures(), CTX)
    warned = decide_verdict(results, [])
    assert (warned.name, warned.exit_code, warned.warnings) == ("conformant", 0, ["VER-ENUM-TIMING"])
    assert "1 SHOULD requirement(s) not met (warnings: VER-ENUM-TIMING)" in warned.reason
    lines = verdict_lines(warned, {}, ["VER-ENUM-TIMING"], [], [])
    assert not any(line.startswith("  failed:") for line in lines)
    assert any("SHOULD requirements not met" in line and "VER-ENUM-TIMING" in line for line in lines)
    strict = decide_verdict(results, [], should_failures="fail")
    assert (strict.name, strict.exit_code, strict.warnings) == ("not_conformant", 1, [])
    broken = decide_verdict(derive_results([RECORDS[1], slow], catalog, ExpectedFailures(), CTX), [])
    assert broken.exit_code == 1 and broken.warnings == ["VER-ENUM-TIMING"]  # a MUST failed besides
    crashed = record("t::timing", markers=("VER-ENUM-TIMING",), outcome=FAILED, reason="ZeroDivisionError")
    assert decide_verdict(derive_results([RECORDS[0], crashed], catalog, ExpectedFailures(), CTX), []).exit_code == 1
    # diff and --compare-with: a SHOULD the new run counts as a warning is no regression
    old = {"requirements": [{"id": "VER-ENUM-TIMING", "status": PASSED}, {"id": "VER-GET-200", "status": PASSED}]}
    new = {"verdict": {"warnings": ["VER-ENUM-TIMING"]},
           "requirements": [{"id": "VER-ENUM-TIMING", "status": FAILED}, {"id": "VER-GET-200", "status": FAILED}]}
    changes = diff_reports(old, new)
    assert [c.requirement for c in changes.warnings] == ["VER-ENUM-TIMING"]
    assert [c.requirement for c in changes.regressions] == ["VER-GET-200"]
    assert diff_reports(old, {**new, "requirements": new["requirements"][:1]}).exit_code == 0


def test_test_outcomes_from_phase_reports() -> None:
    ok, teardown = Phase("setup", "passed"), Phase("teardown", "passed")
    assert outcome_from_phases([ok, Phase("call", "passed"), teardown]) == (PASSED, "")
    assert outcome_from_phases([Phase("setup", "skipped", "no admin API"), teardown]) == (SKIPPED, "no admin API")
    xfail = "expected failure (expected-failures file)"
    assert outcome_from_phases([ok, Phase("call", "skipped", "", xfail), teardown]) == ("xfailed", xfail)
    assert outcome_from_phases([ok, Phase("call", "passed"), Phase("teardown", "failed", "boom")]) == (FAILED, "boom")


def _live_exchange(kind: str, status: int, url: str, body: dict[str, Any], request_body: bytes = b"") -> Exchange:
    request = httpx.Request("POST" if request_body else "GET", url, content=request_body,
                            headers={"content-type": "application/json", "cookie": "csrf_token_ab=SECRETCOOKIE1"})
    response = httpx.Response(status, json=body, request=request,
                              headers={"set-cookie": "csrf_token_ab=SECRETCOOKIE2; Path=/; HttpOnly"})
    return Exchange.record(response, kind, 0.0, 0.01)


def test_a_test_log_becomes_a_serialisable_record_without_secrets() -> None:
    init = _live_exchange("spa", 200, f"{BASE}self-service/verification/browser", flow_doc())
    sub = _live_exchange("spa", 200, f"{BASE}self-service/verification?flow={FLOW}", flow_doc(state="sent_email"),
                         json.dumps({"method": "code", "code": "731904", "csrf_token": "SECRETCSRF0001"}).encode())
    checks = [CheckResult("VER-INIT-BROWSER-JSON", "status", True, "ok", (init,)),
              CheckResult("VER-SUBMIT-EMAIL-SENT", "flow_state", False, f"see {BASE}?token=SECRETTOKEN01", (sub,))]
    rec = record_test("t::x[spa]", "spa", ["VER-SUBMIT-EMAIL-SENT"], [init, sub], checks, failed=True, target=None)
    assert rec.passed_checks == {"VER-INIT-BROWSER-JSON": 1}
    assert rec.judged_by == {"VER-INIT-BROWSER-JSON": {"status": 1}}  # the evidence: which check passed it
    fuzzed = record_test("t::f", None, ["VER-RESP-SCHEMA"], [],
                         [CheckResult("VER-RESP-SCHEMA", "fuzz", True, "12 of 40", (), judged=12)],
                         failed=False, target=None)
    assert fuzzed.judged_by == {"VER-RESP-SCHEMA": {"fuzz": 12}}  # a fuzzing run counts the answers it judged
    assert rec.transitions == [["choose_method", "sent_email", "updateVerificationFlow", "spa"]]
    assert rec.hits == [["createBrowserVerificationFlow", 200, "spa"], ["updateVerificationFlow", 200, "spa"]]
    assert rec.context_exchanges == []  # the failure is a check's: its exchanges are on the check
    text = json.dumps(rec.to_dict())
    for secret in ("731904", "SECRETCSRF0001", "SECRETCOOKIE1", "SECRETCOOKIE2", "SECRETTOKEN01"):
        assert secret not in text
    assert TestRecord.from_dict(json.loads(text)) == rec
    found = debug_secrets.merge(debug_secrets.exchange_secrets(init), debug_secrets.exchange_secrets(sub))
    assert found["code"] == {"731904"} and "SECRETCSRF0001" in found["csrf_token"]
    assert {"SECRETCOOKIE1", "SECRETCOOKIE2"} <= found["cookie"]


def test_a_helper_s_check_on_the_way_is_no_evidence_but_fails_and_the_contract_judge_s_is_evidence() -> None:
    """A helper walking to a test's state judges its steps with thinner checks than the test of each step (a 303
    with a flow id, say, not the whole redirect rule): its passes do not make a requirement pass, its failures fail
    one, and the contract judge's verdict on an answer a helper asked for is evidence like any other."""
    from kratos_conformance.rules import checks as live

    heard: list[CheckResult] = []
    live.add_check_listener(heard.append)
    try:
        with live.precondition():
            live.expect("VER-INIT-BROWSER-303", True, "a 303 naming a flow", name="redirect_names_flow")
            with live.for_its_own_sake():  # what the contract judge does for every answer
                live.expect("VER-RESP-SCHEMA", True, "conforms", name="contract")
        with pytest.raises(live.RequirementFailure), live.precondition():
            live.expect("VER-GET-200", False, "got 404", name="status")
    finally:
        live.remove_check_listener(heard.append)
    assert [c.precondition for c in heard] == [True, False, True]
    rec = record_test("t::wrong[native]", "native", ["VER-CODE-WRONG"], [], heard, failed=True, target=None)
    assert rec.passed_checks == {"VER-RESP-SCHEMA": 1}
    assert [(f.requirement, f.name) for f in rec.failed_checks] == [("VER-GET-200", "status")]
    results = by_id(derive_results([rec], load_catalog(), ExpectedFailures(), CTX))
    assert results["VER-INIT-BROWSER-303"].status == NOT_EXERCISED
    assert results["VER-GET-200"].status == FAILED and results["VER-RESP-SCHEMA"].status == PASSED


def test_measurements_are_reported_and_a_reported_figure_is_no_evidence_of_a_pass() -> None:
    judged = CheckResult("VER-RACE-CODE-SINGLE-USE", "expect", False, "2 of 10 verified", (),
                         Measurement("verifications among 10 simultaneous correct codes", 2, limit="exactly 1"))
    reported = CheckResult("VER-ENUM-TIMING", MEASURE, True, "d=0.4", (), Measurement("effect size", 0.4))
    rec = record_test("t::race", "native", [], [], [judged, reported], failed=True, target=None)
    assert rec.passed_checks == {}  # the figure alone does not pass VER-ENUM-TIMING
    assert [(m["requirement"], m["value"], m["passed"]) for m in rec.measurements] == [
        ("VER-RACE-CODE-SINGLE-USE", 2, False), ("VER-ENUM-TIMING", 0.4, True)]
    doc = json.loads(json.dumps(synthetic_report([rec])))
    assert validation_problems(doc) == []
    assert [m["test"] for m in doc["measurements"]] == ["t::race", "t::race"]
    html = render_summary(doc)
    assert "over the limit" in html and "verifications among 10 simultaneous correct codes" in html
    assert '<td class="run">' not in html  # one run: no run column
    merged = merge_reports([("code", doc), ("link", doc)])
    assert [m["run"] for m in merged["measurements"]] == ["code", "code", "link", "link"]
    rows = render_summary(merged).split('<table id="measurements">')[1].split("</table>")[0]
    assert "<th>run</th>" in rows and rows.count('<td class="run">code</td>') == 2
    assert rows.count('<td class="run">link</td>') == 2


def test_a_tolerated_known_defect_is_shown_with_the_requirement_and_is_no_evidence_of_a_pass() -> None:
    """A race the release profile tolerates: the requirement passes on its other checks (no 5xx, the address
    verified), and its result says a known defect was tolerated; with nothing else judged it is not exercised."""
    figure = Measurement("verifications among 10", 2, limit="at most 1; tolerated: a known defect of the release")
    tolerated = CheckResult("VER-RACE-CODE-SINGLE-USE", KNOWN_DEFECT, True, "2 of 10 verified: on PostgreSQL...",
                            (), figure)
    other = CheckResult("VER-RACE-CODE-SINGLE-USE", "expect", True, "no server error", ())
    alone = record_test("t::a", "native", ["VER-RACE-CODE-SINGLE-USE"], [], [tolerated], failed=False, target=None)
    assert alone.passed_checks == {} and alone.measurements[0]["value"] == 2
    (result,) = [r for r in derive_results([alone], load_catalog(), ExpectedFailures(), CTX)
                 if r.id == "VER-RACE-CODE-SINGLE-USE"]
    assert result.status == NOT_EXERCISED and result.tests == ["t::a"]
    assert result.reason.startswith("not shown to be met: only a known defect of the release was measured")
    assert "2 of 10 verified" in result.reason
    both = record_test("t::b", "native", ["VER-RACE-CODE-SINGLE-USE"], [], [other, tolerated], failed=False,
                       target=None)
    results = by_id(derive_results([both], load_catalog(), ExpectedFailures(), CTX))
    result = results["VER-RACE-CODE-SINGLE-USE"]
    assert result.status == PASSED and result.known_defects == [{"test": "t::b", "detail": tolerated.detail}]
    assert result.reason.startswith("passed, with 1 known defect of the release tolerated")
    assert "2 of 10" in result.reason
    doc = json.loads(json.dumps(synthetic_report([both])))
    assert validation_problems(doc) == []
    html = render_summary(doc)
    assert "known defect of the release tolerated" in html
    # the verdict itself says so, so that a green gate is not read as a clean one
    verdict = html.split('<div id="verdict"', 1)[1].split("</div>", 1)[0]
    assert '<small id="tolerated">known defects of the release tolerated by profile' in verdict
    assert verdict.endswith("VER-RACE-CODE-SINGLE-USE</small>")
    assert 'id="tolerated"' not in render_summary(clean_doc := synthetic_report(
        [record_test("t::c", "native", ["VER-RACE-CODE-SINGLE-USE"], [], [other], failed=False, target=None)]))
    assert clean_doc["verdict"]["name"] == "conformant"
    clean = synthetic_report([record_test("t::b", "native", ["VER-RACE-CODE-SINGLE-USE"], [], [other], failed=False,
                                          target=None)])
    merged = json.loads(json.dumps(merge_reports([("first", clean), ("second", doc)])))  # the defect in the second
    assert validation_problems(merged) == []
    (entry,) = [r for r in merged["requirements"] if r["id"] == "VER-RACE-CODE-SINGLE-USE"]
    assert entry["status"] == PASSED and entry["reason"].startswith("second: passed, with 1 known defect")
    assert [k["run"] for k in entry["known_defects"]] == ["second"]


def test_records_survive_xdist_report_serialisation() -> None:
    """pytest-xdist ships reports with _to_json/_from_json: the record attribute must come through."""
    from _pytest.reports import TestReport

    from kratos_conformance.report.plugin import RECORD_ATTR

    report = TestReport("t::x", ("t.py", 1, "x"), {}, "passed", None, "teardown")
    setattr(report, RECORD_ATTR, RECORDS[1].to_dict())
    data = json.loads(json.dumps(report._to_json()))
    back = TestReport._from_json(data)
    assert TestRecord.from_dict(getattr(back, RECORD_ATTR)) == RECORDS[1]


# --- coverage -------------------------------------------------------------------------------------------------

def test_transitions_are_read_from_the_exchanges() -> None:
    native = [
        ex("createNativeVerificationFlow", 200, body=flow_doc()),
        submit(200, flow_doc(state="sent_email")),
        submit(200, flow_doc(state="passed_challenge")),
        submit(410, {"error": {"id": "self_service_flow_replaced", "code": 410}}),
    ]
    browser = [
        ex("createBrowserVerificationFlow", 303, kind="browser", location=f"{BASE}ui?flow={FLOW}"),
        get_flow(FLOW, "choose_method"),
        submit(303, kind="browser", location=f"{BASE}ui?flow={FLOW}"),
        get_flow(FLOW, "sent_email"),
        submit(303, kind="browser", location=f"{BASE}ui?flow={NEW_FLOW}"),
        get_flow(NEW_FLOW, "choose_method"),
        submit(303, kind="browser", flow_id="unknown-flow", location=f"{BASE}error?id=abc"),
    ]
    got = observe(native).transitions + observe(browser).transitions
    assert got == [
        ("choose_method", "sent_email", "updateVerificationFlow", "native"),
        ("sent_email", "passed_challenge", "updateVerificationFlow", "native"),
        ("passed_challenge", "error 410 (self_service_flow_replaced)", "updateVerificationFlow", "native"),
        ("choose_method", "sent_email", "updateVerificationFlow", "browser"),
        ("sent_email", "choose_method (new flow)", "updateVerificationFlow", "browser"),
        ("unknown", "redirect (new flow, not fetched)", "updateVerificationFlow", "browser"),
    ]
    matrix = coverage_matrix([observe(native), observe(browser), observe(native)])
    ops = {(r["operation"], r["status"], r["client_kind"]): r["count"] for r in matrix["operations"]}
    assert ops[("updateVerificationFlow", 200, "native")] == 4
    assert ops[("getVerificationFlow", 200, "browser")] == 3
    assert matrix["operations"][0]["operation"] == "createBrowserVerificationFlow"  # contract order
    doubled = merge_matrices([matrix, matrix])
    assert [r["count"] for r in doubled["transitions"]] == [2 * r["count"] for r in matrix["transitions"]]


# --- the expected failures ----------------------------------------------------------------------------------------

def test_expected_failures_file_and_matchers(tmp_path: Path) -> None:
    path = tmp_path / "expected-failures.yaml"
    path.write_text("expected_failures:\n"
                    "  - {requirement: VER-CODE-WRONG, reason: known, link: 'https://t/1', target: embedded}\n"
                    "  - {requirement: VER-GET-200, reason: prod only, link: 'https://t/2',"
                    " target: 'https://id.example.com/*', profile: kratos-v25}\n"
                    "  - {requirement: VER-LINK-VALID, reason: link, link: 'https://t/3', method: link}\n")
    expected = load_expected_failures(path)
    assert expected.path == str(path) and len(expected.entries) == 3
    prod = RunContext("https://id.example.com/auth/", False, "kratos-v25", "code")
    assert expected.lookup("VER-CODE-WRONG", CTX) is not None and expected.lookup("VER-CODE-WRONG", prod) is None
    assert expected.lookup("VER-GET-200", prod) is not None and expected.lookup("VER-GET-200", CTX) is None
    assert expected.lookup("VER-LINK-VALID", CTX) is None
    assert expected.lookup("VER-LINK-VALID", RunContext(BASE, True, "kratos-v26", "link")) is not None
    assert load_expected_failures(None).entries == () and expected_failures_path(None, {}) is None
    assert expected_failures_path(None, {"KRATOS_CONFORMANCE_EXPECTED_FAILURES": "x.yaml"}) == "x.yaml"
    assert expected_failures_path("y.yaml", {"KRATOS_CONFORMANCE_EXPECTED_FAILURES": "x.yaml"}) == "y.yaml"


@pytest.mark.parametrize(("content", "message"), [
    ("- {requirement: VER-NOPE, reason: r, link: l}\n", "requirement 'VER-NOPE' is not in the catalog"),
    ("- {requirement: VER-GET-200, link: l}\n", "entry 1 needs a non-empty 'reason'"),
    ("- {requirement: VER-GET-200, reason: r, link: l, owner: me}\n", "entry 1 has unknown keys ['owner']"),
    ("- just a string\n", "entry 1 is not a mapping"),
    ("expected_failures: {a: 1}\n", "expected a list of entries"),
    ("- [unclosed\n", "not valid YAML"),
])
def test_a_bad_expected_failures_file_cannot_judge_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "expected-failures.yaml"
    path.write_text(content)
    with pytest.raises(CannotJudge) as err:
        load_expected_failures(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CannotJudge, match="cannot read it"):
        load_expected_failures(tmp_path / "missing.yaml")


# --- the JSON report ------------------------------------------------------------------------------------------

def synthetic_report(records: list[TestRecord] = RECORDS, expected: ExpectedFailures | None = None,
                     method: str = "code", cannot_judge: str | None = None) -> dict[str, Any]:
    results = derive_results(records, load_catalog(), expected or ExpectedFailures(), CTX)
    unattributed = unattributed_failures(records)
    return build_report(
        target={"public_url": BASE, "embedded": True, "reference_faults": ["wrong_code_400"], "admin_api": True},
        profile="kratos-v26", method=method, seed=None, started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:30Z", duration=30.0,
        verdict=decide_verdict(results, unattributed, cannot_judge), results=results, records=records,
        unattributed=unattributed, coverage=coverage_matrix(r.observed for r in records), expected_failures_path=None)


def test_the_schema_is_valid_and_reports_validate_against_it() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))
    doc = json.loads(json.dumps(synthetic_report()))
    assert validation_problems(doc) == []
    assert doc["counts"]["failed"] == 2 and doc["verdict"]["exit_code"] == 1
    assert doc["suite"]["name"] == "kratos-conformance" and "pytest" in doc["dependencies"]
    merged = merge_reports([("code", doc), ("link", synthetic_report(RECORDS[:1], method="link"))])
    assert validation_problems(json.loads(json.dumps(merged))) == []
    assert merged["method"] == "code,link" and [r["label"] for r in merged["runs"]] == ["code", "link"]
    assert by_id_dict(merged)["VER-CODE-WRONG"]["status"] == FAILED
    assert by_id_dict(merged)["VER-GET-200"]["status"] == PASSED
    broken = dict(doc, verdict={"name": "fine", "exit_code": 0, "reason": ""})
    del broken["coverage"]
    problems = validation_problems(broken)
    assert any(p.startswith("verdict/name") for p in problems) and any("coverage" in p for p in problems)


def by_id_dict(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["requirements"]}


def test_merging_takes_the_worst_status_per_requirement() -> None:
    code_run = synthetic_report([record("t::a", passed={"VER-CODE-WRONG": 1}),
                                 record("t::b", markers=("VER-LINK-VALID",), outcome=SKIPPED, reason="code")])
    link_run = synthetic_report([record("t::a", markers=("VER-CODE-WRONG",), outcome=SKIPPED, reason="link"),
                                 record("t::b", passed={"VER-LINK-VALID": 2})], method="link")
    merged = by_id_dict(merge_reports([("code", code_run), ("link", link_run)]))
    assert merged["VER-CODE-WRONG"]["status"] == PASSED and merged["VER-LINK-VALID"]["status"] == PASSED
    assert merged["VER-LINK-VALID"]["passed_checks"] == 2


# --- the diff -------------------------------------------------------------------------------------------------

def test_diff_lists_regressions_fixes_and_other_changes() -> None:
    old = synthetic_report([record("t::a", passed={"VER-GET-200": 1, "VER-CODE-WRONG": 1, "VER-GET-410-API": 1}),
                            record("t::b", failed=("VER-CODE-LIMIT",), outcome=FAILED)])
    new = synthetic_report([record("t::a", passed={"VER-GET-200": 1, "VER-CODE-LIMIT": 1, "VER-CSRF-WRONG": 1}),
                            record("t::b", failed=("VER-CODE-WRONG",), outcome=FAILED),
                            record("t::c", markers=("VER-GET-410-API",), outcome=SKIPPED, reason="no admin")])
    diff = diff_reports(old, new)
    assert [(c.requirement, c.old, c.new) for c in diff.regressions] == [("VER-CODE-WRONG", PASSED, FAILED)]
    assert [(c.requirement, c.old, c.new) for c in diff.fixes] == [("VER-CODE-LIMIT", FAILED, PASSED)]
    assert {(c.requirement, c.old, c.new) for c in diff.changes} == {
        ("VER-GET-410-API", PASSED, SKIPPED), ("VER-CSRF-WRONG", NOT_EXERCISED, PASSED)}
    assert diff.exit_code == 1 and diff_reports(new, old).exit_code == 1
    assert diff_reports(old, old).exit_code == 0 and diff_reports(old, old).unchanged == len(load_catalog())
    text = render_diff(diff, "a.json", "b.json")
    assert "regressions (passed -> failing): 1\n  VER-CODE-WRONG" in text
    # an acknowledged failure (an expected failure) is still a behaviour regression
    ledgered = synthetic_report([record("t::b", failed=("VER-CODE-WRONG",), outcome=FAILED)],
                                expected=ExpectedFailures((ExpectedFailure("VER-CODE-WRONG", "r", "l"),)))
    assert [c.new for c in diff_reports(old, ledgered).regressions] == [EXPECTED_FAILURE]


# --- the HTML summary -----------------------------------------------------------------------------------------

SECRET = "s3cr3t-csrf-cookie-value"


def failing_report() -> dict[str, Any]:
    """A report with failures, a schema failure first, recorded the way a run records it: from live exchanges whose
    cookies and CSRF token are the secret (the recording redacts them)."""
    flow_url = f"{BASE}self-service/verification?flow={FLOW}"
    init = Exchange.record(httpx.Response(200, json=flow_doc(), request=httpx.Request(
        "GET", f"{BASE}self-service/verification/browser"), headers={"set-cookie": f"csrf_token_ab={SECRET}; Path=/"}),
        "spa", 0.0, 0.01)
    request = httpx.Request("POST", flow_url, headers={"content-type": "application/json",
                                                       "cookie": f"csrf_token_ab={SECRET}"},
                            content=json.dumps({"method": "code", "email": "a@example.org", "csrf_token": SECRET}))
    sub = Exchange.record(httpx.Response(400, json=flow_doc(state="choose_method"), request=request), "spa", 0.0, 0.01)
    cause = "/active: 'default' is not one of ['code', 'link'] (rule enum at oneOf/0/properties/active/enum)"
    schema = record_test("t::schema", "spa", ["VER-RESP-SCHEMA"], [init, sub],
                         [CheckResult("VER-RESP-SCHEMA", "contract", False, cause, (sub,))], failed=True, target=None)
    schema.outcome = FAILED
    return synthetic_report([schema, *RECORDS])


def test_summary_html_leads_with_the_failures_and_draws_the_state_machine(tmp_path: Path, chromium_page: Any) -> None:
    page, requests = chromium_page
    doc = json.loads(json.dumps(failing_report()))
    path = tmp_path / "summary.html"
    html = render_summary(doc)
    path.write_text(html, encoding="utf-8")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(path.as_uri())
    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-verdict") == "not_conformant"
    assert verdict.get_attribute("data-exit-code") == "1" and "NOT CONFORMANT" in verdict.inner_text()
    # the first screen shows the verdict and the first failed requirement with its one-line cause
    first = page.locator("#failures section.requirement-failures").first
    cause = first.locator("p.cause").first
    assert first.get_attribute("data-requirement") == "VER-CODE-WRONG"  # catalog order
    assert cause.inner_text() == "expected status 200, got 400 (VER-CODE-WRONG)"
    schema = page.locator('#failures section[data-requirement="VER-RESP-SCHEMA"] p.cause').first
    assert schema.inner_text().startswith("/active: 'default' is not one of ['code', 'link'] (rule enum at")
    for element in (verdict, cause):
        box = element.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800, box
    assert "curl" in first.locator("pre.curl").first.inner_text()
    # the SPA's curl line carries its cookie and CSRF token REDACTED: the summary says how to run it again
    schema_failure = page.locator('#failures section[data-requirement="VER-RESP-SCHEMA"]').first
    assert "REDACTED" in schema_failure.locator("pre.curl").first.inner_text()
    assert "put in the cookie, CSRF token or code" in schema_failure.locator("p.curl-note").first.inner_text()
    # the failures come before the requirement tables; the passed ones are collapsed
    failures_y = page.locator("#failures").bounding_box()["y"]
    assert failures_y < page.locator("#requirements").bounding_box()["y"]
    assert page.locator("#requirements tr.requirement").count() + \
        page.locator("#passed-requirements tr.requirement").count() == len(load_catalog())
    assert page.locator("#passed-requirements").is_visible() is False
    assert page.locator("#coverage-operations").bounding_box()["y"] < page.locator("#requirements").bounding_box()["y"]
    assert html.rindex('id="passed-requirements"') > html.rindex("<table")  # the passed ones come last
    assert page.locator("tr#req-VER-CODE-WRONG").get_attribute("data-status") == "failed"
    assert page.locator("#coverage-operations td.hit").count() >= 1
    page.locator("#failures details summary").first.click()
    assert page.locator("#failures details pre").first.inner_text()
    # one edge per counted transition, with its count; the failing one marked
    counted: dict[tuple[str, str], int] = {}
    for row in doc["coverage"]["transitions"]:
        counted[(row["from"], row["to"])] = counted.get((row["from"], row["to"]), 0) + row["count"]
    edges = page.locator("svg#state-machine g.edge[data-exercised=true]")
    drawn = {(edges.nth(i).get_attribute("data-from"), edges.nth(i).get_attribute("data-to")):
             int(edges.nth(i).get_attribute("data-count") or 0) for i in range(edges.count())}
    assert drawn == counted and edges.count() == len(counted)  # one edge each, none drawn twice
    failing_loop = 'svg#state-machine g.edge.failing[data-from="choose_method"][data-to="choose_method"]'
    assert page.locator(failing_loop).count() == 1
    assert page.evaluate("document.styleSheets.length") == 1  # the inline style sheet, nothing else
    assert requests == [path.as_uri()]  # self-contained: no request besides the page itself
    assert SECRET not in html and "REDACTED" in html


def test_a_long_list_of_changes_leaves_the_first_failure_on_the_first_screen(tmp_path: Path,
                                                                            chromium_page: Any) -> None:
    """Compared with a report where every requirement had another status, each is a change: the regressions stay in
    view, the rest is folded, and the first failed requirement's cause is still on the 1280x800 first screen."""
    page, _ = chromium_page
    doc = json.loads(json.dumps(failing_report()))
    before = json.loads(json.dumps(doc))
    for req in before["requirements"]:
        req["status"] = SKIPPED if req["status"] == PASSED else PASSED
    changes = diff_reports(before, doc)
    assert len(changes.changes) > 20
    path = tmp_path / "summary.html"
    path.write_text(render_summary(doc, changes=changes, compared_with="old/conformance-report.json"), "utf-8")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(path.as_uri())
    assert page.locator("#other-changes li").count() == len(changes.fixes) + len(changes.changes)
    assert page.locator("#other-changes li").first.is_visible() is False
    box = page.locator("#failures section.requirement-failures p.cause").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800, box


def test_the_summary_of_a_real_kratos_run_fits_a_1280_wide_screen(tmp_path: Path, chromium_page: Any) -> None:
    """The transitions a Kratos v1.3.1 run walked (ten outcomes, some named by long error ids) make the widest grid
    seen: it wraps its headings or scrolls on its own, and the page never scrolls sideways."""
    page, _ = chromium_page
    doc = json.loads(json.dumps(failing_report()))
    outcomes = ["choose_method", "choose_method (new flow)", "error 400", "error 403 (security_csrf_violation)",
                "error 404", "error 410 (self_service_flow_replaced)", "passed_challenge",
                "redirect (flow not fetched)", "redirect (new flow, not fetched)", "sent_email"]
    doc["coverage"]["transitions"] = [
        {"from": before, "to": after, "operation": "updateVerificationFlow", "client_kind": "browser", "count": 3,
         "failed": 0}
        for before in ("choose_method", "sent_email", "passed_challenge", "unknown") for after in outcomes]
    path = tmp_path / "summary.html"
    path.write_text(render_summary(doc), "utf-8")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(path.as_uri())
    assert page.locator("#coverage-transitions th").count() == 1 + len(outcomes) + 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_many_regressions_leave_the_first_failure_on_the_first_screen(tmp_path: Path, chromium_page: Any) -> None:
    """Compared with a clean run, a broken server regresses dozens of requirements: the first five stay in view, the
    rest is folded, and the first failed requirement's cause is still on the 1280x800 first screen."""
    page, _ = chromium_page
    doc = json.loads(json.dumps(failing_report()))
    evidence = next(r["failures"] for r in doc["requirements"] if r["status"] == "failed")
    for req in [r for r in doc["requirements"] if r["status"] != "failed"][:30]:
        req["status"], req["failures"] = "failed", evidence
    before = json.loads(json.dumps(doc))
    for req in before["requirements"]:
        req["status"] = PASSED
    changes = diff_reports(before, doc)
    assert len(changes.regressions) >= 30
    path = tmp_path / "summary.html"
    path.write_text(render_summary(doc, changes=changes, compared_with="old/conformance-report.json"), "utf-8")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(path.as_uri())
    assert page.locator("#changes > ul > li.regression").count() == MAX_REGRESSIONS_SHOWN
    assert page.locator("#more-regressions li.regression").count() == len(changes.regressions) - MAX_REGRESSIONS_SHOWN
    assert page.locator("#more-regressions li").first.is_visible() is False
    box = page.locator("#failures section.requirement-failures p.cause").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800, box


def test_expected_failures_come_after_the_failures_that_fail_the_gate() -> None:
    doc = json.loads(json.dumps(failing_report()))
    evidence = next(r["failures"] for r in doc["requirements"] if r["status"] == "failed")
    first = doc["requirements"][0]  # before every failed one in catalog order
    assert first["status"] != "failed"
    first["status"], first["failures"] = "expected_failure", evidence
    html = render_summary(doc)
    failures = html[html.index('id="failures"'):]
    failed = [r["id"] for r in doc["requirements"] if r["status"] == "failed"]
    positions = [failures.index(f'data-requirement="{req_id}"') for req_id in failed]
    assert positions == sorted(positions) and max(positions) < failures.index(f'data-requirement="{first["id"]}"')


def test_the_curl_line_repeats_the_request_the_failure_is_about() -> None:
    """A check's first piece of evidence; for a test that failed outside any check, the last request it sent."""
    from kratos_conformance.report.html import curl_of

    def sent(url: str) -> dict[str, Any]:
        return plain_exchange(Exchange.record(httpx.Response(400, request=httpx.Request("GET", url)), "native", 0.0,
                                              0.01))

    first, last = sent(f"{BASE}self-service/verification/api"), sent(f"{BASE}self-service/verification/flows?id=x")
    assert str(curl_of({"check": OUTSIDE_CHECKS, "exchanges": [first, last]})).endswith("flows?id=x'")
    assert str(curl_of({"check": "status", "exchanges": [first, last]})).endswith("verification/api")
    assert curl_of({"check": "status", "detail": "x\n  curl 'http://fuzz/'", "exchanges": [first]}) == \
        "curl 'http://fuzz/'"


def test_the_state_machine_draws_what_the_run_never_walked_dashed() -> None:
    from kratos_conformance.report.state_machine import EXPECTED, edges, render_svg

    rows = [{"from": "choose_method", "to": "sent_email", "client_kind": "native", "count": 2, "failed": 0},
            {"from": "choose_method", "to": "sent_email", "client_kind": "spa", "count": 1, "failed": 1}]
    drawn = edges(rows)
    assert (drawn[0].source, drawn[0].target, drawn[0].total, drawn[0].failed) == \
        ("choose_method", "sent_email", 3, 1)
    assert drawn[0].label == "native 2 · spa 1 · 1 in failing tests"
    assert {(e.source, e.target) for e in drawn[1:]} == set(EXPECTED) - {("choose_method", "sent_email")}
    svg = render_svg(rows)
    assert svg.count('class="edge missing"') == len(EXPECTED) - 1 and svg.count('class="edge failing"') == 1


#: the transitions a conformance run against the reference target walked (both client kinds' counts vary per run).
WALKED = [("choose_method", "choose_method", {"browser": 4, "native": 16, "spa": 14}),
          ("choose_method", "error 403 (security_csrf_violation)", {"spa": 4}),
          ("choose_method", "redirect (flow not fetched)", {"browser": 4}),
          ("choose_method", "redirect (new flow, not fetched)", {"browser": 4}),
          ("choose_method", "sent_email", {"browser": 13, "native": 84, "spa": 15}),
          ("passed_challenge", "choose_method (new flow)", {"browser": 2, "native": 2, "spa": 2}),
          ("passed_challenge", "redirect (new flow, not fetched)", {"browser": 1, "native": 7, "spa": 1}),
          ("sent_email", "choose_method (new flow)", {"browser": 2, "native": 2, "spa": 2}),
          ("sent_email", "passed_challenge", {"browser": 4, "native": 7, "spa": 4}),
          ("sent_email", "redirect (new flow, not fetched)", {"native": 3}),
          ("unknown", "error 400", {"native": 1, "spa": 1}), ("unknown", "error 404", {"native": 2, "spa": 2}),
          ("unknown", "redirect (flow not fetched)", {"browser": 2}),
          ("unknown", "redirect (new flow, not fetched)", {"browser": 3})]


def test_no_edge_label_of_the_state_machine_hides_under_a_box_or_another_label(tmp_path: Path,
                                                                                chromium_page: Any) -> None:
    """Measured as Chromium draws it: every label's box clear of every state's box and of every other label, and
    inside the drawing; the labels are drawn after (over) the boxes."""
    from kratos_conformance.report.state_machine import render_svg

    page, _ = chromium_page
    rows = [{"from": a, "to": b, "client_kind": kind, "count": n, "failed": 1 if a == b else 0}
            for a, b, counts in WALKED for kind, n in counts.items()]
    path = tmp_path / "state-machine.svg"
    path.write_text(render_svg(rows), encoding="utf-8")
    page.goto(path.as_uri())
    found = page.evaluate("""() => {
        const svg = document.querySelector('svg#state-machine');
        const box = el => { const b = el.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
        const order = el => Array.prototype.indexOf.call(svg.children, el.closest('svg > *'));
        return {
            states: [...svg.querySelectorAll('g.state rect')].map(el => [box(el), order(el)]),
            labels: [...svg.querySelectorAll('text.edge-label')].map(el => [box(el), order(el), el.textContent]),
            view: svg.viewBox.baseVal.width,
        };
    }""")

    def apart(a: list[float], b: list[float]) -> bool:
        return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]

    labels, states = found["labels"], found["states"]
    assert len(labels) == len(WALKED) + 2  # the two expected transitions this run never walked say so too
    assert "native 84 · browser 13 · spa 15" in [text for _, _, text in labels]
    for box, order, text in labels:
        assert 0 <= box[0] and box[2] <= found["view"], text
        for state_box, state_order in states:
            assert apart(box, state_box), (text, box, state_box)
            assert order > state_order, text  # drawn over the boxes
        for other, _, other_text in labels:
            assert other is box or apart(box, other), (text, other_text)


def test_the_summary_shows_what_changed_since_a_previous_report() -> None:
    old = synthetic_report([record("t::a", passed={"VER-GET-200": 1, "VER-CODE-WRONG": 1}),
                            record("t::b", failed=("VER-CODE-LIMIT",), outcome=FAILED)])
    new = synthetic_report([record("t::a", passed={"VER-GET-200": 1, "VER-CODE-LIMIT": 1, "VER-CSRF-WRONG": 1}),
                            record("t::b", failed=("VER-CODE-WRONG", "VER-LINK-USED"), outcome=FAILED)])
    html = render_summary(new, changes=diff_reports(old, new), compared_with="old/conformance-report.json")
    changes = html[html.index('<section id="changes">'):html.index("</section>")]
    assert changes.index('class="regression" data-requirement="VER-CODE-WRONG"') < \
        changes.index('class="fix" data-requirement="VER-CODE-LIMIT"') < \
        changes.index('class="newly-exercised" data-requirement="VER-CSRF-WRONG"')
    assert 'class="newly-exercised failing" data-requirement="VER-LINK-USED"' in changes  # judged now, and failing
    assert html.index('id="changes"') < html.index('id="failures"')
    assert 'id="changes"' not in render_summary(new)


def test_the_changes_heading_names_the_previous_run_not_only_the_file_it_was_read_from(tmp_path: Path) -> None:
    """The previous report is read before this run writes its own over the same path: the heading names that run
    (when it started, its verdict, its method), so that it does not read as a comparison with the new file."""
    from kratos_conformance.report.html import write_summary
    from kratos_conformance.run.options import PreviousReport

    old = synthetic_report([record("t::a", passed={"VER-GET-200": 1})])
    old.update(started_at="2026-12-01T10:00:00Z", method="code")
    new = synthetic_report([record("t::b", failed=("VER-GET-200",), outcome=FAILED)])
    path = tmp_path / "conformance-report.json"
    html_path, _ = write_summary(new, tmp_path, compare_with=PreviousReport(path, old))
    html = html_path.read_text(encoding="utf-8")
    heading = html[html.index('<section id="changes"><h2>'):html.index("</h2>")]
    assert "the run of 2026-12-01T10:00:00Z (" in heading and "code)" in heading
    assert old["verdict"]["name"].replace("_", " ") in heading
    assert f"read from {path} before this run" in heading


def test_summary_html_escapes_and_links_runs() -> None:
    hostile = record("t::x", failed=("VER-CODE-WRONG",), outcome=FAILED)
    hostile.failed_checks[0].detail = "<script>alert(1)</script>"
    merged = merge_reports([("code", synthetic_report([hostile])), ("link", synthetic_report(RECORDS[:1]))])
    html = render_summary(merged)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="code/summary.html"' in html and 'href="link/conformance-report.json"' in html
    for external in ("<script", "<link", "<img", "@import", "url("):
        assert external not in html


def test_the_debug_secrets_file_must_stay_outside_the_report_dir(tmp_path: Path) -> None:
    assert debug_secrets.check_location(tmp_path / "reports" / "s.jsonl", tmp_path / "reports")
    assert debug_secrets.check_location(tmp_path / "s.jsonl", tmp_path / "reports") is None


def test_a_test_judging_a_requirement_its_marker_does_not_name_is_pointed_out() -> None:
    from kratos_conformance.report.plugin import unnamed_requirements
    from kratos_conformance.rules.checks import check_name

    own = CheckResult("VER-SUBMIT-BROWSER-303", "redirect", True, "ok", ())
    on_the_way = CheckResult("VER-INIT-API-200", "status", True, "ok", (), precondition=True)
    judge = CheckResult("VER-RESP-SCHEMA", "contract", True, "ok", ())
    figure = CheckResult("VER-ENUM-TIMING", MEASURE, True, "d=0.1", ())
    tolerated = CheckResult("VER-RESP-NO-5XX", KNOWN_DEFECT, True, "server error 500: a known defect", ())
    assert unnamed_requirements(["VER-SUBMIT-EMAIL-SENT"], [own, on_the_way, judge, figure, tolerated]) == [
        "VER-SUBMIT-BROWSER-303"]
    assert unnamed_requirements(["VER-SUBMIT-EMAIL-SENT", "VER-SUBMIT-BROWSER-303"], [own, on_the_way]) == []
    learned = CheckResult("VER-RESP-LOCATION", check_name("contract", learned=True), True, "ok", ())
    assert unnamed_requirements(["VER-SUBMIT-EMAIL-SENT"], [learned]) == []  # still the contract judge's
    assert unnamed_requirements([], [own]) == ["VER-SUBMIT-BROWSER-303"]     # a test without a marker, too


def test_a_report_of_format_1_is_read_in_the_current_format(tmp_path: Path) -> None:
    """Format 1 called the expected-failures file and its entries a ledger; --compare-with and diff still read such
    a report (from an earlier release of the suite), as the current format."""
    from kratos_conformance.report.conformance_json import load_report

    doc = json.loads(json.dumps(synthetic_report()))
    old = {("expected_failures_ledger" if k == "expected_failures_file" else k): v for k, v in doc.items()}
    old["format_version"] = 1
    old["requirements"] = [{("ledger" if k == "expected_failure" else k): v for k, v in r.items()}
                           for r in doc["requirements"]]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert load_report(path) == doc
