"""The differential comparison on the command line: ``kratos-conformance record`` and ``kratos-conformance compare``.

``record`` sends the scripted cases (:mod:`.cases`) to a server, or to the embedded reference target, and writes
its normalized transcript; ``compare`` lists the differences between two transcripts (files, or the recordings that
ship with the suite), minus the accepted ones.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kratos_conformance.errors import PROG, CannotJudge
from kratos_conformance.mail import open_mail_source, parse_mail_source
from kratos_conformance.rules.profiles import choose_profile
from kratos_conformance.run.options import OPTIONS, OPTIONS_BY_DEST, RunOptions, parse_options, writable_directory
from kratos_conformance.run.preflight import preflight
from kratos_conformance.run.target import Target
from kratos_conformance.run.urls import parse_given_url

#: the run options that matter to ``record``.
RECORD_OPTIONS = ("public_url", "admin_url", "admin_token", "ui_url", "error_ui_url", "return_to", "mail_source",
                  "profile", "challenge_lifespan", "mail_timeout", "reference_method", "identity_schema",
                  "identity_traits")

def command_record(ns: argparse.Namespace) -> int:
    """Record the scripted cases against the server the options name (or the embedded reference target)."""
    from kratos_conformance import differential

    # run's other options' variables are not record's concern; a variable that is no option's (a misspelling) is
    # still refused
    others = {spec.env for spec in OPTIONS} - {OPTIONS_BY_DEST[dest].env for dest in RECORD_OPTIONS}
    opts = parse_options({dest: getattr(ns, dest, None) for dest in RECORD_OPTIONS},
                         {k: v for k, v in os.environ.items() if k not in others})
    only = tuple(c.strip() for c in ns.cases.split(",") if c.strip())
    unmatched = [prefix for prefix in only if not any(case.name.startswith(prefix) for case in differential.CASES)]
    if unmatched:
        areas = sorted({case.name.split(".", 1)[0] for case in differential.CASES})
        raise CannotJudge(f"--cases: no case name starts with {', '.join(unmatched)} (case names start with an "
                          f"area: {', '.join(areas)})")
    if ns.default_return_url:
        parse_given_url("--default-return-url", ns.default_return_url)
    if Path(ns.out).is_dir():
        raise CannotJudge(f"--out {ns.out}: is a directory; give the transcript's file name")
    writable_directory(Path(ns.out).parent, "--out")

    def progress(key: str) -> None:
        print(f"  {key}", file=sys.stderr, flush=True)

    if opts.embedded:
        doc = differential.record_embedded(opts.reference_method, only=only, progress=progress)
    else:
        doc = _record_deployed(opts, ns, only, progress)
    differential.save_transcript(doc, ns.out)
    stopped = sum(1 for steps in doc["cases"].values() for step in steps if step.get("observe") == "stopped")
    print(f"{PROG}: recorded {len(doc['cases'])} cases ({stopped} stopped early) from {doc['server']} "
          f"({doc['method']}) into {ns.out}")
    return 0


def _record_deployed(opts: RunOptions, ns: argparse.Namespace, only: tuple[str, ...], progress: Any) -> dict[str, Any]:
    from kratos_conformance import differential

    if not opts.admin_url or not opts.return_to:
        raise CannotJudge("record needs --admin-url (to seed addresses) and --return-to (an allow-listed URL)")
    assert opts.public_url is not None
    mail = open_mail_source(parse_mail_source(opts.mail_source))
    try:
        # the preflight proves the server answers and mails, and learns the identity schema, the traits and the
        # method its mail shows (as a run learns them)
        findings = preflight(opts, mail)
        if findings.method not in ("code", "link"):
            raise CannotJudge("cannot tell the server's method: its verification mail shows neither a code nor a link")
        target = Target(public_url=opts.public_url, admin_url=opts.admin_url, admin_token=opts.admin_token,
                        profile=choose_profile(opts.profile, findings.release, opts.known_defects).profile,
                        wait_budget=opts.wait_budget,
                        mail_timeout=opts.mail_timeout, challenge_lifespan=opts.challenge_lifespan, ui_url=opts.ui_url,
                        error_ui_url=opts.error_ui_url, return_to=opts.return_to,
                        identity_schema=findings.identity_schema, identity_traits=findings.identity_traits,
                        flow_lifespan=findings.flow_lifespan).with_learned_ui_urls()
        return differential.record(target, mail, method=findings.method, challenge_lifespan=opts.challenge_lifespan,
                                   server=ns.server or target.public_url, default_return_url=ns.default_return_url,
                                   only=only, progress=progress)
    finally:
        mail.close()


def command_compare(a: str, b: str, *, accepted: str | None = None, prose: bool = False,
                    method: str | None = None) -> int:
    """Print the differences between two transcripts (files, or recordings that ship with the suite, of ``method``
    or else of the other side's method); exit 1 if any is left after the accepted ones."""
    from kratos_conformance import differential

    docs: dict[str, dict[str, Any]] = {}
    for name in (a, b):
        if name not in differential.RECORDINGS:
            if not Path(name).exists() and not name.endswith(".json"):
                raise CannotJudge(f"{name}: no such transcript, nor a recording that ships with the suite "
                                  f"({', '.join(differential.RECORDINGS)})")
            docs[name] = differential.load_transcript(name)
    for name in (a, b):
        if name in differential.RECORDINGS:
            other = next((d for n, d in docs.items() if n != name), None)
            taken = method or (other or {}).get("method")
            if taken is None:
                raise CannotJudge("compare of two recordings needs --method code or --method link")
            docs[name] = differential.recording(name, str(taken))
    diffs = differential.compare(docs[a], docs[b], prose=prose)
    entries = differential.load_accepted(accepted) if accepted else []
    left, stale = differential.apply_accepted(diffs, entries)
    label_a, label_b = (n if n in differential.RECORDINGS else Path(n).stem for n in (a, b))
    if left:
        print(differential.render(left, (label_a, label_b)))
        print(differential.overview(left, (label_a, label_b)))
    for entry in stale:
        print(f"accepted but not seen: {entry.case} {entry.path} ({entry.reason})")
    cases = len(set(docs[a]["cases"]) | set(docs[b]["cases"]))
    print(f"{PROG}: {len(left)} difference(s) in {len({d.case for d in left})} of {cases} cases "
          f"({len(diffs) - len(left)} accepted) between {docs[a]['server']} and {docs[b]['server']}")
    return 1 if left else 0
