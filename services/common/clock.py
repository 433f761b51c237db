"""Time in Vietnam. Legal dates (numbering year, arrival date) are Vietnam-local; storage is UTC-aware.

Every other helper goes through `now_utc()`, looked up at call time: a test replaces that one function
(monkeypatch `services.common.clock.now_utc`) to stand at 00:30 in Hà Nội while UTC is still on yesterday.
Callers use `clock.today_vn()` (the module attribute), never a copy imported by name, so the patch reaches them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_vn() -> datetime:
    return now_utc().astimezone(VN_TZ)


def today_vn() -> date:
    """Today in Vietnam: the default of every date field and the year of the registers offered. The server's own
    date (date.today(), UTC on our hosts) is still yesterday between 00:00 and 07:00 in Hà Nội."""
    return now_utc().astimezone(VN_TZ).date()


def to_vn(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ)


def vn_date(moment: datetime) -> date:
    """The calendar date in Vietnam of an instant: 31 Dec 17:30 UTC is already 1 Jan in Hà Nội."""
    return to_vn(moment).date()
