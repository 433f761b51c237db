"""A deadline a person sets (the bút phê's, a changed one, a task's) on a day already past is refused: the work would
be overdue from the start, nearly always a slip of the year (Đà Nẵng QĐ 8849 Điều 7.1). Judged on the day the
leader decided, in Vietnam time: a late entry on its own day, not on the day it is typed in."""

import pytest

from services.common.actor import system_actor
from services.common.errors import ValidationFailed
from tests.routing.conftest import AGENCY, registered_event


@pytest.fixture
def submitted(routing, people):
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("IN-1"))
    routing.submit_incoming(people.clerk, "IN-1", people.leader.user_id)
    return "IN-1"


def direct(routing, people, incoming_id: str, deadline: str, happened_at: str | None = None) -> dict:
    return routing.direct_incoming(people.leader, incoming_id, "Giao phòng Kinh tế", main={"unit": "KT"},
                                   deadline=deadline, happened_at=happened_at)


def refused_past(call, *args, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        call(*args, **kwargs)
    assert refused.value.code == "deadline_past"
    return refused.value


def test_a_directive_with_a_day_already_past_is_refused_and_nothing_is_recorded(routing, people, clock, submitted):
    clock.set(2026, 3, 4, 9, 0)
    error = refused_past(direct, routing, people, submitted, "2026-03-03")
    assert error.message_vi == "Hạn xử lý 03/03/2026 đã qua: chọn từ ngày 04/03/2026 trở đi."
    assert error.details["field"] == "deadline" and error.details["value"] == "2026-03-03"
    view = routing.get_incoming(people.leader, submitted)
    assert view["status"] == "submitted" and view["deadline"] is None
    view = direct(routing, people, submitted, "2026-03-04")  # today: kept
    assert view["deadline"] == "2026-03-04T17:00:00+07:00" and view["deadline_source"] == "leader"


def test_the_day_is_vietnam_time_around_midnight(routing, people, clock, submitted):
    clock.set(2026, 3, 3, 0, 10)  # 17:10 UTC on 2 March: the UTC day is still the 2nd, Vietnam's is the 3rd
    refused_past(direct, routing, people, submitted, "2026-03-02")
    clock.set(2026, 3, 2, 23, 50)  # 16:50 UTC: still the 2nd in Vietnam
    assert direct(routing, people, submitted, "2026-03-02")["deadline"] == "2026-03-02T17:00:00+07:00"


def test_a_late_entry_is_judged_on_its_own_day(routing, people, clock, submitted):
    clock.set(2026, 3, 6, 9, 0)  # typed in on Friday, decided on paper on Monday
    refused_past(direct, routing, people, submitted, "2026-03-01", "2026-03-02T10:00")  # before Monday: refused
    view = direct(routing, people, submitted, "2026-03-04", "2026-03-02T10:00")
    assert view["deadline"] == "2026-03-04T17:00:00+07:00"  # past by Friday, not when the leader decided


def test_a_changed_deadline_and_a_task_due_on_a_day_already_past_are_refused(routing, people, clock, submitted):
    direct(routing, people, submitted, "2026-03-10")
    clock.set(2026, 3, 5, 9, 0)
    refused_past(routing.change_deadline, people.leader, submitted, "2026-03-04", "Nhầm năm", "op-1")
    assert routing.get_incoming(people.leader, submitted)["deadline"] == "2026-03-10T17:00:00+07:00"
    assert routing.change_deadline(people.leader, submitted, "2026-03-05", "Rút ngắn", "op-2")["deadline"] \
        == "2026-03-05T17:00:00+07:00"
    error = refused_past(routing.create_task, people.leader, "Tổng hợp số liệu", people.spec_kt.user_id,
                         due="2025-03-06")
    assert error.message_vi.startswith("Hạn hoàn thành 06/03/2025 đã qua") and error.details["field"] == "due"
    assert routing.create_task(people.leader, "Tổng hợp số liệu", people.spec_kt.user_id,
                               due="2026-03-05")["due"] == "2026-03-05T17:00:00+07:00"
