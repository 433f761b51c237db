"""The routing application: every use case as a method taking the acting user, over the service's database.

service.py exposes these methods as nameko RPCs and event handlers; tests call them directly too. Each method
checks the actor's agency and role, runs in one transaction, writes its history, its in-app notifications and
(through the outbox) the events that leave the service in that same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import now_utc, to_vn
from services.common.db import Database
from services.common.errors import Conflict, CongVanError, Forbidden, NotFound, ValidationFailed
from services.common.outbox import enqueue
from services.common.workcalendar import WorkCalendar, calendar_for
from services.routing import domain
from services.routing.chains import ChainStep, parse_chain, require_step
from services.routing.domain import AssignmentKind, Authority, HandlingStatus, Outcome, Scope
from services.routing.models import (
    AgencyConfig,
    Assignment,
    Delegation,
    Draft,
    DraftComment,
    DraftParticipant,
    DraftVersion,
    Handling,
    HandlingEvent,
    Link,
    Notice,
    NoticeRead,
    Notification,
    Staff,
    Task,
    TaskComment,
    TaskMember,
    UnitName,
)
from services.routing.notify import notify

log = logging.getLogger(__name__)

Signer = Callable[..., dict[str, Any]]  # (pdf_sha256, signer_user_id, reason, on_behalf_of=None, signer_position="")

_CALENDARS: dict[str, WorkCalendar] = {}

LINK_KINDS = {"incoming", "outgoing", "draft", "task", "dossier"}
DRAFT_TYPES_MAX = 20


class SigningUnavailable(Conflict):
    code = "signing_unavailable"
    http_status = 503


class SigningTimeout(TimeoutError):
    """The signing service did not answer within the configured time (service.py raises it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"signing did not answer within {seconds:g} s")
        self.seconds = seconds


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return to_vn(moment).isoformat(timespec="seconds") if moment else None


class Routing:
    def __init__(self, database: Database, agency_id: str, *, sign: Signer | None = None, blobs: Any = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        self.db = database
        self.agency_id = agency_id
        self.sign = sign
        self.blobs = blobs
        self.clock = clock
        self._calendars = _CALENDARS  # shared: the service builds a Routing per call, holidays are costly

    # == plumbing ================================================================================================

    @contextmanager
    def _unit_of_work(self, actor: Actor) -> Iterator[Session]:
        actor.require_agency(self.agency_id)
        with self.db.session() as session:
            self._remember(session, actor)
            yield session

    def _remember(self, session: Session, actor: Actor) -> None:
        """Keep the staff directory fresh from the actors we see (the gateway is the source of truth)."""
        if actor.has(Role.SYSTEM):
            return
        staff = session.get(Staff, actor.user_id)
        roles = sorted(actor.roles)
        if staff is None:
            session.add(Staff(user_id=actor.user_id, username=actor.username, full_name=actor.full_name,
                              unit=actor.unit, roles=roles))
        elif (staff.unit, staff.roles, staff.full_name) != (actor.unit, roles, actor.full_name or staff.full_name):
            staff.unit, staff.roles = actor.unit, roles
            staff.full_name = actor.full_name or staff.full_name

    def _config(self, session: Session) -> AgencyConfig:
        cfg = session.get(AgencyConfig, self.agency_id)
        if cfg is None:
            cfg = AgencyConfig(agency_id=self.agency_id, agency_name="", calendar={}, registration_limit_hours=8,
                               default_deadline_days=10, due_soon_hours=8, review_chain=None)
            session.add(cfg)
            session.flush()
        return cfg

    def _calendar(self, cfg: AgencyConfig) -> WorkCalendar:
        return calendar_for(cfg.calendar or {}, self._calendars)

    def _now(self) -> datetime:
        return _utc(self.clock())  # type: ignore[return-value]

    def _grants(self, session: Session, user_id: str) -> list[domain.DelegationGrant]:
        rows = session.scalars(select(Delegation).where(Delegation.delegate_user_id == user_id)).all()
        return [domain.DelegationGrant(r.leader_user_id, r.delegate_user_id, r.starts_at, r.ends_at,
                                       frozenset(r.scopes), revoked=r.revoked_at is not None) for r in rows]

    def _authority(self, session: Session, actor: Actor, scope: Scope) -> Authority:
        return domain.leader_authority(actor, scope, self._grants(session, actor.user_id), self._now())

    def _staff(self, session: Session, user_id: str) -> Staff:
        staff = session.get(Staff, user_id)
        if staff is None or not staff.active:
            raise NotFound("Không tìm thấy cán bộ được chọn trong danh bạ của cơ quan.", user_id=user_id)
        return staff

    def _unit_heads(self, session: Session, unit: str) -> list[str]:
        return [s.user_id for s in session.scalars(select(Staff).where(Staff.unit == unit, Staff.active))
                if Role.DEPARTMENT_HEAD.value in (s.roles or [])]

    def _people_with(self, session: Session, role: str) -> list[str]:
        return [s.user_id for s in session.scalars(select(Staff).where(Staff.active)) if role in (s.roles or [])]

    # == configuration and directory ==============================================================================

    def configure(self, actor: Actor, **changes: Any) -> dict[str, Any]:
        """Per-agency settings (admin): calendar, registration limit, default deadline, distributor, chain."""
        actor.require(Role.ADMIN)
        allowed = {"agency_name", "calendar", "registration_limit_hours", "default_deadline_days",
                   "due_soon_hours", "distributor_user_id", "review_chain"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationFailed("Có thiết lập không được hỗ trợ.", unknown=sorted(unknown))
        if "review_chain" in changes and changes["review_chain"] is not None:
            parse_chain(changes["review_chain"])
        if "calendar" in changes:
            WorkCalendar.from_config(changes["calendar"])  # refuse a broken calendar now
        for key in ("registration_limit_hours", "default_deadline_days", "due_soon_hours"):
            if key in changes and int(changes[key]) <= 0:
                raise ValidationFailed("Giá trị thời hạn phải lớn hơn 0.", field=key, value=changes[key])
        with self._unit_of_work(actor) as session:
            cfg = self._config(session)
            for key, value in changes.items():
                setattr(cfg, key, value)
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
                "review_chain": [s.to_dict() for s in parse_chain(cfg.review_chain)]}

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
        """The directory (admin or a system process): the name of each unit code ({"code", "name"})."""
        if not actor.has(Role.ADMIN, Role.SYSTEM):
            actor.require(Role.ADMIN)
        with self._unit_of_work(actor) as session:
            for entry in entries:
                code = str(entry.get("code") or "").strip().upper()[:40]
                name = str(entry.get("name") or "").strip()[:200]
                if not code or not name:
                    raise ValidationFailed("Đơn vị cần có mã và tên.", field="code", value=code)
                unit = session.get(UnitName, code) or UnitName(code=code, name=name)
                unit.name = name
                session.add(unit)
            return len(entries)

    def _unit_name(self, session: Session, code: str | None) -> str | None:
        unit = session.get(UnitName, code.upper()) if code else None
        return unit.name if unit else None

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

    # == incoming handling ==========================================================================================

    def on_incoming_registered(self, actor: Actor, event: dict[str, Any]) -> int:
        """The registry accepted an incoming document: open its handling record (idempotent)."""
        actor.require(Role.SYSTEM, Role.CLERK)
        with self._unit_of_work(actor) as session:
            incoming_id = str(event["incoming_id"])
            existing = session.scalar(select(Handling).where(Handling.incoming_id == incoming_id))
            if existing is not None:
                return existing.id
            cfg = self._config(session)
            calendar = self._calendar(cfg)
            doc = domain.parse_document_id(event.get("document_id") or "")
            sender = event.get("sender") or {}
            now = self._now()
            handling = Handling(
                incoming_id=incoming_id, document_id=event.get("document_id") or "",
                subject=event.get("subject") or "", priority=int(event.get("priority") or 0),
                registered_at=_utc(domain.parse_instant(event["registered_at"], "Thời điểm vào sổ"))
                if event.get("registered_at") else now,
                document_due=_utc(domain.parse_deadline(event.get("due_date"), calendar)),
                external=domain.is_external(event),
                sender_organ_id=sender.get("organ_id") or doc["organ_id"],
                sender_organ_name=sender.get("organ_name") or "",
                doc_code=event.get("code") or doc["code"],
                promulgation_date=event.get("promulgation_date") or doc["promulgation_date"],
                status=HandlingStatus.RECEIVED, created_at=now, updated_at=now)
            session.add(handling)
            session.flush()
            self._history(session, handling, "registered", actor.user_id, None, None,
                          {"priority": handling.priority})
            if domain.is_urgent(handling.priority):
                # Urgent documents are forwarded at once [000 Đ5.3]: tell the clerks it is waiting for them.
                notify(session, self._people_with(session, Role.CLERK.value), "urgent",
                       f"{domain.urgency_prefix(handling.priority)}Văn bản đến cần trình ngay: {handling.subject}",
                       ref_kind="incoming", ref_id=incoming_id)
            return handling.id

    def submit_incoming(self, actor: Actor, incoming_id: str, to_user_id: str | None = None,
                        note: str = "") -> dict[str, Any]:
        """The clerk submits the document to the leader (or to the agency's distributor)."""
        actor.require(Role.CLERK)
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            cfg = self._config(session)
            target = to_user_id or cfg.distributor_user_id
            if not target:
                raise ValidationFailed("Chưa chọn lãnh đạo hoặc người phân phối để trình văn bản.",
                                       incoming_id=incoming_id)
            if handling.status == HandlingStatus.SUBMITTED and handling.submitted_to == target:
                return self._handling_view(session, handling)  # a retried call changes nothing
            domain.require_state(handling.status, {HandlingStatus.RECEIVED, HandlingStatus.SUBMITTED},
                                 "trình văn bản")
            self._staff(session, target)
            handling.status, handling.submitted_to = HandlingStatus.SUBMITTED, target
            self._touch(handling)
            self._history(session, handling, "submitted", actor.user_id, None, note, {"to": target})
            prefix = domain.urgency_prefix(handling.priority)
            notify(session, [target], "urgent" if prefix else "submitted",
                   f"{prefix}Văn bản đến chờ bút phê: {handling.subject}", note, "incoming", incoming_id)
            return self._handling_view(session, handling)

    def direct_incoming(self, actor: Actor, incoming_id: str, directive: str, main: dict[str, str],
                        coordinators: list[dict[str, str]] | None = None,
                        readers: list[dict[str, str]] | None = None,
                        deadline: str | None = None) -> dict[str, Any]:
        """The leader's directive (bút phê): main handler, coordinators, readers, deadline; sends 04."""
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            cfg = self._config(session)
            if actor.user_id == cfg.distributor_user_id and not actor.on_behalf_of:
                authority = Authority(actor.user_id)  # the agency's distributor may route without a delegation
            else:
                authority = self._authority(session, actor, Scope.ASSIGN)
            if handling.status == HandlingStatus.ASSIGNED and handling.directive == directive:
                return self._handling_view(session, handling)  # retried call
            domain.require_state(handling.status, {HandlingStatus.RECEIVED, HandlingStatus.SUBMITTED},
                                 "phân công xử lý")
            if not (directive or "").strip():
                raise ValidationFailed("Bút phê không được để trống.", incoming_id=incoming_id)
            calendar = self._calendar(cfg)
            now = self._now()
            due, source = domain.handling_deadline(
                leader=domain.parse_deadline(deadline, calendar), document=handling.document_due,
                assigned_at=now, default_days=cfg.default_deadline_days, calendar=calendar)
            handling.directive, handling.directed_by = directive.strip(), authority.user_id
            handling.directed_on_behalf_of = authority.on_behalf_of
            handling.deadline, handling.deadline_source = _utc(due), source
            handling.status = HandlingStatus.ASSIGNED
            self._touch(handling)
            targets = [(AssignmentKind.MAIN, main)]
            targets += [(AssignmentKind.COORDINATOR, c) for c in coordinators or []]
            targets += [(AssignmentKind.INFO, r) for r in readers or []]
            for kind, target in targets:
                self._assign(session, handling, kind, target, authority)
            self._history(session, handling, "directed", authority.user_id, authority.on_behalf_of, directive,
                          {"deadline": _iso(due), "deadline_source": source})
            self._status(session, handling, domain.STATUS_ASSIGNED, actor, cfg)
            return self._handling_view(session, handling)

    def _assign(self, session: Session, handling: Handling, kind: AssignmentKind, target: dict[str, str],
                authority: Authority, note: str | None = None) -> Assignment:
        user_id, unit = target.get("user_id"), target.get("unit")
        if bool(user_id) == bool(unit):
            raise ValidationFailed("Mỗi người nhận phải là một cán bộ hoặc một đơn vị.", target=target)
        if user_id:
            self._staff(session, user_id)
        elif not self._unit_heads(session, unit):  # type: ignore[arg-type]
            raise ValidationFailed("Đơn vị được giao chưa có lãnh đạo phòng để nhận văn bản.", unit=unit)
        row = Assignment(handling_id=handling.id, kind=kind, user_id=user_id, unit=unit,
                         assigned_by=authority.user_id, on_behalf_of=authority.on_behalf_of, note=note,
                         active=True, created_at=self._now())
        session.add(row)
        session.flush()
        labels = {AssignmentKind.MAIN: "xử lý chính", AssignmentKind.COORDINATOR: "phối hợp",
                  AssignmentKind.INFO: "để biết"}
        prefix = domain.urgency_prefix(handling.priority)
        recipients = [user_id] if user_id else self._unit_heads(session, unit)  # type: ignore[arg-type]
        body = f"Bút phê: {handling.directive or ''}\nHạn xử lý: {_iso(handling.deadline) or 'không có'}"
        notify(session, recipients, "urgent" if prefix else "assigned",
               f"{prefix}Văn bản đến giao {labels[kind]}: {handling.subject}", body, "incoming", handling.incoming_id)
        return row

    def reassign_incoming(self, actor: Actor, incoming_id: str, user_id: str, kind: str = "main",
                          note: str = "") -> dict[str, Any]:
        """A department head hands a document of their unit to one of their staff."""
        actor.require(Role.DEPARTMENT_HEAD)
        kind_enum = AssignmentKind(kind)
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            domain.require_state(handling.status, domain.ACTIVE_STATES, "giao lại văn bản")
            unit_assignments = [a for a in self._assignments(session, handling) if a.unit == actor.unit]
            domain.require_same_unit(actor, unit_assignments[0].unit if unit_assignments else None,
                                     "giao lại văn bản được giao cho đơn vị")
            target = self._staff(session, user_id)
            domain.require_same_unit(actor, target.unit, "giao việc cho cán bộ")
            if any(a.user_id == user_id and a.kind == kind_enum for a in self._assignments(session, handling)):
                return self._handling_view(session, handling)  # retried call
            if kind_enum == AssignmentKind.MAIN:
                for a in self._assignments(session, handling):
                    if a.kind == AssignmentKind.MAIN and a.user_id:
                        a.active = False
            self._assign(session, handling, kind_enum, {"user_id": user_id}, Authority(actor.user_id), note)
            self._touch(handling)
            self._history(session, handling, "reassigned", actor.user_id, None, note, {"to": user_id, "kind": kind})
            return self._handling_view(session, handling)

    def forward_incoming(self, actor: Actor, incoming_id: str, to_user_id: str, note: str = "") -> dict[str, Any]:
        """The main handler passes the main handling to the next person."""
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            self._require_main_handler(session, actor, handling)
            self._staff(session, to_user_id)
            self._start(session, handling, actor)
            for a in self._assignments(session, handling):
                if a.kind == AssignmentKind.MAIN and a.user_id == actor.user_id:
                    a.active = False
            self._assign(session, handling, AssignmentKind.MAIN, {"user_id": to_user_id},
                         Authority(actor.user_id), note)
            self._history(session, handling, "forwarded", actor.user_id, None, note, {"to": to_user_id})
            return self._handling_view(session, handling)

    def keep_for_reference(self, actor: Actor, incoming_id: str, note: str = "") -> dict[str, Any]:
        return self._finish(actor, incoming_id, Outcome.KEPT, note)

    def close_no_action(self, actor: Actor, incoming_id: str, reason: str) -> dict[str, Any]:
        if not (reason or "").strip():
            raise ValidationFailed("Phải ghi lý do khi kết thúc văn bản không cần xử lý.", incoming_id=incoming_id)
        return self._finish(actor, incoming_id, Outcome.NO_ACTION, reason)

    def _finish(self, actor: Actor, incoming_id: str, outcome: Outcome, note: str) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            if handling.status == HandlingStatus.DONE and handling.outcome == outcome:
                return self._handling_view(session, handling)
            self._require_main_handler(session, actor, handling)
            self._start(session, handling, actor)
            self._close(session, handling, outcome, note, actor)
            return self._handling_view(session, handling)

    def _close(self, session: Session, handling: Handling, outcome: Outcome, note: str | None,
               actor: Actor) -> None:
        handling.status, handling.outcome, handling.outcome_note = HandlingStatus.DONE, outcome, note
        handling.done_at = self._now()
        self._touch(handling)
        self._history(session, handling, f"done_{outcome}", actor.user_id, None, note, {})
        self._status(session, handling, domain.STATUS_DONE, actor, self._config(session),
                     description=f"Hoàn thành xử lý văn bản đến: {domain.OUTCOME_LABELS_VI[outcome]}")

    def mark_waiting(self, actor: Actor, incoming_id: str, note: str) -> dict[str, Any]:
        if not (note or "").strip():
            raise ValidationFailed("Phải ghi chú lý do tạm dừng chờ.", incoming_id=incoming_id)
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            self._require_main_handler(session, actor, handling)
            self._start(session, handling, actor)
            handling.status, handling.waiting_note = HandlingStatus.WAITING, note
            self._history(session, handling, "waiting", actor.user_id, None, note, {})
            return self._handling_view(session, handling)

    def resume_incoming(self, actor: Actor, incoming_id: str, note: str = "") -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            self._require_main_handler(session, actor, handling)
            self._start(session, handling, actor)
            self._history(session, handling, "resumed", actor.user_id, None, note, {})
            return self._handling_view(session, handling)

    def send_opinion(self, actor: Actor, incoming_id: str, text: str) -> dict[str, Any]:
        """A coordinator sends an opinion to the main handler."""
        if not (text or "").strip():
            raise ValidationFailed("Ý kiến phối hợp không được để trống.", incoming_id=incoming_id)
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            domain.require_state(handling.status, domain.ACTIVE_STATES, "gửi ý kiến phối hợp")
            mine = [a for a in self._assignments(session, handling) if a.kind == AssignmentKind.COORDINATOR
                    and self._holds(actor, a)]
            if not mine:
                raise Forbidden("Chỉ người được giao phối hợp mới gửi ý kiến phối hợp.", user=actor.username,
                                incoming_id=incoming_id)
            self._history(session, handling, "opinion", actor.user_id, None, text, {})
            notify(session, self._main_handlers(session, handling), "opinion",
                   f"Ý kiến phối hợp về văn bản: {handling.subject}", f"{actor.full_name}: {text}",
                   "incoming", incoming_id)
            return self._handling_view(session, handling)

    def mark_read(self, actor: Actor, incoming_id: str) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            for a in self._assignments(session, handling):
                if self._holds(actor, a) and a.read_at is None:
                    a.read_at = self._now()
            return self._handling_view(session, handling)

    def on_outgoing_issued(self, actor: Actor, event: dict[str, Any]) -> list[str]:
        """The reply was issued: the incoming documents it answers are handled (06 to external senders)."""
        actor.require(Role.SYSTEM, Role.CLERK)
        closed = []
        with self._unit_of_work(actor) as session:
            for incoming_id in event.get("answers") or []:
                handling = session.scalar(select(Handling).where(Handling.incoming_id == str(incoming_id)))
                if handling is None or handling.status == HandlingStatus.DONE:
                    continue  # unknown here or already closed: a redelivered event changes nothing
                if handling.started_at is None and handling.status in domain.ACTIVE_STATES:
                    self._start(session, handling, actor)
                handling.answered_by = str(event.get("outgoing_id"))
                self._close(session, handling, Outcome.ANSWERED, f"Văn bản đi {handling.answered_by}", actor)
                closed.append(handling.incoming_id)
        return closed

    # -- incoming helpers -----------------------------------------------------------------------------------

    def _handling(self, session: Session, incoming_id: str) -> Handling:
        handling = session.scalar(select(Handling).where(Handling.incoming_id == str(incoming_id)))
        if handling is None:
            raise NotFound("Không tìm thấy văn bản đến trong luồng xử lý.", incoming_id=incoming_id)
        return handling

    def _assignments(self, session: Session, handling: Handling, active: bool = True) -> list[Assignment]:
        query = select(Assignment).where(Assignment.handling_id == handling.id)
        if active:
            query = query.where(Assignment.active)
        return list(session.scalars(query.order_by(Assignment.id)))

    @staticmethod
    def _holds(actor: Actor, a: Assignment) -> bool:
        if a.user_id:
            return a.user_id == actor.user_id
        return a.unit == actor.unit and actor.has(Role.DEPARTMENT_HEAD)

    def _main_handlers(self, session: Session, handling: Handling) -> list[str]:
        people: list[str] = []
        for a in self._assignments(session, handling):
            if a.kind == AssignmentKind.MAIN:
                people += [a.user_id] if a.user_id else self._unit_heads(session, a.unit)  # type: ignore[arg-type]
        return people

    def _require_main_handler(self, session: Session, actor: Actor, handling: Handling) -> None:
        if not any(a.kind == AssignmentKind.MAIN and self._holds(actor, a)
                   for a in self._assignments(session, handling)):
            raise Forbidden("Chỉ người xử lý chính mới thực hiện được thao tác này.", user=actor.username,
                            incoming_id=handling.incoming_id)

    def _start(self, session: Session, handling: Handling, actor: Actor) -> None:
        status, first = domain.after_action(handling.status, handling.started_at is not None)
        handling.status = status
        handling.waiting_note = None
        self._touch(handling)
        if first:
            handling.started_at = self._now()
            self._status(session, handling, domain.STATUS_IN_PROGRESS, actor, self._config(session))

    def _status(self, session: Session, handling: Handling, code: str, actor: Actor, cfg: AgencyConfig,
                description: str | None = None) -> None:
        """Status feedback to an external sender, through the outbox in this transaction."""
        if not handling.external or not handling.sender_organ_id:
            return
        enqueue(session, "outgoing_status", domain.status_message(
            code=code, agency_id=self.agency_id, agency_name=cfg.agency_name,
            sender_organ_id=handling.sender_organ_id, document_id=handling.document_id,
            doc_code=handling.doc_code, promulgation_date=handling.promulgation_date,
            staff_name=actor.full_name, staff_unit=actor.unit or "", at=self._now(), description=description))

    def _history(self, session: Session, handling: Handling, action: str, user_id: str, on_behalf_of: str | None,
                 note: str | None, data: dict[str, Any]) -> None:
        session.add(HandlingEvent(handling_id=handling.id, action=action, user_id=user_id, on_behalf_of=on_behalf_of,
                                  note=note, data=data, at=self._now()))

    def _touch(self, handling: Handling) -> None:
        handling.updated_at = self._now()

    def _handling_view(self, session: Session, handling: Handling, *, history: bool = False) -> dict[str, Any]:
        cfg = self._config(session)
        calendar = self._calendar(cfg)
        due_state = (calendar.due_state(handling.deadline, self._now(), cfg.due_soon_hours)
                     if handling.status != HandlingStatus.DONE else None)
        view = {
            "incoming_id": handling.incoming_id, "document_id": handling.document_id, "subject": handling.subject,
            "priority": handling.priority, "priority_label": domain.PRIORITY_LABELS.get(handling.priority, ""),
            "urgent": domain.is_urgent(handling.priority), "status": handling.status,
            "status_label": domain.STATUS_LABELS_VI[HandlingStatus(handling.status)],
            "outcome": handling.outcome, "outcome_note": handling.outcome_note,
            "waiting_note": handling.waiting_note, "external": handling.external,
            "sender": {"organ_id": handling.sender_organ_id, "organ_name": handling.sender_organ_name},
            "submitted_to": handling.submitted_to, "directive": handling.directive,
            "directed_by": handling.directed_by, "directed_on_behalf_of": handling.directed_on_behalf_of,
            "deadline": _iso(handling.deadline), "deadline_source": handling.deadline_source,
            "due_state": due_state, "registered_at": _iso(handling.registered_at),
            "answered_by": handling.answered_by, "reply_draft_id": handling.reply_draft_id,
            "assignments": [{"id": a.id, "kind": a.kind, "user_id": a.user_id, "unit": a.unit,
                             "assigned_by": a.assigned_by, "on_behalf_of": a.on_behalf_of, "active": a.active,
                             "read_at": _iso(a.read_at)} for a in self._assignments(session, handling, False)],
        }
        if history:
            view["history"] = [{"action": e.action, "user_id": e.user_id, "on_behalf_of": e.on_behalf_of,
                                "note": e.note, "data": e.data, "at": _iso(e.at)} for e in session.scalars(
                select(HandlingEvent).where(HandlingEvent.handling_id == handling.id).order_by(HandlingEvent.id))]
            view["links"] = self._links(session, "incoming", handling.incoming_id)
        return view

    def get_incoming(self, actor: Actor, incoming_id: str) -> dict[str, Any]:
        """Registered incoming documents are visible inside the agency [003 Đ4.2]."""
        with self._unit_of_work(actor) as session:
            return self._handling_view(session, self._handling(session, incoming_id), history=True)

    def list_incoming(self, actor: Actor, box: str = "mine") -> list[dict[str, Any]]:
        """Lists, urgent first then the nearest deadline [000 Đ5.3].

        box: mine (assigned to me or my unit, not done) | to_submit (clerk) | to_direct (submitted to me) |
        done (mine, finished) | all (leaders and clerks).
        """
        with self._unit_of_work(actor) as session:
            query = select(Handling)
            if box == "to_submit":
                actor.require(Role.CLERK)
                query = query.where(Handling.status == HandlingStatus.RECEIVED)
            elif box == "to_direct":
                ids = {actor.user_id} | {g.leader_user_id for g in self._grants(session, actor.user_id)
                                         if g.covers(actor.user_id, Scope.ASSIGN, self._now())}
                query = query.where(Handling.status == HandlingStatus.SUBMITTED, Handling.submitted_to.in_(ids))
            elif box in ("mine", "done"):
                mine = or_(Assignment.user_id == actor.user_id,
                           (Assignment.unit == actor.unit) if actor.has(Role.DEPARTMENT_HEAD) else false())
                sub = select(Assignment.handling_id).where(Assignment.active, mine)
                query = query.where(Handling.id.in_(sub))
                query = query.where(Handling.status == HandlingStatus.DONE if box == "done"
                                    else Handling.status != HandlingStatus.DONE)
            elif box == "all":
                actor.require(Role.LEADER, Role.CLERK, Role.ADMIN)
            else:
                raise ValidationFailed("Danh sách không hợp lệ.", box=box)
            rows = list(session.scalars(query))
            rows.sort(key=lambda h: domain.list_order(h.priority, h.deadline, h.registered_at))
            return [self._handling_view(session, h) for h in rows]

    # == links ======================================================================================================

    def link(self, actor: Actor, from_kind: str, from_id: str, to_kind: str, to_id: str) -> dict[str, Any]:
        """Link related records (documents asking the same thing, a task and its draft...)."""
        if from_kind not in LINK_KINDS or to_kind not in LINK_KINDS:
            raise ValidationFailed("Loại liên kết không hợp lệ.", from_kind=from_kind, to_kind=to_kind)
        with self._unit_of_work(actor) as session:
            if from_kind == "incoming":
                self._handling(session, from_id)
            if from_kind == "draft":
                self._visible_draft(session, actor, int(from_id))
            if from_kind == "task":
                self._task_for(session, actor, int(from_id))
            exists = session.scalar(select(Link.id).where(
                Link.from_kind == from_kind, Link.from_id == str(from_id), Link.to_kind == to_kind,
                Link.to_id == str(to_id)))
            if not exists:
                session.add(Link(from_kind=from_kind, from_id=str(from_id), to_kind=to_kind, to_id=str(to_id),
                                 created_by=actor.user_id, created_at=self._now()))
                session.flush()
            return {"links": self._links(session, from_kind, str(from_id))}

    def _links(self, session: Session, kind: str, record_id: str) -> list[dict[str, str]]:
        rows = session.scalars(select(Link).where(or_(
            (Link.from_kind == kind) & (Link.from_id == record_id),
            (Link.to_kind == kind) & (Link.to_id == record_id))).order_by(Link.id))
        out = []
        for r in rows:
            if r.from_kind == kind and r.from_id == record_id:
                out.append({"kind": r.to_kind, "id": r.to_id})
            else:
                out.append({"kind": r.from_kind, "id": r.from_id})
        return out

    # == outgoing review (drafts) ===================================================================================

    def create_draft(self, actor: Actor, title: str, pdf_sha256: str, type_code: str = "CV",
                     appendix_sha256s: list[str] | None = None, answers: list[str] | None = None,
                     priority: int = 0, note: str = "") -> dict[str, Any]:
        """A specialist (or anyone drafting) starts a draft, optionally as the reply to incoming documents."""
        actor.require(Role.SPECIALIST, Role.DEPARTMENT_HEAD, Role.LEADER)
        if not (title or "").strip():
            raise ValidationFailed("Trích yếu dự thảo không được để trống.")
        self._check_blobs([pdf_sha256, *(appendix_sha256s or [])])
        with self._unit_of_work(actor) as session:
            now = self._now()
            draft = Draft(title=title.strip(), type_code=(type_code or "CV")[:DRAFT_TYPES_MAX], priority=priority,
                          drafted_by=actor.user_id, unit=actor.unit, status="drafting",
                          answers=[str(a) for a in answers or []], version=1, created_at=now, updated_at=now)
            session.add(draft)
            session.flush()
            session.add(DraftVersion(draft_id=draft.id, number=1, pdf_sha256=pdf_sha256,
                                     appendix_sha256s=list(appendix_sha256s or []), uploaded_by=actor.user_id,
                                     note=note, created_at=now))
            session.add(DraftParticipant(draft_id=draft.id, user_id=actor.user_id, role="author"))
            for incoming_id in draft.answers:
                handling = self._handling(session, incoming_id)
                self._require_main_handler(session, actor, handling)
                self._start(session, handling, actor)
                handling.reply_draft_id = draft.id
                self._history(session, handling, "reply_drafted", actor.user_id, None, title, {"draft_id": draft.id})
                session.add(Link(from_kind="incoming", from_id=incoming_id, to_kind="draft", to_id=str(draft.id),
                                 created_by=actor.user_id, created_at=now))
            session.flush()
            return self._draft_view(session, draft)

    def _check_blobs(self, hashes: list[str]) -> None:
        if self.blobs is None:
            return
        for sha in hashes:
            if not self.blobs.exists(sha):
                raise NotFound("Không tìm thấy tệp dự thảo trong kho lưu trữ.", sha256=sha)

    def add_draft_version(self, actor: Actor, draft_id: int, pdf_sha256: str,
                          appendix_sha256s: list[str] | None = None, note: str = "") -> dict[str, Any]:
        self._check_blobs([pdf_sha256, *(appendix_sha256s or [])])
        with self._unit_of_work(actor) as session:
            draft = self._visible_draft(session, actor, draft_id)
            self._require_author(actor, draft)
            if draft.status not in ("drafting", "returned"):
                raise Conflict("Chỉ sửa dự thảo khi đang soạn hoặc bị trả lại.", status=draft.status)
            current = self._version(session, draft)
            if current.pdf_sha256 == pdf_sha256 and current.appendix_sha256s == list(appendix_sha256s or []):
                return self._draft_view(session, draft)  # same files: nothing new (idempotent)
            draft.version += 1
            session.add(DraftVersion(draft_id=draft.id, number=draft.version, pdf_sha256=pdf_sha256,
                                     appendix_sha256s=list(appendix_sha256s or []), uploaded_by=actor.user_id,
                                     note=note, created_at=self._now()))
            draft.updated_at = self._now()
            session.flush()
            return self._draft_view(session, draft)

    def invite_commenters(self, actor: Actor, draft_id: int, user_ids: list[str]) -> dict[str, Any]:
        """Ask colleagues for comments; they become participants and may see the draft."""
        with self._unit_of_work(actor) as session:
            draft = self._visible_draft(session, actor, draft_id)
            self._require_author(actor, draft)
            for user_id in user_ids:
                self._staff(session, user_id)
                self._add_participant(session, draft, user_id, "commenter")
            notify(session, user_ids, "comment_request", f"Xin ý kiến dự thảo: {draft.title}",
                   ref_kind="draft", ref_id=draft.id)
            return self._draft_view(session, draft)

    def comment_draft(self, actor: Actor, draft_id: int, text: str) -> dict[str, Any]:
        if not (text or "").strip():
            raise ValidationFailed("Ý kiến không được để trống.")
        with self._unit_of_work(actor) as session:
            draft = self._visible_draft(session, actor, draft_id)
            self._comment(session, draft, actor.user_id, None, "comment", text)
            if actor.user_id != draft.drafted_by:
                notify(session, [draft.drafted_by], "comment", f"Có ý kiến mới về dự thảo: {draft.title}",
                       f"{actor.full_name}: {text}", "draft", draft.id)
            return self._draft_view(session, draft)

    def submit_draft(self, actor: Actor, draft_id: int, note: str = "") -> dict[str, Any]:
        """The drafter submits along the agency's chain; a returned draft starts again from the first step."""
        with self._unit_of_work(actor) as session:
            draft = self._visible_draft(session, actor, draft_id)
            self._require_author(actor, draft)
            if draft.status == "in_review":
                return self._draft_view(session, draft)  # retried call
            if draft.status not in ("drafting", "returned"):
                raise Conflict("Dự thảo này không thể trình duyệt nữa.", status=draft.status)
            steps = parse_chain(self._config(session).review_chain)
            draft.chain = [s.to_dict() for s in steps]
            draft.status, draft.step = "in_review", 0
            draft.updated_at = self._now()
            self._comment(session, draft, actor.user_id, None, "submit", note, steps[0].key)
            self._notify_step(session, draft, steps[0])
            return self._draft_view(session, draft)

    def approve_draft(self, actor: Actor, draft_id: int, comment: str = "") -> dict[str, Any]:
        """Approve at the current step; at the last step the leader (or delegate) approves AND signs."""
        with self._unit_of_work(actor) as session:
            draft, step, authority = self._reviewer(session, actor, draft_id)
            if not step.signs:
                self._comment(session, draft, authority.user_id, authority.on_behalf_of, "approve", comment,
                              step.key)
                self._add_participant(session, draft, actor.user_id, "reviewer")
                draft.step = (draft.step or 0) + 1
                draft.updated_at = self._now()
                self._notify_step(session, draft, self._steps(draft)[draft.step])
                return self._draft_view(session, draft)
            step_index, pdf_sha256 = int(draft.step or 0), self._version(session, draft).pdf_sha256
        return self._sign(actor, draft_id, step_index, pdf_sha256, authority, comment)

    def _sign(self, actor: Actor, draft_id: int, step_index: int, pdf_sha256: str, authority: Authority,
              comment: str) -> dict[str, Any]:
        # The signature is made BEFORE the transaction: if signing is unavailable nothing changes here.
        if self.sign is None:
            raise SigningUnavailable("Dịch vụ ký số chưa sẵn sàng; dự thảo chưa được duyệt, vui lòng thử lại sau.")
        on_behalf_of, position = self._signing_authority(actor, authority)
        try:
            signed_sha = str(self.sign(pdf_sha256, actor.user_id, "Phê duyệt và ký ban hành", on_behalf_of,
                                       position)["sha256"])
        except CongVanError:
            raise  # the signing service's own refusal (no key, bad PDF...) already speaks Vietnamese
        except SigningTimeout as exc:  # nothing was written here; a late signature is remembered by signing
            log.warning("signing timed out for draft %s: %s", draft_id, exc)
            raise SigningUnavailable(f"Không ký được văn bản: dịch vụ ký số không trả lời trong {exc.seconds:g} "
                                     "giây. Dự thảo chưa được duyệt, vui lòng thử lại sau.", draft_id=draft_id,
                                     reason="timeout", seconds=exc.seconds) from exc
        except Exception as exc:  # broker, unknown service: the approval fails cleanly
            log.warning("signing unavailable for draft %s: %s", draft_id, exc)
            raise SigningUnavailable("Không ký được văn bản: dịch vụ ký số đang không sẵn sàng. "
                                     "Dự thảo chưa được duyệt, vui lòng thử lại sau.", draft_id=draft_id,
                                     reason=type(exc).__name__) from exc
        with self._unit_of_work(actor) as session:
            draft, step, authority = self._reviewer(session, actor, draft_id)
            if draft.step != step_index or self._version(session, draft).pdf_sha256 != pdf_sha256:
                raise Conflict("Dự thảo vừa thay đổi trong lúc ký; vui lòng mở lại và duyệt lại.", draft_id=draft_id)
            version = self._version(session, draft)
            staff = session.get(Staff, actor.user_id)
            draft.status, draft.step, draft.signed_sha256 = "signed", None, signed_sha
            draft.signed_by, draft.signed_on_behalf_of = authority.user_id, authority.on_behalf_of
            draft.updated_at = self._now()
            self._comment(session, draft, authority.user_id, authority.on_behalf_of, "sign", comment, step.key)
            self._add_participant(session, draft, actor.user_id, "reviewer")
            enqueue(session, "draft_signed", {
                "draft_id": draft.id, "title": draft.title, "subject": draft.title, "type_code": draft.type_code,
                "pdf_sha256": signed_sha, "appendix_sha256s": list(version.appendix_sha256s or []),
                "signer": {"user_id": actor.user_id, "full_name": actor.full_name,
                           "position": (staff.position if staff and staff.position else ""),
                           # edXML SignerInfo.Competence, e.g. "TUQ. CHỦ TỊCH" (empty: in their own name)
                           "competence": (f"{on_behalf_of['form']} {on_behalf_of['position'].upper()}"
                                          if on_behalf_of else "")},
                "on_behalf_of": authority.on_behalf_of, "on_behalf_of_leader": on_behalf_of,
                "answers": list(draft.answers or []), "drafted_by": draft.drafted_by, "unit": draft.unit,
                "unit_name": self._unit_name(session, draft.unit),   # the register's column 6 (registry)
                "priority": draft.priority,
            })
            notify(session, [draft.drafted_by], "signed", f"Dự thảo đã được duyệt và ký: {draft.title}",
                   ref_kind="draft", ref_id=draft.id)
            return self._draft_view(session, draft)

    def _signing_authority(self, actor: Actor, authority: Authority) -> tuple[dict[str, str] | None, str]:
        """The verified delegation for signing ("TUQ." + the leader's name and position) and the signer's own
        position, from the staff directory. A leader signing in their own name gets (None, position)."""
        with self.db.session() as session:
            signer = session.get(Staff, actor.user_id)
            position = signer.position if signer and signer.position else ""
            if not authority.on_behalf_of:
                return None, position
            leader = session.get(Staff, authority.on_behalf_of)
            if leader is None or not leader.position or not leader.full_name:
                raise ValidationFailed("Chưa có họ tên, chức vụ của lãnh đạo ủy quyền trong danh bạ nên chưa ký "
                                       "thay được; quản trị viên cần cập nhật danh bạ.",
                                       leader_user_id=authority.on_behalf_of)
            return {"user_id": leader.user_id, "full_name": leader.full_name, "position": leader.position,
                    "form": "TUQ."}, position

    def return_draft(self, actor: Actor, draft_id: int, comment: str) -> dict[str, Any]:
        if not (comment or "").strip():
            raise ValidationFailed("Phải ghi ý kiến khi trả lại dự thảo.")
        with self._unit_of_work(actor) as session:
            draft, step, authority = self._reviewer(session, actor, draft_id)
            self._comment(session, draft, authority.user_id, authority.on_behalf_of, "return", comment, step.key)
            self._add_participant(session, draft, actor.user_id, "reviewer")
            draft.status, draft.step = "returned", None
            draft.updated_at = self._now()
            notify(session, [draft.drafted_by], "returned", f"Dự thảo bị trả lại: {draft.title}",
                   f"{step.label}: {comment}", "draft", draft.id)
            return self._draft_view(session, draft)

    def get_draft(self, actor: Actor, draft_id: int) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            return self._draft_view(session, self._visible_draft(session, actor, draft_id), full=True)

    def list_drafts(self, actor: Actor) -> list[dict[str, Any]]:
        """Drafts I take part in, and drafts waiting at a step I may act on."""
        with self._unit_of_work(actor) as session:
            mine = select(DraftParticipant.draft_id).where(DraftParticipant.user_id == actor.user_id)
            rows = list(session.scalars(select(Draft).where(or_(Draft.id.in_(mine), Draft.status == "in_review"))))
            visible = [d for d in rows if self._can_see(session, actor, d)]
            visible.sort(key=lambda d: domain.list_order(d.priority, None, d.created_at))
            return [self._draft_view(session, d) for d in visible]

    # -- draft helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _steps(draft: Draft) -> list[ChainStep]:
        return parse_chain(draft.chain)

    def _version(self, session: Session, draft: Draft) -> DraftVersion:
        return session.scalars(select(DraftVersion).where(DraftVersion.draft_id == draft.id,
                                                          DraftVersion.number == draft.version)).one()

    def _add_participant(self, session: Session, draft: Draft, user_id: str, role: str) -> None:
        if not session.scalar(select(DraftParticipant.id).where(DraftParticipant.draft_id == draft.id,
                                                                DraftParticipant.user_id == user_id)):
            session.add(DraftParticipant(draft_id=draft.id, user_id=user_id, role=role))
            session.flush()

    def _comment(self, session: Session, draft: Draft, user_id: str, on_behalf_of: str | None, kind: str,
                 text: str, step: str | None = None) -> None:
        session.add(DraftComment(draft_id=draft.id, user_id=user_id, on_behalf_of=on_behalf_of, kind=kind,
                                 step=step, version=draft.version, text=text or "", at=self._now()))

    def _current_step_admits(self, session: Session, actor: Actor, draft: Draft) -> Authority | None:
        if draft.status != "in_review" or draft.step is None:
            return None
        step = self._steps(draft)[draft.step]
        if step.admits(actor, draft.unit):
            return Authority(actor.user_id)
        if step.signs:
            try:
                return self._authority(session, actor, Scope.APPROVE)
            except Forbidden:
                return None
        return None

    def _can_see(self, session: Session, actor: Actor, draft: Draft) -> bool:
        if session.scalar(select(DraftParticipant.id).where(DraftParticipant.draft_id == draft.id,
                                                            DraftParticipant.user_id == actor.user_id)):
            return True
        return self._current_step_admits(session, actor, draft) is not None

    def _visible_draft(self, session: Session, actor: Actor, draft_id: int) -> Draft:
        draft = session.get(Draft, int(draft_id))
        # Same answer for "absent" and "not yours": a draft's existence is not public either.
        if draft is None or not self._can_see(session, actor, draft):
            raise NotFound("Không tìm thấy dự thảo, hoặc bạn không tham gia xử lý dự thảo này.", draft_id=draft_id)
        return draft

    @staticmethod
    def _require_author(actor: Actor, draft: Draft) -> None:
        if draft.drafted_by != actor.user_id:
            raise Forbidden("Chỉ người soạn thảo mới thực hiện được thao tác này.", user=actor.username,
                            draft_id=draft.id)

    def _reviewer(self, session: Session, actor: Actor, draft_id: int) -> tuple[Draft, ChainStep, Authority]:
        draft = self._visible_draft(session, actor, draft_id)
        if draft.status != "in_review" or draft.step is None:
            raise Conflict("Dự thảo không ở trạng thái chờ duyệt.", status=draft.status, draft_id=draft_id)
        step = self._steps(draft)[draft.step]
        authority = self._current_step_admits(session, actor, draft)
        if authority is None:
            require_step(step, actor, draft.unit)
            raise AssertionError("unreachable")
        return draft, step, authority

    def _notify_step(self, session: Session, draft: Draft, step: ChainStep) -> None:
        people = [s.user_id for s in session.scalars(select(Staff).where(Staff.active))
                  if step.admits_person(set(s.roles or []), s.unit, draft.unit)]
        notify(session, people, "review", f"{domain.urgency_prefix(draft.priority)}Dự thảo chờ duyệt ({step.label}): "
               f"{draft.title}", ref_kind="draft", ref_id=draft.id)

    def _draft_view(self, session: Session, draft: Draft, full: bool = False) -> dict[str, Any]:
        steps = self._steps(draft) if draft.chain else []
        version = self._version(session, draft)
        view = {
            "draft_id": draft.id, "title": draft.title, "type_code": draft.type_code, "priority": draft.priority,
            "status": draft.status, "drafted_by": draft.drafted_by, "unit": draft.unit,
            "answers": list(draft.answers or []), "version": draft.version, "pdf_sha256": version.pdf_sha256,
            "appendix_sha256s": list(version.appendix_sha256s or []),
            "step": steps[draft.step].to_dict() if steps and draft.step is not None else None,
            "signed_sha256": draft.signed_sha256, "signed_by": draft.signed_by,
            "signed_on_behalf_of": draft.signed_on_behalf_of, "updated_at": _iso(draft.updated_at),
        }
        if full:
            view["versions"] = [{"number": v.number, "pdf_sha256": v.pdf_sha256,
                                 "appendix_sha256s": v.appendix_sha256s, "uploaded_by": v.uploaded_by,
                                 "note": v.note, "at": _iso(v.created_at)} for v in session.scalars(
                select(DraftVersion).where(DraftVersion.draft_id == draft.id).order_by(DraftVersion.number))]
            view["comments"] = [{"user_id": c.user_id, "on_behalf_of": c.on_behalf_of, "kind": c.kind,
                                 "step": c.step, "version": c.version, "text": c.text, "at": _iso(c.at)}
                                for c in session.scalars(select(DraftComment).where(
                                    DraftComment.draft_id == draft.id).order_by(DraftComment.id))]
            view["participants"] = sorted(p.user_id for p in session.scalars(
                select(DraftParticipant).where(DraftParticipant.draft_id == draft.id)))
            view["chain"] = [s.to_dict() for s in steps]
        return view

    # == tasks =====================================================================================================

    def create_task(self, actor: Actor, title: str, assignee: str | None = None, description: str = "",
                    coordinators: list[str] | None = None, due: str | None = None, priority: int = 0,
                    links: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Anyone creates a task for themselves; leaders assign anyone; department heads their unit's staff."""
        if not (title or "").strip():
            raise ValidationFailed("Tên công việc không được để trống.")
        with self._unit_of_work(actor) as session:
            assignee = assignee or actor.user_id
            authority = Authority(actor.user_id)
            if assignee != actor.user_id:
                target = self._staff(session, assignee)
                if actor.has(Role.DEPARTMENT_HEAD) and not actor.has(Role.LEADER):
                    domain.require_same_unit(actor, target.unit, "giao công việc")
                elif not actor.has(Role.DEPARTMENT_HEAD):
                    authority = self._authority(session, actor, Scope.ASSIGN)
            cfg = self._config(session)
            deadline = domain.parse_deadline(due, self._calendar(cfg))
            now = self._now()
            staff = session.get(Staff, assignee)
            task = Task(title=title.strip(), description=description, priority=priority,
                        created_by=actor.user_id, on_behalf_of=authority.on_behalf_of, assignee=assignee,
                        unit=staff.unit if staff else None, due=_utc(deadline), status="open", progress=0,
                        created_at=now)
            session.add(task)
            session.flush()
            members = {actor.user_id: "creator", **{c: "coordinator" for c in coordinators or []},
                       assignee: "assignee"}
            for user_id, kind in members.items():
                if kind == "coordinator":
                    self._staff(session, user_id)
                session.add(TaskMember(task_id=task.id, user_id=user_id, kind=kind))
            for link in links or []:
                session.add(Link(from_kind="task", from_id=str(task.id), to_kind=link["kind"], to_id=str(link["id"]),
                                 created_by=actor.user_id, created_at=now))
            session.flush()
            notify(session, [u for u in members if u != actor.user_id], "task",
                   f"{domain.urgency_prefix(priority)}Công việc mới: {task.title}", description, "task", task.id)
            return self._task_view(session, task)

    def comment_task(self, actor: Actor, task_id: int, text: str) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            task = self._task_for(session, actor, task_id)
            session.add(TaskComment(task_id=task.id, user_id=actor.user_id, kind="comment", text=text, at=self._now()))
            notify(session, [m for m in self._task_members(session, task) if m != actor.user_id], "task_comment",
                   f"Ý kiến về công việc: {task.title}", text, "task", task.id)
            return self._task_view(session, task)

    def task_progress(self, actor: Actor, task_id: int, progress: int, note: str = "") -> dict[str, Any]:
        if not 0 <= int(progress) <= 100:
            raise ValidationFailed("Tiến độ phải từ 0 đến 100%.", progress=progress)
        with self._unit_of_work(actor) as session:
            task = self._task_for(session, actor, task_id)
            if actor.user_id != task.assignee:
                raise Forbidden("Chỉ người được giao mới cập nhật tiến độ.", user=actor.username, task_id=task_id)
            if task.status == "closed":
                raise Conflict("Công việc đã kết thúc.", task_id=task_id)
            task.progress = int(progress)
            session.add(TaskComment(task_id=task.id, user_id=actor.user_id, kind="progress", progress=task.progress,
                                    text=note, at=self._now()))
            return self._task_view(session, task)

    def close_task(self, actor: Actor, task_id: int, note: str = "") -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            task = self._task_for(session, actor, task_id)
            if actor.user_id not in (task.assignee, task.created_by):
                raise Forbidden("Chỉ người giao hoặc người được giao mới kết thúc công việc.", user=actor.username)
            if task.status != "closed":
                task.status, task.closed_at = "closed", self._now()
                session.add(TaskComment(task_id=task.id, user_id=actor.user_id, kind="close", text=note,
                                        at=self._now()))
            return self._task_view(session, task)

    def get_task(self, actor: Actor, task_id: int) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            return self._task_view(session, self._task_for(session, actor, task_id), full=True)

    def list_tasks(self, actor: Actor, include_closed: bool = False) -> list[dict[str, Any]]:
        with self._unit_of_work(actor) as session:
            sub = select(TaskMember.task_id).where(TaskMember.user_id == actor.user_id)
            query = select(Task).where(Task.id.in_(sub))
            if not include_closed:
                query = query.where(Task.status != "closed")
            rows = list(session.scalars(query))
            rows.sort(key=lambda t: domain.list_order(t.priority, t.due, t.created_at))
            return [self._task_view(session, t) for t in rows]

    def _task_members(self, session: Session, task: Task) -> list[str]:
        return list(session.scalars(select(TaskMember.user_id).where(TaskMember.task_id == task.id)))

    def _task_for(self, session: Session, actor: Actor, task_id: int) -> Task:
        task = session.get(Task, int(task_id))
        if task is None:
            raise NotFound("Không tìm thấy công việc.", task_id=task_id)
        if actor.user_id in self._task_members(session, task) or actor.has(Role.LEADER):
            return task
        if actor.has(Role.DEPARTMENT_HEAD) and task.unit == actor.unit:
            return task
        raise Forbidden("Bạn không tham gia công việc này.", user=actor.username, task_id=task_id)

    def _task_view(self, session: Session, task: Task, full: bool = False) -> dict[str, Any]:
        cfg = self._config(session)
        view = {"task_id": task.id, "title": task.title, "description": task.description, "priority": task.priority,
                "created_by": task.created_by, "on_behalf_of": task.on_behalf_of, "assignee": task.assignee,
                "unit": task.unit, "due": _iso(task.due), "status": task.status, "progress": task.progress,
                "due_state": self._calendar(cfg).due_state(task.due, self._now(), cfg.due_soon_hours)
                if task.status != "closed" else None}
        if full:
            view["members"] = [{"user_id": m.user_id, "kind": m.kind} for m in session.scalars(
                select(TaskMember).where(TaskMember.task_id == task.id).order_by(TaskMember.id))]
            view["comments"] = [{"user_id": c.user_id, "kind": c.kind, "progress": c.progress, "text": c.text,
                                 "at": _iso(c.at)} for c in session.scalars(
                select(TaskComment).where(TaskComment.task_id == task.id).order_by(TaskComment.id))]
            view["links"] = self._links(session, "task", str(task.id))
        return view

    # == internal notices ==========================================================================================

    def publish_notice(self, actor: Actor, title: str, body: str = "",
                       units: list[str] | None = None) -> dict[str, Any]:
        actor.require(Role.LEADER, Role.CLERK, Role.ADMIN, Role.DEPARTMENT_HEAD)
        if actor.has(Role.DEPARTMENT_HEAD) and not actor.has(Role.LEADER, Role.CLERK, Role.ADMIN):
            for unit in units or [None]:  # a department head publishes only to their own unit
                domain.require_same_unit(actor, unit, "gửi thông báo")
        if not (title or "").strip():
            raise ValidationFailed("Tiêu đề thông báo không được để trống.")
        with self._unit_of_work(actor) as session:
            notice = Notice(title=title.strip(), body=body, units=list(units) if units else None,
                            published_by=actor.user_id, published_at=self._now())
            session.add(notice)
            session.flush()
            audience = [s.user_id for s in session.scalars(select(Staff).where(Staff.active))
                        if not units or s.unit in units]
            notify(session, [u for u in audience if u != actor.user_id], "notice", f"Thông báo: {notice.title}",
                   body, "notice", notice.id)
            return self._notice_view(session, notice, actor)

    def list_notices(self, actor: Actor) -> list[dict[str, Any]]:
        with self._unit_of_work(actor) as session:
            rows = session.scalars(select(Notice).order_by(Notice.published_at.desc()))
            return [self._notice_view(session, n, actor) for n in rows if self._notice_for(n, actor)]

    def read_notice(self, actor: Actor, notice_id: int) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            notice = session.get(Notice, int(notice_id))
            if notice is None or not self._notice_for(notice, actor):
                raise NotFound("Không tìm thấy thông báo.", notice_id=notice_id)
            if not session.scalar(select(NoticeRead.id).where(NoticeRead.notice_id == notice.id,
                                                              NoticeRead.user_id == actor.user_id)):
                session.add(NoticeRead(notice_id=notice.id, user_id=actor.user_id, read_at=self._now()))
                session.flush()
            return self._notice_view(session, notice, actor)

    def notice_readers(self, actor: Actor, notice_id: int) -> dict[str, Any]:
        """Who read a notice, and who in its audience has not yet (publisher and leaders)."""
        with self._unit_of_work(actor) as session:
            notice = session.get(Notice, int(notice_id))
            if notice is None:
                raise NotFound("Không tìm thấy thông báo.", notice_id=notice_id)
            if actor.user_id != notice.published_by and not actor.has(Role.LEADER):
                raise Forbidden("Chỉ người gửi hoặc lãnh đạo xem được danh sách đã đọc.", user=actor.username)
            reads = {r.user_id: _iso(r.read_at) for r in session.scalars(
                select(NoticeRead).where(NoticeRead.notice_id == notice.id))}
            audience = sorted(s.user_id for s in session.scalars(select(Staff).where(Staff.active))
                              if (not notice.units or s.unit in notice.units) and s.user_id != notice.published_by)
            return {"notice_id": notice.id, "read": [{"user_id": u, "read_at": t} for u, t in sorted(reads.items())],
                    "not_read": [u for u in audience if u not in reads]}

    @staticmethod
    def _notice_for(notice: Notice, actor: Actor) -> bool:
        return not notice.units or actor.unit in notice.units or actor.user_id == notice.published_by

    def _notice_view(self, session: Session, notice: Notice, actor: Actor) -> dict[str, Any]:
        read = session.scalar(select(NoticeRead.read_at).where(NoticeRead.notice_id == notice.id,
                                                               NoticeRead.user_id == actor.user_id))
        return {"notice_id": notice.id, "title": notice.title, "body": notice.body, "units": notice.units,
                "published_by": notice.published_by, "published_at": _iso(notice.published_at),
                "read_at": _iso(read)}

    # == delegation ================================================================================================

    def delegate(self, actor: Actor, delegate_user_id: str, starts_at: str, ends_at: str,
                 scopes: list[str] | None = None, note: str = "") -> dict[str, Any]:
        """A leader lets someone assign and/or approve in their name for a period."""
        actor.require(Role.LEADER)
        scopes = sorted(set(scopes or [Scope.ASSIGN.value, Scope.APPROVE.value]))
        if not set(scopes) <= {s.value for s in Scope}:
            raise ValidationFailed("Phạm vi ủy quyền không hợp lệ.", scopes=scopes)
        start = domain.parse_instant(starts_at, "Ngày bắt đầu ủy quyền")
        end = domain.parse_instant(ends_at, "Ngày kết thúc ủy quyền")
        domain.check_delegation_period(start, end)
        if delegate_user_id == actor.user_id:
            raise ValidationFailed("Không thể tự ủy quyền cho chính mình.")
        with self._unit_of_work(actor) as session:
            self._staff(session, delegate_user_id)
            row = Delegation(leader_user_id=actor.user_id, delegate_user_id=delegate_user_id, scopes=scopes,
                             starts_at=_utc(start), ends_at=_utc(end), note=note, created_at=self._now())
            session.add(row)
            session.flush()
            notify(session, [delegate_user_id], "delegation",
                   f"Bạn được ủy quyền từ {_iso(start)} đến {_iso(end)}", note, "delegation", row.id)
            return self._delegation_view(row)

    def revoke_delegation(self, actor: Actor, delegation_id: int) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            row = session.get(Delegation, int(delegation_id))
            if row is None or row.leader_user_id != actor.user_id:
                raise NotFound("Không tìm thấy ủy quyền của bạn.", delegation_id=delegation_id)
            if row.revoked_at is None:
                row.revoked_at = self._now()
            return self._delegation_view(row)

    def list_delegations(self, actor: Actor) -> list[dict[str, Any]]:
        with self._unit_of_work(actor) as session:
            rows = session.scalars(select(Delegation).where(or_(
                Delegation.leader_user_id == actor.user_id, Delegation.delegate_user_id == actor.user_id))
                .order_by(Delegation.id))
            return [self._delegation_view(r) for r in rows]

    def _delegation_view(self, row: Delegation) -> dict[str, Any]:
        now = self._now()
        active = row.revoked_at is None and to_vn(row.starts_at) <= to_vn(now) < to_vn(row.ends_at)
        return {"delegation_id": row.id, "leader_user_id": row.leader_user_id,
                "delegate_user_id": row.delegate_user_id, "scopes": row.scopes, "starts_at": _iso(row.starts_at),
                "ends_at": _iso(row.ends_at), "revoked_at": _iso(row.revoked_at), "active": active}

    # == leaders' view, reminders, notifications ======================================================================

    def unit_progress(self, actor: Actor, unit: str | None = None) -> list[dict[str, Any]]:
        """Progress and overdue items per unit: leaders see every unit, department heads their own."""
        if actor.has(Role.LEADER):
            pass
        elif actor.has(Role.DEPARTMENT_HEAD):
            domain.require_same_unit(actor, unit or actor.unit, "xem tiến độ")
            unit = actor.unit
        else:
            actor.require(Role.LEADER, Role.DEPARTMENT_HEAD)
        with self._unit_of_work(actor) as session:
            cfg = self._config(session)
            calendar = self._calendar(cfg)
            now = self._now()
            staff_units = {s.user_id: s.unit for s in session.scalars(select(Staff))}
            per_unit: dict[str, list[dict[str, Any]]] = {}
            query = select(Handling, Assignment).join(Assignment, Assignment.handling_id == Handling.id).where(
                Assignment.kind == AssignmentKind.MAIN, Assignment.active)
            seen: set[tuple[str, int]] = set()
            for handling, assignment in session.execute(query):
                owner_unit = assignment.unit or staff_units.get(assignment.user_id or "") or ""
                if (unit and owner_unit != unit) or (owner_unit, handling.id) in seen:
                    continue
                seen.add((owner_unit, handling.id))
                due_state = (calendar.due_state(handling.deadline, now, cfg.due_soon_hours)
                             if handling.status != HandlingStatus.DONE else None)
                per_unit.setdefault(owner_unit, []).append({
                    "incoming_id": handling.incoming_id, "subject": handling.subject, "priority": handling.priority,
                    "status": handling.status, "deadline": _iso(handling.deadline), "due_state": due_state,
                    "handler": assignment.user_id or assignment.unit,
                    "_order": domain.list_order(handling.priority, handling.deadline, handling.registered_at)})
            out = []
            for unit_code, items in sorted(per_unit.items()):
                items.sort(key=lambda i: i.pop("_order"))
                out.append({"unit": unit_code, **domain.progress_summary(items),
                            "overdue_items": [i for i in items if i["due_state"] == "overdue"],
                            "due_soon_items": [i for i in items if i["due_state"] == "due_soon"]})
            return out

    def run_reminders(self, actor: Actor) -> dict[str, int]:
        """Due-soon and overdue reminders for open handlings and tasks, once per item, state and person."""
        actor.require(Role.SYSTEM, Role.ADMIN)
        counts = {"due_soon": 0, "overdue": 0}
        with self._unit_of_work(actor) as session:
            cfg = self._config(session)
            calendar = self._calendar(cfg)
            now = self._now()
            active = [s.value for s in domain.ACTIVE_STATES]
            for handling in session.scalars(select(Handling).where(Handling.status.in_(active),
                                                                   Handling.deadline.is_not(None))):
                state = calendar.due_state(handling.deadline, now, cfg.due_soon_hours)
                if state in counts:
                    counts[state] += notify(
                        session, self._main_handlers(session, handling), state, self._reminder_title(
                            state, handling.priority, handling.subject),
                        f"Hạn xử lý: {_iso(handling.deadline)}", "incoming", handling.incoming_id,
                        dedupe_key=f"{state}:incoming:{handling.incoming_id}")
            for task in session.scalars(select(Task).where(Task.status == "open", Task.due.is_not(None))):
                state = calendar.due_state(task.due, now, cfg.due_soon_hours)
                if state in counts:
                    counts[state] += notify(
                        session, [task.assignee], state, self._reminder_title(state, task.priority, task.title),
                        f"Hạn hoàn thành: {_iso(task.due)}", "task", task.id, dedupe_key=f"{state}:task:{task.id}")
        return counts

    @staticmethod
    def _reminder_title(state: str, priority: int, subject: str) -> str:
        what = "Sắp đến hạn xử lý" if state == "due_soon" else "Đã quá hạn xử lý"
        return f"{domain.urgency_prefix(priority)}{what}: {subject}"

    def list_notifications(self, actor: Actor, unread_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        with self._unit_of_work(actor) as session:
            query = select(Notification).where(Notification.user_id == actor.user_id)
            if unread_only:
                query = query.where(Notification.read_at.is_(None))
            rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit))
            return [{"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "ref_kind": n.ref_kind,
                     "ref_id": n.ref_id, "created_at": _iso(n.created_at), "read_at": _iso(n.read_at),
                     "email_state": n.email_state} for n in rows]

    def mark_notification_read(self, actor: Actor, notification_id: int) -> bool:
        with self._unit_of_work(actor) as session:
            row = session.get(Notification, int(notification_id))
            if row is None or row.user_id != actor.user_id:
                raise NotFound("Không tìm thấy thông báo.", notification_id=notification_id)
            if row.read_at is None:
                row.read_at = self._now()
            return True
