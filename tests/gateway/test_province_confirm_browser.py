"""The province operator is asked before what stops people at once (Chromium, the gateway in-process under uvicorn):
stopping an agency (every person of it signed out, packages to it refused by the hubs) and locking an account. Said
"no", nothing changes; said "yes", it is done. Also the hub operator's role, granted and removed on the agency's page.
The services are away here, as in tests/gateway/test_platform.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gateway.app import create_app
from gateway.settings import GatewaySettings
from infra.procs import free_port
from tests.browser import launched
from tests.gateway.conftest import PASSWORD, serving

H60, SNV = "000.00.00.H60", "000.00.09.H60"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, object]]:
    data = tmp_path_factory.mktemp("gw")
    agencies = data / "agencies.json"
    agencies.write_text(json.dumps({H60: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": "amqp://u:p@127.0.0.1:9/x"},
                                    SNV: {"name": "Sở Nội vụ tỉnh Tuyên Quang", "amqp_uri": "amqp://u:p@127.0.0.1:9/x",
                                          "installation": H60}}))
    app = create_app(GatewaySettings(data_dir=data, agencies_file=agencies, rpc_timeout=2))
    accounts = app.state.gateway.accounts
    accounts.create_user(username="thaolt.stttt", full_name="Lương Thị Thảo", agency_id=H60,
                         roles=["province_operator"], password=PASSWORD, unit="STTTT", must_change_password=False)
    accounts.create_user(username="lanvt.snv", full_name="Vũ Thị Lan", agency_id=SNV, roles=["clerk"],
                         password=PASSWORD, unit="SNV", must_change_password=False)
    with serving(app, free_port()) as base:
        yield base, app.state.gateway


@pytest.fixture(scope="module")
def operator_page(served):
    base, _g = served
    with launched() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
        page.goto(f"{base}/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill("thaolt.stttt")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("heading", level=1).filter(has_text="Xin chào").wait_for()
        yield page


def _asked(page, button: str, accept: bool) -> str:
    """Clicks `button`, answers the question it asks, and returns the question ("" if none was asked)."""
    asked: list[str] = []

    def reply(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", reply)
    page.get_by_role("button", name=button).click()
    return asked[0] if asked else ""


def test_stopping_an_agency_is_asked_first(served, operator_page):
    base, g = served
    page = operator_page
    page.goto(f"{base}/van-hanh/co-quan/{SNV}")
    question = _asked(page, "Ngừng sử dụng", accept=False)
    assert "Sở Nội vụ tỉnh Tuyên Quang" in question and "đăng xuất ngay" in question
    page.reload()
    assert page.locator("#trang-thai").inner_text() == "Đang sử dụng" and not g.platform.get(SNV).disabled
    _asked(page, "Ngừng sử dụng", accept=True)
    page.get_by_text("Đã ngừng cơ quan").wait_for()
    assert g.platform.get(SNV).disabled
    assert _asked(page, "Cho hoạt động lại", accept=False) == ""   # reversible: no question
    page.get_by_text("Cơ quan đã hoạt động lại").wait_for()


def test_locking_an_account_is_asked_first(served, operator_page):
    base, g = served
    page = operator_page
    page.goto(f"{base}/van-hanh/tai-khoan?q=lanvt")
    question = _asked(page, "Khóa tài khoản", accept=False)
    assert "lanvt.snv (Vũ Thị Lan)" in question and "dừng ngay" in question
    page.reload()
    assert not g.accounts.by_username("lanvt.snv").disabled
    _asked(page, "Khóa tài khoản", accept=True)
    page.get_by_text("Đã khóa tài khoản").wait_for()
    assert g.accounts.by_username("lanvt.snv").disabled


def test_the_operator_grants_and_removes_the_hub_operator_role_on_the_agency_page(served, operator_page):
    """Only the province operator gives "Vận hành trục liên thông" (the whole hub's figures): chosen among the agency's
    people on its page; removing it is asked first."""
    base, g = served
    page = operator_page
    lan = g.accounts.create_user(username="hungnv.snv", full_name="Nguyễn Văn Hùng", agency_id=SNV, roles=["clerk"],
                                 password=PASSWORD, unit="SNV", must_change_password=False)
    page.goto(f"{base}/van-hanh/co-quan/{SNV}")
    section = page.locator("#van-hanh-truc")
    section.get_by_label("Người dùng của cơ quan").select_option(lan.id)
    section.get_by_role("button", name="Giao vai trò vận hành trục").click()
    page.get_by_text("Đã giao vai trò Vận hành trục liên thông").wait_for()
    assert "hub_operator" in g.accounts.get(lan.id).roles
    assert "hungnv.snv" in page.locator("#van-hanh-truc table").inner_text()
    question = _asked(page, "Thu hồi vai trò", accept=False)
    assert "Nguyễn Văn Hùng" in question and "hub_operator" in g.accounts.get(lan.id).roles
    _asked(page, "Thu hồi vai trò", accept=True)
    page.get_by_text("Đã thu hồi vai trò Vận hành trục liên thông").wait_for()
    assert g.accounts.get(lan.id).roles == ["clerk"]
