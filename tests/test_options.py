"""Options: one table for flags and environment; bad values end in one line, never a traceback."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import pytest

from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail import parse_mail_source
from kratos_conformance.run.options import DEPLOYED_ONLY, OPTIONS, parse_options


def test_defaults_mean_the_embedded_reference_target() -> None:
    opts = parse_options({}, environ={})
    assert opts.embedded and opts.profile is None and opts.mail_source == "smtp-sink"
    assert opts.known_defects is None  # decided with the profile (profiles.choose_profile)


def test_flag_wins_over_environment_and_urls_get_a_trailing_slash() -> None:
    env = {"KRATOS_CONFORMANCE_PUBLIC_URL": "http://env.test/auth", "KRATOS_CONFORMANCE_PROFILE": "kratos-v25"}
    opts = parse_options({"public_url": "https://flag.test/auth"}, environ=env)
    assert opts.public_url == "https://flag.test/auth/"
    assert opts.profile == "kratos-v25"


def test_every_option_has_a_flag_and_an_environment_name() -> None:
    for spec in OPTIONS:
        assert spec.flag == "--" + spec.name
        assert spec.env.startswith("KRATOS_CONFORMANCE_") and "-" not in spec.env


@pytest.mark.parametrize(("given", "words"), [
    ({"public_url": "ftp://x"}, "--public-url"),
    ({"profile": "kratos-v9"}, "--profile"),
    ({"wait_budget": "soon"}, "--wait-budget"),
    ({"mail_timeout": "0"}, "--mail-timeout"),
    ({"reference_method": "sms"}, "--reference-method"),
    ({"known_defects": "ignore"}, "--known-defects"),
    ({"mail_source": "pigeon:http://x"}, "--mail-source"),
])
def test_bad_values_are_one_line_errors_naming_the_option(given: dict[str, str], words: str) -> None:
    with pytest.raises(CannotJudge) as info:
        parse_options(given, environ={})
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("given", "words"), [
    ({"mail_timeout": "nan"}, "--mail-timeout: 'nan' is not a finite number"),
    ({"wait_budget": "inf"}, "--wait-budget: 'inf' is not a finite number"),
    ({"timing_limit_ms": "NaN"}, "--timing-limit-ms: 'NaN' is not a finite number"),
    ({"guess_limit_per_flow": "nan"}, "--guess-limit-per-flow: 'nan' is not a finite number"),
    ({"race_size": "²"}, "--race-size: '²' is not a whole number"),
    ({"public_url": "http://127.0.0.1:abc/"}, "--public-url: 'http://127.0.0.1:abc/' is not a URL"),
    ({"public_url": "http://[::1"}, "--public-url: 'http://[::1' is not a URL"),
    ({"public_url": "http://127.0.0.1:99999/"}, "--public-url: 'http://127.0.0.1:99999/' is not a URL"),
    ({"public_url": "http://127.0.0.1:0/"}, "needs a port in 1-65535"),
    ({"public_url": "http://x.test/", "mail_source": "smtp-sink://127.0.0.1:abc"}, "--mail-source: "),
    ({"public_url": "http://x.test/", "mail_source": "smtp-sink://127.0.0.1"}, "needs a port in 1-65535"),
    ({"public_url": "http://x.test/", "mail_source": "mailpit:http://127.0.0.1:abc"}, "--mail-source mailpit: "),
    ({"public_url": "http://x.test/", "serve_ui": "127.0.0.1:²"}, "--serve-ui: '127.0.0.1:²' is not HOST:PORT"),
])
def test_values_that_parse_but_mean_nothing_are_refused(given: dict[str, str], words: str) -> None:
    """Not-a-number seconds made a run wait forever, and a port out of range reached the URL parser's traceback."""
    with pytest.raises(CannotJudge) as info:
        parse_options(given, environ={})
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("dest", [*DEPLOYED_ONLY, "mail_source"])
def test_an_option_of_a_deployed_server_without_its_public_url_is_refused(dest: str, samples: dict[str, str]) -> None:
    """Without --public-url the run judges the embedded reference target: an admin URL, a return_to or a mail
    catcher given for a deployed server would be ignored, and the gate would pass on the wrong server."""
    value = samples[dest.replace("_", "-")]
    with pytest.raises(CannotJudge, match="describes a deployed server, but no --public-url was given"):
        parse_options({dest: value}, environ={})
    needed = {"serve_ui": samples["serve-ui"]} if dest == "serve_ui_tls" else {}
    assert parse_options({dest: value, "public_url": "http://x.test/", "mail_source": "smtp-sink://127.0.0.1:1025",
                          **needed}, environ={}).public_url == "http://x.test/"


def test_the_environment_cannot_aim_the_run_at_the_embedded_target_by_mistake() -> None:
    with pytest.raises(CannotJudge, match="KRATOS_CONFORMANCE_PUBLIC_URL is set but empty"):
        parse_options({}, environ={"KRATOS_CONFORMANCE_PUBLIC_URL": ""})  # a CI secret that was not set
    with pytest.raises(CannotJudge, match="did you mean KRATOS_CONFORMANCE_PUBLIC_URL"):
        parse_options({}, environ={"KRATOS_CONFORMANCE_PUBLICURL": "http://x.test/"})
    with pytest.raises(CannotJudge, match="--reference-faults: the embedded reference target's alone"):
        parse_options({"public_url": "http://x.test/", "reference_faults": "wrong_code_400"}, environ={})
    assert parse_options({}, environ={"KRATOS_CONFORMANCE_EXPECTED_FAILURES": "x.yaml",
                                      "KRATOS_CONFORMANCE_DEBUG_SECRETS_FILE": "/tmp/s"}).embedded


def test_mail_source_specs() -> None:
    assert parse_mail_source("smtp-sink://127.0.0.1:2525").port == 2525
    spec = parse_mail_source("mailpit:http://127.0.0.1:8025/")
    assert (spec.kind, spec.url) == ("mailpit", "http://127.0.0.1:8025")
    with pytest.raises(CannotJudge):
        parse_mail_source("maildev:not-a-url")


def _readme_option_table() -> set[str]:
    """The flags the README's option table documents."""

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `--")]
    return {flag for row in rows for flag in re.findall(r"`(--[a-z-]+)`", row.split("|")[1])}


def _run_parser() -> argparse.ArgumentParser:
    from kratos_conformance.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["run"]


def _run_environment_names() -> set[str]:
    """The KRATOS_CONFORMANCE_* names the run command's help gives, one per option."""
    helps = " ".join(action.help or "" for action in _run_parser()._actions)
    return set(re.findall(r"\(env (KRATOS_CONFORMANCE_[A-Z_]+)\)", helps))


def test_the_readme_option_table_is_the_run_command_s_options() -> None:
    run = _run_parser()
    accepted = {flag for action in run._actions for flag in action.option_strings if flag.startswith("--")}
    accepted.discard("--help")
    documented = _readme_option_table()
    assert documented - accepted == set(), "documented in the README, refused by run"
    assert accepted - documented == set(), "accepted by run, missing from the README's option table"


def test_run_help_groups_every_option_under_a_title() -> None:
    from kratos_conformance.run.options import OPTION_GROUPS, OPTIONS

    assert OPTION_GROUPS[0][1] == OPTIONS[0].name, "the first options would be left out of every group"
    names = [spec.name for spec in OPTIONS]
    assert all(first in names for _, first in OPTION_GROUPS)
    assert len({title for title, _ in OPTION_GROUPS}) == len(OPTION_GROUPS)
    grouped = {action.dest for group in _run_parser()._action_groups if group.title in dict(OPTION_GROUPS)
               for action in group._group_actions}
    ungrouped = {action.dest for action in _run_parser()._actions} - grouped - {"help"}
    assert ungrouped == set(), f"run --help shows these outside every group: {ungrouped}"


#: a valid value of every option, other than its default, to set through its environment variable
ENV_SAMPLES = {
    "public-url": "http://127.0.0.1:4433/", "admin-url": "http://127.0.0.1:4434/", "admin-token": "t",
    "ui-url": "http://ui.example/verification", "error-ui-url": "http://ui.example/error",
    "return-to": "http://app.example/", "serve-ui": "127.0.0.1:4455", "identity-schema": "person",
    "identity-traits": '{"email": "{email}", "name": "N"}', "mail-source": "smtp-sink://127.0.0.1:1025",
    "profile": "kratos-v25", "known-defects": "fail", "should-failures": "fail", "run-profile": "smoke",
    "fuzz-budget": "deep",
    "fuzz-seed": "7", "wait-budget": "45", "challenge-lifespan": "5", "mail-timeout": "3", "security-load": "low",
    "race-size": "6", "race-wrong-codes": "12", "race-concurrency": "3", "timing-samples": "8",
    "guess-limit-per-flow": "0.01", "guess-limit-per-hour": "0.5", "timing-limit-ms": "40", "cookie-secure": "no",
    "max-submissions": "3", "cookie-same-site": "Strict", "cookie-path": "/auth", "notify-unknown-recipients": "yes",
    "report-dir": "/tmp/elsewhere", "compare-with": "(a report file)", "reference-method": "link",
    "reference-faults": "no_cache_control", "serve-ui-tls": "(a certificate and its key)",
}


@pytest.fixture
def samples(self_signed_certificate: tuple[Path, Path]) -> dict[str, str]:
    """ENV_SAMPLES, with a certificate and key that load for --serve-ui-tls."""
    cert, key = self_signed_certificate
    return {**ENV_SAMPLES, "serve-ui-tls": f"{cert},{key}"}


def test_every_run_option_is_read_from_its_environment_variable(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str],
                                                                samples: dict[str, str]) -> None:
    """Each option set only through KRATOS_CONFORMANCE_<NAME> takes effect (its value differs from the default and
    the report calls it given), and its help names the variable; --suite, which pytest never sees, is read too."""
    from kratos_conformance.cli import main

    defaults = parse_options({}, environ={})
    assert set(samples) == {spec.name for spec in OPTIONS}, "a sample for every option"
    for spec in OPTIONS:
        value = samples[spec.name]
        if spec.name == "compare-with":  # read and loaded at once: a missing report shows it was read
            with pytest.raises(CannotJudge, match="missing-report.json"):
                parse_options({}, environ={spec.env: str(tmp_path / "missing-report.json")})
            continue
        environ = {spec.env: value}
        if spec.dest in DEPLOYED_ONLY or spec.name == "mail-source":  # options of a deployed server need it named
            environ["KRATOS_CONFORMANCE_PUBLIC_URL"] = samples["public-url"]
        if spec.name == "admin-url":  # a deployed target with an admin API needs the courier's address
            environ["KRATOS_CONFORMANCE_MAIL_SOURCE"] = samples["mail-source"]
        if spec.name == "serve-ui-tls":  # the certificate of the UI --serve-ui serves
            environ["KRATOS_CONFORMANCE_SERVE_UI"] = samples["serve-ui"]
        opts = parse_options({}, environ=environ)
        assert opts.source(spec.dest) == "given", spec.env
        assert getattr(opts, spec.dest) != getattr(defaults, spec.dest), f"{spec.env}={value} changed nothing"
    run = _run_parser()
    for action in run._actions:
        flag = next((f for f in action.option_strings if f.startswith("--") and f != "--help"), None)
        if flag is not None:
            env = "KRATOS_CONFORMANCE_" + flag[2:].upper().replace("-", "_")
            assert f"(env {env})" in (action.help or ""), f"{flag}: its help does not name {env}"
    monkeypatch.setenv("KRATOS_CONFORMANCE_SUITE", "nonsense")
    assert main(["run", "--report-dir", str(tmp_path)]) == 2
    assert "--suite: 'nonsense' is not one of" in capsys.readouterr().err


def test_serve_ui_tls_is_refused_in_one_line_unless_it_loads_and_has_a_ui_to_serve(
        tmp_path: Path, self_signed_certificate: tuple[Path, Path]) -> None:
    cert, key = self_signed_certificate
    deployed = {"public_url": "https://x.test/", "mail_source": "smtp-sink://127.0.0.1:1025"}
    for given, words in (({"serve_ui_tls": str(tmp_path / "missing.pem")}, "not a PEM certificate and its key"),
                         ({"serve_ui_tls": f"{key},{cert}"}, "not a PEM certificate and its key"),
                         ({"serve_ui_tls": f"{cert},{key}"}, "give --serve-ui HOST:PORT too")):
        with pytest.raises(CannotJudge) as info:
            parse_options({**deployed, "serve_ui": None, **given}, environ={})
        assert words in str(info.value) and "\n" not in str(info.value), info.value
    opts = parse_options({**deployed, "serve_ui": "127.0.0.1:4455", "serve_ui_tls": f"{cert},{key}"}, environ={})
    assert opts.serve_ui_tls == (cert, key)


def test_fuzzing_options_are_run_options() -> None:
    opts = parse_options({"fuzz_budget": "Smoke", "fuzz_seed": "7"}, environ={})
    assert (opts.fuzz_budget, opts.fuzz_seed) == ("smoke", "7")
    assert parse_options({}, environ={"KRATOS_CONFORMANCE_FUZZ_SEED": "0x10"}).fuzz_seed == "0x10"
    for bad, words in (({"fuzz_budget": "huge"}, "--fuzz-budget"), ({"fuzz_seed": "x"}, "--fuzz-seed"),
                       ({"fuzz_seed": "-1"}, "--fuzz-seed")):
        with pytest.raises(CannotJudge, match=words):
            parse_options(bad, environ={})


def test_an_option_set_to_its_default_value_is_reported_as_given() -> None:
    """The report's settings say given for what the user set, even when it equals the default."""
    explicit = parse_options({"notify_unknown_recipients": "no", "cookie_secure": "scheme"}, environ={})
    assert explicit.source("notify_unknown_recipients") == explicit.source("cookie_secure") == "given"
    assert explicit.source("known_defects") == "default"
    from_env = parse_options({}, environ={"KRATOS_CONFORMANCE_KNOWN_DEFECTS": "tolerate"})
    assert from_env.source("known_defects") == "given" and from_env.source("cookie_secure") == "default"


def test_deployment_figures_are_options_with_kratos_defaults() -> None:
    opts = parse_options({}, environ={})
    assert (opts.max_submissions, opts.cookie_same_site, opts.cookie_path) == (5, "Lax", "/")
    assert (opts.race_size, opts.race_wrong_codes, opts.race_concurrency, opts.timing_samples) == (None,) * 4
    set_ = parse_options({"max_submissions": "3", "cookie_same_site": "STRICT", "cookie_path": "/auth",
                          "race_size": "6", "race_wrong_codes": "12", "race_concurrency": "3", "timing_samples": "8"},
                         environ={})
    assert (set_.max_submissions, set_.cookie_same_site, set_.cookie_path) == (3, "Strict", "/auth")
    assert (set_.race_size, set_.race_wrong_codes, set_.race_concurrency, set_.timing_samples) == (6, 12, 3, 8)
    for bad, words in (({"max_submissions": "0"}, "--max-submissions"), ({"race_size": "x"}, "--race-size"),
                       ({"cookie_same_site": "loose"}, "--cookie-same-site"),
                       ({"cookie_path": "auth"}, "--cookie-path"), ({"timing_samples": "2.5"}, "--timing-samples"),
                       ({"timing_samples": "1"}, "--timing-samples: '1' is not a whole number of at least 5"),
                       ({"race_size": "1"}, "--race-size: '1' is not a whole number of at least 2"),
                       ({"race_concurrency": "1"}, "--race-concurrency: '1' is not a whole number of at least 2")):
        with pytest.raises(CannotJudge, match=words):
            parse_options(bad, environ={})


def test_the_ci_examples_set_only_run_options_and_name_files_that_exist() -> None:
    """Copied as written, the CI gates must not stop at "could not judge": every KRATOS_CONFORMANCE_* variable
    they set is an option's, and the expected failures they point at is a valid one in this checkout."""
    from kratos_conformance.report.expected_failures import load_expected_failures

    root = Path(__file__).resolve().parents[1]
    known = _run_environment_names()
    assert len(known) >= len(OPTIONS)
    for example in sorted((root / "examples" / "ci").glob("*.yml")):
        text = example.read_text(encoding="utf-8")
        names = set(re.findall(r"\b(KRATOS_CONFORMANCE_[A-Z_]+)\b", text))
        assert names and names <= known, (example.name, names - known)
        ledger = re.search(r"KRATOS_CONFORMANCE_EXPECTED_FAILURES:\s*(\S+)", text)
        assert ledger, example.name
        assert load_expected_failures(root / ledger.group(1)).entries == ()


def test_the_example_expected_failures_commented_entry_is_a_valid_entry() -> None:
    import yaml

    from kratos_conformance.report.expected_failures import load_expected_failures

    path = Path(__file__).resolve().parents[1] / "examples" / "ci" / "expected-failures.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("# expected_failures:")
    uncommented = "\n".join(line[2:] for line in lines[start:] if line.startswith("# "))
    assert yaml.safe_load(uncommented)["expected_failures"]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "expected-failures.yaml"
        copy.write_text(uncommented, encoding="utf-8")
        (entry,) = load_expected_failures(copy).entries
    assert entry.requirement == "VER-GET-CACHE-CONTROL" and entry.method == "code"


def _readme_rows() -> dict[str, str]:
    """The README option table's description of each flag."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| `--")]
    return {flag: cells[2] for cells in rows for flag in re.findall(r"`(--[a-z-]+)`", cells[1])}


def test_the_readme_option_table_gives_each_default_and_every_choice() -> None:
    """What the table says an option defaults to and accepts is what the parser does: each default is in its row,
    and every value the parser accepts for an option with a fixed set (read from its refusal of a bad one) is in
    its row, in backticks."""
    rows = _readme_rows()
    for spec in OPTIONS:
        if spec.default:
            assert spec.default in rows[spec.flag], f"{spec.flag}: the README does not give its default {spec.default}"
        try:
            parse_options({spec.name.replace("-", "_"): "not-a-value"}, environ={})
        except CannotJudge as refusal:
            listed = re.search(r"is not one of (.+)$", str(refusal))
            if listed:
                for choice in listed.group(1).split(", "):
                    assert f"`{choice}`" in rows[spec.flag], f"{spec.flag}: the README does not list {choice}"
