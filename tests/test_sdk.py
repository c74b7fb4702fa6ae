"""The official Python SDK (PyPI ory-kratos-client) completes verification flows against the reference target.

The SDK parses every response into its own pydantic models, so this is an independent check that the reference
target's wire format is what real Kratos clients expect.
"""

from __future__ import annotations

from collections.abc import Iterator

import ory_kratos_client
import pytest
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.api.identity_api import IdentityApi
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models import (
    CreateIdentityBody,
    ErrorGeneric,
    UpdateVerificationFlowBody,
    UpdateVerificationFlowWithCodeMethod,
    UpdateVerificationFlowWithLinkMethod,
    VerificationFlow,
)

from kratos_conformance.flows.admin_api import unique_address
from kratos_conformance.mail import SmtpSink, wait_for_mail
from kratos_reference import ReferenceConfig, RunningTarget, serve


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


def _start(sink: SmtpSink, method: str) -> RunningTarget:
    return serve(ReferenceConfig(public_url="http://127.0.0.1:0/", admin_url="http://127.0.0.1:0/",
                                 method=method, smtp_url=sink.url))


def _apis(target: RunningTarget) -> tuple[FrontendApi, IdentityApi]:
    public = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=target.public_url.rstrip("/")))
    admin = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=target.admin_url.rstrip("/")))
    return FrontendApi(public), IdentityApi(admin)


def _seed(identities: IdentityApi) -> tuple[str, str]:
    email = unique_address("sdk")
    identity = identities.create_identity(CreateIdentityBody(schema_id="default", traits={"email": email}))
    assert identity.verifiable_addresses and identity.verifiable_addresses[0].status == "pending"
    return identity.id, email


def test_native_code_flow_with_the_official_sdk(sink: SmtpSink) -> None:
    with _start(sink, "code") as target:
        frontend, identities = _apis(target)
        identity_id, email = _seed(identities)

        flow = frontend.create_native_verification_flow()
        assert isinstance(flow, VerificationFlow) and flow.type == "api" and flow.active == "code"
        fetched = frontend.get_verification_flow(id=flow.id)
        assert fetched.id == flow.id and fetched.state == "choose_method"

        sent = frontend.update_verification_flow(flow=flow.id, update_verification_flow_body=UpdateVerificationFlowBody(
            UpdateVerificationFlowWithCodeMethod(method="code", email=email)))
        assert sent.state == "sent_email"
        assert [m.id for m in sent.ui.messages or []] == [1080003]
        assert identities.get_identity(identity_id).verifiable_addresses[0].status == "sent"

        code = wait_for_mail(sink, email, timeout=10).code
        assert code is not None
        wrong_code = UpdateVerificationFlowWithCodeMethod(method="code", code=f"{(int(code) + 1) % 10**6:06d}")
        wrong = frontend.update_verification_flow(flow=flow.id,
                                                  update_verification_flow_body=UpdateVerificationFlowBody(wrong_code))
        assert wrong.state == "sent_email" and [m.id for m in wrong.ui.messages or []] == [4070006]

        done = frontend.update_verification_flow(flow=flow.id, update_verification_flow_body=UpdateVerificationFlowBody(
            UpdateVerificationFlowWithCodeMethod(method="code", code=code)))
        assert done.state == "passed_challenge"
        assert [m.id for m in done.ui.messages or []] == [1080002]
        assert any(n.attributes.actual_instance.node_type == "a" for n in done.ui.nodes)

        address = identities.get_identity(identity_id).verifiable_addresses[0]
        assert address.verified and address.status == "completed" and address.verified_at is not None


def test_native_link_flow_with_the_official_sdk(sink: SmtpSink) -> None:
    with _start(sink, "link") as target:
        frontend, identities = _apis(target)
        identity_id, email = _seed(identities)
        flow = frontend.create_native_verification_flow()
        sent = frontend.update_verification_flow(flow=flow.id, update_verification_flow_body=UpdateVerificationFlowBody(
            UpdateVerificationFlowWithLinkMethod(method="link", email=email, csrf_token="")))
        assert sent.state == "sent_email" and [m.id for m in sent.ui.messages or []] == [1080001]
        token = wait_for_mail(sink, email, timeout=10).token
        assert token is not None and len(token) == 32
        done = frontend.update_verification_flow(
            flow=flow.id, token=token, _headers={"Accept": "application/json"},
            update_verification_flow_body=UpdateVerificationFlowBody(
                UpdateVerificationFlowWithLinkMethod(method="link", email=email, csrf_token="")))
        assert done.state == "passed_challenge"
        assert identities.get_identity(identity_id).verifiable_addresses[0].verified


def test_sdk_parses_error_bodies(sink: SmtpSink) -> None:
    with _start(sink, "code") as target:
        frontend, _ = _apis(target)
        with pytest.raises(ApiException) as info:
            frontend.get_verification_flow(id="00000000-0000-4000-8000-000000000000")
        assert info.value.status == 404
        error = ErrorGeneric.from_json(info.value.body)
        assert error.error.code == 404 and error.error.status == "Not Found"
