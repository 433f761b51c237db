"""The year's file plan (danh mục hồ sơ, NĐ 30 Điều 28): drafted by the clerk, approved by a leader."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.registry.dossier_domain import check_file_notation, check_title, parse_retention, retention_label
from services.registry.dossier_models import FilePlan, FilePlanHeading, FilePlanItem
from services.registry.dossiers import _agency, _iso


def _load_plan(session: Session, actor: Actor, plan_id: str) -> FilePlan:
    plan = session.get(FilePlan, plan_id)
    if plan is None or plan.agency_id != actor.agency_id:
        raise NotFound("Không tìm thấy danh mục hồ sơ.", plan=plan_id)
    return plan


def plan_dict(session: Session, plan: FilePlan) -> dict[str, Any]:
    headings = session.execute(select(FilePlanHeading).where(FilePlanHeading.plan_id == plan.id)
                               .order_by(FilePlanHeading.position)).scalars().all()
    items = session.execute(select(FilePlanItem).where(FilePlanItem.plan_id == plan.id)
                            .order_by(FilePlanItem.file_notation)).scalars().all()
    return {"id": plan.id, "year": plan.year, "state": plan.state, "approved_by": plan.approved_by,
            "approved_at": _iso(plan.approved_at), "approval_doc": plan.approval_doc,
            "headings": [{"id": h.id, "code": h.code, "title": h.title, "abbreviation": h.abbreviation,
                          "parent_id": h.parent_id} for h in headings],
            "items": [{"id": i.id, "heading_id": i.heading_id, "file_notation": i.file_notation, "title": i.title,
                       "retention": i.retention, "retention_label": retention_label(i.retention),
                       "creator": i.creator, "note": i.note} for i in items]}


def create_file_plan(db: Database, actor: Actor, year: int, headings: list[dict[str, Any]],
                     items: list[dict[str, Any]]) -> dict:
    """The clerk drafts the year's plan: headings [{code, title, abbreviation, parent}] and items
    [{heading (code), file_notation, title, retention, creator, note}]."""
    _agency(db, actor)
    actor.require(Role.CLERK, Role.ADMIN)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed("Năm của danh mục hồ sơ không hợp lệ.", code="bad_year", field="year", value=year)
    try:
        with db.session() as session:
            plan = FilePlan(agency_id=actor.agency_id, year=int(year), created_by=actor.user_id)
            session.add(plan)
            session.flush()
            by_code: dict[str, FilePlanHeading] = {}
            for position, h in enumerate(headings):
                parent = by_code.get(str(h.get("parent") or ""))
                heading = FilePlanHeading(plan_id=plan.id, parent_id=parent.id if parent else None,
                                          code=str(h["code"])[:10], title=check_title(h.get("title")),
                                          abbreviation=str(h.get("abbreviation") or "")[:10], position=position)
                session.add(heading)
                by_code[heading.code] = heading
            session.flush()
            seen: set[str] = set()
            for it in items:
                notation = check_file_notation(it.get("file_notation"))
                if notation in seen:
                    raise ValidationFailed("Số và ký hiệu hồ sơ bị trùng trong danh mục.", code="duplicate_notation",
                                           field="file_notation", value=notation)
                seen.add(notation)
                heading = by_code.get(str(it.get("heading") or ""))
                session.add(FilePlanItem(plan_id=plan.id, heading_id=heading.id if heading else None,
                                         file_notation=notation, title=check_title(it.get("title")),
                                         retention=parse_retention(it.get("retention")),
                                         creator=str(it.get("creator") or "")[:100],
                                         note=str(it.get("note") or "")[:500]))
            session.flush()
            return plan_dict(session, plan)
    except IntegrityError:
        raise Conflict(f"Danh mục hồ sơ năm {year} đã có.", code="file_plan_exists", year=year) from None


def approve_file_plan(db: Database, actor: Actor, plan_id: str, approval_doc: str = "") -> dict:
    _agency(db, actor)
    actor.require(Role.LEADER)
    with db.session() as session:
        plan = _load_plan(session, actor, plan_id)
        if plan.state != "approved":  # approving twice is a no-op (at-least-once delivery)
            plan.state, plan.approved_by, plan.approved_at = "approved", actor.user_id, clock.now_utc()
            plan.approval_doc = approval_doc[:100]
        return plan_dict(session, plan)


def get_file_plan(db: Database, actor: Actor, year: int) -> dict | None:
    _agency(db, actor)
    with db.session() as session:
        plan = session.execute(select(FilePlan).where(FilePlan.agency_id == actor.agency_id,
                                                      FilePlan.year == int(year))).scalar_one_or_none()
        return plan_dict(session, plan) if plan else None
