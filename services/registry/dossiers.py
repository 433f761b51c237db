"""Dossiers (hồ sơ công việc): NĐ 30 Điều 28–30, Phụ lục V, Phụ lục VI Mục III.

Life cycle: open → closed (duplicates removed, drafts refused or removed, totals filled) → submitted to the agency
archive → archived, or returned with a reason (back to open, so the keeper can fix it and close again). The pure
rules are in dossier_domain.py, the year's plan in file_plans.py, what an open dossier holds in dossier_items.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.clock import vn_date
from services.common.db import Database
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.registry import domain, rules
from services.registry.dossier_domain import (
    REMINDER_DAYS,
    STATE_LABELS,
    check_file_notation,
    check_title,
    is_keeper,
    parse_retention,
    require_editable,
    require_state,
    retention_label,
    submission_due,
)
from services.registry.dossier_models import Dossier, DossierEvent, DossierItem, FilePlan, FilePlanItem
from services.registry.models import Document

# --- helpers -------------------------------------------------------------------------------------------------

def _agency(db: Database, actor: Actor) -> None:
    if db.agency_id and actor.agency_id != db.agency_id:
        raise Forbidden("Không được truy cập dữ liệu của cơ quan khác.", user=actor.username, own=actor.agency_id,
                        asked=db.agency_id)


def _event(session: Session, dossier: Dossier, actor: Actor, action: str, details: str = "") -> None:
    session.add(DossierEvent(dossier_id=dossier.id, user_id=actor.user_id, action=action, details=details[:2000]))


def _load(session: Session, actor: Actor, dossier_id: str, for_update: bool = False) -> Dossier:
    query = select(Dossier).where(Dossier.id == dossier_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    dossier = session.execute(query).scalar_one_or_none()
    if dossier is None or dossier.agency_id != actor.agency_id:
        raise NotFound("Không tìm thấy hồ sơ.", dossier=dossier_id)
    return dossier


def _load_editable(session: Session, actor: Actor, dossier_id: str, for_update: bool = True) -> Dossier:
    """The dossier its keeper changes: theirs (or a clerk's) and still open; locked for the change."""
    dossier = _load(session, actor, dossier_id, for_update=for_update)
    _require_keeper(actor, dossier)
    require_editable(dossier)
    return dossier


def _require_keeper(actor: Actor, dossier: Dossier) -> None:
    if not is_keeper(actor, dossier):
        raise Forbidden("Chỉ người lập hồ sơ hoặc văn thư được thay đổi hồ sơ này.", user=actor.username,
                        dossier=dossier.id)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


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


# --- dossiers ------------------------------------------------------------------------------------------------

def open_dossier(db: Database, actor: Actor, plan_item_id: str | None = None, title: str | None = None,
                 file_notation: str | None = None, retention: Any = None, start_date: Any = None,
                 year: int | None = None, description: str = "", construction: bool = False) -> dict:
    """From an item of the approved plan, or ad hoc with title, notation, retention and start date."""
    _agency(db, actor)
    start = domain.parse_date(start_date) if start_date else vn_date(clock.now_utc())
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
        dossier = _load_editable(session, actor, dossier_id)
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


def _arranged_by_hand(session: Session, dossier: Dossier) -> bool:
    return session.execute(select(func.count()).select_from(DossierEvent).where(
        DossierEvent.dossier_id == dossier.id, DossierEvent.action == "item_moved")).scalar_one() > 0


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
        dossier.end_date = domain.parse_date(end_date) if end_date else max(dated, default=vn_date(clock.now_utc()))
        dossier.doc_total, dossier.page_total = len(kept), sum(i.pages for i in kept)
        dossier.submission_due = rules.dossier_due(session, actor.agency_id, dossier.end_date, dossier.construction,
                                                   submission_due(dossier.end_date, dossier.construction))
        dossier.state, dossier.closed_at, dossier.return_reason = "closed", clock.now_utc(), ""
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
        dossier.state, dossier.submitted_at = "submitted", clock.now_utc()
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
            dossier.state, dossier.archived_at, dossier.archived_by = "archived", clock.now_utc(), actor.user_id
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
    limit = (today or vn_date(clock.now_utc())) + timedelta(days=REMINDER_DAYS)
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
