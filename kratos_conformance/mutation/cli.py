"""``python -m kratos_conformance.mutation``: the matrix's command line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from kratos_conformance.errors import OneLineParser
from kratos_conformance.mutation.launchers import fork_server
from kratos_conformance.mutation.matrix import print_matrix, run_matrix, write_reports
from kratos_conformance.mutation.plan import (
    DEFAULT_FUZZ_BUDGET,
    DEFAULT_FUZZ_SEED,
    DEFAULT_REPORT_DIR,
    DEFAULT_SECURITY_LOAD,
    DEFAULT_TIMEOUT,
    EXIT_CANNOT_RUN,
    EXIT_FAILED,
    EXIT_OK,
    MatrixOptions,
    default_jobs,
)
from kratos_conformance.mutation.runs import RunResult


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m kratos_conformance.mutation",
                                     description="Run the suite against the clean reference target and against each "
                                                 "of its named faults; print which requirements caught each fault.")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR,
                        help=f"where matrix.json, matrix.md and the runs go (default {DEFAULT_REPORT_DIR})")
    parser.add_argument("--jobs", "-j", type=int, default=0,
                        help=f"runs at a time (default: 2 x CPUs = {default_jobs()})")
    parser.add_argument("--clean-runs", type=int, default=3, help="clean runs per method (default 3)")
    parser.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    parser.add_argument("--no-fuzz", dest="fuzz", action="store_false", help="no fuzzing in any run")
    parser.add_argument("--fuzz-every-run", action="store_true",
                        help="fuzz in every fault run (default: the clean runs and the faults in FUZZ_FAULTS)")
    parser.add_argument("--fuzz-budget", default=DEFAULT_FUZZ_BUDGET, help="default smoke")
    parser.add_argument("--fuzz-seed", type=int, default=DEFAULT_FUZZ_SEED, help=f"default {DEFAULT_FUZZ_SEED}")
    parser.add_argument("--security-load", default=DEFAULT_SECURITY_LOAD,
                        help=f"load of the security suite's races and timing (default {DEFAULT_SECURITY_LOAD})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per run (default 300)")
    parser.add_argument("--pytest-arg", dest="pytest_args", action="append", default=[],
                        help="an extra argument for every pytest run (repeatable)")
    parser.add_argument("--spawn", dest="fork", action="store_false",
                        help="start every run as a fresh process instead of forking it from a fork server")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    parser.add_argument("--fork-server", action="store_true", help=argparse.SUPPRESS)
    return parser


def options_from_args(args: argparse.Namespace) -> MatrixOptions:
    return MatrixOptions(report_dir=args.report_dir, jobs=args.jobs, clean_runs=args.clean_runs,
                         faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()), fuzz=args.fuzz,
                         fuzz_every_run=args.fuzz_every_run, fuzz_budget=args.fuzz_budget,
                         fuzz_seed=args.fuzz_seed, security_load=args.security_load, timeout=args.timeout,
                         pytest_args=tuple(args.pytest_args), quiet=args.quiet,
                         fork=args.fork and hasattr(os, "fork"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the matrix; 0 when it holds (:attr:`Matrix.ok`), 1 otherwise, 2 if it cannot run."""
    args = build_parser().parse_args(argv)
    if args.fork_server:
        return fork_server()
    options = options_from_args(args)
    if options.clean_runs < 0 or options.timeout <= 0:
        print("mutation: --clean-runs must be >= 0 and --timeout > 0", file=sys.stderr)
        return EXIT_CANNOT_RUN

    def progress(result: RunResult, done: int, total: int) -> None:
        if not options.quiet:
            label = result.verdict + (f" ({result.note})" if result.note and result.verdict == "not-judged" else "")
            print(f"[{done:>2}/{total}] {result.name:<40} {result.method:<4} {result.wall:6.1f}s  {label}", flush=True)

    try:
        matrix = run_matrix(options, progress=progress)
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    json_path, md_path = write_reports(matrix, options.report_dir)
    print_matrix(matrix)
    print(f"written: {json_path} {md_path}")
    return EXIT_OK if matrix.ok else EXIT_FAILED
