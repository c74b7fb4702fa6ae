"""The verification flow handler: init, fetch and submit, as Ory Kratos v26.2.0 answers them (framework-free).

Contract: ``VerificationService`` takes a ``ClientRequest`` (and, for submissions, the decoded body) and answers
with an ``Outcome``; the HTTP layer (public.py) only translates. The configured method (code_method.py or
link_method.py) handles what a submission asks for; this module does what Kratos's handler and error handler do:

  choose_method --valid email--> sent_email --correct code | valid token--> passed_challenge
  sent_email --resend | wrong code | validation error--> sent_email
  expiry, too many attempts, replay after success, bad token: a NEW flow carrying the message.

- CSRF cookie (csrf.RequestCsrf): browser init and GET /flows issue one when the request brought no valid one,
  whatever they answer; the API init never does; submissions only when the flow logic regenerates it (new flows,
  the code link, a passed browser flow without a cookie).
- GET /flows: 404 for a missing, malformed or unknown id; browser flows need a CSRF cookie matching the flow's
  token (403), checked before expiry (410 with how to start again).
- Submissions: a missing or malformed flow id is a 400, an unknown flow a 404 (both JSON for JSON requests, the
  error UI for the others); an expired flow answers with a new browser flow carrying 4070005 and the old request
  URL (303 to GET /flows for JSON requests, to the UI for the others). A flow whose active method is not the
  configured one refuses everything with 4010006, as does a submission the method does not take.
- Errors reported on a flow (Kratos's WriteFlowError): validation messages are added to those already shown (on
  the flow or the field's node), ``active`` becomes the reporting method's group ("default" for 4010006), the flow
  is stored and answered 400, or by 303 to the UI for a browser flow asked by a non-JSON request. Refusals (CSRF,
  undecodable values) are answered as error documents (JSON for API flows and JSON requests, the error UI for
  the others) and leave the flow as stored.
- Success: browser requests go to the UI (303, for API flows too), the others get the stored flow (200).

Decisions where Kratos's behaviour is not observable: submissions to one flow are serialised by a per-flow lock
(64 stripes), so of two simultaneous correct codes the first verifies and the second finds the flow passed (the
code is also consumed with an atomic UPDATE); transient_payload is checked and not stored, as in Kratos.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from . import api_errors, csrf, messages, nodes
from .bodies import Decoded
from .code_method import CodeMethod
from .config import ReferenceConfig
from .courier import Courier
from .faults import RACE_FAULTS
from .flow_kit import FlowKit
from .flow_model import (
    Attempt,
    ClientRequest,
    Invalid,
    NotResponsible,
    Outcome,
    Refused,
    parse_flow_id,
    return_to_of,
    with_query,
)
from .link_method import LinkMethod
from .negotiation import init_wants_json
from .return_to import ReturnToForbidden
from .storage import FlowRecord, Storage
from .timefmt import format_time, now_us

_LOCK_STRIPES = 64


class Method(Protocol):
    """A verification method: its name (also its node group) and how it handles a submission."""

    name: str

    def verify(self, attempt: Attempt, flow: FlowRecord) -> Outcome | None: ...


class VerificationService:
    """The verification flows of one target: init, fetch and submit."""

    def __init__(self, config: ReferenceConfig, storage: Storage, courier: Courier,
                 clock: Callable[[], int] = now_us) -> None:
        self.config = config
        self.storage = storage
        self.kit = FlowKit(config, storage, courier, clock)
        self.method: Method = CodeMethod(self.kit) if config.method == "code" else LinkMethod(self.kit)
        self.cookie_name = self.kit.cookie_name
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    def _csrf(self, req: ClientRequest, *, issue_if_missing: bool) -> csrf.RequestCsrf:
        return csrf.RequestCsrf(req.cookies.get(self.cookie_name), issue_if_missing=issue_if_missing)

    # --- errors without a flow -----------------------------------------------------------------------

    def _to_error_ui(self, error: dict[str, Any]) -> Outcome:
        """Store ``error`` and redirect to the error UI."""
        error_id = str(uuid.uuid4())
        self.storage.insert_error(error_id, error, self.kit.clock())
        if "error_redirect_without_id" in self.config.faults:
            return Outcome(303, location=self.config.effective_error_ui_url)
        if "error_redirect_foreign" in self.config.faults:
            return Outcome(303, location=with_query("https://errors.example.net/oops", id=error_id))
        return Outcome(303, location=with_query(self.config.effective_error_ui_url, id=error_id))

    def _forward(self, req: ClientRequest, error: dict[str, Any]) -> Outcome:
        """Kratos's error manager: JSON clients get the error, browsers the error UI."""
        if req.is_json or "browser_error_as_json" in self.config.faults:
            return Outcome(error["code"], api_errors.envelope(error))
        return self._to_error_ui(error)

    # --- init and fetch ---------------------------------------------------------------------------------

    def init_flow(self, req: ClientRequest, flow_type: str) -> Outcome:
        """GET /self-service/verification/{browser,api}."""
        request_csrf = self._csrf(req, issue_if_missing=flow_type == "browser" or (
            "api_init_sets_csrf_cookie" in self.config.faults))
        outcome = self._init(req, flow_type, request_csrf)
        if flow_type != "browser" or "browser_init_no_csrf_cookie" not in self.config.faults:
            outcome.csrf_secret = request_csrf.issued
        return outcome

    def _init(self, req: ClientRequest, flow_type: str, request_csrf: csrf.RequestCsrf) -> Outcome:
        if not self.config.enabled:
            return self._forward(req, api_errors.verification_disabled())
        raw_return_to = req.query.get("return_to", "")
        if raw_return_to and "return_to_unchecked" not in self.config.faults:
            try:
                self.kit.check_return_to(raw_return_to)
            except ReturnToForbidden as exc:
                return Outcome(400, api_errors.envelope(api_errors.bad_request(str(exc), error_id=exc.error_id)))
        request_url = req.url
        if "return_to_not_kept" in self.config.faults:
            request_url = request_url.split("?", 1)[0]
        flow = self.kit.create_flow(flow_type, request_url, request_csrf.token())
        if flow_type == "browser" and (not init_wants_json(req.headers)
                                       or "browser_init_json_ignored" in self.config.faults):
            if "browser_init_without_flow_id" in self.config.faults:
                return Outcome(303, location=self.config.effective_ui_url)
            return Outcome(303, location=self.kit.ui_location(flow.id))
        if flow_type == "api" and "api_init_refused" in self.config.faults:
            return Outcome(400, api_errors.envelope(api_errors.bad_request("Requested return_to URL is not allowed.")))
        return Outcome(200, self.kit.action_from_host(req, self.kit.flow_json(flow), "host_header_init_action"))

    def get_flow(self, req: ClientRequest) -> Outcome:
        """GET /self-service/verification/flows?id=: 200, 403 (CSRF), 404, 410 (expired)."""
        request_csrf = self._csrf(req, issue_if_missing=True)
        outcome = self._fetch(req, request_csrf)
        outcome.csrf_secret = request_csrf.issued
        return outcome

    def _fetch(self, req: ClientRequest, request_csrf: csrf.RequestCsrf) -> Outcome:
        if not self.config.enabled:
            return self._forward(req, api_errors.verification_disabled())
        flow_id = parse_flow_id(req.query.get("id"))
        flow = self.storage.get_flow(flow_id) if flow_id else None
        if flow is None and "unknown_flow_410" in self.config.faults:
            return Outcome(410, api_errors.envelope(api_errors.api_error(410, "The flow is gone.")))
        if flow is None and "unknown_flow_422" in self.config.faults:
            return Outcome(422, api_errors.envelope(api_errors.api_error(422, "The flow cannot be processed.")))
        if flow is None:
            return Outcome(404, api_errors.envelope(api_errors.resource_not_found()))
        expired = flow.expires_us < self.kit.clock() and "expired_flow_get_200" not in self.config.faults
        if expired and "get_flow_expiry_before_csrf" in self.config.faults:
            return Outcome(410, api_errors.envelope(self._expired_error(flow)))
        if flow.type == "browser" and not request_csrf.matches(flow.csrf_token) and (
                "get_flow_csrf_unchecked" not in self.config.faults):
            return Outcome(403, api_errors.envelope(csrf.csrf_violation(req.headers, req.cookies, self.cookie_name,
                                                                         None)))
        if expired and "expired_flow_get_404" in self.config.faults:
            return Outcome(404, api_errors.envelope(api_errors.resource_not_found()))
        if expired:
            return Outcome(410, api_errors.envelope(self._expired_error(flow)))
        if "undocumented_status_418" in self.config.faults and flow.type == "api" and flow.state == "sent_email":
            return Outcome(418, api_errors.envelope(api_errors.api_error(418)))
        body = self.kit.flow_json(flow)
        if "flow_id_upper_case_on_read" in self.config.faults and flow.type == "api":
            body["id"] = flow.id.upper()
        return Outcome(200, body)

    def _expired_error(self, flow: FlowRecord) -> dict[str, Any]:
        if flow.type == "browser":
            return_to = return_to_of(flow.request_url)
            redirect_to = self.config.public_url + "self-service/verification/browser"
            if return_to:
                redirect_to = with_query(redirect_to, return_to=return_to)
            return api_errors.api_error(410, "The verification flow has expired. Redirect the user to the verification "
                                        "flow init endpoint to initialize a new verification flow.",
                                        details={"redirect_to": redirect_to, "return_to": return_to})
        return api_errors.api_error(410, "The verification flow has expired. Call the verification flow init API "
                                    "endpoint to initialize a new verification flow.",
                                    details={"api": self.config.public_url + "self-service/verification/api"})

    def stored_error(self, error_id: str | None) -> tuple[int, dict[str, Any]]:
        """GET /self-service/errors?id=: the stored error shown by the error UI."""
        found = self.storage.get_error(error_id) if error_id and len(error_id) <= 64 else None
        if found is None:
            return 404, api_errors.envelope(api_errors.resource_not_found())
        error, created = found
        return 200, {"id": error_id, "error": error, "created_at": format_time(created),
                     "updated_at": format_time(created)}

    # --- submit -------------------------------------------------------------------------------------------

    def submit(self, req: ClientRequest, body: Decoded) -> Outcome:
        """POST /self-service/verification?flow= (and GET with code/token from emailed links)."""
        attempt = Attempt(req, self._csrf(req, issue_if_missing=False), body)
        outcome = self._submit(attempt)
        outcome.csrf_secret = attempt.csrf.issued
        return outcome

    def _submit(self, attempt: Attempt) -> Outcome:
        flow_id = parse_flow_id(attempt.req.query.get("flow"))
        if flow_id is None:
            return self._forward(attempt.req, api_errors.bad_request("The flow query parameter is missing or "
                                                                     "malformed."))
        unserialised = RACE_FAULTS & self.config.faults
        with contextlib.nullcontext() if unserialised else self._locks[hash(flow_id) % _LOCK_STRIPES]:
            flow = self.storage.get_flow(flow_id)
            if flow is None:
                return self._forward(attempt.req, api_errors.api_error(
                    404, "The verification request could not be found. Please restart the flow."))
            if flow.expires_us < self.kit.clock():
                return self._replace_expired(attempt, flow)
            try:
                if flow.active != self.method.name:
                    raise NotResponsible()
                outcome = self.method.verify(attempt, flow)
            except NotResponsible:
                return self._flow_error(attempt, flow, "default", Invalid((None, messages.no_strategy_found())))
            except (Invalid, Refused) as problem:
                return self._flow_error(attempt, flow, self.method.name, problem)
            if outcome is not None:
                return outcome
            return self.kit.answer_flow(attempt.req, flow)

    def _flow_error(self, attempt: Attempt, flow: FlowRecord, group: str, problem: Invalid | Refused) -> Outcome:
        """Report ``problem`` on ``flow`` (see the module docstring)."""
        req = attempt.req
        if isinstance(problem, Refused):
            if flow.type == "api" or req.is_json:
                return Outcome(problem.status, api_errors.envelope(problem.error))
            return self._to_error_ui(problem.error)
        for field, message in problem.problems:
            if field == "method" and "unknown_method_message_on_flow" in self.config.faults:
                field = None
            nodes.add_message(flow.ui, message, field)
        flow.active = group
        self.storage.update_flow(flow)
        if flow.type == "browser" and not req.is_json:
            return Outcome(303, location=self.kit.ui_location(flow.id))
        return Outcome(400, self.kit.flow_json(flow))

    def _renewed(self, attempt: Attempt, flow: FlowRecord) -> FlowRecord:
        """The fault expired_flow_renewed: the expired flow itself lives again, under its old id, showing 4070005
        with a new CSRF token (Kratos replaces an expired flow by a new one)."""
        now = self.kit.clock()
        flow.ui["messages"] = [messages.flow_expired(flow.expires_us, now)]
        flow.csrf_token = attempt.csrf.regenerate()
        if nodes.find_node(flow.ui["nodes"], "csrf_token") is not None:
            nodes.set_csrf(flow.ui["nodes"], flow.csrf_token)
        self.storage.update_flow(flow)
        self.storage.renew_flow(flow.id, now, self.kit.expiry_from(now))
        return flow

    def _replace_expired(self, attempt: Attempt, flow: FlowRecord) -> Outcome:
        """Submission to an expired flow: a new browser flow with 4070005, reached by a 303 (never 410)."""
        if "expired_post_410" in self.config.faults:
            return Outcome(410, api_errors.envelope(self._expired_error(flow)))
        request_url = flow.request_url
        if "return_to_dropped_after_expiry" in self.config.faults:
            request_url = self.config.public_url + f"self-service/verification/{flow.type}"
        if "expired_flow_renewed" in self.config.faults:
            new = self._renewed(attempt, flow)
        else:
            new = self.kit.create_flow("browser", request_url, attempt.csrf.regenerate(),
                                       messages.flow_expired(flow.expires_us, self.kit.clock()))
        if "expired_replacement_without_form" in self.config.faults:
            new.ui["nodes"] = [n for n in new.ui["nodes"] if n["attributes"].get("name") in ("csrf_token",)]
            self.storage.update_flow(new)
        target = flow.id if "expired_keeps_old_id" in self.config.faults else new.id
        if attempt.req.is_json and "expired_post_410_new_flow" in self.config.faults:
            since = self.kit.clock() - flow.expires_us
            return Outcome(410, api_errors.flow_expired(format_time(flow.expires_us), since, target))
        if attempt.req.is_json:
            return Outcome(303, location=self.kit.flows_location(target))
        return Outcome(303, location=self.kit.ui_location(target))
