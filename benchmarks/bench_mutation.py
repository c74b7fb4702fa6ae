"""Benchmark: the mutation matrix's wall time, the time of each run, and what that time goes into.

Runs ``kratos_conformance.mutation`` (every fault once, the clean target three times per method; scenarios and
security, with fuzz at the smoke budget in the clean runs and those of ``FUZZ_FAULTS``, or in every run with
``--fuzz-every-run``) and prints:

- the matrix's wall time and mutation score, for each ``--jobs`` value asked for (default: 2 and 3);
- per run: wall time (mean, median, min, max; clean and fault runs apart) and CPU seconds (pytest plus the
  reference target it started, as the launcher measured them);
- where a run's wall time goes, averaged over the runs: process start (interpreter, imports, collection),
  reference start (the ``conformance_run`` fixture: SMTP sink, reference target process, reachability check),
  scenarios and fuzz (their tests minus the waits inside them), waits (``time.sleep``: flows and codes left to
  expire, mail polling, other), and the end (session finish, reports, process exit);
- CPU use: the CPU seconds of all runs against cores x wall time.

To measure it loads itself into every run as a pytest plugin (``-p benchmarks.bench_mutation``): the hooks at the
bottom wrap ``time.sleep`` and time the phases, and write ``bench-timing.json`` beside each run's JUnit XML.

Run: .venv/bin/python benchmarks/bench_mutation.py [--jobs 2,3] [--launchers fork,spawn] [--no-fuzz]
     [--fuzz-every-run] [--faults a,b]
     [--clean-runs 3] [--json out.json] [-v]
This is a benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PLUGIN = "benchmarks.bench_mutation"
TIMING_FILE = "bench-timing.json"


# ============================================================================================ the benchmark

def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _describe(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"mean {_mean(values):5.1f}s  median {statistics.median(values):5.1f}s  min {min(values):5.1f}s  "
            f"max {max(values):5.1f}s  (n={len(values)})")


def breakdown(run_dir: Path, wall: float) -> dict[str, float] | None:
    """Where one run's wall time went, from the plugin's timing file (None if the run wrote none)."""
    try:
        t = json.loads((run_dir / TIMING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    waits = t["waits"]
    scenario_waits = sum(v for (suite, _), v in _pairs(waits) if suite == "scenarios")
    fuzz_waits = sum(v for (suite, _), v in _pairs(waits) if suite == "fuzz")
    result = {
        "process start": t["collected"] - t["process_start"],
        "reference start": t["reference_start"],
        "scenarios": max(0.0, t["suite_seconds"].get("scenarios", 0.0) - scenario_waits
                         - t["reference_start_in"].get("scenarios", 0.0)),
        "fuzz": max(0.0, t["suite_seconds"].get("fuzz", 0.0) - fuzz_waits - t["reference_start_in"].get("fuzz", 0.0)),
    }
    for (_suite, kind), seconds in _pairs(waits):
        key = f"waits: {kind}"
        result[key] = result.get(key, 0.0) + seconds
    accounted = sum(result.values())
    result["other (between tests, session end, exit)"] = max(0.0, wall - accounted)
    return result


def _pairs(waits: dict[str, float]) -> list[tuple[tuple[str, str], float]]:
    return [(tuple(key.split("|", 1)), value) for key, value in waits.items()]  # type: ignore[misc]


def bench(jobs: int, launcher: str, args: argparse.Namespace) -> dict[str, Any]:
    from kratos_conformance.mutation import MatrixOptions, run_matrix

    report_dir = Path(tempfile.mkdtemp(prefix=f"bench-mutation-{launcher}-j{jobs}-"))
    options = MatrixOptions(report_dir=report_dir, jobs=jobs, clean_runs=args.clean_runs,
                            faults=tuple(f for f in args.faults.split(",") if f), pytest_args=("-p", PLUGIN),
                            fork=launcher == "fork", fuzz=not args.no_fuzz, fuzz_every_run=args.fuzz_every_run)
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    matrix = run_matrix(options, progress=lambda r, done, total: print(
        f"    [{done:>2}/{total}] {r.name:<42} {r.wall:5.1f}s {r.verdict}", flush=True) if args.verbose else None)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_total = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    parts: list[dict[str, float]] = []
    for run in matrix.runs:
        found = breakdown(report_dir / "runs" / run.name, run.wall)
        if found is not None:
            parts.append(found)
    keys = sorted({k for p in parts for k in p}, key=_order)
    cores = os.cpu_count() or 1
    summary = {
        "jobs": jobs,
        "launcher": matrix.options.get("launcher", launcher),
        "fuzz": not args.no_fuzz,
        "wall": round(matrix.wall, 1),
        "runs": len(matrix.runs),
        "score": f"{len(matrix.caught)}/{len(matrix.faults)}",
        "clean_ok": matrix.clean_ok,
        "run_wall": [r.wall for r in matrix.runs],
        "clean_wall": [r.wall for r in matrix.clean_runs],
        "fault_wall": [r.wall for r in matrix.runs if r.fault],
        "breakdown_mean": {k: round(_mean([p.get(k, 0.0) for p in parts]), 2) for k in keys},
        "cpu_per_run_mean": round(_mean([r.cpu for r in matrix.runs if r.cpu is not None]), 2),
        "cpu_total": round(cpu_total, 1),
        "cpu_capacity": round(cores * matrix.wall, 1),
        "cores": cores,
        "load_before": round(load_before, 2),
        "report_dir": str(report_dir),
    }
    return summary


def _order(key: str) -> tuple[int, str]:
    order = ["process start", "reference start", "scenarios", "fuzz"]
    return (order.index(key), key) if key in order else (len(order) + (key.startswith("other")), key)


def show(s: dict[str, Any]) -> None:
    print(f"  jobs {s['jobs']}, {s['launcher']}{'' if s['fuzz'] else ', no fuzz'}: matrix wall {s['wall']:.1f}s for "
          f"{s['runs']} runs; score {s['score']}; clean runs "
          f"{'passed' if s['clean_ok'] else 'NOT all passed'}; load average before start {s['load_before']}")
    print(f"    per run        {_describe(s['run_wall'])}")
    print(f"    clean runs     {_describe(s['clean_wall'])}")
    print(f"    fault runs     {_describe(s['fault_wall'])}")
    print(f"    CPU per run    {s['cpu_per_run_mean']:.1f}s (pytest + its reference target); all runs "
          f"{s['cpu_total']:.0f} CPU-s of {s['cpu_capacity']:.0f} available ({s['cores']} cores x wall) = "
          f"{s['cpu_total'] / max(s['cpu_capacity'], 1e-9):.0%}")
    print("    where a run's wall time goes (mean per run):")
    total = sum(s["breakdown_mean"].values()) or 1.0
    for key, value in s["breakdown_mean"].items():
        print(f"      {key:<42} {value:6.2f}s  {value / total:4.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="2,3", help="comma-separated parallel-run counts to compare (default 2,3)")
    parser.add_argument("--launchers", default="fork",
                        help="comma-separated: fork (runs forked from a fork server, the default) and/or spawn "
                             "(a fresh python process per run)")
    parser.add_argument("--no-fuzz", action="store_true", help="scenarios only (to see what the fuzzing costs)")
    parser.add_argument("--fuzz-every-run", action="store_true", help="fuzz in every fault run, as before FUZZ_FAULTS")
    parser.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    parser.add_argument("--clean-runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--verbose", "-v", action="store_true", help="a line per finished run")
    args = parser.parse_args(argv)
    results = []
    for launcher in [x.strip() for x in args.launchers.split(",") if x.strip()]:
        for jobs in [int(j) for j in args.jobs.split(",") if j.strip()]:
            print(f"== mutation matrix: {jobs} parallel runs, {launcher} ({os.cpu_count()} cores) ==", flush=True)
            summary = bench(jobs, launcher, args)
            show(summary)
            results.append(summary)
    from kratos_conformance.mutation import TIME_BUDGET_SECONDS

    for summary in results:
        verdict = "within" if summary["wall"] <= TIME_BUDGET_SECONDS else "OVER"
        print(f"== {summary['launcher']} jobs {summary['jobs']}: {summary['wall']:.1f}s, {verdict} the matrix's "
              f"{TIME_BUDGET_SECONDS} s budget ==")
    if len(results) > 1:
        best = min(results, key=lambda s: s["wall"])
        print("== " + ", ".join(f"{s['launcher']} jobs {s['jobs']}: {s['wall']:.1f}s" for s in results)
              + f"; fastest: {best['launcher']} jobs {best['jobs']} ==")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


# ================================================================================ the in-run timing plugin

_state: dict[str, Any] = {"suite": "setup", "waits": {}, "suite_seconds": {}, "reference_start": 0.0,
                          "reference_start_in": {}}
_main_thread = threading.main_thread()
_real_sleep = time.sleep


def _process_start_epoch() -> float:
    """When this process started (Linux /proc), as a Unix time; now if it cannot be told."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


def _timed_sleep(seconds: float) -> None:
    if threading.current_thread() is not _main_thread:
        return _real_sleep(seconds)
    caller = sys._getframe(1).f_code.co_filename.replace("\\", "/")
    if caller.endswith("suites/conftest.py"):
        kind = "flows and codes expiring"
    elif "/mail/" in caller:
        kind = "mail polling"
    else:
        kind = "other"
    started = time.perf_counter()
    try:
        return _real_sleep(seconds)
    finally:
        key = f"{_state['suite']}|{kind}"
        _state["waits"][key] = _state["waits"].get(key, 0.0) + time.perf_counter() - started


def _suite_of(nodeid: str) -> str:
    if nodeid.startswith("suites/fuzz"):
        return "fuzz"
    return "scenarios" if nodeid.startswith("suites/scenarios") else "other"


def pytest_configure(config: Any) -> None:
    _state["process_start"] = _process_start_epoch()
    time.sleep = _timed_sleep  # type: ignore[assignment]


def pytest_collection_finish(session: Any) -> None:
    _state["collected"] = time.time()


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _state["suite"] = _suite_of(nodeid)


def pytest_runtest_logreport(report: Any) -> None:
    suite = _suite_of(report.nodeid)
    _state["suite_seconds"][suite] = _state["suite_seconds"].get(suite, 0.0) + report.duration


def _fixture_setup_wrapper() -> Any:
    import pytest

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(fixturedef: Any, request: Any) -> Any:
        if fixturedef.argname != "conformance_run":
            return (yield)
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            seconds = time.perf_counter() - started
            _state["reference_start"] += seconds
            suite = _state["suite"]
            _state["reference_start_in"][suite] = _state["reference_start_in"].get(suite, 0.0) + seconds

    return pytest_fixture_setup


if "pytest" in sys.modules:  # loaded as a plugin
    pytest_fixture_setup = _fixture_setup_wrapper()


def pytest_unconfigure(config: Any) -> None:
    time.sleep = _real_sleep  # type: ignore[assignment]
    xml = getattr(config.option, "xmlpath", None)
    if not xml:
        return
    data = {**_state, "finished": time.time()}
    data.setdefault("collected", data["finished"])
    Path(xml).parent.joinpath(TIMING_FILE).write_text(json.dumps(data, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
