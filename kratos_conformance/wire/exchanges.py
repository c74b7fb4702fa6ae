"""Recorded HTTP exchanges: what was sent and what came back, with secrets redacted at recording time.

An :class:`Exchange` keeps the live ``httpx.Response`` for the checks to read (``exchange.json()``,
``exchange.response``) and a redacted copy of both sides for everything that is shown or written
(failure messages, reports). :class:`Recorder` collects exchanges and tells its listeners about each one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from kratos_conformance.rules.contract import load_contract, operations
from kratos_conformance.rules.response_rules import Answer
from kratos_conformance.wire.media_types import media_type
from kratos_conformance.wire.redact import redact_body, redact_headers, redact_url, redact_values, sent_secrets

#: operationIds of the contract, keyed by (METHOD, path suffix after the public base path): read from the contract,
#: the one place they are written.
OPERATIONS: dict[tuple[str, str], str] = {
    (method, path.lstrip("/")): op["operationId"] for method, path, op in operations(load_contract())
}


def operation_of(method: str, url: str) -> str:
    """The contract operationId a request belongs to, or ``METHOD path`` for anything else (admin, UI)."""
    path = urlsplit(url).path.rstrip("/")
    for (m, suffix), op in OPERATIONS.items():
        if m == method.upper() and path.endswith("/" + suffix):
            return op
    return f"{method.upper()} {urlsplit(url).path}"


@dataclass
class Exchange:
    """One request and its response; every string field is already redacted."""

    operation: str
    client_kind: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    elapsed: float
    started_at: float
    response: httpx.Response = field(repr=False, compare=False)
    #: the secrets the request carried (cookie values, tokens, codes): taken out of the answer as recorded here,
    #: and out of the detail of a check that cites this exchange; never shown.
    sent_secrets: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def record(cls, response: httpx.Response, client_kind: str, started_at: float, elapsed: float) -> Exchange:
        """Build the redacted record of ``response`` (and its request)."""
        request = response.request
        req_body = request.content if hasattr(request, "_content") else b""
        secrets = frozenset(sent_secrets(request.headers.multi_items(), str(request.url), req_body,
                                         request.headers.get("content-type")))
        return cls(
            operation=operation_of(request.method, str(request.url)),
            client_kind=client_kind,
            method=request.method,
            url=redact_url(str(request.url)),
            request_headers=redact_headers(request.headers.multi_items()),
            request_body=redact_body(req_body, request.headers.get("content-type")),
            status=response.status_code,
            response_headers=[(k, redact_values(v, secrets))
                              for k, v in redact_headers(response.headers.multi_items())],
            response_body=redact_body(response.content, response.headers.get("content-type"), also=secrets),
            elapsed=elapsed,
            started_at=started_at,
            response=response,
            sent_secrets=secrets,
        )

    # -- reading the live response (for checks; never printed) -------------------------------------------------
    def json(self) -> Any:
        """The response body parsed as JSON; raises ValueError if it is not JSON (also when it is nested deeper
        than Python decodes, which the decoder reports as a RecursionError)."""
        try:
            return json.loads(self.response.content)
        except RecursionError:
            raise ValueError("JSON nested too deep to read") from None

    @property
    def answer(self) -> Answer:
        """The response as the response rules read it
        (:func:`~kratos_conformance.rules.response_rules.judge_answer`)."""
        return Answer(self.operation, self.status, tuple(self.response.headers.multi_items()),
                      self.response.content)

    def header(self, name: str) -> str | None:
        """A response header (live value)."""
        return self.response.headers.get(name)

    @property
    def error_id(self) -> str | None:
        """The ``error.id`` a JSON error answer carries (None when the body is not one, or names none)."""
        try:
            doc = self.json()
        except ValueError:
            return None
        err = doc.get("error") if isinstance(doc, dict) else None
        found = err.get("id") if isinstance(err, dict) else None
        return found if isinstance(found, str) else None

    @property
    def location(self) -> str | None:
        """The live ``Location`` header, if any."""
        return self.response.headers.get("location")

    @property
    def locations(self) -> list[str]:
        """Every live ``Location`` header (a redirect carries one)."""
        return self.response.headers.get_list("location")

    @property
    def set_cookies(self) -> list[str]:
        """Every live ``Set-Cookie`` header value."""
        return self.response.headers.get_list("set-cookie")

    @property
    def content_type(self) -> str:
        """The response media type without parameters, lower case ("" if none)."""
        return media_type(self.response.headers.get("content-type"))

    # -- showing it (redacted) -------------------------------------------------------------------------------
    def render(self, max_body: int = 4000) -> str:
        """A readable, redacted transcript of the exchange (request line, headers, bodies)."""
        lines = [f"> {self.method} {self.url}   [{self.operation}, {self.client_kind} client]"]
        lines += [f"> {k}: {v}" for k, v in self.request_headers if k.lower() not in ("user-agent", "accept-encoding")]
        if self.request_body:
            lines.append(">")
            lines += [f"> {line}" for line in _clip(self.request_body, max_body).splitlines()]
        lines.append(f"< {self.status}  ({self.elapsed * 1000:.0f} ms)")
        lines += [f"< {k}: {v}" for k, v in self.response_headers]
        if self.response_body:
            lines.append("<")
            lines += [f"< {line}" for line in _clip(self.response_body, max_body).splitlines()]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The redacted record as plain data (for reports)."""
        return {
            "operation": self.operation,
            "client_kind": self.client_kind,
            "method": self.method,
            "url": self.url,
            "request_headers": self.request_headers,
            "request_body": self.request_body,
            "status": self.status,
            "response_headers": self.response_headers,
            "response_body": self.response_body,
            "elapsed": self.elapsed,
        }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


Listener = Callable[[Exchange], None]


class Recorder:
    """Collects exchanges in order and notifies listeners (the pytest plugin attaches one per test)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._listeners: list[Listener] = []
        self._held: list[list[Exchange]] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @contextmanager
    def hold(self) -> Iterator[list[Exchange]]:
        """Inside the block, exchanges go to the yielded list only: no listener hears of them until they are
        given to :meth:`record` (work done ahead of the test it serves, see :mod:`kratos_conformance.flows.ahead`)."""
        held: list[Exchange] = []
        self._held.append(held)
        try:
            yield held
        finally:
            self._held.remove(held)

    def record(self, exchange: Exchange) -> None:
        """Keep ``exchange`` and tell every listener; a listener's failure is raised after all were told."""
        if self._held:
            self._held[-1].append(exchange)
            return
        self.exchanges.append(exchange)
        failure: BaseException | None = None
        for listener in list(self._listeners):
            try:
                listener(exchange)
            except Exception as exc:  # noqa: BLE001 - re-raised below, once every listener has seen the exchange
                failure = failure or exc
        if failure is not None:
            raise failure


def now() -> float:
    """Monotonic clock used for exchange timings."""
    return time.monotonic()
