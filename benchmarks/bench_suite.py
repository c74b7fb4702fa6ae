"""Benchmark: time to verdict per run profile, against the floor a bare HTTP client sets.

For each run profile (smoke, default, deep) and each method (code, link) the suite runs against the embedded
reference target as `make conformance` runs it; the benchmark prints the wall time from command to verdict, the
number of HTTP exchanges, exchanges per second, the floor (the same requests replayed in order with a bare httpx
client against a fresh reference target with the same settings) and the ratio suite/floor. It also times the
default profile with pytest-xdist (-n 2) and measures the reference target's own throughput (flows created and
submitted per second). Figures are printed and written to reports/bench.json.

Run: make bench   (or .venv/bin/python benchmarks/bench_suite.py [--profiles smoke,default] [--methods code])
This is a benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kratos_conformance.embedded import EmbeddedTarget  # noqa: E402
from kratos_conformance.mail import SmtpSink  # noqa: E402

#: what each profile runs, as `make conformance` would (the browser walks are timed apart: Chromium dominates them).
SUITES = {"smoke": "scenarios", "default": "scenarios,fuzz", "deep": "scenarios,fuzz"}


def run_suite(profile: str, method: str, capture: Path | None, workers: int = 0,
              suites: str | None = None) -> tuple[float, float]:
    """Run the suite once (a fresh process, as a user would); return (wall seconds, pytest session seconds)."""
    pytest_args: list[str] = []
    if workers:
        pytest_args += ["-n", str(workers)]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as `make` runs it: pytest may cache its rewritten modules
    if capture is not None:
        pytest_args += ["-p", "benchmarks.capture_plugin"]
        env["KRATOS_CONFORMANCE_CAPTURE"] = str(capture)
    cmd = [sys.executable, "-m", "kratos_conformance", "run", "--suite", suites or SUITES[profile],
           "--run-profile", profile,
           "--reference-method", method, "--report-dir", f"{tempfile.gettempdir()}/bench-reports/{profile}-{method}"]
    if pytest_args:
        cmd += ["--", *pytest_args]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    sessions = re.findall(r"(\d+ passed.*?) in ([\d.]+)s", done.stdout)
    summary, session = (sessions[-1][0], float(sessions[-1][1])) if sessions else ("no pytest summary", 0.0)
    print(f"    {profile:7s} {suites or SUITES[profile]:15s} {method:4s} {'-n ' + str(workers) if workers else '':5s}"
          f" wall {elapsed:6.2f}s, session {session:6.2f}s  ({summary})")
    return elapsed, session


def replay(capture: Path, method: str) -> tuple[int, float]:
    """Replay the captured requests in order against a fresh reference target; return (count, seconds)."""
    requests = [json.loads(line) for line in capture.read_text(encoding="utf-8").splitlines() if line.strip()]
    with SmtpSink() as sink, EmbeddedTarget(method=method, smtp_url=sink.url,
                                            log_path=Path(tempfile.gettempdir()) / "bench-floor.log") as target:
        prepared = []
        for r in requests:
            url = r["url"].replace(r["public_url"], target.public_url)
            if r.get("admin_url"):
                url = url.replace(r["admin_url"], target.admin_url)
            prepared.append((r["method"], url, [(k, v) for k, v in r["headers"] if k.lower() != "host"],
                             base64.b64decode(r["body"])))
        with httpx.Client(follow_redirects=False, timeout=15) as client:
            started = time.perf_counter()
            for method_, url, headers, body in prepared:
                client.request(method_, url, headers=headers, content=body or None).read()
            return len(prepared), time.perf_counter() - started


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
    parser.add_argument("--profiles", default="smoke,default,deep")
    parser.add_argument("--methods", default="code,link")
    parser.add_argument("--out", default=str(ROOT / "reports" / "bench.json"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"profiles": {}, "machine": {"cores": os.cpu_count()}}
    methods = args.methods.split(",")
    for profile in args.profiles.split(","):
        print(f"profile {profile}:")
        wall = sum(run_suite(profile, m, None)[0] for m in methods)
        results["profiles"][profile] = {"wall_s": round(wall, 2)}
        print(f"  => command to verdict, {'+'.join(methods)}: {wall:.2f}s")
    print("scenario suite (default profile) against its floor:")
    session = floor = 0.0
    exchanges = 0
    for method in methods:
        with tempfile.TemporaryDirectory() as tmp:
            capture = Path(tmp) / "requests.jsonl"
            session += run_suite("default", method, capture, suites="scenarios")[1]
            count, seconds = replay(capture, method) if capture.exists() else (0, 0.0)
        exchanges += count
        floor += seconds
    results["scenarios"] = {"session_s": round(session, 2), "exchanges": exchanges,
                            "exchanges_per_s": round(exchanges / session, 1) if session else 0.0,
                            "floor_s": round(floor, 3), "ratio": round(session / floor, 1) if floor else None}
    row = results["scenarios"]
    print(f"  => {exchanges} exchanges in {row['session_s']}s ({row['exchanges_per_s']}/s); floor {row['floor_s']}s; "
          f"suite/floor {row['ratio']}")
    if "default" in args.profiles.split(","):
        print("profile default with -n 2:")
        results["default_n2_wall_s"] = round(sum(run_suite("default", m, None, workers=2)[0] for m in methods), 2)
        print(f"  => command to verdict: {results['default_n2_wall_s']}s")
    results["reference_flows_per_s"] = round(reference_throughput(), 1)
    print(f"reference target: {results['reference_flows_per_s']} flows created and submitted per second")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
