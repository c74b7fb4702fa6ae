"""Drive a verification UI in a real browser (Playwright + Chromium), the way a person does.

The driver knows nothing about the UI's markup beyond what any UI that renders a flow's nodes as a form has: fields
and buttons named by the node names (``input[name=email]``, ``input[name=code]``, ``button[name=method][value=code]``,
the resend button ``[name=email][type=submit]``, the hidden ``csrf_token``), messages carrying their id
(``data-message-id="1080002"`` like the reference UI, or ``data-testid="ui/message/1080002"`` like Ory's UIs) and the
continue anchor (``a#continue``, or ``data-testid="node/anchor/continue"``).

Every navigation's HTTP chain (the request, each redirect, the page that loaded) is turned into redacted
:class:`~kratos_conformance.wire.exchanges.Exchange` records of client kind ``browser`` and handed to the run's
recorder: the contract judge sees what a real browser sent and got, reports count them, and a failed check shows them,
like every other scenario's. Playwright is only imported by the fixtures (``conftest.py``); this module only receives
its objects.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from kratos_conformance.flows.flow_document import Flow
from kratos_conformance.mail import Inbox, Mail, MailSource
from kratos_conformance.rules import checks
from kratos_conformance.rules.response_rules import under
from kratos_conformance.run.target import BROWSER_INIT, GET_FLOW, Target
from kratos_conformance.wire.exchanges import OPERATIONS, Exchange, operation_of
from kratos_conformance.wire.query import query_param

if TYPE_CHECKING:  # pragma: no cover - typing only; playwright is optional
    from playwright.sync_api import Locator, Page, Response

#: flags every launch gets: headless in a closed network (no background traffic, no first-run UI, no sandbox as root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

#: how messages and the continue anchor are marked up: the reference UI's way, then Ory's UIs' way.
_MESSAGE_IDS_JS = """() => Array.from(document.querySelectorAll('[data-message-id], [data-testid^="ui/message/"]'))
  .map(e => e.getAttribute('data-message-id') || e.getAttribute('data-testid').slice('ui/message/'.length))"""
_OPERATION_IDS = frozenset(OPERATIONS.values())
CONTINUE_SELECTOR = 'a#continue, a[data-testid="node/anchor/continue"]'
#: the names of the fields whose browser validation would stop this submit button's form from being sent.
_BLOCKING_FIELDS_JS = """b => (!b.form || b.formNoValidate || b.form.noValidate) ? [] :
  Array.from(b.form.elements).filter(e => e.willValidate && !e.checkValidity()).map(e => e.name || e.id)"""


class UiWarning(UserWarning):
    """The UI under test makes a person's step harder than the flow requires (not a server defect)."""


def browser_exchange(response: Response) -> Exchange:
    """A redacted :class:`Exchange` for one browser response.

    Bodies are kept for the contract's operations only (a redirect's body is not kept by browsers: empty). A UI
    page's HTML is dropped: its hidden csrf_token and pre-filled code values are secrets that body redaction (made
    for JSON and form bodies) does not know in HTML attributes.
    """
    request = response.request
    body = b""
    if operation_of(request.method, request.url) in _OPERATION_IDS:
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - redirects and aborted navigations have no body to read
            body = b""
    try:
        req_headers = [(h["name"], h["value"]) for h in request.headers_array()]
        resp_headers = [(h["name"], h["value"]) for h in response.headers_array()]
    except Exception:  # noqa: BLE001 - raw headers are unavailable for some responses (served from cache)
        req_headers, resp_headers = list(request.headers.items()), list(response.headers.items())
    req_headers = [(k, v) for k, v in req_headers if not k.startswith(":")]  # HTTP/2 pseudo headers
    # the browser hands over the decoded body: a Content-Encoding left in would make httpx decode it again
    resp_headers = [(k, v) for k, v in resp_headers if k.lower() != "content-encoding"]
    post = request.post_data_buffer or b""
    live = httpx.Response(
        response.status, headers=resp_headers, content=body,
        request=httpx.Request(request.method, request.url, headers=req_headers, content=post),
    )
    timing = request.timing
    elapsed = max(0.0, (timing.get("responseEnd", 0) or 0) - max(timing.get("requestStart", 0) or 0, 0)) / 1000
    return Exchange.record(live, "browser", started_at=time.monotonic(), elapsed=elapsed)


def chain_of(response: Response | None, record: Callable[[Exchange], None] | None = None) -> list[Exchange]:
    """The exchanges that led to ``response``: the first request, each redirect, then the final response.

    Each is handed to ``record`` in that order (the run's recorder: reports, and the contract judge).
    """
    if response is None:
        return []
    out = [browser_exchange(response)]
    request = response.request.redirected_from
    while request is not None:
        earlier = request.response()
        if earlier is not None:
            out.append(browser_exchange(earlier))
        request = request.redirected_from
    out.reverse()
    for ex in out:
        if record is not None:
            record(ex)
    return out


@dataclass
class Nav:
    """One navigation: its HTTP chain (first request first) and where the page ended up."""

    exchanges: list[Exchange]
    url: str

    @property
    def first(self) -> Exchange | None:
        return self.exchanges[0] if self.exchanges else None

    @property
    def flow_id(self) -> str | None:
        return query_param(self.url, "flow")


class Screenshots:
    """Numbered PNGs of one test under ``<report dir>/screenshots/`` (each also attached to Allure)."""

    def __init__(self, directory: Path, test_name: str, attach: Callable[[Path, str], None] | None = None) -> None:
        self.directory = directory
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
        self.attach = attach
        self.taken: list[Path] = []
        for stale in directory.glob(f"{self.prefix}-[0-9][0-9]-*.png"):  # an earlier run's pictures of this test
            stale.unlink(missing_ok=True)

    def take(self, page: Page, step: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.prefix}-{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.attach is not None:
            self.attach(path, f"{len(self.taken):02d} {step}")
        return path


class BrowserUi:
    """One person's browser (a fresh context) on the target's verification UI."""

    def __init__(self, page: Page, target: Target, mail: MailSource, method: str, shots: Screenshots, req: str,
                 record: Callable[[Exchange], None] | None = None) -> None:
        self.page = page
        self.req = req  # the test's requirement: a step the page offers no control for fails it
        self.record = record
        self.context = page.context
        self.target = target
        self.mail = mail
        self.method = method
        self.shots = shots
        self.last: Nav | None = None
        self.inbox = Inbox(mail)

    # -- what the page shows -------------------------------------------------------------------------------------
    @property
    def flow_id(self) -> str | None:
        return query_param(self.page.url, "flow")

    def message_ids(self) -> list[int]:
        """The message ids shown on the page (flow messages and node messages), in document order."""
        return [int(v) for v in self.page.evaluate(_MESSAGE_IDS_JS) if str(v).isdigit()]

    def shows(self, selector: str) -> bool:
        """True if an element matching ``selector`` is visible."""
        loc = self.page.locator(selector)
        return loc.count() > 0 and loc.first.is_visible()

    def field(self, name: str) -> Locator:
        """The visible text-like input the UI renders for node ``name``."""
        return self.page.locator(f'input[name="{name}"]:not([type=hidden]):not([type=submit]):not([type=button])')

    def submit_button(self, name: str, value: str | None = None) -> Locator:
        """The submit control for node ``name`` (``<button>`` or ``<input type=submit>``), by value if given."""
        v = f'[value="{value}"]' if value is not None else ""
        return self.page.locator(f'button[name="{name}"]{v}, input[type=submit][name="{name}"]{v}')

    def continue_href(self) -> str | None:
        loc = self.page.locator(CONTINUE_SELECTOR)
        return loc.first.get_attribute("href") if loc.count() else None

    def describe(self) -> str:
        """What the page shows, for failure details: URL, message ids and the form controls."""
        controls = self.page.evaluate("""() => Array.from(document.querySelectorAll('input, button, a'))
          .map(e => `${e.tagName.toLowerCase()}[${e.name || e.id || ''}${e.type ? ':' + e.type : ''}]`)""")
        return f"page {self.page.url} shows messages {self.message_ids()} and controls {controls}"

    def exchanges(self) -> tuple[Exchange, ...]:
        return tuple(self.last.exchanges) if self.last else ()

    # -- steps ---------------------------------------------------------------------------------------------------
    def _navigate(self, action: Callable[[], object], what: str) -> Nav:
        try:
            with self.page.expect_navigation() as nav:
                action()
            response = nav.value
        except Exception as exc:
            if type(exc).__name__ != "TimeoutError":
                raise
            raise AssertionError(f"{what}: the browser did not navigate ({str(exc).splitlines()[0]}); "
                                 f"{self.describe()}") from None
        self.page.wait_for_load_state("load")
        self.last = Nav(chain_of(response, self.record), self.page.url)
        return self.last

    def goto(self, url: str) -> Nav:
        response = self.page.goto(url, wait_until="load")
        self.last = Nav(chain_of(response, self.record), self.page.url)
        return self.last

    def open_init(self) -> Nav:
        """Open the browser init URL; the target must answer 303 to the UI, which shows the new flow's form
        (judged as a step on the way: :func:`checks.precondition`)."""
        with checks.precondition():
            return self._open_init()

    def _open_init(self) -> Nav:
        nav = self.goto(self.target.public(BROWSER_INIT))
        req = "VER-INIT-BROWSER-303"
        self.expect_redirected_to_ui(req, nav)
        checks.expect(req, bool(nav.flow_id), f"the UI URL {nav.url} names no flow", *nav.exchanges,
                      name="ui_names_flow")
        checks.expect(req, self.field("email").count() == 1, f"the UI shows no email field: {self.describe()}",
                      *nav.exchanges, name="ui_email_field")
        return nav

    def sent(self, email: str) -> tuple[str, Nav]:
        """The person's first steps: open the init URL (:meth:`open_init`), type ``email`` and submit it; the flow
        id and the submission's navigation (judged by the caller). Screenshots of the form and of what followed."""
        flow_id = str(self.open_init().flow_id)
        self.shots.take(self.page, "form")
        nav = self.submit_email(email)
        self.shots.take(self.page, "sent")
        return flow_id, nav

    def to_sent_email(self, email: str) -> str:
        """A flow in sent_email for ``email`` on the way to a detour: :meth:`sent`, and the UI showing the flow
        again, judged as a step on the way (a refused submission fails VER-SUBMIT-BROWSER-303 here, at once, not
        the mail wait after it); returns the flow id."""
        flow_id, nav = self.sent(email)
        with checks.precondition():
            self.expect_redirected_to_ui("VER-SUBMIT-BROWSER-303", nav, flow_id=flow_id)
        return flow_id

    def offered(self, control: Locator, what: str) -> Locator:
        """The first of ``control`` on the page. A page that does not offer it fails the test's requirement at once,
        saying what is missing (rather than the browser waiting out its timeout for it)."""
        checks.expect(self.req, control.count() > 0, f"the page offers no {what}: {self.describe()}",
                      *self.exchanges(), name="ui_offers_control")
        return control.first

    def submit_email(self, email: str) -> Nav:
        """Type the address into the email field and press the method's submit button."""
        self.offered(self.field("email"), "email field").fill(email)
        return self.press(self.submit_button("method", self.method), "submitting the email")

    def press(self, button: Locator, what: str) -> Nav:
        """Click a submit button and wait for the page it leads to."""
        pressed = self.offered(button, f"button for {what}")
        return self._navigate(lambda: pressed.click(), what)

    def submit_code(self, code: str) -> Nav:
        """Type the code into the code field and press the ``method=code`` submit button."""
        self.offered(self.field("code"), "code field").fill(code)
        return self.press(self.submit_button("method", "code"), "submitting the code")

    def resend(self) -> Nav:
        """Press the resend button (the submit node named ``email``).

        The code node is required, so a UI that renders it as ``<input required>`` must let the resend button skip
        the browser's form validation (``formnovalidate``), or a person cannot resend with the code field empty.
        Such a UI is reported with a :class:`UiWarning` (it is the UI's defect, not the server's) and the button
        is then pressed with validation off, so the server's resend is still judged.
        """
        button = self.offered(self.submit_button("email"), "resend button")
        blocked = button.evaluate(_BLOCKING_FIELDS_JS)
        if blocked:
            warnings.warn(UiWarning(
                f"the UI's resend button cannot be pressed while {', '.join(blocked)} is empty: the browser's form "
                "validation stops it (the button needs formnovalidate); pressed it with validation off"), stacklevel=2)
            button.evaluate("b => { b.formNoValidate = true; }")
        return self.press(button, "pressing the resend button")

    def flow_json(self, flow_id: str) -> tuple[Flow, Exchange]:
        """The flow as the browser's cookies may read it (GET /flows with JSON Accept, same context)."""
        response = self.context.request.get(self.target.public(GET_FLOW, id=flow_id),
                                            headers={"Accept": "application/json"}, max_redirects=0)
        live = httpx.Response(response.status, headers=[(h["name"], h["value"]) for h in response.headers_array],
                              content=response.body(),
                              request=httpx.Request("GET", response.url, headers={"Accept": "application/json"}))
        ex = Exchange.record(live, "browser", started_at=time.monotonic(), elapsed=0.0)
        if self.record is not None:
            self.record(ex)
        with checks.precondition():
            checks.status(ex, 200, "VER-GET-200")
            return checks.flow(ex, "VER-GET-200"), ex

    def wait_mail(self, email: str, flow_id: str | None = None) -> Mail:
        """The next mail to ``email`` not read before (that may carry flow ``flow_id``'s challenge, when given);
        the method's mail requirement fails when none comes within the mail timeout."""
        with checks.precondition():
            return checks.mail_arrives(self.inbox, email, checks.MAIL_REQUIREMENT[self.method],
                                       wait=self.target.mail_timeout, flow_id=flow_id)

    # -- outcomes ------------------------------------------------------------------------------------------------
    def _ended_on_the_ui(self, req: str, nav: Nav, location: str) -> None:
        """The browser ended on the target's UI (the page it shows, after every redirect): under the UI URL, or,
        when that is unknown, under the first redirect's ``location`` (its path, without the query)."""
        ui_url = self.target.ui_url or urlsplit(location)._replace(query="", fragment="").geturl()
        learned = self.target.learned("ui_url") or not self.target.ui_url
        checks.expect(req, bool(ui_url) and under(nav.url, ui_url),
                      f"the browser ended at {nav.url}, not the UI {ui_url or '(no redirect named one)'}",
                      *nav.exchanges, name=checks.check_name("ended_on_the_ui", learned=learned))

    def expect_redirected_to_ui(self, req: str, nav: Nav, *, flow_id: str | None = None,
                                new_flow_instead_of: str | None = None) -> None:
        """The first response of ``nav`` was a 303 to the UI (with ``?flow=<flow_id>`` when given:
        :func:`checks.redirect_to_ui`), and the browser ended on the UI showing the expected flow."""
        first = nav.first
        if first is None:
            checks.expect(req, False, f"the browser got no answer on its way to {nav.url}", name="browser_answered")
            return
        location = checks.redirect_to_ui(first, self.target, req,
                                         query={"flow": flow_id} if flow_id is not None else None)
        self._ended_on_the_ui(req, nav, location)
        if flow_id is not None:
            checks.expect(req, nav.flow_id == flow_id, f"the UI shows flow {nav.flow_id}, not {flow_id}",
                          *nav.exchanges, name="ui_shows_flow")
        if new_flow_instead_of is not None:
            checks.expect(req, bool(nav.flow_id) and nav.flow_id != new_flow_instead_of,
                          f"the UI shows flow {nav.flow_id}, expected a new flow replacing {new_flow_instead_of}",
                          *nav.exchanges, name="ui_shows_new_flow")

    def expect_messages(self, req: str, ids: list[int]) -> None:
        """The page shows exactly these message ids (flow and node messages together)."""
        got = self.message_ids()
        checks.expect(req, got == ids, f"expected messages {ids} on the page, got {got}; {self.describe()}",
                      *self.exchanges(), name="ui_messages")
