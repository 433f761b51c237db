"""Nhập thay (TP.HCM QĐ 23/QĐ-VP Điều 3.2, 3.3): the office types in the leader's paper directive and the leader's
approval or return of a draft. The step is the leader's (history, directed_by, reports, the 04 status), who typed it
and when are kept beside it, the leader is told; refused without a grant in force, for someone who is not a leader,
from another agency, and for a digital signature. Over PostgreSQL, with routing's real outbox."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from services.common.actor import system_actor
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.workcalendar import WorkCalendar
from services.reporting.domain import holdings
from services.routing.report_queries import handling_facts
from tests.routing.conftest import AGENCY, outbox_rows, pdf, registered_event, restart_without

CHAIN = [{"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": True},
         {"key": "review", "label": "Lãnh đạo cho ý kiến", "roles": ["leader"]},
         {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True}]


def grant(routing, people, clock, *, delegate=None, scopes=("record",)) -> dict:
    return routing.delegate(people.leader, (delegate or people.clerk).user_id, "2026-03-01T00:00",
                            "2026-12-31T17:00", list(scopes), "Văn phòng cập nhật ý kiến bút phê")


def refused(call, error: type, code: str) -> None:
    with pytest.raises(error) as caught:
        call()
    assert caught.value.code == code, caught.value


def test_the_office_enters_the_leaders_directive_written_on_paper_around_midnight(routing, people, clock, database):
    """Bút phê on paper at 23:50 on 03/03, typed in by the clerk at 00:30 on 04/03 Vietnam time, which is 17:30 UTC
    on 03/03 (a check by UTC date would put the real time on the wrong day)."""
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("IN-E1"))  # 02/03 08:00
    routing.submit_incoming(people.clerk, "IN-E1", people.leader.user_id)
    enter = partial(routing.enter_directive, people.clerk, people.leader.user_id, "IN-E1",
                    "Giao Phòng Kinh tế chủ trì, báo cáo trước ngày 20/3", {"user_id": people.spec_kt.user_id},
                    [{"user_id": people.spec_th.user_id}])
    refused(enter, Forbidden, "no_entry_grant")
    grant(routing, people, clock)
    clock.set(2026, 3, 4, 0, 30)
    assert [h["incoming_id"] for h in routing.list_incoming(people.clerk, "to_direct")] == ["IN-E1"]
    refused(partial(enter, happened_at="2026-03-04T00:40"), ValidationFailed, "future_date")
    refused(partial(enter, happened_at="2026-03-02T07:00"), ValidationFailed, "before_arrival")
    directed = enter(happened_at="2026-03-03T23:50")
    assert directed["status"] == "assigned"
    assert (directed["directed_by"], directed["directed_on_behalf_of"]) == (people.leader.user_id, None)
    assert {a["assigned_by"] for a in directed["assignments"]} == {people.leader.user_id}
    assert enter(happened_at="2026-03-03T23:50")["status"] == "assigned"   # a retry: nothing added (counted below)

    history = routing.get_incoming(people.leader, "IN-E1")["history"]
    directives = [e for e in history if e["action"] == "directed"]
    assert len(directives) == 1
    step = directives[0]
    assert step["user_id"] == people.leader.user_id and step["on_behalf_of"] is None
    assert step["data"]["entered_by"] == people.clerk.user_id
    assert step["data"]["happened_at"] == "2026-03-03T23:50:00+07:00" and step["data"]["late_entry"]
    assert step["at"] == "2026-03-04T00:30:00+07:00"   # when the clerk typed it
    # the 04 status names the leader, who decided
    assert outbox_rows(database, "outgoing_status")[-1]["staff"]["name"] == people.leader.full_name
    told = [n for n in routing.list_notifications(people.leader) if n["kind"] == "entered_for_you"]
    assert len(told) == 1 and people.clerk.full_name in told[0]["title"] and "2026-03-03T23:50" in told[0]["body"]

    # reports: the leader held the document until the real time of their directive, not until it was typed
    facts = handling_facts(database, people.leader)
    handling = next(h for h in facts["handlings"] if h["incoming_id"] == "IN-E1")
    assert [e["user_id"] for e in handling["events"] if e["action"] == "directed"] == [people.leader.user_id]
    leader_hold = next(hold for hold in holdings(handling) if hold.holder == people.leader.user_id)
    assert leader_hold.until.isoformat() == "2026-03-03T23:50:00+07:00"
    assert WorkCalendar().working_hours_between(leader_hold.since, leader_hold.until).total_seconds() > 0

    # without a real time: now, and a retry is still the same step
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("IN-E2"))
    now = partial(routing.enter_directive, people.clerk, people.leader.user_id, "IN-E2", "Lưu, theo dõi",
                  {"user_id": people.spec_kt.user_id})
    now()
    now()
    events = routing.get_incoming(people.leader, "IN-E2")["history"]
    assert [e["data"].get("entered_by") for e in events if e["action"] == "directed"] == [people.clerk.user_id]
    assert "late_entry" not in next(e for e in events if e["action"] == "directed")["data"]


def test_entries_refused_without_a_grant_in_force_or_for_someone_not_a_leader(routing, people, clock):
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("IN-E3"))
    enter = partial(routing.enter_directive, people.clerk, people.leader.user_id, "IN-E3", "Phòng Kinh tế xử lý",
                    {"user_id": people.spec_kt.user_id})
    # a delegation to act (assign) is not a grant to type in: nor the other way round
    refused(enter, Forbidden, "no_entry_grant")
    grant(routing, people, clock, delegate=people.spec_vp, scopes=("assign",))
    refused(partial(routing.enter_directive, people.spec_vp, people.leader.user_id, "IN-E3", "x",
                    {"user_id": people.spec_kt.user_id}), Forbidden, "no_entry_grant")
    record = grant(routing, people, clock)
    with pytest.raises(Forbidden):   # `record` gives no authority of its own: the clerk cannot direct in their name
        routing.direct_incoming(people.clerk, "IN-E3", "Tự phân công", main={"user_id": people.spec_kt.user_id})
    refused(partial(routing.enter_directive, people.clerk, people.head_kt.user_id, "IN-E3", "x",
                    {"user_id": people.spec_kt.user_id}), Forbidden, "not_a_leader")
    refused(partial(routing.enter_directive, people.leader, people.leader.user_id, "IN-E3", "x",
                    {"user_id": people.spec_kt.user_id}), ValidationFailed, "entry_for_self")
    with pytest.raises(NotFound):
        routing.enter_directive(people.clerk, people.leader.user_id, "IN-OTHER", "x",
                                {"user_id": people.spec_kt.user_id})
    with pytest.raises(NotFound):
        routing.enter_directive(people.clerk, "u-nobody", "IN-E3", "x", {"user_id": people.spec_kt.user_id})
    with pytest.raises(Forbidden):   # an entrant of another agency
        routing.enter_directive(replace(people.clerk, agency_id="000.00.02.H17"), people.leader.user_id, "IN-E3",
                                "x", {"user_id": people.spec_kt.user_id})
    clock.set(2027, 1, 4, 8, 0)       # the grant has expired
    refused(enter, Forbidden, "entry_grant_ended")
    clock.set(2026, 3, 3, 8, 0)
    routing.revoke_delegation(people.leader, record["delegation_id"])
    refused(enter, Forbidden, "entry_grant_ended")
    assert routing.get_incoming(people.leader, "IN-E3")["status"] == "received"


def test_the_office_enters_the_leaders_approval_and_return_of_a_draft(routing, people, clock, blobs, signer):
    """The chain has a leader's review step before the signing step. The entrant sees the draft while it waits for
    the leader, enters the approval and the return; the digital signature is never entered for the leader."""
    routing.configure(people.admin, review_chain=CHAIN)
    grant(routing, people, clock)
    clock.set(2026, 3, 3, 22, 0)
    draft_id = routing.create_draft(people.spec_kt, "Báo cáo tình hình kinh tế quý I", pdf(blobs, "v1"))["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id, "Kính trình")
    with pytest.raises(NotFound):   # not yet at the leader's step: the clerk does not see it
        routing.get_draft(people.clerk, draft_id)
    clock.set(2026, 3, 3, 22, 30)
    routing.approve_draft(people.head_kt, draft_id, "Đồng ý")
    assert routing.get_draft(people.clerk, draft_id)["step"]["key"] == "review"
    assert draft_id in [d["draft_id"] for d in routing.list_drafts(people.clerk)]
    with pytest.raises(NotFound):
        routing.get_draft(people.spec_th, draft_id)

    clock.set(2026, 3, 4, 0, 30)
    enter = partial(routing.enter_draft_decision, people.clerk, people.leader.user_id, draft_id)
    refused(partial(enter, "approve", "leader", "Đồng ý"), Conflict, "step_moved")
    refused(partial(enter, "approve", "review", "Đồng ý", happened_at="2026-03-03T22:20"), ValidationFailed,
            "before_previous_step")
    approved = enter("approve", "review", "Đồng ý, trình ký", happened_at="2026-03-03T23:55")
    assert approved["step"]["key"] == "leader"
    assert enter("approve", "review", "Đồng ý, trình ký", happened_at="2026-03-03T23:55")["step"]["key"] == "leader"
    refused(partial(enter, "approve", "leader", "Ký"), ValidationFailed, "signature_not_entered_for_another")
    assert signer.calls == []
    refused(partial(enter, "return", "leader", " "), ValidationFailed, "validation_failed")
    returned = enter("return", "leader", "Bổ sung số liệu quý I", happened_at="2026-03-04T00:10")
    assert returned["status"] == "returned"
    assert enter("return", "leader", "Bổ sung số liệu quý I", happened_at="2026-03-04T00:10")["status"] == "returned"

    full = routing.get_draft(people.spec_kt, draft_id)
    entered = [(c["kind"], c["user_id"], c["entered_by"], c["happened_at"], c["at"])
               for c in full["comments"] if c["entered_by"]]
    assert entered == [
        ("approve", people.leader.user_id, people.clerk.user_id, "2026-03-03T23:55:00+07:00",
         "2026-03-04T00:30:00+07:00"),
        ("return", people.leader.user_id, people.clerk.user_id, "2026-03-04T00:10:00+07:00",
         "2026-03-04T00:30:00+07:00")]
    assert people.leader.user_id in full["participants"] and people.clerk.user_id in full["participants"]
    told = [n for n in routing.list_notifications(people.leader) if n["kind"] == "entered_for_you"]
    assert len(told) == 2 and all(n["ref_kind"] == "draft" for n in told)
    assert any(n["kind"] == "returned" for n in routing.list_notifications(people.spec_kt))
    # the leader's own list holds the draft they reviewed
    assert draft_id in [d["draft_id"] for d in routing.list_drafts(people.leader)]


def test_a_draft_decision_is_refused_for_a_leader_not_at_the_step(routing, people, clock, blobs):
    grant(routing, people, clock)
    draft_id = routing.create_draft(people.spec_kt, "Công văn đôn đốc", pdf(blobs, "v2"))["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    with pytest.raises(NotFound):   # waiting at the head of KT: the leader does not see it, nor does the entrant
        routing.enter_draft_decision(people.clerk, people.leader.user_id, draft_id, "approve", "department")
    refused(partial(routing.enter_draft_decision, people.clerk, people.leader.user_id, draft_id, "sign",
                    "department"), ValidationFailed, "validation_failed")


def test_an_agency_made_before_nhap_thay_gets_the_entrant_column(database):
    """Who typed a draft's decision in (`draft_comment.entered_by`) is a column added to existing agencies' tables
    when routing starts (services/common/db.py add_later_columns)."""
    assert restart_without(database, "draft_comment", "entered_by")
