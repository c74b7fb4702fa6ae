"""The suite's own verification UI (kratos_conformance/run/ui_server.py), for servers without one.

- Its markup is the reference target's (verification_page.py), and it answers as the reference target's own UI does
  (the last test); tests/reference/test_ui_pages.py renders every
  recorded Kratos flow with it.
- Served in front of a running server (the embedded reference target here), it shows a browser's flow with the
  browser's cookies, sends it to the browser init when there is no usable flow, follows an expired flow's
  redirect_to, shows stored errors, and is otherwise a welcome page.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kratos_conformance.mail import SmtpSink
from kratos_conformance.run.embedded_target import EmbeddedTarget
from kratos_conformance.run.ui_server import VerificationUi, parse_listen

BROWSER_ACCEPT = "text/html,application/xhtml+xml"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EmbeddedTarget, VerificationUi]]:
    sink = SmtpSink()
    target = EmbeddedTarget(method="code", smtp_url=sink.url).start()
    ui = VerificationUi(target.public_url)
    yield target, ui
    ui.close()
    target.stop()
    sink.close()


def test_a_browser_flow_is_shown_with_the_browsers_cookies(served: tuple[EmbeddedTarget, VerificationUi]) -> None:
    target, ui = served
    with httpx.Client(headers={"Accept": "application/json"}) as spa:
        flow = spa.get(target.public_url + "self-service/verification/browser").json()
        cookie = "; ".join(f"{k}={v}" for k, v in spa.cookies.items())
    shown = httpx.get(ui.verification_url, params={"flow": flow["id"]}, headers={"Cookie": cookie})
    assert shown.status_code == 200
    assert f'data-flow-id="{flow["id"]}"' in shown.text
    assert 'name="csrf_token"' in shown.text and 'form id="verification-form"' in shown.text
    stranger = httpx.get(ui.verification_url, params={"flow": flow["id"]})
    assert stranger.status_code == 303
    assert stranger.headers["location"] == target.public_url + "self-service/verification/browser"


def test_without_a_flow_it_starts_one_keeping_return_to(served: tuple[EmbeddedTarget, VerificationUi]) -> None:
    target, ui = served
    plain = httpx.get(ui.verification_url)
    browser_init = target.public_url + "self-service/verification/browser"
    assert (plain.status_code, plain.headers["location"]) == (303, browser_init)
    back = httpx.get(ui.verification_url, params={"return_to": "https://app.conformance.test/welcome"})
    assert back.headers["location"].endswith("/browser?return_to=https%3A%2F%2Fapp.conformance.test%2Fwelcome")
    unknown = httpx.get(ui.verification_url, params={"flow": "0d5f1a43-6a5e-4b51-a2d1-53c0a7b2a0e1"})
    assert unknown.status_code == 303


def test_errors_and_other_pages(served: tuple[EmbeddedTarget, VerificationUi]) -> None:
    target, ui = served
    browser = httpx.Client(headers={"Accept": BROWSER_ACCEPT})
    answer = browser.post(target.public_url + "self-service/verification", data={"method": "code"})
    error_id = httpx.URL(answer.headers["location"]).params["id"]
    shown = httpx.get(ui.error_url, params={"id": error_id})
    assert shown.status_code == 200 and f'data-error-id="{error_id}"' in shown.text
    assert httpx.get(ui.error_url, params={"id": "nope"}).status_code == 404
    welcome = httpx.get(ui.url)
    assert welcome.status_code == 200 and 'id="welcome"' in welcome.text


def test_over_https_it_serves_with_the_given_certificate_and_an_idle_connection_holds_nothing_up(
        served: tuple[EmbeddedTarget, VerificationUi], self_signed_certificate: tuple[Path, Path]) -> None:
    """--serve-ui-tls: the page over https (a server whose public API is https needs its UI on the same scheme for
    the browser to send the SameSite=Lax CSRF cookie); a client that connects and never says hello (a browser's
    pre-connection) does not stop the next one from being served."""
    target, _ = served
    cert, key = self_signed_certificate
    ui = VerificationUi(target.public_url, tls=(cert, key))
    idle = socket.create_connection(("127.0.0.1", int(ui.url.rsplit(":", 1)[1].strip("/"))))
    try:
        assert ui.url.startswith("https://127.0.0.1:") and ui.verification_url.startswith("https://")
        welcome = httpx.get(ui.url, verify=ssl.create_default_context(cafile=str(cert)), timeout=5)
        assert welcome.status_code == 200 and 'id="welcome"' in welcome.text
        with pytest.raises(httpx.TransportError):  # over https only: a plain-http request gets no page
            httpx.get(ui.url.replace("https://", "http://"), timeout=5).raise_for_status()
    finally:
        idle.close()
        ui.close()


def test_listen_addresses_are_checked() -> None:
    assert parse_listen("127.0.0.1:4455") == ("127.0.0.1", 4455)
    for bad in ("4455", "127.0.0.1:", "127.0.0.1:99999", ":4455"):
        with pytest.raises(Exception, match="is not HOST:PORT"):
            parse_listen(bad)


def test_it_answers_as_the_reference_targets_own_ui_does(served: tuple[EmbeddedTarget, VerificationUi]) -> None:
    """The two verification UIs of this project answer alike for the same flow, error and visitor (a page byte for
    byte, a redirect to the same place): a browser walk sees the same whichever one a server points at."""
    target, ui = served
    with httpx.Client(headers={"Accept": "application/json"}) as spa:
        flow = spa.get(target.public_url + "self-service/verification/browser").json()
        cookie = "; ".join(f"{k}={v}" for k, v in spa.cookies.items())
    refused = httpx.Client(headers={"Accept": BROWSER_ACCEPT}).post(target.public_url + "self-service/verification",
                                                                   data={"method": "code"})
    error_id = httpx.URL(refused.headers["location"]).params["id"]
    visits = [("verification", {"flow": flow["id"]}, {"Cookie": cookie}),  # the browser's own flow
              ("verification", {"flow": flow["id"]}, {}),                   # someone else's
              ("verification", {"flow": "0d5f1a43-6a5e-4b51-a2d1-53c0a7b2a0e1"}, {}),  # unknown
              ("verification", {}, {}),                                     # no flow
              ("error", {"id": error_id}, {})]
    for page_name, params, headers in visits:
        own = httpx.get(target.public_url + f"ui/{page_name}", params=params, headers=headers)
        suites_ui = httpx.get(ui.verification_url if page_name == "verification" else ui.error_url,
                              params=params, headers=headers)
        assert (own.status_code, own.headers.get("location")) == \
               (suites_ui.status_code, suites_ui.headers.get("location")), (page_name, params)
        if own.status_code == 200:
            assert own.text == suites_ui.text, (page_name, params)
