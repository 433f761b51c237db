"""Approval signed on paper over the REST API against the real deployment (agency rule `paper_signing`, Hưng Yên
Đ6.3a): refused while the agency's rule is "no"; once the admin allows it the leader approves on paper, the drafter
forwards the scan (a PDF; anything else refused) with "Chuyển phát hành", the clerk issues it and the issued PDF
carries the agency's seal signature; retries with the same Idempotency-Key answer the first answer. The rule is set
back to "no" afterwards."""

from __future__ import annotations

import io
import secrets
from contextlib import closing

from PIL import Image, ImageDraw

from tests.e2e.helpers import vietnamese_pdf, wait_for
from tests.gateway.test_api import csrf_token_of, session_for
from tests.gateway.test_api_writes import CLERK, HEAD, LEADER, SPECIALIST, api, key, ok, refused  # noqa: F401

ADMIN = "manhhd.vptq"


def scanned_page(text: str) -> bytes:
    """What a scanner gives: one image per page, no text layer, no form fields."""
    page = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(page).text((150, 200), text, fill="black")
    out = io.BytesIO()
    page.save(out, "PDF", resolution=150)
    return out.getvalue()


def set_paper_signing(deployment, value: str) -> None:
    with closing(session_for(deployment, ADMIN)) as admin:
        r = admin.put("/api/v1/agency-rules", headers={"x-csrf-token": csrf_token_of(admin)},
                      json={"values": {"paper_signing": value}})
        assert r.status_code == 200, r.text
        assert {x["key"]: x["value"] for x in r.json()}["paper_signing"] == value


def test_paper_approval_then_scan_forwarded_then_issued(deployment, api):  # noqa: F811
    clerk, leader, head, specialist = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST)
    title = f"V/v kiểm kê tài sản công năm 2026, ký trên giấy ({secrets.token_hex(3)})"
    created = ok(specialist.post("/api/v1/drafts", headers=key(), data={"title": title},
                                 files={"file": ("du-thao.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN", title),
                                                 "application/pdf")}), 201)
    draft_id = created["draft_id"]
    ok(specialist.post(f"/api/v1/drafts/{draft_id}/submit", json={}, headers=key()))
    ok(head.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "Đạt"}))

    no = refused(leader.post(f"/api/v1/drafts/{draft_id}/paper-approval", json={}, headers=key()), 403)
    assert no["code"] == "paper_signing_not_allowed" and "ký trên giấy" in no["title"] + no.get("detail", "")
    assert ok(leader.get(f"/api/v1/drafts/{draft_id}"))["paper_signing"] == "no"
    try:
        set_paper_signing(deployment, "allowed")
        refused(specialist.post(f"/api/v1/drafts/{draft_id}/paper-approval", json={}), 403)  # not the leader
        approval_key = key()
        approved = ok(leader.post(f"/api/v1/drafts/{draft_id}/paper-approval", json={"comment": "Đã ký bản giấy"},
                                  headers=approval_key))
        assert approved["status"] == "paper_approved" and approved["paper"]["approved_at"].endswith("+07:00")
        again = leader.post(f"/api/v1/drafts/{draft_id}/paper-approval", json={"comment": "Đã ký bản giấy"},
                            headers=approval_key)
        assert ok(again) == approved and again.headers["idempotency-replayed"] == "true"

        scan = scanned_page(title.encode("ascii", "ignore").decode())
        refused(leader.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                            files={"file": ("scan.pdf", scan, "application/pdf")}), 403)   # the drafter forwards
        png = io.BytesIO()
        Image.new("RGB", (10, 10), "white").save(png, "PNG")
        not_pdf = refused(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                          files={"file": ("scan.pdf", png.getvalue(), "application/pdf")}), 422)
        assert not_pdf["code"] in ("bad_content", "content_mismatch", "must_be_pdf", "validation_failed"), not_pdf
        forwarded = ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                       data={"note": "Bản gốc lưu tại Văn phòng"},
                                       files={"file": ("ban-scan.pdf", scan, "application/pdf")}))
        assert forwarded["status"] == "signed" and forwarded["paper"]["forwarded_by"] == forwarded["drafted_by"]
        assert [c["kind"] for c in forwarded["comments"]][-2:] == ["paper_sign", "paper_forward"]
    finally:
        set_paper_signing(deployment, "no")

    def waiting_issue():
        items = clerk.get("/api/v1/outgoing/waiting-issue", params={"size": 100}).json()["items"]
        return [d for d in items if d["subject"] == title]

    outgoing = wait_for(waiting_issue, 120, "the draft signed on paper waiting for issue")[0]
    issued = ok(clerk.post(f"/api/v1/outgoing/{outgoing['id']}/issue", json={"recipients": ["000.00.00.H17"]}))
    assert issued["state"] == "issued" and issued["number_and_notation"]
    doc = ok(clerk.get(f"/api/v1/outgoing/{outgoing['id']}"))
    assert doc["paper_signed"]["forwarded_by_name"] == "Đỗ Thu Trang"
    assert doc["paper_signed"]["approved_by_name"] == "Nguyễn Văn An"
    [sealed] = [a for a in doc["attachments"] if a["role"] == "signed"]
    with closing(session_for(deployment, CLERK)) as web:
        page = web.get(f"/van-ban/{outgoing['id']}").text
        assert "Lãnh đạo ký trên giấy (Nguyễn Văn An" in page and "bản scan do Đỗ Thu Trang chuyển phát hành" in page
        pdf = web.get(f"/tep/{outgoing['id']}/{sealed['sha256']}").content
    # the agency seal signature (field DauCoQuan) added over the scan as an incremental update
    assert pdf.startswith(b"%PDF") and b"DauCoQuan" in pdf and b"/ByteRange" in pdf
    assert wait_for(lambda: ok(specialist.get(f"/api/v1/drafts/{draft_id}"))["status"] == "issued", 60,
                    "the draft marked issued")
