"""The three kinds of client a verification flow serves, each one httpx client with that kind's manners.

=========  ===========  ========================  =========  =================
kind       flow type    Accept                    cookies    default body
=========  ===========  ========================  =========  =================
native     api          application/json          none kept  application/json
browser    browser      text/html (a browser's)   kept       form-urlencoded
spa        browser      application/json          kept       application/json
=========  ===========  ========================  =========  =================

Every request goes through :meth:`Client.request`, which records a redacted :class:`Exchange`. Redirects are never
followed automatically: the 303s are part of the contract; :meth:`Client.follow` follows one on purpose.
"""

from __future__ import annotations

import http.cookiejar
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import httpx

from kratos_conformance.errors import CannotJudge, first_line
from kratos_conformance.run.target import API_INIT, BROWSER_INIT, GET_FLOW, SUBMIT, Target
from kratos_conformance.wire.curl import curl_line
from kratos_conformance.wire.exchanges import Exchange, Recorder, now
from kratos_conformance.wire.http_transport import new_transport
from kratos_conformance.wire.redact import redact_url

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JSON_ACCEPT = "application/json"


class ClientKind(str, Enum):
    NATIVE = "native"
    BROWSER = "browser"
    SPA = "spa"

    @property
    def flow_type(self) -> str:
        """The flow type this kind of client creates: ``api`` for native apps, ``browser`` otherwise."""
        return "api" if self is ClientKind.NATIVE else "browser"

    @property
    def wants_json(self) -> bool:
        """True if responses are negotiated to JSON (native and SPA), False for a plain browser."""
        return self is not ClientKind.BROWSER


def send(http: httpx.Client, recorder: Recorder, label: str, method: str, url: str, *, home: str | None = None,
         **kwargs: Any) -> Exchange:
    """Send one request with ``http``, record its redacted exchange under the client label, return it (``home``:
    see :func:`send_unrecorded`)."""
    exchange = send_unrecorded(http, label, method, url, home=home, **kwargs)
    recorder.record(exchange)
    return exchange


#: seconds before a request answered with a known transient defect of the release is sent once more.
TRANSIENT_PAUSE = 0.2
#: seconds a whole answer (headers and body) may take: the client's timeout bounds each read, and a body sent a
#: byte at a time would never trip it.
ANSWER_DEADLINE = 30.0


def send_unrecorded(http: httpx.Client, label: str, method: str, url: str, *, home: str | None = None,
                **kwargs: Any) -> Exchange:
    """Send one request with ``http`` and return its redacted exchange, timed; :func:`server_gone` when it got no
    answer and the server takes no more requests. Every request of the scenarios goes through here.

    ``home``: the base URL of the server the client talks to. A request elsewhere (a link the server mailed, to a
    host of its choosing) that gets no answer is the server's failure, never the server gone."""
    started = now()
    try:
        response = request_within(http, method, url, deadline=ANSWER_DEADLINE, **kwargs)
    except httpx.TransportError as exc:
        own = home is None or _origin(url) == _origin(home)
        if own and (isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) or unreachable(url)):
            raise server_gone(method, url, exc) from None
        raise NoAnswer(method, url, exc) from None  # the server is there: its failure, judged as one
    return Exchange.record(response, label, started, now() - started)


class NoAnswer(httpx.TransportError):
    """A request that got no HTTP answer (a dropped connection, an answer past :data:`ANSWER_DEADLINE`, a mailed
    link to a port nothing listens on) while the server itself still answers: the server's failure, which a
    scenario reports under :data:`~kratos_conformance.rules.response_rules.NO_ANSWER_REQUIREMENT`. Its message is a line
    naming the request (secrets redacted) and the reason, then the curl line that sends it again."""

    def __init__(self, method: str, url: str, cause: httpx.TransportError) -> None:
        lines = [f"{method} {redact_url(url)} got no HTTP answer ({_reason(cause)})"]
        try:
            sent = cause.request
            lines.append("reproduce (secrets redacted): "
                         + curl_line(sent.method, str(sent.url), sent.headers.multi_items(), sent.content))
        except (RuntimeError, httpx.RequestNotRead):  # no request kept, or a streamed body: the first line says it
            pass
        super().__init__("\n".join(lines))
        self.cause = cause


def request_within(http: httpx.Client, method: str, url: str, *, deadline: float, **kwargs: Any) -> httpx.Response:
    """``http.request(method, url, ...)`` read to its end, the whole answer due within ``deadline`` seconds (else
    :class:`httpx.ReadTimeout`); the cookies it sets are in the client's jar as usual."""
    started = time.monotonic()
    request = http.build_request(method, url, **kwargs)
    response = http.send(request, stream=True)
    try:
        raw = bytearray()
        for chunk in response.iter_raw():
            raw += chunk
            if time.monotonic() - started > deadline:
                raise httpx.ReadTimeout(f"the answer did not end within {deadline:g}s", request=request)
    finally:
        response.close()
    return httpx.Response(response.status_code, headers=response.headers, content=bytes(raw), request=request,
                          extensions=response.extensions)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def unreachable(url: str, timeout: float = 2.0) -> bool:
    """Whether the server at the URL's origin gives no HTTP answer (of any status) to a fresh connection now:
    asked after a request failed without an answer, to tell a server that is gone (or going: a dying process
    still accepts, then resets) from one that dropped this request."""
    parts = urlsplit(url)
    try:
        httpx.get(f"{parts.scheme}://{parts.netloc}/", timeout=timeout, follow_redirects=False)
    except httpx.HTTPError:
        return True
    return False


def server_gone(method: str, url: str, exc: BaseException) -> CannotJudge:
    """The run's end when a request failed and the server no longer takes connections (stopped, restarted, a
    network between), so what follows would judge nothing but its absence. A request that got no answer from a
    server still there is not this: that is the server's failure, judged as one."""
    return CannotJudge(f"the server stopped answering during the run: {method} {redact_url(url)} failed "
                       f"({_reason(exc)}) and it takes no connection; the results so far are in the reports")


def _reason(exc: BaseException) -> str:
    """Why a request failed, in a few words: the operating system's, else the error's own first line."""
    return os_reason(exc) or first_line(exc, 160) or type(exc).__name__


def causes(exc: BaseException, limit: int = 12) -> Iterator[BaseException]:
    """``exc`` and the exceptions it wraps, outermost first: the ``reason`` of a urllib3 retry error, an
    exception given as the first argument (as requests wraps them), else the cause or context. Bounded: the
    chains httpx, requests and urllib3 build are a few links long."""
    seen: BaseException | None = exc
    for _ in range(limit):
        if seen is None:
            return
        yield seen
        nested = getattr(seen, "reason", None)
        if not isinstance(nested, BaseException):
            nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = nested or seen.__cause__ or seen.__context__


def os_reason(exc: BaseException) -> str | None:
    """The operating system's words at the bottom of a wrapped connection failure (``Connection refused``)."""
    return next((seen.strerror for seen in causes(exc) if isinstance(seen, OSError) and seen.strerror), None)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:  # noqa: D102
        return False


def cookieless_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing: a native app's (an API flow refuses submissions that carry a cookie)."""
    return http.cookiejar.CookieJar(policy=_NoCookies())


class Client:
    """A client of one kind talking to one target. Create them with :class:`ClientFactory`."""

    def __init__(self, target: Target, kind: ClientKind, recorder: Recorder, transport: httpx.BaseTransport) -> None:
        self.target = target
        self.kind = kind
        self.recorder = recorder
        jar = cookieless_jar() if kind is ClientKind.NATIVE else None
        self.http = httpx.Client(
            transport=transport,
            headers={"Accept": JSON_ACCEPT if kind.wants_json else BROWSER_ACCEPT,
                     "User-Agent": f"kratos-conformance ({kind.value})"},
            cookies=jar,
            follow_redirects=False,
            timeout=httpx.Timeout(15.0),
        )

    # -- the one raw entry point ---------------------------------------------------------------------------------
    def request(self, method: str, url: str, **kwargs: Any) -> Exchange:
        """Send a request, record the redacted exchange and return it. ``kwargs`` go to ``httpx.Client.request``.

        An answer the release profile knows as a transient defect of the release (``Profile.tolerates_transient``)
        is recorded, so it is judged and reported, and the request is sent once more after a pause: the scenario
        goes on with that second answer."""
        exchange = send(self.http, self.recorder, self.kind.value, method, url, home=self.target.public_url, **kwargs)
        if self.target.profile.tolerates_transient(exchange.status, exchange.response_body):
            time.sleep(TRANSIENT_PAUSE)
            exchange = send(self.http, self.recorder, self.kind.value, method, url, home=self.target.public_url,
                            **kwargs)
        return exchange

    def race(self, requests: Sequence[tuple[str, str, dict[str, Any]]], concurrency: int) -> list[Exchange]:
        """Send ``requests`` (method, URL, httpx keyword arguments) in rounds of ``concurrency``, each round's
        released at the same moment, each request on a connection of its own, opened (TCP and TLS) before the
        release by a request to the public base URL that is not recorded; record their exchanges afterwards, in the
        order the answers came back.

        For the race scenarios: a server that checks and then updates in two steps lets two of them through."""
        size = max(1, concurrency)

        def jar() -> httpx.Cookies | http.cookiejar.CookieJar:
            """This client's cookies, copied (a native app's: none, and it keeps none)."""
            return cookieless_jar() if self.kind is ClientKind.NATIVE else httpx.Cookies(self.http.cookies)

        def one(request: tuple[str, str, dict[str, Any]], barrier: threading.Barrier) -> tuple[float, Exchange]:
            method, url, kwargs = request
            with httpx.Client(transport=new_transport(), headers=self.http.headers,
                              cookies=jar(), follow_redirects=False, timeout=self.http.timeout) as http:
                try:  # connect now: a handshake after the release would spread the racers apart
                    http.head(self.target.public_url, headers={"Accept": "*/*"})
                except httpx.HTTPError:
                    pass  # the racer connects when it sends, as it would have
                http.cookies = jar()  # a cookie the warm-up's answer set (Kratos sets its CSRF cookie) is not sent
                try:
                    barrier.wait(timeout=5)
                except threading.BrokenBarrierError:
                    pass  # a racer could not connect in time: go anyway
                exchange = send_unrecorded(http, self.kind.value, method, url, home=self.target.public_url, **kwargs)
                return now(), exchange

        answered: list[tuple[float, Exchange]] = []
        with ThreadPoolExecutor(max_workers=size) as pool:
            for first in range(0, len(requests), size):
                batch = requests[first:first + size]
                answered += pool.map(one, batch, [threading.Barrier(len(batch))] * len(batch))
        exchanges = [ex for _, ex in sorted(answered, key=lambda pair: pair[0])]
        for ex in exchanges:
            self.recorder.record(ex)
        return exchanges

    # -- the contract's operations -------------------------------------------------------------------------------
    def init(self, return_to: str | None = None, headers: Mapping[str, str] | None = None) -> Exchange:
        """Create a flow: the API init for a native client, the browser init otherwise."""
        route = API_INIT if self.kind is ClientKind.NATIVE else BROWSER_INIT
        return self.request("GET", self.target.public(route, return_to=return_to), headers=headers)

    def init_browser(self, return_to: str | None = None, headers: Mapping[str, str] | None = None) -> Exchange:
        """GET the browser init route whatever this client's kind."""
        return self.request("GET", self.target.public(BROWSER_INIT, return_to=return_to), headers=headers)

    def init_api(self, return_to: str | None = None, headers: Mapping[str, str] | None = None) -> Exchange:
        """GET the API init route whatever this client's kind."""
        return self.request("GET", self.target.public(API_INIT, return_to=return_to), headers=headers)

    def get_flow(self, flow_id: str | None, headers: Mapping[str, str] | None = None) -> Exchange:
        """GET /self-service/verification/flows?id=<flow_id> (``None`` leaves the id out)."""
        return self.request("GET", self.target.public(GET_FLOW, id=flow_id), headers=headers)

    def submit(
        self,
        flow_id: str | None,
        fields: Mapping[str, Any] | None = None,
        *,
        encoding: str | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Exchange:
        """POST /self-service/verification?flow=<flow_id> with ``fields``.

        ``encoding`` is ``json``, ``form`` or ``multipart`` (default: form for a browser, JSON otherwise).
        ``content`` sends raw bytes instead (with the caller's Content-Type header), for malformed bodies.
        """
        url = self.target.public(SUBMIT, flow=flow_id, **dict(query or {}))
        hdrs = dict(headers or {})
        if content is not None:
            return self.request("POST", url, content=content, headers=hdrs)
        fields = dict(fields or {})
        encoding = encoding or ("form" if self.kind is ClientKind.BROWSER else "json")
        if encoding == "json":
            hdrs.setdefault("Content-Type", "application/json")
            return self.request("POST", url, content=json.dumps(fields).encode(), headers=hdrs)
        if encoding == "form":
            return self.request("POST", url, data={k: str(v) for k, v in fields.items()}, headers=hdrs)
        if encoding == "multipart":
            files = {k: (None, str(v)) for k, v in fields.items()}
            return self.request("POST", url, files=files, headers=hdrs)
        raise ValueError(f"unknown encoding {encoding!r}")

    def open(self, url: str, headers: Mapping[str, str] | None = None) -> Exchange:
        """GET an absolute URL (an emailed link, a Location) with this client's headers and cookies."""
        return self.request("GET", url, headers=headers)

    def follow(self, exchange: Exchange) -> Exchange:
        """Follow the ``Location`` of a redirect ``exchange`` once (GET), as this client would."""
        if exchange.location is None:
            raise AssertionError(f"expected a Location header on\n{exchange.render()}")
        return self.open(str(exchange.response.url.join(exchange.location)))

    # -- cookies -------------------------------------------------------------------------------------------------
    def cookie_names(self) -> list[str]:
        """Names of the cookies this client holds."""
        return [c.name for c in self.http.cookies.jar]

    def drop_cookies(self) -> None:
        """Forget every cookie (a browser that lost its cookie jar)."""
        self.http.cookies.clear()


class ClientFactory:
    """Makes clients for one target; all share one connection pool and one recorder."""

    def __init__(self, target: Target, recorder: Recorder) -> None:
        self.target = target
        self.recorder = recorder
        self.transport = new_transport(httpx.Limits(max_connections=50, max_keepalive_connections=20))

    def __call__(self, kind: ClientKind | str) -> Client:
        return Client(self.target, ClientKind(kind), self.recorder, self.transport)

    def close(self) -> None:
        self.transport.close()
