"""Nhập thay in Chromium (TP.HCM QĐ 23/QĐ-VP Điều 3.2): Đà Nẵng's leader grants the clerk "Nhập thay ý kiến đã bút
phê" on the Ủy quyền screen; the clerk finds the letter submitted to the leader through the tab "Chờ cho ý kiến, chỉ
đạo" (the home page has the panel "Chờ nhập thay bút phê"), enters the leader's paper directive on it with the time the
leader wrote it, then the leader's further directive (chỉ đạo thêm) and chase (đôn đốc) after the assignment, the
leader's opinion on a task the leader gave, then the leader's return of a draft at the signing step and, once the
agency allows paper signing, the leader's "Duyệt, ký trên giấy" with the scan; the history names the leader and says
who typed it and when; the leader is told. The grant is ended and the rule set back at the end (the deployment is
shared)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from services.common.clock import now_vn
from tests import screenshots
from tests.e2e.helpers import demo_home, vietnamese_pdf
from tests.e2e.test_late_entry_browser import a_minute_after, post_json
from tests.e2e.test_recall_browser import shot
from tests.gateway.test_api_entry_for_leader import paper_arrival
from tests.gateway.test_api_paper_signing import set_paper_signing
from tests.gateway.test_drafting import create_draft, post, prepare_agency_for_drafts
from tests.gateway.test_handling_flow import CLERK, HEAD, LEADER, SPECIALIST, login

pytestmark = pytest.mark.browser
DA_NANG = "000.00.00.H17"
ADMIN = "ngocvt.vpdn"   # Đà Nẵng's administrator: the agency rule paper_signing


def test_the_clerk_enters_the_leaders_directive_written_on_paper(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    clerk_http, leader_http = login(deployment, base, CLERK), login(deployment, base, LEADER)
    staff = {p["username"]: p for p in clerk_http.get("/api/v1/staff").json()}
    shots: list = []

    leader = demo_home(browser, base, deployment, LEADER)
    leader.goto(f"{base}/uy-quyen")
    form = leader.locator("#uy-quyen-moi")
    form.get_by_label("Người được ủy quyền").select_option(staff[CLERK]["user_id"])
    form.get_by_label("Nhập thay ý kiến đã bút phê", exact=False).check()
    form.get_by_label("Ghi chú").fill("Văn phòng nhập thay ý kiến bút phê trên văn bản giấy")
    shot(leader, shots, artifacts_dir, "nhap-thay-01-uy-nhiem.png")
    form.get_by_role("button", name="Ủy quyền").click()
    expect(leader.get_by_role("status")).to_have_text("Đã ủy quyền.")
    grant = next(d for d in leader_http.get("/api/v1/delegations").json()
                 if d["delegate_user_id"] == staff[CLERK]["user_id"] and d["scopes"] == ["record"] and d["active"])
    paper_allowed = False
    try:
        subject = f"Về việc kiểm tra công tác cải cách hành chính ({secrets.token_hex(3)})"
        incoming = paper_arrival(_api(clerk_http), subject)
        submitted = post_json(clerk_http, f"/api/v1/handling/{incoming}/submit",
                              {"to_user_id": staff[LEADER]["user_id"]})
        assert submitted.status_code == 200, submitted.text
        # the screen's field takes minutes: the first whole minute after the submission (a wait under a minute)
        written = a_minute_after(now_vn().isoformat())

        clerk = demo_home(browser, base, deployment, CLERK)
        # the clerk's home page has the leader's waiting documents (the first ten of a shared deployment's), and the
        # handling screen's tab "Chờ cho ý kiến, chỉ đạo" holds them all
        expect(clerk.get_by_role("heading", name="Chờ nhập thay bút phê")).to_be_visible()
        clerk.goto(f"{base}/xu-ly")
        clerk.locator("nav.tabs").get_by_role("link", name="Chờ cho ý kiến, chỉ đạo").click()
        expect(clerk.get_by_role("heading", level=1)).to_have_text("Chờ cho ý kiến, chỉ đạo")
        clerk.get_by_role("link", name=subject).click()
        expect(clerk).to_have_url(f"{base}/xu-ly/{incoming}")
        form = clerk.locator("#nhap-thay")
        expect(form.get_by_label("Lãnh đạo đã bút phê")).to_have_value(staff[LEADER]["user_id"])
        form.get_by_label("Ý kiến chỉ đạo (bút phê) của lãnh đạo").fill("Giao đồng chí Phúc kiểm tra, báo cáo.")
        form.locator("select[name=main]").select_option(f"user:{staff[SPECIALIST]['user_id']}")
        form.get_by_label("Thời điểm lãnh đạo bút phê").fill((now_vn() + timedelta(hours=2))
                                                              .strftime("%d/%m/%Y %H:%M"))
        form.get_by_role("button", name="Nhập thay bút phê").click()
        expect(clerk.locator("main")).to_contain_text("không được ở tương lai")   # refused, nothing recorded
        clerk.goto(f"{base}/xu-ly/{incoming}")
        form = clerk.locator("#nhap-thay")
        form.get_by_label("Ý kiến chỉ đạo (bút phê) của lãnh đạo").fill("Giao đồng chí Phúc kiểm tra, báo cáo.")
        form.locator("select[name=main]").select_option(f"user:{staff[SPECIALIST]['user_id']}")
        form.get_by_label("Thời điểm lãnh đạo bút phê").fill(written.strftime("%d/%m/%Y %H:%M"))
        shot(clerk, shots, artifacts_dir, "nhap-thay-02-nhap-but-phe.png")
        form.get_by_role("button", name="Nhập thay bút phê").click()
        expect(clerk.get_by_role("status")).to_contain_text("Đã nhập thay bút phê")
        line = clerk.locator("ol.timeline li").filter(has_text="Bút phê, phân công xử lý")
        expect(line).to_contain_text(written.strftime("%d/%m/%Y %H:%M"))      # when the leader wrote it
        expect(line).to_contain_text(staff[LEADER]["full_name"])              # the leader's step
        expect(line).to_contain_text(f"{staff[CLERK]['full_name']} nhập thay lúc")
        expect(clerk.locator("dd.directive")).to_contain_text(staff[LEADER]["full_name"])
        expect(clerk.locator("#nhap-thay")).to_have_count(0)   # directed: nothing left to enter
        shot(clerk, shots, artifacts_dir, "nhap-thay-03-lich-su.png")

        told = [n for n in leader_http.get("/api/v1/reminders").json()
                if n["kind"] == "entered_for_you" and n["ref_id"] == incoming]
        assert len(told) == 1 and staff[CLERK]["full_name"] in told[0]["title"]

        # after the assignment: the leader's further directive written on paper, in the frame of the leader's
        # directing forms (time left empty: now)
        frame = clerk.locator("#nhap-thay-dieu-hanh")
        # the leader's own directing forms are not the clerk's (a supervising grant another test of the shared
        # deployment gave the clerk may show "Đôn đốc" in #dieu-hanh: that one is not the record scope's)
        expect(clerk.locator("#dieu-hanh form:not(#don-doc)")).to_have_count(0)
        further = frame.locator("#nhap-thay-chi-dao")
        expect(further.get_by_label("Lãnh đạo đã chỉ đạo")).to_have_value(staff[LEADER]["user_id"])
        further.get_by_label("Ý kiến chỉ đạo thêm").fill("Phối hợp Phòng Tổng hợp, báo cáo trước thứ Sáu.")
        shot(clerk, shots, artifacts_dir, "nhap-thay-05-dieu-hanh.png")
        further.get_by_role("button", name="Nhập thay chỉ đạo thêm").click()
        expect(clerk.get_by_role("status")).to_contain_text("Đã nhập thay ý kiến điều hành của lãnh đạo")
        line = clerk.locator("ol.timeline li").filter(has_text="Chỉ đạo thêm")
        expect(line).to_contain_text(staff[LEADER]["full_name"])
        expect(line).to_contain_text(f"{staff[CLERK]['full_name']} nhập thay lúc")
        expect(line).to_contain_text("báo cáo trước thứ Sáu")
        # the leader's đôn đốc written on the file: the main handler is chased in the leader's name
        _enter_one_text(clerk, staff, clerk.locator("#nhap-thay-dieu-hanh #nhap-thay-don-doc"),
                        ("Lãnh đạo đã chỉ đạo", "Nội dung đôn đốc", "Nhập thay đôn đốc"),
                        "Đề nghị đồng chí Phúc báo cáo tiến độ trong ngày.",
                        "Đã nhập thay ý kiến điều hành của lãnh đạo")

        # the leader's opinion on a task the leader gave: the clerk finds it among the tasks (Công việc) and types it
        # in on the task's page (Điều 3 khoản 3: "ý kiến ... trên hồ sơ xử lý")
        task_title = f"Tổng hợp kết quả kiểm tra cải cách hành chính ({secrets.token_hex(3)})"
        made = post_json(leader_http, "/api/v1/tasks", {"title": task_title, "assignee": staff[SPECIALIST]["user_id"]})
        assert made.status_code == 201, made.text
        clerk.goto(f"{base}/cong-viec")
        clerk.get_by_role("link", name=task_title).click()
        _enter_one_text(clerk, staff, clerk.locator("#nhap-thay"),
                        ("Lãnh đạo đã cho ý kiến", "Ý kiến của lãnh đạo", "Nhập thay ý kiến"),
                        "Đồng ý phương án 2, hoàn thành trước ngày 15.", "Đã nhập thay ý kiến của lãnh đạo")

        # a draft at the leader's signing step: the leader's return written on paper is entered; approving there
        # would be the digital signature, which only the leader makes, so the form does not offer it
        prepare_agency_for_drafts(deployment, DA_NANG, LEADER)
        drafter, head = login(deployment, base, SPECIALIST), login(deployment, base, HEAD)
        title = f"Kế hoạch cải cách hành chính năm 2027 ({secrets.token_hex(3)})"
        draft_id = create_draft(drafter, title)
        assert post(drafter, draft_id, "trinh", note="Kính trình").status_code == 303
        assert post(head, draft_id, "duyet", comment="Đạt").status_code == 303
        approved_at = [c for c in drafter.get(f"/api/v1/drafts/{draft_id}").json()["comments"]
                       if c["kind"] == "approve"][-1]["at"]
        returned_at = a_minute_after(approved_at)
        clerk.goto(f"{base}/du-thao/{draft_id}")
        form = clerk.locator("#nhap-thay")
        expect(form.get_by_label("Lãnh đạo đồng ý, chuyển bước sau")).to_have_count(0)
        form.get_by_label("Lãnh đạo trả lại người soạn").check()
        form.get_by_label("Nội dung ý kiến (bắt buộc khi trả lại)").fill("Bổ sung chỉ tiêu năm 2027")
        form.get_by_label("Thời điểm lãnh đạo cho ý kiến").fill(returned_at.strftime("%d/%m/%Y %H:%M"))
        shot(clerk, shots, artifacts_dir, "nhap-thay-04-du-thao.png")
        form.get_by_role("button", name="Nhập thay ý kiến").click()
        expect(clerk.get_by_role("status")).to_contain_text("Đã nhập thay ý kiến của lãnh đạo")
        line = clerk.locator("#y-kien li").filter(has_text="Bổ sung chỉ tiêu năm 2027")
        expect(line).to_contain_text(returned_at.strftime("%d/%m/%Y %H:%M"))
        expect(line).to_contain_text(staff[LEADER]["full_name"])
        expect(line).to_contain_text(f"{staff[CLERK]['full_name']} nhập thay lúc")
        assert drafter.get(f"/api/v1/drafts/{draft_id}").json()["status"] == "returned"

        # where the agency allows paper signing, the leader's approval and hand signature is entered, with the scan
        set_paper_signing(deployment, "allowed", ADMIN)
        paper_allowed = True
        assert post(drafter, draft_id, "trinh", note="Kính trình lại").status_code == 303
        assert post(head, draft_id, "duyet", comment="Đạt").status_code == 303
        clerk.goto(f"{base}/du-thao/{draft_id}")
        paper = clerk.locator("#nhap-thay-ky-giay")
        paper.get_by_label("Ý kiến duyệt của lãnh đạo").fill("Đồng ý ban hành")
        paper.get_by_label("Bản scan văn bản giấy lãnh đạo đã ký (PDF)").set_input_files(
            {"name": "ban-scan-da-ky.pdf", "mimeType": "application/pdf", "buffer": vietnamese_pdf("BẢN SCAN", title)})
        shot(clerk, shots, artifacts_dir, "nhap-thay-06-ky-tren-giay.png")
        paper.get_by_role("button", name="Nhập thay duyệt, ký trên giấy").click()
        expect(clerk.get_by_role("status")).to_contain_text("Đã nhập thay việc lãnh đạo duyệt, ký trên giấy")
        signed = clerk.locator("#ky-tren-giay")
        expect(signed).to_contain_text(f"{staff[LEADER]['full_name']} đã duyệt và ký bản giấy")
        expect(signed).to_contain_text(f"{staff[CLERK]['full_name']} nhập thay lúc")
        expect(signed.get_by_role("link", name="Xem bản scan (PDF)")).to_be_visible()
        assert drafter.get(f"/api/v1/drafts/{draft_id}").json()["status"] == "paper_approved"
        for client in (drafter, head):
            client.close()
    finally:
        if paper_allowed:
            set_paper_signing(deployment, "no", ADMIN)
        ended = post_json(leader_http, f"/api/v1/delegations/{grant['delegation_id']}/revoke", {})
        assert ended.status_code == 200, ended.text
        for client in (clerk_http, leader_http):
            client.close()
    screenshots.publish(shots)


def _enter_one_text(clerk, staff, form, labels: tuple[str, str, str], text: str, done: str) -> None:
    """A form of one text typed in for the leader (time left empty: now); the timeline line names the leader and
    who typed it."""
    leader_label, text_label, button = labels
    expect(form.get_by_label(leader_label)).to_have_value(staff[LEADER]["user_id"])
    form.get_by_label(text_label).fill(text)
    form.get_by_role("button", name=button).click()
    expect(clerk.get_by_role("status")).to_contain_text(done)
    line = clerk.locator("ol.timeline li").filter(has_text=text)
    expect(line).to_contain_text(staff[LEADER]["full_name"])
    expect(line).to_contain_text(f"{staff[CLERK]['full_name']} nhập thay lúc")


def _api(client):
    """The clerk's signed-in client, sending the page's CSRF token with its writes (paper_arrival posts forms)."""
    from tests.e2e.helpers import csrf_of

    client.headers["x-csrf-token"] = csrf_of(client.get("/").text)
    return client
