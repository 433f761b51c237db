"""A draft's review steps done on paper during an outage, entered afterwards over the REST API against the real
deployment (TP.HCM Đ3.4, Hưng Yên Đ4.2): `happened_at` on submit, approve, return and paper-approval; a time in the
future or before the draft's previous step refused, the digital signature never backdated, the same step sent again
(with or without its Idempotency-Key) entered once; the wrong person and another agency's draft refused. The
agency's paper_signing rule is set back to "no" afterwards."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from services.common.clock import now_vn
from tests.e2e.helpers import vietnamese_pdf
from tests.gateway.test_api_paper_signing import set_paper_signing
from tests.gateway.test_api_writes import CLERK_17, HEAD, LEADER, SPECIALIST, api, key, ok, refused  # noqa: F401


def typed(moment: datetime) -> str:
    """As a person types it: Vietnam time, no zone, whole minutes."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def new_draft(specialist, title: str) -> int:
    created = ok(specialist.post("/api/v1/drafts", headers=key(), data={"title": title},
                                 files={"file": ("du-thao.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN", title),
                                                 "application/pdf")}), 201)
    return created["draft_id"]


def test_submit_approve_and_return_entered_late_over_the_api(deployment, api):  # noqa: F811
    leader, head, specialist, other = api(LEADER), api(HEAD), api(SPECIALIST), api(CLERK_17)
    draft_id = new_draft(specialist, f"V/v kế hoạch ứng phó sự cố mạng ({secrets.token_hex(3)})")
    # the steps happened on paper this morning: well in the past, each after the one before
    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=3)
    submitted_at, approved_at, returned_at = start, start + timedelta(minutes=40), start + timedelta(hours=1)
    path = f"/api/v1/drafts/{draft_id}"

    future = refused(specialist.post(f"{path}/submit", json={"happened_at": typed(now_vn() + timedelta(hours=1))}),
                     422)
    assert future["code"] == "future_date"
    submit_key = key()
    for _ in range(2):
        r = specialist.post(f"{path}/submit", json={"note": "Kính trình", "happened_at": typed(submitted_at)},
                            headers=submit_key)
        assert ok(r)["status"] == "in_review"
    assert r.headers["idempotency-replayed"] == "true"

    refused(specialist.post(f"{path}/approve", json={"happened_at": typed(approved_at)}), 403)  # not the reviewer
    refused(other.post(f"{path}/approve", json={"happened_at": typed(approved_at)}), 404)      # another agency
    early = refused(head.post(f"{path}/approve", json={"happened_at": typed(start - timedelta(minutes=5))}), 422)
    assert early["code"] == "before_previous_step"
    for _ in range(2):  # sent again without a key (a retried request): the step is recognised, not refused
        approved = ok(head.post(f"{path}/approve", json={"comment": "Đạt", "happened_at": typed(approved_at)}))
    assert approved["step"]["signs"]

    backdated = refused(leader.post(f"{path}/approve", json={"happened_at": typed(returned_at)}), 422)
    assert backdated["code"] == "signature_not_backdated"
    refused(specialist.post(f"{path}/return", json={"comment": "Sửa", "happened_at": typed(returned_at)}), 403)
    returned = ok(leader.post(f"{path}/return", headers=key(), json={
        "comment": "Bổ sung phương án dự phòng", "happened_at": typed(returned_at)}))
    assert returned["status"] == "returned"

    late = [c for c in ok(specialist.get(path))["comments"] if c["late_entry"]]
    assert [c["kind"] for c in late] == ["submit", "approve", "return"]
    for entry, real in zip(late, (submitted_at, approved_at, returned_at), strict=True):
        assert datetime.fromisoformat(entry["happened_at"]) == real and entry["happened_at"].endswith("+07:00")
        assert datetime.fromisoformat(entry["at"]) > real  # entered when the software was back


def test_a_paper_signature_entered_late_over_the_api(deployment, api):  # noqa: F811
    leader, head, specialist = api(LEADER), api(HEAD), api(SPECIALIST)
    draft_id = new_draft(specialist, f"V/v báo cáo khắc phục sự cố, ký trên giấy ({secrets.token_hex(3)})")
    start = now_vn().replace(second=0, microsecond=0) - timedelta(hours=2)
    path = f"/api/v1/drafts/{draft_id}"
    ok(specialist.post(f"{path}/submit", json={"happened_at": typed(start)}))
    ok(head.post(f"{path}/approve", json={"happened_at": typed(start + timedelta(minutes=20))}))
    try:
        set_paper_signing(deployment, "allowed")
        early = refused(leader.post(f"{path}/paper-approval", json={"happened_at": typed(start)}), 422)
        assert early["code"] == "before_previous_step"
        signed_at = start + timedelta(minutes=50)
        approval_key = key()
        approved = ok(leader.post(f"{path}/paper-approval", headers=approval_key, json={
            "comment": "Đã ký bản giấy", "happened_at": typed(signed_at)}))
        assert approved["status"] == "paper_approved" and approved["paper"]["late_entry"]
        assert datetime.fromisoformat(approved["paper"]["approved_at"]) == signed_at
        assert datetime.fromisoformat(approved["paper"]["entered_at"]) > signed_at
        assert ok(leader.post(f"{path}/paper-approval", headers=approval_key, json={
            "comment": "Đã ký bản giấy", "happened_at": typed(signed_at)})) == approved
    finally:
        set_paper_signing(deployment, "no")
