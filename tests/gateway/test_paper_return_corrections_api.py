"""A paper given back recorded by mistake, over REST on the demo deployment (gateway/paper_corrections.py,
services/registry/paper_returns.py): PUT /api/v1/outgoing/{id}/paper-returns/{organ_id} corrects the day and note
of a recorded return, POST …/{organ_id}/undo undoes one recorded for the wrong recipient, each once per
Idempotency-Key; the undo is allowed for a document with no electronic recipient (recalled at once) and refused once
the electronic recipient's answer closed the recall; the wrong role, another agency, a line that is not a paper one
or not returned, and the copies' routes are refused."""

from __future__ import annotations

import secrets
from datetime import timedelta

from services.common.clock import now_utc, vn_date
from tests.e2e.helpers import wait_for
from tests.gateway.test_api import token_for
from tests.gateway.test_outgoing_paper_returns_api import (
    COMPANY,
    LEADER,
    OTHER_CLERK,
    SCHOOL,
    SNV,
    issued_with_paper,
)

PATIENCE = 240


def paper_line(doc: dict, organ: str) -> tuple:
    [r] = [r for r in doc["recipients"] if r["organ_id"] == organ]
    return r["recall_state"], r["returned_on"], r["description"]


def count(doc: dict, action: str) -> int:
    return [h["action"] for h in doc["history"]].count(action)


def test_a_return_recorded_for_the_wrong_paper_recipient_is_corrected_and_undone_once_over_rest(deployment):
    clerk, doc = issued_with_paper(deployment, f"V/v hủy ghi nhận bản giấy ({secrets.token_hex(3)})", [],
                                   [COMPANY, SCHOOL])
    leader, other = token_for(deployment, LEADER), token_for(deployment, OTHER_CLERK)
    try:
        returns = f"/api/v1/outgoing/{doc['id']}/paper-returns"
        recalled = clerk.post(f"/api/v1/outgoing/{doc['id']}/changes", json={"kind": "recall", "reason": "Gửi nhầm"})
        assert recalled.status_code == 200 and recalled.json()["pending_change"] is None, recalled.text
        today = vn_date(now_utc())
        fix = {"returned_date": today.strftime("%d/%m/%Y"), "note": "Công ty gửi trả qua bưu điện"}
        early = clerk.put(f"{returns}/giay-01", json=fix)
        assert early.status_code == 422 and early.json()["code"] == "not_returned", early.text
        wrong = clerk.post(returns, json={"organ_id": "giay-01", "note": "Nhận tại một cửa"})  # meant the school
        assert wrong.status_code == 200, wrong.text

        future = {**fix, "returned_date": (today + timedelta(days=1)).isoformat()}
        late = clerk.put(f"{returns}/giay-01", json=future)
        assert late.status_code == 422 and late.json()["code"] == "future_date", late.text
        unknown = clerk.put(f"{returns}/giay-09", json=fix)
        assert unknown.status_code == 422 and unknown.json()["code"] == "not_a_paper_recipient", unknown.text
        assert leader.put(f"{returns}/giay-01", json=fix).status_code == 403
        assert other.put(f"{returns}/giay-01", json=fix).status_code == 404
        assert clerk.put(f"/api/v1/copies/{doc['id']}/paper-returns/giay-01", json=fix).status_code == 404

        key = secrets.token_hex(8)
        for _ in range(2):   # a retry with the same key: done once, the first answer again
            fixed = clerk.put(f"{returns}/giay-01", json=fix, headers={"Idempotency-Key": key})
            assert fixed.status_code == 200, fixed.text
        assert fixed.headers.get("Idempotency-Replayed") == "true"
        page = clerk.get(f"/api/v1/outgoing/{doc['id']}").json()
        assert paper_line(page, "giay-01") == ("paper_returned", today.isoformat(), fix["note"])
        assert count(page, "paper_return_corrected") == 1

        undo = {"reason": "Ghi nhận nhầm nơi nhận: trường trả, không phải công ty"}
        assert leader.post(f"{returns}/giay-01/undo", json=undo).status_code == 403
        assert other.post(f"{returns}/giay-01/undo", json=undo).status_code == 404
        assert clerk.post(f"{returns}/giay-01/undo", json={"reason": ""}).status_code == 422
        not_back = clerk.post(f"{returns}/giay-02/undo", json=undo)
        assert not_back.status_code == 422 and not_back.json()["code"] == "not_returned", not_back.text
        key = secrets.token_hex(8)
        for _ in range(2):
            undone = clerk.post(f"{returns}/giay-01/undo", json=undo, headers={"Idempotency-Key": key})
            assert undone.status_code == 200, undone.text
        again = clerk.post(f"{returns}/giay-01/undo", json=undo, headers={"Idempotency-Key": secrets.token_hex(8)})
        assert again.status_code == 200   # waiting since that undo: nothing more to undo, nothing changes
        assert paper_line(again.json(), "giay-01") == ("paper_pending", None, "")
        assert count(again.json(), "paper_return_undone") == 1
        right = clerk.post(returns, json={"organ_id": "giay-02", "note": "Nhà trường gửi trả"})
        assert right.status_code == 200 and paper_line(right.json(), "giay-02")[0] == "paper_returned", right.text

        screen = clerk.get(f"/van-ban/{doc['id']}").text
        assert "Sửa ghi nhận nhận lại bản giấy" in screen and "Hủy ghi nhận nhận lại bản giấy" in screen
        assert "lý do hủy: Ghi nhận nhầm nơi nhận" in screen and f"Sửa, hủy ghi nhận: {SCHOOL}" in screen
    finally:
        for client in (clerk, leader, other):
            client.close()


def test_an_undo_is_refused_once_the_electronic_answer_closed_the_recall(deployment):
    """Sở Nội vụ had not registered the document: it agrees at once (15). The paper recorded afterwards counted in
    no outcome, but the request is closed: its record can be corrected, not undone."""
    clerk, doc = issued_with_paper(deployment, f"V/v không hủy được ghi nhận ({secrets.token_hex(3)})", [SNV],
                                   [COMPANY])
    try:
        recalled = clerk.post(f"/api/v1/outgoing/{doc['id']}/changes", json={"kind": "recall", "reason": "Sai"})
        assert recalled.status_code == 200 and recalled.json()["pending_change"] == "recall", recalled.text
        wait_for(lambda: clerk.get(f"/api/v1/outgoing/{doc['id']}").json()["pending_change"] is None, PATIENCE,
                 "Sở Nội vụ's answer closing the recall")
        returns = f"/api/v1/outgoing/{doc['id']}/paper-returns"
        assert clerk.post(returns, json={"organ_id": "giay-01"}).status_code == 200
        refused = clerk.post(f"{returns}/giay-01/undo", json={"reason": "Ghi nhận nhầm"})
        assert refused.status_code == 422 and refused.json()["code"] == "request_closed", refused.text
        assert "không hủy được ghi nhận" in refused.json()["detail"]
        fixed = clerk.put(f"{returns}/giay-01", json={"returned_date": vn_date(now_utc()).isoformat(),
                                                      "note": "Công ty gửi trả"})
        assert fixed.status_code == 200 and paper_line(fixed.json(), "giay-01")[2] == "Công ty gửi trả", fixed.text
        assert "Không hủy được ghi nhận" in clerk.get(f"/van-ban/{doc['id']}").text
    finally:
        clerk.close()
