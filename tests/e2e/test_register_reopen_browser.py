"""Sửa sổ and mở lại sổ in Chromium against the real deployment (UBND thành phố Đà Nẵng): the administrator opens an
incoming register of this year, the clerk receives an electronic document into it (số đến 01); the administrator
renames the register and closes it (the clerk's reception no longer offers it), reopens it with a reason, and the
clerk's next document takes the next number (02): no gap, no number given twice. The register list shows when and
why it was reopened. Screenshots in tests/artifacts/so-van-ban-*.png."""

from __future__ import annotations

import re
import secrets
from contextlib import closing

import pytest
from playwright.sync_api import Page, expect

from services.common import clock
from tests.deployment import demo_password
from tests.e2e.helpers import browser_home, wait_for
from tests.e2e.test_guide_screens import patient_expect  # noqa: F401 (the fixture: expect() waits as pages may take)
from tests.gateway.test_api import send_document, session_for, token_for

pytestmark = pytest.mark.browser
H17 = "000.00.00.H17"
ADMIN, CLERK, SENDER = "ngocvt.vpdn", "namtv.vpdn", "hoalt.vptq"
WAIT_MS = 120_000  # a bound on a loaded machine, not a timing check
# A register of its own (one type's book, chosen on reception): the agency's main register is left to the others.
SCOPES = {"GUQ": "Giấy ủy quyền", "BTT": "Bản thỏa thuận", "GNP": "Giấy nghỉ phép", "PB": "Phiếu báo"}


def free_scope(deployment, year: int) -> str:
    with closing(token_for(deployment, ADMIN)) as api:
        used = {r["scope"] for r in api.get("/api/v1/registers", params={"year": year, "direction": "incoming"}).json()}
    return next(code for code in SCOPES if code not in used)


def arrived(deployment, subjects: list[str]) -> list[str]:
    """Documents sent from UBND tỉnh Tuyên Quang, once they wait for Đà Nẵng's clerk: their ids."""
    with closing(session_for(deployment, SENDER)) as sender:
        for subject in subjects:
            send_document(sender, subject, H17)
    with closing(token_for(deployment, CLERK)) as api:
        def waiting() -> list[str] | None:
            items = api.get("/api/v1/incoming/waiting-reception", params={"size": 100}).json()["items"]
            found = {d["subject"]: d["id"] for d in items}
            return [found[s] for s in subjects] if all(s in found for s in subjects) else None

        return wait_for(waiting, 120, "the documents at Đà Nẵng")


def reception(page: Page, base: str, doc_id: str):
    page.goto(f"{base}/van-ban/{doc_id}")
    return page.locator("#tiep-nhan").get_by_label("Sổ văn bản đến")


def receive(page: Page, base: str, doc_id: str, register_id: str) -> int:
    reception(page, base, doc_id).select_option(register_id)
    page.get_by_role("button", name="Tiếp nhận và vào sổ").click()
    expect(page.get_by_role("status")).to_have_text("Đã tiếp nhận và vào sổ văn bản đến.")
    return int(re.search(r"Số đến\s*(\d+)", page.locator("dl.meta").inner_text()).group(1))


@pytest.mark.usefixtures("patient_expect")
def test_the_admin_renames_closes_and_reopens_a_register_and_numbering_continues(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    year = clock.today_vn().year
    scope = free_scope(deployment, year)
    stem = secrets.token_hex(3)
    name, new_name = f"Sổ đến {SCOPES[scope].lower()} {stem}", f"Sổ văn bản đến: {SCOPES[scope]} ({stem})"
    first_doc, second_doc = arrived(deployment, [f"Về việc ủy quyền {stem} thứ nhất", f"Về việc ủy quyền {stem} sau"])
    admin = browser_home(browser, base, ADMIN, demo_password(deployment, ADMIN), timeout_ms=WAIT_MS)
    clerk = browser_home(browser, base, CLERK, demo_password(deployment, CLERK), timeout_ms=WAIT_MS)

    # 1. The administrator opens the register; the clerk receives a document into it: 01.
    admin.goto(f"{base}/quan-tri/so-van-ban")
    admin.get_by_label("Loại sổ").select_option(label="Sổ văn bản đến")
    expect(admin.get_by_label("Năm", exact=True)).to_have_value(str(year))
    admin.get_by_label("Phạm vi").select_option(scope)
    admin.get_by_label("Tên sổ (để trống để đặt tự động)").fill(name)
    admin.get_by_role("button", name="Mở sổ").click()
    expect(admin.get_by_role("status")).to_have_text("Đã tạo sổ văn bản.")
    register_id = admin.locator("tr[data-register]").filter(has_text=name).get_attribute("data-register")
    first = receive(clerk, base, first_doc, register_id)
    assert first == 1

    # 2. "Sửa": only the name changes.
    admin.goto(f"{base}/quan-tri/so-van-ban")
    row = admin.locator(f'tr[data-register="{register_id}"]')
    row.get_by_role("link", name="Sửa").click()
    form = admin.locator("#sua-so")
    expect(form).to_contain_text(f"Sổ văn bản đến năm {year}")
    expect(form).to_contain_text("số tiếp theo 02")
    form.get_by_label("Tên sổ").fill(new_name)
    form.get_by_role("button", name="Lưu tên sổ").click()
    expect(admin.get_by_role("status")).to_have_text("Đã lưu tên sổ văn bản.")
    expect(row.locator("td").first).to_have_text(new_name)
    expect(row.locator("td").nth(4)).to_have_text("02")

    # 3. "Khóa sổ", confirmed: the clerk's reception no longer offers the register.
    admin.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Khóa sổ").click()
    expect(admin.get_by_role("status")).to_have_text("Đã khóa sổ văn bản; sổ không cấp thêm số.")
    expect(row).to_contain_text("Đã khóa sổ")
    expect(reception(clerk, base, second_doc).locator(f'option[value="{register_id}"]')).to_have_count(0)

    # 4. "Mở lại sổ" with a reason, confirmed: the list says when, who and why.
    row.get_by_label("Lý do mở lại").fill("Khóa nhầm khi sổ còn dùng trong năm")
    questions = []

    def accept(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    admin.once("dialog", accept)
    row.get_by_role("button", name="Mở lại sổ").click()
    expect(admin.get_by_role("status")).to_have_text(
        "Đã mở lại sổ văn bản; số tiếp theo nối tiếp số cuối cùng đã cấp.")
    assert questions == [f"Mở lại sổ “{new_name}”? Sổ cấp tiếp số 02, nối tiếp số cuối cùng đã cấp."]
    expect(row).to_contain_text("Đang mở")
    expect(row.locator("ul.lich-su-so li")).to_have_text(re.compile(
        r"^Đã mở lại ngày \d{2}/\d{2}/\d{4} \d{2}:\d{2} \(lý do: Khóa nhầm khi sổ còn dùng trong năm\), "
        r"người mở lại: Võ Thị Ngọc; sổ đã khóa ngày \d{2}/\d{2}/\d{4} \d{2}:\d{2}, người khóa: Võ Thị Ngọc\.$"))
    admin.screenshot(path=str(artifacts_dir / "so-van-ban-01-mo-lai-so.png"), full_page=True)

    # 5. The clerk's next document takes the next number: 02, after the 01 given before the closing.
    assert receive(clerk, base, second_doc, register_id) == first + 1
    clerk.screenshot(path=str(artifacts_dir / "so-van-ban-02-so-den-tiep-theo.png"), full_page=True)
    admin.goto(f"{base}/quan-tri/so-van-ban")
    expect(row.locator("td").nth(4)).to_have_text("03")
    admin.context.close()
    clerk.context.close()
