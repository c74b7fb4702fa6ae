"""The mutation matrix's parts: the fault list, the plan, the runs, the verdicts, the command's exit code.

The whole matrix (every fault once, the clean target three times per method) is not a test here: it runs in CI
after ``make test`` (``.ci/run`` calls ``make mutation``), which fails when the matrix does not hold.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kratos_conformance import mutation
from kratos_conformance.mutation import (
    Fault,
    MatrixOptions,
    RunResult,
    RunSpec,
    list_faults,
    parse_fault_list,
    plan_runs,
    read_junit,
    read_report,
)

ROOT = Path(__file__).resolve().parents[1]


# --- the parts ---------------------------------------------------------------------------------------------------

def test_the_fault_list_is_read_from_the_reference_command_line() -> None:
    faults = list_faults()
    assert len(faults) >= 32
    assert len({f.name for f in faults}) == len(faults)
    assert all(f.methods and set(f.methods) <= {"code", "link"} and f.description for f in faults)
    assert {f.run_method for f in faults} == {"code", "link"}


def test_the_runner_never_imports_the_reference_target() -> None:
    code = ("import sys, kratos_conformance.mutation as m; m.list_faults(); "
            "sys.exit(any(n.startswith('kratos_reference') for n in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_parse_fault_list() -> None:
    faults = parse_fault_list("a\tcode\tone\nb\tlink\ttwo\nc\tcode,link\tthree\n\n")
    assert [(f.name, f.methods, f.run_method) for f in faults] == [
        ("a", ("code",), "code"), ("b", ("link",), "link"), ("c", ("code", "link"), "code")]
    for bad in ("a\tcode", "a\tsms\tx", "\tcode\tx"):
        with pytest.raises(ValueError):
            parse_fault_list(bad)


def test_plan_runs_each_fault_once_with_its_method_and_spreads_the_clean_runs() -> None:
    faults = [Fault(f"f{i}", ("code", "link") if i % 3 else ("link",), "") for i in range(12)]
    plan = plan_runs(faults, clean_runs=3)
    fault_runs = [s for s in plan if s.fault]
    assert [s.fault for s in fault_runs] == [f.name for f in faults]
    assert all(s.method == ("link" if i % 3 == 0 else "code") for i, s in enumerate(fault_runs))
    clean = [i for i, s in enumerate(plan) if s.fault is None]
    assert len(clean) == 6 and sorted(plan[i].method for i in clean) == ["code"] * 3 + ["link"] * 3
    assert clean[-1] < len(plan) - 1, "the clean runs are spread among the fault runs, not all at the end"


def test_read_junit_names_the_requirements_that_failed(tmp_path: Path) -> None:
    xml = tmp_path / "junit.xml"
    xml.write_text("""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="conformance" tests="4" time="9.5">
  <testcase classname="suites.scenarios.test_code" name="test_a[native]" time="1.5">
    <failure message="[VER-CODE-WRONG] MUST: A wrong code answers ...">details</failure></testcase>
  <testcase classname="suites.scenarios.test_get" name="test_b" time="0.5">
    <error message='failed on setup with "[VER-GET-200] MUST: GET answers 200"'>x</error></testcase>
  <testcase classname="suites.fuzz.test_fuzz_operations" name="test_c" time="2.0">
    <failure message="AssertionError: boom">x</failure></testcase>
  <testcase classname="suites.scenarios.test_link" name="test_d" time="0.1"><skipped message="link"/></testcase>
</testsuite></testsuites>""", encoding="utf-8")
    result = RunResult("fault-x", "code", "x", 1, 10.0, 0.0)
    read_junit(xml, result)
    assert (result.tests, result.failed, result.skipped) == (4, 3, 1)
    assert result.requirements == {"VER-CODE-WRONG": ["test_code::test_a[native]"],
                                   "VER-GET-200": ["test_get::test_b"]}
    assert result.suite_seconds == {"suites/scenarios": 2.1, "suites/fuzz": 2.0}
    assert result.verdict == "caught"
    # the run's report adds what a failing test failed beyond the requirement its message names
    report = tmp_path / "conformance-report.json"
    report.write_text(json.dumps({"requirements": [
        {"id": "VER-CODE-WRONG", "status": "failed", "failures": [{"test": "suites/scenarios/test_code.py::test_a"}]},
        {"id": "VER-FUZZ-POSITIVE-ACCEPTED", "status": "failed",
         "failures": [{"test": "suites/fuzz/test_fuzz_operations.py::test_c"}]},
        {"id": "VER-GET-404-UNKNOWN", "status": "passed", "failures": []}]}), encoding="utf-8")
    read_report(report, result)
    assert result.requirements["VER-FUZZ-POSITIVE-ACCEPTED"] == ["test_fuzz_operations::test_c"]
    assert "VER-GET-404-UNKNOWN" not in result.requirements


def test_the_matrix_says_which_named_checks_a_fault_made_fail(tmp_path: Path) -> None:
    """One level below the requirements: from the runs' reports, the named checks that passed somewhere (their
    marks for learned values left off), and the faults whose run each one failed; a failure outside any check is
    no check's."""
    def run_with(name: str, fault: str | None, requirements: list[dict[str, object]]) -> RunResult:
        report = tmp_path / f"{name}.json"
        report.write_text(json.dumps({"requirements": requirements}), encoding="utf-8")
        result = RunResult(name, "code", fault, 1 if fault else 0, 1.0, 0.0)
        read_report(report, result)
        return result

    clean = run_with("clean-code-1", None, [
        {"id": "VER-CODE-WRONG", "status": "passed", "judged_by": {"flow_kept": 3, "flow_state": 3}},
        {"id": "VER-INIT-SHAPE", "status": "passed", "judged_by": {"active, against learned method from mail": 3}}])
    broken = run_with("fault-a", "a", [
        {"id": "VER-CODE-WRONG", "status": "failed", "judged_by": {"flow_state": 1},
         "failures": [{"test": "t", "check": "flow_kept"}, {"test": "u", "check": "(outside any check)"}]},
        {"id": "VER-INIT-SHAPE", "status": "failed",
         "failures": [{"test": "v", "check": "active, against learned method from mail"}]}])
    assert clean.judged_checks == {"flow_kept": ["VER-CODE-WRONG"], "flow_state": ["VER-CODE-WRONG"],
                                   "active": ["VER-INIT-SHAPE"]}
    assert broken.failed_checks == {"flow_kept": ["VER-CODE-WRONG"], "active": ["VER-INIT-SHAPE"]}
    matrix = mutation.Matrix([Fault("a", ("code",), "x")], [clean, broken], 1, 1.0, {})
    assert matrix.check_proofs == {"active": ["a"], "flow_kept": ["a"], "flow_state": []}
    assert matrix.unproven_checks == ["flow_state"]
    doc = matrix.to_json()
    assert doc["checks_proven"] == {"active": ["a"], "flow_kept": ["a"]} and doc["checks_unproven"] == ["flow_state"]
    assert "| `flow_kept` | `a` |" in matrix.to_markdown() and "2 of 3 named checks" in matrix.to_markdown()
    out = io.StringIO()
    mutation.print_matrix(matrix, out)
    assert "named checks made to fail by a fault: 2/3; by none: flow_state" in out.getvalue()


@pytest.mark.parametrize("fault, exit_code, failures, verdict", [
    ("x", 1, [("t", "VER-A")], "caught"),
    ("x", 1, [("t", None)], "caught-unattributed"),
    ("x", 0, [], "missed"),
    ("x", 2, [], "not-judged"),
    ("x", None, [], "not-judged"),
    (None, 0, [], "passed"),
    (None, 1, [("t", "VER-A")], "failed"),
    (None, 2, [], "not-judged"),
])
def test_verdicts(fault: str | None, exit_code: int | None, failures: list[tuple[str, str | None]],
                  verdict: str) -> None:
    result = RunResult("r", "code", fault, exit_code, 1.0, 0.0,
                       failures=[mutation.Failure(t, r, "") for t, r in failures])
    assert result.verdict == verdict


def test_a_run_is_a_plain_pytest_run_of_scenarios_security_and_fuzz(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    options = MatrixOptions(report_dir=tmp_path)
    fuzzed = next(iter(mutation.FUZZ_FAULTS))
    cmd = mutation.pytest_command(RunSpec(f"fault-{fuzzed}", "link", fuzzed), tmp_path / "run", options)
    assert cmd[1:6] == ["-m", "pytest", "suites/scenarios", "suites/security", "suites/fuzz"]
    assert "suites/browser" not in cmd
    assert {"--reference-method=link", f"--reference-faults={fuzzed}", "--fuzz-budget=smoke", "--security-load=low",
            "--known-defects=fail"} <= set(cmd)
    # the clean runs fuzz; a fault outside FUZZ_FAULTS is run without the fuzzer, unless every run fuzzes
    assert "suites/fuzz" in mutation.pytest_command(RunSpec("clean-link-1", "link"), tmp_path / "c", options)
    plain = mutation.pytest_command(RunSpec("fault-x", "link", "x"), tmp_path / "x", options)
    assert "suites/fuzz" not in plain and not any(arg.startswith("--fuzz-") for arg in plain)
    every = MatrixOptions(report_dir=tmp_path, fuzz_every_run=True)
    assert "suites/fuzz" in mutation.pytest_command(RunSpec("fault-x", "link", "x"), tmp_path / "x", every)
    monkeypatch.setenv("KRATOS_CONFORMANCE_PUBLIC_URL", "https://elsewhere.example/")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    env = mutation.child_environment(options)
    assert env["KRATOS_CONFORMANCE_FUZZ_BUDGET"] == "smoke"
    assert not any(k.startswith("PYTEST_") or k.startswith("KRATOS_CONFORMANCE_") and k not in (
        "KRATOS_CONFORMANCE_FUZZ_BUDGET", "KRATOS_CONFORMANCE_FUZZ_SEED") for k in env)


def test_the_matrix_says_which_requirements_a_fault_made_fail() -> None:
    from kratos_conformance.rules.catalog import load_catalog

    faults = [mutation.Fault("a", ("code",), "x"), mutation.Fault("b", ("code",), "y")]
    runs = [RunResult("fault-a", "code", "a", 1, 1.0, 0.0, failures=[
                mutation.Failure("t1", "VER-CODE-WRONG", "[VER-CODE-WRONG] MUST"),
                mutation.Failure("t2", "VER-GET-200", "[VER-GET-200] MUST")]),
            RunResult("fault-b", "code", "b", 1, 1.0, 0.0, failures=[
                mutation.Failure("t3", "VER-CODE-WRONG", "[VER-CODE-WRONG] MUST")])]
    matrix = mutation.Matrix(faults, runs, 1, 1.0, {})
    assert matrix.proofs["VER-CODE-WRONG"] == ["a", "b"] and matrix.proofs["VER-GET-200"] == ["a"]
    assert len(matrix.unproven) == len(load_catalog()) - 2 and "VER-CODE-WRONG" not in matrix.unproven
    doc = matrix.to_json()
    assert doc["requirements_proven"] == {"VER-GET-200": ["a"], "VER-CODE-WRONG": ["a", "b"]}
    assert "VER-CODE-WRONG" not in doc["requirements_unproven"] and "VER-LINK-VALID" in doc["requirements_unproven"]
    assert "| VER-CODE-WRONG | `a`, `b` |" in matrix.to_markdown()


def _every_requirement_failed_by(fault: str) -> RunResult:
    """A fault run that failed one test per catalog requirement (but for those unproven by design)."""
    from kratos_conformance.rules.catalog import load_catalog

    return RunResult(f"fault-{fault}", "code", fault, 1, 1.0, 0.0, failures=[
        mutation.Failure(f"t-{req_id}", req_id, f"[{req_id}] MUST") for req_id in load_catalog()
        if req_id not in mutation.UNPROVEN_BY_DESIGN])


def test_the_matrix_holds_when_every_fault_is_caught_and_every_requirement_proven() -> None:
    clean = RunResult("clean-code-1", "code", None, 0, 1.0, 0.0)
    matrix = mutation.Matrix([Fault("a", ("code",), "x")], [clean, _every_requirement_failed_by("a")], 1, 1.0, {})
    assert matrix.ok and not matrix.gaps and not matrix.unattributed


def test_a_failure_naming_no_requirement_fails_the_matrix_even_in_a_caught_run() -> None:
    run = _every_requirement_failed_by("a")
    run.failures.append(mutation.Failure("t-crash", None, "KeyError: 'ui'"))
    matrix = mutation.Matrix([Fault("a", ("code",), "x")], [run], 1, 1.0, {})
    assert run.verdict == "caught" and matrix.unattributed == {"a": ["t-crash"]} and not matrix.ok


def test_a_requirement_no_fault_made_fail_is_a_gap_of_a_complete_matrix_only() -> None:
    run = RunResult("fault-a", "code", "a", 1, 1.0, 0.0, failures=[mutation.Failure("t", "VER-CODE-WRONG", "")])
    complete = mutation.Matrix([Fault("a", ("code",), "x")], [run], 1, 1.0, {})
    assert "VER-LINK-VALID" in complete.gaps and not complete.ok
    assert not set(mutation.UNPROVEN_BY_DESIGN) & set(complete.gaps)
    selected = mutation.Matrix([Fault("a", ("code",), "x")], [run], 1, 1.0, {}, complete=False)
    assert selected.gaps == [] and selected.ok


def test_the_command_runs_real_runs_and_fails_on_a_fault_it_misses(tmp_path: Path) -> None:
    """Two small matrices of real runs (the whole matrix, every fault, runs in CI after make test: make mutation):
    a fault the scenarios catch exits 0; with the catching tests deselected, the same fault is missed and exits 1."""
    base = ["--faults", "attempt_limit_200", "--clean-runs", "1", "--no-fuzz", "--security-load", "off", "-q"]
    caught = subprocess.run([sys.executable, "-m", "kratos_conformance.mutation", "--report-dir",
                             str(tmp_path / "caught"), *base], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert caught.returncode == 0, caught.stdout + caught.stderr
    assert "attempt_limit_200" in caught.stdout and "caught" in caught.stdout
    missed = subprocess.run([sys.executable, "-m", "kratos_conformance.mutation", "--report-dir",
                             str(tmp_path / "missed"), *base, "--clean-runs", "0", "--pytest-arg=-k",
                             "--pytest-arg=not attempts and not guessing"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    doc = json.loads((tmp_path / "missed" / "matrix.json").read_text(encoding="utf-8"))
    assert missed.returncode == 1 and doc["faults"][0]["verdict"] == "missed", missed.stdout + missed.stderr


@pytest.mark.parametrize("launcher_kind", ["fork", "spawn"])
def test_launchers_run_pytest_and_stop_a_run_that_overstays(tmp_path: Path, launcher_kind: str) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_tiny.py").write_text("import time\n\ndef test_ok():\n    pass\n\n"
                                           "def test_bad():\n    assert 0\n\n"
                                           "def test_slow():\n    time.sleep(60)\n", encoding="utf-8")
    env = mutation.child_environment(MatrixOptions(report_dir=tmp_path))
    launcher = (mutation.ForkLauncher(sys.executable, env) if launcher_kind == "fork" else mutation.SpawnLauncher())
    base = [sys.executable, "-m", "pytest", str(tmp_path / "test_tiny.py"), "-q", "-p", "no:cacheprovider",
            "--rootdir", str(tmp_path), "-c", str(tmp_path / "pytest.ini")]
    try:
        passed = launcher.run(base + ["-k", "ok"], tmp_path / "ok.log", env, timeout=60)
        failed = launcher.run(base + ["-k", "bad"], tmp_path / "bad.log", env, timeout=60)
        started = time.monotonic()
        slow = launcher.run(base + ["-k", "slow"], tmp_path / "slow.log", env, timeout=1.5)
    finally:
        launcher.close()
    assert passed[0] == 0 and "1 passed" in (tmp_path / "ok.log").read_text()
    assert failed[0] == 1 and "1 failed" in (tmp_path / "bad.log").read_text()
    assert passed[2] is not None and passed[2] > 0, "the launcher reports the run's CPU seconds"
    assert slow[0] is None and "timed out" in slow[1] and time.monotonic() - started < 30


def test_the_faults_given_extra_suites_are_faults_the_reference_target_has() -> None:
    """A misspelt name in BROWSER_FAULTS or FUZZ_FAULTS would silently run that fault without the suite its proof
    needs."""
    names = {fault.name for fault in mutation.list_faults()}
    assert mutation.BROWSER_FAULTS <= names, mutation.BROWSER_FAULTS - names
    assert mutation.FUZZ_FAULTS <= names, mutation.FUZZ_FAULTS - names
