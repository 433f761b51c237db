"""The waiting-for-reception clock (issue 18 item 8): the agency's limit in working hours from ARRIVAL, a countdown
that stands still outside working hours (across Vietnam's midnight, 17:00 UTC) and an overdue mark."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.reception import reception_clock, working_time_text
from services.common.workcalendar import WorkCalendar

CAL = WorkCalendar()                                  # 07:30–11:30, 13:30–17:00, Monday to Friday
ARRIVED = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)    # Thursday 3 December 2026, 16:30 in Vietnam


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_the_limit_counts_working_hours_from_arrival_in_vietnam_time():
    da_nang = reception_clock(ARRIVED, CAL, 8, at(3, 9, 45))          # 16:45: a quarter of an hour has passed
    assert da_nang["reception_due"] == "2026-12-04T17:00+07:00"        # 30 min on Thursday + 7 h 30 on Friday
    assert (da_nang["reception_minutes_left"], da_nang["reception_text"]) == (465, "Còn 7 giờ 45 phút làm việc")
    hcm = reception_clock(ARRIVED, CAL, 4, at(3, 9, 45))               # TP.HCM: 4 working hours
    assert hcm["reception_due"] == "2026-12-04T11:00+07:00" and hcm["reception_due_label"] == "11:00 04/12/2026"


def test_the_countdown_stands_still_at_night_and_across_vietnams_midnight():
    clocks = [reception_clock(ARRIVED, CAL, 8, moment) for moment in
              (at(3, 10, 0), at(3, 16, 59), at(3, 17, 0), at(3, 17, 30), at(3, 23, 59))]   # 17:00 … 06:59 VN
    assert {c["reception_minutes_left"] for c in clocks} == {450}
    assert {c["reception_due"] for c in clocks} == {"2026-12-04T17:00+07:00"}     # Friday, not Thursday in UTC
    assert reception_clock(ARRIVED, CAL, 8, at(4, 1, 0))["reception_minutes_left"] == 420   # 08:00: 30 min worked


def test_overdue_is_marked_with_the_working_time_past_the_limit():
    late = reception_clock(ARRIVED, CAL, 4, at(4, 9, 0))               # Friday 16:00, limit 11:00
    assert late["reception_overdue"] and late["reception_state"] == "overdue"
    assert (late["reception_minutes_left"], late["reception_text"]) == (-180, "Quá hạn 3 giờ làm việc")
    weekend = reception_clock(ARRIVED, CAL, 4, datetime(2026, 12, 6, 3, 0, tzinfo=UTC))   # Sunday: no more late
    assert weekend["reception_minutes_left"] == -240
    soon = reception_clock(ARRIVED, CAL, 8, at(4, 8, 30))              # Friday 15:30: 1 h 30 left
    assert soon["reception_state"] == "due_soon" and not soon["reception_overdue"]


def test_working_time_in_words():
    assert working_time_text(235) == "3 giờ 55 phút"
    assert working_time_text(60) == "1 giờ" and working_time_text(5) == "5 phút" and working_time_text(0) == "0 phút"
