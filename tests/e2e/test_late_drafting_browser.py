"""A draft's review done on paper during an outage, entered on the screens in Chromium afterwards (TP.HCM Đ3.4,
Hưng Yên Đ4.2): the drafter enters the submission with its real time, the head of the department the approval (a
time before the submission refused on the screen), the leader the return — the leader's "Duyệt và ký" form has no
real time, a digital signature is never backdated. The draft's history shows each step at its real time, marked
"nhập muộn" with who entered it and when. Where the agency allows signing on paper, the leader who signed the paper
original during the outage enters "Duyệt, ký trên giấy" with the time of the hand signature.

The real times are chosen this morning, hours in the past and each after the one before: the screen's field takes
whole minutes, and no test waits for real time to pass."""

from __future__ import annotations

import secrets
from contextlib import closing
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from services.common.clock import now_vn
from tests import screenshots
from tests.e2e.helpers import demo_home
from tests.e2e.test_late_entry_browser import fill_late, post_json
from tests.e2e.test_recall_browser import shot
from tests.gateway.test_api import base_url, session_for
from tests.gateway.test_api_paper_signing import set_paper_signing
from tests.gateway.test_drafting import HEAD, LEADER, SPECIALIST, create_draft, prepare_agency_for_drafts

pytestmark = pytest.mark.browser
H60 = "000.00.00.H60"


def test_submission_approval_and_return_entered_after_an_outage(deployment, browser, artifacts_dir):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = base_url(deployment)
    title = f"V/v kế hoạch diễn tập ứng cứu sự cố an toàn thông tin ({secrets.token_hex(3)})"
    with closing(session_for(deployment, SPECIALIST)) as http:
        draft_id = create_draft(http, title)   # uploaded once the software was back
    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=3)
    submitted_at, approved_at, returned_at = start, start + timedelta(minutes=40), start + timedelta(hours=1)
    shots: list = []

    drafter = demo_home(browser, base, deployment, SPECIALIST)
    drafter.goto(f"{base}/du-thao/{draft_id}")
    form = drafter.locator(f"form[action='/du-thao/{draft_id}/trinh']")
    form.get_by_label("Ghi chú khi trình").fill("Kính trình (đã trình bản giấy trong lúc mất mạng)")
    fill_late(form, submitted_at)
    expect(form).to_contain_text("không trước bước trước đó của dự thảo")
    shot(drafter, shots, artifacts_dir, "nhap-muon-05-trinh-du-thao.png")
    form.get_by_role("button", name="Trình duyệt").click()
    expect(drafter.get_by_role("status")).to_have_text("Đã trình duyệt dự thảo.")

    head = demo_home(browser, base, deployment, HEAD)
    head.goto(f"{base}/du-thao/{draft_id}")
    form = head.locator(f"form[action='/du-thao/{draft_id}/duyet']")
    fill_late(form, submitted_at - timedelta(minutes=10))
    form.get_by_role("button", name="Đồng ý, chuyển bước sau").click()
    expect(head.locator("main")).to_contain_text("không được trước bước xử lý trước đó")
    head.goto(f"{base}/du-thao/{draft_id}")
    form = head.locator(f"form[action='/du-thao/{draft_id}/duyet']")
    form.get_by_label("Ý kiến duyệt").fill("Đồng ý nội dung")
    fill_late(form, approved_at)
    form.get_by_role("button", name="Đồng ý, chuyển bước sau").click()
    expect(head.get_by_role("status")).to_have_text("Đã duyệt, dự thảo chuyển sang bước sau.")

    leader = demo_home(browser, base, deployment, LEADER)
    leader.goto(f"{base}/du-thao/{draft_id}")
    sign = leader.locator(f"form[action='/du-thao/{draft_id}/duyet']")
    expect(sign.get_by_role("button", name="Duyệt và ký")).to_be_visible()
    expect(sign.get_by_text("Nhập muộn sau sự cố")).to_have_count(0)   # a digital signature is never backdated
    form = leader.locator(f"form[action='/du-thao/{draft_id}/tra-lai']")
    form.get_by_label("Ý kiến khi trả lại").fill("Bổ sung kịch bản diễn tập ban đêm")
    fill_late(form, returned_at)
    form.get_by_role("button", name="Trả lại người soạn").click()
    expect(leader.get_by_role("status")).to_have_text("Đã trả lại dự thảo cho người soạn.")

    drafter.goto(f"{base}/du-thao/{draft_id}")
    history = drafter.locator("#y-kien ol.trace li")
    for label, real, who in (("Trình duyệt", submitted_at, "Đỗ Thu Trang"),
                             ("Đồng ý, chuyển bước sau", approved_at, "Phạm Minh Tuấn"),
                             ("Trả lại", returned_at, "Nguyễn Văn An")):
        line = history.filter(has_text=label)
        expect(line).to_have_count(1)
        expect(line).to_contain_text(real.strftime("%d/%m/%Y %H:%M"))
        expect(line).to_contain_text("nhập muộn")
        expect(line).to_contain_text("nhập lúc")
        expect(line).to_contain_text(who)
    shot(drafter, shots, artifacts_dir, "nhap-muon-06-lich-su-du-thao.png")
    for page in (drafter, head, leader):
        page.context.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`


def test_a_paper_signature_entered_after_an_outage(deployment, browser, artifacts_dir):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = base_url(deployment)
    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=2)
    with closing(session_for(deployment, SPECIALIST)) as drafter, closing(session_for(deployment, HEAD)) as head:
        draft_id = create_draft(drafter, f"V/v báo cáo khắc phục sự cố mất điện ({secrets.token_hex(3)})")
        submitted = post_json(drafter, f"/api/v1/drafts/{draft_id}/submit",
                              {"happened_at": start.strftime("%Y-%m-%dT%H:%M")})
        assert submitted.status_code == 200, submitted.text
        approved = post_json(head, f"/api/v1/drafts/{draft_id}/approve",
                             {"happened_at": (start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")})
        assert approved.status_code == 200 and approved.json()["step"]["signs"], approved.text
    signed_at, shots = start + timedelta(minutes=50), []
    try:
        set_paper_signing(deployment, "allowed")
        leader = demo_home(browser, base, deployment, LEADER)
        leader.goto(f"{base}/du-thao/{draft_id}")
        form = leader.locator("#duyet-tren-giay")
        form.get_by_label("Ý kiến duyệt").fill("Đã ký bản giấy trong lúc mất điện")
        fill_late(form, signed_at)
        form.get_by_role("button", name="Duyệt, ký trên giấy").click()
        expect(leader.get_by_role("status")).to_contain_text("lãnh đạo duyệt, ký trên giấy")
        card = leader.locator("#ky-tren-giay")
        expect(card).to_contain_text(f"đã duyệt và ký bản giấy lúc {signed_at.strftime('%d/%m/%Y %H:%M')}")
        expect(card).to_contain_text("nhập muộn")
        expect(card).to_contain_text("nhập lúc")
        line = leader.locator("#y-kien ol.trace li").filter(has_text="Duyệt, ký trên giấy")
        expect(line).to_contain_text(signed_at.strftime("%d/%m/%Y %H:%M"))
        expect(line).to_contain_text("nhập muộn")
        shot(leader, shots, artifacts_dir, "nhap-muon-07-ky-tren-giay.png")
        leader.context.close()
    finally:
        set_paper_signing(deployment, "no")
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`
