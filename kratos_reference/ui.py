"""The target's own HTML pages: the verification UI, the error UI and the default return page.

Contract:
- ``GET <public>ui/verification?flow=<id>`` loads the flow exactly as GET /flows does with the browser's
  cookies. 200: renders ONE ``<form id="verification-form" action=ui.action method=ui.method>`` with an element
  per node (hidden/email/text inputs named by attributes.name, submit nodes as ``<button name value>``, anchor
  nodes as ``<a id=attributes.id href>``), the flow messages in ``<div id="messages">`` and node messages beside
  their node; every message is a ``<p class="message message-<type>" data-message-id="<id>">``. Like Ory's
  reference UI it redirects (303) to the browser init endpoint when the flow id is missing, unknown (404),
  CSRF-rejected (403) or expired (410, keeping return_to). No JavaScript.
- ``GET <public>ui/error?id=<uuid>`` shows a stored error (``<div id="error" data-error-id=...>``); 404 if unknown.
- ``GET <public>ui/welcome`` is the default return page (``<h1>`` "Welcome").
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .flow_model import ClientRequest, with_query
from .flows import VerificationService
from .http_common import redirect_response

_TEMPLATE = Template((Path(__file__).parent / "ui_page.html").read_text(encoding="utf-8"))


def page(title: str, page_name: str, content: str, status: int = 200) -> HTMLResponse:
    """An HTML page from the template (``content`` is already escaped HTML)."""
    html = _TEMPLATE.substitute(title=escape(title), page=escape(page_name), content=content)
    return HTMLResponse(html, status_code=status)


def _message_html(message: dict[str, Any]) -> str:
    return (f'<p class="message message-{escape(str(message.get("type", "info")))}" '
            f'data-message-id="{escape(str(message.get("id", "")))}">{escape(str(message.get("text", "")))}</p>')


def _attr(name: str, value: Any) -> str:
    return f' {name}="{escape(str(value), quote=True)}"'


def node_html(node: dict[str, Any]) -> str:
    """One UI node as HTML."""
    attributes = node.get("attributes", {})
    label = (node.get("meta") or {}).get("label") or {}
    node_messages = "".join(_message_html(m) for m in node.get("messages", []))
    notes = f'<div class="node-messages">{node_messages}</div>' if node_messages else ""
    if node.get("type") == "a":
        title = (attributes.get("title") or {}).get("text", "")
        return (f'<p><a{_attr("id", attributes.get("id", ""))}{_attr("href", attributes.get("href", ""))}>'
                f"{escape(str(title))}</a></p>{notes}")
    name = attributes.get("name", "")
    input_type = attributes.get("type", "text")
    value = attributes.get("value")
    value_attr = "" if value is None else _attr("value", value)
    if input_type == "hidden":
        return f'<input type="hidden"{_attr("name", name)}{value_attr}>{notes}'
    if input_type == "submit":
        text = label.get("text") or str(value or name)
        # A button that is not the method's own (the resend button, named email) must not be blocked by the
        # browser's check of required fields it does not send a value for (the code field).
        novalidate = " formnovalidate" if name != "method" else ""
        return (f'<button type="submit"{_attr("name", name)}{value_attr}{novalidate}>{escape(str(text))}</button>'
                f'{notes}')
    required = " required" if attributes.get("required") else ""
    field_id = f"field-{name}"
    return (f'<label for="{escape(field_id)}">{escape(str(label.get("text", name)))}</label>'
            f'<input{_attr("id", field_id)}{_attr("type", input_type)}{_attr("name", name)}{value_attr}{required}>'
            f"{notes}")


def flow_page(flow: dict[str, Any]) -> HTMLResponse:
    """The verification page for a flow JSON."""
    ui = flow.get("ui", {})
    messages = "".join(_message_html(m) for m in ui.get("messages", []))
    form = "".join(node_html(n) for n in ui.get("nodes", []))
    content = (f'<div id="flow"{_attr("data-flow-id", flow.get("id", ""))}'
               f'{_attr("data-flow-state", flow.get("state", ""))}{_attr("data-flow-type", flow.get("type", ""))}>'
               f'<div id="messages">{messages}</div>'
               f'<form id="verification-form"{_attr("action", ui.get("action", ""))}'
               f'{_attr("method", str(ui.get("method", "POST")).lower())}>{form}</form></div>')
    return page("Verify your account", "verification", content)


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
            return flow_page(outcome.body)
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


def error_page(error: dict[str, Any], status: int, error_id: str = "") -> HTMLResponse:
    """A page showing an errorGeneric object."""
    content = (f'<div id="error"{_attr("data-error-id", error_id)}{_attr("data-error-code", error.get("code", ""))}>'
               f'<p class="message message-error"{_attr("data-message-id", error.get("id", error.get("code", "")))}>'
               f'{escape(str(error.get("message", "")))}</p>'
               f'<p id="error-reason">{escape(str(error.get("reason", "")))}</p></div>')
    return page("Error", "error", content, status)
