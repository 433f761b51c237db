"""Paper recipients of a copy (sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27), and the clerk's record that a
paper copy was given back after a recall or a take-back.

A copy goes to agencies of the interconnect directory (copy_sending.py) and, printed and stamped by the clerk, to
anyone on paper: a company, a citizen, an agency without the interconnect. QĐ 51/2024/QĐ-UBND (Tuyên Quang) Điều 12
khoản 3 điểm d: "Thực hiện đóng dấu, phát hành văn bản giấy (nếu có) và phát hành văn bản điện tử theo quy định."
Each paper recipient is a line of the copy's recipients with channel `paper`, as at an outgoing document's issue
(domain.RECIPIENT_CHANNELS): it is the copy's "Nơi nhận" (NĐ 30 Phụ lục VI Phần II mục I, trường 13), listed in the
copies register and on the printed list of recipients, and nothing is sent over the interconnect for it.

Nothing can ask a paper recipient over the interconnect to give a copy back: a recall or a take-back marks its line
`paper_pending`, and the clerk records by hand the day the paper copy came back, with a note (`paper_returned`).
Outgoing documents' paper recipients are not followed in their recalls: only copies do this.
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
PAPER_PREFIX = "giay-"
PENDING, RETURNED = "paper_pending", "paper_returned"
MAX_NOTE = 500


def paper_names(recipients: list[dict[str, str]]) -> list[str]:
    """The paper recipients' names among checked recipients (domain.check_recipients), each once, in order; a copy
    goes over the interconnect or on paper, not to the agency's own units."""
    names: dict[str, str] = {}
    for r in recipients:
        if r["channel"] not in ("interconnect", PAPER):
            raise ValidationFailed("Bản sao gửi điện tử qua trục liên thông hoặc gửi bản giấy.", code="bad_channel",
                                   field="recipients.channel", value=r["channel"])
        if r["channel"] == PAPER:
            name = " ".join(r["organ_name"].split())
            if not name:
                raise ValidationFailed("Thiếu tên nơi nhận bản giấy.", code="missing_field",
                                       field="paper_recipients")
            names.setdefault(name.casefold(), name)
    return list(names.values())


def unlisted(lines: list[RecipientStatus], names: list[str]) -> list[str]:
    """The names the copy has no paper line for yet: each paper recipient once, like an electronic one."""
    had = {(line.organ_name or "").casefold() for line in lines if line.channel == PAPER}
    return [name for name in names if name.casefold() not in had]


def new_paper_lines(session: Session, copy: Document, lines: list[RecipientStatus],
                    names: list[str]) -> list[RecipientStatus]:
    """A line per name, numbered after the copy's paper lines: `giay-01`, `giay-02`, …"""
    last = max((int(n) for line in lines if line.channel == PAPER
                and (n := line.organ_id.removeprefix(PAPER_PREFIX)).isdigit()), default=0)
    added = [RecipientStatus(document_pk=copy.id, organ_id=f"{PAPER_PREFIX}{last + i:02d}", organ_name=name,
                             channel=PAPER) for i, name in enumerate(names, start=1)]
    session.add_all(added)
    return added


def ask_paper_back(session: Session, copy: Document) -> int:
    """A recall or take-back of a copy: each paper line not given back yet waits for the clerk's record."""
    waiting = 0
    for line in session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == copy.id,
                                                              RecipientStatus.channel == PAPER)).scalars():
        if line.recall_state != RETURNED:
            line.recall_state = PENDING
            waiting += 1
    return waiting


def forget_paper_pending(session: Session, doc: Document) -> None:
    """A recall refused by every electronic recipient with no paper copy given back: the copy stands as issued, and
    its paper recipients are no longer asked for theirs."""
    for line in session.execute(select(RecipientStatus).where(RecipientStatus.document_pk == doc.id,
                                                              RecipientStatus.recall_state == PENDING)).scalars():
        line.recall_state = None


def paper_returned(session: Session, doc: Document) -> int:
    return len(session.execute(select(RecipientStatus.id).where(RecipientStatus.document_pk == doc.id,
                                                                RecipientStatus.recall_state == RETURNED)).all())


def record_paper_return(db: Database, actor: Actor, copy_id: str, organ_id: str, returned_date: str | date | None,
                        note: str = "") -> dict[str, Any]:
    """The clerk records that the paper copy held by one paper recipient came back (thu hồi, lấy lại bản giấy), on
    `returned_date` (Vietnam day; default today), with a note. Once per copy and recipient: a second record of the
    same return changes nothing and answers the copy with `duplicate`."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"Trường “Ghi chú” dài quá {MAX_NOTE} ký tự.", code="too_long", field="note")
    with db.session() as session:
        copy = _load(session, actor, copy_id, Direction.COPIES, for_update=True)
        domain.require_view(actor, copy.agency_id, copy.state, copy.handlers or [], copy.id)
        line = session.execute(select(RecipientStatus).where(
            RecipientStatus.document_pk == copy.id, RecipientStatus.organ_id == str(organ_id or "")[:35],
            RecipientStatus.channel == PAPER)).scalar_one_or_none()
        if line is None:
            raise ValidationFailed("Không có nơi nhận bản giấy này trong danh sách nơi nhận của bản sao.",
                                   code="not_a_paper_recipient", field="organ_id", value=str(organ_id)[:35])
        if line.recall_state == RETURNED:
            return {**detail(session, actor, copy), "duplicate": True}
        if line.recall_state != PENDING:
            raise ValidationFailed("Chưa có yêu cầu thu hồi hoặc lấy lại bản sao này: ghi nhận lấy lại bản giấy sau "
                                   "khi gửi yêu cầu.", code="not_asked", field="organ_id", state=line.recall_state)
        day = _returned_day(returned_date, copy)
        line.recall_state, line.returned_on = RETURNED, day
        line.description = text or line.description
        _history(session, copy, actor, "paper_returned", {"organ_id": line.organ_id, "organ_name": line.organ_name,
                                                          "returned_on": day.isoformat(), "note": text})
        session.flush()
        return {**detail(session, actor, copy), "duplicate": False}


def _returned_day(value: str | date | None, copy: Document) -> date:
    day = domain.parse_date(value, domain.Field("returned_date", "Ngày nhận lại", 10)) if value else today_vn()
    if day > today_vn():
        raise ValidationFailed("Ngày nhận lại bản giấy không được sau hôm nay.", code="future_date",
                               field="returned_date", value=day.isoformat())
    if copy.issued_date and day < copy.issued_date:
        raise ValidationFailed("Ngày nhận lại bản giấy không được trước ngày sao.", code="before_copy",
                               field="returned_date", value=day.isoformat())
    return day
