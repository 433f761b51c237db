"""The clerk's whole lists and the printed incoming register, through a real installation process.

- "Sổ văn bản đến" (and the other registry lists: "Chờ tiếp nhận", "Chờ ban hành", "Sổ văn bản đi", "Sổ bản sao")
  go a page at a time and say how many documents there are: the lines past the first page were once simply not
  shown, with nothing to tell the clerk they existed. The incoming register's screen shows each line's arrival
  number and day (NĐ 30/2020 Phụ lục IV, columns 1 and 2).
- Column 7 of the printed incoming register and the report's units name a unit as the administrator declared it
  ("Phòng Tổng hợp"), not by its code ("TH")."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

import gateway.web
from gateway.app import Gateway, Viewer, create_app
from gateway.people import save_unit
from services.common.clock import now_utc, vn_date
from tests.agency import INSTALLATION_SERVICES
from tests.e2e.helpers import vietnamese_pdf
from tests.gateway.conftest import csrf_of, login
from tests.gateway.test_home_reads import agency_with, register_paper, viewer

SERVICES = f"{INSTALLATION_SERVICES},services.reporting.service:ReportingService"  # the register printed, the report
STAFF = {"anld.vp": (["leader"], "vp"), "hangpt.th": (["department_head"], "th"), "hoalt.vp": (["clerk"], "vp"),
         "khoadv.vp": (["admin"], "vp")}


@pytest.fixture
def installation(fresh_vhost, tmp_path):
    with agency_with(fresh_vhost, tmp_path, STAFF, SERVICES) as made:
        yield made


def main_text(html: str) -> str:
    body = re.search(r"<main.*?</main>", html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_incoming_register_goes_a_page_at_a_time_with_arrival_numbers(installation, monkeypatch):
    g, tmp_path = installation
    docs = [register_paper(g, tmp_path, str(40 + i), f"Về việc thứ {i} của sổ") for i in range(1, 4)]
    monkeypatch.setattr(gateway.web, "LIST_ROWS", 2)  # three lines, two to a page
    client = TestClient(create_app(g.settings), base_url="http://127.0.0.1")
    assert login(client, "hoalt.vp").status_code == 303

    first = main_text(client.get("/van-ban-den").text)
    assert "Số đến Ngày đến Số, ký hiệu" in first
    assert "Hiện 1–2 trong số 3 văn bản. Trang 1/2" in first and "Trang sau" in first
    second_page = client.get("/van-ban-den?trang=2")
    assert 'href="?trang=1">Trang trước' in second_page.text
    second = main_text(second_page.text)
    assert "Hiện 3–3 trong số 3 văn bản. Trang 2/2" in second and "Trang sau" not in second
    shown = [d for d in docs if d["id"] in client.get("/van-ban-den").text + second_page.text]
    assert len(shown) == 3, "a document of the register is on no page"
    # the newest line first: arrival number 3, today, with the sender's own number beside it
    today = vn_date(now_utc()).strftime("%d/%m/%Y")
    assert f" 3 {today} 43/UBND-VX " in first
    assert "Không có văn bản nào ở trang 5." in main_text(client.get("/van-ban-den?trang=5").text)
    # a list that fits on one page has no pager
    monkeypatch.setattr(gateway.web, "LIST_ROWS", 50)
    assert "Trang 1/" not in main_text(client.get("/van-ban-den").text)


def submitted(g: Gateway, tmp_path, number: str, subject: str, clerk: Viewer, leader: Viewer) -> dict:
    """A paper document registered by `clerk` and submitted to `leader`, once routing has the registry's event."""
    doc = register_paper(g, tmp_path, number, subject)
    deadline = time.monotonic() + 60  # a bound, not a timing assertion: routing takes the registry's event
    while not g.backends.call(clerk.actor, "routing", "list_incoming", box="to_submit"):
        assert time.monotonic() < deadline, "routing never listed the registered document"
        time.sleep(0.2)
    g.backends.call(clerk.actor, "routing", "submit_incoming", doc["id"], leader.user.id, "")
    return doc


def test_the_printed_register_and_the_report_name_the_unit(installation):
    g, tmp_path = installation
    for username in STAFF:  # a first page puts each person in routing's staff directory
        gateway.web.home_panels(g, viewer(g, username))
    admin, clerk, leader = (viewer(g, u) for u in ("khoadv.vp", "hoalt.vp", "anld.vp"))
    _unit, pending = save_unit(g, admin, "th", "Phòng Tổng hợp")
    assert pending is None
    doc = submitted(g, tmp_path, "77", "Về việc giao cho phòng", clerk, leader)
    g.backends.call(leader.actor, "routing", "direct_incoming", doc["id"], "Giao Phòng Tổng hợp", {"unit": "th"})

    today = vn_date(now_utc()).isoformat()
    printed = g.backends.call(clerk.actor, "reporting", "register_rows", "incoming", today, today)
    [line] = [r for r in printed["rows"] if r[3] == "77/UBND-VX"]
    assert line[6] == "Phòng Tổng hợp", line  # column 7, "Đơn vị hoặc người nhận"
    report = g.backends.call(leader.actor, "reporting", "report", today, today)
    assert [u["unit_label"] for u in report["incoming"]["by_unit"]] == ["Phòng Tổng hợp"]


def test_a_paper_arrival_goes_into_the_incoming_register_the_clerk_chooses(installation):
    """An agency keeping a register of its own for invitations (Giấy mời) numbers a paper invitation there, on the
    screen and over REST, as it does an electronic arrival; left unchosen, the year's register of every type."""
    g, _tmp_path = installation
    admin = viewer(g, "khoadv.vp")
    year = vn_date(now_utc()).year
    invitations = g.backends.call(admin.actor, "registry", "create_register", "incoming", year, "GM")
    client = TestClient(create_app(g.settings), base_url="http://127.0.0.1")
    assert login(client, "hoalt.vp").status_code == 303
    csrf = csrf_of(client.get("/van-ban-den/nhap-van-ban-giay").text)
    pdf = vietnamese_pdf("UBND HUYỆN YÊN SƠN", "Giấy mời dự hội nghị tổng kết năm")
    read = client.post("/van-ban-den/nhap-van-ban-giay/doc", data={"csrf_token": csrf, "channel": "paper"},
                       files={"files": ("giay-moi.pdf", pdf, "application/pdf")})
    assert read.status_code == 200, read.text[-500:]
    picker = re.search(r'<select name="register_id">(.*?)</select>', read.text, re.S)
    assert picker, "the confirm page offers no choice of register"
    assert "Sổ văn bản đến (Giấy mời)" in picker.group(1)
    assert re.search(r'selected>Sổ văn bản đến năm', picker.group(1)), "the register of every type is not the default"
    sealed = re.search(r'name="files" value="([^"]+)"', read.text).group(1).replace("&#34;", '"').replace("&quot;", '"')
    fields = {"csrf_token": csrf, "files": sealed, "form_key": "giay-moi-1", "action": "register", "channel": "paper",
              "code_number": "12", "code_notation": "GM-UBND", "organ_name": "UBND huyện Yên Sơn", "type_code": "GM",
              "subject": "Giấy mời dự hội nghị tổng kết năm", "issued_date": "2026-12-01",
              "register_id": invitations["id"]}
    done = client.post("/van-ban-den/nhap-van-ban-giay", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text[-800:]
    doc = g.backends.call(viewer(g, "hoalt.vp").actor, "registry", "get_document",
                          done.headers["location"].split("/van-ban/")[1].split("?")[0])
    assert (doc["register_id"], doc["number"]) == (invitations["id"], 1)

    def over_rest(number: str, register_id: str | None) -> dict:
        got = client.post("/api/v1/incoming/paper", headers={"x-csrf-token": csrf},
                          data={"code_number": number, "code_notation": "GM-UBND", "organ_name": "UBND huyện Yên Sơn",
                                "subject": f"Giấy mời số {number}", "type_code": "GM", "issued_date": "2026-12-01",
                                **({"register_id": register_id} if register_id else {})},
                          files={"files": ("gm.pdf", vietnamese_pdf("GIẤY MỜI", number), "application/pdf")})
        assert got.status_code == 201, got.text
        return got.json()

    assert (over_rest("13", invitations["id"])["number"]) == 2
    every_type = over_rest("14", None)
    assert every_type["register_id"] != invitations["id"] and every_type["number"] == 1
