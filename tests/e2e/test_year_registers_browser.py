"""Mở sổ năm mới in Chromium against the real deployment: Sở Tài chính thành phố Đà Nẵng's administrator (an agency
whose registers no other test counts) opens next year's registers from the page "Sổ văn bản" and finds them listed,
each from 01; pressed again, nothing is opened twice. Screenshot in tests/artifacts/so-nam-moi.png."""

from __future__ import annotations

from contextlib import closing

import pytest
from playwright.sync_api import expect

from services.common import clock
from tests.deployment import demo_password
from tests.e2e.helpers import browser_home
from tests.e2e.test_guide_screens import patient_expect  # noqa: F401 (the fixture: expect() waits as pages may take)
from tests.gateway.test_api import token_for

pytestmark = pytest.mark.browser
ADMIN = "toanmv.stcdn"
WAIT_MS = 120_000  # a bound on a loaded machine, not a timing check


@pytest.mark.usefixtures("patient_expect")
def test_the_admin_opens_next_years_registers_and_sees_them_listed(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    year = clock.today_vn().year
    with closing(token_for(deployment, ADMIN)) as api:
        this_year = {(r["direction"], r["scope"]) for r in api.get("/api/v1/registers", params={"year": year}).json()}
    assert this_year, "the demo agency keeps registers this year"
    admin = browser_home(browser, base, ADMIN, demo_password(deployment, ADMIN), timeout_ms=WAIT_MS)
    admin.goto(f"{base}/quan-tri/so-van-ban")
    button = admin.get_by_role("button", name=f"Mở các sổ năm {year + 1} theo các sổ năm {year}")
    for _twice in range(2):
        button.click()
        expect(admin.get_by_role("status")).to_have_text(
            "Đã mở các sổ năm sau theo các sổ năm nay; sổ đã có được giữ nguyên.")
    rows = admin.locator("tr[data-register]").filter(has=admin.locator("td:nth-child(3)", has_text=str(year + 1)))
    expect(rows).to_have_count(len(this_year))
    expect(rows.filter(has_text=f"Sổ văn bản đến năm {year + 1}")).to_have_count(1)
    for row in rows.all():
        expect(row.locator("td").nth(4)).to_have_text("01")
        expect(row).to_contain_text("Đang mở")
    admin.screenshot(path=str(artifacts_dir / "so-nam-moi.png"), full_page=True)
    admin.context.close()
