"""The REST API's internal notices, delegations and reminders (issue 18 item 10) over HTTP against the real
deployment: the same rules as /thong-bao, /uy-quyen and /nhac-viec (who may publish, a unit's notice only for that
unit, a leader's delegation to a colleague, one's own reminders), Idempotency-Key, the wrong role and another
agency's or person's ids."""

from __future__ import annotations

import secrets
from datetime import timedelta

from services.common.clock import now_vn
from tests.gateway.test_api_writes import CLERK, CLERK_17, HEAD, LEADER, SPECIALIST, api, key, me, ok, refused

__all__ = ["api"]  # the module-scoped token clients of test_api_writes


def test_notices_published_read_with_receipts_and_kept_to_their_audience(api):
    clerk, leader, head, specialist = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST)
    title = f"Lịch nghỉ Tết {secrets.token_hex(3)}"
    refused(specialist.post("/api/v1/notices", json={"title": title}), 403)
    refused(clerk.post("/api/v1/notices", json={"title": ""}), 422)
    once = key()
    notice = ok(clerk.post("/api/v1/notices", json={"title": title, "body": "Nghỉ từ 14/02."}, headers=once), 201)
    again = clerk.post("/api/v1/notices", json={"title": title, "body": "Nghỉ từ 14/02."}, headers=once)
    assert ok(again, 201) == notice and again.headers["idempotency-replayed"] == "true"
    assert [n["title"] for n in ok(clerk.get("/api/v1/notices"))["items"]].count(title) == 1
    listed = {n["notice_id"]: n for n in ok(specialist.get("/api/v1/notices"))["items"]}
    assert listed[notice["notice_id"]]["read_at"] is None
    opened = ok(specialist.get(f"/api/v1/notices/{notice['notice_id']}"))
    assert opened["title"] == title and opened["read_at"] and opened["readers"] is None
    readers = ok(leader.get(f"/api/v1/notices/{notice['notice_id']}"))["readers"]
    assert me(specialist)["user_id"] in {r["user_id"] for r in readers["read"]}
    assert me(head)["user_id"] in readers["not_read"]

    # A department head publishes to their own unit only; another unit does not see it
    unit = me(head)["unit"]
    refused(head.post("/api/v1/notices", json={"title": title, "units": ["KHONG-CO"]}), 403)
    own = ok(head.post("/api/v1/notices", json={"title": f"{title} (phòng)", "units": [unit]}), 201)
    assert own["units"] == [unit]
    assert me(clerk)["unit"] != unit
    refused(clerk.get(f"/api/v1/notices/{own['notice_id']}"), 404)
    assert ok(specialist.get(f"/api/v1/notices/{own['notice_id']}"))["title"].endswith("(phòng)")

    # Another agency: notices are numbered per agency, so the same number there is never this notice
    other = api(CLERK_17).get(f"/api/v1/notices/{notice['notice_id']}")
    assert other.status_code == 404 or title not in other.text
    assert title not in api(CLERK_17).get("/api/v1/notices").text



def test_notices_come_a_page_at_a_time_with_the_total_to_reach_the_next(api):
    clerk, specialist = api(CLERK), api(SPECIALIST)
    batch = secrets.token_hex(3)
    ids = [ok(clerk.post("/api/v1/notices", json={"title": f"Thông báo {batch} số {i}"}), 201)["notice_id"]
           for i in range(3)]
    first = ok(specialist.get("/api/v1/notices", params={"size": 2}))
    assert (first["page"], first["size"], len(first["items"])) == (1, 2, 2) and first["total"] >= 3
    second = ok(specialist.get("/api/v1/notices", params={"page": 2, "size": 2}))
    assert second["total"] == first["total"] and second["page"] == 2
    assert [n["notice_id"] for n in first["items"] + second["items"]][:3] == ids[::-1]   # newest first
    assert ok(specialist.get("/api/v1/notices"))["size"] == 20

    unread = ok(specialist.get("/api/v1/notices", params={"unread_only": True, "size": 3}))
    assert [n["notice_id"] for n in unread["items"]] == ids[::-1]
    ok(specialist.get(f"/api/v1/notices/{ids[2]}"))   # opened: read
    now_unread = ok(specialist.get("/api/v1/notices", params={"unread_only": True, "size": 3}))
    assert now_unread["total"] == unread["total"] - 1 and [n["notice_id"] for n in now_unread["items"]][:2] == [
        ids[1], ids[0]]
    refused(specialist.get("/api/v1/notices", params={"size": 101}), 422)
    refused(specialist.get("/api/v1/notices", params={"page": 0}), 422)


def test_a_leader_delegates_and_revokes_and_the_delegate_is_reminded(api):
    clerk, leader, specialist = api(CLERK), api(LEADER), api(SPECIALIST)
    start = now_vn().replace(second=0, microsecond=0)
    body = {"delegate_user_id": me(specialist)["user_id"], "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"), "scopes": ["assign"],
            "note": f"Đi công tác {secrets.token_hex(3)}"}
    refused(clerk.post("/api/v1/delegations", json=body), 403)
    refused(leader.post("/api/v1/delegations", json={**body, "scopes": []}), 422)
    refused(leader.post("/api/v1/delegations", json={**body, "scopes": ["everything"]}), 422)
    refused(leader.post("/api/v1/delegations", json={**body, "ends_at": body["starts_at"]}), 422)
    refused(leader.post("/api/v1/delegations", json={**body, "delegate_user_id": me(api(CLERK_17))["user_id"]}),
            404)
    once = key()
    made = ok(leader.post("/api/v1/delegations", json=body, headers=once), 201)
    assert ok(leader.post("/api/v1/delegations", json=body, headers=once), 201) == made
    assert made["active"] and made["scopes"] == ["assign"] and made["revoked_at"] is None
    ids = [d["delegation_id"] for d in ok(leader.get("/api/v1/delegations"))]
    assert ids.count(made["delegation_id"]) == 1
    assert made["delegation_id"] in [d["delegation_id"] for d in ok(specialist.get("/api/v1/delegations"))]

    # The delegate's reminder, marked read; nobody else's reminder can be marked
    reminder = next(r for r in ok(specialist.get("/api/v1/reminders", params={"unread_only": True}))
                    if r["ref_kind"] == "delegation" and str(r["ref_id"]) == str(made["delegation_id"]))
    refused(clerk.post(f"/api/v1/reminders/{reminder['id']}/read"), 404)
    assert ok(specialist.post(f"/api/v1/reminders/{reminder['id']}/read")) == {"id": reminder["id"], "read": True}
    assert reminder["id"] not in [r["id"] for r in ok(specialist.get("/api/v1/reminders",
                                                                      params={"unread_only": True}))]
    assert next(r for r in ok(specialist.get("/api/v1/reminders")) if r["id"] == reminder["id"])["read_at"]

    # Only the leader who gave it ends it; another agency's leader does not reach it
    refused(specialist.post(f"/api/v1/delegations/{made['delegation_id']}/revoke"), 404)
    other = api("vinhlq.vpdn").post(f"/api/v1/delegations/{made['delegation_id']}/revoke")
    assert other.status_code == 404 or other.json()["delegate_user_id"] != body["delegate_user_id"]
    revoked = ok(leader.post(f"/api/v1/delegations/{made['delegation_id']}/revoke"))
    assert not revoked["active"] and revoked["revoked_at"]
    assert ok(leader.post(f"/api/v1/delegations/{made['delegation_id']}/revoke"))["revoked_at"] == revoked["revoked_at"]
