"""The reporting service with the real registry and routing in one agency process, on a fresh vhost.

Data is made through the registry's and routing's RPCs (paper incoming, leader's directive, handler's actions,
outgoing registered and a recipient's status); the report's figures, the printed registers (pdftotext, openpyxl)
and the overdue gauge must equal what was made; another agency's user sees only its own (empty) figures and a
specialist gets nothing.
"""

from __future__ import annotations

import base64
import io
import subprocess
import urllib.request

import pytest
from openpyxl import load_workbook

from services.common.clock import now_utc
from services.common.errors import Forbidden, ValidationFailed
from services.common.workcalendar import WorkCalendar
from services.reporting import copies_register, domain
from tests.reporting.conftest import AGENCY, CLERK, HEAD, LEADER, SPEC1, SPEC2, STRANGER


def decoded(result: dict) -> bytes:
    return base64.b64decode(result["data"])


def test_report_figures_equal_what_was_made(made):
    client, _port, data = made
    report = client.call("reporting", "report", LEADER, data["today"], data["today"])
    totals = report["incoming"]["totals"]
    assert (report["registered"], totals["received"], totals["handled"], totals["in_progress"],
            totals["overdue"]) == (3, 3, 1, 2, 1)
    [late] = report["incoming"]["overdue"]
    assert late["incoming_id"] == data["overdue_id"] and late["handler_name"] == SPEC1.full_name
    assert late["unit"] == "KT" and late["subject"] == data["subjects"][0]
    cal = WorkCalendar()
    deadline = domain.parse_instant(late["deadline"])
    expected = domain.working_days_late(cal, deadline, now_utc())
    assert expected >= 10 and late["working_days_late"] in (expected, expected + 1)  # a day may turn meanwhile
    units = {u["unit"]: u for u in report["incoming"]["by_unit"]}
    assert units["KT"]["overdue"] == 1 and units["NV"]["handled"] == 1 and units[""]["in_progress"] == 1
    people = {p["user_id"]: p for p in report["incoming"]["by_person"]}
    assert people[SPEC2.user_id]["handled"] == 1 and people[SPEC1.user_id]["overdue"] == 1
    out = report["outgoing"]
    assert (out["total"], out["signed"], out["signed_share"]) == (2, 2, 1.0)
    assert {e["type_code"]: e["count"] for e in out["by_type"]} == {"CV": 1, "QĐ": 1}
    assert (out["recipients"], out["recipients_reported"], out["status_coverage"]) == (2, 1, 0.5)
    # Nothing was held longer than the 8 working hours: registered, submitted and directed just now.
    assert report["incoming"]["late_forwarders"] == []


def test_department_head_sees_only_their_unit(made):
    client, _port, data = made
    report = client.call("reporting", "report", HEAD, data["today"], data["today"])
    assert report["unit"] == "KT" and report["incoming"]["totals"]["received"] == 1
    assert [o["incoming_id"] for o in report["incoming"]["overdue"]] == [data["overdue_id"]]
    assert report["outgoing"]["total"] == 0


def test_other_agency_sees_only_its_own_figures_and_specialists_get_nothing(made):
    client, _port, data = made
    # The services serve every agency their callers act for (docs/architecture.md "Inside an installation"):
    # another agency's leader gets that agency's figures, which hold nothing of this agency's documents.
    report = client.call("reporting", "report", STRANGER, data["today"], data["today"])
    assert report["agency_id"] == STRANGER.agency_id
    assert (report["registered"], report["incoming"]["totals"]["received"], report["outgoing"]["total"]) == (0, 0, 0)
    assert client.call("reporting", "register_rows", STRANGER, "incoming", data["today"], data["today"])["rows"] == []
    assert client.call("registry", "report_register", STRANGER, "incoming", data["today"], data["today"])["rows"] == []
    with pytest.raises(Forbidden):
        client.call("reporting", "report", SPEC1, data["today"], data["today"])
    with pytest.raises(ValidationFailed):
        client.call("reporting", "register_file", CLERK, "incoming", data["today"], data["today"], "docx")


def pdftotext(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "register.pdf"
    path.write_bytes(pdf)
    # -raw keeps the content-stream order, so a header wrapped inside its cell stays together.
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_incoming_register_pdf_has_the_columns_and_rows(made, tmp_path, artifacts_dir):
    client, _port, data = made
    result = client.call("reporting", "register_file", CLERK, "incoming", data["today"], data["today"], "pdf")
    assert result["content_type"] == "application/pdf" and result["filename"].endswith(".pdf")
    pdf = decoded(result)
    (artifacts_dir / "so-van-ban-den.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", "-"], input=pdf, check=True, capture_output=True).stdout.decode()
    assert "841.89 x 595.276" in info  # A4 landscape, in points
    text = pdftotext(pdf, tmp_path)
    flat = " ".join(text.split())
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in flat and "ỦY BAN NHÂN DÂN TỈNH HÀ GIANG" in flat
    for header, _width in domain.INCOMING_COLUMNS:  # every column of NĐ 30 Phụ lục IV
        assert header in flat, header
    assert "(1) (2) (3) (4) (5) (6) (7) (8) (9) (10)" in flat
    for n in (10, 11, 12):
        assert f"{n}/UBND-VX" in flat
    assert "triển khai kế hoạch chuyển đổi" in flat and SPEC1.full_name in flat
    assert "Tổng số: 3 văn bản." in flat


def test_outgoing_register_xlsx_reads_back(made):
    client, _port, data = made
    result = client.call("reporting", "register_file", CLERK, "outgoing", data["today"], data["today"], "xlsx")
    assert result["content_type"].endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(decoded(result))).active
    assert ws["A2"].value == "SỔ ĐĂNG KÝ VĂN BẢN ĐI"
    headers = [ws.cell(5, c).value for c in range(1, 11)]
    assert headers == [c[0] for c in domain.OUTGOING_COLUMNS]
    rows = [[ws.cell(r, c).value for c in range(1, 11)] for r in range(7, ws.max_row + 1)]
    assert [r[0] for r in rows] == [o["number_and_notation"].removeprefix("Số: ") for o in data["outgoing"]]
    assert rows[0][2] == "Công văn: Về việc góp ý dự thảo quy chế" and rows[0][3] == "Chủ tịch Lê Văn Hùng"
    assert "Đã tiếp nhận" in rows[0][8] and "Chưa báo nhận" in rows[1][8]


def test_report_files(made, tmp_path):
    client, _port, data = made
    pdf = client.call("reporting", "report_file", LEADER, data["today"], data["today"], "pdf")
    flat = " ".join(pdftotext(decoded(pdf), tmp_path).split())
    assert "BÁO CÁO TÌNH HÌNH TIẾP NHẬN, XỬ LÝ VĂN BẢN" in flat and "Văn bản đến quá hạn" in flat
    assert data["subjects"][0][:30] in flat
    book = load_workbook(io.BytesIO(decoded(client.call("reporting", "report_file", LEADER, data["today"],
                                                        data["today"], "xlsx"))))
    first = book.worksheets[0]
    assert [first.cell(6, c).value for c in range(1, 7)] == [3, 1, 2, 1, 0, 0]


def metric_lines(port: int) -> list[str]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return [line for line in text.splitlines() if line.startswith("congvan_documents_overdue{")]


def test_overdue_gauge(made):
    client, port, _data = made
    assert client.call("reporting", "refresh_overdue", LEADER) == {"KT": 1}
    lines = metric_lines(port)
    assert f'congvan_documents_overdue{{agency="{AGENCY}",unit="KT"}} 1.0' in lines
    # the agency's own reception limit, for the inbox alert (issue 18 item 8): 8 working hours by default
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert f'congvan_registration_limit_seconds{{agency="{AGENCY}"}} 28800.0' in text.splitlines()


def copies_lines(data: dict) -> list[list[str]]:
    """The two copies of the fixture as their register lines should read (eleven columns)."""
    day = domain.vn_day(data["today"])
    return [
        ["01/SY-UBND", day, "Sao y", data["outgoing"][0]["number_and_notation"].removeprefix("Số: "), day,
         "Ủy ban nhân dân tỉnh Hà Giang", "Về việc góp ý dự thảo quy chế", "1 tệp",
         "Chữ ký số của cơ quan; Văn thư: Vũ Thị Thu",
         "Ủy ban nhân dân tỉnh Tuyên Quang; Công ty TNHH Minh Phát (bản giấy)", ""],
        ["02/SL-UBND", day, "Sao lục", "11/UBND-VX", day, "Ủy ban nhân dân tỉnh Tuyên Quang", data["subjects"][1],
         "1 tệp", "Chữ ký số của cơ quan; Văn thư: Vũ Thị Thu", "Trường THPT Tân Trào (bản giấy)",
         "Đã thu hồi; Trường THPT Tân Trào: chờ nhận lại bản giấy"],
    ]


def test_copies_register_rows_name_the_source_the_form_and_the_recipients(made):
    client, _port, data = made
    reg = client.call("reporting", "register_rows", CLERK, "copies", data["today"], data["today"])
    assert reg["title"] == copies_register.COPIES_TITLE
    assert reg["columns"] == [c[0] for c in copies_register.COPIES_COLUMNS]
    assert reg["rows"] == copies_lines(data)
    # another agency's clerk-level reader sees only its own (empty) copies register; a specialist nothing
    assert client.call("reporting", "register_rows", STRANGER, "copies", data["today"], data["today"])["rows"] == []
    with pytest.raises(Forbidden):
        client.call("reporting", "register_rows", SPEC1, "copies", data["today"], data["today"])
    with pytest.raises(ValidationFailed):
        client.call("reporting", "register_rows", CLERK, "drafts", data["today"], data["today"])


def test_copies_register_pdf_and_xlsx(made, tmp_path, artifacts_dir):
    client, _port, data = made
    result = client.call("reporting", "register_file", CLERK, "copies", data["today"], data["today"], "pdf")
    assert result["filename"] == f"so-ban-sao-{data['today']}-{data['today']}.pdf"
    pdf = decoded(result)
    (artifacts_dir / "so-ban-sao.pdf").write_bytes(pdf)
    flat = " ".join(pdftotext(pdf, tmp_path).split())
    assert "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN" in flat and "ỦY BAN NHÂN DÂN TỈNH HÀ GIANG" in flat
    for header, _width in copies_register.COPIES_COLUMNS:
        assert header in flat, header
    assert "(1) (2) (3) (4) (5) (6) (7) (8) (9) (10) (11)" in flat
    assert "01/SY-UBND" in flat and "02/SL-UBND" in flat and "Sao lục" in flat
    assert "Trường THPT Tân Trào (bản giấy)" in flat and "Tổng số: 2 bản sao." in flat

    result = client.call("reporting", "register_file", CLERK, "copies", data["today"], data["today"], "xlsx")
    assert result["filename"].endswith(".xlsx")
    ws = load_workbook(io.BytesIO(decoded(result))).active
    assert (ws["A1"].value, ws["A2"].value) == ("ỦY BAN NHÂN DÂN TỈNH HÀ GIANG", "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN")
    assert ws["A3"].value == domain.period_text(data["today"], data["today"])
    assert [ws.cell(5, c).value for c in range(1, 12)] == [c[0] for c in copies_register.COPIES_COLUMNS]
    rows = [[ws.cell(r, c).value or "" for c in range(1, 12)] for r in range(7, ws.max_row + 1)]
    assert rows == copies_lines(data)
