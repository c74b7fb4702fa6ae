"""A verification UI the suite brings along, for servers that have none of their own (Ory Kratos serves no UI).

Kratos sends browsers to the URLs in its configuration (``selfservice.flows.verification.ui_url``,
``selfservice.flows.error.ui_url``, the default return URL); point them at this server and the real-browser walks
run end to end on any Kratos. ``--serve-ui HOST:PORT`` starts it for a run, over http, or over https with
``--serve-ui-tls CERT[,KEY]`` (for a server whose public API is https: a browser takes an http page and an https
API for two sites, and sends no SameSite=Lax CSRF cookie with the page's forms). It renders a flow the way the
self-service UIs do, with the reference target's own page's markup (verification_page.py, shared by both):

- ``GET /verification?flow=<id>``: reads the flow from ``<public>/self-service/verification/flows`` with the
  browser's cookies (so the UI must be served on the public API's host: cookies are per host, not per port) and
  answers ONE ``<form id="verification-form" action=ui.action method=ui.method>`` with an element per node (hidden,
  email and text inputs named by ``attributes.name``, submit nodes as ``<button name value>``, anchors as
  ``<a id href>``), the flow's messages in ``<div id="messages">`` and node messages beside their node, each as
  ``<p class="message message-<type>" data-message-id="<id>">``. No flow id, an unknown (404) or someone else's
  (403) flow: 303 to the browser init; an expired flow (410): 303 to its ``details.redirect_to``.
- ``GET /error?id=<id>``: shows ``<public>/self-service/errors?id=<id>`` as ``<div id="error" data-error-id=...>``.
- any other path: a plain "welcome" page (what the default return URL shows).

Set-Cookie headers Kratos sends with a flow are passed on to the browser. Nothing is stored here.
"""

from __future__ import annotations

import ssl
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from kratos_conformance.errors import CannotJudge
from kratos_conformance.rules.response_rules import NO_CACHE_DIRECTIVES
from kratos_conformance.run.urls import is_port
from kratos_conformance.wire.http_transport import new_transport
from verification_page import error_content, flow_content, page_html


def page(title: str, name: str, content: str) -> bytes:
    """A whole page, encoded."""
    return page_html(title, name, content).encode("utf-8")


TlsFiles = tuple[Path, Path | None]
"""A PEM certificate chain and its key (None: the certificate's file holds the key too)."""


def tls_context(files: TlsFiles) -> ssl.SSLContext:
    """The server-side TLS context of ``files``; CannotJudge (one line) when they cannot be loaded."""
    certificate, key = files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError) as exc:
        named = f"{certificate}" + (f",{key}" if key else "")
        raise CannotJudge(f"--serve-ui-tls {named}: not a PEM certificate and its key "
                          f"({getattr(exc, 'strerror', None) or exc})") from None
    return context


class VerificationUi:
    """The UI server: started on ``host:port`` (0: a free port) for the server whose public API is ``public_url``;
    over https when ``tls`` names a certificate and its key."""

    def __init__(self, public_url: str, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0, *,
                 tls: TlsFiles | None = None) -> None:
        self.public_url = public_url if public_url.endswith("/") else public_url + "/"
        self.http = httpx.Client(transport=new_transport(), timeout=timeout, follow_redirects=False)
        self.scheme = "https" if tls else "http"
        handler = type("Handler", (_Handler,), {"ui": self})
        try:
            self.server = (_TlsServer((host, port), handler, tls_context(tls)) if tls
                           else ThreadingHTTPServer((host, port), handler))
        except OSError as exc:
            raise CannotJudge(f"--serve-ui: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="verification-ui", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Where it listens, e.g. ``http://127.0.0.1:4455/``."""
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host.decode() if isinstance(host, bytes) else host}:{port}/"

    @property
    def verification_url(self) -> str:
        return self.url + "verification"

    @property
    def error_url(self) -> str:
        return self.url + "error"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    # -- what a request gets ---------------------------------------------------------------------------------
    def answer(self, path: str, query: dict[str, str], cookie: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body for one GET."""
        if path == "/verification":
            return self._verification(query, cookie)
        if path == "/error":
            return self._error(query.get("id", ""))
        return 200, [], page("Welcome", "welcome", '<p id="welcome">You are done here.</p>')

    def _verification(self, query: dict[str, str], cookie: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
        init = urljoin(self.public_url, "self-service/verification/browser")
        restart = f"{init}?{urlencode({'return_to': query['return_to']})}" if query.get("return_to") else init
        if not query.get("flow"):
            return _see_other(restart)
        headers = {"Accept": "application/json", **({"Cookie": cookie} if cookie else {})}
        answer = self.http.get(urljoin(self.public_url, "self-service/verification/flows"),
                               params={"id": query["flow"]}, headers=headers)
        cookies = [("Set-Cookie", c) for c in answer.headers.get_list("set-cookie")]
        body = _json(answer)
        if answer.status_code == 200:
            return 200, cookies, page("Verify your account", "verification", flow_content(body))
        details = ((body.get("error") or {}).get("details") or {})
        if answer.status_code == 410 and details.get("redirect_to"):
            return _see_other(str(details["redirect_to"]), cookies)
        if answer.status_code in (403, 404, 410):
            return _see_other(restart, cookies)
        return answer.status_code, cookies, page("Error", "error", error_content(body.get("error") or {}))

    def _error(self, error_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        answer = self.http.get(urljoin(self.public_url, "self-service/errors"), params={"id": error_id},
                               headers={"Accept": "application/json"})
        body = _json(answer)
        if answer.status_code != 200 or not isinstance(body.get("error"), dict):
            return 404, [], page("Error", "error",
                                 '<div id="error" data-error-id="">The error could not be found.</div>')
        return 200, [], page("Error", "error", error_content(body["error"], str(body.get("id", error_id))))


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        doc = answer.json()
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _see_other(location: str, headers: list[tuple[str, str]] | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    return 303, [("Location", location), *(headers or [])], b""


class _TlsServer(ThreadingHTTPServer):
    """The UI over https: each accepted connection is wrapped, its handshake left to the thread that serves it (a
    browser's idle pre-connection must not hold up the accepting loop)."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a failed handshake or a dropped connection is the client's; the browser walk judges what it saw


class _Handler(BaseHTTPRequestHandler):
    ui: VerificationUi
    protocol_version = "HTTP/1.1"
    timeout = 30  # a connection that says nothing (a failed or idle handshake) is dropped

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            status, headers, body = self.ui.answer(parts.path, query, self.headers.get("Cookie"))
        except httpx.HTTPError as exc:
            status, headers = 502, []
            body = page("Error", "error", f'<div id="error">The server did not answer: {escape(type(exc).__name__)}'
                                          "</div>")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", ", ".join(NO_CACHE_DIRECTIVES))  # the page shows a flow: as Kratos reads one
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the signature http.server calls
        pass  # the run's recorder sees the browser's requests; nothing to print here


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); CannotJudge (one line) if it is not one."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not is_port(port):
        raise CannotJudge(f"--serve-ui: {value!r} is not HOST:PORT, e.g. 127.0.0.1:4455")
    return host, int(port)


def served_urls(listen: str, *, tls: bool = False) -> tuple[str, str]:
    """The verification and error UI URLs of a UI served on ``HOST:PORT`` (over https with ``tls``)."""
    host, port = parse_listen(listen)
    scheme = "https" if tls else "http"
    return f"{scheme}://{host}:{port}/verification", f"{scheme}://{host}:{port}/error"
