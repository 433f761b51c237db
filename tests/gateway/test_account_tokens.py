"""The person's own account page (/tai-khoan): API tokens listed (label, created, last used; never the secret)
and revoked with CSRF; a revoked token gets 401 on /api/v1. Also the notice box of base.html: an unknown
`thong-bao` value shows nothing. In-process gateway (no agency services needed)."""

from __future__ import annotations

import re

from gateway.auth import Accounts
from tests.gateway.conftest import PASSWORD, csrf_of, login


def bearer(client, token: str):
    return client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})


def issue(client, label: str) -> str:
    page = client.get("/tai-khoan")
    r = client.post("/tai-khoan/ma-truy-cap", data={"csrf_token": csrf_of(page.text), "label": label})
    assert r.status_code == 200, r.text[:500]
    assert "chỉ hiện <strong>một lần</strong>" in r.text
    return re.search(r'class="issued-token">([^<]+)<', r.text).group(1)


def token_row(html: str, label: str) -> str:
    rows = [row for row in re.findall(r"<tr data-token=.*?</tr>", html, re.S) if label in row]
    assert len(rows) == 1, html
    return rows[0]


def test_own_tokens_are_listed_without_their_secret_and_a_revoked_one_gets_401(gateway_app, client):
    login(client, "hoalt.vp")
    assert "Bạn chưa có mã truy cập nào." in client.get("/tai-khoan").text
    kept, revoked = issue(client, "hệ thống báo cáo"), issue(client, "cổng dịch vụ công")

    with client.__class__(gateway_app, base_url="http://127.0.0.1") as api:  # no cookie: the token alone
        assert bearer(api, kept).status_code == 200
        assert bearer(api, revoked).status_code == 200

    page = client.get("/tai-khoan").text
    assert kept not in page and revoked not in page  # the secret is shown once, on the answer that issued it
    row = token_row(page, "hệ thống báo cáo")
    assert "Đang dùng" in row and "Chưa dùng" not in row  # used once above: the time is shown
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}</td>", row)
    token_id = re.search(r'data-token="([0-9a-f]{16})"', token_row(page, "cổng dịch vụ công")).group(1)

    without_csrf = client.post(f"/tai-khoan/ma-truy-cap/{token_id}/thu-hoi", data={})
    assert without_csrf.status_code == 403 and "CSRF" in without_csrf.text
    r = client.post(f"/tai-khoan/ma-truy-cap/{token_id}/thu-hoi", data={"csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tai-khoan?tb=da-thu-hoi"
    after = client.get("/tai-khoan?tb=da-thu-hoi").text
    assert "Đã thu hồi mã truy cập" in after
    assert "Đã thu hồi" in token_row(after, "cổng dịch vụ công") and 'action="/tai-khoan/ma-truy-cap/' \
        f'{token_id}/thu-hoi"' not in after
    again = client.post(f"/tai-khoan/ma-truy-cap/{token_id}/thu-hoi", data={"csrf_token": csrf_of(page)},
                        follow_redirects=False)
    assert again.status_code == 303  # idempotent

    with client.__class__(gateway_app, base_url="http://127.0.0.1") as api:
        refused = bearer(api, revoked)
        assert refused.status_code == 401
        assert refused.json()["title"] == "Mã truy cập không hợp lệ hoặc đã bị thu hồi."
        assert bearer(api, kept).status_code == 200  # the other token still works


def test_nobody_revokes_or_sees_another_persons_token(gateway_app, client):
    accounts: Accounts = gateway_app.state.gateway.accounts
    other = accounts.create_user(username="minhlv.vp", full_name="Lê Văn Minh", agency_id="000.00.00.H60",
                                 roles=["clerk"], password=PASSWORD, unit="VP", must_change_password=False)
    other_id = other.id
    secret = accounts.issue_api_token(other_id, "của người khác")
    their_id = accounts.list_api_tokens(other_id)[0]["id"]

    login(client, "hoalt.vp")
    page = client.get("/tai-khoan").text
    assert "của người khác" not in page and their_id not in page
    r = client.post(f"/tai-khoan/ma-truy-cap/{their_id}/thu-hoi", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 404 and "Không tìm thấy mã truy cập." in r.text
    assert client.post("/tai-khoan/ma-truy-cap/khong-phai-ma/thu-hoi",
                       data={"csrf_token": csrf_of(page)}).status_code == 404
    assert not accounts.list_api_tokens(other_id)[0]["revoked"]
    assert accounts.token_user(secret) is not None


def test_an_unknown_notice_shows_no_notice_box(client):
    login(client, "hoalt.vp")
    known = client.get("/doi-mat-khau", params={"thong-bao": "doi-mat-khau"}).text
    assert '<p class="notice ok" role="status">Đã đổi mật khẩu.</p>' in known
    for value in ("khong-co", "", "<script>"):
        page = client.get("/doi-mat-khau", params={"thong-bao": value}).text
        assert 'class="notice ok"' not in page, value


def test_a_tokens_first_calls_on_two_workers_at_once_both_succeed(gateway_app):
    from sqlalchemy import func, select

    from gateway.auth import _digest, _note_use
    from gateway.models import ApiTokenUse
    from services.common import clock

    accounts = gateway_app.state.gateway.accounts
    user = accounts.by_username("hoalt.vp")
    token = accounts.issue_api_token(user.id, "hai máy chủ")
    key = _digest(token)
    with accounts.db.session() as s:                # the other worker's first call, committed meanwhile
        s.add(ApiTokenUse(id_hash=key, last_used_at=clock.now_utc()))
    with accounts.db.session() as s:                # this call read the token before it: no use row then
        _note_use(s, key, None)
    assert accounts.token_user(token).id == user.id
    with accounts.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApiTokenUse).where(ApiTokenUse.id_hash == key)) == 1
