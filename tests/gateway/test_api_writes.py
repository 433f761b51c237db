"""The REST API does what the screens do (issue 18 item 10), over HTTP only, against the real deployment: an
incoming document registered, submitted, directed, assigned in the unit; the handler drafts the reply with a file,
a reviewer comments and returns it, a new version, approval, the leader's signature, issue, and the receiving
agency gets it. Then dossiers and tasks; Idempotency-Key (a retried key answers the first answer, a key reused for
another request is refused); another agency's ids and the wrong role refused as problem+json.
"""

from __future__ import annotations

import secrets
from contextlib import closing
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import delete

from gateway.idempotency import ApiIdempotency
from gateway.models import Base as GatewayBase
from gateway.settings import GatewaySettings
from services.common.db import Database
from tests.e2e.helpers import vietnamese_pdf, wait_for
from tests.gateway.test_api import send_document, session_for, token_for
from tests.gateway.test_drafting import prepare_agency_for_drafts

H60, H17 = "000.00.00.H60", "000.00.00.H17"
CLERK, LEADER, HEAD, SPECIALIST = "hoalt.vptq", "annv.vptq", "tuanpm.thtq", "trangdt.thtq"
CLERK_17 = "namtv.vpdn"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def api(deployment):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    opened: dict[str, httpx.Client] = {}

    def client(username: str) -> httpx.Client:
        if username not in opened:
            opened[username] = token_for(deployment, username)
            opened[username].timeout = httpx.Timeout(180)
        return opened[username]

    yield client
    for c in opened.values():
        c.close()


def me(client: httpx.Client) -> dict:
    return client.get("/api/v1/me").json()


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, (r.request.method, r.request.url.path, r.status_code, r.text[:1500])
    return r.json()


def refused(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status and r.headers["content-type"] == PROBLEM, (r.request.url.path, r.status_code,
                                                                             r.text[:500])
    body = r.json()
    assert body["title"] and body["code"] and body["type"].endswith(body["code"])
    return body


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_urlsafe(16)}


def arrived_at(client: httpx.Client, subject: str) -> dict:
    def waiting():
        items = client.get("/api/v1/incoming/waiting-reception", params={"size": 100}).json()["items"]
        return [d for d in items if d["subject"] == subject]

    return wait_for(waiting, 180, f"“{subject}” waiting for reception")[0]


def test_whole_flow_from_registration_to_the_reply_at_the_sender(deployment, api):
    clerk, leader, head, specialist = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST)
    subject = f"Về việc báo cáo tình hình tiếp nhận hồ sơ qua API ({secrets.token_hex(3)})"
    with closing(session_for(deployment, CLERK_17)) as sender:
        send_document(sender, subject, H60)
    doc = arrived_at(clerk, subject)

    # Register (tiếp nhận và vào sổ), once per Idempotency-Key
    first_key = key()
    registered = ok(clerk.post(f"/api/v1/incoming/{doc['id']}/register", json={}, headers=first_key))
    assert registered["state"] == "registered" and registered["number"]
    again = clerk.post(f"/api/v1/incoming/{doc['id']}/register", json={}, headers=first_key)
    assert ok(again) == registered and again.headers["idempotency-replayed"] == "true"
    reused = refused(clerk.post(f"/api/v1/incoming/{doc['id']}/register", json={"register_id": "khac"},
                                headers=first_key), 422)
    assert reused["code"] == "idempotency_key_reused"
    wrong_role = specialist.post(f"/api/v1/incoming/{doc['id']}/register", json={})
    assert wrong_role.status_code in (403, 404) and wrong_role.headers["content-type"] == PROBLEM
    incoming = doc["id"]

    # Submit (trình) to the leader; a specialist may not, another agency does not see it
    wait_for(lambda: clerk.get(f"/api/v1/handling/{incoming}").status_code == 200, 120, "routing's handling")
    staff = ok(clerk.get("/api/v1/staff"))
    leader_id, specialist_id = me(leader)["user_id"], me(specialist)["user_id"]
    assert {leader_id, specialist_id} <= {s["user_id"] for s in staff}
    refused(specialist.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}), 403)
    refused(api(CLERK_17).post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id}), 404)
    submit_key = key()
    submitted = ok(clerk.post(f"/api/v1/handling/{incoming}/submit",
                              json={"to_user_id": leader_id, "note": "Kính trình đồng chí"}, headers=submit_key))
    assert submitted["status"] == "submitted"
    assert ok(clerk.post(f"/api/v1/handling/{incoming}/submit", json={"to_user_id": leader_id,
                                                                       "note": "Kính trình đồng chí"},
                         headers=submit_key)) == submitted
    assert incoming in [h["incoming_id"] for h in ok(leader.get("/api/v1/handling", params={"box": "to_direct"}))]

    # Direct (bút phê) to the unit with a deadline; the head assigns the specialist inside the unit
    deadline = (date.today() + timedelta(days=10)).isoformat()
    refused(specialist.post(f"/api/v1/handling/{incoming}/direct",
                            json={"directive": "Tự giao", "main": {"user_id": specialist_id}}), 403)
    directed = ok(leader.post(f"/api/v1/handling/{incoming}/direct", headers=key(), json={
        # the unit's code as a client may type it: another case, spaces around
        "directive": "Giao Phòng Tổng hợp chủ trì, dự thảo văn bản trả lời.",
        "main": {"unit": f" {me(head)['unit'].lower()} "},
        "readers": [{"user_id": me(clerk)["user_id"]}], "deadline": deadline}))
    assert directed["status"] == "assigned" and directed["deadline"].startswith(deadline)
    assigned = ok(head.post(f"/api/v1/handling/{incoming}/reassign", headers=key(),
                            json={"user_id": specialist_id, "kind": "main", "note": "Đồng chí Trang xử lý"}))
    assert any(a["user_id"] == specialist_id and a["kind"] == "main" and a["active"]
               for a in assigned["assignments"])
    assert ok(clerk.post(f"/api/v1/handling/{incoming}/read"))["incoming_id"] == incoming

    # The handler drafts the reply with a file; the head comments and returns it; a new version; approval; signing
    title = f"V/v trả lời {subject}"
    created = ok(specialist.post("/api/v1/drafts", headers=key(), data={"title": title, "answers": [incoming]},
                                 files={"file": ("du-thao.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN", title),
                                                 "application/pdf")}), 201)
    draft_id = created["draft_id"]
    ok(specialist.post(f"/api/v1/drafts/{draft_id}/submit", json={"note": "Kính trình"}, headers=key()))
    refused(specialist.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "tự duyệt"}), 403)
    assert ok(head.post(f"/api/v1/drafts/{draft_id}/comments", json={"text": "Bổ sung số liệu quý IV."}))
    assert "Bổ sung số liệu quý IV." in str(ok(specialist.get(f"/api/v1/drafts/{draft_id}")).get("comments"))
    assert ok(head.post(f"/api/v1/drafts/{draft_id}/return", json={"comment": "Sửa theo góp ý"}))["status"] \
        == "returned"
    second = vietnamese_pdf("ỦY BAN NHÂN DÂN", f"{title} (sửa)")
    version = ok(specialist.post(f"/api/v1/drafts/{draft_id}/versions", headers=key(), data={"note": "Đã sửa"},
                                 files={"file": ("du-thao-2.pdf", second, "application/pdf")}), 201)
    assert version["version"] == 2
    latest = next(v for v in version["versions"] if v["number"] == 2)["pdf_sha256"]
    assert specialist.get(f"/api/v1/drafts/{draft_id}/files/{latest}").headers["content-type"] == "application/pdf"
    ok(specialist.post(f"/api/v1/drafts/{draft_id}/submit", json={}))
    ok(head.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "Đạt"}))
    signed = ok(leader.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "Đồng ý ban hành"}))
    assert signed["status"] == "signed"

    # The clerk issues it to the sender; the sender's clerk finds the reply waiting
    def waiting_issue():
        items = clerk.get("/api/v1/outgoing/waiting-issue", params={"size": 100}).json()["items"]
        return [d for d in items if d["subject"] == title]

    outgoing = wait_for(waiting_issue, 120, "the signed reply waiting for issue")[0]
    issued = ok(clerk.post(f"/api/v1/outgoing/{outgoing['id']}/issue", json={"recipients": [H17]}))
    assert issued["state"] == "issued" and issued["number_and_notation"]
    reply = arrived_at(api(CLERK_17), title)
    assert reply["number_and_notation"] == issued["number_and_notation"]


def test_dossiers_and_tasks_through_the_api(deployment, api):
    clerk, leader, specialist = api(CLERK), api(LEADER), api(SPECIALIST)
    subject = f"Văn bản lưu hồ sơ qua API ({secrets.token_hex(3)})"
    with closing(session_for(deployment, CLERK_17)) as sender:
        send_document(sender, subject, H60)
    doc = arrived_at(clerk, subject)
    ok(clerk.post(f"/api/v1/incoming/{doc['id']}/register", json={}))

    notation = f"{secrets.randbelow(900) + 100}.API"
    open_key = key()
    body = {"title": f"Hồ sơ thử API {notation}", "file_notation": notation, "retention": "10"}
    opened = ok(clerk.post("/api/v1/dossiers", json=body, headers=open_key), 201)
    assert ok(clerk.post("/api/v1/dossiers", json=body, headers=open_key), 201)["id"] == opened["id"]
    dossier_id = opened["id"]
    assert dossier_id in [d["id"] for d in ok(clerk.get("/api/v1/dossiers", params={"mine": True}))]
    added = ok(clerk.post(f"/api/v1/dossiers/{dossier_id}/documents", json={"document_id": doc["id"]}))
    item = next(i for i in added["items"] if i["title"].endswith(subject))
    refused(api(CLERK_17).get(f"/api/v1/dossiers/{dossier_id}"), 404)
    refused(api(CLERK_17).post(f"/api/v1/dossiers/{dossier_id}/documents", json={"document_id": doc["id"]}), 404)
    assert ok(clerk.delete(f"/api/v1/dossiers/{dossier_id}/items/{item['id']}"))["items"] == []
    ok(clerk.post(f"/api/v1/dossiers/{dossier_id}/documents", json={"document_id": doc["id"]}))
    closed = ok(clerk.post(f"/api/v1/dossiers/{dossier_id}/close", json={}))
    assert closed["state"] == "closed"
    # The registry indexes a document's words in the background: the search finds it once indexed.
    found = wait_for(lambda: ok(clerk.get("/api/v1/search", params={"text": subject}))["items"], 120,
                     "the document in the search")
    assert [d["id"] for d in found] == [doc["id"]]
    theirs = ok(api(CLERK_17).get("/api/v1/search", params={"text": subject}))["items"]
    assert doc["id"] not in {d["id"] for d in theirs}  # at most the sender's own outgoing copy, once indexed

    task = ok(leader.post("/api/v1/tasks", headers=key(), json={
        "title": f"Tổng hợp báo cáo {notation}", "assignee": me(specialist)["user_id"],
        "due": (date.today() + timedelta(days=5)).isoformat()}), 201)
    task_id = task["task_id"]
    assert ok(specialist.get(f"/api/v1/tasks/{task_id}"))["title"] == task["title"]
    refused(specialist.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "   "}), 422)
    ok(specialist.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "Đã nhận việc."}))
    assert ok(specialist.post(f"/api/v1/tasks/{task_id}/progress", json={"progress": 60}))["progress"] == 60
    assert ok(leader.post(f"/api/v1/tasks/{task_id}/close", json={"note": "Hoàn thành"}))["status"] != "open"
    foreign = api(CLERK_17).get(f"/api/v1/tasks/{task_id}")
    assert foreign.status_code in (403, 404) and task["title"] not in foreign.text


def test_a_task_comment_retried_with_its_key_is_recorded_once_even_when_the_gateway_forgot_it(deployment, api):
    """The gateway replays the first answer to a key; when it kept none (its call timed out after routing had
    recorded the comment: a failed call keeps nothing), the retry reaches routing, which records the comment once."""
    leader, specialist = api(LEADER), api(SPECIALIST)
    task_id = ok(leader.post("/api/v1/tasks", headers=key(), json={
        "title": f"Rà soát danh mục hồ sơ ({secrets.token_hex(3)})", "assignee": me(specialist)["user_id"]}),
        201)["task_id"]
    sent = key()
    ok(specialist.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "Đã nhận việc."}, headers=sent))
    replayed = specialist.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "Đã nhận việc."}, headers=sent)
    assert replayed.status_code == 200 and replayed.headers["Idempotency-Replayed"] == "true"
    db = Database("gateway", "gateway", GatewayBase.metadata, GatewaySettings(data_dir=deployment.data_dir))
    try:
        with db.session() as s:
            assert s.execute(delete(ApiIdempotency).where(ApiIdempotency.key == sent["Idempotency-Key"])).rowcount
    finally:
        db.dispose()
    retried = ok(specialist.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "Đã nhận việc."}, headers=sent))
    assert [c["text"] for c in retried["comments"]] == ["Đã nhận việc."]
    ok(specialist.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "Đã nhận việc."}, headers=key()))
    assert len(ok(specialist.get(f"/api/v1/tasks/{task_id}"))["comments"]) == 2


# -- in-process: the contract of the writes ------------------------------------------------------------------------

SCREEN_WRITES = {  # what a person does on the screens -> its route (issue 18 item 10)
    "duyệt, ký trên giấy": ("post", "/api/v1/drafts/{draft_id}/paper-approval"),
    "chuyển phát hành": ("post", "/api/v1/drafts/{draft_id}/paper-scan"),
    "tiếp nhận và vào sổ": ("post", "/api/v1/incoming/{doc_id}/register"),
    "từ chối": ("post", "/api/v1/incoming/{doc_id}/reject"),
    "trình": ("post", "/api/v1/handling/{incoming_id}/submit"),
    "bút phê, giao xử lý": ("post", "/api/v1/handling/{incoming_id}/direct"),
    "nhập thay bút phê của lãnh đạo": ("post", "/api/v1/handling/{incoming_id}/enter-for-leader"),
    "nhập thay ý kiến duyệt, trả lại dự thảo": ("post", "/api/v1/drafts/{draft_id}/enter-for-leader"),
    "giao lại": ("post", "/api/v1/handling/{incoming_id}/reassign"),
    "chuyển": ("post", "/api/v1/handling/{incoming_id}/forward"),
    "kết thúc": ("post", "/api/v1/handling/{incoming_id}/close"),
    "lưu tham khảo": ("post", "/api/v1/handling/{incoming_id}/keep"),
    "ý kiến phối hợp": ("post", "/api/v1/handling/{incoming_id}/opinion"),
    "phiên bản dự thảo": ("post", "/api/v1/drafts/{draft_id}/versions"),
    "góp ý": ("post", "/api/v1/drafts/{draft_id}/comments"),
    "trình dự thảo": ("post", "/api/v1/drafts/{draft_id}/submit"),
    "trả lại": ("post", "/api/v1/drafts/{draft_id}/return"),
    "giao việc": ("post", "/api/v1/tasks"),
    "tiến độ": ("post", "/api/v1/tasks/{task_id}/progress"),
    "mở hồ sơ": ("post", "/api/v1/dossiers"),
    "đưa vào hồ sơ": ("post", "/api/v1/dossiers/{dossier_id}/documents"),
    "bỏ khỏi hồ sơ": ("delete", "/api/v1/dossiers/{dossier_id}/items/{item_id}"),
    "kết thúc hồ sơ": ("post", "/api/v1/dossiers/{dossier_id}/close"),
    "lập danh mục hồ sơ": ("post", "/api/v1/file-plans"),
    "phê duyệt danh mục hồ sơ": ("post", "/api/v1/file-plans/{plan_id}/approve"),
    "sắp xếp hồ sơ": ("post", "/api/v1/dossiers/{dossier_id}/items/{item_id}/move"),
    "trả lại hồ sơ nộp lưu": ("post", "/api/v1/archive/{dossier_id}/give-back"),
    "tra cứu": ("get", "/api/v1/search"),
    "sửa sổ văn bản": ("patch", "/api/v1/registers/{register_id}"),
    "mở lại sổ": ("post", "/api/v1/registers/{register_id}/reopen"),
    "thu hồi, lấy lại, cập nhật bản sao": ("post", "/api/v1/copies/{doc_id}/changes"),
}


def test_every_screen_write_has_a_documented_route_with_problem_errors_and_a_key(client):
    schema = client.get("/api/v1/openapi.json").json()
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for action, (method, path) in SCREEN_WRITES.items():
        op = schema["paths"][path][method]
        assert op["summary"] and op["tags"], action
        assert "_api_v1_" not in op["operationId"], (action, op["operationId"])  # stable, readable ids
        for status in ("401", "403", "404", "422"):
            if status == "404" and path == "/api/v1/search":
                continue
            assert set(op["responses"][status]["content"]) == {"application/problem+json"}, (action, status)
        if method == "post" and "/delete" not in path:
            headers = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in headers, action
            body = op["requestBody"]["content"]
            assert "application/json" in body or "multipart/form-data" in body, action
