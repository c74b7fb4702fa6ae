"""The floor: a captured run replayed, request by request and in order, by a bare httpx client against a fresh
reference target with the same settings.

Sending the captured bytes unchanged would not repeat the run: the fresh target hands out its own flow ids, CSRF
tokens, cookies, codes and link tokens, so most replayed requests would hit unknown flows and come back as cheap
404s. The replayer therefore learns, from each response, which value of the replay stands where the capture had
another one (JSON leaf by leaf, Set-Cookie by cookie name, Location by query parameter; codes and link tokens from
the mail to the same address) and rewrites later requests with the replay's values. The target then does the
run's work (flows made, mails sent, codes checked).

A request the run sent after a flow or code it uses had expired is held back, with ``forced_waits``, until that
flow or code has expired in the replay too (the embedded target's lifespans, plus 50 ms): no client can get those
answers sooner, so this is the time a bare client *needs* for the same exchanges. Without it the replay shows
what the requests cost alone. Only what a bare client also spends is timed: the sends, those waits, and the waits
for a mail before its code or link is used. :attr:`Replay.same_status` says how faithful the replay was
(responses whose status matches the run's).
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from kratos_conformance.mail import SmtpSink
from kratos_conformance.run.embedded_target import CHALLENGE_LIFESPAN, FLOW_LIFESPAN, EmbeddedTarget

_CODE = re.compile(rb"(?<![0-9A-Za-z])(\d{6})(?![0-9A-Za-z])")
MAIL_WAIT = 5.0


@dataclass
class Replay:
    """What a replay did: requests sent, seconds spent, and the share of statuses equal to the run's."""

    count: int
    seconds: float
    same_status: float


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:  # noqa: D102 - keep nothing
        return False


#: what the replayer rewrites: runs of URL-safe characters long enough to be an id, a token or a cookie (never
#: prose, enums, timestamps or e-mail addresses, which stay as the run sent them).
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,}")


class Rewriter:
    """Old value (the run's) -> new value (the replay's) for ids, tokens, cookies, codes and the target's URLs.

    A request is rewritten in one pass over its tokens (a dictionary lookup each), so a long run with thousands of
    learned values replays as fast as a short one.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.codes: dict[bytes, bytes] = {}
        self.bases: list[tuple[str, str]] = []

    def learn_base(self, old: str, new: str) -> None:
        """A base URL of the run's target and the replay target's."""
        self.bases.append((old, new))

    def learn(self, old: object, new: object) -> None:
        if isinstance(old, str) and isinstance(new, str) and old != new and _TOKEN.fullmatch(old) \
                and old not in self.values:
            self.values[old] = new

    def _swap(self, match: re.Match[str]) -> str:
        return self.values.get(match.group(0), match.group(0))

    def text(self, value: str) -> str:
        for old, new in self.bases:
            value = value.replace(old, new)
        return _TOKEN.sub(self._swap, value)

    def body(self, value: bytes) -> bytes:
        for old, new in self.bases:
            value = value.replace(old.encode(), new.encode())
        value = _TOKEN_BYTES.sub(lambda m: self.values.get(m.group(0).decode(), m.group(0).decode()).encode(), value)
        if self.codes:
            value = _CODE.sub(lambda m: self.codes.get(m.group(1), m.group(1)), value)
        return value

    def url(self, value: str) -> str:
        value = self.text(value)
        if self.codes:
            value = _CODE.sub(lambda m: self.codes.get(m.group(1), m.group(1)), value.encode()).decode()
        return value


_TOKEN_BYTES = re.compile(_TOKEN.pattern.encode())


def _align(old: Any, new: Any, rewriter: Rewriter) -> None:
    """Walk two JSON documents side by side and learn every leaf that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key in new:
                _align(value, new[key], rewriter)
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new):
            _align(a, b, rewriter)
    else:
        rewriter.learn(old, new)


def _cookies(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, value) of each Set-Cookie, in order."""
    found = []
    for key, value in headers:
        if key.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            found.append((name.strip(), rest.split(";", 1)[0]))
    return found


@dataclass
class _Answer:
    """The run's answer to one request, decoded once: its headers, Location and JSON document (None if not JSON)."""

    headers: list[tuple[str, str]]
    location: str | None
    doc: Any

    @classmethod
    def of(cls, captured: dict[str, Any]) -> _Answer:
        headers = [(k, v) for k, v in captured["response_headers"]]
        body = base64.b64decode(captured["response_body"])
        doc = None
        if body[:1] in (b"{", b"["):
            try:
                doc = json.loads(body)
            except ValueError:
                pass
        return cls(headers, next((v for k, v in headers if k.lower() == "location"), None), doc)


def _learn_response(answer: _Answer, response: httpx.Response, rewriter: Rewriter) -> None:
    new_headers = list(response.headers.multi_items())
    for (old_name, old_value), (new_name, new_value) in zip(_cookies(answer.headers), _cookies(new_headers)):
        rewriter.learn(old_name, new_name)  # a CSRF cookie's name depends on the target's URL
        rewriter.learn(old_value, new_value)
    new_location = response.headers.get("location")
    if answer.location and new_location:
        new_params = dict(parse_qsl(urlsplit(new_location).query))
        for name, value in parse_qsl(urlsplit(answer.location).query):
            rewriter.learn(value, new_params.get(name))
    if answer.doc is not None and response.content[:1] in (b"{", b"["):
        try:
            _align(answer.doc, response.json(), rewriter)
        except ValueError:
            pass


class _Mails:
    """The run's mails by code and token, and the wait for the replay's mail at the same place."""

    def __init__(self, mails: list[dict[str, Any]], sink: SmtpSink) -> None:
        self.sink = sink
        self.by_code: dict[bytes, tuple[str, int]] = {}
        self.by_token: dict[str, tuple[str, int]] = {}
        #: when the run's sink received the mail at each place, and when the replay's did.
        self.run_received: dict[tuple[str, int], float] = {}
        self.replay_received: dict[tuple[str, int], float] = {}
        seen: dict[str, int] = {}
        for mail in mails:
            address = mail["to"][0].lower() if mail["to"] else ""
            place = (address, seen.get(address, 0))
            seen[address] = place[1] + 1
            self.run_received[place] = float(mail.get("t") or 0.0)
            if mail.get("code"):
                self.by_code[mail["code"].encode()] = place
            if mail.get("link"):
                token = dict(parse_qsl(urlsplit(mail["link"]).query)).get("token")
                if token:
                    self.by_token[token] = place

    def _mail_at(self, place: tuple[str, int]) -> Any:
        address, ordinal = place
        deadline = time.monotonic() + MAIL_WAIT
        while time.monotonic() < deadline:
            found = self.sink.messages_to(address)
            if len(found) > ordinal:
                return found[ordinal]
            self.sink.idle(0.05)
        return None

    def used_by(self, url: str, body: bytes) -> set[tuple[str, int]]:
        """The places of the run's mails whose code or token the request uses."""
        text = url.encode() + b" " + body
        places = {self.by_code[c] for c in _CODE.findall(text) if c in self.by_code}
        return places | {p for t, p in self.by_token.items() if t.encode() in text}

    def learn_for(self, places: set[tuple[str, int]], rewriter: Rewriter) -> None:
        """Before a request: wait for (and learn) the replay's mail at each of ``places`` not learned yet."""
        for place in places - set(self.replay_received):
            mail = self._mail_at(place)
            if mail is None:
                continue
            self.replay_received[place] = mail.received_at
            for code, at in self.by_code.items():
                if at == place and mail.code:
                    rewriter.codes[code] = mail.code.encode()
            for token, at in self.by_token.items():
                if at == place and mail.verification_link:
                    rewriter.learn(token, dict(parse_qsl(urlsplit(mail.verification_link).query)).get("token"))


_FLOW_PARAMS = ("flow", "id")


def _flow_ids(url: str | None) -> list[str]:
    """The flow ids a URL names (``?flow=`` or ``?id=``)."""
    if not url:
        return []
    return [v for k, v in parse_qsl(urlsplit(url).query) if k in _FLOW_PARAMS]


class _Clock:
    """When each flow was first seen (in the run and in the replay), and how long a request must wait so that the
    flows and codes it uses are as expired as they were in the run: the waits the target forces on any client."""

    def __init__(self, flow_lifespan: float, challenge_lifespan: float, margin: float = 0.05) -> None:
        self.flow_lifespan, self.challenge_lifespan, self.margin = flow_lifespan, challenge_lifespan, margin
        self.run_seen: dict[str, float] = {}
        self.replay_seen: dict[str, float] = {}

    def saw(self, sent_at: float, answer: _Answer, now: float) -> None:
        """Note the flows an answer names (in its Location, or as the flow it is)."""
        old_ids = _flow_ids(answer.location)
        if isinstance(answer.doc, dict) and "ui" in answer.doc:
            old_ids.append(str(answer.doc.get("id")))
        for old in old_ids:
            self.run_seen.setdefault(old, sent_at)
            self.replay_seen.setdefault(old, now)

    def ready_at(self, captured: dict[str, Any], mails: _Mails, places: set[tuple[str, int]]) -> float:
        """The earliest replay time (wall clock) this request may be sent at."""
        sent = float(captured.get("t") or 0.0)
        ready = 0.0
        for old in _flow_ids(captured["url"]):
            if old in self.run_seen and old in self.replay_seen and sent - self.run_seen[old] > self.flow_lifespan:
                ready = max(ready, self.replay_seen[old] + self.flow_lifespan + self.margin)
        for place in places:
            run_at, replay_at = mails.run_received.get(place), mails.replay_received.get(place)
            if run_at and replay_at and sent - run_at > self.challenge_lifespan:
                ready = max(ready, replay_at + self.challenge_lifespan + self.margin)
        return ready


def load(capture: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The capture's target line, exchanges and mails."""
    lines = [json.loads(line) for line in capture.read_text(encoding="utf-8").splitlines() if line.strip()]
    target = next(line for line in lines if line["kind"] == "target")
    return (target, [line for line in lines if line["kind"] == "http"],
            [line for line in lines if line["kind"] == "mail"])


def replay(capture: Path, method: str, *, forced_waits: bool = True) -> Replay:
    """Replay ``capture`` against a fresh reference target (``method``); see the module docstring.

    ``forced_waits``: wait, like the run, until the flows and codes a request uses have expired when they had in
    the run (the embedded target's lifespans), so the replay gets the run's answers; False sends without waiting.
    """
    run_target, exchanges, mails = load(capture)
    with SmtpSink() as sink, EmbeddedTarget(method=method, smtp_url=sink.url,
                                            log_path=Path(tempfile.gettempdir()) / "bench-floor.log") as target:
        rewriter = Rewriter()
        rewriter.learn_base(run_target["public_url"], target.public_url)
        if run_target.get("admin_url"):
            rewriter.learn_base(run_target["admin_url"], target.admin_url)
        known = _Mails(mails, sink)
        clock = _Clock(FLOW_LIFESPAN, CHALLENGE_LIFESPAN)
        same = 0
        spent = 0.0
        with httpx.Client(follow_redirects=False, timeout=15, cookies=http.cookiejar.CookieJar(_NoCookies())) \
                as client:
            for captured in exchanges:
                body = base64.b64decode(captured["body"])
                started = time.perf_counter()
                places = known.used_by(captured["url"], body)
                known.learn_for(places, rewriter)
                if forced_waits:
                    time.sleep(max(0.0, clock.ready_at(captured, known, places) - time.time()))
                waited = time.perf_counter() - started
                url = rewriter.url(captured["url"])
                body = rewriter.body(body)
                headers = [(k, rewriter.text(v)) for k, v in captured["headers"] if k.lower() != "host"]
                started = time.perf_counter()
                response = client.request(captured["method"], url, headers=headers, content=body or None)
                response.read()
                spent += waited + time.perf_counter() - started
                same += response.status_code == captured["status"]
                answer = _Answer.of(captured)
                clock.saw(float(captured.get("t") or 0.0), answer, time.time())
                _learn_response(answer, response, rewriter)
        return Replay(len(exchanges), spent, same / len(exchanges) if exchanges else 1.0)
