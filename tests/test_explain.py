"""From a requirement id to the test that checks it: ``kratos-conformance explain`` and the catalog's coverage."""

from __future__ import annotations

import pytest

from kratos_conformance import cli
from kratos_conformance.explain import RULES, explain, marked_tests
from kratos_conformance.rules.catalog import load_catalog
from kratos_conformance.run.bundle import data_root

RULE_MODULES = {"kratos_conformance/rules/response_rules.py", "kratos_conformance/rules/ui_expectations.py",
                "kratos_conformance/rules/contract.py"}


def test_every_requirement_is_named_by_a_suite_test() -> None:
    """A requirement no test's marker names could only ever be 'not exercised': a gap in the suite."""
    suites = data_root() / "suites"
    unnamed = [rid for rid in load_catalog() if not marked_tests(rid, suites)]
    assert not unnamed, f"requirements no suite test names in its marker: {unnamed}"


def test_explain_names_the_test_and_the_library_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "ver-code-replay"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VER-CODE-REPLAY (MUST, code): ")
    assert "suites/scenarios/test_code.py::test_submitting_again_after_success_gets_a_new_flow" in out
    # the test whose main requirement it is comes first, before tests that judge it beside their own
    resend = explain("VER-CODE-RESEND").tests
    assert resend[0] == ("suites/scenarios/test_code.py::test_resend_mails_a_new_code_and_the_old_one_stops_working",
                         True) and len(resend) > 1 and not any(main for _, main in resend[1:])
    # a requirement named through a tuple of ids (the fuzzing tests' RESPONSE_REQUIREMENTS) is found too
    location = explain("VER-RESP-LOCATION")
    assert ("suites/fuzz/test_fuzz_operations.py::test_valid_requests_get_contract_answers", False) in location.tests
    assert any(where.startswith("kratos_conformance/rules/response_rules.py") or "contract_judge.py" in where
               for where, _ in location.judged_in)


def test_explain_lists_the_checks_a_test_calls_with_the_requirement(capsys: pytest.CaptureFixture[str]) -> None:
    """From the id to the check: the named checks the test calls with it (by the ``req`` fixture), an inline
    condition by the name it reports under, and those of a module helper the test hands an id written out."""
    wrong = dict(explain("VER-CODE-WRONG").checks)
    assert wrong["suites/scenarios/test_code.py::test_wrong_code_keeps_the_flow_and_says_4070006"] == (
        "answered_with_flow", "flow_kept", "flow_state", "flow_messages", "address_not_verified")
    passed = dict(explain("VER-CODE-CONTINUE").checks)  # _check_continue(passed, ex, "VER-CODE-CONTINUE")
    assert set(next(iter(passed.values()))) >= {"continue_link", "continue_ui"}, passed
    shape = dict(explain("VER-INIT-SHAPE").checks)  # inline: checks.expect(req, ..., name="ui_action")
    assert {"flow_state", "active", "ui_method", "ui_action"} <= set(
        shape["suites/scenarios/test_init.py::test_new_flow_shape"])
    assert cli.main(["explain", "VER-CODE-WRONG"]) == 0
    assert "test_wrong_code_keeps_the_flow_and_says_4070006: answered_with_flow, flow_kept," in capsys.readouterr().out


@pytest.mark.parametrize("rid", sorted(RULES))
def test_explain_points_at_the_one_place_a_response_rule_is_written(rid: str) -> None:
    """A response rule's requirement leads to the function that holds the rule (in the library's rule modules),
    which the scenarios, the contract judge and the fuzzer share."""
    shown = explain(rid)
    assert shown.rules and all(where.split(":")[0] in RULE_MODULES for where, _ in shown.rules), shown.rules
    assert "its rule, written once:" in shown.render()


def test_an_unknown_requirement_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "VER-CODE-REPLAYS"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "kratos-conformance: no requirement 'VER-CODE-REPLAYS' in the catalog (did you mean " \
                   "VER-CODE-REPLAY?)"
