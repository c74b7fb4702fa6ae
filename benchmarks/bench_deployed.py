"""Benchmark: time to verdict against a server given by URL (a real Kratos, a vendor's server), and where it goes.

Runs ``kratos-conformance run`` once per run profile in a fresh process, as a user would, with the deployed-server
options given after ``--``, and prints per run: the wall time from command to verdict, the preflight's share,
pytest's session time, the time per suite and the slowest tests (read from the run's JUnit XML). Against a real
server the waits are the server's: its courier's pace (Kratos's polls its queue about once a second) and its
lifespans (expiry scenarios wait for them).

Run (a Kratos started as examples/kratos/README.md says):
    .venv/bin/python benchmarks/bench_deployed.py --profiles smoke,default -- --public-url http://127.0.0.1:4433/ \\
        --admin-url http://127.0.0.1:4434/ --mail-source smtp-sink://127.0.0.1:1025 \\
        --return-to http://127.0.0.1:4455/after --challenge-lifespan 5
This is a benchmark, not a test: nothing here passes or fails. Figures go to reports/bench-deployed.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.process import run_measured  # noqa: E402

#: each profile's suites (the browser walks are left out: Chromium's own start dominates them)
SUITES = {"smoke": "scenarios", "default": "scenarios,fuzz", "deep": "scenarios,fuzz"}


def junit_times(path: Path) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """Seconds per suite folder and the slowest tests of a JUnit XML file."""
    per_suite: dict[str, float] = defaultdict(float)
    tests: list[tuple[float, str]] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        seconds = float(case.get("time") or 0.0)
        classname = case.get("classname") or ""
        per_suite[".".join(classname.split(".")[:2])] += seconds
        tests.append((seconds, f"{classname.split('.')[-1]}::{case.get('name')}"))
    return dict(per_suite), sorted(tests, reverse=True)[:8]


def preflight_seconds(output: str) -> float | None:
    """The preflight's time as the command prints it (``... (preflight 1.2s)``); None if it did not finish."""
    found = re.search(r"preflight: .*\(preflight (\d+(?:\.\d+)?)s\)", output)
    return float(found.group(1)) if found else None


def why_not_judged(output: str) -> str | None:
    """The one line a run that could not judge (exit 2) ends with: ``kratos-conformance: <what to fix>``."""
    lines = [line for line in output.splitlines() if line.startswith("kratos-conformance: ")]
    return lines[-1].removeprefix("kratos-conformance: ") if lines else None


def run_profile(profile: str, options: list[str]) -> dict[str, Any]:
    report_dir = Path(tempfile.mkdtemp(prefix=f"bench-deployed-{profile}-"))
    cmd = [sys.executable, "-m", "kratos_conformance", "run", "--suite", SUITES[profile], "--run-profile", profile,
           "--report-dir", str(report_dir), *options]
    done = run_measured(cmd, ROOT)
    preflight = preflight_seconds(done.output)
    summary, session = done.pytest_summary()
    result: dict[str, Any] = {"profile": profile, "exit_code": done.exit_code, "wall": round(done.wall, 2),
                              "session": session, "summary": summary, "peak_rss_mib": done.peak_rss_mib,
                              "outside_pytest": round(done.wall - session, 2), "preflight": preflight}
    junit = report_dir / "junit.xml"
    if junit.is_file():
        per_suite, slowest = junit_times(junit)
        result["per_suite"] = {k: round(v, 2) for k, v in per_suite.items()}
        result["slowest"] = [(round(s, 2), name) for s, name in slowest]
    fuzzed = fuzz_figures(report_dir / "fuzz-summary.json")
    if fuzzed:
        result["fuzzing"] = fuzzed
    if done.exit_code == 2:
        result["why"] = why_not_judged(done.output)
    return result


def fuzz_figures(path: Path) -> dict[str, Any] | None:
    """From a run's fuzz-summary.json: the server's slowest answer to a fuzzed request (and to which test), and the
    fuzzer's note on the live flows it made (how many, in how long: the setup a first fuzz test is charged with)."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    tests = summary.get("tests") or []
    if not tests:
        return None
    slowest = max(tests, key=lambda test: test.get("slowest_request_seconds", 0.0))
    return {"slowest_answer": slowest.get("slowest_request_seconds"), "slowest_in": slowest.get("label"),
            "requests": sum(test.get("requests", 0) for test in tests),
            "live_flows": next((note for note in summary.get("notes", []) if note.startswith("live flows made")),
                               None)}


def main() -> int:
    args = sys.argv[1:]
    options = args[args.index("--") + 1:] if "--" in args else []
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", default="smoke,default", help="comma-separated run profiles")
    ns = parser.parse_args(args[:args.index("--")] if "--" in args else args)
    if not any(o.startswith("--public-url") for o in options):
        parser.error("give the server's options after --, starting with --public-url")
    results = []
    for profile in [p.strip() for p in ns.profiles.split(",") if p.strip()]:
        result = run_profile(profile, options)
        results.append(result)
        preflight = "no preflight" if result["preflight"] is None else f"preflight {result['preflight']:.1f}s"
        print(f"{profile}: {result['wall']:.1f}s command to verdict (exit {result['exit_code']}), pytest session "
              f"{result['session']:.1f}s, outside pytest {result['outside_pytest']:.1f}s ({preflight}; the rest: "
              f"start and reports), peak memory {result['peak_rss_mib']:.0f} MiB; {result['summary']}")
        for suite, seconds in result.get("per_suite", {}).items():
            print(f"    {suite}: {seconds:.1f}s")
        if "fuzzing" in result:
            fuzzing = result["fuzzing"]
            print(f"    fuzzing: {fuzzing['requests']} requests, the server's slowest answer "
                  f"{fuzzing['slowest_answer']:.2f}s ({fuzzing['slowest_in']}); "
                  f"{fuzzing['live_flows'] or 'no live flows'}")
        for seconds, name in result.get("slowest", [])[:5]:
            print(f"    slowest: {seconds:.2f}s {name}")
        if "why" in result:
            print(f"    could not judge: {result['why']}")
    out = ROOT / "reports" / "bench-deployed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"figures written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
