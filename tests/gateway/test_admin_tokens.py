"""The administrator's section "Mã truy cập API" on an account's page (/quan-tri/nguoi-dung/{id}): the account's
tokens listed without their secret, one revoked with CSRF (a flash says what happened, twice changes nothing), the
revocation in the account's admin history with the administrator and the token's label, and the token refused
(401) from then on. Only the agency's administrator, and only by the pair (account, token id). In-process
gateway (no agency services needed); the REST routes are tested against the deployment in test_api_admin.py."""

from __future__ import annotations

import json
import re

import pytest

from gateway.auth import Accounts
from gateway.models import AdminEvent
from services.common import audit_verify
from tests.gateway.conftest import PASSWORD, csrf_of, login

H60, H17 = "000.00.00.H60", "000.00.00.H17"


@pytest.fixture
def people(gateway_app) -> dict[str, str]:
    accounts: Accounts = gateway_app.state.gateway.accounts

    def make(username: str, full_name: str, agency: str, roles: list[str]) -> str:
        return accounts.create_user(username=username, full_name=full_name, agency_id=agency, roles=roles,
                                    password=PASSWORD, unit="VP", must_change_password=False).id

    return {"admin": make("manhhd.vp", "Hoàng Đức Mạnh", H60, ["admin"]),
            "owner": make("minhlv.vp", "Lê Văn Minh", H60, ["specialist"]),
            "colleague": make("tuanpm.vp", "Phạm Minh Tuấn", H60, ["specialist"]),
            "foreign": make("ngocvt.dn", "Võ Thị Ngọc", H17, ["specialist"]),
            "foreign_admin": make("quanlt.dn", "Lê Trung Quân", H17, ["admin"])}


def bearer(app, token: str) -> int:
    with_token = {"authorization": f"Bearer {token}"}
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as api:  # no cookie: the token alone
        return api.get("/api/v1/me", headers=with_token).status_code


def row_of(html: str, token_id: str) -> str:
    found = re.search(rf'<tr data-token="{token_id}">.*?</tr>', html, re.S)
    assert found, html
    return found.group(0)


def test_the_administrator_sees_and_revokes_an_accounts_token(gateway_app, client, people):
    accounts: Accounts = gateway_app.state.gateway.accounts
    lost_phone = accounts.issue_api_token(people["owner"], "điện thoại bị mất")
    portal = accounts.issue_api_token(people["owner"], "cổng dịch vụ công")
    assert bearer(gateway_app, lost_phone) == 200  # used once: the page shows when
    listed = {t["label"]: t["id"] for t in accounts.list_api_tokens(people["owner"])}

    login(client, "manhhd.vp")
    page = client.get(f"/quan-tri/nguoi-dung/{people['owner']}").text
    assert "Mã truy cập API" in page and lost_phone not in page and portal not in page  # never the secret
    phone_row = row_of(page, listed["điện thoại bị mất"])
    assert "Đang dùng" in phone_row and re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}</td>", phone_row)
    assert "Chưa dùng" in row_of(page, listed["cổng dịch vụ công"])
    action = f"/quan-tri/nguoi-dung/{people['owner']}/ma-truy-cap/{listed['điện thoại bị mất']}/thu-hoi"
    assert f'action="{action}"' in phone_row and 'data-confirm="Thu hồi mã truy cập “điện thoại bị mất”' in phone_row

    without_csrf = client.post(action, data={})
    assert without_csrf.status_code == 403 and "CSRF" in without_csrf.text
    assert bearer(gateway_app, lost_phone) == 200
    done = client.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303
    after = client.get(done.headers["location"]).text
    assert "Đã thu hồi mã truy cập API; hệ thống dùng mã này không truy cập được nữa." in after
    assert "Đã thu hồi" in row_of(after, listed["điện thoại bị mất"]) and f'action="{action}"' not in after
    assert "Đang dùng" in row_of(after, listed["cổng dịch vụ công"])
    assert "Thu hồi mã truy cập API “điện thoại bị mất” · Hoàng Đức Mạnh" in after  # the admin history
    assert bearer(gateway_app, lost_phone) == 401
    assert bearer(gateway_app, portal) == 200  # the account and its other tokens go on

    again = client.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert "Mã truy cập API này đã được thu hồi từ trước; không có gì thay đổi." in client.get(
        again.headers["location"]).text
    with accounts.db.session() as s:
        events = [e.details for e in s.query(AdminEvent).filter_by(action="revoke_token")]
    assert events == [{"token_id": listed["điện thoại bị mất"], "label": "điện thoại bị mất",
                       "username": "minhlv.vp", "admin_username": "manhhd.vp"}]  # once: the second changed nothing
    # the audit chain of the gateway's tables: the token's row and the admin event, under the administrator
    chained = [r for r in audit_verify.entries(accounts.db, limit=1000) if r["actor"] == people["admin"]]
    token_rows = [r for r in chained if r["entity"] == "api_tokens" and r["action"] == "update"]
    assert len(token_rows) == 1 and json.loads(token_rows[0]["details"])["via"].endswith("/thu-hoi")
    assert any(r["entity"] == "admin_events" for r in chained)


def test_only_the_agencys_administrator_and_only_the_accounts_own_token(gateway_app, client, people):
    accounts: Accounts = gateway_app.state.gateway.accounts
    secret = accounts.issue_api_token(people["colleague"], "báo cáo")
    colleague_token = accounts.list_api_tokens(people["colleague"])[0]["id"]
    foreign_secret = accounts.issue_api_token(people["foreign"], "của Đà Nẵng")
    foreign_token = accounts.list_api_tokens(people["foreign"])[0]["id"]

    login(client, "manhhd.vp")
    csrf = csrf_of(client.get(f"/quan-tri/nguoi-dung/{people['owner']}").text)
    # a token of another account of the same agency, by the owner's page: not found, never revoked by id alone
    wrong_pair = client.post(f"/quan-tri/nguoi-dung/{people['owner']}/ma-truy-cap/{colleague_token}/thu-hoi",
                             data={"csrf_token": csrf})
    assert wrong_pair.status_code == 404 and "Không tìm thấy mã truy cập." in wrong_pair.text
    # another agency's account or token: the same 404 as every admin route
    assert client.get(f"/quan-tri/nguoi-dung/{people['foreign']}").status_code == 404
    for user in ("foreign", "owner"):
        r = client.post(f"/quan-tri/nguoi-dung/{people[user]}/ma-truy-cap/{foreign_token}/thu-hoi",
                        data={"csrf_token": csrf})
        assert r.status_code == 404, (user, r.status_code)
    assert client.post(f"/quan-tri/nguoi-dung/{people['owner']}/ma-truy-cap/khong-phai-ma/thu-hoi",
                       data={"csrf_token": csrf}).status_code == 404
    assert "của Đà Nẵng" not in client.get(f"/quan-tri/nguoi-dung/{people['owner']}").text

    client.post("/dang-xuat", data={"csrf_token": csrf})
    login(client, "hoalt.vp")  # a clerk of the agency
    csrf = csrf_of(client.get("/tai-khoan").text)
    assert client.get(f"/quan-tri/nguoi-dung/{people['colleague']}").status_code == 403
    r = client.post(f"/quan-tri/nguoi-dung/{people['colleague']}/ma-truy-cap/{colleague_token}/thu-hoi",
                    data={"csrf_token": csrf})
    assert r.status_code == 403
    assert bearer(gateway_app, secret) == 200 and bearer(gateway_app, foreign_secret) == 200  # all refused above
    with accounts.db.session() as s:
        assert s.query(AdminEvent).filter_by(action="revoke_token").count() == 0
