"""Nhập thay after the first assignment (TP.HCM QĐ 23/QĐ-VP Điều 3.2: the office updates "những thông tin do Lãnh
đạo Văn phòng đã bút phê chỉ đạo ... (các thông tin về phân công, ... chuyển xử lý...)"): the leader's đôn đốc, chỉ đạo
thêm, điều chỉnh hạn, giao lại and thu hồi written on paper are typed in by the entrant. Each is the leader's step in
the history with `entered_by` and the real time, the leader is told, the handlers see it as the leader's; done once
per operation id; refused without a grant in force, for someone not a leader, and for another leader's entrant. Over
PostgreSQL."""

from __future__ import annotations

from functools import partial

import pytest

from services.common.actor import system_actor
from services.common.errors import Forbidden, NotFound, ValidationFailed
from tests.routing.conftest import AGENCY, registered_event
from tests.routing.test_entry_for_leader import grant, refused


def assigned(routing, people, clock, incoming_id: str) -> None:
    """A document the leader directed themself on 02/03 at 09:00 (main: KT's specialist, coordinator: TH's)."""
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event(incoming_id))
    routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    clock.set(2026, 3, 2, 9, 0)
    routing.direct_incoming(people.leader, incoming_id, "Phòng Kinh tế chủ trì", {"user_id": people.spec_kt.user_id},
                            [{"user_id": people.spec_th.user_id}], deadline="2026-03-20")


def test_the_office_enters_the_leaders_later_directions_as_the_leaders(routing, people, clock):
    assigned(routing, people, clock, "IN-O1")
    grant(routing, people, clock)
    clock.set(2026, 3, 4, 8, 30)
    enter = partial(routing.enter_oversight, people.clerk, people.leader.user_id, "IN-O1")

    refused(partial(enter, "deadline", "op-1", {"deadline": "2026-03-27", "reason": "Chờ số liệu"},
                    happened_at="2026-03-04T09:00"), ValidationFailed, "future_date")
    refused(partial(enter, "deadline", "op-1", {"deadline": "2026-03-27", "reason": "Chờ số liệu"},
                    happened_at="2026-03-02T08:30"), ValidationFailed, "before_previous_step")
    refused(partial(enter, "deadline", "op-1", {"deadline": "2026-03-27", "reason": " "}), ValidationFailed,
            "validation_failed")
    view = enter("deadline", "op-1", {"deadline": "2026-03-27", "reason": "Chờ số liệu của Sở Tài chính"},
                 happened_at="2026-03-03T17:45")
    assert view["deadline"].startswith("2026-03-27") and view["deadline_source"] == "changed"
    assert enter("deadline", "op-1", {"deadline": "2026-03-30", "reason": "lại"})["deadline"].startswith("2026-03-27")
    enter("directive", "op-2", {"text": "Lấy ý kiến Phòng Tổng hợp trước khi trình"}, happened_at="2026-03-03T18:00")
    enter("handlers", "op-3", {"main": {"user_id": people.spec_kt2.user_id}, "coordinators": None,
                               "note": "Đồng chí Hai tiếp tục"}, happened_at="2026-03-04T07:30")
    enter("directive", "op-2", {"text": "Lấy ý kiến Phòng Tổng hợp trước khi trình"})     # redelivered: once

    history = routing.get_incoming(people.leader, "IN-O1")["history"]
    entered = [(e["action"], e["user_id"], e["on_behalf_of"], e["data"]["entered_by"], e["data"]["happened_at"],
                e["at"]) for e in history if (e["data"] or {}).get("entered_by")]
    typed_at = "2026-03-04T08:30:00+07:00"
    assert entered == [
        ("deadline_changed", people.leader.user_id, None, people.clerk.user_id, "2026-03-03T17:45:00+07:00", typed_at),
        ("directive_added", people.leader.user_id, None, people.clerk.user_id, "2026-03-03T18:00:00+07:00", typed_at),
        ("handlers_changed", people.leader.user_id, None, people.clerk.user_id, "2026-03-04T07:30:00+07:00",
         typed_at)]
    now = routing.get_incoming(people.leader, "IN-O1")
    main = [a for a in now["assignments"] if a["active"] and a["kind"] == "main"]
    assert [(a["user_id"], a["assigned_by"]) for a in main] == [(people.spec_kt2.user_id, people.leader.user_id)]
    # the handlers hear the leader, who decided
    said = [n for n in routing.list_notifications(people.spec_th) if n["kind"] == "directive"]
    assert len(said) == 1 and said[0]["body"].startswith(people.leader.full_name)
    told = [n for n in routing.list_notifications(people.leader) if n["kind"] == "entered_for_you"]
    assert len(told) == 3 and all(people.clerk.full_name in n["title"] for n in told)
    assert "2026-03-03T18:00" in next(n["body"] for n in told if "chỉ đạo thêm" in n["title"])

    # thu hồi: back to the leader's "chờ cho ý kiến", where the entrant finds it to enter the new bút phê
    taken = enter("take_back", "op-4", {"reason": "Lãnh đạo giao lại từ đầu"}, happened_at="2026-03-04T08:00")
    assert (taken["status"], taken["submitted_to"]) == ("submitted", people.leader.user_id)
    assert not [a for a in taken["assignments"] if a["active"]]
    assert taken["history"][-1]["data"]["level"] == "agency"
    assert [h["incoming_id"] for h in routing.list_incoming(people.clerk, "to_direct")] == ["IN-O1"]


def test_later_directions_are_refused_to_whoever_is_not_that_leaders_entrant(routing, people, clock):
    assigned(routing, people, clock, "IN-O2")
    enter = partial(routing.enter_oversight, people.clerk, people.leader.user_id, "IN-O2")
    refused(partial(enter, "directive", "op-a", {"text": "Khẩn trương"}), Forbidden, "no_entry_grant")
    grant(routing, people, clock, delegate=people.spec_vp)     # another person is the leader's entrant
    refused(partial(enter, "directive", "op-a", {"text": "Khẩn trương"}), Forbidden, "no_entry_grant")
    refused(partial(routing.enter_oversight, people.spec_vp, people.head_kt.user_id, "IN-O2", "directive", "op-a",
                    {"text": "x"}), Forbidden, "not_a_leader")
    with pytest.raises(ValidationFailed):
        routing.enter_oversight(people.spec_vp, people.leader.user_id, "IN-O2", "sign", "op-a", {"note": "x"})
    with pytest.raises(ValidationFailed):
        routing.enter_oversight(people.spec_vp, people.leader.user_id, "IN-O2", "chase", "op-a", {"note": " "})
    with pytest.raises(ValidationFailed):
        routing.enter_oversight(people.spec_vp, people.leader.user_id, "IN-O2", "directive", "", {"text": "x"})
    with pytest.raises(NotFound):
        routing.enter_oversight(people.spec_vp, people.leader.user_id, "IN-NONE", "directive", "op-a", {"text": "x"})
    with pytest.raises(Forbidden):   # the grant gives no authority of its own: not through the leader's forms
        routing.add_directive(people.spec_vp, "IN-O2", "Tự chỉ đạo", "op-b")
    clock.set(2027, 1, 4, 8, 0)       # the grant has expired
    refused(partial(routing.enter_oversight, people.spec_vp, people.leader.user_id, "IN-O2", "directive", "op-a",
                    {"text": "x"}), Forbidden, "entry_grant_ended")
    refused(partial(routing.enter_oversight, people.spec_vp, people.leader.user_id, "IN-O2", "chase", "op-c",
                    {"note": "x"}), Forbidden, "entry_grant_ended")
    history = routing.get_incoming(people.leader, "IN-O2")["history"]
    assert not [e for e in history if e["action"] in ("directive_added", "chased")]


def test_the_office_enters_the_leaders_chase_as_the_leaders(routing, people, clock):
    """Đôn đốc written on the file ("kịp thời đôn đốc xử lý các văn bản đến tồn đọng", QĐ 23 Điều 19.1), typed in
    the next morning: the leader's chase in the history, the main handler chased in the leader's name, once."""
    assigned(routing, people, clock, "IN-O3")
    grant(routing, people, clock)
    clock.set(2026, 3, 5, 8, 15)
    enter = partial(routing.enter_oversight, people.clerk, people.leader.user_id, "IN-O3", "chase")
    refused(partial(enter, "op-c1", {"note": "Khẩn trương"}, happened_at="2026-03-02T08:00"), ValidationFailed,
            "before_previous_step")
    enter("op-c1", {"note": "Đề nghị báo cáo tiến độ trước 10 giờ"}, happened_at="2026-03-04T16:30")
    view = enter("op-c1", {"note": "Đề nghị báo cáo tiến độ trước 10 giờ"})      # redelivered: once
    chased = [e for e in view["history"] if e["action"] == "chased"]
    assert [(e["user_id"], e["on_behalf_of"], e["note"], e["data"]["entered_by"], e["data"]["happened_at"], e["at"])
            for e in chased] == [(people.leader.user_id, None, "Đề nghị báo cáo tiến độ trước 10 giờ",
                                  people.clerk.user_id, "2026-03-04T16:30:00+07:00", "2026-03-05T08:15:00+07:00")]
    said = [n for n in routing.list_notifications(people.spec_kt) if n["kind"] == "chase"]
    assert len(said) == 1 and said[0]["body"].startswith(f"{people.leader.full_name}: Đề nghị báo cáo")
    told = [n for n in routing.list_notifications(people.leader) if n["kind"] == "entered_for_you"]
    assert len(told) == 1 and "đôn đốc" in told[0]["title"] and people.clerk.full_name in told[0]["title"]
    assert "2026-03-04T16:30" in told[0]["body"]
    # a chase of the leader's own on the same document is another operation: both stand
    routing.chase(people.leader, "IN-O3", "Nhắc lại", "op-own")
    assert len([e for e in routing.get_incoming(people.leader, "IN-O3")["history"] if e["action"] == "chased"]) == 2
