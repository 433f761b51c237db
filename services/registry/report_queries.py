"""Read-only RPCs for the reporting service, mixed into the `registry` nameko service.

Reporting never reads the registry's tables: it asks here for the rows of the incoming and outgoing registers in
a date range (every column of NĐ 30 Phụ lục IV the registry knows) and for the count of what arrived, by state; and
for the copies register (Sổ bản sao: sao y, sao lục, trích sao, NĐ 30 Điều 25–27), each copy with the document it
copies, its files, who made it and its recipients.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.registry.domain import Direction, State, number_display
from services.registry.models import AgencyProfile, Attachment, Document, DocumentLink, History, RecipientStatus

READERS = (Role.LEADER, Role.DEPARTMENT_HEAD, Role.CLERK, Role.ADMIN, Role.SYSTEM)
SIGNED_ROLES = ("signed", "appendix_signed")
MAX_DAYS = 3700  # a register printout spans at most ten years


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def parse_range(date_from: str, date_to: str) -> tuple[date, date]:
    try:
        start, end = date.fromisoformat(str(date_from)[:10]), date.fromisoformat(str(date_to)[:10])
    except ValueError as exc:
        raise ValidationFailed("Ngày không hợp lệ (dạng YYYY-MM-DD).", field="date",
                               value=f"{date_from}..{date_to}") from exc
    if end < start:
        raise ValidationFailed("Ngày kết thúc phải sau ngày bắt đầu.", field="date_to", value=str(date_to))
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed("Khoảng thời gian quá dài (tối đa 10 năm).", field="date_to", value=str(date_to))
    return start, end


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    # Stored instants are UTC; SQLite keeps only the wall time, so the bounds are given in UTC.
    lo = datetime.combine(start, time(0), tzinfo=VN_TZ).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=VN_TZ).astimezone(UTC)
    return lo, hi


def _notation(doc: Document) -> str:
    if not doc.code_number:
        return doc.code_notation or ""
    return number_display(doc.code_number, doc.code_notation or "").removeprefix("Số: ")


def _row(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id, "direction": doc.direction, "state": doc.state, "document_id": doc.document_id,
        "number": doc.number, "register_id": doc.register_id, "number_and_notation": _notation(doc),
        "type_code": doc.type_code, "type_name": doc.type_name, "subject": doc.subject,
        "issued_date": _iso(doc.issued_date), "arrival_date": _iso(doc.arrival_date),
        "registered_at": _iso(doc.registered_at), "received_at": _iso(doc.received_at),
        "organ_id": doc.organ_id, "organ_name": doc.organ_name or doc.sender_organ_name,
        "signer_position": doc.signer_position, "signer_full_name": doc.signer_full_name,
        "to_places": list(doc.to_places or []), "issued_amount": doc.issued_amount, "priority": doc.priority,
        "description": doc.description, "late_entry": doc.late_entry, "source_channel": doc.source_channel,
        "no_paper_copy": doc.no_paper_copy, "reject_reason": doc.reject_reason, "handled": doc.handled,
        "verification_state": doc.verification_state,
        "drafting_unit": doc.drafting_unit, "drafting_unit_name": doc.drafting_unit_name,
    }


def register_rows(db: Database, actor: Actor, direction: str, date_from: str, date_to: str,
                  register_id: str | None = None) -> dict[str, Any]:
    """The register's rows for [date_from, date_to]: incoming by arrival date, outgoing and copies by their date."""
    actor.require_agency(db.agency_id)
    actor.require(*READERS)
    if direction not in Direction.ALL:
        raise ValidationFailed("Loại sổ không hợp lệ (văn bản đến, văn bản đi hoặc bản sao).", field="direction",
                               value=direction)
    start, end = parse_range(date_from, date_to)
    with db.session() as session:
        query = select(Document).where(Document.agency_id == db.agency_id, Document.direction == direction,
                                       Document.number.is_not(None))
        if direction == Direction.INCOMING:
            query = query.where(Document.arrival_date >= start, Document.arrival_date <= end)
        else:
            query = query.where(Document.state.in_([State.ISSUED, State.RECALLED]),
                                Document.issued_date >= start, Document.issued_date <= end)
        if register_id:
            query = query.where(Document.register_id == register_id)
        docs = list(session.scalars(query.order_by(Document.year, Document.number)))
        rows = [_row(d) for d in docs]
        if direction != Direction.INCOMING and docs:
            by_id = {r["id"]: r for r in rows}
            for r in rows:
                r["recipients"], r["signed"] = [], False
            for st in session.scalars(select(RecipientStatus).where(
                    RecipientStatus.document_pk.in_(list(by_id))).order_by(RecipientStatus.id)):
                by_id[st.document_pk]["recipients"].append(
                    {"organ_id": st.organ_id, "organ_name": st.organ_name, "channel": st.channel,
                     "status_code": st.status_code, "status_at": _iso(st.status_at),
                     "recall_state": st.recall_state, "returned_on": _iso(st.returned_on)})
            for pk in session.scalars(select(Attachment.document_pk).where(
                    Attachment.document_pk.in_(list(by_id)), Attachment.role.in_(SIGNED_ROLES))):
                by_id[pk]["signed"] = True
            if direction == Direction.COPIES:
                _copy_details(session, by_id)
        arrived: dict[str, int] = {}
        if direction == Direction.INCOMING:
            lo, hi = _utc_bounds(start, end)
            counts = session.execute(
                select(Document.state, func.count()).where(
                    Document.agency_id == db.agency_id, Document.direction == Direction.INCOMING,
                    Document.received_at >= lo, Document.received_at < hi).group_by(Document.state))
            arrived = {state: int(n) for state, n in counts}
        prof = session.get(AgencyProfile, db.agency_id)
        return {"agency_id": db.agency_id, "organ_name": prof.organ_name if prof else "",
                "place": prof.place if prof else "", "direction": direction, "date_from": start.isoformat(),
                "date_to": end.isoformat(), "rows": rows, "arrived_by_state": arrived}


def _copy_details(session: Session, by_id: dict[str, dict[str, Any]]) -> None:
    """What the copies register adds to a copy's row: the document copied (`source`, from the `copy_of` link), the
    copy's files (main and appendices) and who made it (the clerk of the `copied` history line)."""
    ids = list(by_id)
    for r in by_id.values():
        r.update(copy_form=r["type_code"], source=None, files=0, appendices=0, made_by=None, made_by_username="")
    links = dict(session.execute(select(DocumentLink.from_pk, DocumentLink.to_pk).where(
        DocumentLink.from_pk.in_(ids), DocumentLink.kind == "copy_of")).all())
    sources = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(set(links.values()))))}
    for copy_pk, source_pk in links.items():
        if (src := sources.get(source_pk)) is not None:
            by_id[copy_pk]["source"] = {
                "id": src.id, "direction": src.direction, "number_and_notation": _notation(src),
                "issued_date": _iso(src.issued_date), "organ_name": src.organ_name or src.sender_organ_name,
                "type_name": src.type_name, "page_amount": src.page_amount}
    for pk, role in session.execute(select(Attachment.document_pk, Attachment.role).where(
            Attachment.document_pk.in_(ids))):
        by_id[pk]["files"] += 1
        by_id[pk]["appendices"] += int(role in ("appendix", "appendix_signed"))
    for h in session.scalars(select(History).where(History.document_pk.in_(ids), History.action == "copied")):
        by_id[h.document_pk].update(made_by=h.user_id, made_by_username=h.username)


class ReportQueries:
    """RPC entrypoints (nameko finds them on base classes); the service provides `db` and `actor`."""

    db: Any
    actor: Any

    @rpc
    def report_register(self, direction: str, date_from: str, date_to: str,
                        register_id: str | None = None) -> dict[str, Any]:
        return register_rows(self.db, self.actor.required(), direction, date_from, date_to, register_id)
