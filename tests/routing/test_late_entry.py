"""Directive, forward and close entered after an outage with the time they really happened (TP.HCM Đ3.4, Hưng Yên
Đ4.2): marked "nhập muộn", entered by whom and when, never in the future nor before registration."""

import pytest

from services.common.actor import system_actor
from services.common.errors import ValidationFailed
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
