"""Benchmark of the fuzzing step (not a test): how fast each budget runs against the embedded reference target.

For each method and budget it starts the reference target the way a conformance run does (EmbeddedTarget with an
SmtpSink for its courier), runs every per-operation fuzzing test (positive and negative) and every stateful walk
(native, browser, spa), and prints the requests sent, requests per second, wall time and the share of positive
requests that reached flow logic.

    .venv/bin/python benchmarks/bench_fuzz.py                       # code and link, smoke and default
    .venv/bin/python benchmarks/bench_fuzz.py --budgets smoke,default,deep --methods code --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kratos_conformance import fuzzing  # noqa: E402
from kratos_conformance.mail import SmtpSink  # noqa: E402
from kratos_conformance.rules.checks import RequirementFailure  # noqa: E402
from kratos_conformance.rules.profiles import get_profile  # noqa: E402
from kratos_conformance.run.embedded_target import (  # noqa: E402
    ALLOWED_RETURN_TO,
    CHALLENGE_LIFESPAN,
    ERROR_UI_PATH,
    UI_PATH,
    EmbeddedTarget,
)
from kratos_conformance.run.target import Target  # noqa: E402

OPERATIONS = ("createBrowserVerificationFlow", "createNativeVerificationFlow", "getVerificationFlow",
              "updateVerificationFlow", "followVerificationLink")
KINDS = ("native", "browser", "spa")


@dataclass
class Result:
    method: str
    budget: str
    wall: float
    per_operation: fuzzing.RunStats
    stateful: fuzzing.RunStats
    failures: list[str]
    pool: str

    @property
    def requests(self) -> int:
        return self.per_operation.requests + self.stateful.requests


def run(method: str, budget: fuzzing.Budget, seed: int, faults: tuple[str, ...]) -> Result:
    """One fuzzing step (every per-operation test and every stateful walk) against a fresh reference target."""
    log = Path(tempfile.gettempdir()) / f"bench-fuzz-reference-{method}.log"
    with SmtpSink() as sink, EmbeddedTarget(method=method, smtp_url=sink.url, faults=faults, log_path=log) as ref:
        target = Target(public_url=ref.public_url, admin_url=ref.admin_url, admin_token=None,
                        profile=get_profile("kratos-v26"), wait_budget=30.0, mail_timeout=10.0,
                        challenge_lifespan=CHALLENGE_LIFESPAN, ui_url=ref.public_url + UI_PATH,
                        error_ui_url=ref.public_url + ERROR_UI_PATH, return_to=ALLOWED_RETURN_TO,
                        reference_method=method)
        pool = fuzzing.LivePool(target, sink, method)
        per_operation, stateful = fuzzing.RunStats("per-operation"), fuzzing.RunStats("stateful")
        failures: list[str] = []
        started = time.monotonic()
        try:
            pool.warm()
            fuzzer = fuzzing.Fuzzer(target, pool, method, run_seed=seed)
            steps = [(per_operation, lambda op=op, mode=mode: fuzzer.fuzz_operation(op, mode, budget))
                     for mode in ("positive", "negative") for op in OPERATIONS]
            steps += [(stateful, lambda kind=kind: fuzzer.fuzz_stateful(kind, budget)) for kind in KINDS]
            fuzzer.on_stats = None
            for total, step in steps:
                collected: list[fuzzing.RunStats] = []
                fuzzer.on_stats = collected.append
                try:
                    step()
                except RequirementFailure as failure:
                    failures.append(failure.render().splitlines()[0][:120])
                for stats in collected:
                    total.merge(stats)
            wall = time.monotonic() - started
        finally:
            pool.close()
        return Result(method, budget.name, wall, per_operation, stateful, failures, pool.describe())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="smoke,default", help="comma-separated: smoke, default, deep")
    parser.add_argument("--methods", default="code,link", help="comma-separated: code, link")
    parser.add_argument("--seed", type=int, default=fuzzing.CI_SEED)
    parser.add_argument("--faults", default="", help="reference-target faults to switch on (comma-separated)")
    parser.add_argument("--json", default="reports/bench-fuzz.json", help="where to write the figures ('' for nowhere)")
    args = parser.parse_args(argv)
    budgets = [fuzzing.parse_budget(name) for name in args.budgets.split(",") if name.strip()]
    faults = tuple(f.strip() for f in args.faults.split(",") if f.strip())
    print(f"fuzzing benchmark: seed {args.seed}, reference target faults: {', '.join(faults) or 'none'}")
    header = (f"{'method':6} {'budget':8} {'requests':>8} {'wall s':>7} {'req/s':>6} {'per-op req/s':>12} "
              f"{'stateful req/s':>14} {'reached':>8}  failures")
    print(header)
    print("-" * len(header))
    results = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        for budget in budgets:
            result = run(method, budget, args.seed, faults)
            results.append(result)
            share = result.per_operation.reached_share
            print(f"{method:6} {budget.name:8} {result.requests:8d} {result.wall:7.1f} "
                  f"{result.requests / result.wall:6.0f} {result.per_operation.rate:12.0f} "
                  f"{result.stateful.rate:14.0f} {f'{share:.0%}' if share is not None else 'n/a':>8}  "
                  f"{len(result.failures)}", flush=True)
            for failure in result.failures:
                print(f"    {failure}")
    print()
    for result in results:
        print(f"{result.method}/{result.budget}: {result.pool}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"seed": args.seed, "faults": list(faults), "runs": [
            {"method": r.method, "budget": r.budget, "requests": r.requests, "wall_seconds": round(r.wall, 2),
             "requests_per_second": round(r.requests / r.wall, 1) if r.wall else None,
             "per_operation_requests_per_second": round(r.per_operation.rate, 1),
             "stateful_requests_per_second": round(r.stateful.rate, 1),
             "positive_reached_flow_logic": r.per_operation.reached_share, "failures": r.failures}
            for r in results]}, indent=2), encoding="utf-8")
        print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
