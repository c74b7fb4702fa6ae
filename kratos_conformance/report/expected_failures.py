"""The expected-failures file: requirements known to fail on a target, with the reason and a link.

An expected-failures file is YAML (``--expected-failures PATH`` or ``KRATOS_CONFORMANCE_EXPECTED_FAILURES``)::

    expected_failures:
      - requirement: VER-CODE-WRONG
        reason: our server answers 400 for a wrong code
        link: https://tracker.example.com/ID-123
        target: "https://id.example.com/*"   # optional: fnmatch pattern on the public URL ("embedded" = reference)
        profile: kratos-v26                  # optional: only for this profile
        method: code                         # optional: only when the target verifies with this method

A failing requirement with an entry that applies is an *expected failure*: it does not fail the gate. A requirement
with an applicable entry that passes is *unexpectedly passing*: the gate stays green and the report asks to shrink
the expected failures. A malformed expected-failures file ends the run before it starts (:class:`CannotJudge`,
exit code 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from kratos_conformance.errors import CannotJudge
from kratos_conformance.rules.catalog import load_catalog
from kratos_conformance.run.options import EXPECTED_FAILURES

#: the pattern that matches the embedded reference target (whose URL is an ephemeral loopback port).
EMBEDDED_TARGET = "embedded"
_REQUIRED = ("requirement", "reason", "link")
_MATCHERS = ("target", "profile", "method")


@dataclass(frozen=True)
class RunContext:
    """What an expected failure may be restricted to: the target, the profile and the verification method."""

    public_url: str | None
    embedded: bool
    profile: str
    method: str | None


@dataclass(frozen=True)
class ExpectedFailure:
    """One known failure."""

    requirement: str
    reason: str
    link: str
    target: str | None = None
    profile: str | None = None
    method: str | None = None

    def applies(self, ctx: RunContext) -> bool:
        """True if every matcher the entry has matches the run."""
        if self.profile is not None and self.profile != ctx.profile:
            return False
        if self.method is not None and self.method != ctx.method:
            return False
        if self.target is not None:
            names = [ctx.public_url or ""] + ([EMBEDDED_TARGET] if ctx.embedded else [])
            return any(fnmatchcase(name, self.target) for name in names)
        return True

    def as_dict(self) -> dict[str, str]:
        """The entry as plain data (for reports); matchers that are not set are left out."""
        out = {"requirement": self.requirement, "reason": self.reason, "link": self.link}
        out.update({k: v for k in _MATCHERS if (v := getattr(self, k)) is not None})
        return out


@dataclass(frozen=True)
class ExpectedFailures:
    """The entries of one expected-failures file (empty when no file was given)."""

    entries: tuple[ExpectedFailure, ...] = ()
    path: str | None = None

    def lookup(self, requirement: str, ctx: RunContext) -> ExpectedFailure | None:
        """The first entry for ``requirement`` that applies to the run, or None."""
        for entry in self.entries:
            if entry.requirement == requirement and entry.applies(ctx):
                return entry
        return None


def expected_failures_path(value: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The expected failures to use: the option's value, else ``KRATOS_CONFORMANCE_EXPECTED_FAILURES``, else none."""
    env = os.environ if environ is None else environ
    return value or env.get(EXPECTED_FAILURES.env) or None


def load_expected_failures(path: str | Path | None) -> ExpectedFailures:
    """Read and validate an expected-failures file; ``None`` gives no expected failures. Raises
    :class:`CannotJudge` (one line)."""
    if path is None or str(path) == "":
        return ExpectedFailures()
    where = f"--expected-failures {path}"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotJudge(f"{where}: cannot read it: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise CannotJudge(f"{where}: not valid YAML{line}") from None
    if isinstance(data, dict):
        data = data.get("expected_failures")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise CannotJudge(f"{where}: expected a list of entries under 'expected_failures'")
    return ExpectedFailures(tuple(_entry(where, i, raw) for i, raw in enumerate(data, 1)), str(path))


def _entry(where: str, index: int, raw: Any) -> ExpectedFailure:
    if not isinstance(raw, dict):
        raise CannotJudge(f"{where}: entry {index} is not a mapping")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_MATCHERS))
    if unknown:
        raise CannotJudge(f"{where}: entry {index} has unknown keys {unknown}")
    for key in _REQUIRED:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise CannotJudge(f"{where}: entry {index} needs a non-empty '{key}'")
    for key in _MATCHERS:
        if key in raw and not isinstance(raw[key], str):
            raise CannotJudge(f"{where}: entry {index}: '{key}' must be a string")
    if raw["requirement"] not in load_catalog():
        raise CannotJudge(f"{where}: entry {index}: requirement {raw['requirement']!r} is not in the catalog")
    return ExpectedFailure(**{k: " ".join(v.split()) if k == "reason" else v for k, v in raw.items()})
