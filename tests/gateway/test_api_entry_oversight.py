"""Nhập thay after the first assignment against the real deployment (TP.HCM QĐ 23/QĐ-VP Điều 3.2): the leader
directed a paper letter themself; their later đôn đốc, chỉ đạo thêm, điều chỉnh hạn, giao lại and thu hồi, written on
paper,
are typed in by the clerk they entrusted (scope `record`), over the REST API and on the handling page's frame "Nhập
thay ý kiến điều hành của lãnh đạo". Recorded as the leader's with who typed it; the same operation sent again is
done once; refused without a grant, to a person who is not that leader's entrant and to another agency. The grant
is revoked at the end (the deployment is shared)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from services.common.clock import now_vn
from tests.e2e.helpers import csrf_of
from tests.gateway.test_api_entry_for_leader import NO_GRANT, just_after, paper_arrival
from tests.gateway.test_api_late_drafting import typed
from tests.gateway.test_api_writes import CLERK, CLERK_17, HEAD, LEADER, SPECIALIST, api, key, me, ok, refused  # noqa: F401


def directed_by_leader(clerk, leader, leader_id: str, head_unit: str) -> tuple[str, dict]:
    incoming = paper_arrival(clerk, f"Về việc tổng kết công tác năm ({secrets.token_hex(3)})")
    ok(clerk.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}))
    ok(leader.post(f"/api/v1/handling/{incoming}/direct", json={"directive": "Phòng Tổng hợp chủ trì",
                                                                "main": {"unit": head_unit}}))
    return incoming, ok(leader.get(f"/api/v1/handling/{incoming}"))


def test_the_clerk_enters_the_leaders_later_directions_over_the_api_and_the_page(deployment, api):  # noqa: F811
    from tests.gateway.test_handling_flow import login

    clerk, leader, head, specialist, other = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST), api(CLERK_17)
    leader_id, clerk_id, head_unit = me(leader)["user_id"], me(clerk)["user_id"], me(head)["unit"]
    incoming, directed = directed_by_leader(clerk, leader, leader_id, head_unit)
    path = f"/api/v1/handling/{incoming}/enter-for-leader"
    body = {"leader_user_id": leader_id, "text": "Lấy ý kiến các phòng trước khi trình",
            "happened_at": just_after(directed["history"][-1]["at"]).replace(tzinfo=None).isoformat()}
    assert refused(clerk.post(f"{path}/directive", json=body, headers=key()), 403)["code"] in NO_GRANT
    screen = login(deployment, f"http://127.0.0.1:{deployment.topology.gateway_port}", CLERK)
    assert 'id="nhap-thay-dieu-hanh"' not in screen.get(f"/xu-ly/{incoming}").text

    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=1)
    grant = ok(leader.post("/api/v1/delegations", headers=key(), json={
        "delegate_user_id": clerk_id, "starts_at": typed(start), "ends_at": typed(start + timedelta(days=1)),
        "scopes": ["record"], "note": "Văn phòng nhập thay ý kiến chỉ đạo"}), 201)
    try:
        refused(specialist.post(f"{path}/directive", json=body, headers=key()), 403)   # not the leader's entrant
        refused(other.post(f"{path}/directive", json=body, headers=key()), 404)        # another agency
        refused(clerk.post(f"{path}/directive", json=body), 422)                       # the operation is named
        assert refused(clerk.post(f"{path}/directive", json={**body, "leader_user_id": me(head)["user_id"]},
                                  headers=key()), 403)["code"] == "not_a_leader"
        operation = key()
        once = ok(clerk.post(f"{path}/directive", json=body, headers=operation))
        assert ok(clerk.post(f"{path}/directive", json=body, headers=operation)) == once   # redelivered: once
        steps = [e for e in once["history"] if e["action"] == "directive_added"]
        assert len(steps) == 1 and steps[0]["user_id"] == leader_id and steps[0]["data"]["entered_by"] == clerk_id
        assert steps[0]["data"]["happened_at"] == f"{body['happened_at']}+07:00"
        later = ok(clerk.post(f"{path}/deadline", headers=key(), json={
            "leader_user_id": leader_id, "deadline": (now_vn() + timedelta(days=20)).date().isoformat(),
            "reason": "Chờ số liệu của các phòng"}))
        assert later["deadline_source"] == "changed"
        assert later["history"][-1]["user_id"] == leader_id and later["history"][-1]["data"]["entered_by"] == clerk_id
        refused(specialist.post(f"{path}/chase", json={"leader_user_id": leader_id, "note": "x"}, headers=key()),
                403)
        refused(other.post(f"{path}/chase", json={"leader_user_id": leader_id, "note": "x"}, headers=key()), 404)
        chase, operation = {"leader_user_id": leader_id, "note": "Đề nghị báo cáo tiến độ"}, key()
        for _ in range(2):   # sent again with the same operation: once
            chased = ok(clerk.post(f"{path}/chase", json=chase, headers=operation))
        steps = [e for e in chased["history"] if e["action"] == "chased"]
        assert [(e["user_id"], e["note"], e["data"]["entered_by"]) for e in steps] == [
            (leader_id, "Đề nghị báo cáo tiến độ", clerk_id)]
        assert any(n["kind"] == "chase" and n["ref_id"] == incoming and n["body"].startswith(me(leader)["full_name"])
                   for n in ok(head.get("/api/v1/reminders")))   # the main unit's head hears the leader
        told = [n for n in ok(leader.get("/api/v1/reminders")) if n["kind"] == "entered_for_you"
                and n["ref_id"] == incoming]
        assert len(told) == 3

        # the page: the clerk's frame of the leader's forms, giving the main handling to the specialist
        page = screen.get(f"/xu-ly/{incoming}").text
        assert 'id="nhap-thay-dieu-hanh"' in page and 'id="dieu-hanh"' not in page   # the leader's own: not theirs
        assert 'id="nhap-thay-don-doc"' in page
        form = {"csrf_token": csrf_of(page), "leader_user_id": leader_id, "operation": secrets.token_urlsafe(9),
                "main": f"user:{me(specialist)['user_id']}", "note": "Đồng chí Trang trực tiếp xử lý"}
        for _ in range(2):   # a double click: once
            sent = screen.post(f"/xu-ly/{incoming}/nhap-thay/giao-xu-ly", data=form)
            assert sent.status_code == 303 and sent.headers["location"].endswith("ket-qua=da-nhap-thay-dieu-hanh")
        history = ok(clerk.get(f"/api/v1/handling/{incoming}"))["history"]
        moved = [e for e in history if e["action"] == "handlers_changed"]
        assert len(moved) == 1 and (moved[0]["user_id"], moved[0]["data"]["entered_by"]) == (leader_id, clerk_id)
        shown = screen.get(f"/xu-ly/{incoming}?ket-qua=da-nhap-thay-dieu-hanh").text
        assert "Đã nhập thay ý kiến điều hành của lãnh đạo" in shown and "nhập thay lúc" in shown
        taken = screen.post(f"/xu-ly/{incoming}/nhap-thay/thu-hoi", data={
            "csrf_token": csrf_of(shown), "leader_user_id": leader_id, "operation": secrets.token_urlsafe(9),
            "reason": "Lãnh đạo giao lại từ đầu"})
        assert taken.status_code == 303
        back = ok(clerk.get(f"/api/v1/handling/{incoming}"))
        assert (back["status"], back["submitted_to"]) == ("submitted", leader_id)
        assert 'id="nhap-thay"' in screen.get(f"/xu-ly/{incoming}").text   # now the bút phê is entered again
    finally:
        ok(leader.post(f"/api/v1/delegations/{grant['delegation_id']}/revoke", headers=key()))
        screen.close()
    ended = refused(clerk.post(f"{path}/take-back", json={"leader_user_id": leader_id, "reason": "x"},
                               headers=key()), 403)
    assert ended["code"] == "entry_grant_ended"


def test_the_clerk_enters_the_leaders_opinion_on_a_task_over_the_api_and_the_page(deployment, api):  # noqa: F811
    """TP.HCM QĐ 23/QĐ-VP Điều 3 khoản 3 ("Các ý kiến ... trên văn bản đến và trên hồ sơ xử lý"): the leader's
    opinion on a task they gave, typed in by the clerk over the REST API and on the task page; the clerk reads the
    leader's tasks only while the grant is in force, and does nothing else on them."""
    from tests.gateway.test_handling_flow import login

    clerk, leader, specialist, other = api(CLERK), api(LEADER), api(SPECIALIST), api(CLERK_17)
    leader_id, clerk_id, specialist_id = me(leader)["user_id"], me(clerk)["user_id"], me(specialist)["user_id"]
    task = ok(leader.post("/api/v1/tasks", headers=key(), json={
        "title": f"Tổng hợp báo cáo quý ({secrets.token_hex(3)})", "assignee": specialist_id}), 201)["task_id"]
    path, body = f"/api/v1/tasks/{task}/enter-for-leader", {"leader_user_id": leader_id, "text": "Bổ sung số liệu"}
    assert refused(clerk.post(path, json=body, headers=key()), 403)["code"] in NO_GRANT
    refused(clerk.get(f"/api/v1/tasks/{task}"), 403)
    screen = login(deployment, f"http://127.0.0.1:{deployment.topology.gateway_port}", CLERK)
    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=1)
    grant = ok(leader.post("/api/v1/delegations", headers=key(), json={
        "delegate_user_id": clerk_id, "starts_at": typed(start), "ends_at": typed(start + timedelta(days=1)),
        "scopes": ["record"], "note": "Văn phòng nhập thay ý kiến trên công việc"}), 201)
    try:
        refused(specialist.post(path, json=body, headers=key()), 403)   # not the leader's entrant
        refused(other.post(path, json=body, headers=key()), 404)        # another agency
        refused(clerk.post(path, json=body), 422)                       # the operation is named
        operation = key()
        once = ok(clerk.post(path, json=body, headers=operation))
        assert ok(clerk.post(path, json=body, headers=operation)) == once   # sent again: once
        assert [(c["user_id"], c["text"], c["entered_by"]) for c in once["comments"]] == [
            (leader_id, "Bổ sung số liệu", clerk_id)]
        assert any(n["kind"] == "task_comment" and str(n["ref_id"]) == str(task) and n["body"].startswith(
            me(leader)["full_name"]) for n in ok(specialist.get("/api/v1/reminders")))
        refused(clerk.post(f"/api/v1/tasks/{task}/comments", json={"text": "Ý kiến riêng"}), 403)

        page = screen.get(f"/cong-viec/{task}").text
        assert 'id="nhap-thay"' in page and "Gửi ý kiến" not in page   # the clerk's own comment: not theirs
        form = {"csrf_token": csrf_of(page), "leader_user_id": leader_id, "operation": secrets.token_urlsafe(9),
                "text": "Lãnh đạo đồng ý phương án 2"}
        for _ in range(2):   # a double click: once
            sent = screen.post(f"/cong-viec/{task}/nhap-thay", data=form)
            assert sent.status_code == 303 and sent.headers["location"].endswith("ket-qua=da-nhap-thay")
        comments = ok(leader.get(f"/api/v1/tasks/{task}"))["comments"]
        assert [c["text"] for c in comments] == ["Bổ sung số liệu", "Lãnh đạo đồng ý phương án 2"]
        shown = screen.get(f"/cong-viec/{task}?ket-qua=da-nhap-thay").text
        assert "Đã nhập thay ý kiến của lãnh đạo" in shown and "nhập thay lúc" in shown
    finally:
        ok(leader.post(f"/api/v1/delegations/{grant['delegation_id']}/revoke", headers=key()))
        screen.close()
    refused(clerk.get(f"/api/v1/tasks/{task}"), 403)
    assert refused(clerk.post(path, json=body, headers=key()), 403)["code"] == "entry_grant_ended"
