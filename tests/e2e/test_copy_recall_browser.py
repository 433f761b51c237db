"""Recalling an electronic copy sent over the interconnect, in Chromium, on the demo deployment (STANDARDS §8.3;
the copy as sent: docs/edxml.md "An electronic copy on the wire").

UBND tỉnh Tuyên Quang's clerk sends a sao y to Sở Nội vụ, whose clerk registers it. From the copy's page ("Bản
sao"), frame "Thu hồi, lấy lại, cập nhật", she asks to recall it with a reason; the request travels as edXML through
the hub, naming the copy by its own number. Sở Nội vụ's clerk finds it in the list of requests (marked "Bản sao"),
agrees on the copy's page: its files are deleted, its metadata and history stay. The 15 comes back: the copy's
status table says "Đồng ý", its history "Nơi nhận đã trả lời hết yêu cầu", and it is sent to nobody else. The copy also
went to a paper recipient, whom no request reaches: the frame "Nhận lại bản giấy" lists it, and the clerk records
the day its paper copy came back; the request was closed by then, so the record can be corrected, not undone.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from services.common.clock import today_vn
from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import browser_signed_in, signed_in, wait_for
from tests.e2e.test_copy_send_browser import SNV, SNV_CLERK, SNV_NAME, tuyen_quang_copy
from tests.e2e.test_recall_browser import paper_given_back
from tests.gateway.test_api import csrf_token_of
from tests.gateway.test_copies_api import sent_and_arrived

pytestmark = pytest.mark.browser
CLERK, ADMIN = "hoalt.vptq", "manhhd.vptq"
PAPER_NAME = "Trường THPT Tân Trào"
PATIENCE = 180


def test_the_clerk_recalls_a_sent_copy_and_the_recipient_agrees(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    clerk, admin, receiver_http = (signed_in(base, u, demo_password(deployment, u))
                                   for u in (CLERK, ADMIN, SNV_CLERK))
    shots: list = []
    try:
        subject = f"Về việc thu hồi bản sao liên thông (mã {uuid.uuid4().hex[:6]})"
        _source, copy = tuyen_quang_copy(deployment, clerk, admin, subject, 0)
        number = f"{copy['code_number']}/{copy['code_notation']}"
        # Sở Nội vụ registers the copy, as any incoming document
        arrived = sent_and_arrived(clerk, copy["id"], SNV, receiver_http, PATIENCE)
        registered = receiver_http.post(f"/api/v1/incoming/{arrived['id']}/register", json={},
                                        headers={"x-csrf-token": csrf_token_of(receiver_http)})
        assert registered.status_code == 200, registered.text
        files = [a["sha256"] for a in registered.json()["attachments"]]
        # and a paper recipient, which no request reaches: the clerk records its paper copy given back
        on_paper = clerk.post(f"/api/v1/copies/{copy['id']}/send", json={"paper_recipients": [PAPER_NAME]},
                              headers={"x-csrf-token": csrf_token_of(clerk)})
        assert on_paper.status_code == 200 and on_paper.json()["sent_to"] == ["giay-01"], on_paper.text

        page = browser_signed_in(browser, base, CLERK, demo_password(deployment, CLERK))
        page.goto(f"{base}/van-ban/{copy['id']}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Bản sao: {number}")
        frame = page.locator("#thu-hoi")
        expect(frame.get_by_role("heading", name="Thu hồi, lấy lại, cập nhật")).to_be_visible()
        expect(frame).to_contain_text(f"ghi số và ký hiệu bản sao ({number})")
        frame.get_by_label("Thu hồi", exact=True).check()
        frame.get_by_label("Lý do", exact=True).fill("Sao nhầm văn bản")
        shots.append(artifacts_dir / "thu-hoi-ban-sao-01-yeu-cau.png")
        frame.screenshot(path=str(shots[-1]))
        frame.get_by_role("button", name="Gửi yêu cầu").click()
        expect(page.get_by_role("status")).to_contain_text("Đã gửi yêu cầu đến nơi nhận")
        expect(page.locator("#thu-hoi")).to_contain_text("Đã gửi yêu cầu thu hồi")
        expect(page.locator("h1 .badge").last).to_have_text("Đã thu hồi")
        expect(page.locator("tr", has_text=SNV_NAME)).to_contain_text("Đang chờ trả lời")
        expect(page.locator("tr", has_text=PAPER_NAME)).to_contain_text("Chờ nhận lại bản giấy")
        expect(page.locator("#nhan-lai-ban-giay")).to_contain_text(PAPER_NAME)
        expect(page.locator("#gui-ban-sao")).to_have_count(0)   # no new recipients while they answer

        wait_for(lambda: subject in receiver_http.get("/van-ban-den/yeu-cau-thay-doi").text, PATIENCE,
                 "the recall request at Sở Nội vụ")
        receiver = browser_signed_in(browser, base, SNV_CLERK, demo_password(deployment, SNV_CLERK))
        receiver.goto(f"{base}/van-ban-den/yeu-cau-thay-doi")
        row = receiver.get_by_role("row").filter(has_text=subject)
        expect(row).to_contain_text("Bản sao")
        expect(row).to_contain_text("Sao nhầm văn bản")
        row.get_by_role("link", name=number).click()
        request = receiver.locator("#yeu-cau-thay-doi")
        expect(request).to_contain_text("yêu cầu thu hồi bản sao này")
        shots.append(artifacts_dir / "thu-hoi-ban-sao-02-noi-nhan.png")
        request.screenshot(path=str(shots[-1]))
        asked: list[str] = []  # agreeing deletes the files: the clerk is asked first, and accepts
        receiver.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        request.get_by_role("button", name="Đồng ý thu hồi").click()
        expect(receiver.get_by_role("status")).to_have_text("Đã đồng ý và báo lại nơi gửi.")
        assert asked and "sẽ bị xóa khỏi kho lưu trữ" in asked[0], asked
        expect(receiver.locator("h1 .badge").last).to_have_text("Đã bị thu hồi")
        expect(receiver.locator("#la-ban-sao")).to_be_visible()
        expect(receiver.locator("#noi-dung-da-xoa")).to_contain_text("nội dung (tệp) đã được xóa")
        history = receiver.locator("ol.trace").last
        expect(history).to_contain_text("Yêu cầu thay đổi")
        expect(history).to_contain_text("Đồng ý thay đổi")
        kept = receiver_http.get(f"/api/v1/incoming/{arrived['id']}").json()
        assert kept["number"] and kept["content_withdrawn_at"] and kept["copy_form"] == "SY"
        gone = receiver_http.get(f"/tep/{arrived['id']}/{files[0]}")
        assert gone.status_code == 404

        def answered():
            lines = clerk.get(f"/api/v1/copies/{copy['id']}/statuses").json()["recipients"]
            return lines if lines[0]["recall_state"] == "accepted" else None

        wait_for(answered, PATIENCE, "the 15 back at the copy")
        page.reload()
        expect(page.locator("tr", has_text=SNV_NAME)).to_contain_text("Đồng ý")
        steps = page.locator("ol.trace").last
        expect(steps).to_contain_text("Gửi bản sao qua trục liên thông")
        expect(steps).to_contain_text("Thu hồi (Thu hồi — Sao nhầm văn bản — 1 nơi nhận bản giấy chờ nhận lại)")
        expect(steps).to_contain_text("Nơi nhận đã trả lời hết yêu cầu")
        expect(page.locator("#thu-hoi")).to_contain_text("Bản sao đã được thu hồi.")
        # the paper copy came back: the clerk records it in the same frame (the day defaults to today)
        shots.append(artifacts_dir / "thu-hoi-ban-sao-04-nhan-lai-ban-giay.png")
        paper_given_back(page, PAPER_NAME, "Nhận lại tại bộ phận một cửa", shots[-1], "bản sao")
        expect(page.locator("ol.trace").last).to_contain_text(f"Nhận lại bản giấy của bản sao ({PAPER_NAME}, ngày")
        # Sở Nội vụ's answer closed the request: the record may be corrected, no longer undone (paper_returns.py)
        fix = page.locator("details.paper-fix", has_text=PAPER_NAME)
        fix.locator("summary").click()
        expect(fix).to_contain_text("Không hủy được ghi nhận")
        expect(fix.get_by_role("button", name="Hủy ghi nhận")).to_have_count(0)
        returns = f"/api/v1/copies/{copy['id']}/paper-returns/giay-01"
        headers = {"x-csrf-token": csrf_token_of(clerk)}
        undo = clerk.post(f"{returns}/undo", json={"reason": "Ghi nhận nhầm"}, headers=headers)
        assert undo.status_code == 422 and undo.json()["code"] == "request_closed", undo.text
        fixed = clerk.put(returns, json={"returned_date": today_vn().isoformat(), "note": "Nhận lại tại văn thư"},
                          headers=headers)
        assert fixed.status_code == 200 and fixed.json()["recipients"][1]["description"] == "Nhận lại tại văn thư"
        page.reload()
        shots.append(artifacts_dir / "thu-hoi-ban-sao-03-noi-gui.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        listed = clerk.get("/api/v1/copies", params={"size": 100}).json()["items"]
        assert [c["state"] for c in listed if c["id"] == copy["id"]] == ["recalled"]
        screenshots.publish(shots)   # docs/screenshots only with `./congvan screenshots`
    finally:
        for client in (clerk, admin, receiver_http):
            client.close()
