"""Incoming documents: receive a package, verify its signature, accept or reject it, paper
documents and late entries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.clock import to_vn, vn_date
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.outbox import enqueue
from services.registry import domain, numbering, paper_intake, rules, year_registers
from services.registry.catalog import REJECT_REASONS, type_name
from services.registry.changes import _link_replacement, _receive_change, link_answered
from services.registry.documents import (
    _history,
    _in_agency,
    _incoming_from_package,
    _iso,
    _list,
    _load,
    _parse_dt,
    _status_payload,
    detail,
    get_document,
    new_detail,
    profile,
    reject_reasons,
    requested_before,
    summary,
)
from services.registry.domain import Direction, State
from services.registry.models import (
    Attachment,
    Document,
    new_id,
)

log = logging.getLogger(__name__)


# signing.verify(pdf_sha256) -> verdict dict; raises when the signing service does not answer in time
Verify = Callable[[str], dict[str, Any]]


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
    verify = rules.judged(db, verify)  # the agency's own rule of legal validity (Hưng Yên Đ8.3)
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
            appendixes = {str(n) for n in (package.get("other") or {}).get("appendixes") or []}
            # in the package's order (its main file, then its appendices as the sender numbered them)
            for position, att in enumerate(package.get("attachments") or []):
                session.add(Attachment(document_pk=doc.id, position=position, name=str(att.get("name") or "")[:255],
                                       content_type=str(att.get("content_type") or "")[:100],
                                       size=att.get("size"), sha256=att["sha256"],
                                       content_id=str(att.get("content_id") or "")[:200],
                                       description=str(att.get("description") or "")[:500],
                                       role="appendix" if is_appendix(att, appendixes) else "main"))
            if kind == 3:
                _link_replacement(session, actor, doc, package)
            link_answered(session, actor, doc, package)
            _history(session, doc, actor, "received", {"sender": sender, "business_type": kind,
                                                       "raw_sha256": package.get("raw_sha256")})
            return {"incoming_id": doc.id, "duplicate": False, "state": doc.state, "warnings": doc.warnings}
    except IntegrityError:  # the same package raced in twice: the other call stored it
        with db.session() as session:
            doc = session.execute(select(Document).where(Document.agency_id == actor.agency_id,
                                                         Document.dedupe_key == key)).scalar_one()
            return {"incoming_id": doc.id, "duplicate": True, "state": doc.state}


def is_appendix(attachment: dict[str, Any], appendixes: set[str]) -> bool:
    """An appendix (phụ lục) in its own file: named in edXML `Appendixes`, or described "Phụ lục ..." by the
    sender (our own packages do both). The main document is the first file that is not one."""
    name, description = str(attachment.get("name") or ""), str(attachment.get("description") or "")
    return name in appendixes or description.strip().lower().startswith("phụ lục")


def _verify_main(package: dict[str, Any], verify: Verify | None) -> tuple[str, dict[str, Any] | None]:
    appendixes = {str(n) for n in (package.get("other") or {}).get("appendixes") or []}
    pdfs = [a["sha256"] for a in package.get("attachments") or [] if not is_appendix(a, appendixes)
            and (str(a.get("content_type", "")).endswith("pdf") or str(a.get("name", "")).lower().endswith(".pdf"))]
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


def reverify_pending(db: Database, actor: Actor, verify: Verify, limit: int = 20) -> list[dict[str, Any]]:
    """Ask signing again for the documents whose verification was deferred (signing absent or slow)."""
    _in_agency(db, actor)
    actor.require(Role.SYSTEM)
    verify = rules.judged(db, verify) or verify
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


def verifications_left(db: Database) -> int:
    """How many incoming documents of the database's agency still wait for a signature verdict."""
    with db.session() as session:
        return int(session.execute(select(func.count()).select_from(Document).where(
            Document.direction == Direction.INCOMING, Document.verification_state == "pending")).scalar_one())


def list_waiting_reception(db: Database, actor: Actor, page: int = 1, size: int = 50) -> dict:
    _in_agency(db, actor)
    actor.require(Role.CLERK, Role.LEADER, Role.ADMIN)
    return _list(db, actor, Direction.INCOMING, [State.WAITING_RECEPTION], {}, page, size,
                 order=(Document.priority.desc(), Document.received_at))


def list_incoming(db: Database, actor: Actor, filters: dict[str, Any] | None = None, page: int = 1,
                  size: int = 50) -> dict:
    """Registered incoming documents, urgent first (DOMAIN.md incoming 5), newest arrival numbers next."""
    _in_agency(db, actor)
    filters = filters or {}
    states = [filters["state"]] if filters.get("state") else [State.REGISTERED]
    return _list(db, actor, Direction.INCOMING, states, filters, page, size,
                 order=(Document.handled, Document.priority.desc(), Document.registered_at.desc()))


def _register_incoming(session: Session, actor: Actor, doc: Document, register_id: str | None,
                       happened_at: datetime | None) -> tuple[int, dict[str, Any] | None]:
    """The arrival number, and the year turn (numbering.year_turn) when last year's register was chosen on a form
    sent after midnight and its successor numbered instead."""
    moment = happened_at or clock.now_utc()
    # Late entries are numbered now (numbers follow the order of entry) but keep their real arrival time.
    numbered_at = clock.now_utc() if happened_at else moment
    if register_id is None:
        used, number = numbering.allocate_in_year(session, actor.agency_id, Direction.INCOMING,
                                                  numbering.numbering_year(moment), moment=numbered_at)
    else:
        used = numbering.current(session, register_id, actor.agency_id, numbered_at)
        number = numbering.allocate(session, used, actor.agency_id, Direction.INCOMING, moment=numbered_at)
    doc.register_id, doc.number, doc.year = used, number, numbering.numbering_year(clock.now_utc())
    doc.arrival_date = vn_date(moment)
    doc.registered_at = clock.now_utc()
    doc.state = State.REGISTERED
    if happened_at:
        doc.late_entry, doc.happened_at = True, happened_at
    return number, numbering.year_turn(session, register_id, used)


def _incoming_registered_event(session: Session, doc: Document, actor: Actor) -> None:
    enqueue(session, "incoming_registered", {
        "registered_by": actor.user_id,   # routing credits the registration to this clerk, not to "Hệ thống"
        "incoming_id": doc.id, "document_id": doc.document_id, "subject": doc.subject, "priority": doc.priority,
        # a registration entered after an outage happened at its real time (routing's deadlines count from it)
        "due_date": _iso(doc.due_date), "registered_at": _iso(doc.happened_at or doc.registered_at),
        "sender": {"organ_id": doc.organ_id, "organ_name": doc.organ_name}, "arrival_number": doc.number,
        "external": doc.source_channel == "interconnect",
    })


def accept_incoming(db: Database, actor: Actor, incoming_id: str, register_id: str,
                    late_entry_at: datetime | str | None = None) -> dict:
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    happened = _late(late_entry_at)

    def register() -> dict:
        with db.session() as session:
            doc = _load(session, actor, incoming_id, Direction.INCOMING, for_update=True)
            domain.check_transition(Direction.INCOMING, doc.state, State.REGISTERED)
            _not_before_arrival(doc, happened)
            number, turn = _register_incoming(session, actor, doc, register_id, happened)
            _history(session, doc, actor, "registered", {"arrival_number": number, "register_id": doc.register_id,
                                                         **numbering.turn_details(turn)}, happened_at=happened)
            if doc.source_channel == "interconnect" and doc.sender_organ_id:
                enqueue(session, "outgoing_status", _status_payload(
                    profile(session, actor.agency_id), doc, doc.sender_organ_id, "03",
                    f"Đã tiếp nhận, vào sổ văn bản đến số {domain.format_number(number)}", actor))
            _incoming_registered_event(session, doc, actor)
            return {**summary(doc), "year_turn": turn}

    return year_registers.numbered(db, actor.agency_id, register_id, register)


def _not_before_arrival(doc: Document, happened: datetime | None) -> None:
    """A late entry happened after the document arrived (TP.HCM Đ3.4, Hưng Yên Đ4.2: the work done during the outage
    is entered afterwards, as it happened)."""
    arrived = doc.received_at
    if happened is None or arrived is None:
        return
    arrived = arrived if arrived.tzinfo is not None else arrived.replace(tzinfo=UTC)
    if happened < arrived:
        raise ValidationFailed(f"Thời điểm thực tế không được trước lúc văn bản đến "
                               f"({to_vn(arrived).strftime('%d/%m/%Y %H:%M')}).", code="before_arrival",
                               field="late_entry_at", arrived_at=arrived.isoformat())


def _late(value: datetime | str | None) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else _parse_dt(value)
    if moment is None:
        raise ValidationFailed("Thời điểm thực tế của việc nhập bù không hợp lệ.", code="bad_date",
                               field="late_entry_at")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=to_vn(clock.now_utc()).tzinfo)  # a time typed by a clerk is Vietnam time
    if moment > clock.now_utc():
        raise ValidationFailed("Thời điểm nhập bù không được ở tương lai.", code="future_date",
                               field="late_entry_at")
    return moment.astimezone(UTC)  # stored in UTC like every time here (SQLite would drop a +07:00 offset)


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


def register_paper_incoming(db: Database, actor: Actor, metadata: dict[str, Any], file_sha256s: list[Any],
                            late_entry_at: datetime | str | None = None, register_id: str | None = None,
                            detailed: bool = False) -> dict:
    """Paper, e-mail, fax: scan plus form. A paper twin of an electronic arrival is recognised, not re-registered.

    `file_sha256s`: the scan's sha256s, or dicts {sha256, name, content_type, size, role} (paper_intake.py).
    `metadata["request_key"]` (one per form or API Idempotency-Key): the same request again returns the first
    document instead of a second arrival number.
    `detailed`: answer the document's whole record (get_document) from the same transaction, as the REST API
    shows it, instead of its summary: one call instead of two at the clerks' morning peak."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    domain.refuse_secret(metadata)
    key = paper_intake.request_dedupe_key(metadata.get("request_key"))
    try:
        happened, issued = _paper_form(metadata, file_sha256s, late_entry_at)
    except ValidationFailed:
        # the same request again gets the document it made, whatever its form says now
        if (first := requested_before(db, actor.agency_id, key)) is not None:
            return {**get_document(db, actor, first["id"]), "duplicate": True} if detailed else first
        raise
    if register_id is None:  # numbered in this year's register found below: opened from last year's on 1 January
        year_registers.open_on_first_need(db, actor.agency_id, Direction.INCOMING,
                                          numbering.numbering_year(clock.now_utc()))
    return year_registers.numbered(db, actor.agency_id, register_id, lambda: _register_paper(
        db, actor, metadata, file_sha256s, key, happened, issued, register_id, detailed))


def _register_paper(db: Database, actor: Actor, metadata: dict[str, Any], file_sha256s: list[Any], key: str | None,
                    happened: datetime | None, issued: Any, register_id: str | None, detailed: bool) -> dict:
    number, notation = str(metadata["code_number"]).strip(), str(metadata["code_notation"]).strip()
    with db.session() as session:
        first, twin = _made_before(session, actor.agency_id, key, number, notation, issued, metadata)
        if first is not None:
            return {**(detail(session, actor, first) if detailed else summary(first)), "duplicate": True}
        if twin is not None:
            _history(session, twin, actor, "paper_copy_received",
                     {"files": [paper_intake.sha_of(e) for e in file_sha256s],
                      "channel": metadata.get("channel", "paper")}, happened_at=happened)
            return {**(detail(session, actor, twin) if detailed else summary(twin)), "paper_duplicate_of": twin.id}
        # Its id and number before its row is written: one INSERT of the registered document, not an INSERT of a
        # waiting one and an UPDATE; the files and the history line name it by that id.
        doc = Document(
            id=new_id(), agency_id=actor.agency_id, direction=Direction.INCOMING, state=State.WAITING_RECEPTION,
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
            to_places=list(metadata.get("to_places") or []), received_at=happened or clock.now_utc(), dedupe_key=key,
        )
        doc.warnings = _duplicate_warnings(session, actor.agency_id, None, number, notation,
                                           doc.organ_id or doc.organ_name)
        arrival, turn = _register_incoming(session, actor, doc, register_id, happened)
        session.add(doc)
        session.flush()  # the document before the rows naming it (a flush orders unrelated tables by name)
        files = [paper_intake.attachment_of(doc.id, entry) for entry in file_sha256s]
        session.add_all(files)
        registered = _history(session, doc, actor, "registered", {
            "arrival_number": arrival, "channel": doc.source_channel, **numbering.turn_details(turn)},
            happened_at=happened)
        _incoming_registered_event(session, doc, actor)
        return {**(new_detail(session, actor, doc, files, [registered]) if detailed else summary(doc)),
                "year_turn": turn}


def _paper_form(metadata: dict[str, Any], file_sha256s: list[Any],
                late_entry_at: datetime | str | None) -> tuple[datetime | None, Any]:
    """A paper form's checks (no database): (the late entry's real time, the issued date)."""
    domain.check_required(metadata, domain.PAPER_INCOMING_REQUIRED)
    if not file_sha256s:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản (bản quét)”.", code="missing_field",
                               field="files")
    if not (metadata.get("organ_name") or metadata.get("organ_id")):
        raise ValidationFailed("Thiếu trường bắt buộc “Tên cơ quan, tổ chức ban hành”.", code="missing_field",
                               field="organ_name")
    domain.check_lengths(metadata, domain.INCOMING_FIELDS)
    paper_intake.check_channel(metadata.get("channel"))
    happened = _late(late_entry_at)
    return happened, domain.parse_date(metadata["issued_date"]) if metadata.get("issued_date") else None


def _made_before(session: Session, agency_id: str, key: str | None, number: str, notation: str, issued: Any,
                 metadata: dict[str, Any]) -> tuple[Document | None, Document | None]:
    """(the document this request made already, else None; the electronic twin, else None), in one SELECT: the
    request key's document (requested_before) or a twin's candidates (_electronic_twin)."""
    twins = _twin_candidates(number, notation, issued)
    query = select(Document).where(Document.agency_id == agency_id,
                                   or_(Document.dedupe_key == key, twins) if key else twins)
    found = session.execute(query).scalars().all()
    first = next((doc for doc in found if key and doc.dedupe_key == key), None)
    # without the key's document, every row found is a twin's candidate
    return (first, None) if first is not None else (None, _twin_among(found, number, metadata))


def _electronic_twin(session: Session, agency_id: str, number: str, notation: str, issued: Any,
                     metadata: dict[str, Any]) -> Document | None:
    """Same issuer + number/notation + date among incoming documents that arrived electronically."""
    query = select(Document).where(Document.agency_id == agency_id, _twin_candidates(number, notation, issued))
    return _twin_among(session.execute(query).scalars(), number, metadata)


def _twin_candidates(number: str, notation: str, issued: Any) -> ColumnElement[bool]:
    conditions = [
        Document.direction == Direction.INCOMING,
        Document.source_channel == "interconnect", Document.code_notation == notation,
        # the number as written with or without leading zeros ("5", "05"), in the index (ix_document_paper): the
        # notation alone matched a whole year of an issuer's công văn, read at every paper registration
        Document.code_number.in_(domain.number_spellings(number)),
        Document.state.in_((State.WAITING_RECEPTION, State.REGISTERED))]
    if issued is not None:
        conditions.append(Document.issued_date == issued)
    return and_(*conditions)


def _twin_among(candidates: Iterable[Document], number: str, metadata: dict[str, Any]) -> Document | None:
    issuer_id, issuer_name = metadata.get("organ_id"), (metadata.get("organ_name") or "").strip().lower()
    for doc in candidates:
        same_number = (doc.code_number or "").lstrip("0") == number.lstrip("0")
        same_issuer = (issuer_id and doc.organ_id == issuer_id) or (
            issuer_name and doc.organ_name.strip().lower() == issuer_name)
        if same_number and same_issuer:
            return doc
    return None
