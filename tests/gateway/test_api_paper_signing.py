"""Approval signed on paper over the REST API against the real deployment (agency rule `paper_signing`, Hưng Yên
Đ6.3a): refused while the agency's rule is "no"; once the admin allows it the leader approves on paper, the drafter
forwards the scan (a PDF; anything else refused) with "Chuyển phát hành", the clerk issues it and the issued PDF
carries the agency's seal signature; retries with the same Idempotency-Key answer the first answer. Every page of
the scan is compared with the approved version's (services/routing/scan_match.py) by routing's worker, after the
upload answered 202: the scan of the approved page forwards with its score, a three-page scan whose page 2 is an
earlier version's waits with "Trang 2: …" until the handler confirms it, and the clerk sees the warning at issue.
The rule is set back to "no" afterwards."""

from __future__ import annotations

import io
import secrets
from contextlib import closing

from PIL import Image

from tests.e2e.helpers import wait_for
from tests.gateway import scan_pages as pages
from tests.gateway.test_api import csrf_token_of, session_for
from tests.gateway.test_api_writes import CLERK, HEAD, LEADER, SPECIALIST, api, key, ok, refused  # noqa: F401

ADMIN = "manhhd.vptq"


def set_paper_signing(deployment, value: str, admin_name: str = ADMIN) -> None:
    with closing(session_for(deployment, admin_name)) as admin:
        r = admin.put("/api/v1/agency-rules", headers={"x-csrf-token": csrf_token_of(admin)},
                      json={"values": {"paper_signing": value}})
        assert r.status_code == 200, r.text
        assert {x["key"]: x["value"] for x in r.json()}["paper_signing"] == value


def at_signing(specialist, head, title: str, pdf: bytes | None = None, appendices: list[bytes] = ()) -> int:
    """A draft (the inventory letter of scan_pages, with `appendices`) approved by the department, waiting at the
    leader's step."""
    files = [("file", ("du-thao.pdf", pdf or pages.inventory(), "application/pdf")),
             *[("appendices", (f"phu-luc-{i}.pdf", a, "application/pdf")) for i, a in enumerate(appendices, 1)]]
    draft_id = ok(specialist.post("/api/v1/drafts", headers=key(), data={"title": title}, files=files),
                  201)["draft_id"]
    ok(specialist.post(f"/api/v1/drafts/{draft_id}/submit", json={}, headers=key()))
    ok(head.post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "Đạt"}))
    return draft_id


def checked(client, draft_id: int, state: str) -> dict:
    """GET /drafts/{id}/paper-scan once routing's worker has left "checking" (OCR: seconds a page)."""
    return wait_for(lambda: (lambda s: s if s["state"] == state else None)(
        ok(client.get(f"/api/v1/drafts/{draft_id}/paper-scan"))), 180, f"the scan check {state}")


def waiting_issue(clerk, title: str) -> list[dict]:
    items = clerk.get("/api/v1/outgoing/waiting-issue", params={"size": 100}).json()["items"]
    return [d for d in items if d["subject"] == title]


def test_paper_approval_then_scan_forwarded_then_issued(deployment, api):  # noqa: F811
    clerk, leader, head, specialist = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST)
    title = f"V/v kiểm kê tài sản công năm 2026, ký trên giấy ({secrets.token_hex(3)})"
    draft_id = at_signing(specialist, head, title, appendices=[blank_pages(1)])

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

        scan = pages.scanned(pages.inventory())   # the approved page, printed, signed, stamped and scanned
        refused(leader.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                            files={"file": ("scan.pdf", scan, "application/pdf")}), 403)   # the drafter forwards
        png = io.BytesIO()
        Image.new("RGB", (10, 10), "white").save(png, "PNG")
        not_pdf = refused(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                          files={"file": ("scan.pdf", png.getvalue(), "application/pdf")}), 422)
        assert not_pdf["code"] in ("bad_content", "content_mismatch", "must_be_pdf", "validation_failed"), not_pdf
        # the scans of the paper appendix, signed and stamped with the original: each checked like the scan, and a
        # broken one refuses the whole request, nothing recorded (GET paper-scan: still nothing uploaded)
        appendix_scan = pages.scanned(pages.inventory_earlier(), seed=3)
        broken = refused(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(), files=[
            ("file", ("ban-scan.pdf", scan, "application/pdf")),
            ("appendix_scans", ("phu-luc-01.pdf", appendix_scan, "application/pdf")),
            ("appendix_scans", ("phu-luc-02.pdf", b"%PDF-1.7\nkhong phai pdf\n", "application/pdf"))]), 422)
        assert broken["code"] == "bad_pdf" and broken["errors"]["field"] == "appendix_scans", broken
        assert "Tệp bản scan phụ lục 'phu-luc-02.pdf' bị hỏng" in broken["title"], broken
        refused(specialist.get(f"/api/v1/drafts/{draft_id}/paper-scan"), 404)
        uploaded = ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                      data={"note": "Bản gốc lưu tại Văn phòng"}, files=[
                                          ("file", ("ban-scan.pdf", scan, "application/pdf")),
                                          ("appendix_scans", ("phu-luc-01.pdf", appendix_scan, "application/pdf"))]),
                      202)
        assert uploaded["status"] == "paper_approved" and uploaded["paper"]["scan_upload"]["state"] == "checking"
        [appendix_sha] = uploaded["paper"]["scan_upload"]["appendix_sha256s"]
        assert specialist.get(f"/api/v1/drafts/{draft_id}/files/{appendix_sha}").content == appendix_scan
        state = checked(specialist, draft_id, "forwarded")
        assert state["appendix_scans"] == [appendix_sha]
        assert state["message"].startswith("Bản scan khớp phiên bản 1 lãnh đạo đã duyệt: cả 1 trang khớp")
        forwarded = ok(specialist.get(f"/api/v1/drafts/{draft_id}"))
        assert forwarded["status"] == "signed" and forwarded["paper"]["forwarded_by"] == forwarded["drafted_by"]
        check = forwarded["paper"]["scan_check"]   # the draft's REST view carries the recorded check
        assert check["score"] >= 85 and check["matches"] and not check["confirmed"] and check["version"] == 1
        assert [c["kind"] for c in forwarded["comments"]][-2:] == ["paper_sign", "paper_forward"]
    finally:
        set_paper_signing(deployment, "no")

    outgoing = wait_for(lambda: waiting_issue(clerk, title), 120, "the draft signed on paper waiting for issue")[0]
    issued = ok(clerk.post(f"/api/v1/outgoing/{outgoing['id']}/issue", json={"recipients": ["000.00.00.H17"]}))
    assert issued["state"] == "issued" and issued["number_and_notation"]
    doc = ok(clerk.get(f"/api/v1/outgoing/{outgoing['id']}"))
    assert doc["paper_signed"]["forwarded_by_name"] == "Đỗ Thu Trang"
    assert doc["paper_signed"]["approved_by_name"] == "Nguyễn Văn An"
    assert doc["paper_signed"]["scan_check"] == {"score": check["score"], "matches": True, "confirmed": False}
    assert (doc["paper_signed"]["appendix_scans"], doc["paper_signed"]["replaced_appendices"]) == (1, 1)
    [sealed] = [a for a in doc["attachments"] if a["role"] == "signed"]
    # issued with the scan of the paper appendix, sealed (an incremental update over the scan's bytes), and not
    # with the approved version's appendix file
    [sealed_appendix] = [a for a in doc["attachments"] if a["role"] == "appendix_signed"]
    with closing(session_for(deployment, CLERK)) as web:
        appendix_pdf = web.get(f"/tep/{outgoing['id']}/{sealed_appendix['sha256']}").content
    assert appendix_pdf.startswith(appendix_scan) and b"DauCoQuanPhuLuc" in appendix_pdf
    with closing(session_for(deployment, CLERK)) as web:
        page = web.get(f"/van-ban/{outgoing['id']}").text
        assert "Lãnh đạo ký trên giấy (Nguyễn Văn An" in page and "bản scan do Đỗ Thu Trang chuyển phát hành" in page
        assert f"; bản scan khớp {check['score']} % với bản đã duyệt" in page   # in the history too
        assert "; phụ lục: 1 bản scan phụ lục giấy đã ký" in page
        pdf = web.get(f"/tep/{outgoing['id']}/{sealed['sha256']}").content
    # the agency seal signature (field DauCoQuan) added over the scan as an incremental update
    assert pdf.startswith(b"%PDF") and b"DauCoQuan" in pdf and b"/ByteRange" in pdf
    assert wait_for(lambda: ok(specialist.get(f"/api/v1/drafts/{draft_id}"))["status"] == "issued", 60,
                    "the draft marked issued")


def test_a_scan_whose_page_2_differs_waits_for_the_handler_who_confirms_and_the_clerk_sees_it(deployment,
                                                                                                  api):  # noqa: F811
    clerk, leader, head, specialist = api(CLERK), api(LEADER), api(HEAD), api(SPECIALIST)
    title = f"V/v kiểm kê tài sản công, trang 2 khác ({secrets.token_hex(3)})"
    draft_id = at_signing(specialist, head, title, pages.plan())     # three pages, with a text layer
    try:
        set_paper_signing(deployment, "allowed")
        ok(leader.post(f"/api/v1/drafts/{draft_id}/paper-approval", json={}, headers=key()))
        assert refused(specialist.get(f"/api/v1/drafts/{draft_id}/paper-scan"), 404)["code"]   # nothing uploaded
        too_long = refused(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                           files={"file": ("dai.pdf", blank_pages(31), "application/pdf")}), 422)
        assert too_long["code"] == "too_many_pages" and "31 trang, quá 30 trang" in too_long["title"]

        blank = ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                   files={"file": ("trang-trang.pdf", pages.blank_scan(), "application/pdf")}), 202)
        assert blank["paper"]["scan_upload"]["state"] == "checking"
        nothing = checked(specialist, draft_id, "checked")
        assert nothing["check"]["score"] is None and "Không đọc được chữ nào trên bản scan" in nothing["message"]

        # the paper original printed from an earlier version of page 2, signed and scanned: three pages of images
        wrong = pages.scanned(pages.plan(earlier=True), seed=6)
        ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                           files={"file": ("ban-scan.pdf", wrong, "application/pdf")}), 202)
        state = checked(specialist, draft_id, "checked")
        assert "khác ở trang 2 (bản scan 3 trang, bản đã duyệt 3 trang)" in state["message"], state
        [line] = state["pages"]
        assert line.startswith("Trang 2: chỉ khớp ") and "không thấy trên bản scan:" in line, line
        [page] = state["check"]["pages"]
        assert page["page"] == 2 and page["score"] < 85 and not state["check"]["matches"]
        assert ok(specialist.get(f"/api/v1/drafts/{draft_id}"))["status"] == "paper_approved"   # not forwarded

        # confirmed without sending the file again: the scan checked is forwarded
        forwarded = ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                       data={"confirm_mismatch": "true"}))
        assert forwarded["status"] == "signed"
        check = forwarded["paper"]["scan_check"]
        assert (check["score"], check["matches"], check["confirmed"]) == (page["score"], False, True)
        again = ok(specialist.post(f"/api/v1/drafts/{draft_id}/paper-scan", headers=key(),
                                   files={"file": ("khac.pdf", pages.blank_scan(), "application/pdf")}))
        assert again["paper"] == forwarded["paper"]   # forwarded once: a retry changes nothing, checks nothing
    finally:
        set_paper_signing(deployment, "no")

    outgoing = wait_for(lambda: waiting_issue(clerk, title), 120, "the confirmed scan waiting for issue")[0]
    with closing(session_for(deployment, CLERK)) as web:
        page = web.get(f"/van-ban-di/{outgoing['id']}/ban-hanh").text
    assert f"Bản scan chỉ khớp {check['score']} % với bản lãnh đạo đã duyệt" in page
    assert "người xử lý đã xác nhận đúng là bản lãnh đạo đã ký" in page


def blank_pages(count: int) -> bytes:
    import pikepdf

    document = pikepdf.new()
    for _ in range(count):
        document.add_blank_page()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
