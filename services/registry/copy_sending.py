"""Sending an electronic copy (bản sao điện tử: sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27) to other
agencies over the interconnect, as an outgoing document is sent: one package through the transactional outbox, a
`RecipientStatus` line per recipient that the statuses coming back update. Paper recipients are recorded in the same
call, recorded and not sent; after a recall or a take-back the clerk records each paper
copy given back (paper_returns.py).

The copy travels as a document of its own (docs/edxml.md "An electronic copy on the wire"): `Code` is the copy's own
number and notation (`05/SY-UBND`, from the copies register), `From` the copying agency, `DocumentId` made from
them, `DocumentType/TypeName` the copy's form ("Bản sao y"), the files the copy's, main first then the appendices
in order, each sealed PDF as it is. The original is named in words in `Content` ("Sao y văn bản số 12/UBND-VX ngày
21/11/2026 của …"): QCVN 102's only field that names another document, `ResponseFor`, means the document answered
(văn bản phúc đáp), and receivers link it as an answer (ours: changes.link_answered).

Idempotent by the business operation, the copy and the recipient: a recipient the copy was sent to already is not
sent to again (its line exists, `uq_recipient`); a request naming only such recipients sends nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.outbox import enqueue
from services.registry import domain
from services.registry.copies import COPY_FORMS
from services.registry.documents import _attachments, _history, _in_agency, _load, build_package, profile, summary
from services.registry.domain import Direction, State
from services.registry.models import Document, DocumentLink, RecipientStatus
from services.registry.paper_returns import PAPER
from services.registry.recall import CHANGE_KINDS

PAPER_PREFIX = "giay-"


def send_copy(db: Database, actor: Actor, copy_id: str, recipients: list[dict[str, Any]]) -> dict[str, Any]:
    """Send one of the agency's copies to `recipients`: directory agencies over the interconnect, and paper
    recipients by name (channel `paper`: recorded, not sent). Answers the copy's summary with
    `sent_to` (the recipients' lines this call added, `giay-NN` for paper ones) and `duplicate` when it added none."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    clean = domain.check_recipients(recipients)
    paper = _paper_names(clean)
    electronic = [r for r in clean if r["channel"] == "interconnect"]
    for r in electronic:
        if r["organ_id"] == actor.agency_id:
            raise ValidationFailed("Không gửi bản sao cho chính cơ quan mình.", code="own_agency",
                                   field="recipients", organ_id=r["organ_id"])
    try:
        with db.session() as session:
            copy = _load(session, actor, copy_id, Direction.COPIES, for_update=True)
            domain.require_view(actor, copy.agency_id, copy.state, copy.handlers or [], copy.id)
            if copy.state != State.ISSUED:
                raise ValidationFailed("Bản sao chưa được cấp số, đóng dấu hoặc đã bị thu hồi nên không gửi được.",
                                       code="not_sendable", state=copy.state)
            lines = list(session.execute(select(RecipientStatus).where(
                RecipientStatus.document_pk == copy.id)).scalars())
            sent_before = {line.organ_id for line in lines}
            new = [r for r in electronic if r["organ_id"] not in sent_before]
            paper_new = _unlisted(lines, paper)
            if not new and not paper_new:
                return {**summary(copy), "duplicate": True, "sent_to": []}
            if copy.pending_change:
                # the recipients answering a request are counted when it closes (recall.take_answer): one set at a time
                raise ValidationFailed("Bản sao đang chờ nơi nhận trả lời yêu cầu "
                                       f"{CHANGE_KINDS[copy.pending_change['kind']].lower()}; gửi thêm nơi nhận sau "
                                       "khi có trả lời.", code="change_pending", pending=copy.pending_change["kind"])
            if new:
                _send(session, actor, copy, new)
            added = _new_paper_lines(session, copy, lines, paper_new)
            if added:
                _history(session, copy, actor, "copy_paper_recipients", {
                    "recipients": [{"organ_id": r.organ_id, "organ_name": r.organ_name} for r in added]})
            return {**summary(copy), "duplicate": False,
                    "sent_to": [r["organ_id"] for r in new] + [r.organ_id for r in added]}
    except IntegrityError:
        # the same recipient sent to by a concurrent request: that request sent it
        with db.session() as session:
            return {**summary(_load(session, actor, copy_id, Direction.COPIES)), "duplicate": True, "sent_to": []}


def _paper_names(recipients: list[dict[str, str]]) -> list[str]:
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


def _unlisted(lines: list[RecipientStatus], names: list[str]) -> list[str]:
    """The names the copy has no paper line for yet: each paper recipient once, like an electronic one."""
    had = {(line.organ_name or "").casefold() for line in lines if line.channel == PAPER}
    return [name for name in names if name.casefold() not in had]


def _new_paper_lines(session: Session, copy: Document, lines: list[RecipientStatus],
                    names: list[str]) -> list[RecipientStatus]:
    """A line per name, numbered after the copy's paper lines: `giay-01`, `giay-02`, …"""
    last = max((int(n) for line in lines if line.channel == PAPER
                and (n := line.organ_id.removeprefix(PAPER_PREFIX)).isdigit()), default=0)
    added = [RecipientStatus(document_pk=copy.id, organ_id=f"{PAPER_PREFIX}{last + i:02d}", organ_name=name,
                             channel=PAPER) for i, name in enumerate(names, start=1)]
    session.add_all(added)
    return added


def _send(session: Session, actor: Actor, copy: Document, new: list[dict[str, str]]) -> None:
    """The package to the new electronic recipients, their lines, `copy_sent`."""
    _prepare(session, copy)
    for r in new:
        session.add(RecipientStatus(document_pk=copy.id, organ_id=r["organ_id"], organ_name=r["organ_name"],
                                    channel="interconnect"))
    files = _attachments(session, copy)
    enqueue(session, "outgoing_package", build_package(profile(session, actor.agency_id), copy, new, files, actor))
    _history(session, copy, actor, "copy_sent", {"recipients": [r["organ_id"] for r in new], "files": len(files)})


def _prepare(session: Session, copy: Document) -> None:
    """What a copy needs on the wire the first time it leaves: its DocumentId, the original named in `Content`; an
    electronic copy has no paper one following it (edXML `Paper` 0): a paper copy goes to paper recipients only,
    never to an agency that has the electronic one. Đà Nẵng QĐ 8849/QĐ-UBND, Quy chế Điều 8: "Đối với văn bản đi chỉ gửi
    bản điện tử (không gửi song song bản giấy) văn thư các cơ quan phải đánh dấu “Không có văn bản giấy”"."""
    if not copy.document_id:
        copy.document_id = domain.document_id(copy.agency_id, copy.issued_date, copy.number or 0,
                                              copy.code_notation or "")
    if not copy.content:
        copy.content = source_reference(session, copy)
    copy.no_paper_copy = True


def source_reference(session: Session, copy: Document) -> str:
    """The original in words, as the copy's page names it: form, number and notation, date, issuer."""
    link = session.execute(select(DocumentLink).where(DocumentLink.from_pk == copy.id,
                                                      DocumentLink.kind == "copy_of")).scalars().first()
    source = session.get(Document, link.to_pk) if link is not None else None
    form = COPY_FORMS.get(copy.type_code or "", "Bản sao").capitalize()
    if source is None:
        return copy.description or form
    parts = [f"{form} văn bản"]
    if source.code_number:
        parts.append(f"số {source.code_number}/{source.code_notation}")
    if source.issued_date:
        parts.append(f"ngày {source.issued_date:%d/%m/%Y}")
    if source.organ_name:
        parts.append(f"của {source.organ_name}")
    return " ".join(parts)[:500]
