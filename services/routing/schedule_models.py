"""Tables of the leadership's work schedule (lịch công tác, Bình Định Đ3.1), on routing's own metadata."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.routing.models import Base

UTCDateTime = DateTime(timezone=True)


class ScheduleWeek(Base):
    """A week (from its Monday): staff see it once the office has published it."""

    __tablename__ = "schedule_week"
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class ScheduleEntry(Base):
    """One meeting or activity of the leadership: when, where, what, who leads and attends, documents attached."""

    __tablename__ = "schedule_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    week_start: Mapped[date] = mapped_column(ForeignKey("schedule_week.week_start"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    title: Mapped[str] = mapped_column(Text)                       # nội dung
    place: Mapped[str] = mapped_column(String(300), default="")    # địa điểm
    leaders: Mapped[list[str]] = mapped_column(JSON, default=list)  # user ids of the leaders who chair or attend
    attendees: Mapped[str] = mapped_column(Text, default="")       # thành phần tham dự (free text)
    preparing_unit: Mapped[str] = mapped_column(String(200), default="")  # đơn vị chuẩn bị
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{id, label}] registry documents
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
