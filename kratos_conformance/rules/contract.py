"""The verification contract: loading it and validating bodies against it.

The contract is ``openapi/verification.yaml`` (an OpenAPI 3.0.3 fragment describing how a Kratos v26.2.0
server really behaves on the verification endpoints).  ``openapi/drift.yaml`` is the ledger of every
place where that fragment departs from the published Kratos API document (:mod:`.drift` checks it).  This module
holds what the suite uses at run time:

* :func:`load_contract` reads the contract, :func:`deref` / :func:`resolve_ref` follow its references;
* :func:`component_validator` / :func:`validate_component` check a JSON body against a named schema
  (OpenAPI 3.0 ``nullable`` is translated to JSON Schema), :func:`response_schema` finds a response's schema.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import best_match

from kratos_conformance.run.bundle import contract_dir, data_root
from kratos_conformance.wire.redact import redact_values, secret_values

#: The repository root (the parent of the ``kratos_conformance`` package) in a checkout; the bundle when installed.
REPO_ROOT: Path = data_root()
DEFAULT_CONTRACT_PATH: Path = contract_dir() / "verification.yaml"


# --------------------------------------------------------------------------------------------- loading


@lru_cache(maxsize=8)
def read_yaml(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x faster


def load_contract(path: str | Path | None = None) -> dict[str, Any]:
    """Return the parsed contract fragment (a fresh copy, safe to modify).

    ``path`` defaults to ``<repo>/openapi/verification.yaml``.
    """
    return copy.deepcopy(read_yaml(str(Path(path) if path else DEFAULT_CONTRACT_PATH)))


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of a contract document with an ``operationId``: (HTTP method in upper case, path, the
    operation object), in the document's order. The one walk of ``paths`` the suite makes."""
    return [(method.upper(), path, op) for path, item in document["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "operationId" in op]


# ------------------------------------------------------------------------------------------ references


def resolve_ref(document: dict[str, Any], ref: str) -> Any:
    """Resolve a local JSON reference (``#/components/...``) inside ``document``."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part]
    return node


def deref(document: dict[str, Any], node: Any) -> Any:
    """Follow ``$ref`` until a node that is not a reference is reached."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"reference cycle at {ref}")
        seen.add(ref)
        node = resolve_ref(document, ref)
    return node


def required_headers(document: dict[str, Any], response: dict[str, Any]) -> list[str]:
    """The headers a documented ``response`` of ``document`` requires (VER-RESP-HEADERS: their presence; their
    values are the response rules')."""
    return [name for name, header in (response.get("headers") or {}).items()
            if deref(document, header).get("required")]


def ref_name(node: Any) -> str | None:
    """The last segment of a node's ``$ref`` (the component name), or ``None``."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return None


# ------------------------------------------------------------------------------------- JSON Schema use


def openapi_to_json_schema(node: Any) -> Any:
    """Translate an OpenAPI 3.0 schema tree into plain JSON Schema (draft 7).

    ``nullable: true`` next to a ``type`` becomes a type list including ``"null"``; OpenAPI-only keywords
    (``discriminator``, ``example``, ``nullable``, ...) are dropped.  ``$ref`` values are kept, so the
    converted document must stay the root of resolution.
    """
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("discriminator", "example", "nullable", "xml", "externalDocs", "readOnly", "writeOnly",
                   "deprecated"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            result[key] = {name: openapi_to_json_schema(sub) for name, sub in value.items()}
        else:
            result[key] = openapi_to_json_schema(value)
    if node.get("nullable") is True and "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        result["type"] = [*types, "null"]
    return result


@lru_cache(maxsize=8)
def _converted_components(contract_path: str) -> dict[str, Any]:
    contract = read_yaml(contract_path)
    schemas = contract["components"]["schemas"]
    return {"components": {"schemas": {name: openapi_to_json_schema(sub) for name, sub in schemas.items()}}}


def schema_validator(schema: dict[str, Any], path: str | Path | None = None) -> jsonschema.protocols.Validator:
    """A draft-7 validator (with format checks) for an OpenAPI schema node taken from the contract.

    ``$ref``s inside ``schema`` resolve against the contract's ``components.schemas``.
    """
    converted = _converted_components(str(Path(path) if path else DEFAULT_CONTRACT_PATH))
    body = openapi_to_json_schema(schema)
    # Draft 7 ignores the siblings of a root "$ref", so wrap references in allOf.
    root = {"allOf": [body], **converted} if "$ref" in body else {**body, **converted}
    # The generic checker knows every format jsonschema supports (uuid included, which draft 7's does not).
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())


def component_validator(name: str, path: str | Path | None = None) -> jsonschema.protocols.Validator:
    """A draft-7 validator (with format checks) for ``components.schemas.<name>`` of the contract."""
    converted = _converted_components(str(Path(path) if path else DEFAULT_CONTRACT_PATH))
    if name not in converted["components"]["schemas"]:
        raise KeyError(f"no schema {name!r} in the contract")
    return schema_validator({"$ref": f"#/components/schemas/{name}"}, path)


def response_schema(
    contract: dict[str, Any], path: str, method: str, status: str, media_type: str = "application/json"
) -> dict[str, Any]:
    """The (unresolved) schema of one documented response body, e.g. ``("/self-service/verification", "post",
    "400")``."""
    response = deref(contract, contract["paths"][path][method]["responses"][str(status)])
    return response["content"][media_type]["schema"]


def validate_component(name: str, instance: Any, path: str | Path | None = None) -> list[str]:
    """Validate ``instance`` against ``components.schemas.<name>``; return readable error messages."""
    return validation_errors(component_validator(name, path), instance)


def validation_errors(validator: jsonschema.protocols.Validator, instance: Any) -> list[str]:
    """Readable messages for every way ``instance`` breaks the validator's schema (empty when valid), the most
    telling first.

    Each names the JSON path of the offending value, what is wrong with it and the schema rule it breaks. An error
    of a ``oneOf`` or ``anyOf`` (whose own message would quote the whole body) is explained by the branch that got
    furthest (jsonschema's ``best_match``): ``/active: 'xyz' is not one of ['code', 'link'] (rule enum at
    oneOf/0/properties/active/enum)``.
    """
    errors = list(validator.iter_errors(instance))
    if not errors:
        return []
    first = best_match(errors)
    ordered = [first] + sorted((e for e in errors if e is not first), key=lambda e: list(e.absolute_path))
    secrets = secret_values(instance)  # a message quotes the offending value, which may hold the CSRF token
    return [redact_values(_explain(error), secrets) for error in ordered]


def _explain(error: jsonschema.ValidationError) -> str:
    deepest = best_match([error]) if error.context else error
    where = "/" + "/".join(str(p) for p in deepest.absolute_path)
    rule = "/".join(str(p) for p in deepest.absolute_schema_path)
    message = deepest.message if len(deepest.message) <= 300 else deepest.message[:300] + "..."
    return f"{where}: {message} (rule {deepest.validator} at {rule})"
