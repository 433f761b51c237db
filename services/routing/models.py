"""Tables of the routing service (its own schema / SQLite file). Times are stored in UTC.

Ids of other services' records (incoming_id, document_id, outgoing_id, user ids) are kept as strings: routing
never joins another service's tables, it keeps what the events told it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.agency_rules import make_rules_table
from services.common.db import add_later_columns
from services.common.outbox import make_outbox_table


class Base(DeclarativeBase):
    metadata = MetaData()


UTCDateTime = DateTime(timezone=True)


class AgencyConfig(Base):
    """Per-agency settings that differ between provinces (DOMAIN.md: configuration, not code)."""

    __tablename__ = "agency_config"
    agency_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency_name: Mapped[str] = mapped_column(String(300), default="")
    calendar: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    registration_limit_hours: Mapped[int] = mapped_column(Integer, default=8)
    default_deadline_days: Mapped[int] = mapped_column(Integer, default=10)
    due_soon_hours: Mapped[int] = mapped_column(Integer, default=8)
    distributor_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # None (an agency from before the setting) or True: a leader may delegate "approve and sign"; False: the agency
    # switched signing delegation off, and grants already made no longer let anyone sign.
    signing_delegation: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # a chain per document type code ({"QD": [steps]}); a type not named here follows `review_chain`
    review_chains: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Staff(Base):
    """What routing needs to know about people: unit, roles (whom to notify), e-mail, position (signer)."""

    __tablename__ = "staff"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), default="")
    full_name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class UnitName(Base):
    """The name of each unit of the agency (code as on people's accounts, upper case), from the directory: what
    routing hands over names the drafting unit by its name (column 6 of the outgoing register)."""

    __tablename__ = "unit_name"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The unit's part of a notation, "12/UBND-VX" (NĐ 30 Phụ lục I), when it is not the unit's code.
    abbreviation: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The unit it sits in (a phòng of a Chi cục; Bình Định QĐ 376 Đ4.1 Bước 3); None: directly under the agency.
    parent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # False: the unit no longer works (merged or dissolved); it keeps its name for history but receives no new work.
    # None (rows from before the flag): active.
    active: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Handling(Base):
    """The handling record of one registered incoming document."""

    __tablename__ = "handling"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incoming_id: Mapped[str] = mapped_column(String(64), unique=True)
    document_id: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    document_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    sender_organ_id: Mapped[str] = mapped_column(String(40), default="")
    sender_organ_name: Mapped[str] = mapped_column(String(300), default="")
    doc_code: Mapped[str] = mapped_column(String(100), default="")
    promulgation_date: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    waiting_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    directive: Mapped[str | None] = mapped_column(Text, nullable=True)
    directed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    directed_on_behalf_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deadline_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply_draft_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Assignment(Base):
    """Main handler / coordinator / for-information reader: a person, or a unit (its heads act for it)."""

    __tablename__ = "assignment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handling_id: Mapped[int] = mapped_column(ForeignKey("handling.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HandlingEvent(Base):
    """The handling history: every action with who did it (and for whom), traceable [000 Đ13.4b]."""

    __tablename__ = "handling_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handling_id: Mapped[int] = mapped_column(ForeignKey("handling.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Link(Base):
    """A link between two records (incoming, draft, task, outgoing, dossier), in either direction."""

    __tablename__ = "link"
    __table_args__ = (UniqueConstraint("from_kind", "from_id", "to_kind", "to_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_kind: Mapped[str] = mapped_column(String(20))
    from_id: Mapped[str] = mapped_column(String(64))
    to_kind: Mapped[str] = mapped_column(String(20))
    to_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Draft(Base):
    __tablename__ = "draft"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    type_code: Mapped[str] = mapped_column(String(20), default="CV")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    drafted_by: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # drafting | in_review | returned | paper_approved (signed on paper, waiting for the scan) | signed | issued
    status: Mapped[str] = mapped_column(String(20), default="drafting")
    answers: Mapped[list[str]] = mapped_column(JSON, default=list)
    chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    deputy_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # phó phụ trách, reviews last
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    signed_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signed_on_behalf_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # set by the registry's `outgoing_issued`: the draft shows "Đã ban hành" with its number
    outgoing_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # approved and signed on paper (agency rule `paper_signing`, Hưng Yên Đ6.3a): who approved at which step, then
    # the scan the handler forwarded for issue (services/routing/paper.py); None for a digitally signed draft
    paper: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DraftVersion(Base):
    __tablename__ = "draft_version"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("draft.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    appendix_sha256s: Mapped[list[str]] = mapped_column(JSON, default=list)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DraftParticipant(Base):
    """Who may see a draft: drafts are visible only to the people handling them [003 Đ4.2]."""

    __tablename__ = "draft_participant"
    __table_args__ = (UniqueConstraint("draft_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("draft.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(20))  # author | commenter | reviewer


class DraftComment(Base):
    __tablename__ = "draft_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("draft.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # comment | approve | return | submit | sign | paper_sign | paper_forward | handover | deputy
    kind: Mapped[str] = mapped_column(String(20))
    step: Mapped[str | None] = mapped_column(String(40), nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it was entered (by `user_id`)
    # a step entered late after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2): when it really happened; None otherwise
    happened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # nhập thay (entry.py): who typed the leader's decision in; `user_id` stays the leader whose decision it is
    entered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Task(Base):
    __tablename__ = "task"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assignee: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskMember(Base):
    __tablename__ = "task_member"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # assignee | coordinator | creator


class TaskComment(Base):
    __tablename__ = "task_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # comment | progress | close
    progress: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a leader's opinion typed in by their entrant (nhập thay, entry.py): who typed it, when the leader gave it, and
    # the business operation it was (entered once)
    entered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    happened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    operation_id: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Notice(Base):
    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    units: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None: all staff
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeRead(Base):
    __tablename__ = "notice_read"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delegation(Base):
    __tablename__ = "delegation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    leader_user_id: Mapped[str] = mapped_column(String(64), index=True)
    delegate_user_id: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OversightAction(Base):
    """A leader's action on assigned work (chase, deadline, directive, re-assignment, take back, move), once per
    (handling, operation): the same request sent again changes nothing."""

    __tablename__ = "oversight_action"
    __table_args__ = (UniqueConstraint("handling_id", "operation_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handling_id: Mapped[int] = mapped_column(ForeignKey("handling.id"), index=True)
    operation_id: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class DataExportGrant(Base):
    """The head lets a person who leaves download what they handled (Tuyên Quang Đ21.1c)."""

    __tablename__ = "data_export_grant"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class Notification(Base):
    """In-app notification; `email_state` pending → sent | failed | none drives the SMTP sender."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # assigned | urgent | due_soon | overdue | review | ...
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    ref_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    email_state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class UnitDocument(Base):
    """An outgoing document issued to one of the agency's own units (channel `internal`), as the registry's events
    told it (`outgoing_issued`, then `outgoing_changed`): the unit's list "Văn bản ban hành gửi đơn vị". `step` is
    the registry's step of the last change applied: an older or redelivered one changes nothing."""

    __tablename__ = "unit_document"
    __table_args__ = (UniqueConstraint("outgoing_id", "unit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outgoing_id: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str] = mapped_column(String(40), index=True)  # upper case, as UnitName
    number: Mapped[str] = mapped_column(String(80), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="issued")  # the registry's: issued | recalled
    change: Mapped[str | None] = mapped_column(String(20), nullable=True)  # recall | take_back | update | ...
    change_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    step: Mapped[int] = mapped_column(Integer, default=0)


outbox = make_outbox_table(Base.metadata)
agency_rules = make_rules_table(Base.metadata)  # services/common/agency_rules.py
add_later_columns(Base.metadata, {"draft": ("outgoing_id", "issued_number", "issued_at", "deputy_user_id", "paper"),
                                  "agency_config": ("signing_delegation", "review_chains"),
                                  "unit_name": ("abbreviation", "parent", "active"),
                                  "draft_comment": ("happened_at", "entered_by"),
                                  "task_comment": ("entered_by", "happened_at", "operation_id")})

from services.routing import schedule_models  # noqa: E402,F401 - its tables are on this metadata
