"""Recall, take back and update of our own outgoing documents (the sender's side of STANDARDS §8.3), the
recipients' answers (15/16), and the withdrawal of an incoming document's content once its recall is agreed.

STANDARDS §8.3: "Recall: send type-1 package (or status 13 for 'lấy lại') and **freeze** the outgoing document; final
state depends on recipients' 03/02 or 15/16." An update is a type-2 package with the new metadata, answered 15/16.
On an agreed recall the receiver deletes the content and keeps the metadata and the history (NĐ 30 Phụ lục VI: the
metadata of an incoming document are what its register keeps; the files go)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.outbox import enqueue
from services.registry import domain, paper_returns
from services.registry.documents import (
    _attachments,
    _history,
    _in_agency,
    _load,
    _status_payload,
    build_package,
    profile,
    summary,
)
from services.registry.domain import Direction, State
from services.registry.models import Attachment, Document, History, RecipientStatus

log = logging.getLogger(__name__)

# what the sender may ask of its recipients, in the words of the screens
CHANGE_KINDS = {"recall": "Thu hồi", "take_back": "Lấy lại", "update": "Cập nhật"}
# the answers that close a request per recipient: 15/16, and for a recall also 03/02 (STANDARDS §1.6 note)
ANSWERS = {"recall": {"15": "accepted", "03": "accepted", "16": "refused", "02": "refused"},
           "take_back": {"15": "accepted", "16": "refused", "02": "refused"},
           "update": {"15": "accepted", "16": "refused", "02": "refused"}}
UPDATABLE = ("subject", "content")
# edXML's Content (the summary sent with an update) holds at most 500 characters (STANDARDS §1.3, field 1.7): longer
# would pass here and be refused by the edge after the document had changed
CONTENT_MAX = 500
MAX_REASON = 1000


def _reason(reason: str | None, label: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(f"Thiếu trường bắt buộc “Lý do {label.lower()}”.", code="missing_field", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"Trường “Lý do {label.lower()}” dài quá {MAX_REASON} ký tự.", code="too_long",
                               field="reason")
    return text


def request_change(db: Database, actor: Actor, outgoing_id: str, kind: str, reason: str,
                   changes: dict[str, Any] | None = None, request_key: str | None = None,
                   direction: str = Direction.OUTGOING) -> dict:
    """The clerk asks the recipients of an issued document (or of a copy sent over the interconnect, `direction`
    copies) to let it be recalled (type-1 package), to give it back (status 13) or to take new metadata (type-2
    package). Idempotent by document and step: the same request key returns the document as it is, also once the
    request was answered; another request while one waits for its answers is refused.

    Only electronic recipients are asked. A recall or a take-back leaves each paper recipient waiting for the clerk's
    record of its paper given back (paper_returns.py); a document with no electronic recipient is recalled at once,
    with nobody to wait for. Internal recipients (channel `internal`, the agency's own units) are not asked: the
    recall is the agency's own decision, and everyone in the agency sees the document "Đã thu hồi" (domain.can_view:
    recalled documents are visible inside the agency); their people are told (`outgoing_changed`, _tell_units)."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    if kind not in CHANGE_KINDS:
        raise ValidationFailed("Yêu cầu phải là thu hồi, lấy lại hoặc cập nhật.", code="bad_kind", field="kind",
                               allowed=sorted(CHANGE_KINDS))
    text = _reason(reason, CHANGE_KINDS[kind])
    with db.session() as session:
        doc = _load(session, actor, outgoing_id, direction, for_update=True)
        pending = doc.pending_change or {}
        if request_key and (pending.get("key") == request_key or _asked_before(session, doc, request_key)):
            return {**summary(doc), "duplicate": True}
        if pending:
            raise ValidationFailed(f"{_word(direction)} đang chờ nơi nhận trả lời yêu cầu "
                                   f"{CHANGE_KINDS[pending['kind']].lower()} trước đó.", code="change_pending",
                                   pending=pending["kind"])
        rows = _recipients(session, doc)
        remote = [r for r in rows if r.channel == "interconnect"]
        if direction == Direction.COPIES:
            _copy_reached(kind, remote, [r for r in rows if r.channel == paper_returns.PAPER])
        details: dict[str, Any] = {"kind": kind, "reason": text, "key": request_key}
        if kind == "update":
            if doc.state != State.ISSUED:
                raise ValidationFailed(f"Chỉ cập nhật được {_word(direction).lower()} đã ban hành, chưa bị thu hồi.",
                                       code="invalid_transition", current=doc.state)
            details["changes"] = _apply_update(doc, changes or {})
        else:
            domain.check_transition(direction, doc.state, State.RECALLED)
            doc.state, doc.frozen = State.RECALLED, True
            if paper := paper_returns.ask_paper_back(session, doc):
                details["paper_pending"] = paper   # the clerk records each paper given back (paper_returns.py)
        for r in remote:
            r.recall_state = "requested"
        _send(session, actor, doc, kind, text, remote)
        doc.pending_change = ({"kind": kind, "reason": text, "key": request_key,
                               "requested_at": clock.now_utc().isoformat(), "by": actor.username} if remote else None)
        step = _history(session, doc, actor, "change_sent" if kind != "recall" else "recalled", details)
        _tell_units(session, doc, rows, kind, text, step)
        return summary(doc)


def request_copy_change(db: Database, actor: Actor, copy_id: str, kind: str, reason: str,
                        changes: dict[str, Any] | None = None, request_key: str | None = None) -> dict:
    """The same requests about a copy (sao y, sao lục, trích sao) sent over the interconnect (copy_sending.py): the
    copy is named by the `DocumentId` it was sent with (its own number and notation, From the copying agency), and
    its recipients answer 15/16 (or 03/02 to a recall) on its lines as for an outgoing document."""
    return request_change(db, actor, copy_id, kind, reason, changes, request_key, direction=Direction.COPIES)


def _copy_reached(kind: str, remote: list[RecipientStatus], paper: list[RecipientStatus]) -> None:
    """A copy exists only for those it was sent to: unsent, there is nobody to ask. A paper recipient is asked by
    nobody (paper_returns.py): a recall or a take-back waits for the clerk's record, an update cannot reach it."""
    if not remote and not paper:
        raise ValidationFailed("Bản sao chưa được gửi đến nơi nhận nào nên không có gì để "
                               f"{CHANGE_KINDS[kind].lower()}.", code="not_sent")
    if kind == "update" and not remote:
        raise ValidationFailed("Bản sao chỉ gửi bản giấy: cập nhật chỉ gửi được qua trục liên thông đến nơi đã nhận "
                               "bản sao điện tử.", code="not_sent")


def _word(direction: str) -> str:
    return "Bản sao" if direction == Direction.COPIES else "Văn bản"


def _asked_before(session: Session, doc: Document, request_key: str) -> bool:
    """Whether this request key made a request already, answered since (a retry after the answers came back)."""
    steps = session.execute(select(History.details).where(
        History.document_pk == doc.id, History.action.in_(("recalled", "change_sent")))).scalars()
    return any((d or {}).get("key") == request_key for d in steps)


def _apply_update(doc: Document, changes: dict[str, Any]) -> dict[str, list[str]]:
    changed = {}
    for field in UPDATABLE:
        value = changes.get(field)
        if value is None or str(value).strip() == (getattr(doc, field) or ""):
            continue
        value = str(value).strip()
        if field == "subject" and not value:
            raise ValidationFailed("Thiếu trường bắt buộc “Trích yếu nội dung”.", code="missing_field", field=field)
        domain.check_lengths({field: value}, domain.OUTGOING_FIELDS)
        if field == "content" and len(value) > CONTENT_MAX:
            raise ValidationFailed(f"Trường “Nội dung tóm tắt” dài quá {CONTENT_MAX} ký tự.", code="too_long",
                                   field=field, max_length=CONTENT_MAX)
        changed[field] = [getattr(doc, field) or "", value]
        setattr(doc, field, value)
    if not changed:
        raise ValidationFailed("Không có thông tin nào thay đổi để gửi cập nhật.", code="nothing_changed",
                               field="subject")
    return changed


def _send(session: Session, actor: Actor, doc: Document, kind: str, reason: str, remote: list[RecipientStatus]) -> None:
    """Through the outbox to the edge, like the document itself: a package of business type 1 or 2, or a 13."""
    if not remote:
        return
    prof = profile(session, actor.agency_id)
    if kind == "take_back":
        for r in remote:
            enqueue(session, "outgoing_status", _status_payload(prof, doc, r.organ_id, "13", reason, actor))
        return
    to = [{"organ_id": r.organ_id, "organ_name": r.organ_name} for r in remote]
    enqueue(session, "outgoing_package", build_package(prof, doc, to, _attachments(session, doc), actor,
                                                       1 if kind == "recall" else 2, reason))


def _request_kind(doc: Document) -> str | None:
    kind = (doc.pending_change or {}).get("kind")
    if kind is None and doc.state == State.RECALLED and doc.frozen:
        kind = "recall"  # a recall from before requests were kept: the same answers count
    return kind


def answers_request(doc: Document, row: RecipientStatus, code: str) -> bool:
    """Whether `code` from this recipient answers our request still waiting for it."""
    return row.recall_state == "requested" and code in ANSWERS.get(_request_kind(doc) or "", {})


def take_answer(session: Session, actor: Actor, doc: Document, row: RecipientStatus, code: str) -> bool:
    """A recipient's answer to our pending request, if `code` is one: recorded on its line, and once every
    recipient answered the request is closed (a recall refused by all gives the document back its issued state).
    False when the status is not such an answer (an ordinary 01..06)."""
    if not answers_request(doc, row, code):
        return False
    kind = _request_kind(doc)
    outcome = ANSWERS[kind or ""][code]
    row.recall_state = outcome
    others = session.execute(select(RecipientStatus.recall_state).where(
        RecipientStatus.document_pk == doc.id, RecipientStatus.id != row.id,
        RecipientStatus.channel == "interconnect")).scalars().all()
    states = [*others, outcome]
    if "requested" in states or not doc.pending_change:
        return True
    accepted = states.count("accepted")
    # a paper given back by a paper recipient counts as agreed (paper_returns.py)
    returned = paper_returns.paper_returned(session, doc)
    restored = kind in ("recall", "take_back") and not accepted and not returned
    if restored:
        doc.state, doc.frozen = State.ISSUED, False  # nobody agreed: the document stands as issued
        paper_returns.forget_paper_pending(session, doc)
    doc.pending_change = None
    step = _history(session, doc, actor, "change_closed", {"kind": kind, "accepted": accepted,
                                                           "refused": len(states) - accepted,
                                                           **({"paper_returned": returned} if returned else {})})
    if restored:
        _tell_units(session, doc, _recipients(session, doc), "restored", "Các nơi nhận không đồng ý", step)
    return True


def _recipients(session: Session, doc: Document) -> list[RecipientStatus]:
    return list(session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id)
                                .order_by(RecipientStatus.id)).scalars())


def _tell_units(session: Session, doc: Document, rows: list[RecipientStatus], kind: str, reason: str,
                step: History) -> None:
    """The agency's own units among the recipients are asked nothing (the recall is the agency's own decision) but
    told: routing notifies their people and shows the change on the unit's list (`outgoing_changed`). `step`, the
    history row of the change, orders the changes and keys them: a redelivered event changes nothing."""
    units = domain.internal_units((r.organ_id, r.channel) for r in rows)
    if not units:
        return
    session.flush()  # the step's id
    enqueue(session, "outgoing_changed", {
        "outgoing_id": doc.id, "step": step.id, "kind": kind, "reason": reason, "state": doc.state,
        "number": f"{doc.code_number}/{doc.code_notation}", "subject": doc.subject, "internal_units": units,
        "changed_at": clock.now_utc().isoformat()})


# --- the receiver ---------------------------------------------------------------------------------------------

def withdraw_content(session: Session, actor: Actor, doc: Document) -> None:
    """Delete the content of a recalled incoming document, keep its metadata and history: its files (and the raw
    package, which holds them too) are named to the storage service, which deletes the blobs no other record
    names. Files another document of the agency still uses are kept for it."""
    if doc.content_withdrawn_at is not None:
        return
    files = _attachments(session, doc)
    shas = {a.sha256 for a in files} | ({doc.raw_sha256} if doc.raw_sha256 else set())
    shared = set(session.execute(select(Attachment.sha256).where(
        Attachment.sha256.in_(shas), Attachment.document_pk != doc.id)).scalars()) if shas else set()
    shared |= set(session.execute(select(Document.raw_sha256).where(
        Document.raw_sha256.in_(shas), Document.id != doc.id)).scalars()) if shas else set()
    gone = sorted(shas - shared)
    doc.content_withdrawn_at = clock.now_utc()
    if gone:
        enqueue(session, "content_withdrawn", {"incoming_id": doc.id, "document_id": doc.document_id,
                                               "sha256s": gone})
    _history(session, doc, actor, "content_withdrawn", {"files": len(files), "deleted_blobs": len(gone)})


def list_change_requests(db: Database, actor: Actor) -> dict:
    """Incoming documents whose sender asks to recall, take back or update them, waiting for the clerk's answer."""
    _in_agency(db, actor)
    actor.require(Role.CLERK, Role.LEADER, Role.ADMIN)
    with db.session() as session:
        # "None" is SQL NULL (none_as_null); rows decided before that hold JSON null, which the loop skips.
        docs = session.execute(select(Document).where(
            Document.agency_id == actor.agency_id, Document.direction == Direction.INCOMING,
            Document.pending_change.isnot(None)).order_by(Document.received_at.desc())).scalars().all()
        items = []
        for doc in docs:
            if not doc.pending_change:
                continue
            item = summary(doc)
            item["change"] = {k: doc.pending_change.get(k) for k in ("kind", "reason", "received_at")}
            items.append(item)
        return {"items": items, "total": len(items), "page": 1, "size": len(items) or 1}


def check_sender(session: Session, actor: Actor, target_id: str, sender: str, what: str) -> None:
    """A request about a document this agency received from someone else, or never received: refused (the edge
    answers 02 with the reason) and logged, never applied."""
    owner = session.execute(select(Document.sender_organ_id).where(
        Document.agency_id == actor.agency_id, Document.direction == Direction.INCOMING,
        Document.document_id == target_id)).scalars().first()
    if owner is None:
        log.warning("%s from %s refused: no incoming document %s", what, sender, target_id)
        raise ValidationFailed(f"Không có văn bản {target_id} do {sender} gửi đến cơ quan này nên không thực hiện "
                               f"được yêu cầu {what}.", code="unknown_target", document_id=target_id)
    log.warning("%s from %s refused: document %s was sent by %s", what, sender, target_id, owner)
    raise ValidationFailed(f"{sender} không phải cơ quan gửi văn bản {target_id} nên không được yêu cầu {what}.",
                           code="not_the_sender", document_id=target_id, sender=sender)
