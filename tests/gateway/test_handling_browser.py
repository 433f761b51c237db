"""The leader's directive form in a real browser (Playwright driving Debian's Chromium; nothing is downloaded): the
document submitted by the clerk waits on the leader's home page; the leader writes the bút phê, picks the unit and
a deadline, and the handling page shows the assignment and the timeline. Screenshots (laptop and phone) are saved
to the test artifacts."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.deployment import demo_password
from tests.e2e.helpers import wait_for
from tests.gateway.test_handling_flow import CLERK, LEADER, login, option_value, post, send_and_register

pytestmark = pytest.mark.browser


def test_leader_writes_a_directive_in_the_browser(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    subject = f"Về việc tổ chức tập huấn chuyển đổi số ({secrets.token_hex(3)})"
    login(deployment, base, LEADER)
    _sender, _url, incoming = send_and_register(deployment, base, subject)
    clerk = login(deployment, base, CLERK)
    wait_for(lambda: subject in clerk.get("/xu-ly?hop=cho-trinh").text, 180, "the document in 'chờ trình'")
    page_html = clerk.get(f"/xu-ly/{incoming}").text
    submitted = post(clerk, f"/xu-ly/{incoming}/trinh", page_html,
                     to_user_id=option_value(page_html, "to_user_id", "Lê Quang Vinh"))
    assert submitted.status_code == 303

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    page.goto(f"{base}/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(LEADER)
    page.get_by_label("Mật khẩu").fill(demo_password(deployment, LEADER))
    page.get_by_role("button", name="Đăng nhập").click()
    waiting = page.locator("section", has=page.get_by_role("heading", name="Chờ cho ý kiến, chỉ đạo"))
    expect(waiting.get_by_role("row").filter(has_text=subject)).to_have_class(re.compile("urgent"))
    page.screenshot(path=str(artifacts_dir / "10-trang-chu-lanh-dao.png"), full_page=True)

    waiting.get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", name="Bút phê và phân công")).to_be_visible()
    page.get_by_label("Ý kiến chỉ đạo (bút phê)").fill("Giao phòng Tổng hợp chủ trì, tham mưu kế hoạch.")
    page.get_by_label("Xử lý chính").select_option(label="Phòng Tổng hợp")
    deadline = date.today() + timedelta(days=7)
    page.get_by_label("Hạn xử lý").fill(deadline.isoformat())
    page.screenshot(path=str(artifacts_dir / "11-but-phe-phan-cong.png"), full_page=True)
    page.get_by_role("button", name="Phân công").click()

    expect(page.get_by_role("status")).to_have_text("Đã bút phê và phân công xử lý.")
    expect(page.locator("h1")).to_contain_text("Đã phân công")
    expect(page.locator(".directive")).to_contain_text("Giao phòng Tổng hợp chủ trì")
    expect(page.locator("ol.timeline")).to_contain_text("Bút phê, phân công xử lý")
    expect(page.get_by_role("cell", name="Phòng Tổng hợp", exact=True)).to_be_visible()
    expect(page.locator("dl.meta")).to_contain_text(deadline.strftime("%d/%m/%Y"))
    page.screenshot(path=str(artifacts_dir / "12-xu-ly-van-ban-den.png"), full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                storage_state=page.context.storage_state()).new_page()
    phone.goto(page.url)
    expect(phone.locator("ol.timeline")).to_contain_text("Trình lãnh đạo")
    phone.screenshot(path=str(artifacts_dir / "13-xu-ly-dien-thoai.png"), full_page=True)
    phone.context.close()
    page.context.close()
