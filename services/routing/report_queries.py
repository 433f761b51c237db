"""Read-only RPCs for the reporting service, mixed into the `routing` nameko service.

Reporting never reads routing's tables: it asks for the facts of the handlings it reports on (status, deadline,
main handlers with when they got the document, the handling history) and for the agency's calendar and time
limits, and does the arithmetic itself (services/reporting/domain.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import agency_rules
from services.common.actor import Actor, Role
from services.common.clock import VN_TZ, to_vn
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.workcalendar import WorkCalendar
from services.routing.domain import AssignmentKind, HandlingStatus
from services.routing.models import AgencyConfig, Assignment, Handling, HandlingEvent, Staff, UnitName

READERS = (Role.LEADER, Role.DEPARTMENT_HEAD, Role.CLERK, Role.ADMIN, Role.SYSTEM)


def _iso(moment: datetime | None) -> str | None:
    return to_vn(moment).isoformat(timespec="seconds") if moment else None


def _real_time(event: HandlingEvent) -> datetime:
    happened = (event.data or {}).get("happened_at")
    return datetime.fromisoformat(happened) if happened else event.at


def _day_start(value: str | None, shift: int = 0) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValidationFailed("Ngày không hợp lệ (dạng YYYY-MM-DD).", field="date", value=value) from exc
    # Stored times are UTC (SQLite keeps the wall time only), so the bound is given in UTC too.
    return datetime.combine(day + timedelta(days=shift), time(0), tzinfo=VN_TZ).astimezone(UTC)


def handling_facts(db: Database, actor: Actor, date_from: str | None = None, date_to: str | None = None,
                   open_only: bool = False) -> dict[str, Any]:
    """Handlings registered in [date_from, date_to] (Vietnam days; both optional), or every open one."""
    actor.require_agency(db.agency_id)
    actor.require(*READERS)
    start, end = _day_start(date_from), _day_start(date_to, shift=1)
    with db.session() as session:
        cfg = session.get(AgencyConfig, db.agency_id)
        query = select(Handling).order_by(Handling.registered_at, Handling.id)
        if start is not None:
            query = query.where(Handling.registered_at >= start)
        if end is not None:
            query = query.where(Handling.registered_at < end)
        if open_only:
            query = query.where(Handling.status != HandlingStatus.DONE)
        handlings = list(session.scalars(query))
        ids = [h.id for h in handlings]
        mains: dict[int, list[dict[str, Any]]] = {}
        events: dict[int, list[dict[str, Any]]] = {}
        if ids:
            for a in session.scalars(select(Assignment).where(Assignment.handling_id.in_(ids),
                                                              Assignment.kind == AssignmentKind.MAIN)
                                     .order_by(Assignment.created_at, Assignment.id)):
                mains.setdefault(a.handling_id, []).append(
                    {"user_id": a.user_id, "unit": a.unit, "active": a.active, "at": _iso(a.created_at)})
            for e in session.scalars(select(HandlingEvent).where(HandlingEvent.handling_id.in_(ids))
                                     .order_by(HandlingEvent.at, HandlingEvent.id)):
                # a step entered after an outage counts at its real time: the outage is nobody's delay
                events.setdefault(e.handling_id, []).append(
                    {"action": e.action, "user_id": e.user_id, "on_behalf_of": e.on_behalf_of,
                     "at": _iso(_real_time(e)), "to": (e.data or {}).get("to")})
            for steps in events.values():
                steps.sort(key=lambda step: datetime.fromisoformat(step["at"]))
        staff = _staff(session)
        declared = list(session.scalars(select(UnitName)))
        units = {u.code: u.parent for u in declared}  # the tree: a head's report rolls up
        return {
            "agency_id": db.agency_id,
            "calendar": (cfg.calendar if cfg and cfg.calendar else WorkCalendar().to_config()),
            "registration_limit_hours": cfg.registration_limit_hours if cfg else 8,
            "late_forwarders_rule": agency_rules.value_of(session, db.agency_id, "late_forwarders"),
            "staff": staff,
            "units": units,
            # what the register and the reports print for a unit: its name, as the admin declared it, not its code
            "unit_names": {u.code: u.name for u in declared if u.name},
            "handlings": [{
                "incoming_id": h.incoming_id, "document_id": h.document_id, "subject": h.subject,
                "priority": h.priority, "status": h.status, "outcome": h.outcome,
                "registered_at": _iso(h.registered_at), "submitted_to": h.submitted_to,
                "deadline": _iso(h.deadline), "deadline_source": h.deadline_source,
                "started_at": _iso(h.started_at), "done_at": _iso(h.done_at),
                "sender_organ_name": h.sender_organ_name,
                "main": mains.get(h.id, []), "events": events.get(h.id, []),
            } for h in handlings],
        }


def staff_facts(db: Database, actor: Actor) -> dict[str, Any]:
    """The agency's people as the reports name them (the copies register's maker, services/reporting)."""
    actor.require_agency(db.agency_id)
    actor.require(*READERS)
    with db.session() as session:
        return _staff(session)


def _staff(session: Session) -> dict[str, dict[str, Any]]:
    return {s.user_id: {"full_name": s.full_name or s.username, "unit": s.unit, "roles": s.roles or []}
            for s in session.scalars(select(Staff))}


class ReportQueries:
    """RPC entrypoints (nameko finds them on base classes); the service provides `db` and `actor`."""

    db: Any
    actor: Any

    @rpc
    def report_handlings(self, date_from: str | None = None, date_to: str | None = None,
                         open_only: bool = False) -> dict[str, Any]:
        return handling_facts(self.db, self.actor.required(), date_from, date_to, open_only)

    @rpc
    def report_staff(self) -> dict[str, Any]:
        return staff_facts(self.db, self.actor.required())
