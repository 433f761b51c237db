"""Issue 19 items 5 and 6 in a real browser (Debian's Chromium) on the shared deployment:

- the administrator reads the agency's rules with their legal sources on the configuration screen and changes one
  (restored afterwards: the deployment is shared);
- the office (clerk) prepares the week's work schedule of the leadership, publishes it, a specialist reads it and
  it prints on one A4 page (Bình Định Đ3.1)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import signed_in
from tests.e2e.test_browser import sign_in
from tests.gateway.test_api import base_url, csrf_token_of

pytestmark = pytest.mark.browser
ADMIN, CLERK, SPECIALIST = "taidv.vpcp", "thunt.vpcp", "yenmt.tkbt"
WEEK_DAY = "2031-03-04"  # a Tuesday of a week no other test uses


def test_the_admin_reads_and_changes_the_agencys_rules(deployment, browser, artifacts_dir):
    base = base_url(deployment)
    admin = sign_in(browser, base, ADMIN, demo_password(deployment, ADMIN))
    try:
        admin.goto(f"{base}/quan-tri/cau-hinh")
        rules = admin.locator("#quy-dinh")
        expect(rules.get_by_role("heading", name="Quy định áp dụng của cơ quan")).to_be_visible()
        validity = rules.locator('fieldset[data-rule="legal_validity"]')
        expect(validity).to_contain_text("Căn cứ: Quy chế ban hành kèm QĐ năm 2015 của UBND tỉnh Hưng Yên, Điều 8.3")
        expect(rules.locator('fieldset[data-rule="leaver_accounts"]')).to_contain_text("Đà Nẵng Điều 13.5d")
        validity.get_by_label(re.compile("Ít nhất một trong hai")).check()
        rules.get_by_role("button", name="Lưu quy định").click()
        expect(admin.get_by_role("status")).to_contain_text("Đã lưu quy định áp dụng của cơ quan")
        expect(admin.locator('fieldset[data-rule="legal_validity"] p.source')).to_contain_text("Hưng Yên, Điều 8.3")
        admin.screenshot(path=str(artifacts_dir / "quy-dinh-co-quan.png"), full_page=True)
        screenshots.publish([artifacts_dir / "quy-dinh-co-quan.png"])  # only with `./congvan screenshots`
    finally:
        api = signed_in(base, ADMIN, demo_password(deployment, ADMIN))
        api.put("/api/v1/agency-rules", headers={"x-csrf-token": csrf_token_of(api)},
                json={"values": {"legal_validity": "seal_and_leader"}})
        api.close()
        admin.context.close()


def test_the_office_publishes_the_work_schedule_staff_read_and_print_it(deployment, browser, artifacts_dir):
    base = base_url(deployment)
    clerk = sign_in(browser, base, CLERK, demo_password(deployment, CLERK))
    clerk.get_by_role("link", name="Lịch công tác").click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Lịch công tác của lãnh đạo")
    clerk.goto(f"{base}/lich-cong-tac?tuan={WEEK_DAY}")
    form = clerk.locator("#them-lich")
    form.get_by_label("Ngày").fill(WEEK_DAY)
    form.get_by_label("Từ").fill("08:00")
    form.get_by_label("Đến").fill("11:00")
    form.get_by_label("Nội dung").fill("Họp giao ban lãnh đạo Văn phòng Chính phủ")
    form.get_by_label("Địa điểm").fill("Phòng họp tầng 2")
    form.get_by_label(re.compile("Trần Đức Long")).check()
    form.get_by_label("Thành phần tham dự").fill("Lãnh đạo các vụ, đơn vị")
    form.get_by_label("Đơn vị chuẩn bị").fill("Vụ Tổng hợp")
    form.get_by_role("button", name="Lưu mục lịch").click()
    expect(clerk.get_by_role("status")).to_contain_text("Đã lưu mục lịch công tác")
    expect(clerk.locator("#lich-cong-tac")).to_contain_text("Họp giao ban lãnh đạo Văn phòng Chính phủ")
    expect(clerk.locator("#ban-nhap")).to_be_visible()

    specialist = sign_in(browser, base, SPECIALIST, demo_password(deployment, SPECIALIST))
    specialist.goto(f"{base}/lich-cong-tac?tuan={WEEK_DAY}")
    expect(specialist.locator("#chua-cong-bo")).to_be_visible()  # not yet published: staff see nothing
    expect(specialist.locator("#lich-cong-tac")).to_have_count(0)

    clerk.locator("#cong-bo").get_by_role("button", name="Công bố lịch tuần").click()
    expect(clerk.get_by_role("status")).to_contain_text("Đã công bố lịch công tác tuần")

    specialist.reload()
    table = specialist.locator("#lich-cong-tac")
    expect(table).to_contain_text("Thứ Ba, 04/03/2031")
    expect(table).to_contain_text("08:00 – 11:00")
    expect(table).to_contain_text("Trần Đức Long")
    expect(table).to_contain_text("Phòng họp tầng 2")
    expect(specialist.locator("#them-lich")).to_have_count(0)  # staff read, the office edits
    specialist.screenshot(path=str(artifacts_dir / "lich-cong-tac.png"), full_page=True)
    screenshots.publish([artifacts_dir / "lich-cong-tac.png"])  # only with `./congvan screenshots`
    specialist.emulate_media(media="print")
    expect(specialist.locator("nav.menu")).to_be_hidden()
    pdf = specialist.pdf(format="A4", print_background=False)
    (artifacts_dir / "lich-cong-tac.pdf").write_bytes(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes)  # A4 portrait
    assert len(boxes) == 1  # the week fits on one page
    specialist.context.close()
    clerk.context.close()

    # The same week through the REST API: read by staff, written by the office only.
    api = signed_in(base, SPECIALIST, demo_password(deployment, SPECIALIST))
    week = api.get("/api/v1/schedule", params={"week": WEEK_DAY}).json()
    assert week["published"] and week["week_start"] == "2031-03-03"
    [entry] = [e for d in week["days"] for e in d["entries"] if e["title"].startswith("Họp giao ban lãnh đạo")]
    assert entry["time"] == "08:00 – 11:00" and entry["leaders"][0]["name"] == "Trần Đức Long"
    refused = api.post("/api/v1/schedule/entries", headers={"x-csrf-token": csrf_token_of(api)},
                       json={"starts_at": "2031-03-05T09:00", "title": "Không được thêm"})
    assert refused.status_code == 403
    api.close()
