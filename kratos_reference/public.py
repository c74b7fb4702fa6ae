"""The public API (Starlette routes), served under the path of ``public_url``.

Contract (each route delegates to ``VerificationService`` and only translates HTTP):
  GET  /self-service/verification/browser[?return_to=]     -> 200 flow | 303 UI | 400
  GET  /self-service/verification/api[?return_to=]         -> 200 flow | 400
  GET  /self-service/verification/flows?id=                -> 200 | 403 | 404 | 410
  POST /self-service/verification?flow=[&token=]           -> 200 | 303 | 400 | 403 | 404 | 410 | 413
  GET  /self-service/verification?flow=&code= | &token=    -> emailed links (303; a link's token: 200 for JSON)
  GET  /self-service/errors?id=                            -> the stored error behind the error UI
  GET  /health/alive, /health/ready                        -> 200 {"status": "ok"}
  GET  /schemas, /schemas/{id}                             -> the identity JSON schema (identity_schema_id)
  GET  /ui/verification, /ui/error, /ui/welcome            -> the HTML pages (ui.py)
Submissions are decoded by bodies.py against the configured method's schema (bodies of at most
max_body_bytes). Flow JSON is served as ``application/json; charset=utf-8``, error documents as
``application/json``; GET answers carry the no-cache header (http_common.NoCacheForGet).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from . import api_errors, csrf, ui
from .bodies import CODE_SCHEMA, LINK_SCHEMA, Decoded, decode
from .code_method import CodeMethod
from .config import ReferenceConfig
from .flow_model import ClientRequest, Outcome
from .flows import VerificationService
from .http_common import BodyTooLarge, error_response, json_response, read_body, redirect_response, too_large_response
from .identities import schema_ref


def identity_schema(config: ReferenceConfig) -> dict[str, object]:
    """The one identity schema (``identity_schema_id``, "default" unless configured): an email trait, marked for
    verification unless the config says not, and the required string traits the config adds."""
    marks: dict[str, object] = {"credentials": {"password": {"identifier": True}}, "recovery": {"via": "email"}}
    if config.verifiable_email:
        marks["verification"] = {"via": "email"}
    traits: dict[str, object] = {"email": {"type": "string", "format": "email", "title": "E-Mail",
                                           "ory.sh/kratos": marks}}
    traits.update({name: {"type": "string", "minLength": 1} for name in config.identity_required_traits})
    return {
        "$id": f"https://schemas.reference.test/{config.identity_schema_id}.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Person",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": traits,
                                  "required": ["email", *config.identity_required_traits],
                                  "additionalProperties": False}},
    }


#: what a server left in debug mode puts into error.debug (the error_leaks_debug fault)
DEBUG_TRACE = ("goroutine 87 [running]:\ngithub.com/ory/kratos/selfservice/flow/verification.(*Handler)."
               "updateVerificationFlow(...)\n\t/project/selfservice/flow/verification/handler.go:412 +0x1c4")


def client_request(request: Request) -> ClientRequest:
    """The framework-free view of a Starlette request (first value wins for repeated query keys)."""
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, value)
    headers = {key.lower(): value for key, value in request.headers.items()}
    return ClientRequest(request.method.upper(), str(request.url), query, headers, dict(request.cookies))


def outcome_response(service: VerificationService, outcome: Outcome, request_method: str) -> Response:
    """Translate an Outcome: JSON (flow or error document) or 303, plus the CSRF cookie when one was issued."""
    faults = service.config.faults
    body = outcome.body
    is_error = isinstance(body, dict) and "error" in body
    if "error_leaks_debug" in faults and is_error and isinstance(body["error"], dict):
        body = {**body, "error": {**body["error"], "debug": DEBUG_TRACE}}
    if "error_status_numeric" in faults and is_error and isinstance(body["error"], dict):
        body = {**body, "error": {**body["error"], "status": str(body["error"].get("code"))}}
    if "csrf_error_generic_id" in faults and is_error and isinstance(body["error"], dict) \
            and body["error"].get("id") == "security_csrf_violation":
        body = {**body, "error": {**body["error"], "id": "forbidden"}}
    if "error_details_dropped" in faults and is_error and isinstance(body["error"], dict):
        body = {**body, "error": {k: v for k, v in body["error"].items() if k != "details"}}
    if outcome.location is not None:
        response = redirect_response(outcome.location, request_method)
    else:
        response = json_response(outcome.status, body, error=is_error)
    if "flow_json_text_plain" in faults and isinstance(body, dict) and "ui" in body:
        response.headers["content-type"] = "text/plain; charset=utf-8"
    if "flow_json_no_charset" in faults and isinstance(body, dict) and "ui" in body:
        response.headers["content-type"] = "application/json"
    for name, value in outcome.headers.items():
        response.headers[name] = value
    if outcome.csrf_secret is not None:
        # the cookie faults: Secure decided per request (set on JSON answers), SameSite=None, a narrower Path
        secure = not service.config.dev_mode or ("csrf_cookie_secure_per_request" in faults and body is not None)
        cookie = csrf_cookie(service, outcome.csrf_secret, http_only="cookie_not_httponly" not in faults,
                             secure=secure)
        if "csrf_cookie_samesite_none" in faults:
            cookie = cookie.replace("SameSite=Lax", "SameSite=None").replace("SameSite=Strict", "SameSite=None")
        if "csrf_cookie_path_narrow" in faults:
            cookie = cookie.replace(f"Path={service.config.cookie_path};", "Path=/self-service/verification;")
        response.headers.append("set-cookie", cookie)
    return response


def csrf_cookie(service: VerificationService, secret: bytes, *, http_only: bool = True,
                secure: bool | None = None) -> str:
    """The CSRF cookie's Set-Cookie value with the deployment's attributes (Secure outside dev mode, SameSite, Path)."""
    config = service.config
    return csrf.set_cookie_header(service.cookie_name, secret, secure=not config.dev_mode if secure is None else secure,
                                  same_site=config.cookie_same_site, path=config.cookie_path, http_only=http_only)


def _refused_body(faults: frozenset[str], request: Request, body: bytes) -> Response | None:
    """The faults that answer a POST body before the flow sees it (unknown_content_type_error, empty_body_error,
    malformed_body_403); None for the clean target."""
    if request.method != "POST" or not faults:
        return None
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if "unknown_content_type_error" in faults and media not in (
            "application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
        return error_response(400)
    if media == "application/json" and "empty_body_error" in faults and not body.strip():
        return error_response(400)
    if media == "application/json" and "malformed_body_403" in faults and body.strip():
        try:
            json.loads(body)
        except ValueError:
            return json_response(403, api_errors.envelope(api_errors.api_error(
                403, "The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF).",
                error_id="security_csrf_violation")), error=True)
    return None


def _split_into_headers(request: Request, response: Response) -> None:
    """The crlf_header_split fault: a query value echoed into a header unescaped, so that every line after a CR LF
    in it arrives as a header of its own (HTTP response splitting). The HTTP server here refuses CR and LF in a
    header value, so the fault writes the headers the split would have made."""
    for _, value in request.query_params.multi_items():
        for line in value.replace("\r\n", "\n").split("\n")[1:]:
            name, colon, rest = line.partition(":")
            if colon and name.strip():
                response.headers.append(name.strip(), rest.strip())


def decode_submission(service: VerificationService, request: Request, body: bytes) -> Decoded:
    """Decode a submission (POST body, or the query of GET and HEAD) against the configured method's schema."""
    http_method = request.method.upper()
    if http_method == "HEAD" and "head_link_verifies" in service.config.faults:
        http_method = "GET"
    schema = CODE_SCHEMA if service.config.method == "code" else LINK_SCHEMA
    return decode(http_method, request.headers.get("content-type"), body, request.query_params.multi_items(),
                  schema)


def public_routes(service: VerificationService) -> list[BaseRoute]:
    """The public routes, mounted under the public URL's path prefix."""
    config = service.config

    def flow_route(call: Callable[[ClientRequest], Outcome]) -> Callable[[Request], object]:
        async def endpoint(request: Request) -> Response:
            outcome = await run_in_threadpool(call, client_request(request))
            response = outcome_response(service, outcome, request.method)
            if "crlf_header_split" in config.faults:
                _split_into_headers(request, response)
            return response
        return endpoint

    async def submit(request: Request) -> Response:
        body = b""
        if request.method == "POST":
            try:
                body = await read_body(request, config.max_body_bytes)
            except BodyTooLarge:
                return too_large_response(config.max_body_bytes)
        refused = _refused_body(config.faults, request, body)
        if refused is not None:
            return refused
        if (request.method == "HEAD" and "head_link_consumes_code" in config.faults
                and isinstance(service.method, CodeMethod)):
            await run_in_threadpool(service.method.use_up, request.query_params.get("flow", ""),
                                    request.query_params.get("code", ""))
        decoded = decode_submission(service, request, body)
        outcome = await run_in_threadpool(service.submit, client_request(request), decoded)
        return outcome_response(service, outcome, request.method)

    async def stored_error(request: Request) -> Response:
        status, body = await run_in_threadpool(service.stored_error, request.query_params.get("id"))
        return json_response(status, body, error=status != 200)

    async def health(request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    def with_csrf_cookie(request: Request, response: Response) -> Response:
        """Like every public GET of Kratos (nosurf), a request without the CSRF cookie gets one."""
        issued = csrf.RequestCsrf(request.cookies.get(service.cookie_name), issue_if_missing=True).issued
        if issued is not None:
            response.headers.append("set-cookie", csrf_cookie(service, issued))
        return response

    async def not_found(request: Request) -> Response:
        """Go's plain 404 for a path the public API does not serve, with the CSRF cookie (nosurf sets it there too:
        a client's first request to the base URL gets one)."""
        return with_csrf_cookie(request, Response("404 page not found\n", 404,
                                                  media_type="text/plain; charset=utf-8"))

    async def schema(request: Request) -> Response:
        schema_id = service.config.identity_schema_id
        if request.path_params["schema_id"] not in (schema_id, schema_ref(schema_id)):
            return with_csrf_cookie(request, error_response(404))
        return with_csrf_cookie(request, json_response(200, identity_schema(service.config)))

    async def schemas(request: Request) -> Response:
        return with_csrf_cookie(request, json_response(200, [{"id": service.config.identity_schema_id,
                                                               "schema": identity_schema(service.config)}]))

    routes: list[BaseRoute] = [
        Route("/self-service/verification/browser", flow_route(lambda req: service.init_flow(req, "browser")),
              methods=["GET"]),
        Route("/self-service/verification/api", flow_route(lambda req: service.init_flow(req, "api")), methods=["GET"]),
        Route("/self-service/verification/flows", flow_route(service.get_flow), methods=["GET"]),
        Route("/self-service/verification", submit, methods=["GET", "POST"]),
        Route("/self-service/errors", stored_error, methods=["GET"]),
        Route("/health/alive", health, methods=["GET"]),
        Route("/health/ready", health, methods=["GET"]),
        Route("/schemas", schemas, methods=["GET"]),
        Route("/schemas/{schema_id}", schema, methods=["GET"]),
        *ui.ui_routes(service),
        Route("/{path:path}", not_found, methods=["GET"]),  # last: any other path
    ]
    prefix = config.public_prefix
    return [Mount(prefix, routes=routes)] if prefix else routes
