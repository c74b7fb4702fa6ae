"""Test helpers for the reference target: an SMTP sink, the three client kinds and small flow helpers.

Everything talks to the target over HTTP and SMTP only (as the suite does).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from kratos_conformance.mail import SmtpSink as LibrarySmtpSink
from kratos_reference import RunningTarget

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


class SmtpSink:
    """The suite's real SMTP sink (kratos_conformance.mail.SmtpSink) with the reference tests' conveniences:
    ``start``/``stop``, mails as :class:`Mail`, and ``wait_for`` the ``count``-th mail to a recipient."""

    def __init__(self) -> None:
        self._sink: LibrarySmtpSink | None = None

    @property
    def url(self) -> str:
        assert self._sink is not None, "start() the sink first"
        return self._sink.url

    def start(self) -> None:
        self._sink = LibrarySmtpSink()

    def stop(self) -> None:
        if self._sink is not None:
            self._sink.close()

    def mails_to(self, recipient: str) -> list[Mail]:
        assert self._sink is not None, "start() the sink first"
        return [Mail(recipient.lower(), m.subject, m.text) for m in self._sink.messages_to(recipient)]

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 5.0) -> Mail:
        """The ``count``-th mail to ``recipient`` (waits up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.mails_to(recipient)
            if len(found) >= count:
                return found[count - 1]
            assert time.monotonic() < deadline, f"no mail #{count} to {recipient} within {timeout}s"
            assert self._sink is not None
            self._sink.idle(LibrarySmtpSink.poll_interval)

    def assert_no_mail(self, recipient: str, settle: float = 0.4) -> None:
        """Give the courier a moment, then assert nothing reached ``recipient``."""
        time.sleep(settle)
        assert self.mails_to(recipient) == []


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
