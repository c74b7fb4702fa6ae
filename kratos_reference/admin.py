"""The admin API (Starlette routes), served under the path of ``admin_url``.

Contract:
  POST   /admin/identities                          -> 201 identity (+ Location) | 400 | 409 | 413
  GET    /admin/identities[?credentials_identifier=] -> 200 [identity]
  GET    /admin/identities/{id}                      -> 200 identity | 404
  DELETE /admin/identities/{id}                      -> 204 | 404
  GET    /admin/courier/messages[?recipient=]        -> 200 [message]
  GET    /health/alive, /health/ready               -> 200 {"status": "ok"}
  GET    /version                                    -> 200 {"version": "v26.2.0-reference"}
With ``admin_token`` set, every route except /health/* needs ``Authorization: Bearer <token>``; otherwise
401 errorGeneric.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .http_common import BodyTooLarge, error_response, json_response, read_body, too_large_response
from .identities import IdentityAdmin

VERSION = "v26.2.0-reference"


class AdminTokenGuard:
    """ASGI middleware: require ``Authorization: Bearer <token>`` outside of /health/."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.token is not None and "/health/" not in scope.get("path", ""):
            headers = {key.decode("latin-1").lower(): value.decode("latin-1")
                       for key, value in scope.get("headers", [])}
            presented = headers.get("authorization", "")
            if not hmac.compare_digest(presented.encode("utf-8"), f"Bearer {self.token}".encode()):
                response = error_response(401, "The request is missing a valid API key (Authorization: Bearer).",
                                          {"www-authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def admin_routes(admin: IdentityAdmin) -> list[BaseRoute]:
    """The admin routes, mounted under the admin URL's path prefix."""
    limit = admin.config.max_body_bytes

    async def create(request: Request) -> Response:
        try:
            raw = await read_body(request, limit)
        except BodyTooLarge:
            return too_large_response(limit)
        try:
            payload: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return error_response(400, "Unable to decode the request body as JSON.")
        status, body, location = await run_in_threadpool(admin.create_identity, payload)
        return json_response(status, body, {"location": location} if location else None, error=status >= 400)

    async def collection(request: Request) -> Response:
        status, body = await run_in_threadpool(admin.list_identities,
                                               request.query_params.get("credentials_identifier"))
        return json_response(status, body)

    async def item(request: Request) -> Response:
        identity_id = request.path_params["identity_id"]
        if request.method == "DELETE":
            status, body = await run_in_threadpool(admin.delete_identity, identity_id)
        else:
            status, body = await run_in_threadpool(admin.get_identity, identity_id)
        return json_response(status, body, error=status >= 400)

    async def messages(request: Request) -> Response:
        status, body = await run_in_threadpool(admin.list_messages, request.query_params.get("recipient"))
        return json_response(status, body)

    async def health(request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    async def version(request: Request) -> Response:
        return json_response(200, {"version": VERSION})

    routes: list[BaseRoute] = [
        Route("/admin/identities", create, methods=["POST"]),
        Route("/admin/identities", collection, methods=["GET"]),
        Route("/admin/identities/{identity_id}", item, methods=["GET", "DELETE"]),
        Route("/admin/courier/messages", messages, methods=["GET"]),
        Route("/health/alive", health, methods=["GET"]),
        Route("/health/ready", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
    ]
    prefix = admin.config.admin_prefix
    return [Mount(prefix, routes=routes)] if prefix else routes
