"""The HTTP mail readers read real mail back through each catcher's API.

Mailpit and MailDev run for real (``.tools/bin/mailpit``, built from the Go module proxy by
``scripts/install-mailpit.sh``; ``node_modules/.bin/maildev``, installed by ``scripts/install-node-tools.sh``) and get
real mail over SMTP. MailHog and MailSlurper cannot be installed here (their Go modules do not build from the proxy),
so each is stood in for by a local HTTP server answering the same paths with bodies shaped exactly like the real
API's (the shapes come from the projects' sources: see each fake), built from real RFC 5322 messages.
"""

from __future__ import annotations

import email.policy
import json
import os
import re
import secrets
import shutil
import smtplib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail import free_port, open_mail_source, parse_mail_source, wait_for_mail
from kratos_conformance.mail.http_readers import HttpMailReader, MailpitReader, open_reader

ROOT = Path(__file__).resolve().parents[1]
MAILDEV = ROOT / "node_modules" / ".bin" / "maildev"
MAILPIT = ROOT / ".tools" / "bin" / "mailpit"
TOKEN = "Zx9Qm2Lp7Rt4Vb8Nc3Hk6Jd1Fg5Ws0Ya"  # 32 characters, like a link-method token
CODE_LINK = "http://127.0.0.1:4433/self-service/verification?flow=F-code&code=123456"
TOKEN_LINK = f"http://127.0.0.1:4433/self-service/verification?flow=F&token={TOKEN}"


# -- real messages ----------------------------------------------------------------------------------------------------


def code_mail(to: str) -> EmailMessage:
    """A code-method mail: text only, the code in the subject and the text, a verification link in the text."""
    msg = _headers(to, "Use code 123456 to verify your account")
    msg.set_content(f"Use code 123456 to verify your account.\n\nOr open {CODE_LINK}\n")
    return msg


def link_mail(to: str) -> EmailMessage:
    """A link-method mail: text and HTML alternatives, the token link only in the HTML part's href."""
    msg = _headers(to, "Please verify your email address")
    msg.set_content("Open the HTML part of this mail to verify your account.\n")
    href = TOKEN_LINK.replace("&", "&amp;")
    msg.add_alternative(f'<p>Verify your account by <a href="{href}">following this link</a>.</p>\n', subtype="html")
    return msg


def _headers(to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Ory Kratos <no-reply@kratos.test>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{uuid.uuid4()}@kratos.test>"
    return msg


def wire(msg: EmailMessage) -> bytes:
    """The message as an SMTP client sends it (CRLF line ends)."""
    return msg.as_bytes(policy=email.policy.SMTP)


def header_addresses(msg: EmailMessage, name: str) -> list[tuple[str, str]]:
    return getaddresses([str(v) for v in msg.get_all(name, [])])


def go_time(moment: datetime, digits: int) -> str:
    """A time as Go's encoding/json writes a time.Time (RFC 3339, trailing zeros of the fraction dropped, Z for UTC)."""
    fraction = f"{moment.microsecond:06d}000"[:digits].rstrip("0")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "")
    offset = moment.strftime("%z")
    return text + ("Z" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}")


# -- a local HTTP server for the fakes --------------------------------------------------------------------------------

Answer = tuple[int, str, bytes]  # status, content type, body


def json_answer(data: Any, content_type: str = "application/json") -> Answer:
    return 200, content_type, json.dumps(data).encode()


class FakeCatcher:
    """What a catcher holds and how it answers: subclasses implement ``deliver`` and ``answer``."""

    def deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        raise NotImplementedError

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) that hands every request to a FakeCatcher."""

    def __init__(self, fake: FakeCatcher) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                status, content_type, body = fake.answer(self.command, parts.path, query, self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_DELETE = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


NOT_FOUND: Answer = (404, "text/plain; charset=utf-8", b"404 page not found\n")


def mailhog_content(data: str) -> dict[str, Any]:
    """mailhog/data ContentFromString and ParseMIMEBody: headers split at the first blank line (last value of a
    repeated header wins), multipart bodies split at ``--boundary`` into parts, recursively."""
    head, _, body = data.partition("\r\n\r\n")
    headers: dict[str, list[str]] = {}
    last = ""
    for line in head.split("\r\n"):
        if last and line[:1] in (" ", "\t"):
            headers[last][-1] += line
        elif ": " in line:
            last, value = line.split(": ", 1)
            headers[last] = [value]
    content: dict[str, Any] = {"Headers": headers, "Body": body, "Size": len(data), "MIME": None}
    boundary = re.search(r'boundary="?([^";]+)"?', headers.get("Content-Type", [""])[0])
    if headers.get("Content-Type", [""])[0].startswith("multipart/") and boundary:
        parts = body.split("--" + boundary.group(1))[1:-1]
        content["MIME"] = {"Parts": [mailhog_content(p.strip("\r\n")) for p in parts if p]}
    return content


class FakeMailHog(FakeCatcher):
    """MailHog's API v2. Shapes: mailhog/MailHog-Server api/v2.go (messagesResult {total, count, start, items},
    served as text/json; search kinds from/to/containing), mailhog/data message.go (Message {ID, From, To, Content,
    Created, MIME, Raw}, Path {Relays, Mailbox, Domain, Params}, SMTPMessage {From, To, Data, Helo}; Parse adds
    Message-ID, Received and Return-Path to Content.Headers), api/v1.go (GET /api/v1/messages: a bare list of
    messages; DELETE /api/v1/messages deletes all), mailhog/storage memory.go (search ``to``:
    case-insensitive substring of an envelope recipient or the To header; results newest first)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        data = wire(msg).decode()
        mail_id = secrets.token_urlsafe(32) + "@mailhog.example"
        sender = header_addresses(msg, "From")[0][1]
        content = mailhog_content(data)
        mime, content["MIME"] = content["MIME"], None  # data.Message keeps the parts in Message.MIME
        content["Headers"]["Received"] = [f"from kratos.test by mailhog.example (MailHog)\r\n          id {mail_id}"]
        content["Headers"]["Return-Path"] = [f"<{sender}>"]

        def path(address: str) -> dict[str, Any]:
            mailbox, _, domain = address.partition("@")
            return {"Relays": None, "Mailbox": mailbox, "Domain": domain, "Params": ""}

        self.items.append({
            "ID": mail_id, "From": path(sender), "To": [path(r) for r in recipients], "Content": content,
            "Created": go_time(datetime.now().astimezone(), 9), "MIME": mime,
            "Raw": {"From": sender, "To": recipients, "Data": data, "Helo": "kratos.test"},
        })

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        items = list(reversed(self.items))  # newest first
        if (method, path) == ("GET", "/api/v2/search"):
            wanted = query.get("query", "").lower()
            items = [i for i in items if any(wanted in f"{t['Mailbox']}@{t['Domain']}".lower() for t in i["To"])
                     or any(wanted in v.lower() for v in i["Content"]["Headers"].get("To", []))]
        elif (method, path) == ("GET", "/api/v1/messages"):  # API v1 (api/v1.go) answers a bare list
            return json_answer(items, "text/json")
        elif (method, path) != ("GET", "/api/v2/messages"):
            if (method, path) == ("DELETE", "/api/v1/messages"):
                self.items.clear()
                return 200, "text/plain", b""
            return NOT_FOUND
        limit = min(int(query.get("limit") or 50), 250)
        page = items[:limit]
        return json_answer({"total": len(items), "count": len(page), "start": 0, "items": page}, "text/json")


def slurper_sanitize(markup: str) -> str:
    """What MailSlurper's HTML sanitizer (bluemonday's user-content policy) does to our bodies: text ``&`` becomes
    ``&amp;`` and links get ``rel="nofollow"``."""
    markup = re.sub(r"&(?!amp;)", "&amp;", markup)
    return re.sub(r'<a href="([^"]*)">', r'<a href="\1" rel="nofollow">', markup)


class FakeMailSlurper(FakeCatcher):
    """MailSlurper's service API. Shapes: mailslurper/mailslurper cmd/mailslurper/setupServicesListener.go
    (GET /mail, GET /mailcount, DELETE /mail), controllers/ServiceController.go (50 items a page, totalPages as
    computed there), pkg/mailslurper MailItem.go (the JSON keys, including the untagged Message, InlineAttachments,
    TextBody, HTMLBody), MailCollectionResponse.go, CommonQueries.go (to: ``toAddressList LIKE %TO%``, order by
    dateSent with dir), DataCommandExecutor.go (body: the HTML part, else the text part; a single text/plain body has
    ``\\n`` turned into ``<br />``; only base64 is decoded), DateTimeParsing.go (dateSent ``YYYY-MM-DD HH:MM:SS`` from
    the Date header), RcptCommandExecutor.go (toAddresses: the RCPT TO addresses), SQLiteStorage.go (sanitized)."""

    page_size = 50

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        data = wire(msg).decode()
        if msg.is_multipart():
            html, text = msg.get_body(preferencelist=("html",)), msg.get_body(preferencelist=("plain",))
            body = (html or text).get_content()
        else:
            body = data.partition("\r\n\r\n")[2]  # the DATA after the headers, not decoded
            if msg.get_content_type() == "text/plain":
                body = body.replace("\n", "<br />")
        self.items.append({
            "id": str(uuid.uuid4()),
            "dateSent": parsedate_to_datetime(str(msg["Date"])).strftime("%Y-%m-%d %H:%M:%S"),
            "fromAddress": str(msg["From"]),
            "toAddresses": recipients,
            "subject": str(msg["Subject"]),
            "xmailer": "",
            "mimeVersion": "",
            "body": slurper_sanitize(body),
            "contentType": str(msg["Content-Type"]),
            "boundary": msg.get_boundary() or "",
            "attachments": [],
            "transferEncoding": "",
            "Message": None,
            "InlineAttachments": None,
            "TextBody": "",
            "HTMLBody": "",
        })

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        content_type = "application/json; charset=UTF-8"
        if (method, path) == ("GET", "/mailcount"):
            return json_answer({"mailCount": len(self.items)}, content_type)
        if (method, path) == ("DELETE", "/mail"):
            if json.loads(body or b"{}").get("pruneCode") != "all":
                return 400, "text/plain; charset=UTF-8", b"Invalid prune type"
            count, self.items[:] = len(self.items), []
            return 200, "text/plain; charset=UTF-8", str(count).encode()
        if (method, path) != ("GET", "/mail"):
            return 404, content_type, b'{"message":"Not Found"}'
        wanted = query.get("to", "").lower()
        found = [i for i in self.items if wanted in "; ".join(i["toAddresses"]).lower()]
        found.sort(key=lambda i: i["dateSent"], reverse=query.get("dir") != "asc")  # stable, like SQLite here
        page = int(query.get("pageNumber") or 1)
        total_pages = len(found) // self.page_size + (1 if len(found) % self.page_size else 0)
        window = found[(page - 1) * self.page_size:page * self.page_size]
        return json_answer({"mailItems": window, "totalPages": total_pages, "totalRecords": len(found)}, content_type)


class FakeMailDev3(FakeCatcher):
    """MailDev 3's API root (maildev/maildev packages/api/src/server.ts): everything under /api; /api/healthz
    answers true; the UI owns every other path."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        if (method, path) == ("GET", "/api/healthz"):
            return json_answer(True)
        if (method, path) == ("GET", "/api/email"):
            return json_answer(self.items)
        return 200, "text/html", b"<!doctype html><title>MailDev</title>"


# -- the real MailDev ----------------------------------------------------------------------------------------------


@dataclass
class RealMailDev:
    url: str
    smtp_port: int
    process: subprocess.Popen[bytes]


def _maildev_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js 20+ (the MailDev reader tests run a real MailDev)"
    if not MAILDEV.exists():
        return f"{MAILDEV} is missing: run scripts/install-node-tools.sh (npm ci from package-lock.json)"
    return None


@contextmanager
def _running_catcher(name: str, command: list[str], log: Path, smtp_port: int, ready: Callable[[], bool],
                     env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a real mail catcher (output to ``log``), wait up to 15 s for its SMTP port and ``ready()``, yield the
    process and stop it at the end; a catcher that exits or never gets ready fails the test with its log's tail."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}: {log.read_text(errors='replace')[-500:]}",
                            False)
            try:
                with socket.create_connection(("127.0.0.1", smtp_port), timeout=0.5):
                    pass
                if ready():
                    break
            except (OSError, httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} was not ready within 15 s: {log.read_text(errors='replace')[-500:]}", False)
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def maildev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealMailDev]:
    """A real MailDev on 127.0.0.1 (free SMTP and web ports), ready within 15 s, stopped at the end."""
    missing = _maildev_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    smtp_port, web_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("maildev") / "maildev.log"
    command = [str(MAILDEV), "--smtp", str(smtp_port), "--web", str(web_port), "--ip", "127.0.0.1",
               "--web-ip", "127.0.0.1", "--mail-directory", str(log.parent / "mail"), "--silent"]
    url = f"http://127.0.0.1:{web_port}"
    with _running_catcher("maildev", command, log, smtp_port,
                          lambda: httpx.get(f"{url}/healthz", timeout=0.5).json() is True,
                          env={**os.environ, "NODE_ENV": "production"}) as process:
        yield RealMailDev(url, smtp_port, process)


@dataclass
class RealMailpit:
    url: str
    smtp_port: int


@pytest.fixture(scope="module")
def mailpit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealMailpit]:
    """A real Mailpit on 127.0.0.1 (free SMTP and HTTP ports, a fresh database), ready within 15 s."""
    if not MAILPIT.exists():
        pytest.fail(f"{MAILPIT} is missing: run scripts/install-mailpit.sh (go install from the module proxy)", False)
    smtp_port, web_port = free_port(), free_port()
    folder = tmp_path_factory.mktemp("mailpit")
    log = folder / "mailpit.log"
    command = [str(MAILPIT), "--smtp", f"127.0.0.1:{smtp_port}", "--listen", f"127.0.0.1:{web_port}",
               "--database", str(folder / "mailpit.db"), "--quiet", "--disable-version-check"]
    url = f"http://127.0.0.1:{web_port}"
    with _running_catcher("mailpit", command, log, smtp_port,
                          lambda: httpx.get(f"{url}/api/v1/messages", timeout=0.5).status_code == 200):
        yield RealMailpit(url, smtp_port)


# -- one catcher for a test: its reader and how mail gets into it ---------------------------------------------------


@contextmanager
def serving(fake: FakeCatcher, kind: str) -> Iterator[HttpMailReader]:
    """The fake served on a local port, and a reader of ``kind`` on it; both closed afterwards."""
    server = LocalServer(fake)
    reader = open_reader(kind, server.url)
    assert isinstance(reader, HttpMailReader)
    try:
        yield reader
    finally:
        reader.close()
        server.close()


@dataclass
class Catcher:
    reader: HttpMailReader
    deliver: Callable[[EmailMessage, list[str]], None]


@pytest.fixture(params=["mailpit", "mailhog", "mailslurper", "maildev"])
def catcher(request: pytest.FixtureRequest) -> Iterator[Catcher]:
    kind: str = request.param
    if kind in ("maildev", "mailpit"):
        real: RealMailDev | RealMailpit = request.getfixturevalue(kind)

        def send(msg: EmailMessage, recipients: list[str]) -> None:
            with smtplib.SMTP("127.0.0.1", real.smtp_port, timeout=5) as smtp:
                smtp.send_message(msg, to_addrs=recipients)

        reader = open_reader(kind, real.url)
        assert isinstance(reader, HttpMailReader)
        reader.check()
        reader.clear()
        yield Catcher(reader, send)
        reader.close()
        return
    fake = {"mailhog": FakeMailHog, "mailslurper": FakeMailSlurper}[kind]()
    with serving(fake, kind) as reader:
        yield Catcher(reader, fake.deliver)


def _address() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.test"


def _wait_for_count(reader: HttpMailReader, address: str, count: int) -> list:
    deadline = time.monotonic() + 5
    while len(mails := reader.messages_to(address)) < count:
        assert time.monotonic() < deadline, f"{reader.name}: {len(mails)} of {count} mails to {address} arrived"
        time.sleep(0.05)
    return mails


# -- the tests ------------------------------------------------------------------------------------------------------


def test_check_passes_on_a_live_catcher(catcher: Catcher) -> None:
    catcher.reader.check()


def test_code_and_link_mails_read_back_oldest_first_for_any_case_of_the_address(catcher: Catcher) -> None:
    address, other = _address(), _address()
    upper = address.upper().replace("EXAMPLE.TEST", "Example.Test")
    catcher.deliver(code_mail(upper), [upper])
    catcher.deliver(code_mail(other), [other])
    catcher.deliver(link_mail(address), [address])

    mails = _wait_for_count(catcher.reader, address.upper(), 2)
    assert [m.subject for m in mails] == ["Use code 123456 to verify your account", "Please verify your email address"]
    code, link = mails
    assert code.code == "123456" and code.flow_id == "F-code" and code.verification_link == CODE_LINK
    assert link.token == TOKEN and link.flow_id == "F" and link.verification_link == TOKEN_LINK
    assert link.code is None, "the link mail has no code"
    assert code.is_to(address) and link.is_to(address.upper()) and not code.is_to(other)
    assert all(isinstance(m.id, str) and m.id for m in mails) and code.id != link.id
    again = catcher.reader.messages_to(address)
    assert [m.id for m in again] == [m.id for m in mails], "ids are stable across reads"
    assert [m.subject for m in catcher.reader.messages_to(other)] == ["Use code 123456 to verify your account"]
    assert catcher.reader.messages_to(_address()) == []


def test_wait_for_mail_returns_only_the_new_mail(catcher: Catcher) -> None:
    address = _address()
    catcher.deliver(code_mail(address), [address])
    first = wait_for_mail(catcher.reader, address, timeout=5)
    assert first.code == "123456"
    threading.Timer(0.2, catcher.deliver, (link_mail(address), [address])).start()
    second = wait_for_mail(catcher.reader, address, timeout=5, ignore={first.id})
    assert second.id != first.id and second.token == TOKEN


def test_clear_deletes_every_mail(catcher: Catcher) -> None:
    address = _address()
    catcher.deliver(code_mail(address), [address])
    assert len(_wait_for_count(catcher.reader, address, 1)) == 1
    catcher.reader.clear()
    assert catcher.reader.messages_to(address) == []


@pytest.mark.parametrize("kind", ["mailpit", "mailhog", "mailslurper", "maildev"])
def test_check_on_a_closed_port_is_cannot_judge_within_3s(kind: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    reader = open_reader(kind, url)
    started = time.monotonic()
    with pytest.raises(CannotJudge) as caught:
        reader.check()
    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert "\n" not in message and kind in message and url in message
    reader.close()


def test_open_mail_source_on_a_closed_maildev_port_is_cannot_judge_within_3s() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(CannotJudge, match=re.escape(f"maildev at {url}")) as caught:
        open_mail_source(parse_mail_source(f"maildev:{url}"))
    assert time.monotonic() - started < 3 and "\n" not in str(caught.value)


def test_open_mail_source_gives_a_checked_reader(mailpit: RealMailpit) -> None:
    source = open_mail_source(parse_mail_source(f"mailpit:{mailpit.url}/"))
    assert isinstance(source, MailpitReader) and source.url == mailpit.url
    source.close()


def test_a_reader_pointed_at_another_catcher_is_cannot_judge() -> None:
    with serving(FakeMailHog(), "mailhog") as mailhog:
        mailhog.check()
        for kind, complaint in [
            ("mailpit", "GET /api/v1/messages answered without a list 'messages': is this mailpit's API"),
            ("mailslurper", "GET /mailcount answered 404"),
            ("maildev", "neither /healthz nor /api/healthz answered true"),
        ]:
            with pytest.raises(CannotJudge, match=f"{kind} at {re.escape(mailhog.url)}: .*{complaint}"):
                open_reader(kind, mailhog.url).check()


def test_maildev_3_api_under_api_prefix() -> None:
    fake = FakeMailDev3()
    address = _address()
    fake.items.append({  # the shape of docs/reference/rest-api.md (3.x)
        "id": "XwgKAxto", "time": "2026-01-05T19:02:09.156Z", "read": False, "subject": "Use code 654321 to verify",
        "from": [{"address": "no-reply@kratos.test", "name": "Ory Kratos"}], "to": [], "cc": [],
        "date": "2026-01-05T19:02:09.000Z", "text": "Use code 654321", "html": "", "headers": {"subject": "x"},
        "priority": "normal", "attachments": [], "size": 100, "sizeHuman": "100 bytes",
        "envelope": {"from": {"address": "no-reply@kratos.test"}, "to": [{"address": address}],
                     "host": "kratos.test", "remoteAddress": "127.0.0.1"},
    })
    with serving(fake, "maildev") as reader:
        reader.check()
        [mail] = reader.messages_to(address.upper())
    assert mail.id == "XwgKAxto" and mail.code == "654321" and mail.sender == "no-reply@kratos.test"


def test_mailslurper_pages_through_and_undoes_quoted_printable() -> None:
    fake = FakeMailSlurper()
    address = _address()
    for n in range(52):  # more than one page of 50
        msg = _headers(address, f"mail {n:02d}")
        msg.set_content(f"mail {n:02d}\n")
        fake.deliver(msg, [address])
    qp = _headers(address, "Use code 123456 to verify your account")
    qp.set_content(f"Use code 123456.\n{CODE_LINK}\n", cte="quoted-printable")
    fake.deliver(qp, [address])
    with serving(fake, "mailslurper") as reader:
        mails = reader.messages_to(address)
    assert [m.subject for m in mails] == [f"mail {n:02d}" for n in range(52)] + [str(qp["Subject"])]
    assert len({m.id for m in mails}) == 53
    assert mails[-1].verification_link == CODE_LINK and mails[-1].flow_id == "F-code"


def test_mailhog_item_without_raw_is_rebuilt_from_its_content() -> None:
    fake = FakeMailHog()
    address = _address()
    fake.deliver(link_mail(address), [address])
    fake.items[0]["Raw"] = None
    with serving(fake, "mailhog") as reader:
        [mail] = reader.messages_to(address)
    assert mail.token == TOKEN and mail.flow_id == "F" and mail.id == fake.items[0]["ID"]


def test_a_catcher_answering_mail_of_the_wrong_shape_is_cannot_judge() -> None:
    """A listing whose items lack their id or carry the wrong types is the catcher's (or a wrong URL's) problem:
    one line naming it, not a traceback that fails the server's requirements."""
    fake = FakeMailHog()
    with serving(fake, "mailhog") as reader:
        fake.deliver(code_mail("a@conformance.test"), ["a@conformance.test"])
        for item in fake.items:
            del item["ID"]
            item["Content"] = "not an object"
        with pytest.raises(CannotJudge, match="has a shape the suite cannot read .* is this mailhog's API"):
            reader.messages_to("a@conformance.test")
