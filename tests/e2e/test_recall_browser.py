"""Recall both ways, in Chromium and over the REST API, between two agencies of the running deployment (issue 18
item 6; STANDARDS §8.3, statuses 13, 15, 16).

Tuyên Quang's clerk sends a document that Đà Nẵng's clerk registers. Agreed: Tuyên Quang asks to recall it from
the outgoing document's page with a reason; the request travels as edXML through the hubs; Đà Nẵng's clerk sees it
on her home page and in the list, agrees, the files are deleted and the metadata and history stay; the 15 comes
back and Tuyên Quang's page says "Đồng ý". Refused: Tuyên Quang asks to take back (13) over the API, once for two
calls with one Idempotency-Key; Đà Nẵng refuses on the screen with a reason; the 16 comes back and the document
stands issued. Then an update of the trích yếu over the API, agreed over the API. A document issued on paper only is
recalled at once from its page, and the clerk records its paper given back in the frame "Nhận lại bản giấy".
Screenshots in tests/artifacts/.
"""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from services.common.clock import today_vn
from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests import screenshots
from tests.e2e.helpers import csrf_of, demo_home, wait_for
from tests.gateway.test_handling_flow import CLERK, CLERK_TQ, RECEIVER, login, send_and_register
from tests.gateway.test_outgoing_paper_returns_api import COMPANY, issued_with_paper

pytestmark = pytest.mark.browser
PATIENCE = 240


def exchanged(deployment, topic: str) -> tuple[str, httpx.Client, str, str, httpx.Client]:
    """Tuyên Quang sends, Đà Nẵng registers: (base URL, sender, outgoing id, incoming id, receiver), both signed in."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    sender, sent_url, incoming = send_and_register(deployment, base, f"{topic} ({secrets.token_hex(3)})")
    outgoing = re.search(r"/van-ban/([^?]+)", sent_url).group(1)
    return base, sender, outgoing, incoming, login(deployment, base, CLERK)


def api(client: httpx.Client, path: str, body: dict, key: str | None = None) -> httpx.Response:
    headers = {"x-csrf-token": csrf_of(client.get("/").text), **({"Idempotency-Key": key} if key else {})}
    return client.post(path, json=body, headers=headers)


def answered(sender: httpx.Client, outgoing: str, state: str, what: str) -> dict:
    """The sender's document once the recipient's answer (15 or 16) came back through the interconnect."""
    def arrived():
        doc = sender.get(f"/api/v1/outgoing/{outgoing}").json()
        return doc if doc["recipients"][0].get("recall_state") == state else None

    return wait_for(arrived, PATIENCE, what)


def shot(page: Page, shots: list, artifacts_dir, name: str) -> None:
    shots.append(artifacts_dir / name)
    page.screenshot(path=str(shots[-1]), full_page=True)


def test_recall_agreed_in_the_browser_deletes_the_files_and_the_sender_sees_15(deployment, browser, artifacts_dir):
    base, sender_http, outgoing, incoming, receiver_http = exchanged(deployment, "Về việc tổ chức hội nghị tổng kết")
    subject = receiver_http.get(f"/api/v1/incoming/{incoming}").json()["subject"]
    files = [a["sha256"] for a in receiver_http.get(f"/api/v1/incoming/{incoming}").json()["attachments"]]
    assert files and receiver_http.get(f"/tep/{incoming}/{files[0]}").status_code == 200
    shots: list = []

    sender = demo_home(browser, base, deployment, CLERK_TQ)
    sender.goto(f"{base}/van-ban/{outgoing}")
    form = sender.locator("#thu-hoi")
    form.get_by_label("Thu hồi", exact=True).check()
    form.get_by_label("Lý do", exact=True).fill("Văn bản ban hành sai thẩm quyền")
    shot(sender, shots, artifacts_dir, "thu-hoi-01-yeu-cau.png")
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(sender.get_by_role("status")).to_contain_text("Đã gửi yêu cầu đến nơi nhận")
    expect(sender.locator("#thu-hoi")).to_contain_text("Đã gửi yêu cầu thu hồi")
    expect(sender.locator("h1 .badge").last).to_have_text("Đã thu hồi")

    wait_for(lambda: subject in receiver_http.get("/van-ban-den/yeu-cau-thay-doi").text, PATIENCE,
             "the recall request in Đà Nẵng")
    receiver = demo_home(browser, base, deployment, CLERK)
    heading = receiver.get_by_role("heading", name="Yêu cầu thu hồi, cập nhật, lấy lại chờ trả lời")
    expect(heading).to_be_visible()  # the home page's badge while requests wait
    receiver.locator("section").filter(has=heading).get_by_role("link", name="Xem tất cả").click()
    row = receiver.get_by_role("row").filter(has_text=subject)
    expect(row).to_contain_text("Văn bản ban hành sai thẩm quyền")
    shot(receiver, shots, artifacts_dir, "thu-hoi-02-danh-sach.png")
    row.get_by_role("link").first.click()
    request = receiver.locator("#yeu-cau-thay-doi")
    expect(request).to_contain_text("yêu cầu thu hồi văn bản này")
    shot(receiver, shots, artifacts_dir, "thu-hoi-03-nhan-yeu-cau.png")
    asked: list[str] = []  # agreeing deletes the files: the clerk is asked first, and accepts
    receiver.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    request.get_by_role("button", name="Đồng ý thu hồi").click()
    expect(receiver.get_by_role("status")).to_have_text("Đã đồng ý và báo lại nơi gửi.")
    assert asked and "sẽ bị xóa khỏi kho lưu trữ" in asked[0], asked
    expect(receiver.locator("h1 .badge").last).to_have_text("Đã bị thu hồi")
    expect(receiver.locator("#noi-dung-da-xoa")).to_contain_text("nội dung (tệp) đã được xóa")
    history = receiver.locator("ol.trace").last
    expect(history).to_contain_text("Yêu cầu thay đổi")
    expect(history).to_contain_text("Đồng ý thay đổi")
    expect(history).to_contain_text("Xóa nội dung văn bản bị thu hồi")
    shot(receiver, shots, artifacts_dir, "thu-hoi-04-da-dong-y.png")
    kept = receiver_http.get(f"/api/v1/incoming/{incoming}").json()
    assert kept["subject"] == subject and kept["number"] and kept["content_withdrawn_at"]  # metadata stay
    gone = receiver_http.get(f"/tep/{incoming}/{files[0]}")
    assert gone.status_code == 404 and "Tệp đã bị xóa khi nơi gửi thu hồi văn bản" in gone.text
    store = blob_store(CommonSettings(data_dir=deployment.data_dir), RECEIVER)
    wait_for(lambda: not any(store.exists(sha) for sha in files), PATIENCE,
             "the storage service deleting the recalled files from Đà Nẵng's store")

    doc = answered(sender_http, outgoing, "accepted", "the 15 back in Tuyên Quang")
    assert doc["state"] == "recalled" and doc["pending_change"] is None
    sender.reload()
    expect(sender.get_by_role("row").filter(has_text="Đà Nẵng")).to_contain_text("Đồng ý")
    expect(sender.locator("ol.trace").last).to_contain_text("Nơi nhận đã trả lời hết yêu cầu")
    shot(sender, shots, artifacts_dir, "thu-hoi-05-noi-gui-thay-ket-qua.png")
    for client in (sender_http, receiver_http):
        client.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`


def test_take_back_refused_on_screen_and_update_agreed_over_the_api(deployment, browser, artifacts_dir):
    base, sender_http, outgoing, incoming, receiver_http = exchanged(deployment, "Về việc rà soát số liệu thống kê")
    subject = receiver_http.get(f"/api/v1/incoming/{incoming}").json()["subject"]

    missing = api(sender_http, f"/api/v1/outgoing/{outgoing}/changes", {"kind": "take_back", "reason": ""})
    assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")
    key = secrets.token_hex(8)
    for _ in range(2):  # sent twice (a retry): one request leaves
        r = api(sender_http, f"/api/v1/outgoing/{outgoing}/changes", {"kind": "take_back", "reason": "Gửi nhầm"}, key)
        assert r.status_code == 200, r.text
    assert [h["action"] for h in r.json()["history"]].count("change_sent") == 1

    def asked():
        items = receiver_http.get("/api/v1/change-requests").json()["items"]
        return [i for i in items if i["id"] == incoming]

    [item] = wait_for(asked, PATIENCE, "the 13 in Đà Nẵng")
    assert item["change"]["kind"] == "take_back" and item["change"]["reason"] == "Gửi nhầm"
    bare = api(receiver_http, f"/api/v1/incoming/{incoming}/change-decision", {"accept": False})
    assert bare.status_code == 422 and bare.json()["code"] == "missing_field"

    receiver = demo_home(browser, base, deployment, CLERK)
    receiver.goto(f"{base}/van-ban/{incoming}")
    request = receiver.locator("#yeu-cau-thay-doi")
    expect(request).to_contain_text("yêu cầu lấy lại văn bản này")
    request.get_by_label("Lý do (bắt buộc khi từ chối)").fill("Văn bản đã được phân công xử lý")
    request.get_by_role("button", name="Từ chối yêu cầu").click()
    expect(receiver.get_by_role("status")).to_have_text("Đã từ chối yêu cầu và báo lại nơi gửi.")
    expect(receiver.locator("h1 .badge").last).to_have_text("Đã vào sổ")
    expect(receiver.locator("ol.trace").last).to_contain_text("Từ chối thay đổi")

    doc = answered(sender_http, outgoing, "refused", "the 16 back in Tuyên Quang")
    assert doc["state"] == "issued" and not doc["frozen"]  # nobody agreed: it stands issued

    # cập nhật over the API, agreed over the API with an Idempotency-Key
    new_subject = f"{subject} (sửa trích yếu)"
    r = api(sender_http, f"/api/v1/outgoing/{outgoing}/changes",
            {"kind": "update", "reason": "Sửa trích yếu", "subject": new_subject}, secrets.token_hex(8))
    assert r.status_code == 200 and r.json()["subject"] == new_subject, r.text
    [item] = wait_for(lambda: [i for i in asked() if i["change"]["kind"] == "update"], PATIENCE, "the update")
    key = secrets.token_hex(8)
    for _ in range(2):
        r = api(receiver_http, f"/api/v1/incoming/{incoming}/change-decision", {"accept": True}, key)
        assert r.status_code == 200, r.text
    assert r.json()["subject"] == new_subject
    assert [h["action"] for h in r.json()["history"]].count("change_accepted") == 1
    answered(sender_http, outgoing, "accepted", "the 15 to the update back in Tuyên Quang")
    for client in (sender_http, receiver_http):
        client.close()


def test_a_document_issued_on_paper_only_is_recalled_at_once_and_its_paper_given_back_recorded(deployment, browser,
                                                                                              artifacts_dir):
    """Nobody to ask over the interconnect: the recall takes effect on the clerk's click, the paper recipient waits
    "Chờ nhận lại bản giấy" until the clerk records the day its paper came back (services/registry/paper_returns.py);
    the record's note is corrected, then the record undone (gateway/paper_corrections.py). Before the recall, an
    update of its trích yếu and summary on the screen is made at once, and the page says nobody was asked."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    clerk, doc = issued_with_paper(deployment, f"V/v thu hồi văn bản chỉ gửi bản giấy ({secrets.token_hex(3)})", [],
                                   [COMPANY])
    clerk.close()
    page = demo_home(browser, base, deployment, CLERK_TQ)
    page.goto(f"{base}/van-ban/{doc['id']}")
    form = page.locator("#thu-hoi")
    # first an update of its trích yếu and summary: made here at once, nobody asked over the interconnect
    new_subject, summary = f"{doc['subject']} (sửa)", "Đề nghị các đơn vị báo cáo trước ngày 20 hằng tháng."
    form.get_by_label("Cập nhật", exact=True).check()
    form.get_by_label("Lý do", exact=True).fill("Sửa trích yếu và nội dung tóm tắt")
    form.get_by_label("Trích yếu mới (khi cập nhật)").fill(new_subject)
    form.get_by_label("Nội dung tóm tắt mới (khi cập nhật)").fill(summary)
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã cập nhật văn bản. Văn bản không có nơi nhận điện tử")
    expect(page.get_by_text(new_subject, exact=True)).to_be_visible()
    expect(page.locator("#noi-dung-tom-tat")).to_have_text(f"Nội dung tóm tắt: {summary}")
    form.get_by_label("Thu hồi", exact=True).check()
    form.get_by_label("Lý do", exact=True).fill("Gửi nhầm nơi nhận")
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(page.get_by_role("status")).to_contain_text("Văn bản không có nơi nhận điện tử")
    expect(page.locator("h1 .badge").last).to_have_text("Đã thu hồi")
    expect(page.locator("tr", has_text=COMPANY)).to_contain_text("Chờ nhận lại bản giấy")
    shot = artifacts_dir / "thu-hoi-06-nhan-lai-ban-giay.png"
    paper_given_back(page, COMPANY, "Công ty gửi trả qua bưu điện", shot, "văn bản")
    steps = page.locator("ol.trace").last
    expect(steps).to_contain_text("Thu hồi (Thu hồi — Gửi nhầm nơi nhận — 1 nơi nhận bản giấy chờ nhận lại)")
    expect(steps).to_contain_text(f"Nhận lại bản giấy của văn bản ({COMPANY}, ngày")
    # the note was wrong: corrected in the same frame; then the record itself was for the wrong recipient: undone
    # (no electronic recipient: nobody's answer counted it), and the company waits again
    fix = page.locator("details.paper-fix", has_text=COMPANY)
    fix.locator("summary").click()
    fix.get_by_label("Ngày nhận lại").fill(today_vn().isoformat())
    fix.get_by_label("Ghi chú").fill("Công ty gửi trả tại bộ phận một cửa")
    fixing = artifacts_dir / "thu-hoi-07-sua-ghi-nhan-ban-giay.png"
    page.locator("#nhan-lai-ban-giay").screenshot(path=str(fixing))
    wide = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})   # on a phone: big enough to tap, within the screen
    heights = fix.locator("summary, input:not([type=hidden]), textarea, button").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().height))")
    assert heights and min(heights) >= 44, heights
    assert fix.evaluate("e => e.getBoundingClientRect().right") <= 390
    page.set_viewport_size(wide)
    fix.get_by_role("button", name="Sửa ghi nhận").click()
    expect(page.get_by_role("status")).to_have_text("Đã sửa ngày nhận lại và ghi chú của bản giấy.")
    expect(page.locator("tr", has_text=COMPANY)).to_contain_text("Công ty gửi trả tại bộ phận một cửa")
    expect(steps).to_contain_text("Sửa ghi nhận nhận lại bản giấy")
    expect(steps).to_contain_text("trước khi sửa: ngày")
    fix = page.locator("details.paper-fix", has_text=COMPANY)
    fix.locator("summary").click()
    fix.get_by_label("Lý do hủy ghi nhận").fill("Ghi nhận nhầm: công ty chưa trả bản giấy")
    fix.get_by_role("button", name="Hủy ghi nhận").click()
    expect(page.get_by_role("status")).to_contain_text("Đã hủy ghi nhận")
    expect(page.locator("tr", has_text=COMPANY)).to_contain_text("Chờ nhận lại bản giấy")
    expect(page.locator("#ghi-nhan-ban-giay")).to_be_visible()
    expect(page.locator("details.paper-fix")).to_have_count(0)
    expect(steps).to_contain_text("lý do hủy: Ghi nhận nhầm: công ty chưa trả bản giấy")
    screenshots.publish([shot, fixing])


def paper_given_back(page: Page, name: str, note: str, shot, what: str) -> None:
    """In the frame "Nhận lại bản giấy" of a recalled document's or copy's page (`what`: "văn bản", "bản sao"): the
    clerk records `name`'s paper given back today with `note` (the frame shot before the click); the line says so
    and nobody is left waiting."""
    paper = page.locator("#ghi-nhan-ban-giay")
    paper.get_by_label("Nơi nhận bản giấy").select_option(label=name)
    paper.get_by_label("Ghi chú").fill(note)
    page.locator("#thu-hoi").screenshot(path=str(shot))
    paper.get_by_role("button", name="Ghi nhận đã nhận lại").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã ghi nhận bản giấy của {what} được nhận lại")
    row = page.locator("tr", has_text=name)
    expect(row).to_contain_text("Đã nhận lại bản giấy ngày")
    expect(row).to_contain_text(note)
    expect(page.locator("#ghi-nhan-ban-giay")).to_have_count(0)   # nobody waits; the record can be corrected
    expect(page.locator("details.paper-fix", has_text=name)).to_be_visible()
