"""The code method: an email submission mails a 6-digit code, the code submission proves the address.

Contract (``CodeMethod.verify(attempt, flow)``, called for flows whose active method is "code"; see flow_model
for what it returns or raises):
- Body problems first (nothing on the form changes). Then the method: the submitted ``method``, or "code" when
  only a code came; anything else marks the form (CSRF token, submitted address) and is not this method's.
- A flow that passed its challenge answers with a new flow carrying 4070002 (4070003 for an unknown state):
  JSON requests get 410 errorFlowReplaced, the others a 303 to the UI.
- A code with GET (the emailed link) pre-fills the code node, issues a new CSRF cookie whose token the flow
  then shows, and answers 303 to the UI; it verifies nothing. A posted code counts as an attempt (past
  max_submissions: a new flow with 4000001, replaced as above); unknown codes (wrong, resent, another flow's)
  answer the same flow with 4070006 as its only message (200 with the flow as held, transient_payload included;
  browser requests 303); an expired code answers with a new flow carrying 4070005 (JSON: 410
  self_service_flow_expired); a used one with a new flow carrying 4000001; the right one passes the challenge.
- An email submission without email marks the form and reports 4000002 on the email node; then the CSRF rule;
  then earlier codes are dropped, the code is mailed (unknown addresses: see FlowKit.deliver) and the flow
  shows the sent_email layout with 1080003 and a resend button carrying the address. Every new flow's request
  URL is the URL of the request that led to it.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
import uuid

from . import api_errors, mail_templates, messages, nodes
from .bodies import Submission
from .faults import CONFLICT_WINDOW, RACE_WINDOW
from .flow_kit import FlowKit
from .flow_model import Attempt, ClientRequest, Invalid, NotResponsible, Outcome, with_query
from .storage import FlowRecord
from .timefmt import format_time

SUBMITTED_TOO_OFTEN = "The request was submitted too often. Please request another code."
CODE_ALREADY_USED = "The code was already used. Please request another code."
REASON_USE_NEW_FLOW = "An error occured, please use the new flow."
REASON_RETRY_FLOW = "An error occured, please retry the flow."


class CodeMethod:
    """Verification by a mailed one-time code."""

    name = "code"

    def __init__(self, kit: FlowKit) -> None:
        self.kit = kit
        self.config = kit.config
        self.storage = kit.storage
        #: the last code issued (the sequential_codes fault only)
        self._last_code = secrets.randbelow(1_000_000)
        #: the code first issued to each address (the codes_repeat_per_address fault only)
        self._codes_of_addresses: dict[str, str] = {}
        #: when correct codes reached each flow (the race_refuses_all fault only)
        self._arrivals: dict[str, list[float]] = {}
        self._arrivals_lock = threading.Lock()

    def verify(self, attempt: Attempt, flow: FlowRecord) -> Outcome | None:
        """Handle a submission to ``flow`` (see the module docstring)."""
        body = self.kit.submission(attempt)
        code, email = body.get("code"), body.get("email")
        method = body.get("method") or ("code" if code else "")
        if method == "link" and "inactive_method_accepted" in self.config.faults:
            method = "code"
        if method != "code":
            self.kit.mark_form(attempt, flow, self.name, email)
            raise NotResponsible()
        if flow.state == "passed_challenge":
            if "code_reusable" in self.config.faults and code and self.storage.find_code(
                    flow.id, self._hash(flow.id, code)):
                return None
            return self._retry(attempt, flow.type, messages.retry_after_success(), REASON_USE_NEW_FLOW)
        if flow.state not in ("choose_method", "sent_email"):
            return self._retry(attempt, flow.type, messages.state_failure(), REASON_USE_NEW_FLOW)
        if code:
            if attempt.req.method == "GET" and "get_link_verifies" not in self.config.faults:
                return self._prefill(attempt, flow, code)
            if "code_submission_csrf_checked" in self.config.faults and flow.type == "browser":
                self.kit.ensure_csrf(attempt, body, flow, self.name)
            return self._use_code(attempt, body, flow, code)
        if not email:
            self.kit.mark_form(attempt, flow, self.name, "")
            if "missing_email_not_flagged" in self.config.faults:
                raise Invalid((None, messages.generic_error("Invalid request.")))
            raise Invalid(("email", messages.property_missing("email")))
        if "race_stale_flow" in self.config.faults:
            time.sleep(RACE_WINDOW)  # the resend acts on the flow as read before this moment
        self.kit.ensure_csrf(attempt, body, flow, self.name)
        if "resend_drops_old_code_late" in self.config.faults:  # after the answer: a window for the old code
            late = threading.Timer(3 * RACE_WINDOW, self._drop_codes_late, (flow.id, self.kit.clock()))
            late.daemon = True
            late.start()
        elif "resend_keeps_old_code" not in self.config.faults:
            self.storage.delete_codes_of_flow(flow.id)
        known = self.kit.deliver(email, lambda address_id: self._issue_code(flow, address_id, attempt.req))
        flow.ui["nodes"] = nodes.code_sent_email_nodes(attempt.csrf.token() if flow.type == "browser" else None,
                                                       email)
        resend = nodes.find_node(flow.ui["nodes"], "email")
        if resend is not None and "resend_button_without_address" in self.config.faults:
            resend["attributes"]["value"] = ""
        code_input = nodes.find_node(flow.ui["nodes"], "code")
        if code_input is not None and "code_input_optional" in self.config.faults:
            code_input["attributes"]["required"] = False
        self.kit.mark_sent(flow, known, messages.verification_code_sent())
        self.storage.update_flow(flow)
        return None

    def _drop_codes_late(self, flow_id: str, issued_before_us: int) -> None:
        """The resend_drops_old_code_late fault's late drop of the old codes."""
        try:
            self.storage.delete_codes_of_flow(flow_id, issued_before_us)
        except sqlite3.ProgrammingError:
            pass  # the target stopped meanwhile

    # --- the code ---------------------------------------------------------------------------------------

    def use_up(self, flow_id: str, code: str) -> None:
        """Mark the flow's ``code`` used without passing the challenge (only the head_link_consumes_code fault
        calls it: a link scanner's HEAD spending the user's code)."""
        row = self.storage.find_code(flow_id, self._hash(flow_id, code))
        if row is not None:
            self.storage.use_code(row["id"], self.kit.clock())

    def _hash(self, flow_id: str, code: str) -> str:
        return hashlib.sha256(f"{flow_id}:{code}".encode()).hexdigest()

    def _issue_code(self, flow: FlowRecord, address_id: str | None,
                    req: ClientRequest) -> mail_templates.MailContent:
        """Create and store a 6-digit code for the flow (8 or 4 under their faults); the mail content carrying it."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        if "sequential_codes" in self.config.faults:
            self._last_code = (self._last_code + 7919) % 1_000_000
            code = f"{self._last_code:06d}"
        if "code_8_digits" in self.config.faults:
            code = f"{secrets.randbelow(100_000_000):08d}"
        if "code_4_digits" in self.config.faults:
            code = f"{secrets.randbelow(10_000):04d}"
        if "codes_repeat_per_address" in self.config.faults and address_id is not None:
            code = self._codes_of_addresses.setdefault(address_id, code)
        now = self.kit.clock()
        self.storage.insert_code(str(uuid.uuid4()), flow.id, address_id, self._hash(flow.id, code),
                                 now + int(self.config.code_lifespan * 1_000_000), now)
        link = with_query(self.kit.link_base(req) + "self-service/verification", flow=flow.id, code=code)
        return mail_templates.code_mail(code, None if "code_mail_without_link" in self.config.faults else link)

    def _prefill(self, attempt: Attempt, flow: FlowRecord, code: str) -> Outcome:
        """The emailed link: pre-fill the code, protect the flow with a new CSRF cookie, 303 to the UI."""
        code_node = nodes.find_node(flow.ui["nodes"], "code")
        if code_node is not None and "code_link_not_prefilled" not in self.config.faults:
            code_node["attributes"]["value"] = code
        flow.csrf_token = attempt.csrf.regenerate()
        nodes.set_csrf(flow.ui["nodes"], flow.csrf_token)
        self.storage.update_flow(flow)
        return Outcome(303, location=self.kit.ui_location(flow.id))

    def _use_code(self, attempt: Attempt, body: Submission, flow: FlowRecord, code: str) -> Outcome | None:
        """A code attempt: counted; past max_submissions a new flow; unknown -> 4070006; expired or used -> a new
        flow; right -> verified."""
        allowed = self.config.max_submissions + (1 if "attempt_limit_off_by_one" in self.config.faults else 0)
        row = self.storage.find_code(flow.id, self._hash(flow.id, code))
        spared = "limit_spares_right_code" in self.config.faults and row is not None
        if not spared and "no_attempt_limit" not in self.config.faults and self._count_attempt(flow.id) > allowed:
            return self._past_limit(attempt, flow)
        now = self.kit.clock()
        if row is None and "code_other_flow_accepted" in self.config.faults:
            row = next((other for other in self.storage.unused_codes()
                        if other["code_hash"] == self._hash(other["flow_id"], code)), None)
        if row is None:
            return self._wrong_code(attempt, body, flow)
        if row["expires_us"] < now and "code_never_expires" not in self.config.faults:
            return self._expired(attempt, flow.type, row["expires_us"])
        if "race_refuses_all" in self.config.faults and self._met_another(flow.id):
            return self._wrong_code(attempt, body, flow)
        if "race_single_use" in self.config.faults:
            if row["used_us"] is not None:  # checked here, marked used a moment later: a race window
                return self._retry(attempt, flow.type, messages.generic_error(CODE_ALREADY_USED), REASON_RETRY_FLOW)
            time.sleep(RACE_WINDOW)
            self.storage.use_code(row["id"], now)
        elif "code_reusable" not in self.config.faults and not self.storage.use_code(row["id"], now):
            return self._retry(attempt, flow.type, messages.generic_error(CODE_ALREADY_USED), REASON_RETRY_FLOW)
        if "race_stale_flow" in self.config.faults:
            time.sleep(RACE_WINDOW)  # the code is spent; the flow, as read before this moment, is written later
        self.kit.pass_challenge(attempt, flow, row["address_id"], self.name)
        return None

    def _met_another(self, flow_id: str) -> bool:
        """Whether another correct code reached ``flow_id`` within :data:`CONFLICT_WINDOW` of this one (waiting that
        long to see): the race_refuses_all fault's conflict."""
        now = time.monotonic()
        with self._arrivals_lock:
            self._arrivals.setdefault(flow_id, []).append(now)
        time.sleep(CONFLICT_WINDOW)
        with self._arrivals_lock:
            return sum(abs(then - now) < CONFLICT_WINDOW for then in self._arrivals[flow_id]) > 1

    def _past_limit(self, attempt: Attempt, flow: FlowRecord) -> Outcome:
        """An attempt past max_submissions: a new flow with 4000001, the old one replaced."""
        faults = self.config.faults
        if "attempt_count_reset_on_replace" in faults:
            self.storage.set_submit_count(flow.id, 0)
        message = messages.generic_error(SUBMITTED_TOO_OFTEN)
        if "attempt_limit_200" in faults and attempt.req.is_json:
            return Outcome(200, self.kit.flow_json(self._new_flow(attempt, flow.type, message)))
        flow_type = "api" if "limit_replacement_api_typed" in faults else flow.type
        outcome = self._retry(attempt, flow_type, message, REASON_RETRY_FLOW)
        if "limit_answered_as_expired" in faults and outcome.status == 410:
            outcome.body["error"]["id"] = "self_service_flow_expired"
        return outcome

    def _count_attempt(self, flow_id: str) -> int:
        """Count one code attempt; the flow's attempts so far."""
        if "race_attempt_count" not in self.config.faults:
            return self.storage.increment_submit_count(flow_id)
        count = self.storage.submit_count(flow_id) + 1  # read, then write a moment later: a race window
        time.sleep(RACE_WINDOW)
        self.storage.set_submit_count(flow_id, count)
        return count

    def _wrong_code(self, attempt: Attempt, body: Submission, flow: FlowRecord) -> Outcome:
        flow.ui["messages"] = [messages.code_invalid_or_used()]
        self.storage.update_flow(flow)
        if "wrong_code_400" in self.config.faults:
            return Outcome(400, self.kit.flow_json(flow))
        if "wrong_code_new_flow" in self.config.faults:
            new = self._new_flow(attempt, flow.type, messages.code_invalid_or_used())
            new.state, new.ui["nodes"] = flow.state, flow.ui["nodes"]
            self.storage.update_flow(new)
            return self.kit.answer_flow(attempt.req, new, body.transient_payload)
        return self.kit.answer_flow(attempt.req, flow, body.transient_payload)

    # --- new flows ------------------------------------------------------------------------------------------

    def _new_flow(self, attempt: Attempt, flow_type: str, message: messages.Message) -> FlowRecord:
        return self.kit.create_flow(flow_type, attempt.req.url, attempt.csrf.regenerate(), message)

    def _retry(self, attempt: Attempt, flow_type: str, message: messages.Message, reason: str) -> Outcome:
        """A new flow with ``message``: JSON requests get 410 errorFlowReplaced, the others a 303 to the UI."""
        new = self._new_flow(attempt, flow_type, message)
        if not attempt.req.is_json:
            return Outcome(303, location=self.kit.ui_location(new.id))
        use_flow_id = None if "replaced_without_use_flow_id" in self.config.faults else new.id
        return Outcome(410, api_errors.flow_replaced(reason, use_flow_id))

    def _expired(self, attempt: Attempt, flow_type: str, expired_us: int) -> Outcome:
        """An expired code: a new flow with 4070005; JSON requests get 410 self_service_flow_expired."""
        now = self.kit.clock()
        new = self._new_flow(attempt, flow_type, messages.flow_expired(expired_us, now))
        if not attempt.req.is_json:
            return Outcome(303, location=self.kit.ui_location(new.id))
        if "expired_code_as_replaced" in self.config.faults:
            return Outcome(410, api_errors.flow_replaced(REASON_RETRY_FLOW, new.id))
        return Outcome(410, api_errors.flow_expired(format_time(expired_us), now - expired_us, new.id))

