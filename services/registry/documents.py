"""The document record shared by the registry's chapters: loading it within the actor's agency, its history,
its summary and lists, the agency profile, and the mapping between a record and an edXML package."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor
from services.common.clock import to_vn
from services.common.db import Database
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.common.recipients import recipient_label
from services.registry import domain
from services.registry.catalog import BUSINESS_TYPES, COPY_TYPES, REJECT_REASONS, SIGNATURE_REASONS
from services.registry.domain import Direction, State
from services.registry.models import (
    AgencyProfile,
    Attachment,
    Document,
    DocumentLink,
    History,
    RecipientStatus,
)
from services.registry.paper import CHANNEL_SHORT
from services.registry.search import visible

log = logging.getLogger(__name__)


PAGE_SIZE_MAX = 200
# What leaves with a document: the sealed files, or — where the agency allows sending a document without a legally
# valid signature ("Gửi văn bản", issue 18) — the files as uploaded, never counted as signed (report_queries).
APPENDIX_SENT_ROLES = ("appendix_signed", "appendix_unsigned")
SENT_ROLES = ("signed", "unsigned", *APPENDIX_SENT_ROLES)


def _in_agency(db: Database, actor: Actor) -> None:
    if db.agency_id and actor.agency_id != db.agency_id:
        raise Forbidden("Không được truy cập dữ liệu của cơ quan khác.", user=actor.username, own=actor.agency_id,
                        asked=db.agency_id)


def _history(session: Session, doc: Document, actor: Actor, action: str, details: dict[str, Any] | None = None,
             happened_at: datetime | None = None) -> History:
    row = History(document_pk=doc.id, user_id=actor.user_id, username=actor.username,
                  on_behalf_of=actor.on_behalf_of, action=action, details=details or {},
                  happened_at=happened_at, late_entry=happened_at is not None)
    session.add(row)
    return row


def _load(session: Session, actor: Actor, doc_pk: str, direction: str | None = None,
          for_update: bool = False) -> Document:
    query = select(Document).where(Document.id == doc_pk)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)   # as the lock read it
    doc = session.execute(query).scalar_one_or_none()
    # Another agency's document looks exactly like a missing one: no hint that the id exists.
    if doc is None or doc.agency_id != actor.agency_id or (direction and doc.direction != direction):
        raise NotFound("Không tìm thấy văn bản.", document=doc_pk)
    return doc


def profile(session: Session, agency_id: str) -> AgencyProfile:
    return session.get(AgencyProfile, agency_id) or AgencyProfile(agency_id=agency_id, organ_name=agency_id,
                                                                  abbreviation="", place="")


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite drops the zone; everything is stored in UTC
    return value.isoformat() if value is not None else None


def _status_payload(prof: AgencyProfile, doc: Document, to_organ: str, code: str, description: str,
                    actor: Actor) -> dict[str, Any]:
    return {
        "kind": "status",
        "from": {"organ_id": prof.agency_id, "organ_name": prof.organ_name},
        "to": {"organ_id": to_organ},
        "response_for": {"organ_id": doc.organ_id or doc.sender_organ_id,
                         "code": f"{doc.code_number}/{doc.code_notation}",
                         "promulgation_date": _iso(doc.issued_date), "document_id": doc.document_id},
        "staff": {"department": "Văn thư", "name": actor.full_name or actor.username, "mobile": "", "email": ""},
        "status_code": code,
        "description": description,
        "timestamp": to_vn(clock.now_utc()).isoformat(timespec="seconds"),
    }


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    # In UTC like every other stored time: SQLite keeps the wall clock and drops the offset, so a "+07:00" status
    # time read back would be taken for UTC and shown 7 hours late.
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


def _lenient_priority(value: Any) -> int:
    try:
        return domain.urgency(value)
    except ValidationFailed:  # inbound is lenient (STANDARDS §8.4): log, treat as normal
        log.info("unknown priority %r on an incoming package", value)
        return 0


def _incoming_from_package(actor: Actor, p: dict[str, Any], key: str, kind: int) -> Document:
    sender = p.get("from") or {}
    signer = p.get("signer") or {}
    other = p.get("other") or {}
    doc_type = p.get("document_type") or {}
    issued = p.get("promulgation_date")
    return Document(
        agency_id=actor.agency_id, direction=Direction.INCOMING, state=State.WAITING_RECEPTION,
        document_id=str(p.get("document_id"))[:200], dedupe_key=key[:400], business_type=kind,
        source_channel="interconnect",
        type_name=str(doc_type.get("type_name") or "")[:100], code_number=str(p.get("code_number") or "")[:11],
        # a copy (sao y, sao lục, trích sao) another agency sent: its clerk is told so (copy_form in summary)
        type_code=domain.copy_form_of(p.get("code_notation"), doc_type.get("type_name")),
        code_notation=str(p.get("code_notation") or "")[:30],
        issued_date=domain.parse_date(issued) if issued else None,
        organ_id=str(sender.get("organ_id"))[:35], organ_name=str(sender.get("organ_name") or "")[:200],
        promulgation_place=str(p.get("promulgation_place") or "")[:100],
        subject=str(p.get("subject") or "")[:500], content=str(p.get("content") or ""),
        signer_competence=str(signer.get("competence") or "")[:100],
        signer_position=str(signer.get("position") or "")[:100],
        signer_full_name=str(signer.get("full_name") or "")[:50],
        priority=_lenient_priority(other.get("priority")), page_amount=other.get("page_amount"),
        due_date=domain.parse_date(p["due_date"]) if p.get("due_date") else None,
        to_places=list(p.get("to_places") or []),
        sender_organ_id=str(sender.get("organ_id"))[:35], sender_organ_name=str(sender.get("organ_name") or "")[:200],
        received_at=_parse_dt(p.get("received_at")) or clock.now_utc(), raw_sha256=p.get("raw_sha256"),
        trace=list(p.get("trace") or []), package=p,
    )


def _find_incoming(session: Session, agency_id: str, document_id: str, sender: str) -> Document | None:
    return session.execute(select(Document).where(
        Document.agency_id == agency_id, Document.direction == Direction.INCOMING,
        Document.document_id == document_id, Document.sender_organ_id == sender,
        Document.business_type.in_((0, 3))).order_by(Document.created_at.desc())).scalars().first()


def reject_reasons(verification_state: str) -> list[str]:
    """Reasons the clerk may pick: a legally valid signature cannot be refused as invalid (DOMAIN.md, incoming 2)."""
    return [code for code in REJECT_REASONS if code not in SIGNATURE_REASONS or verification_state != "valid"]


def requested_before(db: Database, agency_id: str, dedupe_key: str | None) -> dict[str, Any] | None:
    """The document a request with this key made already (form key or API Idempotency-Key), as answered again."""
    if not dedupe_key:
        return None
    with db.session() as session:
        first = session.execute(select(Document).where(Document.agency_id == agency_id,
                                                       Document.dedupe_key == dedupe_key)).scalar_one_or_none()
        return {**summary(first), "duplicate": True} if first is not None else None


def summary(doc: Document) -> dict[str, Any]:
    number = f"{domain.format_number(int(doc.code_number))}" if (doc.code_number or "").isdigit() else doc.code_number
    return {
        "id": doc.id, "direction": doc.direction, "state": doc.state,
        "state_label": domain.STATE_LABELS.get(doc.state, doc.state), "document_id": doc.document_id,
        "code_number": doc.code_number, "code_notation": doc.code_notation,
        "number_and_notation": f"{number}/{doc.code_notation}" if doc.code_number else None,
        "type_code": doc.type_code, "type_name": doc.type_name, "issued_date": _iso(doc.issued_date),
        "copy_form": doc.type_code if doc.type_code in COPY_TYPES else None,
        "organ_id": doc.organ_id, "organ_name": doc.organ_name, "subject": doc.subject, "priority": doc.priority,
        "number": doc.number, "year": doc.year, "register_id": doc.register_id,
        "arrival_date": _iso(doc.arrival_date), "registered_at": _iso(doc.registered_at),
        "received_at": _iso(doc.received_at), "due_date": _iso(doc.due_date),
        "late_entry": doc.late_entry, "happened_at": _iso(doc.happened_at),
        "sender_organ_id": doc.sender_organ_id, "sender_organ_name": doc.sender_organ_name,
        "verification_state": doc.verification_state, "legally_valid": doc.verification_state == "valid",
        "reject_reasons": reject_reasons(doc.verification_state) if doc.direction == Direction.INCOMING else [],
        "warnings": doc.warnings or [],
        "no_paper_copy": doc.no_paper_copy, "frozen": doc.frozen, "handled": doc.handled,
        "source_channel": doc.source_channel, "channel_label": CHANNEL_SHORT.get(doc.source_channel, ""),
        "business_type": doc.business_type,
        "pending_change": (doc.pending_change or {}).get("kind"), "replaced_by": doc.replaced_by,
        "change_reason": (doc.pending_change or {}).get("reason"),
        "content_withdrawn_at": _iso(doc.content_withdrawn_at),
        "reject_reason": doc.reject_reason, "reject_text": doc.reject_text,
    }


def _page(page: int | None, size: int | None) -> tuple[int, int]:
    size = max(1, min(int(size or 50), PAGE_SIZE_MAX))
    return max(1, int(page or 1)), size


def _list(db: Database, actor: Actor, direction: str, states: list[str], filters: dict[str, Any], page: int,
          size: int, order: tuple) -> dict:
    page, size = _page(page, size)
    with db.session() as session:
        # Visibility in the query itself: a total or a page counted before filtering told how many documents
        # the list hid (issue 21 item 5).
        query = visible(select(Document), actor).where(Document.direction == direction, Document.state.in_(states))
        if filters.get("year"):
            query = query.where(Document.year == int(filters["year"]))
        if filters.get("register_id"):
            query = query.where(Document.register_id == filters["register_id"])
        if filters.get("priority") is not None:
            query = query.where(Document.priority == int(filters["priority"]))
        if filters.get("text"):
            query = query.where(Document.subject.ilike(f"%{filters['text']}%"))
        if filters.get("sender"):
            query = query.where(or_(Document.organ_id == filters["sender"],
                                    Document.organ_name.ilike(f"%{filters['sender']}%")))
        if filters.get("handled") is not None:
            query = query.where(Document.handled == bool(filters["handled"]))
        if filters.get("mine"):
            query = query.where(Document.handlers.contains(actor.user_id))  # JSON text contains: coarse filter
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        docs = session.execute(query.order_by(*order).offset((page - 1) * size).limit(size)).scalars().all()
        items = [summary(d) for d in docs if domain.can_view(actor, d.agency_id, d.state, d.handlers or [])]
        if direction in (Direction.OUTGOING, Direction.COPIES) and items:
            # "Nơi nhận" of the outgoing register (NĐ 30 Phụ lục IV, sổ văn bản đi cột 5) and of the copies
            # register, in one query; those not reached over the interconnect marked, as the printed register does
            names: dict[str, list[str]] = {}
            for pk, name, organ, channel in session.execute(select(
                    RecipientStatus.document_pk, RecipientStatus.organ_name, RecipientStatus.organ_id,
                    RecipientStatus.channel).where(
                    RecipientStatus.document_pk.in_([i["id"] for i in items])).order_by(RecipientStatus.id)):
                names.setdefault(pk, []).append(recipient_label(name or organ, channel))
            for item in items:
                item["recipient_names"] = names.get(item["id"], [])
        return {"items": items, "total": total, "page": page, "size": size}


def get_document(db: Database, actor: Actor, doc_pk: str) -> dict[str, Any]:
    _in_agency(db, actor)
    with db.session() as session:
        return detail(session, actor, _load(session, actor, doc_pk))


def detail(session: Session, actor: Actor, doc: Document) -> dict[str, Any]:
    """The document page's whole record (get_document), also answered by a registration in its own transaction so
    that the clerk's client need not ask again."""
    domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
    return _record(
        doc,
        _in_order(session.execute(select(Attachment).where(Attachment.document_pk == doc.id)).scalars()),
        [{"to": lk.to_pk, "kind": lk.kind, "label": _link_label(session, lk.to_pk)}
         for lk in session.execute(select(DocumentLink).where(DocumentLink.from_pk == doc.id)).scalars()]
        + [{"from": lk.from_pk, "kind": lk.kind, "label": _link_label(session, lk.from_pk)}
           for lk in session.execute(select(DocumentLink).where(DocumentLink.to_pk == doc.id)).scalars()],
        session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id)
                        .order_by(RecipientStatus.id)).scalars().all(),
        session.execute(select(History).where(History.document_pk == doc.id).order_by(History.id)).scalars().all())


def new_detail(session: Session, actor: Actor, doc: Document, attachments: list[Attachment],
               history: list[History]) -> dict[str, Any]:
    """detail() of a document this transaction has just made, from the rows it wrote: nothing links to it and it has
    no recipients yet, so nothing needs reading back. Flushes first: the rows' defaults (ids, times) are what
    get_document will read."""
    domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
    session.flush()
    return _record(doc, _in_order(attachments), [], [], history)


def _in_order(attachments: Iterable[Attachment]) -> list[Attachment]:
    """In their document's order where it has one (a copy: main first, then the appendices as in the source)."""
    return sorted(attachments, key=lambda a: (a.position is None, a.position or 0))


def _record(doc: Document, attachments: Iterable[Attachment], links: list[dict[str, Any]],
            recipients: Iterable[RecipientStatus], history: Iterable[History]) -> dict[str, Any]:
    data = summary(doc)
    data.update({
        "content": doc.content, "signer": {"competence": doc.signer_competence,
                                           "position": doc.signer_position, "full_name": doc.signer_full_name},
        "to_places": doc.to_places, "trace": doc.trace, "raw_sha256": doc.raw_sha256,
        "verification": doc.verification, "page_amount": doc.page_amount, "issued_amount": doc.issued_amount,
        "description": doc.description, "language": doc.language,
        # signed by hand on paper, its scan forwarded by the handler (routing's paper.py): the page says so
        "paper_signed": (doc.package or {}).get("paper_signed") if doc.direction == Direction.OUTGOING else None,
        "attachments": [{"id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256, "role": a.role, "description": a.description} for a in attachments],
        "links": links,
        "recipients": [{"organ_id": r.organ_id, "organ_name": r.organ_name, "channel": r.channel,
                        "status_code": r.status_code, "description": r.description,
                        "status_at": _iso(r.status_at), "recall_state": r.recall_state,
                        "returned_on": _iso(r.returned_on)} for r in recipients],
        "history": [{"at": _iso(h.at), "happened_at": _iso(h.happened_at), "late_entry": h.late_entry,
                     "user_id": h.user_id, "username": h.username, "on_behalf_of": h.on_behalf_of,
                     "action": h.action, "details": h.details} for h in history],
    })
    # numbered from the successor of last year's register chosen on a form sent after midnight (numbering.year_turn)
    data["year_turn"] = next((h["details"]["year_turn"] for h in data["history"]
                              if isinstance(h["details"], dict) and h["details"].get("year_turn")), None)
    return data


def _attachments(session: Session, doc: Document, role: str | None = None) -> list[Attachment]:
    query = select(Attachment).where(Attachment.document_pk == doc.id)
    if role:
        query = query.where(Attachment.role == role)
    return list(session.execute(query.order_by(Attachment.id)).scalars())


def build_package(prof: AgencyProfile, doc: Document, recipients: list[dict[str, str]], attachments: list[Attachment],
                  actor: Actor, business_type: int = 0, reason: str = "",
                  replacements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The edoc package of messages.md for the edge (message_id is added by the outbox). `replacements`: the
    documents a type-3 package replaces (replacement.link)."""
    # The main file first, then the appendices as numbered (the recipient lists them in the package's order).
    # A copy's appendix that is not a PDF was copied as it is (role `appendix`): it is one of the copy's files.
    appendix_roles = (*APPENDIX_SENT_ROLES, "appendix") if doc.direction == Direction.COPIES else APPENDIX_SENT_ROLES
    sent_roles = (*SENT_ROLES, "appendix") if doc.direction == Direction.COPIES else SENT_ROLES
    attachments = ([a for a in attachments if a.role not in appendix_roles]
                   + domain.in_document_order([a for a in attachments if a.role in appendix_roles]))
    return {
        "kind": "edoc", "document_id": doc.document_id,
        "business": {"doc_type": business_type, "reason": reason or BUSINESS_TYPES[business_type],
                     # Every real sample names the document here, a new one its own id (issue 17: the vendors'
                     # parsers read Bussiness/DocumentId unconditionally).
                     "target_document_id": doc.document_id,
                     "paper": 0 if doc.no_paper_copy else 1,
                     "staff": {"department": "Văn thư", "name": actor.full_name or actor.username, "mobile": "",
                               "email": ""}, "document_info": None, "replacements": replacements or []},
        "from": {"organ_id": prof.agency_id, "organ_name": prof.organ_name, "organization_in_charge": "",
                 "address": "", "email": "", "telephone": "", "fax": "", "website": ""},
        "to": [{"organ_id": r["organ_id"], "organ_name": r.get("organ_name", "")} for r in recipients],
        "code_number": domain.format_number(doc.number or 0), "code_notation": doc.code_notation,
        "promulgation_place": doc.promulgation_place, "promulgation_date": _iso(doc.issued_date),
        # edXML DocumentType.Type: 1 văn bản hành chính, 2 văn bản quy phạm pháp luật (its notation has the year)
        "document_type": {"type": 2 if domain.is_legal_notation(doc.code_notation) else 1, "type_detail": 0,
                          "type_name": doc.type_name},
        "subject": doc.subject, "content": doc.content,
        "signer": {"competence": doc.signer_competence, "position": doc.signer_position,
                   "full_name": doc.signer_full_name},
        # "Nơi nhận" as the document lists it; without one of its own, the recipients it is sent to.
        "due_date": _iso(doc.due_date),
        "to_places": doc.to_places or [r.get("organ_name") or r["organ_id"] for r in recipients],
        "other": {"priority": doc.priority, "sphere_of_promulgation": "", "typer_notation": "",
                  # Unknown amounts are left out (None), never sent as a made-up "1".
                  "promulgation_amount": doc.issued_amount or None, "page_amount": doc.page_amount or None,
                  "appendixes": [a.name for a in attachments if a.role in appendix_roles], "direction": False},
        "response_for": (doc.package or {}).get("response_for", []),
        "steering_type": 0, "trace": [],
        "attachments": [{"content_id": f"cid:{a.sha256[:16]}", "name": a.name, "content_type": a.content_type,
                         "description": a.description, "size": a.size, "sha256": a.sha256} for a in attachments
                        if a.role in sent_roles],
    }


def _link_label(session: Session, doc_pk: str) -> str:
    """A linked document as people name it: its number and notation, then its subject."""
    other = session.get(Document, doc_pk)
    if other is None:
        return ""
    number = f"{other.code_number}/{other.code_notation}" if other.code_number else "chưa cấp số"
    return f"{number} – {other.subject}"[:300]
