"""The agency's rule for leavers' accounts (services/common/agency_rules.py "leaver_accounts", gateway/rules.py):
only locked (the default), or deleted one working day after the lock (Đà Nẵng Đ13.5d). Gateway in-process with its
own database; routing is absent here, so the calendar is the default one."""

from __future__ import annotations

from datetime import timedelta

from gateway.app import Viewer
from gateway.models import ApiToken, DeletedAccount
from gateway.rules import delete_due_leavers, leaver_rule
from services.common.clock import now_utc
from tests.gateway.conftest import PASSWORD, csrf_of, login
from tests.gateway.test_admin import admin_client  # noqa: F401 - fixture


def _lock(client, accounts, username: str) -> str:
    target = accounts.by_username(username)
    csrf = csrf_of(client.get(f"/quan-tri/nguoi-dung/{target.id}").text)
    client.post(f"/quan-tri/nguoi-dung/{target.id}/khoa", data={"csrf_token": csrf})
    assert accounts.get(target.id).disabled
    return target.id


def test_locked_only_by_default_then_deleted_after_a_working_day_where_the_agency_says_so(admin_client, gateway_app):  # noqa: F811
    g = gateway_app.state.gateway
    accounts = g.accounts
    admin = Viewer(accounts.by_username("manhhd.vptq"), None)
    hoa = accounts.by_username("hoalt.vp")
    token = accounts.issue_api_token(hoa.id, "cổng")
    user_id = _lock(admin_client, accounts, "hoalt.vp")
    a_week_later = now_utc() + timedelta(days=7)

    assert leaver_rule(g, admin.user.agency_id) == "lock"
    assert delete_due_leavers(g, admin, now=a_week_later) == []  # "lock": kept, and it can be unlocked later

    page = admin_client.get("/quan-tri/nguoi-dung")
    saved = admin_client.post("/quan-tri/cau-hinh/quy-dinh", data={"csrf_token": csrf_of(page.text),
                                                                  "rule_leaver_accounts": "delete"},
                              follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/quan-tri/cau-hinh")
    assert leaver_rule(g, admin.user.agency_id) == "delete"
    assert delete_due_leavers(g, admin, now=now_utc()) == []  # locked just now: not yet a working day
    assert delete_due_leavers(g, admin, now=a_week_later) == ["hoalt.vp"]
    assert delete_due_leavers(g, admin, now=a_week_later) == []  # once

    with g.db.session() as s:
        assert s.get(DeletedAccount, user_id) is not None
        assert all(t.revoked for t in s.query(ApiToken).filter(ApiToken.user_id == user_id))
    assert accounts.token_user(token) is None
    person = admin_client.get(f"/quan-tri/nguoi-dung/{user_id}").text
    assert "Đã xóa" in person and "Xóa tài khoản" in person  # the history says so
    refused = admin_client.post(f"/quan-tri/nguoi-dung/{user_id}/mo-khoa", data={"csrf_token": csrf_of(person)})
    assert refused.status_code == 422 and "Điều 13.5d" in refused.text
    assert accounts.get(user_id).disabled and accounts.get(user_id).full_name == "Lê Thị Hoa"
    admin_client.cookies.clear()
    assert login(admin_client, "hoalt.vp", PASSWORD).status_code != 303


def test_the_rule_is_checked_and_only_the_admin_changes_it(admin_client, client, gateway_app):  # noqa: F811
    csrf = csrf_of(admin_client.get("/quan-tri/nguoi-dung").text)
    bad = admin_client.post("/quan-tri/cau-hinh/quy-dinh", data={"csrf_token": csrf,
                                                                "rule_leaver_accounts": "shred"})
    assert bad.status_code == 422
    assert leaver_rule(gateway_app.state.gateway, "000.00.00.H60") == "lock"
