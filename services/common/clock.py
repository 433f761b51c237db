"""Time in Vietnam. Legal dates (numbering year, arrival date) are Vietnam-local; storage is UTC-aware."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_vn() -> datetime:
    return datetime.now(VN_TZ)


def to_vn(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ)


def vn_date(moment: datetime) -> date:
    """The calendar date in Vietnam of an instant: 31 Dec 17:30 UTC is already 1 Jan in Hà Nội."""
    return to_vn(moment).date()
