"""``conformance-report.json``: the machine-readable result of a run (schema: ``conformance-report.schema.json``).

One run gives one report. :func:`merge_reports` combines the reports of several runs (one per verification method
of the embedded target) into one of the same shape, with a ``runs`` list pointing at the parts. The format is
documented in ``docs/reports.md``.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema

from kratos_conformance.errors import CannotJudge
from kratos_conformance.report.coverage import merge_matrices
from kratos_conformance.report.results import STATUSES, RequirementResult, TestRecord, Verdict, status_counts

FORMAT = "kratos-conformance-report"
FORMAT_VERSION = 2
REPORT_NAME = "conformance-report.json"
SUMMARY_NAME = "summary.html"
SCHEMA_PATH = Path(__file__).with_name("conformance-report.schema.json")
DISTRIBUTION = "kratos-conformance"


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@lru_cache(maxsize=1)
def versions() -> tuple[str, dict[str, str]]:
    """(suite version, {dependency: installed version}) from the installed distribution's metadata."""
    try:
        suite = metadata.version(DISTRIBUTION)
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        from kratos_conformance import __version__

        return __version__, {}
    deps: dict[str, str] = {}
    for spec in declared:
        m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
        if m is None:
            continue
        try:
            deps[m.group(0).lower()] = metadata.version(m.group(0))
        except metadata.PackageNotFoundError:
            continue  # an optional (dev) dependency that is not installed
    return suite, dict(sorted(deps.items()))


def build_report(*, target: dict[str, Any], profile: str, method: str | None, seed: str | None,
                 started_at: str, finished_at: str, duration: float, verdict: Verdict,
                 results: Sequence[RequirementResult], records: Sequence[TestRecord],
                 unattributed: Sequence[Mapping[str, str]], coverage: dict[str, Any],
                 expected_failures_path: str | None) -> dict[str, Any]:
    """The report document of one run."""
    suite_version, deps = versions()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "suite": {"name": DISTRIBUTION, "version": suite_version},
        "dependencies": deps,
        "python": platform.python_version(),
        "target": target,
        "profile": profile,
        "method": method,
        "seed": seed,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_seconds": round(duration, 3),
        "verdict": {"name": verdict.name, "exit_code": verdict.exit_code, "reason": verdict.reason,
                    "warnings": list(verdict.warnings)},
        "counts": status_counts(r.status for r in results),
        "unexpectedly_passing": [r.id for r in results if r.unexpectedly_passing],
        "expected_failures_file": expected_failures_path,
        "requirements": [r.as_dict() for r in results],
        "unattributed_failures": [dict(u) for u in unattributed],
        "tests": [
            {"nodeid": r.nodeid, "outcome": r.outcome, "reason": r.reason, "kind": r.kind,
             "requirements": r.markers, "duration": round(r.duration, 3)}
            for r in records
        ],
        "measurements": [{**m, "test": r.nodeid} for r in records for m in r.measurements],
        "coverage": coverage,
    }


def write_report(doc: Mapping[str, Any], directory: Path) -> Path:
    """Write ``doc`` as ``<directory>/conformance-report.json``; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The report's JSON Schema."""
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def validation_problems(doc: Any) -> list[str]:
    """Every way ``doc`` breaks the schema (empty: it is a valid report)."""
    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def upgraded(doc: Any) -> Any:
    """A report of an earlier format version in the current one (format 1 called the expected-failures file and
    its entries a ``ledger``); anything else as it is."""
    if not isinstance(doc, dict) or doc.get("format_version") != 1:
        return doc
    doc = {("expected_failures_file" if key == "expected_failures_ledger" else key): value
           for key, value in doc.items()}
    doc["format_version"] = FORMAT_VERSION
    doc["requirements"] = [{("expected_failure" if key == "ledger" else key): value for key, value in req.items()}
                           if isinstance(req, dict) else req for req in doc.get("requirements") or []]
    return doc


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and validate a report; raises :class:`CannotJudge` (one line) if it is missing or not a report."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotJudge(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError:
        raise CannotJudge(f"{path}: not JSON") from None
    doc = upgraded(doc)
    problems = validation_problems(doc)
    if problems:
        raise CannotJudge(f"{path}: not a conformance report ({problems[0]})")
    return dict(doc)


def merge_reports(parts: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """Combine the reports of several runs, given as (label, report), into one report of the same format.

    A requirement takes the worst status any run gave it (failed > expected failure > passed > skipped > not
    exercised): a requirement for the code method passes in the code run and is skipped in the link run, so it
    passes. The verdict is the worst exit code. Each run's reports are expected in ``<label>/`` next to the merged
    report (``runs[].report``, ``runs[].summary``).
    """
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0][1]
    by_id: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for label, doc in parts:
        for req in doc["requirements"]:
            by_id.setdefault(req["id"], []).append((label, req))
    requirements = [_merge_requirement(entries) for entries in by_id.values()]
    worst = max((doc["verdict"] for _, doc in parts), key=lambda v: v["exit_code"])
    return {
        **{k: first[k] for k in ("format", "format_version", "suite", "dependencies", "python", "target",
                                 "profile", "seed", "expected_failures_file")},
        "method": ",".join(str(doc["method"]) for _, doc in parts if doc["method"]) or None,
        "started_at": min(doc["started_at"] for _, doc in parts),
        "finished_at": max(doc["finished_at"] for _, doc in parts),
        "duration_seconds": round(sum(doc["duration_seconds"] for _, doc in parts), 3),
        "verdict": {"name": worst["name"], "exit_code": worst["exit_code"],
                    "reason": "; ".join(f"{label}: {doc['verdict']['reason']}" for label, doc in parts),
                    "warnings": sorted({rid for _, doc in parts for rid in doc["verdict"].get("warnings", [])})},
        "counts": status_counts(r["status"] for r in requirements),
        "unexpectedly_passing": sorted({rid for _, doc in parts for rid in doc["unexpectedly_passing"]}),
        "requirements": requirements,
        "unattributed_failures": [{**u, "run": label} for label, doc in parts for u in doc["unattributed_failures"]],
        "tests": [{**t, "run": label} for label, doc in parts for t in doc["tests"]],
        "measurements": [{**m, "run": label} for label, doc in parts for m in doc.get("measurements", [])],
        "coverage": merge_matrices(doc["coverage"] for _, doc in parts),
        "runs": [_run_entry(label, doc) for label, doc in parts],
    }


def _merge_requirement(entries: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    label, worst = min(entries, key=lambda e: STATUSES.index(e[1]["status"]))
    merged = dict(worst)
    merged["reason"] = f"{label}: {worst['reason']}" if worst["reason"] else ""
    merged["tests"] = sorted({t for _, req in entries for t in req["tests"]})
    merged["passed_checks"] = sum(req["passed_checks"] for _, req in entries)
    judged_by: dict[str, int] = {}
    for _, req in entries:
        for name, n in (req.get("judged_by") or {}).items():
            judged_by[name] = judged_by.get(name, 0) + n
    merged["judged_by"] = judged_by
    merged["failures"] = [{**f, "run": lbl} for lbl, req in entries for f in req["failures"]]
    merged["expected_failure"] = next((req["expected_failure"] for _, req in entries if req["expected_failure"]), None)
    merged["unexpectedly_passing"] = any(req["unexpectedly_passing"] for _, req in entries)
    merged["known_defects"] = [{**k, "run": lbl} for lbl, req in entries for k in req.get("known_defects") or []]
    tolerated = next(((lbl, req) for lbl, req in entries if req.get("known_defects")), None)
    if merged["status"] == "passed" and tolerated is not None:  # the defect of one run stays visible
        merged["reason"] = f"{tolerated[0]}: {tolerated[1]['reason']}"
    return merged


def _run_entry(label: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": label, "method": doc["method"], "target": doc["target"], "verdict": doc["verdict"],
            "counts": doc["counts"], "report": f"{label}/{REPORT_NAME}", "summary": f"{label}/{SUMMARY_NAME}"}
