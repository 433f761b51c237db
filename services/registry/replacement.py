"""Replacing a document already issued (issue 18 item 6, "Thay thế văn bản"; STANDARDS 2.2.1 and 2.2.8), the
sender's side. The clerk issues a signed draft as the replacement of one of the agency's issued outgoing documents:
the new document leaves as a package of business type 3 whose ReplacementInfo names the replaced one by its
DocumentId, with the organs that received it. That DocumentId is what the receiver looks up among the documents it
received from us (changes._link_replacement), so both sides link the same pair. The replaced document's recipients
receive the new one too. The replaced document keeps `replaced_by`, a "replaces" link and a history step, as the
receiver's copy does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.actor import Actor
from services.common.errors import NotFound
from services.registry import domain
from services.registry.documents import _history, _iso
from services.registry.models import Document, DocumentLink, History, RecipientStatus


def number_of(doc: Document) -> str:
    """A document as the messages name it: "số 01/QĐ-UBND" (or its subject, not yet numbered)."""
    return f"số {doc.code_number}/{doc.code_notation}" if doc.code_number else f"“{doc.subject[:80]}”"


def load_target(session: Session, actor: Actor, replacing_id: str, replaces: str,
                for_update: bool = False) -> Document:
    """The document to be replaced, checked by domain.check_replaceable; locked while the issue is committed so
    that two documents cannot both replace it."""
    query = select(Document).where(Document.id == str(replaces))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    target = session.execute(query).scalar_one_or_none()
    if target is None or target.agency_id != actor.agency_id:
        # Another agency's document looks exactly like a missing one (documents._load): no hint that it exists.
        raise NotFound("Không tìm thấy văn bản cần thay thế trong văn bản của cơ quan: chỉ thay thế được văn bản "
                       "đi do chính cơ quan ban hành.", field="replaces", document=str(replaces))
    domain.check_replaceable(actor.agency_id, replacing_id, domain.ReplaceTarget(
        id=target.id, agency_id=target.agency_id, direction=target.direction, organ_id=target.organ_id,
        organ_name=target.organ_name, state=target.state, replaced_by=target.replaced_by,
        number=number_of(target)))
    return target


def _recipient_rows(session: Session, target: Document) -> list[RecipientStatus]:
    return list(session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == target.id)
                                .order_by(RecipientStatus.id)).scalars())


def with_target_recipients(session: Session, recipients: list[dict[str, Any]],
                           target: Document) -> list[dict[str, Any]]:
    """Everyone who received the replaced document receives the new one, besides those the clerk chose."""
    chosen = {str(r.get("organ_id") or "") for r in recipients}
    return [*recipients, *({"organ_id": r.organ_id, "organ_name": r.organ_name, "channel": r.channel}
                           for r in _recipient_rows(session, target) if r.organ_id not in chosen)]


def link(session: Session, actor: Actor, new: Document, target: Document) -> list[dict[str, Any]]:
    """Both documents linked and the replaced one's history told; returns the package's `replacements`."""
    session.add(DocumentLink(from_pk=new.id, to_pk=target.id, kind="replaces"))
    target.replaced_by = new.id
    _history(session, target, actor, "replaced", {"by": new.id, "number": number_of(new),
                                                  "issued_date": _iso(new.issued_date)})
    organs = [r.organ_id for r in _recipient_rows(session, target) if r.channel == "interconnect"]
    return [{"document_id": target.document_id, "organ_ids": organs}]


def reason(target: Document) -> str:
    """BussinessDocReason of the replacing package: which document it replaces, as people name it."""
    date = f" ngày {target.issued_date:%d/%m/%Y}" if target.issued_date else ""
    return f"Thay thế văn bản {number_of(target)}{date} của {target.organ_name or target.organ_id}"[:500]


def issued_before(session: Session, doc: Document, request_key: str | None) -> bool:
    """The issue asked again with the same key (form or Idempotency-Key) after it was done."""
    if not request_key:
        return False
    steps = session.execute(select(History).where(History.document_pk == doc.id, History.action == "issued")).scalars()
    return any((h.details or {}).get("key") == request_key for h in steps)
