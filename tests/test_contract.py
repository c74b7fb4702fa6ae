"""Guards for the contract (openapi/verification.yaml) and its drift ledger (openapi/drift.yaml).

* the fragment is valid OpenAPI 3.0.3 and documents what the behaviour reference says each endpoint answers;
* every difference from the published Kratos v26.2.0 document is recorded in the ledger, and every ledger
  entry still matches a real difference (no stale entries); all eight "Docs vs behaviour" items appear;
* the schemas accept bodies shaped like real Kratos responses and reject near misses;
* schemathesis 4.32.5 loads the fragment, generates a case for every operation and builds a state machine
  from its links.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate as validate_openapi
from schemathesis.core.transport import Response
from schemathesis.specs.openapi import checks as st_checks
from schemathesis.specs.openapi.expressions import nodes as st_nodes
from schemathesis.specs.openapi.expressions import parser as st_parser

from kratos_conformance.rules.contract import (
    DEFAULT_CONTRACT_PATH,
    REPO_ROOT,
    component_validator,
    deref,
    load_contract,
    response_schema,
    schema_validator,
    validate_component,
    validation_errors,
)
from kratos_conformance.rules.drift import (
    DEFAULT_UPSTREAM_PATH,
    Difference,
    check_ledger,
    compare_with_upstream,
    load_drift,
    load_upstream,
    locator_matches,
)

VERIFICATION = "/self-service/verification"
BROWSER = "/self-service/verification/browser"
API = "/self-service/verification/api"
FLOWS = "/self-service/verification/flows"

#: What each operation must document (from the behaviour reference).
EXPECTED_OPERATIONS: dict[tuple[str, str], tuple[str, set[str]]] = {
    (BROWSER, "get"): ("createBrowserVerificationFlow", {"200", "303", "400", "default"}),
    (API, "get"): ("createNativeVerificationFlow", {"200", "303", "400", "default"}),
    (FLOWS, "get"): ("getVerificationFlow", {"200", "403", "404", "410", "default"}),
    (VERIFICATION, "post"): ("updateVerificationFlow", {"200", "303", "400", "403", "404", "410", "default"}),
    (VERIFICATION, "get"): ("followVerificationLink", {"200", "303", "400", "403", "404", "410", "default"}),
}


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    """The parsed fragment."""
    return load_contract()


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    """The published Kratos v26.2.0 API document (the test is skipped when it is not beside the repo)."""
    document = load_upstream()
    if document is None:
        pytest.skip(f"upstream spec not found at {DEFAULT_UPSTREAM_PATH}")
    return document


@pytest.fixture(scope="module")
def ledger() -> dict[str, Any]:
    """The parsed drift ledger."""
    return load_drift()


@pytest.fixture(scope="module")
def st_schema() -> Any:
    """The fragment loaded by schemathesis."""
    return schemathesis.openapi.from_path(str(DEFAULT_CONTRACT_PATH))


def _walk(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every (locator, dict) pair in a document tree."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}.{index}")


# ----------------------------------------------------------------------------------- the fragment itself


def test_fragment_is_valid_openapi(contract: dict[str, Any]) -> None:
    """openapi-spec-validator accepts the fragment."""
    assert contract["openapi"] == "3.0.3"
    validate_openapi(contract)


def test_info_explains_the_fragment(contract: dict[str, Any]) -> None:
    """info.description says what the fragment is and that it records observed behaviour."""
    text = contract["info"]["description"]
    assert "verification" in text.lower()
    assert "observed" in text.lower()
    assert "drift.yaml" in text


def test_operations_and_statuses(contract: dict[str, Any]) -> None:
    """Exactly the five verification operations, each with the statuses a Kratos server really answers."""
    found = {
        (path, method): op
        for path, item in contract["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert set(found) == set(EXPECTED_OPERATIONS)
    for key, (operation_id, statuses) in EXPECTED_OPERATIONS.items():
        operation = found[key]
        assert operation["operationId"] == operation_id, key
        assert set(map(str, operation["responses"])) == statuses, key
        assert operation.get("description", "").strip(), f"{key} needs a description"


def test_every_redirect_documents_a_required_location(contract: dict[str, Any]) -> None:
    """Each 303 has a required Location header (its value is VER-RESP-LOCATION's rule); GET redirects document their
    text/html body."""
    redirects = 0
    for path, method in EXPECTED_OPERATIONS:
        responses = contract["paths"][path][method]["responses"]
        if "303" not in responses:
            continue
        redirects += 1
        response = deref(contract, responses["303"])
        location = deref(contract, response["headers"]["Location"])
        assert location["required"] is True, (path, method)
        assert location["schema"] == {"type": "string"}  # its value: VER-RESP-LOCATION (response_rules)
        if method == "get":
            assert set(response.get("content", {})) == {"text/html"}, (path, method)
        else:
            assert "content" not in response, "a redirect answering a POST has no body"
    assert redirects == 4  # everything but GET /flows, which always answers JSON


def test_cookie_and_cache_headers(contract: dict[str, Any]) -> None:
    """Set-Cookie where the CSRF cookie is set, never on native init; Cache-Control required on flow reads."""
    paths = contract["paths"]
    browser_200 = deref(contract, paths[BROWSER]["get"]["responses"]["200"])
    browser_303 = deref(contract, paths[BROWSER]["get"]["responses"]["303"])
    flows_200 = deref(contract, paths[FLOWS]["get"]["responses"]["200"])
    post_303 = deref(contract, paths[VERIFICATION]["post"]["responses"]["303"])
    for response in (browser_200, browser_303, flows_200, post_303):
        assert "Set-Cookie" in response["headers"]
    for status, response in paths[API]["get"]["responses"].items():
        assert "Set-Cookie" not in deref(contract, response).get("headers", {}), f"native init {status}"
    cache = deref(contract, flows_200["headers"]["Cache-Control"])
    assert cache["required"] is True
    assert "pattern" not in cache["schema"]  # its value is VER-GET-CACHE-CONTROL's (response_rules), judged once


def test_discriminators_are_pinned(contract: dict[str, Any]) -> None:
    """In every oneOf with a discriminator, each branch pins the discriminator to exactly its mapping key."""
    checked = 0
    for where, node in _walk(contract):
        if "discriminator" not in node or "oneOf" not in node:
            continue
        prop = node["discriminator"]["propertyName"]
        mapping = node["discriminator"]["mapping"]
        assert len(mapping) == len(node["oneOf"]), where
        for value, ref in mapping.items():
            branch = deref(contract, {"$ref": ref})
            assert branch["properties"][prop]["enum"] == [value], f"{where}: {ref}"
            assert prop in branch["required"], f"{where}: {ref}"
        checked += 1
    assert checked >= 1  # ui node attributes (the request body has pinned enums but no discriminator object)


def test_submission_variants_are_exclusive() -> None:
    """Each body selects exactly one variant; a code body may leave ``method`` out, as Kratos infers it."""
    variants = [component_validator("updateVerificationFlowWithCodeMethod"),
                component_validator("updateVerificationFlowWithLinkMethod")]
    for body, matches in (({"method": "code", "email": "a@b.test"}, [True, False]),
                          ({"code": "123456"}, [True, False]),
                          ({"method": "link", "email": "a@b.test"}, [False, True]),
                          ({"email": "a@b.test"}, [False, False]),
                          ({"method": "sms", "code": "1"}, [False, False])):
        assert [v.is_valid(body) for v in variants] == matches, body


def test_request_bodies(contract: dict[str, Any]) -> None:
    """The submit endpoint takes JSON and URL-encoded bodies (Kratos reads no multipart), with the method union."""
    body = contract["paths"][VERIFICATION]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    for media in body["content"].values():
        assert media["schema"] == {"$ref": "#/components/schemas/updateVerificationFlowBody"}
    code = contract["components"]["schemas"]["updateVerificationFlowWithCodeMethod"]["properties"]
    link = contract["components"]["schemas"]["updateVerificationFlowWithLinkMethod"]["properties"]
    assert set(code) == {"method", "email", "code", "csrf_token", "transient_payload"}
    assert set(link) == {"method", "email", "csrf_token", "transient_payload"}


def test_descriptions_are_not_copied_from_upstream(contract: dict[str, Any], upstream: dict[str, Any]) -> None:
    """No description in the fragment repeats an upstream description verbatim (fragment in our own words)."""
    upstream_texts = {
        node["description"].strip()
        for _, node in _walk(upstream)
        if isinstance(node.get("description"), str) and len(node["description"].strip()) > 25
    }
    copied = [
        where
        for where, node in _walk(contract)
        if isinstance(node.get("description"), str) and node["description"].strip() in upstream_texts
    ]
    assert not copied, copied


# ------------------------------------------------------------------------------- drift against upstream


def test_every_difference_is_recorded_and_no_entry_is_stale(
    contract: dict[str, Any], upstream: dict[str, Any], ledger: dict[str, Any]
) -> None:
    """The ledger records every difference from upstream, and every entry still matches a real one."""
    report = check_ledger(compare_with_upstream(contract, upstream), ledger, contract, upstream)
    assert report.ok, "\n" + report.explain()


def test_ledger_entries_are_well_formed(ledger: dict[str, Any]) -> None:
    """Ids are unique and stable-looking; every entry has where, kind, reason and a source that cites the code of
    Kratos (or of the library it answers through), not only notes about it."""
    assert (REPO_ROOT / ledger["upstream"]).resolve() == DEFAULT_UPSTREAM_PATH.resolve()
    assert (REPO_ROOT / ledger["fragment"]).resolve() == DEFAULT_CONTRACT_PATH.resolve()
    entries = ledger["entries"]
    ids = [entry["id"] for entry in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert re.fullmatch(r"DRIFT-\d{3}", entry["id"])
        assert entry["kind"] in ("added", "removed", "changed")
        assert entry["where"].split(".")[0] in ("paths", "components")
        assert len(entry["reason"]) > 40 and entry["source"].strip()
        assert re.search(r"\bory/(kratos|herodot) \S+\.go\b", entry["source"]), entry["id"]


def test_all_docs_vs_behaviour_items_are_recorded(ledger: dict[str, Any]) -> None:
    """Each of the eight "Docs vs behaviour" items has an entry whose reason cites it."""
    cited: dict[int, list[str]] = {}
    for entry in ledger["entries"]:
        for item in entry.get("docs_vs_behaviour", []):
            assert f"Docs vs behaviour #{item}" in entry["reason"], entry["id"]
            cited.setdefault(item, []).append(entry["id"])
    assert sorted(cited) == list(range(1, 9)), cited


def test_ledger_check_catches_unrecorded_and_stale(
    contract: dict[str, Any], upstream: dict[str, Any], ledger: dict[str, Any]
) -> None:
    """The guard itself works: a new departure is reported, and so is a departure that went away."""
    changed = copy.deepcopy(contract)
    # A new, unrecorded departure: drop a property upstream has and widen an enum.
    del changed["components"]["schemas"]["uiText"]["properties"]["context"]
    changed["components"]["schemas"]["uiText"]["properties"]["type"]["enum"].append("warning")
    # A recorded departure disappears: the 410 on GET /flows is removed again.
    del changed["paths"][FLOWS]["get"]["responses"]["410"]
    # A wording entry goes stale: the fragment repeats the wrong upstream claim.
    changed["paths"][VERIFICATION]["post"]["description"] += " ... instructs the user to update their password."
    report = check_ledger(compare_with_upstream(changed, upstream), ledger, changed, upstream)
    unrecorded = {(d.kind, d.where) for d in report.unrecorded}
    assert ("removed", "components.schemas.uiText.properties.context") in unrecorded
    assert ("changed", "components.schemas.uiText.properties.type.enum") in unrecorded
    assert any(s.startswith("DRIFT-003:") for s in report.stale), report.stale
    assert any(s.startswith("DRIFT-008:") for s in report.stale), report.stale


def test_comparator_sees_status_schema_and_parameter_changes(upstream: dict[str, Any]) -> None:
    """compare_with_upstream reports the kinds of differences the ledger is meant to hold."""
    fragment = copy.deepcopy(upstream)
    fragment["paths"] = {p: item for p, item in fragment["paths"].items() if p.startswith(VERIFICATION)}
    operation = fragment["paths"][FLOWS]["get"]
    del operation["responses"]["403"]
    operation["parameters"][0]["required"] = False
    fragment["components"]["schemas"]["uiNode"]["required"].remove("meta")
    found = {(d.kind, d.where) for d in compare_with_upstream(fragment, upstream)}
    assert found == {
        ("removed", f"paths.{FLOWS}.get.responses.403"),
        ("changed", f"paths.{FLOWS}.get.parameters.query.id.required"),
        ("changed", "components.schemas.uiNode.required"),
    }
    assert locator_matches("paths.*.*.responses.303.headers.Location",
                           f"paths.{VERIFICATION}.post.responses.303.headers.Location")
    assert not locator_matches("components.schemas.*.additionalProperties",
                               "components.schemas.genericError.properties.details.additionalProperties")
    assert str(Difference(where="a.b", kind="added")).startswith("added")


# ---------------------------------------------------------------------------------- body strictness

FLOW_ID = "6f5c2d1e-8a4b-4c3d-9e2f-1a0b9c8d7e6f"
NEW_FLOW_ID = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"
PUBLIC = "http://127.0.0.1:4433"
CSRF = "Zm9vYmFyYmF6cXV4LWNzcmYtdG9rZW4tdmFsdWUtZm9yLXRlc3Rz"


def _label(message_id: int, text: str) -> dict[str, Any]:
    return {"id": message_id, "text": text, "type": "info"}


def _input(name: str, kind: str, group: str, *, value: Any = None, required: bool | None = None,
           label: dict[str, Any] | None = None, messages: list[Any] | None = None,
           autocomplete: str | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"name": name, "type": kind, "disabled": False, "node_type": "input"}
    if value is not None:
        attributes["value"] = value
    if required is not None:
        attributes["required"] = required
    if autocomplete is not None:
        attributes["autocomplete"] = autocomplete
    return {"type": "input", "group": group, "attributes": attributes, "messages": messages or [],
            "meta": {"label": label} if label else {}}


def _csrf(value: str = CSRF) -> dict[str, Any]:
    return _input("csrf_token", "hidden", "default", value=value, required=True)


def _flow(state: str, nodes: list[Any], *, flow_type: str = "browser", active: str = "code",
          messages: list[Any] | None = None, method: str = "POST", action: str | None = None,
          flow_id: str = FLOW_ID) -> dict[str, Any]:
    ui: dict[str, Any] = {"action": action or f"{PUBLIC}/self-service/verification?flow={flow_id}",
                          "method": method, "nodes": nodes}
    if messages is not None:
        ui["messages"] = messages
    return {
        "id": flow_id,
        "type": flow_type,
        "expires_at": "2025-06-01T12:30:00.512345Z",
        "issued_at": "2025-06-01T11:30:00.512345Z",
        "request_url": f"{PUBLIC}/self-service/verification/{flow_type if flow_type == 'api' else 'browser'}"
                       "?return_to=http://127.0.0.1:4455/welcome",
        "return_to": "http://127.0.0.1:4455/welcome",
        "active": active,
        "ui": ui,
        "state": state,
    }


def code_choose_method_browser() -> dict[str, Any]:
    """A fresh browser flow with the code method (as GET /browser answers a JSON request)."""
    return _flow("choose_method", [
        _input("email", "email", "code", required=True, autocomplete="email", label=_label(1070007, "Email")),
        _input("method", "submit", "code", value="code", label=_label(1070009, "Continue")),
        _csrf(),
    ])


def code_sent_email_browser() -> dict[str, Any]:
    """The same flow after an email submission: code field, resend button, message 1080003."""
    return _flow("sent_email", [
        _input("method", "hidden", "code", value="code"),
        _input("code", "text", "code", required=True, label=_label(1070011, "Verification code")),
        _input("method", "submit", "code", value="code", label=_label(1070009, "Continue")),
        _csrf(),
        _input("email", "submit", "code", value="someone@example.com", label=_label(1070008, "Resend code")),
    ], messages=[{"id": 1080003, "type": "info", "context": {},
                  "text": "An email containing a verification code has been sent to the email address you provided."
                          " If you have not received an email, check the spelling of the address and make sure"
                          " to use the address you registered with."}])


def code_passed_challenge() -> dict[str, Any]:
    """A verified flow: GET form pointing at the continue URL, anchor node `continue`, message 1080002."""
    return _flow("passed_challenge", [
        _csrf(),
        {"type": "a", "group": "code", "messages": [], "meta": {},
         "attributes": {"href": "http://127.0.0.1:4455/welcome", "id": "continue", "node_type": "a",
                        "title": _label(1070009, "Continue")}},
    ], method="GET", action="http://127.0.0.1:4455/welcome",
        messages=[{"id": 1080002, "type": "success", "text": "You successfully verified your email address."}])


def link_choose_method_api() -> dict[str, Any]:
    """A native flow with the link method: its csrf_token node is present with an empty value."""
    flow = _flow("choose_method", [
        _csrf(""),
        _input("email", "email", "link", required=True, label=_label(1070007, "Email")),
        _input("method", "submit", "link", value="link", label=_label(1070009, "Continue")),
    ], flow_type="api", active="link")
    del flow["return_to"]
    return flow


def email_missing_400() -> dict[str, Any]:
    """A 400 flow: the email node carries message 4000002."""
    flow = code_choose_method_browser()
    flow["ui"]["nodes"][0]["messages"] = [
        {"id": 4000002, "text": "Property email is missing.", "type": "error", "context": {"property": "email"}}]
    return flow


def expired_replacement() -> dict[str, Any]:
    """The new flow created after a submission to an expired one (message 4070005 with its context)."""
    flow = code_choose_method_browser()
    flow["id"] = NEW_FLOW_ID
    flow["ui"]["messages"] = [{"id": 4070005, "type": "error",
                               "text": "The verification flow expired 1.50 minutes ago, please try again.",
                               "context": {"expired_at": "2025-06-01T12:30:00.512345Z",
                                           "expired_at_unix": 1748781000}}]
    return flow


ERROR_404 = {"error": {"code": 404, "status": "Not Found", "message": "The requested resource could not be found",
                       "reason": "The verification flow could not be found."}}
ERROR_403_CSRF = {"error": {"id": "security_csrf_violation", "code": 403, "status": "Forbidden",
                            "request": "3b8c1e0a-1111-4a2b-9c3d-abcdefabcdef",
                            "reason": "The request was rejected to protect you from cross-site request forgery.",
                            "details": {"reject_reason": "The anti-CSRF cookie and the form token do not match.",
                                        "docs": "https://www.ory.sh/kratos/docs/debug/csrf"},
                            "message": "the request was rejected to protect you from Cross-Site-Request-Forgery"}}
ERROR_410_EXPIRED = {"error": {"code": 410, "status": "Gone",
                               "message": "The requested resource is no longer available",
                               "reason": "The verification flow has expired; start a new one.",
                               "details": {"redirect_to": f"{PUBLIC}/self-service/verification/browser"
                                                          "?return_to=http://127.0.0.1:4455/welcome",
                                           "return_to": "http://127.0.0.1:4455/welcome"}}}
ERROR_400_RETURN_TO = {"error": {"id": "self_service_flow_return_to_forbidden", "code": 400, "status": "Bad Request",
                                 "reason": "Requested return_to URL is not allowed.",
                                 "message": "The request was malformed or contained invalid parameters"}}
FLOW_REPLACED_410 = {"error": {"id": "self_service_flow_replaced", "code": 410, "status": "Gone",
                               "reason": "The flow has been replaced; continue with the new one.",
                               "message": "The requested resource is no longer available"},
                     "use_flow_id": NEW_FLOW_ID}
CODE_EXPIRED_410 = {"error": {"id": "self_service_flow_expired", "code": 410, "status": "Gone",
                              "reason": "The self-service flow expired 0.02 minutes ago, initialize a new one.",
                              "message": "self-service flow expired"},
                    "expired_at": "2026-12-01T17:41:15.580746917Z", "since": 1104372671, "use_flow_id": NEW_FLOW_ID}

VALID_BODIES: list[tuple[str, str, Any]] = [
    ("code choose_method browser", "verificationFlow", code_choose_method_browser()),
    ("code sent_email browser", "verificationFlow", code_sent_email_browser()),
    ("code passed_challenge", "verificationFlow", code_passed_challenge()),
    ("link choose_method api", "verificationFlow", link_choose_method_api()),
    ("email missing 400", "verificationFlow", email_missing_400()),
    ("expired replacement", "verificationFlow", expired_replacement()),
    ("errorGeneric 404", "errorGeneric", ERROR_404),
    ("errorGeneric 403 csrf", "errorGeneric", ERROR_403_CSRF),
    ("errorGeneric 410 expired", "errorGeneric", ERROR_410_EXPIRED),
    ("errorGeneric 400 return_to", "errorGeneric", ERROR_400_RETURN_TO),
    ("errorFlowReplaced 410", "errorFlowReplaced", FLOW_REPLACED_410),
    ("selfServiceFlowExpiredError 410", "selfServiceFlowExpiredError", CODE_EXPIRED_410),
]


def _mutated(base: dict[str, Any], change: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    change(body)
    return body


INVALID_BODIES: list[tuple[str, str, Any]] = [
    ("state done", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b.update(state="done"))),
    ("input node_type with anchor attributes", "verificationFlow",
     _mutated(code_passed_challenge(), lambda b: b["ui"]["nodes"][1]["attributes"].update(node_type="input"))),
    ("missing id", "verificationFlow", _mutated(code_choose_method_browser(), lambda b: b.pop("id"))),
    ("id not a uuid", "verificationFlow", _mutated(code_choose_method_browser(), lambda b: b.update(id="abc"))),
    ("missing expires_at", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b.pop("expires_at"))),
    ("issued_at not a date-time", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b.update(issued_at="yesterday"))),
    ("flow type native", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b.update(type="native"))),
    ("unknown top-level field", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b.update(organization_id=None))),
    ("message type warning", "verificationFlow",
     _mutated(code_sent_email_browser(), lambda b: b["ui"]["messages"][0].update(type="warning"))),
    ("message id as string", "verificationFlow",
     _mutated(code_sent_email_browser(), lambda b: b["ui"]["messages"][0].update(id="1080003"))),
    ("lowercase form method", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b["ui"].update(method="post"))),
    ("input without name", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b["ui"]["nodes"][0]["attributes"].pop("name"))),
    ("node without meta", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b["ui"]["nodes"][0].pop("meta"))),
    ("error without envelope", "errorGeneric", ERROR_404["error"]),
    ("error without code", "errorGeneric", _mutated(ERROR_404, lambda b: b["error"].pop("code"))),
    ("error with extra top-level field", "errorGeneric", _mutated(ERROR_404, lambda b: b.update(flow={}))),
    ("replaced without use_flow_id", "errorFlowReplaced", _mutated(FLOW_REPLACED_410, lambda b: b.pop("use_flow_id"))),
    ("replaced with a non-uuid flow id", "errorFlowReplaced",
     _mutated(FLOW_REPLACED_410, lambda b: b.update(use_flow_id="new"))),
    ("expired without since", "selfServiceFlowExpiredError", _mutated(CODE_EXPIRED_410, lambda b: b.pop("since"))),
    ("expired with a text since", "selfServiceFlowExpiredError",
     _mutated(CODE_EXPIRED_410, lambda b: b.update(since="1s"))),
    ("active of another flow kind", "verificationFlow",
     _mutated(code_choose_method_browser(), lambda b: b.update(active="password"))),
]


@pytest.mark.parametrize(("schema_name", "body"), [(n, b) for _, n, b in VALID_BODIES],
                         ids=[label for label, _, _ in VALID_BODIES])
def test_real_looking_bodies_validate(schema_name: str, body: Any) -> None:
    """Bodies shaped like Kratos v26.2.0 responses satisfy the contract's schemas."""
    assert validate_component(schema_name, body) == []


@pytest.mark.parametrize(("schema_name", "body"), [(n, b) for _, n, b in INVALID_BODIES],
                         ids=[label for label, _, _ in INVALID_BODIES])
def test_wrong_bodies_are_rejected(schema_name: str, body: Any) -> None:
    """Near misses fail validation, which shows the schemas are strict enough to matter."""
    assert validate_component(schema_name, body) != []


def test_transient_payload_and_free_form_members_stay_allowed() -> None:
    """Fields Kratos can fill freely (transient_payload, message context, error details) are not closed."""
    flow = code_choose_method_browser()
    flow["transient_payload"] = {"anything": {"nested": [1, 2]}}
    flow["ui"]["nodes"][0]["messages"] = [{"id": 4000001, "text": "x", "type": "error", "context": {"reason": "x"}}]
    assert validate_component("verificationFlow", flow) == []
    error = copy.deepcopy(ERROR_410_EXPIRED)
    error["error"]["details"]["api"] = f"{PUBLIC}/self-service/verification/api"
    assert validate_component("errorGeneric", error) == []


def test_submit_400_accepts_a_flow_or_an_error(contract: dict[str, Any]) -> None:
    """The submit 400 is either the flow with messages or a plain error object, never anything else."""
    for path, method in ((VERIFICATION, "post"), (VERIFICATION, "get")):
        validator = schema_validator(response_schema(contract, path, method, "400"))
        assert validation_errors(validator, email_missing_400()) == []
        assert validation_errors(validator, {"error": {"code": 400, "status": "Bad Request",
                                                       "message": "The request was malformed"}}) == []
        assert not validator.is_valid({"use_flow_id": NEW_FLOW_ID})
        assert not validator.is_valid({**ERROR_404, "id": FLOW_ID})
    replaced = schema_validator(response_schema(contract, VERIFICATION, "post", "410"))
    assert replaced.is_valid(FLOW_REPLACED_410)
    assert replaced.is_valid(CODE_EXPIRED_410)
    assert not replaced.is_valid(ERROR_410_EXPIRED), "the submit 410 always names the new flow"


def test_request_bodies_select_exactly_one_branch() -> None:
    """With the method pinned per branch, a body matches exactly one oneOf branch."""
    body_validator = component_validator("updateVerificationFlowBody")
    assert body_validator.is_valid({"method": "code", "email": "a@example.com", "csrf_token": CSRF})
    assert body_validator.is_valid({"method": "code", "code": "123456"})
    assert body_validator.is_valid({"method": "link", "email": "a@example.com"})
    assert not body_validator.is_valid({"method": "link"}), "the link variant needs an email"
    assert not body_validator.is_valid({"method": "password", "email": "a@example.com"})
    assert not body_validator.is_valid({"email": "a@example.com"})


# --------------------------------------------------------------------------------------- schemathesis

FAST = settings(max_examples=1, database=None, deadline=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck), derandomize=True)


def test_schemathesis_generates_a_case_for_every_operation(st_schema: Any) -> None:
    """schemathesis loads the fragment and produces at least one case per operation."""
    labels: dict[str, Any] = {}
    for result in st_schema.get_all_operations():
        operation = result.ok()
        cases: list[Any] = []

        @FAST
        @given(operation.as_strategy())
        def collect(case: Any) -> None:
            cases.append(case)  # noqa: B023 - collect() runs within this iteration

        collect()
        assert cases, operation.label
        labels[operation.label] = cases[0]
    assert set(labels) == {f"{m.upper()} {p}" for p, m in EXPECTED_OPERATIONS}
    post = labels[f"POST {VERIFICATION}"]
    assert post.body.get("method", "code") in ("code", "link")
    assert component_validator("updateVerificationFlowBody").is_valid(post.body)
    assert "flow" in post.query
    assert "id" in labels[f"GET {FLOWS}"].query


EXPECTED_TRANSITIONS = {
    (f"GET {BROWSER}", "200", f"GET {FLOWS}"),
    (f"GET {BROWSER}", "200", f"POST {VERIFICATION}"),
    (f"GET {BROWSER}", "303", f"GET {FLOWS}"),
    (f"GET {API}", "200", f"GET {FLOWS}"),
    (f"GET {API}", "200", f"POST {VERIFICATION}"),
    (f"GET {FLOWS}", "200", f"POST {VERIFICATION}"),
    (f"POST {VERIFICATION}", "200", f"GET {FLOWS}"),
    (f"POST {VERIFICATION}", "200", f"POST {VERIFICATION}"),
    (f"POST {VERIFICATION}", "303", f"GET {FLOWS}"),
    (f"POST {VERIFICATION}", "410", f"GET {FLOWS}"),
    (f"GET {VERIFICATION}", "200", f"GET {FLOWS}"),
    (f"GET {VERIFICATION}", "303", f"GET {FLOWS}"),
    (f"GET {VERIFICATION}", "410", f"GET {FLOWS}"),
}


def test_links_build_a_state_machine(st_schema: Any) -> None:
    """as_state_machine() builds from the links and has the create -> fetch -> submit transitions."""
    machine = st_schema.as_state_machine()
    found = {
        (link.source.label, str(link.status_code), link.target.label)
        for transitions in machine._transitions.operations.values()
        for link in transitions.outgoing
    }
    assert EXPECTED_TRANSITIONS <= found, EXPECTED_TRANSITIONS - found
    rules = [name for name in dir(machine) if "__" in name and not name.startswith("_")]
    assert len([r for r in rules if not r.startswith("RANDOM")]) >= len(EXPECTED_TRANSITIONS)


@pytest.mark.parametrize(("location", "expected"), [
    (f"http://127.0.0.1:4455/verification?flow={FLOW_ID}", FLOW_ID),
    (f"http://127.0.0.1:4455/verification?return_to=x&flow={FLOW_ID}", FLOW_ID),
    (f"{PUBLIC}/self-service/verification/flows?id={NEW_FLOW_ID}", NEW_FLOW_ID),
    (f"http://127.0.0.1:4455/error?id={FLOW_ID}", None),
])
def test_location_link_extracts_the_flow_id(contract: dict[str, Any], location: str, expected: str | None) -> None:
    """The Location-header link finds the flow id in UI and /flows redirects, and nothing in error-UI ones."""
    expression = contract["components"]["links"]["getFlowFromLocation"]["parameters"]["id"]
    [node] = st_parser.parse(expression)
    assert isinstance(node, st_nodes.HeaderResponse) and node.extractor is not None
    assert node.extractor.extract(location) == expected


def _st_response(status: int, body: Any, headers: dict[str, str], content_type: str | None) -> Any:
    """A schemathesis Response as if a server had answered (no network)."""
    request = requests.Request("GET", "http://127.0.0.1:4433/").prepare()
    raw_headers = {name.lower(): [value] for name, value in headers.items()}
    if content_type:
        raw_headers["content-type"] = [content_type]
    content = json.dumps(body).encode() if content_type and "json" in content_type else b""
    return Response(status_code=status, headers=raw_headers, content=content, request=request, elapsed=0.01,
                    verify=True)


NO_STORE = {"Cache-Control": "private, no-cache, no-store, must-revalidate"}
UI_REDIRECT = {"Location": f"http://127.0.0.1:4455/verification?flow={FLOW_ID}"}
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"

SCHEMATHESIS_VERDICTS: list[tuple[str, str, int, Any, dict[str, str], str | None, bool]] = [
    ("flows 200 sent_email", f"GET {FLOWS}", 200, code_sent_email_browser(), NO_STORE, JSON, True),
    ("flows 200 passed_challenge", f"GET {FLOWS}", 200, code_passed_challenge(), NO_STORE, JSON, True),
    ("flows 200 without Cache-Control", f"GET {FLOWS}", 200, code_sent_email_browser(), {}, JSON, False),
    # the header's value is not the contract's to judge: VER-GET-CACHE-CONTROL's fuzz check is (test_fuzzing.py)
    ("flows 200 cacheable", f"GET {FLOWS}", 200, code_sent_email_browser(), {"Cache-Control": "max-age=60"}, JSON,
     True),
    ("flows 200 state done", f"GET {FLOWS}", 200, INVALID_BODIES[0][2], NO_STORE, JSON, False),
    ("flows 410 expired", f"GET {FLOWS}", 410, ERROR_410_EXPIRED, {}, JSON, True),
    ("flows 404", f"GET {FLOWS}", 404, ERROR_404, {}, JSON, True),
    ("browser 303 to the UI", f"GET {BROWSER}", 303, None, UI_REDIRECT, HTML, True),
    ("browser 303 without Location", f"GET {BROWSER}", 303, None, {}, HTML, False),
    # a relative Location keeps the contract (the header is there): its value is VER-RESP-LOCATION's, judged by
    # response_rules.location_problem in the contract judge and the fuzzer alike
    ("browser 303 relative Location", f"GET {BROWSER}", 303, None, {"Location": f"/verification?flow={FLOW_ID}"},
     HTML, True),
    ("browser 303 without content type", f"GET {BROWSER}", 303, None, UI_REDIRECT, None, False),
    ("browser 400 return_to", f"GET {BROWSER}", 400, ERROR_400_RETURN_TO, {}, JSON, True),
    ("api 200 link flow", f"GET {API}", 200, link_choose_method_api(), {}, JSON, True),
    ("submit 200 wrong code", f"POST {VERIFICATION}", 200, code_sent_email_browser(), {}, JSON, True),
    ("submit 303 no body", f"POST {VERIFICATION}", 303, None, UI_REDIRECT, None, True),
    ("submit 400 flow", f"POST {VERIFICATION}", 400, email_missing_400(), {}, JSON, True),
    ("submit 400 error", f"POST {VERIFICATION}", 400, ERROR_400_RETURN_TO, {}, JSON, True),
    ("submit 403 csrf", f"POST {VERIFICATION}", 403, ERROR_403_CSRF, {}, JSON, True),
    ("submit 410 replaced", f"POST {VERIFICATION}", 410, FLOW_REPLACED_410, {}, JSON, True),
    ("submit 410 plain error", f"POST {VERIFICATION}", 410, ERROR_410_EXPIRED, {}, JSON, False),
]


@pytest.mark.parametrize(("label", "status", "body", "headers", "content_type", "conforms"),
                         [row[1:] for row in SCHEMATHESIS_VERDICTS], ids=[row[0] for row in SCHEMATHESIS_VERDICTS])
def test_schemathesis_checks_agree(st_schema: Any, label: str, status: int, body: Any, headers: dict[str, str],
                                   content_type: str | None, conforms: bool) -> None:
    """schemathesis's own response checks (schema, headers, content type, status) judge real-looking answers."""
    method, path = label.split(" ", 1)
    operation = st_schema[path][method]
    query = {"flow": FLOW_ID} if path == VERIFICATION else {"id": FLOW_ID} if path == FLOWS else {}
    case = operation.Case(query=query)
    response = _st_response(status, body, headers, content_type)
    try:
        case.validate_response(response, checks=[
            st_checks.response_schema_conformance, st_checks.response_headers_conformance,
            st_checks.content_type_conformance, st_checks.status_code_conformance,
        ])
        verdict = True
    except (AssertionError, BaseExceptionGroup):  # a single Failure, or a FailureGroup
        verdict = False
    assert verdict is conforms
