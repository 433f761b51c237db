"""Days as people type them on any keyboard. A phone's number pad has no "/" (iOS shows digits only for
inputmode=numeric), and app.js may not have run (no script, an old browser): the server reads dd/mm/yyyy,
dd-mm-yyyy, dd.mm.yyyy, "dd mm yyyy", ddmmyyyy and yyyy-mm-dd alike and hands the services ISO days."""

from __future__ import annotations

import re
from datetime import date

from services.common.errors import ValidationFailed

_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-\s]+(\d{1,2})[/.\-\s]+(\d{4})$")
_DIGITS = re.compile(r"^(\d{2})(\d{2})(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def typed_day(text: str | None) -> str | None:
    """The ISO day (yyyy-mm-dd) of what was typed; None for an empty field. Text that is not a day in one of the
    accepted forms is returned unchanged (trimmed), so the service that reads it refuses it with its own message
    naming the field (an ISO date and time, as the API sends, passes through)."""
    value = (text or "").strip()
    if not value:
        return None
    if m := _ISO.match(value):
        year, month, day = m.groups()
    elif m := _DAY_FIRST.match(value) or _DIGITS.match(value):
        day, month, year = m.groups()
    else:
        return value
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return value


def typed_days(params: dict[str, str], *names: str) -> dict[str, str]:
    """The same mapping with the named fields read as days (empty ones dropped)."""
    out = dict(params)
    for name in names:
        if name in out:
            day = typed_day(out[name])
            if day is None:
                out.pop(name)
            else:
                out[name] = day
    return out


# The years a report may cover, as the other year fields of the API (a year 1 or 99999 made a 500 from date maths).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def check_year(year: int, field: str = "year") -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"Năm {year} không hợp lệ: năm báo cáo từ {FIRST_YEAR} đến {LAST_YEAR}.", field=field,
                               value=year)
    return year
