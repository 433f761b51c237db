"""What a dossier holds while it is open: registry documents by reference, notes, media and working drafts,
in the keeper's order."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor
from services.common.clock import vn_date
from services.common.db import Database
from services.common.errors import NotFound, ValidationFailed
from services.registry import domain
from services.registry.dossier_domain import DRAFT_STATES, ITEM_KINDS, check_title
from services.registry.dossier_models import Dossier, DossierItem
from services.registry.dossiers import _agency, _event, _items, _load_editable, dossier_dict
from services.registry.models import Document


def add_document(db: Database, actor: Actor, dossier_id: str, document_pk: str) -> dict:
    """Adds a registry document by reference (no copy). Adding the same document again changes nothing."""
    _agency(db, actor)
    with db.session() as session:
        dossier = _load_editable(session, actor, dossier_id)
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
        _load_editable(session, actor, dossier_id, for_update=False)


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
        dossier = _load_editable(session, actor, dossier_id)
        session.add(DossierItem(dossier_id=dossier.id, ordinal=_next_ordinal(session, dossier), kind=kind,
                                sha256=sha256, title=check_title(title),
                                item_date=domain.parse_date(item_date) if item_date else vn_date(clock.now_utc()),
                                pages=int(pages or 0), content_type=content_type[:100], added_by=actor.user_id))
        _event(session, dossier, actor, "item_added", f"{kind}:{sha256}")
        session.flush()
        return dossier_dict(session, dossier, actor)


def remove_item(db: Database, actor: Actor, dossier_id: str, item_id: str) -> dict:
    _agency(db, actor)
    with db.session() as session:
        dossier = _load_editable(session, actor, dossier_id)
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
        dossier = _load_editable(session, actor, dossier_id)
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
