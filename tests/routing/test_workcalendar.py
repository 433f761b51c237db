"""The working-hours calendar: the cases of issue 6 (weekends, Tết, make-up Saturday, lunch and night, holidays)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.clock import VN_TZ
from services.common.workcalendar import WorkCalendar


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()  # 07:30–11:30, 13:30–17:00, Vietnamese public holidays


def test_default_day_has_seven_and_a_half_working_hours(cal):
    assert cal.hours_per_day == 7.5


def test_deadline_crossing_lunch(cal):
    # 30 minutes before lunch, the other 30 after it: 14:00, not 12:00
    assert cal.add_working_hours(vn(2026, 3, 3, 11, 0), 1) == vn(2026, 3, 3, 14, 0)


def test_deadline_crossing_night(cal):
    assert cal.add_working_hours(vn(2026, 3, 3, 16, 0), 2) == vn(2026, 3, 4, 8, 30)


def test_deadline_crossing_weekend(cal):
    # Friday 6 March 2026 16:00 + 2 h -> Monday 9 March 08:30
    assert cal.add_working_hours(vn(2026, 3, 6, 16, 0), 2) == vn(2026, 3, 9, 8, 30)
    assert not cal.is_working_day(date(2026, 3, 7)) and not cal.is_working_day(date(2026, 3, 8))


def test_limit_ending_at_close_of_day_stays_that_day(cal):
    assert cal.add_working_hours(vn(2026, 3, 3, 16, 0), 1) == vn(2026, 3, 3, 17, 0)


def test_arrival_at_night_counts_from_next_morning(cal):
    assert cal.add_working_hours(vn(2026, 3, 3, 21, 0), 1) == vn(2026, 3, 4, 8, 30)
    assert cal.next_working_moment(vn(2026, 3, 3, 12, 0)) == vn(2026, 3, 3, 13, 30)


def test_tet_holidays_come_from_the_library(cal):
    # Tết Bính Ngọ 2026: 16–20 February are public holidays (Monday to Friday)
    for day in range(16, 21):
        assert not cal.is_working_day(date(2026, 2, day))
    assert "Tết" in cal.holiday_name(date(2026, 2, 17))


def test_registered_at_1655_the_day_before_tet(cal):
    """Friday 13 Feb 2026 16:55, 8 working hours (Đà Nẵng): 5 min that day, then after Tết and the weekend."""
    due = cal.registration_deadline(vn(2026, 2, 13, 16, 55), limit_hours=8)
    # Monday 23 Feb gives 7 h 30, the remaining 25 min end on Tuesday 24 Feb at 07:55
    assert due == vn(2026, 2, 24, 7, 55)
    assert cal.working_hours_between(vn(2026, 2, 13, 16, 55), due) == timedelta(hours=8)


def test_registered_at_1655_before_a_single_holiday_tphcm_limit(cal):
    # Wednesday 29 April 2026 16:55; 30 April and 1 May are holidays, then a weekend: 4 h (TP.HCM) -> Mon 4 May
    due = cal.registration_deadline(vn(2026, 4, 29, 16, 55), limit_hours=4)
    assert due == vn(2026, 5, 4, 11, 25)


def test_national_make_up_saturday_is_a_working_day(cal):
    # 2025: Friday 2 May off in exchange for working Saturday 26 April
    assert cal.is_working_day(date(2025, 4, 26))
    assert not cal.is_working_day(date(2025, 5, 2))
    assert cal.add_working_hours(vn(2025, 4, 25, 16, 0), 2) == vn(2025, 4, 26, 8, 30)


def test_agency_make_up_day_and_extra_day_off():
    cal = WorkCalendar.from_config({"make_up_days": ["2026-03-07"], "extra_days_off": ["2026-03-09"]})
    assert cal.is_working_day(date(2026, 3, 7))  # a Saturday worked
    assert not cal.is_working_day(date(2026, 3, 9))  # a Monday off
    assert cal.add_working_hours(vn(2026, 3, 6, 16, 0), 2) == vn(2026, 3, 7, 8, 30)
    assert cal.add_working_hours(vn(2026, 3, 7, 16, 0), 2) == vn(2026, 3, 10, 8, 30)
    assert cal.holiday_name(date(2026, 3, 9)) == "Ngày nghỉ của cơ quan"


def test_agency_working_hours_are_configurable():
    cal = WorkCalendar.from_config({"periods": [["08:00", "12:00"], ["13:00", "17:00"]]})
    assert cal.hours_per_day == 8
    assert cal.add_working_hours(vn(2026, 3, 3, 8, 0), 8) == vn(2026, 3, 3, 17, 0)
    assert WorkCalendar.from_config(cal.to_config()).periods == cal.periods


def test_broken_periods_are_refused():
    with pytest.raises(ValueError):
        WorkCalendar.from_config({"periods": [["11:30", "07:30"]]})
    with pytest.raises(ValueError):
        WorkCalendar.from_config({"periods": [["07:30", "12:00"], ["11:00", "17:00"]]})


def test_working_hours_between_skips_lunch_nights_and_weekend(cal):
    assert cal.working_hours_between(vn(2026, 3, 3, 11, 0), vn(2026, 3, 3, 14, 0)) == timedelta(hours=1)
    assert cal.working_hours_between(vn(2026, 3, 6, 16, 0), vn(2026, 3, 9, 8, 30)) == timedelta(hours=2)
    assert cal.working_hours_between(vn(2026, 3, 9, 8, 30), vn(2026, 3, 6, 16, 0)) == -timedelta(hours=2)


def test_naive_times_are_utc_and_results_are_vietnam_time(cal):
    # 02:00 UTC is 09:00 in Hà Nội
    due = cal.add_working_hours(datetime(2026, 3, 3, 2, 0), 1)
    assert due == vn(2026, 3, 3, 10, 0) and due.utcoffset() == timedelta(hours=7)
    assert cal.add_working_hours(datetime(2026, 3, 3, 2, 0, tzinfo=UTC), 1) == due


def test_working_days_deadline_ends_at_close_of_day(cal):
    # 3 working days after Thursday 29 April 2026: 4, 5, 6 May (holidays and weekend skipped)
    assert cal.add_working_days(vn(2026, 4, 29, 10, 0), 3) == vn(2026, 5, 6, 17, 0)


def test_due_state(cal):
    due = vn(2026, 3, 4, 10, 0)
    assert cal.due_state(due, vn(2026, 3, 4, 10, 0)) == "overdue"
    assert cal.due_state(due, vn(2026, 3, 3, 16, 0), soon_hours=8) == "due_soon"   # 3.5 working hours left
    assert cal.due_state(due, vn(2026, 3, 2, 8, 0), soon_hours=8) == "on_time"     # ~ 10 working hours left
    assert cal.due_state(None, vn(2026, 3, 2, 8, 0)) is None
