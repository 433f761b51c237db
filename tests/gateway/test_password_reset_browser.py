"""Quên mật khẩu in Chromium: from the sign-in page to the e-mail received by a real SMTP server (aiosmtpd), its link,
the new password, and signing in with it. The gateway runs in-process under uvicorn, its PUBLIC_URL its own address."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gateway.app import create_app
from gateway.password_reset import NEUTRAL_VI
from gateway.settings import GatewaySettings
from infra.procs import free_port
from tests.e2e.helpers import browser_home, wait_for
from tests.gateway.conftest import PASSWORD, serving
from tests.gateway.test_password_reset import NEW_PASSWORD

pytestmark = pytest.mark.browser
USERNAME = "trangdt.thtq"


def test_a_person_who_forgot_the_password_sets_a_new_one_from_the_mail(browser, smtp_server, tmp_path,
                                                                        artifacts_dir):
    inbox, smtp_port = smtp_server
    port = free_port()
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=None, public_url=f"http://127.0.0.1:{port}",
                                     smtp_host="127.0.0.1", smtp_port=smtp_port))
    app.state.gateway.accounts.create_user(username=USERNAME, full_name="Đỗ Thu Trang", agency_id="000.00.00.H60",
                                           roles=["specialist"], password=PASSWORD, unit="thtq",
                                           email="trang.dt@tuyenquang.gov.vn", must_change_password=False)
    with serving(app, port) as base:
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
        page.goto(f"{base}/dang-nhap")
        page.get_by_role("link", name="Quên mật khẩu?").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Quên mật khẩu")
        page.get_by_label("Tên đăng nhập").fill(USERNAME)
        page.get_by_role("button", name="Gửi hướng dẫn đặt lại mật khẩu").click()
        expect(page.get_by_role("status")).to_have_text(NEUTRAL_VI)

        # The e-mail goes out after the answer: waited for, bounded.
        [message] = wait_for(lambda: inbox.parsed(), 30, "the reset e-mail")
        assert message["To"] == "trang.dt@tuyenquang.gov.vn"
        link = next(line for line in message.get_content().splitlines() if line.startswith(f"{base}/dat-lai-mat-khau"))
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Đặt lại mật khẩu")
        expect(page.get_by_text(f"Đặt mật khẩu mới cho tài khoản {USERNAME}")).to_be_visible()
        page.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
        page.screenshot(path=str(artifacts_dir / "password-reset.png"), full_page=True)
        page.get_by_role("button", name="Đặt mật khẩu mới").click()

        expect(page.get_by_role("status")).to_have_text("Đã đặt mật khẩu mới. Hãy đăng nhập bằng mật khẩu mới.")
        page.get_by_label("Tên đăng nhập").fill(USERNAME)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")  # the old one

        page.goto(link)  # the link worked once
        expect(page.get_by_role("alert")).to_contain_text("đã được dùng")
        expect(page.get_by_role("link", name="Yêu cầu liên kết mới")).to_have_attribute("href", "/quen-mat-khau")
        page.context.close()

        home = browser_home(browser, base, USERNAME, NEW_PASSWORD)
        expect(home.get_by_role("heading", level=1)).to_have_text("Xin chào, Đỗ Thu Trang")
        home.context.close()
        assert wait_for(lambda: len(inbox.messages) == 2, 30, "the e-mail saying the password was changed")
        assert inbox.parsed()[1]["Subject"] == "Mật khẩu tài khoản Công Văn đã được đổi"
