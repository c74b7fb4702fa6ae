"""The vocabulary the verification flow logic is written in (framework-free).

Contract:
- ``ClientRequest``: what the logic knows of one HTTP request (method, URL, query, lower-case headers, cookies),
  and how Kratos classifies it (``is_json``, ``is_browser``).
- ``Outcome``: the answer, a JSON ``body`` with ``status`` or a 303 to ``location``, and the CSRF cookie secret
  to set (``csrf_secret``). A body with an ``error`` member is an error document.
- ``Attempt``: one submission: the request, its CSRF state and the decoded body.
- A verification method either answers (``Outcome``), succeeds (None: the handler answers with the flow), or
  stops with one of three problems: ``NotResponsible`` (it does not handle this submission; 4010006 follows),
  ``Invalid`` (validation messages that are recorded on the flow, answered 400) or ``Refused`` (an error
  document answered as such with ``status``; the flow is left as it was stored).
- Helpers: ``parse_flow_id`` (canonical UUID or None), ``with_query`` (set query parameters), ``return_to_of``
  (the return_to of a flow's request URL).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .bodies import Decoded
from .csrf import RequestCsrf
from .messages import Message
from .negotiation import is_browser_request, is_json_request


@dataclass(frozen=True)
class ClientRequest:
    """What the state machine needs to know about one HTTP request (headers keyed lower-case)."""

    method: str
    url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    cookies: Mapping[str, str]

    @property
    def is_json(self) -> bool:
        """Kratos's IsJSONRequest (Accept negotiates JSON, or Content-Type is application/json)."""
        return is_json_request(self.headers)

    @property
    def is_browser(self) -> bool:
        """Kratos's IsBrowserRequest (Accept alone negotiates text/html)."""
        return is_browser_request(self.headers)


@dataclass
class Outcome:
    """The answer: a JSON ``body`` with ``status``, or a redirect (``location``, status 303)."""

    status: int
    body: Any = None
    location: str | None = None
    csrf_secret: bytes | None = None
    #: headers the answer carries besides the usual ones (only faults set any)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    """One submission to a flow: the request, its CSRF state and its decoded body."""

    req: ClientRequest
    csrf: RequestCsrf
    body: Decoded


class NotResponsible(Exception):
    """The flow's method does not handle this submission."""


class Invalid(Exception):
    """Validation problems to record on the flow: (field or None for the flow itself, message)."""

    def __init__(self, *problems: tuple[str | None, Message]) -> None:
        super().__init__(problems)
        self.problems = problems


class Refused(Exception):
    """An error document (the inner ``error`` object) answered with ``status`` instead of the flow."""

    def __init__(self, error: dict[str, Any], status: int) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def parse_flow_id(value: str | None) -> str | None:
    """The canonical form of a UUID, or None for a missing, malformed or nil UUID."""
    if not value or len(value) > 64:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return None if parsed.int == 0 else str(parsed)


def with_query(url: str, **params: str) -> str:
    """``url`` with the given query parameters set (other parameters kept)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def return_to_of(request_url: str) -> str:
    """The return_to query value of a flow's request URL ("" when none)."""
    return dict(parse_qsl(urlsplit(request_url).query, keep_blank_values=True)).get("return_to", "")
