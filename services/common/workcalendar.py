"""The working-hours calendar: deadlines and time limits counted in the agency's WORKING hours.

Regulations count the registration limit (8 working hours in Đà Nẵng, 4 in TP.HCM) and handling deadlines
in working time: nights, weekends and public holidays do not count (DOMAIN.md, incoming 4 and 10). An
agency's calendar is:

- Vietnamese public holidays, Tết included, from the maintained `holidays` library (it also knows the
  Government's swapped days: a day off given in exchange for a make-up Saturday);
- its working periods, e.g. 07:30–11:30 and 13:30–17:00 (Vietnam local time);
- make-up working days (e.g. a Saturday) and extra days off decided locally.

    cal = WorkCalendar.from_config({"periods": [["07:30", "11:30"], ["13:30", "17:00"]],
                                    "extra_days_off": ["2026-03-02"], "make_up_days": ["2026-03-07"]})
    due = cal.add_working_hours(registered_at, 8)
    spent = cal.working_hours_between(registered_at, now)        # a timedelta
    cal.due_state(due, now, soon_hours=8)                        # "overdue" | "due_soon" | "on_time"

Every datetime returned is timezone-aware in Vietnam time; naive inputs are taken as UTC (storage convention).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays

from services.common.clock import VN_TZ, to_vn

Period = tuple[time, time]

DEFAULT_PERIODS: tuple[Period, ...] = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
DEFAULT_REGISTRATION_LIMIT_HOURS = 8   # Đà Nẵng [000 Đ5.2]; TP.HCM sets 4 [003 Đ6.2]
WEEKEND = (5, 6)                       # Saturday, Sunday
MAX_SEARCH_DAYS = 3660                 # a calendar with no working day at all must not loop forever


def _parse_time(value: str | time) -> time:
    if isinstance(value, time):
        return value
    hours, minutes = str(value).split(":")[:2]
    return time(int(hours), int(minutes))


def _parse_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _hours(value: float | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(hours=float(value))


@dataclass
class WorkCalendar:
    periods: tuple[Period, ...] = DEFAULT_PERIODS
    extra_days_off: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()
    public_holidays: bool = True
    _holidays: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.periods = tuple(sorted((_parse_time(a), _parse_time(b)) for a, b in self.periods))
        for start, end in self.periods:
            if start >= end:
                raise ValueError(f"working period {start}-{end} is empty")
        for (_, end), (start, _) in zip(self.periods, self.periods[1:], strict=False):
            if start < end:
                raise ValueError("working periods overlap")
        self.extra_days_off = frozenset(_parse_date(d) for d in self.extra_days_off)
        self.make_up_days = frozenset(_parse_date(d) for d in self.make_up_days)
        # Years are added lazily (holidays' expand=True) so any date works without a fixed range.
        self._holidays = holidays.country_holidays("VN", language="vi") if self.public_holidays else {}

    # -- configuration ------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> WorkCalendar:
        config = config or {}
        return cls(
            periods=tuple(tuple(p) for p in config.get("periods") or DEFAULT_PERIODS),  # type: ignore[arg-type]
            extra_days_off=frozenset(config.get("extra_days_off") or ()),
            make_up_days=frozenset(config.get("make_up_days") or ()),
            public_holidays=bool(config.get("public_holidays", True)),
        )

    def to_config(self) -> dict[str, Any]:
        return {
            "periods": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in self.periods],
            "extra_days_off": sorted(d.isoformat() for d in self.extra_days_off),
            "make_up_days": sorted(d.isoformat() for d in self.make_up_days),
            "public_holidays": self.public_holidays,
        }

    @property
    def hours_per_day(self) -> float:
        return sum((_at(date(2000, 1, 3), b) - _at(date(2000, 1, 3), a)).total_seconds()
                   for a, b in self.periods) / 3600

    # -- days -------------------------------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_days_off:
            return "Ngày nghỉ của cơ quan"
        return self._holidays.get(day) if self.public_holidays else None

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_days_off:
            return False
        if self.public_holidays and day in self._holidays:
            return False
        if day in self.make_up_days:
            return True
        if day.weekday() in WEEKEND:
            # The Government swaps days: a Saturday worked in exchange for a bridge day off.
            return self.public_holidays and day in self._national_make_up_days(day.year)
        return True

    def _national_make_up_days(self, year: int) -> set[date]:
        self._holidays.get(date(year, 1, 1))  # the library fills a year on first look-up
        return set(getattr(self._holidays, "weekend_workdays", ()) or ())

    def working_days(self, start: date) -> Iterator[date]:
        day = start
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)

    def day_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(_at(day, a), _at(day, b)) for a, b in self.periods]

    def _periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working periods that end after `moment`, clipped to start no earlier than it."""
        day = moment.date()
        for _ in range(MAX_SEARCH_DAYS):
            for start, end in self.day_periods(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time in ten years")

    # -- instants ---------------------------------------------------------------------------------------

    def is_working_time(self, moment: datetime) -> bool:
        moment = to_vn(moment)
        return any(start <= moment < end for start, end in self.day_periods(moment.date()))

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` itself if it is working time, else the start of the next working period."""
        return next(self._periods_from(to_vn(moment)))[0]

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The instant when `hours` of working time have passed since `start`.

        A limit that ends exactly at the end of a period ends there (17:00), not at 07:30 the next day.
        """
        remaining = _hours(hours)
        moment = to_vn(start)
        if remaining <= timedelta(0):
            return moment
        for begin, end in self._periods_from(moment):
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _periods_from raises first")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End of the `days`-th working day after the day of `start` (deadlines given in days)."""
        moment = to_vn(start)
        for counted, day in enumerate(self.working_days(moment.date() + timedelta(days=1)), start=1):
            if counted >= days:
                return _at(day, self.periods[-1][1])
        raise ValueError("the calendar has no working day in ten years")

    def working_hours_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (negative when `end` is before `start`)."""
        a, b = to_vn(start), to_vn(end)
        if b < a:
            return -self.working_hours_between(b, a)
        total = timedelta(0)
        for begin, finish in self._periods_from(a):
            if begin >= b:
                break
            total += min(finish, b) - begin
        return total

    def due_state(self, due: datetime | None, now: datetime, soon_hours: float = 8) -> str | None:
        """"overdue" once past `due`; "due_soon" when fewer than `soon_hours` WORKING hours remain."""
        if due is None:
            return None
        if to_vn(now) >= to_vn(due):
            return "overdue"
        if self.working_hours_between(now, due) <= _hours(soon_hours):
            return "due_soon"
        return "on_time"

    def registration_deadline(self, arrived_at: datetime,
                              limit_hours: float = DEFAULT_REGISTRATION_LIMIT_HOURS) -> datetime:
        """By when an arrived document must be registered and forwarded (a per-agency limit)."""
        return self.add_working_hours(arrived_at, limit_hours)

    def holidays_between(self, start: date, end: date) -> list[tuple[date, str]]:
        out = []
        day = start
        while day <= end:
            name = self.holiday_name(day)
            if name:
                out.append((day, name))
            day += timedelta(days=1)
        return out


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=VN_TZ)


def calendar_for(config: dict[str, Any] | None, cache: dict[str, WorkCalendar] | None = None) -> WorkCalendar:
    """Build (or reuse) a calendar for an agency's stored configuration."""
    if cache is None:
        return WorkCalendar.from_config(config)
    key = repr(sorted((config or {}).items()))
    if key not in cache:
        cache[key] = WorkCalendar.from_config(config)
    return cache[key]


def parse_days(values: Iterable[str | date]) -> frozenset[date]:
    return frozenset(_parse_date(v) for v in values)
