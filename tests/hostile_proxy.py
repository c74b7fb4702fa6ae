"""A reverse proxy for the project's own tests that puts a broken server in front of the reference target: it
forwards every request and spoils chosen answers in one named way, the way a faulty Kratos-compatible server might.
Listens on 127.0.0.1 only; stopped by the test that starts it."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: hop-by-hop headers and the ones the proxy recomputes
_DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}

Answer = tuple[int, list[tuple[str, str]], bytes]


def _flow(body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc, dict) and isinstance(doc.get("ui"), dict):
        change(doc)
    return json.dumps(doc).encode()


def _nodes_not_a_list(doc: dict[str, Any]) -> None:
    doc["ui"]["nodes"] = "oops"


def _nodes_of_the_wrong_shape(doc: dict[str, Any]) -> None:
    for node in doc["ui"].get("nodes") or []:
        node["attributes"], node["group"], node["type"] = ["name", 3], {"a": 1}, None
        node["messages"] = [{"id": "x"}, None, 7]


def spoil(mode: str, request: tuple[str, str, list[tuple[str, str]], bytes], answer: Answer) -> Answer:
    """The answer the broken server gives instead of ``answer`` to ``request`` (method, path, headers, body)."""
    method, path, headers, body = request
    status, out_headers, content = answer
    if mode == "nodes-not-a-list":
        return status, out_headers, _flow(content, _nodes_not_a_list)
    if mode == "nodes-of-the-wrong-shape":
        return status, out_headers, _flow(content, _nodes_of_the_wrong_shape)
    if mode == "nested-too-deep":
        return status, [("Content-Type", "application/json")], b"[" * 100_000 + b"]" * 100_000
    if mode == "reflects-the-request":  # an error page that quotes what it was sent
        sent = "\n".join(f"{k}: {v}" for k, v in headers).encode() + b"\n\n" + body
        return 500, [("Content-Type", "text/plain"), ("X-Debug-Request", " ".join(v for _, v in headers))], sent
    if mode == "garbage":
        return status, [("Content-Type", "application/json")], b"{not json"
    if mode == "reflects-query-in-a-header":  # echoes return_to (decoded, CR and LF included) in a header
        sent = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        echoed = [("X-Return-To", sent["return_to"])] if "return_to" in sent else []
        return status, out_headers + echoed, content
    raise ValueError(f"unknown mode {mode!r}")


class HostileProxy:
    """Forward to ``upstream`` (a base URL); spoil the answers to requests whose path matches ``where`` (and whose
    method is ``method``, if given), from the ``after``+1-th such request on: in a way of :func:`spoil`, or, in
    mode ``hangs-up``, by closing the connection without an answer."""

    def __init__(self, upstream: str, mode: str, where: str, *, method: str | None = None, after: int = 0) -> None:
        self.upstream = urlsplit(upstream)
        self.mode, self.where, self.method, self.after = mode, re.compile(where), method, after
        self.matched = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _DROPPED | {"host"}]
                answer = proxy.forward(self.command, self.path, headers, body)
                if proxy.spoils(self.command, self.path):
                    if proxy.mode == "hangs-up":  # the request was handled upstream; its answer never comes
                        self.close_connection = True
                        return
                    answer = spoil(proxy.mode, (self.command, self.path, headers, body), answer)
                status, out_headers, content = answer
                self.send_response(status)
                for name, value in out_headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def spoils(self, method: str, path: str) -> bool:
        if not self.where.search(path) or (self.method is not None and method != self.method):
            return False
        with self._lock:
            self.matched += 1
            return self.matched > self.after

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        """The upstream's answer, with the upstream's own URLs in it pointing at the proxy."""
        base = self.upstream.path.rstrip("/")
        connection = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port, timeout=30)
        try:
            connection.request(method, base + path, body=body or None, headers=dict(headers))
            response = connection.getresponse()
            content = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _DROPPED]
        finally:
            connection.close()
        # the server names itself in flows and redirects: as the proxy, so that clients come back through it
        origin, own = f"{self.upstream.scheme}://{self.upstream.netloc}", self.url.rstrip("/")
        return (response.status, [(k, v.replace(origin, own)) for k, v in kept],
                content.replace(origin.encode(), own.encode()))

    def __enter__(self) -> HostileProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
