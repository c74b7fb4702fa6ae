"""How hard the security scenarios may press the server, by ``--security-load``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    """How many requests a race sends (``racers``), how many wrong codes the attempt-limit race sends
    (``wrong_codes``), how many of a race's requests are released together (``concurrency``; None: all of them), how
    many timing samples it takes per side (``samples``)."""

    racers: int
    wrong_codes: int
    samples: int
    concurrency: int | None = None

    def at_once(self, count: int) -> int:
        """How many of a race's ``count`` requests go together (the rest follow in rounds of as many)."""
        return min(count, self.concurrency or count)


LOADS = {"low": Load(racers=4, wrong_codes=10, samples=10), "default": Load(racers=10, wrong_codes=20, samples=30)}
