"""HTTP readers: read the verification mail a deployment's mail catcher holds, through the catcher's own HTTP API.

Every reader implements :class:`~kratos_conformance.mail.source.MailSource`:

* ``name``: the catcher (``mailpit``, ``mailhog``, ``mailslurper``, ``maildev``), used in messages and reports;
* ``check()``: one request to the API; raises :class:`~kratos_conformance.errors.CannotJudge` with one line naming the
  catcher and its URL when the API cannot be reached (connect timeout 2 s), answers with an error status, or does
  not answer the way that catcher does (so a Mailpit URL given as ``mailhog:`` is reported, not misread);
* ``messages_to(address)``: every mail held for ``address`` (recipient matched case-insensitively, on the envelope
  and header recipients the catcher reports), oldest first, each with a stable string id (the catcher's own id),
  so ``wait_for_mail(..., ignore=ids)`` works. A failure of the API while reading raises ``CannotJudge`` as well;
* ``clear()``: delete every mail the catcher holds; ``close()``: release the HTTP connection pool.

A mail's content never changes once a catcher has it, so each reader parses a mail once and keeps it by id; polling
only lists what is there.

What each reader relies on (read from the catchers' own sources; URLs are the API root a user passes):

Mailpit (axllent/mailpit, ``server/apiv1``, ``internal/storage``)
    ``GET /api/v1/messages?limit=N`` and ``GET /api/v1/search?query=Q&limit=N`` both answer a summary object whose
    ``messages`` list holds ``MessageSummary`` objects, newest first. Their keys are Go field names: ``ID``,
    ``MessageID``, ``From`` (``{"Name", "Address"}``), ``To``/``Cc``/``Bcc``/``ReplyTo`` (lists of those, or
    ``null``), ``Subject``, ``Created`` (RFC 3339 receive time), ``Snippet``... The search term ``to:ADDR`` is a
    case-insensitive substring match on the To addresses. ``GET /api/v1/message/{ID}/raw`` answers the message
    exactly as received (``text/plain``); unlike ``GET /api/v1/message/{ID}`` it does not mark the mail read. The
    reader parses that raw message. ``DELETE /api/v1/messages`` with no ids deletes everything.

MailHog (mailhog/MailHog-Server ``api/v2.go``, mailhog/data ``message.go``, mailhog/storage)
    ``GET /api/v2/search?kind=to&query=ADDR&limit=N`` (and ``GET /api/v2/messages``) answer
    ``{"total", "count", "start", "items"}`` with content type ``text/json``; ``limit`` is capped at 250 and items
    come newest first. The ``to`` search is a case-insensitive substring match on the envelope recipients and the
    To header. An item is a ``data.Message``: ``ID`` (``<random>@<hostname>``), ``From`` and ``To`` as SMTP paths
    (``{"Relays", "Mailbox", "Domain", "Params"}``), ``Content`` (``{"Headers": {name: [values]}, "Body", "Size",
    "MIME"}``), ``Created`` (RFC 3339 with nanoseconds and the server's offset), ``MIME`` (``{"Parts": [Content]}``
    or ``null``) and ``Raw`` (``{"From", "To": [recipients], "Data": the message as received, "Helo"}``). The reader
    parses ``Raw.Data``; when it is missing it rebuilds the message from ``Content.Headers`` and ``Content.Body``
    (the MIME parts are in that body). ``DELETE /api/v1/messages`` deletes everything.

MailSlurper (mailslurper/mailslurper ``cmd/mailslurper``, ``pkg/mailslurper``; the service port, 4437 in Kratos's
own e2e setup)
    ``GET /mail?pageNumber=P&to=ADDR&orderby=date&dir=asc`` answers ``{"mailItems", "totalPages",
    "totalRecords"}`` with 50 items a page. ``to`` is a SQL ``LIKE %ADDR%`` on the stored recipient list (case-
    insensitive in SQLite); ``dir=asc`` orders by ``dateSent``. A mail item has ``id`` (UUID), ``dateSent``
    (``YYYY-MM-DD HH:MM:SS``, taken from the mail's Date header, no zone, whole seconds), ``fromAddress``,
    ``toAddresses`` (the RCPT TO addresses), ``subject``, ``body``, ``contentType``, ``boundary``, ``attachments``...
    There is no raw message: ``body`` is the HTML part when there is one, else the text part, passed through an
    HTML sanitizer; a single-part ``text/plain`` mail has its newlines turned into ``<br />``, and a single-part
    body is stored without undoing quoted-printable (the reader undoes it when it sees ``=3D``). So the reader takes
    the HTML from ``body`` and derives the text from it. ``GET /mailcount`` answers ``{"mailCount": n}``;
    ``DELETE /mail`` with ``{"pruneCode": "all"}`` deletes everything. Ordering within one second is the
    server's; services behind MailSlurper's login are not supported.

MailDev (npm ``maildev``; 2.x ``lib/routes.js`` and ``lib/mailserver.js``, 3.x ``packages/api/src/server.ts``)
    2.x serves its API at the root (after any ``--base-pathname``), 3.x under ``/api``: ``check()`` finds which by
    asking ``/healthz`` then ``/api/healthz`` for the JSON ``true``. ``GET /email`` answers every mail in arrival
    order (oldest first), each ``{"id", "time", "subject", "text", "html", "headers", "from": [{"address",
    "name"}], "to": [...], "cc": [...], "envelope": {"from", "to": [{"address", "args"}]}, "read", ...}``. The
    reader takes ``text``, ``html`` and the recipients (envelope and To/Cc) from there. ``DELETE /email/all``
    deletes everything.
"""

from __future__ import annotations

import functools
import html as html_lib
import quopri
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from kratos_conformance.errors import CannotJudge, first_line
from kratos_conformance.mail.message import Mail, mail_from_bytes
from kratos_conformance.mail.source import MailSource
from kratos_conformance.wire.clients import request_within
from kratos_conformance.wire.http_transport import new_transport

__all__ = [
    "HttpMailReader", "MailDevReader", "MailHogReader", "MailSlurperReader", "MailpitReader", "READERS", "open_reader",
]

#: seconds to open a connection: check() must give up quickly on an unreachable catcher.
CONNECT_TIMEOUT = 2.0
#: seconds for a whole answer once connected (a catcher dripping its answer is cut there too).
READ_TIMEOUT = 5.0


@dataclass(frozen=True)
class _Listed:
    """One mail as a catcher's listing names it: its id, and how to turn it into a :class:`Mail` (called once)."""

    id: str
    load: Callable[[], Mail]


class HttpMailReader:
    """Shared plumbing of the HTTP readers: one ``httpx.Client`` on the catcher's API root, requests whose failures
    become one-line :class:`CannotJudge` errors, and the per-id cache behind :meth:`messages_to`.

    Subclasses set ``name``, ``probe`` (the request that proves the API is this catcher's) and ``delete_all``, and
    implement :meth:`_list` (the catcher's mails that may be for an address, oldest first).
    """

    name: ClassVar[str] = "http"
    #: each look is an HTTP round trip to the catcher: do not hammer it.
    poll_interval: ClassVar[float] = 0.1
    #: what check() asks: the path, its query, and the key (with its JSON type) this catcher's answer has.
    probe: ClassVar[tuple[str, dict[str, Any], str, type]]
    #: how clear() deletes every mail: the method, the path and the JSON body (None for none).
    delete_all: ClassVar[tuple[str, str, Any]]

    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            headers={"Accept": "application/json"},
            transport=transport or new_transport(),
        )
        self._mails: dict[str, Mail] = {}

    # -- the MailSource contract ----------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`CannotJudge` (one line, naming the catcher and URL) unless the catcher's API answers."""
        self._probe()

    def idle(self, seconds: float) -> None:
        """A catcher cannot say when mail arrives: sleep."""
        time.sleep(seconds)

    def messages_to(self, address: str) -> list[Mail]:
        """Every mail the catcher holds for ``address`` (case-insensitive), oldest first."""
        found: list[Mail] = []
        try:
            for listed in self._list(address.strip()):
                mail = self._mails.get(listed.id)
                if mail is None:
                    mail = self._mails[listed.id] = listed.load()
                if mail.is_to(address):
                    found.append(mail)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError, RecursionError) as exc:
            raise self._fail(f"an answer about the mail for {address} has a shape the suite cannot read "
                             f"({type(exc).__name__}: {first_line(exc, 80)}): is this {self.name}'s API?") from None
        return found

    def clear(self) -> None:
        """Delete every mail the catcher holds."""
        self._delete_all()
        self._mails.clear()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> HttpMailReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- what each catcher implements -----------------------------------------------------------------------------

    def _probe(self) -> None:
        path, params, key, kind = self.probe
        self._field(self._get_json(path, params), key, kind, path)

    def _list(self, address: str) -> Iterable[_Listed]:
        raise NotImplementedError

    def _delete_all(self) -> None:
        method, path, body = self.delete_all
        self._send(method, path, json=body)

    # -- HTTP plumbing --------------------------------------------------------------------------------------------

    def _fail(self, why: str) -> CannotJudge:
        return CannotJudge(" ".join(f"mail source {self.name} at {self.url}: {why}".split()))

    def _send(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> httpx.Response:
        """One request. Transport failures and error statuses raise CannotJudge, except a 404 or 405 when
        ``missing_ok`` (used to find which path a catcher serves)."""
        try:
            response = request_within(self._client, method, path, deadline=READ_TIMEOUT, **kwargs)
        except httpx.TimeoutException:
            limits = f"connect {CONNECT_TIMEOUT:g}s, read {READ_TIMEOUT:g}s"
            raise self._fail(f"{method} {path} timed out ({limits})") from None
        except httpx.HTTPError as exc:
            raise self._fail(f"{method} {path} failed: {type(exc).__name__}: {exc}") from None
        if response.is_error and not (missing_ok and response.status_code in (404, 405)):
            raise self._fail(f"{method} {path} answered {response.status_code} {response.reason_phrase}")
        return response

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None, *, missing_ok: bool = False) -> Any:
        """GET ``path`` and decode its JSON. CannotJudge if the answer is not JSON; with ``missing_ok``, a missing
        path or an answer that is not JSON gives None instead."""
        response = self._send("GET", path, params=params, missing_ok=missing_ok)
        try:
            return response.json() if not response.is_error else None
        except (ValueError, RecursionError):
            if missing_ok:
                return None
            raise self._fail(f"GET {path} did not answer JSON: is this {self.name}'s API?") from None

    def _field(self, data: Any, key: str, kind: type, path: str) -> Any:
        """``data[key]`` if ``data`` is an object whose ``key`` has type ``kind``; else CannotJudge."""
        value = data.get(key) if isinstance(data, dict) else None
        if not isinstance(value, kind):
            raise self._fail(f"GET {path} answered without a {kind.__name__} {key!r}: is this {self.name}'s API?")
        return value


class MailpitReader(HttpMailReader):
    """Mailpit: searches ``to:ADDRESS`` and parses each hit's raw message (``/api/v1/message/{ID}/raw``)."""

    name = "mailpit"
    probe = ("/api/v1/messages", {"limit": 1}, "messages", list)
    delete_all = ("DELETE", "/api/v1/messages", None)
    #: newest hits a search asks for (Mailpit's default page is 50).
    page_size = 250

    def _list(self, address: str) -> list[_Listed]:
        data = self._get_json("/api/v1/search", {"query": f"to:{address}", "limit": self.page_size})
        summaries = self._field(data, "messages", list, "/api/v1/search")
        # Mailpit answers newest first
        return [_Listed(str(s["ID"]), functools.partial(self._load, s)) for s in reversed(summaries)]

    def _load(self, summary: dict[str, Any]) -> Mail:
        mail_id = str(summary["ID"])
        response = self._send("GET", f"/api/v1/message/{quote(mail_id, safe='')}/raw")
        recipients = _addresses([*(summary.get("To") or []), *(summary.get("Cc") or []), *(summary.get("Bcc") or [])])
        return mail_from_bytes(mail_id, response.content, recipients, _timestamp(summary.get("Created")))


class MailHogReader(HttpMailReader):
    """MailHog: searches ``kind=to`` (API v2) and parses each item's ``Raw.Data``."""

    name = "mailhog"
    probe = ("/api/v2/messages", {"limit": 1}, "items", list)
    delete_all = ("DELETE", "/api/v1/messages", None)
    #: MailHog caps ``limit`` at 250.
    page_size = 250

    def _list(self, address: str) -> list[_Listed]:
        data = self._get_json("/api/v2/search", {"kind": "to", "query": address, "limit": self.page_size})
        items = self._field(data, "items", list, "/api/v2/search")  # newest first
        return [_Listed(str(item["ID"]), functools.partial(_mailhog_mail, item)) for item in reversed(items)]


class MailSlurperReader(HttpMailReader):
    """MailSlurper (service API): pages through ``/mail?to=ADDRESS``; builds each mail from its ``body``."""

    name = "mailslurper"
    probe = ("/mailcount", {}, "mailCount", int)
    delete_all = ("DELETE", "/mail", {"pruneCode": "all"})
    #: at 50 mails a page, the most a listing reads.
    max_pages = 20

    def _list(self, address: str) -> list[_Listed]:
        listed: list[_Listed] = []
        page, pages = 1, 1
        while page <= min(pages, self.max_pages):
            params = {"pageNumber": page, "to": address, "orderby": "date", "dir": "asc"}
            data = self._get_json("/mail", params)
            items = self._field(data, "mailItems", list, "/mail")
            pages = int(data.get("totalPages") or 0)
            listed += [_Listed(str(item["id"]), functools.partial(_mailslurper_mail, item)) for item in items]
            page += 1
        return listed


class MailDevReader(HttpMailReader):
    """MailDev (2.x at the root, 3.x under ``/api``): lists ``/email`` and reads each mail's JSON."""

    name = "maildev"

    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(url, transport=transport)
        self._api: str | None = None

    def _probe(self) -> None:
        for prefix in ("", "/api"):
            if self._get_json(f"{prefix}/healthz", missing_ok=True) is True:
                self._api = prefix
                return
        raise self._fail("neither /healthz nor /api/healthz answered true: is this MailDev's web port?")

    def _prefix(self) -> str:
        if self._api is None:
            self._probe()
        return self._api or ""

    def _list(self, address: str) -> list[_Listed]:
        path = f"{self._prefix()}/email"
        items = self._get_json(path)
        if not isinstance(items, list):
            raise self._fail(f"GET {path} answered {type(items).__name__}, not a list: is this MailDev's API?")
        return [_Listed(str(item["id"]), functools.partial(_maildev_mail, item)) for item in items]  # arrival order

    def _delete_all(self) -> None:
        self._send("DELETE", f"{self._prefix()}/email/all")  # the prefix is only known once probed


#: the readers by ``--mail-source`` kind.
READERS: dict[str, type[HttpMailReader]] = {
    reader.name: reader for reader in (MailpitReader, MailHogReader, MailSlurperReader, MailDevReader)
}


def open_reader(kind: str, url: str) -> MailSource:
    """The reader for ``kind`` on ``url`` (not yet checked: call ``check()``); CannotJudge for an unknown kind."""
    reader = READERS.get(kind)
    if reader is None:
        raise CannotJudge(f"--mail-source: no HTTP reader for {kind!r} (known: {', '.join(READERS)})")
    return reader(url)


# -- turning each catcher's JSON into a Mail -------------------------------------------------------------------------


def _addresses(values: Iterable[Any]) -> tuple[str, ...]:
    """Bare addresses from the shapes catchers use: strings, ``{"address"}``/``{"Address"}`` objects, SMTP paths."""
    found: list[str] = []
    for value in values:
        if isinstance(value, dict):
            if "Mailbox" in value:  # a MailHog SMTP path
                value = "@".join(part for part in (value.get("Mailbox"), value.get("Domain")) if part)
            else:
                value = value.get("address") or value.get("Address") or ""
        address = str(value).strip().strip("<>").strip()
        if address and address.lower() not in (a.lower() for a in found):
            found.append(address)
    return tuple(found)


def _timestamp(value: Any) -> float:
    """Seconds since the epoch from an ISO 8601 / RFC 3339 time (zone-less counts as UTC); 0.0 if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return 0.0
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return 0.0
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _mailhog_mail(item: dict[str, Any]) -> Mail:
    raw = (item.get("Raw") or {}).get("Data")
    if raw:
        data = raw.encode("utf-8", "surrogateescape")
    else:  # rebuild the message from the parsed headers and body (the MIME parts are in the body)
        content = item.get("Content") or {}
        headers = "".join(f"{k}: {v}\r\n" for k, vs in (content.get("Headers") or {}).items() for v in vs)
        data = f"{headers}\r\n{content.get('Body', '')}".encode("utf-8", "surrogateescape")
    mail = mail_from_bytes(str(item["ID"]), data, received_at=_timestamp(item.get("Created")))
    envelope_to = [*((item.get("Raw") or {}).get("To") or []), *(item.get("To") or [])]
    return replace(mail, recipients=_addresses([*envelope_to, *mail.recipients]))


_TAG = re.compile(r"<[^>]*>")
_LINE_BREAK = re.compile(r"<br\s*/?>|</(?:p|div|tr|h\d|li)>", re.IGNORECASE)


def _text_of_html(markup: str) -> str:
    """The readable text of an HTML fragment: line breaks kept, tags dropped, entities decoded."""
    return html_lib.unescape(_TAG.sub("", _LINE_BREAK.sub("\n", markup)))


def _mailslurper_mail(item: dict[str, Any]) -> Mail:
    body = str(item.get("body") or "")
    content_type = str(item.get("contentType") or "").lower()
    plain = content_type.startswith("text/plain")
    if plain:  # MailSlurper turned the newlines of a text/plain body into <br />
        body = re.sub(r"\r?<br />", "\n", body)
    if not content_type.startswith("multipart/") and re.search(r"=3D|=\r?\n", body):  # stored still encoded
        body = quopri.decodestring(body.encode()).decode("utf-8", "replace")
    is_html = not plain and _TAG.search(body) is not None
    return Mail(
        id=str(item["id"]),
        recipients=_addresses(item.get("toAddresses") or []),
        subject=str(item.get("subject") or ""),
        text=_text_of_html(body),
        html=body if is_html else "",
        sender=str(item.get("fromAddress") or ""),
        received_at=_timestamp(item.get("dateSent")),
    )


def _maildev_mail(item: dict[str, Any]) -> Mail:
    envelope_to = (item.get("envelope") or {}).get("to") or []
    sender = _addresses(item.get("from") or [])
    return Mail(
        id=str(item["id"]),
        recipients=_addresses([*envelope_to, *(item.get("to") or []), *(item.get("cc") or [])]),
        subject=str(item.get("subject") or ""),
        text=str(item.get("text") or ""),
        html=str(item.get("html") or ""),
        sender=sender[0] if sender else "",
        received_at=_timestamp(item.get("time")),
        raw_headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
    )
