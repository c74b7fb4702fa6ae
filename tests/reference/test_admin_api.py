"""The admin API: identities, courier messages, health, version, bearer token, admin path prefix, SQLite file."""

from __future__ import annotations

from pathlib import Path

import httpx
from reference_helpers import SmtpSink, StartTarget, create_identity, message_ids, native_client, unique_email

from kratos_reference import RunningTarget


def test_identity_lifecycle(code_target: RunningTarget) -> None:
    admin = code_target.admin_url
    email = unique_email()
    created = httpx.post(admin + "admin/identities", json={"schema_id": "default", "traits": {"email": email.upper()}})
    assert created.status_code == 201
    identity = created.json()
    assert created.headers["location"] == admin + f"admin/identities/{identity['id']}"
    assert identity["state"] == "active" and identity["traits"] == {"email": email.upper()}
    assert identity["schema_url"] == code_target.public_url + "schemas/ZGVmYXVsdA"
    address = identity["verifiable_addresses"][0]
    assert {k: address[k] for k in ("value", "verified", "via", "status")} == {
        "value": email, "verified": False, "via": "email", "status": "pending"}
    assert "verified_at" not in address and identity["metadata_public"] is None

    fetched = httpx.get(admin + f"admin/identities/{identity['id']}")
    assert fetched.status_code == 200 and fetched.json()["id"] == identity["id"]
    listed = httpx.get(admin + "admin/identities", params={"credentials_identifier": email})
    assert [i["id"] for i in listed.json()] == [identity["id"]]
    assert identity["id"] in [i["id"] for i in httpx.get(admin + "admin/identities").json()]

    duplicate = httpx.post(admin + "admin/identities", json={"schema_id": "default", "traits": {"email": email}})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == 409

    assert httpx.delete(admin + f"admin/identities/{identity['id']}").status_code == 204
    assert httpx.get(admin + f"admin/identities/{identity['id']}").status_code == 404
    assert httpx.delete(admin + f"admin/identities/{identity['id']}").status_code == 404


def test_identity_input_errors(code_target: RunningTarget) -> None:
    admin = code_target.admin_url + "admin/identities"
    for payload in ({"schema_id": "default", "traits": {}}, {"schema_id": "default", "traits": {"email": "nope"}},
                    {"schema_id": "other", "traits": {"email": unique_email()}}, {"traits": "x"}, [1]):
        answer = httpx.post(admin, json=payload)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == 400, payload
    garbage = httpx.post(admin, content=b"{", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400
    for bad_id in ("not-a-uuid", "8f1f3e3c-4a0b-4b59-9a4e-0b7c3b0f4d11"):
        answer = httpx.get(code_target.admin_url + f"admin/identities/{bad_id}")
        assert answer.status_code == 404 and answer.json()["error"]["status"] == "Not Found"


def test_seeded_verified_address(code_target: RunningTarget) -> None:
    email = unique_email()
    created = httpx.post(code_target.admin_url + "admin/identities", json={
        "traits": {"email": email}, "verifiable_addresses": [{"value": email, "verified": True, "via": "email",
                                                               "status": "completed"}]})
    address = created.json()["verifiable_addresses"][0]
    assert address["verified"] is True and address["status"] == "completed" and "verified_at" in address


def test_health_version_and_courier_messages(code_target: RunningTarget, smtp_sink: SmtpSink) -> None:
    admin = code_target.admin_url
    assert httpx.get(admin + "health/alive").json() == {"status": "ok"}
    assert httpx.get(admin + "health/ready").json() == {"status": "ok"}
    assert httpx.get(admin + "version").json() == {"version": "v26.2.0-reference"}
    email = unique_email()
    create_identity(admin, email)
    with native_client() as client:
        flow = client.get(code_target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
    smtp_sink.wait_for(email)
    messages = httpx.get(admin + "admin/courier/messages", params={"recipient": email}).json()
    assert len(messages) == 1 and messages[0]["subject"].startswith("Use code ")
    assert messages[0]["status"] in ("queued", "sent") and messages[0]["type"] == "email"


def test_admin_token_and_admin_prefix(start_target: StartTarget) -> None:
    target = start_target(admin_token="s3cret", admin_url="http://127.0.0.1:0/kratos-admin/")
    admin = target.admin_url
    assert admin.endswith("/kratos-admin/")
    payload = {"schema_id": "default", "traits": {"email": unique_email()}}
    refused = httpx.post(admin + "admin/identities", json=payload)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == 401
    wrong = httpx.get(admin + "admin/identities", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(admin + "version").status_code == 401
    assert httpx.get(admin + "health/alive").status_code == 200
    ok = httpx.post(admin + "admin/identities", json=payload, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 201
    assert httpx.get(admin.replace("/kratos-admin/", "/") + "version",
                     headers={"Authorization": "Bearer s3cret"}).status_code == 404


def test_sqlite_file_database_persists_state(start_target: StartTarget, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    database = tmp_path / "reference.sqlite"
    target = start_target(database=str(database))
    email = unique_email()
    identity = create_identity(target.admin_url, email)
    with native_client() as client:
        flow = client.get(target.public_url + "self-service/verification/api").json()
        client.post(flow["ui"]["action"], json={"method": "code", "email": email})
        code = smtp_sink.wait_for(email).code
        done = client.post(flow["ui"]["action"], json={"method": "code", "code": code})
        assert done.json()["state"] == "passed_challenge" and message_ids(done.json()) == [1080002]
    target.stop()
    assert database.stat().st_size > 0
    reopened = start_target(database=str(database))
    stored = httpx.get(reopened.admin_url + f"admin/identities/{identity['id']}").json()
    assert stored["verifiable_addresses"][0]["verified"] is True
