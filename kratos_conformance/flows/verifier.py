"""Walk verification flows: one call gives a flow of a client's kind in a given state.

:class:`Verifier` is what scenarios use instead of building requests by hand. Each step checks the outcome it
relies on against the requirement that guarantees it, so a scenario that cannot even reach its starting state
fails naming the requirement that broke (not with a bare KeyError).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from kratos_conformance.flows.flow_document import Flow, is_flow_document
from kratos_conformance.mail import Inbox, Mail, MailSource
from kratos_conformance.rules import checks
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import Client, ClientKind
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.query import query_param

F = TypeVar("F", bound=Callable[..., Any])


def _a_step_on_the_way(method: F) -> F:
    """Mark the checks ``method`` makes as preconditions: they judge the way to a state, which any test may
    walk, not the requirement the calling test is about (see :func:`checks.precondition`)."""
    @functools.wraps(method)
    def step(*args: Any, **kwargs: Any) -> Any:
        with checks.precondition():
            return method(*args, **kwargs)
    return cast(F, step)


def replaced(ex: Exchange, flow_id: str | None) -> bool:
    """The answer replaced flow ``flow_id`` with a new one: a 410 whose error is ``self_service_flow_replaced`` (a
    JSON client), or a 303 to another flow (a browser)."""
    if ex.status == 410:
        return ex.error_id == "self_service_flow_replaced"
    return ex.status == 303 and query_param(ex.location, "flow") not in (None, flow_id)


def flow_in(ex: Exchange) -> Flow | None:
    """The flow a JSON answer carries, or None when the body is not a flow (an error, HTML, a redirect)."""
    try:
        doc = ex.json()
    except ValueError:
        return None
    return Flow(doc) if is_flow_document(doc) else None

@dataclass
class Step:
    """A request and the flow it led to (the flow in the body, or the one the redirect points at)."""

    exchange: Exchange
    flow: Flow | None


class Verifier:
    """Drives the verification flow for one client against one target, reading mail from one source."""

    def __init__(self, client: Client, target: Target, mail: MailSource, method: str) -> None:
        self.client = client
        self.target = target
        self.mail = mail
        self.method = method
        self.inbox = Inbox(mail)

    @property
    def kind(self) -> ClientKind:
        return self.client.kind

    # -- flows -------------------------------------------------------------------------------------------------
    @_a_step_on_the_way
    def start(self, return_to: str | None = None) -> Step:
        """Create a flow the way this kind of client does (a browser follows the redirect's flow id)."""
        ex = self.client.init(return_to=return_to)
        if self.kind is ClientKind.BROWSER:
            location = checks.redirect_to_ui(ex, self.target, "VER-INIT-BROWSER-303")
            flow_id = query_param(location, "flow")
            checks.expect("VER-INIT-BROWSER-303", bool(flow_id), "the redirect carries no flow id", ex,
                          name="redirect_names_flow")
            return Step(ex, self.fetch(str(flow_id)))
        req = "VER-INIT-API-200" if self.kind is ClientKind.NATIVE else "VER-INIT-BROWSER-JSON"
        checks.status(ex, 200, req)
        return Step(ex, checks.flow(ex, req, type=self.kind.flow_type))

    def new_flow(self, return_to: str | None = None) -> Flow:
        """A fresh flow in choose_method."""
        flow = self.start(return_to).flow
        assert flow is not None
        return flow

    @_a_step_on_the_way
    def fetch(self, flow_id: str, cookies_of: Exchange | None = None) -> Flow:
        """GET the flow (must answer 200).

        ``cookies_of``: an exchange whose Set-Cookie headers to send along. A native app keeps no cookies, but
        the server answers some of its failures with a new *browser* flow and a fresh CSRF cookie; reading that
        flow needs the cookie.
        """
        headers = None
        if cookies_of is not None and self.kind is ClientKind.NATIVE and cookies_of.set_cookies:
            headers = {"Cookie": "; ".join(c.split(";", 1)[0] for c in cookies_of.set_cookies)}
        ex = self.client.get_flow(flow_id, headers=headers)
        checks.status(ex, 200, "VER-GET-200")
        return checks.flow(ex, "VER-GET-200")

    def outcome(self, ex: Exchange) -> Flow | None:
        """The flow a request led to: the JSON body, or for a 303 the flow named in its Location."""
        if ex.status == 303:
            flow_id = query_param(ex.location, "flow") or query_param(ex.location, "id")
            return self.fetch(flow_id, cookies_of=ex) if flow_id else None
        return flow_in(ex)

    # -- bodies ------------------------------------------------------------------------------------------------
    def email_body(self, flow: Flow, email: str, **extra: Any) -> dict[str, Any]:
        """The fields a UI would post to submit ``email`` (with the flow's CSRF token when it has one)."""
        body: dict[str, Any] = {"method": self.method, "email": email}
        if flow.node("csrf_token") is not None:
            body["csrf_token"] = flow.csrf_token
        body.update(extra)
        return body

    def code_body(self, flow: Flow, code: str, **extra: Any) -> dict[str, Any]:
        """The fields a UI would post to submit ``code``."""
        body: dict[str, Any] = {"method": "code", "code": code}
        if flow.node("csrf_token") is not None:
            body["csrf_token"] = flow.csrf_token
        body.update(extra)
        return body

    # -- steps -------------------------------------------------------------------------------------------------
    def submit_email(self, flow: Flow, email: str, *, encoding: str | None = None, **extra: Any) -> Step:
        ex = self.client.submit(flow.id, self.email_body(flow, email, **extra), encoding=encoding)
        return Step(ex, self.outcome(ex))

    def submit_code(self, flow: Flow, code: str, **extra: Any) -> Step:
        ex = self.client.submit(flow.id, self.code_body(flow, code, **extra))
        return Step(ex, self.outcome(ex))

    def open_link(self, url: str) -> Step:
        """Open an emailed link with this client (the GET route on /self-service/verification)."""
        ex = self.client.open(url)
        return Step(ex, self.outcome(ex))

    @_a_step_on_the_way
    def wait_mail(self, email: str, flow: Flow | None = None, *, req: str | None = None) -> Mail:
        """The next mail to ``email`` not read before (that may carry ``flow``'s challenge, when one is given);
        when none comes within the mail timeout, ``req`` fails (by default the method's mail requirement)."""
        return checks.mail_arrives(self.inbox, email, req or checks.MAIL_REQUIREMENT[self.method],
                                   wait=self.target.mail_timeout,
                                   flow_id=flow.id if flow is not None else None)

    @_a_step_on_the_way
    def send(self, email: str, return_to: str | None = None) -> Flow:
        """A flow in sent_email for ``email``, without waiting for its mail (``email`` must be a known address)."""
        step = self.submit_email(self.new_flow(return_to), email)
        req = "VER-SUBMIT-EMAIL-SENT"
        sent = checks.came_back(step.flow, req, step.exchange)
        checks.flow_state(sent, "sent_email", req, step.exchange)
        return sent

    def sent(self, email: str, return_to: str | None = None) -> tuple[Flow, Mail]:
        """A flow in sent_email for ``email`` and the mail it sent (``email`` must be a known address)."""
        flow = self.send(email, return_to)
        return flow, self.wait_mail(email, flow)

    @_a_step_on_the_way
    def prove(self, flow: Flow, mail: Mail) -> Step:
        """Answer the challenge with what the mail holds: submit its code, or open its link."""
        checks.challenge_mail(mail, self.method, flow.id, self.target)
        if self.method == "code":
            return self.submit_code(flow, str(mail.code))
        return self.open_link(str(mail.verification_link))

    @_a_step_on_the_way
    def passed(self, email: str, return_to: str | None = None) -> tuple[Flow, Step]:
        """A flow in passed_challenge for ``email``; returns the flow before success and the success step."""
        flow, mail = self.sent(email, return_to)
        step = self.prove(flow, mail)
        req = "VER-CODE-SUCCESS" if self.method == "code" else "VER-LINK-VALID"
        checks.flow_state(checks.came_back(step.flow, req, step.exchange), "passed_challenge", req, step.exchange)
        return flow, step
