"""Changes after the fact: recall, update and replace packages received from a sender (accepted or refused by the
clerk), and the per-recipient statuses coming back. The sender's own requests are in recall.py."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.outbox import enqueue
from services.common.status_codes import status_advances
from services.registry import recall
from services.registry.documents import (
    _find_incoming,
    _history,
    _in_agency,
    _incoming_from_package,
    _load,
    _parse_dt,
    _status_payload,
    profile,
)
from services.registry.domain import Direction, State
from services.registry.models import (
    Document,
    DocumentLink,
    History,
    RecipientStatus,
)

log = logging.getLogger(__name__)


def _receive_change(db: Database, actor: Actor, package: dict[str, Any], key: str, kind: int) -> dict:
    """Revoke (1) or update (2) of a document we received (STANDARDS §8.3)."""
    business = package.get("business") or {}
    sender = package["from"]["organ_id"]
    target_id = business.get("target_document_id") or package["document_id"]
    with db.session() as session:
        target = _find_incoming(session, actor.agency_id, target_id, sender)
        if target is None:
            recall.check_sender(session, actor, target_id, sender, "thu hồi" if kind == 1 else "cập nhật")
        change = {"kind": "revoke" if kind == 1 else "update", "key": key, "reason": business.get("reason", ""),
                  "package": package if kind == 2 else None, "received_at": clock.now_utc().isoformat(),
                  "request": _request_id(package, sender, kind)}
        if _requested_before(session, target, change["request"]):
            # the same request handed over again (at-least-once): already waiting for the clerk, or decided
            return {"incoming_id": target.id, "duplicate": True, "state": target.state, "change": change["kind"]}
        if target.state == State.REVOKED:
            _answer_recalled(session, actor, target, sender, change)
        elif kind == 1 and target.state == State.WAITING_RECEPTION:
            # Not registered yet: nothing to undo, the revocation is accepted at once.
            target.state = State.REVOKED
            target.dedupe_key = target.dedupe_key  # keeps the original key: a re-sent original stays a duplicate
            _history(session, target, actor, "revoked", {"reason": change["reason"], "automatic": True,
                                                         "request": change["request"]})
            recall.withdraw_content(session, actor, target)
            enqueue(session, "outgoing_status", _status_payload(profile(session, actor.agency_id), target, sender,
                                                                "15", "Đồng ý thu hồi văn bản", actor))
        else:
            target.pending_change = change
            _history(session, target, actor, "change_requested", {"kind": change["kind"],
                                                                  "reason": change["reason"],
                                                                  "request": change["request"]})
        return {"incoming_id": target.id, "duplicate": False, "state": target.state, "change": change["kind"]}


def _answer_recalled(session: Session, actor: Actor, target: Document, sender: str, change: dict[str, Any]) -> None:
    """A new request about a document recalled already (its content withdrawn): nothing is left for the clerk to
    decide, so the sender is answered at once, a recall agreed again (15), an update refused (16), and the request
    stays in the history."""
    again = change["kind"] == "revoke"
    code, text = ("15", "Văn bản đã được thu hồi trước đó") if again else (
        "16", "Văn bản đã bị thu hồi; không thể cập nhật")
    _history(session, target, actor, "change_answered", {"kind": change["kind"], "reason": change["reason"],
                                                         "request": change["request"], "status_code": code,
                                                         "automatic": True})
    enqueue(session, "outgoing_status", _status_payload(profile(session, actor.agency_id), target, sender, code,
                                                        text, actor))


def _request_id(package: dict[str, Any], sender: str, kind: int) -> str:
    """One request of the sender, as the edge tells packages apart (its inbox key: type and reason) and by the time
    the sender's own edge stamped it (its TraceHeader, the same in every delivery of the same message)."""
    stamp = next((str(t.get("timestamp") or "") for t in package.get("trace") or []
                  if t.get("organ_id") == sender), "")
    reason = hashlib.sha256(str((package.get("business") or {}).get("reason") or "").encode()).hexdigest()[:8]
    return f"{kind}:{stamp}:{reason}"


def _requested_before(session: Session, target: Document, request: str) -> bool:
    if (target.pending_change or {}).get("request") == request:
        return True
    steps = session.execute(select(History.details).where(
        History.document_pk == target.id,
        History.action.in_(("change_requested", "revoked", "change_answered")))).scalars()
    return any((d or {}).get("request") == request for d in steps)


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


def link_answered(session: Session, actor: Actor, doc: Document, package: dict[str, Any]) -> None:
    """A reply that arrives names what it answers (edXML ResponseFor: our organ id and the DocumentId of the
    document we sent): the incoming document is linked to our outgoing one, "answers", as on the sender's side,
    so that both pages say which document it answers (issue 18 item 9)."""
    ours = {str(r.get("document_id")) for r in package.get("response_for") or []
            if r.get("document_id") and r.get("organ_id") in (actor.agency_id, None, "")}
    if not ours:
        return
    answered = session.execute(select(Document).where(
        Document.agency_id == actor.agency_id, Document.direction == Direction.OUTGOING,
        Document.document_id.in_(sorted(ours)))).scalars()
    for outgoing in answered:
        session.add(DocumentLink(from_pk=doc.id, to_pk=outgoing.id, kind="answers"))
        _history(session, outgoing, actor, "answer_received", {"incoming_id": doc.id})


CHANGE_WORDS = {"revoke": "thu hồi", "update": "cập nhật", "take_back": "lấy lại"}


def decide_change(db: Database, actor: Actor, incoming_id: str, accept: bool, reason: str = "",
                  request_key: str | None = None) -> dict:
    """The clerk answers a revoke/update/take-back request: 15 (accepted) or 16 (refused) to the sender. The same
    request key answered again returns the first answer (document + step), nothing is sent twice."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    with db.session() as session:
        doc = _load(session, actor, incoming_id, Direction.INCOMING, for_update=True)
        change = doc.pending_change
        if not change:
            done = _decided(session, doc, request_key)
            if done is not None:
                return done
            raise ValidationFailed("Văn bản này không có yêu cầu thu hồi, cập nhật hay lấy lại.", code="no_change")
        if not accept and not reason.strip():
            raise ValidationFailed("Thiếu trường bắt buộc “Lý do từ chối”.", code="missing_field", field="reason")
        code = "15" if accept else "16"
        details: dict[str, Any] = {"kind": change["kind"], "reason": reason.strip(), "status_code": code,
                                   "key": request_key}
        if accept and change["kind"] == "update" and change.get("package"):
            fresh = _incoming_from_package(actor, change["package"], doc.dedupe_key or "", 0)
            details["changes"] = {}
            for attr in ("subject", "content", "code_number", "code_notation", "issued_date", "priority",
                         "due_date", "to_places", "signer_position", "signer_full_name", "type_name"):
                if getattr(doc, attr) != getattr(fresh, attr) and attr in ("subject", "content"):
                    details["changes"][attr] = [getattr(doc, attr), getattr(fresh, attr)]
                setattr(doc, attr, getattr(fresh, attr))
        doc.pending_change = None
        text = reason.strip() or ("Đồng ý " + CHANGE_WORDS[change["kind"]] if accept else "")
        _history(session, doc, actor, "change_accepted" if accept else "change_refused", details)
        if accept and change["kind"] in ("revoke", "take_back"):
            doc.state = State.REVOKED
            recall.withdraw_content(session, actor, doc)
        enqueue(session, "outgoing_status", _status_payload(profile(session, actor.agency_id), doc,
                                                            doc.sender_organ_id or "", code, text, actor))
        return {"incoming_id": doc.id, "state": doc.state, "status_code": code}


def _decided(session: Session, doc: Document, request_key: str | None) -> dict | None:
    if not request_key:
        return None
    last = session.execute(select(History).where(
        History.document_pk == doc.id, History.action.in_(("change_accepted", "change_refused")))
        .order_by(History.id.desc())).scalars().first()
    if last is None or (last.details or {}).get("key") != request_key:
        return None
    return {"incoming_id": doc.id, "state": doc.state, "status_code": last.details.get("status_code"),
            "duplicate": True}


def recall_outgoing(db: Database, actor: Actor, outgoing_id: str, reason: str) -> dict:
    """Freeze the document and send a revoke package; the recipients' 15/16 (or 03/02) are then followed."""
    return recall.request_change(db, actor, outgoing_id, "recall", reason)


RECALL_ANSWERS = recall.ANSWERS["recall"]


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
                log.warning("status 13 from %s refused: no document %s received from it", sender, doc_id)
                return {"matched": False, "refused": "not_the_sender"}
            stamp = str(status.get("timestamp") or "")
            asked = [h.details for h in session.execute(select(History).where(
                History.document_pk == incoming.id, History.action == "change_requested")).scalars()]
            if incoming.state == State.REVOKED or any((d or {}).get("status_timestamp") == stamp for d in asked):
                return {"matched": True, "duplicate": True, "incoming_id": incoming.id}  # at-least-once: seen
            reason = str(status.get("description") or "")[:1000]
            incoming.pending_change = {"kind": "take_back", "reason": reason,
                                       "received_at": clock.now_utc().isoformat()}
            _history(session, incoming, actor, "change_requested", {"kind": "take_back", "reason": reason,
                                                                    "status_timestamp": stamp})
            return {"matched": True, "incoming_id": incoming.id}
        doc = session.execute(select(Document).where(
            Document.agency_id == actor.agency_id,
            # an electronic copy is sent like an outgoing document and followed by the same statuses
            Document.direction.in_((Direction.OUTGOING, Direction.COPIES)),
            Document.document_id == doc_id).with_for_update()
            .execution_options(populate_existing=True)).scalars().first()
        if doc is None:
            log.warning("status %s from %s about unknown document %s", code, sender, doc_id)
            return {"matched": False}
        # Only a recipient of the document reports on it (a successor for the agency it replaced, as the edge
        # established from the hubs' headers); a hub's refusal of the whole package gets its own line.
        recipient = str(status.get("on_behalf_of") or sender)
        row = session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id,
                                                            RecipientStatus.organ_id == recipient)).scalar_one_or_none()
        if row is None:
            if not str(status.get("authenticated_sender") or "").startswith("hub."):
                log.warning("status %s from %s refused: not a recipient of %s", code, sender, doc_id)
                return {"matched": False, "refused": "not_a_recipient"}
            row = RecipientStatus(document_pk=doc.id, organ_id=sender, organ_name=(status.get("from") or {}).get(
                "organ_name", ""), seen=[])
            session.add(row)
        # 05 may repeat (STANDARDS §1.6), and so may 15/16 answering each new request of ours
        if code in (row.seen or []) and code != "05" and not recall.answers_request(doc, row, code):
            return {"matched": True, "duplicate": True, "outgoing_id": doc.id}
        row.seen = [*(row.seen or []), code]
        description = str(status.get("description") or "")[:1000]
        _history(session, doc, actor, "status", {"organ_id": sender, "status_code": code,
                                                 "description": description})
        session.flush()  # the answer's line before the request's closing line, in the history's order
        if not recall.take_answer(session, actor, doc, row, code) and status_advances(row.status_code, code):
            row.status_code, row.description = code, description
            row.status_at = _parse_dt(status.get("timestamp")) or clock.now_utc()
        return {"matched": True, "duplicate": False, "outgoing_id": doc.id}
