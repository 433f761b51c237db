"""The registry's use cases over a Database: what the RPCs do, callable directly from tests and benchmarks.

Every function takes the acting user and re-checks agency and role. Changes that leave the service (status and
package events for the interconnect edge, `incoming_registered`, `outgoing_issued`) are written to the outbox in
the same transaction as the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import now_utc, to_vn, vn_date
from services.common.db import Database
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.outbox import enqueue
from services.registry import domain, numbering
from services.registry.catalog import BUSINESS_TYPES, REJECT_REASONS, URGENCY_LABELS, type_name
from services.registry.domain import SCOPE_ALL, Direction, ServiceUnavailable, State
from services.registry.models import (
    AgencyProfile,
    Attachment,
    Document,
    DocumentLink,
    History,
    RecipientStatus,
    Register,
)

log = logging.getLogger(__name__)

# signing.fill_and_seal(pdf_sha256, number_text, date_text, notation, appendices) -> {"sha256", "appendices"}
Sign = Callable[[str, str, str, str, list[str]], dict[str, Any]]
# signing.verify(pdf_sha256) -> verdict dict; raises when the signing service does not answer in time
Verify = Callable[[str], dict[str, Any]]

PAGE_SIZE_MAX = 200
ISSUE_RETRIES = 5


# --- helpers -----------------------------------------------------------------------------------------------

def _in_agency(db: Database, actor: Actor) -> None:
    if db.agency_id and actor.agency_id != db.agency_id:
        raise Forbidden("Không được truy cập dữ liệu của cơ quan khác.", user=actor.username, own=actor.agency_id,
                        asked=db.agency_id)


def _history(session: Session, doc: Document, actor: Actor, action: str, details: dict[str, Any] | None = None,
             happened_at: datetime | None = None) -> None:
    session.add(History(document_pk=doc.id, user_id=actor.user_id, username=actor.username,
                        on_behalf_of=actor.on_behalf_of, action=action, details=details or {},
                        happened_at=happened_at, late_entry=happened_at is not None))


def _load(session: Session, actor: Actor, doc_pk: str, direction: str | None = None,
          for_update: bool = False) -> Document:
    query = select(Document).where(Document.id == doc_pk)
    if for_update:
        query = query.with_for_update()
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
        "timestamp": to_vn(now_utc()).isoformat(timespec="seconds"),
    }


# --- agency profile and registers --------------------------------------------------------------------------

def set_agency_profile(db: Database, actor: Actor, organ_name: str, abbreviation: str, place: str = "") -> dict:
    _in_agency(db, actor)
    actor.require(Role.ADMIN)
    with db.session() as session:
        prof = session.get(AgencyProfile, actor.agency_id) or AgencyProfile(agency_id=actor.agency_id)
        prof.organ_name, prof.abbreviation, prof.place = organ_name[:200], abbreviation[:20], place[:100]
        session.add(prof)
    return {"agency_id": actor.agency_id, "organ_name": organ_name, "abbreviation": abbreviation, "place": place}


def register_dict(reg: Register) -> dict[str, Any]:
    return {"id": reg.id, "direction": reg.direction, "scope": reg.scope, "year": reg.year, "name": reg.name,
            "next_number": int(reg.next_number), "label": domain.DIRECTION_LABELS[reg.direction]}


def create_register(db: Database, actor: Actor, direction: str, year: int, scope: str = SCOPE_ALL,
                    name: str | None = None) -> dict[str, Any]:
    _in_agency(db, actor)
    actor.require(Role.ADMIN)
    if direction not in Direction.ALL:
        raise ValidationFailed("Loại sổ không hợp lệ (sổ văn bản đến, đi, bản sao).", code="bad_direction",
                               field="direction", value=direction)
    if scope != SCOPE_ALL:
        domain.check_type_code(scope)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed("Năm của sổ không hợp lệ.", code="bad_year", field="year", value=year)
    label = domain.DIRECTION_LABELS[direction]
    name = name or (f"{label} năm {year}" if scope == SCOPE_ALL else f"{label} ({type_name(scope)}) năm {year}")
    try:
        with db.session() as session:
            reg = Register(agency_id=actor.agency_id, direction=direction, scope=scope, year=int(year), name=name,
                           next_number=1, created_by=actor.user_id)
            session.add(reg)
            session.flush()
            return register_dict(reg)
    except IntegrityError:
        raise Conflict(f"{label} năm {year} cho phạm vi này đã có.", code="register_exists", direction=direction,
                       year=year, scope=scope) from None


def list_registers(db: Database, actor: Actor, year: int | None = None, direction: str | None = None) -> list[dict]:
    _in_agency(db, actor)
    with db.session() as session:
        query = select(Register).where(Register.agency_id == actor.agency_id)
        if year:
            query = query.where(Register.year == int(year))
        if direction:
            query = query.where(Register.direction == direction)
        registers = [register_dict(r) for r in session.execute(
            query.order_by(Register.year.desc(), Register.direction, Register.scope)).scalars()]
        # Closed registers are shown as such and offered to nobody for numbering.
        closed = numbering.closures(session, [r["id"] for r in registers])
    for r in registers:
        r["closed"] = r["id"] in closed
        r["closed_at"] = closed[r["id"]].isoformat() if r["id"] in closed else None
    return registers


def close_register(db: Database, actor: Actor, register_id: str) -> dict:
    """Khóa sổ: the register gives no more numbers (numbering refuses with a Vietnamese error). Administrator of
    the register's own agency only; closing a closed register again changes nothing."""
    actor.require_agency(db.agency_id)
    actor.require(Role.ADMIN)
    with db.session() as session:
        reg, closed_at = numbering.close_register(session, register_id, actor.agency_id, actor.user_id)
        return {**register_dict(reg), "closed": True, "closed_at": closed_at.isoformat()}


# --- incoming: from the interconnect -----------------------------------------------------------------------

def _duplicate_warnings(session: Session, agency_id: str, doc_id: str | None, code_number: str | None,
                        code_notation: str | None, issuer: str | None, exclude: str | None = None) -> list[dict]:
    """Phụ lục VI III.1.h: warn on a duplicate DocumentId or (number, notation, issuer) among incoming ones."""
    warnings = []
    base = select(Document.id).where(Document.agency_id == agency_id, Document.direction == Direction.INCOMING)
    if exclude:
        base = base.where(Document.id != exclude)
    if doc_id:
        same = session.execute(base.where(Document.document_id == doc_id)).scalars().first()
        if same:
            warnings.append({"code": "duplicate_document_id", "other": same,
                             "message": "Trùng mã văn bản (DocumentId) với một văn bản đến đã có."})
    if code_number and code_notation and issuer:
        same = session.execute(base.where(Document.code_number == code_number,
                                          Document.code_notation == code_notation,
                                          or_(Document.organ_id == issuer, Document.organ_name == issuer))
                               ).scalars().first()
        if same:
            warnings.append({"code": "duplicate_number", "other": same,
                             "message": "Trùng số, ký hiệu và cơ quan ban hành với một văn bản đến đã có."})
    return warnings


def receive_package(db: Database, actor: Actor, package: dict[str, Any], verify: Verify | None = None) -> dict:
    """The edge hands over a stored edoc package. Idempotent on (document_id, sender, recipient, kind)."""
    _in_agency(db, actor)
    actor.require(Role.SYSTEM)
    sender = (package.get("from") or {}).get("organ_id") or ""
    doc_id = package.get("document_id") or ""
    business = package.get("business") or {}
    kind = int(business.get("doc_type") or 0)
    if not sender or not doc_id:
        raise ValidationFailed("Gói tin thiếu mã định danh cơ quan gửi hoặc mã văn bản.", code="bad_package",
                               sender=sender, document_id=doc_id)
    recipients = [t.get("organ_id") for t in package.get("to") or []]
    if actor.agency_id not in recipients:
        raise ValidationFailed("Văn bản không gửi đến cơ quan này.", code="wrong_recipient",
                               reason="WRONG_RECIPIENT", to=recipients)
    domain.refuse_secret(package)
    key = domain.dedupe_key(doc_id, sender, actor.agency_id, kind)
    with db.session() as session:
        existing = session.execute(select(Document).where(Document.agency_id == actor.agency_id,
                                                          Document.dedupe_key == key)).scalar_one_or_none()
        if existing is not None:
            return {"incoming_id": existing.id, "duplicate": True, "state": existing.state}
    if kind in (1, 2):
        return _receive_change(db, actor, package, key, kind)
    verdict = _verify_main(package, verify)
    try:
        with db.session() as session:
            doc = _incoming_from_package(actor, package, key, kind)
            doc.verification_state, doc.verification = verdict
            doc.warnings = _duplicate_warnings(session, actor.agency_id, doc_id, doc.code_number, doc.code_notation,
                                               doc.organ_id)
            session.add(doc)
            session.flush()
            for att in package.get("attachments") or []:
                session.add(Attachment(document_pk=doc.id, name=str(att.get("name") or "")[:255],
                                       content_type=str(att.get("content_type") or "")[:100],
                                       size=att.get("size"), sha256=att["sha256"],
                                       content_id=str(att.get("content_id") or "")[:200],
                                       description=str(att.get("description") or "")[:500], role="main"))
            if kind == 3:
                _link_replacement(session, actor, doc, package)
            _history(session, doc, actor, "received", {"sender": sender, "business_type": kind,
                                                       "raw_sha256": package.get("raw_sha256")})
            return {"incoming_id": doc.id, "duplicate": False, "state": doc.state, "warnings": doc.warnings}
    except IntegrityError:  # the same package raced in twice: the other call stored it
        with db.session() as session:
            doc = session.execute(select(Document).where(Document.agency_id == actor.agency_id,
                                                         Document.dedupe_key == key)).scalar_one()
            return {"incoming_id": doc.id, "duplicate": True, "state": doc.state}


def _verify_main(package: dict[str, Any], verify: Verify | None) -> tuple[str, dict[str, Any] | None]:
    pdfs = [a["sha256"] for a in package.get("attachments") or []
            if str(a.get("content_type", "")).endswith("pdf") or str(a.get("name", "")).lower().endswith(".pdf")]
    if not pdfs:
        return "none", None
    if verify is None:
        return "pending", {"pdf_sha256": pdfs[0]}
    try:
        report = verify(pdfs[0])
    except Exception as exc:  # signing absent or slow: keep the package, verify later (reverify_pending)
        log.info("signature verification deferred: %s", exc)
        return "pending", {"pdf_sha256": pdfs[0], "error": str(exc)[:300]}
    return verification_outcome(report)


def verification_outcome(report: Any) -> tuple[str, dict[str, Any]]:
    """The state kept for signing's report (docs/signing.md): "valid" only when it says `legally_valid`.

    Anything else (unsigned, seal missing, broken, untrusted) is "invalid": the document is shown "chỉ có giá trị
    tham khảo" and the clerk may reject it with INVALID_SIGNATURE. Only an explicit `legally_valid: true` counts,
    so a malformed answer never makes a document legally valid.
    """
    if not isinstance(report, dict):
        return "invalid", {"result": str(report)[:300], "legally_valid": False}
    return ("valid" if report.get("legally_valid") is True else "invalid"), report


def reject_reasons(verification_state: str) -> list[str]:
    """Reasons the clerk may pick: a legally valid signature cannot be refused as invalid (DOMAIN.md, incoming 2)."""
    return [code for code in REJECT_REASONS if code != "INVALID_SIGNATURE" or verification_state != "valid"]


def reverify_pending(db: Database, actor: Actor, verify: Verify, limit: int = 20) -> list[dict[str, Any]]:
    """Ask signing again for the documents whose verification was deferred (signing absent or slow)."""
    _in_agency(db, actor)
    actor.require(Role.SYSTEM)
    with db.session() as session:
        pending = session.execute(
            select(Document.id, Document.verification)
            .where(Document.agency_id == actor.agency_id, Document.direction == Direction.INCOMING,
                   Document.verification_state == "pending")
            .order_by(Document.received_at).limit(limit)).all()
    first_pdf = {pk: v["pdf_sha256"] for pk, v in pending if isinstance(v, dict) and v.get("pdf_sha256")}
    done = []
    for doc_pk, sha in first_pdf.items():
        try:
            state, report = verification_outcome(verify(sha))
        except Exception as exc:  # still unavailable: try again on the next round
            log.info("signature verification still deferred for %s: %s", doc_pk, exc)
            break
        with db.session() as session:
            doc = session.get(Document, doc_pk)
            if doc is None or doc.verification_state != "pending":
                continue
            doc.verification_state, doc.verification = state, report
            _history(session, doc, actor, "verified", {"state": state, "verdict": report.get("verdict")})
        done.append({"incoming_id": doc_pk, "verification_state": state})
    return done


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
        received_at=_parse_dt(p.get("received_at")) or now_utc(), raw_sha256=p.get("raw_sha256"),
        trace=list(p.get("trace") or []), package=p,
    )


def _lenient_priority(value: Any) -> int:
    try:
        return domain.urgency(value)
    except ValidationFailed:  # inbound is lenient (STANDARDS §8.4): log, treat as normal
        log.info("unknown priority %r on an incoming package", value)
        return 0


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


def _find_incoming(session: Session, agency_id: str, document_id: str, sender: str) -> Document | None:
    return session.execute(select(Document).where(
        Document.agency_id == agency_id, Document.direction == Direction.INCOMING,
        Document.document_id == document_id, Document.sender_organ_id == sender,
        Document.business_type.in_((0, 3))).order_by(Document.created_at.desc())).scalars().first()


def _receive_change(db: Database, actor: Actor, package: dict[str, Any], key: str, kind: int) -> dict:
    """Revoke (1) or update (2) of a document we received (STANDARDS §8.3)."""
    business = package.get("business") or {}
    sender = package["from"]["organ_id"]
    target_id = business.get("target_document_id") or package["document_id"]
    with db.session() as session:
        target = _find_incoming(session, actor.agency_id, target_id, sender)
        if target is None:
            log.warning("change package %s for unknown document %s from %s", kind, target_id, sender)
            return {"incoming_id": None, "duplicate": False, "state": "unknown_target"}
        change = {"kind": "revoke" if kind == 1 else "update", "key": key, "reason": business.get("reason", ""),
                  "package": package if kind == 2 else None, "received_at": now_utc().isoformat()}
        if kind == 1 and target.state == State.WAITING_RECEPTION:
            # Not registered yet: nothing to undo, the revocation is accepted at once.
            target.state = State.REVOKED
            target.dedupe_key = target.dedupe_key  # keeps the original key: a re-sent original stays a duplicate
            _history(session, target, actor, "revoked", {"reason": change["reason"], "automatic": True})
            enqueue(session, "outgoing_status", _status_payload(profile(session, actor.agency_id), target, sender,
                                                                "15", "Đồng ý thu hồi văn bản", actor))
        else:
            target.pending_change = change
            _history(session, target, actor, "change_requested", {"kind": change["kind"],
                                                                  "reason": change["reason"]})
        return {"incoming_id": target.id, "duplicate": False, "state": target.state, "change": change["kind"]}


def _link_replacement(session: Session, actor: Actor, doc: Document, package: dict[str, Any]) -> None:
    business = package.get("business") or {}
    targets = [r.get("document_id") for r in business.get("replacements") or [] if r.get("document_id")]
    if business.get("target_document_id"):
        targets.append(business["target_document_id"])
    for target_id in dict.fromkeys(targets):
        old = _find_incoming(session, actor.agency_id, target_id, doc.sender_organ_id or "")
        if old is not None and old.id != doc.id:
            session.add(DocumentLink(from_pk=doc.id, to_pk=old.id, kind="replaces"))
            old.replaced_by = doc.id
            _history(session, old, actor, "replaced", {"by": doc.id})


def decide_change(db: Database, actor: Actor, incoming_id: str, accept: bool, reason: str = "") -> dict:
    """The clerk answers a revoke/update/take-back request: 15 (accepted) or 16 (refused) to the sender."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    with db.session() as session:
        doc = _load(session, actor, incoming_id, Direction.INCOMING, for_update=True)
        change = doc.pending_change
        if not change:
            raise ValidationFailed("Văn bản này không có yêu cầu thu hồi, cập nhật hay lấy lại.", code="no_change")
        if not accept and not reason.strip():
            raise ValidationFailed("Thiếu trường bắt buộc “Lý do từ chối”.", code="missing_field", field="reason")
        if accept and change["kind"] in ("revoke", "take_back"):
            doc.state = State.REVOKED
        elif accept and change["kind"] == "update" and change.get("package"):
            fresh = _incoming_from_package(actor, change["package"], doc.dedupe_key or "", 0)
            for attr in ("subject", "content", "code_number", "code_notation", "issued_date", "priority",
                         "due_date", "to_places", "signer_position", "signer_full_name", "type_name"):
                setattr(doc, attr, getattr(fresh, attr))
        doc.pending_change = None
        code = "15" if accept else "16"
        text = reason or ("Đồng ý " + {"revoke": "thu hồi", "update": "cập nhật", "take_back": "lấy lại"}[
            change["kind"]] if accept else "")
        _history(session, doc, actor, "change_accepted" if accept else "change_refused",
                 {"kind": change["kind"], "reason": reason})
        enqueue(session, "outgoing_status", _status_payload(profile(session, actor.agency_id), doc,
                                                            doc.sender_organ_id or "", code, text, actor))
        return {"incoming_id": doc.id, "state": doc.state, "status_code": code}


# --- incoming: the clerk -----------------------------------------------------------------------------------

def summary(doc: Document) -> dict[str, Any]:
    number = f"{domain.format_number(int(doc.code_number))}" if (doc.code_number or "").isdigit() else doc.code_number
    return {
        "id": doc.id, "direction": doc.direction, "state": doc.state,
        "state_label": domain.STATE_LABELS.get(doc.state, doc.state), "document_id": doc.document_id,
        "code_number": doc.code_number, "code_notation": doc.code_notation,
        "number_and_notation": f"{number}/{doc.code_notation}" if doc.code_number else None,
        "type_code": doc.type_code, "type_name": doc.type_name, "issued_date": _iso(doc.issued_date),
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
        "source_channel": doc.source_channel, "business_type": doc.business_type,
        "pending_change": (doc.pending_change or {}).get("kind"), "replaced_by": doc.replaced_by,
        "reject_reason": doc.reject_reason, "reject_text": doc.reject_text,
    }


def _page(page: int | None, size: int | None) -> tuple[int, int]:
    size = max(1, min(int(size or 50), PAGE_SIZE_MAX))
    return max(1, int(page or 1)), size


def list_waiting_reception(db: Database, actor: Actor, page: int = 1, size: int = 50) -> dict:
    _in_agency(db, actor)
    actor.require(Role.CLERK, Role.LEADER, Role.ADMIN)
    return _list(db, actor, Direction.INCOMING, [State.WAITING_RECEPTION], {}, page, size,
                 order=(Document.priority.desc(), Document.received_at))


def _list(db: Database, actor: Actor, direction: str, states: list[str], filters: dict[str, Any], page: int,
          size: int, order: tuple) -> dict:
    page, size = _page(page, size)
    with db.session() as session:
        query = select(Document).where(Document.agency_id == actor.agency_id, Document.direction == direction,
                                       Document.state.in_(states))
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
        return {"items": items, "total": total, "page": page, "size": size}


def list_incoming(db: Database, actor: Actor, filters: dict[str, Any] | None = None, page: int = 1,
                  size: int = 50) -> dict:
    """Registered incoming documents, urgent first (DOMAIN.md incoming 5), newest arrival numbers next."""
    _in_agency(db, actor)
    filters = filters or {}
    states = [filters["state"]] if filters.get("state") else [State.REGISTERED]
    return _list(db, actor, Direction.INCOMING, states, filters, page, size,
                 order=(Document.handled, Document.priority.desc(), Document.registered_at.desc()))


def _register_incoming(session: Session, actor: Actor, doc: Document, register_id: str | None,
                       happened_at: datetime | None) -> int:
    moment = happened_at or now_utc()
    if register_id is None:
        register_id = numbering.find_register(session, actor.agency_id, Direction.INCOMING,
                                              numbering.numbering_year(moment)).id
    # Late entries are numbered now (numbers follow the order of entry) but keep their real arrival time.
    number = numbering.allocate(session, register_id, actor.agency_id, Direction.INCOMING,
                                moment=now_utc() if happened_at else moment)
    doc.register_id, doc.number, doc.year = register_id, number, numbering.numbering_year(now_utc())
    doc.arrival_date = vn_date(moment)
    doc.registered_at = now_utc()
    doc.state = State.REGISTERED
    if happened_at:
        doc.late_entry, doc.happened_at = True, happened_at
    return number


def _incoming_registered_event(session: Session, doc: Document) -> None:
    enqueue(session, "incoming_registered", {
        "incoming_id": doc.id, "document_id": doc.document_id, "subject": doc.subject, "priority": doc.priority,
        "due_date": _iso(doc.due_date), "registered_at": _iso(doc.registered_at),
        "sender": {"organ_id": doc.organ_id, "organ_name": doc.organ_name}, "arrival_number": doc.number,
        "external": doc.source_channel == "interconnect",
    })


def accept_incoming(db: Database, actor: Actor, incoming_id: str, register_id: str,
                    late_entry_at: datetime | str | None = None) -> dict:
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    happened = _late(late_entry_at)
    with db.session() as session:
        doc = _load(session, actor, incoming_id, Direction.INCOMING, for_update=True)
        domain.check_transition(Direction.INCOMING, doc.state, State.REGISTERED)
        number = _register_incoming(session, actor, doc, register_id, happened)
        _history(session, doc, actor, "registered", {"arrival_number": number, "register_id": register_id},
                 happened_at=happened)
        if doc.source_channel == "interconnect" and doc.sender_organ_id:
            enqueue(session, "outgoing_status", _status_payload(
                profile(session, actor.agency_id), doc, doc.sender_organ_id, "03",
                f"Đã tiếp nhận, vào sổ văn bản đến số {domain.format_number(number)}", actor))
        _incoming_registered_event(session, doc)
        return summary(doc)


def _late(value: datetime | str | None) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else _parse_dt(value)
    if moment is None:
        raise ValidationFailed("Thời điểm thực tế của việc nhập bù không hợp lệ.", code="bad_date",
                               field="late_entry_at")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=to_vn(now_utc()).tzinfo)  # a time typed by a clerk is Vietnam time
    if moment > now_utc():
        raise ValidationFailed("Thời điểm nhập bù không được ở tương lai.", code="future_date",
                               field="late_entry_at")
    return moment


def reject_incoming(db: Database, actor: Actor, incoming_id: str, reason_code: str, text: str) -> dict:
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    if reason_code not in REJECT_REASONS:
        raise ValidationFailed("Chỉ được từ chối vì gửi sai nơi nhận hoặc văn bản không có giá trị pháp lý.",
                               code="bad_reason", field="reason_code", allowed=sorted(REJECT_REASONS))
    if not (text or "").strip():
        raise ValidationFailed("Thiếu trường bắt buộc “Lý do từ chối”.", code="missing_field", field="text")
    if len(text) > 1000:
        raise ValidationFailed("Trường “Lý do từ chối” dài quá 1000 ký tự.", code="too_long", field="text")
    with db.session() as session:
        doc = _load(session, actor, incoming_id, Direction.INCOMING, for_update=True)
        domain.check_transition(Direction.INCOMING, doc.state, State.REJECTED)
        if reason_code not in reject_reasons(doc.verification_state):
            raise ValidationFailed("Chữ ký số của văn bản đã được kiểm tra là hợp lệ; không thể từ chối vì lý do "
                                   "chữ ký số không hợp lệ.", code="signature_valid", field="reason_code",
                                   verdict=(doc.verification or {}).get("verdict"))
        if doc.source_channel != "interconnect":
            raise ValidationFailed("Chỉ từ chối được văn bản nhận qua trục liên thông.", code="not_interconnect")
        doc.state, doc.reject_reason, doc.reject_text = State.REJECTED, reason_code, text.strip()
        _history(session, doc, actor, "rejected", {"reason_code": reason_code, "text": text.strip()})
        enqueue(session, "outgoing_status", _status_payload(
            profile(session, actor.agency_id), doc, doc.sender_organ_id or "", "02",
            f"{REJECT_REASONS[reason_code]}: {text.strip()}", actor))
        return summary(doc)


def register_paper_incoming(db: Database, actor: Actor, metadata: dict[str, Any], file_sha256s: list[str],
                            late_entry_at: datetime | str | None = None, register_id: str | None = None) -> dict:
    """Paper, e-mail, fax: scan plus form. A paper twin of an electronic arrival is recognised, not re-registered."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    domain.refuse_secret(metadata)
    domain.check_required(metadata, domain.PAPER_INCOMING_REQUIRED)
    if not file_sha256s:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản (bản quét)”.", code="missing_field",
                               field="files")
    if not (metadata.get("organ_name") or metadata.get("organ_id")):
        raise ValidationFailed("Thiếu trường bắt buộc “Tên cơ quan, tổ chức ban hành”.", code="missing_field",
                               field="organ_name")
    domain.check_lengths(metadata, domain.INCOMING_FIELDS)
    happened = _late(late_entry_at)
    issued = domain.parse_date(metadata["issued_date"]) if metadata.get("issued_date") else None
    number, notation = str(metadata["code_number"]).strip(), str(metadata["code_notation"]).strip()
    with db.session() as session:
        twin = _electronic_twin(session, actor.agency_id, number, notation, issued, metadata)
        if twin is not None:
            _history(session, twin, actor, "paper_copy_received",
                     {"files": file_sha256s, "channel": metadata.get("channel", "paper")}, happened_at=happened)
            return {**summary(twin), "paper_duplicate_of": twin.id}
        doc = Document(
            agency_id=actor.agency_id, direction=Direction.INCOMING, state=State.WAITING_RECEPTION,
            source_channel=str(metadata.get("channel") or "paper")[:20],
            type_code=metadata.get("type_code"), type_name=str(metadata.get("type_name") or
                                                               type_name(metadata.get("type_code") or ""))[:100],
            code_number=number, code_notation=notation, issued_date=issued,
            organ_id=metadata.get("organ_id"), organ_name=str(metadata.get("organ_name") or ""),
            subject=str(metadata["subject"]).strip(), priority=domain.urgency(metadata.get("priority")),
            page_amount=metadata.get("page_amount"), description=str(metadata.get("description") or ""),
            signer_position=str(metadata.get("signer_position") or ""),
            signer_full_name=str(metadata.get("signer_full_name") or ""),
            due_date=domain.parse_date(metadata["due_date"]) if metadata.get("due_date") else None,
            to_places=list(metadata.get("to_places") or []), received_at=happened or now_utc(),
        )
        doc.warnings = _duplicate_warnings(session, actor.agency_id, None, number, notation,
                                           doc.organ_id or doc.organ_name)
        session.add(doc)
        session.flush()
        for sha in file_sha256s:
            session.add(Attachment(document_pk=doc.id, sha256=sha, role="scan", name=f"{sha[:12]}.pdf"))
        arrival = _register_incoming(session, actor, doc, register_id, happened)
        _history(session, doc, actor, "registered", {"arrival_number": arrival, "channel": doc.source_channel},
                 happened_at=happened)
        _incoming_registered_event(session, doc)
        return summary(doc)


def _electronic_twin(session: Session, agency_id: str, number: str, notation: str, issued: Any,
                     metadata: dict[str, Any]) -> Document | None:
    """Same issuer + number/notation + date among incoming documents that arrived electronically."""
    query = select(Document).where(
        Document.agency_id == agency_id, Document.direction == Direction.INCOMING,
        Document.source_channel == "interconnect", Document.code_notation == notation,
        Document.state.in_((State.WAITING_RECEPTION, State.REGISTERED)))
    if issued is not None:
        query = query.where(Document.issued_date == issued)
    issuer_id, issuer_name = metadata.get("organ_id"), (metadata.get("organ_name") or "").strip().lower()
    for doc in session.execute(query).scalars():
        same_number = (doc.code_number or "").lstrip("0") == number.lstrip("0")
        same_issuer = (issuer_id and doc.organ_id == issuer_id) or (
            issuer_name and doc.organ_name.strip().lower() == issuer_name)
        if same_number and same_issuer:
            return doc
    return None


# --- documents ---------------------------------------------------------------------------------------------

def get_document(db: Database, actor: Actor, doc_pk: str) -> dict[str, Any]:
    _in_agency(db, actor)
    with db.session() as session:
        doc = _load(session, actor, doc_pk)
        domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
        data = summary(doc)
        data.update({
            "content": doc.content, "signer": {"competence": doc.signer_competence,
                                               "position": doc.signer_position, "full_name": doc.signer_full_name},
            "to_places": doc.to_places, "trace": doc.trace, "raw_sha256": doc.raw_sha256,
            "verification": doc.verification, "page_amount": doc.page_amount, "issued_amount": doc.issued_amount,
            "description": doc.description, "language": doc.language,
            "attachments": [{"id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size,
                             "sha256": a.sha256, "role": a.role} for a in session.execute(
                select(Attachment).where(Attachment.document_pk == doc.id)).scalars()],
            "links": [{"to": lk.to_pk, "kind": lk.kind} for lk in session.execute(
                select(DocumentLink).where(DocumentLink.from_pk == doc.id)).scalars()]
            + [{"from": lk.from_pk, "kind": lk.kind} for lk in session.execute(
                select(DocumentLink).where(DocumentLink.to_pk == doc.id)).scalars()],
            "recipients": [{"organ_id": r.organ_id, "organ_name": r.organ_name, "channel": r.channel,
                            "status_code": r.status_code, "description": r.description,
                            "status_at": _iso(r.status_at), "recall_state": r.recall_state}
                           for r in session.execute(select(RecipientStatus).where(
                               RecipientStatus.document_pk == doc.id).order_by(RecipientStatus.id)).scalars()],
            "history": [{"at": _iso(h.at), "happened_at": _iso(h.happened_at), "late_entry": h.late_entry,
                         "user_id": h.user_id, "username": h.username, "on_behalf_of": h.on_behalf_of,
                         "action": h.action, "details": h.details} for h in session.execute(
                select(History).where(History.document_pk == doc.id).order_by(History.id)).scalars()],
        })
        return data


# --- outgoing ----------------------------------------------------------------------------------------------

def submit_for_issue(db: Database, actor: Actor, draft: dict[str, Any]) -> dict:
    """A leader-signed draft lands in "waiting to issue" (chờ ban hành). Idempotent on draft_id."""
    _in_agency(db, actor)
    actor.require(Role.SYSTEM, Role.LEADER, Role.CLERK)
    domain.refuse_secret(draft)
    domain.check_required(draft, (*domain.OUTGOING_REQUIRED, ("pdf_sha256", "Tệp văn bản đã ký"),
                                  ("draft_id", "Mã dự thảo")))
    domain.check_type_code(draft["type_code"])
    domain.check_lengths(draft, domain.OUTGOING_FIELDS)
    with db.session() as session:
        existing = session.execute(select(Document).where(Document.agency_id == actor.agency_id,
                                                          Document.draft_id == str(draft["draft_id"]))
                                   ).scalar_one_or_none()
        if existing is not None:
            return {**summary(existing), "duplicate": True}
        prof = profile(session, actor.agency_id)
        signer = draft.get("signer") or {}
        doc = Document(
            agency_id=actor.agency_id, direction=Direction.OUTGOING, state=State.WAITING_ISSUE,
            draft_id=str(draft["draft_id"])[:64], type_code=draft["type_code"], type_name=type_name(draft["type_code"]),
            # Column 6 of the outgoing register: the unit that drafted it, as routing named it at signing.
            drafting_unit=str(draft.get("unit") or "")[:40] or None,
            drafting_unit_name=str(draft.get("unit_name") or "")[:200] or None,
            code_notation=draft.get("code_notation") or domain.make_notation(
                draft["type_code"], prof.abbreviation, draft.get("unit_abbr")),
            organ_id=actor.agency_id, organ_name=prof.organ_name, promulgation_place=prof.place,
            subject=str(draft["subject"]).strip(), content=str(draft.get("content") or ""),
            signer_competence=str(signer.get("competence") or "")[:100],
            signer_position=str(signer.get("position") or draft.get("signer_position") or "")[:100],
            signer_full_name=str(signer.get("full_name") or draft.get("signer_full_name") or "")[:50],
            priority=domain.urgency(draft.get("priority")), page_amount=draft.get("page_amount"),
            due_date=domain.parse_date(draft["due_date"]) if draft.get("due_date") else None,
            handlers=[str(h) for h in draft.get("handlers") or []], to_places=list(draft.get("to_places") or []),
            package={"suggested_recipients": draft.get("recipients") or [], "answers": draft.get("answers") or []},
        )
        session.add(doc)
        session.flush()
        session.add(Attachment(document_pk=doc.id, sha256=draft["pdf_sha256"], role="main",
                               name=str(draft.get("pdf_name") or "van-ban.pdf")[:255]))
        for sha in draft.get("appendices") or []:
            session.add(Attachment(document_pk=doc.id, sha256=sha, role="appendix", name=f"phu-luc-{sha[:8]}.pdf"))
        for incoming_pk in draft.get("answers") or []:
            target = session.get(Document, incoming_pk)
            if target is not None and target.agency_id == actor.agency_id and target.direction == Direction.INCOMING:
                session.add(DocumentLink(from_pk=doc.id, to_pk=target.id, kind="answers"))
        _history(session, doc, actor, "submitted_for_issue", {"draft_id": doc.draft_id})
        return {**summary(doc), "duplicate": False}


def list_waiting_issue(db: Database, actor: Actor, page: int = 1, size: int = 50) -> dict:
    """Urgent ones first: they are issued immediately after signing (DOMAIN.md outgoing 4)."""
    _in_agency(db, actor)
    return _list(db, actor, Direction.OUTGOING, [State.WAITING_ISSUE], {}, page, size,
                 order=(Document.priority.desc(), Document.created_at))


def list_outgoing(db: Database, actor: Actor, filters: dict[str, Any] | None = None, page: int = 1,
                  size: int = 50) -> dict:
    _in_agency(db, actor)
    filters = filters or {}
    states = [filters["state"]] if filters.get("state") else [State.ISSUED, State.RECALLED]
    return _list(db, actor, Direction.OUTGOING, states, filters, page, size,
                 order=(Document.priority.desc(), Document.registered_at.desc()))


def _attachments(session: Session, doc: Document, role: str | None = None) -> list[Attachment]:
    query = select(Attachment).where(Attachment.document_pk == doc.id)
    if role:
        query = query.where(Attachment.role == role)
    return list(session.execute(query.order_by(Attachment.id)).scalars())


def build_package(prof: AgencyProfile, doc: Document, recipients: list[dict[str, str]], attachments: list[Attachment],
                  actor: Actor, business_type: int = 0, reason: str = "") -> dict[str, Any]:
    """The edoc package of messages.md for the edge (message_id is added by the outbox)."""
    return {
        "kind": "edoc", "document_id": doc.document_id,
        "business": {"doc_type": business_type, "reason": reason or BUSINESS_TYPES[business_type],
                     "target_document_id": doc.document_id if business_type else None,
                     "paper": 0 if doc.no_paper_copy else 1,
                     "staff": {"department": "Văn thư", "name": actor.full_name or actor.username, "mobile": "",
                               "email": ""}, "document_info": None, "replacements": []},
        "from": {"organ_id": prof.agency_id, "organ_name": prof.organ_name, "organization_in_charge": "",
                 "address": "", "email": "", "telephone": "", "fax": "", "website": ""},
        "to": [{"organ_id": r["organ_id"], "organ_name": r.get("organ_name", "")} for r in recipients],
        "code_number": domain.format_number(doc.number or 0), "code_notation": doc.code_notation,
        "promulgation_place": doc.promulgation_place, "promulgation_date": _iso(doc.issued_date),
        "document_type": {"type": 1, "type_detail": 0, "type_name": doc.type_name},
        "subject": doc.subject, "content": doc.content,
        "signer": {"competence": doc.signer_competence, "position": doc.signer_position,
                   "full_name": doc.signer_full_name},
        "due_date": _iso(doc.due_date), "to_places": doc.to_places or [],
        "other": {"priority": doc.priority, "sphere_of_promulgation": "", "typer_notation": "",
                  "promulgation_amount": doc.issued_amount or 1, "page_amount": doc.page_amount or 1,
                  "appendixes": [a.name for a in attachments if a.role == "appendix"], "direction": False},
        "response_for": (doc.package or {}).get("response_for", []),
        "steering_type": 0, "trace": [],
        "attachments": [{"content_id": f"cid:{a.sha256[:16]}", "name": a.name, "content_type": a.content_type,
                         "description": a.description, "size": a.size, "sha256": a.sha256} for a in attachments
                        if a.role in ("signed", "appendix_signed")],
    }


def _dispatch_issued(session: Session, actor: Actor, doc: Document, recipients: list[dict[str, str]]) -> None:
    """Recipients' rows, the package for the edge, answered incoming documents, and `outgoing_issued`."""
    for r in recipients:
        session.add(RecipientStatus(document_pk=doc.id, organ_id=r["organ_id"], organ_name=r.get("organ_name", ""),
                                    channel=r.get("channel", "interconnect")))
    remote = [r for r in recipients if r.get("channel", "interconnect") == "interconnect"]
    prof = profile(session, actor.agency_id)
    answers = [lk.to_pk for lk in session.execute(select(DocumentLink).where(
        DocumentLink.from_pk == doc.id, DocumentLink.kind == "answers")).scalars()]
    response_for = []
    for incoming_pk in answers:
        incoming = session.get(Document, incoming_pk)
        if incoming is not None:
            incoming.handled = True
            _history(session, incoming, actor, "answered", {"outgoing_id": doc.id})
            response_for.append({"organ_id": incoming.organ_id, "code": f"{incoming.code_number}/"
                                 f"{incoming.code_notation}", "promulgation_date": _iso(incoming.issued_date),
                                 "document_id": incoming.document_id})
    doc.package = {**(doc.package or {}), "response_for": response_for}
    if remote:
        enqueue(session, "outgoing_package", build_package(prof, doc, remote, _attachments(session, doc), actor))
    if answers:
        enqueue(session, "outgoing_issued", {"outgoing_id": doc.id, "answers": answers})


def issue_outgoing(db: Database, actor: Actor, outgoing_id: str, register_id: str, recipients: list[dict[str, Any]],
                   sign: Sign, urgency: int | None = None, no_paper_copy: bool = False,
                   issued_amount: int | None = None, to_places: list[str] | None = None) -> dict:
    """Number and date from the register, filled in and seal-signed by `signing`, then dispatched.

    The signing call happens outside any transaction (it is a network round trip): the number is read, the PDF
    signed with it, and the number is taken only if it is still the next one; otherwise the PDF is signed again
    with the new number. Nothing is numbered if signing fails.
    """
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    clean = domain.check_recipients(recipients)
    priority = domain.urgency(urgency) if urgency is not None else None
    if issued_amount is not None:
        domain.check_lengths({"issued_amount": issued_amount}, domain.OUTGOING_FIELDS)
    with db.session() as session:
        doc = _load(session, actor, outgoing_id, Direction.OUTGOING)
        domain.check_transition(Direction.OUTGOING, doc.state, State.ISSUED)
        main = _attachments(session, doc, "main")
        appendices = [a.sha256 for a in _attachments(session, doc, "appendix")]
        notation = doc.code_notation or ""
    if not main:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản đã ký”.", code="missing_field", field="pdf")
    domain.check_notation(notation)
    for _attempt in range(ISSUE_RETRIES):
        with db.session() as session:
            number = numbering.peek(session, register_id, actor.agency_id, Direction.OUTGOING)
        today = vn_date(now_utc())
        try:
            signed = sign(main[0].sha256, domain.format_number(number), f"{today:%d/%m/%Y}", notation, appendices)
        except Exception as exc:
            raise ServiceUnavailable(
                "Không đóng dấu, ký số được văn bản: dịch vụ ký số không phản hồi. Văn bản chưa được cấp số; "
                "vui lòng thử lại sau.", code="signing_unavailable", error=str(exc)[:300]) from exc
        try:
            with db.session() as session:
                doc = _load(session, actor, outgoing_id, Direction.OUTGOING, for_update=True)
                domain.check_transition(Direction.OUTGOING, doc.state, State.ISSUED)
                got = numbering.allocate(session, register_id, actor.agency_id, Direction.OUTGOING,
                                         expected=number)
                doc.register_id, doc.number, doc.year = register_id, got, today.year
                doc.code_number = domain.format_number(got)
                doc.issued_date, doc.registered_at, doc.state = today, now_utc(), State.ISSUED
                doc.document_id = domain.document_id(actor.agency_id, today, got, notation)
                doc.no_paper_copy = bool(no_paper_copy)
                if priority is not None:
                    doc.priority = priority
                if issued_amount is not None:
                    doc.issued_amount = int(issued_amount)
                if to_places is not None:
                    doc.to_places = list(to_places)
                session.add(Attachment(document_pk=doc.id, sha256=signed["sha256"], role="signed",
                                       name=f"{domain.format_number(got)}-{notation}.pdf"))
                for sha in signed.get("appendices") or []:
                    session.add(Attachment(document_pk=doc.id, sha256=sha, role="appendix_signed",
                                           name=f"phu-luc-{domain.format_number(got)}-{sha[:8]}.pdf"))
                _history(session, doc, actor, "issued", {
                    "number": domain.number_display(got, notation), "register_id": register_id,
                    "urgency": URGENCY_LABELS.get(doc.priority), "recipients": [r["organ_id"] for r in clean]})
                _dispatch_issued(session, actor, doc, clean)
                session.flush()
                return summary(doc)
        except Conflict as exc:
            if exc.code != "number_taken":
                raise
            log.info("number %s taken while signing; signing again", number)
    raise Conflict("Sổ đang được dùng liên tục; chưa cấp được số, vui lòng thử lại.", code="number_busy")


def register_outgoing_signed(db: Database, actor: Actor, metadata: dict[str, Any], pdf_sha256: str,
                             recipients: list[dict[str, Any]], register_id: str) -> dict:
    """A document already numbered and signed (e.g. uploaded by the clerk): registered under its number if that
    number is the register's next free one, then dispatched."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    domain.refuse_secret(metadata)
    domain.check_required(metadata, (*domain.OUTGOING_REQUIRED, ("code_notation", "Ký hiệu của văn bản")))
    domain.check_type_code(metadata["type_code"])
    domain.check_lengths(metadata, domain.OUTGOING_FIELDS)
    domain.check_notation(metadata["code_notation"])
    if not pdf_sha256:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản đã ký”.", code="missing_field", field="pdf")
    clean = domain.check_recipients(recipients)
    wanted = metadata.get("code_number")
    if wanted not in (None, "") and not domain.CODE_NUMBER_RE.match(str(wanted)):
        raise ValidationFailed("Trường “Số của văn bản” phải là số.", code="not_a_number", field="code_number")
    issued = domain.parse_date(metadata["issued_date"]) if metadata.get("issued_date") else vn_date(now_utc())
    with db.session() as session:
        number = numbering.allocate(session, register_id, actor.agency_id, Direction.OUTGOING,
                                    expected=int(wanted) if wanted not in (None, "") else None)
        prof = profile(session, actor.agency_id)
        doc = Document(
            agency_id=actor.agency_id, direction=Direction.OUTGOING, state=State.ISSUED, register_id=register_id,
            number=number, year=numbering.numbering_year(), code_number=domain.format_number(number),
            code_notation=metadata["code_notation"], type_code=metadata["type_code"],
            type_name=type_name(metadata["type_code"]), issued_date=issued, registered_at=now_utc(),
            document_id=domain.document_id(actor.agency_id, issued, number, metadata["code_notation"]),
            organ_id=actor.agency_id, organ_name=prof.organ_name, promulgation_place=prof.place,
            subject=str(metadata["subject"]).strip(), content=str(metadata.get("content") or ""),
            signer_position=str(metadata.get("signer_position") or ""),
            signer_full_name=str(metadata.get("signer_full_name") or ""),
            priority=domain.urgency(metadata.get("priority")), no_paper_copy=bool(metadata.get("no_paper_copy")),
            due_date=domain.parse_date(metadata["due_date"]) if metadata.get("due_date") else None,
            to_places=list(metadata.get("to_places") or []), handlers=[actor.user_id],
        )
        session.add(doc)
        session.flush()
        session.add(Attachment(document_pk=doc.id, sha256=pdf_sha256, role="signed",
                               name=str(metadata.get("pdf_name") or f"{doc.code_number}.pdf")[:255]))
        for incoming_pk in metadata.get("answers") or []:
            target = session.get(Document, incoming_pk)
            if target is not None and target.agency_id == actor.agency_id and target.direction == Direction.INCOMING:
                session.add(DocumentLink(from_pk=doc.id, to_pk=target.id, kind="answers"))
        session.flush()
        _history(session, doc, actor, "issued", {"number": domain.number_display(number, doc.code_notation or ""),
                                                 "register_id": register_id, "already_signed": True})
        _dispatch_issued(session, actor, doc, clean)
        return summary(doc)


def recall_outgoing(db: Database, actor: Actor, outgoing_id: str, reason: str) -> dict:
    """Freeze the document and send a revoke package; the recipients' 15/16 (or 03/02) are then followed."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    if not (reason or "").strip():
        raise ValidationFailed("Thiếu trường bắt buộc “Lý do thu hồi”.", code="missing_field", field="reason")
    with db.session() as session:
        doc = _load(session, actor, outgoing_id, Direction.OUTGOING, for_update=True)
        domain.check_transition(Direction.OUTGOING, doc.state, State.RECALLED)
        doc.state, doc.frozen = State.RECALLED, True
        rows = list(session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id)).scalars())
        remote = [{"organ_id": r.organ_id, "organ_name": r.organ_name} for r in rows if r.channel == "interconnect"]
        for r in rows:
            r.recall_state = "requested"
        if remote:
            enqueue(session, "outgoing_package", build_package(profile(session, actor.agency_id), doc, remote,
                                                               _attachments(session, doc), actor, 1, reason.strip()))
        _history(session, doc, actor, "recalled", {"reason": reason.strip()})
        return summary(doc)


RECALL_ANSWERS = {"15": "accepted", "03": "accepted", "16": "refused", "02": "refused"}


def record_status(db: Database, actor: Actor, status: dict[str, Any]) -> dict:
    """A status about one of our outgoing documents (or a 13 about an incoming one). Idempotent."""
    _in_agency(db, actor)
    actor.require(Role.SYSTEM)
    code = str(status.get("status_code") or "").strip()
    code = code.zfill(2) if code.isdigit() else code
    sender = (status.get("from") or {}).get("organ_id") or ""
    about = status.get("response_for") or {}
    doc_id = about.get("document_id") or ""
    if not code or not sender or not doc_id:
        raise ValidationFailed("Trạng thái thiếu mã cơ quan gửi, mã văn bản hoặc mã trạng thái.", code="bad_status")
    with db.session() as session:
        if code == "13":  # the sender of an incoming document wants it back
            incoming = _find_incoming(session, actor.agency_id, doc_id, sender)
            if incoming is None:
                return {"matched": False}
            if (incoming.pending_change or {}).get("kind") != "take_back" and incoming.state != State.REVOKED:
                incoming.pending_change = {"kind": "take_back", "reason": status.get("description", ""),
                                           "received_at": now_utc().isoformat()}
                _history(session, incoming, actor, "change_requested", {"kind": "take_back"})
            return {"matched": True, "incoming_id": incoming.id}
        doc = session.execute(select(Document).where(
            Document.agency_id == actor.agency_id, Document.direction == Direction.OUTGOING,
            Document.document_id == doc_id).with_for_update()).scalars().first()
        if doc is None:
            log.warning("status %s from %s about unknown document %s", code, sender, doc_id)
            return {"matched": False}
        row = session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id,
                                                            RecipientStatus.organ_id == sender)).scalar_one_or_none()
        if row is None:
            row = RecipientStatus(document_pk=doc.id, organ_id=sender, organ_name=(status.get("from") or {}).get(
                "organ_name", ""), seen=[])
            session.add(row)
        if code in (row.seen or []) and code != "05":
            return {"matched": True, "duplicate": True, "outgoing_id": doc.id}
        row.seen = [*(row.seen or []), code]
        description = str(status.get("description") or "")[:1000]
        if doc.state == State.RECALLED and code in RECALL_ANSWERS and row.recall_state == "requested":
            row.recall_state = RECALL_ANSWERS[code]
        else:
            row.status_code, row.description = code, description
            row.status_at = _parse_dt(status.get("timestamp")) or now_utc()
        _history(session, doc, actor, "status", {"organ_id": sender, "status_code": code,
                                                 "description": description})
        return {"matched": True, "duplicate": False, "outgoing_id": doc.id}
