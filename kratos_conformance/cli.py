"""``kratos-conformance``: run the suite as a CI gate, compare two runs, merge per-method reports (``record`` and
``compare``, the differential comparison's commands, are :mod:`.differential.commands`).

::

    kratos-conformance --version
    kratos-conformance run [--public-url URL ...every suite option...] [--expected-failures PATH]
                           [--suite scenarios|fuzz|browser|security|all] [--report-dir DIR] [-- extra pytest args]
    kratos-conformance diff OLD.json NEW.json [--json]
    kratos-conformance merge --report-dir DIR LABEL [LABEL ...]
    kratos-conformance record [--public-url URL ...] --out TRANSCRIPT.json
    kratos-conformance compare A.json B.json|kratos-v26.2.0 [--accepted ACCEPTED.yaml]

``run`` validates every option first and, for a deployed target, checks that the target and the mail source answer;
then it runs pytest in this process with the conformance and report plugins, writing JUnit XML, Allure results,
``conformance-report.json`` and ``summary.html`` under the report directory. ``--reference-method code,link`` runs
the embedded reference target once per method (reports in ``DIR/<method>/``) and merges the results into ``DIR/``.

Exit codes: 0 conformant, 1 not conformant (``diff``: a regression), 2 the run could not judge (one line on stderr
says why; never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from kratos_conformance.differential import RECORDINGS
from kratos_conformance.differential.commands import RECORD_OPTIONS, command_compare, command_record
from kratos_conformance.errors import EXIT_CANNOT_JUDGE, PROG, CannotJudge, OneLineParser, first_line
from kratos_conformance.explain import explain
from kratos_conformance.mail import open_mail_source, parse_mail_source
from kratos_conformance.report.conformance_json import (
    REPORT_NAME,
    SUMMARY_NAME,
    load_report,
    merge_reports,
    versions,
    write_report,
)
from kratos_conformance.report.diff import diff_reports, render_diff
from kratos_conformance.report.expected_failures import (
    EXPECTED_FAILURES,
    expected_failures_path,
    load_expected_failures,
)
from kratos_conformance.report.html import write_summary
from kratos_conformance.report.results import FAILED, Verdict, tolerated_in, verdict_lines
from kratos_conformance.run.bundle import data_root
from kratos_conformance.run.options import (
    OPTION_GROUPS,
    OPTIONS,
    OPTIONS_BY_DEST,
    PREFLIGHT_ENV,
    SUITE_ENV,
    PreviousReport,
    RunOptions,
    parse_options,
    raw_options,
    writable_directory,
)
from kratos_conformance.run.preflight import Findings, preflight, where_mail_is_read

#: the environment form of ``--suite`` (the suites are the command's choice, not an option pytest knows)
SUITES = {"scenarios": "suites/scenarios", "fuzz": "suites/fuzz", "browser": "suites/browser",
          "security": "suites/security", "all": "suites"}
#: options that only a suite reads: given without that suite, the run says it does not use them.
SUITE_OPTIONS = {"fuzz": ("fuzz_budget", "fuzz_seed"),
                 "security": ("security_load", "race_size", "race_wrong_codes", "race_concurrency", "timing_samples",
                              "guess_limit_per_flow", "guess_limit_per_hour", "timing_limit_ms")}
_PYTEST_ABORTS = {3: "pytest hit an internal error", 4: "pytest was used wrongly (see above)",
                  5: "no tests were collected"}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Ory Kratos verification-flow conformance: the CI gate.")
    parser.add_argument("--version", action="version", version=f"{PROG} {versions()[0]}",
                        help="print the suite's version (the one its reports name) and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = sub.add_parser("run", help="run the suite and write the reports",
                         usage=f"{PROG} run [options] [-- extra pytest arguments]",
                         description="Run the suite; extra pytest arguments go after --.")
    starts, groups = dict((first, title) for title, first in OPTION_GROUPS), {}
    group: Any = run
    for spec in OPTIONS:
        if spec.name in starts:
            group = groups[starts[spec.name]] = run.add_argument_group(starts[spec.name])
        help_text = spec.help + (" (comma-separated: one run per method)" if spec.dest == "reference_method" else "")
        group.add_argument(spec.flag, dest=spec.dest, default=None, help=f"{help_text} (env {spec.env})")
    groups["its release and the verdict"].add_argument(
        EXPECTED_FAILURES.flag, dest=EXPECTED_FAILURES.dest, default=None,
        help=f"{EXPECTED_FAILURES.help} (env {EXPECTED_FAILURES.env})")
    groups["how much to run and how long to wait"].add_argument(
        "--suite", default=None, help=f"which suites to run: {', '.join(sorted(SUITES))}, or a comma-separated list "
                                      f"(e.g. scenarios,fuzz; default scenarios) (env {SUITE_ENV})")
    diff = sub.add_parser("diff", help="compare two conformance reports (exit 1 on a regression)")
    diff.add_argument("old", help="the earlier conformance-report.json")
    diff.add_argument("new", help="the later conformance-report.json")
    diff.add_argument("--json", action="store_true", help="print the diff as JSON")
    record = sub.add_parser("record", help="send the scripted cases to a server and write its normalized transcript",
                            description="Record how a server answers the differential comparison's scripted cases "
                                        "(without --public-url: the embedded reference target).")
    for spec in OPTIONS:
        if spec.dest in RECORD_OPTIONS:
            record.add_argument(spec.flag, dest=spec.dest, default=None, help=f"{spec.help} (env {spec.env})")
    record.add_argument("--default-return-url", help="where the server sends a user who brought no return_to "
                        "(its default browser return URL)")
    record.add_argument("--server", help="what to call the server in the transcript (default: its public URL)")
    record.add_argument("--cases", default="", help="comma-separated case-name prefixes to run (default: all)")
    record.add_argument("--out", required=True, help="where to write the transcript (JSON)")
    compare = sub.add_parser("compare", help="compare two transcripts (exit 1 on a difference)")
    compare.add_argument("a", help="a transcript, or the name of a recording that ships with the suite "
                         f"({', '.join(RECORDINGS)}; its method is taken from the other side)")
    compare.add_argument("b", help="the other transcript (or recording name)")
    compare.add_argument("--method", choices=("code", "link"), help="the method whose recordings to compare when "
                         "both sides are recordings that ship with the suite (two releases)")
    compare.add_argument("--accepted", help="YAML file of accepted differences (case, path, reason)")
    compare.add_argument("--prose", action="store_true", help="also compare the wording of error texts")
    explain = sub.add_parser("explain", help="what checks a requirement: its catalog entry, the tests whose "
                             "marker names it, the library lines that judge it")
    explain.add_argument("requirement", help="a requirement id, e.g. VER-CODE-REPLAY")
    merge = sub.add_parser("merge", help="merge DIR/<label>/conformance-report.json into DIR/")
    merge.add_argument("--report-dir", default="reports", help="the directory holding one sub-directory per run")
    merge.add_argument("labels", nargs="+", help="the runs' sub-directories (e.g. code link)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kratos-conformance``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, extra = args[:at], args[at + 1:]
    parser = build_parser()
    ns, unknown = parser.parse_known_args(args)
    if unknown:  # pointing at the subcommand's --help, which lists what it takes
        parser.exit(EXIT_CANNOT_JUDGE, f"{PROG}: unrecognized arguments: {' '.join(unknown)} "
                                       f"(see {PROG} {ns.command} --help)\n")
    try:
        if ns.command == "run":
            with stop_on_signals() as received:
                try:
                    return command_run(ns, extra, received)
                except KeyboardInterrupt:  # before pytest ran (the preflight): nothing judged, nothing to keep
                    raise CannotJudge(f"stopped by {received[-1] if received else 'SIGINT'} before any "
                                      "test ran") from None
        if extra:
            raise CannotJudge(f"{ns.command} takes no arguments after --")
        if ns.command == "diff":
            return command_diff(ns.old, ns.new, as_json=ns.json)
        if ns.command == "record":
            return command_record(ns)
        if ns.command == "compare":
            return command_compare(ns.a, ns.b, accepted=ns.accepted, prose=ns.prose, method=ns.method)
        if ns.command == "explain":
            print(explain(ns.requirement).render())
            return 0
        return command_merge(Path(ns.report_dir), ns.labels)
    except CannotJudge as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_JUDGE
    except Exception as exc:  # noqa: BLE001 - a defect of the suite itself: one line, the traceback kept
        saved = save_traceback()
        print(f"{PROG}: internal error, not the server's ({type(exc).__name__}: {first_line(exc, 160)}); the "
              f"traceback is in {saved}: please report it", file=sys.stderr)
        return EXIT_CANNOT_JUDGE


def save_traceback() -> str:
    """Write the exception being handled, with its traceback, to a new file; its path."""
    with tempfile.NamedTemporaryFile("w", prefix="kratos-conformance-error-", suffix=".txt", delete=False,
                                     encoding="utf-8") as out:
        traceback.print_exc(file=out)
    return out.name


# --- run ----------------------------------------------------------------------------------------------------------

def project_root() -> Path:
    """Where the suites live (their parent folder): this checkout, or the copy installed with the package; any
    working directory will do."""
    root = data_root()
    if not (root / "suites").is_dir():
        raise CannotJudge(f"the suites are missing from {root}: reinstall kratos-conformance")
    return root


def validate(ns: argparse.Namespace) -> list[RunOptions]:
    """Every run's validated options (one per reference method); raises :class:`CannotJudge` on the first bad one.

    Several methods (``--reference-method code,link``) give one run each, reporting into ``<report dir>/<method>``.
    A deployed target (``--public-url``) has the one method it is configured with: one run.
    """
    given: dict[str, str | None] = {spec.dest: getattr(ns, spec.dest) for spec in OPTIONS}
    raw = raw_options(given)
    methods = [m.strip() for m in (raw["reference_method"] or "").split(",") if m.strip()] or ["code"]
    if raw["public_url"] is not None:
        methods = methods[:1]
    if len(set(methods)) != len(methods):
        raise CannotJudge(f"--reference-method: {raw['reference_method']!r} names a method twice")
    faults = [f.strip() for f in (raw["reference_faults"] or "").split(",") if f.strip()]
    if faults and raw["public_url"] is None:  # known before anything starts, not once the target refuses it
        from kratos_conformance.mutation.plan import list_faults

        known = {fault.name for fault in list_faults()}
        unknown = [f for f in faults if f not in known]
        if unknown:
            raise CannotJudge(f"--reference-faults: no fault named {', '.join(unknown)} (kratos-reference "
                              f"--list-faults lists them)")
    runs = []
    for method in methods:
        values = {**given, "reference_method": method}
        if len(methods) > 1:
            values["report_dir"] = str(Path(raw["report_dir"] or "reports") / method)
        runs.append(parse_options(values))
    return runs


def run_preflight(opts: RunOptions, *, browser: bool = False) -> Findings | None:
    """For a deployed target, the preflight (:mod:`.preflight`; ``browser``: the browser walks will run): seconds,
    CannotJudge with one line on a setup problem; its findings go to the pytest run. Once it passed, says what it
    found and where the built-in SMTP sink listens."""
    if opts.embedded:
        return None
    try:
        mail = open_mail_source(parse_mail_source(opts.mail_source))
    except CannotJudge as exc:
        raise CannotJudge(f"{exc} (check --mail-source)") from None
    said: list[str] = []
    try:
        findings = preflight(opts, mail, say=said.append, browser=browser)
    finally:
        mail.close()
    sink = where_mail_is_read(opts, mail)
    for line in ([sink] if sink else []) + said:
        print(f"{PROG}: {line}", flush=True)
    return findings


@contextmanager
def handed_to_pytest(findings: Findings | None) -> Iterator[None]:
    """The preflight's findings in the environment of the pytest run (and its xdist workers) while it runs."""
    if findings is None:
        yield
        return
    previous = os.environ.get(PREFLIGHT_ENV)
    os.environ[PREFLIGHT_ENV] = findings.to_json()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PREFLIGHT_ENV, None)
        else:
            os.environ[PREFLIGHT_ENV] = previous


def suite_paths(value: str, root: Path) -> list[Path]:
    """The folders a ``--suite`` value names (``all`` or a comma-separated list); CannotJudge if one is unknown."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        raise CannotJudge(f"--suite: {value!r} is not one of {', '.join(sorted(SUITES))} or a list of them")
    paths = [root / SUITES[n] for n in names]
    for name, path in zip(names, paths):
        if not path.is_dir():
            raise CannotJudge(f"--suite {name}: {path} does not exist")
    return paths


def unused_options(opts: RunOptions, suites: Sequence[Path], root: Path) -> list[str]:
    """One line per suite whose options were given although the run does not run that suite."""
    lines = []
    for suite, dests in SUITE_OPTIONS.items():
        folder = root / SUITES[suite]
        given = [OPTIONS_BY_DEST[d].flag for d in dests if d in opts.given]
        if given and not any(p == folder or p in folder.parents for p in suites):
            lines.append(f"{', '.join(given)} given, but this run does not run the {suite} suite "
                         f"(--suite {suite}, or all, runs it)")
    return lines


def pytest_args(opts: RunOptions, ns: argparse.Namespace, suites: Sequence[Path], root: Path,
                extra: Sequence[str]) -> list[str]:
    """The pytest command line of one run."""
    # pytest marks every installed plugin's modules for assertion rewriting; anyio (httpx's) was imported by the
    # preflight already, and pytest would warn about it in every run against a deployed target: nothing to act on.
    args = [*map(str, suites), f"--rootdir={root}", "-p", "kratos_conformance.run.pytest_plugin",
            "-p", "kratos_conformance.report.plugin", "-p", "kratos_conformance.fuzzing.plugin",
            "-p", "no:cacheprovider", "-q",
            "-W", "ignore:Module already imported so cannot be rewritten; anyio:pytest.PytestAssertRewriteWarning",
            f"--junitxml={opts.report_dir / 'junit.xml'}", f"--alluredir={opts.report_dir / 'allure'}",
            "--clean-alluredir"]
    for spec in OPTIONS:
        value = getattr(ns, spec.dest)
        if spec.dest == "report_dir":
            value = str(opts.report_dir)
        elif spec.dest == "reference_method":
            value = opts.reference_method if opts.embedded else None
        elif spec.dest == "compare_with":  # read already, and handed to the run (run_pytest): not read again
            value = ""
        if value is not None:
            args.append(f"{spec.flag}={value}")
    if getattr(ns, EXPECTED_FAILURES.dest):
        args.append(f"{EXPECTED_FAILURES.flag}={getattr(ns, EXPECTED_FAILURES.dest)}")
    return args + list(extra)


class _HeldStderr:
    """Stands in for ``sys.stderr`` while pytest reads its arguments: what is written is held until :meth:`release`
    (pytest configured: it is written through, and so is everything after), so that a usage error of the arguments
    after ``--`` can be told in one line instead of pytest's usage page."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._held: list[str] | None = []

    def write(self, text: str) -> int:
        if self._held is None:
            return int(self._stream.write(text))
        self._held.append(text)
        return len(text)

    def release(self) -> None:
        if self._held is not None:
            held, self._held = "".join(self._held), None
            self._stream.write(held)

    def usage_error(self) -> str:
        """The one line pytest's usage error says (``error: ...``), or "" if nothing held says one."""
        lines = [line.strip() for line in "".join(self._held or ()).splitlines()]
        return next((line.split("error: ", 1)[1] for line in lines if "error: " in line),
                    next((line.removeprefix("ERROR: ") for line in lines if line), ""))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _CliMarker:
    """Registered in the runs the CLI starts: the report plugin leaves printing the verdict to the CLI, and compares
    with the previous report the CLI read before the run (its file may be the one the run writes over)."""

    kratos_conformance_cli = True

    def __init__(self, previous_report: PreviousReport | None = None, stderr: _HeldStderr | None = None) -> None:
        self.previous_report = previous_report
        self._stderr = stderr

    def pytest_configure(self) -> None:
        if self._stderr is not None:  # the arguments were understood: pytest's own messages go out as they come
            self._stderr.release()


def run_pytest(args: Sequence[str], report_dir: Path, previous_report: PreviousReport | None = None) -> dict[str, Any]:
    """Run pytest in this process (its summary compared with ``previous_report``); the run's report, or CannotJudge
    if the run wrote none."""
    import pytest

    for stale in (REPORT_NAME, SUMMARY_NAME):
        (report_dir / stale).unlink(missing_ok=True)
    stderr, held = sys.stderr, _HeldStderr(sys.stderr)
    sys.stderr = held
    try:
        code = int(pytest.main(list(args), plugins=[_CliMarker(previous_report, held)]))
    except ImportError as exc:  # a plugin named by ``-p`` after --, not one of the suite's own
        plugin = re.search(r'Error importing plugin "([^"]+)"', str(exc))
        if plugin is None or plugin.group(1).startswith("kratos_conformance"):
            raise
        raise CannotJudge(f"pytest cannot use the arguments after --: {first_line(exc, 200)}") from None
    finally:
        sys.stderr = stderr
    sys.stdout.flush()
    if code == pytest.ExitCode.USAGE_ERROR and (why := held.usage_error()):
        raise CannotJudge(f"pytest cannot use the arguments after --: {why}")
    held.release()
    if not (report_dir / REPORT_NAME).is_file():
        why = _PYTEST_ABORTS.get(code, f"pytest exited with {code} before the reports were written")
        raise CannotJudge(f"cannot judge: {why}")
    return load_report(report_dir / REPORT_NAME)


def print_verdict(doc: dict[str, Any], report_dir: Path, label: str = "", *, final: bool = True) -> None:
    """The verdict lines and the report paths on stdout; the ``final`` verdict of a command that could not judge
    also says why in one line on stderr."""
    failed = [r["id"] for r in doc["requirements"] if r["status"] == FAILED]
    written = [report_dir / REPORT_NAME, report_dir / SUMMARY_NAME]
    written += [p for p in (report_dir / "junit.xml", report_dir / "allure") if p.exists()]
    lines = verdict_lines(Verdict(**doc["verdict"]), doc["counts"], failed, doc["unexpectedly_passing"], written,
                          tolerated=tolerated_in(doc["requirements"]), profile=str(doc.get("profile") or ""))
    if label:
        lines[0] = f"{lines[0]}  [{label}]"
    print("\n".join(lines), flush=True)
    if final and doc["verdict"]["exit_code"] == EXIT_CANNOT_JUDGE:
        print(f"{PROG}: cannot judge: {doc['verdict']['reason']}", file=sys.stderr, flush=True)


class Stopped(KeyboardInterrupt):
    """A signal asked the run to stop. pytest ends the session as for Ctrl-C: the tests so far are reported, the
    verdict is cannot judge with this message, the embedded target is stopped."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.msg = f"the run was stopped by {name}"


@contextmanager
def stop_on_signals() -> Iterator[list[str]]:
    """While the block runs, SIGINT and SIGTERM (a CI job cancelled or timed out) raise :class:`Stopped` in the
    main thread; yields the names of the signals received, for the caller to stop starting new work."""
    received: list[str] = []

    def stop(signum: int, frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        raise Stopped(received[-1])

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def command_run(ns: argparse.Namespace, extra: Sequence[str], stopped: Sequence[str] = ()) -> int:
    runs = validate(ns)
    previous = runs[0].compare_with
    if len(runs) > 1:  # the combined report is compared with the previous one; a single method's is not
        runs = [replace(opts, compare_with=None) for opts in runs]
    for opts in runs:
        writable_directory(opts.report_dir, "--report-dir")
    load_expected_failures(expected_failures_path(getattr(ns, EXPECTED_FAILURES.dest)))
    root = project_root()
    suites = suite_paths(ns.suite or os.environ.get(SUITE_ENV) or "scenarios", root)
    for line in unused_options(runs[0], suites, root):
        print(f"{PROG}: {line}", flush=True)
    browser = root / SUITES["browser"]
    findings = run_preflight(runs[0], browser=any(p == browser or p in browser.parents for p in suites))
    docs: list[tuple[str, dict[str, Any]]] = []
    for opts in runs:
        if opts.embedded:  # said every time: options that aim elsewhere are refused, and this says what is judged
            print(f"== {PROG}: embedded reference target, method {opts.reference_method} ==", flush=True)
        with handed_to_pytest(findings):
            doc = run_pytest(pytest_args(opts, ns, suites, root, extra), opts.report_dir, opts.compare_with)
        print_verdict(doc, opts.report_dir, opts.reference_method if len(runs) > 1 else "", final=len(runs) == 1)
        docs.append((opts.reference_method, doc))
        if stopped:
            break  # a signal stopped this run: start no other
    if len(runs) == 1:
        return int(docs[0][1]["verdict"]["exit_code"])
    base = runs[0].report_dir.parent
    merged = write_merged(base, docs, compare_with=previous)
    print_verdict(merged, base, "combined")
    return int(merged["verdict"]["exit_code"])


def write_merged(base: Path, docs: Sequence[tuple[str, dict[str, Any]]], *,
                 compare_with: PreviousReport | None = None) -> dict[str, Any]:
    """Write the merged report and its summary (with what changed since ``compare_with``) into ``base``; returns the
    merged report."""
    merged = merge_reports(docs)
    write_report(merged, base)
    write_summary(merged, base, compare_with=compare_with)
    return merged


# --- diff and merge -----------------------------------------------------------------------------------------------

def command_diff(old: str, new: str, *, as_json: bool = False) -> int:
    result = diff_reports(load_report(old), load_report(new))
    print(json.dumps(result.as_dict(), indent=2) if as_json else render_diff(result, old, new))
    return result.exit_code


def command_merge(base: Path, labels: Sequence[str]) -> int:
    if len(set(labels)) != len(labels):
        raise CannotJudge(f"merge: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))} named twice")
    merged = write_merged(base, [(label, load_report(base / label / REPORT_NAME)) for label in labels])
    print_verdict(merged, base, "combined")
    return int(merged["verdict"]["exit_code"])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
