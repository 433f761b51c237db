"""Tables of file plans and dossiers (hồ sơ công việc), on the registry's own metadata.

A dossier references documents by their primary key (no copies, NĐ 30 Phụ lục VI: one document linked to many
files without duplication); notes and media that are not registry documents are items carrying a blob SHA-256.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common import clock
from services.registry.models import Base


def _uuid() -> str:
    return str(uuid.uuid4())


class FilePlan(Base):
    """Danh mục hồ sơ: one per agency and year, approved by the head of the agency."""

    __tablename__ = "file_plan"
    __table_args__ = (UniqueConstraint("agency_id", "year", name="uq_file_plan"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    agency_id: Mapped[str] = mapped_column(String(35), index=True)
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="draft")    # draft | approved
    created_by: Mapped[str] = mapped_column(String(100), default="")
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approval_doc: Mapped[str] = mapped_column(String(100), default="")  # số/ký hiệu of the approving decision


class FilePlanHeading(Base):
    """Đề mục: Roman numerals at the top level, Arabic below; `abbreviation` goes into file notations."""

    __tablename__ = "file_plan_heading"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    plan_id: Mapped[str] = mapped_column(ForeignKey("file_plan.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(10))          # I, II, ... or 1, 2, ... under a parent
    title: Mapped[str] = mapped_column(String(500))
    abbreviation: Mapped[str] = mapped_column(String(10), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class FilePlanItem(Base):
    __tablename__ = "file_plan_item"
    __table_args__ = (UniqueConstraint("plan_id", "file_notation", name="uq_file_plan_item"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    plan_id: Mapped[str] = mapped_column(ForeignKey("file_plan.id"), index=True)
    heading_id: Mapped[str | None] = mapped_column(ForeignKey("file_plan_heading.id"))
    file_notation: Mapped[str] = mapped_column(String(20))   # e.g. 01.TCCB
    title: Mapped[str] = mapped_column(String(500))
    retention: Mapped[str] = mapped_column(String(30))        # "permanent" or "<n>y" (domain.Retention)
    creator: Mapped[str] = mapped_column(String(100), default="")  # người/đơn vị lập hồ sơ
    note: Mapped[str] = mapped_column(String(500), default="")


class Dossier(Base):
    """Hồ sơ: metadata of NĐ 30 Phụ lục VI Mục III plus its life-cycle state."""

    __tablename__ = "dossier"
    __table_args__ = (UniqueConstraint("agency_id", "file_catalog", "file_notation", name="uq_dossier_code"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    agency_id: Mapped[str] = mapped_column(String(35), index=True)
    organ_id: Mapped[str] = mapped_column(String(35))             # FileCode.OrganId
    file_catalog: Mapped[int] = mapped_column(Integer)            # FileCode.FileCatalog (year)
    file_notation: Mapped[str] = mapped_column(String(20))        # FileCode.FileNotation
    title: Mapped[str] = mapped_column(String(500))
    retention: Mapped[str] = mapped_column(String(30))            # Maintenance
    rights: Mapped[str] = mapped_column(String(30), default="Công khai")
    creator: Mapped[str] = mapped_column(String(100))             # user id of the person who keeps it
    creator_name: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(50), default="Tiếng Việt")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    doc_total: Mapped[int] = mapped_column(Integer, default=0)
    page_total: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    plan_item_id: Mapped[str | None] = mapped_column(ForeignKey("file_plan_item.id"))
    construction: Mapped[bool] = mapped_column(default=False)     # XDCB: due 3 months after settlement
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | closed | submitted | archived
    submission_due: Mapped[date | None] = mapped_column(Date)
    return_reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_by: Mapped[str | None] = mapped_column(String(100))


class DossierItem(Base):
    """A document in a dossier, by reference, with its ordinal (DocOrdinal, 3 digits)."""

    __tablename__ = "dossier_item"
    __table_args__ = (UniqueConstraint("dossier_id", "document_pk", name="uq_dossier_document"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossier.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))                 # document | draft | note | media
    document_pk: Mapped[str | None] = mapped_column(ForeignKey("document.id"), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64))        # notes, media, drafts outside the registry
    title: Mapped[str] = mapped_column(String(500), default="")
    item_date: Mapped[date | None] = mapped_column(Date)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    added_by: Mapped[str] = mapped_column(String(100), default="")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())


class DossierEvent(Base):
    """History of a dossier: opened, items added/removed, closed, submitted, accepted, returned."""

    __tablename__ = "dossier_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossier.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    user_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    details: Mapped[str] = mapped_column(Text, default="")
