"""Before any scenario: can the suite judge this server at all?

A healthy server must never be failed for the suite's setup. :func:`preflight` asks a deployed server the questions
every scenario depends on, in a few seconds, and ends the run (:class:`CannotJudge`, exit code 2) with one line
naming the fix as soon as one has the wrong answer:

1. the public API answers the verification API (a new API flow)             -> check ``--public-url``;
2. the server's own base URL (its flows' ``ui.action``) is ``--public-url``  -> use the server's own URL;
3. the admin API answers and accepts the token                             -> ``--admin-url``, ``--admin-token``;
4. the identity schema marks an email trait for verification, and the admin API creates an identity with a
   verifiable address from the traits template                   -> ``--identity-schema``, ``--identity-traits``;
5. a verification mail for that identity reaches the mail source -> where the server's courier sends;
6. a given code/link lifespan fits the wait budget and, when it is short, the mailed code or link no longer
   verifies once it is over         -> ``--wait-budget``, the real lifespan, or no ``--challenge-lifespan``;
7. when the browser walks run: the server sends browsers to a verification UI that answers, or to the one
   ``--serve-ui`` serves                  -> start the UI, ``--serve-ui``, or the server's ``ui_url``.

What it finds is returned as :class:`Findings`: the identity schema and traits template the scenarios seed
identities with, the flow lifespan, how long the mail took, and each setting with where its value came from
(``given``, ``learned`` or ``default``), which the report shows. The preflight identity is deleted again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from kratos_conformance.errors import CannotJudge, first_line
from kratos_conformance.flows.admin_api import EMAIL_PLACEHOLDER, parse_traits_template, traits_for
from kratos_conformance.flows.expiry_budget import expiry_plan
from kratos_conformance.flows.flow_document import Flow, is_flow_document
from kratos_conformance.mail import Mail, MailNotReceived, MailSource, SmtpSink, parse_mail_source, wait_for_mail
from kratos_conformance.rules.profiles import choose_profile
from kratos_conformance.rules.response_rules import cookie_attributes, is_csrf_cookie
from kratos_conformance.run.options import RunOptions
from kratos_conformance.run.target import API_INIT, BROWSER_INIT, SUBMIT
from kratos_conformance.wire.clients import cookieless_jar, request_within
from kratos_conformance.wire.http_transport import new_transport
from kratos_conformance.wire.redact import redact_url

#: the longest the preflight waits for its mail unless ``--mail-timeout`` is given (the whole preflight must end
#: within seconds; a courier known to be slower is waited for as long as the option says).
MAIL_WAIT = 7.0
#: a given code/link lifespan is cross-checked when it ends within this many seconds of asking for the mail (so the
#: whole preflight, a failing cross-check included, ends within 10 s)
CHALLENGE_WAIT = 7.0
#: seconds after a lifespan's end before a code or link counts as expired (clock rounding on the server)
CHALLENGE_MARGIN = 0.6
#: how long one HTTP request of the preflight may take.
TIMEOUT = 5.0
#: seconds one whole answer may take during the preflight
DEADLINE = TIMEOUT + 3
#: where the identity schemas are listed (Kratos serves them on the public API).
SCHEMAS = "schemas"
#: where a method was learned when no mail told it (``method_learned_from``): checks of other flows' ``active``
#: against it show only that flows agree, and say so in their names.
ACTIVE = "a new flow's active"


@dataclass(frozen=True)
class Setting:
    """A setting the run depends on and where its value came from: ``given``, ``learned`` or ``default``."""

    value: Any
    source: str


@dataclass
class Findings:
    """What the preflight found out; travels to the pytest run as JSON (:meth:`to_json`)."""

    identity_schema: str
    identity_traits: dict[str, Any]
    flow_lifespan: float | None
    mail_seconds: float | None
    settings: dict[str, Setting] = field(default_factory=dict)
    #: the method the mailed challenge shows (a token link: link, a code: code); without a mail round trip, a new
    #: flow's ``active`` (judging other flows' ``active`` against it shows only that they agree); None if neither.
    method: str | None = None

    @property
    def release(self) -> str | None:
        """The release the server's admin API names (``admin/version``), if it names one."""
        found = self.settings.get("release")
        return str(found.value) if found is not None else None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Findings:
        doc = json.loads(text)
        doc["settings"] = {k: Setting(**v) for k, v in doc.get("settings", {}).items()}
        return cls(**doc)

    def report(self) -> dict[str, dict[str, Any]]:
        """The settings as the report shows them: name -> {value, source}."""
        return {name: {"value": s.value, "source": s.source} for name, s in sorted(self.settings.items())}


def mail_method(mail: Mail) -> str | None:
    """The verification method a mail shows: ``link`` for a link with a ``token``, ``code`` for a six-digit code
    (what the flows' ``active`` is then judged against: it is not learned from ``active`` itself)."""
    if mail.link_param("token"):
        return "link"
    return "code" if mail.code else None


def verifiable_email_traits(schema: Any) -> list[str]:
    """The traits an identity schema marks for verification by email (``ory.sh/kratos`` / ``verification.via``)."""
    traits = ((schema or {}).get("properties") or {}).get("traits") or {}
    found = []
    for name, prop in (traits.get("properties") or {}).items():
        via = (((prop or {}).get("ory.sh/kratos") or {}).get("verification") or {}).get("via")
        if via == "email":
            found.append(name)
    return found


class _Preflight:
    def __init__(self, options: RunOptions, mail: MailSource, say: Callable[[str], None]) -> None:
        assert options.public_url is not None
        self.options = options
        self.public = options.public_url
        self.mail = mail
        self.say = say
        headers = {"Accept": "application/json", "User-Agent": "kratos-conformance (preflight)"}
        # a native app's manners: Kratos sets a CSRF cookie on any public GET (its schemas too), and an API flow
        # refuses a submission that carries a cookie
        self.http = httpx.Client(transport=new_transport(), timeout=TIMEOUT, headers=headers, follow_redirects=False,
                                 cookies=cookieless_jar())
        admin_headers = dict(headers)
        if options.admin_token:
            admin_headers["Authorization"] = f"Bearer {options.admin_token}"
        self.admin = httpx.Client(transport=new_transport(), timeout=TIMEOUT, headers=admin_headers,
                                  follow_redirects=False, cookies=cookieless_jar())
        self.settings: dict[str, Setting] = {}
        #: the request whose answer is being read (named when that answer cannot be read)
        self.last = ""

    def get(self, client: httpx.Client, url: str, what: str, **kwargs: Any) -> httpx.Response:
        method = kwargs.pop("method", "GET")
        self.last = f"{method} {redact_url(url)}"
        try:
            return request_within(client, method, url, deadline=DEADLINE, **kwargs)
        except httpx.HTTPError as exc:
            option = "--admin-url" if what == "admin API" else "--public-url"
            raise CannotJudge(f"{what} unreachable at {url}: {str(exc) or type(exc).__name__}: is the server "
                              f"listening there? (check {option})") from None

    # -- 1, 2: the public API and its idea of its base URL ----------------------------------------------------
    def public_api(self) -> Flow:
        url = self.public + API_INIT
        answer = self.get(self.http, url, "target")
        try:
            doc = answer.json()
        except ValueError:
            doc = None
        if answer.status_code != 200 or not isinstance(doc, dict) or "ui" not in doc:
            raise CannotJudge(f"the server at --public-url {self.public} does not serve the verification API (GET "
                              f"{API_INIT} answered {answer.status_code}): give the public API's base URL, with its "
                              "path prefix if it has one")
        flow = Flow(doc)
        action = str(flow.ui.get("action") or "")
        if not action.startswith(self.public + SUBMIT):
            own = action.split(SUBMIT)[0] if SUBMIT in action else action
            raise CannotJudge(f"the server calls itself {own or '(no ui.action)'} (its flows' ui.action), not "
                              f"--public-url {self.public}: give --public-url exactly as the server's base URL")
        lifespan = flow.lifespan
        self.settings["flow_lifespan"] = Setting(lifespan, "learned")
        return flow

    def cookie_secure(self) -> None:
        """Whether the server sends its CSRF cookie Secure (Kratos: outside ``--dev``, unless ``cookies.secure``
        says otherwise), learned from a new browser flow's ``Set-Cookie`` when ``--cookie-secure learned`` leaves it
        to the server: every CSRF cookie of the run is then held to it. Without a CSRF cookie nothing is learned
        (the scenarios judge that answer)."""
        if self.options.cookie_secure != "learned":
            return
        answer = self.get(self.http, self.public + BROWSER_INIT, "target", headers={"Accept": "application/json"})
        sent = [raw for raw in answer.headers.get_list("set-cookie") if is_csrf_cookie(raw)]
        if sent:
            self.settings["cookie_secure"] = Setting("secure" in cookie_attributes(sent[0]), "learned")

    # -- 3: the admin API --------------------------------------------------------------------------------------
    @property
    def admin_base(self) -> str:
        """The admin API's base URL (the admin steps run only when ``--admin-url`` is given)."""
        if self.options.admin_url is None:
            raise CannotJudge("no --admin-url configured")
        return self.options.admin_url

    def admin_api(self) -> None:
        url = self.admin_base + "admin/identities"
        answer = self.get(self.admin, url, "admin API", params={"per_page": 1, "page_size": 1})
        if answer.status_code in (401, 403):
            fix = "check --admin-token" if self.options.admin_token else "give --admin-token"
            raise CannotJudge(f"the admin API at {self.options.admin_url} refused the suite ({answer.status_code}): "
                              f"{fix}")
        if answer.status_code != 200:
            raise CannotJudge(f"no admin API at --admin-url {self.options.admin_url} (GET admin/identities "
                              f"answered {answer.status_code}): give the admin API's base URL")

    def release(self) -> str | None:
        """The release the admin API names (Kratos answers ``admin/version`` with ``{"version": "v26.2.0"}``;
        ``master`` from a build without its version stamped); None when it names none. Never ends the run."""
        answer = self.get(self.admin, self.admin_base + "admin/version", "admin API")
        try:
            version = answer.json().get("version") if answer.status_code == 200 else None
        except (ValueError, AttributeError):
            version = None
        if not isinstance(version, str) or not version:
            return None
        self.settings["release"] = Setting(version, "learned")
        return version

    # -- 4: the identity schema and a test identity --------------------------------------------------------------
    def identity_template(self) -> tuple[str, dict[str, Any]]:
        given_schema, given_traits = self.options.identity_schema, parse_traits_template(self.options.identity_traits)
        schemas = self.listed_schemas()
        schema_id = given_schema or ("default" if schemas is None or "default" in schemas else None)
        if schema_id is None:  # the server lists its schemas, none of them named default
            listed = schemas or {}
            verifiable = [sid for sid, schema in listed.items() if verifiable_email_traits(schema)]
            if not verifiable:
                raise CannotJudge(f"none of the server's identity schemas ({', '.join(listed)}) marks an email "
                                  "trait for verification (\"ory.sh/kratos\": {\"verification\": {\"via\": "
                                  "\"email\"}}): the server mails no verification, so the suite cannot judge it")
            schema_id = verifiable[0]
        self.settings["identity_schema"] = Setting(schema_id, "given" if given_schema else
                                                   "learned" if schemas is not None else "default")
        if schemas is not None:
            if schema_id not in schemas:
                raise CannotJudge(f"the server has no identity schema {schema_id!r} (it has {', '.join(schemas)}): "
                                  "give --identity-schema")
            email_traits = verifiable_email_traits(schemas[schema_id])
            if not email_traits:
                raise CannotJudge(f"identity schema {schema_id!r} marks no email trait for verification (\"ory.sh/"
                                  "kratos\": {\"verification\": {\"via\": \"email\"}}): give --identity-schema "
                                  "naming one that does")
        else:
            email_traits = ["email"]
        traits = given_traits or {email_traits[0]: EMAIL_PLACEHOLDER}
        self.settings["identity_traits"] = Setting(traits, "given" if given_traits else
                                                   "learned" if schemas is not None else "default")
        return schema_id, traits

    def listed_schemas(self) -> dict[str, Any] | None:
        """The server's identity schemas by id, or None when it does not list them (not every server does)."""
        answer = self.get(self.http, self.public + SCHEMAS, "target")
        try:
            doc = answer.json()
        except ValueError:
            return None
        if answer.status_code != 200 or not isinstance(doc, list):
            return None
        return {str(s.get("id")): s.get("schema") for s in doc if isinstance(s, dict)}

    def test_identity(self, schema_id: str, template: dict[str, Any]) -> tuple[str, str]:
        """Create an identity with a verifiable address; returns its id and address."""
        address = f"preflight-{uuid.uuid4().hex[:12]}@conformance.test"
        body = {"schema_id": schema_id, "traits": traits_for(template, address)}
        answer = self.get(self.admin, self.admin_base + "admin/identities", "admin API", method="POST", json=body)
        if answer.status_code != 201:
            reason = _error_reason(answer)
            raise CannotJudge(f"the admin API refused a test identity of schema {schema_id!r} with traits "
                              f"{json.dumps(body['traits'])} ({answer.status_code}: {reason}): give --identity-schema "
                              "and --identity-traits that the server's identity schema accepts")
        doc = answer.json()
        addresses = [a.get("value") for a in doc.get("verifiable_addresses") or []]
        if address not in addresses:
            self.delete_identity(str(doc.get("id")))
            raise CannotJudge(f"a test identity of schema {schema_id!r} got no verifiable address {address} (it has "
                              f"{addresses}): the schema must mark the traits' email for verification by email")
        return str(doc["id"]), address

    def delete_identity(self, identity_id: str) -> None:
        try:
            self.admin.delete(self.admin_base + f"admin/identities/{identity_id}")
        except httpx.HTTPError:
            pass  # only tidying up

    # -- 5: a mail round trip ------------------------------------------------------------------------------------
    def mail_round_trip(self, address: str) -> tuple[Flow, Mail, float, float]:
        """Ask for a verification of ``address``; the flow, the mail, when it was asked for and how long it took."""
        started = time.monotonic()
        flow = Flow(self.get(self.http, self.public + API_INIT, "target").json())
        body = {"method": flow.active if flow.active in ("code", "link") else "code", "email": address}
        answer = self.get(self.http, self.public + SUBMIT, "target", method="POST", params={"flow": flow.id},
                          json=body)
        given = "mail_timeout" in self.options.given
        wait = self.options.mail_timeout if given else min(self.options.mail_timeout, MAIL_WAIT)
        asked = _flow_id(answer) or flow.id  # the flow the submission went on with
        try:  # the identity is new: its first mail holding a challenge is that flow's (not a welcome mail)
            mail = wait_for_mail(self.mail, address, timeout=wait, match=lambda m: m.holds_a_challenge)
        except MailNotReceived:
            longer = "" if given else f" (a courier slower than {wait:g}s: give --mail-timeout SECONDS)"
            raise CannotJudge(f"no verification mail for a test identity reached {self.mail.name} within {wait:g}s"
                              f"{longer}: {_where_mail_goes(self.options)}") from None
        if mail.flow_id is not None and mail.flow_id != asked:
            raise CannotJudge(f"the verification mail for flow {asked} names flow {mail.flow_id} in its link: the "
                              "suite reads each flow's mail by the flow its link names, so the server's verification "
                              "link must carry the flow it was sent for")
        return flow, mail, started, time.monotonic() - started

    def challenge_outlived(self, flow: Flow, mail: Mail, asked_at: float) -> str | None:
        """A given code/link lifespan short enough to wait for is cross-checked: once it is over, the mailed code
        or link must no longer verify (it would make the expired-code scenarios fail a healthy server). Returns
        why a given lifespan was taken as given, not cross-checked (None: checked, or none given)."""
        given = self.options.challenge_lifespan
        if given is None:
            return None
        self.settings["challenge_lifespan_cross_checked"] = Setting(False, "default")
        until = asked_at + given + CHALLENGE_MARGIN
        if until - asked_at > CHALLENGE_WAIT:
            return f"longer than the {CHALLENGE_WAIT - CHALLENGE_MARGIN:g}s the preflight waits"
        if (flow.lifespan or 0) < given + 2:
            return "the flow would expire with it, and an expired flow tells nothing of the code's lifespan"
        time.sleep(max(0.0, until - time.monotonic()))
        if mail.code and flow.active == "code":
            answer = self.get(self.http, self.public + SUBMIT, "target", method="POST", params={"flow": flow.id},
                              json={"method": "code", "code": mail.code})
        elif mail.verification_link:
            answer = self.get(self.http, mail.verification_link, "target")
        else:
            return "the mail carried neither a code for a code flow nor a link"
        try:
            state = answer.json().get("state") if answer.status_code == 200 else None
        except (ValueError, AttributeError):
            state = None
        if state == "passed_challenge":
            raise CannotJudge(f"the mailed {'code' if mail.code else 'link'} still verified "
                              f"{time.monotonic() - asked_at:.1f}s after it was sent: the server's codes and links "
                              f"live longer than --challenge-lifespan {given:g}: give their real lifespan (Kratos: "
                              "selfservice.methods.code/link.config.lifespan) or leave the option out")
        self.settings["challenge_lifespan_cross_checked"] = Setting(True, "learned")
        return None

    # -- 6: lifespans ------------------------------------------------------------------------------------------
    def lifespans(self) -> None:
        given = self.options.challenge_lifespan
        if given is not None and given > self.options.wait_budget:
            raise CannotJudge(f"--challenge-lifespan {given:g}s exceeds --wait-budget {self.options.wait_budget:g}s: "
                              f"raise --wait-budget to at least {given + 5:g}, or leave --challenge-lifespan out to "
                              "skip the expired-code scenarios")
        self.settings["challenge_lifespan"] = Setting(given, "given" if given is not None else "default")

    # -- 7: the verification UI the browser walks open ---------------------------------------------------------
    def verification_ui(self) -> None:
        """The UI a browser flow's redirect leads to answers (or is the one ``--serve-ui`` will serve). A browser
        init that does not redirect is left to the scenarios to judge: that is the server's answer, not setup."""
        init = self.get(self.http, self.public + BROWSER_INIT, "target", headers={"Accept": "text/html"})
        location = init.headers.get("location")
        if init.status_code not in (302, 303) or not location:
            return
        page = urljoin(self.public, location)
        where = _without_query(page)
        served_pair = self.options.served_ui_urls
        served = served_pair[0] if served_pair else None
        if served is not None and self.options.ui_url is None:
            if where != served:
                raise CannotJudge(f"the server sends browsers to {where} (its verification ui_url), not to the UI "
                                  f"--serve-ui {self.options.serve_ui} serves at {served}: set the server's ui_url "
                                  "to it, or --serve-ui to the address ui_url names")
            same_site = self.options.cookie_same_site
            if urlsplit(self.public).scheme == "https" and urlsplit(served).scheme == "http" and same_site != "none":
                # schemeful same-site: an http page and an https API are two sites to a browser
                raise CannotJudge(f"--serve-ui serves its page over http and the server's public API is https: a "
                                  f"browser takes them for two sites and sends no SameSite={same_site.capitalize()} "
                                  "CSRF cookie with a form posted from the page, so every browser walk would fail "
                                  "CSRF; serve it over https (--serve-ui-tls CERT,KEY, and the server's ui_url on "
                                  "https), or leave the browser suite out (--suite scenarios,fuzz,security)")
            return  # served by this run once the preflight has passed
        cookies = "; ".join(f"{name}={value}" for name, value in init.cookies.items())
        self.last = f"GET {redact_url(page)}"
        try:
            answer = request_within(self.http, "GET", page, deadline=DEADLINE,
                                    headers={"Accept": "text/html", **({"Cookie": cookies} if cookies else {})})
        except httpx.HTTPError as exc:
            raise CannotJudge(f"the verification UI at {where} (where the server sends browsers) does not answer "
                              f"({str(exc) or type(exc).__name__}): start it, or give --serve-ui HOST:PORT for that "
                              "address to have the suite serve one") from None
        if answer.status_code >= 400:
            raise CannotJudge(f"the verification UI at {where} (where the server sends browsers) answered "
                              f"{answer.status_code}: start the UI there, or give --serve-ui HOST:PORT for that "
                              "address to have the suite serve one")

    def close(self) -> None:
        self.http.close()
        self.admin.close()


def preflight(options: RunOptions, mail: MailSource, *, say: Callable[[str], None] = lambda _: None,
              browser: bool = False) -> Findings:
    """Run the preflight against the deployed server the options name (``browser``: the browser walks will run);
    CannotJudge (one line) on the first problem."""
    check = _Preflight(options, mail, say)
    started = time.monotonic()
    try:
        check.lifespans()
        flow = check.public_api()
        check.cookie_secure()
        if browser:
            check.verification_ui()
        schema_id, traits, seconds, method = "default", {"email": EMAIL_PLACEHOLDER}, None, None
        unchecked: str | None = "no --admin-url: no seeded address to mail a code to"
        release = None
        if options.admin_url:
            check.admin_api()
            release = check.release()
            schema_id, traits = check.identity_template()
            identity_id, address = check.test_identity(schema_id, traits)
            try:
                flow_asked, mail_got, asked_at, seconds = check.mail_round_trip(address)
                method = mail_method(mail_got)
                check.settings["method"] = Setting(method, "learned")
                check.settings["method_learned_from"] = Setting("mail", "learned")
                unchecked = check.challenge_outlived(flow_asked, mail_got, asked_at)
            finally:
                check.delete_identity(identity_id)
        else:
            say("preflight: no --admin-url: the mail round trip and the scenarios that need a known address are "
                "skipped")
            if flow.active in ("code", "link"):  # no mail to tell: the new flow's own word, marked as such
                method = flow.active
                check.settings["method"] = Setting(method, "learned")
                check.settings["method_learned_from"] = Setting(ACTIVE, "learned")
        findings = Findings(schema_id, traits, flow.lifespan, seconds, check.settings, method)
        lifespan = f"{flow.lifespan:g}s" if flow.lifespan is not None else "unknown"
        mail_line = f", a verification mail arrived in {seconds:.1f}s via {mail.name}" if seconds is not None else ""
        say(f"preflight: {options.public_url} answers as itself, flow lifespan {lifespan}, identity schema "
            f"{schema_id!r}{mail_line} (preflight {time.monotonic() - started:.1f}s)")
        plan = expiry_plan(options.challenge_lifespan, flow.lifespan, options.wait_budget,
                           has_admin=options.admin_url is not None)
        if unchecked and options.challenge_lifespan is not None:
            plan += f"; --challenge-lifespan {options.challenge_lifespan:g}s taken as given, not cross-checked: " \
                    f"{unchecked}"
        say(f"preflight: {plan}")
        say(f"preflight: {choose_profile(options.profile, release, options.known_defects).line}")
        return findings
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        raise CannotJudge(f"the answer to {check.last or 'a request'} is not one a Kratos-compatible API gives "
                          f"({type(exc).__name__}: {first_line(exc, 120)}): check that --public-url and --admin-url "
                          "are its public and admin APIs") from None
    finally:
        check.close()


def where_mail_is_read(options: RunOptions, mail: MailSource) -> str | None:
    """For the built-in SMTP sink with a deployed target, the line that says where it listens (or that it listens
    nowhere a courier knows, and so reads no mail); ``None`` for a mail catcher. Printed by every run that opens
    it: the command line's and a plain pytest run's."""
    if not isinstance(mail, SmtpSink):
        return None
    if parse_mail_source(options.mail_source).port:
        return f"the SMTP sink listens on {mail.host}:{mail.port} (where the server's courier sends)"
    return ("no mail is read: the built-in SMTP sink has no address the server's courier knows "
            "(--mail-source smtp-sink://HOST:PORT); the scenarios that read mail need --admin-url too")


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_reason(answer: httpx.Response) -> str:
    try:
        error = answer.json().get("error") or {}
    except (ValueError, AttributeError):
        return answer.text[:120] or "no body"
    return str(error.get("reason") or error.get("message") or "no reason given")[:200]


def _flow_id(answer: httpx.Response) -> str | None:
    """The id of the flow an answer carries, if it carries one."""
    try:
        doc = answer.json()
    except (ValueError, RecursionError):
        return None
    value = doc.get("id") if is_flow_document(doc) else None
    return value if isinstance(value, str) and value else None


def _where_mail_goes(options: RunOptions) -> str:
    source = options.mail_source
    if source.startswith("smtp-sink"):
        return (f"the server's courier must send to {source.removeprefix('smtp-sink://')} (courier.smtp.connection_uri"
                "; Kratos: serve --watch-courier)")
    return f"the server's courier must send to the mail catcher behind {source}, and the catcher must hold its mail"
