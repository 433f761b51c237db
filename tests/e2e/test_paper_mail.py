"""Paper, fax and e-mail arrivals in a real browser (issue 18 items 1 and 2), at UBND thành phố Đà Nẵng's clerk:

- a scanned page without a text layer (JPEG, read by Tesseract 'vie') pre-fills number, notation, issuer, date and
  subject; confirmed, it takes the next number of the incoming register and shows "Giấy" in the register;
- the paper copy of a document that already arrived electronically is named and recorded on it, not registered twice
  (Đà Nẵng Đ5.5); the same scan again is warned about as a duplicate;
- a page marked "MẬT" is refused with Đà Nẵng Đ1.3 quoted, and nothing is registered;
- an .eml with a PDF and a spreadsheet list is registered with both files, channel "Thư điện tử";
- a paper document without number, date or seal gets a Phiếu trả (TP.HCM Đ6.1), downloaded as a PDF;
- refusing an electronic document offers the status-02 reasons; the one chosen reaches the sender with status 02.
Screenshots go to tests/artifacts/paper-NN-*.png, and into docs/screenshots/ with `./congvan screenshots`.
"""

from __future__ import annotations

import re
import secrets
import subprocess

import pytest
from playwright.sync_api import Page, expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import wait_for
from tests.e2e.scans import eml, header, page_image, text_pdf
from tests.e2e.test_guide_screens import patient_expect  # noqa: F401 (the fixture: expect() waits as pages may take)
from tests.gateway.test_api import H17, send_document, session_for, token_for

pytestmark = pytest.mark.browser
CLERK = "namtv.vpdn"
WAIT_MS = 120_000
TUYEN_QUANG = ("ỦY BAN NHÂN DÂN", "TỈNH TUYÊN QUANG")
SO_Y_TE = ("UBND THÀNH PHỐ ĐÀ NẴNG", "SỞ Y TẾ")


class Shots:
    def __init__(self, artifacts) -> None:
        self.dir, self.paths = artifacts, []

    def take(self, page: Page, name: str) -> None:
        path = self.dir / f"paper-{len(self.paths) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.paths.append(path)


def upload(page: Page, base: str, paths: list, channel: str | None = None) -> None:
    page.goto(f"{base}/van-ban-den/nhap-van-ban-giay")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhập văn bản đến bằng giấy, fax, thư điện tử")
    if channel:
        page.get_by_label("Nguồn văn bản").select_option(label=channel)
    page.get_by_label("Bản quét hoặc thư điện tử").set_input_files([str(p) for p in paths])
    page.get_by_role("button", name="Đọc bản quét").click()


@pytest.mark.usefixtures("patient_expect")
def test_paper_fax_and_email_arrivals_and_the_return_slip(deployment, browser, artifacts_dir, tmp_path):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    shots = Shots(artifacts_dir)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(CLERK)
    page.get_by_label("Mật khẩu").fill(demo_password(deployment, CLERK))
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")

    # 1. a JPEG scan without text: OCR pre-fills the form
    number = str(100 + secrets.randbelow(800))
    lines = header(SO_Y_TE, f"{number}/SYT-NVY", "Đà Nẵng, ngày 18 tháng 11 năm 2026",
                   "tăng cường phòng chống sốt xuất huyết")
    jpeg = tmp_path / "Trang 1.jpg"
    jpeg.write_bytes(page_image(lines, "JPEG"))
    page.get_by_role("link", name="Nhập văn bản giấy").click()
    shots.take(page, "nhap-van-ban-giay")
    upload(page, base, [jpeg])
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiểm tra thông tin văn bản đến")
    expect(page.get_by_text("nhận dạng chữ (OCR)")).to_be_visible()
    expect(page.get_by_label("Số", exact=True)).to_have_value(number)
    expect(page.get_by_label("Ký hiệu", exact=True)).to_have_value("SYT-NVY")
    expect(page.get_by_label("Ngày văn bản")).to_have_value("18/11/2026")  # typed and shown dd/mm/yyyy
    expect(page.get_by_label("Trích yếu")).to_have_value("tăng cường phòng chống sốt xuất huyết")
    organ = page.get_by_label("Cơ quan, tổ chức ban hành")
    assert "sở y tế" in organ.input_value().lower()
    organ.fill("Sở Y tế thành phố Đà Nẵng")
    page.get_by_label("Độ khẩn").select_option(label="Khẩn")
    shots.take(page, "kiem-tra-thong-tin")
    page.get_by_role("button", name="Vào sổ văn bản đến").click()
    expect(page.get_by_role("status")).to_have_text("Đã vào sổ văn bản đến.")
    meta = page.locator("dl.meta")
    expect(meta).to_contain_text("Giấy (bưu điện, trực tiếp)")
    arrival = re.search(r"Số đến\s*(\d+)", meta.inner_text()).group(1)
    registered_url = page.url
    page.get_by_role("link", name="Sổ văn bản đến").click()
    row = page.get_by_role("row").filter(has_text="tăng cường phòng chống sốt xuất huyết")
    expect(row).to_contain_text("Giấy")

    # 2. the same scan again: a duplicate, warned about with a link to the first one
    again = tmp_path / "Ban chup lai.pdf"
    again.write_bytes(text_pdf(lines))
    upload(page, base, [again])
    page.get_by_label("Cơ quan, tổ chức ban hành").fill("Sở Y tế thành phố Đà Nẵng")
    page.get_by_label("Trích yếu").fill("kiểm tra lại")
    page.get_by_role("button", name="Vào sổ văn bản đến").click()
    expect(page.locator("dl.meta")).to_contain_text("Trùng số, ký hiệu và cơ quan ban hành")
    second = re.search(r"Số đến\s*(\d+)", page.locator("dl.meta").inner_text()).group(1)
    assert int(second) > int(arrival)  # the same series, later in it

    # 3. the paper copy of an electronic document
    sender = session_for(deployment, "hoalt.vptq")
    subject = f"kiểm tra bản giấy {secrets.token_hex(3)}"
    sent = send_document(sender, subject, H17)
    sender.close()
    api = token_for(deployment, CLERK)
    electronic = wait_for(lambda: [d for d in api.get("/api/v1/incoming/waiting-reception",
                                                      params={"size": 100}).json()["items"]
                                   if d["subject"] == subject], 90, "the electronic document")[0]
    twin = tmp_path / "Ban giay.pdf"
    twin.write_bytes(text_pdf(header(TUYEN_QUANG, f"{sent['number']}/UBND-VP",
                                     "Tuyên Quang, ngày 20 tháng 11 năm 2026", subject)))
    upload(page, base, [twin])
    warning = page.locator("#ban-dien-tu")
    expect(warning).to_contain_text("đã đến bằng đường điện tử")
    expect(warning.get_by_role("link")).to_have_attribute("href", f"/van-ban/{electronic['id']}")
    shots.take(page, "ban-giay-cua-van-ban-dien-tu")
    page.get_by_role("button", name="Ghi nhận bản giấy").click()
    expect(page.get_by_role("status")).to_contain_text("không vào sổ lần thứ hai")
    assert page.url.split("?")[0].endswith(electronic["id"])
    expect(page.locator("ol.trace").last).to_contain_text("Nhận bản giấy")

    # 4. a secret document: refused with the rule, nothing registered
    total = api.get("/api/v1/incoming", params={"size": 1}).json()["total"]
    secret = tmp_path / "Mat.pdf"
    secret.write_bytes(text_pdf(header(SO_Y_TE, "9/SYT-VP", "Đà Nẵng, ngày 2 tháng 11 năm 2026", "nội dung mật",
                                       marks=("MẬT",))))
    upload(page, base, [secret])
    expect(page.get_by_role("alert")).to_contain_text("Không được nhập văn bản mật")
    expect(page.get_by_role("alert")).to_contain_text("Điều 1 khoản 3")
    expect(page.get_by_label("Độ mật")).to_have_value("MẬT")
    page.get_by_role("button", name="Vào sổ văn bản đến").click()
    expect(page.get_by_role("alert")).to_contain_text("Không được nhập văn bản mật")
    assert api.get("/api/v1/incoming", params={"size": 1}).json()["total"] == total

    # 5. an e-mail with the document and a list
    mail = tmp_path / "Thu tu So Y te.eml"
    mail.write_bytes(eml("Công văn về tiêm chủng", [
        ("Công văn.pdf", text_pdf(header(SO_Y_TE, f"{number}/SYT-TC", "Đà Nẵng, ngày 19 tháng 11 năm 2026",
                                         "triển khai tiêm chủng mở rộng")), "application/pdf"),
        ("Danh sách.csv", "STT;Đơn vị\n1;Trạm y tế\n".encode(), "text/csv")]))
    upload(page, base, [mail])
    expect(page.get_by_label("Nguồn văn bản")).to_have_value("email")
    expect(page.get_by_label("Ghi chú", exact=True)).to_have_value(re.compile("^Nhận qua thư điện tử từ Văn thư"))
    expect(page.get_by_text("Danh sách.csv — tệp kèm theo")).to_be_visible()
    page.get_by_label("Cơ quan, tổ chức ban hành").fill("Sở Y tế thành phố Đà Nẵng")
    page.get_by_role("button", name="Vào sổ văn bản đến").click()
    expect(page.locator("dl.meta")).to_contain_text("Thư điện tử")
    expect(page.get_by_role("link", name="Danh sách.csv")).to_be_visible()

    # 6. no number, no date, no seal: the Phiếu trả
    bad = tmp_path / "Khong so.pdf"
    bad.write_bytes(text_pdf(header(SO_Y_TE, None, None, "đề nghị hỗ trợ kinh phí")))
    upload(page, base, [bad])
    page.get_by_label("Cơ quan, tổ chức ban hành").fill("Sở Y tế thành phố Đà Nẵng")
    page.get_by_label("Không có số, ký hiệu văn bản").check()
    page.get_by_label("Không đóng dấu").check()
    page.get_by_label("Ghi chú trên phiếu trả").fill("Đề nghị đóng dấu, ghi số và gửi lại")
    shots.take(page, "lap-phieu-tra")
    page.get_by_role("button", name="Lập phiếu trả").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lập phiếu trả")
    expect(page.locator("dl.meta")).to_contain_text("Không đóng dấu")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải phiếu trả (PDF)").click()
    slip = tmp_path / "phieu-tra.pdf"
    download.value.save_as(slip)
    text = subprocess.run(["pdftotext", str(slip), "-"], capture_output=True, text=True, check=True).stdout
    assert "PHIẾU TRẢ VĂN BẢN" in text and "Không có số, ký hiệu văn bản" in text
    assert "Lập phiếu trả văn bản giấy" in page.locator("body").inner_text()
    shots.take(page, "phieu-tra")

    # 7. refusing an electronic document: the status-02 reasons
    page.goto(f"{base}/van-ban/{electronic['id']}")
    reasons = page.get_by_label("Lý do từ chối").locator("option").all_inner_texts()
    assert "Gửi sai nơi nhận" in reasons and any("thiếu tệp văn bản" in r for r in reasons)
    shots.take(page, "tu-choi-ly-do")
    missing = next(r for r in reasons if "thiếu tệp văn bản" in r)
    page.get_by_label("Lý do từ chối").select_option(label=missing)
    page.get_by_role("textbox", name="Nội dung").fill("Bản điện tử thiếu phụ lục; bản giấy đã nhận")
    page.get_by_role("button", name="Từ chối tiếp nhận").click()
    expect(page.get_by_role("status")).to_have_text("Đã từ chối tiếp nhận và báo lại nơi gửi.")
    expect(page.locator("dl.meta")).to_contain_text("Bản điện tử thiếu phụ lục")
    origin = token_for(deployment, "hoalt.vptq")
    back = wait_for(lambda: [r for r in origin.get(f"/api/v1/outgoing/{sent['id']}/statuses").json()["recipients"]
                             if r["status_code"] == "02"], 90, "status 02 back at Tuyên Quang")
    assert back[0]["description"].startswith(missing)  # the reason's words, then the clerk's text
    origin.close()
    page.goto(registered_url)
    api.close()
    screenshots.publish(shots.paths)
