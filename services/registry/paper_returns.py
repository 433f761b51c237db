"""Paper copies given back after a recall or a take-back (thu hồi, lấy lại bản giấy), of an outgoing document or of
a copy (sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27).

Both go to paper recipients as well as over the interconnect: a company, a citizen, an agency without the
interconnect gets a printed, stamped paper. QĐ 51/2024/QĐ-UBND (Tuyên Quang) Điều 12 khoản 3 điểm d: "Thực hiện đóng
dấu, phát hành văn bản giấy (nếu có) và phát hành văn bản điện tử theo quy định." Each paper recipient is a line of
the document's recipients with channel `paper` (domain.RECIPIENT_CHANNELS): at an outgoing document's issue
(outgoing.py), at a copy's sending (copy_sending.py).

Nothing can ask a paper recipient over the interconnect to give its paper back: a recall or a take-back marks its
line `paper_pending`, and the clerk records by hand the day the paper came back, with a note (`paper_returned`). A
paper given back counts as agreed when the electronic recipients' answers close the request (recall.take_answer).

A record can be corrected (its day, its note: `paper_return_corrected`) at any time, and undone when made for the
wrong recipient (`paper_return_undone`, with a reason) only while no outcome counted it: the request still waits for
electronic answers, or the document has no electronic recipient (recalled at once, nobody's answer to close). Each
takes a key of the clerk's operation (the form's, the API's Idempotency-Key): sent again, done once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.registry import domain
from services.registry.documents import _history, _in_agency, _load, detail
from services.registry.domain import Direction
from services.registry.models import Document, History, RecipientStatus

PAPER = "paper"
PENDING, RETURNED = "paper_pending", "paper_returned"
CORRECTED, UNDONE = "paper_return_corrected", "paper_return_undone"
MAX_NOTE, MAX_REASON = 500, 1000
# what the clerk's record is about, in the words of its errors; and the code of a day before the document's own
WORDS = {Direction.OUTGOING: ("văn bản", "ngày ban hành", "before_issue"),
         Direction.COPIES: ("bản sao", "ngày sao", "before_copy")}


def ask_paper_back(session: Session, doc: Document) -> int:
    """A recall or take-back: each paper line not given back yet waits for the clerk's record."""
    waiting = 0
    for line in session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id,
                                                              RecipientStatus.channel == PAPER)).scalars():
        if line.recall_state != RETURNED:
            line.recall_state = PENDING
            waiting += 1
    return waiting


def forget_paper_pending(session: Session, doc: Document) -> None:
    """A recall refused by every electronic recipient with no paper given back: the document stands as issued, and
    its paper recipients are no longer asked for theirs."""
    for line in session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id,
                                                              RecipientStatus.recall_state == PENDING)).scalars():
        line.recall_state = None


def paper_returned(session: Session, doc: Document) -> int:
    return len(session.execute(select(RecipientStatus.id).where(RecipientStatus.document_pk == doc.id,
                                                                RecipientStatus.recall_state == RETURNED)).all())


def record_paper_return(db: Database, actor: Actor, doc_id: str, organ_id: str, returned_date: str | date | None,
                        note: str = "", direction: str = Direction.COPIES) -> dict[str, Any]:
    """The clerk records that the paper held by one paper recipient of a copy (or, `direction` outgoing, of an
    outgoing document) came back, on `returned_date` (Vietnam day; default today), with a note. Once per document
    and recipient: a second record of the same return changes nothing and answers the document with `duplicate`."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    text = _note(note)
    with db.session() as session:
        doc, line = _paper_line(session, actor, doc_id, organ_id, direction)
        word = WORDS[direction][0]
        if line.recall_state == RETURNED:
            return {**detail(session, actor, doc), "duplicate": True}
        if line.recall_state != PENDING:
            raise ValidationFailed(f"Chưa có yêu cầu thu hồi hoặc lấy lại {word} này: ghi nhận lấy lại bản giấy sau "
                                   "khi gửi yêu cầu.", code="not_asked", field="organ_id", state=line.recall_state)
        day = _returned_day(returned_date, doc, direction)
        # what the line said before, for an undo (undo_paper_return) to put back
        before = line.description or ""
        line.recall_state, line.returned_on = RETURNED, day
        line.description = text or line.description
        _history(session, doc, actor, RETURNED, {"organ_id": line.organ_id, "organ_name": line.organ_name,
                                                 "returned_on": day.isoformat(), "note": text,
                                                 "description_before": before})
        session.flush()
        return {**detail(session, actor, doc), "duplicate": False}


def record_outgoing_paper_return(db: Database, actor: Actor, outgoing_id: str, organ_id: str,
                                 returned_date: str | date | None, note: str = "") -> dict[str, Any]:
    """The same for a paper recipient of one of the agency's outgoing documents (its `giay-NN` line of the issue)."""
    return record_paper_return(db, actor, outgoing_id, organ_id, returned_date, note, Direction.OUTGOING)


def _returned_day(value: str | date | None, doc: Document, direction: str) -> date:
    day = domain.parse_date(value, domain.Field("returned_date", "Ngày nhận lại", 10)) if value else clock.today_vn()
    if day > clock.today_vn():
        raise ValidationFailed("Ngày nhận lại bản giấy không được sau hôm nay.", code="future_date",
                               field="returned_date", value=day.isoformat())
    _word, since, code = WORDS[direction]
    if doc.issued_date and day < doc.issued_date:
        raise ValidationFailed(f"Ngày nhận lại bản giấy không được trước {since}.", code=code,
                               field="returned_date", value=day.isoformat())
    return day


def correct_paper_return(db: Database, actor: Actor, doc_id: str, organ_id: str, returned_date: str | date | None,
                         note: str = "", request_key: str | None = None,
                         direction: str = Direction.COPIES) -> dict[str, Any]:
    """The clerk corrects the day (`returned_date`; None keeps it) and the note of a paper recorded as given back,
    with the same checks as the record. History `paper_return_corrected` with the new day and note and those before.
    Once per `request_key`; a correction to what is recorded already changes nothing. Both answer `duplicate`."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    text = _note(note)
    with db.session() as session:
        doc, line = _paper_line(session, actor, doc_id, organ_id, direction)
        if _done_before(session, doc, CORRECTED, line.organ_id, request_key):
            return {**detail(session, actor, doc), "duplicate": True}
        _require_returned(line, direction, "sửa")
        day = _returned_day(returned_date, doc, direction) if returned_date else line.returned_on
        _action, last = _last_step(session, doc, line.organ_id)
        old_note, before = _recorded_note(line, last), _description_before(line, last)
        if (day, text) == (line.returned_on, old_note):
            return {**detail(session, actor, doc), "duplicate": True}
        old_day = line.returned_on.isoformat() if line.returned_on else None
        line.returned_on, line.description = day, text or before
        _history(session, doc, actor, CORRECTED, {
            "organ_id": line.organ_id, "organ_name": line.organ_name, "returned_on": day.isoformat() if day else None,
            "note": text, "before": {"returned_on": old_day, "note": old_note}, "description_before": before,
            "key": request_key})
        session.flush()
        return {**detail(session, actor, doc), "duplicate": False}


def undo_paper_return(db: Database, actor: Actor, doc_id: str, organ_id: str, reason: str,
                      request_key: str | None = None, direction: str = Direction.COPIES) -> dict[str, Any]:
    """The clerk undoes a paper recorded as given back by the wrong recipient, with a reason: the line waits again
    (`paper_pending`, no day, its description as before the record), so that the right one can be recorded.
    History `paper_return_undone`. Refused (`request_closed`) once the electronic answers closed the request: its
    outcome counted this paper (recall.take_answer, history `change_closed`). Once per `request_key`; an undo sent
    again under another key (another tab), the line waiting since an undo, changes nothing. Both answer
    `duplicate`."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("Thiếu trường bắt buộc “Lý do hủy ghi nhận”.", code="missing_field", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"Trường “Lý do hủy ghi nhận” dài quá {MAX_REASON} ký tự.", code="too_long",
                               field="reason")
    with db.session() as session:
        doc, line = _paper_line(session, actor, doc_id, organ_id, direction)
        action, last = _last_step(session, doc, line.organ_id)
        if _done_before(session, doc, UNDONE, line.organ_id, request_key) or (
                line.recall_state == PENDING and action == UNDONE):
            return {**detail(session, actor, doc), "duplicate": True}
        _require_returned(line, direction, "hủy")
        _require_open(session, doc, direction)
        old_day = line.returned_on.isoformat() if line.returned_on else None
        old_note = _recorded_note(line, last)
        line.recall_state, line.returned_on = PENDING, None
        line.description = _description_before(line, last)
        _history(session, doc, actor, UNDONE, {"organ_id": line.organ_id, "organ_name": line.organ_name,
                                               "returned_on": old_day, "note": old_note, "reason": text,
                                               "key": request_key})
        session.flush()
        return {**detail(session, actor, doc), "duplicate": False}


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"Trường “Ghi chú” dài quá {MAX_NOTE} ký tự.", code="too_long", field="note")
    return text


def _paper_line(session: Session, actor: Actor, doc_id: str, organ_id: str,
                direction: str) -> tuple[Document, RecipientStatus]:
    """The document, locked, and its paper recipient's line; any other line (electronic, internal) is refused."""
    if direction not in WORDS:
        raise ValidationFailed("Chỉ văn bản đi và bản sao có nơi nhận bản giấy.", code="bad_direction",
                               field="direction", allowed=sorted(WORDS))
    doc = _load(session, actor, doc_id, direction, for_update=True)
    domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
    line = session.execute(select(RecipientStatus).where(
        RecipientStatus.document_pk == doc.id, RecipientStatus.organ_id == str(organ_id or "")[:35],
        RecipientStatus.channel == PAPER)).scalar_one_or_none()
    if line is None:
        raise ValidationFailed(f"Không có nơi nhận bản giấy này trong danh sách nơi nhận của {WORDS[direction][0]}.",
                               code="not_a_paper_recipient", field="organ_id", value=str(organ_id)[:35])
    return doc, line


def _require_returned(line: RecipientStatus, direction: str, verb: str) -> None:
    if line.recall_state != RETURNED:
        raise ValidationFailed(f"Chưa ghi nhận nhận lại bản giấy của {line.organ_name or line.organ_id} nên không có "
                               f"gì để {verb}.", code="not_returned", field="organ_id", state=line.recall_state,
                               document=WORDS[direction][0])


def _require_open(session: Session, doc: Document, direction: str) -> None:
    """An undo may not change an outcome decided already: allowed while the recall or take-back still waits for
    electronic answers, or when the document has no electronic recipient (recalled at once, nothing to close)."""
    if (doc.pending_change or {}).get("kind") in ("recall", "take_back"):
        return
    electronic = session.execute(select(RecipientStatus.id).where(
        RecipientStatus.document_pk == doc.id, RecipientStatus.channel == "interconnect").limit(1)).first()
    if electronic is not None:
        raise ValidationFailed(f"Các nơi nhận điện tử đã trả lời hết yêu cầu, kết quả thu hồi hoặc lấy lại "
                               f"{WORDS[direction][0]} này đã được quyết định: không hủy được ghi nhận; chỉ sửa được "
                               "ngày nhận lại và ghi chú.", code="request_closed", field="organ_id")


def _done_before(session: Session, doc: Document, action: str, organ_id: str, request_key: str | None) -> bool:
    """Whether this operation (its key) was done already on this line: a retry, a form sent twice."""
    if not request_key:
        return False
    steps = session.execute(select(History.details).where(History.document_pk == doc.id,
                                                          History.action == action)).scalars()
    return any((d or {}).get("key") == request_key and (d or {}).get("organ_id") == organ_id for d in steps)


def _last_step(session: Session, doc: Document, organ_id: str) -> tuple[str | None, dict[str, Any]]:
    """The line's last record, correction or undo (action, details): its note now and its description before."""
    steps = session.execute(select(History.action, History.details).where(
        History.document_pk == doc.id, History.action.in_((RETURNED, CORRECTED, UNDONE)))
        .order_by(History.id)).all()
    mine = [(a, d or {}) for a, d in steps if (d or {}).get("organ_id") == organ_id]
    return mine[-1] if mine else (None, {})


def _recorded_note(line: RecipientStatus, last: dict[str, Any]) -> str:
    return str(last["note"]) if "note" in last else (line.description or "")


def _description_before(line: RecipientStatus, last: dict[str, Any]) -> str:
    """A record made before `description_before` was kept: with no note it left the description as it was; with
    a note, what was there before is not known, and the line is cleared."""
    if "description_before" in last:
        return str(last["description_before"])
    return "" if last.get("note") else (line.description or "")
