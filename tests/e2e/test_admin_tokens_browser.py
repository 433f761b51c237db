"""The administrator revokes a person's API token in Chromium against the real deployment (a portal integration
retired, a phone lost): on the person's page under "Quản trị", the section "Mã truy cập API" lists the token; "Thu
hồi" asks for confirmation, the page says what happened and the admin history records it; the token then gets 401
on /api/v1. Screenshot in tests/artifacts/."""

from __future__ import annotations

from contextlib import closing
from functools import partial

import pytest
from playwright.sync_api import expect

from tests.deployment import demo_password
from tests.e2e.helpers import browser_home
from tests.gateway.test_api import base_url
from tests.gateway.test_api_account import H60_ADMIN, newcomer
from tests.gateway.test_api_admin import own_token

pytestmark = pytest.mark.browser
expect.set_options(timeout=60_000)  # a bound on a loaded machine, not a timing check
browser_page = partial(browser_home, timeout_ms=120_000)  # a bound on a loaded machine, not a timing check


def test_the_administrator_revokes_a_persons_token_and_it_is_refused(deployment, browser, artifacts_dir):
    username, temporary = newcomer(deployment)
    with closing(own_token(deployment, username, temporary)) as portal:
        me = portal.get("/api/v1/me")
        assert me.status_code == 200, me.text
        person = me.json()
        token_id = portal.get("/api/v1/tokens").json()[0]["id"]

        page = browser_page(browser, base_url(deployment), H60_ADMIN, demo_password(deployment, H60_ADMIN))
        page.goto(f"{base_url(deployment)}/quan-tri/nguoi-dung")
        page.get_by_role("link", name=username, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(person["full_name"])
        section = page.locator("section#ma-truy-cap")
        expect(section.get_by_role("heading", name="Mã truy cập API")).to_be_visible()
        row = section.locator(f'tr[data-token="{token_id}"]')
        expect(row).to_contain_text("kiểm thử")
        expect(row).to_contain_text("Đang dùng")
        asked: list[str] = []

        def confirm(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept()

        page.once("dialog", confirm)
        row.get_by_role("button", name="Thu hồi").click()
        expect(page.get_by_role("status")).to_contain_text("Đã thu hồi mã truy cập API")
        assert asked == [f"Thu hồi mã truy cập “kiểm thử” của {person['full_name']}? Hệ thống đang dùng mã này sẽ "
                         "không truy cập được nữa."]
        row = page.locator(f'section#ma-truy-cap tr[data-token="{token_id}"]')
        expect(row).to_contain_text("Đã thu hồi")
        expect(row.get_by_role("button", name="Thu hồi")).to_have_count(0)
        expect(page.locator("li").filter(has_text="Thu hồi mã truy cập API “kiểm thử”")).to_have_count(1)
        page.screenshot(path=str(artifacts_dir / "quan-tri-thu-hoi-ma-truy-cap.png"), full_page=True)
        page.context.close()

        refused = portal.get("/api/v1/me")
        assert refused.status_code == 401
        assert refused.json()["title"] == "Mã truy cập không hợp lệ hoặc đã bị thu hồi."
