"""The scripted cases: every client kind x method x state x failure branch the scenarios walk.

Each case is named ``<area>.<what>`` and runs once per client kind it lists. Cases only send requests and note
what came back (see :mod:`.script`); what the answers should be is the scenarios' business, and what one server
answers compared with another is :mod:`.compare`'s.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from kratos_conformance.differential.script import (
    BACKSLASH_FOREIGN_HOST,
    FOREIGN_RETURN_TO,
    Case,
    CaseFunction,
    CaseStopped,
    Script,
    Wait,
)
from kratos_conformance.mail import wrong_code
from kratos_conformance.wire.clients import Client, ClientKind

ALL = (ClientKind.NATIVE, ClientKind.BROWSER, ClientKind.SPA)
BROWSERS = (ClientKind.BROWSER, ClientKind.SPA)
JSON_CLIENTS = (ClientKind.NATIVE, ClientKind.SPA)
CASES: list[Case] = []


def case(name: str, *, methods: tuple[str, ...] = ("code", "link"), kinds: tuple[ClientKind, ...] = ALL
         ) -> Callable[[CaseFunction], CaseFunction]:
    """Register the decorated function as the case ``name``."""
    def register(function: CaseFunction) -> CaseFunction:
        if any(c.name == name for c in CASES):
            raise ValueError(f"case {name!r} is registered twice")
        CASES.append(Case(name, function, methods, kinds))
        return function
    return register


# --- init ---------------------------------------------------------------------------------------------------------

@case("init.create")
def init_create(s: Script, kind: ClientKind) -> None:
    s.start(s.client(kind))


@case("init.other-route")
def init_other_route(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    if kind is ClientKind.NATIVE:
        client.init_browser()
    else:
        client.init_api()


@case("init.return-to-allowed")
def init_return_to_allowed(s: Script, kind: ClientKind) -> None:
    s.start(s.client(kind), return_to=s.setting.bases["return-to"])


@case("init.return-to-foreign")
def init_return_to_foreign(s: Script, kind: ClientKind) -> None:
    s.client(kind).init(return_to=FOREIGN_RETURN_TO)


@case("init.return-to-backslash")
def init_return_to_backslash(s: Script, kind: ClientKind) -> None:
    """A foreign host in the backslash form a browser reads as ``scheme://host``, with the allow-listed URL's
    scheme (Kratos accepts it: a known defect of its profiles)."""
    scheme = urlsplit(str(s.setting.bases["return-to"])).scheme
    s.client(kind).init(return_to=f"{scheme}:{BACKSLASH_FOREIGN_HOST}")


# --- get ----------------------------------------------------------------------------------------------------------

@case("get.own")
def get_own(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    client.get_flow(flow.id)


@case("get.unknown")
def get_unknown(s: Script, kind: ClientKind) -> None:
    s.client(kind).get_flow(str(uuid.uuid4()))


@case("get.malformed")
def get_malformed(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    for flow_id in ("not-a-uuid", "", None):
        client.get_flow(flow_id)


@case("get.stranger", kinds=BROWSERS)
def get_stranger(s: Script, kind: ClientKind) -> None:
    flow = s.start(s.client(kind))
    s.client(kind).get_flow(flow.id)


# --- the email step -------------------------------------------------------------------------------------------------

@case("email.known")
def email_known(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, identity.email))
    s.mail(identity.email)
    s.address_state(identity)


@case("email.unknown")
def email_unknown(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    unknown = s.address("nobody")
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, unknown))
    s.mail_settled(unknown)


@case("email.resend")
def email_resend(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, _ = s.sent(client, identity)
    s.submit(client, flow, s.email_body(flow, identity.email))
    s.mail(identity.email)


@case("email.missing")
def email_missing(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, None))


@case("email.invalid")
def email_invalid(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, "not-an-email"))


@case("email.method-unknown")
def email_method_unknown(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, s.address(), method="carrier-pigeon"))
    _then_a_valid_address(s, client, flow.id)


@case("email.method-other")
def email_method_other(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    other = "link" if s.method == "code" else "code"
    s.submit(client, flow, s.email_body(flow, s.address(), method=other))
    _then_a_valid_address(s, client, flow.id)


@case("email.method-missing")
def email_method_missing(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, s.address(), method=None))


def _then_a_valid_address(s: Script, client: Client, flow_id: str) -> None:
    """After a refused submission: read the flow back and submit a valid address to it."""
    flow = s.fetch(client, flow_id)
    if flow is None:
        raise CaseStopped("the flow cannot be read back")
    identity = s.identity()
    s.submit(client, flow, s.email_body(flow, identity.email))
    s.mail_settled(identity.email)


@case("email.encoding-json")
def email_encoding_json(s: Script, kind: ClientKind) -> None:
    _email_encoded(s, kind, "json")


@case("email.encoding-form")
def email_encoding_form(s: Script, kind: ClientKind) -> None:
    _email_encoded(s, kind, "form")


@case("email.encoding-multipart")
def email_encoding_multipart(s: Script, kind: ClientKind) -> None:
    _email_encoded(s, kind, "multipart")


def _email_encoded(s: Script, kind: ClientKind, encoding: str) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, s.address()), encoding=encoding)


@case("email.empty-body", kinds=JSON_CLIENTS)
def email_empty_body(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    client.submit(flow.id, content=b"", headers={"Content-Type": "application/json"})


@case("email.content-type", kinds=JSON_CLIENTS)
def email_content_type(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    client.submit(flow.id, content=b"method=code&email=a@conformance.test", headers={"Content-Type": "text/plain"})


@case("email.malformed-json", kinds=JSON_CLIENTS)
def email_malformed_json(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    for body in (b"{", b"[1,2,3]", b'"just a string"'):
        client.submit(flow.id, content=body, headers={"Content-Type": "application/json"})


@case("email.json-types", kinds=(ClientKind.NATIVE,))
def email_json_types(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    for extra in ({"transient_payload": "not-an-object"}, {"email": 12345}):
        body = {**s.email_body(flow, s.address()), **extra}
        client.submit(flow.id, body)


@case("email.json-null-payload", kinds=(ClientKind.NATIVE,))
def email_json_null_payload(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    client.submit(flow.id, {**s.email_body(flow, s.address()), "transient_payload": None})


@case("email.flow-missing")
def email_flow_missing(s: Script, kind: ClientKind) -> None:
    s.client(kind).submit(None, {"method": s.method, "email": s.address()})


@case("email.flow-unknown")
def email_flow_unknown(s: Script, kind: ClientKind) -> None:
    s.client(kind).submit(str(uuid.uuid4()), {"method": s.method, "email": s.address()})


@case("email.flow-malformed")
def email_flow_malformed(s: Script, kind: ClientKind) -> None:
    s.client(kind).submit("not-a-uuid", {"method": s.method, "email": s.address()})


@case("email.browser-to-api-flow", kinds=(ClientKind.BROWSER,))
def email_browser_to_api_flow(s: Script, kind: ClientKind) -> None:
    flow = s.start(s.client(ClientKind.NATIVE))
    browser = s.client(kind)
    s.submit(browser, flow, s.email_body(flow, s.address()))


# --- CSRF -----------------------------------------------------------------------------------------------------------

@case("csrf.missing", kinds=BROWSERS)
def csrf_missing(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, s.address(), csrf_token=None))
    s.fetch(client, flow.id)


@case("csrf.wrong", kinds=BROWSERS)
def csrf_wrong(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, s.address(), csrf_token="x" * 88))


@case("csrf.other-session", kinds=BROWSERS)
def csrf_other_session(s: Script, kind: ClientKind) -> None:
    other = s.start(s.client(kind))
    client = s.client(kind)
    flow = s.start(client)
    s.submit(client, flow, s.email_body(flow, s.address(), csrf_token=other.csrf_token))


@case("csrf.token-bound", kinds=BROWSERS)
def csrf_token_bound(s: Script, kind: ClientKind) -> None:
    """The flow's right CSRF token, sent by a client of the same kind without the flow's cookie."""
    flow = s.start(s.client(kind))
    cookieless = s.client(kind)
    s.submit(cookieless, flow, s.email_body(flow, s.address()))


@case("csrf.token-other-kind", kinds=BROWSERS)
def csrf_token_other_kind(s: Script, kind: ClientKind) -> None:
    """The flow's right CSRF token, sent by the other browser kind (an SPA for a browser's flow, a browser for an
    SPA's) with a CSRF cookie of its own session, then by a native app (no cookie at all)."""
    flow = s.start(s.client(kind))
    other = s.client(ClientKind.SPA if kind is ClientKind.BROWSER else ClientKind.BROWSER)
    s.start(other)  # its own session: a CSRF cookie that is not the flow's
    s.submit(other, flow, s.email_body(flow, s.address()))
    s.submit(s.client(ClientKind.NATIVE), flow, s.email_body(flow, s.address()))


@case("csrf.api-cookie", kinds=(ClientKind.NATIVE,))
def csrf_api_cookie(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    client.submit(flow.id, s.email_body(flow, s.address()), headers={"Cookie": "session=abc"})


@case("csrf.api-origin", kinds=(ClientKind.NATIVE,))
def csrf_api_origin(s: Script, kind: ClientKind) -> None:
    client = s.client(kind)
    flow = s.start(client)
    client.submit(flow.id, s.email_body(flow, s.address()), headers={"Origin": "https://app.conformance.test"})


# --- the code method ------------------------------------------------------------------------------------------------

@case("code.correct", methods=("code",))
def code_correct(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, str(mail.code)))
    s.address_state(identity)


@case("code.method-omitted", methods=("code",))
def code_method_omitted(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, str(mail.code), method=None))
    s.address_state(identity)


@case("code.wrong", methods=("code",))
def code_wrong(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, wrong_code(mail.code)))
    s.address_state(identity)


@case("code.other-flow", methods=("code",))
def code_other_flow(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    _, first = s.sent(client, identity)
    flow, _ = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, str(first.code)))


@case("code.limit", methods=("code",))
def code_limit(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    for _ in range(7):  # bounded: Kratos replaces the flow after max_submissions (5) attempts
        ex = client.submit(flow.id, s.code_body(flow, wrong_code(mail.code)))
        new_id = s.flow_id_in(ex)
        if ex.status == 410 or (ex.status == 303 and new_id != flow.id):
            if new_id:
                s.fetch(client, new_id, cookies_of=ex)
            break
    s.submit(client, flow, s.code_body(flow, str(mail.code)))
    s.address_state(identity)


@case("code.resend", methods=("code",))
def code_resend(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, first = s.sent(client, identity)
    _, resent = s.submit(client, flow, s.email_body(flow, identity.email))
    second = s.mail(identity.email)
    flow = resent or flow
    s.submit(client, flow, s.code_body(flow, str(first.code)))
    s.submit(client, flow, s.code_body(flow, str(second.code)))
    s.address_state(identity)


@case("code.replay", methods=("code",))
def code_replay(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, str(mail.code)))
    s.submit(client, flow, s.code_body(flow, str(mail.code)))


@case("code.replay-email", methods=("code",))
def code_replay_email(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, str(mail.code)))
    s.submit(client, flow, s.email_body(flow, identity.email))


@case("code.link-get", methods=("code",))
def code_link_get(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    if not mail.verification_link:
        raise CaseStopped("the mail carries no link")
    client.open(mail.verification_link)
    s.fetch(client, flow.id)
    s.address_state(identity)


@case("code.link-head", methods=("code",), kinds=(ClientKind.NATIVE,))
def code_link_head(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    if not mail.verification_link:
        raise CaseStopped("the mail carries no link")
    s.client(ClientKind.BROWSER).request("HEAD", mail.verification_link)
    s.fetch(client, flow.id)
    s.address_state(identity)
    s.submit(client, flow, s.code_body(flow, str(mail.code)))  # the code still verifies after a scanner's HEAD
    s.address_state(identity)


@case("code.no-csrf", methods=("code",), kinds=BROWSERS)
def code_no_csrf(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.submit(client, flow, s.code_body(flow, str(mail.code), csrf_token=None))
    s.address_state(identity)


@case("code.expired", methods=("code",))
def code_expired(s: Script, kind: ClientKind) -> Iterator[Wait]:
    identity = s.identity()
    client = s.client(kind)
    made_at = time.monotonic()
    flow, mail = s.sent(client, identity)
    yield s.until_challenge_expired(flow, made_at, time.monotonic())
    s.submit(client, flow, s.code_body(flow, str(mail.code)))
    s.address_state(identity)


# --- the link method ------------------------------------------------------------------------------------------------

@case("link.valid", methods=("link",))
def link_valid(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.prove(client, flow, mail)
    s.address_state(identity)


@case("link.valid-elsewhere", methods=("link",), kinds=(ClientKind.BROWSER,))
def link_valid_elsewhere(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    flow, mail = s.sent(s.client(ClientKind.NATIVE), identity)
    s.prove(s.client(kind), flow, mail)
    s.address_state(identity)


@case("link.used", methods=("link",))
def link_used(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.prove(client, flow, mail)
    s.prove(client, flow, mail)


@case("link.unknown", methods=("link",))
def link_unknown(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    link = str(mail.verification_link)
    token = str(mail.token)
    ex = client.open(link.replace(f"token={token}", "token=" + "Z" * 32))
    s.outcome(client, ex)
    s.address_state(identity)


@case("link.other-flow", methods=("link",))
def link_other_flow(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    _, first = s.sent(client, identity)
    flow, _ = s.sent(client, identity)
    ex = client.open(str(first.verification_link).replace(f"flow={first.flow_id}", f"flow={flow.id}"))
    s.outcome(client, ex)


@case("link.replay-email", methods=("link",))
def link_replay_email(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity)
    s.prove(client, flow, mail)
    s.submit(client, flow, s.email_body(flow, identity.email))


@case("link.expired", methods=("link",))
def link_expired(s: Script, kind: ClientKind) -> Iterator[Wait]:
    identity = s.identity()
    client = s.client(kind)
    made_at = time.monotonic()
    flow, mail = s.sent(client, identity)
    yield s.until_challenge_expired(flow, made_at, time.monotonic())
    s.prove(client, flow, mail)
    s.address_state(identity)


# --- expiry and return_to -------------------------------------------------------------------------------------------

@case("expiry.get")
def expiry_get(s: Script, kind: ClientKind) -> Iterator[Wait]:
    client = s.client(kind)
    made_at = time.monotonic()
    flow = s.start(client)
    yield s.until_flow_expired(flow, made_at)
    client.get_flow(flow.id)
    if kind is not ClientKind.NATIVE:
        s.client(kind).get_flow(flow.id)


@case("expiry.post")
def expiry_post(s: Script, kind: ClientKind) -> Iterator[Wait]:
    client = s.client(kind)
    made_at = time.monotonic()
    flow = s.start(client)
    yield s.until_flow_expired(flow, made_at)
    s.submit(client, flow, s.email_body(flow, s.address()))


@case("expiry.post-return-to")
def expiry_post_return_to(s: Script, kind: ClientKind) -> Iterator[Wait]:
    client = s.client(kind)
    made_at = time.monotonic()
    flow = s.start(client, return_to=s.setting.bases["return-to"])
    yield s.until_flow_expired(flow, made_at)
    s.submit(client, flow, s.email_body(flow, s.address()))


@case("return-to.continue")
def return_to_continue(s: Script, kind: ClientKind) -> None:
    identity = s.identity()
    client = s.client(kind)
    flow, mail = s.sent(client, identity, return_to=s.setting.bases["return-to"])
    s.prove(client, flow, mail)
