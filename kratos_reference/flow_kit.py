"""What the flow handler and both verification methods share (framework-free).

Contract (``FlowKit``, one per target):
- ``flow_json`` renders a stored flow (Kratos's property order; ``transient_payload`` only when given, as Kratos
  echoes it only where it answers with the flow it holds in memory); ``ui_location``/``flows_location`` are the
  UI and GET /flows URLs of a flow.
- ``create_flow`` stores a new flow in choose_method with the configured method's layout, the given CSRF token
  (browser flows show it; link flows show it whatever their type) and optional first messages.
- ``answer_flow``: the answer to a handled submission: 303 to the UI for browser requests, else 200 with the flow.
- ``submission`` turns the decoded body into values or raises the problem Kratos reports for it.
- ``mark_form`` (Kratos's handleVerificationError) sets the CSRF node to the request's token and the email input
  to the submitted address; ``ensure_csrf`` is the CSRF rule of email submissions: API flows refuse an Origin
  header or cookies (Cloudflare's excepted) with 4000001, browser flows need the form token to match the cookie
  (403 otherwise); both mark the form before refusing.
- ``deliver`` mails a known address (marking it "sent") and, for an unknown one, nothing unless
  notify_unknown_recipients; ``mark_sent`` moves the flow to sent_email with its message.
- ``pass_challenge`` verifies the address and turns the flow into passed_challenge: GET to the continue URL, a
  CSRF node (for a browser flow without a CSRF cookie a new one is issued) and the "continue" anchor.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from . import api_errors, csrf, mail_templates, messages, nodes
from .bodies import BodyError, PayloadError, Submission
from .config import ReferenceConfig
from .courier import Courier
from .faults import RACE_WINDOW
from .flow_model import Attempt, ClientRequest, Invalid, Outcome, Refused, return_to_of, with_query
from .return_to import ReturnToForbidden, check_return_to
from .storage import FlowRecord, Storage
from .timefmt import format_time

ORIGIN_NEEDS_BROWSER_FLOW = (
    'The HTTP Request Header included the "Origin" key, indicating that this request was made as part of an AJAX '
    "request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and "
    "mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.")
COOKIE_NEEDS_BROWSER_FLOW = (
    'The HTTP Request Header included the "Cookie" key, indicating that this request was made by a Browser. The flow '
    "however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors "
    "including CSRF, the request has been blocked. Please consult the documentation.")
#: the reason a flow gives when another verification of its address won the race (address_update_conflict fault)
ADDRESS_CHANGED = "The address was changed by another request. Please try again."
#: cookies a CDN sets that do not make a request a browser's
_CLOUDFLARE_COOKIES = ("__cf", "_cf", "cf_")


class FlowKit:
    """Flow creation, rendering, the shared submission rules and the final verification step of one target."""

    def __init__(self, config: ReferenceConfig, storage: Storage, courier: Courier, clock: Callable[[], int]) -> None:
        self.config = config
        self.storage = storage
        self.courier = courier
        self.clock = clock
        self.cookie_name = csrf.cookie_name(config.public_url)

    # --- rendering and locations ------------------------------------------------------------------

    def _active_shown(self, flow: FlowRecord) -> str:
        """The flow's `active` as answered: its method; for a new flow without messages, "default" under the fault
        new_flow_active_default and the other method under new_flow_other_method."""
        if flow.state == "choose_method" and not flow.ui.get("messages"):
            if "new_flow_active_default" in self.config.faults:
                return "default"
            if "new_flow_other_method" in self.config.faults:
                return _other_method(flow.active)
        return flow.active

    def flow_json(self, flow: FlowRecord, transient_payload: Any = None) -> dict[str, Any]:
        """The verificationFlow JSON of a flow."""
        expires_us = flow.issued_us if "expires_at_as_issued_at" in self.config.faults else flow.expires_us
        request_url = "" if "request_url_empty" in self.config.faults else flow.request_url
        body: dict[str, Any] = {"id": flow.id, "type": flow.type, "expires_at": format_time(expires_us),
                                "issued_at": format_time(flow.issued_us), "request_url": request_url}
        return_to = return_to_of(flow.request_url)
        if return_to:
            body["return_to"] = return_to
        body["active"] = self._active_shown(flow)
        ui: dict[str, Any] = {"action": flow.ui["action"], "method": flow.ui["method"], "nodes": flow.ui["nodes"]}
        if flow.ui.get("messages"):
            ui["messages"] = flow.ui["messages"]
        body["ui"] = ui
        if "flow_missing_state" not in self.config.faults:
            body["state"] = flow.state
        if transient_payload is not None:
            body["transient_payload"] = transient_payload
        return body

    def ui_location(self, flow_id: str) -> str:
        return with_query(self.config.effective_ui_url, flow=flow_id)

    def flows_location(self, flow_id: str) -> str:
        return with_query(self.config.public_url + "self-service/verification/flows", id=flow_id)

    # --- flows -------------------------------------------------------------------------------------

    def expiry_from(self, issued_us: int) -> int:
        """When a flow issued at ``issued_us`` expires (microseconds): one flow lifespan later."""
        return issued_us + int(self.config.flow_lifespan * 1_000_000)

    def create_flow(self, flow_type: str, request_url: str, csrf_token: str, *first: messages.Message) -> FlowRecord:
        """Store a new choose_method flow of the configured method, showing ``first`` messages."""
        now = self.clock()
        flow_id = str(uuid.uuid4())
        shown = self.config.method
        if "new_flow_other_method" in self.config.faults:
            shown = _other_method(shown)
        if shown == "code":
            layout = nodes.code_choose_method_nodes(csrf_token if flow_type == "browser" else None)
        else:
            layout = nodes.link_nodes(csrf_token)
        if "browser_flow_no_csrf_node" in self.config.faults and flow_type == "browser":
            layout = [n for n in layout if n["attributes"].get("name") != "csrf_token"]
        if "csrf_node_empty" in self.config.faults and flow_type == "browser":
            for node in layout:
                if node["attributes"].get("name") == "csrf_token":
                    node["attributes"]["value"] = ""
        if "no_email_node" in self.config.faults:
            layout = [n for n in layout if n["attributes"].get("name") != "email"]
        email = nodes.find_node(layout, "email")
        if email is not None and "email_input_optional" in self.config.faults:
            email["attributes"]["required"] = False
        if email is not None and "email_label_renumbered" in self.config.faults:
            email["meta"]["label"]["id"] = messages.UNKNOWN_LABEL_ID
        base = "http://kratos:4433/" if "ui_action_wrong_host" in self.config.faults else self.config.public_url
        form_method = "GET" if "new_flow_form_get" in self.config.faults else "POST"
        ui = {"action": with_query(base + "self-service/verification", flow=flow_id), "method": form_method,
              "nodes": layout, "messages": list(first)}
        flow = FlowRecord(flow_id, flow_type, "choose_method", self.config.method, request_url, now,
                          self.expiry_from(now), csrf_token, ui)
        self.storage.insert_flow(flow)
        return flow

    def answer_flow(self, req: ClientRequest, flow: FlowRecord, transient_payload: Any = None) -> Outcome:
        """After a handled submission: browser requests go to the UI, the others get the flow."""
        if req.is_browser or ("api_flow_redirected" in self.config.faults and flow.type == "api"):
            if "ui_redirect_without_flow_id" in self.config.faults:
                return Outcome(303, location=self.config.effective_ui_url)
            return Outcome(303, location=self.ui_location(flow.id), headers=dict(flow.answer_headers))
        body = self.action_from_host(req, self.flow_json(flow, transient_payload), "host_header_action")
        return Outcome(flow.answer_status, body, headers=dict(flow.answer_headers))

    def action_from_host(self, req: ClientRequest, body: dict[str, Any], fault: str) -> dict[str, Any]:
        """``body`` with its ui.action moved to the host the request's headers name, when ``fault`` is on."""
        forged = _forged_host(req)
        if fault in self.config.faults and forged:
            body["ui"]["action"] = urlsplit(body["ui"]["action"])._replace(netloc=forged).geturl()
        return body

    def check_return_to(self, raw: str) -> str:
        """The allow-listed return_to, or ReturnToForbidden."""
        faults = self.config.faults
        if ("return_to_backslash" in faults and "\\" in raw) or (
                "return_to_hostless" in faults and not urlsplit(raw).netloc):
            return raw
        if "return_to_prefix_match" in self.config.faults and any(
                raw.startswith(allowed.split("://", 1)[0] + "://" + urlsplit(allowed).netloc)
                for allowed in self.config.allowed_return_urls):
            return raw
        return check_return_to(raw, self.config.allowed_return_urls, self.config.public_url,
                               self.config.effective_default_return_url)

    def link_base(self, req: ClientRequest) -> str:
        """Where mailed links point: the public URL (or, with host_header_links, what the request's headers say)."""
        forged = _forged_host(req)
        if "host_header_links" in self.config.faults and forged:
            return f"{urlsplit(self.config.public_url).scheme}://{forged}/"
        return self.config.public_url

    def continue_url(self, flow: FlowRecord) -> str:
        """Allow-listed return_to, else the default return URL."""
        default = self.config.effective_default_return_url
        raw = return_to_of(flow.request_url)
        if not raw or "return_to_not_continued" in self.config.faults:
            return default
        if "return_to_unchecked" in self.config.faults:
            return raw
        try:
            return self.check_return_to(raw)
        except ReturnToForbidden:
            return default

    # --- the email step ------------------------------------------------------------------------------

    def submission(self, attempt: Attempt) -> Submission:
        """The decoded submission, or the problem Kratos reports for its body."""
        body = attempt.body
        if isinstance(body, BodyError):
            if body.kind == "json_syntax" and "malformed_body_500" in self.config.faults:
                raise Refused(api_errors.api_error(500), 500)
            raise Invalid((None, messages.generic_error(body.reason)))
        if isinstance(body, PayloadError):
            raise Refused(api_errors.api_error(500, message=body.message), 400)
        if "transient_payload_500" in self.config.faults and body.transient_payload:
            raise Refused(api_errors.api_error(500), 500)
        problems = body.field_errors
        if "invalid_email_accepted" in self.config.faults:
            problems = tuple(problem for problem in problems if problem[0] != "email")
        if "invalid_email_old_wording" in self.config.faults:
            problems = tuple((field, _old_invalid_email_wording(message)) for field, message in problems)
        if problems:
            raise Invalid(*problems)
        if ("missing_method_as_configured" in self.config.faults and not body.get("method")
                and not (body.get("code") or body.get("token"))):
            body.values["method"] = self.config.method
        return body

    def mark_form(self, attempt: Attempt, flow: FlowRecord, group: str, email: str) -> None:
        """Show the request's CSRF token and the submitted address on the form."""
        nodes.set_csrf(flow.ui["nodes"], attempt.csrf.token())
        nodes.upsert_node(flow.ui["nodes"], nodes.email_input(group, email))

    def ensure_csrf(self, attempt: Attempt, body: Submission, flow: FlowRecord, group: str) -> None:
        """The CSRF rule of email submissions; raises (after marking the form) when the request breaks it."""
        req = attempt.req
        if flow.type == "api" and "api_flow_browser_headers_accepted" in self.config.faults:
            return
        if flow.type == "api":
            problem = None
            if req.headers.get("origin"):
                problem = ORIGIN_NEEDS_BROWSER_FLOW
            elif any(not name.startswith(_CLOUDFLARE_COOKIES) for name in req.cookies):
                problem = COOKIE_NEEDS_BROWSER_FLOW
            if problem is not None:
                self.mark_form(attempt, flow, group, body.get("email"))
                raise Invalid((None, messages.generic_error(problem)))
            return
        if "csrf_not_checked" in self.config.faults:
            return
        sent = body.get("csrf_token")
        if "csrf_token_unbound" in self.config.faults and csrf.unmask(sent) is not None:
            return  # a token of this server's making, whoever's cookie it belongs to
        if not attempt.csrf.matches(sent):
            self.mark_form(attempt, flow, group, body.get("email"))
            raise Refused(csrf.csrf_violation(req.headers, req.cookies, self.cookie_name, sent), 403)

    def deliver(self, email: str, content_for: Callable[[str | None], mail_templates.MailContent]) -> bool:
        """Queue the verification mail for a known address (now "sent"); unknown addresses get nothing (or the
        notice, if configured). True when the address is known."""
        address = self.storage.address_by_value(email.lower())
        if address is not None and "timing_leak" in self.config.faults:
            time.sleep(0.15)  # composing the mail in the request: a known address takes longer
        if address is not None:
            self.courier.queue(address.value, content_for(address.id))
            self.storage.mark_address_sent(address.id, self.clock())
        elif "unknown_address_mailed" in self.config.faults:
            self.courier.queue(email, content_for(None))
        elif self.config.notify_unknown_recipients:
            self.courier.queue(email, mail_templates.unknown_address_mail())
        return address is not None

    def mark_sent(self, flow: FlowRecord, known: bool, sent_message: messages.Message) -> None:
        """After an email submission: the flow moves to sent_email and says the mail was sent."""
        if "state_not_advanced" not in self.config.faults:
            flow.state = "sent_email"
        if "email_jumps_to_passed" in self.config.faults:
            flow.state = "passed_challenge"
        flow.ui["messages"] = [sent_message]
        if not known and "unknown_address_header" in self.config.faults:
            flow.answer_headers["x-recipient-status"] = "unknown"
        if not known and "unknown_address_400" in self.config.faults:
            flow.answer_status = 400
        if not known and "unknown_address_cookie" in self.config.faults:
            flow.answer_headers["set-cookie"] = "recipient_hint=unknown; Path=/; HttpOnly; SameSite=Lax"
        if not known and "unknown_address_distinguishable" in self.config.faults:
            flow.ui["messages"] = [messages.generic_error("This email address is not registered.")]

    # --- the challenge passed ----------------------------------------------------------------------------

    def pass_challenge(self, attempt: Attempt, flow: FlowRecord, address_id: str | None, group: str) -> None:
        """Mark the address verified and move the flow to passed_challenge."""
        if address_id and "address_update_conflict" in self.config.faults:
            version = self.storage.address_version(address_id)  # read, then written a moment later: a race window
            time.sleep(RACE_WINDOW)
            if not self.storage.mark_address_verified(address_id, self.clock(), unless_changed_since=version):
                raise Invalid((None, messages.generic_error(ADDRESS_CHANGED)))
        elif address_id and "address_not_marked_verified" not in self.config.faults:
            self.storage.mark_address_verified(address_id, self.clock())
        continue_url = self.continue_url(flow)
        token = attempt.csrf.token()
        if flow.type == "browser" and not token:
            token = attempt.csrf.regenerate()
        success = messages.verification_successful()
        if "wrong_success_message" in self.config.faults:
            success = messages.verification_code_sent()
        flow.state = "passed_challenge"
        flow.csrf_token = token
        href = continue_url
        if "continue_href_relative" in self.config.faults or (
                group == "link" and "link_continue_href_relative" in self.config.faults):
            href = "/" + continue_url.split("://", 1)[-1].split("/", 1)[-1]
        flow.ui = {"action": continue_url, "method": "POST" if "continue_via_post" in self.config.faults else "GET",
                   "nodes": nodes.passed_challenge_nodes(token, href, group), "messages": [success]}
        self.storage.update_flow(flow)


def _forged_host(req: ClientRequest) -> str | None:
    """The host a request's X-Forwarded-Host or Host header names (what the host_header_* faults trust)."""
    return req.headers.get("x-forwarded-host") or req.headers.get("host")


def _other_method(method: str) -> str:
    """The verification method that is not ``method``."""
    return "link" if method == "code" else "code"


def _old_invalid_email_wording(message: dict[str, Any]) -> dict[str, Any]:
    """An invalid-address message as the fault invalid_email_old_wording answers it: the id kept, the text in an older
    wording; other messages unchanged."""
    if message["id"] != messages.INVALID_EMAIL_ID:
        return message
    value = message.get("context", {}).get("value")
    return {**message, "text": f'"{value}" is not valid "email"'}
