"""Administration screens through the gateway's HTTP interface (gateway process in-process, its own database).

What needs the agency's services (routing.sync_staff, registers, configuration) is tested against the real
deployment in test_admin_deployment.py; here routing is absent, which the screens must say instead of failing.
"""

from __future__ import annotations

import re

import pytest

from gateway.accounts import next_free_name, unit_code
from gateway.admin import config_changes, parse_days, parse_periods, staff_entry
from services.common.errors import ValidationFailed
from tests.gateway.conftest import PASSWORD, csrf_of, login

AGENCY = "000.00.00.H60"


@pytest.fixture
def admin_client(client, gateway_app):
    accounts = gateway_app.state.gateway.accounts
    accounts.create_user(username="manhhd.vptq", full_name="Hoàng Đức Mạnh", agency_id=AGENCY, roles=["admin"],
                         password=PASSWORD, unit="VPTQ", must_change_password=False)
    accounts.create_user(username="khoadv.snv", full_name="Đinh Văn Khoa", agency_id="000.00.09.H60",
                         roles=["admin", "clerk"], password=PASSWORD, unit="SNV", must_change_password=False)
    assert login(client, "manhhd.vptq").status_code == 303
    return client


def _create(client, **fields):
    page = client.get("/quan-tri/nguoi-dung")
    data = {"csrf_token": csrf_of(page.text), "unit": "stttt", "position": "Chuyên viên", "roles": ["specialist"],
            **fields}
    return client.post("/quan-tri/nguoi-dung", data=data)


def test_admin_creates_a_user_with_the_generated_name_and_a_one_time_password(admin_client, gateway_app):
    r = _create(admin_client, full_name="Lê Văn Hùng")
    assert r.status_code == 200, r.text
    assert re.search(r'class="issued-username">hunglv\.stttt<', r.text)
    password = re.search(r'class="issued-password">([^<]+)<', r.text).group(1)
    # Routing is not running here: the account is kept and the page says the sync is pending.
    assert "chưa đồng bộ được sang dịch vụ điều hành" in r.text
    user = gateway_app.state.gateway.accounts.by_username("hunglv.stttt")
    assert user.agency_id == AGENCY and user.roles == ["specialist"] and user.unit == "STTTT"
    assert user.must_change_password
    admin_client.cookies.clear()
    first = login(admin_client, "hunglv.stttt", password)
    assert first.status_code == 303 and first.headers["location"] == "/doi-mat-khau"


def test_a_duplicate_name_is_resolved_by_the_admin(admin_client, gateway_app):
    assert _create(admin_client, full_name="Lê Văn Hùng").status_code == 200
    clash = _create(admin_client, full_name="Lê Vũ Hưng")  # same rule name: hunglv.stttt
    assert clash.status_code == 409
    assert "đã có người dùng" in clash.text and 'value="hunglv2.stttt"' in clash.text
    accepted = _create(admin_client, full_name="Lê Vũ Hưng", username="hunglv2.stttt")
    assert accepted.status_code == 200 and 'class="issued-username">hunglv2.stttt<' in accepted.text
    bad = _create(admin_client, full_name="Lê Vũ Hưng", username="Hưng LV.stttt")
    assert bad.status_code == 422 and "quy tắc" in bad.text


def test_roles_are_required_and_limited_to_staff_roles(admin_client):
    assert _create(admin_client, full_name="Trần Văn Bình", roles=[]).status_code == 422
    r = _create(admin_client, full_name="Trần Văn Bình", roles=["system"])
    assert r.status_code == 422 and "Vai trò không hợp lệ" in r.text


def test_lock_unlock_and_reset_password(admin_client, client, gateway_app):
    accounts = gateway_app.state.gateway.accounts
    target = accounts.by_username("hoalt.vp")
    page = admin_client.get(f"/quan-tri/nguoi-dung/{target.id}")
    assert page.status_code == 200 and "Lê Thị Hoa" in page.text
    csrf = csrf_of(page.text)
    locked = admin_client.post(f"/quan-tri/nguoi-dung/{target.id}/khoa", data={"csrf_token": csrf})
    assert locked.status_code == 200 and "chưa đồng bộ" in locked.text  # locked, sync pending
    assert accounts.get(target.id).disabled
    assert accounts.get(target.id) is not None  # locked, never deleted
    admin_client.post(f"/quan-tri/nguoi-dung/{target.id}/mo-khoa", data={"csrf_token": csrf})
    assert not accounts.get(target.id).disabled
    app_token = accounts.issue_api_token(target.id, "cổng thông tin")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {app_token}"}).status_code == 200
    reset = admin_client.post(f"/quan-tri/nguoi-dung/{target.id}/dat-lai-mat-khau", data={"csrf_token": csrf})
    assert "mã truy cập API của tài khoản đã kết thúc" in reset.text
    # the reset ends the API tokens too: the password it replaces may be known to someone else
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {app_token}"}).status_code == 401
    assert [t["revoked"] for t in accounts.list_api_tokens(target.id)] == [True]
    new_password = re.search(r'class="issued-password">([^<]+)<', reset.text).group(1)
    assert accounts.get(target.id).must_change_password
    history = admin_client.get(f"/quan-tri/nguoi-dung/{target.id}").text
    for label in ("Khóa tài khoản", "Mở khóa tài khoản", "Đặt lại mật khẩu"):
        assert f"· {label} · Hoàng Đức Mạnh</li>" in history  # what, and which administrator
    admin_client.cookies.clear()
    assert login(admin_client, "hoalt.vp", PASSWORD).status_code == 401
    assert login(admin_client, "hoalt.vp", new_password).headers["location"] == "/doi-mat-khau"


def test_admin_cannot_lock_itself_or_drop_its_own_admin_role(admin_client, gateway_app):
    me = gateway_app.state.gateway.accounts.by_username("manhhd.vptq")
    csrf = csrf_of(admin_client.get(f"/quan-tri/nguoi-dung/{me.id}").text)
    r = admin_client.post(f"/quan-tri/nguoi-dung/{me.id}/khoa", data={"csrf_token": csrf})
    assert r.status_code == 422 and not gateway_app.state.gateway.accounts.get(me.id).disabled
    r = admin_client.post(f"/quan-tri/nguoi-dung/{me.id}", data={"csrf_token": csrf, "full_name": "Hoàng Đức Mạnh",
                                                                 "unit": "vptq", "roles": ["clerk"]})
    assert r.status_code == 422 and gateway_app.state.gateway.accounts.get(me.id).roles == ["admin"]


def test_admin_sees_and_changes_only_its_own_agency(admin_client, gateway_app):
    other = gateway_app.state.gateway.accounts.by_username("khoadv.snv")
    users = admin_client.get("/quan-tri/nguoi-dung").text
    assert "khoadv.snv" not in users and "hoalt.vp" in users
    assert admin_client.get(f"/quan-tri/nguoi-dung/{other.id}").status_code == 404
    csrf = csrf_of(users)
    for action in ("khoa", "dat-lai-mat-khau"):
        assert admin_client.post(f"/quan-tri/nguoi-dung/{other.id}/{action}",
                                 data={"csrf_token": csrf}).status_code == 404
    assert not gateway_app.state.gateway.accounts.get(other.id).disabled


def test_non_admins_are_refused(client):
    login(client, "hoalt.vp")
    for path in ("/quan-tri/nguoi-dung", "/quan-tri/don-vi", "/quan-tri/danh-muc", "/quan-tri/cau-hinh"):
        r = client.get(path)
        assert r.status_code == 403 and "Quản trị" in r.text, path
    csrf = csrf_of(client.get("/").text)
    assert client.post("/quan-tri/don-vi", data={"csrf_token": csrf, "code": "x", "name": "X"}).status_code == 403


def test_units_are_declared_and_renamed_but_codes_stay(admin_client, gateway_app):
    csrf = csrf_of(admin_client.get("/quan-tri/don-vi").text)
    r = admin_client.post("/quan-tri/don-vi", data={"csrf_token": csrf, "code": "stttt",
                                                    "name": "Sở Thông tin và Truyền thông"})
    # Saved here; no agency service runs behind this gateway, so the page says routing has not got the name yet.
    assert r.status_code == 200 and "Sở Thông tin và Truyền thông" in r.text
    assert "chưa đồng bộ được sang dịch vụ điều hành" in r.text and "Cơ quan chưa được cấu hình" in r.text
    admin_client.post("/quan-tri/don-vi", data={"csrf_token": csrf, "code": "stttt", "name": "Sở TT&TT"})
    units = gateway_app.state.gateway.accounts.list_units(AGENCY)
    assert [(u.code, u.name) for u in units] == [("stttt", "Sở TT&TT")]
    bad = admin_client.post("/quan-tri/don-vi", data={"csrf_token": csrf, "code": "Sở TT", "name": "x"})
    assert bad.status_code == 422 and "Mã đơn vị" in bad.text
    # units carried by people but not yet declared are listed too
    assert "Chưa khai báo tên" in admin_client.get("/quan-tri/don-vi").text


def test_catalogues_are_shown_in_vietnamese(admin_client):
    page = admin_client.get("/quan-tri/danh-muc").text
    assert "Quyết định" in page and "Hỏa tốc" in page and "Đã tiếp nhận" in page and "Gửi sai nơi nhận" in page


def test_configuration_form_is_parsed_into_routing_settings():
    changes = config_changes({"agency_name": "UBND tỉnh", "registration_limit_hours": "4",
                              "default_deadline_days": "7", "due_soon_hours": "8",
                              "periods": "7:30-11:30, 13:30-17:00", "extra_days_off": "02/01/2027\n2027-01-03",
                              "make_up_days": "", "public_holidays": "1", "review_chain": ""})
    assert changes["calendar"] == {"periods": [["07:30", "11:30"], ["13:30", "17:00"]],
                                   "extra_days_off": ["2027-01-02", "2027-01-03"], "make_up_days": [],
                                   "public_holidays": True}
    assert changes["registration_limit_hours"] == 4 and changes["review_chain"] is None
    with pytest.raises(ValidationFailed, match="HH:MM"):
        parse_periods("sáng")
    with pytest.raises(ValidationFailed, match="không hợp lệ"):
        parse_periods("17:00-07:30")
    with pytest.raises(ValidationFailed, match="DD/MM/YYYY"):
        parse_days("31/02/2027", "extra_days_off")
    with pytest.raises(ValidationFailed, match="lớn hơn 0"):
        config_changes({"registration_limit_hours": "0", "default_deadline_days": "1", "due_soon_hours": "1",
                        "periods": "08:00-17:00"})
    with pytest.raises(ValidationFailed, match="JSON"):
        config_changes({"registration_limit_hours": "8", "default_deadline_days": "1", "due_soon_hours": "1",
                        "periods": "08:00-17:00", "review_chain": "[{"})


def test_account_helpers():
    assert next_free_name("hunglv.stttt", {"hunglv.stttt"}) == "hunglv2.stttt"
    assert next_free_name("hunglv.stttt", {"hunglv.stttt", "hunglv2.stttt"}) == "hunglv3.stttt"
    assert next_free_name("hunglv2.stttt", {"hunglv2.stttt"}) == "hunglv3.stttt"
    assert unit_code("Văn phòng UBND") == "vanphongubnd"


def test_staff_entry_carries_what_routing_needs(gateway_app):
    user = gateway_app.state.gateway.accounts.by_username("hoalt.vp")
    entry = staff_entry(user)
    assert entry == {"user_id": user.id, "username": "hoalt.vp", "full_name": "Lê Thị Hoa", "unit": "VP",
                     "email": None, "position": "", "roles": ["clerk"], "active": True}


def test_the_admin_home_links_every_administration_page(admin_client):
    """The home page's "Quản trị hệ thống" offers each tab of the administration pages (it left out "Nhóm nơi nhận"
    and "Chứng thư số", reached only from inside another administration page)."""
    home = admin_client.get("/").text
    card = re.search(r"<h2>Quản trị hệ thống</h2>(.*?)</section>", home, re.S).group(1)
    nav = re.search(r'<nav class="tabs" aria-label="Quản trị">(.*?)</nav>', admin_client.get("/quan-tri/don-vi").text,
                    re.S).group(1)
    assert re.findall(r'<a href="(/quan-tri/[^"]+)"', card) == re.findall(r'<a href="(/quan-tri/[^"]+)"', nav)
    assert "/quan-tri/nhom-noi-nhan" in card and "/quan-tri/chung-thu-so" in card


def test_an_admin_cannot_give_the_hub_operator_role(admin_client, gateway_app):
    """hub_operator shows the whole province hub's traffic, queues and dead letters: the province operator gives it
    (tests/gateway/test_platform.py), never an agency's administrator, on the form or over REST."""
    accounts = gateway_app.state.gateway.accounts
    page = admin_client.get("/quan-tri/nguoi-dung")
    assert 'value="specialist"' in page.text and 'value="hub_operator"' not in page.text
    r = _create(admin_client, full_name="Cao Minh Quân", roles=["specialist", "hub_operator"])
    assert r.status_code == 403 and "do vận hành nền tảng (Sở TTTT) cấp" in r.text
    assert accounts.by_username("quancm.stttt") is None
    person = {"full_name": "Cao Minh Quân", "unit": "stttt", "roles": ["hub_operator"]}
    refused = admin_client.post("/api/v1/users", json=person, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert refused.status_code == 403 and "Sở TTTT" in refused.text
    assert accounts.by_username("quancm.stttt") is None
    # Nor by editing someone who does not hold it.
    target = accounts.by_username("hoalt.vp")
    body = {"full_name": "Lê Thị Hoa", "unit": "vp", "roles": ["clerk", "hub_operator"]}
    r = admin_client.put(f"/api/v1/users/{target.id}", json=body, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert r.status_code == 403 and accounts.get(target.id).roles == ["clerk"]
    r = admin_client.post(f"/quan-tri/nguoi-dung/{target.id}", data={"csrf_token": csrf_of(page.text), **body})
    assert r.status_code == 403 and accounts.get(target.id).roles == ["clerk"]


def test_an_admins_edit_keeps_the_hub_operator_role(admin_client, gateway_app):
    """A person the province operator made hub operator keeps the role whatever their administrator ticks."""
    accounts = gateway_app.state.gateway.accounts
    quan = accounts.create_user(username="quancm.stttt", full_name="Cao Minh Quân", agency_id=AGENCY,
                                roles=["specialist", "hub_operator"], password=PASSWORD, unit="STTTT",
                                must_change_password=False)
    page = admin_client.get(f"/quan-tri/nguoi-dung/{quan.id}")
    assert 'value="hub_operator"' not in page.text and "do vận hành nền tảng (Sở TTTT) cấp" in page.text
    r = admin_client.post(f"/quan-tri/nguoi-dung/{quan.id}", data={
        "csrf_token": csrf_of(page.text), "full_name": "Cao Minh Quân", "unit": "stttt", "roles": ["clerk"]})
    assert r.status_code == 200 and "chưa đồng bộ" in r.text   # saved; routing is absent here
    assert accounts.get(quan.id).roles == ["clerk", "hub_operator"]
    # Over REST: neither removed by leaving it out nor refused when sent back as held.
    headers = {"X-CSRF-Token": csrf_of(page.text)}
    for roles in (["specialist"], ["specialist", "hub_operator"]):
        r = admin_client.put(f"/api/v1/users/{quan.id}", json={"full_name": "Cao Minh Quân", "unit": "stttt",
                                                                "roles": roles}, headers=headers)
        assert r.status_code == 200, r.text
        assert accounts.get(quan.id).roles == ["specialist", "hub_operator"]
