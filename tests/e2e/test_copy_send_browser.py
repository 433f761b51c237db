"""Sending an electronic copy (bản sao điện tử; NĐ 30/2020/NĐ-CP Điều 25–27) in Chromium, on the demo deployment: the
clerk of UBND tỉnh Tuyên Quang opens a sao y of an issued document with an appendix, chooses Sở Nội vụ in the send
screen's recipient picker and sends it; the copy's page follows the recipient's status as an outgoing document's
does. Sở Nội vụ's clerk sees it waiting as a copy ("Bản sao (sao y)") with both files and registers it; the 03
comes back. Sending it again to the same recipient sends nothing; ticking a recipient group sends it to the member
not sent to yet, and a paper recipient typed beside it is recorded (not sent) and named in the copies register. From
"In sổ" the clerk picks "Sổ bản sao" and sees and downloads (XLSX) the copy's line with the original and recipients."""

from __future__ import annotations

import io
import uuid

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, pick, signed_in
from tests.gateway.test_api import csrf_token_of
from tests.gateway.test_copies_api import copy_of, open_copies_register, send_with_appendices

pytestmark = pytest.mark.browser
H60, STC, SNV = "000.00.00.H60", "000.00.02.H60", "000.00.09.H60"
CLERK, ADMIN, SNV_CLERK = "hoalt.vptq", "manhhd.vptq", "lanvt.snv"
SNV_NAME = "Sở Nội vụ tỉnh Tuyên Quang"
ELECTRONIC = "Gửi điện tử qua trục liên thông"   # the picker of the copy's send frame, beside "Gửi bản giấy"
PAPER_NAME = "Công ty TNHH Minh Phát"


def tuyen_quang_copy(deployment, clerk, admin, subject: str, appendices: int) -> tuple[dict, dict]:
    """A sao y made by UBND tỉnh Tuyên Quang of a document it sent to Sở Tài chính: (the original, the copy)."""
    open_copies_register(admin)
    sent = send_with_appendices(deployment, clerk, H60, "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject, appendices, STC)
    made = copy_of(clerk, sent["id"])
    assert made.status_code == 201, made.text
    return sent, made.json()


def _status_shown(page, text: str) -> None:
    """The recipients' table after the hubs answered: a clerk reloads the page until the status is there."""
    row = page.locator("tr", has_text=SNV_NAME)
    for _ in range(36):
        if text in (row.inner_text() if row.count() else ""):
            return
        page.wait_for_timeout(2_500)
        page.reload()
    expect(row).to_contain_text(text)


def print_copies_register(page, base: str, number: str, artifacts_dir):
    """"In sổ" → "Sổ bản sao" → "Xem sổ": the copy's line (form, recipients), then its XLSX; the screenshot's path."""
    page.goto(f"{base}/")
    page.get_by_role("link", name="In sổ").click()
    page.locator('select[name="so"]').select_option(label="Sổ bản sao")
    page.get_by_role("button", name="Xem sổ").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN")
    line = page.locator("table.register tbody tr", has_text=number)
    expect(line).to_contain_text("Sao y")
    expect(line).to_contain_text(f"{SNV_NAME}; Sở Tài chính tỉnh Tuyên Quang; {PAPER_NAME} (bản giấy)")
    shot = artifacts_dir / "guide-46-in-so-ban-sao.png"
    page.screenshot(path=str(shot), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    assert download.value.suggested_filename.startswith("so-ban-sao-")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    row = next(r for r in sheet.iter_rows(min_row=7, values_only=True) if r[0] == number)
    assert row[2] == "Sao y" and row[9].endswith(f"{PAPER_NAME} (bản giấy)")
    return shot


def test_the_clerk_sends_a_copy_and_the_recipient_registers_it(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    clerk, admin = (signed_in(base, u, demo_password(deployment, u)) for u in (CLERK, ADMIN))
    try:
        subject = f"Về việc gửi bản sao liên thông (mã {uuid.uuid4().hex[:6]})"
        # the original goes to Sở Tài chính; its copy to Sở Nội vụ
        sent, copy = tuyen_quang_copy(deployment, clerk, admin, subject, 1)
        number = f"{copy['code_number']}/{copy['code_notation']}"

        page = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
        page.goto(f"{base}/van-ban/{copy['id']}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Bản sao: {number}")
        section = page.locator("#gui-ban-sao")
        expect(section.get_by_role("heading", name="Gửi bản sao")).to_be_visible()
        pick(section, ELECTRONIC, SNV_NAME)
        shot = artifacts_dir / "guide-44-gui-ban-sao.png"
        section.screenshot(path=str(shot))
        section.get_by_role("button", name="Gửi bản sao").click()
        expect(page.get_by_role("status")).to_contain_text("Đã gửi bản sao qua trục liên thông")
        expect(page.locator("tr", has_text=SNV_NAME)).to_contain_text("Điện tử")
        _status_shown(page, "01 Đã đến")

        # Sở Nội vụ: the copy waits for reception as a copy, with both files, and is registered as any document
        receiver = browser_signed_in(browser, base, SNV_CLERK, demo_password(deployment, SNV_CLERK))
        receiver.goto(f"{base}/van-ban-den/cho-tiep-nhan")
        receiver.locator("tr", has_text=subject).get_by_role("link", name=number).click()
        expect(receiver.locator("#la-ban-sao")).to_contain_text("Bản sao (sao y) do Ủy ban nhân dân tỉnh Tuyên Quang")
        expect(receiver.locator("#la-ban-sao")).to_contain_text(f"Sao y văn bản số {sent['number']}/UBND-VP")
        attached = receiver.get_by_role("heading", name="Tệp đính kèm")
        files = receiver.locator("section", has=attached).locator("tbody tr")
        expect(files).to_have_count(2)
        expect(files.nth(1)).to_contain_text("Phụ lục")
        for _ in range(24):   # the receiver checks the copy's seal as it arrives; the clerk reloads for the verdict
            if "Hợp lệ" in files.nth(0).inner_text():
                break
            receiver.wait_for_timeout(2_500)
            receiver.reload()
        expect(files.nth(0)).to_contain_text("Hợp lệ")
        receiver_shot = artifacts_dir / "guide-45-nhan-ban-sao.png"
        receiver.screenshot(path=str(receiver_shot), full_page=True)
        receiver.get_by_role("button", name="Tiếp nhận và vào sổ").click()
        expect(receiver.get_by_role("status")).to_contain_text("Đã tiếp nhận và vào sổ văn bản đến")

        page.goto(f"{base}/van-ban/{copy['id']}")
        _status_shown(page, "03 Đã tiếp nhận")
        # sent again to the same recipient: the page says so, nothing leaves
        pick(page.locator("#gui-ban-sao"), ELECTRONIC, SNV_NAME)
        page.locator("#gui-ban-sao").get_by_role("button", name="Gửi bản sao").click()
        expect(page.get_by_role("status")).to_contain_text("đã được gửi đến các nơi nhận này từ trước")
        # a recipient group of the agency, ticked on the same picker: only its member not sent to yet gets it; a
        # paper recipient typed beside it is recorded, not sent, and named in the copies register
        group = f"Các sở nhận bản sao {uuid.uuid4().hex[:4]}"
        made_group = admin.post("/api/v1/recipient-groups", json={"name": group, "members": [SNV, STC]},
                                headers={"x-csrf-token": csrf_token_of(admin)})
        assert made_group.status_code == 201, made_group.text
        page.goto(f"{base}/van-ban/{copy['id']}")
        page.locator("#gui-ban-sao").get_by_label(group).check()
        page.locator("#gui-ban-sao").get_by_label("Gửi bản giấy").fill(PAPER_NAME)
        page.locator("#gui-ban-sao").get_by_role("button", name="Gửi bản sao").click()
        expect(page.get_by_role("status")).to_contain_text("Đã gửi bản sao qua trục liên thông và ghi nơi nhận bản "
                                                          "giấy")
        expect(page.locator("tr", has_text="Sở Tài chính tỉnh Tuyên Quang")).to_contain_text("Điện tử")
        expect(page.locator("tr", has_text=PAPER_NAME)).to_contain_text("Bản giấy")
        page.goto(f"{base}/van-ban-sao")
        expect(page.get_by_role("row").filter(has_text=number)).to_contain_text(f"{PAPER_NAME} (bản giấy)")
        refused = clerk.post(f"/van-ban/{copy['id']}/gui-ban-sao", data={"csrf_token": csrf_token_of(clerk)})
        assert refused.status_code == 422 and "Thiếu trường bắt buộc “Nơi nhận”" in refused.text
        history = [h["action"] for h in clerk.get(f"/api/v1/copies/{copy['id']}").json()["history"]]
        assert history.count("copy_sent") == 2
        register_shot = print_copies_register(page, base, number, artifacts_dir)
        screenshots.publish([shot, receiver_shot, register_shot])
    finally:
        clerk.close()
        admin.close()
