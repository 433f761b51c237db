"""Directive, forward and close entered after an outage with the time they really happened (TP.HCM Đ3.4, Hưng Yên
Đ4.2): marked "nhập muộn", entered by whom and when, never in the future nor before registration."""

from functools import partial

import pytest
from sqlalchemy import select

from services.common.actor import system_actor
from services.common.errors import ValidationFailed
from services.common.workcalendar import WorkCalendar
from services.reporting.domain import late_forwarders
from services.routing.base import _iso
from services.routing.models import Handling
from services.routing.report_queries import handling_facts
from tests.routing.conftest import AGENCY, registered_event


def test_steps_done_on_paper_during_an_outage_keep_their_real_time(routing, people, clock):
    system = system_actor(AGENCY, "test")
    routing.on_incoming_registered(system, registered_event("IN-L"))  # registered 02/03 08:00
    routing.submit_incoming(people.clerk, "IN-L", people.leader.user_id)
    clock.set(2026, 3, 4, 9, 0)   # the software is back two days later
    with pytest.raises(ValidationFailed) as future:
        routing.direct_incoming(people.leader, "IN-L", "Phòng Kinh tế xử lý", main={"user_id": people.spec_kt.user_id},
                                happened_at="2026-03-05T08:00")
    assert future.value.code == "future_date"
    with pytest.raises(ValidationFailed) as before:
        routing.direct_incoming(people.leader, "IN-L", "Phòng Kinh tế xử lý", main={"user_id": people.spec_kt.user_id},
                                happened_at="2026-03-01T16:00")
    assert before.value.code == "before_arrival"
    directed = routing.direct_incoming(people.leader, "IN-L", "Phòng Kinh tế xử lý",
                                       main={"user_id": people.spec_kt.user_id}, happened_at="2026-03-02T10:30")
    # the default deadline counts from the real directive, not from the day it was typed in
    assert directed["deadline"].startswith("2026-03-16")  # 10 working days from 02/03, not from 04/03
    routing.forward_incoming(people.spec_kt, "IN-L", people.spec_kt2.user_id, "Chuyển đồng chí Hai",
                             happened_at="2026-03-03T08:15")
    closed = routing.close_no_action(people.spec_kt2, "IN-L", "Đã xử lý tại văn bản khác",
                                     happened_at="2026-03-03T15:00")
    assert closed["status"] == "done"
    history = {e["action"]: e for e in routing.get_incoming(people.leader, "IN-L")["history"]}
    for action, real in (("directed", "2026-03-02T10:30:00+07:00"), ("forwarded", "2026-03-03T08:15:00+07:00"),
                         ("done_no_action", "2026-03-03T15:00:00+07:00")):
        entry = history[action]
        assert entry["data"]["late_entry"] and entry["data"]["happened_at"] == real
        assert entry["at"] == "2026-03-04T09:00:00+07:00"   # entered when the software was back
    assert history["directed"]["user_id"] == people.leader.user_id
    assert "late_entry" not in history["submitted"]["data"]


def test_submit_reassign_and_keep_entered_after_an_outage(routing, people, clock):
    """The other steps of the paper trail during an outage: the clerk's submission, the head's assignment in the
    unit and the handler's keeping for reference, each with its real time; a real time before registration is
    refused for each, and a step without one is not marked."""
    system = system_actor(AGENCY, "test")
    routing.on_incoming_registered(system, registered_event("IN-L2"))  # registered 02/03 08:00
    clock.set(2026, 3, 4, 9, 0)
    with pytest.raises(ValidationFailed) as before:
        routing.submit_incoming(people.clerk, "IN-L2", people.leader.user_id, happened_at="2026-03-01T16:00")
    assert before.value.code == "before_arrival"
    routing.submit_incoming(people.clerk, "IN-L2", people.leader.user_id, "Kính trình",
                            happened_at="2026-03-02T09:00")
    routing.direct_incoming(people.leader, "IN-L2", "Phòng Kinh tế xử lý", main={"unit": "KT"},
                            happened_at="2026-03-02T10:00")
    with pytest.raises(ValidationFailed) as future:
        routing.reassign_incoming(people.head_kt, "IN-L2", people.spec_kt.user_id, "main", "",
                                  happened_at="2026-03-05T08:00")
    assert future.value.code == "future_date"
    routing.reassign_incoming(people.head_kt, "IN-L2", people.spec_kt.user_id, "main", "Em xử lý",
                              happened_at="2026-03-02T14:00")
    kept = routing.keep_for_reference(people.spec_kt, "IN-L2", "Lưu tham khảo", happened_at="2026-03-03T08:30")
    assert kept["status"] == "done"
    history = {e["action"]: e for e in routing.get_incoming(people.leader, "IN-L2")["history"]}
    for action, real in (("submitted", "2026-03-02T09:00:00+07:00"), ("reassigned", "2026-03-02T14:00:00+07:00"),
                         ("done_kept", "2026-03-03T08:30:00+07:00")):
        entry = history[action]
        assert entry["data"]["late_entry"] and entry["data"]["happened_at"] == real, action
        assert entry["at"] == "2026-03-04T09:00:00+07:00"


def refused(step, at: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        step(happened_at=at)
    assert caught.value.code == code, (at, caught.value)


def test_pause_resume_and_opinion_entered_after_an_outage_around_midnight(routing, people, clock, database):
    """The handler paused the document on paper late on 03/03 and took it up again after midnight, and the
    coordinating unit gave its opinion on paper; all entered at 00:30 Vietnam time on 04/03 (17:30 UTC on 03/03, so
    a check by UTC date would put the real times on the wrong day). Each keeps its real time, is marked and credited
    to who entered it; a time in the future, before registration or before the previous step is refused; a
    redelivered call adds nothing."""
    system = system_actor(AGENCY, "test")
    routing.on_incoming_registered(system, registered_event("IN-L3"))  # registered 02/03 08:00
    routing.submit_incoming(people.clerk, "IN-L3", people.leader.user_id)
    clock.set(2026, 3, 2, 14, 0)
    routing.direct_incoming(people.leader, "IN-L3", "Phòng Kinh tế chủ trì, Phòng Tổng hợp phối hợp",
                            main={"user_id": people.spec_kt.user_id},
                            coordinators=[{"user_id": people.spec_th.user_id}])
    clock.set(2026, 3, 4, 0, 30)  # back after midnight
    pause = partial(routing.mark_waiting, people.spec_kt, "IN-L3", "Chờ Sở Tài chính cho ý kiến")
    refused(pause, "2026-03-04T00:40", "future_date")          # ten minutes ahead, though 03/03 in UTC
    refused(pause, "2026-03-01T23:50", "before_arrival")
    refused(pause, "2026-03-02T10:00", "before_previous_step")  # before the directive (14:00)
    paused = pause(happened_at="2026-03-03T23:50")
    assert paused["status"] == "waiting" and paused["waiting_note"] == "Chờ Sở Tài chính cho ý kiến"
    assert pause(happened_at="2026-03-03T23:50")["status"] == "waiting"            # redelivered: nothing added
    resume = partial(routing.resume_incoming, people.spec_kt, "IN-L3", "Đã có ý kiến")
    refused(resume, "2026-03-04T00:31", "future_date")
    refused(resume, "2026-03-03T23:40", "before_previous_step")  # before the pause
    assert resume(happened_at="2026-03-04T00:10")["status"] == "in_progress"
    assert resume(happened_at="2026-03-04T00:10")["status"] == "in_progress"
    opinion = partial(routing.send_opinion, people.spec_th, "IN-L3", "Phòng Tổng hợp thống nhất")
    refused(opinion, "2026-03-04T01:00", "future_date")
    refused(opinion, "2026-03-04T00:05", "before_previous_step")  # before the resumption
    opinion(happened_at="2026-03-04T00:20")
    opinion(happened_at="2026-03-04T00:20")
    # the steps entered late before keep their order too
    refused(partial(routing.keep_for_reference, people.spec_kt, "IN-L3", "Lưu"), "2026-03-04T00:15",
            "before_previous_step")

    history = routing.get_incoming(people.leader, "IN-L3")["history"]
    actions = [e["action"] for e in history]
    assert actions.count("waiting") == actions.count("resumed") == actions.count("opinion") == 1
    entries = {e["action"]: e for e in history}
    for action, real, who in (("waiting", "2026-03-03T23:50:00+07:00", people.spec_kt),
                              ("resumed", "2026-03-04T00:10:00+07:00", people.spec_kt),
                              ("opinion", "2026-03-04T00:20:00+07:00", people.spec_th)):
        entry = entries[action]
        assert entry["data"]["late_entry"] and entry["data"]["happened_at"] == real, action
        assert entry["at"] == "2026-03-04T00:30:00+07:00" and entry["user_id"] == who.user_id
    # the handling started when it really did (the late pause was the handler's first step), not when typed in
    with database.session() as session:
        started = session.scalar(select(Handling.started_at).where(Handling.incoming_id == "IN-L3"))
    assert _iso(started) == "2026-03-03T23:50:00+07:00"


def test_a_step_entered_as_it_happens_is_not_marked_and_pauses_again(routing, people, clock):
    """Without a real time nothing changes: the step is not marked and is not taken for a retry."""
    system = system_actor(AGENCY, "test")
    routing.on_incoming_registered(system, registered_event("IN-L4"))
    routing.submit_incoming(people.clerk, "IN-L4", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-L4", "Xử lý", main={"user_id": people.spec_kt.user_id})
    routing.mark_waiting(people.spec_kt, "IN-L4", "Chờ hồ sơ")
    routing.resume_incoming(people.spec_kt, "IN-L4")
    routing.mark_waiting(people.spec_kt, "IN-L4", "Chờ hồ sơ lần hai")
    history = [e for e in routing.get_incoming(people.leader, "IN-L4")["history"] if e["action"] == "waiting"]
    assert len(history) == 2 and not any("late_entry" in e["data"] for e in history)


def test_a_step_done_on_paper_during_an_outage_does_not_count_the_outage_as_a_delay(routing, people, clock,
                                                                                       database):
    """The specialist passed the document on, on paper, half an hour after it was given to them; the software was
    down for three days. The report of people who kept documents too long [003 Đ10] counts until the real time of
    that step, not until the day it was typed in, and the next handler holds it from that real time (routing's facts
    into reporting's rule, as the reporting service runs them)."""
    system = system_actor(AGENCY, "test")
    routing.on_incoming_registered(system, registered_event("IN-O"))  # registered 02/03 08:00
    routing.submit_incoming(people.clerk, "IN-O", people.leader.user_id)
    clock.set(2026, 3, 2, 8, 30)
    routing.direct_incoming(people.leader, "IN-O", "Phòng Kinh tế xử lý", main={"user_id": people.spec_kt.user_id})
    clock.set(2026, 3, 5, 9, 0)   # back after the outage
    routing.forward_incoming(people.spec_kt, "IN-O", people.spec_kt2.user_id, "Chuyển đồng chí Hai",
                             happened_at="2026-03-02T09:00")
    routing.close_no_action(people.spec_kt2, "IN-O", "Đã xử lý", happened_at="2026-03-02T10:00")

    facts = handling_facts(database, people.leader)
    [handling] = [h for h in facts["handlings"] if h["incoming_id"] == "IN-O"]
    forwarded = next(e for e in handling["events"] if e["action"] == "forwarded")
    assert forwarded["at"] == "2026-03-02T09:00:00+07:00"
    assert [m["at"] for m in handling["main"]] == ["2026-03-02T08:30:00+07:00", "2026-03-02T09:00:00+07:00"]
    late = late_forwarders([handling], facts["staff"], WorkCalendar(), 8, clock())
    assert late == []   # before the fix: the specialist, about 22 working hours "late"
    # and the report still sees a real delay: the same handling with the forward 3 days later, live
    forwarded["at"] = "2026-03-05T09:00:00+07:00"
    handling["main"][1]["at"] = "2026-03-05T09:00:00+07:00"
    assert [p["user_id"] for p in late_forwarders([handling], facts["staff"], WorkCalendar(), 8, clock())] \
        == [people.spec_kt.user_id]
