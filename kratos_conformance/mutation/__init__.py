"""The mutation matrix: does the suite catch every named defect of the reference target?

``python -m kratos_conformance.mutation`` runs the conformance suite (``suites/scenarios`` and ``suites/security``;
``suites/fuzz`` at the smoke fuzzing budget in the clean runs and the runs of the faults in ``FUZZ_FAULTS``, which
prove the fuzzer's own requirements (no other fault needs it to be caught; ``--fuzz-every-run`` fuzzes in all);
``suites/browser`` only in the runs of the faults in ``BROWSER_FAULTS``, one Chromium at a time: it needs Chromium
and adds nothing to the other faults) against:

- the clean reference target, ``--clean-runs`` times (default 3) per method (code and link): every one of these
  runs must pass with zero failures, which also shows the suite is not flaky;
- the reference target with each named fault switched on, once, with the method the fault applies to (a fault
  that applies to both methods runs with ``code``).

The faults are learned from ``python -m kratos_reference --list-faults`` (``name<TAB>methods<TAB>
description``); like the suite, this module never imports the reference target. Each run is a separate pytest
process (the plugin starts its own reference target with ``--reference-faults``) writing JUnit XML; a failed
test's message starts with ``[VER-ID] MUST|SHOULD: ...``, so the XML says which requirements caught the fault.
By default the runs are forked from a fork server that imported pytest, hypothesis and schemathesis once (about a
fifth of a run's CPU time is otherwise spent importing them and tearing the interpreter down); ``--spawn`` starts
each run as a fresh ``python -m pytest`` instead. Either way every run is its own process and session.

Verdicts of a fault run:

- ``caught``: at least one test failed with a requirement id;
- ``caught-unattributed``: tests failed, but none named a requirement (a scenario crashed instead of judging);
- ``missed``: the run passed: nothing noticed the defect (a gap in the suite);
- ``not-judged``: the run ended without a verdict (exit code 2: cannot judge, a timeout, a crash).

The mutation score is caught / faults. The matrix also lists, per catalog requirement, the faults that made it
fail: every requirement's check must be shown to fail on some fault, but for those in ``UNPROVEN_BY_DESIGN`` (with
the reason). The matrix is printed and written to ``<report-dir>/matrix.json`` and
``matrix.md`` (default ``reports/mutation/``); every run keeps its JUnit XML, pytest output and reports under
``<report-dir>/runs/<run>/``. Exit code: 0 when every clean run passed, every fault was caught, no fault run failed a
test that names no requirement, and (when no ``--faults`` selection was made) every requirement was made to fail
by some fault but for those unproven by design; 1 otherwise; 2 when the matrix could not run at all (bad option,
the fault list unreadable). CI runs it after ``make test`` (``.ci/run``), so every landed change is held to it.

Runs go in parallel (``--jobs``; default: two per CPU, because a run spends about half its time waiting for flows
and codes to expire and for mail). A run that ends with exit code 2 is retried once: two runs starting at the same
moment can race for the same free port.

The package, one module per job: ``plan`` (the faults, the options, each run's command), ``launchers`` (spawn or
fork), ``runs`` (one run and its JUnit XML), ``matrix`` (the verdicts and reports), ``cli`` (the command line).
"""

from kratos_conformance.mutation.cli import build_parser, main, options_from_args
from kratos_conformance.mutation.launchers import PRELOAD, ForkLauncher, SpawnLauncher, fork_server
from kratos_conformance.mutation.matrix import Matrix, print_matrix, run_matrix, write_reports
from kratos_conformance.mutation.plan import (
    BROWSER_FAULTS,
    FUZZ_FAULTS,
    METHODS,
    ROOT,
    SUITES,
    TIME_BUDGET_SECONDS,
    UNPROVEN_BY_DESIGN,
    Fault,
    MatrixOptions,
    RunSpec,
    child_environment,
    default_jobs,
    fuzzes,
    list_faults,
    parse_fault_list,
    plan_runs,
    pytest_command,
)
from kratos_conformance.mutation.runs import Failure, RunResult, execute, last_line, read_junit, read_report

__all__ = [
    "BROWSER_FAULTS", "FUZZ_FAULTS", "METHODS", "PRELOAD", "ROOT", "SUITES", "TIME_BUDGET_SECONDS",
    "UNPROVEN_BY_DESIGN", "Failure", "Fault", "ForkLauncher", "Matrix", "MatrixOptions", "RunResult", "RunSpec",
    "SpawnLauncher", "build_parser", "child_environment", "default_jobs", "execute", "fork_server", "fuzzes",
    "last_line", "list_faults", "main", "options_from_args", "parse_fault_list", "plan_runs", "print_matrix",
    "pytest_command", "read_junit", "read_report", "run_matrix", "write_reports",
]
