"""The drift ledger: every place where the contract departs from the published Kratos API document.

``openapi/drift.yaml`` lists those places with their reasons and sources. :func:`compare_with_upstream` lists the
structural differences between the contract and upstream (``../shared/upstream/kratos-api-v26.2.0.json`` beside a
checkout), and :func:`check_ledger` matches them against the ledger: unrecorded differences, stale entries,
malformed entries. The project's own tests run both; the suite's runs never need this module.

Locators (``where``) are dot-separated paths such as
``paths./self-service/verification/flows.get.responses.410`` or
``components.schemas.uiText.properties.type.enum``.  Parameters are addressed as
``paths.<path>.<method>.parameters.<in>.<name>``.  Ledger locators may use shell-style wildcards inside a
segment (``*`` never crosses a dot).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kratos_conformance.rules.contract import REPO_ROOT, deref, read_yaml, ref_name, resolve_ref
from kratos_conformance.run.bundle import contract_dir

DEFAULT_DRIFT_PATH: Path = contract_dir() / "drift.yaml"
#: The published Kratos API documents live beside a checkout, in ``<repo>/../shared/upstream``.
UPSTREAM_DIR: Path = REPO_ROOT.parent / "shared" / "upstream"
DEFAULT_UPSTREAM_PATH: Path = UPSTREAM_DIR / "kratos-api-v26.2.0.json"

#: Upstream paths that belong to the verification flow (compared with the fragment).
VERIFICATION_PATH_PREFIX = "/self-service/verification"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DRIFT_KINDS = ("added", "removed", "changed")
DRIFT_ID_PATTERN = re.compile(r"^DRIFT-\d{3}$")


def load_drift(path: str | Path | None = None) -> dict[str, Any]:
    """Return the parsed drift ledger (``<repo>/openapi/drift.yaml`` by default)."""
    return copy.deepcopy(read_yaml(str(Path(path) if path else DEFAULT_DRIFT_PATH)))


def load_upstream(path: str | Path | None = None) -> dict[str, Any] | None:
    """Return the published Kratos API document, or ``None`` when the file is not there."""
    target = Path(path) if path else DEFAULT_UPSTREAM_PATH
    if not target.is_file():
        return None
    with open(target, encoding="utf-8") as handle:
        return json.load(handle)


def resolve_locator(document: dict[str, Any], where: str) -> Any:
    """Walk a dot-separated locator through ``document``, following references on the way.

    Raises ``KeyError`` when the locator does not exist.
    """
    node: Any = document
    for segment in where.split("."):
        node = deref(document, node)
        if isinstance(node, list):
            node = node[int(segment)]
        elif isinstance(node, dict) and segment in node:
            node = node[segment]
        else:
            raise KeyError(f"{where}: no {segment!r}")
    return node


# ------------------------------------------------------------------------------- comparison with upstream


@dataclass(frozen=True, order=True)
class Difference:
    """One structural difference between the fragment and the upstream document."""

    where: str
    kind: str
    detail: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.kind:8} {self.where}  ({self.detail})" if self.detail else f"{self.kind:8} {self.where}"


def _operations(document: dict[str, Any], prefix: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in document.get("paths", {}).items():
        if prefix is not None and not path.startswith(prefix):
            continue
        item = deref(document, item)
        for method in HTTP_METHODS:
            if method in item:
                found[(path, method)] = item[method]
    return found


def _norm_enum(values: Any) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(sorted(json.dumps(v, sort_keys=True) for v in values))


def _norm_additional(document: dict[str, Any], value: Any) -> str:
    if value is None or value is True or value == {}:
        return "any"
    if value is False:
        return "none"
    return f"schema:{_signature(document, value)}"


def _signature(document: dict[str, Any], schema: Any) -> str:
    """A short, comparable description of a schema's shape at one level (refs named, not followed)."""
    if schema is None:
        return "none"
    if not isinstance(schema, dict):
        return repr(schema)
    name = ref_name(schema)
    if name:
        return f"ref:{name}"
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in schema:
            branches = sorted(_signature(document, branch) for branch in schema[combinator])
            return f"{combinator}[{','.join(branches)}]"
    parts = [f"type={schema.get('type')}", f"format={schema.get('format')}", f"enum={_norm_enum(schema.get('enum'))}"]
    if schema.get("type") == "array" or "items" in schema:
        parts.append(f"items={_signature(document, schema.get('items'))}")
    return "inline(" + ";".join(parts) + ")"


def _referenced_schemas(document: dict[str, Any], roots: Iterable[Any]) -> set[str]:
    """Names of all ``components.schemas`` reachable from ``roots`` (references followed transitively)."""
    names: set[str] = set()
    pending: list[Any] = list(roots)
    visited_refs: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in visited_refs:
                visited_refs.add(ref)
                if ref.startswith("#/components/schemas/"):
                    names.add(ref.rsplit("/", 1)[-1])
                pending.append(resolve_ref(document, ref))
            pending.extend(v for k, v in node.items() if k != "$ref")
        elif isinstance(node, list):
            pending.extend(node)
    return names


class _Comparer:
    """Collects differences between one upstream document and the fragment."""

    def __init__(self, upstream: dict[str, Any], fragment: dict[str, Any]) -> None:
        self.up = upstream
        self.fr = fragment
        self.diffs: list[Difference] = []

    def add(self, kind: str, where: str, detail: str = "") -> None:
        self.diffs.append(Difference(where=where, kind=kind, detail=detail))

    def changed(self, where: str, up: Any, fr: Any, *, same: Callable[[Any], Any] = lambda value: value) -> bool:
        """Record a ``changed`` difference at ``where`` ("up -> fr") unless both sides read the same through
        ``same``; whether it did."""
        if same(up) == same(fr):
            return False
        self.add("changed", where, f"{up} -> {fr}")
        return True

    def matched(self, up: Mapping[Any, Any], fr: Mapping[Any, Any], where: Callable[[Any], str],
                detail: Callable[[str, Any], str] = lambda side, key: "") -> Iterator[Any]:
        """Record every key only one side has, in sorted order (``removed``: upstream only; ``added``: the contract
        only; ``where``/``detail`` say where and what), and yield the keys both have, for comparing further."""
        for key in sorted(set(up) | set(fr)):
            if key not in fr:
                self.add("removed", where(key), detail("upstream", key))
            elif key not in up:
                self.add("added", where(key), detail("contract", key))
            else:
                yield key

    # -- operations -----------------------------------------------------------------------------------

    def operations(self, prefix: str) -> None:
        up_ops = _operations(self.up, prefix)
        fr_ops = _operations(self.fr, None)
        for key in self.matched(up_ops, fr_ops, lambda key: f"paths.{key[0]}.{key[1]}",
                                lambda side, key: f"upstream operationId {up_ops[key].get('operationId')}"
                                if side == "upstream" else f"operationId {fr_ops[key].get('operationId')}"):
            self.operation(f"paths.{key[0]}.{key[1]}", up_ops[key], fr_ops[key])

    def operation(self, where: str, up: dict[str, Any], fr: dict[str, Any]) -> None:
        self.changed(f"{where}.operationId", up.get("operationId"), fr.get("operationId"))
        self.parameters(where, up.get("parameters", []), fr.get("parameters", []))
        self.request_body(where, up.get("requestBody"), fr.get("requestBody"))
        self.responses(where, up.get("responses", {}), fr.get("responses", {}))

    def parameters(self, where: str, up_list: list[Any], fr_list: list[Any]) -> None:
        def index(document: dict[str, Any], items: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
            result = {}
            for item in items:
                param = deref(document, item)
                name = param["name"].lower() if param["in"] == "header" else param["name"]
                result[(param["in"], name)] = param
            return result

        up_params, fr_params = index(self.up, up_list), index(self.fr, fr_list)

        def loc_of(key: tuple[str, str]) -> str:
            return f"{where}.parameters.{key[0]}.{(up_params.get(key) or fr_params[key])['name']}"

        for key in self.matched(up_params, fr_params, loc_of):
            up_p, fr_p, loc = up_params[key], fr_params[key], loc_of(key)
            self.changed(f"{loc}.required", up_p.get("required"), fr_p.get("required"), same=bool)
            self.changed(f"{loc}.schema", _signature(self.up, up_p.get("schema")),
                         _signature(self.fr, fr_p.get("schema")))

    def content(self, where: str, up: dict[str, Any] | None, fr: dict[str, Any] | None) -> None:
        up, fr = up or {}, fr or {}
        for media in self.matched(up, fr, lambda media: f"{where}.content.{media}"):
            self.changed(f"{where}.content.{media}.schema", _signature(self.up, up[media].get("schema")),
                         _signature(self.fr, fr[media].get("schema")))

    def request_body(self, where: str, up: Any, fr: Any) -> None:
        loc = f"{where}.requestBody"
        if up is None and fr is None:
            return
        if fr is None:
            self.add("removed", loc)
            return
        if up is None:
            self.add("added", loc)
            return
        up, fr = deref(self.up, up), deref(self.fr, fr)
        self.changed(f"{loc}.required", up.get("required"), fr.get("required"), same=bool)
        self.content(loc, up.get("content"), fr.get("content"))

    def responses(self, where: str, up: dict[str, Any], fr: dict[str, Any]) -> None:
        for status in sorted(set(map(str, up)) | set(map(str, fr))):
            loc = f"{where}.responses.{status}"
            up_r = _response_for(up, status)
            fr_r = _response_for(fr, status)
            if fr_r is None:
                self.add("removed", loc)
                continue
            if up_r is None:
                self.add("added", loc)
                continue
            up_r, fr_r = deref(self.up, up_r), deref(self.fr, fr_r)
            self.content(loc, up_r.get("content"), fr_r.get("content"))
            self.headers(loc, up_r.get("headers", {}), fr_r.get("headers", {}))

    def headers(self, where: str, up: dict[str, Any], fr: dict[str, Any]) -> None:
        """Headers one side documents and the other does not (names compared case-blind; what both document is
        compared no further)."""
        up_h, fr_h = {name.lower(): name for name in up}, {name.lower(): name for name in fr}
        shown = {**fr_h, **up_h}
        for _ in self.matched(up_h, fr_h, lambda key: f"{where}.headers.{shown[key]}"):
            pass

    # -- schemas --------------------------------------------------------------------------------------

    def schemas(self, prefix: str) -> None:
        up_schemas = self.up.get("components", {}).get("schemas", {})
        fr_schemas = self.fr.get("components", {}).get("schemas", {})
        roots = [op for op in _operations(self.up, prefix).values()]
        needed = _referenced_schemas(self.up, roots)
        for name in sorted(needed - set(fr_schemas)):
            self.add("removed", f"components.schemas.{name}", "used by an upstream verification operation")
        for name in sorted(set(fr_schemas) - set(up_schemas)):
            self.add("added", f"components.schemas.{name}")
        for name in sorted(set(fr_schemas) & set(up_schemas)):
            self.schema(f"components.schemas.{name}", up_schemas[name], fr_schemas[name], depth=0)

    def schema(self, loc: str, up: Any, fr: Any, depth: int) -> None:
        if depth > 12 or not isinstance(up, dict) or not isinstance(fr, dict):
            return
        up_name, fr_name = ref_name(up), ref_name(fr)
        if up_name and fr_name:
            self.changed(f"{loc}.$ref", up_name, fr_name)
            return  # named schemas are compared on their own
        if up_name or fr_name:
            # One side points at a named schema, the other is inline: compare what the reference holds.
            up, fr = deref(self.up, up), deref(self.fr, fr)
        for keyword in ("type", "format"):
            self.changed(f"{loc}.{keyword}", up.get(keyword), fr.get(keyword))
        self.changed(f"{loc}.nullable", up.get("nullable"), fr.get("nullable"), same=bool)
        self.changed(f"{loc}.enum", up.get("enum"), fr.get("enum"), same=_norm_enum)
        up_more, fr_more = up.get("additionalProperties"), fr.get("additionalProperties")
        differs = self.changed(f"{loc}.additionalProperties", _norm_additional(self.up, up_more),
                               _norm_additional(self.fr, fr_more))
        if not differs and isinstance(up_more, dict) and isinstance(fr_more, dict):
            self.schema(f"{loc}.additionalProperties", up["additionalProperties"], fr["additionalProperties"],
                        depth + 1)
        self.changed(f"{loc}.required", sorted(up.get("required", [])), sorted(fr.get("required", [])))
        up_props, fr_props = up.get("properties", {}), fr.get("properties", {})
        for prop in self.matched(up_props, fr_props, lambda prop: f"{loc}.properties.{prop}"):
            self.schema(f"{loc}.properties.{prop}", up_props[prop], fr_props[prop], depth + 1)
        if "items" in up or "items" in fr:
            self.schema(f"{loc}.items", up.get("items", {}), fr.get("items", {}), depth + 1)
        for combinator in ("oneOf", "anyOf", "allOf"):
            self.changed(f"{loc}.{combinator}", sorted(_signature(self.up, b) for b in up.get(combinator, [])),
                         sorted(_signature(self.fr, b) for b in fr.get(combinator, [])))
        up_d, fr_d = up.get("discriminator"), fr.get("discriminator")
        if (up_d is None) != (fr_d is None) or (
            up_d is not None
            and (
                up_d.get("propertyName") != fr_d.get("propertyName")
                or {k: v.rsplit("/", 1)[-1] for k, v in up_d.get("mapping", {}).items()}
                != {k: v.rsplit("/", 1)[-1] for k, v in fr_d.get("mapping", {}).items()}
            )
        ):
            self.add("changed", f"{loc}.discriminator", f"{up_d} -> {fr_d}")


def compare_with_upstream(
    fragment: dict[str, Any], upstream: dict[str, Any], prefix: str = VERIFICATION_PATH_PREFIX
) -> list[Difference]:
    """Every structural difference between ``fragment`` and the verification part of ``upstream``.

    Compared: operations (added/removed), operationIds, parameters (presence, ``required``, schema shape),
    request bodies (media types, schema shape), response statuses, their media types, schema shapes and
    header names; for every schema both documents name alike: ``type``, ``format``, ``enum``,
    ``nullable``, ``additionalProperties``, ``required``, properties (recursively), ``items``,
    combinators and discriminators.  Upstream schemas used by the verification operations but missing from
    the fragment count as removed.  Descriptions, summaries, tags, links and examples are not compared.
    """
    comparer = _Comparer(upstream, fragment)
    comparer.operations(prefix)
    comparer.schemas(prefix)
    return sorted(set(comparer.diffs))


# ------------------------------------------------------------------------------------- the drift ledger


def locator_matches(pattern: str, where: str) -> bool:
    """Whether a ledger locator (segments may hold ``*``/``?`` wildcards) matches a concrete locator."""
    pattern_parts, parts = pattern.split("."), where.split(".")
    return len(pattern_parts) == len(parts) and all(
        fnmatch.fnmatchcase(part, pat) for pat, part in zip(pattern_parts, parts)
    )


@dataclass
class LedgerReport:
    """The outcome of matching the drift ledger against the real differences."""

    unrecorded: list[Difference] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    matched: dict[str, list[Difference]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.unrecorded or self.stale or self.malformed)

    def explain(self) -> str:
        """A readable summary of everything that is wrong with the ledger."""
        lines: list[str] = []
        if self.unrecorded:
            lines.append("Differences from upstream that openapi/drift.yaml does not record:")
            lines.extend(f"  {d}" for d in self.unrecorded)
        if self.stale:
            lines.append("Ledger entries that match no real difference (stale):")
            lines.extend(f"  {s}" for s in self.stale)
        if self.malformed:
            lines.append("Malformed ledger entries:")
            lines.extend(f"  {m}" for m in self.malformed)
        return "\n".join(lines)


def iter_entries(ledger: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The ledger's entries."""
    yield from ledger.get("entries", [])


def _text_at(document: dict[str, Any], where: str) -> str | None:
    try:
        value = resolve_locator(document, where)
    except (KeyError, IndexError, ValueError):
        return None
    return value if isinstance(value, str) else None


def check_ledger(
    differences: Iterable[Difference],
    ledger: dict[str, Any],
    fragment: dict[str, Any],
    upstream: dict[str, Any],
) -> LedgerReport:
    """Match the ledger against ``differences`` (from :func:`compare_with_upstream`).

    A structural entry (``kind`` + ``where``) must match at least one difference of the same kind.  A
    wording entry additionally carries ``upstream_text``: the upstream text at ``where`` must still contain
    it and the fragment's text at ``where`` must exist and must not (the fragment says otherwise there).
    Every difference must be matched by some structural entry.
    """
    report = LedgerReport()
    differences = list(differences)
    seen_ids: set[str] = set()
    covered: set[Difference] = set()
    for position, entry in enumerate(iter_entries(ledger)):
        entry_id = entry.get("id", f"<entry {position}>")
        problems = []
        if not isinstance(entry.get("id"), str) or not DRIFT_ID_PATTERN.match(entry["id"]):
            problems.append("id must look like DRIFT-001")
        elif entry["id"] in seen_ids:
            problems.append("duplicate id")
        seen_ids.add(str(entry.get("id")))
        for key in ("where", "kind", "reason", "source"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                problems.append(f"missing {key}")
        if entry.get("kind") not in DRIFT_KINDS:
            problems.append(f"kind must be one of {DRIFT_KINDS}")
        if problems:
            report.malformed.append(f"{entry_id}: {', '.join(problems)}")
            continue
        where, kind = entry["where"], entry["kind"]
        if "upstream_text" in entry:
            phrase = entry["upstream_text"]
            up_text, fr_text = _text_at(upstream, where), _text_at(fragment, where)
            if up_text is None or phrase not in up_text:
                report.stale.append(f"{entry_id}: upstream text at {where} no longer contains {phrase!r}")
            elif fr_text is None:
                report.stale.append(f"{entry_id}: the fragment has no text at {where}")
            elif phrase in fr_text:
                report.stale.append(f"{entry_id}: the fragment at {where} repeats {phrase!r}")
            continue
        hits = [d for d in differences if d.kind == kind and locator_matches(where, d.where)]
        if not hits:
            report.stale.append(f"{entry_id}: no {kind} difference at {where}")
        report.matched[entry_id] = hits
        covered.update(hits)
    report.unrecorded = [d for d in differences if d not in covered]
    return report


def _response_for(responses: dict[Any, Any], status: str) -> Any:
    """A spec's response for ``status``; YAML reads an unquoted ``200`` key as a number."""
    if status in responses:
        return responses[status]
    return responses.get(int(status)) if status.isdigit() else None
