"""Test helpers for the reference target: an SMTP sink, the three client kinds and small flow helpers.

Everything talks to the target over HTTP and SMTP only (as the suite does).
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import httpx
from aiosmtpd.controller import Controller

from kratos_conformance.reference import RunningTarget

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JSON_ACCEPT = "application/json"
AXIOS_ACCEPT = "application/json, text/plain, */*"

# the start_target fixture: start_target(**config_overrides) -> RunningTarget (stopped after the test)
StartTarget = Callable[..., RunningTarget]


@dataclass(frozen=True)
class Mail:
    """One received mail."""

    recipient: str
    subject: str
    text: str

    @property
    def code(self) -> str:
        """The 6-digit code in the subject."""
        found = re.search(r"Use code (\d{6}) to verify", self.subject)
        assert found, f"no code in subject {self.subject!r}"
        return found.group(1)

    @property
    def link(self) -> str:
        """The first self-service verification link in the text."""
        found = re.search(r"https?://\S+/self-service/verification\?\S+", self.text)
        assert found, f"no link in {self.text!r}"
        return found.group(0)


class SinkHandler:
    """aiosmtpd handler that keeps every message and wakes waiters."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.condition = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        with self.condition:
            for recipient in envelope.rcpt_tos:
                self.mails.append(Mail(recipient.lower(), str(parsed["Subject"]), text))
            self.condition.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 collecting mails; ``wait_for`` blocks (bounded) for a recipient's mail."""

    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def mails_to(self, recipient: str) -> list[Mail]:
        with self.handler.condition:
            return [m for m in self.handler.mails if m.recipient == recipient.lower()]

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 5.0) -> Mail:
        """The ``count``-th mail to ``recipient`` (waits up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self.handler.condition:
            while True:
                found = [m for m in self.handler.mails if m.recipient == recipient.lower()]
                if len(found) >= count:
                    return found[count - 1]
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no mail #{count} to {recipient} within {timeout}s"
                self.handler.condition.wait(remaining)

    def assert_no_mail(self, recipient: str, settle: float = 0.4) -> None:
        """Give the courier a moment, then assert nothing reached ``recipient``."""
        time.sleep(settle)
        assert self.mails_to(recipient) == []


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_email() -> str:
    """A fresh address no other test uses."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


# --- clients ------------------------------------------------------------------------------------------

def native_client() -> httpx.Client:
    """A native app: JSON Accept; cookies are dropped after every response (it keeps none)."""
    def forget_cookies(response: httpx.Response) -> None:
        client.cookies.clear()

    client = httpx.Client(headers={"Accept": JSON_ACCEPT}, follow_redirects=False, timeout=10,
                          event_hooks={"response": [forget_cookies]})
    return client


def browser_client() -> httpx.Client:
    """A browser without JavaScript: HTML Accept, keeps cookies, sees redirects."""
    return httpx.Client(headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False, timeout=10)


def spa_client() -> httpx.Client:
    """A single-page app: JSON Accept (axios style) and cookies kept."""
    return httpx.Client(headers={"Accept": AXIOS_ACCEPT}, follow_redirects=False, timeout=10)


def create_identity(admin_url: str, email: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Create an identity through the admin API and return its JSON."""
    response = httpx.post(admin_url + "admin/identities", json={"schema_id": "default", "traits": {"email": email}},
                          headers=headers or {}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def get_identity(admin_url: str, identity_id: str) -> dict[str, Any]:
    response = httpx.get(admin_url + f"admin/identities/{identity_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def message_ids(container: dict[str, Any]) -> list[int]:
    """The ids of ``ui.messages`` of a flow JSON (or of a ui dict)."""
    ui = container.get("ui", container)
    return [m["id"] for m in ui.get("messages", [])]


def node(flow: dict[str, Any], name: str, node_type: str | None = None) -> dict[str, Any]:
    """The first node named ``name`` (input name or anchor id), optionally of an input type."""
    for item in flow["ui"]["nodes"]:
        attributes = item["attributes"]
        if attributes.get("name", attributes.get("id")) == name and (
                node_type is None or attributes.get("type") == node_type):
            return item
    raise AssertionError(f"no node {name!r} in {[n['attributes'] for n in flow['ui']['nodes']]}")


def csrf_token(flow: dict[str, Any]) -> str:
    return str(node(flow, "csrf_token")["attributes"].get("value", ""))


def query_param(url: str, name: str) -> str:
    values = parse_qs(urlsplit(url).query).get(name)
    assert values, f"no {name} in {url}"
    return values[0]


class FormParser(HTMLParser):
    """Collects the verification form of the UI page: action, method, inputs, buttons, anchors, messages."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = ""
        self.inputs: list[dict[str, str]] = []
        self.buttons: list[dict[str, str]] = []
        self.anchors: list[dict[str, str]] = []
        self.message_ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action, self.method = attributes.get("action", ""), attributes.get("method", "")
        elif tag == "input":
            self.inputs.append(attributes)
        elif tag == "button":
            self.buttons.append(attributes)
        elif tag == "a":
            self.anchors.append(attributes)
        elif "data-message-id" in attributes:
            self.message_ids.append(attributes["data-message-id"])


def parse_page(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser
