"""Fixtures of the real-browser scenarios: headless Chromium driven by Playwright, one fresh context per test.

Chromium is Debian's (``scripts/install-browser.sh`` puts it at /usr/bin/chromium; ``CHROMIUM=/path`` picks another
build). Playwright never downloads a browser here. Without either, every browser scenario is skipped with the reason.
Screenshots of each step land in ``<report dir>/screenshots/`` and in the Allure report.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_ui import CHROMIUM_ARGS, BrowserUi, Screenshots

from kratos_conformance.mail import MailSource
from kratos_conformance.run.pytest_plugin import OPTIONS_KEY
from kratos_conformance.run.target import Target
from kratos_conformance.wire.exchanges import Recorder
from kratos_conformance.wire.http_transport import trusted_certificates

if TYPE_CHECKING:  # typing only; playwright is imported by the chromium fixture, which skips without it
    from playwright.sync_api import Browser, Page

DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: how long one browser action (click, navigation, wait for an element) may take before the step fails.
ACTION_TIMEOUT_MS = 15_000
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def chromium_path() -> str | None:
    """The Chromium executable to drive: $CHROMIUM, else /usr/bin/chromium, else ``chromium`` on PATH."""
    wanted = os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    if os.path.isfile(wanted) and os.access(wanted, os.X_OK):
        return wanted
    return None if os.environ.get("CHROMIUM") else shutil.which("chromium")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember the outcome of the test body, so the page fixture can photograph a failure."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """A headless Chromium (one per module; Playwright gives every launch a fresh temporary profile)."""
    sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError,
                                   reason="Playwright for Python is not installed or does not import "
                                   "(pip install playwright; no browser download is needed)")
    executable = chromium_path()
    if executable is None:
        pytest.skip(f"no Chromium at {os.environ.get('CHROMIUM') or DEFAULT_CHROMIUM}: run scripts/install-browser.sh")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except sync_api.Error as exc:
            pytest.skip(f"Chromium at {executable} does not start: {str(exc).splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Screenshots:
    """This test's screenshots: ``<report dir>/screenshots/<test>-<NN>-<step>.png``, attached to Allure too."""
    directory = Path(pytestconfig.stash[OPTIONS_KEY].report_dir) / "screenshots"

    def attach(path: Path, name: str) -> None:
        try:
            import allure
        except ImportError:  # pragma: no cover - allure-pytest is a pinned dependency
            return
        allure.attach.file(str(path), name=name, attachment_type=allure.attachment_type.PNG)

    return Screenshots(directory, request.node.name, attach)


@pytest.fixture
def page(chromium: Browser, shots: Screenshots, request: pytest.FixtureRequest,
         pytestconfig: pytest.Config) -> Iterator[Page]:
    """A page in a new, empty browser context (no cookies, no storage); a failure is photographed.

    Chromium trusts only its own certificate store, which ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` do not reach: where
    they are set (a server behind a private CA), the page does not check certificates itself. It trusts no more than
    the run does: the preflight has reached the public URL through the suite's own client, which verifies with them,
    and ends the run if that fails. The same holds where the run serves its own UI over https (``--serve-ui-tls``):
    that certificate is the suite's own, and the public URL's was verified by the suite's client."""
    own_ui_tls = pytestconfig.stash[OPTIONS_KEY].serve_ui_tls is not None
    context = chromium.new_context(viewport={"width": 900, "height": 800}, locale="en-US",
                                   ignore_https_errors=trusted_certificates() is not True or own_ui_tls)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.failed and not page.is_closed():
        try:
            shots.take(page, "failure")
        except Exception:  # noqa: BLE001 - a broken page must not hide the test's own failure
            pass
    context.close()


@pytest.fixture
def ui(page: Page, target: Target, mail: MailSource, active_method: str, shots: Screenshots,
       recorder: Recorder, req: str) -> BrowserUi:
    """The driver: one person's browser on the target's verification UI, for the test's requirement ``req``; its
    exchanges go to the run's recorder (the test's log and reports, and the contract judge), like every client's."""
    return BrowserUi(page, target, mail, active_method, shots, req, record=recorder.record)
