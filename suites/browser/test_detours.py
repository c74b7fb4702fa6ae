"""A person in a real browser takes a detour: a mistyped code, a form left open too long, a code that never came."""

from __future__ import annotations

import time

import pytest
from browser_ui import BrowserUi

from kratos_conformance.flows.admin_api import AdminApi, unique_address
from kratos_conformance.flows.expiry_budget import flow_expiry_skip
from kratos_conformance.mail import wrong_code
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.run.target import Target


@pytest.mark.usefixtures("code_method")
@pytest.mark.requirement("VER-BROWSER-WRONG-CODE", "VER-CODE-WRONG")
def test_wrong_code_shows_4070006_and_keeps_the_form(ui: BrowserUi, admin: AdminApi, req: str) -> None:
    identity = admin.create_identity()
    flow_id = ui.to_sent_email(identity.email)
    mail = ui.wait_mail(identity.email, flow_id)
    nav = ui.submit_code(wrong_code(mail.code))
    ui.shots.take(ui.page, "wrong-code")
    ui.expect_redirected_to_ui(req, nav, flow_id=flow_id)
    ui.expect_messages(req, [ids.CODE_INVALID_OR_USED])
    checks.expect(req, ui.field("code").count() == 1 and ui.submit_button("method", "code").count() == 1,
                  f"after a wrong code the code form is gone: {ui.describe()}", *nav.exchanges, name="ui_code_form")
    checks.address_not_verified(*admin.address(identity), req, after="a wrong code")


@pytest.mark.requirement("VER-BROWSER-EXPIRED-FORM", "VER-EXPIRY-POST")
def test_submitting_an_expired_form_shows_a_new_flow_with_4070005(ui: BrowserUi, target: Target, req: str) -> None:
    start = ui.open_init()
    flow_id = str(start.flow_id)
    opened = time.monotonic()  # the flow was issued before this moment
    flow, _ = ui.flow_json(flow_id)
    lifespan = flow.lifespan
    with checks.precondition():  # the flow's shape is test_init's to judge; without a lifespan there is no wait
        checks.expect("VER-INIT-SHAPE", lifespan is not None and lifespan > 0,
                      f"the flow's expires_at - issued_at is {lifespan!r}", *start.exchanges, name="flow_lifespan")
    assert lifespan is not None
    reason = flow_expiry_skip(lifespan, target.wait_budget)
    if reason:
        pytest.skip(reason)
    ui.field("email").fill(unique_address("expired"))
    ui.shots.take(ui.page, "form-filled")
    time.sleep(max(0.0, opened + lifespan + 0.5 - time.monotonic()))
    nav = ui.press(ui.submit_button("method", ui.method), "submitting the expired form")
    ui.shots.take(ui.page, "expired")
    ui.expect_redirected_to_ui("VER-EXPIRY-POST", nav, new_flow_instead_of=flow_id)
    ui.expect_messages("VER-EXPIRY-POST", [ids.FLOW_EXPIRED])
    checks.expect(req, ui.field("email").count() == 1 and ui.submit_button("method", ui.method).count() == 1,
                  f"the new flow shows no email form to start again: {ui.describe()}", *nav.exchanges,
                  name="ui_email_form")


@pytest.mark.usefixtures("code_method")
@pytest.mark.requirement("VER-BROWSER-RESEND", "VER-CODE-RESEND")
def test_resend_button_mails_a_new_code_that_works(ui: BrowserUi, admin: AdminApi, req: str) -> None:
    identity = admin.create_identity()
    flow_id = ui.to_sent_email(identity.email)
    first = ui.wait_mail(identity.email, flow_id)
    nav = ui.resend()
    ui.shots.take(ui.page, "resent")
    ui.expect_redirected_to_ui(req, nav, flow_id=flow_id)
    ui.expect_messages(req, [ids.CODE_SENT])
    second = ui.wait_mail(identity.email, flow_id)
    checks.new_code_mailed(first, second, req)
    old = ui.submit_code(str(first.code))
    ui.shots.take(ui.page, "old-code")
    ui.expect_messages(req, [ids.CODE_INVALID_OR_USED])
    ui.expect_redirected_to_ui(req, old, flow_id=flow_id)
    new = ui.submit_code(str(second.code))
    ui.shots.take(ui.page, "success")
    ui.expect_redirected_to_ui(req, new, flow_id=flow_id)
    ui.expect_messages(req, [ids.VERIFIED])
    checks.address_verified(*admin.address(identity), req)
