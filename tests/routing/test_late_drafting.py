"""A draft's review steps done on paper during an outage and entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2):
trình, duyệt, trả lại and the leader's "Duyệt, ký trên giấy" keep their real time beside who entered them and when;
never in the future, never before the draft's previous step; a redelivered call adds nothing; the digital signature
is never entered late. Over PostgreSQL, with routing's real outbox."""

from __future__ import annotations

from functools import partial

import pytest

from services.common.errors import ValidationFailed
from tests.routing.conftest import outbox_rows, pdf, restart_without


def refused(step, at: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        step(happened_at=at)
    assert caught.value.code == code, (at, caught.value)


def entries(routing, people, draft_id: int, kind: str) -> list[dict]:
    return [c for c in routing.get_draft(people.spec_kt, draft_id)["comments"] if c["kind"] == kind]


def test_review_steps_entered_after_an_outage_around_midnight(routing, people, blobs, clock, signer):
    """The drafter submitted on paper late on 03/03, the head of KT and the office approved after midnight and the
    leader returned it; all entered at 00:30 Vietnam time on 04/03, which is 17:30 UTC on 03/03 (a check by UTC
    date would put the real times on the wrong day). The draft itself was uploaded only once the software was back,
    after its submission's real time: its creation is no step the late entries are ordered after."""
    clock.set(2026, 3, 4, 0, 25)
    draft_id = routing.create_draft(people.spec_kt, "Kế hoạch phòng chống bão năm 2026", pdf(blobs, "v1"),
                                    type_code="KH")["draft_id"]
    clock.set(2026, 3, 4, 0, 30)
    submit = partial(routing.submit_draft, people.spec_kt, draft_id, "Kính trình")
    refused(submit, "2026-03-04T00:40", "future_date")   # ten minutes ahead, though still 03/03 in UTC
    for garbage in ("hôm qua", "0001-01-01T00:00+14:00"):  # not a time; a year that overflows once converted
        with pytest.raises(ValidationFailed):
            submit(happened_at=garbage)
    submitted = submit(happened_at="2026-03-03T23:40")
    assert submitted["status"] == "in_review" and submitted["step"]["key"] == "department"

    approve_kt = partial(routing.approve_draft, people.head_kt, draft_id, "Đồng ý")
    refused(approve_kt, "2026-03-04T00:31", "future_date")
    refused(approve_kt, "2026-03-03T23:30", "before_previous_step")   # before the submission
    approve_kt(happened_at="2026-03-03T23:55")
    assert approve_kt(happened_at="2026-03-03T23:55")["step"]["key"] == "office"  # redelivered: nothing added
    approve_vp = partial(routing.approve_draft, people.spec_vp, draft_id, "Đúng thể thức")
    refused(approve_vp, "2026-03-03T23:50", "before_previous_step")   # before the head's approval
    assert approve_vp(happened_at="2026-03-04T00:05")["step"]["signs"]

    # the leader's digital signature is never backdated: its time is the key's own (docs/signing.md)
    with pytest.raises(ValidationFailed) as backdated:
        routing.approve_draft(people.leader, draft_id, "Ký", happened_at="2026-03-04T00:10")
    assert backdated.value.code == "signature_not_backdated" and "Duyệt, ký trên giấy" in backdated.value.message_vi
    assert signer.calls == []
    give_back = partial(routing.return_draft, people.leader, draft_id, "Bổ sung số liệu thiệt hại")
    refused(give_back, "2026-03-04T00:00", "before_previous_step")   # before the office's approval
    assert give_back(happened_at="2026-03-04T00:10")["status"] == "returned"
    assert give_back(happened_at="2026-03-04T00:10")["status"] == "returned"   # redelivered: nothing added
    # the first submission redelivered after the return: recognised, not submitted again nor refused
    assert submit(happened_at="2026-03-03T23:40")["status"] == "returned"
    refused(submit, "2026-03-04T00:09", "before_previous_step")      # a new submission before the return

    full = routing.get_draft(people.spec_kt, draft_id)
    late = [(c["kind"], c["user_id"], c["happened_at"]) for c in full["comments"] if c["late_entry"]]
    assert late == [("submit", people.spec_kt.user_id, "2026-03-03T23:40:00+07:00"),
                    ("approve", people.head_kt.user_id, "2026-03-03T23:55:00+07:00"),
                    ("approve", people.spec_vp.user_id, "2026-03-04T00:05:00+07:00"),
                    ("return", people.leader.user_id, "2026-03-04T00:10:00+07:00")]
    assert {c["at"] for c in full["comments"] if c["late_entry"]} == {"2026-03-04T00:30:00+07:00"}  # entered
    # the reviewers' initials of the round carry when they really approved
    assert [i["at"] for i in full["initials"]] == ["2026-03-03T23:55:00+07:00", "2026-03-04T00:05:00+07:00"]

    # back to work as usual: the new round is not marked, and the leader signs now
    clock.set(2026, 3, 4, 8, 0)
    routing.submit_draft(people.spec_kt, draft_id, "Đã bổ sung")
    routing.approve_draft(people.head_kt, draft_id)
    routing.approve_draft(people.spec_vp, draft_id)
    signed = routing.approve_draft(people.leader, draft_id, "Ký ban hành")
    assert signed["status"] == "signed" and len(signer.calls) == 1
    after = routing.get_draft(people.spec_kt, draft_id)["comments"][len(full["comments"]):]
    assert [c["kind"] for c in after] == ["submit", "approve", "approve", "sign"]
    assert not any(c["late_entry"] or c["happened_at"] for c in after)


def test_a_leader_s_paper_signature_entered_late_keeps_its_real_time(routing, database, people, blobs, clock):
    """"Duyệt, ký trên giấy" (paper_signing allowed): the hand signature's time is what the leader wrote on the
    paper, so it may be entered late; approved_at is that time in the draft and in draft_signed to the registry."""
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    draft_id = routing.create_draft(people.spec_kt, "Báo cáo tình hình khắc phục sự cố", pdf(blobs, "v1"),
                                    type_code="BC")["draft_id"]
    clock.set(2026, 3, 2, 9, 0)
    routing.submit_draft(people.spec_kt, draft_id, happened_at="2026-03-02T08:10")
    routing.approve_draft(people.head_kt, draft_id, happened_at="2026-03-02T08:20")
    routing.approve_draft(people.spec_vp, draft_id, happened_at="2026-03-02T08:30")
    on_paper = partial(routing.approve_on_paper, people.leader, draft_id, "Đã ký bản giấy")
    refused(on_paper, "2026-03-02T09:05", "future_date")
    refused(on_paper, "2026-03-02T08:25", "before_previous_step")
    approved = on_paper(happened_at="2026-03-02T08:45")
    assert approved["status"] == "paper_approved"
    assert approved["paper"]["approved_at"] == "2026-03-02T08:45:00+07:00"
    assert approved["paper"]["late_entry"] and approved["paper"]["entered_at"] == "2026-03-02T09:00:00+07:00"
    assert on_paper(happened_at="2026-03-02T08:45")["paper"] == approved["paper"]   # once per draft and step
    [sign] = entries(routing, people, draft_id, "paper_sign")
    assert sign["late_entry"] and sign["happened_at"] == "2026-03-02T08:45:00+07:00"

    # forwarding the scan is done in the software (it uploads the scan): its time is when it is done
    clock.set(2026, 3, 2, 9, 30)
    routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"), "Bản gốc đã ký")
    [event] = outbox_rows(database, "draft_signed")
    assert event["paper_signed"]["approved_at"] == "2026-03-02T08:45:00+07:00"
    assert event["paper_signed"]["forwarded_at"] == "2026-03-02T09:30:00+07:00"


def test_steps_entered_as_they_happen_are_not_marked(routing, people, blobs):
    draft_id = routing.create_draft(people.spec_kt, "Công văn đôn đốc", pdf(blobs, "v1"))["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    routing.return_draft(people.head_kt, draft_id, "Sửa trích yếu")
    routing.submit_draft(people.spec_kt, draft_id)
    comments = routing.get_draft(people.spec_kt, draft_id)["comments"]
    assert [c["kind"] for c in comments] == ["submit", "return", "submit"]
    assert not any(c["late_entry"] for c in comments)


def test_older_drafting_histories_gain_the_real_time_column_and_keep_their_rows(routing, database, people, blobs):
    """draft_comment.happened_at is added to an agency's existing table when routing starts (add_later_columns)."""
    draft_id = routing.create_draft(people.spec_kt, "Tờ trình", pdf(blobs, "v1"), type_code="TTr")["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id, "Kính trình")
    assert restart_without(database, "draft_comment", "happened_at")
    [kept] = routing.get_draft(people.spec_kt, draft_id)["comments"]
    assert kept["text"] == "Kính trình" and not kept["late_entry"]
    routing.approve_draft(people.head_kt, draft_id, happened_at=kept["at"])
    assert routing.get_draft(people.spec_kt, draft_id)["comments"][-1]["late_entry"]
