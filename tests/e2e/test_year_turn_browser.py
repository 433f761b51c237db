"""A reception form opened before midnight in Hà Nội and sent after it, in Chromium against the real deployment (UBND
thành phố Đà Nẵng): the page offered last year's register, the registry numbers from its successor of the new year
and the page says so. Screenshot in tests/artifacts/sang-nam-moi.png.

The served processes run on the real clock, which a test cannot move: the form is the one Đà Nẵng's clerk has in
front of her today, with last year's register put in its list, as a page rendered on 31 December offered it (an
own-scope register of last year, created over the API, so the agency's main registers are left to the others)."""

from __future__ import annotations

import secrets
from contextlib import closing

import pytest
from playwright.sync_api import expect

from services.common import clock
from tests.deployment import demo_password
from tests.e2e.helpers import browser_home
from tests.e2e.test_guide_screens import patient_expect  # noqa: F401 (the fixture: expect() waits as pages may take)
from tests.e2e.test_register_reopen_browser import ADMIN, CLERK, arrived, reception
from tests.gateway.test_api import token_for

pytestmark = pytest.mark.browser
WAIT_MS = 120_000  # a bound on a loaded machine, not a timing check
# a register of its own, free in both years (the reopening test takes the first free of its own list)
SCOPES = {"PB": "Phiếu báo", "GNP": "Giấy nghỉ phép", "BTT": "Bản thỏa thuận", "GUQ": "Giấy ủy quyền"}


@pytest.mark.usefixtures("patient_expect")
def test_a_reception_form_of_last_year_sent_in_the_new_year_is_numbered_from_this_years_register(
        deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    year = clock.today_vn().year
    with closing(token_for(deployment, ADMIN)) as api:
        used = {(r["scope"], r["year"]) for y in (year - 1, year) for r in api.get(
            "/api/v1/registers", params={"year": y, "direction": "incoming"}).json()}
        scope = next(code for code in SCOPES if (code, year - 1) not in used and (code, year) not in used)
        created = api.post("/api/v1/registers", json={"direction": "incoming", "year": year - 1, "scope": scope})
        assert created.status_code == 201, created.text
        old = created.json()
    [doc_id] = arrived(deployment, [f"Về việc trực Tết {secrets.token_hex(3)}"])
    clerk = browser_home(browser, base, CLERK, demo_password(deployment, CLERK), timeout_ms=WAIT_MS)

    choice = reception(clerk, base, doc_id)
    expect(choice.locator(f'option[value="{old["id"]}"]')).to_have_count(0)   # today's page offers this year's
    choice.evaluate("(select, register) => select.add(new Option(register.name, register.id))", old)
    choice.select_option(old["id"])   # as the page opened at 23:58 on 31 December offered it
    clerk.get_by_role("button", name="Tiếp nhận và vào sổ").click()
    expect(clerk.get_by_role("status")).to_have_text(
        f"Đã tiếp nhận và vào sổ văn bản đến. Đã sang năm {year}: văn bản được vào Sổ văn bản đến "
        f"({SCOPES[scope]}) năm {year}, số 01.")
    clerk.screenshot(path=str(artifacts_dir / "sang-nam-moi.png"), full_page=True)
    clerk.context.close()

    with closing(token_for(deployment, CLERK)) as api:
        registered = api.get(f"/api/v1/incoming/{doc_id}").json()
        [new] = [r for r in api.get("/api/v1/registers", params={"year": year, "direction": "incoming"}).json()
                 if r["scope"] == scope]
        [last] = [r for r in api.get("/api/v1/registers", params={"year": year - 1, "direction": "incoming"}).json()
                  if r["id"] == old["id"]]
    assert (registered["register_id"], registered["number"], registered["year_turn"]["from_register_id"]) == (
        new["id"], 1, old["id"])
    assert (new["next_number"], last["next_number"]) == (2, 1)   # nothing numbered from last year's register
