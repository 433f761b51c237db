"""The "Báo cáo, thống kê" and "In sổ" screens of the gateway (in-process FastAPI app) over the real agency
process of tests/reporting/conftest.py: pages render the figures, downloads have the right content type and
content, and neither a specialist nor another agency's user sees any of it."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.reporting.conftest import AGENCY, OTHER, SPEC1

PASSWORD = "Mat-khau-2026!"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def web(made, module_vhost, tmp_path):
    # The other agency's entry points at the same vhost on purpose: one installation serves both agencies, and the
    # services answer each user with their own agency's data only (docs/architecture.md "Inside an installation").
    agencies = {AGENCY: {"name": "Ủy ban nhân dân tỉnh Hà Giang", "amqp_uri": module_vhost},
                OTHER: {"name": "Ủy ban nhân dân tỉnh Tuyên Quang", "amqp_uri": module_vhost}}
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(agencies))
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=path))
    accounts = app.state.gateway.accounts
    for username, agency, roles, unit in (("hoalt.vp", AGENCY, ["clerk"], "VP"),
                                          ("hunglv.ubnd", AGENCY, ["leader"], None),
                                          ("anhnt.kt", AGENCY, ["specialist"], "KT"),
                                          ("lanpt.ubnd", OTHER, ["leader"], None)):
        accounts.create_user(username=username, full_name=username, agency_id=agency, roles=roles,
                             password=PASSWORD, unit=unit, must_change_password=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, made[2]


def signed_in(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    got = client.post("/dang-nhap", data={"username": username, "password": PASSWORD, "next": "/"},
                      follow_redirects=False)
    assert got.status_code == 303
    return client


def test_report_screen_and_downloads(web):
    client, data = web
    signed_in(client, "hunglv.ubnd")
    page = client.get("/bao-cao", params={"tu": data["today"], "den": data["today"]})
    assert page.status_code == 200 and "Báo cáo, thống kê" in page.text
    assert "<svg" in page.text and "Văn bản đến theo đơn vị" in page.text
    assert data["subjects"][0] in page.text and SPEC1.full_name in page.text  # the overdue list
    assert 'href="/bao-cao"' in page.text and 'href="/in-so"' in page.text     # menu
    got = client.get("/bao-cao/tai-ve", params={"tu": data["today"], "den": data["today"], "dinh-dang": "xlsx"})
    assert got.status_code == 200 and got.headers["content-type"] == XLSX
    assert got.headers["content-disposition"].startswith("attachment;")
    assert load_workbook(io.BytesIO(got.content)).worksheets[0].cell(6, 1).value == 3
    pdf = client.get("/bao-cao/tai-ve", params={"tu": data["today"], "den": data["today"], "dinh-dang": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_register_screen_and_downloads(web):
    client, data = web
    signed_in(client, "hoalt.vp")
    page = client.get("/in-so", params={"so": "den", "tu": data["today"], "den": data["today"]})
    assert page.status_code == 200 and "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in page.text
    assert "10/UBND-VX" in page.text and "Đơn vị hoặc người nhận" in page.text
    got = client.get("/in-so/tai-ve", params={"so": "di", "tu": data["today"], "den": data["today"],
                                               "dinh-dang": "pdf"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF") and "so-van-ban-di" in got.headers["content-disposition"]
    xlsx = client.get("/in-so/tai-ve", params={"so": "den", "tu": data["today"], "den": data["today"],
                                                "dinh-dang": "xlsx"})
    assert xlsx.headers["content-type"] == XLSX
    assert load_workbook(io.BytesIO(xlsx.content)).active["A2"].value == "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"
    assert client.get("/in-so/tai-ve", params={"so": "den", "dinh-dang": "docx"}).status_code == 422


def test_copies_register_screen_download_and_rest(web):
    client, data = web
    signed_in(client, "hoalt.vp")
    period = {"tu": data["today"], "den": data["today"]}
    page = client.get("/in-so", params={"so": "sao", **period})
    assert page.status_code == 200 and "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN" in page.text
    assert '<option value="sao" selected>Sổ bản sao</option>' in page.text and "2 bản sao." in page.text
    assert "01/SY-UBND" in page.text and "Sao lục" in page.text and "Trường THPT Tân Trào (bản giấy)" in page.text
    assert 'href="/in-so/tai-ve?so=sao&' in page.text
    got = client.get("/in-so/tai-ve", params={"so": "sao", "dinh-dang": "xlsx", **period})
    assert got.status_code == 200 and got.headers["content-type"] == XLSX
    assert "so-ban-sao" in got.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(got.content)).active
    assert [ws.cell(r, 1).value for r in (2, 7, 8)] == ["SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN", "01/SY-UBND", "02/SL-UBND"]
    # REST: the same file, for each register
    rest = client.get("/api/v1/register-prints", params={"register": "copies", "date_from": data["today"],
                                                          "date_to": data["today"], "format": "xlsx"})
    assert rest.status_code == 200 and rest.headers["content-type"] == XLSX
    assert load_workbook(io.BytesIO(rest.content)).active["A8"].value == "02/SL-UBND"
    pdf = client.get("/api/v1/register-prints", params={"register": "incoming", "date_from": data["today"],
                                                         "date_to": data["today"]})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "so-van-ban-den" in \
        pdf.headers["content-disposition"]
    assert client.get("/api/v1/register-prints", params={"register": "drafts"}).status_code == 422
    assert client.get("/in-so", params={"so": "nhap"}).status_code == 422


@pytest.mark.parametrize("username", ["anhnt.kt", "lanpt.ubnd"])
def test_specialist_and_other_agency_see_nothing(web, username):
    client, data = web
    signed_in(client, username)
    for path, params in (("/bao-cao", {}), ("/bao-cao/tai-ve", {"dinh-dang": "pdf"}), ("/in-so", {"so": "den"}),
                         ("/in-so/tai-ve", {"so": "den", "dinh-dang": "xlsx"}), ("/in-so", {"so": "sao"}),
                         ("/in-so/tai-ve", {"so": "sao", "dinh-dang": "pdf"})):
        got = client.get(path, params={"tu": data["today"], "den": data["today"], **params})
        # A specialist may not read reports; the other agency's leader reads their own agency's, empty here.
        assert got.status_code == (403 if username == "anhnt.kt" else 200), path
        assert data["subjects"][0] not in got.text
        assert "01/SY-UBND" not in got.text
    rest = client.get("/api/v1/register-prints", params={"register": "copies", "format": "xlsx",
                                                          "date_from": data["today"], "date_to": data["today"]})
    assert rest.status_code == (403 if username == "anhnt.kt" else 200)
    if rest.status_code == 200:   # the other agency's own copies register: empty
        assert load_workbook(io.BytesIO(rest.content)).active.max_row < 7


def test_a_wrong_period_keeps_the_form(web):
    """The end before the start, or a day that does not exist: the page says so above its form, as typed (it was an
    error page with only a link home), and nothing is read."""
    client, _data = web
    signed_in(client, "hoalt.vp")
    for path, extra in (("/in-so", {"so": "di"}), ("/bao-cao", {})):
        page = client.get(path, params={"tu": "2026-12-06", "den": "2026-12-01", **extra})
        assert page.status_code == 422, path
        assert "“Đến ngày” (01/12/2026) không được trước “Từ ngày” (06/12/2026)" in page.text, path
        assert 'name="tu" value="2026-12-06"' in page.text and 'name="den" value="2026-12-01"' in page.text, path
        assert "Tổng số" not in page.text and "Không có văn bản nào" not in page.text, path
    page = client.get("/in-so", params={"so": "di", "tu": "31/02/2026", "den": "01/12/2026"})
    assert page.status_code == 422 and "Ngày không hợp lệ" in page.text and 'value="di" selected' in page.text
    assert 'name="tu" value="31/02/2026"' in page.text
    page = client.get("/bao-cao", params={"tu": "0001-01-01", "den": "2026-12-01"})
    assert page.status_code == 422 and "Năm 1 không hợp lệ" in page.text and 'name="tu" value="0001-01-01"' in page.text
    rest = client.get("/api/v1/register-prints", params={"register": "copies", "date_from": "0001-01-01",
                                                          "date_to": "2026-12-01"})
    assert rest.status_code == 422
