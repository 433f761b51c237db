"""Documents and the dossiers that hold them (issue 19 item 7).

- The document page lists the dossiers that hold it (Đà Nẵng QĐ 8849 Điều 5.4b, item 5 of the electronic arrival
  stamp: "hồ sơ" the document belongs to).
- An issued document is filed in its handler's work dossier at once (Đà Nẵng Điều 8.5: one copy is kept by the
  clerk, one in the account of the handler "để lập hồ sơ công việc"): in every open dossier kept by one of its
  handlers that holds a document it answers; where it already was a draft in a dossier, that item becomes the
  issued document (number, date, signed file).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.actor import Actor
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.registry import domain
from services.registry.dossier_domain import STATE_LABELS
from services.registry.dossier_items import _next_ordinal
from services.registry.dossier_models import Dossier, DossierEvent, DossierItem
from services.registry.dossiers import _agency
from services.registry.models import Attachment, Document, DocumentLink

FILED_BY_RULE = "issued: filed in the handler's dossier (Đà Nẵng Đ8.5)"


def dossiers_holding(db: Database, actor: Actor, document_pk: str) -> list[dict[str, Any]]:
    """The dossiers of the agency that hold the document, for whoever may see the document."""
    _agency(db, actor)
    with db.session() as session:
        doc = session.get(Document, document_pk)
        if doc is None or doc.agency_id != actor.agency_id:
            return []
        domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
        rows = session.execute(select(Dossier, DossierItem.added_by).join(
            DossierItem, DossierItem.dossier_id == Dossier.id).where(
            DossierItem.document_pk == doc.id, Dossier.agency_id == actor.agency_id)
            .order_by(Dossier.file_catalog.desc(), Dossier.file_notation)).all()
        seen: dict[str, dict[str, Any]] = {}
        for dossier, added_by in rows:
            seen.setdefault(dossier.id, {
                "id": dossier.id, "title": dossier.title, "file_notation": dossier.file_notation,
                "year": dossier.file_catalog, "state": dossier.state,
                "state_label": STATE_LABELS.get(dossier.state, dossier.state), "keeper": dossier.creator,
                "keeper_name": dossier.creator_name or dossier.creator, "added_by": added_by})
        return list(seen.values())


def item_title(doc: Document) -> str:
    return f"{doc.type_name} {doc.code_number or ''}/{doc.code_notation or ''}: {doc.subject}"[:500]


def file_issued(session: Session, actor: Actor, doc: Document) -> list[str]:
    """In the issue's own transaction: the dossiers the issued document was filed in (ids)."""
    signed = session.execute(select(Attachment.sha256).where(Attachment.document_pk == doc.id,
                                                             Attachment.role == "signed")).scalars().first()
    holding = {}
    for item in session.execute(select(DossierItem).where(DossierItem.document_pk == doc.id)).scalars():
        item.kind, item.title = "document", item_title(doc)  # the draft filed earlier is now the issued document
        item.item_date, item.sha256 = doc.issued_date or item.item_date, signed or item.sha256
        holding[item.dossier_id] = item
    handlers = [h for h in doc.handlers or [] if h]
    answered = session.execute(select(DocumentLink.to_pk).where(DocumentLink.from_pk == doc.id,
                                                                DocumentLink.kind == "answers")).scalars().all()
    if not handlers or not answered:
        return []
    targets = session.execute(select(Dossier).join(DossierItem, DossierItem.dossier_id == Dossier.id).where(
        DossierItem.document_pk.in_(answered), Dossier.agency_id == doc.agency_id, Dossier.state == "open",
        Dossier.creator.in_(handlers)).distinct()).scalars().all()
    filed = []
    for dossier in targets:
        if dossier.id in holding:
            continue
        try:
            ordinal = _next_ordinal(session, dossier)
        except ValidationFailed:  # a full dossier never stops the issue: the handler files it by hand
            continue
        session.add(DossierItem(dossier_id=dossier.id, ordinal=ordinal, document_pk=doc.id,
                                kind="document", sha256=signed, title=item_title(doc), item_date=doc.issued_date,
                                pages=int(doc.page_amount or 0), added_by=actor.user_id))
        session.add(DossierEvent(dossier_id=dossier.id, user_id=actor.user_id, action="document_added",
                                 details=f"{doc.id} {FILED_BY_RULE}"))
        session.flush()
        filed.append(dossier.id)
    return filed
