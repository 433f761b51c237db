"""A document issued to one of the agency's own units, in Chromium on the demo deployment: UBND tỉnh Tuyên Quang's
clerk issues a signed draft to Phòng Tổng hợp ("Gửi nội bộ" on the issue page); the head of that unit (not its
drafter, who is told of the issue by her draft's own notice) is told ("Nhắc việc"), finds it under "Văn bản gửi đơn vị"
on his home page and opens it; the clerk recalls it from its page (only internal recipients: recalled at once) and the
head is told why, the unit's list showing it recalled. Then a document issued to a Chi cục "together with its
subordinate units" ("Gửi cả các đơn vị trực thuộc"): a person of a tổ two levels below it is told and finds it in her
unit's list, and the document's page lists the three units.
Screenshots in tests/artifacts/ (the issue form with the subunits' box and the recipients' table also in
docs/screenshots/ with `./congvan screenshots`)."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests import screenshots
from tests.e2e.helpers import browser_home, demo_home, pick, wait_for
from tests.gateway.test_outgoing_paper_returns_api import CLERK, HEAD, waiting_for_issue
from tests.gateway.test_unit_documents_api import subunit_tree

pytestmark = pytest.mark.browser
UNIT_NAME = "Phòng Tổng hợp"
PATIENCE = 120


def listed(page, text: str) -> bool:
    """The page, loaded again, links `text` (a notification on "Nhắc việc")."""
    page.reload()
    return page.get_by_role("link", name=text).count() > 0


def told_and_listed(member, base: str, number: str, title: str, unit_name: str):
    """The member is told of the document issued to `unit_name` (her unit) and finds it, issued, in the unit's list
    from her home page: its row."""
    member.get_by_role("link", name="Nhắc việc").click()
    told = f"Văn bản ban hành gửi đơn vị: số {number} — {title}"
    wait_for(lambda: listed(member, told), PATIENCE, f"the member of {unit_name} told of the document")
    member.goto(f"{base}/")
    member.get_by_role("link", name="Văn bản gửi đơn vị").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Văn bản ban hành gửi đơn vị")
    expect(member.get_by_role("main")).to_contain_text(f"Đơn vị: {unit_name}")
    row = member.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text("Đã ban hành")
    return row


def test_a_member_of_the_unit_finds_the_issued_document_opens_it_and_is_told_of_its_recall(deployment, browser,
                                                                                          artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    title = f"V/v chuẩn bị hội nghị giao ban quý của Phòng Tổng hợp ({secrets.token_hex(3)})"
    member = demo_home(browser, base, deployment, HEAD)   # routing knows him from his first page
    clerk_api, waiting = waiting_for_issue(deployment, title)
    shots = []

    clerk = demo_home(browser, base, deployment, CLERK)
    clerk.goto(f"{base}/van-ban-di/{waiting['id']}/ban-hanh")
    expect(clerk.get_by_role("heading", name="Cấp số và ban hành văn bản")).to_be_visible()
    pick(clerk, "Gửi nội bộ", UNIT_NAME)
    clerk.get_by_role("button", name="Cấp số, đóng dấu và ban hành").click()
    table = clerk.locator("section", has=clerk.get_by_role("heading", name="Trạng thái tại nơi nhận"))
    expect(table.get_by_role("row", name=re.compile(f"{UNIT_NAME}.*Nội bộ"))).to_be_visible(timeout=120_000)
    doc = clerk_api.get(f"/api/v1/outgoing/{waiting['id']}").json()
    number = doc["number_and_notation"]

    # the member: told, then the unit's list from his home page, then the document
    row = told_and_listed(member, base, number, title, UNIT_NAME)
    shots.append(artifacts_dir / "guide-47-van-ban-gui-don-vi.png")
    member.screenshot(path=str(shots[-1]), full_page=True)
    row.get_by_role("link", name=number).click()
    expect(member.get_by_role("heading", level=1)).to_contain_text(number)
    expect(member.get_by_role("main")).to_contain_text(title)

    # the clerk recalls it: nobody to ask (only internal recipients), so at once
    clerk.goto(f"{base}/van-ban/{waiting['id']}")
    form = clerk.locator("#thu-hoi")
    form.get_by_label("Thu hồi", exact=True).check()
    form.get_by_label("Lý do", exact=True).fill("Ban hành nhầm đơn vị")
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(clerk.get_by_role("status")).to_contain_text("người của các đơn vị nhận văn bản được báo")
    expect(clerk.locator("h1 .badge").last).to_have_text("Đã thu hồi")

    recalled = f"Văn bản số {number} đã bị thu hồi: Ban hành nhầm đơn vị"
    member.goto(f"{base}/nhac-viec")
    wait_for(lambda: listed(member, recalled), PATIENCE, "the member told of the recall")
    shots.append(artifacts_dir / "guide-48-nhac-viec-thu-hoi.png")
    member.screenshot(path=str(shots[-1]), full_page=True)
    member.get_by_role("link", name=recalled).first.click()
    expect(member.locator("h1 .badge").last).to_have_text("Đã thu hồi")
    member.goto(f"{base}/van-ban-don-vi")
    row = member.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text("Đã thu hồi")
    expect(row).to_contain_text("Ban hành nhầm đơn vị")
    clerk_api.close()
    screenshots.publish(shots)


def test_a_person_of_a_subunit_is_told_of_the_document_issued_to_the_unit_above_and_finds_it(deployment, browser,
                                                                                            artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    tree = subunit_tree(deployment)
    tree.person.close()
    title = f"V/v rà soát hồ sơ lưu trữ của Chi cục và các đơn vị trực thuộc ({secrets.token_hex(3)})"
    member = browser_home(browser, base, tree.username, tree.password)   # a person of the tổ, two levels below
    clerk_api, waiting = waiting_for_issue(deployment, title)
    shots = []

    clerk = demo_home(browser, base, deployment, CLERK)
    clerk.goto(f"{base}/van-ban-di/{waiting['id']}/ban-hanh")
    expect(clerk.get_by_role("heading", name="Cấp số và ban hành văn bản")).to_be_visible()
    pick(clerk, "Gửi nội bộ", tree.top_name)   # the Chi cục comes first: its units follow it in the list
    clerk.get_by_label("Gửi cả các đơn vị trực thuộc của đơn vị được chọn (mọi cấp)").check()
    shots.append(artifacts_dir / "guide-49-ban-hanh-don-vi-truc-thuoc.png")
    clerk.screenshot(path=str(shots[-1]), full_page=True)
    clerk.get_by_role("button", name="Cấp số, đóng dấu và ban hành").click()
    table = clerk.locator("section", has=clerk.get_by_role("heading", name="Trạng thái tại nơi nhận"))
    expect(table.get_by_role("row", name=re.compile(f"{re.escape(tree.top_name)}.*Nội bộ")).first).to_be_visible(
        timeout=120_000)
    expect(table.locator("tbody tr td:first-child")).to_have_text([name for name, _ in tree.recipients])
    shots.append(artifacts_dir / "guide-50-noi-nhan-don-vi-truc-thuoc.png")
    clerk.screenshot(path=str(shots[-1]), full_page=True)
    number = clerk_api.get(f"/api/v1/outgoing/{waiting['id']}").json()["number_and_notation"]

    row = told_and_listed(member, base, number, title, "Tổ Lưu trữ")   # her own unit, two levels below
    member.screenshot(path=str(artifacts_dir / "van-ban-gui-don-vi-truc-thuoc.png"), full_page=True)
    row.get_by_role("link", name=number).click()
    expect(member.get_by_role("heading", level=1)).to_contain_text(number)
    clerk_api.close()
    for page in (member, clerk):
        page.context.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`
