"""The fuzzing contract (:func:`fuzz_schema`): ``openapi/verification.yaml`` loaded into schemathesis without its
``default`` responses (VER-RESP-STATUS: ``default`` does not count, :func:`fuzz_contract`), with the expected
statuses of ``positive_data_acceptance`` taken from the contract (documented business-rule 400s are not failures,
:func:`fuzz_config`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import schemathesis

from kratos_conformance.rules.contract import DEFAULT_CONTRACT_PATH, load_contract, operations


def contract_statuses(contract: Mapping[str, Any]) -> dict[str, list[str]]:
    """Documented statuses (``default`` excluded) per operationId."""
    return {op["operationId"]: [code for code in op.get("responses", {}) if code != "default"]
            for _, _, op in operations(dict(contract))}


def fuzz_config(contract: Mapping[str, Any], *, seed_value: int | None = None) -> Any:
    """The schemathesis configuration of a fuzzing run, built here (never discovered from a schemathesis.toml).

    Per operation, ``positive_data_acceptance`` expects the documented statuses (business-rule 400s are
    documented, so they are not failures) and ``negative_data_rejection`` expects a rejection: a 4xx or a redirect
    (a browser is answered with a 303, to the UI showing the error or to the error UI). 5xx are left to
    ``not_a_server_error`` (VER-RESP-NO-5XX) so one server error is not reported twice.
    """
    operations = [
        {"include-operation-id": op_id,
         "checks": {"positive_data_acceptance": {"expected-statuses": [*statuses, "5XX"]},
                    "negative_data_rejection": {"expected-statuses": ["3XX", "4XX", "5XX"]}}}
        for op_id, statuses in contract_statuses(contract).items()
    ]
    data: dict[str, Any] = {"operations": operations}
    if seed_value is not None:
        data["seed"] = seed_value
    return schemathesis.Config.from_dict(data)


def fuzz_contract(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The contract as the fuzzer loads it: ``default`` responses dropped (VER-RESP-STATUS: default does not count).

    With ``default`` in place, schemathesis's status_code_conformance accepts any status at all; without it, an
    undocumented status is reported and its body, which the contract does not describe, is not judged further.
    """
    contract = copy.deepcopy(load_contract(Path(path) if path is not None else None))
    for item in contract["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.get("responses", {}).pop("default", None)
    return contract


def fuzz_schema(base_url: str, *, seed_value: int | None = None,
                contract_path: str | os.PathLike[str] | None = None) -> Any:
    """The contract loaded into schemathesis for fuzzing ``base_url`` (see :func:`fuzz_contract`)."""
    contract = fuzz_contract(contract_path or DEFAULT_CONTRACT_PATH)
    schema = schemathesis.openapi.from_dict(contract, config=fuzz_config(contract, seed_value=seed_value))
    schema.config.update(base_url=base_url.rstrip("/"))
    return schema
