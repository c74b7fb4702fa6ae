"""The target's own HTML pages: the verification UI, the error UI and the default return page.

Contract (the markup is verification_page.py's, shared with the suite's --serve-ui UI):
- ``GET <public>ui/verification?flow=<id>`` loads the flow exactly as GET /flows does with the browser's
  cookies. 200: renders the flow's form. Like Ory's reference UI it redirects (303) to the browser init endpoint
  when the flow id is missing, unknown (404), CSRF-rejected (403) or expired (410, keeping return_to). No
  JavaScript.
- ``GET <public>ui/error?id=<uuid>`` shows a stored error (``<div id="error" data-error-id=...>``); 404 if unknown.
- ``GET <public>ui/welcome`` is the default return page (``<h1>`` "Welcome").
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from verification_page import error_content, flow_content, page_html

from .flow_model import ClientRequest, with_query
from .flows import VerificationService
from .http_common import redirect_response


def page(title: str, page_name: str, content: str, status: int = 200) -> HTMLResponse:
    """A page of the shared markup (verification_page.py); ``content`` is already escaped HTML."""
    return HTMLResponse(page_html(title, page_name, content), status_code=status)


def flow_page(flow: dict[str, Any]) -> HTMLResponse:
    """The verification page for a flow JSON."""
    return page("Verify your account", "verification", flow_content(flow))


def ui_routes(service: VerificationService) -> list[Route]:
    """Routes of the HTML pages (mounted with the public routes)."""
    config = service.config
    init_url = config.public_url + "self-service/verification/browser"

    async def verification(request: Request) -> Response:
        flow_id = request.query_params.get("flow")
        return_to = request.query_params.get("return_to")
        restart = with_query(init_url, return_to=return_to) if return_to else init_url
        if not flow_id:
            return redirect_response(restart, request.method)
        headers = {key.lower(): value for key, value in request.headers.items()}
        headers["accept"] = "application/json"
        lookup = ClientRequest("GET", str(request.url), {"id": flow_id}, headers, dict(request.cookies))
        outcome = await run_in_threadpool(service.get_flow, lookup)
        if outcome.status == 200:
            flow = outcome.body
            shown = [*(flow["ui"].get("messages") or []),
                     *(m for node in flow["ui"]["nodes"] for m in node.get("messages") or [])]
            failed = any(m.get("type") == "error" for m in shown)
            if failed and "ui_page_restarts_on_error" in config.faults:
                return redirect_response(restart, request.method)
            if failed and "ui_page_sends_errors_home" in config.faults:
                return redirect_response(config.effective_default_return_url, request.method)
            if failed and "ui_page_hides_form_on_error" in config.faults:
                flow = {**flow, "ui": {**flow["ui"], "nodes": []}}
            if "ui_page_drops_csrf_token" in config.faults:
                nodes = [n for n in flow["ui"]["nodes"] if n["attributes"].get("name") != "csrf_token"]
                flow = {**flow, "ui": {**flow["ui"], "nodes": nodes}}
            response = flow_page(flow)
            if "ui_page_mirrors_csrf_cookie" in config.faults:
                response.set_cookie("csrf_token_ui", _csrf_token(outcome.body), path="/", samesite="lax")
            kept = request.cookies.get(service.cookie_name)
            if "ui_page_resets_csrf_cookie" in config.faults and kept:
                response.set_cookie(service.cookie_name, kept, max_age=31536000, path="/", samesite="lax")
            if "ui_page_exposes_csrf_token" in config.faults:
                response.set_cookie("csrf_token_ui", _csrf_token(outcome.body), path=request.url.path, samesite="lax")
            return response
        if outcome.status in (403, 404):
            return redirect_response(restart, request.method)
        error = (outcome.body or {}).get("error", {})
        if outcome.status == 410 and (error.get("details") or {}).get("redirect_to"):
            return redirect_response(error["details"]["redirect_to"], request.method)
        if outcome.status == 410:
            return redirect_response(restart, request.method)
        return error_page(error, outcome.status)

    async def error(request: Request) -> Response:
        status, body = await run_in_threadpool(service.stored_error, request.query_params.get("id"))
        if status != 200:
            return page("Error", "error", '<div id="error" data-error-id="">The error could not be found.</div>', 404)
        return error_page(body["error"], 200, body["id"])

    async def welcome(request: Request) -> Response:
        return page("Welcome", "welcome", '<p id="welcome">You are done here.</p>')

    return [Route("/ui/verification", verification, methods=["GET"]),
            Route("/ui/error", error, methods=["GET"]),
            Route("/ui/welcome", welcome, methods=["GET"])]


def _csrf_token(flow: dict[str, Any]) -> str:
    """The value of a flow's csrf_token node ("" without one)."""
    for node in flow.get("ui", {}).get("nodes", []):
        if node.get("attributes", {}).get("name") == "csrf_token":
            return str(node["attributes"].get("value") or "")
    return ""


def error_page(error: dict[str, Any], status: int, error_id: str = "") -> HTMLResponse:
    """A page showing an errorGeneric object."""
    return page("Error", "error", error_content(error, error_id), status)
