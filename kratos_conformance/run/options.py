"""The run's options, defined once for the pytest plugin, the command line and the environment.

Every option has a command-line form (``--public-url``) and an environment form (``KRATOS_CONFORMANCE_PUBLIC_URL``);
the command line wins. :func:`parse_options` turns raw strings into a validated :class:`RunOptions` or raises
:class:`~kratos_conformance.errors.CannotJudge` with one line naming the bad option.
"""

from __future__ import annotations

import difflib
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kratos_conformance.errors import CannotJudge
from kratos_conformance.flows.admin_api import parse_traits_template
from kratos_conformance.mail import parse_mail_source
from kratos_conformance.rules.profiles import DEFAULT_PROFILE, PROFILES
from kratos_conformance.run.ui_server import TlsFiles, parse_listen, served_urls, tls_context
from kratos_conformance.run.urls import parse_given_url

ENV_PREFIX = "KRATOS_CONFORMANCE_"
RUN_PROFILES = ("smoke", "default", "deep")
#: how hard the race and timing scenarios press the server (they are load: a production gate may want less).
SECURITY_LOADS = ("off", "low", "default")
#: the fuzzing budgets (kratos_conformance.fuzzing.BUDGETS); each run profile names the one it uses.
FUZZ_BUDGETS = RUN_PROFILES
#: the fewest samples per side the timing comparison takes: fewer cannot show a difference (nor give a variance)
TIMING_SAMPLES_MIN = 5
#: the fewest racers a race sends: one request alone cannot race (its single-use check could not fail)
RACE_SIZE_MIN = 2


@dataclass(frozen=True)
class OptionSpec:
    """One option: its name (``public-url``), help text and default (a string, or None)."""

    name: str
    help: str
    default: str | None = None

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("public-url", "public base URL of the server under test (with its path prefix, e.g. "
               "https://id.example.com/auth/); unset: start the embedded reference target"),
    OptionSpec("admin-url", "admin API base URL, for seeding identities and checking addresses (unset: scenarios "
               "that need a known address are skipped)"),
    OptionSpec("admin-token", "bearer token for the admin API (Ory Network style)"),
    OptionSpec("ui-url", "the verification UI URL the target redirects browsers to (unset: learned from a "
               "browser init redirect at the start, and every later redirect is compared with it)"),
    OptionSpec("error-ui-url", "the error UI URL (unset: learned from an error redirect at the start)"),
    OptionSpec("return-to", "a return_to URL on the target's allow-list (unset: return_to scenarios are skipped)"),
    OptionSpec("serve-ui", "HOST:PORT: serve the suite's own verification UI there, for a server without one (Ory "
               "Kratos); point its verification ui_url at http://HOST:PORT/verification and its error ui_url at "
               "http://HOST:PORT/error (HOST must be the public API's host: the UI reads flows with the browser's "
               "cookies)"),
    OptionSpec("serve-ui-tls", "CERT[,KEY]: serve --serve-ui's page over https with this PEM certificate chain and "
               "its key (no KEY: the certificate's file holds it), for a server whose public API is https (a browser "
               "sends its SameSite=Lax CSRF cookie only from a page of the same scheme); point ui_url at "
               "https://HOST:PORT/verification. The browser checks no certificate of a run that serves one"),
    OptionSpec("identity-schema", "the identity schema seeded identities use (unset: 'default', or the first of the "
               "server's schemas that marks an email trait for verification)"),
    OptionSpec("identity-traits", "JSON traits of a seeded identity, {email} where the address goes (unset: the "
               "schema's verifiable email trait alone), e.g. '{\"email\": \"{email}\", \"name\": \"Test\"}'"),
    OptionSpec("mail-source", "where mail is read: smtp-sink[://HOST:PORT] (built in), mailpit:URL, mailhog:URL, "
               "mailslurper:URL or maildev:URL", "smtp-sink"),
    OptionSpec("profile", f"release profile: {', '.join(PROFILES)} (unset: the release the admin API's "
               f"admin/version names, else {DEFAULT_PROFILE} with its known defects not tolerated)"),
    OptionSpec("known-defects", "tolerate (the release's own measured defects, listed with its profile, are "
               "reported, not failed) or fail (held to the requirement like any other server); unset: tolerated "
               "when --profile or the server's admin/version names the release, else failed"),
    OptionSpec("should-failures", "warn (a SHOULD requirement the server does not meet is a warning: the verdict is "
               "the MUST requirements') or fail (it fails the gate like a MUST)", "warn"),
    OptionSpec("run-profile", "how much to run: smoke (a happy path per client kind and the statuses that gate "
               "deploys, seconds), default, deep (more fuzzing)", "default"),
    OptionSpec("fuzz-budget", "fuzzing budget: smoke, default or deep (unset: the --run-profile's)"),
    OptionSpec("fuzz-seed", "fuzzing seed, to replay a run (every run prints its own; unset: random, fixed when "
               "CI=true)"),
    OptionSpec("wait-budget", "seconds a scenario may wait for a flow or code to expire", "30"),
    OptionSpec("challenge-lifespan", "seconds a code or link token lives on the target, if known (unset: the "
               "scenarios for expired codes and tokens are skipped)"),
    OptionSpec("mail-timeout", "seconds to wait for a mail to arrive", "10"),
    OptionSpec("security-load", "how hard the race and timing scenarios press the server: off, low (4 at once, 10 "
               "wrong codes, 10 samples) or default (10 at once, 20 wrong codes, 30 samples)", "default"),
    OptionSpec("race-size", f"how many requests a race sends, at least {RACE_SIZE_MIN} (the same code or "
               "link N times; unset: as --security-load says)"),
    OptionSpec("race-wrong-codes", "how many wrong codes the attempt-limit race sends (unset: as --security-load "
               "says; more than --max-submissions, or the race cannot judge the limit)"),
    OptionSpec("race-concurrency", f"how many of a race's requests are released together, each on a connection of "
               f"its own, at least {RACE_SIZE_MIN} (the rest follow in rounds of as many; unset: all at once)"),
    OptionSpec("timing-samples", "how many known and as many unknown addresses the timing comparison times, at least "
               f"{TIMING_SAMPLES_MIN} (unset: as --security-load says)"),
    OptionSpec("guess-limit-per-flow", "highest acceptable chance that online guessing finds a flow's code within its "
               "attempt limit", "1e-4"),
    OptionSpec("guess-limit-per-hour", "highest acceptable chance that guessing at the measured flow-creation rate "
               "finds a code within an hour (unset: reported, not judged; a rate limit in front of the server is what "
               "keeps it low)"),
    OptionSpec("timing-limit-ms", "largest acceptable difference (ms) between the median answer times for a known "
               "and an unknown address, when it is statistically significant", "25"),
    OptionSpec("cookie-secure", "whether the CSRF cookie must carry Secure: learned (as the server's first browser "
               "flow sends it, then held for the whole run; Secure is required over an https --public-url whatever "
               "was learned), scheme (yes for an https --public-url), yes or no", "learned"),
    OptionSpec("max-submissions", "how many code attempts a flow evaluates before it is replaced (Kratos: "
               "selfservice.methods.code.config.max_submissions, default 5)", "5"),
    OptionSpec("cookie-same-site", "the CSRF cookie's SameSite as the server is configured: lax, strict or none "
               "(Kratos: cookies.same_site, default lax; Kratos sends lax on a cookie that is not Secure)", "lax"),
    OptionSpec("cookie-path", "the CSRF cookie's Path as the server is configured (Kratos: cookies.path, default /)",
               "/"),
    OptionSpec("notify-unknown-recipients", "yes if the server mails a notice (no code, no link) to an address it "
               "does not know (Kratos: selfservice.flows.verification.notify_unknown_recipients; default no)", "no"),
    OptionSpec("report-dir", "where reports are written", "reports"),
    OptionSpec("compare-with", "a previous conformance-report.json: the summary shows what changed since "
               "(regressions first, then fixes and newly exercised requirements)"),
    OptionSpec("reference-method", "embedded reference target only: code or link", "code"),
    OptionSpec("reference-faults", "embedded reference target only: comma-separated fault names to switch on", ""),
)
OPTIONS_BY_DEST: dict[str, OptionSpec] = {o.dest: o for o in OPTIONS}
#: how ``run --help`` groups the options: each title heads the options of OPTIONS from the one it names up to the
#: next group's first.
OPTION_GROUPS: tuple[tuple[str, str], ...] = (
    ("the server under test", "public-url"),
    ("its mail", "mail-source"),
    ("its release and the verdict", "profile"),
    ("how much to run and how long to wait", "run-profile"),
    ("the security suite's load and limits", "security-load"),
    ("the server's configuration (Kratos's defaults unless given)", "cookie-secure"),
    ("reports", "report-dir"),
    ("the embedded reference target (no --public-url)", "reference-method"),
)


@dataclass(frozen=True)
class PreviousReport:
    """``--compare-with``: a previous report, read when the options are, so that a run writing its report over the
    same file still compares with what was there before."""

    path: Path
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class RunOptions:
    """Validated options of one run."""

    public_url: str | None
    admin_url: str | None
    admin_token: str | None
    ui_url: str | None
    error_ui_url: str | None
    return_to: str | None
    serve_ui: str | None
    serve_ui_tls: TlsFiles | None
    mail_source: str
    identity_schema: str | None
    identity_traits: str | None
    profile: str | None
    known_defects: str | None
    should_failures: str
    run_profile: str
    fuzz_budget: str | None
    fuzz_seed: str | None
    wait_budget: float
    challenge_lifespan: float | None
    mail_timeout: float
    security_load: str
    race_size: int | None
    race_wrong_codes: int | None
    race_concurrency: int | None
    timing_samples: int | None
    guess_limit_per_flow: float
    guess_limit_per_hour: float | None
    timing_limit_ms: float
    notify_unknown_recipients: bool
    cookie_secure: str
    cookie_same_site: str
    cookie_path: str
    max_submissions: int
    report_dir: Path
    compare_with: PreviousReport | None
    reference_method: str
    reference_faults: tuple[str, ...]
    #: the options the user set (on the command line or in the environment); the rest took their defaults
    given: frozenset[str] = frozenset()

    def source(self, dest: str) -> str:
        """``"given"`` when the user set the option, else ``"default"`` (for the report's settings)."""
        return "given" if dest in self.given else "default"

    @property
    def embedded(self) -> bool:
        """True when no public URL was given: the run starts the embedded reference target."""
        return self.public_url is None

    @property
    def served_ui_urls(self) -> tuple[str, str] | None:
        """The verification and error UI URLs of the UI ``--serve-ui`` serves (https with ``--serve-ui-tls``), or
        None when the run serves none."""
        return served_urls(self.serve_ui, tls=self.serve_ui_tls is not None) if self.serve_ui else None


def raw_options(given: Mapping[str, str | None], environ: Mapping[str, str] | None = None, *,
                defaults: bool = True) -> dict[str, str | None]:
    """Merge command-line values (``given``, by dest) over the environment over the defaults (``defaults=False``:
    None where neither set the option)."""
    env = os.environ if environ is None else environ
    out: dict[str, str | None] = {}
    for spec in OPTIONS:
        value = given.get(spec.dest)
        if value is None:
            value = env.get(spec.env) or None
        out[spec.dest] = value if value is not None or not defaults else spec.default
    return out


#: options that describe a deployed server: given without --public-url, the run would judge the embedded reference
#: target and say nothing of the server they describe.
DEPLOYED_ONLY = ("admin_url", "admin_token", "ui_url", "error_ui_url", "return_to", "serve_ui", "serve_ui_tls",
                 "identity_schema", "identity_traits", "challenge_lifespan")
#: options of the embedded reference target alone (a deployed server has its method, and no faults to switch on).
EMBEDDED_ONLY = ("reference_faults",)
#: the option (and its environment variable) that names the expected failures; pytest and the CLI both offer it,
#: and :mod:`.report.expected_failures` reads the file.
EXPECTED_FAILURES = OptionSpec("expected-failures", "YAML file of known failures (requirement, reason, link, "
                               "optional target/profile/method): they do not fail the gate")
#: the other environment variables the suite reads, named here once (the modules that read them import them): the
#: suites a plain ``run`` picks, what the command line hands to its pytest run, the opt-in file of a run's real
#: secrets (:mod:`.report.debug_secrets`), and where the benchmarks' capture plugin writes.
SUITE_ENV = ENV_PREFIX + "SUITE"
PREFLIGHT_ENV = ENV_PREFIX + "PREFLIGHT_FINDINGS"
DEBUG_SECRETS_ENV = ENV_PREFIX + "DEBUG_SECRETS_FILE"
CAPTURE_ENV = ENV_PREFIX + "CAPTURE"
OTHER_VARIABLES = frozenset({EXPECTED_FAILURES.env, SUITE_ENV, PREFLIGHT_ENV, DEBUG_SECRETS_ENV, CAPTURE_ENV})


def check_target(raw: Mapping[str, str | None], environ: Mapping[str, str] | None = None) -> None:
    """The options aim at one target: :class:`CannotJudge`, one line, when an option of a deployed server is given
    without ``--public-url`` (or an empty ``KRATOS_CONFORMANCE_PUBLIC_URL``, as a missing CI secret gives), when an
    option of the embedded target is given with it, or when a ``KRATOS_CONFORMANCE_*`` variable is no option's
    (a misspelling would otherwise be ignored)."""
    env = os.environ if environ is None else environ
    public = OPTIONS_BY_DEST["public_url"]
    if raw["public_url"] is None and public.env in env:
        raise CannotJudge(f"{public.env} is set but empty: set it to the server's public URL, or unset it to judge "
                          f"the embedded reference target")
    known = {spec.env for spec in OPTIONS} | OTHER_VARIABLES
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            raise CannotJudge(f"{name} is not a variable the suite reads" +
                              (f" (did you mean {close[0]}?)" if close else ""))
    if raw["public_url"] is None:
        deployed = [OPTIONS_BY_DEST[d].flag for d in DEPLOYED_ONLY if raw[d] is not None]
        sink = (raw["mail_source"] or "smtp-sink").strip()
        if sink != "smtp-sink":
            deployed.append(OPTIONS_BY_DEST["mail_source"].flag)
        if deployed:
            raise CannotJudge(f"{', '.join(deployed)} describe{'s' if len(deployed) == 1 else ''} a deployed server, "
                              f"but no --public-url was given: give it, or drop "
                              f"{'it' if len(deployed) == 1 else 'them'} to judge the embedded reference target")
    else:
        embedded = [OPTIONS_BY_DEST[d].flag for d in EMBEDDED_ONLY if raw[d]]
        if embedded:
            raise CannotJudge(f"{', '.join(embedded)}: the embedded reference target's alone, and --public-url "
                              f"names a deployed server")


def _url(name: str, value: str | None, *, slash: bool = True) -> str | None:
    if value is None:
        return None
    parse_given_url(f"--{name}", value)
    return value if value.endswith("/") or not slash else value + "/"


def _number(name: str, value: str | None, minimum: float = 0) -> float:
    try:
        number = float(value or "")
    except ValueError:
        raise CannotJudge(f"--{name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise CannotJudge(f"--{name}: {value!r} is not a finite number")
    if number < minimum:
        raise CannotJudge(f"--{name}: must be at least {minimum:g}, got {value}")
    return number


def _count(name: str, value: str, minimum: int = 1) -> int:
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) < minimum:
        raise CannotJudge(f"--{name}: {value!r} is not a whole number of at least {minimum}")
    return int(digits)


def _probability(name: str, value: str | None) -> float:
    number = _number(name, value)
    if number > 1:
        raise CannotJudge(f"--{name}: a probability is at most 1, got {value}")
    return number


def _cookie_secure(value: str, *, embedded: bool) -> str:
    choice = _choice("cookie-secure", value.strip().lower(), ("learned", "scheme", "yes", "no"))
    if choice == "yes" and embedded:
        raise CannotJudge("--cookie-secure yes: the embedded reference target serves http, over which no client sends "
                          "a Secure cookie back; leave it learned, or give --public-url")
    return choice


def _previous_report(value: str | None) -> PreviousReport | None:
    """``--compare-with``: a report file that loads (CannotJudge with one line if it does not), read now."""
    if not value:
        return None
    from kratos_conformance.report.conformance_json import load_report

    return PreviousReport(Path(value), load_report(value))


def _mail_source(value: str, *, deployed: bool, admin: bool) -> str:
    """The mail source; a deployed server's courier must know where the built-in sink listens."""
    spec = parse_mail_source(value)
    if deployed and admin and spec.kind == "smtp-sink" and not spec.port:
        raise CannotJudge("--mail-source: give the address the server's courier sends mail to, "
                          "smtp-sink://HOST:PORT (e.g. smtp-sink://127.0.0.1:1025), or its mail catcher "
                          "(mailpit:URL, mailhog:URL, mailslurper:URL, maildev:URL)")
    return value


def _traits(value: str | None) -> str | None:
    if value is not None:
        parse_traits_template(value)
    return value


def _seed(value: str | None) -> str | None:
    """A seed: a non-negative integer (decimal or 0x-hex), kept as given."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value.strip(), 0)
    except ValueError:
        raise CannotJudge(f"--fuzz-seed: {value!r} is not an integer") from None
    if number < 0:
        raise CannotJudge(f"--fuzz-seed: must not be negative, got {value}")
    return value.strip()


def _listen(value: str | None) -> str | None:
    if value is None:
        return None
    parse_listen(value)
    return value


def _tls_files(value: str | None) -> TlsFiles | None:
    """``CERT[,KEY]`` -> the two paths, once they load as a certificate and its key (one-line CannotJudge)."""
    if value is None or not value.strip():
        return None
    certificate, _, key = (part.strip() for part in value.partition(","))
    files: TlsFiles = (Path(certificate), Path(key) if key else None)
    tls_context(files)
    return files


def _choice(name: str, value: str | None, choices: tuple[str, ...] | list[str]) -> str:
    if value is None or value not in choices:
        raise CannotJudge(f"--{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _cookie_path(value: str) -> str:
    if not value.startswith("/") or any(c in value for c in ";, \t"):
        raise CannotJudge(f"--cookie-path: {value!r} is not a cookie path (it starts with /, as Kratos's cookies.path)")
    return value


def parse_options(given: Mapping[str, str | None], environ: Mapping[str, str] | None = None) -> RunOptions:
    """Validate the options; raise :class:`CannotJudge` with one line on the first bad one."""
    raw = raw_options(given, environ)
    try:
        opts = _validated(raw, given, environ)
    except CannotJudge as exc:  # a bad value set in the environment is named by its variable, which is what to fix
        raise CannotJudge(_named_where_set(str(exc), given, environ)) from None
    check_target(raw, environ)  # after each value: a bad value is named as such, wherever it aims
    if opts.serve_ui_tls is not None and opts.serve_ui is None:
        raise CannotJudge(_named_where_set("--serve-ui-tls: it is the certificate of the UI --serve-ui serves: give "
                                           "--serve-ui HOST:PORT too", given, environ))
    return opts


def _named_where_set(message: str, given: Mapping[str, str | None], environ: Mapping[str, str] | None) -> str:
    """``message`` (``--name: ...``), its option named by its environment variable too when that set the value."""
    env = os.environ if environ is None else environ
    name = message.split(":", 1)[0].split(" ", 1)[0]
    spec = OPTIONS_BY_DEST.get(name.removeprefix("--").replace("-", "_"))
    if spec is None or given.get(spec.dest) is not None or not env.get(spec.env):
        return message
    return message.replace(spec.flag, f"{spec.env} ({spec.flag})", 1)


def _validated(raw: Mapping[str, str | None], given: Mapping[str, str | None],
               environ: Mapping[str, str] | None) -> RunOptions:
    """The options, each value checked (:class:`CannotJudge` naming the first bad one)."""
    return RunOptions(
        public_url=_url("public-url", raw["public_url"]),
        admin_url=_url("admin-url", raw["admin_url"]),
        admin_token=raw["admin_token"],
        ui_url=_url("ui-url", raw["ui_url"], slash=False),
        error_ui_url=_url("error-ui-url", raw["error_ui_url"], slash=False),
        return_to=_url("return-to", raw["return_to"], slash=False),
        serve_ui=_listen(raw["serve_ui"]),
        serve_ui_tls=_tls_files(raw["serve_ui_tls"]),
        mail_source=_mail_source(raw["mail_source"] or "smtp-sink", deployed=raw["public_url"] is not None,
                                 admin=raw["admin_url"] is not None),
        identity_schema=raw["identity_schema"] or None,
        identity_traits=_traits(raw["identity_traits"]),
        profile=_choice("profile", raw["profile"], list(PROFILES)) if raw["profile"] else None,
        known_defects=(_choice("known-defects", raw["known_defects"].strip().lower(), ("tolerate", "fail"))
                       if raw["known_defects"] else None),
        should_failures=_choice("should-failures", (raw["should_failures"] or "warn").strip().lower(),
                                ("warn", "fail")),
        run_profile=_choice("run-profile", raw["run_profile"], RUN_PROFILES),
        fuzz_budget=_choice("fuzz-budget", raw["fuzz_budget"].strip().lower(), FUZZ_BUDGETS)
        if raw["fuzz_budget"] else None,
        fuzz_seed=_seed(raw["fuzz_seed"]),
        wait_budget=_number("wait-budget", raw["wait_budget"]),
        challenge_lifespan=(_number("challenge-lifespan", raw["challenge_lifespan"])
                            if raw["challenge_lifespan"] else None),
        mail_timeout=_number("mail-timeout", raw["mail_timeout"], minimum=0.1),
        security_load=_choice("security-load", (raw["security_load"] or "default").strip().lower(),
                              SECURITY_LOADS),
        race_size=_count("race-size", raw["race_size"], RACE_SIZE_MIN) if raw["race_size"] else None,
        race_wrong_codes=_count("race-wrong-codes", raw["race_wrong_codes"]) if raw["race_wrong_codes"] else None,
        race_concurrency=(_count("race-concurrency", raw["race_concurrency"], RACE_SIZE_MIN)
                          if raw["race_concurrency"] else None),
        timing_samples=(_count("timing-samples", raw["timing_samples"], TIMING_SAMPLES_MIN)
                        if raw["timing_samples"] else None),
        guess_limit_per_flow=_probability("guess-limit-per-flow", raw["guess_limit_per_flow"]),
        guess_limit_per_hour=_probability("guess-limit-per-hour", raw["guess_limit_per_hour"])
        if raw["guess_limit_per_hour"] else None,
        timing_limit_ms=_number("timing-limit-ms", raw["timing_limit_ms"]),
        notify_unknown_recipients=_choice("notify-unknown-recipients", (raw["notify_unknown_recipients"] or "no")
                                          .strip().lower(), ("yes", "no")) == "yes",
        cookie_secure=_cookie_secure(raw["cookie_secure"] or "learned", embedded=raw["public_url"] is None),
        cookie_same_site=_choice("cookie-same-site", (raw["cookie_same_site"] or "lax").strip().lower(),
                                 ("lax", "strict", "none")).title(),
        cookie_path=_cookie_path(raw["cookie_path"] or "/"),
        max_submissions=_count("max-submissions", raw["max_submissions"] or "5"),
        report_dir=Path(raw["report_dir"] or "reports"),
        compare_with=_previous_report(raw["compare_with"]),
        reference_method=_choice("reference-method", raw["reference_method"], ("code", "link")),
        reference_faults=tuple(f.strip() for f in (raw["reference_faults"] or "").split(",") if f.strip()),
        given=frozenset(dest for dest, value in raw_options(given, environ, defaults=False).items()
                        if value is not None),
    )


def writable_directory(path: Path, option: str) -> Path:
    """``path``, created if missing, once a file could be written in it; else :class:`CannotJudge` naming
    ``option`` (checked before any work, so that a run is never lost for want of a place to write its results)."""
    if path.exists() and not path.is_dir():
        raise CannotJudge(f"{option} {path}: is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise CannotJudge(f"{option} {path}: cannot write there: {exc.strerror or exc}") from None
    return path
