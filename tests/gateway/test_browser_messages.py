"""Browser validation messages in Vietnamese in an English Chromium (issue 21 item 6), and the pages working under
their Content-Security-Policy: the gateway in-process under uvicorn on a free port, Debian's Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gateway.app import create_app
from gateway.settings import GatewaySettings
from infra.procs import free_port
from tests.browser import CHROMIUM, FLAGS
from tests.gateway.conftest import PASSWORD, serving

AGENCY = "000.00.00.H60"
ENGLISH_FLAGS = [f for f in FLAGS if not f.startswith("--lang=")] + ["--lang=en-US"]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("gw")
    # One hub that does not answer: the hub operators' report page still draws its period form (date fields).
    hubs = data / "hubs.json"
    hubs.write_text(json.dumps({"H60": {"name": "Trục Hà Nội", "parent": None, "url": f"http://127.0.0.1:{free_port()}",
                                        "token": "x", "agencies": [AGENCY]}}))
    app = create_app(GatewaySettings(data_dir=data, agencies_file=None, hub_reports_file=hubs, hub_report_timeout=2))
    app.state.gateway.accounts.create_user(username="manhhd.vptq", full_name="Hoàng Đức Mạnh", agency_id=AGENCY,
                                           roles=["admin", "hub_operator"], password=PASSWORD, unit="vptq",
                                           must_change_password=False)
    with serving(app, free_port()) as base:
        yield base


@pytest.fixture(scope="module")
def english_browser():
    """Chromium with an English interface: its own validation messages would be English."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ENGLISH_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def refused(errors: list[str]):
    """Collects what the Content-Security-Policy blocked (Chromium reports it on the console)."""
    return lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None


def _message(page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => e.validationMessage")


def _submit(page, form: str) -> None:
    page.eval_on_selector(form, "f => f.requestSubmit()")  # fires `invalid` on each bad field, as a click does


def test_required_fields_say_so_in_vietnamese(served, english_browser):
    page = english_browser.new_context(locale="en-US").new_page()
    errors: list[str] = []
    page.on("console", refused(errors))
    page.goto(f"{served}/dang-nhap")
    _submit(page, "form")
    assert _message(page, "input[name=username]") == "Hãy điền vào trường này."
    assert page.url.endswith("/dang-nhap")  # nothing was sent
    page.fill("input[name=username]", "manhhd.vptq")
    assert _message(page, "input[name=username]") == ""  # typing clears the message
    assert not errors, errors
    page.context.close()


def test_email_pattern_and_length_messages_in_vietnamese(served, english_browser):
    page = english_browser.new_context(locale="en-US").new_page()
    errors: list[str] = []
    page.on("console", refused(errors))
    page.goto(f"{served}/dang-nhap")
    page.fill("input[name=username]", "manhhd.vptq")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/")
    page.goto(f"{served}/quan-tri/nguoi-dung")
    form = "form[action='/quan-tri/nguoi-dung']"
    page.fill(f"{form} input[name=full_name]", "Lê Văn Hùng")
    page.fill(f"{form} input[name=unit]", "vptq")
    page.fill(f"{form} input[name=email]", "khong-phai-thu")
    page.fill(f"{form} input[name=username]", "Sai Ten")
    _submit(page, form)
    assert _message(page, f"{form} input[name=email]").startswith("Hãy nhập địa chỉ thư điện tử hợp lệ")
    assert _message(page, f"{form} input[name=username]").startswith("Tên đăng nhập gồm chữ thường không dấu")
    page.goto(f"{served}/doi-mat-khau")
    page.fill("input[name=old_password]", PASSWORD)
    page.fill("input[name=new_password]", "ngan")
    _submit(page, "form[action='/doi-mat-khau']")
    assert _message(page, "input[name=new_password]") == "Cần ít nhất 10 ký tự (hiện có 4)."
    assert not errors, errors
    page.context.close()


def test_the_date_fields_still_work_under_the_policy(served, english_browser):
    """The date script moved from an inline <script> to /static/app.js: the field still reads dd/mm/yyyy and its
    own message (not ours) stays on a bad date."""
    page = english_browser.new_context(locale="en-US").new_page()
    page.goto(f"{served}/dang-nhap")
    page.fill("input[name=username]", "manhhd.vptq")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/")
    page.goto(f"{served}/bao-cao/truc-lien-thong")
    field = page.query_selector("input[name=tu]")
    assert field.get_attribute("data-vn-date") is not None and field.get_attribute("type") == "text"
    field.fill("31/02/2026")
    assert field.evaluate("e => e.validationMessage") == "Nhập ngày theo dạng dd/mm/yyyy, ví dụ 05/03/2026."
    # a date and time (Chromium's own "03/05/2026, 02:30 PM" in this English browser): dd/mm/yyyy hh:mm, 24 hours
    page.goto(f"{served}/bao-loi")
    moment = page.query_selector("input[name=occurred_at]")
    assert moment.get_attribute("data-vn-date") == "datetime-local" and moment.get_attribute("type") == "text"
    assert moment.get_attribute("placeholder") == "dd/mm/yyyy hh:mm"
    moment.fill("05/03/2026 14h30")
    moment.dispatch_event("change")
    assert moment.input_value() == "05/03/2026 14:30" and moment.evaluate("e => e.validationMessage") == ""
    assert moment.evaluate("e => new FormData(e.form).get('occurred_at')") == "2026-03-05T14:30"  # as the server reads
    moment.fill("31/02/2026 10:00")
    assert moment.evaluate("e => e.validationMessage") == ("Nhập ngày giờ theo dạng dd/mm/yyyy hh:mm (24 giờ), ví dụ "
                                                           "05/03/2026 14:30.")
    page.context.close()
