"""Web Push where the installation enables it: a browser's subscription is stored, and a message reaches it
through a real push-protocol server (tests/push_service.py), which checks the VAPID signature and decrypts the
message as the phone would. The VAPID key is made at run time."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.webpush import b64url, public_bytes
from tests.gateway.conftest import PASSWORD, csrf_of, login
from tests.push_service import PushService


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


def _signed_in(tmp_path, **push):
    settings = GatewaySettings(data_dir=tmp_path, agencies_file=None, **push)
    app = create_app(settings)
    app.state.gateway.accounts.create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id="000.00.00.H60",
                                           roles=["clerk"], password=PASSWORD, unit="VP", must_change_password=False)
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, "hoalt.vp").status_code == 303
    page = client.get("/tai-khoan")
    return client, {"X-CSRF-Token": csrf_of(page.text)}, page.text


def test_without_push_settings_nothing_is_offered(tmp_path):
    client, _csrf, page = _signed_in(tmp_path)
    assert "Thông báo trên thiết bị này" not in page
    r = client.get("/api/v1/push/key")
    assert r.status_code == 404 and "PUSH_ENABLED" in r.json()["title"]


def test_a_subscribed_browser_receives_the_message_decrypted(tmp_path, push_service):
    client, csrf, page = _signed_in(tmp_path, push_enabled=True, push_subject="mailto:quantri@snv.tuyenquang.gov.vn",
                                    push_services="127.0.0.1", push_allow_http=True)
    assert "Nhận thông báo trên thiết bị này" in page
    key = client.get("/api/v1/push/key").json()["application_server_key"]
    # Made at run time, readable by the gateway only, the same at the next start.
    pem = tmp_path / "gateway" / "vapid.pem"
    assert pem.exists() and stat.S_IMODE(pem.stat().st_mode) == 0o600
    sub_id, subscription = push_service.subscribe(key)

    assert client.post("/api/v1/push/subscriptions", json=subscription).status_code == 403  # no CSRF token
    r = client.post("/api/v1/push/subscriptions", json=subscription, headers=csrf)
    assert r.status_code == 201, r.text
    sent = client.post("/api/v1/push/test", headers=csrf).json()
    assert sent == {"sent": 1, "failed": 0}, push_service.refusals
    assert push_service.subscriptions[sub_id].messages == [
        {"title": "Công Văn", "body": "Thông báo thử: thiết bị này đã nhận được.", "url": "/"}]

    # A subscription the push service has forgotten (410 Gone) is dropped: the next message is not attempted.
    del push_service.subscriptions[sub_id]
    assert client.post("/api/v1/push/test", headers=csrf).json() == {"sent": 0, "failed": 1}
    assert client.post("/api/v1/push/test", headers=csrf).json() == {"sent": 0, "failed": 0}

    # Turning them off on a browser removes its subscription.
    sub_id, subscription = push_service.subscribe(key)
    client.post("/api/v1/push/subscriptions", json=subscription, headers=csrf)
    r = client.request("DELETE", "/api/v1/push/subscriptions", json={"endpoint": subscription["endpoint"]},
                       headers=csrf)
    assert r.status_code == 204
    assert client.post("/api/v1/push/test", headers=csrf).json() == {"sent": 0, "failed": 0}

    # The push service refuses a message signed by another key than the subscription's (RFC 8292 §4.2).
    another_key = b64url(public_bytes(ec.generate_private_key(ec.SECP256R1()).public_key()))
    _, subscription = push_service.subscribe(another_key)
    client.post("/api/v1/push/subscriptions", json=subscription, headers=csrf)
    assert client.post("/api/v1/push/test", headers=csrf).json() == {"sent": 0, "failed": 1}
    assert "not the key the subscription was made for" in push_service.refusals


def test_only_the_allowed_push_services_are_ever_contacted(tmp_path, push_service):
    client, csrf, _ = _signed_in(tmp_path, push_enabled=True, push_subject="mailto:quantri@snv.tuyenquang.gov.vn")
    key = client.get("/api/v1/push/key").json()["application_server_key"]
    _, subscription = push_service.subscribe(key)
    r = client.post("/api/v1/push/subscriptions", json=subscription, headers=csrf)  # http, and not an allowed host
    assert r.status_code == 422 and "dịch vụ đẩy được phép" in r.json()["title"]
    subscription["endpoint"] = "https://intranet.example.gov.vn/admin"
    assert client.post("/api/v1/push/subscriptions", json=subscription, headers=csrf).status_code == 422
    subscription["endpoint"] = "https://fcm.googleapis.com/fcm/send/abc"
    subscription["keys"]["auth"] = "c2hvcnQ"
    r = client.post("/api/v1/push/subscriptions", json=subscription, headers=csrf)
    assert r.status_code == 422 and "Khóa của trình duyệt" in r.json()["title"]


def test_what_routing_notifies_reaches_the_persons_phone(deployment, push_service):
    """A notification written by routing (here: a task given by the leader) reaches the assignee's subscribed browser
    through routing's `notified` event and the gateway's follower, with the page it is about: not only what the
    gateway itself did."""
    from tests.e2e.helpers import wait_for
    from tests.gateway.test_api import csrf_token_of, session_for

    specialist, leader = session_for(deployment, "trangdt.thtq"), session_for(deployment, "annv.vptq")
    try:
        key = specialist.get("/api/v1/push/key").json()["application_server_key"]
        sub_id, subscription = push_service.subscribe(key)
        r = specialist.post("/api/v1/push/subscriptions", json=subscription,
                            headers={"x-csrf-token": csrf_token_of(specialist)})
        assert r.status_code == 201, r.text
        me = specialist.get("/api/v1/me").json()

        title = "Tổng hợp số liệu văn bản đến quý IV"
        made = leader.post("/cong-viec", data={"csrf_token": csrf_token_of(leader), "title": title,
                                               "assignee": me["user_id"], "due": "15/12/2026"})
        assert made.status_code == 303, made.text[:500]
        task_url = made.headers["location"].split("?")[0]
        messages = wait_for(lambda: push_service.subscriptions[sub_id].messages, 60,
                            "the task's notification on the specialist's phone", every=0.5)
        assert len(messages) == 1 and title in messages[0]["title"], messages
        assert messages[0]["url"] == task_url
        assert not push_service.refusals
    finally:
        specialist.close()
        leader.close()


def test_workers_making_the_key_together_all_get_the_one_key(tmp_path):
    """Several gateway workers start on an installation without a key: each makes one, one is kept, and every
    worker signs with that one (else a browser subscribed through one worker would refuse the others' pushes)."""
    from multiprocessing import get_context

    from gateway.webpush import Vapid

    path = tmp_path / "gateway" / "vapid.pem"
    with get_context("spawn").Pool(4) as pool:
        keys = pool.starmap(_key_of, [(str(path),)] * 8)
    assert len(set(keys)) == 1
    assert keys[0] == Vapid.load_or_create(path, "mailto:a@b.vn").application_server_key
    assert [p.name for p in path.parent.iterdir()] == ["vapid.pem"]  # no partial file left


def _key_of(path: str) -> str:
    from pathlib import Path

    from gateway.webpush import Vapid

    return Vapid.load_or_create(Path(path), "mailto:quantri@snv.tuyenquang.gov.vn").application_server_key
