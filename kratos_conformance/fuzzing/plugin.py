"""pytest plugin of the fuzzing suite: the run's budget and seed, the seed in the report header, and the fuzzing
summary (requests, rate, share of positive requests that reached flow logic) at the end.

The budget and seed come from the run's options (``--fuzz-budget``, ``--fuzz-seed`` and their environment forms,
defined with every other option in :mod:`kratos_conformance.run.options`); without a budget the run profile's is used,
without a seed a random one (a fixed one when ``CI=true``). Loaded by the repository's ``conftest.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kratos_conformance.errors import EXIT_CANNOT_JUDGE, CannotJudge
from kratos_conformance.fuzzing import Budget, RunStats, Seed, parse_budget, resolve_seed

PLUGIN_NAME = __name__
#: The share of positive requests to flow operations that should reach flow logic; below it the summary warns.
REACH_TARGET = 0.8


@dataclass
class FuzzRun:
    """The fuzzing settings of a pytest run and what the fuzzing tests did."""

    budget: Budget
    seed: Seed
    stats: list[RunStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rerun_hint(self) -> str:
        return f"--fuzz-seed={self.seed.value} --fuzz-budget={self.budget.name}"

    def record(self, stats: RunStats) -> None:
        self.stats.append(stats)


FUZZ_RUN_KEY = pytest.StashKey[FuzzRun]()
#: how a pytest-xdist controller hands its seed to the workers.
WORKER_SEED_KEY = "kratos_conformance_fuzz_seed"


def fuzz_run(config: pytest.Config) -> FuzzRun:
    """The run's budget and seed, resolved once from the run's options; a bad value ends the run (exit 2)."""
    from kratos_conformance.run.pytest_plugin import OPTIONS_KEY

    if FUZZ_RUN_KEY in config.stash:
        return config.stash[FUZZ_RUN_KEY]
    options = config.stash.get(OPTIONS_KEY, None)
    budget_raw = options.fuzz_budget or options.run_profile if options is not None else None
    seed_raw = options.fuzz_seed if options is not None else None
    try:
        run = FuzzRun(parse_budget(budget_raw), resolve_seed(seed_raw))
    except CannotJudge as exc:
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    handed = (getattr(config, "workerinput", None) or {}).get(WORKER_SEED_KEY)
    if handed:  # a pytest-xdist worker uses the controller's seed, whatever chance would pick here
        value, _, source = handed.partition(":")
        run.seed = Seed(int(value), source)
    config.stash[FUZZ_RUN_KEY] = run
    return run


def report_header(config: pytest.Config) -> list[str]:
    run = fuzz_run(config)
    return [f"kratos-conformance fuzzing: seed {run.seed.value} ({run.seed.source}), budget {run.budget.describe()}; "
            f"reproduce with {run.rerun_hint}"]


def terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print what the fuzzing tests did (nothing if none ran) and write it to the report directory."""
    run = config.stash.get(FUZZ_RUN_KEY, None)
    if run is None or not run.stats:
        return
    tr = terminalreporter
    tr.write_sep("-", "kratos-conformance fuzzing")
    tr.write_line(f"seed {run.seed.value} ({run.seed.source}), budget {run.budget.name}; reproduce with "
                  f"{run.rerun_hint}")
    per_operation = [s for s in run.stats if not s.label.startswith("stateful")]
    stateful = [s for s in run.stats if s.label.startswith("stateful")]
    for stats in run.stats:
        tr.write_line("  " + stats.summary())
    for label, group in (("per-operation", per_operation), ("stateful", stateful)):
        if not group:
            continue
        total = RunStats(label)
        for stats in group:
            total.merge(stats)
        share = total.reached_share
        linked = ""
        if total.linked_flow_requests:
            linked_share = total.linked_reached / total.linked_flow_requests
            linked = (f"; of those whose flow id came from a link: {linked_share:.0%}"
                      f" ({total.linked_reached}/{total.linked_flow_requests})")
        reached = f"{share:.0%} ({total.reached}/{total.positive_flow_requests})" if share is not None else "n/a"
        tr.write_line(f"{label}: {total.requests} requests in {total.seconds:.1f}s ({total.rate:.0f}/s); positive "
                      f"requests to flow operations that reached flow logic: {reached}{linked}")
        if label == "per-operation" and share is not None and share < REACH_TARGET:
            tr.write_line(f"WARNING: fewer than {REACH_TARGET:.0%} of positive requests reached flow logic: the live "
                          f"flows did not take (see the live-flow note below)", yellow=True)
    for note in run.notes:
        tr.write_line(note)
    _write_report(config, run)


def _write_report(config: pytest.Config, run: FuzzRun) -> None:
    from kratos_conformance.run.pytest_plugin import OPTIONS_KEY

    options = config.stash.get(OPTIONS_KEY, None)
    if options is None:
        return
    path = Path(options.report_dir) / "fuzz-summary.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "seed": run.seed.value, "seed_source": run.seed.source, "budget": run.budget.name,
            "notes": run.notes,
            "tests": [{"label": s.label, "method": s.method, "requests": s.requests, "seconds": round(s.seconds, 3),
                       "slowest_request_seconds": round(s.slowest_request, 3),
                       "positive_flow_requests": s.positive_flow_requests, "reached_flow_logic": s.reached,
                       "live_flow_requests": s.live, "unsendable": s.unsendable, "dropped_walks": s.dropped_walks,
                       "linked_flow_requests": s.linked_flow_requests, "linked_reached": s.linked_reached,
                       "statuses": {str(k): v for k, v in sorted(s.statuses.items())}} for s in run.stats],
        }, indent=2), encoding="utf-8")
    except OSError:
        pass


# -- hooks (active when this module is registered as a plugin) -----------------------------------------------

@pytest.hookimpl(trylast=True)  # after the conformance plugin has parsed the run options (the run profile)
def pytest_configure(config: pytest.Config) -> None:
    fuzz_run(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return report_header(config)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    terminal_summary(terminalreporter, config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    configure_node(node)


def configure_node(node: Any) -> None:
    """pytest-xdist: give a worker the controller's seed (a random seed would otherwise differ per worker)."""
    run = fuzz_run(node.config)
    node.workerinput[WORKER_SEED_KEY] = f"{run.seed.value}:{run.seed.source}"
