"""Checks: small named conditions, each judging one thing against one requirement from the catalog.

A scenario calls a check with the requirement id it is verifying; the check either passes (and says so to the
listeners: that is how reports know a requirement was exercised) or raises :class:`RequirementFailure`, whose
message names the requirement and shows the redacted exchanges. Checks never print secrets: they show
:meth:`Exchange.render`, which is redacted at recording time. How a check's result is made and who hears it
(:func:`expect`, listeners, :func:`hold`, :func:`precondition`) is :mod:`.check_results`, re-exported here.

Every check takes its arguments in one order: what it judges, what that should be (or the target that says so),
then ``req``, then only the exchanges shown as evidence; options are keywords. So ``status(ex, 303, req)``,
``redirect_to_ui(ex, target, req)``, ``flow_state(f, "sent_email", req, ex)``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.mail import Inbox, Mail, MailNotReceived, MailSource, assert_no_mail
from kratos_conformance.rules.check_results import (
    AGAINST_LEARNED,
    KNOWN_DEFECT,
    MEASURE,
    SHAPE_ONLY,
    CheckListener,
    CheckResult,
    Measurement,
    RequirementFailure,
    add_check_listener,
    base_check_name,
    check_name,
    expect,
    expect_unless_known,
    for_its_own_sake,
    hold,
    measure,
    precondition,
    remove_check_listener,
    tell,
)
from kratos_conformance.rules.response_rules import (
    JSON_MEDIA_TYPE,
    CookiePolicy,
    cookie_attributes,
    csrf_cookie_problems,
    error_id_problem,
    is_absolute_http_url,
    is_csrf_cookie,
    is_redirect,
    one_location,
    under,
)
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.query import query_param

if TYPE_CHECKING:
    from kratos_conformance.run.target import Target


# --- status, headers, redirects ---------------------------------------------------------------------------------

def status(ex: Exchange, expected: int | Collection[int], req: str) -> None:
    """The response status is ``expected`` (or one of them)."""
    allowed = {expected} if isinstance(expected, int) else set(expected)
    expect(req, ex.status in allowed, f"expected status {_fmt(allowed)}, got {ex.status}", ex, name="status")


def redirect(ex: Exchange, to: str | None, req: str, *, query: dict[str, str] | None = None,
             learned: bool = False) -> str:
    """303 with a ``Location`` under ``to`` (:func:`response_rules.under`) carrying the ``query`` values; returns
    the Location.

    ``to`` None: the URL is unknown (not given, and the target's redirects did not show it), so only the shape
    is judged: an absolute http(s) Location, and the check's name says so. ``learned``: ``to`` was learned from the
    target's own redirects, which the detail and the check's name say (such a check shows consistency, not the
    configured URL)."""
    locations = ex.locations
    location, _ = one_location(locations)  # a redirect carries exactly one Location
    shown = f"{ex.status} Location {_redacted_location(ex)!r}" + (f" ({len(locations)} of them)"
                                                                  if len(locations) > 1 else "")
    if to is None:
        ok = ex.status == 303 and is_absolute_http_url(location)
        detail = f"expected a 303 to an absolute URL (the UI URL is unknown: only the shape is judged), got {shown}"
    else:
        ok = ex.status == 303 and under(location, to)
        note = " (learned from the target's first redirects)" if learned else ""
        detail = f"expected 303 to {to}...{note}, got {shown}"
    if ok and query:
        got = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        missing = {k: v for k, v in query.items() if got.get(k) != v}
        ok = not missing
        detail = f"Location lacks query values {sorted(missing)}" if missing else detail
    expect(req, ok, detail, ex, name=check_name("redirect", learned=learned, shape_only=to is None))
    return location


def json_body(ex: Exchange, req: str) -> Any:
    """The response is JSON (``application/json``) and parses; returns the document."""
    try:
        doc = ex.json()
    except ValueError:
        doc = None
    expect(req, ex.content_type == JSON_MEDIA_TYPE and doc is not None,
           f"expected a JSON body ({JSON_MEDIA_TYPE}), got {ex.content_type or 'no content type'}", ex,
           name="json_body")
    return doc


def header(ex: Exchange, name: str, req: str, *, equals: str | None = None, absent: bool = False) -> None:
    """A response header is present (with exactly ``equals`` if given), or ``absent``."""
    value = ex.header(name)
    if absent:
        expect(req, value is None, f"expected no {name} header, got one", ex, name="header_absent")
    elif equals is not None:
        expect(req, value == equals, f"expected {name}: {equals!r}, got {value!r}", ex, name="header_equals")
    else:
        expect(req, value is not None, f"expected a {name} header", ex, name="header_present")


def no_csrf_cookie(ex: Exchange, req: str) -> None:
    """No ``csrf_token_*`` cookie is set by the response."""
    names = [c.split("=", 1)[0].strip() for c in ex.set_cookies]
    expect(req, not any(is_csrf_cookie(c) for c in ex.set_cookies), f"unexpected Set-Cookie {names}", ex,
           name="no_csrf_cookie")


def csrf_cookie(ex: Exchange, policy: CookiePolicy, req: str) -> dict[str, str]:
    """The response sets the CSRF cookie with the attributes Kratos gives it under the deployment's ``policy``;
    returns its attributes."""
    for raw in ex.set_cookies:
        if is_csrf_cookie(raw):
            problems = csrf_cookie_problems(raw, policy)
            expect(req, not problems, "CSRF cookie: " + ("; ".join(problems) or "ok"), ex,
                   name=check_name("csrf_cookie", learned=policy.learned, what="cookie Secure"))
            return cookie_attributes(raw)
    expect(req, False, "no csrf_token_* cookie was set", ex, name="csrf_cookie")
    return {}


# --- flows ------------------------------------------------------------------------------------------------------

def flow(ex: Exchange, req: str, *, type: str | None = None, state: str | None = None) -> Flow:
    """The response is a verification flow (JSON with id, type, state, ui), of ``type`` and in ``state``."""
    doc = json_body(ex, req)
    ok = isinstance(doc, dict) and all(k in doc for k in ("id", "type", "state", "ui"))
    expect(req, ok, "expected a verification flow (id, type, state, ui)", ex, name="flow")
    f = Flow(doc)
    if type is not None:
        flow_type(f, type, req, ex)
    if state is not None:
        flow_state(f, state, req, ex)
    return f


def came_back(f: Flow | None, req: str, ex: Exchange) -> Flow:
    """The flow a request led to (the one in its body, or the one its redirect points at); ``req`` fails when none
    came back."""
    expect(req, f is not None, "no flow came back", ex, name="flow_came_back")
    return cast(Flow, f)


def flow_kept(f: Flow | None, flow_id: str, req: str, ex: Exchange) -> Flow:
    """The flow a request led to is ``flow_id`` itself, not a new one put in its place; returns it."""
    expect(req, f is not None and f.id == flow_id,
           f"flow {flow_id} was replaced by {f.id if f is not None else 'no flow'}", ex, name="flow_kept")
    return cast(Flow, f)


def return_to_kept(f: Flow, return_to: str, req: str, ex: Exchange) -> None:
    """The flow carries the allow-listed ``return_to`` its first flow was started with."""
    got = f.data.get("return_to")
    expect(req, got == return_to, f"return_to is {got!r}, want {return_to}", ex, name="return_to_kept")


def flow_type(f: Flow, type: str, req: str, ex: Exchange) -> None:
    """The flow is of ``type`` (``browser`` or ``api``)."""
    expect(req, f.type == type, f"expected flow type {type!r}, got {f.type!r}", ex, name="flow_type")


def new_flow_named(ex: Exchange, old_id: str, req: str, *, location: str | None = None) -> str:
    """The answer names a flow other than ``old_id`` to go on with: a redirect (or the ``location`` given) in its
    ``flow`` or ``id`` query parameter, any other answer as ``use_flow_id`` in its JSON body. Returns that id."""
    if location is not None or is_redirect(ex.status):
        where = location if location is not None else ex.location
        new_id = query_param(where, "flow") or query_param(where, "id") or ""
    else:
        try:
            doc = ex.json()
        except ValueError:
            doc = None
        new_id = str(doc.get("use_flow_id") or "") if isinstance(doc, dict) else ""
    expect(req, bool(new_id) and new_id != old_id,
           f"the answer names no new flow to go on with ({'the old one, ' + old_id if new_id else 'none'})", ex,
           name="new_flow_named")
    return new_id


def flow_state(f: Flow, state: str, req: str, ex: Exchange) -> None:
    """The flow is in ``state``."""
    expect(req, f.state == state, f"expected state {state!r}, got {f.state!r}", ex, name="flow_state")


def flow_messages(f: Flow, ids: Iterable[int], req: str, ex: Exchange, *, name: str = "flow_messages") -> None:
    """The flow's ``ui.messages`` are exactly ``ids`` (order kept); ``name``: what the check reports under (see
    :func:`check_name`, for ids chosen by a learned setting)."""
    want = list(ids)
    expect(req, f.message_ids == want, f"expected ui.messages {want}, got {f.message_ids}", ex, name=name)


def node_message(f: Flow, node_name: str, message_id: int, req: str, ex: Exchange, *,
                 name: str = "node_message") -> None:
    """The node named ``node_name`` carries message ``message_id``."""
    got = [m for n in f.nodes_named(node_name) for m in n.message_ids]
    expect(req, message_id in got, f"expected message {message_id} on node {node_name!r}, got {got}", ex, name=name)


def redirect_to_ui(ex: Exchange, target: Target, req: str, *, query: dict[str, str] | None = None) -> str:
    """:func:`redirect` to the target's verification UI (as given, or learned from its redirects); the Location."""
    return redirect(ex, target.ui_url, req, query=query, learned=target.learned("ui_url"))


def redirect_to_error_ui(ex: Exchange, target: Target, req: str) -> str:
    """:func:`redirect` to the target's error UI (as given, or learned from its redirects); the Location."""
    return redirect(ex, target.error_ui_url, req, learned=target.learned("error_ui_url"))


def redirect_to_error_ui_with_id(ex: Exchange, target: Target, req: str) -> str:
    """:func:`redirect_to_error_ui` (judged under ``req``) naming the error the UI is to show (``?id=``, a uuid)
    (judged under VER-SUBMIT-ERROR-UI-ID); the Location."""
    location = redirect_to_error_ui(ex, target, req)
    problem = error_id_problem(location)
    expect("VER-SUBMIT-ERROR-UI-ID", problem is None, problem or "names its error", ex, name="error_ui_id")
    return location


def answered_with_flow(ex: Exchange, flow_id: str, req: str, *, wants_json: bool, target: Target,
                       json_status: int = 200) -> None:
    """A JSON client gets ``json_status`` with the flow; a browser is sent back to the target's UI with
    ``?flow=<flow_id>`` (:func:`redirect_to_ui`)."""
    if wants_json:
        status(ex, json_status, req)
    else:
        redirect_to_ui(ex, target, req, query={"flow": flow_id})


def _address(address: Any) -> str:
    return f"address verified={address.verified} status={address.status!r} verified_at={address.verified_at!r}"


def address_verified(address: Any, ex: Exchange, req: str) -> None:
    """A verifiable address read from the admin API is verified: verified true, status completed, verified_at set."""
    expect(req, bool(address.verified) and address.status == "completed" and bool(address.verified_at),
           _address(address), ex, name="address_verified")


def address_not_verified(address: Any, ex: Exchange, req: str, *, after: str) -> None:
    """A verifiable address read from the admin API is still unverified ``after`` something that must not verify
    it (a wrong code, a HEAD, an unknown token...)."""
    expect(req, not address.verified, f"{after} verified the address: {_address(address)}", ex,
           name="address_not_verified")


def error(ex: Exchange, req: str, *, code: int, error_id: str | None = None) -> dict[str, Any]:
    """The body is an errorGeneric with ``error.code`` (and ``error.id``); returns the ``error`` object."""
    doc = json_body(ex, req)
    err = doc.get("error") if isinstance(doc, dict) else None
    ok = isinstance(err, dict) and err.get("code") == code and (error_id is None or err.get("id") == error_id)
    got = (err or {}).get("id"), (err or {}).get("code")
    want = f"error.code {code}" + (f" and error.id {error_id!r}" if error_id else "")
    expect(req, ok, f"expected {want}, got id/code {got}", ex, name="error")
    return dict(err or {})


#: the requirement a method's mail is judged under (the mail carries its code, or its link).
MAIL_REQUIREMENT = {"code": "VER-CODE-MAIL", "link": "VER-LINK-MAIL"}


def challenge_mail(mail: Mail, method: str, flow_id: str, target: Target) -> None:
    """The mail carries ``method``'s challenge for flow ``flow_id``: a 6-digit code (VER-CODE-MAIL), or a link on
    the public URL's verification route naming the flow, with a 32-character token (VER-LINK-MAIL)."""
    if method == "code":  # the code may be read from the link's code parameter alone: its length is judged too
        code = mail.code or ""
        expect("VER-CODE-MAIL", len(code) == 6 and code.isdigit(),
               f"mail {mail.subject!r} carries no 6-digit code" + (f" (its code has {len(code)} characters)"
                                                                    if code else ""), name="mail_code")
        return
    req = "VER-LINK-MAIL"
    link = mail.verification_link or ""
    expect(req, link.startswith(target.public("self-service/verification?")),
           f"the mail's verification link does not start with the public URL {target.public_url}", name="mail_link")
    expect(req, mail.flow_id == flow_id, f"the mailed link names flow {mail.flow_id!r}, not {flow_id!r}",
           name="mail_link_flow")
    expect(req, len(mail.token or "") == 32, "the mailed token is not 32 characters", name="mail_link_token")


def new_code_mailed(first: Mail, second: Mail, req: str) -> None:
    """A resend mailed a code, and not the one mailed before."""
    expect(req, second.code is not None and second.code != first.code,
           "the resend mailed no new code: " + ("the second mail carries none" if second.code is None
                                                else "the second mail carries the first code again"),
           name="new_code_mailed")


def mail_arrives(inbox: Inbox, address: str, req: str, *, wait: float, flow_id: str | None = None) -> Mail:
    """The next mail to ``address`` that may carry flow ``flow_id``'s challenge (see :class:`Inbox`); ``req``
    fails, saying what did arrive, when none comes within ``wait`` seconds. A mail arriving is no evidence that
    ``req`` holds (what it carries is): nothing is recorded as passed."""
    try:
        return inbox.next_mail(address, timeout=wait, flow_id=flow_id)
    except MailNotReceived as exc:
        expect(req, False, str(exc), name="mail")
        raise


def no_mail(source: MailSource, address: str, req: str, *, wait: float) -> None:
    """No mail reaches ``address`` within ``wait`` seconds."""
    try:
        assert_no_mail(source, address, wait=wait)
    except AssertionError as exc:
        expect(req, False, str(exc), name="no_mail")
    else:
        expect(req, True, f"no mail to {address} within {wait:g}s", name="no_mail")


def _fmt(values: Collection[int]) -> str:
    return " or ".join(str(v) for v in sorted(values))


def _redacted_location(ex: Exchange) -> str | None:
    for k, v in ex.response_headers:
        if k.lower() == "location":
            return v
    return None


__all__ = [
    "add_check_listener",
    "address_not_verified",
    "address_verified",
    "AGAINST_LEARNED",
    "answered_with_flow",
    "base_check_name",
    "came_back",
    "challenge_mail",
    "check_name",
    "CheckListener",
    "CheckResult",
    "csrf_cookie",
    "error",
    "expect",
    "expect_unless_known",
    "flow",
    "flow_messages",
    "flow_state",
    "for_its_own_sake",
    "header",
    "hold",
    "json_body",
    "KNOWN_DEFECT",
    "mail_arrives",
    "MAIL_REQUIREMENT",
    "measure",
    "MEASURE",
    "Measurement",
    "no_csrf_cookie",
    "no_mail",
    "node_message",
    "precondition",
    "redirect",
    "redirect_to_error_ui",
    "redirect_to_error_ui_with_id",
    "redirect_to_ui",
    "remove_check_listener",
    "RequirementFailure",
    "SHAPE_ONLY",
    "status",
    "tell",
]
