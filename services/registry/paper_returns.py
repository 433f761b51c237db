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
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import today_vn
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.registry import domain
from services.registry.documents import _history, _in_agency, _load, detail
from services.registry.domain import Direction
from services.registry.models import Document, RecipientStatus

PAPER = "paper"
PENDING, RETURNED = "paper_pending", "paper_returned"
MAX_NOTE = 500
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
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"Trường “Ghi chú” dài quá {MAX_NOTE} ký tự.", code="too_long", field="note")
    word = WORDS[direction][0]
    with db.session() as session:
        doc = _load(session, actor, doc_id, direction, for_update=True)
        domain.require_view(actor, doc.agency_id, doc.state, doc.handlers or [], doc.id)
        line = session.execute(select(RecipientStatus).where(
            RecipientStatus.document_pk == doc.id, RecipientStatus.organ_id == str(organ_id or "")[:35],
            RecipientStatus.channel == PAPER)).scalar_one_or_none()
        if line is None:
            raise ValidationFailed(f"Không có nơi nhận bản giấy này trong danh sách nơi nhận của {word}.",
                                   code="not_a_paper_recipient", field="organ_id", value=str(organ_id)[:35])
        if line.recall_state == RETURNED:
            return {**detail(session, actor, doc), "duplicate": True}
        if line.recall_state != PENDING:
            raise ValidationFailed(f"Chưa có yêu cầu thu hồi hoặc lấy lại {word} này: ghi nhận lấy lại bản giấy sau "
                                   "khi gửi yêu cầu.", code="not_asked", field="organ_id", state=line.recall_state)
        day = _returned_day(returned_date, doc, direction)
        line.recall_state, line.returned_on = RETURNED, day
        line.description = text or line.description
        _history(session, doc, actor, "paper_returned", {"organ_id": line.organ_id, "organ_name": line.organ_name,
                                                         "returned_on": day.isoformat(), "note": text})
        session.flush()
        return {**detail(session, actor, doc), "duplicate": False}


def record_outgoing_paper_return(db: Database, actor: Actor, outgoing_id: str, organ_id: str,
                                 returned_date: str | date | None, note: str = "") -> dict[str, Any]:
    """The same for a paper recipient of one of the agency's outgoing documents (its `giay-NN` line of the issue)."""
    return record_paper_return(db, actor, outgoing_id, organ_id, returned_date, note, Direction.OUTGOING)


def _returned_day(value: str | date | None, doc: Document, direction: str) -> date:
    day = domain.parse_date(value, domain.Field("returned_date", "Ngày nhận lại", 10)) if value else today_vn()
    if day > today_vn():
        raise ValidationFailed("Ngày nhận lại bản giấy không được sau hôm nay.", code="future_date",
                               field="returned_date", value=day.isoformat())
    _word, since, code = WORDS[direction]
    if doc.issued_date and day < doc.issued_date:
        raise ValidationFailed(f"Ngày nhận lại bản giấy không được trước {since}.", code=code,
                               field="returned_date", value=day.isoformat())
    return day
