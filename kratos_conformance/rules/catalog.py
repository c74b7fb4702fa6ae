"""The requirement catalog: every check in the suite names one requirement from ``requirements.yaml``.

A requirement has a stable id (``VER-GET-410-API``), a level (MUST / SHOULD), a statement, a source (the section of
the behaviour reference or the upstream spec it comes from) and the client kinds and methods it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CATALOG_PATH = Path(__file__).with_name("requirements.yaml")
LEVELS = ("MUST", "SHOULD")
ALL_KINDS = ("native", "browser", "spa")
ALL_METHODS = ("code", "link")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    statement: str
    source: str
    area: str
    kinds: tuple[str, ...] = ALL_KINDS
    methods: tuple[str, ...] = ALL_METHODS

    @property
    def title(self) -> str:
        return f"{self.id} ({self.level}) {self.statement}"


class UnknownRequirement(KeyError):
    """A requirement id that is not in the catalog."""


@lru_cache(maxsize=1)
def load_catalog(path: Path = CATALOG_PATH) -> dict[str, Requirement]:
    """Load and validate the catalog; ids are unique and every entry is complete."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    catalog: dict[str, Requirement] = {}
    for area, entries in data["areas"].items():
        for entry in entries:
            req = Requirement(
                id=entry["id"],
                level=entry["level"],
                statement=" ".join(entry["statement"].split()),
                source=entry["source"],
                area=area,
                kinds=tuple(entry.get("kinds", ALL_KINDS)),
                methods=tuple(entry.get("methods", ALL_METHODS)),
            )
            if req.id in catalog:
                raise ValueError(f"duplicate requirement id {req.id} in {path}")
            if req.level not in LEVELS:
                raise ValueError(f"{req.id}: level must be one of {LEVELS}")
            if not set(req.kinds) <= set(ALL_KINDS) or not set(req.methods) <= set(ALL_METHODS):
                raise ValueError(f"{req.id}: unknown kind or method")
            catalog[req.id] = req
    return catalog


def requirement(req_id: str) -> Requirement:
    """The requirement with this id; raises :class:`UnknownRequirement` for an id the catalog lacks."""
    try:
        return load_catalog()[req_id]
    except KeyError:
        raise UnknownRequirement(req_id) from None
