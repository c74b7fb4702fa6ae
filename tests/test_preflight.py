"""First contact: a run the suite cannot judge ends in seconds with exit code 2 and one line naming the fix.

One test per row of docs/preflight.md, each against the reference target configured (or addressed) that way, through
the command line as a user runs it. None of them reaches pytest, so none reports a requirement as failed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kratos_conformance import cli
from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail import Mail, SmtpSink, free_port
from kratos_conformance.run.options import parse_options
from kratos_conformance.run.preflight import preflight
from kratos_reference import ReferenceConfig, RunningTarget, serve

TOKEN = "s3cret-admin-token"
#: the acceptance bound of every preflight failure
BOUND = 10.0


def _target(smtp_port: int, **settings: object) -> RunningTarget:
    config = dict(public_url="http://127.0.0.1:0/", admin_url="http://127.0.0.1:0/", method="code",
                  smtp_url=f"smtp://127.0.0.1:{smtp_port}", admin_token=TOKEN, flow_lifespan="10s")
    config.update(settings)
    return serve(ReferenceConfig(**config))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def mail_port() -> int:
    """Where the healthy target's courier sends: the suite's built-in sink must listen here."""
    return free_port()


@pytest.fixture(scope="module")
def healthy(mail_port: int) -> Iterator[RunningTarget]:
    target = _target(mail_port)
    yield target
    target.stop()


#: what the last run() printed on stdout
printed: list[str] = []


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, list[str], float]:
    """``kratos-conformance run ARGS``: exit code, the lines on stderr, seconds taken (stdout lines in printed)."""
    started = time.monotonic()
    code = cli.main(["run", "--suite", "scenarios", "--run-profile", "smoke", "--report-dir", str(tmp_path), *args])
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    printed[:] = out.splitlines()
    return code, err.strip().splitlines(), seconds


def args_for(target: RunningTarget, mail_port: int, *extra: str) -> list[str]:
    return ["--public-url", target.public_url, "--admin-url", target.admin_url, "--admin-token", TOKEN,
            "--mail-source", f"smtp-sink://127.0.0.1:{mail_port}", *extra]


def cannot_judge(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], *words: str) -> str:
    code, lines, seconds = run(capsys, tmp_path, *args)
    assert code == 2, lines
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert seconds < BOUND, f"{seconds:.1f}s: {lines}"
    assert not (tmp_path / "conformance-report.json").exists(), "no requirement is judged"
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_wrong_public_port(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port)
    args[1] = f"http://127.0.0.1:{free_port()}/"
    cannot_judge(capsys, tmp_path, args, "target unreachable", "--public-url")


def test_public_url_that_is_not_the_verification_api(capsys, tmp_path, healthy: RunningTarget,
                                                     mail_port: int) -> None:
    args = args_for(healthy, mail_port)
    args[1] = healthy.admin_url  # an HTTP server that answers (401: the token is the admin API's), not the public API
    cannot_judge(capsys, tmp_path, args, "does not serve the verification API", "answered 401", "path prefix")
    args[1] = healthy.public_url + "auth/"  # a path prefix the server does not have
    cannot_judge(capsys, tmp_path, args, "does not serve the verification API")


def test_wrong_admin_url(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port)
    args[3] = f"http://127.0.0.1:{free_port()}/"
    cannot_judge(capsys, tmp_path, args, "admin API unreachable", "--admin-url")
    args[3] = healthy.public_url  # an HTTP server, but not the admin API
    cannot_judge(capsys, tmp_path, args, "no admin API at --admin-url")


def test_wrong_admin_token(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port)
    args[5] = "not-the-token"
    cannot_judge(capsys, tmp_path, args, "refused the suite (401)", "--admin-token")
    missing = args[:4] + args[6:]  # no --admin-token at all
    cannot_judge(capsys, tmp_path, missing, "refused the suite (401)", "--admin-token")


def test_base_url_mismatch(capsys, tmp_path, mail_port: int) -> None:
    target = _target(mail_port, public_url="http://localhost:0/")  # the server calls itself localhost
    try:
        args = args_for(target, mail_port)
        args[1] = target.public_url.replace("localhost", "127.0.0.1")
        cannot_judge(capsys, tmp_path, args, "the server calls itself http://localhost:", "give --public-url")
    finally:
        target.stop()


def test_mail_source_that_never_receives(capsys, tmp_path, healthy: RunningTarget) -> None:
    elsewhere = free_port()  # the courier sends to mail_port; nobody listens for the suite there
    line = cannot_judge(capsys, tmp_path, args_for(healthy, elsewhere), "no verification mail",
                        f"127.0.0.1:{elsewhere}")
    assert "within 7s (a courier slower than 7s: give --mail-timeout SECONDS)" in line
    # a given --mail-timeout is the preflight's wait too, and the line does not ask for it again
    line = cannot_judge(capsys, tmp_path, [*args_for(healthy, elsewhere), "--mail-timeout", "2"], "within 2s:")
    assert "--mail-timeout" not in line


class MailNamingAnotherFlow(SmtpSink):
    """The real sink, with a server's defect written into what it received: every verification link names one
    other flow (as a server that puts some other id where the flow's belongs)."""

    OTHER = "00000000-0000-4000-8000-000000000000"

    def messages_to(self, address: str) -> list[Mail]:
        def renamed(text: str) -> str:
            return re.sub(r"flow=[0-9a-f-]{36}", f"flow={self.OTHER}", text)

        return [replace(m, text=renamed(m.text), html=renamed(m.html)) for m in super().messages_to(address)]


def test_a_mail_naming_another_flow_is_told_as_that_not_as_no_mail(healthy: RunningTarget, mail_port: int) -> None:
    """The mail arrived but its link names another flow: the preflight says that, in one line, as soon as the mail
    is there (it used to wait out its 7 s for a mail naming the flow, then blame the courier)."""
    options = parse_options({"public_url": healthy.public_url, "admin_url": healthy.admin_url, "admin_token": TOKEN,
                             "mail_source": f"smtp-sink://127.0.0.1:{mail_port}"}, environ={})
    started = time.monotonic()
    with MailNamingAnotherFlow(port=mail_port) as sink, pytest.raises(CannotJudge) as refused:
        preflight(options, sink)
    line = str(refused.value)
    assert f"names flow {MailNamingAnotherFlow.OTHER} in its link" in line and "\n" not in line, line
    assert "must carry the flow it was sent for" in line and "no verification mail" not in line, line
    assert time.monotonic() - started < 5.0


def test_mail_catcher_url_wrong(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port)
    args[7] = f"mailpit:http://127.0.0.1:{free_port()}"
    cannot_judge(capsys, tmp_path, args, "mailpit", "--mail-source")


def test_identity_schema_without_a_verifiable_address(capsys, tmp_path, mail_port: int) -> None:
    target = _target(mail_port, verifiable_email=False)
    try:
        cannot_judge(capsys, tmp_path, args_for(target, mail_port), "marks no email trait for verification")
    finally:
        target.stop()


def test_identity_schema_the_server_does_not_have(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port, "--identity-schema", "customer")
    cannot_judge(capsys, tmp_path, args, "the server has no identity schema 'customer' (it has default)",
                 "--identity-schema")


def test_no_listed_identity_schema_has_a_verifiable_address(capsys, tmp_path, mail_port: int) -> None:
    """The server lists its schemas, none named default (so none is assumed), and none marks an email trait for
    verification: nothing to seed an address the server would mail."""
    target = _target(mail_port, identity_schema_id="person", verifiable_email=False)
    try:
        cannot_judge(capsys, tmp_path, args_for(target, mail_port), "none of the server's identity schemas (person) "
                     "marks an email trait for verification")
    finally:
        target.stop()


def test_lifespan_beyond_the_wait_budget(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port, "--challenge-lifespan", "60", "--wait-budget", "30")
    cannot_judge(capsys, tmp_path, args, "--challenge-lifespan 60s exceeds --wait-budget 30s")


@pytest.mark.parametrize("method", ["code", "link"])
def test_code_lifespan_given_shorter_than_the_servers(capsys, tmp_path, mail_port: int, method: str) -> None:
    target = _target(mail_port, method=method, code_lifespan="60s", link_lifespan="60s", flow_lifespan="10m")
    try:
        args = args_for(target, mail_port, "--challenge-lifespan", "1")
        cannot_judge(capsys, tmp_path, args, f"the mailed {method} still verified",
                     "live longer than --challenge-lifespan 1")
    finally:
        target.stop()


def test_built_in_sink_without_an_address(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port)
    args[7] = "smtp-sink"
    cannot_judge(capsys, tmp_path, args, "smtp-sink://HOST:PORT")


def test_identity_traits_that_the_schema_refuses(capsys, tmp_path, healthy: RunningTarget, mail_port: int) -> None:
    args = args_for(healthy, mail_port, "--identity-traits", '{"mail": "{email}"}')
    cannot_judge(capsys, tmp_path, args, "refused a test identity", "--identity-traits")


def test_a_schema_that_needs_more_traits_than_the_address(capsys, tmp_path, mail_port: int) -> None:
    """A deployment whose only schema is not called default and requires a name: the preflight learns the schema
    from the server's list, and the admin API's refusal of an identity without the name ends the run naming the
    option."""
    target = _target(mail_port, identity_schema_id="person", identity_required_traits=("name",))
    try:
        line = cannot_judge(capsys, tmp_path, args_for(target, mail_port), "refused a test identity of schema "
                            "'person'", '"name"', "--identity-traits")
    finally:
        target.stop()
    assert "missing properties" in line


def test_a_schema_with_more_traits_runs_to_a_verdict_with_its_traits_template(capsys, tmp_path,
                                                                             mail_port: int) -> None:
    """The same deployment with --identity-traits: every scenario seeds its identities that way, and the run ends
    in a verdict, the learned schema and the given template in the report."""
    import json

    target = _target(mail_port, identity_schema_id="person", identity_required_traits=("name",))
    try:
        code, lines, _ = run(capsys, tmp_path, *args_for(target, mail_port, "--identity-traits",
                                                         '{"email": "{email}", "name": "Test User"}'))
    finally:
        target.stop()
    assert code == 0, lines + printed[-20:]
    settings = json.loads((tmp_path / "conformance-report.json").read_text())["target"]["settings"]
    assert settings["identity_schema"] == {"value": "person", "source": "learned"}
    assert settings["identity_traits"] == {"value": {"email": "{email}", "name": "Test User"}, "source": "given"}


def test_a_healthy_server_passes_and_the_report_says_what_was_learned(capsys, tmp_path, healthy: RunningTarget,
                                                                       mail_port: int) -> None:
    import json

    code, lines, _ = run(capsys, tmp_path, *args_for(healthy, mail_port))
    assert code == 0, lines
    assert f"kratos-conformance: the SMTP sink listens on 127.0.0.1:{mail_port} (where the server's courier " \
           "sends)" in printed
    assert "kratos-conformance: preflight: expired flows run; expired codes/links skipped: the target's code/token " \
           "lifespan is unknown: pass --challenge-lifespan to run this scenario" in printed
    settings = json.loads((tmp_path / "conformance-report.json").read_text())["target"]["settings"]
    assert settings["flow_lifespan"] == {"value": 10.0, "source": "learned"}
    assert settings["identity_schema"]["source"] == "learned"
    assert settings["challenge_lifespan"]["source"] == "default"
    assert settings["cookie_secure"] == {"value": False, "source": "learned"}  # the first CSRF cookie had no Secure
    # what the suite judges redirects and flows' "active" against, and where it came from
    assert settings["method"] == {"value": "code", "source": "learned"}       # from the mail, not from "active"
    assert settings["method_learned_from"] == {"value": "mail", "source": "learned"}
    assert settings["ui_url"]["source"] == "learned" and settings["ui_url"]["value"].endswith("/verification")
    assert settings["error_ui_url"]["source"] == "learned"
    # and the checks judged against those learned URLs say so in the evidence
    evidence = {r["id"]: r.get("judged_by", {}) for r in
                json.loads((tmp_path / "conformance-report.json").read_text())["requirements"]}
    assert set(evidence["VER-RESP-LOCATION"]) == {"contract, against learned UI URLs"}
    assert "redirect, against learned UI URLs" in evidence["VER-INIT-BROWSER-303"]
    assert "csrf_cookie, against learned cookie Secure" in evidence["VER-INIT-CSRF-COOKIE"]
    assert settings["wait_budget"] == {"value": 30.0, "source": "default"}
    assert settings["return_to"] == {"value": None, "source": "default"}
    # the reference target's admin API names no Kratos release: no release's known defects are its excuse
    assert "kratos-conformance: preflight: profile kratos-v26 (the default), its known defects not tolerated " \
           "(--profile names a release whose known defects are tolerated)" in printed
    assert settings["profile"] == {"value": "kratos-v26", "source": "default"}
    assert settings["known_defects"] == {"value": "fail", "source": "default"}
    # the summary shows the same settings with their sources
    summary = (tmp_path / "summary.html").read_text(encoding="utf-8")
    table = summary[summary.index('<details id="settings">'):]
    table = table[:table.index("</details>")]
    for name, entry in settings.items():
        assert f'<tr data-setting="{name}" data-source="{entry["source"]}">' in table, name
    fast = _target(mail_port, code_lifespan="1s")
    try:
        code, lines, _ = run(capsys, tmp_path, *args_for(fast, mail_port, "--challenge-lifespan", "1"))
        assert code == 0, lines
        settings = json.loads((tmp_path / "conformance-report.json").read_text())["target"]["settings"]
        assert settings["challenge_lifespan_cross_checked"] == {"value": True, "source": "learned"}
    finally:
        fast.stop()


def test_a_given_lifespan_the_preflight_cannot_wait_out_is_taken_as_given_and_it_says_so(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, healthy: RunningTarget, mail_port: int) -> None:
    """A --challenge-lifespan longer than the preflight waits is not cross-checked: the plan line says so, and
    the report's settings record it as not cross-checked."""
    import json

    code, lines, _ = run(capsys, tmp_path, *args_for(healthy, mail_port, "--challenge-lifespan", "8", "--",
                                                     "-k", "correct_code"))
    assert code == 0, lines
    plan = next(line for line in printed if "expired codes/links" in line)
    assert "--challenge-lifespan 8s taken as given, not cross-checked: longer than the 6.4s" in plan, plan
    settings = json.loads((tmp_path / "conformance-report.json").read_text())["target"]["settings"]
    assert settings["challenge_lifespan_cross_checked"] == {"value": False, "source": "default"}


def test_a_server_whose_ui_the_suite_serves_passes_and_the_report_says_so(capsys, tmp_path, mail_port: int) -> None:
    import json

    ui_port = free_port()
    ui = f"http://127.0.0.1:{ui_port}/"
    target = _target(mail_port, ui_url=ui + "verification", error_ui_url=ui + "error")
    try:
        code, lines, _ = run(capsys, tmp_path, *args_for(target, mail_port, "--serve-ui", f"127.0.0.1:{ui_port}"))
    finally:
        target.stop()
    assert code == 0, lines
    settings = json.loads((tmp_path / "conformance-report.json").read_text())["target"]["settings"]
    assert settings["ui_url"] == {"value": ui + "verification", "source": "served"}
    assert settings["error_ui_url"] == {"value": ui + "error", "source": "served"}
    location = next(r for r in json.loads((tmp_path / "conformance-report.json").read_text())["requirements"]
                    if r["id"] == "VER-RESP-LOCATION")
    assert set(location["judged_by"]) == {"contract"}  # judged against URLs the suite knows, not learned ones


def test_browser_walks_without_a_ui_that_answers(capsys, tmp_path, mail_port: int) -> None:
    """Kratos serves no UI of its own: browser walks against a ui_url where nothing listens would fail a healthy
    server, so the preflight ends the run naming --serve-ui."""
    nothing = f"http://127.0.0.1:{free_port()}/"
    target = _target(mail_port, ui_url=nothing + "verification", error_ui_url=nothing + "error")
    try:
        line = cannot_judge(capsys, tmp_path, args_for(target, mail_port, "--suite", "browser"),
                            f"{nothing}verification", "does not answer", "--serve-ui")
    finally:
        target.stop()
    assert "where the server sends browsers" in line


def test_serve_ui_where_the_server_does_not_send_browsers(capsys, tmp_path, healthy: RunningTarget,
                                                          mail_port: int) -> None:
    served = f"127.0.0.1:{free_port()}"
    cannot_judge(capsys, tmp_path, args_for(healthy, mail_port, "--suite", "browser", "--serve-ui", served),
                 f"{healthy.public_url}ui/verification", f"http://{served}/verification", "ui_url")


def test_serve_ui_over_http_for_a_server_on_https(capsys, tmp_path, mail_port: int, monkeypatch: pytest.MonkeyPatch,
                                                  self_signed_certificate: tuple[Path, Path]) -> None:
    """Kratos over https (no --dev) with the suite's UI on http: measured on v26.2.0, Chromium sent no CSRF cookie
    with the page's form (two sites to a browser) and every browser walk failed CSRF, the server blamed."""
    from kratos_conformance.wire.http_transport import shared_ssl_context

    cert, key = self_signed_certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    shared_ssl_context.cache_clear()  # made again with the certificate trusted, and again after the test
    ui_port = free_port()
    ui = f"http://127.0.0.1:{ui_port}/"
    target = _target(mail_port, public_url="https://127.0.0.1:0/", tls_cert=str(cert), tls_key=str(key),
                     ui_url=ui + "verification", error_ui_url=ui + "error", dev_mode=False)
    try:
        cannot_judge(capsys, tmp_path, args_for(target, mail_port, "--suite", "browser", "--serve-ui",
                                                f"127.0.0.1:{ui_port}"),
                     "--serve-ui serves its page over http", "SameSite=Lax", "--suite scenarios,fuzz,security")
    finally:
        target.stop()
        monkeypatch.delenv("SSL_CERT_FILE")
        shared_ssl_context.cache_clear()


def test_without_the_admin_api_no_mail_is_read_and_the_run_says_so(capsys, tmp_path, healthy: RunningTarget) -> None:
    """A bare smtp-sink has no address the deployed server's courier knows: the run never claims it listens for it."""
    code, lines, _ = run(capsys, tmp_path, "--public-url", healthy.public_url)
    assert code == 0, lines
    assert not [line for line in printed if "listens on" in line], printed
    assert [line for line in printed if "no mail is read" in line and "smtp-sink://HOST:PORT" in line], printed
    # no mail tells the method: a new flow's active does, and the checks of other flows' active say they judged
    # against that learned value (they show the flows agree, not that the server uses the method it should)
    import json

    code, lines, _ = run(capsys, tmp_path, "--public-url", healthy.public_url, "--run-profile", "default",
                         "--", "-k", "test_new_flow_shape")
    assert code == 0, lines
    doc = json.loads((tmp_path / "conformance-report.json").read_text())
    assert doc["target"]["settings"]["method"] == {"value": "code", "source": "learned"}
    assert doc["target"]["settings"]["method_learned_from"] == {"value": "a new flow's active", "source": "learned"}
    shape = next(r for r in doc["requirements"] if r["id"] == "VER-INIT-SHAPE")
    assert "active, against learned method from a new flow's active" in shape["judged_by"], shape["judged_by"]
    # a lifespan given without an admin API cannot be cross-checked (no address to mail a code to): it says so
    code, lines, _ = run(capsys, tmp_path, "--public-url", healthy.public_url, "--challenge-lifespan", "2",
                         "--run-profile", "default",
                         "--", "-k", "test_new_flow_shape")
    assert code == 0, lines
    assert [line for line in printed if "--challenge-lifespan 2s taken as given, not cross-checked: no --admin-url"
            in line], printed


def test_a_plain_pytest_run_says_where_the_sink_listens(tmp_path: Path, healthy: RunningTarget, mail_port: int) -> None:
    """The suites run by pytest itself (no command line before it) run the preflight there, and print on the
    terminal where the built-in SMTP sink listens and what the preflight found."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/scenarios/test_get.py", "-q", "-p",
                           "no:cacheprovider", "-k", "test_unknown_flow_is_404", *args_for(healthy, mail_port),
                           "--report-dir", str(tmp_path)], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"kratos-conformance: the SMTP sink listens on 127.0.0.1:{mail_port}" in done.stdout, done.stdout
    assert "kratos-conformance: preflight: " in done.stdout and "a verification mail arrived" in done.stdout


#: the scenario of an expired challenge, by method
EXPIRED_CHALLENGE = {"code": "test_expired_code_starts_over", "link": "test_expired_token_starts_over"}


@pytest.mark.parametrize("method", ["code", "link"])
@pytest.mark.parametrize(("code", "flow", "runs"), [
    (1, 10, True),    # the code dies first: the expired-code scenario waits for it
    (3, 3, False),    # they die together: waiting would test an expired flow instead
    (4, 2, False),    # the flow dies first
], ids=["code-shorter", "equal", "code-longer"])
def test_expiry_scenarios_hold_for_every_ordering_of_code_and_flow_lifespans(capsys, tmp_path, mail_port: int,
                                                                             method: str, code: int, flow: int,
                                                                             runs: bool) -> None:
    """The expired-code and expired-link scenarios run only when a code or link can expire while its flow lives;
    otherwise each is skipped naming the two lifespans, and none fails."""
    import json

    target = _target(mail_port, method=method, code_lifespan=f"{code}s", link_lifespan=f"{code}s",
                     flow_lifespan=f"{flow}s")
    try:
        status = cli.main(["run", "--suite", "scenarios", "--report-dir", str(tmp_path),
                           *args_for(target, mail_port, "--challenge-lifespan", str(code)),
                           "--", "-k", f"{EXPIRED_CHALLENGE[method]} or test_unknown_flow_is_404"])
    finally:
        target.stop()
    out, err = capsys.readouterr()
    assert status == 0, out + err
    plan = next(line for line in out.splitlines() if "expired codes/links" in line)  # the preflight says it first
    assert ("expired codes/links run" in plan) is runs, plan
    tests = [t for t in json.loads((tmp_path / "conformance-report.json").read_text())["tests"]
             if EXPIRED_CHALLENGE[method] in t["nodeid"]]
    assert tests
    if runs:
        assert {t["outcome"] for t in tests} == {"passed"}, tests
    else:
        assert {t["outcome"] for t in tests} == {"skipped"}, tests
        assert all(f"lifespan {code}s is not shorter than the flow lifespan {flow}s" in t["reason"] for t in tests)
