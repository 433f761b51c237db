"""Tables of the registry service (its own metadata: one SQLite file / PostgreSQL schema per agency)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import clock
from services.common.agency_rules import make_rules_table
from services.common.db import add_later_columns
from services.common.outbox import make_outbox_table


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    """A new row id (the default of the tables keyed by a uuid), for a row named before it is written."""
    return str(uuid.uuid4())


class AgencyProfile(Base):
    """What the registry must know about its own agency to number and address documents."""

    __tablename__ = "agency_profile"
    agency_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    organ_name: Mapped[str] = mapped_column(String(200), default="")
    abbreviation: Mapped[str] = mapped_column(String(20), default="")   # e.g. UBND
    place: Mapped[str] = mapped_column(String(100), default="")         # địa danh, e.g. Tuyên Quang
    # "Gửi văn bản": a document without a legally valid signature may leave, marked so (administrator's choice)
    allow_unsigned_send: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Register(Base):
    """A number book (sổ văn bản): one counter per (agency, direction, scope, year)."""

    __tablename__ = "register"
    __table_args__ = (UniqueConstraint("agency_id", "direction", "scope", "year", name="uq_register"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(String(35), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(10))          # "all" or a type code (QĐ, TB, ...)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    next_number: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    created_by: Mapped[str] = mapped_column(String(100), default="")


class Document(Base):
    """An incoming or outgoing document with the NĐ 30 Phụ lục VI fields."""

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("agency_id", "dedupe_key", name="uq_document_dedupe"),
        # gap-free and unique: one document per number of a register
        UniqueConstraint("register_id", "number", name="uq_document_register_number"),
        UniqueConstraint("agency_id", "draft_id", name="uq_document_draft"),
        Index("ix_document_list", "agency_id", "direction", "state", "priority"),
        Index("ix_document_paper", "agency_id", "code_number", "code_notation"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(String(35), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    document_id: Mapped[str | None] = mapped_column(String(200), index=True)   # edXML DocumentId
    dedupe_key: Mapped[str | None] = mapped_column(String(400))
    draft_id: Mapped[str | None] = mapped_column(String(64))                   # routing's draft (outgoing)
    # The unit that drafted it (routing's draft): column 6 of the outgoing register, "Đơn vị, người nhận bản lưu".
    # Its code, and its name as routing knew it when the draft was signed (None when unknown or not drafted here).
    drafting_unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    drafting_unit_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    business_type: Mapped[int] = mapped_column(Integer, default=0)
    source_channel: Mapped[str] = mapped_column(String(20), default="interconnect")  # paper, email, fax, ...

    type_code: Mapped[str | None] = mapped_column(String(10))
    type_name: Mapped[str] = mapped_column(String(100), default="")
    code_number: Mapped[str | None] = mapped_column(String(11))
    code_notation: Mapped[str | None] = mapped_column(String(30))
    issued_date: Mapped[date | None] = mapped_column(Date)
    organ_id: Mapped[str | None] = mapped_column(String(35))     # issuing agency
    organ_name: Mapped[str] = mapped_column(String(200), default="")
    promulgation_place: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(30), default="Tiếng Việt")
    page_amount: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500), default="")
    signer_competence: Mapped[str] = mapped_column(String(100), default="")
    signer_position: Mapped[str] = mapped_column(String(100), default="")
    signer_full_name: Mapped[str] = mapped_column(String(50), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    issued_amount: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date | None] = mapped_column(Date)
    to_places: Mapped[list[str]] = mapped_column(JSON, default=list)
    file_code: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # FileCode group, DocOrdinal
    no_paper_copy: Mapped[bool] = mapped_column(Boolean, default=False)

    register_id: Mapped[str | None] = mapped_column(ForeignKey("register.id"))
    number: Mapped[int | None] = mapped_column(BigInteger)     # số (outgoing) or số đến (incoming)
    year: Mapped[int | None] = mapped_column(Integer)
    arrival_date: Mapped[date | None] = mapped_column(Date)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    happened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # real time of a late entry

    sender_organ_id: Mapped[str | None] = mapped_column(String(35))     # incoming: who sent the package
    sender_organ_name: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    package: Mapped[dict[str, Any] | None] = mapped_column(JSON)       # the incoming package as received
    verification_state: Mapped[str] = mapped_column(String(20), default="none")  # pending | valid | invalid
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # revoke/update/take-back to decide; a decided one is SQL NULL, not JSON null, so that the clerk's list of
    # requests (recall.list_change_requests) reads only the documents that have one
    pending_change: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # an agreed recall deleted the files; metadata and history stay (recall.py)
    content_withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(String(30))
    reject_text: Mapped[str] = mapped_column(String(1000), default="")
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    replaced_by: Mapped[str | None] = mapped_column(String(36))

    handlers: Mapped[list[str]] = mapped_column(JSON, default=list)     # user ids who may see a draft
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc(),
                                                 onupdate=lambda: clock.now_utc())


class Attachment(Base):
    __tablename__ = "attachment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_pk: Mapped[str] = mapped_column(ForeignKey("document.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20), default="main")   # main | appendix | unsigned | scan
    content_id: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    # the file's place among its document's files where the order matters (a copy: main 0, appendices 1..)
    position: Mapped[int | None] = mapped_column(Integer)


class DocumentLink(Base):
    """answers (outgoing -> incoming), related, replaces."""

    __tablename__ = "document_link"
    __table_args__ = (UniqueConstraint("from_pk", "to_pk", "kind", name="uq_link"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_pk: Mapped[str] = mapped_column(ForeignKey("document.id"), index=True)
    to_pk: Mapped[str] = mapped_column(ForeignKey("document.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))


class RecipientStatus(Base):
    """Per-recipient view of an outgoing document: last status (01..06, 02 with reason; 15/16 on recall)."""

    __tablename__ = "recipient_status"
    __table_args__ = (UniqueConstraint("document_pk", "organ_id", name="uq_recipient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_pk: Mapped[str] = mapped_column(ForeignKey("document.id"), index=True)
    organ_id: Mapped[str] = mapped_column(String(35))
    organ_name: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(20), default="interconnect")
    status_code: Mapped[str | None] = mapped_column(String(3))   # None = queued, not yet confirmed
    description: Mapped[str] = mapped_column(String(1000), default="")
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # requested | accepted | refused; a paper line (paper_returns.py): paper_pending | paper_returned
    recall_state: Mapped[str | None] = mapped_column(String(20))
    returned_on: Mapped[date | None] = mapped_column(Date)   # the day a paper copy came back (Vietnam day)
    seen: Mapped[list[str]] = mapped_column(JSON, default=list)   # status codes received (dedupe)


class History(Base):
    """Every action on a document: who, when, on behalf of whom; late entries carry their real time."""

    __tablename__ = "history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    document_pk: Mapped[str] = mapped_column(ForeignKey("document.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    happened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(100), default="")
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


outbox = make_outbox_table(Base.metadata)
agency_rules = make_rules_table(Base.metadata)  # services/common/agency_rules.py


# Columns added after the tables existed (services/common/db.py: add_later_columns).
LATER_COLUMNS: dict[str, tuple[str, ...]] = {"document": ("drafting_unit", "drafting_unit_name",
                                                          "content_withdrawn_at"),
                                             "agency_profile": ("allow_unsigned_send",),
                                             "attachment": ("position",),
                                             "recipient_status": ("returned_on",)}
add_later_columns(Base.metadata, LATER_COLUMNS)
