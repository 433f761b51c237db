"""Outgoing documents issued to the agency's own units (recipients of channel `internal`, "Gửi nội bộ"): each unit's
people are notified and the unit keeps the list "Văn bản ban hành gửi đơn vị"; a recall, take-back or update of the
document reaches them the same way.

The registry tells routing through its events (services/registry/outgoing.py `outgoing_issued`, recall.py
`outgoing_changed`), which name the units by code; routing keeps what the list needs in its own table
(models.UnitDocument). Both handlers are idempotent by document and step: the issue once per (document, unit), a change
once per registry step (its history row), and the notifications carry the same keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.routing import domain
from services.routing.base import _iso, _utc
from services.routing.models import Staff, UnitDocument
from services.routing.notify import notify

# How the list names a document's last change (the registry's request kinds, recall.py CHANGE_KINDS)
CHANGE_LABELS = {"recall": "Đã thu hồi", "take_back": "Đã lấy lại", "update": "Đã cập nhật",
                 "restored": "Không thu hồi được (nơi nhận không đồng ý)", "replaced": "Đã bị thay thế"}
CHANGE_TITLES = {"recall": "đã bị thu hồi", "take_back": "đã bị lấy lại", "restored": "vẫn có hiệu lực"}
STATE_LABELS = {"issued": "Đã ban hành", "recalled": "Đã thu hồi"}
PAGE_MAX = 100


class UnitDocuments:
    def _issued_to_units(self, session: Session, event: dict[str, Any], told: set[str]) -> None:
        """Part of on_outgoing_issued (handling.py): the document lands in each internal unit's list and its people
        are told, except those `told` already (the drafter, notified of the issue itself: one issue, one
        notification); a replaced document's rows say so."""
        outgoing_id = str(event.get("outgoing_id") or "")
        number, subject = str(event.get("number") or "")[:80], str(event.get("subject") or "")
        issued_at = _moment(event.get("issued_at")) or self._now()
        if event.get("replaces"):
            self._mark_replaced(session, str(event["replaces"]), number, issued_at)
        for unit in _codes(event.get("internal_units")):
            if session.scalar(select(UnitDocument.id).where(UnitDocument.outgoing_id == outgoing_id,
                                                            UnitDocument.unit == unit)) is not None:
                continue  # a redelivered event: the unit has it already
            session.add(UnitDocument(outgoing_id=outgoing_id, unit=unit, number=number, subject=subject,
                                     issued_at=issued_at, state="issued", step=0))
            notify(session, set(self._unit_people(session, unit)) - told, "unit_document",
                   f"Văn bản ban hành gửi đơn vị: số {number} — {subject}", ref_kind="outgoing", ref_id=outgoing_id,
                   dedupe_key=f"unit-doc:{outgoing_id}:issued")

    def _mark_replaced(self, session: Session, replaced_id: str, number: str, at: datetime) -> None:
        for row in session.scalars(select(UnitDocument).where(UnitDocument.outgoing_id == replaced_id)):
            if row.change != "replaced":
                row.change, row.change_reason, row.changed_at = "replaced", f"Thay thế bằng văn bản số {number}", at

    def on_outgoing_changed(self, actor: Actor, event: dict[str, Any]) -> int:
        """The registry's `outgoing_changed`: a document issued to our units was recalled, taken back, updated, or
        stands again after its recipients refused the recall. Returns how many people were notified."""
        actor.require(Role.SYSTEM, Role.CLERK)
        outgoing_id, step = str(event.get("outgoing_id") or ""), int(event.get("step") or 0)
        kind, reason = str(event.get("kind") or ""), str(event.get("reason") or "")
        number, subject = str(event.get("number") or "")[:80], str(event.get("subject") or "")
        at = _moment(event.get("changed_at")) or self._now()
        told = 0
        with self._unit_of_work(actor) as session:
            for unit in _codes(event.get("internal_units")):
                row = session.scalar(select(UnitDocument).where(UnitDocument.outgoing_id == outgoing_id,
                                                                UnitDocument.unit == unit))
                if row is not None and row.step >= step:
                    continue  # this change, or a later one, is applied already
                if row is not None:  # None: issued before units were told of their documents; its people still are
                    row.step, row.state = step, str(event.get("state") or row.state)[:20]
                    row.change, row.change_reason, row.changed_at = kind[:20], reason, at
                    row.subject, row.number = subject or row.subject, number or row.number
                told += notify(session, self._unit_people(session, unit), "unit_document", _change_title(
                    kind, number, subject, reason), f"Lý do: {reason}" if kind == "update" else "",
                    "outgoing", outgoing_id, dedupe_key=f"unit-doc:{outgoing_id}:{step}")
        return told

    def list_unit_documents(self, actor: Actor, page: int = 1, size: int = 50) -> dict[str, Any]:
        """"Văn bản ban hành gửi đơn vị": the documents issued to the caller's unit, newest first."""
        page, size = max(1, int(page)), min(max(1, int(size)), PAGE_MAX)
        unit = (actor.unit or "").upper()
        with self._unit_of_work(actor) as session:
            if not unit:
                return {"unit": None, "unit_name": None, "items": [], "total": 0, "page": page, "size": size}
            where = UnitDocument.unit == unit
            total = session.scalar(select(func.count(UnitDocument.id)).where(where)) or 0
            rows = session.scalars(select(UnitDocument).where(where).order_by(
                UnitDocument.issued_at.desc(), UnitDocument.id.desc()).offset((page - 1) * size).limit(size))
            return {"unit": unit, "unit_name": self._unit_name(session, unit), "items": [_view(r) for r in rows],
                    "total": total, "page": page, "size": size}

    def _unit_people(self, session: Session, unit: str) -> list[str]:
        """Everyone active in the unit (its own people; a unit under it has its own list)."""
        return list(session.scalars(select(Staff.user_id).where(func.upper(Staff.unit) == unit, Staff.active)))


def _codes(value: Any) -> list[str]:
    return list(dict.fromkeys(str(c).strip().upper()[:40] for c in value or [] if str(c).strip()))


def _moment(value: Any) -> datetime | None:
    return _utc(domain.parse_instant(value, "Thời điểm")) if value else None


def _change_title(kind: str, number: str, subject: str, reason: str) -> str:
    if kind == "update":
        return f"Văn bản số {number} đã được cập nhật: {subject}"
    return f"Văn bản số {number} {CHANGE_TITLES.get(kind, 'đã thay đổi')}: {reason}"


def _view(row: UnitDocument) -> dict[str, Any]:
    return {"outgoing_id": row.outgoing_id, "unit": row.unit, "number": row.number, "subject": row.subject,
            "issued_at": _iso(row.issued_at), "state": row.state, "state_label": STATE_LABELS.get(row.state, row.state),
            "change": row.change, "change_label": CHANGE_LABELS.get(row.change or "", row.change),
            "change_reason": row.change_reason, "changed_at": _iso(row.changed_at)}
