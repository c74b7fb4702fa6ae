"""The verification flow state machine (framework-free business logic).

Contract: ``VerificationService`` takes a ``ClientRequest`` (method, URL, query, lower-case headers, cookies)
and answers with an ``Outcome`` (status, JSON body or redirect location, a CSRF cookie secret to set, whether
the no-cache header applies). The HTTP layer (public.py) only translates. The behaviour follows
/work/shared/reference/verification-behavior.md (Ory Kratos v26.2.0):

  choose_method --valid email--> sent_email --correct code | valid token--> passed_challenge
  sent_email --resend | wrong code | validation error--> sent_email
  expiry, too many attempts, replay after success, bad token: a NEW flow carrying the message.

Decisions where the behaviour reference is silent (see the module docstrings of csrf.py and storage.py too):
- Submissions to one flow are serialised by a per-flow lock (64 lock stripes). Of two simultaneous correct
  code submissions the first verifies; the second then sees a passed_challenge flow and gets the
  "already completed" answer (a new flow with 4070002: 410 for JSON clients, 303 for browsers). The code is
  also consumed with an atomic UPDATE, so even without the lock only one submission could pass.
- transient_payload is accepted and not echoed: Kratos does not persist it and answers with the stored flow.
- A 4010006 error keeps ``active`` as the configured method.
- A validation error replaces the messages shown before (flow and node messages), so an answer shows the
  problems of that submission only.
- The CSRF cookie is (re)issued whenever Kratos's nosurf would: browser init and GET /flows without a valid
  cookie, and every "new flow" answer (expiry, replacement, code link click).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import api_errors, csrf, mail_templates, messages, nodes
from .bodies import BodyError, Submission
from .config import ReferenceConfig
from .courier import Courier
from .negotiation import init_wants_json, is_ajax, is_browser_request, is_json_request
from .return_to import ReturnToForbidden, check_return_to
from .storage import FlowRecord, Storage
from .timefmt import format_time, now_us

ORIGIN_NEEDS_BROWSER_FLOW = (
    'The HTTP Request Header included the "Origin" key, indicating that this request was made as part of an AJAX '
    "request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and "
    "mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.")
COOKIE_NEEDS_BROWSER_FLOW = (
    'The HTTP Request Header included the "Cookie" key, indicating that this request was made by a Browser. The flow '
    "however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors "
    "including CSRF, the request has been blocked. Please consult the documentation.")
SUBMITTED_TOO_OFTEN = "The request was submitted too often. Please request another code."
REASON_USE_NEW_FLOW = "An error occured, please use the new flow."
REASON_RETRY_FLOW = "An error occured, please retry the flow."
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_LOCK_STRIPES = 64


@dataclass(frozen=True)
class ClientRequest:
    """What the state machine needs to know about one HTTP request (headers keyed lower-case)."""

    method: str
    url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    cookies: Mapping[str, str]

    @property
    def is_json(self) -> bool:
        """Kratos's IsJSONRequest (Accept negotiates JSON, or Content-Type is application/json)."""
        return is_json_request(self.headers)

    @property
    def is_browser(self) -> bool:
        """Kratos's IsBrowserRequest (Accept alone negotiates text/html)."""
        return is_browser_request(self.headers)


@dataclass
class Outcome:
    """The answer: a JSON ``body`` with ``status``, or a redirect (``location``, status 303)."""

    status: int
    body: Any = None
    location: str | None = None
    csrf_secret: bytes | None = None
    no_cache: bool = False


def parse_flow_id(value: str | None) -> str | None:
    """The canonical form of a UUID, or None for a missing, malformed or nil UUID."""
    if not value or len(value) > 64:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return None if parsed.int == 0 else str(parsed)


def with_query(url: str, **params: str) -> str:
    """``url`` with the given query parameters set (other parameters kept)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def return_to_of(request_url: str) -> str:
    """The return_to query value of a flow's request URL ("" when none)."""
    return dict(parse_qsl(urlsplit(request_url).query, keep_blank_values=True)).get("return_to", "")


class VerificationService:
    """The verification flows of one target: init, fetch and submit (code or link method)."""

    def __init__(self, config: ReferenceConfig, storage: Storage, courier: Courier,
                 clock: Callable[[], int] = now_us) -> None:
        self.config = config
        self.storage = storage
        self.courier = courier
        self.clock = clock
        self.cookie_name = csrf.cookie_name(config.public_url)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    # --- rendering --------------------------------------------------------------------------------

    def flow_json(self, flow: FlowRecord) -> dict[str, Any]:
        """The verificationFlow JSON of a stored flow (Kratos's property order)."""
        body: dict[str, Any] = {"id": flow.id, "type": flow.type, "expires_at": format_time(flow.expires_us),
                                "issued_at": format_time(flow.issued_us), "request_url": flow.request_url}
        return_to = return_to_of(flow.request_url)
        if return_to:
            body["return_to"] = return_to
        body["active"] = flow.active
        ui: dict[str, Any] = {"action": flow.ui["action"], "method": flow.ui["method"], "nodes": flow.ui["nodes"]}
        if flow.ui.get("messages"):
            ui["messages"] = flow.ui["messages"]
        body["ui"] = ui
        if "flow_missing_state" not in self.config.faults:
            body["state"] = flow.state
        return body

    def _ui_location(self, flow_id: str) -> str:
        return with_query(self.config.effective_ui_url, flow=flow_id)

    def _get_flow_location(self, flow_id: str) -> str:
        return with_query(self.config.public_url + "self-service/verification/flows", id=flow_id)

    # --- CSRF helpers ----------------------------------------------------------------------------

    def _cookie_secret(self, req: ClientRequest) -> bytes | None:
        return csrf.decode_cookie(req.cookies.get(self.cookie_name))

    def _masked_token(self, req: ClientRequest) -> tuple[str, bytes | None]:
        """A masked token for the request's cookie, minting a new secret when none is valid."""
        secret = self._cookie_secret(req)
        if secret is not None:
            return csrf.mask(secret), None
        minted = csrf.new_secret()
        return csrf.mask(minted), minted

    # --- outcomes shared by several paths -----------------------------------------------------------

    def _to_error_ui(self, error: dict[str, Any]) -> Outcome:
        """Store ``error`` and redirect to the error UI."""
        error_id = str(uuid.uuid4())
        self.storage.insert_error(error_id, error, self.clock())
        if "error_redirect_without_id" in self.config.faults:
            return Outcome(303, location=self.config.effective_error_ui_url)
        return Outcome(303, location=with_query(self.config.effective_error_ui_url, id=error_id))

    def _forward(self, req: ClientRequest, error: dict[str, Any]) -> Outcome:
        """Kratos's error manager: JSON clients get the error, browsers the error UI."""
        if req.is_json or "browser_error_as_json" in self.config.faults:
            return Outcome(error["code"], api_errors.envelope(error))
        return self._to_error_ui(error)

    def _success(self, req: ClientRequest, flow: FlowRecord, csrf_secret: bytes | None = None) -> Outcome:
        """After a handled submission: browsers go to the UI, JSON clients get the flow."""
        if req.is_browser or ("api_flow_redirected" in self.config.faults and flow.type == "api"):
            if "ui_redirect_without_flow_id" in self.config.faults:
                return Outcome(303, location=self.config.effective_ui_url, csrf_secret=csrf_secret)
            return Outcome(303, location=self._ui_location(flow.id), csrf_secret=csrf_secret)
        return Outcome(200, self.flow_json(flow), csrf_secret=csrf_secret)

    def _flow_error(self, req: ClientRequest, flow: FlowRecord, *, global_messages: tuple[dict[str, Any], ...] = (),
                    field_messages: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Outcome:
        """A validation error: the messages of this submission replace earlier ones (on the flow and on its
        nodes); 400 with the flow, or 303 to the UI for browser flows answering a non-JSON request."""
        flow.ui["messages"] = list(global_messages)
        for item in flow.ui["nodes"]:
            item["messages"] = []
        for name, message in field_messages:
            nodes.add_field_message(flow.ui["nodes"], name, message)
        self.storage.update_flow(flow)
        if flow.type == "browser" and not req.is_json:
            return Outcome(303, location=self._ui_location(flow.id))
        return Outcome(400, self.flow_json(flow))

    def _new_flow(self, flow_type: str, request_url: str, csrf_token: str) -> FlowRecord:
        now = self.clock()
        flow_id = str(uuid.uuid4())
        if self.config.method == "code":
            layout = nodes.code_choose_method_nodes(csrf_token if flow_type == "browser" else None)
        else:
            layout = nodes.link_nodes(csrf_token if flow_type == "browser" else "")
        if "browser_flow_no_csrf_node" in self.config.faults and flow_type == "browser":
            layout = [n for n in layout if n["attributes"].get("name") != "csrf_token"]
        if "no_email_node" in self.config.faults:
            layout = [n for n in layout if n["attributes"].get("name") != "email"]
        base = "http://kratos:4433/" if "ui_action_wrong_host" in self.config.faults else self.config.public_url
        ui = {"action": with_query(base + "self-service/verification", flow=flow_id),
              "method": "POST", "nodes": layout, "messages": []}
        return FlowRecord(flow_id, flow_type, "choose_method", self.config.method, request_url, now,
                          now + int(self.config.flow_lifespan * 1_000_000), csrf_token if flow_type == "browser"
                          else "", ui)

    def _replacement_flow(self, req: ClientRequest, flow_type: str, message: dict[str, Any],
                          request_url: str | None = None) -> tuple[FlowRecord, bytes]:
        """A new flow carrying ``message``, with a freshly issued CSRF cookie secret."""
        secret = csrf.new_secret()
        flow = self._new_flow(flow_type, request_url or req.url, csrf.mask(secret))
        flow.ui["messages"].append(message)
        self.storage.insert_flow(flow)
        return flow, secret

    def _replace_expired(self, req: ClientRequest, flow: FlowRecord) -> Outcome:
        """Submission to an expired flow: a new browser flow with 4070005, reached by a 303 (never 410)."""
        if "expired_post_410" in self.config.faults:
            return Outcome(410, api_errors.envelope(self._expired_error(flow)))
        request_url = flow.request_url
        if "return_to_dropped_after_expiry" in self.config.faults:
            request_url = self.config.public_url + f"self-service/verification/{flow.type}"
        new, secret = self._replacement_flow(req, "browser", messages.flow_expired(flow.expires_us, self.clock()),
                                             request_url=request_url)
        target = flow.id if "expired_keeps_old_id" in self.config.faults else new.id
        location = self._get_flow_location(target) if req.is_json else self._ui_location(target)
        return Outcome(303, location=location, csrf_secret=secret)

    def _retry_code_flow(self, req: ClientRequest, flow_type: str, message: dict[str, Any], reason: str) -> Outcome:
        """code method: a new flow with ``message``; JSON -> 410 errorFlowReplaced, browsers -> 303 to the UI."""
        new, secret = self._replacement_flow(req, flow_type, message)
        if req.is_json:
            use_flow_id = None if "replaced_without_use_flow_id" in self.config.faults else new.id
            return Outcome(410, api_errors.flow_replaced(reason, use_flow_id), csrf_secret=secret)
        return Outcome(303, location=self._ui_location(new.id), csrf_secret=secret)

    def _retry_link_flow(self, req: ClientRequest, flow_type: str, message: dict[str, Any]) -> Outcome:
        """link method: a new flow with ``message``, always by 303 (UI for browser flows, GET /flows for api)."""
        new, secret = self._replacement_flow(req, flow_type, message)
        location = self._ui_location(new.id) if flow_type == "browser" else self._get_flow_location(new.id)
        return Outcome(303, location=location, csrf_secret=secret)

    # --- init and fetch -------------------------------------------------------------------------------

    def init_flow(self, req: ClientRequest, flow_type: str) -> Outcome:
        """GET /self-service/verification/{browser,api}."""
        if not self.config.enabled:
            return self._forward(req, api_errors.verification_disabled())
        raw_return_to = req.query.get("return_to", "")
        if raw_return_to and "return_to_unchecked" not in self.config.faults:
            try:
                self._check_return_to(raw_return_to)
            except ReturnToForbidden as exc:
                error = api_errors.bad_request(str(exc), error_id=exc.error_id)
                return Outcome(400, api_errors.envelope(error), no_cache=True)
        minted: bytes | None = None
        token = ""
        if flow_type == "browser":
            token, minted = self._masked_token(req)
        elif "api_init_sets_csrf_cookie" in self.config.faults:
            minted = csrf.new_secret()
        flow = self._new_flow(flow_type, req.url, token)
        self.storage.insert_flow(flow)
        if flow_type == "browser" and not init_wants_json(req.headers):
            return Outcome(303, location=self._ui_location(flow.id), csrf_secret=minted)
        return Outcome(200, self.flow_json(flow), csrf_secret=minted, no_cache=True)

    def _check_return_to(self, raw: str) -> str:
        return check_return_to(raw, self.config.allowed_return_urls, self.config.public_url,
                               self.config.effective_default_return_url)

    def get_flow(self, req: ClientRequest) -> Outcome:
        """GET /self-service/verification/flows?id=: 200, 403 (CSRF), 404, 410 (expired)."""
        if not self.config.enabled:
            return self._forward(req, api_errors.verification_disabled())
        secret = self._cookie_secret(req)
        minted = None if secret is not None else csrf.new_secret()

        def answer(status: int, body: Any) -> Outcome:
            return Outcome(status, body, csrf_secret=minted, no_cache=True)

        flow_id = parse_flow_id(req.query.get("id"))
        flow = self.storage.get_flow(flow_id) if flow_id else None
        if flow is None:
            return answer(404, api_errors.envelope(api_errors.resource_not_found()))
        expired = flow.expires_us < self.clock() and "expired_flow_get_200" not in self.config.faults
        if expired and "get_flow_expiry_before_csrf" in self.config.faults:
            return answer(410, api_errors.envelope(self._expired_error(flow)))
        if flow.type == "browser" and not csrf.token_matches(flow.csrf_token, secret) and (
                "get_flow_csrf_unchecked" not in self.config.faults):
            return answer(403, api_errors.envelope(csrf.csrf_violation(
                has_cookie_header="cookie" in req.headers, has_csrf_cookie=self.cookie_name in req.cookies,
                token_sent=True, ajax=is_ajax(req.headers))))
        if expired and "expired_flow_get_404" in self.config.faults:
            return answer(404, api_errors.envelope(api_errors.resource_not_found()))
        if expired:
            return answer(410, api_errors.envelope(self._expired_error(flow)))
        if "undocumented_status_418" in self.config.faults and flow.type == "api" and flow.state == "sent_email":
            return answer(418, api_errors.envelope(api_errors.api_error(418)))
        return answer(200, self.flow_json(flow))

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

    # --- submit -----------------------------------------------------------------------------------

    def submit(self, req: ClientRequest, body: Submission | BodyError) -> Outcome:
        """POST /self-service/verification?flow= (and GET with code/token from emailed links)."""
        flow_id = parse_flow_id(req.query.get("flow"))
        if flow_id is None:
            return self._forward(req, api_errors.bad_request("The flow query parameter is missing or malformed."))
        with self._locks[hash(flow_id) % _LOCK_STRIPES]:
            flow = self.storage.get_flow(flow_id)
            if flow is None:
                return self._forward(req, api_errors.api_error(
                    404, "The verification request could not be found. Please restart the flow."))
            if flow.expires_us < self.clock():
                return self._replace_expired(req, flow)
            if isinstance(body, BodyError):
                if body.kind == "json_syntax" and "malformed_body_500" in self.config.faults:
                    return Outcome(500, api_errors.envelope(api_errors.api_error(500)))
                return self._flow_error(req, flow, global_messages=(messages.generic_error(body.reason),))
            field_errors = body.field_errors
            if "invalid_email_accepted" in self.config.faults:
                field_errors = tuple((name, message) for name, message in field_errors if name != "email")
            if field_errors:
                return self._flow_error(req, flow, field_messages=field_errors)
            if self.config.method == "code":
                return self._submit_code(req, flow, body)
            return self._submit_link(req, flow, body)

    def _submission_csrf_error(self, req: ClientRequest, flow: FlowRecord, body: Submission) -> Outcome | None:
        """The CSRF rule for email submissions; None when the submission may proceed."""
        if flow.type == "api":
            if req.headers.get("origin") or req.cookies:
                nodes.upsert_node(flow.ui["nodes"], nodes.email_input(self.config.method, body.get("email")))
            if req.headers.get("origin"):
                return self._flow_error(req, flow, global_messages=(messages.generic_error(ORIGIN_NEEDS_BROWSER_FLOW),))
            if req.cookies:
                return self._flow_error(req, flow, global_messages=(messages.generic_error(COOKIE_NEEDS_BROWSER_FLOW),))
            return None
        if "csrf_not_checked" in self.config.faults:
            return None
        if csrf.token_matches(body.get("csrf_token"), self._cookie_secret(req)):
            return None
        error = csrf.csrf_violation(has_cookie_header="cookie" in req.headers,
                                    has_csrf_cookie=self.cookie_name in req.cookies,
                                    token_sent=bool(body.get("csrf_token")), ajax=is_ajax(req.headers))
        if req.is_json:
            return Outcome(403, api_errors.envelope(error))
        return self._to_error_ui(error)

    def _form_token(self, req: ClientRequest, flow: FlowRecord) -> str:
        """The csrf_token value to show on a browser flow's form after a submission."""
        secret = self._cookie_secret(req)
        return csrf.mask(secret) if secret is not None else flow.csrf_token

    def _continue_url(self, flow: FlowRecord) -> str:
        """Allow-listed return_to, else the default return URL."""
        default = self.config.effective_default_return_url
        raw = return_to_of(flow.request_url)
        if not raw:
            return default
        if "return_to_unchecked" in self.config.faults:
            return raw
        try:
            return self._check_return_to(raw)
        except ReturnToForbidden:
            return default

    def _pass_challenge(self, req: ClientRequest, flow: FlowRecord, address_id: str | None, group: str) -> Outcome:
        """Mark the address verified and move the flow to passed_challenge."""
        now = self.clock()
        if address_id and "address_not_marked_verified" not in self.config.faults:
            self.storage.mark_address_verified(address_id, now)
        continue_url = self._continue_url(flow)
        minted: bytes | None = None
        token = ""
        if flow.type == "browser":
            token, minted = self._masked_token(req)
        success = messages.verification_successful()
        if "wrong_success_message" in self.config.faults:
            success = messages.verification_code_sent()
        flow.state = "passed_challenge"
        flow.csrf_token = token
        flow.ui = {"action": continue_url, "method": "GET",
                   "nodes": nodes.passed_challenge_nodes(token, continue_url, group), "messages": [success]}
        self.storage.update_flow(flow)
        return self._success(req, flow, csrf_secret=minted)

    def _deliver_verification(self, flow: FlowRecord, email: str, content_for: Callable[[str | None], Any]) -> bool:
        """Find the address and queue the mail; unknown addresses get nothing (or the notice, if configured).
        True when the address is known."""
        address = self.storage.address_by_value(email.lower())
        if address is not None:
            self.courier.queue(address.value, content_for(address.id))
            self.storage.mark_address_sent(address.id, self.clock())
        elif "unknown_address_mailed" in self.config.faults:
            self.courier.queue(email, content_for(None))
        elif self.config.notify_unknown_recipients:
            self.courier.queue(email, mail_templates.unknown_address_mail())
        return address is not None

    def _sent_state(self, flow: FlowRecord, known: bool, sent_message: dict[str, Any]) -> None:
        """After an email submission: the flow moves to sent_email and says the mail was sent."""
        if "state_not_advanced" not in self.config.faults:
            flow.state = "sent_email"
        if "email_jumps_to_passed" in self.config.faults:
            flow.state = "passed_challenge"
        flow.ui["messages"] = [sent_message]
        if not known and "unknown_address_distinguishable" in self.config.faults:
            flow.ui["messages"] = [messages.generic_error("This email address is not registered.")]

    # --- code method -----------------------------------------------------------------------------------

    def _code_hash(self, flow_id: str, code: str) -> str:
        return hashlib.sha256(f"{flow_id}:{code}".encode("utf-8")).hexdigest()

    def _submit_code(self, req: ClientRequest, flow: FlowRecord, body: Submission) -> Outcome:
        code, email = body.get("code"), body.get("email")
        method = body.get("method") or ("code" if code else "")
        if method != "code":
            return self._flow_error(req, flow, global_messages=(messages.no_strategy_found(),))
        if flow.state == "passed_challenge":
            if "code_reusable" in self.config.faults and code and self.storage.find_usable_code(
                    flow.id, self._code_hash(flow.id, code), self.clock(), include_used=True):
                return self._success(req, flow)
            return self._retry_code_flow(req, flow.type, messages.retry_after_success(), REASON_USE_NEW_FLOW)
        if flow.state not in ("choose_method", "sent_email"):
            return self._retry_code_flow(req, flow.type, messages.state_failure(), REASON_USE_NEW_FLOW)
        if code:
            prefill_methods = ("GET",) if "head_link_verifies" in self.config.faults else ("GET", "HEAD")
            if req.method in prefill_methods and "get_link_verifies" not in self.config.faults:
                return self._prefill_code(req, flow, code)
            if "code_submission_csrf_checked" in self.config.faults and flow.type == "browser":
                refused = self._submission_csrf_error(req, flow, body)
                if refused is not None:
                    return refused
            return self._use_code(req, flow, code)
        if not email:
            return self._email_missing(req, flow, "code")
        refused = self._submission_csrf_error(req, flow, body)
        if refused is not None:
            return refused
        if "resend_keeps_old_code" not in self.config.faults:
            self.storage.delete_codes_of_flow(flow.id)
        known = self._deliver_verification(flow, email, lambda address_id: self._issue_code(flow, address_id))
        token = self._form_token(req, flow) if flow.type == "browser" else None
        flow.ui["nodes"] = nodes.code_sent_email_nodes(token, email)
        self._sent_state(flow, known, messages.verification_code_sent())
        self.storage.update_flow(flow)
        return self._success(req, flow)

    def _email_missing(self, req: ClientRequest, flow: FlowRecord, method: str) -> Outcome:
        """An email submission without email: 400 (or 303 for browsers) with 4000002 on the email node."""
        form_token = self._form_token(req, flow) if flow.type == "browser" else ""
        if flow.type == "browser" or method == "link":
            nodes.set_csrf(flow.ui["nodes"], form_token)
        nodes.upsert_node(flow.ui["nodes"], nodes.email_input(method, ""))
        if "missing_email_not_flagged" in self.config.faults:
            return self._flow_error(req, flow, global_messages=(messages.generic_error("Invalid request."),))
        return self._flow_error(req, flow, field_messages=(("email", messages.property_missing("email")),))

    def _issue_code(self, flow: FlowRecord, address_id: str | None) -> mail_templates.MailContent:
        """Create and store a 6-digit code for the flow; the mail content carrying it."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        if "code_8_digits" in self.config.faults:
            code = f"{secrets.randbelow(100_000_000):08d}"
        now = self.clock()
        self.storage.insert_code(str(uuid.uuid4()), flow.id, address_id, self._code_hash(flow.id, code),
                                 now + int(self.config.code_lifespan * 1_000_000), now)
        link = with_query(self.config.public_url + "self-service/verification", flow=flow.id, code=code)
        return mail_templates.code_mail(code, link)

    def _prefill_code(self, req: ClientRequest, flow: FlowRecord, code: str) -> Outcome:
        """The emailed code link: pre-fill the code, issue a fresh CSRF cookie, 303 to the UI; no verification."""
        code_node = nodes.find_node(flow.ui["nodes"], "code")
        if code_node is not None:
            code_node["attributes"]["value"] = code
        secret = csrf.new_secret()
        token = csrf.mask(secret)
        nodes.set_csrf(flow.ui["nodes"], token)
        flow.csrf_token = token
        self.storage.update_flow(flow)
        return Outcome(303, location=self._ui_location(flow.id), csrf_secret=secret)

    def _use_code(self, req: ClientRequest, flow: FlowRecord, code: str) -> Outcome:
        """A code attempt: counted; past max_submissions a new flow; wrong -> 4070006; right -> verified."""
        if "no_attempt_limit" not in self.config.faults:
            if self.storage.increment_submit_count(flow.id) > self.config.max_submissions:
                if "attempt_limit_200" in self.config.faults and req.is_json:
                    new, secret = self._replacement_flow(req, flow.type, messages.generic_error(SUBMITTED_TOO_OFTEN))
                    return Outcome(200, self.flow_json(new), csrf_secret=secret)
                return self._retry_code_flow(req, flow.type, messages.generic_error(SUBMITTED_TOO_OFTEN),
                                             REASON_RETRY_FLOW)
        now = self.clock()
        valid_after = 0 if "code_never_expires" in self.config.faults else now
        row = self.storage.find_usable_code(flow.id, self._code_hash(flow.id, code), valid_after)
        consumed = row is not None and ("code_reusable" in self.config.faults or self.storage.use_code(row["id"], now))
        if row is None or not consumed:
            flow.ui["messages"] = [messages.code_invalid_or_used()]
            self.storage.update_flow(flow)
            if "wrong_code_400" in self.config.faults:
                return Outcome(400, self.flow_json(flow))
            return self._success(req, flow)
        return self._pass_challenge(req, flow, row["address_id"], "code")

    # --- link method -------------------------------------------------------------------------------

    def _submit_link(self, req: ClientRequest, flow: FlowRecord, body: Submission) -> Outcome:
        token, email = body.get("token"), body.get("email")
        if token:
            return self._use_token(req, flow, token)
        if body.get("method") != "link":
            return self._flow_error(req, flow, global_messages=(messages.no_strategy_found(),))
        if flow.state == "passed_challenge":
            return self._retry_link_flow(req, flow.type, messages.retry_after_success())
        if flow.state not in ("choose_method", "sent_email"):
            return self._retry_link_flow(req, flow.type, messages.state_failure())
        if not email:
            return self._email_missing(req, flow, "link")
        refused = self._submission_csrf_error(req, flow, body)
        if refused is not None:
            return refused
        known = self._deliver_verification(flow, email, lambda address_id: self._issue_token(flow, address_id))
        flow.ui["nodes"] = nodes.link_nodes(self._form_token(req, flow) if flow.type == "browser" else "", email)
        self._sent_state(flow, known, messages.verification_link_sent())
        self.storage.update_flow(flow)
        return self._success(req, flow)

    def _issue_token(self, flow: FlowRecord, address_id: str | None) -> mail_templates.MailContent:
        """Create (and store, for a known address) a 32-character link token; the mail content carrying it."""
        length = 16 if "link_token_short" in self.config.faults else 32
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))
        if address_id is not None:
            now = self.clock()
            self.storage.insert_token(str(uuid.uuid4()), flow.id, address_id,
                                      hashlib.sha256(token.encode("utf-8")).hexdigest(),
                                      now + int(self.config.link_lifespan * 1_000_000), now)
        link = with_query(self.config.public_url + "self-service/verification", flow=flow.id, token=token)
        return mail_templates.link_mail(link)

    def _use_token(self, req: ClientRequest, flow: FlowRecord, token: str) -> Outcome:
        """A link click: unknown/used/other-flow -> 4070001, expired -> 4070005 (new browser flows), else verified."""
        now = self.clock()
        token_hash = hashlib.sha256(token.encode("utf-8")).hexdigest()
        row = self.storage.use_token(flow.id, token_hash, now)
        if row is None:
            found = self.storage.find_token(token_hash)
            if found is not None and "link_token_reusable" in self.config.faults and found["flow_id"] == flow.id:
                row = found
            if found is not None and "link_token_other_flow_accepted" in self.config.faults and (
                    found["flow_id"] != flow.id and found["used_us"] is None):
                row = found
        if row is None:
            return self._retry_link_flow(req, "browser", messages.token_invalid_or_used())
        if row["expires_us"] <= now and "link_token_never_expires" not in self.config.faults:
            return self._retry_link_flow(req, "browser", messages.flow_expired(row["expires_us"], now))
        return self._pass_challenge(req, flow, row["address_id"], "link")
