"""Paper, fax and e-mail arrivals around register_paper_incoming (incoming.py): the check shown to the clerk before
registering (paper twin of an electronic document, duplicates), the files' records, and the return slip (Phiếu trả)
of a paper document whose form is wrong.

Đà Nẵng QĐ 8849 Điều 5.5: a paper copy that follows an electronic document is not a second arrival (the electronic
one is handled); TP.HCM Điều 6.1: a paper document without number, date or seal is returned with a Phiếu trả.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common import clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.registry import domain, incoming, paper
from services.registry.catalog import type_name
from services.registry.documents import _history, _in_agency, _load, profile, requested_before, summary
from services.registry.domain import Direction, State
from services.registry.models import Attachment, Document, History

RETURNED = "RETURNED"  # Document.reject_reason of a paper document returned with a slip


def request_dedupe_key(request_key: Any) -> str | None:
    """The business operation "register this form / API request": its key, never the content."""
    text = str(request_key or "").strip()[:64]
    return f"paper-request:{text}" if text else None


def sha_of(entry: Any) -> str:
    return str(entry["sha256"] if isinstance(entry, dict) else entry)


def attachment_of(doc_pk: str, entry: Any) -> Attachment:
    """A file of a paper arrival: the scan (main document), or an e-mail's other file (appendix / attachment)."""
    if not isinstance(entry, dict):
        return Attachment(document_pk=doc_pk, sha256=str(entry), role="scan", name=f"{str(entry)[:12]}.pdf")
    role = entry.get("role") if entry.get("role") in ("scan", "appendix", "attachment") else "scan"
    return Attachment(document_pk=doc_pk, sha256=str(entry["sha256"]), role=role,
                      name=str(entry.get("name") or f"{str(entry['sha256'])[:12]}.pdf")[:255],
                      content_type=str(entry.get("content_type") or "application/pdf")[:100],
                      size=int(entry["size"]) if entry.get("size") is not None else None,
                      description=str(entry.get("description") or "")[:500])


def check_channel(channel: Any) -> None:
    if channel not in (None, "") and channel not in paper.PAPER_CHANNELS:
        raise ValidationFailed("Nguồn văn bản phải là giấy, fax hoặc thư điện tử.", code="bad_channel",
                               field="channel", value=str(channel)[:20])


def check_paper_incoming(db: Database, actor: Actor, metadata: dict[str, Any]) -> dict[str, Any]:
    """What the clerk is told before registering: a secret document is refused (with the rule), an electronic
    twin named, duplicates listed. Nothing is written."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    domain.refuse_secret(metadata)
    number = str(metadata.get("code_number") or "").strip()
    notation = str(metadata.get("code_notation") or "").strip()
    issued = domain.parse_date(metadata["issued_date"]) if metadata.get("issued_date") else None
    with db.session() as session:
        twin = incoming._electronic_twin(session, actor.agency_id, number, notation, issued, metadata) \
            if number and notation else None
        warnings = incoming._duplicate_warnings(session, actor.agency_id, None, number or None, notation or None,
                                                metadata.get("organ_id") or metadata.get("organ_name"))
        if number and notation and not warnings:
            warnings = _same_number(session, actor.agency_id, number, notation, issued)
        return {"paper_twin_of": summary(twin) if twin is not None else None, "warnings": warnings}


def _same_number(session, agency_id: str, number: str, notation: str, issued: Any) -> list[dict[str, Any]]:
    """Same number, notation (and date when known) under an issuer written otherwise: a name read by OCR or typed
    differently must not hide a duplicate from the clerk."""
    query = select(Document).where(Document.agency_id == agency_id, Document.direction == Direction.INCOMING,
                                   Document.code_number == number, Document.code_notation == notation)
    if issued is not None:
        query = query.where(Document.issued_date == issued)
    same = session.execute(query.order_by(Document.created_at)).scalars().first()
    if same is None:
        return []
    return [{"code": "duplicate_number_date", "other": same.id,
             "message": f"Trùng số, ký hiệu{' và ngày' if issued else ''} với một văn bản đến đã có "
                        f"(cơ quan ban hành: {same.organ_name})."}]


def return_paper_incoming(db: Database, actor: Actor, metadata: dict[str, Any], files: list[Any],
                          defects: list[str], note: str = "") -> dict[str, Any]:
    """Record a paper document returned to its issuer for a wrong form (TP.HCM Điều 6.1): kept as "Đã từ chối",
    without an arrival number, with its scan and the slip's reasons in its history; the slip is printed from it."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    chosen = paper.check_return(defects, note)
    if not str(metadata.get("organ_name") or "").strip():
        raise ValidationFailed("Thiếu trường bắt buộc “Tên cơ quan, tổ chức ban hành” (nơi nhận phiếu trả).",
                               code="missing_field", field="organ_name")
    if len(note or "") > 500:
        raise ValidationFailed("Trường “Ghi chú” dài quá 500 ký tự.", code="too_long", field="note")
    domain.check_lengths(metadata, domain.INCOMING_FIELDS)
    check_channel(metadata.get("channel"))
    key = request_dedupe_key(metadata.get("request_key"))
    issued = domain.parse_date(metadata["issued_date"]) if metadata.get("issued_date") else None
    reasons = "; ".join(paper.RETURN_DEFECTS[d] for d in chosen)
    if (first := requested_before(db, actor.agency_id, key)) is not None:
        return first
    with db.session() as session:
        doc = Document(
            agency_id=actor.agency_id, direction=Direction.INCOMING, state=State.REJECTED, dedupe_key=key,
            source_channel=str(metadata.get("channel") or "paper"), type_code=metadata.get("type_code") or None,
            type_name=type_name(metadata.get("type_code") or "")[:100] if metadata.get("type_code") else "",
            code_number=str(metadata.get("code_number") or "").strip() or None,
            code_notation=str(metadata.get("code_notation") or "").strip() or None, issued_date=issued,
            organ_id=metadata.get("organ_id") or None, organ_name=str(metadata["organ_name"]).strip(),
            subject=str(metadata.get("subject") or "").strip(), received_at=clock.now_utc(),
            reject_reason=RETURNED,
            reject_text=(reasons + (f". {note.strip()}" if (note or "").strip() else ""))[:1000],
        )
        session.add(doc)
        session.flush()
        for entry in files:
            session.add(attachment_of(doc.id, entry))
        _history(session, doc, actor, "returned", {"defects": chosen, "note": (note or "").strip()})
        return summary(doc)


def return_slip(db: Database, actor: Actor, doc_pk: str) -> dict[str, Any]:
    """What the Phiếu trả says: the agency, the document returned, the reasons, who made it and when."""
    _in_agency(db, actor)
    with db.session() as session:
        doc = _load(session, actor, doc_pk, Direction.INCOMING)
        domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
        if doc.reject_reason != RETURNED:
            raise ValidationFailed("Văn bản này không được trả lại bằng phiếu trả.", code="not_returned")
        entry = session.execute(select(History).where(History.document_pk == doc.id, History.action == "returned")
                                .order_by(History.id)).scalars().first()
        if entry is None:
            raise ValidationFailed("Văn bản này không được trả lại bằng phiếu trả.", code="not_returned")
        me = profile(session, actor.agency_id)
        return {"document": summary(doc), "defects": [paper.RETURN_DEFECTS[d] for d in entry.details["defects"]],
                "note": entry.details.get("note") or "", "returned_at": entry.at.isoformat(),
                "returned_by": entry.username, "agency": {"organ_name": me.organ_name, "place": me.place},
                "rule": paper.RETURN_RULE}
