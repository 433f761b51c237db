"""The leadership's work schedule (lịch công tác): the office prepares the week's meetings and activities of the
leaders (time, place, content, who chairs and attends, the preparing unit, documents attached) and publishes it;
every staff member then sees it, and it prints on A4. Asked for by Bình Định (Quy chế kèm QĐ 376/QĐ-SNV Điều 3.1)
and common to every peer system.

A chapter of the Routing application (app.py). Editors: the clerk (văn thư, the office), leaders and the
administrator; everyone else sees published weeks only.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import to_vn
from services.common.errors import NotFound, ValidationFailed
from services.routing import domain
from services.routing.base import _iso, row_id
from services.routing.models import Staff
from services.routing.schedule_models import ScheduleEntry, ScheduleWeek

EDITORS = (Role.CLERK, Role.LEADER, Role.ADMIN)
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def monday_of(day: date | str) -> date:
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day[:10])
        except ValueError:
            raise ValidationFailed("Tuần không hợp lệ (dạng YYYY-MM-DD).", field="week", value=day) from None
    return day - timedelta(days=day.weekday())


def _text(value: Any, limit: int) -> str:
    """Free text as kept: control characters dropped (PostgreSQL refuses NUL), trimmed, bounded."""
    return "".join(ch for ch in str(value or "") if ch >= " " or ch in "\n\t").strip()[:limit]


class Schedule:
    def schedule_week(self, actor: Actor, week: str) -> dict[str, Any]:
        """The week containing `week`: its entries by day. Not yet published: only editors see the entries."""
        start = monday_of(week)
        with self._unit_of_work(actor) as session:
            row = session.get(ScheduleWeek, start)
            editor = actor.has(*EDITORS)
            published = bool(row and row.published_at)
            entries = [] if not (published or editor) else list(session.scalars(
                select(ScheduleEntry).where(ScheduleEntry.week_start == start).order_by(ScheduleEntry.starts_at)))
            names = self._names(session)
            days = []
            for offset in range(7):
                day = start + timedelta(days=offset)
                items = [self._entry_view(e, names) for e in entries if to_vn(e.starts_at).date() == day]
                if items or offset < 5:  # Monday to Friday always; a weekend only when something is on
                    days.append({"date": day.isoformat(), "weekday": WEEKDAYS_VI[offset], "entries": items})
            return {"week_start": start.isoformat(), "week_end": (start + timedelta(days=6)).isoformat(),
                    "previous": (start - timedelta(days=7)).isoformat(),
                    "next": (start + timedelta(days=7)).isoformat(),
                    "published": published, "published_at": _iso(row.published_at) if row else None,
                    "note": row.note if row else "", "can_edit": editor, "days": days,
                    "count": sum(len(d["entries"]) for d in days)}

    def save_schedule_entry(self, actor: Actor, entry: dict[str, Any]) -> dict[str, Any]:
        """Add an entry, or change one (`id`); the week is the one of its start."""
        actor.require(*EDITORS)
        title = _text(entry.get("title"), 2000)
        if not title:
            raise ValidationFailed("Nội dung công tác không được để trống.", field="title")
        starts = domain.parse_instant(entry.get("starts_at") or "", "Thời gian bắt đầu")
        ends = domain.parse_instant(entry["ends_at"], "Thời gian kết thúc") if entry.get("ends_at") else None
        if ends is not None and ends <= starts:
            raise ValidationFailed("Thời gian kết thúc phải sau thời gian bắt đầu.", field="ends_at")
        documents = [{"id": _text(d.get("id"), 64), "label": _text(d.get("label") or d.get("id"), 200)}
                     for d in entry.get("documents") or [] if isinstance(d, dict) and d.get("id")]
        with self._unit_of_work(actor) as session:
            leaders = [_text(u, 64) for u in entry.get("leaders") or [] if _text(u, 64)]
            for user_id in leaders:
                self._staff(session, user_id)
            start = monday_of(starts.date())
            if session.get(ScheduleWeek, start) is None:
                session.add(ScheduleWeek(week_start=start, note=""))
                session.flush()
            row = session.get(ScheduleEntry, row_id(entry["id"])) if entry.get("id") else None
            if entry.get("id") and row is None:
                raise NotFound("Không tìm thấy mục lịch công tác.", entry_id=entry.get("id"))
            row = row or ScheduleEntry(created_by=actor.user_id)
            # stored in UTC like every routing time (SQLite keeps no offset)
            row.week_start, row.starts_at = start, starts.astimezone(UTC)
            row.ends_at = ends.astimezone(UTC) if ends else None
            row.title, row.place = title, _text(entry.get("place"), 300)
            row.leaders, row.documents = leaders, documents
            row.attendees = _text(entry.get("attendees"), 2000)
            row.preparing_unit = _text(entry.get("preparing_unit"), 200)
            row.updated_at = self._now()
            session.add(row)
            session.flush()
            return self._entry_view(row, self._names(session))

    def delete_schedule_entry(self, actor: Actor, entry_id: int) -> dict[str, Any]:
        actor.require(*EDITORS)
        with self._unit_of_work(actor) as session:
            row = session.get(ScheduleEntry, row_id(entry_id))
            if row is None:
                raise NotFound("Không tìm thấy mục lịch công tác.", entry_id=entry_id)
            session.delete(row)
            return {"id": entry_id, "deleted": True}

    def publish_schedule(self, actor: Actor, week: str, note: str = "") -> dict[str, Any]:
        """The office publishes the week: from now every staff member sees it (published again after changes)."""
        actor.require(*EDITORS)
        start = monday_of(week)
        with self._unit_of_work(actor) as session:
            row = session.get(ScheduleWeek, start) or ScheduleWeek(week_start=start)
            row.published_at, row.published_by, row.note = self._now(), actor.user_id, _text(note, 2000)
            session.add(row)
        return self.schedule_week(actor, start.isoformat())

    def _names(self, session: Session) -> dict[str, dict[str, str]]:
        return {s.user_id: {"name": s.full_name or s.username, "position": s.position or ""}
                for s in session.scalars(select(Staff))}

    @staticmethod
    def _entry_view(row: ScheduleEntry, names: dict[str, dict[str, str]]) -> dict[str, Any]:
        start = to_vn(row.starts_at)
        return {"id": row.id, "starts_at": _iso(row.starts_at), "ends_at": _iso(row.ends_at),
                "time": start.strftime("%H:%M") + (f" – {to_vn(row.ends_at).strftime('%H:%M')}" if row.ends_at
                                                    else ""),
                "date": start.date().isoformat(), "title": row.title, "place": row.place,
                "leaders": [{"user_id": u, **names.get(u, {"name": u, "position": ""})} for u in row.leaders or []],
                "attendees": row.attendees, "preparing_unit": row.preparing_unit, "documents": row.documents or []}


