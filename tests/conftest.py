"""Fixtures the project's own tests share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

#: the Chromium the browser checks drive (Debian's, installed by scripts/install-browser.sh)
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium_page() -> Iterator[tuple[Any, list[str]]]:
    """A headless Chromium page (Playwright driving Debian's Chromium) and the URLs it requested; skips with the
    reason without one."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/install-browser.sh")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        yield page, requests
        browser.close()
