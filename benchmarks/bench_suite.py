"""Benchmark: time to verdict per run profile, against the floor a bare HTTP client sets.

For each run (smoke; the scenario suite alone; default = scenarios + fuzzing; deep) and each method (code, link) the
suite runs against the embedded reference target as ``make conformance`` runs it, in a fresh process, with every
HTTP exchange captured (``benchmarks/capture_plugin.py``). The benchmark prints the wall time from command to
verdict, pytest's session time, the number of HTTP exchanges and exchanges per second, the floor and the ratio
session/floor. The floor is the same requests replayed in order by a bare httpx client against a fresh reference
target (``benchmarks/replay.py``), rewritten to the replay's own ids, cookies and codes, and held back only where
the target's lifespans force any client to wait (a request the run sent to an expired flow waits until the
replay's flow has expired too); the replay without those waits is printed next to it.

It also times the default profile with pytest-xdist (-n 2), the capture's own overhead (the scenario suite with and
without it), and the reference target's throughput (flows created and submitted per second). Figures are printed
and written to reports/bench.json.

Run: make bench   (or .venv/bin/python benchmarks/bench_suite.py [--runs smoke,scenarios] [--methods code])
This is a benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.process import run_measured  # noqa: E402
from benchmarks.replay import replay  # noqa: E402
from kratos_conformance.mail import SmtpSink  # noqa: E402
from kratos_conformance.run.embedded_target import FLOW_LIFESPAN, EmbeddedTarget  # noqa: E402
from kratos_conformance.run.options import CAPTURE_ENV  # noqa: E402

#: each benchmarked run: its run profile and suites (the browser walks are left out: Chromium dominates them).
RUNS = {"smoke": ("smoke", "scenarios"), "scenarios": ("default", "scenarios"),
        "default": ("default", "scenarios,fuzz"), "deep": ("deep", "scenarios,fuzz")}


#: the memory goal per run profile: the peak resident set (MiB) of the suite's process (pytest with the suite in
#: it); a CI runner with 1-2 GiB runs the gate beside the server it gates without swapping.
MEMORY_GOAL_MIB = {"smoke": 256, "scenarios": 256, "default": 256, "deep": 512}


@dataclass
class Timed:
    """One run of the suite: wall seconds (command to verdict), pytest's session seconds, its summary line and the
    peak resident set sizes in MiB of the suite's process and of the embedded reference target it started."""

    wall: float
    session: float
    summary: str
    peak_rss_mib: float = 0.0
    target_peak_rss_mib: float = 0.0
    #: the command's exit code: anything but 0 against the clean reference target makes the figures worthless
    exit_code: int = 0


def run_suite(run: str, method: str, *, capture: Path | None = None, workers: int = 0) -> Timed:
    """Run the suite once in a fresh process, as a user would."""
    profile, suites = RUNS[run]
    pytest_args: list[str] = ["-n", str(workers)] if workers else []
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as `make` runs it: pytest may cache its rewritten modules
    if capture is not None:
        pytest_args += ["-p", "benchmarks.capture_plugin"]
        env[CAPTURE_ENV] = str(capture)
    cmd = [sys.executable, "-m", "kratos_conformance", "run", "--suite", suites, "--run-profile", profile,
           "--reference-method", method, "--report-dir", f"{tempfile.gettempdir()}/bench-reports/{run}-{method}"]
    if pytest_args:
        cmd += ["--", *pytest_args]
    done = run_measured(cmd, ROOT, env)
    summary, session = done.pytest_summary()
    if done.exit_code != 0:
        summary += f"; exit {done.exit_code}"
    return Timed(done.wall, session, summary, done.peak_rss_mib, done.children_peak_rss_mib, done.exit_code)


def measure(run: str, method: str) -> dict[str, Any]:
    """One captured run and its two replays: the row of the table."""
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "exchanges.jsonl"
        timed = run_suite(run, method, capture=capture)
        if not capture.exists():
            return {"run": run, "method": method, **asdict(timed)}
        floor = replay(capture, method)
        bare = replay(capture, method, forced_waits=False)
    return {"run": run, "method": method, **asdict(timed), "exchanges": floor.count,
            "exchanges_per_s": round(floor.count / timed.session, 1), "floor": round(floor.seconds, 3),
            "floor_same_status": round(floor.same_status, 3), "ratio": round(timed.session / floor.seconds, 2),
            "no_wait_replay": round(bare.seconds, 3), "no_wait_same_status": round(bare.same_status, 3),
            "ratio_to_no_wait_replay": round(timed.session / bare.seconds, 2)}


def print_row(row: dict[str, Any]) -> None:
    head = (f"  {row['run']:9s} {row['method']:4s} wall {row['wall']:6.2f}s  session {row['session']:6.2f}s  "
            f"peak {row['peak_rss_mib']:4.0f} MiB (target {row['target_peak_rss_mib']:3.0f})")
    if "floor" not in row:
        print(f"{head}  ({row['summary']})")
        return
    print(f"{head}  {row['exchanges']:5d} exchanges {row['exchanges_per_s']:6.1f}/s  floor {row['floor']:6.2f}s "
          f"({row['floor_same_status']:.0%} same status)  ratio {row['ratio']:5.2f}  |  no-wait replay "
          f"{row['no_wait_replay']:6.2f}s ({row['no_wait_same_status']:.0%}) "
          f"ratio {row['ratio_to_no_wait_replay']:5.2f}"
          f"  ({row['summary']})")


def reference_throughput(method: str = "code", rounds: int = 300) -> float:
    """Flows created and submitted per second by the reference target (one bare client, keep-alive)."""
    with SmtpSink() as sink, EmbeddedTarget(method=method, smtp_url=sink.url,
                                            log_path=Path(tempfile.gettempdir()) / "bench-throughput.log") as target:
        with httpx.Client(headers={"Accept": "application/json"}, timeout=15) as client:
            started = time.perf_counter()
            for i in range(rounds):
                flow = client.get(target.public_url + "self-service/verification/api").json()
                client.post(target.public_url + f"self-service/verification?flow={flow['id']}",
                            json={"method": method, "email": f"bench-{i}@conformance.test"})
            return rounds / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=",".join(RUNS), help=f"a comma list of {', '.join(RUNS)}")
    parser.add_argument("--methods", default="code,link")
    parser.add_argument("--out", default=str(ROOT / "reports" / "bench.json"))
    args = parser.parse_args(argv)
    runs, methods = args.runs.split(","), args.methods.split(",")
    results: dict[str, Any] = {"machine": {"cores": os.cpu_count()}, "flow_lifespan_s": FLOW_LIFESPAN, "rows": [],
                               "command_to_verdict_s": {}}
    print(f"time to verdict against the embedded reference target ({os.cpu_count()} cores); floor = the same "
          f"requests replayed by a bare client, waiting only where the target's lifespans (flow {FLOW_LIFESPAN:g}s) "
          "force any client to; the no-wait replay sends them back to back")
    for run in runs:
        rows = [measure(run, method) for method in methods]
        for row in rows:
            print_row(row)
        results["rows"] += rows
        total = round(sum(r["wall"] for r in rows), 2)
        results["command_to_verdict_s"][run] = total
        peak = max(r["peak_rss_mib"] for r in rows)
        results.setdefault("peak_rss_mib", {})[run] = peak
        print(f"  => {run}, {'+'.join(methods)}: {total:.2f}s from command to verdict; peak memory {peak:.0f} MiB "
              f"(goal: under {MEMORY_GOAL_MIB[run]} MiB: {'met' if peak < MEMORY_GOAL_MIB[run] else 'NOT met'})")
    plain: list[Timed] = []
    parallel: list[Timed] = []
    if "scenarios" in runs:
        plain = [run_suite("scenarios", m) for m in methods]
        captured = [r for r in results["rows"] if r["run"] == "scenarios"]
        overhead = sum(r["session"] for r in captured) / max(sum(t.session for t in plain), 1e-9) - 1
        results["capture_overhead"] = round(overhead, 3)
        print(f"  capture overhead (scenarios, session with/without): {overhead:+.1%}; without capture: "
              + ", ".join(f"{m} {t.session:.2f}s" for m, t in zip(methods, plain)))
    if "default" in runs:
        parallel = [run_suite("default", m, workers=2) for m in methods]
        results["default_n2_wall_s"] = round(sum(t.wall for t in parallel), 2)
        print("  default with -n 2: " + ", ".join(f"{m} wall {t.wall:.2f}s" for m, t in zip(methods, parallel))
              + f" => {results['default_n2_wall_s']:.2f}s")
    results["reference_flows_per_s"] = round(reference_throughput(), 1)
    print(f"reference target: {results['reference_flows_per_s']} flows created and submitted per second")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"figures written to {args.out}")
    failed = [f"{r['run']}/{r['method']} ({r['summary']})" for r in results["rows"] if r["exit_code"] != 0]
    failed += [f"{what}/{m} ({t.summary})" for what, timed in (("scenarios without capture", plain),
                                                             ("default -n 2", parallel))
               for m, t in zip(methods, timed) if t.exit_code != 0]
    if failed:
        print(f"bench_suite: INVALID: the suite did not pass against the clean reference target in {len(failed)} "
              f"run(s), so these figures time a broken run: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
