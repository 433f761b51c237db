"""The clock of the waiting-for-reception list (issue 18 item 8): each arrived document must be registered and
forwarded within the agency's limit in WORKING hours, counted from its arrival, not from its registration (QĐ
8849/QĐ-UBND Đà Nẵng Điều 5.2: 08 giờ làm việc; Quy định của Văn phòng HĐND và UBND TP.HCM Điều 6.2: 4 giờ làm
việc; the agency rule `registration_limit_hours`, kept by routing with the agency's working calendar).

The list shows when the limit ends, the working time left (a countdown that stands still outside working hours)
and an overdue mark; GET /api/v1/incoming/waiting-reception returns the same figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.app import Gateway, Viewer
from gateway.reads import read
from services.common import clock
from services.common.clock import to_vn
from services.common.errors import CongVanError
from services.common.workcalendar import DEFAULT_REGISTRATION_LIMIT_HOURS, WorkCalendar


def working_time_text(minutes: int) -> str:
    """235 → "3 giờ 55 phút" (working time, as staff count it)."""
    hours, rest = divmod(abs(int(minutes)), 60)
    parts = [f"{hours} giờ" if hours else "", f"{rest} phút" if rest or not hours else ""]
    return " ".join(p for p in parts if p)


def reception_clock(arrived: datetime, calendar: WorkCalendar, limit_hours: float, now: datetime,
                    soon_hours: float = 2) -> dict[str, Any]:
    """When the limit ends and where the document stands: remaining (or overdue) working minutes and the state."""
    due = calendar.registration_deadline(arrived, limit_hours)
    state = calendar.due_state(due, now, soon_hours)
    if state == "overdue":
        minutes = -int(calendar.working_hours_between(due, now).total_seconds() // 60)
        text = f"Quá hạn {working_time_text(minutes)} làm việc" if minutes else "Quá hạn"
    else:
        minutes = int(calendar.working_hours_between(now, due).total_seconds() // 60)
        text = f"Còn {working_time_text(minutes)} làm việc"
    return {"reception_due": to_vn(due).isoformat(timespec="minutes"), "reception_limit_hours": limit_hours,
            "reception_minutes_left": minutes, "reception_state": state, "reception_overdue": state == "overdue",
            "reception_text": text, "reception_due_label": to_vn(due).strftime("%H:%M %d/%m/%Y")}


def waiting_panel(g: Gateway, v: Viewer, link: str | None = None, page: int | None = None) -> Any:
    """The list "Văn bản đến chờ tiếp nhận" with each document's clock: on the clerk's home page (its first rows),
    or page `page` of the whole list on its own page."""
    from gateway.web import list_panel, panel

    title = "Văn bản đến chờ tiếp nhận"
    waiting = (panel(g, v, title, "registry", "list_waiting_reception", link) if page is None
               else list_panel(g, v, title, "list_waiting_reception", page))
    with_reception_clock(g, v, waiting.rows or [])
    return waiting


def with_reception_clock(g: Gateway, v: Viewer, rows: list[dict[str, Any]],
                         now: datetime | None = None) -> list[dict[str, Any]]:
    """The rows with their clock; the agency's limit and calendar are read once from routing. Rows without an
    arrival time (none recorded) and a routing that does not answer leave the rows as they are."""
    if not rows:
        return rows
    try:
        config = read(g, v, "routing", "get_config")  # asked with the home page's lists, when it is that page
    except CongVanError:
        return rows
    calendar = WorkCalendar.from_config(config.get("calendar"))
    limit = float(config.get("registration_limit_hours") or DEFAULT_REGISTRATION_LIMIT_HOURS)
    moment = now or clock.now_utc()
    for row in rows:
        arrived = row.get("received_at")
        if arrived:
            row.update(reception_clock(datetime.fromisoformat(str(arrived)), calendar, limit, moment))
    return rows
