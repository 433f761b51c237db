"""An outgoing document's paper recipients in a recall, over REST on the demo deployment: UBND tỉnh Tuyên Quang
issues a document to Sở Nội vụ over the interconnect and to two paper recipients (POST /api/v1/outgoing/{id}/issue);
its recall asks Sở Nội vụ only and leaves each paper recipient `paper_pending`; POST
/api/v1/outgoing/{id}/paper-returns records one paper given back, once; an unasked document, a future day, the
wrong role, another agency and the copies' route are refused (services/registry/paper_returns.py)."""

from __future__ import annotations

import secrets
from contextlib import closing
from datetime import timedelta

import httpx

from services.common.clock import now_utc, vn_date
from tests.e2e.helpers import vietnamese_pdf, wait_for
from tests.gateway.test_api import token_for
from tests.gateway.test_drafting import prepare_agency_for_drafts

H60, SNV = "000.00.00.H60", "000.00.09.H60"
SPECIALIST, HEAD, LEADER, CLERK = "trangdt.thtq", "tuanpm.thtq", "annv.vptq", "hoalt.vptq"
OTHER_CLERK = "namtv.vpdn"   # UBND thành phố Đà Nẵng's
COMPANY, SCHOOL = "Công ty TNHH Minh Phát", "Trường THPT Tân Trào"


def issued_with_paper(deployment, title: str, recipients: list[str], paper: list[str]) -> tuple[httpx.Client, dict]:
    """A draft of Tuyên Quang drafted, approved and signed over REST, then issued by the clerk to `recipients` (over
    the interconnect) and `paper` (by name): (the clerk's API client, the issued document)."""
    clerk, waiting = waiting_for_issue(deployment, title)
    issued = clerk.post(f"/api/v1/outgoing/{waiting['id']}/issue",
                        json={"recipients": recipients, "paper_recipients": paper})
    assert issued.status_code == 200 and issued.json()["state"] == "issued", issued.text
    return clerk, issued.json()


def waiting_for_issue(deployment, title: str) -> tuple[httpx.Client, dict]:
    """A draft of Tuyên Quang's Tổng hợp department drafted, approved and signed over REST: (the clerk's API client,
    the document waiting for issue)."""
    prepare_agency_for_drafts(deployment, H60, LEADER)
    specialist, head, leader = (token_for(deployment, u) for u in (SPECIALIST, HEAD, LEADER))
    clerk = token_for(deployment, CLERK)
    with closing(specialist), closing(head), closing(leader):
        draft = specialist.post("/api/v1/drafts", data={"title": title},
                                files={"file": ("du-thao.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN", title),
                                                "application/pdf")})
        assert draft.status_code == 201, draft.text
        draft_id = draft.json()["draft_id"]
        for client, path, body in ((specialist, "submit", {"note": "Kính trình"}),
                                   (head, "approve", {"comment": "Đạt"}),
                                   (leader, "approve", {"comment": "Đồng ý ban hành"})):
            done = client.post(f"/api/v1/drafts/{draft_id}/{path}", json=body)
            assert done.status_code == 200, done.text
    waiting = wait_for(lambda: [d for d in clerk.get("/api/v1/outgoing/waiting-issue", params={"size": 100})
                                .json()["items"] if d["subject"] == title], 120, "the draft waiting for issue")[0]
    return clerk, waiting


def test_an_outgoing_documents_paper_given_back_after_a_recall_is_recorded_once_over_rest(deployment):
    clerk, doc = issued_with_paper(deployment, f"V/v thu hồi văn bản có bản giấy ({secrets.token_hex(3)})", [SNV],
                                   [COMPANY, SCHOOL])
    leader, other = token_for(deployment, LEADER), token_for(deployment, OTHER_CLERK)
    try:
        assert [(r["organ_id"], r["channel"]) for r in doc["recipients"]] == [
            (SNV, "interconnect"), ("giay-01", "paper"), ("giay-02", "paper")]
        returns = f"/api/v1/outgoing/{doc['id']}/paper-returns"
        early = clerk.post(returns, json={"organ_id": "giay-01"})
        assert early.status_code == 422 and early.json()["code"] == "not_asked", early.text

        recalled = clerk.post(f"/api/v1/outgoing/{doc['id']}/changes",
                              json={"kind": "recall", "reason": "Ban hành sai thẩm quyền"})
        assert recalled.status_code == 200, recalled.text
        assert recalled.json()["state"] == "recalled" and recalled.json()["pending_change"] == "recall"
        assert [r["recall_state"] for r in recalled.json()["recipients"]] == [
            "requested", "paper_pending", "paper_pending"]

        future = (vn_date(now_utc()) + timedelta(days=1)).isoformat()
        late = clerk.post(returns, json={"organ_id": "giay-01", "returned_date": future})
        assert late.status_code == 422 and late.json()["code"] == "future_date", late.text
        wrong = clerk.post(returns, json={"organ_id": SNV})   # an electronic recipient answers over the interconnect
        assert wrong.status_code == 422 and wrong.json()["code"] == "not_a_paper_recipient", wrong.text
        assert leader.post(returns, json={"organ_id": "giay-01"}).status_code == 403
        assert other.post(returns, json={"organ_id": "giay-01"}).status_code == 404
        as_copy = clerk.post(f"/api/v1/copies/{doc['id']}/paper-returns", json={"organ_id": "giay-01"})
        assert as_copy.status_code == 404, as_copy.text   # not a copy
        for _ in range(2):   # recorded once: the second answers the document as it is
            back = clerk.post(returns, json={"organ_id": "giay-02", "returned_date": vn_date(now_utc()).strftime(
                "%d/%m/%Y"), "note": "Nhà trường gửi trả qua bưu điện"})
            assert back.status_code == 200, back.text
        line = back.json()["recipients"][2]
        assert (line["recall_state"], line["returned_on"], line["description"]) == (
            "paper_returned", vn_date(now_utc()).isoformat(), "Nhà trường gửi trả qua bưu điện")
        assert back.json()["recipients"][1]["recall_state"] == "paper_pending"
        assert [h["action"] for h in back.json()["history"]].count("paper_returned") == 1
        page = clerk.get(f"/van-ban/{doc['id']}")
        assert page.status_code == 200 and "Chờ nhận lại bản giấy" in page.text
        assert "Đã nhận lại bản giấy ngày" in page.text and "Nhận lại bản giấy của văn bản" in page.text
    finally:
        for client in (clerk, leader, other):
            client.close()
