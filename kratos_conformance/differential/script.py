"""What a scripted case can do, and how the cases of one recording are run.

A case is a function ``(s: Script, kind: ClientKind)`` that talks to the target through :class:`Script`'s helpers;
every exchange its clients make becomes one normalized step of the case's transcript, and what it reads beside
HTTP (a mail, an address's state through the admin API) becomes an ``observe`` step. A case never judges: it
records what the server did, whatever that was, and stops (``stopped`` step) when it cannot go on.

A case that needs something to expire is a generator: it yields a :class:`Wait` and is resumed once that moment has
passed. :func:`run_cases` runs every other case first, then starts the waiting ones together, so one recording
waits about one flow lifespan in all.
"""

from __future__ import annotations

import heapq
import inspect
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from kratos_conformance.differential.normalize import Normalizer
from kratos_conformance.flows.admin_api import AdminApi, Identity
from kratos_conformance.flows.flow_document import Flow, is_flow_document
from kratos_conformance.mail import Inbox, Mail, MailNotReceived, MailSource, assert_no_mail, wait_for_mail
from kratos_conformance.run.target import GET_FLOW, Target
from kratos_conformance.wire.clients import Client, ClientKind, NoAnswer
from kratos_conformance.wire.exchanges import Exchange, Recorder
from kratos_conformance.wire.query import query_param

#: seconds added to a lifespan before something counts as expired (clock rounding on the server).
EXPIRY_MARGIN = 0.6
#: the return_to a case uses that no server allows.
FOREIGN_RETURN_TO = "https://evil.conformance.invalid/steal"
#: a foreign return_to's host and path in backslash form, after a scheme (a browser reads ``scheme://evil...``)
BACKSLASH_FOREIGN_HOST = "\\\\evil.conformance.invalid\\steal"
#: the domain of every address a case makes up.
DOMAIN = "conformance.test"


class CaseStopped(Exception):
    """The case cannot go on (the server answered something the next step cannot use)."""


@dataclass(frozen=True)
class Wait:
    """Resume the case once ``monotonic()`` has passed ``until``."""

    until: float


CaseFunction = Callable[["Script", ClientKind], Any]


@dataclass(frozen=True)
class Case:
    """A scripted walk: its name, the methods and client kinds it runs for, and the function."""

    name: str
    function: CaseFunction
    methods: tuple[str, ...]
    kinds: tuple[ClientKind, ...]

    @property
    def waits(self) -> bool:
        return inspect.isgeneratorfunction(self.function)


@dataclass
class Setting:
    """What a recording knows about the target beside its URLs."""

    target: Target
    mail: MailSource
    method: str
    transport: httpx.BaseTransport
    #: seconds a code or link token lives (None: cases needing an expired one record why they skipped).
    challenge_lifespan: float | None
    #: base URLs by placeholder name (public, admin, ui, error-ui, return-to, default-return).
    bases: dict[str, str | None]
    admin: AdminApi = field(init=False)

    def __post_init__(self) -> None:
        self.admin = AdminApi(self.target, Recorder(), self.transport)


class Script:
    """One run of one case for one client kind: its clients, its normalizer and the steps it recorded."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.target = setting.target
        self.method = setting.method
        self.normalizer = Normalizer(setting.bases)
        self.steps: list[dict[str, Any]] = []
        self.recorder = Recorder()
        self.recorder.add_listener(lambda ex: self.steps.append(self.normalizer.exchange(ex)))
        self.inbox = Inbox(setting.mail)

    # -- clients and data --------------------------------------------------------------------------------------
    def client(self, kind: ClientKind | str) -> Client:
        """A fresh client of ``kind`` (its own cookie jar) whose exchanges are steps of this case."""
        return Client(self.target, ClientKind(kind), self.recorder, self.setting.transport)

    def address(self, label: str = "user") -> str:
        """A made-up address no other case uses, shown as ``<addrN>`` in the transcript."""
        made = f"{label}-{uuid.uuid4().hex[:12]}@{DOMAIN}"
        self.normalizer.address(made)
        return made

    def identity(self) -> Identity:
        """An identity with a fresh address, created through the admin API (not a step of the case)."""
        return self.setting.admin.create_identity(self.address())

    def observe(self, what: str, **values: Any) -> None:
        """Record something seen beside HTTP as a step."""
        self.steps.append({"observe": what, **{k: self.normalizer.value(v, k) for k, v in values.items()}})

    # -- flows -------------------------------------------------------------------------------------------------
    def flow_id_in(self, ex: Exchange) -> str | None:
        """The flow an answer names: its JSON body's ``id`` or ``use_flow_id``, or its Location's flow id."""
        if ex.status in (301, 302, 303, 307):
            location = ex.location or ""
            if urlsplit(location).path.endswith("/" + GET_FLOW):
                return query_param(location, "id")
            return query_param(location, "flow")  # the error UI's ?id= names an error, not a flow
        try:
            doc = ex.json()
        except ValueError:
            return None
        if isinstance(doc, dict):
            if doc.get("use_flow_id"):
                return str(doc["use_flow_id"])
            if is_flow_document(doc) and doc.get("id"):
                return str(doc["id"])
        return None

    def fetch(self, client: Client, flow_id: str, cookies_of: Exchange | None = None) -> Flow | None:
        """GET the flow (a step); None unless it answered 200 with a flow.

        ``cookies_of``: send the Set-Cookie values of that exchange along (a native app keeps no cookies, but a
        replacement browser flow it was sent to needs its CSRF cookie to be read)."""
        headers = None
        if cookies_of is not None and client.kind is ClientKind.NATIVE and cookies_of.set_cookies:
            headers = {"Cookie": "; ".join(c.split(";", 1)[0] for c in cookies_of.set_cookies)}
        ex = client.get_flow(flow_id, headers=headers)
        return _flow_of(ex) if ex.status == 200 else None

    def outcome(self, client: Client, ex: Exchange) -> Flow | None:
        """The flow an answer led to: the flow in its body, or the flow its redirect or ``use_flow_id`` names
        (fetched: a step)."""
        if ex.status == 200:
            return _flow_of(ex)
        flow_id = self.flow_id_in(ex)
        if flow_id is None or (ex.status not in (303, 410)):
            return _flow_of(ex)
        return self.fetch(client, flow_id, cookies_of=ex)

    def start(self, client: Client, return_to: str | None = None) -> Flow:
        """A new flow made the way ``client``'s kind makes one (a browser reads it after the redirect)."""
        ex = client.init(return_to=return_to)
        flow = self.outcome(client, ex)
        if flow is None:
            raise CaseStopped(f"init answered {ex.status} without a flow")
        return flow

    def email_body(self, flow: Flow, email: str | None, **extra: Any) -> dict[str, Any]:
        """What a UI posts to submit an address (the CSRF token when the flow shows one)."""
        body: dict[str, Any] = {"method": self.method}
        if email is not None:
            body["email"] = email
        if flow.node("csrf_token") is not None:
            body["csrf_token"] = flow.csrf_token
        body.update(extra)
        return {k: v for k, v in body.items() if v is not None}

    def code_body(self, flow: Flow, code: str, **extra: Any) -> dict[str, Any]:
        """What a UI posts to submit a code."""
        body: dict[str, Any] = {"method": "code", "code": code}
        if flow.node("csrf_token") is not None:
            body["csrf_token"] = flow.csrf_token
        body.update(extra)
        return {k: v for k, v in body.items() if v is not None}

    def submit(self, client: Client, flow: Flow, body: dict[str, Any], **kwargs: Any) -> tuple[Exchange, Flow | None]:
        """POST ``body`` to the flow; the answer and the flow it led to."""
        ex = client.submit(flow.id, body, **kwargs)
        return ex, self.outcome(client, ex)

    # -- mail and addresses ------------------------------------------------------------------------------------
    def mail(self, address: str) -> Mail:
        """The next mail to ``address`` (a step showing its subject, code or link); stops the case if none came."""
        try:
            found = self.inbox.next_mail(address, timeout=self.target.mail_timeout)
        except MailNotReceived:
            self.observe("mail", to=address, received=False)
            raise CaseStopped(f"no mail to {self.normalizer.address(address)}") from None
        self.observe("mail", to=address, received=True, subject=_subject(found),
                     code="<code>" if found.code and len(found.code) == 6 else found.code,
                     link=found.verification_link)
        return found

    def mail_settled(self, address: str) -> Mail | None:
        """The mail to ``address`` if the server sent one, without waiting a whole mail timeout when it did not.

        A sentinel verification (not a step of the case) is started for another address; couriers send in order,
        so once the sentinel's mail has arrived, a mail to ``address`` has arrived too or was never sent."""
        sentinel = self.setting.admin.create_identity(f"sentinel-{uuid.uuid4().hex[:12]}@{DOMAIN}")
        quiet = Client(self.target, ClientKind.NATIVE, Recorder(), self.setting.transport)
        flow = _flow_of(quiet.init())
        if flow is not None:
            quiet.submit(flow.id, {"method": self.method, "email": sentinel.email})
            try:
                wait_for_mail(self.setting.mail, sentinel.email, timeout=self.target.mail_timeout)
            except MailNotReceived:
                pass
        try:
            assert_no_mail(self.setting.mail, address, wait=0.3, ignore=self.inbox.read_ids)
        except AssertionError:
            return self.mail(address)
        self.observe("mail", to=address, received=False)
        return None

    def address_state(self, identity: Identity) -> None:
        """A step with the verification state of the identity's address, read through the admin API."""
        address, _ = self.setting.admin.address(identity)
        self.observe("address", verified=address.verified, status=address.status,
                     verified_at="<time>" if address.verified_at else None)

    def sent(self, client: Client, identity: Identity, return_to: str | None = None) -> tuple[Flow, Mail]:
        """A flow in sent_email for the identity's address and the mail it sent."""
        flow = self.start(client, return_to)
        ex, after = self.submit(client, flow, self.email_body(flow, identity.email))
        if after is None:
            raise CaseStopped(f"the email submission answered {ex.status} without a flow")
        return after, self.mail(identity.email)

    def prove(self, client: Client, flow: Flow, mail: Mail) -> tuple[Exchange, Flow | None]:
        """Answer the challenge the way this method does: submit the code, or open the link."""
        if self.method == "code":
            return self.submit(client, flow, self.code_body(flow, str(mail.code)))
        if not mail.verification_link:
            raise CaseStopped("the mail carries no verification link")
        ex = client.open(mail.verification_link)
        return ex, self.outcome(client, ex)

    # -- waiting -----------------------------------------------------------------------------------------------
    def until_flow_expired(self, flow: Flow, made_at: float) -> Wait:
        """Wait until ``flow`` (made at ``made_at``, monotonic) has expired."""
        lifespan = flow.lifespan
        if lifespan is None:
            raise CaseStopped("the flow carries no expires_at - issued_at")
        return Wait(made_at + lifespan + EXPIRY_MARGIN)

    def until_challenge_expired(self, flow: Flow, flow_made_at: float, sent_at: float) -> Wait:
        """Wait until the code or token sent at ``sent_at`` has expired; stops the case if its flow would expire
        first (the challenge lifespan is unknown or not shorter than the flow's)."""
        lifespan = self.setting.challenge_lifespan
        if lifespan is None:
            raise CaseStopped("the code/link lifespan is not known")
        until = sent_at + lifespan + EXPIRY_MARGIN
        if flow.lifespan is None or until + 1.0 > flow_made_at + flow.lifespan:
            raise CaseStopped("the code/link lifespan is not shorter than the flow's")
        return Wait(until)


def _flow_of(ex: Exchange) -> Flow | None:
    try:
        doc = ex.json()
    except ValueError:
        return None
    return Flow(doc) if is_flow_document(doc) and "id" in doc else None


def _subject(mail: Mail) -> str:
    subject = mail.subject
    if mail.code:
        subject = subject.replace(mail.code, "<code>")
    return subject


# -- running -----------------------------------------------------------------------------------------------------

Transcript = dict[str, list[dict[str, Any]]]


def case_key(case: Case, kind: ClientKind) -> str:
    return f"{case.name}/{kind.value}"


def run_cases(setting: Setting, cases: list[Case], *, only: tuple[str, ...] = (),
              progress: Callable[[str], None] | None = None) -> Transcript:
    """Run every case that applies to the target's method (and whose name starts with one of ``only``, when
    given), for each of its client kinds; their transcripts by ``<case>/<kind>``, in script order. Waiting cases
    run last, together."""
    selected = [(case, kind) for case in cases if setting.method in case.methods for kind in case.kinds
                if not only or case.name.startswith(only)]
    results: dict[str, list[dict[str, Any]]] = {}
    waiting: list[tuple[float, int, str, Script, Iterator[Any]]] = []
    for case, kind in selected:
        if case.waits:
            continue
        script = Script(setting)
        results[case_key(case, kind)] = script.steps
        _run_plain(script, case, kind)
        if progress:
            progress(case_key(case, kind))
    order = 0
    for case, kind in selected:
        if not case.waits:
            continue
        script = Script(setting)
        results[case_key(case, kind)] = script.steps
        gen = case.function(script, kind)
        order += 1
        _advance(script, gen, None, waiting, order, case_key(case, kind))
    while waiting:
        until, order, key, script, gen = heapq.heappop(waiting)
        time.sleep(max(0.0, until - time.monotonic()))
        _advance(script, gen, None, waiting, order, key)
        if progress:
            progress(key)
    return {case_key(case, kind): results[case_key(case, kind)] for case, kind in selected}


def _http_error(exc: httpx.HTTPError) -> str:
    """A request's failure in words that are the same on every run (the kind of failure, no URL or id)."""
    cause = exc.cause if isinstance(exc, NoAnswer) else exc
    return f"HTTP error: {type(cause).__name__}"


def _run_plain(script: Script, case: Case, kind: ClientKind) -> None:
    try:
        case.function(script, kind)
    except CaseStopped as stop:
        script.observe("stopped", why=str(stop))
    except httpx.HTTPError as exc:
        script.observe("stopped", why=_http_error(exc))


def _advance(script: Script, gen: Iterator[Any], _: Any, waiting: list[Any], order: int, key: str) -> None:
    try:
        wait = next(gen)
    except StopIteration:
        return
    except CaseStopped as stop:
        script.observe("stopped", why=str(stop))
        return
    except httpx.HTTPError as exc:
        script.observe("stopped", why=_http_error(exc))
        return
    heapq.heappush(waiting, (wait.until, order, key, script, gen))
