"""A deadline on a day already past over the REST API against the real deployment: the bút phê, the deadline change
and a new task are refused 422 `deadline_past` with the Vietnamese message and the field (Đà Nẵng QĐ 8849 Điều 7.1);
today's day is kept."""

from __future__ import annotations

import secrets
from datetime import timedelta

from services.common.clock import now_vn
from tests.gateway.test_api_entry_for_leader import paper_arrival
from tests.gateway.test_api_writes import CLERK, LEADER, SPECIALIST, api, key, me, ok, refused  # noqa: F401


def test_a_day_already_past_is_refused_422_deadline_past(deployment, api):  # noqa: F811
    clerk, leader, specialist = api(CLERK), api(LEADER), api(SPECIALIST)
    leader_id, specialist_id = me(leader)["user_id"], me(specialist)["user_id"]
    incoming = paper_arrival(clerk, f"Về việc rà soát hạn xử lý ({secrets.token_hex(3)})")
    ok(clerk.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}))
    today = now_vn().date()
    yesterday, a_year_ago = (today - timedelta(days=1)).isoformat(), (today - timedelta(days=365)).isoformat()

    body = {"directive": "Đồng chí Trang nghiên cứu, tham mưu.", "main": {"user_id": specialist_id},
            "deadline": a_year_ago}
    problem = refused(leader.post(f"/api/v1/handling/{incoming}/direct", json=body), 422)
    assert problem["code"] == "deadline_past" and problem["errors"]["field"] == "deadline"
    assert problem["title"].startswith(f"Hạn xử lý {(today - timedelta(days=365)).strftime('%d/%m/%Y')} đã qua")
    assert ok(leader.get(f"/api/v1/handling/{incoming}"))["status"] == "submitted"  # nothing recorded
    in_a_week = (today + timedelta(days=7)).isoformat()
    directed = ok(leader.post(f"/api/v1/handling/{incoming}/direct", json={**body, "deadline": in_a_week}))
    assert directed["deadline"].startswith(in_a_week) and directed["deadline_source"] == "leader"

    changed = leader.post(f"/api/v1/handling/{incoming}/deadline", headers=key(),
                          json={"deadline": yesterday, "reason": "Nhầm ngày"})
    problem = refused(changed, 422)
    assert problem["code"] == "deadline_past" and problem["errors"]["field"] == "deadline"
    kept = ok(leader.post(f"/api/v1/handling/{incoming}/deadline", headers=key(),
                          json={"deadline": today.isoformat(), "reason": "Rút ngắn"}))
    assert kept["deadline"].startswith(today.isoformat())

    task = leader.post("/api/v1/tasks", headers=key(), json={"title": "Tổng hợp số liệu", "assignee": specialist_id,
                                                             "due": yesterday})
    problem = refused(task, 422)
    assert problem["code"] == "deadline_past" and problem["errors"]["field"] == "due"
    assert problem["title"].startswith("Hạn hoàn thành")
