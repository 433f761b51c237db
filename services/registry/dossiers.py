"""File plans and dossiers (hồ sơ công việc): NĐ 30 Điều 28–30, Phụ lục V, Phụ lục VI Mục III.

Pure rules first (retention, notation, states, submission due date), then the use cases over a `Database`.
Life cycle: open → closed (duplicates removed, drafts refused or removed, totals filled) → submitted to the agency
archive → archived, or returned with a reason (back to open, so the keeper can fix it and close again).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import now_utc, vn_date
from services.common.db import Database
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.registry import domain, rules
from services.registry.domain import State
from services.registry.dossier_models import (
    Dossier,
    DossierEvent,
    DossierItem,
    FilePlan,
    FilePlanHeading,
    FilePlanItem,
)
from services.registry.models import Document

# --- pure rules ----------------------------------------------------------------------------------------------

PERMANENT = "permanent"
RETENTION_YEARS = (70, 50, 30, 20, 15, 10, 5)   # TT 10/2022 values used in practice; others allowed 1..100
REMINDER_DAYS = 30
ITEM_KINDS = ("document", "draft", "note", "media")
STATE_LABELS = {"open": "Đang mở", "closed": "Đã kết thúc", "submitted": "Đã nộp lưu, chờ tiếp nhận",
                "archived": "Lưu trữ cơ quan đã tiếp nhận"}
FILE_NOTATION_RE = re.compile(r"^[0-9A-Za-zĐđ.\-/]{1,20}$")
# A registry document still awaiting issue is a draft (signed but without number): it never goes to the archive.
DRAFT_STATES = {State.WAITING_ISSUE}


def parse_retention(value: Any) -> str:
    """'Vĩnh viễn' / 'permanent' → 'permanent'; 20, '20', '20 năm', '20y' → '20y'."""
    text = str(value or "").strip().lower()
    if text in {PERMANENT, "vĩnh viễn", "vinh vien"}:
        return PERMANENT
    match = re.fullmatch(r"(\d{1,3})\s*(y|năm|nam)?", text)
    if match and 1 <= int(match.group(1)) <= 100:
        return f"{int(match.group(1))}y"
    raise ValidationFailed("Thời hạn bảo quản không hợp lệ (“Vĩnh viễn” hoặc số năm, ví dụ “20 năm”).",
                           code="bad_retention", field="retention", value=str(value)[:30])


def retention_label(retention: str) -> str:
    return "Vĩnh viễn" if retention == PERMANENT else f"{int(retention[:-1])} năm"


def check_title(title: Any) -> str:
    text = str(title or "").strip()
    if not text:
        raise ValidationFailed("Thiếu trường bắt buộc “Tiêu đề hồ sơ”.", code="missing_field", field="title")
    if len(text) > 500:
        raise ValidationFailed("Trường “Tiêu đề hồ sơ” dài quá 500 ký tự.", code="too_long", field="title",
                               max_len=500, length=len(text))
    return text


def check_file_notation(notation: Any) -> str:
    text = str(notation or "").strip()
    if not FILE_NOTATION_RE.match(text):
        raise ValidationFailed("Số và ký hiệu hồ sơ không hợp lệ (tối đa 20 ký tự, ví dụ 01.TCCB).",
                               code="bad_file_notation", field="file_notation", value=text[:40])
    return text


def submission_due(end: date, construction: bool) -> date:
    """Construction files within 3 months after settlement, others within 1 year after the work ends (Điều 30)."""
    if construction:
        month = end.month + 3
        year, month = end.year + (month - 1) // 12, (month - 1) % 12 + 1
        day = min(end.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                            31, 31, 30, 31, 30, 31][month - 1])
        return date(year, month, day)
    try:
        return end.replace(year=end.year + 1)
    except ValueError:  # 29 February
        return end.replace(year=end.year + 1, day=28)


def require_state(dossier: Dossier, *states: str, action: str) -> None:
    if dossier.state not in states:
        label = STATE_LABELS.get(dossier.state, dossier.state)
        raise ValidationFailed(f"Không thể {action}: hồ sơ đang ở trạng thái “{label}”.", code="dossier_state",
                               dossier=dossier.id, state=dossier.state, allowed=list(states))


def require_editable(dossier: Dossier) -> None:
    if dossier.state != "open":
        raise ValidationFailed("Hồ sơ đã kết thúc, không được sửa đổi (chỉ sửa được hồ sơ đang mở).",
                               code="dossier_closed", dossier=dossier.id, state=dossier.state)


def is_keeper(actor: Actor, dossier: Dossier) -> bool:
    return actor.user_id == dossier.creator or actor.has(Role.CLERK, Role.ADMIN)


# --- helpers -------------------------------------------------------------------------------------------------

def _agency(db: Database, actor: Actor) -> None:
    if db.agency_id and actor.agency_id != db.agency_id:
        raise Forbidden("Không được truy cập dữ liệu của cơ quan khác.", user=actor.username, own=actor.agency_id,
                        asked=db.agency_id)


def _event(session: Session, dossier: Dossier, actor: Actor, action: str, details: str = "") -> None:
    session.add(DossierEvent(dossier_id=dossier.id, user_id=actor.user_id, action=action, details=details[:2000]))


def _load_plan(session: Session, actor: Actor, plan_id: str) -> FilePlan:
    plan = session.get(FilePlan, plan_id)
    if plan is None or plan.agency_id != actor.agency_id:
        raise NotFound("Không tìm thấy danh mục hồ sơ.", plan=plan_id)
    return plan


def _load(session: Session, actor: Actor, dossier_id: str, for_update: bool = False) -> Dossier:
    query = select(Dossier).where(Dossier.id == dossier_id)
    if for_update:
        query = query.with_for_update()
    dossier = session.execute(query).scalar_one_or_none()
    if dossier is None or dossier.agency_id != actor.agency_id:
        raise NotFound("Không tìm thấy hồ sơ.", dossier=dossier_id)
    return dossier


def _require_keeper(actor: Actor, dossier: Dossier) -> None:
    if not is_keeper(actor, dossier):
        raise Forbidden("Chỉ người lập hồ sơ hoặc văn thư được thay đổi hồ sơ này.", user=actor.username,
                        dossier=dossier.id)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


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


def dossier_dict(session: Session, dossier: Dossier, actor: Actor, with_items: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": dossier.id, "file_code": {"organ_id": dossier.organ_id, "file_catalog": dossier.file_catalog,
                                        "file_notation": dossier.file_notation},
        "file_code_text": f"{dossier.organ_id}.{dossier.file_catalog}.{dossier.file_notation}",
        "title": dossier.title, "retention": dossier.retention, "retention_label": retention_label(dossier.retention),
        "rights": dossier.rights, "creator": dossier.creator, "creator_name": dossier.creator_name,
        "language": dossier.language, "start_date": _iso(dossier.start_date), "end_date": _iso(dossier.end_date),
        "doc_total": dossier.doc_total, "page_total": dossier.page_total, "description": dossier.description,
        "plan_item_id": dossier.plan_item_id, "state": dossier.state,
        "state_label": STATE_LABELS.get(dossier.state, dossier.state),
        "submission_due": _iso(dossier.submission_due), "return_reason": dossier.return_reason,
    }
    if with_items:
        # A document in a dossier keeps its own access rule: one the reader may not see is not listed (its title
        # is the document's subject); the dossier's own totals are its record (NĐ 30 Phụ lục V) and stay.
        items = _items(session, dossier)
        hidden = hidden_items(session, actor, items)
        data["items"] = [{"id": i.id, "ordinal": i.ordinal, "kind": i.kind, "document_pk": i.document_pk,
                          "sha256": i.sha256, "title": i.title, "item_date": _iso(i.item_date), "pages": i.pages}
                         for i in items if i.id not in hidden]
    return data


def hidden_items(session: Session, actor: Actor, items: list[DossierItem]) -> set[str]:
    """Ids of the items that are registry documents the actor may not see (domain.can_view)."""
    pks = [i.document_pk for i in items if i.document_pk]
    if not pks:
        return set()
    docs = {d.id: d for d in session.execute(select(Document).where(Document.id.in_(pks))).scalars()}
    return {i.id for i in items if i.document_pk and not (
        (doc := docs.get(i.document_pk)) is not None
        and domain.can_view(actor, doc.agency_id, doc.state, doc.handlers or []))}


def _items(session: Session, dossier: Dossier) -> list[DossierItem]:
    return list(session.execute(select(DossierItem).where(DossierItem.dossier_id == dossier.id)
                                .order_by(DossierItem.ordinal)).scalars())


# --- file plan -----------------------------------------------------------------------------------------------

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
            plan.state, plan.approved_by, plan.approved_at = "approved", actor.user_id, now_utc()
            plan.approval_doc = approval_doc[:100]
        return plan_dict(session, plan)


def get_file_plan(db: Database, actor: Actor, year: int) -> dict | None:
    _agency(db, actor)
    with db.session() as session:
        plan = session.execute(select(FilePlan).where(FilePlan.agency_id == actor.agency_id,
                                                      FilePlan.year == int(year))).scalar_one_or_none()
        return plan_dict(session, plan) if plan else None


# --- dossiers ------------------------------------------------------------------------------------------------

def open_dossier(db: Database, actor: Actor, plan_item_id: str | None = None, title: str | None = None,
                 file_notation: str | None = None, retention: Any = None, start_date: Any = None,
                 year: int | None = None, description: str = "", construction: bool = False) -> dict:
    """From an item of the approved plan, or ad hoc with title, notation, retention and start date."""
    _agency(db, actor)
    start = domain.parse_date(start_date) if start_date else vn_date(now_utc())
    try:
        with db.session() as session:
            if plan_item_id:
                item = session.get(FilePlanItem, plan_item_id)
                plan = session.get(FilePlan, item.plan_id) if item else None
                if item is None or plan is None or plan.agency_id != actor.agency_id:
                    raise NotFound("Không tìm thấy mục trong danh mục hồ sơ.", item=plan_item_id)
                if plan.state != "approved":
                    raise ValidationFailed("Danh mục hồ sơ chưa được lãnh đạo phê duyệt.", code="plan_not_approved",
                                           plan=plan.id)
                catalog, notation = plan.year, item.file_notation
                title_, kept = check_title(title or item.title), parse_retention(retention or item.retention)
            else:
                catalog = int(year or start.year)
                notation, title_ = check_file_notation(file_notation), check_title(title)
                if retention in (None, ""):
                    raise ValidationFailed("Thiếu trường bắt buộc “Thời hạn bảo quản”.", code="missing_field",
                                           field="retention")
                kept = parse_retention(retention)
            dossier = Dossier(agency_id=actor.agency_id, organ_id=actor.agency_id, file_catalog=catalog,
                              file_notation=notation, title=title_, retention=kept, creator=actor.user_id,
                              creator_name=(actor.full_name or actor.username)[:100], start_date=start,
                              description=description[:500], plan_item_id=plan_item_id, construction=construction)
            session.add(dossier)
            session.flush()
            _event(session, dossier, actor, "opened")
            return dossier_dict(session, dossier, actor)
    except IntegrityError:
        raise Conflict("Hồ sơ có số và ký hiệu này trong năm đã được mở.", code="dossier_exists",
                       file_notation=file_notation) from None


def get_dossier(db: Database, actor: Actor, dossier_id: str) -> dict:
    _agency(db, actor)
    with db.session() as session:
        return dossier_dict(session, _load(session, actor, dossier_id), actor)


def list_dossiers(db: Database, actor: Actor, state: str | None = None, year: int | None = None,
                  mine: bool = False) -> list[dict]:
    _agency(db, actor)
    with db.session() as session:
        query = select(Dossier).where(Dossier.agency_id == actor.agency_id)
        if state:
            query = query.where(Dossier.state == state)
        if year:
            query = query.where(Dossier.file_catalog == int(year))
        if mine:
            query = query.where(Dossier.creator == actor.user_id)
        rows = session.execute(query.order_by(Dossier.file_catalog.desc(), Dossier.file_notation)).scalars()
        return [dossier_dict(session, d, actor, with_items=False) for d in rows]


def update_dossier(db: Database, actor: Actor, dossier_id: str, changes: dict[str, Any]) -> dict:
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        require_editable(dossier)
        _apply_changes(dossier, changes)
        _event(session, dossier, actor, "updated", ", ".join(sorted(changes)))
        return dossier_dict(session, dossier, actor)


def _apply_changes(dossier: Dossier, changes: dict[str, Any]) -> None:
    if "title" in changes:
        dossier.title = check_title(changes["title"])
    if "retention" in changes:
        dossier.retention = parse_retention(changes["retention"])
    if "description" in changes:
        dossier.description = str(changes["description"] or "")[:500]
    if "rights" in changes:
        dossier.rights = str(changes["rights"] or "")[:30]


def add_document(db: Database, actor: Actor, dossier_id: str, document_pk: str) -> dict:
    """Adds a registry document by reference (no copy). Adding the same document again changes nothing."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        require_editable(dossier)
        doc = session.get(Document, document_pk)
        if doc is None or doc.agency_id != actor.agency_id:
            raise NotFound("Không tìm thấy văn bản.", document=document_pk)
        domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
        existing = session.execute(select(DossierItem).where(DossierItem.dossier_id == dossier.id,
                                                             DossierItem.document_pk == doc.id)).scalar_one_or_none()
        if existing is None:
            main = _main_sha(session, doc)
            session.add(DossierItem(
                dossier_id=dossier.id, ordinal=_next_ordinal(session, dossier), document_pk=doc.id,
                kind="draft" if doc.state in DRAFT_STATES else "document", sha256=main,
                title=f"{doc.type_name} {doc.code_number or ''}/{doc.code_notation or ''}: {doc.subject}"[:500],
                item_date=doc.issued_date or doc.arrival_date, pages=int(doc.page_amount or 0),
                added_by=actor.user_id))
            _event(session, dossier, actor, "document_added", doc.id)
            session.flush()
        return dossier_dict(session, dossier, actor)


def _main_sha(session: Session, doc: Document) -> str | None:
    from services.registry.models import Attachment

    rows = session.execute(select(Attachment).where(Attachment.document_pk == doc.id)).scalars().all()
    main = [a for a in rows if a.role in ("main", "scan")] or rows
    return main[0].sha256 if main else None


def check_can_add(db: Database, actor: Actor, dossier_id: str) -> None:
    """What add_item refuses for who the actor is, asked before a file is stored: a refused upload leaves nothing."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id)
        _require_keeper(actor, dossier)
        require_editable(dossier)


def add_item(db: Database, actor: Actor, dossier_id: str, kind: str, sha256: str, title: str,
             item_date: Any = None, pages: int = 0, content_type: str = "application/pdf") -> dict:
    """A note, a media file (photo, audio) or a working draft that is not a registry document, by its blob hash."""
    _agency(db, actor)
    if kind not in ITEM_KINDS or kind == "document":
        raise ValidationFailed("Loại tài liệu trong hồ sơ không hợp lệ (dự thảo, ghi chú, tư liệu).",
                               code="bad_item_kind", field="kind", value=kind)
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise ValidationFailed("Mã băm tệp không hợp lệ.", code="bad_sha256", field="sha256")
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        require_editable(dossier)
        session.add(DossierItem(dossier_id=dossier.id, ordinal=_next_ordinal(session, dossier), kind=kind,
                                sha256=sha256, title=check_title(title),
                                item_date=domain.parse_date(item_date) if item_date else vn_date(now_utc()),
                                pages=int(pages or 0), content_type=content_type[:100], added_by=actor.user_id))
        _event(session, dossier, actor, "item_added", f"{kind}:{sha256}")
        session.flush()
        return dossier_dict(session, dossier, actor)


def remove_item(db: Database, actor: Actor, dossier_id: str, item_id: str) -> dict:
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        require_editable(dossier)
        item = session.get(DossierItem, item_id)
        if item is not None and item.dossier_id == dossier.id:  # removing twice is a no-op
            session.delete(item)
            session.flush()
            _renumber(session, dossier)
            _event(session, dossier, actor, "item_removed", item_id)
        return dossier_dict(session, dossier, actor)


def move_item(db: Database, actor: Actor, dossier_id: str, item_id: str, ordinal: int) -> dict:
    """Put an item at position `ordinal` (1 = first), the others shift: the keeper arranges the documents in the
    order the work was done (NĐ 30 allows that order or the chronological one). Moving to where it is changes
    nothing; once arranged by hand, closing keeps this order instead of sorting by date."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        require_editable(dossier)
        items = _items(session, dossier)
        moving = next((i for i in items if i.id == item_id), None)
        if moving is None:
            raise NotFound("Không tìm thấy văn bản trong hồ sơ.", dossier=dossier.id, item=item_id)
        target = max(1, min(int(ordinal), len(items)))
        if moving.ordinal != target:
            items.remove(moving)
            items.insert(target - 1, moving)
            for position, item in enumerate(items, start=1):
                item.ordinal = position
            _event(session, dossier, actor, "item_moved", f"{item_id}:{target}")
            session.flush()
        return dossier_dict(session, dossier, actor)


def _arranged_by_hand(session: Session, dossier: Dossier) -> bool:
    return session.execute(select(func.count()).select_from(DossierEvent).where(
        DossierEvent.dossier_id == dossier.id, DossierEvent.action == "item_moved")).scalar_one() > 0


def _next_ordinal(session: Session, dossier: Dossier) -> int:
    current = session.execute(select(func.max(DossierItem.ordinal))
                              .where(DossierItem.dossier_id == dossier.id)).scalar()
    if (current or 0) >= 999:
        raise ValidationFailed("Hồ sơ đã có 999 văn bản (số thứ tự tối đa 3 chữ số).", code="dossier_full",
                               dossier=dossier.id)
    return (current or 0) + 1


def _renumber(session: Session, dossier: Dossier) -> None:
    for ordinal, item in enumerate(_items(session, dossier), start=1):
        item.ordinal = ordinal


def _chronological(items: list[DossierItem]) -> list[DossierItem]:
    return sorted(items, key=lambda i: (i.item_date or date.max, i.ordinal))


def close_dossier(db: Database, actor: Actor, dossier_id: str, remove_drafts: bool = False,
                  title: str | None = None, retention: Any = None, end_date: Any = None) -> dict:
    """Kết thúc hồ sơ: duplicates go; drafts are refused unless the keeper asks to remove them; title and retention
    re-checked (and may be corrected here); items renumbered in chronological order (or in the keeper's order if
    arranged by hand); start/end and totals filled."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        if dossier.state == "closed":
            return dossier_dict(session, dossier, actor)  # idempotent
        require_state(dossier, "open", action="kết thúc hồ sơ")
        changes = {k: v for k, v in (("title", title), ("retention", retention)) if v not in (None, "")}
        _apply_changes(dossier, changes)
        check_title(dossier.title)
        parse_retention(dossier.retention)
        items = _items(session, dossier)
        drafts = [i for i in items if i.kind == "draft"]
        if drafts and not remove_drafts:
            raise ValidationFailed(
                f"Hồ sơ còn {len(drafts)} dự thảo; phải loại bỏ dự thảo trước khi kết thúc hồ sơ.",
                code="dossier_has_drafts", dossier=dossier.id, drafts=[i.id for i in drafts])
        if not items or len(drafts) == len(items):
            raise ValidationFailed("Hồ sơ chưa có văn bản nào, không thể kết thúc.", code="dossier_empty",
                                   dossier=dossier.id)
        kept = _drop_duplicates_and_drafts(session, items)
        ordered = kept if _arranged_by_hand(session, dossier) else _chronological(kept)
        for ordinal, item in enumerate(ordered, start=1):
            item.ordinal = ordinal
        dated = [i.item_date for i in kept if i.item_date]
        dossier.start_date = min([*dated, *([dossier.start_date] if dossier.start_date else [])], default=None)
        dossier.end_date = domain.parse_date(end_date) if end_date else max(dated, default=vn_date(now_utc()))
        dossier.doc_total, dossier.page_total = len(kept), sum(i.pages for i in kept)
        dossier.submission_due = rules.dossier_due(session, actor.agency_id, dossier.end_date, dossier.construction,
                                                   submission_due(dossier.end_date, dossier.construction))
        dossier.state, dossier.closed_at, dossier.return_reason = "closed", now_utc(), ""
        _event(session, dossier, actor, "closed", f"{len(items) - len(kept)} removed")
        session.flush()
        return dossier_dict(session, dossier, actor)


def _drop_duplicates_and_drafts(session: Session, items: list[DossierItem]) -> list[DossierItem]:
    kept: list[DossierItem] = []
    seen: set[str] = set()
    for item in items:
        key = item.sha256 or item.document_pk or item.id   # same file twice = a duplicate
        if item.kind == "draft" or key in seen:
            session.delete(item)
            continue
        seen.add(key)
        kept.append(item)
    session.flush()
    return kept


def submit_to_archive(db: Database, actor: Actor, dossier_id: str) -> dict:
    """Nộp lưu: only a closed dossier."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        _require_keeper(actor, dossier)
        if dossier.state == "submitted":
            return dossier_dict(session, dossier, actor)
        if dossier.state == "open":
            raise ValidationFailed("Hồ sơ chưa kết thúc, không thể nộp lưu.", code="dossier_open",
                                   dossier=dossier.id)
        require_state(dossier, "closed", action="nộp lưu hồ sơ")
        dossier.state, dossier.submitted_at = "submitted", now_utc()
        _event(session, dossier, actor, "submitted")
        return dossier_dict(session, dossier, actor)


def archive_decide(db: Database, actor: Actor, dossier_id: str, accept: bool, reason: str = "") -> dict:
    """The agency archive (văn thư/lưu trữ cơ quan) checks the dossier against the plan: accepts or returns it."""
    _agency(db, actor)
    actor.require(Role.CLERK, Role.ADMIN)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id, for_update=True)
        if accept and dossier.state == "archived":
            return dossier_dict(session, dossier, actor)
        require_state(dossier, "submitted", action="tiếp nhận hồ sơ vào lưu trữ")
        if accept:
            dossier.state, dossier.archived_at, dossier.archived_by = "archived", now_utc(), actor.user_id
            _event(session, dossier, actor, "archived")
        else:
            if not reason.strip():
                raise ValidationFailed("Phải ghi lý do trả lại hồ sơ.", code="missing_field", field="reason")
            dossier.state, dossier.return_reason = "open", reason.strip()[:1000]
            _event(session, dossier, actor, "returned", reason.strip())
        return dossier_dict(session, dossier, actor)


def due_for_submission(db: Database, actor: Actor, today: date | None = None) -> list[dict]:
    """Closed dossiers whose submission is due within 30 days (or overdue): the reminder list (Phụ lục VI)."""
    _agency(db, actor)
    limit = (today or vn_date(now_utc())) + timedelta(days=REMINDER_DAYS)
    with db.session() as session:
        query = select(Dossier).where(Dossier.agency_id == actor.agency_id, Dossier.state == "closed",
                                      Dossier.submission_due <= limit)
        if not actor.has(Role.CLERK, Role.ADMIN, Role.LEADER, Role.SYSTEM):
            query = query.where(Dossier.creator == actor.user_id)
        return [dossier_dict(session, d, actor, with_items=False)
                for d in session.execute(query.order_by(Dossier.submission_due)).scalars()]


def closed_dossier_files(db: Database, actor: Actor, dossier_id: str) -> tuple[dict, list[dict]]:
    """What the export needs: the dossier's metadata and its items in chronological order."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load(session, actor, dossier_id)
        require_state(dossier, "closed", "submitted", "archived", action="xuất hồ sơ")
        if hidden_items(session, actor, _items(session, dossier)):
            # An export is the whole dossier: one with a document the actor may not see is not theirs to export.
            raise Forbidden("Hồ sơ có văn bản bạn không có quyền xem, nên bạn không xuất được hồ sơ này.",
                            user=actor.username, dossier=dossier.id)
        data = dossier_dict(session, dossier, actor)
        docs = {d.id: d for d in session.execute(select(Document).where(
            Document.id.in_([i["document_pk"] for i in data["items"] if i["document_pk"]]))).scalars()}
        files = []
        for item in sorted(data["items"], key=lambda i: i["ordinal"]):
            doc = docs.get(item["document_pk"] or "")
            files.append({**item, "code_number": doc.code_number if doc else None,
                          "code_notation": doc.code_notation if doc else None,
                          "type_name": doc.type_name if doc else item["kind"],
                          "organ_name": doc.organ_name if doc else "",
                          "subject": doc.subject if doc else item["title"]})
        return data, files
