"""Nhập thay of "Duyệt, ký trên giấy" (TP.HCM QĐ 23/QĐ-VP Điều 3.2 "phê duyệt ... dự thảo văn bản"; Hưng Yên Đ6.3a):
where the agency allows paper signing, the leader's approval and hand signature at the signing step is typed in by
their entrant with the scan of the signed original. Recorded as the leader's (the paper approval, the history, the
initials), with who typed it, the scan and the real time; the handler then forwards as usual; the leader is told.
Refused where the agency does not allow it, off the signing step, without a grant; the digital signature is still
never entered. Over PostgreSQL."""

from __future__ import annotations

from functools import partial

import pytest

from services.common.errors import Conflict, Forbidden
from tests.routing.conftest import outbox_rows, pdf
from tests.routing.test_entry_for_leader import grant, refused
from tests.routing.test_paper_signing import at_signing  # noqa: F401 (fixture)


def test_the_office_enters_the_leaders_signature_on_paper_with_the_scan(routing, database, people, clock, blobs,
                                                                          signer, at_signing):  # noqa: F811
    draft_id = at_signing["draft_id"]
    step = routing.get_draft(people.leader, draft_id)["step"]["key"]
    scan = pdf(blobs, "ban scan trang ky cua lanh dao")
    enter = partial(routing.enter_paper_approval, people.clerk, people.leader.user_id, draft_id)
    refused(partial(enter, step, scan, "Đã ký"), Forbidden, "no_entry_grant")
    grant(routing, people, clock)
    refused(partial(enter, step, scan, "Đã ký"), Forbidden, "paper_signing_not_allowed")
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    refused(partial(enter, "department", scan, "Đã ký"), Conflict, "step_moved")
    refused(partial(routing.enter_draft_decision, people.clerk, people.leader.user_id, draft_id, "approve", step),
            Exception, "signature_not_entered_for_another")   # the digital signature: still the leader's own

    clock.set(2026, 3, 2, 10, 0)
    approved = enter(step, scan, "Đồng ý ban hành", happened_at="2026-03-02T09:30")
    assert approved["status"] == "paper_approved"
    paper = approved["paper"]
    assert (paper["approved_by"], paper["on_behalf_of"]) == (people.leader.user_id, None)
    assert (paper["entered_by"], paper["entered_scan_sha256"]) == (people.clerk.user_id, scan)
    assert paper["approved_at"] == "2026-03-02T09:30:00+07:00" and paper["entered_at"] == "2026-03-02T10:00:00+07:00"
    assert paper["signer"]["user_id"] == people.leader.user_id and paper["signer"]["position"] == "Chủ tịch"
    assert enter(step, scan, "Đồng ý ban hành", happened_at="2026-03-02T09:30") == approved   # redelivered: once
    assert signer.calls == [] and outbox_rows(database, "draft_signed") == []   # nothing signed digitally

    full = routing.get_draft(people.spec_kt, draft_id)
    [entry] = [c for c in full["comments"] if c["kind"] == "paper_sign"]
    assert (entry["user_id"], entry["entered_by"], entry["happened_at"]) == (
        people.leader.user_id, people.clerk.user_id, "2026-03-02T09:30:00+07:00")
    assert full["initials"][-1]["user_id"] == people.leader.user_id
    told = [n for n in routing.list_notifications(people.leader) if n["kind"] == "entered_for_you"]
    assert len(told) == 1 and "ký trên giấy" in told[0]["title"] and "2026-03-02T09:30" in told[0]["body"]
    assert any(n["kind"] == "paper_signed" for n in routing.list_notifications(people.spec_kt))

    # the handler forwards the entered scan, as after the leader's own click
    forwarded = routing.forward_paper_scan(people.spec_kt, draft_id, scan, "Bản gốc văn phòng giữ")
    assert forwarded["status"] == "signed" and forwarded["signed_by"] == people.leader.user_id
    [event] = outbox_rows(database, "draft_signed")
    assert event["paper_signed"]["approved_by"] == people.leader.user_id


def test_entering_a_paper_signature_is_refused_off_the_signing_step_and_for_others(routing, people, clock, blobs):
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.configure(people.admin, review_chain=[
        {"key": "review", "label": "Lãnh đạo cho ý kiến", "roles": ["leader"]},
        {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True}])
    draft_id = routing.create_draft(people.spec_kt, "Công văn trả lời", pdf(blobs, "cv"))["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    scan = pdf(blobs, "scan")
    grant(routing, people, clock, delegate=people.spec_vp)
    refused(partial(routing.enter_paper_approval, people.clerk, people.leader.user_id, draft_id, "review", scan),
            Forbidden, "no_entry_grant")                       # not this leader's entrant
    refused(partial(routing.enter_paper_approval, people.spec_vp, people.leader.user_id, draft_id, "review", scan),
            Conflict, "not_signing_step")
    with pytest.raises(Forbidden):
        routing.enter_paper_approval(people.spec_vp, people.head_kt.user_id, draft_id, "review", scan)
    assert routing.get_draft(people.spec_kt, draft_id)["status"] == "in_review"
