"""The agency's settings (calendar, limits, review chain) and its staff directory and units, as routing sees them.

A chapter of the Routing application (app.py); the methods use the shared plumbing of base.RoutingBase and, where
noted, methods of the other chapters through the composed class.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import agency_rules
from services.common.actor import Actor, Role
from services.common.errors import Conflict, ValidationFailed
from services.common.workcalendar import WorkCalendar
from services.routing import domain
from services.routing.base import _iso
from services.routing.chains import parse_chain, parse_chains
from services.routing.domain import AssignmentKind
from services.routing.models import (
    AgencyConfig,
    Assignment,
    Handling,
    Staff,
    UnitName,
)


class StaffAndSettings:
    def configure(self, actor: Actor, **changes: Any) -> dict[str, Any]:
        """Per-agency settings (admin): calendar, registration limit, default deadline, distributor, chain."""
        actor.require(Role.ADMIN)
        allowed = {"agency_name", "calendar", "registration_limit_hours", "default_deadline_days",
                   "due_soon_hours", "distributor_user_id", "review_chain", "signing_delegation",
                   "review_chains"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationFailed("Có thiết lập không được hỗ trợ.", unknown=sorted(unknown))
        if "review_chain" in changes and changes["review_chain"] is not None:
            parse_chain(changes["review_chain"])
        if "review_chains" in changes:
            changes["review_chains"] = {code: [s.to_dict() for s in steps] for code, steps in
                                        parse_chains(changes["review_chains"]).items()} or None
        if "calendar" in changes:
            WorkCalendar.from_config(changes["calendar"])  # refuse a broken calendar now
        for key in ("registration_limit_hours", "default_deadline_days", "due_soon_hours"):
            if key in changes and int(changes[key]) <= 0:
                raise ValidationFailed("Giá trị thời hạn phải lớn hơn 0.", field=key, value=changes[key])
        with self._unit_of_work(actor) as session:
            cfg = self._config(session)
            for key, value in changes.items():
                setattr(cfg, key, bool(value) if key == "signing_delegation" else value)
            return self._config_view(cfg)

    def get_config(self, actor: Actor) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            return self._config_view(self._config(session))

    def _config_view(self, cfg: AgencyConfig) -> dict[str, Any]:
        return {"agency_id": cfg.agency_id, "agency_name": cfg.agency_name,
                "calendar": self._calendar(cfg).to_config(),
                "registration_limit_hours": cfg.registration_limit_hours,
                "default_deadline_days": cfg.default_deadline_days, "due_soon_hours": cfg.due_soon_hours,
                "distributor_user_id": cfg.distributor_user_id,
                "review_chain": [s.to_dict() for s in parse_chain(cfg.review_chain)],
                "signing_delegation": cfg.signing_delegation is not False,
                "review_chains": {code: [s.to_dict() for s in steps]
                                  for code, steps in parse_chains(cfg.review_chains).items()}}

    def get_rules(self, actor: Actor) -> list[dict[str, Any]]:
        """The agency's rules that routing applies (services/common/agency_rules.py); the reception limit is kept
        in the configuration's own column."""
        with self._unit_of_work(actor) as session:
            cfg = self._config(session)
            return agency_rules.read(session, self.agency_id, "routing",
                                     {"registration_limit_hours": cfg.registration_limit_hours})

    def set_rules(self, actor: Actor, changes: dict[str, Any]) -> list[dict[str, Any]]:
        actor.require(Role.ADMIN)
        with self._unit_of_work(actor) as session:
            checked = agency_rules.write(session, self.agency_id, "routing", changes, actor.user_id, self._now())
            cfg = self._config(session)
            if "registration_limit_hours" in checked:
                cfg.registration_limit_hours = checked["registration_limit_hours"]
            return agency_rules.read(session, self.agency_id, "routing",
                                     {"registration_limit_hours": cfg.registration_limit_hours})

    def sync_staff(self, actor: Actor, entries: list[dict[str, Any]]) -> int:
        """The directory (admin or a system process): unit, roles, e-mail and position of each person."""
        if not actor.has(Role.ADMIN, Role.SYSTEM):
            actor.require(Role.ADMIN)
        with self._unit_of_work(actor) as session:
            for entry in entries:
                user_id = str(entry["user_id"])
                staff = session.get(Staff, user_id) or Staff(user_id=user_id)
                for key in ("username", "full_name", "unit", "email", "position", "active"):
                    if key in entry:
                        setattr(staff, key, entry[key])
                if "roles" in entry:
                    staff.roles = sorted(entry["roles"])
                session.add(staff)
            return len(entries)

    def sync_units(self, actor: Actor, entries: list[dict[str, Any]]) -> int:
        """The directory (admin or a system process): the name of each unit code ({"code", "name"}, the
        "abbreviation" its notations use when it is not the code, the "parent" unit it sits in, and whether it is
        "active"). A unit is not retired while documents given to it are still being handled (_refuse_retiring)."""
        if not actor.has(Role.ADMIN, Role.SYSTEM):
            actor.require(Role.ADMIN)
        with self._unit_of_work(actor) as session:
            placed: list[str] = []
            for entry in entries:
                code = str(entry.get("code") or "").strip().upper()[:40]
                name = str(entry.get("name") or "").strip()[:200]
                if not code or not name:
                    raise ValidationFailed("Đơn vị cần có mã và tên.", field="code", value=code)
                unit = session.get(UnitName, code) or UnitName(code=code, name=name)
                unit.name = name
                if "abbreviation" in entry:
                    unit.abbreviation = domain.unit_abbreviation(entry.get("abbreviation"))
                if "parent" in entry:
                    unit.parent = str(entry.get("parent") or "").strip().upper()[:40] or None
                    placed.append(code)
                if "active" in entry:
                    if not entry["active"] and unit.active is not False:
                        self._refuse_retiring(session, code, name)
                    unit.active = bool(entry["active"])
                session.add(unit)
            session.flush()
            # checked on the whole batch once written: a batch may move two units past each other
            tree = self._unit_tree(session)
            for code in placed:
                domain.check_unit_parent(code, tree.parent(code), tree)
            return len(entries)

    def _refuse_retiring(self, session: Session, code: str, name: str) -> None:
        """A unit handling a document (main or coordinating) keeps it until the handling is done: its heads see it in
        the unit's list and the leader follows it under the unit's name on the progress page. Retired, the unit would
        hold it where nobody looks (it has no one left), so the leader gives it to another unit or person (Giao lại),
        takes it back, or it is finished first: "cơ quan, đơn vị sau khi sáp nhập, tiếp nhận chức năng, nhiệm vụ có
        trách nhiệm tiếp nhận thực hiện các nhiệm vụ ... của cơ quan, đơn vị được sáp nhập" (Tuyên Quang QĐ 51/2024
        Đ23). A document the unit was only to know of (để biết) asks nothing of it and does not hold it back."""
        open_items = list({h.id: h.subject for h in session.scalars(
            select(Handling).join(Assignment, Assignment.handling_id == Handling.id)
            .where(Assignment.unit == code, Assignment.active,
                   Assignment.kind.in_([AssignmentKind.MAIN, AssignmentKind.COORDINATOR]),
                   Handling.status.in_(list(domain.ACTIVE_STATES)))
            .order_by(Handling.id))}.values())
        if open_items:
            shown = "; ".join(f"“{s}”" for s in open_items[:3]) + ("; ..." if len(open_items) > 3 else "")
            raise Conflict(f"Chưa thể cho đơn vị {name} ngừng hoạt động: đơn vị còn xử lý {len(open_items)} văn bản "
                           f"đến chưa xong ({shown}). Đề nghị lãnh đạo giao lại các văn bản này cho đơn vị hoặc người "
                           "khác (Giao lại: người xử lý chính mới, người phối hợp), thu hồi, hoặc hoàn thành xử lý "
                           "trước.", code="unit_has_open_work", unit=code, open_items=len(open_items))

    def _unit_tree(self, session: Session) -> domain.UnitTree:
        """The agency's units and where each sits (routing's copy, kept by sync_units)."""
        return domain.UnitTree.of((u.code, u.parent) for u in session.scalars(select(UnitName)))

    def _unit_name(self, session: Session, code: str | None) -> str | None:
        unit = session.get(UnitName, code.upper()) if code else None
        return unit.name if unit else None

    def _unit_abbreviation(self, session: Session, code: str | None) -> str | None:
        """The drafting unit's part of a notation: its declared abbreviation, else its code."""
        unit = session.get(UnitName, code.upper()) if code else None
        return (unit.abbreviation if unit and unit.abbreviation else None) or code

    def list_staff(self, actor: Actor, include_inactive: bool = False) -> list[dict[str, Any]]:
        """The directory for pickers (any user of the agency): by unit, then leaders first, then name."""
        with self._unit_of_work(actor) as session:
            query = select(Staff)
            if not include_inactive:
                query = query.where(Staff.active)
            rows = [s for s in session.scalars(query) if not s.user_id.startswith("system:")]
            rows.sort(key=lambda s: (s.unit or "", Role.LEADER.value not in (s.roles or []),
                                     Role.DEPARTMENT_HEAD.value not in (s.roles or []), s.full_name or ""))
            return [{"user_id": s.user_id, "username": s.username, "full_name": s.full_name, "unit": s.unit,
                     "position": s.position or "", "roles": list(s.roles or []), "email": s.email,
                     "active": bool(s.active)} for s in rows]

    def registration_deadline(self, actor: Actor, arrived_at: str) -> dict[str, Any]:
        """When an arrived document must be registered and forwarded, with the agency's limit (4 or 8 h)."""
        with self._unit_of_work(actor) as session:
            cfg = self._config(session)
            calendar = self._calendar(cfg)
            arrived = domain.parse_instant(arrived_at, "Thời điểm đến")
            due = calendar.registration_deadline(arrived, cfg.registration_limit_hours)
            return {"arrived_at": _iso(arrived), "limit_hours": cfg.registration_limit_hours, "due": _iso(due),
                    "due_state": calendar.due_state(due, self._now(), cfg.due_soon_hours)}
