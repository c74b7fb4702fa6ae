"""What the suite knows about the server under test, built once from the options and checked up front."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

from kratos_conformance.errors import CannotJudge
from kratos_conformance.rules.profiles import Profile
from kratos_conformance.rules.response_rules import CookiePolicy, RedirectTargets
from kratos_conformance.wire.http_transport import new_transport

#: the public routes of the verification flow, relative to the public base URL.
BROWSER_INIT = "self-service/verification/browser"
API_INIT = "self-service/verification/api"
GET_FLOW = "self-service/verification/flows"
SUBMIT = "self-service/verification"


@dataclass(frozen=True)
class Target:
    """The server under test.

    ``public_url`` and ``admin_url`` always end with ``/`` and may carry a path prefix (``https://h/auth/``);
    every route is resolved relative to them, so a prefix is kept.
    """

    public_url: str
    admin_url: str | None
    admin_token: str | None
    profile: Profile
    wait_budget: float
    mail_timeout: float
    #: seconds a code or link token lives, when known (embedded target, or --challenge-lifespan).
    challenge_lifespan: float | None = None
    #: the verification UI browsers are sent to; None: not configured (checks look at the shape only).
    ui_url: str | None = None
    #: the error UI; None: not configured.
    error_ui_url: str | None = None
    #: a return_to URL on the target's allow-list; None: return_to scenarios skip.
    return_to: str | None = None
    #: set for the embedded reference target (which method it was started with), else None.
    reference_method: str | None = None
    #: the identity schema seeded identities use, and their traits (``{email}`` where the address goes).
    identity_schema: str = "default"
    identity_traits: Mapping[str, Any] = field(default_factory=lambda: {"email": "{email}"})
    #: whether the CSRF cookie must carry Secure (None: by the public URL's scheme, Kratos outside --dev mode).
    cookie_secure: bool | None = None
    #: the CSRF cookie's SameSite and Path as the server is configured (Kratos's cookies.same_site, cookies.path).
    cookie_same_site: str = "Lax"
    cookie_path: str = "/"
    #: how many code attempts a flow evaluates before it is replaced (Kratos's max_submissions).
    max_submissions: int = 5
    #: whether the server mails unknown addresses a notice (Kratos's notify_unknown_recipients).
    notify_unknown_recipients: bool = False
    #: seconds a flow lives (expires_at - issued_at of a new flow), when known.
    flow_lifespan: float | None = None
    #: how hard the race and timing scenarios press the server (off, low, default) and what they are held to.
    security_load: str = "default"
    #: the load's figures the user set over the preset's (None: as ``security_load`` says)
    race_size: int | None = None
    race_wrong_codes: int | None = None
    race_concurrency: int | None = None
    timing_samples: int | None = None
    guess_limit_per_flow: float = 1e-4
    guess_limit_per_hour: float | None = None
    timing_limit_ms: float = 25.0
    #: where each setting of the run came from (given, learned, default), for the report.
    settings: Mapping[str, Any] = field(default_factory=dict)

    def public(self, route: str, **query: str | None) -> str:
        """Absolute URL of a public ``route`` (e.g. ``self-service/verification/api``) with query parameters (a
        ``None`` value leaves its parameter out)."""
        url = urljoin(self.public_url, route)
        params = {k: v for k, v in query.items() if v is not None}
        return f"{url}?{urlencode(params)}" if params else url

    def admin(self, route: str) -> str:
        """Absolute URL of an admin ``route``; raises if no admin URL is configured."""
        if self.admin_url is None:
            raise CannotJudge("no --admin-url configured")
        return urljoin(self.admin_url, route)

    @property
    def has_admin(self) -> bool:
        return self.admin_url is not None

    @property
    def https(self) -> bool:
        """The public API is served over https."""
        return self.public_url.startswith("https")

    @property
    def secure_cookies(self) -> bool:
        """Whether the CSRF cookie must be Secure: as given or learned (``--cookie-secure``), else for an https
        public URL."""
        return self.https if self.cookie_secure is None else self.cookie_secure

    @cached_property
    def cookie_policy(self) -> CookiePolicy:
        """The attributes the CSRF cookie must have on this deployment (decided once: every answer is judged by it)."""
        return CookiePolicy(secure=self.secure_cookies, same_site=self.cookie_same_site, path=self.cookie_path,
                            learned=self.learned("cookie_secure") and not self.https)

    def with_learned_ui_urls(self, timeout: float = 5.0) -> Target:
        """This target with ``ui_url`` / ``error_ui_url`` filled in from where it really redirects browsers.

        Used when the options do not say: the browser init's 303 names the UI, a browser submission without a
        flow id names the error UI. What the target answers is judged later by the scenarios; this only fixes the
        baseline they compare every other redirect with.
        """
        headers = {"Accept": "text/html"}
        ui_url, error_ui_url = self.ui_url, self.error_ui_url
        with httpx.Client(transport=new_transport(), timeout=timeout, headers=headers,
                          follow_redirects=False) as client:
            if ui_url is None:
                ui_url = _redirected_to(client, "GET", self.public(BROWSER_INIT))
            if error_ui_url is None:
                error_ui_url = _redirected_to(client, "POST", self.public(SUBMIT),
                                              data={"method": "code", "email": "a@conformance.test"})
        learned = {name: {"value": value, "source": "learned"}
                   for name, value, before in (("ui_url", ui_url, self.ui_url),
                                               ("error_ui_url", error_ui_url, self.error_ui_url))
                   if before is None and value is not None}
        return replace(self, ui_url=ui_url, error_ui_url=error_ui_url, settings={**self.settings, **learned})

    def learned(self, setting: str) -> bool:
        """Whether ``setting`` (``ui_url``, ``error_ui_url``...) was learned from the target's own answers rather
        than given: a check against it shows the target is consistent, not that it matches its configuration."""
        entry = self.settings.get(setting)
        return isinstance(entry, Mapping) and entry.get("source") == "learned"

    def learned_as(self, setting: str) -> str:
        """How a check judged against ``setting`` names it: the setting, and where it was learned from when the
        report's ``<setting>_learned_from`` says (``method from a new flow's active``: a check of other flows'
        ``active`` against it shows only that flows agree; ``method from mail``)."""
        entry = self.settings.get(f"{setting}_learned_from")
        found = entry.get("value") if isinstance(entry, Mapping) else None
        return f"{setting} from {found}" if found else setting

    @property
    def known_method(self) -> str | None:
        """The verification method the target is known to use: the embedded target's own, else the one the
        preflight found (from its mail, or a new flow's ``active``); None when neither tells."""
        if self.reference_method is not None:
            return self.reference_method
        entry = self.settings.get("method")
        found = entry.get("value") if isinstance(entry, Mapping) else None
        return str(found) if found in ("code", "link") else None

    @property
    def redirect_targets(self) -> RedirectTargets:
        """Where the target may send clients (VER-RESP-LOCATION): its public API, UI, error UI and return_to."""
        return RedirectTargets(self.public_url, self.ui_url, self.error_ui_url, self.return_to)

    @cached_property
    def learned_for(self) -> dict[str, str]:
        """The requirements whose rule is judged against a value learned from the target's own answers, and what
        was learned (their checks say so, see :func:`~kratos_conformance.rules.checks.check_name`): redirects against UI
        URLs taken from its first redirects, the CSRF cookie against the ``Secure`` its first cookie had."""
        return {**({"VER-RESP-LOCATION": "UI URLs"} if self.ui_urls_learned else {}),
                **({"VER-INIT-CSRF-COOKIE": "cookie Secure"} if self.cookie_policy.learned else {})}

    @cached_property
    def shape_only_for(self) -> frozenset[str]:
        """The requirements whose rule can judge only a shape on this target: redirects, when the UI URLs are
        neither given nor learned."""
        return frozenset({"VER-RESP-LOCATION"} if not self.redirect_targets.known else ())

    @property
    def ui_urls_learned(self) -> bool:
        """A UI URL that redirects are judged against was learned from the target's own redirects (see
        :meth:`learned`)."""
        return self.learned("ui_url") or self.learned("error_ui_url")

    def check_reachable(self, timeout: float = 5.0) -> None:
        """Raise :class:`CannotJudge` (one line) if the public or admin API does not answer HTTP at all.

        Any HTTP answer counts as reachable: judging the answer is the suite's job, not this check's.
        """
        for label, url in (("target", self.public(API_INIT)), ("admin API", self.admin_url)):
            if url is None:
                continue
            try:
                httpx.get(url, timeout=timeout, headers={"Accept": "application/json"}, follow_redirects=False)
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                raise CannotJudge(f"{label} unreachable at {url}: {reason}") from None


def _redirected_to(client: httpx.Client, method: str, url: str, **kwargs: Any) -> str | None:
    """Where the answer to the request redirects, without its query; None when it does not say or cannot be read
    (no answer, a Location that is no URL): nothing is learned then, and the scenarios judge that redirect."""
    try:
        return _without_query(client.request(method, url, **kwargs).headers.get("location"))
    except (httpx.HTTPError, ValueError):
        return None


def _without_query(url: str | None) -> str | None:
    """``url`` without its query and fragment (None stays None)."""
    if not url:
        return None
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))
