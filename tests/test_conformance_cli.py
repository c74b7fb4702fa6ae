"""The ``kratos-conformance`` command: exit codes, one-line refusals, and end to end against the reference target.

The end-to-end tests run small ``-k`` subsets of the scenarios (a few seconds each): a clean run, a run on a
reference target started with the ``wrong_code_400`` fault, the same with an expected-failures file, both
methods with the secrets dump on (then every output is grepped for the real secrets), and one run under xdist.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kratos_conformance.mail import free_port
from kratos_conformance.report import debug_secrets
from kratos_conformance.report.conformance_json import validation_problems

ROOT = Path(__file__).resolve().parent.parent
#: the scenarios around the code method the wrong_code_400 fault is about, and a full walk for every response.
CODE_SUBSET = "test_wrong_code or test_correct_code or test_every_response"
FAST = 5.0  # seconds a refusal may take


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kratos_conformance`` from the repository root with a clean KRATOS_CONFORMANCE_* env."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KRATOS_CONFORMANCE_")}
    return subprocess.run([sys.executable, "-m", "kratos_conformance", *args], cwd=ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *, contains: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kratos-conformance: "), result.stderr
    assert contains in lines[0] and "Traceback" not in result.stderr


# --- refusals -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "contains"), [
    (["run", "--profile", "nope"], "--profile: 'nope' is not one of"),
    (["run", "--wait-budget", "soon"], "--wait-budget: 'soon' is not a number"),
    (["run", "--public-url", "ftp://example.com/"], "--public-url: 'ftp://example.com/' is not an http(s) URL"),
    (["run", "--reference-method", "code,sms"], "--reference-method: 'sms' is not one of"),
    (["run", "--reference-method", "code,code"], "names a method twice"),
    (["run", "--mail-source", "pigeon"], "--mail-source: 'pigeon'"),
    (["run", "--expected-failures", "no-such-file.yaml"], "--expected-failures no-such-file.yaml"),
    (["run", "--suite", "nope"], "--suite: 'nope' is not one of"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--cookie-secure", "yes"], "--cookie-secure yes: the embedded reference target serves http"),
    (["run", "--report-dir", "pyproject.toml/reports"], "--report-dir pyproject.toml/reports: cannot write there"),
    (["run", "--reference-method", "code,link", "--report-dir", "README.md"], "--report-dir README.md/code: cannot"),
    (["record", "--out", "pyproject.toml/mine.json"], "--out pyproject.toml: is a file, not a directory"),
    (["record", "--out", "tests"], "--out tests: is a directory"),
    (["compare", "kratos-v26.2.0", "kratos-v25.4.0"], "compare of two recordings needs --method"),
    (["diff", "no-such-old.json", "no-such-new.json"], "no-such-old.json: cannot read it"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run", "--public", "http://x.test/"], "unrecognized arguments: --public http://x.test/ (see kratos-conformance "
                                            "run --help)"),
    (["run", "--admin-url", "http://127.0.0.1:4434/"], "--admin-url describes a deployed server, but no --public-url"),
    (["run", "--reference-faults", "wrong_code_400,no_such_fault"], "--reference-faults: no fault named no_such_fault"),
    (["run", "--mail-timeout", "nan"], "--mail-timeout: 'nan' is not a finite number"),
    (["run", "--report-dir", "README.md"], "--report-dir README.md: is a file, not a directory"),
    (["merge", "--report-dir", "reports", "code", "code"], "merge: code named twice"),
    (["record", "--cases", "nonsense", "--out", "never-written.json"], "--cases: no case name starts with nonsense"),
    (["compare", "kratos-v99", "kratos-v26.2.0", "--method", "code"], "kratos-v99: no such transcript, nor a "
                                                                      "recording that ships with the suite"),
])
def test_a_bad_option_is_refused_with_one_line_and_exit_code_2(args: list[str], contains: str) -> None:
    started = time.monotonic()
    result = cli(*args)
    assert_one_line_refusal(result, contains=contains)
    assert time.monotonic() - started < FAST


def test_version_names_the_installed_suite_as_its_reports_do() -> None:
    from kratos_conformance.report.conformance_json import versions

    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"kratos-conformance {versions()[0]}\n" and result.stderr == ""


@pytest.mark.parametrize(("extra", "contains"), [
    (["--bogus-flag"], "unrecognized arguments: --bogus-flag"),
    (["-k"], "argument -k: expected one argument"),
    (["-p", "no_such_plugin_here"], 'Error importing plugin "no_such_plugin_here"'),
])
def test_pytest_arguments_after_the_separator_that_pytest_refuses_are_one_line(extra: list[str], contains: str,
                                                                              tmp_path: Path) -> None:
    """Not pytest's usage page, nor an "internal error" for a plugin the user named: one line, exit 2, in seconds."""
    started = time.monotonic()
    result = cli("run", "--report-dir", str(tmp_path), "--", *extra)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kratos-conformance: pytest cannot use the arguments after --: ")
    assert contains in lines[0] and "usage:" not in result.stdout + result.stderr
    assert time.monotonic() - started < FAST * 3


def test_the_embedded_target_is_configured_as_the_options_describe_the_server(tmp_path: Path) -> None:
    """The options that describe a server's configuration configure the embedded reference target too, so that the
    run judges it against what it was told: a limit of 3 attempts and notices to unknown addresses pass."""
    result = cli("run", "--report-dir", str(tmp_path), "--max-submissions", "3", "--notify-unknown-recipients", "yes",
                 "--", "-k", "test_too_many_attempts or test_unknown_address_looks_like")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    doc = load(tmp_path / "conformance-report.json")
    status = {r["id"]: r["status"] for r in doc["requirements"]}
    assert status["VER-CODE-LIMIT"] == status["VER-ENUM-NO-MAIL"] == "passed", status


def test_fuzzing_options_work_on_run_and_say_when_the_fuzz_suite_is_not_run(tmp_path: Path) -> None:
    """`run --fuzz-budget smoke --fuzz-seed 7` (issue 13's command) runs; without the fuzz suite it says, in one
    line, that they take no effect, instead of fuzzing nothing silently."""
    result = cli("run", "--report-dir", str(tmp_path), "--fuzz-budget", "smoke", "--fuzz-seed", "7",
                 "--", "-k", "test_wrong_code")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert ("kratos-conformance: --fuzz-budget, --fuzz-seed given, but this run does not run the fuzz suite "
            "(--suite fuzz, or all, runs it)\n") in result.stdout


def test_a_fuzz_run_passes_only_what_its_answers_could_have_broken(tmp_path: Path) -> None:
    """Issue 14's symptom, end to end: fuzzing the native init alone (answers that are JSON flows, never a redirect,
    a cookie or a GET of a flow, and no invalid request sent) passes the rules those answers were judged by, each
    with its count, and leaves the rest not exercised instead of passing them because a request went out."""
    result = cli("run", "--suite", "fuzz", "--fuzz-budget", "smoke", "--report-dir", str(tmp_path),
                 "--", "-k", "test_valid_requests_get_contract_answers and createNativeVerificationFlow")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    requirements = {r["id"]: r for r in load(tmp_path / "conformance-report.json")["requirements"]}
    for judged in ("VER-RESP-SCHEMA", "VER-RESP-NO-LEAK", "VER-RESP-JSON-TYPE", "VER-FUZZ-POSITIVE-ACCEPTED"):
        assert requirements[judged]["status"] == "passed", requirements[judged]
        assert sum(requirements[judged]["judged_by"].values()) > 0, requirements[judged]
    # each under the fuzzing check that judged it, by name
    assert set(requirements["VER-RESP-SCHEMA"]["judged_by"]) == {"fuzz response_schema_conformance"}
    for unjudged in ("VER-GET-CACHE-CONTROL", "VER-INIT-CSRF-COOKIE", "VER-RESP-LOCATION",
                     "VER-FUZZ-NEGATIVE-REJECTED", "VER-FUZZ-STATEFUL"):
        assert requirements[unjudged]["status"] == "not_exercised", requirements[unjudged]
        assert not requirements[unjudged]["judged_by"], requirements[unjudged]
    # the server's slowest answer is told apart from the fuzzer's own time (a "slow first request" was its setup)
    (fuzzed,) = json.loads((tmp_path / "fuzz-summary.json").read_text(encoding="utf-8"))["tests"]
    assert 0 < fuzzed["slowest_request_seconds"] <= fuzzed["seconds"], fuzzed
    assert "slowest answer" in result.stdout


@pytest.mark.parametrize(("content", "contains"), [
    ("accepted: 5\n", "expected a list of entries"),
    ("accepted: [\n", "not YAML"),
])
def test_a_malformed_file_of_accepted_differences_is_one_line(tmp_path: Path, content: str, contains: str) -> None:
    accepted = tmp_path / "accepted.yaml"
    accepted.write_text(content, encoding="utf-8")
    result = cli("compare", "kratos-v25.4.0", "kratos-v26.2.0", "--method", "code", "--accepted", str(accepted))
    assert_one_line_refusal(result, contains=contains)


def test_the_mutation_command_refuses_a_bad_option_with_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "kratos_conformance.mutation", "--bogus"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert_one_line_refusal(result, contains="unrecognized arguments: --bogus")


def test_options_from_the_environment_are_validated_too() -> None:
    assert_one_line_refusal(cli("run", env={"KRATOS_CONFORMANCE_PROFILE": "kratos-v99"}),
                            contains="KRATOS_CONFORMANCE_PROFILE (--profile): 'kratos-v99' is not one of")


#: a pytest plugin (loaded into the suite's run with -p) that kills the target after the suite's first test
_STOP_TARGET_PLUGIN = """
import os, signal

def pytest_runtest_logfinish(nodeid, location):
    pid = os.environ.pop("STOP_TARGET_PID", None)
    if pid:
        os.kill(int(pid), signal.SIGKILL)
"""


@pytest.mark.parametrize("suite", ["scenarios", "fuzz"])
def test_a_server_that_stops_mid_run_is_cannot_judge_and_the_results_so_far_are_kept(tmp_path: Path,
                                                                                      suite: str) -> None:
    """Every later request would fail to connect: not a server's answer to judge, so no requirement fails; the
    run ends with exit 2 and one line, and the report holds what was judged before."""
    from kratos_conformance.run.embedded_target import EmbeddedTarget

    (tmp_path / "stop_target_plugin.py").write_text(_STOP_TARGET_PLUGIN, encoding="utf-8")
    port, reports = free_port(), tmp_path / "reports"
    with EmbeddedTarget(method="code", smtp_url=f"smtp://127.0.0.1:{port}", log_path=tmp_path / "target.log") as t:
        result = cli("run", "--suite", suite, "--fuzz-budget", "smoke", "--public-url", t.public_url,
                     "--admin-url", t.admin_url, "--mail-source", f"smtp-sink://127.0.0.1:{port}",
                     "--report-dir", str(reports), "--", "-p", "stop_target_plugin",
                     env={"PYTHONPATH": str(tmp_path), "STOP_TARGET_PID": str(t.pid)})
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr
    (line,) = result.stderr.splitlines()
    assert "the server stopped answering during the run" in line and "takes no connection" in line, line
    assert "Traceback" not in result.stdout + result.stderr
    doc = load(reports / "conformance-report.json")
    assert doc["verdict"]["name"] == "cannot_judge" and doc["counts"]["failed"] == 0
    assert doc["counts"]["passed"] > 0 and [t for t in doc["tests"] if t["outcome"] == "passed"]


#: a pytest plugin that sends its own process SIGTERM after the first test, as a CI runner cancelling the job does
_SIGTERM_PLUGIN = """
import os, signal

def pytest_runtest_logfinish(nodeid, location):
    if os.environ.pop("SEND_SIGTERM", None):
        os.kill(os.getpid(), signal.SIGTERM)
"""


def test_sigterm_ends_the_run_as_cannot_judge_keeping_the_results_and_starts_no_other_run(tmp_path: Path) -> None:
    (tmp_path / "sigterm_plugin.py").write_text(_SIGTERM_PLUGIN, encoding="utf-8")
    reports = tmp_path / "reports"
    result = cli("run", "--reference-method", "code,link", "--report-dir", str(reports), "--",
                 "-p", "sigterm_plugin", env={"PYTHONPATH": str(tmp_path), "SEND_SIGTERM": "1"})
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr
    assert result.stderr.splitlines() == ["kratos-conformance: cannot judge: code: the run was stopped by SIGTERM"]
    assert "Traceback" not in result.stdout
    merged = load(reports / "conformance-report.json")
    assert merged["verdict"]["name"] == "cannot_judge" and merged["counts"]["failed"] == 0
    assert [r["label"] for r in merged["runs"]] == ["code"] and not (reports / "link" / "junit.xml").exists()
    code = load(reports / "code" / "conformance-report.json")
    assert [t["outcome"] for t in code["tests"]] == ["passed"]


def test_an_unreachable_target_is_refused_within_seconds() -> None:
    url = f"http://127.0.0.1:{free_port()}/auth/"
    started = time.monotonic()
    result = cli("run", "--public-url", url)
    assert_one_line_refusal(result, contains=f"target unreachable at {url}self-service/verification/api")
    assert time.monotonic() - started < FAST


@pytest.fixture
def answering_server() -> Iterator[str]:
    """A local HTTP server that answers anything with 404 (reachable, but not a mail catcher)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_an_unreachable_mail_source_is_refused_within_seconds(answering_server: str) -> None:
    mail = f"mailpit:http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = cli("run", "--public-url", answering_server, "--mail-source", mail)
    assert_one_line_refusal(result, contains="mailpit")
    assert time.monotonic() - started < FAST


def test_a_run_that_collects_nothing_cannot_judge(tmp_path: Path) -> None:
    result = cli("run", "--report-dir", str(tmp_path), "--", "-k", "no_scenario_is_called_like_this")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "kratos-conformance: cannot judge: no tests were collected"
    assert "Traceback" not in result.stdout + result.stderr


#: a pytest plugin that makes the embedded reference target refuse to start (a fault it does not know, which the
#: command line refuses before it starts anything: this one gets past it)
_BREAK_START_PLUGIN = """
from kratos_conformance.run.embedded_target import EmbeddedTarget

_command = EmbeddedTarget.command
EmbeddedTarget.command = lambda self, *ports: [*_command(self, *ports), "--fault", "no_such_fault"]
"""


def test_a_target_that_cannot_start_cannot_judge_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "break_start_plugin.py").write_text(_BREAK_START_PLUGIN, encoding="utf-8")
    result = cli("run", "--report-dir", str(tmp_path / "reports"), "--", "-k", "test_init", "-p", "break_start_plugin",
                 env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kratos-conformance: cannot judge: reference target did not start")
    assert "no_such_fault" in lines[0]
    doc = load(tmp_path / "reports" / "conformance-report.json")
    assert doc["verdict"]["name"] == "cannot_judge" and "Traceback" not in result.stdout


# --- end to end -----------------------------------------------------------------------------------------------

def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert validation_problems(doc) == []
    return dict(doc)


@pytest.fixture(scope="module")
def clean_and_broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A clean run and a run on a reference target with the wrong_code_400 fault (the same scenarios), whose
    summary shows what changed since the clean one. As a user would, the broken run compares with the report it
    then writes over: the clean report, copied into its report directory."""
    base = tmp_path_factory.mktemp("e2e")
    clean = cli("run", "--report-dir", str(base / "clean"), "--", "-k", CODE_SUBSET,
                env={"KRATOS_CONFORMANCE_FUZZ_SEED": "4242"})
    (base / "broken").mkdir()
    shutil.copy(base / "clean" / "conformance-report.json", base / "broken" / "conformance-report.json")
    broken = cli("run", "--report-dir", str(base / "broken"), "--reference-faults", "wrong_code_400",
                 "--compare-with", str(base / "broken" / "conformance-report.json"), "--", "-k", CODE_SUBSET)
    return {"base": base, "clean": clean, "broken": broken}


def test_two_releases_compare_by_name_and_their_differences_fail(tmp_path: Path) -> None:
    """The recordings that ship with the suite compare by name, labelled so: a release against itself has no
    difference (exit 0), v26.2.0 against v1.3.1 has some (exit 1)."""
    same = cli("compare", "kratos-v26.2.0", "kratos-v26.2.0", "--method", "link")
    assert same.returncode == 0 and "0 difference(s)" in same.stdout, same.stdout + same.stderr
    apart = cli("compare", "kratos-v26.2.0", "kratos-v1.3.1", "--method", "code")
    assert apart.returncode == 1, apart.stdout + apart.stderr
    assert "kratos-v26.2.0" in apart.stdout and "kratos-v1.3.1" in apart.stdout
    assert re.search(r"kratos-conformance: [1-9]\d* difference\(s\)", apart.stdout), apart.stdout
    # before the total, the differences by kind: v1.3.1 words an invalid email's message as v26.2.0 does not
    kinds = apart.stdout.split(" kind(s):\n", 1)[1].splitlines()[:-1]
    assert any(re.fullmatch(r"  response\.body\.ui\.nodes\[\d+\]\.messages\[0\]\.id: \d+ in \d+ case\(s\); "
                            r"kratos-v26\.2\.0 4000040, kratos-v1\.3\.1 4000001", k) for k in kinds), kinds


def test_record_a_deployed_server_and_compare_its_transcript(tmp_path: Path) -> None:
    """``record`` against a deployed server (the reference target served, its courier mailing the built-in sink)
    writes a transcript; compared with itself it has no difference, and one changed answer is one difference."""
    from kratos_reference import ReferenceConfig, serve

    port = free_port()
    target = serve(ReferenceConfig(public_url="http://127.0.0.1:0/", admin_url="http://127.0.0.1:0/",
                                   smtp_url=f"smtp://127.0.0.1:{port}", flow_lifespan=10.0,
                                   allowed_return_urls=("https://app.example.test",)))
    mine = tmp_path / "mine.json"
    try:
        recorded = cli("record", "--public-url", target.public_url, "--admin-url", target.admin_url,
                       "--mail-source", f"smtp-sink://127.0.0.1:{port}", "--return-to",
                       "https://app.example.test/after", "--cases", "get.,init.", "--out", str(mine))
    finally:
        target.stop()
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "recorded " in recorded.stdout and "(code) into" in recorded.stdout
    doc = json.loads(mine.read_text())
    assert doc["method"] == "code" and all(name.startswith(("get.", "init.")) for name in doc["cases"])
    same = cli("compare", str(mine), str(mine))
    assert same.returncode == 0 and "0 difference(s)" in same.stdout, same.stdout
    changed = json.loads(mine.read_text())
    case = sorted(changed["cases"])[0]
    first = changed["cases"][case][0]
    first["status"] = 599 if first.get("status") != 599 else 598
    other = tmp_path / "other.json"
    other.write_text(json.dumps(changed))
    apart = cli("compare", str(mine), str(other))
    assert apart.returncode == 1 and case in apart.stdout, apart.stdout
    assert "kratos-conformance: 1 difference(s) in 1 of" in apart.stdout, apart.stdout


def test_a_clean_run_is_conformant_and_writes_every_report(clean_and_broken: dict[str, Any]) -> None:
    result, reports = clean_and_broken["clean"], clean_and_broken["base"] / "clean"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "kratos-conformance: CONFORMANT (exit 0)" in result.stdout
    doc = load(reports / "conformance-report.json")
    assert doc["verdict"]["name"] == "conformant" and doc["method"] == "code" and doc["target"]["embedded"]
    assert doc["seed"] == "4242"
    assert doc["counts"]["passed"] >= 10 and doc["counts"]["failed"] == 0
    # every piece of evidence names the check that judged it: the scenarios' own conditions too
    judged_by = {r["id"]: r["judged_by"] for r in doc["requirements"]}
    assert {"flow_kept", "flow_state", "flow_messages"} <= set(judged_by["VER-CODE-WRONG"]), judged_by["VER-CODE-WRONG"]
    transitions = {(t["from"], t["to"]) for t in doc["coverage"]["transitions"]}
    assert {("choose_method", "sent_email"), ("sent_email", "passed_challenge")} <= transitions
    assert 'data-verdict="conformant"' in (reports / "summary.html").read_text(encoding="utf-8")
    assert "<testsuite" in (reports / "junit.xml").read_text(encoding="utf-8")
    svg = (reports / "state-machine.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and 'data-from="sent_email" data-to="passed_challenge"' in svg
    assert drawn_edges(svg) == counted_edges(doc)  # one edge per counted transition: counts per kind, failures


def counted_edges(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[dict[str, int], int]]:
    """A report's coverage.transitions by edge: the count per client kind, and how many were in failing tests."""
    counted: dict[tuple[str, str], tuple[dict[str, int], int]] = {}
    for row in doc["coverage"]["transitions"]:
        kinds, failed = counted.setdefault((row["from"], row["to"]), ({}, 0))
        kinds[row["client_kind"]] = kinds.get(row["client_kind"], 0) + row["count"]
        counted[(row["from"], row["to"])] = (kinds, failed + row["failed"])
    return counted


def drawn_edges(svg: str) -> dict[tuple[str, str], tuple[dict[str, int], int]]:
    """The exercised edges a state-machine.svg draws: the counts per client kind its label shows, and its failures
    (data-failed, which the label and the failing style must agree with). Each edge's label is a text of its own
    (drawn over the boxes), found by the same data-from and data-to."""
    labels = {(a, b): (style, label) for style, a, b, label in re.findall(
        r'<text class="edge-label (\w+)" data-from="([^"]+)" data-to="([^"]+)"[^>]*>([^<]*)</text>', svg)}
    drawn: dict[tuple[str, str], tuple[dict[str, int], int]] = {}
    for style, a, b, total, failed in re.findall(
            r'<g class="edge (\w+)" data-from="([^"]+)" data-to="([^"]+)" data-count="(\d+)" data-failed="(\d+)" '
            r'data-exercised="true">', svg):
        label_style, label = labels[(a, b)]
        kinds = {kind: int(n) for kind, n in re.findall(r"(\w+) (\d+)(?= ·|$)", label)}
        assert sum(kinds.values()) == int(total), label
        assert (style == "failing") == (label_style == "failing") == (int(failed) > 0) == \
            (f"{failed} in failing tests" in label), label
        assert (a, b) not in drawn, f"{a} -> {b} drawn twice"
        drawn[(a, b)] = (kinds, int(failed))
    return drawn


def test_allure_results_carry_steps_exchanges_labels_and_requirement_links(clean_and_broken: dict[str, Any]) -> None:
    allure = clean_and_broken["base"] / "clean" / "allure"
    results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    spa = next(r for r in results if r["name"].startswith("test_correct_code_verifies_the_address[spa"))
    labels = {(label["name"], label["value"]) for label in spa["labels"]}
    assert {("endpoint", "updateVerificationFlow"), ("client_kind", "spa"), ("tag", "spa"),
            ("transition", "sent_email -> passed_challenge"), ("story", "choose_method -> sent_email")} <= labels
    links = {(link["type"], link["name"]): link["url"] for link in spa["links"]}
    assert links[("requirement", "VER-CODE-SUCCESS")] == "../summary.html#req-VER-CODE-SUCCESS"
    steps = [s["name"] for s in spa["steps"]]
    assert any(s.startswith("POST updateVerificationFlow [spa] -> 200") for s in steps)
    submission = next(s for s in spa["steps"] if s["name"].startswith("POST updateVerificationFlow"))
    assert submission["attachments"] and any(c["name"].startswith("VER-RESP-SCHEMA") for c in submission["steps"])
    attachment = (allure / submission["attachments"][0]["source"]).read_text()
    assert attachment.startswith("> POST ") and "REDACTED" in attachment


def test_the_summary_of_a_run_with_failures_shows_the_first_failure_on_its_first_screen(
        clean_and_broken: dict[str, Any], chromium_page: Any) -> None:
    """A real run with failures (the reference target with a fault, compared with a clean run), opened at 1280x800:
    the verdict and the first failed requirement with its one-line cause are on the first screen, which is saved as
    reports/summary-first-screen.png."""
    page, _ = chromium_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto((clean_and_broken["base"] / "broken" / "summary.html").as_uri())
    verdict = page.locator("#verdict")
    assert "NOT CONFORMANT" in verdict.inner_text()
    first = page.locator("#failures section.requirement-failures").first
    assert first.get_attribute("data-requirement") == "VER-CODE-WRONG"
    cause = first.locator("p.cause").first
    assert "got 400" in cause.inner_text(), cause.inner_text()
    for element in (verdict, cause):
        box = element.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800, box
    shot = ROOT / "reports" / "summary-first-screen.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot))


def test_diffing_a_clean_run_against_a_broken_target_lists_exactly_what_broke(
        clean_and_broken: dict[str, Any]) -> None:
    broken, base = clean_and_broken["broken"], clean_and_broken["base"]
    assert broken.returncode == 1, broken.stdout[-3000:] + broken.stderr
    assert "failed: VER-CODE-WRONG\n" in broken.stdout
    summary = (base / "broken" / "summary.html").read_text(encoding="utf-8")  # run with --compare-with the clean one
    changes = summary[summary.index('<section id="changes">'):]
    assert "1 regression(s), 0 fix(es)" in changes
    doc = load(base / "broken" / "conformance-report.json")
    drawn = drawn_edges((base / "broken" / "state-machine.svg").read_text(encoding="utf-8"))
    assert drawn == counted_edges(doc) and any(failed for _, failed in drawn.values())  # the failing edge, marked
    assert changes.index('class="regression" data-requirement="VER-CODE-WRONG"') < changes.index("</section>")
    old, new = str(base / "clean" / "conformance-report.json"), str(base / "broken" / "conformance-report.json")
    result = cli("diff", old, new, "--json")
    assert result.returncode == 1, result.stderr
    diff = json.loads(result.stdout)
    assert [(c["requirement"], c["old"], c["new"]) for c in diff["regressions"]] == [
        ("VER-CODE-WRONG", "passed", "failed")]
    assert diff["fixes"] == [] and diff["changes"] == []
    text = cli("diff", old, new)
    assert text.returncode == 1 and re.search(r"^  VER-CODE-WRONG +passed -> failed", text.stdout, re.M)
    back = cli("diff", new, old)
    assert back.returncode == 0 and "fixes (failing -> passed): 1" in back.stdout
    assert cli("diff", old, old).returncode == 0


def test_merge_combines_runs_into_one_report_and_summary(clean_and_broken: dict[str, Any]) -> None:
    base = clean_and_broken["base"]
    result = cli("merge", "--report-dir", str(base), "clean", "broken")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT CONFORMANT (exit 1)" in result.stdout and "[combined]" in result.stdout
    merged = load(base / "conformance-report.json")
    assert [r["label"] for r in merged["runs"]] == ["clean", "broken"]
    assert {r["id"]: r["status"] for r in merged["requirements"]}["VER-CODE-WRONG"] == "failed"
    assert 'href="broken/summary.html"' in (base / "summary.html").read_text(encoding="utf-8")


def test_known_failures_in_the_expected_failures_file_do_not_fail_the_gate(tmp_path: Path) -> None:
    expected = tmp_path / "expected-failures.yaml"
    expected.write_text("expected_failures:\n"
                      "  - requirement: VER-CODE-WRONG\n    reason: answers 400 for a wrong code\n"
                      "    link: https://tracker.example.com/KR-1\n    target: embedded\n"
                      "  - requirement: VER-CODE-SUCCESS\n    reason: was broken last release\n"
                      "    link: https://tracker.example.com/KR-2\n", encoding="utf-8")
    reports = tmp_path / "reports"
    result = cli("run", "--report-dir", str(reports), "--reference-faults", "wrong_code_400",
                 "--", "-k", "test_wrong_code or test_correct_code", env={"KRATOS_CONFORMANCE_EXPECTED_FAILURES":
                                                                          str(expected)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "unexpectedly passing (shrink the expected-failures file): VER-CODE-SUCCESS" in result.stdout
    assert "3 xfailed" in result.stdout
    doc = load(reports / "conformance-report.json")
    statuses = {r["id"]: r for r in doc["requirements"]}
    assert statuses["VER-CODE-WRONG"]["status"] == "expected_failure"
    assert statuses["VER-CODE-WRONG"]["expected_failure"]["link"] == "https://tracker.example.com/KR-1"
    assert doc["unexpectedly_passing"] == ["VER-CODE-SUCCESS"] and doc["expected_failures_file"] == str(expected)
    junit = (reports / "junit.xml").read_text(encoding="utf-8")
    assert junit.count('type="pytest.xfail"') == 3 and "<failure" not in junit


def test_secrets_never_reach_any_report_or_log(tmp_path: Path) -> None:
    """Both methods; the plugin's debug dump (outside the report dir) holds the real values to grep for."""
    dump, reports = tmp_path / "secrets.jsonl", tmp_path / "reports"
    result = cli("run", "--reference-method", "code,link", "--report-dir", str(reports),
                 "--", "-k", "test_correct_code_verifies_the_address or test_valid_token",
                 env={debug_secrets.ENV: str(dump)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    secrets = debug_secrets.read_dump(dump)
    assert {"code", "token", "cookie", "csrf_token"} <= set(secrets), sorted(secrets)
    assert all(re.fullmatch(r"\d{6}", c) for c in secrets["code"])
    searched: list[str] = []
    assert leaked_secrets(reports, result, secrets, searched) == []
    names = {Path(name).name for name in searched}
    assert {"junit.xml", "conformance-report.json", "summary.html", "reference-target-code.log",
            "reference-target-link.log"} <= names
    assert any(name.endswith("-attachment.txt") for name in names)
    merged = load(reports / "conformance-report.json")
    assert [r["label"] for r in merged["runs"]] == ["code", "link"] and merged["verdict"]["exit_code"] == 0


def test_secrets_never_reach_the_failure_details_of_a_failing_run(tmp_path: Path) -> None:
    """A failure detail describes what the server answered (here a flow's nodes, one of them the CSRF token);
    it reaches the terminal, JUnit, Allure and both reports, and must show no secret either."""
    dump, reports = tmp_path / "secrets.jsonl", tmp_path / "reports"
    result = cli("run", "--reference-faults", "email_input_optional", "--report-dir", str(reports),
                 "--", "-k", "test_choose_method_nodes", env={debug_secrets.ENV: str(dump)})
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    assert "no required email input in" in result.stdout
    secrets = debug_secrets.read_dump(dump)
    assert secrets.get("csrf_token"), sorted(secrets)
    assert leaked_secrets(reports, result, secrets) == []


def leaked_secrets(reports: Path, result: subprocess.CompletedProcess[str], secrets: dict[str, list[str]],
                   names: list[str] | None = None) -> list[tuple[str, str]]:
    """Where a value of ``secrets`` appears whole in a file under ``reports`` or the run's output. ``names``, if
    given, receives the names of the files searched."""
    outputs = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in reports.rglob("*") if p.is_file()}
    outputs["stdout"], outputs["stderr"] = result.stdout, result.stderr
    if names is not None:
        names.extend(outputs)
    values = sorted({v for found in secrets.values() for v in found})
    assert values and re.search(_whole(values[0]), f"csrf_token={values[0]};")  # the grep finds one that is there
    return [(name, value) for name, text in outputs.items() for value in values if re.search(_whole(value), text)]


def _whole(value: str) -> str:
    return rf"(?<![0-9A-Za-z_-]){re.escape(value)}(?![0-9A-Za-z_-])"


def test_records_from_xdist_workers_reach_the_report(tmp_path: Path) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed")
    reports = tmp_path / "reports"
    result = cli("run", "--report-dir", str(reports), "--", "-n", "2", "-k", "test_init")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    doc = load(reports / "conformance-report.json")
    ran = [t for t in doc["tests"] if t["outcome"] == "passed"]
    assert len(ran) >= 10 and len(doc["tests"]) == (reports / "junit.xml").read_text().count("<testcase ")
    assert doc["coverage"]["operations"] and doc["method"] == "code"
    assert {r["id"]: r["status"] for r in doc["requirements"]}["VER-INIT-SHAPE"] == "passed"


def test_xdist_workers_share_the_one_sink_a_deployed_target_mails(tmp_path: Path) -> None:
    """The courier of a deployed target mails one fixed address: the controller listens there and spools every
    mail, and both workers' mail scenarios find their mails."""
    pytest.importorskip("xdist", reason="pytest-xdist is not installed")
    from kratos_conformance.run.embedded_target import EmbeddedTarget

    port = free_port()
    reports = tmp_path / "reports"
    with EmbeddedTarget(method="code", smtp_url=f"smtp://127.0.0.1:{port}", log_path=tmp_path / "target.log") as t:
        result = cli("run", "--public-url", t.public_url, "--admin-url", t.admin_url,
                     "--mail-source", f"smtp-sink://127.0.0.1:{port}", "--report-dir", str(reports),
                     "--", "-n", "2", "-k", "test_correct_code or test_resend or test_valid_email")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert " warning" not in result.stdout, result.stdout[-3000:]  # e.g. a plugin that cannot be rewritten
    doc = load(reports / "conformance-report.json")
    assert len([t for t in doc["tests"] if t["outcome"] == "passed"]) >= 6
    statuses = {r["id"]: r["status"] for r in doc["requirements"]}
    assert statuses["VER-CODE-VERIFIED"] == "passed" and statuses["VER-CODE-RESEND"] == "passed"


def statuses_against_configured_target(tmp_path: Path, settings: dict[str, str], options: Sequence[str],
                                       select: str, *, scheme: str = "http",
                                       env: dict[str, str] | None = None) -> dict[str, str]:
    """Run the suite's tests matching ``select`` with ``options`` against a reference target started with
    ``settings`` (over the CONFORMANCE_SETTINGS) and return each requirement's status."""
    from kratos_conformance.run.embedded_target import CONFORMANCE_SETTINGS, EmbeddedTarget

    port = free_port()
    reports = Path(tempfile.mkdtemp(prefix="reports-", dir=tmp_path))
    with EmbeddedTarget(method="code", smtp_url=f"smtp://127.0.0.1:{port}", scheme=scheme,
                        settings={**CONFORMANCE_SETTINGS, **settings}, log_path=reports.with_suffix(".log")) as t:
        result = cli("run", "--public-url", t.public_url, "--admin-url", t.admin_url, "--mail-source",
                     f"smtp-sink://127.0.0.1:{port}", "--report-dir", str(reports), *options, "--", "-k", select,
                     env=env)
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr
    return {r["id"]: r["status"] for r in load(reports / "conformance-report.json")["requirements"]}


def test_the_attempt_limit_is_judged_against_the_configured_max_submissions(tmp_path: Path) -> None:
    """A server configured for 3 attempts passes VER-CODE-LIMIT when the run is told so, and fails it when the run
    expects Kratos's default of 5 (the flow was replaced too early)."""
    three = {"max-submissions": "3"}
    told = statuses_against_configured_target(tmp_path, three, ["--max-submissions", "3"], "test_too_many_attempts")
    assert told["VER-CODE-LIMIT"] == "passed"
    assert statuses_against_configured_target(tmp_path, three, [], "test_too_many_attempts")["VER-CODE-LIMIT"] \
        == "failed"


def test_the_csrf_cookie_is_judged_against_the_configured_same_site_and_path(tmp_path: Path) -> None:
    """A server whose cookies.path is /self-service/ passes VER-INIT-CSRF-COOKIE when the run is told so, and fails
    it at the default /; SameSite=Strict configured without Secure is sent as Lax (as Kratos does), accepted."""
    settings = {"cookie-path": "/self-service/", "cookie-same-site": "Strict"}
    select = "test_browser_is_redirected_to_the_ui or test_spa_gets_a_browser_flow"
    told = statuses_against_configured_target(
        tmp_path, settings, ["--cookie-path", "/self-service/", "--cookie-same-site", "strict"], select)
    assert told["VER-INIT-CSRF-COOKIE"] == "passed"
    assert statuses_against_configured_target(tmp_path, settings, [], select)["VER-INIT-CSRF-COOKIE"] == "failed"


def test_over_plain_http_the_csrf_cookie_s_secure_is_learned_from_the_server_and_held(tmp_path: Path) -> None:
    """Kratos outside --dev sends its CSRF cookie Secure even over plain http (behind a TLS-terminating proxy, say):
    --cookie-secure's default learns that from the server's first browser flow and holds every cookie to it, where
    judging by the scheme failed a healthy server."""
    select = "test_browser_is_redirected_to_the_ui or test_spa_gets_a_browser_flow"
    secure = {"secure-cookies": ""}
    assert statuses_against_configured_target(tmp_path, secure, [], select)["VER-INIT-CSRF-COOKIE"] == "passed"
    assert statuses_against_configured_target(tmp_path, secure, ["--cookie-secure", "scheme"],
                                              select)["VER-INIT-CSRF-COOKIE"] == "failed"
    # a server deciding Secure per request (Secure on its JSON answers only) is caught by the consistency the
    # learned value holds it to: the preflight's JSON init taught Secure, the browser's 303 came without it
    per_request = {"fault": "csrf_cookie_secure_per_request"}
    assert statuses_against_configured_target(tmp_path, per_request, [], select)["VER-INIT-CSRF-COOKIE"] == "failed"


def test_over_https_the_csrf_cookie_must_be_secure_and_keep_its_configured_same_site(
        tmp_path: Path, self_signed_certificate: tuple[Path, Path]) -> None:
    """Against an https deployment (trusted through SSL_CERT_FILE, as httpx reads it): a server outside dev mode
    sends the CSRF cookie Secure with its configured SameSite=Strict, and the browser flows work with it; the same
    server in dev mode (no Secure) fails VER-INIT-CSRF-COOKIE: over https Secure is required, whatever the server's
    first cookie showed."""
    cert, key = self_signed_certificate
    tls = {"tls-cert": str(cert), "tls-key": str(key), "cookie-same-site": "Strict"}

    def run(settings: dict[str, str]) -> dict[str, str]:
        return statuses_against_configured_target(tmp_path, {**tls, **settings}, ["--cookie-same-site", "strict"],
                                                  "test_init or test_csrf", scheme="https",
                                                  env={"SSL_CERT_FILE": str(cert)})

    secure = run({"secure-cookies": ""})
    assert secure["VER-INIT-CSRF-COOKIE"] == "passed" and secure["VER-CSRF-WRONG"] == "passed"
    assert secure["VER-CSRF-TOKEN-BOUND"] == "passed"
    assert run({})["VER-INIT-CSRF-COOKIE"] == "failed"


def test_over_https_behind_a_private_ca_the_fuzzer_and_the_browser_trust_what_ssl_cert_file_names(
        tmp_path: Path, self_signed_certificate: tuple[Path, Path]) -> None:
    """SSL_CERT_FILE reaches every client, not only httpx's: the fuzzer's requests (schemathesis sends them with
    ``requests``, which reads no such variable) and Chromium (its own certificate store). Against real Kratos over
    https behind a private CA both failed every request, judged as the server's failures (no HTTP answer)."""
    cert, key = self_signed_certificate
    statuses = statuses_against_configured_target(
        tmp_path, {"tls-cert": str(cert), "tls-key": str(key), "secure-cookies": ""},
        ["--suite", "fuzz,browser", "--fuzz-budget", "smoke"],
        "test_valid_requests_get_contract_answers or test_code_walk_from_init_to_success", scheme="https",
        env={"SSL_CERT_FILE": str(cert)})
    assert statuses["VER-FUZZ-POSITIVE-ACCEPTED"] == statuses["VER-RESP-NO-5XX"] == "passed", statuses
    assert statuses["VER-BROWSER-WALK-CODE"] == "passed", statuses


def test_over_https_the_browser_walks_a_server_without_a_ui_through_the_ui_the_suite_serves_over_https(
        tmp_path: Path, self_signed_certificate: tuple[Path, Path]) -> None:
    """A server on https with no UI of its own (Kratos over TLS): --serve-ui-tls serves the suite's UI on https, the
    same site as the API to a browser, so Chromium's forms carry the SameSite=Lax CSRF cookie and the walk passes,
    where an http UI was refused by the preflight (every walk would have failed CSRF)."""
    cert, key = self_signed_certificate
    ui = f"127.0.0.1:{free_port()}"
    statuses = statuses_against_configured_target(
        tmp_path, {"tls-cert": str(cert), "tls-key": str(key), "secure-cookies": "",
                   "ui-url": f"https://{ui}/verification", "error-ui-url": f"https://{ui}/error"},
        ["--suite", "browser", "--serve-ui", ui, "--serve-ui-tls", f"{cert},{key}"],
        "test_code_walk_from_init_to_success", scheme="https", env={"SSL_CERT_FILE": str(cert)})
    assert statuses["VER-BROWSER-WALK-CODE"] == "passed", statuses


def test_a_defect_of_the_suite_itself_is_one_line_with_the_traceback_kept(monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from kratos_conformance import cli as cli_module

    def broken(*args: object, **kwargs: object) -> int:
        raise KeyError("a key the suite expected")

    monkeypatch.setattr(cli_module, "command_diff", broken)
    assert cli_module.main(["diff", "a.json", "b.json"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("kratos-conformance: internal error, not the server's (KeyError: ")
    assert line.endswith("please report it")
    saved = Path(line.split("the traceback is in ")[1].split(":")[0])
    assert "Traceback" in saved.read_text(encoding="utf-8") and "a key the suite expected" in saved.read_text()
    saved.unlink()


def test_the_security_suite_reports_its_figures_and_one_option_turns_the_load_off(tmp_path: Path) -> None:
    """The race, guessing and timing numbers reach the JSON report and the summary's measurements table; with
    --security-load off the race and timing scenarios are skipped with that reason and report no figure."""
    measured = "test_one_correct_code or test_simultaneous_wrong or test_online_guessing or take_as_long"
    low = cli("run", "--suite", "security", "--security-load", "low", "--reference-method", "code",
              "--report-dir", str(tmp_path / "low"), "--", "-k", measured)
    assert low.returncode == 0, low.stdout[-3000:] + low.stderr[-2000:]
    doc = json.loads((tmp_path / "low" / "conformance-report.json").read_text())
    figures = {m["requirement"] for m in doc["measurements"]}
    assert {"VER-RACE-CODE-SINGLE-USE", "VER-RACE-ATTEMPT-LIMIT", "VER-CODE-GUESSING", "VER-ENUM-TIMING"} <= figures
    html = (tmp_path / "low" / "summary.html").read_text(encoding="utf-8")
    table = html[html.index('<table id="measurements">'):]
    table = table[:table.index("</table>")]
    for requirement in figures:
        assert f'data-requirement="{requirement}"' in table
    off = cli("run", "--suite", "security", "--security-load", "off", "--reference-method", "code",
              "--report-dir", str(tmp_path / "off"), "--", "-k", measured + " or test_return_to")
    assert off.returncode == 0, off.stdout[-3000:] + off.stderr[-2000:]
    doc = json.loads((tmp_path / "off" / "conformance-report.json").read_text())
    loaded = [t for t in doc["tests"] if "race" in t["nodeid"] or "take_as_long" in t["nodeid"]]
    assert loaded and all(t["outcome"] == "skipped" and "--security-load off" in t["reason"] for t in loaded)
    assert not [m for m in doc["measurements"] if m["requirement"].startswith(("VER-RACE", "VER-ENUM-TIMING"))]


def _security_run_with_fault(tmp_path: Path, fault: str, tests: str, requirement: str,
                             *options: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The security scenarios ``tests`` against the code target with ``fault``, under the kratos-v26 profile and
    so its known defects tolerated: it must fail; the report and the result of ``requirement``."""
    result = cli("run", "--suite", "security", "--reference-method", "code", "--reference-faults", fault,
                 "--profile", "kratos-v26", *options,
                 "--report-dir", str(tmp_path), "--", "-k", tests)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    doc = json.loads((tmp_path / "conformance-report.json").read_text())
    return doc, next(r for r in doc["requirements"] if r["id"] == requirement)


def test_kratos_s_known_race_excuses_no_server_that_lets_every_racer_verify(tmp_path: Path) -> None:
    """The kratos-v26 profile tolerates Kratos's single-use race, measured at up to 4 winners of 10: a
    server where all 10 simultaneous correct codes verify (it never consumes a code) is beyond it and fails, with
    known defects tolerated."""
    doc, race = _security_run_with_fault(tmp_path, "code_reusable", "test_one_correct_code",
                                         "VER-RACE-CODE-SINGLE-USE", "--race-size", "10")
    assert race["status"] == "failed"
    winners = next(m["value"] for m in doc["measurements"] if m["requirement"] == "VER-RACE-CODE-SINGLE-USE")
    assert winners == 10


def test_a_race_kratos_is_known_for_fails_a_server_no_profile_names(tmp_path: Path) -> None:
    """Two winners of four simultaneous correct codes (the race_single_use fault) is within Kratos's known race:
    tolerated under --profile kratos-v26, which the verdict line says, and failed when the run names no release
    (the default profile's known defects are not every server's excuse)."""
    named = cli("run", "--suite", "security", "--reference-method", "code", "--reference-faults", "race_single_use",
                "--profile", "kratos-v26", "--report-dir", str(tmp_path / "named"), "--", "-k", "test_one_correct_code")
    assert named.returncode == 0, named.stdout[-3000:] + named.stderr[-2000:]
    assert "known defects of the release tolerated by profile kratos-v26" in named.stdout
    assert "VER-RACE-CODE-SINGLE-USE" in named.stdout.split("tolerated by profile")[1].splitlines()[0]
    doc = json.loads((tmp_path / "named" / "conformance-report.json").read_text())
    assert doc["target"]["settings"]["known_defects"] == {"value": "tolerate", "source": "default"}
    assert doc["target"]["settings"]["profile"] == {"value": "kratos-v26", "source": "given"}
    unnamed = cli("run", "--suite", "security", "--reference-method", "code", "--reference-faults", "race_single_use",
                  "--report-dir", str(tmp_path / "unnamed"), "--", "-k", "test_one_correct_code")
    assert unnamed.returncode == 1, unnamed.stdout[-3000:] + unnamed.stderr[-2000:]
    doc = json.loads((tmp_path / "unnamed" / "conformance-report.json").read_text())
    race = next(r for r in doc["requirements"] if r["id"] == "VER-RACE-CODE-SINGLE-USE")
    assert race["status"] == "failed" and not race["known_defects"]
    assert doc["target"]["settings"]["known_defects"] == {"value": "fail", "source": "default"}
    assert doc["target"]["settings"]["profile"] == {"value": "kratos-v26", "source": "default"}


def test_races_can_be_released_in_rounds_and_still_catch_a_counting_race(tmp_path: Path) -> None:
    """``--race-concurrency 2`` sends the attempt-limit race's 20 wrong codes two at a time (a gentler load on a
    production server): the report says so, and a server counting attempts by read-then-write still fails."""
    doc, race = _security_run_with_fault(tmp_path, "race_attempt_count", "test_simultaneous_wrong",
                                         "VER-RACE-ATTEMPT-LIMIT", "--race-concurrency", "2")
    assert race["status"] == "failed"
    figure = next(m for m in doc["measurements"] if m["requirement"] == "VER-RACE-ATTEMPT-LIMIT")
    assert figure["name"] == "wrong codes evaluated among 20 sent 2 at a time" and figure["value"] > 5
    assert doc["target"]["settings"]["race_concurrency"] == {"value": 2, "source": "given"}


def test_a_server_that_lets_no_racer_verify_fails_known_defects_tolerated(tmp_path: Path) -> None:
    """None of the simultaneous correct codes verifying fails too (the user proved the code and stays unverified):
    the Kratos profiles excuse it only in Kratos's shape (every racer answered as the flow replaced, or with a
    transient answer they know), which a server refusing every racer as a wrong code (the race_refuses_all fault)
    does not have."""
    doc, race = _security_run_with_fault(tmp_path, "race_refuses_all", "test_one_correct_code",
                                         "VER-RACE-CODE-SINGLE-USE")
    assert race["status"] == "failed" and not race["known_defects"]
    winners = next(m for m in doc["measurements"] if m["requirement"] == "VER-RACE-CODE-SINGLE-USE")
    assert (winners["value"], winners["limit"]) == (0, "exactly 1")


def test_kratos_s_known_two_flow_refusal_excuses_no_other_way_of_refusing(tmp_path: Path) -> None:
    """The Kratos profiles tolerate one of two flows for one address, proven at once, being replaced (the in-memory
    SQLite's defect); a server that answers the second with an error on the flow (an update conflict) instead is
    not excused, known defects tolerated or not."""
    _, race = _security_run_with_fault(tmp_path, "address_update_conflict", "two_flows", "VER-RACE-TWO-FLOWS")
    assert race["status"] == "failed" and not race.get("known_defects")
