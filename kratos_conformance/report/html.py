"""``summary.html``: a one-page, self-contained summary of a conformance report (inline CSS and SVG, no script).

Rendered from the report document (:mod:`.conformance_json`), so a merged report renders the same way. It leads with
what a reader came for: the verdict, then (with a previous report to compare with) what changed, regressions
first, then every failed requirement with its one-line cause, a curl line that repeats the request and the
exchange folded below; then the state machine as the run walked it (:mod:`.state_machine`), the run's details, the
requirements that did not pass, and the passed ones last, collapsed.

Stable hooks for tools and tests: ``#verdict`` (``data-verdict``, ``data-exit-code``), ``#changes``,
``#failures`` (one ``section.requirement-failures`` per failed requirement, its ``p.cause`` and ``pre.curl``),
``svg#state-machine``, one ``tr.requirement`` per requirement (``id="req-<ID>"``, ``data-status``) in
``#requirements`` (not passed) or ``#passed-requirements`` (passed, in a closed ``details``), and the grids
``#coverage-operations`` and ``#coverage-transitions``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kratos_conformance.flows.flow_document import mapping
from kratos_conformance.report.conformance_json import SUMMARY_NAME
from kratos_conformance.report.coverage import CONTRACT_OPERATIONS
from kratos_conformance.report.diff import ABSENT, Diff, diff_reports
from kratos_conformance.report.results import (
    OUTSIDE_CHECKS,
    PASSED,
    STATUSES,
    UNEXPECTEDLY_PASSING,
    tolerated_in,
    tolerated_line,
)
from kratos_conformance.report.state_machine import STYLE as STATE_MACHINE_STYLE
from kratos_conformance.report.state_machine import render_svg
from kratos_conformance.wire.curl import curl_for_exchange
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.redact import REDACTED

if TYPE_CHECKING:
    from kratos_conformance.run.options import PreviousReport

SUMMARY_TITLE = "Kratos verification-flow conformance"
#: the state machine as a picture of its own, beside the summary.
STATE_MACHINE_NAME = "state-machine.svg"
#: failures shown per requirement (the JSON report has them all).
MAX_FAILURES_SHOWN = 5
#: regressions listed in view above the failures; more are folded, so that the first failure stays on the first screen
MAX_REGRESSIONS_SHOWN = 5
#: said under a curl line whose secrets (cookie, CSRF token, code) were taken out
REDACTED_NOTE = ("the secrets in this line are REDACTED: to run it again, put in the cookie, CSRF token or code of a "
                 "flow of your own")
KIND_ORDER = ("native", "browser", "spa")
STATE_ORDER = ("choose_method", "sent_email", "passed_challenge")
#: statuses of a requirement that was not judged in a run (a change from one of these is "newly exercised")
NOT_JUDGED = frozenset({"not_exercised", "skipped", ABSENT})

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;
 padding:1rem 1.5rem;color:#1d2330;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #dde}
.verdict{padding:.8rem 1rem;border-radius:6px;font-size:1.2rem;font-weight:600;color:#fff}
.verdict small{display:block;font-weight:400;font-size:.9rem;opacity:.95}
.v-conformant{background:#1f7a3d}.v-not_conformant{background:#b42318}.v-cannot_judge{background:#8a6d00}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{border:1px solid #d5d9e2;padding:.25rem .45rem;
 text-align:left;vertical-align:top}th{background:#f3f5f9}
table.meta td:first-child{width:12rem;color:#556}
.chip{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.85rem;margin-right:.3rem}
.st-passed{background:#dff3e4}.st-failed{background:#fde2df}.st-expected_failure{background:#fff1cc}
.level-should{background:#eef0ff}
.st-skipped{background:#eceff4}.st-not_exercised{background:#f6f6f6;color:#667}
td.status{white-space:nowrap;font-weight:600}td.id{white-space:nowrap;font-family:ui-monospace,monospace}
.grid td.n{text-align:center;min-width:2.2rem}.grid td.zero{color:#bbb}
.grid th{overflow-wrap:anywhere}.wide{overflow-x:auto}
.grid td.hit{background:#e3effd}.grid td.hit.err{background:#fde9d9}
.warn{background:#fff1cc;border:1px solid #e6c35c;padding:.5rem .8rem;border-radius:4px}
pre{background:#f7f8fa;border:1px solid #e1e4ea;padding:.5rem;overflow-x:auto;font-size:12px;white-space:pre-wrap}
details{margin:.3rem 0}summary{cursor:pointer}.failure{border-left:3px solid #b42318;padding-left:.7rem;margin:.8rem 0}
.muted{color:#667}p.cause{font-weight:600;margin:.2rem 0}pre.curl{background:#fbfbf4}
section.requirement-failures h3{font-size:1rem;margin:.9rem 0 .2rem}
#changes li.regression,#changes li.failing{color:#b42318;font-weight:600}#changes li.fix{color:#1f7a3d}
""" + STATE_MACHINE_STYLE


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _label(status: str) -> str:
    return status.replace("_", " ")


def previous_run(previous: PreviousReport) -> str:
    """The previous run as the Changes heading names it: when it started, its verdict and method, and the file it
    was read from (which this run may have replaced since: the run, not the path, is what was compared)."""
    doc = previous.doc
    verdict = str(mapping(doc.get("verdict")).get("name") or "").replace("_", " ")
    about = ", ".join(str(x) for x in (verdict, doc.get("method")) if x)
    return (f"the run of {doc.get('started_at') or 'an unknown time'}" + (f" ({about})" if about else "")
            + f", read from {previous.path} before this run")


def write_summary(doc: Mapping[str, Any], directory: Path, *, compare_with: PreviousReport | None = None) -> list[Path]:
    """Write ``summary.html`` (with what changed since ``compare_with``, a previous report read before this run wrote
    any, when given) and ``state-machine.svg`` into ``directory``; returns their paths."""
    changes = diff_reports(compare_with.doc, doc) if compare_with is not None else None
    html = directory / SUMMARY_NAME
    compared_with = previous_run(compare_with) if compare_with is not None else ""
    html.write_text(render_summary(doc, changes=changes, compared_with=compared_with), encoding="utf-8")
    svg = directory / STATE_MACHINE_NAME
    svg.write_text(render_svg(doc["coverage"]["transitions"]), encoding="utf-8")
    return [html, svg]


def render_summary(doc: Mapping[str, Any], *, changes: Diff | None = None, compared_with: str = "") -> str:
    """The HTML page for a report document; ``changes`` (from ``compared_with``, a previous report) adds what
    changed since."""
    reqs = doc["requirements"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(SUMMARY_TITLE)}: {_e(_label(doc['verdict']['name']))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(SUMMARY_TITLE)}</h1>",
        _verdict(doc), _counts(doc["counts"]), _changes(changes, compared_with), _failures(doc),
        _measurements(doc.get("measurements") or []),
        '<nav><a href="#state-machine-section">state machine</a> · <a href="#meta">run</a> · '
        '<a href="#coverage-operations">coverage</a> · <a href="#requirements">requirements</a></nav>',
        _state_machine(doc["coverage"]["transitions"]),
        _meta(doc), _settings(doc["target"].get("settings") or {}), _runs(doc.get("runs")), _unexpected(doc),
        _operations_grid(doc["coverage"]["operations"]), _transitions_grid(doc["coverage"]["transitions"]),
        _requirements([r for r in reqs if r["status"] != PASSED], [r for r in reqs if r["status"] == PASSED]),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _changes(changes: Diff | None, compared_with: str) -> str:
    """What changed since the previous report: regressions first, then fixes, then newly exercised requirements
    (judged now, not judged before: not exercised, skipped or not in the catalog), a failing one marked."""
    if changes is None:
        return ""
    newly = [c for c in changes.changes if c.old in NOT_JUDGED and c.new not in NOT_JUDGED]
    others = [c for c in changes.changes if c not in newly]
    regressions = [("regression", c, "passed → " + _label(c.new)) for c in changes.regressions]
    rest = ([("warning", c, "passed → a SHOULD not met (a warning)") for c in changes.warnings]
            + [("fix", c, _label(c.old) + " → passed") for c in changes.fixes]
            + [("newly-exercised" + ("" if c.new == PASSED else " failing"), c, f"{_label(c.old)} → {_label(c.new)}")
               for c in newly]
            + [("change", c, f"{_label(c.old)} → {_label(c.new)}") for c in others])
    head = (f"{len(changes.regressions)} regression(s), "
            + (f"{len(changes.warnings)} new warning(s), " if changes.warnings else "")
            + f"{len(changes.fixes)} fix(es), {len(newly)} newly "
            f"exercised, {len(others)} other change(s), {changes.unchanged} unchanged")
    # The first regressions stay in view; the rest is folded, so that the failures below stay on the first screen.
    shown, hidden = regressions[:MAX_REGRESSIONS_SHOWN], regressions[MAX_REGRESSIONS_SHOWN:]
    more = (f'<details id="more-regressions"><summary>{len(hidden)} more regression(s)</summary>'
            f"{_change_list(hidden)}</details>" if hidden else "")
    folded = (f'<details id="other-changes"><summary>{len(rest)} fix(es), newly exercised and other change(s)'
              f"</summary>{_change_list(rest)}</details>" if rest else "")
    return (f'<section id="changes"><h2>Since {_e(compared_with or "the previous report")}</h2><p>{_e(head)}</p>'
            f"{_change_list(shown)}{more}{folded}</section>")


def _change_list(items: Sequence[tuple[str, Any, str]]) -> str:
    listed = "".join(f'<li class="{kind}" data-requirement="{_e(c.requirement)}"><a href="#req-{_e(c.requirement)}">'
                     f'{_e(c.requirement)}</a> {_e(what)}: {_e(c.statement)}</li>' for kind, c, what in items)
    return f"<ul>{listed}</ul>" if listed else ""


def _measurements(rows: Sequence[Mapping[str, Any]]) -> str:
    """The numbers the checks judged (races, guessing, timing), with what they were held to; in a merged report of
    several runs (methods), which run measured each."""
    if not rows:
        return ""
    runs = any("run" in m for m in rows)
    body = "".join(
        f'<tr data-requirement="{_e(m["requirement"])}" class="{"" if m["passed"] else "st-failed"}">'
        f'<td class="id"><a href="#req-{_e(m["requirement"])}">{_e(m["requirement"])}</a></td>'
        + (f'<td class="run">{_e(m.get("run", ""))}</td>' if runs else "")
        + f'<td>{_e(m["name"])}</td><td class="n">{_e(_number(m["value"]))} {_e(m["unit"])}</td>'
        f'<td>{_e(m["limit"])}</td><td>{"" if m["passed"] else "over the limit"}</td></tr>' for m in rows)
    return (f'<h2>Measurements</h2><table id="measurements"><tr><th>requirement</th>{"<th>run</th>" if runs else ""}'
            f'<th>what</th><th>value</th><th>held to</th><th></th></tr>{body}</table>')


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3g}"


def _state_machine(transitions: Sequence[Mapping[str, Any]]) -> str:
    return ('<h2 id="state-machine-section">The state machine as this run walked it</h2>'
            '<p class="muted">every edge: submissions from one state to another, counted per client kind; red: seen '
            'in a failing test; dashed: a transition the run never walked</p>'
            f"{render_svg(transitions, standalone=False)}")


def _verdict(doc: Mapping[str, Any]) -> str:
    v = doc["verdict"]
    tolerated = tolerated_in(doc["requirements"])
    said = (f'<small id="tolerated">{_e(tolerated_line(tolerated, str(doc.get("profile") or "")))}</small>'
            if tolerated else "")  # so that a green gate is never read as a clean one
    return (f'<div id="verdict" class="verdict v-{_e(v["name"])}" data-verdict="{_e(v["name"])}" '
            f'data-exit-code="{int(v["exit_code"])}">{_e(_label(v["name"]).upper())} '
            f'(exit code {int(v["exit_code"])})<small>{_e(v["reason"])}</small>{said}</div>')


def _meta(doc: Mapping[str, Any]) -> str:
    target = doc["target"]
    where = target["public_url"] or "?"
    if target["embedded"]:
        faults = ", ".join(target["reference_faults"]) or "none"
        where = f"embedded reference target ({where}), faults: {faults}"
    rows = [
        ("target", where), ("admin API", "yes" if target["admin_api"] else "no"), ("profile", doc["profile"]),
        ("method", doc["method"] or "unknown"), ("seed", doc["seed"] if doc["seed"] is not None else "none"),
        ("suite", f"{doc['suite']['name']} {doc['suite']['version']} (Python {doc['python']})"),
        ("dependencies", ", ".join(f"{k} {v}" for k, v in doc["dependencies"].items())),
        ("started / finished", f"{doc['started_at']} / {doc['finished_at']} ({doc['duration_seconds']:.1f} s)"),
        ("expected-failures file", doc["expected_failures_file"] or "none"),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta" id="meta">{body}</table>'


def _settings(settings: Mapping[str, Any]) -> str:
    """The settings the run judged by, each with where its value came from (given, learned, served, default): a
    check against a learned value shows the server is consistent, not that it is configured as it should be."""
    if not settings:
        return ""
    rows = "".join(
        f'<tr data-setting="{_e(name)}" data-source="{_e(entry.get("source"))}"><td>{_e(name)}</td>'
        f'<td><code>{_e(json.dumps(entry.get("value")))}</code></td><td>{_e(entry.get("source"))}</td></tr>'
        for name, entry in sorted(settings.items()) if isinstance(entry, Mapping))
    return (f'<details id="settings"><summary>settings the run judged by, and where each came from</summary>'
            f'<table><tr><th>setting</th><th>value</th><th>source</th></tr>{rows}</table></details>')


def _counts(counts: Mapping[str, int]) -> str:
    chips = "".join(f'<span class="chip st-{s}" data-status="{s}">{_e(_label(s))}: {int(counts[s])}</span>'
                    for s in STATUSES)
    return f'<p id="counts">{chips}</p>'


def _runs(runs: Sequence[Mapping[str, Any]] | None) -> str:
    if not runs:
        return ""
    rows = "".join(
        f'<tr><td>{_e(r["label"])}</td><td>{_e(r["method"])}</td>'
        f'<td class="v-{_e(r["verdict"]["name"])}" style="color:#fff">{_e(_label(r["verdict"]["name"]))}</td>'
        f'<td>{_e(r["verdict"]["reason"])}</td><td><a href="{_e(r["summary"])}">summary</a> · '
        f'<a href="{_e(r["report"])}">JSON</a></td></tr>'
        for r in runs)
    return (f'<h2>Runs</h2><table id="runs"><tr><th>run</th><th>method</th><th>verdict</th><th>why</th>'
            f"<th>reports</th></tr>{rows}</table>")


def _unexpected(doc: Mapping[str, Any]) -> str:
    ids = doc["unexpectedly_passing"]
    if not ids:
        return ""
    links = ", ".join(f'<a href="#req-{_e(i)}">{_e(i)}</a>' for i in ids)
    return f'<p class="warn" id="unexpectedly-passing">{_e(UNEXPECTEDLY_PASSING)}: {links}</p>'


def _requirements(open_ones: Sequence[Mapping[str, Any]], passed: Sequence[Mapping[str, Any]]) -> str:
    """The requirements that did not pass in a table, the passed ones after them in a closed ``details``."""
    head = ('<thead><tr><th>id</th><th>level</th><th>area</th><th>status</th><th>statement</th><th>why</th></tr>'
            '</thead>')
    return (f'<h2>Requirements not passed ({len(open_ones)})</h2><table id="requirements">{head}<tbody>'
            f'{_requirement_rows(open_ones)}</tbody></table>'
            f'<details id="passed-requirements-section"><summary>Requirements passed ({len(passed)})</summary>'
            f'<table id="passed-requirements">{head}<tbody>{_requirement_rows(passed)}</tbody></table></details>')


def _requirement_rows(reqs: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for r in reqs:
        why = _e(r["reason"])
        if r["status"] == PASSED and r.get("judged_by"):
            why = _e(_evidence(r["judged_by"]))
            if r.get("known_defects"):
                why += f'<br><span class="warn">{_e(r["reason"])}</span>'  # the known defect stays visible
        if r["expected_failure"]:
            link = r["expected_failure"]["link"]
            why += f' <a href="{_e(link)}">tracked</a>' if link.startswith(("http://", "https://")) else ""
        rows.append(
            f'<tr id="req-{_e(r["id"])}" class="requirement" data-status="{_e(r["status"])}">'
            f'<td class="id">{_e(r["id"])}</td><td>{_e(r["level"])}</td><td>{_e(r["area"])}</td>'
            f'<td class="status st-{_e(r["status"])}">{_e(_label(r["status"]))}</td>'
            f'<td>{_e(r["statement"])}</td><td>{why}</td></tr>')
    return "".join(rows)


def _evidence(judged_by: Mapping[str, int]) -> str:
    """What passed a requirement, e.g. ``565 answers judged: contract 540, status 25``."""
    parts = ", ".join(f"{name} {n}" for name, n in sorted(judged_by.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{sum(judged_by.values())} answers judged: {parts}"


def _kinds(values: Iterable[str]) -> list[str]:
    found = set(values)
    return [k for k in KIND_ORDER if k in found] + sorted(found - set(KIND_ORDER))


def _cell(n: int, *, error: bool = False, title: str = "") -> str:
    if not n:
        return '<td class="n zero">·</td>'
    classes = "n hit err" if error else "n hit"
    return f'<td class="{classes}" title="{_e(title)}">{n}</td>'


def _operations_grid(rows: Sequence[Mapping[str, Any]]) -> str:
    """Operation x client kind rows, status code columns, counts in the cells (contract operations only)."""
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for r in rows:
        if r["contract"]:
            counts[(r["operation"], r["client_kind"])][r["status"]] = r["count"]
    statuses = sorted({s for cell in counts.values() for s in cell})
    kinds = _kinds(k for _, k in counts)
    head = "".join(f"<th>{s}</th>" for s in statuses)
    body = []
    for op in CONTRACT_OPERATIONS:
        for i, kind in enumerate(kinds):
            row = counts.get((op, kind), {})
            op_cell = f'<th rowspan="{len(kinds)}">{_e(op)}</th>' if i == 0 else ""
            cells = "".join(_cell(row.get(s, 0), error=s >= 400, title=f"{op} {s} {kind}") for s in statuses)
            body.append(f"<tr>{op_cell}<td>{_e(kind)}</td>{cells}</tr>")
    others = sum(r["count"] for r in rows if not r["contract"])
    note = f'<p class="muted">plus {others} exchange(s) outside the contract (admin API, UI pages).</p>' if others \
        else ""
    return (f'<h2>Coverage: operation × status code × client kind</h2><div class="wide">'
            f'<table class="grid" id="coverage-operations">'
            f'<tr><th>operation</th><th>client</th>{head}</tr>{"".join(body)}</table></div>{note}')


def _state_order(label: str) -> tuple[int, str]:
    """Flow states in lifecycle order, then everything else (new flows, redirects, errors) alphabetically."""
    return (STATE_ORDER.index(label) if label in STATE_ORDER else len(STATE_ORDER), label)


def _transitions_grid(rows: Sequence[Mapping[str, Any]]) -> str:
    """State before (rows) x state after (columns), counts over every client kind and submission operation."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    detail: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        counts[(r["from"], r["to"])] += r["count"]
        detail[(r["from"], r["to"])].append(f'{r["client_kind"]} {r["operation"]}: {r["count"]}')
    befores = sorted({f for f, _ in counts}, key=_state_order)
    afters = sorted({t for _, t in counts}, key=_state_order)
    head = "".join(f"<th>{_e(t)}</th>" for t in afters)
    body = "".join(
        f"<tr><th>{_e(f)}</th>"
        + "".join(_cell(counts.get((f, t), 0), error=t.startswith("error"), title="; ".join(detail[(f, t)]))
                  for t in afters)
        + "</tr>"
        for f in befores)
    return (f'<h2>Coverage: state transitions (before → after a submission)</h2>'
            f'<div class="wide"><table class="grid" id="coverage-transitions"><tr><th>before \\ after</th>{head}</tr>'
            f'{body}</table></div>')


def _exchange_text(ex: Mapping[str, Any]) -> str:
    """The redacted transcript of a recorded exchange (as :meth:`Exchange.render` shows it)."""
    return Exchange(**ex, started_at=0.0, response=None).render()  # type: ignore[arg-type]


def cause_of(failure: Mapping[str, Any]) -> str:
    """The one line that says what went wrong: the first line of the check's detail (a schema failure already
    names the offending JSON path and the rule; a status failure says what was expected and what came)."""
    lines = [line.strip() for line in str(failure.get("detail") or "").splitlines() if line.strip()]
    first = lines[0] if lines else f"check {failure.get('check')} failed"
    return first if len(first) <= 400 else first[:400] + "..."


def curl_of(failure: Mapping[str, Any]) -> str | None:
    """The curl line that repeats the failing request: the one the detail carries (fuzzing), else one built from the
    recorded exchange it is about (already redacted): a check's first piece of evidence, or for a test that failed
    outside any check the last request it sent before failing."""
    for line in str(failure.get("detail") or "").splitlines():
        if line.strip().startswith(("curl ", "printf ")):
            return line.strip()
    exchanges = failure.get("exchanges") or []
    if not exchanges:
        return None
    return curl_for_exchange(exchanges[-1] if failure.get("check") == OUTSIDE_CHECKS else exchanges[0])


def _failure(f: Mapping[str, Any]) -> str:
    run = f'[{_e(f["run"])}] ' if f.get("run") else ""
    curl = curl_of(f)
    exchanges = "".join(
        f'<details><summary>exchange {i}/{len(f["exchanges"])}: {_e(ex["method"])} {_e(ex["operation"])} '
        f'({_e(ex["client_kind"])}) → {int(ex["status"])}</summary><pre>{_e(_exchange_text(ex))}</pre></details>'
        for i, ex in enumerate(f["exchanges"], 1))
    return (f'<div class="failure"><p class="cause">{_e(cause_of(f))}</p>'
            + (f'<pre class="curl">{_e(curl)}</pre>' if curl else "")
            + (f'<p class="muted curl-note">{REDACTED_NOTE}</p>' if curl and REDACTED in curl else "")
            + f'<div class="muted">{run}<code>{_e(f["test"])}</code> — check <code>{_e(f["check"])}</code></div>'
            f'<details><summary>the whole failure</summary><pre>{_e(f["detail"])}</pre></details>{exchanges}</div>')


def _failures(doc: Mapping[str, Any]) -> str:
    """What failed: the failed requirements (catalog order), the tests that failed outside any requirement, then the
    SHOULD requirements not met that the verdict counts as warnings, and the expected failures (neither fails the
    gate, so they never push a real failure down)."""
    warned = set(doc["verdict"].get("warnings") or ())
    failed = [r for r in doc["requirements"] if r["status"] == "failed" and r["id"] not in warned]
    warnings = [r for r in doc["requirements"] if r["status"] == "failed" and r["id"] in warned]
    expected = [r for r in doc["requirements"] if r["status"] == "expected_failure"]
    sections = [_requirement_failures(r) for r in failed]
    for u in doc["unattributed_failures"]:
        sections.append(f'<section class="unattributed"><h3>test failed outside any requirement</h3>'
                        f'<code>{_e(u["test"])}</code><pre>{_e(u["reason"])}</pre></section>')
    sections += [_requirement_failures(r) for r in warnings + expected]
    body = "".join(sections) or '<p class="muted">none</p>'
    return f'<h2>What failed</h2><div id="failures">{body}</div>'


def _should_chip(r: Mapping[str, Any]) -> str:
    """For a SHOULD requirement, a chip saying so (not met, it is a warning unless --should-failures fail)."""
    return ' <span class="chip level-should">SHOULD</span>' if r.get("level") == "SHOULD" else ""


def _requirement_failures(r: Mapping[str, Any]) -> str:
    """A failed (or expected-to-fail) requirement with its first failures."""
    shown = r["failures"][:MAX_FAILURES_SHOWN]
    more = len(r["failures"]) - len(shown)
    more_note = f'<p class="muted">and {more} more in conformance-report.json</p>' if more > 0 else ""
    return (f'<section class="requirement-failures" data-requirement="{_e(r["id"])}">'
            f'<h3><a href="#req-{_e(r["id"])}">{_e(r["id"])}</a> <span class="chip st-{_e(r["status"])}">'
            f'{_e(_label(r["status"]))}</span>{_should_chip(r)} {_e(r["statement"])}</h3>'
            f'{"".join(_failure(f) for f in shown)}{more_note}</section>')
