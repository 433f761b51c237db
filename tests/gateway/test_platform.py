"""The province operator's platform in-process (gateway/platform.py, province.py, api_province.py): onboarding is
idempotent and makes the record, the admin account and the directory records; a disabled agency's people cannot
sign in (sessions and tokens stop at once) and its directory record is locked for the hubs; maintenance notices
reach every page, the sign-in page included; every agency's problem reports in one queue, due in 3 working days;
only the province operator reaches any of it. The services are not running here (an address nobody answers):
registers and usage figures are on the real deployment (tests/e2e/test_platform_onboarding.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.province_ops import problem_due
from gateway.settings import GatewaySettings
from services.common.clock import to_vn
from tests.gateway.conftest import PASSWORD, csrf_of, login

H60, SNV, NEW = "000.00.00.H60", "000.00.09.H60", "000.00.12.H60"
HUB_KEY = "hub.H60"


@pytest.fixture
def platform_app(tmp_path):
    agencies = tmp_path / "agencies.json"
    # Nobody answers at this address: a service call fails at once as "đang bận".
    agencies.write_text(json.dumps({H60: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": "amqp://u:p@127.0.0.1:9/x"},
                                    SNV: {"name": "Sở Nội vụ", "amqp_uri": "amqp://u:p@127.0.0.1:9/x",
                                          "installation": H60}}))   # hosted by UBND tỉnh's installation
    settings = GatewaySettings(data_dir=tmp_path, agencies_file=agencies, hub_directories=HUB_KEY, rpc_timeout=2)
    app = create_app(settings)
    accounts = app.state.gateway.accounts
    accounts.create_user(username="thaolt.stttt", full_name="Lương Thị Thảo", agency_id=H60,
                         roles=["province_operator"], password=PASSWORD, unit="STTTT", must_change_password=False)
    accounts.create_user(username="manhhd.vptq", full_name="Hoàng Đức Mạnh", agency_id=H60, roles=["admin"],
                         password=PASSWORD, unit="VPTQ", must_change_password=False)
    accounts.create_user(username="lanvt.snv", full_name="Vũ Thị Lan", agency_id=SNV, roles=["clerk"],
                         password=PASSWORD, unit="SNV", must_change_password=False)
    return app


@pytest.fixture
def operator(platform_app):
    with TestClient(platform_app, base_url="http://127.0.0.1") as c:
        assert login(c, "thaolt.stttt").status_code == 303
        yield c


def _csrf(client) -> str:
    return csrf_of(client.get("/van-hanh/co-quan").text)


def _hub_directory(app):
    return app.state.gateway.directories()[1]


def test_adding_an_agency_twice_makes_one_record_one_admin_and_directory_records(platform_app, operator):
    csrf = _csrf(operator)
    body = {"organ_id": NEW, "name": "Sở Xây dựng tỉnh Tuyên Quang", "installation": H60, "place": "Tuyên Quang",
            "abbreviation": "SXD", "admin_full_name": "Trần Văn Bình", "admin_unit": "sxd"}
    first = operator.post("/api/v1/agencies", json=body, headers={"X-CSRF-Token": csrf})
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["created"] is True and made["admin"]["username"] == "binhtv.sxd" and made["admin"]["password"]
    # The services are away here: the registers are the one thing left, said so, and a second add finishes them.
    assert any("sổ văn bản" in w for w in made["warnings"])
    again = operator.post("/api/v1/agencies", json=body, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["admin"] is None
    g = platform_app.state.gateway
    assert [u.username for u in g.accounts.list_users(NEW)] == ["binhtv.sxd"]
    assert [a.organ_id for a in g.platform.agencies()] == [H60, SNV, NEW]
    for directory in g.directories():
        record = directory.get(NEW)
        assert record is not None and record.name == "Sở Xây dựng tỉnh Tuyên Quang" and not record.locked
        # the hubs route its packages to, and accept its packages from, the installation that hosts it
        assert record.installation == H60
    # The gateway reaches it through its installation's services, under its own name.
    assert g.backends.info(NEW)["amqp_uri"] == g.backends.info(H60)["amqp_uri"]
    assert g.backends.name_of(NEW) == "Sở Xây dựng tỉnh Tuyên Quang"
    # The new admin signs in (and must change the temporary password first).
    with TestClient(platform_app, base_url="http://127.0.0.1") as admin:
        r = admin.post("/dang-nhap", data={"username": "binhtv.sxd", "password": made["admin"]["password"]},
                       follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/doi-mat-khau"


def test_an_agency_added_to_a_hosted_agency_joins_the_installation_hosting_it(platform_app, operator):
    """Only an installation has a hub inbox and a broker identity: naming a hosted agency lands on its host."""
    g = platform_app.state.gateway
    assert g.platform.installations() == [H60]
    made = operator.post("/api/v1/agencies", json={"organ_id": NEW, "name": "Sở Xây dựng tỉnh Tuyên Quang",
                                                   "installation": SNV}, headers={"X-CSRF-Token": _csrf(operator)})
    assert made.status_code == 201, made.text
    assert made.json()["agency"]["installation"] == H60
    assert {d.get(NEW).installation for d in g.directories()} == {H60}
    assert g.platform.get(SNV).installation == H60


def test_a_disabled_agency_cannot_sign_in_and_its_directory_record_is_locked(platform_app, operator):
    g = platform_app.state.gateway
    with TestClient(platform_app, base_url="http://127.0.0.1") as clerk:
        assert login(clerk, "lanvt.snv").status_code == 303
        token = clerk.post("/api/v1/tokens", json={"label": "cổng"},
                           headers={"X-CSRF-Token": csrf_of(clerk.get("/tai-khoan").text)}).json()["token"]
        assert clerk.get("/api/v1/me").status_code == 200
        page = operator.get(f"/van-hanh/co-quan/{SNV}")
        stopped = operator.post(f"/van-hanh/co-quan/{SNV}/ngung", data={"csrf_token": csrf_of(page.text)},
                                follow_redirects=False)
        assert stopped.status_code == 303
        assert "Ngừng sử dụng" in operator.get(f"/van-hanh/co-quan/{SNV}").text
        # The open session and the token stop at once; signing in again is refused with the reason.
        assert clerk.get("/api/v1/me").status_code == 401
        assert clerk.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        refused = clerk.post("/dang-nhap", data={"username": "lanvt.snv", "password": PASSWORD, "next": "/"})
        assert refused.status_code == 403 and "ngừng sử dụng hệ thống" in refused.text
    # Its data stays: the account is there, only the agency is stopped; the hubs' copy says locked (status 02).
    assert g.accounts.by_username("lanvt.snv") is not None
    ok, reason = _hub_directory(platform_app).is_deliverable(SNV)
    assert not ok and "đang bị khóa" in reason
    # Disabling again changes nothing; enabling lets people in again.
    csrf = _csrf(operator)
    assert operator.post(f"/api/v1/agencies/{SNV}/disable", headers={"X-CSRF-Token": csrf}).json()["disabled"]
    assert not operator.post(f"/api/v1/agencies/{SNV}/enable", headers={"X-CSRF-Token": csrf}).json()["disabled"]
    assert _hub_directory(platform_app).is_deliverable(SNV)[0]
    with TestClient(platform_app, base_url="http://127.0.0.1") as clerk:
        assert login(clerk, "lanvt.snv").status_code == 303


def test_the_operator_cannot_disable_its_own_agency(operator):
    r = operator.post(f"/api/v1/agencies/{H60}/disable", headers={"X-CSRF-Token": _csrf(operator)})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


def test_only_the_province_operator_reaches_the_platform(platform_app):
    with TestClient(platform_app, base_url="http://127.0.0.1") as admin:
        assert login(admin, "manhhd.vptq").status_code == 303
        assert admin.get("/van-hanh/co-quan").status_code == 403
        assert admin.get("/api/v1/agencies").status_code == 403
        assert admin.get("/api/v1/problems").status_code == 403
        csrf = csrf_of(admin.get("/tai-khoan").text)
        r = admin.post("/api/v1/agencies", json={"organ_id": NEW, "name": "X"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
    assert platform_app.state.gateway.accounts.list_users(NEW) == []


def test_the_operator_locks_a_leaver_in_another_agency(platform_app, operator):
    found = operator.get("/van-hanh/tai-khoan", params={"q": "lanvt"})
    assert 'data-username="lanvt.snv"' in found.text and "Sở Nội vụ" in found.text
    user = platform_app.state.gateway.accounts.by_username("lanvt.snv")
    with TestClient(platform_app, base_url="http://127.0.0.1") as clerk:
        assert login(clerk, "lanvt.snv").status_code == 303
        r = operator.post(f"/van-hanh/tai-khoan/{user.id}/khoa", data={"csrf_token": csrf_of(found.text)},
                          follow_redirects=False)
        assert r.status_code == 303
        assert clerk.get("/api/v1/me").status_code == 401
    api = operator.post("/api/v1/accounts/lanvt.snv/unlock", headers={"X-CSRF-Token": csrf_of(found.text)})
    assert api.status_code == 200 and api.json()["disabled"] is False


def test_a_maintenance_notice_is_on_every_page_before_and_during_the_window(platform_app, operator):
    now = to_vn(datetime.now(UTC))
    window = {"starts_at": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
              "ends_at": (now + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
              "message": "Nâng cấp phiên bản mới của hệ thống"}
    bad = operator.post("/van-hanh/bao-tri", data={**window, "ends_at": window["starts_at"],
                                                   "csrf_token": _csrf(operator)})
    assert bad.status_code == 422 and "Thời điểm kết thúc phải sau" in bad.text
    r = operator.post("/van-hanh/bao-tri", data={**window, "csrf_token": _csrf(operator)}, follow_redirects=False)
    assert r.status_code == 303
    with TestClient(platform_app, base_url="http://127.0.0.1") as anyone:
        login_page = anyone.get("/dang-nhap").text
        assert "Thông báo bảo trì hệ thống" in login_page and "Nâng cấp phiên bản mới" in login_page
        assert login(anyone, "lanvt.snv").status_code == 303
        assert "Nâng cấp phiên bản mới" in anyone.get("/tai-khoan").text
        assert anyone.get("/api/v1/maintenance").json()[0]["state"] == "upcoming"
    # During the window the banner says so.
    started = {**window, "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
               "message": "Đang chuyển máy chủ"}
    created = operator.post("/api/v1/maintenance", json=started, headers={"X-CSRF-Token": _csrf(operator)})
    assert created.status_code == 201 and created.json()["state"] == "ongoing"
    assert "Đang bảo trì hệ thống" in operator.get("/van-hanh/bao-tri").text
    operator.post(f"/api/v1/maintenance/{created.json()['id']}/withdraw", headers={"X-CSRF-Token": _csrf(operator)})
    assert "Đang chuyển máy chủ" not in operator.get("/dang-nhap").text


def test_every_agencys_problem_reports_in_one_queue_with_their_due_date(platform_app, operator):
    from gateway.problem_models import ProblemReport
    from gateway.problems import add_numbered

    g = platform_app.state.gateway
    old = datetime.now(UTC) - timedelta(days=20)
    for agency, created in ((SNV, old), (H60, datetime.now(UTC))):
        add_numbered(g.db, ProblemReport(agency_id=agency, year=to_vn(created).year, reporter_id="u",
                                         reporter_name="Người báo", role="clerk", occurred_at=created,
                                         function="incoming", description="Không mở được văn bản",
                                         created_at=created))
    queue = operator.get("/api/v1/problems").json()
    assert {p["agency_name"] for p in queue} == {"Sở Nội vụ", "UBND tỉnh Tuyên Quang"}
    late = next(p for p in queue if p["agency_id"] == SNV)
    assert late["overdue"] is True and late["due_at"] == problem_due(old).isoformat()
    assert next(p for p in queue if p["agency_id"] == H60)["overdue"] is False
    page = operator.get("/van-hanh/bao-loi")
    assert 'id="qua-han">1<' in page.text and "Quá hạn" in page.text
    # The overdue ones alone (screen and API); a list of handled reports still counts the overdue ones.
    overdue = operator.get("/van-hanh/bao-loi", params={"trang_thai": "overdue"}).text
    assert f'data-problem="{late["id"]}"' in overdue and overdue.count("data-problem=") == 1
    assert [p["id"] for p in operator.get("/api/v1/problems", params={"state": "overdue"}).json()] == [late["id"]]
    assert 'id="qua-han">1<' in operator.get("/van-hanh/bao-loi", params={"trang_thai": "done"}).text
    # The agency's own page lists its recent reports, each opening the report with its due date.
    agency_page = operator.get(f"/van-hanh/co-quan/{SNV}").text
    assert f'<a href="/bao-loi/{late["id"]}">' in agency_page and "Người báo" in agency_page
    # The operator opens another agency's report from the queue and records its handling (form 2).
    detail = operator.get(f"/bao-loi/{late['id']}")
    assert detail.status_code == 200 and "Không mở được văn bản" in detail.text
    r = operator.post(f"/bao-loi/{late['id']}/xu-ly", data={"csrf_token": csrf_of(detail.text), "cause": "Lỗi cấu hình",
                                                             "solution": "Sửa cấu hình", "result": "done"},
                      follow_redirects=False)
    assert r.status_code == 303
    handled = next(p for p in operator.get("/api/v1/problems").json() if p["id"] == late["id"])
    assert handled["state"] == "done" and handled["overdue"] is False and handled["handled_late"] is True
    # An agency's administrator still sees no other agency's report.
    with TestClient(platform_app, base_url="http://127.0.0.1") as admin:
        assert login(admin, "manhhd.vptq").status_code == 303
        assert admin.get(f"/bao-loi/{late['id']}").status_code == 404


def test_three_working_days_skip_weekends_and_holidays():
    # Filed on Friday 2026-12-04: Monday, Tuesday, Wednesday; due at the end of Wednesday 2026-12-09.
    assert to_vn(problem_due(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))).date().isoformat() == "2026-12-09"
    # Filed on Friday 2026-11-20: Tuesday 24 is a holiday (Ngày Văn hóa Việt Nam), so Thursday 2026-11-26.
    assert to_vn(problem_due(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))).date().isoformat() == "2026-11-26"


def test_an_agency_named_like_a_hosted_one_is_added_with_a_warning_naming_the_other(platform_app, operator):
    """Two agencies of one name (and parent) differ only by their identifiers in every picker: most likely an
    identifier typed wrong. The operator is told, once, when the agency is made; another parent is another name."""
    csrf = _csrf(operator)
    body = {"organ_id": NEW, "name": "SỞ NỘI  VỤ", "installation": H60, "admin_full_name": "Trần Văn Bình",
            "admin_unit": "snv"}
    first = operator.post("/api/v1/agencies", json=body, headers={"X-CSRF-Token": csrf})
    assert first.status_code == 201, first.text
    [twin] = [w for w in first.json()["warnings"] if "trùng tên" in w]
    assert SNV in twin and "“Sở Nội vụ”" in twin
    again = operator.post("/api/v1/agencies", json=body, headers={"X-CSRF-Token": csrf})
    assert not [w for w in again.json()["warnings"] if "trùng tên" in w]  # said when made, not at each retry
    other = operator.post("/api/v1/agencies", headers={"X-CSRF-Token": csrf}, json={
        **body, "organ_id": "000.00.13.H60", "name": "Sở Nội vụ", "parent_name": "UBND thành phố Tuyên Quang"})
    assert other.status_code == 201 and not [w for w in other.json()["warnings"] if "trùng tên" in w]


def test_a_report_year_out_of_range_is_refused_in_vietnamese_not_a_server_error(operator):
    """A year typed into the address (1, 99999) went into date arithmetic and answered 500."""
    for year in (1, 1999, 2101, 99999):
        page = operator.get("/van-hanh/bao-cao-6-thang", params={"nam": year, "ky": 1, "dinh_dang": "pdf"})
        assert page.status_code == 422 and f"Năm {year} không hợp lệ" in page.text
    api = operator.get("/api/v1/operations-report", params={"year": 1, "half": 1})
    assert api.status_code == 422 and api.json()["code"] == "validation_failed"
    assert "từ 2000 đến 2100" in api.json()["detail"]
    usage = operator.get("/api/v1/usage", params={"date_from": "0001-01-01"})
    assert usage.status_code == 422 and "Năm 1 không hợp lệ" in usage.json()["detail"]
    # the REST query's own names, not the screen's (tu_ngay, den_ngay)
    assert usage.json()["errors"]["field"] == "date_from"
    wrong = operator.get("/api/v1/usage", params={"date_from": "2026-01-01", "date_to": "2026-02-30"})
    assert wrong.status_code == 422 and wrong.json()["errors"]["field"] == "date_to"
    assert operator.get("/van-hanh/su-dung", params={"tu_ngay": "0001-01-01"}).status_code == 422


def test_usage_shows_shares_with_a_decimal_comma_and_the_provinces_totals(operator):
    from gateway.province_ops import operations_sections, percent, usage_totals

    rows = [{"name": "A", "available": True, "registered": 4, "issued": 3, "sent": 5, "received": 6, "signed": 2,
             "signed_share": 2 / 3, "overdue": 1, "active_users": 5},
            {"name": "B", "available": True, "registered": 0, "issued": 1, "sent": 1, "received": 0, "signed": 1,
             "signed_share": 1.0, "overdue": 0, "active_users": 4}]
    totals = usage_totals(rows)
    assert (totals["registered"], totals["issued"], totals["signed"], totals["active_users"]) == (4, 4, 3, 9)
    assert percent(rows[0]["signed_share"]) == "66,7%" and percent(totals["signed_share"]) == "75,0%"
    problems = [{"agency_name": name, "created_at": "2026-09-01T03:00:00+00:00", "state": state,
                 "handled_late": late, "overdue": state == "open"}
                for name, state, late in (("A", "open", False), ("A", "done", True), ("B", "done", False))]
    sections = operations_sections([], rows, problems, [], date(2026, 7, 1), date(2026, 12, 31))
    assert sections[1][2][-1] == ["Tổng cộng", 4, 4, 6, 6, "75,0%", 1, 9]   # the report's totals: the share too
    # Problem reports per agency (received, handled, in time, overdue) and the province's totals.
    assert sections[2][2] == [["A", 2, 1, 0, 1], ["B", 1, 1, 1, 0], ["Tổng cộng", 3, 2, 1, 1]]
    # The screen: the services are away here, so every figure is 0, written as Vietnamese write it, with totals.
    page = operator.get("/van-hanh/su-dung").text
    assert '<td data-figure="signed_share">0,0%</td>' in page and "0.0%" not in page
    assert 'id="tong-cong"' in page and "Tổng cộng" in page
    assert "signed" in operator.get("/api/v1/usage").json()[0]


def test_a_change_the_hubs_directory_did_not_take_is_said_not_hidden(platform_app, operator):
    """Stopping an agency locks its record in the directory the hubs read (status 02 to whoever sends to it). When
    that copy cannot be written, the gateway's part is done but the hubs still deliver: the operator is told so and
    how to finish, on the page and over the API, instead of "Đã ngừng cơ quan" alone."""
    from services.interconnect.models import DirectoryBase

    g = platform_app.state.gateway
    hub = _hub_directory(platform_app)
    with hub.database.engine.begin() as c:   # the hubs' copy breaks (its tables gone)
        for table in reversed(DirectoryBase.metadata.sorted_tables):
            c.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}"')
    page = operator.get(f"/van-hanh/co-quan/{SNV}")
    stopped = operator.post(f"/van-hanh/co-quan/{SNV}/ngung", data={"csrf_token": csrf_of(page.text)},
                            follow_redirects=False)
    assert stopped.status_code == 200 and "Đã ngừng cơ quan" in stopped.text
    assert "Chưa cập nhật được danh bạ liên thông" in stopped.text and "Lưu hồ sơ" in stopped.text
    assert g.platform.get(SNV).disabled and g.directory().get(SNV).locked   # the gateway's own part is done
    saved = operator.post(f"/van-hanh/co-quan/{SNV}", data={"csrf_token": csrf_of(page.text), "name": "Sở Nội vụ",
                                                             "parent_name": "", "place": "Tuyên Quang"},
                          follow_redirects=False)
    assert saved.status_code == 200 and "Chưa cập nhật được danh bạ liên thông" in saved.text
    api = operator.post(f"/api/v1/agencies/{SNV}/enable", headers={"X-CSRF-Token": csrf_of(page.text)})
    assert api.status_code == 200 and api.json()["disabled"] is False
    assert any("danh bạ liên thông" in w for w in api.json()["warnings"])
    DirectoryBase.metadata.create_all(hub.database.engine)   # the copy is back: saving again writes it
    again = operator.post(f"/van-hanh/co-quan/{SNV}", data={"csrf_token": csrf_of(page.text), "name": "Sở Nội vụ",
                                                             "parent_name": "", "place": "Tuyên Quang"},
                          follow_redirects=False)
    assert "Chưa cập nhật được danh bạ liên thông" not in again.text
    assert hub.get(SNV) is not None and not hub.get(SNV).locked


def test_renaming_an_agency_reaches_every_copy_of_its_name_over_the_screen_and_the_api(platform_app, operator):
    """The record's name is also the agency's name in its registry (the sender of its packages, its registers) and
    routing: a rename goes there too; with the services away (here) that is the one thing said left to do."""
    g = platform_app.state.gateway
    csrf = _csrf(operator)
    renamed = operator.put(f"/api/v1/agencies/{SNV}", json={"name": "Sở Nội vụ  tỉnh Tuyên Quang",
                                                              "place": "Tuyên Quang"}, headers={"X-CSRF-Token": csrf})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Sở Nội vụ tỉnh Tuyên Quang"
    [left] = renamed.json()["warnings"]
    assert "Chưa cập nhật được tên cơ quan trong sổ văn bản và gói tin liên thông" in left
    assert {d.get(SNV).name for d in g.directories()} == {"Sở Nội vụ tỉnh Tuyên Quang"}
    [event] = g.accounts.admin_events(H60, action="agency_update")
    assert event.details["before"]["name"] == "Sở Nội vụ" and event.details["organ_id"] == SNV
    page = operator.post(f"/van-hanh/co-quan/{SNV}", data={"csrf_token": csrf, "name": "Sở Nội vụ tỉnh Tuyên Quang",
                                                            "parent_name": "UBND tỉnh Tuyên Quang", "place": ""},
                         follow_redirects=False)
    assert page.status_code == 200 and "Đã lưu hồ sơ cơ quan" in page.text and "Lưu hồ sơ” lại" in page.text
    assert operator.put(f"/api/v1/agencies/{SNV}", json={"name": ""}, headers={"X-CSRF-Token": csrf}).status_code == 422
    assert operator.put("/api/v1/agencies/000.00.99.H60", json={"name": "X"},
                        headers={"X-CSRF-Token": csrf}).status_code == 404


def test_the_six_monthly_report_covers_its_periods_agencies_and_says_when_its_figures_stop():
    """Tuyên Quang QĐ 51/2024 Đ19.9: the report is of the half year. An agency that joined after it was not on the
    platform then; a report made before the half year ends says its figures stop on the day it was made."""
    import io
    import subprocess

    from openpyxl import load_workbook

    from gateway.models import HostedAgency
    from gateway.province_ops import joined_by, operations_report, operations_sections

    def agency(organ_id: str, joined: datetime) -> HostedAgency:
        return HostedAgency(organ_id=organ_id, name=organ_id, installation=H60, disabled=False, created_at=joined)

    # 23:30 on 30 June in Vietnam is still the first half; 00:30 on 1 July is not.
    first, last = agency(H60, datetime(2026, 6, 30, 16, 30, tzinfo=UTC)), agency(NEW, datetime(2026, 6, 30, 17, 30,
                                                                                                 tzinfo=UTC))
    assert joined_by([first, last], date(2026, 6, 30)) == [first]
    sections = operations_sections([first], [], [], [], date(2026, 7, 1), date(2026, 12, 31))
    data, name = operations_report("pdf", sections, date(2026, 7, 1), date(2026, 12, 31), 2, today=date(2026, 12, 6))
    text = " ".join(subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                                   check=True).stdout.decode().split())
    assert "đến ngày 31/12/2026); số liệu tính đến ngày 06/12/2026" in text and name == "bao-cao-van-hanh-2026-2.pdf"
    done, _ = operations_report("pdf", sections, date(2026, 1, 1), date(2026, 6, 30), 1, today=date(2026, 12, 6))
    assert "số liệu tính đến" not in subprocess.run(["pdftotext", "-", "-"], input=done, capture_output=True,
                                                     check=True).stdout.decode()
    book = load_workbook(io.BytesIO(operations_report("xlsx", operations_sections(
        [first], [], [], [], date(2026, 7, 1), date(2026, 12, 31)), date(2026, 7, 1), date(2026, 12, 31), 2)[0]))
    # Sheet names within Excel's 31 characters, cut after a whole word, not inside one ("… theo cơ qu").
    assert book.sheetnames == ["1. Cơ quan sử dụng hệ thống", "2. Tình hình sử dụng theo cơ",
                               "3. Báo lỗi phần mềm và xử lý", "4. Thông báo bảo trì"]


def test_the_lock_by_the_operator_is_in_the_persons_agency_history(platform_app, operator):
    """The agency's administrators answer for its accounts (Đà Nẵng QĐ 8849 Đ13.5): a person the province operator
    locked shows it, and who did it, on the person's page of the agency, as the agency's own locks do."""
    g = platform_app.state.gateway
    g.accounts.create_user(username="haitv.snv", full_name="Tạ Văn Hải", agency_id=SNV, roles=["admin"],
                           password=PASSWORD, unit="SNV", must_change_password=False)
    user = g.accounts.by_username("lanvt.snv")
    found = operator.get("/van-hanh/tai-khoan", params={"q": "lanvt"})
    operator.post(f"/van-hanh/tai-khoan/{user.id}/khoa", data={"csrf_token": csrf_of(found.text)})
    [event] = g.accounts.admin_events(SNV, user.id)
    assert event.action == "lock" and event.details["by_name"] == "Lương Thị Thảo"
    with TestClient(platform_app, base_url="http://127.0.0.1") as admin:
        assert login(admin, "haitv.snv").status_code == 303
        page = admin.get(f"/quan-tri/nguoi-dung/{user.id}").text
        assert "Khóa tài khoản · Lương Thị Thảo (vận hành nền tảng, Sở TTTT)" in page


def test_the_province_operator_grants_and_removes_the_hub_operator_role(platform_app, operator):
    """hub_operator is the province operator's to give (an agency's administrator cannot: test_admin.py), on the
    agency's page or over REST, for a person of that agency; each change is in the person's agency history."""
    g = platform_app.state.gateway
    lan = g.accounts.by_username("lanvt.snv")
    page = operator.get(f"/van-hanh/co-quan/{SNV}")
    assert "Chưa có người vận hành trục." in page.text and f'<option value="{lan.id}">' in page.text
    csrf = csrf_of(page.text)
    page = operator.post(f"/van-hanh/co-quan/{SNV}/van-hanh-truc", data={"csrf_token": csrf, "user_id": lan.id})
    assert page.status_code == 200 and g.accounts.get(lan.id).roles == ["clerk", "hub_operator"]
    assert "Đã giao vai trò Vận hành trục liên thông" in page.text and f"/van-hanh-truc/{lan.id}/thu-hoi" in page.text
    # A person of another agency is not found under this one.
    manh = g.accounts.by_username("manhhd.vptq")
    assert operator.post(f"/van-hanh/co-quan/{SNV}/van-hanh-truc",
                         data={"csrf_token": csrf, "user_id": manh.id}).status_code == 404
    page = operator.post(f"/van-hanh/co-quan/{SNV}/van-hanh-truc/{lan.id}/thu-hoi", data={"csrf_token": csrf})
    assert "Đã thu hồi vai trò Vận hành trục liên thông" in page.text and g.accounts.get(lan.id).roles == ["clerk"]
    headers = {"X-CSRF-Token": csrf}
    made = operator.post(f"/api/v1/agencies/{SNV}/hub-operators", json={"username": "lanvt.snv"}, headers=headers)
    assert made.status_code == 200 and made.json()["roles"] == ["clerk", "hub_operator"]
    listed = operator.get(f"/api/v1/agencies/{SNV}/hub-operators").json()
    assert [a["username"] for a in listed] == ["lanvt.snv"]
    # Again: unchanged, and nothing more recorded.
    assert operator.post(f"/api/v1/agencies/{SNV}/hub-operators", json={"username": "lanvt.snv"},
                         headers=headers).status_code == 200
    removed = operator.delete(f"/api/v1/agencies/{SNV}/hub-operators/lanvt.snv", headers=headers)
    assert removed.status_code == 200 and removed.json()["roles"] == ["clerk"]
    events = g.accounts.admin_events(SNV, lan.id)
    assert sorted(e.action for e in events) == ["grant_hub_operator", "grant_hub_operator", "remove_hub_operator",
                                                "remove_hub_operator"]
    assert all(e.details["by_name"] == "Lương Thị Thảo" for e in events)
    g.accounts.create_user(username="haitv.snv", full_name="Tạ Văn Hải", agency_id=SNV, roles=["admin"],
                           password=PASSWORD, unit="SNV", must_change_password=False)
    with TestClient(platform_app, base_url="http://127.0.0.1") as admin:
        assert login(admin, "haitv.snv").status_code == 303
        history = admin.get(f"/quan-tri/nguoi-dung/{lan.id}").text
        assert "Giao vai trò Vận hành trục liên thông · Lương Thị Thảo (vận hành nền tảng, Sở TTTT)" in history
        assert "Thu hồi vai trò Vận hành trục liên thông · Lương Thị Thảo (vận hành nền tảng, Sở TTTT)" in history
    # Only the province operator: the agency's administrator is refused on the operator's routes.
    with TestClient(platform_app, base_url="http://127.0.0.1") as admin:
        login(admin, "haitv.snv")
        token = csrf_of(admin.get("/").text)
        assert admin.post(f"/api/v1/agencies/{SNV}/hub-operators", json={"username": "lanvt.snv"},
                          headers={"X-CSRF-Token": token}).status_code == 403
    assert g.accounts.get(lan.id).roles == ["clerk"]


def test_a_person_made_hub_operator_by_the_province_reaches_the_queue_page(platform_app, operator, stack_env,
                                                                           tmp_path):
    g = platform_app.state.gateway
    hubs = tmp_path / "hubs.json"
    hubs.write_text(json.dumps({"H60": {"name": "Trục liên thông tỉnh Tuyên Quang", "parent": "national",
                                        "agencies": [H60, SNV]}}))
    g.settings.hub_reports_file, g.settings.prometheus_url = hubs, stack_env["PROMETHEUS_URL"]
    lan = g.accounts.by_username("lanvt.snv")
    with TestClient(platform_app, base_url="http://127.0.0.1") as person:
        assert login(person, "lanvt.snv").status_code == 303
        assert person.get("/van-hanh/hang-doi").status_code == 403
        operator.post(f"/van-hanh/co-quan/{SNV}/van-hanh-truc", data={"csrf_token": _csrf(operator), "user_id": lan.id})
        assert "hub_operator" in g.accounts.get(lan.id).roles
        person.cookies.clear()   # the new role ends the old session
        assert login(person, "lanvt.snv").status_code == 303
        page = person.get("/van-hanh/hang-doi")
        assert page.status_code == 200, page.text
        # the whole hub: every agency it serves, not only the person's own
        assert "Trục liên thông tỉnh Tuyên Quang" in page.text and H60 in page.text and SNV in page.text
