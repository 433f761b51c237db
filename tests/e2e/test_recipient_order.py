"""The order of "Nơi nhận" in Chromium, on the demo deployment (NĐ 30/2020 Phụ lục I lists recipients in a deliberate
order): UBND tỉnh Tuyên Quang's clerk opens "Gửi văn bản", whose page carries no directory, finds the recipients by
typing (the server searches), chooses Sở Nội vụ then Sở Tài chính (against the directory's order), adds Văn phòng
Chính phủ, moves it up, removes it; a refused form comes back with the two in that order; the document's page lists
them in that order, and Sở Nội vụ receives the package with "Nơi nhận" in that order. Without script, the
identifiers typed one per line are sent in the order typed."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, pick, vietnamese_pdf, wait_for
from tests.gateway.test_api import base_url, token_for

pytestmark = pytest.mark.browser
SNV, STC, G22 = "000.00.09.H60", "000.00.02.H60", "000.00.00.G22"
NAMES = {SNV: "Sở Nội vụ tỉnh Tuyên Quang", STC: "Sở Tài chính tỉnh Tuyên Quang", G22: "Văn phòng Chính phủ"}
CLERK, SNV_CLERK = "hoalt.vptq", "lanvt.snv"


def label(organ_id: str) -> str:
    return f"{NAMES[organ_id]} ({organ_id})"


def _chips(page) -> list[str]:
    return page.locator(".chips.ordered li span").all_inner_texts()


def _recipient_rows(page) -> list[str]:
    rows = page.get_by_role("table").filter(has_text="Hình thức").locator("tbody tr")
    return rows.all_inner_texts()


def test_recipients_chosen_against_the_directory_order_keep_that_order_to_the_recipient(deployment, browser,
                                                                                         tmp_path, artifacts_dir):
    base = base_url(deployment)
    subject = f"Về việc giữ thứ tự nơi nhận {secrets.token_hex(4)}"
    pdf_path = tmp_path / "Công văn thứ tự.pdf"
    pdf_path.write_bytes(vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject))
    page = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
    page.goto(f"{base}/van-ban-di/gui")
    assert NAMES[G22] not in page.content()          # the page carries no directory
    page.get_by_label("Ký hiệu").fill("sai ký hiệu")  # refused by the server: the form comes back
    page.get_by_label("Trích yếu").fill(subject)
    pick(page, "Nơi nhận", NAMES[SNV])
    pick(page, "Nơi nhận", NAMES[STC])                # 000.00.02 after 000.00.09: against the directory's order
    pick(page, "Nơi nhận", NAMES[G22])
    expect(page.locator(".chips.ordered li span")).to_have_text([label(SNV), label(STC), label(G22)])
    page.get_by_role("button", name=f"Đưa lên trên: {label(G22)}").click()
    expect(page.locator(".chips.ordered li span")).to_have_text([label(SNV), label(G22), label(STC)])
    expect(page.get_by_role("button", name=f"Đưa lên trên: {label(SNV)}")).to_be_disabled()
    page.get_by_role("button", name=f"Bỏ chọn {label(G22)}").click()
    expect(page.locator(".chips.ordered li span")).to_have_text([label(SNV), label(STC)])
    shot = artifacts_dir / "noi-nhan-theo-thu-tu.png"
    page.locator(".recipient-picker").screenshot(path=str(shot))
    assert page.evaluate("new FormData(document.querySelector('form[action=\"/van-ban-di/gui\"]'))"
                         ".getAll('recipients')") == [SNV, STC]
    page.get_by_label("Tệp văn bản").set_input_files(str(pdf_path))
    page.get_by_label("Vẫn gửi nếu chữ ký số không hợp lệ").check()
    page.get_by_role("button", name="Gửi văn bản").click()

    expect(page.locator("main .notice.error")).to_be_visible()   # the notation: the chosen ones stay, in order
    assert _chips(page) == [label(SNV), label(STC)]
    page.get_by_label("Ký hiệu").fill("UBND-TT")
    page.get_by_label("Tệp văn bản").set_input_files(str(pdf_path))
    page.get_by_role("button", name="Gửi văn bản").click()
    expect(page.get_by_role("status").first).to_have_text("Đã gửi văn bản.")
    rows = _recipient_rows(page)
    assert len(rows) == 2 and NAMES[SNV] in rows[0] and NAMES[STC] in rows[1], rows

    # Sở Nội vụ receives the package with "Nơi nhận" (ToPlaces) in the order chosen
    with token_for(deployment, SNV_CLERK) as receiver:
        arrived = wait_for(lambda: [d for d in receiver.get("/api/v1/incoming/waiting-reception",
                                                            params={"size": 100}).json()["items"]
                                    if d["subject"] == subject], 120, "the document at Sở Nội vụ")[0]
        detail = receiver.get(f"/api/v1/incoming/{arrived['id']}").json()
    assert detail["to_places"] == [NAMES[SNV], NAMES[STC]], detail["to_places"]
    screenshots.publish([shot])  # docs/screenshots only with `./congvan screenshots`


def test_without_script_the_identifiers_typed_are_sent_in_the_order_typed(deployment, browser, tmp_path):
    base = base_url(deployment)
    subject = f"Về việc gửi không có JavaScript {secrets.token_hex(4)}"
    pdf_path = tmp_path / "Công văn.pdf"
    pdf_path.write_bytes(vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject))
    page = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK), javascript=False)
    page.goto(f"{base}/van-ban-di/gui")
    assert page.locator("input[role=combobox]").count() == 0     # no search field: identifiers are typed
    codes = page.get_by_label(re.compile("^Mã định danh nơi nhận"))
    codes.fill(f"{STC}\n000.99.99.X99\n{SNV}")
    page.get_by_label("Ký hiệu").fill("UBND-KJ")
    page.get_by_label("Trích yếu").fill(subject)
    page.get_by_label("Tệp văn bản").set_input_files(str(pdf_path))
    page.get_by_label("Vẫn gửi nếu chữ ký số không hợp lệ").check()
    page.get_by_role("button", name="Gửi văn bản").click()
    expect(page.locator("main .notice.error")).to_contain_text("Không có cơ quan mã 000.99.99.X99")
    # the ones found are listed as chosen, in order; the unknown one is back in the field to be corrected
    chosen = page.locator("select[name=recipients] option:checked")
    expect(chosen).to_have_text([label(STC), label(SNV)])
    expect(codes).to_have_value("000.99.99.X99")
    codes.fill(G22)
    page.get_by_label("Tệp văn bản").set_input_files(str(pdf_path))
    page.get_by_role("button", name="Gửi văn bản").click()
    expect(page.get_by_role("status").first).to_have_text("Đã gửi văn bản.")
    rows = _recipient_rows(page)
    assert [NAMES[o] in r for o, r in zip((STC, SNV, G22), rows, strict=True)] == [True] * 3, rows
