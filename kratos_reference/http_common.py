"""HTTP helpers shared by the public and admin apps (Starlette).

Contract:
- JSON answers carry ``Content-Type: application/json; charset=utf-8``, error documents (errorGeneric and the
  errors beside it) ``application/json``, as Ory's herodot writes them.
- ``NoCacheForGet`` (ASGI middleware) gives every GET answer ``Cache-Control: private, no-cache, no-store,
  must-revalidate``, as Kratos's router does.
- ``redirect_response``: 303 with ``Location``; answering a GET/HEAD it has Go's short text/html body
  ``<a href="...">See Other</a>.``, answering anything else it has no body.
- ``read_body`` reads at most ``limit`` bytes and raises ``BodyTooLarge`` beyond (413 JSON via the handler).
- ``install_error_handlers`` turns unknown routes into 404 and wrong methods into 405 errorGeneric JSON, and
  any unexpected exception into a 500 errorGeneric without details (logged server-side with its traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from html import escape
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import api_errors

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
ERROR_CONTENT_TYPE = "application/json"
NO_CACHE = "private, no-cache, no-store, must-revalidate"
log = logging.getLogger("kratos_reference")


class BodyTooLarge(Exception):
    """The request body exceeds the configured limit."""


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None, *,
                  error: bool = False) -> Response:
    """A JSON response (``body`` None -> empty body, e.g. for 204); ``error``: an error document."""
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = Response(content, status_code=status, headers=dict(headers or {}))
    if body is not None:
        response.headers["content-type"] = ERROR_CONTENT_TYPE if error else JSON_CONTENT_TYPE
    return response


def error_response(code: int, reason: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """An errorGeneric response."""
    return json_response(code, api_errors.envelope(api_errors.api_error(code, reason)), headers, error=True)


class NoCacheForGet:
    """ASGI middleware: GET answers get the no-cache Cache-Control header (unless they set their own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return

        async def send_no_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("cache-control", NO_CACHE)
            await send(message)

        await self.app(scope, receive, send_no_cache)


def redirect_response(location: str, request_method: str) -> Response:
    """A 303 See Other; GET/HEAD answers get Go's tiny HTML body, others none."""
    if request_method.upper() in ("GET", "HEAD"):
        body = f'<a href="{escape(location, quote=True)}">See Other</a>.\n\n'
        return Response(body, status_code=303,
                        headers={"location": location, "content-type": "text/html; charset=utf-8"})
    return Response(b"", status_code=303, headers={"location": location})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or BodyTooLarge once more than ``limit`` bytes arrive."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def too_large_response(limit: int) -> Response:
    """413 errorGeneric for an oversized body."""
    return error_response(413, f"The request body exceeds the limit of {limit} bytes.")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = exc.status_code if exc.status_code in (404, 405) else 400
    reason = None if code == 404 else f"{request.method} is not supported here."
    return error_response(code, reason, dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500)


def install_error_handlers(app: Starlette) -> None:
    """404/405 as JSON errors and a last-resort 500 without details."""
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(Exception, _internal_error)
    app.router.redirect_slashes = False
