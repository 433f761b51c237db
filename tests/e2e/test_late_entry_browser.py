"""Late entry after an outage (issue 18 item 3; TP.HCM Đ3.4, Hưng Yên Đ4.2), in Chromium and over the REST API.

Tuyên Quang sends two documents to Đà Nẵng. Đà Nẵng's clerk registers the first on the screen with the time it
was really registered on paper while the software was down: a time before the document arrived is refused, the
right one is kept, the history and the register say "nhập muộn" with who entered it and when. The second is
registered over the API (a time in the future refused; the same Idempotency-Key registers once).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Locator, expect

from services.common.clock import now_vn, to_vn
from tests import screenshots
from tests.e2e.helpers import csrf_of, demo_home, vietnamese_pdf, wait_for
from tests.e2e.test_recall_browser import shot
from tests.gateway.test_handling_flow import CLERK, CLERK_TQ, HEAD, LEADER, RECEIVER, SPECIALIST, login

pytestmark = pytest.mark.browser
PATIENCE = 240


def sent_to_da_nang(sender: httpx.Client, receiver: httpx.Client, subject: str) -> dict:
    """Sent over the API by Tuyên Quang; Đà Nẵng's waiting document, once it arrived."""
    web = sender.get("/van-ban-di/gui").text
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', web).group(1)
    sent = sender.post("/api/v1/outgoing", headers={"x-csrf-token": csrf_of(web)}, data={
        "code_number": number, "code_notation": "UBND-VP", "promulgation_date": now_vn().date().isoformat(),
        "type_code": "CV", "subject": subject, "recipients": [RECEIVER], "accept_not_legally_valid": "true"},
        files={"file": ("cong-van.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject),
                        "application/pdf")})
    assert sent.status_code == 201, sent.text

    def arrived():
        items = receiver.get("/api/v1/incoming/waiting-reception", params={"size": 100}).json()["items"]
        return next((i for i in items if i["subject"] == subject), None)

    return wait_for(arrived, PATIENCE, f"{subject} waiting in Đà Nẵng")


def a_second_after(moment_text: str) -> datetime:
    """The API takes seconds: the first whole second after a moment, once it is past (about a second's wait)."""
    moment = (to_vn(datetime.fromisoformat(moment_text)) + timedelta(seconds=1)).replace(microsecond=0)
    wait_for(lambda: now_vn() >= moment, 10, "a second after")
    return moment


def a_minute_after(arrived_at: str) -> datetime:
    """The first whole minute after the arrival, once it is past: the screen's field takes minutes."""
    moment = to_vn(datetime.fromisoformat(arrived_at)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    wait_for(lambda: now_vn() >= moment, 120, "a whole minute after the arrival")
    return moment


def fill_late(form: Locator, moment: datetime) -> None:
    """Open a form's "Nhập muộn sau sự cố" and type the real time (the field takes minutes)."""
    form.get_by_text("Nhập muộn sau sự cố").click()
    form.get_by_label("Thời điểm thực tế").fill(moment.strftime("%d/%m/%Y %H:%M"))


def test_registration_entered_after_an_outage_keeps_its_real_time(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    sender, receiver_http = login(deployment, base, CLERK_TQ), login(deployment, base, CLERK)
    subject = f"Về việc kiểm tra công tác phòng cháy ({secrets.token_hex(3)})"
    doc = sent_to_da_nang(sender, receiver_http, subject)
    second = sent_to_da_nang(sender, receiver_http, f"{subject} (2)")  # for the API part below
    real = a_minute_after(doc["received_at"])
    shots = []

    clerk = demo_home(browser, base, deployment, CLERK)
    clerk.goto(f"{base}/van-ban/{doc['id']}")
    form = clerk.locator("#tiep-nhan")
    fill_late(form, real - timedelta(days=1))
    form.get_by_role("button", name="Tiếp nhận và vào sổ").click()
    expect(clerk.locator("main")).to_contain_text("không được trước lúc văn bản đến")
    clerk.goto(f"{base}/van-ban/{doc['id']}")
    form = clerk.locator("#tiep-nhan")
    fill_late(form, real)
    shot(clerk, shots, artifacts_dir, "nhap-muon-01-tiep-nhan.png")
    form.get_by_role("button", name="Tiếp nhận và vào sổ").click()
    expect(clerk.get_by_role("status")).to_have_text("Đã tiếp nhận và vào sổ văn bản đến.")
    line = clerk.locator("ol.trace").last.locator("li").filter(has_text="Vào sổ văn bản đến")
    expect(line).to_contain_text(real.strftime("%d/%m/%Y %H:%M"))
    expect(line).to_contain_text("nhập muộn")
    expect(line).to_contain_text("Trần Văn Nam")
    expect(line).to_contain_text("nhập lúc")
    shot(clerk, shots, artifacts_dir, "nhap-muon-02-lich-su.png")
    clerk.goto(f"{base}/van-ban-den")
    expect(clerk.get_by_role("row").filter(has_text=subject)).to_contain_text("nhập muộn")
    registered = receiver_http.get(f"/api/v1/incoming/{doc['id']}").json()
    assert registered["late_entry"] and datetime.fromisoformat(registered["happened_at"]) == real
    entry = next(h for h in registered["history"] if h["action"] == "registered")
    assert entry["late_entry"] and entry["username"] == CLERK and entry["at"] > entry["happened_at"]

    # over the API: not in the future; one Idempotency-Key, one registration
    path = f"/api/v1/incoming/{second['id']}/late-registration"
    headers = {"x-csrf-token": csrf_of(receiver_http.get("/").text), "Idempotency-Key": secrets.token_hex(8)}
    future = receiver_http.post(path, json={"happened_at": (now_vn() + timedelta(hours=2)).isoformat()},
                                headers=headers)
    assert future.status_code == 422 and future.json()["code"] == "future_date", future.text
    when = a_second_after(second["received_at"]).replace(tzinfo=None).isoformat()  # Vietnam time, no zone
    for _ in range(2):
        r = receiver_http.post(path, json={"happened_at": when}, headers=headers)
        assert r.status_code == 200, r.text
    assert [h["action"] for h in r.json()["history"]].count("registered") == 1 and r.json()["late_entry"]
    for client in (sender, receiver_http):
        client.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`


def post_json(client: httpx.Client, path: str, body: dict, **headers: str) -> httpx.Response:
    return client.post(path, json=body, headers={"x-csrf-token": csrf_of(client.get("/").text), **headers})


def test_directive_and_close_entered_after_an_outage_over_the_api(deployment):
    """The clerk's submission, the leader's directive and the handler's close, done on paper during the outage,
    entered over the API with their real times; the handling's history keeps both times and who entered them."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    sender, clerk = login(deployment, base, CLERK_TQ), login(deployment, base, CLERK)
    leader, handler = login(deployment, base, LEADER), login(deployment, base, SPECIALIST)
    doc = sent_to_da_nang(sender, clerk, f"Về việc phòng chống bão lũ ({secrets.token_hex(3)})")

    post = post_json
    assert post(clerk, f"/api/v1/incoming/{doc['id']}/register", {}).status_code == 200
    wait_for(lambda: clerk.get(f"/api/v1/handling/{doc['id']}").status_code == 200, PATIENCE, "the handling opened")
    registered = datetime.fromisoformat(clerk.get(f"/api/v1/handling/{doc['id']}").json()["history"][0]["at"])
    staff = {p["username"]: p["user_id"] for p in clerk.get("/api/v1/staff").json()}
    directed_at = a_second_after(registered.isoformat())
    typed = directed_at.strftime("%Y-%m-%dT%H:%M:%S")
    submitted = post(clerk, f"/api/v1/handling/{doc['id']}/submit", {
        "to_user_id": staff[LEADER], "happened_at": typed})
    assert submitted.status_code == 200, submitted.text
    future = post(leader, f"/api/v1/handling/{doc['id']}/direct", {
        "directive": "Đồng chí Phúc xử lý", "main": {"user_id": staff[SPECIALIST]},
        "happened_at": (now_vn() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    assert future.status_code == 422 and future.json()["code"] == "future_date", future.text
    directed = post(leader, f"/api/v1/handling/{doc['id']}/direct", {
        "directive": "Đồng chí Phúc xử lý", "main": {"user_id": staff[SPECIALIST]},
        "happened_at": typed})
    assert directed.status_code == 200, directed.text
    closed = post(handler, f"/api/v1/handling/{doc['id']}/close", {
        "note": "Đã xử lý tại cuộc họp", "happened_at": typed})
    assert closed.status_code == 200 and closed.json()["status"] == "done", closed.text
    history = {e["action"]: e for e in clerk.get(f"/api/v1/handling/{doc['id']}").json()["history"]}
    for action, who in (("submitted", staff[CLERK]), ("directed", staff[LEADER]),
                        ("done_no_action", staff[SPECIALIST])):
        entry = history[action]
        assert entry["data"]["late_entry"] and entry["user_id"] == who
        assert datetime.fromisoformat(entry["data"]["happened_at"]) == directed_at
        assert datetime.fromisoformat(entry["at"]) >= directed_at
    for client in (sender, clerk, leader, handler):
        client.close()


def test_pause_resume_and_opinion_entered_after_an_outage(deployment, browser, artifacts_dir):
    """The handler paused the document and took it up again on paper during the outage: both entered on the screen
    in Chromium with their real times (a resumption before the pause refused over the API); the coordinating head's
    opinion given on paper entered over the API (a time in the future refused, the same Idempotency-Key once)."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    sender, clerk = login(deployment, base, CLERK_TQ), login(deployment, base, CLERK)
    leader, head = login(deployment, base, LEADER), login(deployment, base, HEAD)
    doc = sent_to_da_nang(sender, clerk, f"Về việc rà soát hồ sơ đất đai ({secrets.token_hex(3)})")
    assert post_json(clerk, f"/api/v1/incoming/{doc['id']}/register", {}).status_code == 200
    wait_for(lambda: clerk.get(f"/api/v1/handling/{doc['id']}").status_code == 200, PATIENCE, "the handling opened")
    staff = {p["username"]: p["user_id"] for p in clerk.get("/api/v1/staff").json()}
    assert post_json(clerk, f"/api/v1/handling/{doc['id']}/submit", {"to_user_id": staff[LEADER]}).status_code == 200
    directed = post_json(leader, f"/api/v1/handling/{doc['id']}/direct", {
        "directive": "Đồng chí Phúc chủ trì, đồng chí Hằng phối hợp", "main": {"user_id": staff[SPECIALIST]},
        "coordinators": [{"user_id": staff[HEAD]}]})
    assert directed.status_code == 200, directed.text
    last_step = clerk.get(f"/api/v1/handling/{doc['id']}").json()["history"][-1]["at"]
    # The refusals go over the API, which takes seconds: the second after the directive (the history shows whole
    # seconds, so the directive's own second may be before the registration's instant) is after every earlier step.
    # The screen's field takes minutes: the pause and the resumption at the first whole minute after that second
    # (one wait of under a minute).
    between = a_second_after(last_step)
    real = a_minute_after(between.isoformat())
    shots = []

    handler = demo_home(browser, base, deployment, SPECIALIST)
    handler.goto(f"{base}/xu-ly/{doc['id']}")
    form = handler.locator("form[action$='/tam-dung']")
    form.get_by_label("Lý do tạm dừng chờ").fill("Chờ Sở Tài nguyên và Môi trường cung cấp hồ sơ")
    fill_late(form, real)
    shot(handler, shots, artifacts_dir, "nhap-muon-03-tam-dung.png")
    form.get_by_role("button", name="Tạm dừng chờ").click()
    expect(handler.get_by_role("status")).to_have_text("Đã tạm dừng chờ.")
    handler_http = login(deployment, base, SPECIALIST)
    early = post_json(handler_http, f"/api/v1/handling/{doc['id']}/resume", {"happened_at": between.isoformat()})
    assert early.status_code == 422 and early.json()["code"] == "before_previous_step", early.text
    handler.goto(f"{base}/xu-ly/{doc['id']}")
    form = handler.locator("form[action$='/tiep-tuc']")
    fill_late(form, real)
    form.get_by_role("button", name="Tiếp tục xử lý").click()
    expect(handler.get_by_role("status")).to_have_text("Đã tiếp tục xử lý.")
    for label in ("Tạm dừng chờ", "Tiếp tục xử lý"):
        line = handler.locator("ol.timeline li").filter(has_text=f"{label} nhập muộn")
        expect(line).to_contain_text(real.strftime("%d/%m/%Y %H:%M"))
        expect(line).to_contain_text("Huỳnh Văn Phúc")
        expect(line).to_contain_text("nhập lúc")
    shot(handler, shots, artifacts_dir, "nhap-muon-04-tam-dung-tiep-tuc.png")

    # the coordinating head's opinion over the API
    path, headers = f"/api/v1/handling/{doc['id']}/opinion", {"Idempotency-Key": secrets.token_hex(8)}
    future = post_json(head, path, {"note": "Thống nhất", "happened_at": (now_vn() + timedelta(hours=1))
                                    .strftime("%Y-%m-%dT%H:%M")})
    assert future.status_code == 422 and future.json()["code"] == "future_date", future.text
    early = post_json(head, path, {"note": "Thống nhất", "happened_at": between.isoformat()})
    assert early.status_code == 422 and early.json()["code"] == "before_previous_step", early.text
    typed = real.strftime("%Y-%m-%dT%H:%M")
    for _ in range(2):
        r = post_json(head, path, {"note": "Phòng thống nhất với đề xuất", "happened_at": typed}, **headers)
        assert r.status_code == 200, r.text
    history = clerk.get(f"/api/v1/handling/{doc['id']}").json()["history"]
    for action, who in (("waiting", staff[SPECIALIST]), ("resumed", staff[SPECIALIST]), ("opinion", staff[HEAD])):
        entries = [e for e in history if e["action"] == action]
        assert len(entries) == 1 and entries[0]["user_id"] == who, (action, entries)
        assert entries[0]["data"]["late_entry"] and datetime.fromisoformat(entries[0]["data"]["happened_at"]) == real
    for client in (sender, clerk, leader, head, handler_http):
        client.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`
