"""How hard the security scenarios may press the server, by ``--security-load``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    """How many requests a race sends at once (``racers``), how many wrong codes the attempt-limit race sends at once
    (``wrong_codes``), how many timing samples it takes per side (``samples``)."""

    racers: int
    wrong_codes: int
    samples: int


LOADS = {"low": Load(racers=4, wrong_codes=10, samples=10), "default": Load(racers=10, wrong_codes=20, samples=30)}
