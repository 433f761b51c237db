"""Nhập thay over the REST API against the real deployment (TP.HCM QĐ 23/QĐ-VP Điều 3.2): the leader grants the clerk
the scope `record` (POST /delegations); the clerk enters the leader's paper directive on a paper arrival and the
leader's return of a draft, with their real times. Recorded as the leader's with who typed it; the same entry sent
again is recorded once; refused without a grant, for someone who is not a leader, for the digital signature, to
another agency and once the grant is revoked. The grant is revoked at the end (the deployment is shared)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from services.common.clock import now_vn, to_vn
from tests.e2e.helpers import vietnamese_pdf, wait_for
from tests.gateway.test_api_late_drafting import new_draft, typed
from tests.gateway.test_api_writes import CLERK, CLERK_17, HEAD, LEADER, SPECIALIST, api, key, me, ok, refused  # noqa: F401

# No grant in force: never one, or one an earlier test of the shared deployment revoked (the leader and the clerk
# are the same in every test of nhập thay); routing's tests tell the two apart.
NO_GRANT = ("no_entry_grant", "entry_grant_ended")


def paper_arrival(clerk, subject: str) -> str:
    """A paper letter registered by the clerk (the quickest way to an incoming document in routing)."""
    arrived = ok(clerk.post("/api/v1/incoming/paper", headers=key(), data={
        "code_number": str(100 + secrets.randbelow(9000)), "code_notation": "BNV-VP", "subject": subject,
        "organ_name": "Bộ Nội vụ", "issued_date": now_vn().date().isoformat()},
        files={"files": ("ban-giay.pdf", vietnamese_pdf("BỘ NỘI VỤ", subject), "application/pdf")}), 201)
    wait_for(lambda: clerk.get(f"/api/v1/handling/{arrived['id']}").status_code == 200, 120, "routing's handling")
    return arrived["id"]


def just_after(moment_text: str) -> datetime:
    """The first whole second after a step (the API takes seconds), once it is past: a real time that is after
    the previous step and not in the future (about a second's wait)."""
    moment = (to_vn(datetime.fromisoformat(moment_text)) + timedelta(seconds=1)).replace(microsecond=0)
    wait_for(lambda: now_vn() >= moment, 10, "a second after the previous step")
    return moment


def test_the_clerk_enters_the_leaders_paper_decisions_over_the_api(deployment, api):  # noqa: F811
    clerk, leader, head, specialist, other = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST), api(CLERK_17)
    leader_id, clerk_id, head_unit = me(leader)["user_id"], me(clerk)["user_id"], me(head)["unit"]
    incoming = paper_arrival(clerk, f"Về việc kiểm tra công tác văn thư ({secrets.token_hex(3)})")
    submitted = ok(clerk.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}))
    written = just_after(submitted["history"][-1]["at"] if submitted.get("history") else now_vn().isoformat())
    body = {"leader_user_id": leader_id, "directive": "Giao Phòng Tổng hợp kiểm tra, báo cáo.",
            "main": {"unit": head_unit}, "happened_at": written.replace(tzinfo=None).isoformat()}
    path = f"/api/v1/handling/{incoming}/enter-for-leader"
    assert refused(clerk.post(path, json=body), 403)["code"] in NO_GRANT

    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=1)
    grant = ok(leader.post("/api/v1/delegations", headers=key(), json={
        "delegate_user_id": clerk_id, "starts_at": typed(start), "ends_at": typed(start + timedelta(days=1)),
        "scopes": ["record"], "note": "Văn phòng nhập thay ý kiến bút phê"}), 201)
    try:
        assert grant["scopes"] == ["record"] and grant["active"]
        future = refused(clerk.post(path, json={**body, "happened_at": typed(now_vn() + timedelta(hours=1))}), 422)
        assert future["code"] == "future_date"
        assert refused(clerk.post(path, json={**body, "leader_user_id": me(head)["user_id"]}), 403)["code"] \
            == "not_a_leader"
        refused(specialist.post(path, json=body), 403)    # no grant of their own
        refused(other.post(path, json=body), 404)         # another agency: neither the leader nor the document
        first_key = key()
        directed = ok(clerk.post(path, json=body, headers=first_key))
        assert ok(clerk.post(path, json=body, headers=first_key)) == directed      # the same request, replayed
        assert ok(clerk.post(path, json=body))["status"] == "assigned"             # sent again without its key
        assert (directed["status"], directed["directed_by"]) == ("assigned", leader_id)
        history = [e for e in ok(clerk.get(f"/api/v1/handling/{incoming}"))["history"] if e["action"] == "directed"]
        assert len(history) == 1
        assert history[0]["user_id"] == leader_id and history[0]["data"]["entered_by"] == clerk_id
        assert history[0]["data"]["happened_at"] == written.isoformat()
        told = ok(leader.get("/api/v1/reminders"))
        assert any(n["kind"] == "entered_for_you" and n["ref_id"] == incoming for n in told)

        # a draft at the leader's signing step: the return is entered, the signature never
        draft_id = new_draft(specialist, f"V/v kế hoạch kiểm tra văn thư ({secrets.token_hex(3)})")
        ok(specialist.post(f"/api/v1/drafts/{draft_id}/submit", json={"note": "Kính trình"}))
        step = ok(head.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "Đạt"}))["step"]
        assert step["signs"]
        draft_path = f"/api/v1/drafts/{draft_id}/enter-for-leader"
        decision = {"leader_user_id": leader_id, "decision": "approve", "step": step["key"], "comment": "Ký"}
        assert refused(clerk.post(draft_path, json=decision), 422)["code"] == "signature_not_entered_for_another"
        assert refused(clerk.post(draft_path, json={**decision, "step": "khac"}), 409)["code"] == "step_moved"
        refused(other.post(draft_path, json=decision), 404)
        approved_at = [c for c in ok(specialist.get(f"/api/v1/drafts/{draft_id}"))["comments"]
                       if c["kind"] == "approve"][-1]["at"]
        returned_at = just_after(approved_at).replace(tzinfo=None).isoformat()
        back = {**decision, "decision": "return", "comment": "Bổ sung kế hoạch chi tiết", "happened_at": returned_at}
        assert ok(clerk.post(draft_path, json=back, headers=key()))["status"] == "returned"
        assert ok(clerk.post(draft_path, json=back))["status"] == "returned"   # the same entry, once
        entered = [c for c in ok(specialist.get(f"/api/v1/drafts/{draft_id}"))["comments"] if c.get("entered_by")]
        assert [(c["kind"], c["user_id"], c["entered_by"]) for c in entered] == [("return", leader_id, clerk_id)]
    finally:
        ok(leader.post(f"/api/v1/delegations/{grant['delegation_id']}/revoke", headers=key()))
    ended = refused(clerk.post(path, json=body), 403)
    assert ended["code"] == "entry_grant_ended"


def test_the_entrant_finds_the_documents_submitted_to_the_leader_in_their_own_tab(deployment, api):  # noqa: F811
    """The clerk a leader entrusted with nhập thay gets the tab "Chờ cho ý kiến, chỉ đạo" (and, on the home page,
    "Chờ nhập thay bút phê") while the grant is in force; a clerk without one is not offered the tab."""
    from tests.gateway.test_handling_flow import login, section

    clerk, leader = api(CLERK), api(LEADER)
    leader_id, clerk_id = me(leader)["user_id"], me(clerk)["user_id"]
    screen = login(deployment, f"http://127.0.0.1:{deployment.topology.gateway_port}", CLERK)
    tab = 'href="/xu-ly?hop=cho-y-kien"'
    assert tab not in screen.get("/xu-ly").text
    assert "<h1>Văn bản cần xử lý</h1>" in screen.get("/xu-ly?hop=cho-y-kien").text   # not offered: the first tab
    subject = f"Về việc rà soát thủ tục hành chính ({secrets.token_hex(3)})"
    incoming = paper_arrival(clerk, subject)
    ok(clerk.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}))
    assert incoming not in [h["incoming_id"] for h in ok(clerk.get("/api/v1/handling?box=to_direct"))]

    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=1)
    grant = ok(leader.post("/api/v1/delegations", headers=key(), json={
        "delegate_user_id": clerk_id, "starts_at": typed(start), "ends_at": typed(start + timedelta(days=1)),
        "scopes": ["record"], "note": "Văn phòng nhập thay ý kiến bút phê"}), 201)
    try:
        assert incoming in [h["incoming_id"] for h in ok(clerk.get("/api/v1/handling?box=to_direct"))]
        assert tab in screen.get("/xu-ly").text
        box = screen.get("/xu-ly?hop=cho-y-kien").text
        assert "<h1>Chờ cho ý kiến, chỉ đạo</h1>" in box and subject in box and f"/xu-ly/{incoming}" in box
        # the home page's panel shows the first ten of the leader's (a shared deployment may hold more)
        assert 'href="/xu-ly?hop=cho-y-kien"' in section(screen.get("/").text, "Chờ nhập thay bút phê")
    finally:
        ok(leader.post(f"/api/v1/delegations/{grant['delegation_id']}/revoke", headers=key()))
    assert incoming not in [h["incoming_id"] for h in ok(clerk.get("/api/v1/handling?box=to_direct"))]
    assert tab not in screen.get("/xu-ly").text
    assert "Chờ nhập thay bút phê" not in screen.get("/").text
    screen.close()
