"""A real headless Chromium walks the browser flow through the target's own UI page (skipped without Chromium)."""

from __future__ import annotations

import shutil

import pytest
from reference_helpers import SmtpSink, create_identity, get_identity, unique_email

from kratos_reference import RunningTarget

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH")


def test_chromium_verifies_an_address_with_the_code(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    email = unique_email()
    identity = create_identity(code_target.admin_url, email)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(code_target.public_url + "self-service/verification/browser")
            assert page.url.startswith(code_target.public_url + "ui/verification?flow=")
            page.fill("input[name=email]", email)
            page.click("button[name=method][value=code]")
            page.wait_for_selector('#messages [data-message-id="1080003"]')
            assert page.get_attribute("#flow", "data-flow-state") == "sent_email"

            page.fill("input[name=code]", smtp_sink.wait_for(email).code)
            page.click("button[name=method][value=code]")
            page.wait_for_selector('#messages [data-message-id="1080002"]')
            assert page.get_attribute("#flow", "data-flow-state") == "passed_challenge"
            page.click("a#continue")
            page.wait_for_selector("#welcome")
            assert page.url == code_target.public_url + "ui/welcome"
        finally:
            browser.close()
    assert get_identity(code_target.admin_url, identity["id"])["verifiable_addresses"][0]["verified"] is True
