"""The rules one response is held to, each written once.

The scenarios (through :mod:`~kratos_conformance.rules.checks`), the contract judge that sees every exchange
(:mod:`~kratos_conformance.rules.contract_judge`) and the fuzzer's checks (:mod:`~kratos_conformance.fuzzing`) all ask
these functions, so a rule cannot be stricter in one place than in another. Each answers with what is wrong, in
words, or with nothing when the response keeps the rule. Message ids and node layouts, which depend on the
release, are :mod:`~kratos_conformance.rules.ui_expectations`'s.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlsplit

from kratos_conformance.flows.flow_document import is_flow_document
from kratos_conformance.wire.media_types import media_type
from kratos_conformance.wire.query import query_param
from kratos_conformance.wire.redact import redact_url

# --- VER-RESP-NO-5XX ----------------------------------------------------------------------------------------

#: what a request that got no HTTP answer at all (a connection reset, an answer past the deadline, a mailed link
#: to a port nothing listens on) fails: an answer was due, and a server error is the least a client may expect.
NO_ANSWER_REQUIREMENT = "VER-RESP-NO-5XX"


# --- VER-RESP-NO-LEAK ----------------------------------------------------------------------------------------

#: stack traces of the languages identity servers are written in (Python, Go, Java)
LEAK_PATTERN = re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+|goroutine \d+ \[|panic: |'
                          r'\bat [\w.$]+\([\w]+\.java:\d+\)')


def leak(text: str, document: Any) -> str | None:
    """What a response body leaks (a stack trace, an ``error.debug`` member), or None.

    ``text`` is the body as text, ``document`` its parsed JSON (None when it is not JSON)."""
    m = LEAK_PATTERN.search(text)
    if m:
        return f"stack trace ({m.group(0)[:60]!r})"
    err = document.get("error") if isinstance(document, dict) else None
    if isinstance(err, dict) and "debug" in err:
        return "error.debug is present"
    return None


# --- which answers the rules below judge ----------------------------------------------------------------------

def is_flow_read(operation: str, status: int) -> bool:
    """The answer is a flow read (``getVerificationFlow`` answering 200): what VER-GET-CACHE-CONTROL judges."""
    return operation == "getVerificationFlow" and status == 200


# --- VER-GET-CACHE-CONTROL ----------------------------------------------------------------------------------

#: the directives Kratos marks a flow read with (``private, no-cache, no-store, must-revalidate``)
NO_CACHE_DIRECTIVES = ("private", "no-cache", "no-store", "must-revalidate")


def cache_control_problem(value: str | None) -> str | None:
    """Why a ``Cache-Control`` value lets a flow be cached (None when it has every directive of
    :data:`NO_CACHE_DIRECTIVES`, in any order, among any others)."""
    directives = {d.strip().lower() for d in (value or "").split(",") if d.strip()}
    missing = [d for d in NO_CACHE_DIRECTIVES if d not in directives]
    if not missing:
        return None
    return (f"Cache-Control {value or '(absent)'!r} lacks {', '.join(missing)} "
            f"(expected '{', '.join(NO_CACHE_DIRECTIVES)}')")


# --- VER-INIT-CSRF-COOKIE -----------------------------------------------------------------------------------

CSRF_COOKIE_NAME = re.compile(r"^csrf_token_[0-9a-f]{64}$")


#: how the name of every anti-CSRF cookie Kratos sets begins
CSRF_COOKIE_PREFIX = "csrf_token"


def is_csrf_cookie_name(name: str) -> bool:
    """A cookie of this name is an anti-CSRF cookie (``csrf_token...``)."""
    return name.strip().startswith(CSRF_COOKIE_PREFIX)


def is_csrf_cookie(set_cookie: str) -> bool:
    """The ``Set-Cookie`` value sets an anti-CSRF cookie (``csrf_token...``)."""
    return is_csrf_cookie_name(set_cookie.split("=", 1)[0])


def cookie_attributes(set_cookie: str) -> dict[str, str]:
    """The attributes of one ``Set-Cookie`` value, by lower-case name (a flag such as HttpOnly maps to "")."""
    attrs: dict[str, str] = {}
    for part in set_cookie.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key:
            attrs[key.lower()] = value.strip()
    return attrs


def cookie_shape(set_cookie: str) -> tuple[str, tuple[str, ...]]:
    """One ``Set-Cookie`` value without what differs on every answer: the cookie's name, and its attributes as
    lower-case ``name=value`` (or ``name``) strings, sorted, Expires (a moment) left out."""
    name = set_cookie.partition(";")[0].split("=", 1)[0].strip()
    attrs = sorted(f"{key}={value}".lower() if value else key for key, value in cookie_attributes(set_cookie).items()
                   if key != "expires")
    return name, tuple(attrs)


def server_error_problem(status: int) -> str | None:
    """Why an answer is a server error (any 5xx: the request, however wrong, broke the server), or None."""
    return f"server error {status}" if status >= 500 else None


@dataclass(frozen=True)
class CookiePolicy:
    """The CSRF cookie's attributes as the deployment is configured: Kratos's ``cookies.same_site`` (default Lax)
    and ``cookies.path`` (default ``/``), and whether it is Secure (Kratos: outside ``--dev`` mode; None: not
    judged). Kratos sends SameSite=Lax on a cookie that is not Secure, whatever is configured
    (x/nosurfx/nosurf.go, NosurfBaseCookieHandler), so without Secure Lax is right too."""

    secure: bool | None = None
    same_site: str = "Lax"
    path: str = "/"
    #: ``secure`` was learned from the server's own first CSRF cookie (``--cookie-secure learned`` on plain http):
    #: a check of it then shows the server is consistent, not that it matches its configuration
    learned: bool = False

    def problems(self, *, http_only: bool, path: str | None, same_site: str | None, secure: bool,
                 max_age: str | None = None) -> list[str]:
        """What is wrong with a CSRF cookie's attributes (empty when it keeps the policy). ``max_age`` None: not
        judged (a browser keeps an expiry, not the Max-Age it was given)."""
        problems = []
        if not http_only:
            problems.append("not HttpOnly")
        if path != self.path:
            problems.append(f"Path is {path!r}, not {self.path!r}")
        allowed = {self.same_site.lower()} | ({"lax"} if not secure else set())
        if (same_site or "").lower() not in allowed:
            problems.append(f"SameSite is {same_site!r}, not {' or '.join(sorted(a.title() for a in allowed))}")
        if max_age is not None and max_age != CSRF_COOKIE_MAX_AGE:
            problems.append(f"Max-Age is {max_age!r}, not {CSRF_COOKIE_MAX_AGE}")
        if self.secure is not None and secure != self.secure:
            if self.learned:
                problems.append(f"Secure {'missing' if self.secure else 'set'}, unlike the run's first CSRF cookie")
            else:
                problems.append("Secure missing" if self.secure else "Secure set on a plain-http deployment")
        return problems


#: nosurf's MaxAge (a year), which Kratos does not let a deployment change
CSRF_COOKIE_MAX_AGE = "31536000"
#: Kratos's defaults, Secure not judged
KRATOS_COOKIE_POLICY = CookiePolicy()


def csrf_cookie_problems(set_cookie: str, policy: CookiePolicy = KRATOS_COOKIE_POLICY) -> list[str]:
    """What is wrong with one CSRF ``Set-Cookie`` value (empty when it has Kratos's name, HttpOnly, Max-Age a year,
    and the deployment's ``policy`` for Path, SameSite and Secure)."""
    name = set_cookie.split("=", 1)[0].strip()
    attrs = cookie_attributes(set_cookie)
    problems = [] if CSRF_COOKIE_NAME.match(name) else [f"name {name!r} is not csrf_token_<sha256 hex>"]
    return problems + policy.problems(http_only="httponly" in attrs, path=attrs.get("path"),
                                      same_site=attrs.get("samesite"), secure="secure" in attrs,
                                      max_age=attrs.get("max-age"))


def stored_csrf_cookie_problems(cookie: Mapping[str, Any], policy: CookiePolicy = KRATOS_COOKIE_POLICY) -> list[str]:
    """What is wrong with the CSRF cookie as a browser stored it (a Playwright / CDP cookie: ``httpOnly``,
    ``path``, ``sameSite``, ``secure``)."""
    return policy.problems(http_only=cookie.get("httpOnly") is True, path=cookie.get("path"),
                           same_site=cookie.get("sameSite"), secure=cookie.get("secure") is True)


# --- VER-RESP-JSON-TYPE -------------------------------------------------------------------------------------

#: the media type of every JSON answer (Kratos's error JSON has no charset parameter)
JSON_MEDIA_TYPE = "application/json"
#: the Content-Type a flow is served with
FLOW_CONTENT_TYPE = "application/json; charset=utf-8"


def flow_content_type_problem(value: str | None) -> str | None:
    """Why a flow's ``Content-Type`` header is wrong (None when it is ``application/json; charset=utf-8``, the
    parameter's case and spacing aside)."""
    if value is not None and re.fullmatch(r"application/json;\s*charset=utf-8", value.strip(), re.IGNORECASE):
        return None
    return f"Content-Type is {value!r}, not {FLOW_CONTENT_TYPE!r}"


# --- VER-RESP-LOCATION --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RedirectTargets:
    """Where a server may send a client: its public API, its UI, its error UI, an allow-listed return_to."""

    public_url: str
    ui_url: str | None = None
    error_ui_url: str | None = None
    return_to: str | None = None

    @property
    def known(self) -> bool:
        """Both UIs are known, so a redirect elsewhere can be told apart from one to them."""
        return self.ui_url is not None and self.error_ui_url is not None


def under(location: str, prefix: str | None) -> bool:
    """``location`` is ``prefix`` or lies below it (``?``, ``#`` or ``/`` follows): ``https://ui.example/v``
    is not under ``https://ui.example/verification``, and ``https://app.example.com.evil`` is not under
    ``https://app.example.com``."""
    if not prefix or not location.startswith(prefix):
        return False
    rest = location[len(prefix):]
    return prefix.endswith("/") or rest == "" or rest[0] in "?#/"


def is_uuid(value: str) -> bool:
    """``value`` is a UUID (the ids of flows and errors; the contract's ``format: uuid``)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def error_id_problem(location: str) -> str | None:
    """Why a redirect to the error UI does not name the error the UI is to show (``?id=<uuid>``), or None."""
    value = query_param(location, "id") or ""
    return None if is_uuid(value) else f"the error UI Location carries no ?id=<uuid>: id={value!r}"


def is_absolute_http_url(url: str) -> bool:
    """``url`` is an absolute http(s) URL (what a redirect's Location must be when nothing else is known)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_redirect(status: int) -> bool:
    """The answer is a redirect (a 3xx): what VER-RESP-LOCATION judges."""
    return 300 <= status < 400


def one_location(locations: Sequence[str] | str | None) -> tuple[str, str | None]:
    """The one ``Location`` a redirect carries, and why not when it carries none or several (``""`` then)."""
    values = [locations] if isinstance(locations, str) else list(locations or [])
    if not values:
        return "", "a redirect without a Location header"
    if len(values) > 1:
        return "", f"a redirect with {len(values)} Location headers"
    return values[0], None


def location_problem(locations: Sequence[str] | str | None, targets: RedirectTargets) -> str | None:
    """Why a redirect's ``Location`` is not allowed (None when it points where the server may send clients).

    ``locations``: every ``Location`` header of the answer (or the one, or None). A redirect carries exactly one,
    an absolute http(s) URL under the public API's ``self-service/`` routes, the UI, the error UI or the return_to
    URL. When the UIs are not known only the shape is judged."""
    location, problem = one_location(locations)
    if problem:
        return problem
    if not is_absolute_http_url(location):
        return f"Location {redact_url(location)!r} is not an absolute http(s) URL"
    allowed = [targets.public_url + "self-service/", targets.ui_url, targets.error_ui_url, targets.return_to]
    if any(under(location, prefix) for prefix in allowed):
        return None
    if not targets.known:
        return None
    names = ", ".join(p for p in allowed if p)
    return f"Location {redact_url(location)!r} is none of the UI, the error UI or the public API ({names})"


# --- every rule at once ---------------------------------------------------------------------------------------

_COOKIE_SPLIT = re.compile(r",\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)")


class FlowRules(Protocol):
    """What a release's recordings say of a flow (:class:`~kratos_conformance.rules.ui_expectations.UiExpectations`)."""

    def message_problems(self, flow: Any) -> list[str]: ...
    def can_judge_layout(self, flow: Any) -> bool: ...
    def layout_problem(self, flow: Any) -> str | None: ...


@dataclass(frozen=True)
class Answer:
    """One response as the rules read it, whoever received it: a scenario's exchange or a fuzzed response."""

    #: the contract's operationId of the request (``METHOD path`` for anything else).
    operation: str
    status: int
    #: every header as received, in order (several of one name stay several).
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def values(self, name: str) -> list[str]:
        """Every value of a header (names compared without case)."""
        lower = name.lower()
        return [v for k, v in self.headers if k.lower() == lower]

    @property
    def set_cookies(self) -> list[str]:
        """Every Set-Cookie value, also when a client library folded several into one comma-separated header."""
        return [part for value in self.values("set-cookie") for part in _COOKIE_SPLIT.split(value)]

    @cached_property
    def document(self) -> Any:
        """The body parsed as JSON whatever its Content-Type (None when it does not parse), parsed once for every
        rule that reads it."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    @property
    def json_document(self) -> Any:
        """The body parsed as JSON when it is labelled JSON (None otherwise, or when it does not parse)."""
        return self.document if media_type(", ".join(self.values("content-type"))).endswith("json") else None

    @property
    def flow(self) -> dict[str, Any] | None:
        """The flow the body carries, whatever its Content-Type said (a server that labels flow JSON ``text/plain``
        still answered with a flow); None for anything else."""
        return self.document if is_flow_document(self.document) else None


def judge_answer(answer: Answer, *, targets: RedirectTargets | None, cookie_policy: CookiePolicy | None,
                 flow_rules: FlowRules | None, layouts: bool = True) -> dict[str, list[str]]:
    """Every rule of this module ``answer`` could break, by requirement id, with what it breaks (an empty list:
    judged, and kept); a requirement absent could not be judged on this answer (no body to leak from, no
    redirect, no flow read, no CSRF cookie, no flow). ``targets`` None: redirects are not judged; ``flow_rules``
    None: messages and layouts are not; ``layouts`` False: layouts are not (the fuzzer's answers). The contract
    judge and the fuzzer's checks both judge through here."""
    found: dict[str, list[str]] = {}
    if answer.body:  # an empty body (a HEAD, a bare redirect) cannot leak
        leaked = leak(answer.body.decode("utf-8", errors="replace"), answer.json_document)
        found["VER-RESP-NO-LEAK"] = [f"the body leaks internals: {leaked}"] if leaked else []
    if targets is not None and is_redirect(answer.status):
        problem = location_problem(answer.values("location"), targets)
        found["VER-RESP-LOCATION"] = [problem] if problem else []
    if is_flow_read(answer.operation, answer.status):
        problem = cache_control_problem(", ".join(answer.values("cache-control")) or None)
        found["VER-GET-CACHE-CONTROL"] = [problem] if problem else []
    cookies = [raw for raw in answer.set_cookies if is_csrf_cookie(raw)]
    if cookies:
        problems = [p for raw in cookies for p in csrf_cookie_problems(raw, cookie_policy or KRATOS_COOKIE_POLICY)]
        found["VER-INIT-CSRF-COOKIE"] = [f"CSRF cookie: {p}" for p in dict.fromkeys(problems)]
    flow = answer.flow
    if flow is not None:
        problem = flow_content_type_problem(", ".join(answer.values("content-type")) or None)
        found["VER-RESP-JSON-TYPE"] = [problem] if problem else []
        if flow_rules is not None:
            found["VER-RESP-MESSAGE-IDS"] = flow_rules.message_problems(flow)
            if layouts and flow_rules.can_judge_layout(flow):  # else no recorded layout to compare with
                layout = flow_rules.layout_problem(flow)
                found["VER-UI-LAYOUT"] = [layout] if layout else []
    return found
