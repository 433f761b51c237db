"""Problem reports (Đà Nẵng QĐ 8849/QĐ-UBND, annex forms 1 and 2): the gateway's own table, on its own metadata.

Form 1 (Biên bản ghi nhận lỗi) is what a person fills in when the software fails; form 2 (Biên bản xử lý lỗi) is
what the agency's administrator records once the fault was dealt with. One row holds both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ProblemBase(DeclarativeBase):
    metadata = MetaData()


class ProblemReport(ProblemBase):
    __tablename__ = "problem_reports"
    __table_args__ = (UniqueConstraint("agency_id", "year", "number", name="uq_problem_reports_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)                 # Số: N/BBGNL-QLVBĐH, from 1 each year per agency
    # Form 1
    reporter_id: Mapped[str] = mapped_column(String(36), index=True)
    reporter_name: Mapped[str] = mapped_column(String(100))
    reporter_unit: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))                # ROLES key
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    function: Mapped[str] = mapped_column(String(32))            # FUNCTIONS key
    function_other: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text)
    proposal: Mapped[str] = mapped_column(Text, default="")
    page_url: Mapped[str] = mapped_column(String(500), default="")   # the page "Báo lỗi" was pressed on
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    screenshot_name: Mapped[str] = mapped_column(String(255), default="")
    screenshot_type: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Form 2
    state: Mapped[str] = mapped_column(String(16), default="open")   # open | done | not_done
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    result_detail: Mapped[str] = mapped_column(Text, default="")
    handled_by_id: Mapped[str | None] = mapped_column(String(36))
    handled_by_name: Mapped[str] = mapped_column(String(100), default="")
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
