"""Defects of issue #8 on the screens, against the real demo deployment: the outgoing document's page (file sizes,
the signature row in words, full names in the history), the administrator's "Khóa sổ" button, and date fields
that read dd/mm/yyyy in Chromium (an English browser too) while the server still receives yyyy-mm-dd."""

from __future__ import annotations

import random
import re
import secrets

import pytest

from gateway.document_page import vn_size
from gateway.signature_labels import signature_label
from services.common import clock
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of
from tests.gateway.test_api import base_url, request_retrying, send_document, session_for

H17 = "000.00.00.H17"
CLERK, ADMIN = "hoalt.vptq", "manhhd.vptq"  # Lê Thị Hoa, Hoàng Đức Mạnh (H60)


def section(html: str, heading: str) -> str:
    return html.split(f"<h2>{heading}</h2>")[1].split("</section>")[0]


# -- pure rules ------------------------------------------------------------------------------------------------------

def test_sizes_read_as_vietnamese_people_write_them():
    assert vn_size(0) == "0 B"
    assert vn_size(512) == "512 B"
    assert vn_size(149_504) == "146 KB"
    assert vn_size(1_258_291) == "1,2 MB"
    assert vn_size(5 * 1024**2) == "5 MB"
    assert vn_size(3 * 1024**3) == "3 GB"


def test_the_signature_row_is_said_in_words():
    assert signature_label(None, "none") == "Chưa ký"
    assert signature_label({"verdict": "unsigned", "legally_valid": False,
                            "summary_vi": "Văn bản chưa được ký số; chỉ có giá trị tham khảo."}, "invalid") == "Chưa ký"
    assert signature_label({"verdict": "valid", "legally_valid": True, "summary_vi": "…"}, "valid") == "Hợp lệ"
    bad = {"verdict": "invalid", "legally_valid": False, "summary_vi": "Chữ ký số không hợp lệ (lãnh đạo): bị sửa."}
    assert signature_label(bad, "invalid") == "Không hợp lệ: Chữ ký số không hợp lệ (lãnh đạo): bị sửa."
    assert signature_label(None, "pending") == "Đang kiểm tra"
    assert signature_label({"result": "hỏng", "legally_valid": False}, "invalid") == "Không hợp lệ: hỏng"


# -- over HTTP ---------------------------------------------------------------------------------------------------

def test_the_outgoing_document_page_shows_sizes_signature_words_and_full_names(deployment):
    clerk = session_for(deployment, CLERK)
    try:
        sent = send_document(clerk, f"Về việc thử trang văn bản đi ({secrets.token_hex(3)})", H17)
        page = request_retrying(clerk, "GET", f"/van-ban/{sent['id']}")
        assert page.status_code == 200, page.text[:500]
        files = section(page.text, "Tệp đính kèm")
        assert f"<td>{vn_size(len(sent['pdf']))}</td>" in files and "0 B" not in files
        signature = re.search(r"<dt>Chữ ký số</dt><dd>([^<]*)</dd>", page.text).group(1)
        assert signature == "Chưa ký"  # the test PDF carries no signature; the registry's "none" is not shown
        history = section(page.text, "Lịch sử xử lý")
        assert "Lê Thị Hoa:" in history and f"{CLERK}:" not in history
    finally:
        clerk.close()


def test_the_administrator_closes_a_register_from_its_screen(deployment):
    admin, clerk = session_for(deployment, ADMIN), session_for(deployment, CLERK)
    try:
        form = admin.get("/quan-tri/so-van-ban")
        name = f"Sổ bản sao thử khóa {secrets.token_hex(3)}"
        created = admin.post("/quan-tri/so-van-ban", data={  # a far year's book: nobody else numbers from it
            "csrf_token": csrf_of(form.text), "direction": "copies", "year": str(random.randint(2060, 2099)),
            "scope": "all", "name": name})
        assert created.status_code == 303, created.text[:1000]
        page = admin.get("/quan-tri/so-van-ban").text
        row = re.search(rf'<tr data-register="([^"]+)"><td>{name}</td>.*?</tr>', page, re.S)
        register_id = row.group(1)
        assert "Đang mở" in row.group(0) and "Khóa sổ</button>" in row.group(0)

        refused = clerk.post(f"/quan-tri/so-van-ban/{register_id}/khoa", data={"csrf_token": csrf_of(
            clerk.get("/doi-mat-khau").text)})
        assert refused.status_code == 403

        for _ in range(2):  # closing twice is no error
            r = admin.post(f"/quan-tri/so-van-ban/{register_id}/khoa", data={"csrf_token": csrf_of(page)})
            assert r.status_code == 303 and r.headers["location"] == "/quan-tri/so-van-ban?tb=da-khoa-so"
        after = admin.get("/quan-tri/so-van-ban?tb=da-khoa-so").text
        assert "Đã khóa sổ văn bản; sổ không cấp thêm số." in after
        row = re.search(rf'<tr data-register="{register_id}">.*?</tr>', after, re.S).group(0)
        assert re.search(r"Đã khóa sổ \d{2}/\d{2}/\d{4} \d{2}:\d{2}", row) and "Khóa sổ</button>" not in row
    finally:
        admin.close()
        clerk.close()


def test_the_administrator_renames_and_reopens_a_register_from_its_screen(deployment):
    """The "Sửa" form and the "Mở lại sổ" button: refusals said in Vietnamese on the page, the clerk refused,
    last year's closed register offers no reopening."""
    admin, clerk = session_for(deployment, ADMIN), session_for(deployment, CLERK)
    try:
        page = admin.get("/quan-tri/so-van-ban").text
        year = clock.today_vn().year
        used = set(re.findall(r"<td>Sổ bản sao</td><td>(\d+)</td><td>([^<]+)</td>", page))
        scope = next(c for c in ("PB", "BTT", "GUQ", "BGN", "PA", "ĐA")
                     if not {(str(year), c), (str(year - 1), c)} & used)
        name = f"Sổ sao thử sửa {secrets.token_hex(3)}"
        created = admin.post("/quan-tri/so-van-ban", data={"csrf_token": csrf_of(page), "direction": "copies",
                                                          "year": str(year), "scope": scope, "name": name})
        assert created.status_code == 303, created.text[:1000]
        page = admin.get("/quan-tri/so-van-ban").text
        register_id = re.search(rf'<tr data-register="([^"]+)"><td>{name}</td>', page).group(1)
        form = admin.get(f"/quan-tri/so-van-ban?sua={register_id}").text
        assert "<h2>Sửa sổ văn bản</h2>" in form and f'value="{name}"' in form
        csrf = {"csrf_token": csrf_of(form)}

        blank = admin.post(f"/quan-tri/so-van-ban/{register_id}/sua", data={**csrf, "name": " "})
        assert blank.status_code == 422 and "Tên sổ không được để trống." in blank.text
        assert clerk.post(f"/quan-tri/so-van-ban/{register_id}/sua", data={
            "csrf_token": csrf_of(clerk.get("/doi-mat-khau").text), "name": "Của văn thư"}).status_code == 403
        renamed = admin.post(f"/quan-tri/so-van-ban/{register_id}/sua", data={**csrf, "name": f"{name} (mới)"})
        assert renamed.status_code == 303 and renamed.headers["location"] == "/quan-tri/so-van-ban?tb=da-sua-so"
        assert "Đã lưu tên sổ văn bản." in admin.get("/quan-tri/so-van-ban?tb=da-sua-so").text

        admin.post(f"/quan-tri/so-van-ban/{register_id}/khoa", data=csrf)
        closed = admin.get("/quan-tri/so-van-ban").text
        row = re.search(rf'<tr data-register="{register_id}">.*?</tr>', closed, re.S).group(0)
        assert "Mở lại sổ</button>" in row and "Sửa</a>" not in row
        no_reason = admin.post(f"/quan-tri/so-van-ban/{register_id}/mo-lai", data={**csrf, "reason": ""})
        assert no_reason.status_code == 422 and "Phải ghi lý do mở lại sổ." in no_reason.text
        reopened = admin.post(f"/quan-tri/so-van-ban/{register_id}/mo-lai", data={
            **csrf, "reason": "Khóa nhầm", "form_key": secrets.token_urlsafe(12)})
        assert reopened.headers["location"] == "/quan-tri/so-van-ban?tb=da-mo-lai-so"
        after = admin.get("/quan-tri/so-van-ban?tb=da-mo-lai-so").text
        row = re.search(rf'<tr data-register="{register_id}">.*?</tr>', after, re.S).group(0)
        assert "Đang mở" in row and re.search(
            r"Đã mở lại ngày \d{2}/\d{2}/\d{4} \d{2}:\d{2} \(lý do: Khóa nhầm\), người mở lại: Hoàng Đức Mạnh", row)

        # last year's closed register: said so, no button
        old = admin.post("/quan-tri/so-van-ban", data={**csrf, "direction": "copies", "year": str(year - 1),
                                                       "scope": scope, "name": f"{name} năm trước"})
        assert old.status_code == 303, old.text[:1000]
        old_id = re.search(rf'<tr data-register="([^"]+)"><td>{name} năm trước</td>',
                           admin.get("/quan-tri/so-van-ban").text).group(1)
        admin.post(f"/quan-tri/so-van-ban/{old_id}/khoa", data=csrf)
        row = re.search(rf'<tr data-register="{old_id}">.*?</tr>', admin.get("/quan-tri/so-van-ban").text,
                        re.S).group(0)
        assert f"Sổ năm {year - 1} không mở lại được trong năm {year}." in row and "Mở lại sổ</button>" not in row
    finally:
        admin.close()
        clerk.close()


# -- in Chromium ---------------------------------------------------------------------------------------------------

@pytest.mark.browser
def test_date_fields_read_dd_mm_yyyy_and_send_iso(deployment, browser, artifacts_dir):
    base = base_url(deployment)
    context = browser.new_context(locale="en-US")  # an English browser drew type=date as mm/dd/yyyy
    try:
        page = context.new_page()
        page.goto(f"{base}/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill(CLERK)
        page.get_by_label("Mật khẩu").fill(demo_password(deployment, CLERK))
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{base}/")

        page.goto(f"{base}/van-ban-di/gui")
        issued = page.get_by_label("Ngày ban hành")
        assert issued.input_value() == clock.today_vn().strftime("%d/%m/%Y")  # Vietnam's today (issue 18)
        assert issued.get_attribute("placeholder") == "dd/mm/yyyy"
        page.screenshot(path=str(artifacts_dir / "ngay-dd-mm-yyyy.png"))

        page.goto(f"{base}/tra-cuu")
        page.locator("details summary").click()
        start = page.locator("input[name=date_from]")
        assert start.get_attribute("placeholder") == "dd/mm/yyyy"
        start.fill("05/03/2026")
        page.locator("input[name=date_to]").fill("31/12/2026")
        start.press("Enter")
        page.wait_for_url(re.compile(r"date_from=2026-03-05"))
        assert "date_to=2026-12-31" in page.url  # the server still receives ISO dates
        assert page.locator("input[name=date_from]").input_value() == "05/03/2026"

        page.locator("input[name=date_to]").fill("31/02/2026")  # no such day: the browser says so in Vietnamese
        message = page.locator("input[name=date_to]").evaluate("e => e.validationMessage")
        assert message == "Nhập ngày theo dạng dd/mm/yyyy, ví dụ 05/03/2026."
    finally:
        context.close()
