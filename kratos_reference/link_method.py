"""The link method: an email submission mails a link with a 32-character token, opening it proves the address.

Contract (``LinkMethod.verify(attempt, flow)``, called for flows whose active method is "link"; see flow_model
for what it returns or raises):
- Body problems first (nothing on the form changes). A ``token`` (query or body) is used whatever the flow's
  state: a token this flow did not issue, or one already used, answers with a new browser flow carrying 4070001;
  an expired one with a new browser flow carrying 4070005 (both by 303 to the UI, whatever the client);
  otherwise the challenge is passed.
- Without a token, ``method`` must be "link", else the form is marked (CSRF token, submitted address) and the
  submission is not this method's. A flow that passed its challenge answers with a new flow of its type
  carrying 4070002 (4070003 for an unknown state): 303 to the UI for browser flows, to GET /flows for API flows.
- An email submission without email marks the form and reports 4000002 on the email node; then the CSRF rule;
  then the link is mailed (unknown addresses: see FlowKit.deliver) and the flow shows the address, the
  request's CSRF token and 1080001, in sent_email. Every new flow's request URL is the URL of the request that
  led to it.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
import uuid

from . import api_errors, mail_templates, messages
from .faults import RACE_WINDOW
from .flow_kit import FlowKit
from .flow_model import Attempt, ClientRequest, Invalid, NotResponsible, Outcome, with_query
from .storage import FlowRecord

_TOKEN_ALPHABET = string.ascii_letters + string.digits


class LinkMethod:
    """Verification by a mailed link."""

    name = "link"

    def __init__(self, kit: FlowKit) -> None:
        self.kit = kit
        self.config = kit.config
        self.storage = kit.storage
        #: the last token issued, as a number (the sequential_link_tokens fault only)
        self._last_token = secrets.randbelow(_COUNTER_BASE ** 32)

    def verify(self, attempt: Attempt, flow: FlowRecord) -> Outcome | None:
        """Handle a submission to ``flow`` (see the module docstring)."""
        body = self.kit.submission(attempt)
        token, email = body.get("token"), body.get("email")
        if token:
            return self._use_token(attempt, flow, token)
        if body.get("method") != "link":
            self.kit.mark_form(attempt, flow, self.name, email)
            raise NotResponsible()
        if flow.state == "passed_challenge":
            if "link_replay_wrong_message" in self.config.faults:
                return self._retry(attempt, flow.type, messages.generic_error("Could not find a strategy."))
            return self._retry(attempt, flow.type, messages.retry_after_success())
        if flow.state not in ("choose_method", "sent_email"):
            return self._retry(attempt, flow.type, messages.state_failure())
        if not email:
            self.kit.mark_form(attempt, flow, self.name, "")
            if "missing_email_not_flagged" in self.config.faults:
                raise Invalid((None, messages.generic_error("Invalid request.")))
            raise Invalid(("email", messages.property_missing("email")))
        self.kit.ensure_csrf(attempt, body, flow, self.name)
        known = self.kit.deliver(email, lambda address_id: self._issue_token(flow, address_id, attempt.req))
        self.kit.mark_form(attempt, flow, self.name, email)
        flow.active = self.name
        self.kit.mark_sent(flow, known, messages.verification_link_sent())
        self.storage.update_flow(flow)
        return None

    def _issue_token(self, flow: FlowRecord, address_id: str | None,
                     req: ClientRequest) -> mail_templates.MailContent:
        """Create (and store, for a known address) a 32-character link token; the mail content carrying it."""
        length = 16 if "link_token_short" in self.config.faults else 32
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))
        if "sequential_link_tokens" in self.config.faults:
            self._last_token = (self._last_token + 7919) % _COUNTER_BASE ** length
            token = _in_base(self._last_token, length)
        if address_id is not None:
            now = self.kit.clock()
            self.storage.insert_token(str(uuid.uuid4()), flow.id, address_id, _hash(token),
                                      now + int(self.config.link_lifespan * 1_000_000), now)
        named = {} if "link_without_flow" in self.config.faults else {"flow": flow.id}
        base = "http://kratos:4433/" if "mail_link_internal_host" in self.config.faults else self.kit.link_base(req)
        link = with_query(base + "self-service/verification", **named, token=token)
        return mail_templates.link_mail(link)

    def _use_token(self, attempt: Attempt, flow: FlowRecord, token: str) -> Outcome | None:
        """A link click: unknown/used/other-flow -> 4070001, expired -> 4070005 (new browser flows), else verified."""
        now = self.kit.clock()
        if "race_link_single_use" in self.config.faults:
            row = self.storage.find_token(_hash(token))  # checked here, marked used a moment later: a race window
            if row is not None and (row["flow_id"] != flow.id or row["used_us"] is not None):
                row = None
            elif row is not None:
                time.sleep(RACE_WINDOW)
                self.storage.use_token(flow.id, _hash(token), now)
        else:
            row = self.storage.use_token(flow.id, _hash(token), now)
        if row is None:
            found = self.storage.find_token(_hash(token))
            if found is not None and "link_token_reusable" in self.config.faults and found["flow_id"] == flow.id:
                row = found
            if found is not None and "link_token_other_flow_accepted" in self.config.faults and (
                    found["flow_id"] != flow.id and found["used_us"] is None):
                row = found
        if row is None and "link_unknown_token_404" in self.config.faults and self.storage.find_token(
                _hash(token)) is None:
            return Outcome(404, api_errors.envelope(api_errors.resource_not_found()))
        if row is None:
            return self._retry(attempt, "browser", messages.token_invalid_or_used())
        if row["expires_us"] < now and "link_token_never_expires" not in self.config.faults:
            return self._retry(attempt, "browser", messages.flow_expired(row["expires_us"], now))
        unverified = "link_leaves_address_unverified" in self.config.faults
        self.kit.pass_challenge(attempt, flow, None if unverified else row["address_id"], self.name)
        if "link_success_without_message" in self.config.faults:
            flow.ui["messages"] = []
            self.storage.update_flow(flow)
        return None

    def _retry(self, attempt: Attempt, flow_type: str, message: messages.Message) -> Outcome:
        """A new flow with ``message``, by 303: to the UI for browser flows, to GET /flows for API flows."""
        new = self.kit.create_flow(flow_type, attempt.req.url, attempt.csrf.regenerate(), message)
        if flow_type == "browser":
            return Outcome(303, location=self.kit.ui_location(new.id))
        return Outcome(303, location=self.kit.flows_location(new.id))


#: the digits of a counter written as a token (the sequential_link_tokens fault): base 62, in the usual order
_COUNTER_DIGITS = string.digits + string.ascii_lowercase + string.ascii_uppercase
_COUNTER_BASE = len(_COUNTER_DIGITS)


def _in_base(number: int, length: int) -> str:
    """``number`` written with :data:`_COUNTER_DIGITS`, ``length`` characters (zero-padded)."""
    digits = []
    for _ in range(length):
        number, digit = divmod(number, _COUNTER_BASE)
        digits.append(_COUNTER_DIGITS[digit])
    return "".join(reversed(digits))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
