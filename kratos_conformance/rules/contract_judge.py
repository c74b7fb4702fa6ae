"""Judge every recorded exchange against the contract, whatever scenario sent it.

For a request to one of the contract's operations, the response must have a documented status (``default`` does
not count: it only describes what an undocumented error would look like), a documented media type, the required
headers, and a body that validates against the documented schema; and the rules of
:mod:`~kratos_conformance.rules.response_rules` that the answer can break: a redirect's target, a flow read's
Cache-Control, every CSRF cookie's attributes, a flow's media type, its message ids and its node layout.
Independently: no 5xx, and no debug details or stack traces in any body. The plugin runs
:meth:`ContractJudge.judge` on each exchange as it is recorded, so a scenario stops at the first response that
breaks the contract and the failure names the requirement; a request that got no answer at all is judged by
:func:`unanswered`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, cast

import jsonschema_rs

from kratos_conformance.rules import checks
from kratos_conformance.rules.contract import (
    deref,
    load_contract,
    operations,
    required_headers,
    schema_validator,
    validation_errors,
)
from kratos_conformance.rules.response_rules import NO_ANSWER_REQUIREMENT, is_uuid, judge_answer, server_error_problem
from kratos_conformance.rules.ui_expectations import expectations
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import NoAnswer
from kratos_conformance.wire.exchanges import Exchange


def unanswered(exc: NoAnswer) -> None:
    """Raise the :class:`~kratos_conformance.rules.checks.RequirementFailure` of a scenario's request that got no
    answer (``exc`` says which and why): an answer was due, and none is worse than a server error."""
    checks.expect(NO_ANSWER_REQUIREMENT, False, str(exc), name="contract")


class ContractJudge:
    """Knows the contract's operations and the target, and judges exchanges against them."""

    def __init__(self, target: Target, contract: dict[str, Any] | None = None) -> None:
        self.target = target
        self.ui = expectations(target.profile)
        self.contract = contract or load_contract()
        self.operations = {op["operationId"]: op for _, _, op in operations(self.contract)}

    def judge(self, ex: Exchange) -> None:
        """Raise :class:`~kratos_conformance.rules.checks.RequirementFailure` if ``ex`` breaks the contract. A transient
        server error the release profile knows as its own defect is reported as that, and judged no further. Every
        exchange is judged for itself, one a helper made on the way to a test's state too."""
        with checks.for_its_own_sake():
            self._judge(ex)

    def _judge(self, ex: Exchange) -> None:
        known = self.target.profile.tolerates_transient(ex.status, ex.response_body)
        if known:
            checks.expect_unless_known(NO_ANSWER_REQUIREMENT, False, f"transient error answered {ex.status}", ex,
                                       name="contract transient_error", known=known)
            return
        for req, problems in self.findings(ex).items():
            learned = self.target.learned_for.get(req)
            checks.expect(req, not problems, "; ".join(problems[:5]) or "conforms", ex,
                          name=checks.check_name("contract", learned=learned is not None, what=learned or "",
                                                 shape_only=req in self.target.shape_only_for))

    def findings(self, ex: Exchange) -> dict[str, list[str]]:
        """Every requirement ``ex`` could be judged against, with what it breaks (an empty list: judged, and it
        conforms), in the order a scenario meets them; a requirement absent here could not be judged on it. An
        answer of the contract's operations is held to its documented response and to every response rule
        (:func:`response_rules.judge_answer`); any other (the admin API, a UI page) only to no server error and
        no leak."""
        server_error = server_error_problem(ex.status)
        found: dict[str, list[str]] = {NO_ANSWER_REQUIREMENT: [server_error] if server_error else []}
        rules = judge_answer(ex.answer, targets=self.target.redirect_targets, cookie_policy=self.target.cookie_policy,
                             flow_rules=self.ui)
        if "VER-RESP-NO-LEAK" in rules:
            found["VER-RESP-NO-LEAK"] = rules.pop("VER-RESP-NO-LEAK")
        op = self.operations.get(ex.operation)
        if op is None:
            return found
        found.update(self.problems(op, ex))
        found.update(rules)
        return found

    def problems(self, op: dict[str, Any], ex: Exchange) -> dict[str, list[str]]:
        """Every way the response departs from the documented response of ``op``, by requirement id.

        Keys: VER-RESP-STATUS, VER-RESP-HEADERS, VER-RESP-CONTENT-TYPE, VER-RESP-SCHEMA (a key whose list is
        empty was judged and conforms; a missing key could not be judged, e.g. no schema for an undocumented
        status).
        """
        responses = op.get("responses", {})
        documented = responses.get(str(ex.status))
        if documented is None:
            listed = ", ".join(k for k in responses if k != "default")
            return {"VER-RESP-STATUS": [f"status {ex.status} is not documented for {ex.operation} "
                                        f"(documented: {listed})"]}
        response = deref(self.contract, documented)
        result: dict[str, list[str]] = {"VER-RESP-STATUS": []}
        required = required_headers(self.contract, response)
        if required:  # a response that requires no header cannot break VER-RESP-HEADERS: not judged
            result["VER-RESP-HEADERS"] = [f"required header {name} is missing" for name in required
                                          if ex.header(name) is None]
        content = response.get("content") or {}
        if not content:
            return result
        if ex.content_type not in content:
            result["VER-RESP-CONTENT-TYPE"] = [f"content type {ex.content_type or 'none'!r} is not one of "
                                               f"{sorted(content)}"]
            return result
        result["VER-RESP-CONTENT-TYPE"] = []
        schema = (content[ex.content_type] or {}).get("schema")
        if schema is None or not ex.content_type.endswith("json"):
            return result
        try:
            body = ex.json()
        except ValueError:
            result["VER-RESP-SCHEMA"] = ["the body is not valid JSON"]
            return result
        result["VER-RESP-SCHEMA"] = _validator(json.dumps(schema, sort_keys=True)).errors(body)
        return result


class _FastValidator:
    """Validate with jsonschema-rs (microseconds) and explain failures with jsonschema (readable messages).

    Both get the same draft-7 schema and the same formats (uuid added to rs, as jsonschema's checker has it).
    Every response of every scenario goes through here, so the common case, a valid body, must be cheap.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.explainer = schema_validator(schema)
        self.fast = jsonschema_rs.Draft7Validator(cast(dict[str, Any], self.explainer.schema), validate_formats=True,
                                                  formats={"uuid": is_uuid})

    def errors(self, instance: Any) -> list[str]:
        if self.fast.is_valid(instance):
            return []
        found = validation_errors(self.explainer, instance)
        return found or [str(e) for e in self.fast.iter_errors(instance)]


@lru_cache(maxsize=128)
def _validator(schema_json: str) -> _FastValidator:
    return _FastValidator(json.loads(schema_json))
