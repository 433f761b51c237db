"""The story in a real browser (Playwright driving Debian's Chromium; no browser is downloaded).

The Tuyên Quang clerk sends a signed PDF to Đà Nẵng from the web page; the Đà Nẵng clerk sees it waiting for
reception, opens it and registers it; Tuyên Quang then sees status 03 (Đã tiếp nhận). Screenshots of the key screens
are saved in tests/artifacts/.
"""

from __future__ import annotations

import re
from functools import partial

import pytest
from playwright.sync_api import expect

from tests.deployment import demo_password
from tests.e2e.helpers import browser_home, pick, vietnamese_pdf

pytestmark = pytest.mark.browser


sign_in = partial(browser_home, height=860)  # the height this story's screenshots have always had


def test_send_receive_and_register_in_the_browser(deployment, browser, artifacts_dir, tmp_path):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    subject = "Về việc báo cáo tình hình ứng dụng chữ ký số năm 2026"
    pdf_path = tmp_path / "Báo cáo chữ ký số.pdf"
    pdf_path.write_bytes(vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject))

    sender = sign_in(browser, base, "hoalt.vptq", demo_password(deployment, "hoalt.vptq"))
    sender.screenshot(path=str(artifacts_dir / "01-trang-chu-van-thu.png"), full_page=True)
    sender.get_by_role("link", name="Gửi văn bản").click()
    sender.get_by_label("Ký hiệu").fill("UBND-KGVX")
    sender.get_by_label("Loại văn bản").select_option("BC")
    sender.get_by_label("Độ khẩn").select_option("1")
    sender.get_by_label("Trích yếu").fill(subject)
    sender.get_by_label("Người ký", exact=True).fill("Nguyễn Văn An")
    pick(sender, "Nơi nhận", "000.00.00.H17")
    sender.get_by_label("Tệp văn bản").set_input_files(str(pdf_path))
    sender.get_by_label("Vẫn gửi nếu chữ ký số không hợp lệ").check()  # a test PDF: unsigned (issue 18)
    sender.screenshot(path=str(artifacts_dir / "02-gui-van-ban.png"), full_page=True)
    sender.get_by_role("button", name="Gửi văn bản").click()
    expect(sender.get_by_role("status")).to_have_text("Đã gửi văn bản.")
    expect(sender.locator("h1")).to_contain_text("/UBND-KGVX")
    outgoing_url = sender.url

    receiver = sign_in(browser, base, "namtv.vpdn", demo_password(deployment, "namtv.vpdn"))
    receiver.get_by_role("link", name="Chờ tiếp nhận").click()
    row = receiver.get_by_role("row").filter(has_text=subject)
    for _ in range(120):  # delivery is asynchronous: reload until it arrives (bounded)
        if row.count():
            break
        receiver.wait_for_timeout(500)
        receiver.reload()
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile("urgent"))  # khẩn sorts first and is marked
    receiver.screenshot(path=str(artifacts_dir / "03-cho-tiep-nhan.png"), full_page=True)
    row.get_by_role("link").click()
    expect(receiver.get_by_text("Trục liên thông văn bản quốc gia")).to_be_visible()  # names, not hub codes
    receiver.screenshot(path=str(artifacts_dir / "04-van-ban-den.png"), full_page=True)
    receiver.get_by_role("button", name="Tiếp nhận và vào sổ").click()
    expect(receiver.get_by_role("status")).to_have_text("Đã tiếp nhận và vào sổ văn bản đến.")

    # The recipient's line, not the history (which lists every status as it came, 01 possibly after 03)
    accepted = sender.get_by_role("cell", name=re.compile("03 Đã tiếp nhận"))
    for _ in range(120):
        sender.goto(outgoing_url)
        if accepted.count():
            break
        sender.wait_for_timeout(500)
    expect(accepted).to_be_visible()
    sender.screenshot(path=str(artifacts_dir / "05-trang-thai-noi-nhan.png"), full_page=True)
