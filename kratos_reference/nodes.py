"""UI node builders (``uiNode``), the layouts of each method and state, and the edits Kratos's UI container makes.

Contract:
- A node is a JSON-ready dict ``{"type", "group", "attributes", "messages", "meta"}``; ``messages`` is always
  a list, ``meta`` holds ``label`` when the node has one.
- Input attributes are written in Kratos's order: name, type, value (only when set; "" counts as set), required
  (only when true), disabled (always), node_type "input". Anchor attributes: href, title, id, node_type "a".
- Layouts (list order is the order Kratos emits):
  code/choose_method: email, method(submit "code"), csrf_token (browser flows only)
  code/sent_email:    method(hidden "code"), code, method(submit "code"), csrf_token (browser only), email(submit)
  link/any state:     csrf_token (its value "" when the request had no CSRF cookie), email, method(submit "link")
  passed_challenge:   csrf_token, anchor "continue"
- Container edits: ``upsert_node`` replaces the first node of the same name in place or appends;
  ``add_message`` appends a message to the flow (no field) or to a field's node, appending a bare text input of
  group "default" when there is none; ``reset_messages`` clears the flow's and every node's messages.
"""

from __future__ import annotations

from typing import Any

from . import messages

Node = dict[str, Any]
_UNSET: Any = object()


def input_node(name: str, group: str, input_type: str, *, value: Any = _UNSET, required: bool = False,
               label: dict[str, Any] | None = None) -> Node:
    """An input node; ``value`` is omitted from the attributes unless given (an empty string is kept)."""
    attributes: dict[str, Any] = {"name": name, "type": input_type}
    if value is not _UNSET and value is not None:
        attributes["value"] = value
    if required:
        attributes["required"] = True
    attributes["disabled"] = False
    attributes["node_type"] = "input"
    meta: dict[str, Any] = {"label": label} if label is not None else {}
    return {"type": "input", "group": group, "attributes": attributes, "messages": [], "meta": meta}


def csrf_node(token: str) -> Node:
    """The hidden csrf_token input of group "default"."""
    return input_node("csrf_token", "default", "hidden", value=token, required=True)


def anchor_node(anchor_id: str, href: str, group: str, title: dict[str, Any]) -> Node:
    """An anchor node (type "a") whose title is also its meta label."""
    return {"type": "a", "group": group,
            "attributes": {"href": href, "title": title, "id": anchor_id, "node_type": "a"},
            "messages": [], "meta": {"label": dict(title)}}


def email_input(group: str, value: Any = _UNSET) -> Node:
    """The required email input with label 1070007."""
    return input_node("email", group, "email", value=value, required=True, label=messages.label_email())


def method_submit(method: str) -> Node:
    """The submit button naming the method, label 1070009 "Continue"."""
    return input_node("method", method, "submit", value=method, label=messages.label_submit())


# --- layouts ----------------------------------------------------------------------------------------

def code_choose_method_nodes(csrf_token: str | None) -> list[Node]:
    """code method, state choose_method; ``csrf_token`` None for api flows (no csrf node)."""
    nodes = [email_input("code"), method_submit("code")]
    if csrf_token is not None:
        nodes.append(csrf_node(csrf_token))
    return nodes


def code_sent_email_nodes(csrf_token: str | None, email: str) -> list[Node]:
    """code method, state sent_email: hidden method, code input, submit, csrf (browser), resend button."""
    nodes = [
        input_node("method", "code", "hidden", value="code"),
        input_node("code", "code", "text", required=True, label=messages.label_verification_code()),
        method_submit("code"),
    ]
    if csrf_token is not None:
        nodes.append(csrf_node(csrf_token))
    nodes.append(input_node("email", "code", "submit", value=email, label=messages.label_resend_code()))
    return nodes


def link_nodes(csrf_token: str, email: str | None = None) -> list[Node]:
    """link method, any state before success: csrf, email (its value once submitted), submit."""
    return [csrf_node(csrf_token), email_input("link", _UNSET if email is None else email), method_submit("link")]


def passed_challenge_nodes(csrf_token: str, continue_url: str, group: str) -> list[Node]:
    """After success: the csrf node and the "continue" anchor to the continue URL."""
    return [csrf_node(csrf_token), anchor_node("continue", continue_url, group, messages.label_submit())]


# --- editing helpers (Kratos container semantics) --------------------------------------------------

def find_node(nodes: list[Node], name: str) -> Node | None:
    """The first node whose attributes name (or anchor id) is ``name``."""
    for node in nodes:
        attributes = node.get("attributes", {})
        if attributes.get("name", attributes.get("id")) == name:
            return node
    return None


def upsert_node(nodes: list[Node], new: Node) -> None:
    """Replace the first node with the same name in place, or append ``new``."""
    name = new["attributes"].get("name", new["attributes"].get("id"))
    for index, node in enumerate(nodes):
        attributes = node.get("attributes", {})
        if attributes.get("name", attributes.get("id")) == name:
            nodes[index] = new
            return
    nodes.append(new)


def set_csrf(nodes: list[Node], token: str) -> None:
    """Set (upsert) the csrf_token node to ``token``."""
    upsert_node(nodes, csrf_node(token))


def add_message(ui: dict[str, Any], message: dict[str, Any], field: str | None = None) -> None:
    """Attach ``message`` to the flow, or to the node named ``field`` (appending a bare text input for it when
    there is none)."""
    if field is None:
        ui.setdefault("messages", []).append(message)
        return
    node = find_node(ui["nodes"], field)
    if node is None:
        node = input_node(field, "default", "text")
        ui["nodes"].append(node)
    node["messages"].append(message)


def reset_messages(ui: dict[str, Any]) -> None:
    """Clear the flow's messages and those of every node."""
    ui["messages"] = []
    for node in ui["nodes"]:
        node["messages"] = []
