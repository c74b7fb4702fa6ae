"""The HTML of the verification UI's pages, one markup for both UIs of this project: the reference target's own
(kratos_reference/ui.py) and the one the suite serves for a server without a UI (kratos_conformance/run/ui_server.py).

The markup is what the real-browser walks (suites/browser) read, the way the self-service UIs lay a flow out:

- a flow is ONE ``<form id="verification-form" action=ui.action method=ui.method>`` with an element per node (hidden,
  email and text inputs named by ``attributes.name``, submit nodes as ``<button name value>``, anchors as
  ``<a id href>``), the flow's messages in ``<div id="messages">`` and node messages beside their node, each as
  ``<p class="message message-<type>" data-message-id="<id>">``; ``<div id="flow">`` carries the flow's id, state
  and type as data attributes;
- an error is ``<div id="error" data-error-id data-error-code>`` with its message and reason;
- every page is :data:`PAGE` around the content, ``<main id="page" data-page="<name>">``.

No check judges this markup against a server: it is the project's own UI, so sharing it shares no expectation.
"""

from __future__ import annotations

from html import escape
from typing import Any

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; }}
  label {{ display: block; margin: .75rem 0 .25rem; }}
  input[type=email], input[type=text] {{ width: 100%; padding: .4rem; box-sizing: border-box; }}
  button {{ margin: .75rem .5rem 0 0; padding: .4rem 1rem; }}
  .message-error {{ color: #a00; }}
  .message-success {{ color: #070; }}
  .message-info {{ color: #035; }}
</style>
</head>
<body>
<main id="page" data-page="{page}">
<h1>{title}</h1>
{content}
</main>
</body>
</html>
"""


def _attr(name: str, value: Any) -> str:
    return f' {name}="{escape(str(value), quote=True)}"'


def message_html(message: dict[str, Any]) -> str:
    """One ui text as a paragraph carrying its id and type."""
    return (f'<p class="message message-{escape(str(message.get("type", "info")))}" '
            f'data-message-id="{escape(str(message.get("id", "")))}">{escape(str(message.get("text", "")))}</p>')


def node_html(node: dict[str, Any]) -> str:
    """One UI node as HTML: an anchor, a hidden field, a submit button or a labelled input."""
    attributes = node.get("attributes") or {}
    label = (node.get("meta") or {}).get("label") or {}
    notes = "".join(message_html(m) for m in node.get("messages") or [])
    notes = f'<div class="node-messages">{notes}</div>' if notes else ""
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
        # a button other than the method's own (the resend button) must not be held back by the browser's check of
        # required fields it sends no value for (the code field)
        skip = " formnovalidate" if name != "method" else ""
        return f'<button type="submit"{_attr("name", name)}{value_attr}{skip}>{escape(str(text))}</button>{notes}'
    required = " required" if attributes.get("required") else ""
    field_id = f"field-{name}"
    return (f'<label for="{escape(field_id)}">{escape(str(label.get("text", name)))}</label>'
            f'<input{_attr("id", field_id)}{_attr("type", input_type)}{_attr("name", name)}{value_attr}{required}>'
            f"{notes}")


def flow_content(flow: dict[str, Any]) -> str:
    """The page content for a flow document: its messages and its nodes as one form."""
    ui = flow.get("ui") or {}
    messages = "".join(message_html(m) for m in ui.get("messages") or [])
    form = "".join(node_html(n) for n in ui.get("nodes") or [])
    return (f'<div id="flow"{_attr("data-flow-id", flow.get("id", ""))}'
            f'{_attr("data-flow-state", flow.get("state", ""))}{_attr("data-flow-type", flow.get("type", ""))}>'
            f'<div id="messages">{messages}</div>'
            f'<form id="verification-form"{_attr("action", ui.get("action", ""))}'
            f'{_attr("method", str(ui.get("method", "POST")).lower())}>{form}</form></div>')


def error_content(error: dict[str, Any], error_id: str = "") -> str:
    """The page content for an error object."""
    return (f'<div id="error"{_attr("data-error-id", error_id)}{_attr("data-error-code", error.get("code", ""))}>'
            f'<p class="message message-error"{_attr("data-message-id", error.get("id", error.get("code", "")))}>'
            f'{escape(str(error.get("message", "")))}</p>'
            f'<p id="error-reason">{escape(str(error.get("reason", "")))}</p></div>')


def page_html(title: str, name: str, content: str) -> str:
    """A whole page: :data:`PAGE` with ``content`` (already escaped HTML) under the heading ``title``."""
    return PAGE.format(title=escape(title), page=escape(name), content=content)
