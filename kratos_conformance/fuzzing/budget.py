"""Fuzzing budgets and seeds: how much a run fuzzes, and the one seed that reproduces it.

* **Budgets** (:data:`BUDGETS`, :func:`parse_budget`): how many requests each fuzzing test may send and for how
  long.
* **Seeds** (:func:`resolve_seed`, :func:`derive_seed`): one printed seed per run reproduces every test; CI
  (``CI=true``) gets a fixed seed (:data:`CI_SEED`) unless one is given.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from kratos_conformance.errors import CannotJudge

# ================================================================================================== budgets


@dataclass(frozen=True)
class Budget:
    """How much fuzzing one run does.

    ``max_examples`` and ``time_limit`` bound each per-operation test (one operation, one generation mode);
    ``scenarios``, ``steps`` and ``stateful_time_limit`` bound each stateful test (one client kind). Whichever
    bound is reached first ends the test. ``shrink_time`` bounds the search for a smaller failing request.
    """

    name: str
    max_examples: int
    time_limit: float
    scenarios: int
    steps: int
    stateful_time_limit: float
    shrink_time: float

    def describe(self) -> str:
        return (f"{self.name}: {self.max_examples} requests or {self.time_limit:g}s per operation and mode, "
                f"{self.scenarios} stateful scenarios of up to {self.steps} steps or {self.stateful_time_limit:g}s "
                f"per client kind")


BUDGETS: dict[str, Budget] = {
    "smoke": Budget("smoke", max_examples=8, time_limit=2.0, scenarios=3, steps=6, stateful_time_limit=2.0,
                    shrink_time=2.0),
    "default": Budget("default", max_examples=40, time_limit=4.0, scenarios=12, steps=8, stateful_time_limit=3.0,
                      shrink_time=4.0),
    "deep": Budget("deep", max_examples=600, time_limit=90.0, scenarios=300, steps=12, stateful_time_limit=90.0,
                   shrink_time=30.0),
}
DEFAULT_BUDGET = "default"


def parse_budget(value: str | None) -> Budget:
    """The budget named ``value`` (``smoke``, ``default``, ``deep``; case and blanks ignored; None: default)."""
    name = (value or "").strip().lower() or DEFAULT_BUDGET
    try:
        return BUDGETS[name]
    except KeyError:
        raise CannotJudge(f"--fuzz-budget: {value!r} is not one of {', '.join(BUDGETS)}") from None


# ==================================================================================================== seeds

#: The seed a CI run uses when none is given: CI results must not depend on chance.
CI_SEED = 20260601


def is_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when the ``CI`` environment variable says so (``true``, ``1``, ``yes``)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Seed:
    """The run's seed and where it came from (``given``, ``ci`` or ``random``)."""

    value: int
    source: str


def resolve_seed(value: str | None, environ: Mapping[str, str] | None = None) -> Seed:
    """The run's seed: ``value`` (decimal or 0x-hex) if given, the fixed CI seed under CI, else a random one."""
    text = (value or "").strip()
    if text:
        try:
            number = int(text, 0)
        except ValueError:
            raise CannotJudge(f"--fuzz-seed: {value!r} is not an integer") from None
        if number < 0:
            raise CannotJudge(f"--fuzz-seed: must not be negative, got {value}")
        return Seed(number, "given")
    if is_ci(environ):
        return Seed(CI_SEED, "ci")
    return Seed(random.SystemRandom().randrange(2**32), "random")


def derive_seed(run_seed: int, *labels: object) -> int:
    """A seed for one test (or one round of it), fixed by the run's seed and the labels."""
    text = "\x1f".join(str(label) for label in labels).encode("utf-8")
    return (run_seed * 1_000_003 + zlib.crc32(text)) % (2**64)
