"""A person in a real browser: from the browser init URL through the UI's form to the success page.

Each scenario starts at ``<public>/self-service/verification/browser``, follows the 303 to the UI, types into the
fields the UI renders for the flow's nodes and reads the mail like a person would. The CSRF cookie is judged the way
the browser stores it.
"""

from __future__ import annotations

import pytest
from browser_ui import CONTINUE_SELECTOR, BrowserUi, Nav

from kratos_conformance.flows.admin_api import AdminApi, Identity
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.rules.response_rules import (
    CSRF_COOKIE_PREFIX,
    is_absolute_http_url,
    is_csrf_cookie_name,
    stored_csrf_cookie_problems,
)
from kratos_conformance.run.target import Target


def _send_email(ui: BrowserUi, identity: Identity, message_id: int) -> str:
    """Open the init URL, submit the address through the form, see the sent message; returns the flow id."""
    flow_id, sent = ui.sent(identity.email)
    ui.expect_redirected_to_ui("VER-SUBMIT-BROWSER-303", sent, flow_id=flow_id)
    ui.expect_messages("VER-SUBMIT-EMAIL-SENT", [message_id])
    return flow_id


def _see_success(ui: BrowserUi, done: Nav, flow_id: str, success_req: str, walk_req: str) -> None:
    """The step that proved the address led back to the UI, which shows message 1080002 and a visible continue
    link with an absolute href."""
    ui.shots.take(ui.page, "success")
    ui.expect_redirected_to_ui(success_req, done, flow_id=flow_id)
    ui.expect_messages(success_req, [ids.VERIFIED])
    href = ui.continue_href()
    checks.expect(walk_req, ui.shows(CONTINUE_SELECTOR) and is_absolute_http_url(str(href)),
                  f"no visible continue link with an absolute href: {ui.describe()}", *ui.exchanges(),
                  name="continue_link")


@pytest.mark.usefixtures("code_method")
@pytest.mark.requirement("VER-BROWSER-WALK-CODE", "VER-SUBMIT-BROWSER-303",
                         "VER-SUBMIT-EMAIL-SENT", "VER-CODE-NODES-SENT", "VER-CODE-MAIL", "VER-CODE-SUCCESS",
                         "VER-CODE-VERIFIED")
def test_code_walk_from_init_to_success(ui: BrowserUi, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow_id = _send_email(ui, identity, ids.CODE_SENT)
    checks.expect("VER-CODE-NODES-SENT", ui.field("code").count() == 1 and ui.submit_button("email").count() == 1,
                  f"the sent_email page lacks the code field or the resend button: {ui.describe()}", *ui.exchanges(),
                  name="ui_code_form")
    mail = ui.wait_mail(identity.email, flow_id)
    checks.challenge_mail(mail, "code", flow_id, target)
    done = ui.submit_code(str(mail.code))
    _see_success(ui, done, flow_id, "VER-CODE-SUCCESS", req)
    checks.address_verified(*admin.address(identity), "VER-CODE-VERIFIED")


@pytest.mark.usefixtures("link_method")
@pytest.mark.requirement("VER-BROWSER-WALK-LINK", "VER-SUBMIT-BROWSER-303",
                         "VER-SUBMIT-EMAIL-SENT", "VER-LINK-MAIL", "VER-LINK-VALID", "VER-LINK-VERIFIED")
def test_link_walk_from_init_to_success(ui: BrowserUi, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow_id = _send_email(ui, identity, ids.LINK_SENT)
    mail = ui.wait_mail(identity.email, flow_id)
    checks.challenge_mail(mail, "link", flow_id, target)
    done = ui.goto(str(mail.verification_link))  # the person clicks the link: it opens in the same browser
    _see_success(ui, done, flow_id, "VER-LINK-VALID", req)
    checks.address_verified(*admin.address(identity), "VER-LINK-VERIFIED")


@pytest.mark.requirement("VER-BROWSER-COOKIE-HTTPONLY", "VER-INIT-NODES")
def test_csrf_cookie_as_the_browser_keeps_it(ui: BrowserUi, target: Target, req: str) -> None:
    start = ui.open_init()
    ui.shots.take(ui.page, "form")
    stored = [c for c in ui.context.cookies(target.public_url) if is_csrf_cookie_name(c["name"])]
    checks.expect(req, len(stored) == 1, f"the browser keeps {len(stored)} csrf_token_* cookies, not 1",
                  *start.exchanges, name="one_stored_csrf_cookie")
    cookie = stored[0]
    problems = stored_csrf_cookie_problems(cookie, target.cookie_policy)
    checks.expect(req, not problems, f"the browser stored the CSRF cookie {cookie['name']}: {'; '.join(problems)}",
                  *start.exchanges, name=checks.check_name("stored_csrf_cookie", learned=target.cookie_policy.learned,
                                                           what="cookie Secure"))
    visible = str(ui.page.evaluate("() => document.cookie"))
    checks.expect(req, CSRF_COOKIE_PREFIX not in visible,
                  "page scripts can read the CSRF cookie (document.cookie shows it)", *start.exchanges,
                  name="csrf_cookie_hidden_from_page")
    token = ui.page.locator('input[type=hidden][name="csrf_token"]')
    checks.expect("VER-INIT-NODES", token.count() == 1 and bool(token.first.get_attribute("value")),
                  f"the form carries no csrf_token beside the cookie: {ui.describe()}", *start.exchanges,
                  name="ui_csrf_token")
