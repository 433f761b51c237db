"""The leader's day on his phone (390×844, Chromium through the demo deployment).

He signs a draft: from the home page's "Dự thảo chờ duyệt ký" to the draft, whose first page shows as an image; a
tap opens the draft page by page (phone browsers mostly download a PDF instead of showing it); back on the draft,
"Duyệt và ký". Every page fits the screen. He gives a task with a deadline already past (a slip of the year): the
form says so before it is sent and keeps what he typed.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import expect

from services.common import clock
from tests.deployment import demo_password
from tests.e2e.helpers import expect_in_home_panel, signed_in, wait_for
from tests.e2e.test_guide_screens import HEAD, LEADER, SPECIALIST
from tests.e2e.test_phone_layout import Phone
from tests.e2e.test_phone_story import WAIT_MS, fits, tap
from tests.gateway.test_drafting import H60, create_draft, post, prepare_agency_for_drafts

pytestmark = pytest.mark.browser


def image_shown(page, selector: str) -> None:
    image = page.locator(selector).first
    image.scroll_into_view_if_needed()
    wait_for(lambda: page.evaluate("img => img.complete && img.naturalWidth", image.element_handle()), 60,
             f"the image {selector}")


def test_the_leader_reads_the_draft_page_by_page_and_signs_it_on_his_phone(deployment, browser):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    title = "Về việc kiểm tra công tác văn thư, lưu trữ năm 2026 (lãnh đạo đọc trên điện thoại)"
    clients: list[httpx.Client] = []
    try:
        specialist, head = (signed_in(base, who, demo_password(deployment, who)) for who in (SPECIALIST, HEAD))
        clients += [specialist, head]
        draft_id = create_draft(specialist, title)
        assert post(specialist, draft_id, "trinh").status_code == 303
        assert post(head, draft_id, "duyet", comment="Kính trình lãnh đạo ký.").status_code == 303
    finally:
        for client in clients:
            client.close()

    phone = Phone(browser, deployment)
    page = phone.page
    expect.set_options(timeout=WAIT_MS)
    try:
        phone.sign_in(LEADER)
        expect_in_home_panel(page, "Dự thảo chờ duyệt ký", title)
        phone.go(f"/du-thao/{draft_id}")
        fits(page, "the draft to sign")
        image_shown(page, "#xem-truoc img")
        fits(page, "the draft with its first page")

        page.locator("#xem-truoc img").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Phiên bản 1")
        expect(page.get_by_role("heading", name="Trang 1/1")).to_be_visible()
        image_shown(page, ".pdf-page img")
        fits(page, "the draft read page by page")
        page.get_by_text("Chữ của trang 1").click()
        expect(page.locator("pre.page-text")).to_contain_text("kiểm tra công tác văn thư")

        page.get_by_role("link", name=title).click()
        tap(page, page.get_by_role("button", name="Duyệt và ký"), "Duyệt và ký")
        expect(page.get_by_role("status")).to_have_text(
            "Đã duyệt và ký số dự thảo; văn bản chuyển văn thư chờ ban hành.")
        fits(page, "the signed draft")
        # The signed PDF is what the preview shows now, page by page too.
        expect(page.locator("#xem-truoc")).to_contain_text("văn bản đã ký")
        image_shown(page, "#xem-truoc img")
    finally:
        expect.set_options(timeout=5_000)
        phone.close()


def test_a_task_s_deadline_already_past_is_refused_before_the_form_is_sent(deployment, browser):
    today = clock.today_vn()
    a_year_ago = (today - timedelta(days=365)).strftime("%d/%m/%Y")
    title = "Rà soát hồ sơ công việc năm nay (hạn gõ nhầm năm)"
    phone = Phone(browser, deployment)
    page = phone.page
    try:
        phone.sign_in(LEADER)
        phone.go("/cong-viec")
        page.get_by_label("Tên công việc").fill(title)
        due = page.get_by_label("Hạn hoàn thành")
        due.fill(a_year_ago)
        page.get_by_role("button", name="Tạo công việc").click()
        expect(due).to_have_js_property("validationMessage",
                                        f"Ngày này đã qua: chọn từ ngày {today.strftime('%d/%m/%Y')} trở đi.")
        assert page.url.endswith("/cong-viec") and page.get_by_label("Tên công việc").input_value() == title
        due.fill(today.strftime("%d/%m/%Y"))  # today is still a deadline one can keep
        expect(due).to_have_js_property("validationMessage", "")
    finally:
        phone.close()
