"""Handling an incoming document: submit, direct, assign, forward, keep, close, wait, resume, opinions, read marks,
and the links between records.

A chapter of the Routing application (app.py); the methods use the shared plumbing of base.RoutingBase and, where
noted, methods of the other chapters through the composed class.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.common.outbox import enqueue
from services.routing import domain
from services.routing.base import _iso, _utc
from services.routing.domain import AssignmentKind, Authority, HandlingStatus, Outcome, Scope
from services.routing.models import (
    AgencyConfig,
    Assignment,
    Draft,
    Handling,
    HandlingEvent,
    UnitName,
)
from services.routing.notify import notify


class IncomingHandling:
    def on_incoming_registered(self, actor: Actor, event: dict[str, Any]) -> int:
        """The registry accepted an incoming document: open its handling record (idempotent)."""
        actor.require(Role.SYSTEM, Role.CLERK)
        with self._unit_of_work(actor) as session:
            incoming_id = str(event["incoming_id"])
            existing = session.scalar(select(Handling).where(Handling.incoming_id == incoming_id))
            if existing is not None:
                return existing.id
            due_date = event.get("due_date")
            # The calendar only places a due date given as a day at its end: without one, the agency's
            # configuration is not read (a statement of every registration).
            document_due = domain.parse_deadline(due_date, self._calendar(self._config(session))) if due_date else None
            doc = domain.parse_document_id(event.get("document_id") or "")
            sender = event.get("sender") or {}
            now = self._now()
            handling = Handling(
                incoming_id=incoming_id, document_id=event.get("document_id") or "",
                subject=event.get("subject") or "", priority=int(event.get("priority") or 0),
                registered_at=_utc(domain.parse_instant(event["registered_at"], "Thời điểm vào sổ"))
                if event.get("registered_at") else now,
                document_due=_utc(document_due),
                external=domain.is_external(event),
                sender_organ_id=sender.get("organ_id") or doc["organ_id"],
                sender_organ_name=sender.get("organ_name") or "",
                doc_code=event.get("code") or doc["code"],
                promulgation_date=event.get("promulgation_date") or doc["promulgation_date"],
                status=HandlingStatus.RECEIVED, created_at=now, updated_at=now)
            session.add(handling)
            session.flush()
            # credited to the clerk who registered it (the registry names them); the event itself is the system's
            registrar = str(event.get("registered_by") or actor.user_id)
            self._history(session, handling, "registered", registrar, None, None,
                          {"priority": handling.priority})
            if domain.is_urgent(handling.priority):
                # Urgent documents are forwarded at once [000 Đ5.3]: tell the clerks it is waiting for them.
                notify(session, self._people_with(session, Role.CLERK.value), "urgent",
                       f"{domain.urgency_prefix(handling.priority)}Văn bản đến cần trình ngay: {handling.subject}",
                       ref_kind="incoming", ref_id=incoming_id)
            return handling.id

    def submit_incoming(self, actor: Actor, incoming_id: str, to_user_id: str | None = None,
                        note: str = "", happened_at: str | None = None) -> dict[str, Any]:
        """The clerk submits the document to the leader (or to the agency's distributor); `happened_at`: submitted
        on paper during an outage, entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2)."""
        actor.require(Role.CLERK)
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            late, _ = self._late_step(session, handling, happened_at)
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
            self._history(session, handling, "submitted", actor.user_id, None, note, {"to": target}, late)
            prefix = domain.urgency_prefix(handling.priority)
            notify(session, [target], "urgent" if prefix else "submitted",
                   f"{prefix}Văn bản đến chờ bút phê: {handling.subject}", note, "incoming", incoming_id)
            return self._handling_view(session, handling)

    def direct_incoming(self, actor: Actor, incoming_id: str, directive: str, main: dict[str, str],
                        coordinators: list[dict[str, str]] | None = None,
                        readers: list[dict[str, str]] | None = None,
                        deadline: str | None = None, happened_at: str | None = None) -> dict[str, Any]:
        """The leader's directive (bút phê): main handler, coordinators, readers, deadline; sends 04. `happened_at`:
        a directive given on paper during an outage, entered afterwards (late entry)."""
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            late, _ = self._late_step(session, handling, happened_at)
            cfg = self._config(session)
            if actor.user_id == cfg.distributor_user_id and not actor.on_behalf_of:
                authority = Authority(actor.user_id)  # the agency's distributor may route without a delegation
            else:
                authority = self._authority(session, actor, Scope.ASSIGN)
            if handling.status == HandlingStatus.ASSIGNED and handling.directive == directive:
                return self._handling_view(session, handling)  # retried call
            self._apply_directive(session, handling, cfg, authority, actor, directive, main, coordinators, readers,
                                  deadline, late)
            return self._handling_view(session, handling)

    def _apply_directive(self, session: Session, handling: Handling, cfg: AgencyConfig, authority: Authority,
                         status_actor: Actor, directive: str, main: dict[str, str],
                         coordinators: list[dict[str, str]] | None, readers: list[dict[str, str]] | None,
                         deadline: str | None, late: datetime | None, entered: dict[str, Any] | None = None) -> None:
        """The directive recorded as `authority`'s, whoever typed it: the leader, a delegate, or (`entered`: who
        typed it) someone entering the leader's paper directive for them (entry.py). `status_actor` names the
        person in the 04 status sent to an external sender."""
        domain.require_state(handling.status, {HandlingStatus.RECEIVED, HandlingStatus.SUBMITTED}, "phân công xử lý")
        if not (directive or "").strip():
            raise ValidationFailed("Bút phê không được để trống.", incoming_id=handling.incoming_id)
        calendar = self._calendar(cfg)
        now = late or self._now()
        due, source = domain.handling_deadline(
            leader=domain.set_deadline(deadline, calendar, now), document=handling.document_due,
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
            self._assign(session, handling, kind, target, authority, at=late)
        self._history(session, handling, "directed", authority.user_id, authority.on_behalf_of, directive,
                      {"deadline": _iso(due), "deadline_source": source, **(entered or {})}, late)
        self._status(session, handling, domain.STATUS_ASSIGNED, status_actor, cfg)

    def _assign(self, session: Session, handling: Handling, kind: AssignmentKind, target: dict[str, str],
                authority: Authority, note: str | None = None, at: datetime | None = None) -> Assignment:
        """`at`: the real time of a step entered late, from when the person held the document (the reports of who
        kept a document too long count from it, not from when the step was typed in)."""
        user_id, unit = target.get("user_id"), target.get("unit")
        if bool(user_id) == bool(unit):
            raise ValidationFailed("Mỗi người nhận phải là một cán bộ hoặc một đơn vị.", target=target)
        if user_id:
            self._staff(session, user_id)
        elif (named := session.get(UnitName, (unit or "").upper())) is not None and named.active is False:
            raise ValidationFailed(f"Đơn vị {named.name} đã ngừng hoạt động; chọn đơn vị khác.", code="unit_retired",
                                   field="unit", value=unit)
        elif not self._unit_heads(session, unit):  # type: ignore[arg-type]
            raise ValidationFailed("Đơn vị được giao chưa có lãnh đạo phòng để nhận văn bản.", unit=unit)
        row = Assignment(handling_id=handling.id, kind=kind, user_id=user_id, unit=unit,
                         assigned_by=authority.user_id, on_behalf_of=authority.on_behalf_of, note=note,
                         active=True, created_at=_utc(at) if at else self._now())
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

    def reassign_incoming(self, actor: Actor, incoming_id: str, user_id: str | None, kind: str = "main",
                          note: str = "", happened_at: str | None = None, unit: str | None = None) -> dict[str, Any]:
        """Giao lại: a department head hands a document of their unit to one of their staff, or to a unit under
        theirs (whose heads then hand it on), and so down the tree: "Lãnh đạo các đơn vị trực thuộc Sở chuyển cho
        lãnh đạo các phòng thuộc đơn vị trực thuộc; lãnh đạo các phòng thuộc đơn vị trực thuộc chuyển công chức,
        viên chức thực hiện" (Bình Định QĐ 376 Đ4.1 Bước 3). `happened_at`: a late entry."""
        actor.require(Role.DEPARTMENT_HEAD)
        kind_enum = AssignmentKind(kind)
        if bool(user_id) == bool(unit):
            raise ValidationFailed("Chọn một cán bộ hoặc một đơn vị trực thuộc để giao.", user_id=user_id, unit=unit)
        unit = (unit or "").upper() or None
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            late, _ = self._late_step(session, handling, happened_at)
            domain.require_state(handling.status, domain.ACTIVE_STATES, "giao lại văn bản")
            tree = self._unit_tree(session)
            if not any(self._may_hand_down(actor, a, tree) for a in self._assignments(session, handling)):
                domain.require_same_unit(actor, None, "giao lại văn bản được giao cho đơn vị", tree)
            target_unit = unit or self._staff(session, user_id or "").unit
            domain.require_same_unit(actor, target_unit, "giao việc cho cán bộ" if user_id else "giao việc", tree)
            if unit and unit == (actor.unit or "").upper():
                raise ValidationFailed("Văn bản đã ở đơn vị của đồng chí: chọn cán bộ hoặc đơn vị trực thuộc.",
                                       unit=unit)
            if any((a.user_id, a.unit) == (user_id or None, unit) and a.kind == kind_enum
                   for a in self._assignments(session, handling)):
                return self._handling_view(session, handling)  # retried call
            if kind_enum == AssignmentKind.MAIN:
                self._hand_down(session, handling, actor, tree)
            target = {"user_id": user_id} if user_id else {"unit": unit}
            self._assign(session, handling, kind_enum, target, Authority(actor.user_id), note,  # type: ignore[arg-type]
                         at=late)
            self._touch(handling)
            data = {"to": user_id, "kind": kind} if user_id else {"to_unit": unit, "kind": kind}
            self._history(session, handling, "reassigned", actor.user_id, None, note, data, late)
            return self._handling_view(session, handling)

    def _may_hand_down(self, actor: Actor, a: Assignment, tree: domain.UnitTree) -> bool:
        """What a head may give on: their unit's (or a sub-unit's) assignment, or the main handling given to them in
        person (the head of a Chi cục named by the leader hands it to a phòng)."""
        if a.user_id:
            return a.user_id == actor.user_id and a.kind == AssignmentKind.MAIN
        return self._holds(actor, a, tree)

    def _hand_down(self, session: Session, handling: Handling, actor: Actor, tree: domain.UnitTree) -> None:
        """The main handling moves down from whoever had it below the actor: personal main assignments end (as
        before units nested), and so do those of units strictly under the actor's; the actor's unit keeps its
        own, so that it still sees and oversees the item."""
        own = (actor.unit or "").upper()
        for a in self._assignments(session, handling):
            if a.kind != AssignmentKind.MAIN:
                continue
            if a.user_id or (a.unit and a.unit.upper() != own and tree.within(a.unit, own)):
                a.active = False

    def forward_incoming(self, actor: Actor, incoming_id: str, to_user_id: str, note: str = "",
                         happened_at: str | None = None) -> dict[str, Any]:
        """The main handler passes the main handling to the next person (`happened_at`: a late entry)."""
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            late, _ = self._late_step(session, handling, happened_at)
            self._require_main_handler(session, actor, handling)
            self._staff(session, to_user_id)
            self._start(session, handling, actor, late)
            for a in self._assignments(session, handling):
                if a.kind == AssignmentKind.MAIN and a.user_id == actor.user_id:
                    a.active = False
            self._assign(session, handling, AssignmentKind.MAIN, {"user_id": to_user_id},
                         Authority(actor.user_id), note, at=late)
            self._history(session, handling, "forwarded", actor.user_id, None, note, {"to": to_user_id}, late)
            return self._handling_view(session, handling)

    def keep_for_reference(self, actor: Actor, incoming_id: str, note: str = "",
                           happened_at: str | None = None) -> dict[str, Any]:
        return self._finish(actor, incoming_id, Outcome.KEPT, note, happened_at)

    def close_no_action(self, actor: Actor, incoming_id: str, reason: str,
                        happened_at: str | None = None) -> dict[str, Any]:
        if not (reason or "").strip():
            raise ValidationFailed("Phải ghi lý do khi kết thúc văn bản không cần xử lý.", incoming_id=incoming_id)
        return self._finish(actor, incoming_id, Outcome.NO_ACTION, reason, happened_at)

    def _finish(self, actor: Actor, incoming_id: str, outcome: Outcome, note: str,
                happened_at: str | None = None) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            if handling.status == HandlingStatus.DONE and handling.outcome == outcome:
                return self._handling_view(session, handling)
            late, _ = self._late_step(session, handling, happened_at)
            self._require_main_handler(session, actor, handling)
            self._start(session, handling, actor, late)
            self._close(session, handling, outcome, note, actor, late)
            return self._handling_view(session, handling)

    def _close(self, session: Session, handling: Handling, outcome: Outcome, note: str | None,
               actor: Actor, late: datetime | None = None) -> None:
        handling.status, handling.outcome, handling.outcome_note = HandlingStatus.DONE, outcome, note
        handling.done_at = _utc(late) if late else self._now()
        self._touch(handling)
        self._history(session, handling, f"done_{outcome}", actor.user_id, None, note, {}, late)
        self._status(session, handling, domain.STATUS_DONE, actor, self._config(session),
                     description=f"Hoàn thành xử lý văn bản đến: {domain.OUTCOME_LABELS_VI[outcome]}")

    def mark_waiting(self, actor: Actor, incoming_id: str, note: str,
                     happened_at: str | None = None) -> dict[str, Any]:
        """Tạm dừng chờ (`happened_at`: paused on paper during an outage, entered afterwards)."""
        if not (note or "").strip():
            raise ValidationFailed("Phải ghi chú lý do tạm dừng chờ.", incoming_id=incoming_id)
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            self._require_main_handler(session, actor, handling)
            late, retried = self._late_step(session, handling, happened_at, "waiting", actor.user_id)
            if retried:
                return self._handling_view(session, handling)
            self._start(session, handling, actor, late)
            handling.status, handling.waiting_note = HandlingStatus.WAITING, note
            self._history(session, handling, "waiting", actor.user_id, None, note, {}, late)
            return self._handling_view(session, handling)

    def resume_incoming(self, actor: Actor, incoming_id: str, note: str = "",
                        happened_at: str | None = None) -> dict[str, Any]:
        """Tiếp tục xử lý (`happened_at`: resumed on paper during an outage, entered afterwards)."""
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            self._require_main_handler(session, actor, handling)
            late, retried = self._late_step(session, handling, happened_at, "resumed", actor.user_id)
            if retried:
                return self._handling_view(session, handling)
            self._start(session, handling, actor, late)
            self._history(session, handling, "resumed", actor.user_id, None, note, {}, late)
            return self._handling_view(session, handling)

    def send_opinion(self, actor: Actor, incoming_id: str, text: str,
                     happened_at: str | None = None) -> dict[str, Any]:
        """A coordinator sends an opinion to the main handler (`happened_at`: an opinion given on paper during an
        outage, entered afterwards)."""
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
            late, retried = self._late_step(session, handling, happened_at, "opinion", actor.user_id)
            if retried:
                return self._handling_view(session, handling)
            self._history(session, handling, "opinion", actor.user_id, None, text, {}, late)
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
        """An outgoing document was issued: its draft shows "Đã ban hành" with the number, the incoming
        documents it answers are handled (06 to external senders) and the agency's units it was sent to have it
        (unit_documents.py). Idempotent."""
        actor.require(Role.SYSTEM, Role.CLERK)
        closed, told = [], set()
        with self._unit_of_work(actor) as session:
            draft = session.get(Draft, int(event["draft_id"])) if str(event.get("draft_id") or "").isdigit() else None
            if draft is not None and draft.status != "issued":
                told.add(draft.drafted_by)
                draft.status, draft.outgoing_id = "issued", str(event.get("outgoing_id") or "")
                draft.issued_number = str(event.get("number") or "")[:60] or None
                draft.issued_at = self._now()
                draft.updated_at = self._now()
                notify(session, [draft.drafted_by], "issued",
                       f"Văn bản đã được ban hành: số {draft.issued_number or ''} — {draft.title}",
                       ref_kind="draft", ref_id=draft.id)
            for incoming_id in event.get("answers") or []:
                handling = session.scalar(select(Handling).where(Handling.incoming_id == str(incoming_id)))
                if handling is None or handling.status == HandlingStatus.DONE:
                    continue  # unknown here or already closed: a redelivered event changes nothing
                if handling.started_at is None and handling.status in domain.ACTIVE_STATES:
                    self._start(session, handling, actor)
                handling.answered_by = str(event.get("outgoing_id"))
                self._close(session, handling, Outcome.ANSWERED, f"Văn bản đi {handling.answered_by}", actor)
                closed.append(handling.incoming_id)
            self._issued_to_units(session, event, told)
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
    def _holds(actor: Actor, a: Assignment, tree: domain.UnitTree | None = None) -> bool:
        """A person holds their own assignments; a department head those of their unit and, given the tree, of
        the units under it (the head of a Chi cục answers for its phòng)."""
        if a.user_id:
            return a.user_id == actor.user_id
        if not actor.has(Role.DEPARTMENT_HEAD) or not actor.unit:
            return False
        return tree.within(a.unit, actor.unit) if tree else a.unit == actor.unit

    def _main_handlers(self, session: Session, handling: Handling) -> list[str]:
        return self._holders(session, handling, AssignmentKind.MAIN)

    def _holders(self, session: Session, handling: Handling, kind: AssignmentKind) -> list[str]:
        """The people holding the active assignments of this kind (a unit's through its heads)."""
        people: list[str] = []
        for a in self._assignments(session, handling):
            if a.kind == kind:
                people += [a.user_id] if a.user_id else self._unit_heads(session, a.unit)  # type: ignore[arg-type]
        return people

    def _require_main_handler(self, session: Session, actor: Actor, handling: Handling,
                              *also: AssignmentKind) -> None:
        kinds = {AssignmentKind.MAIN, *also}
        if not any(a.kind in kinds and self._holds(actor, a) for a in self._assignments(session, handling)):
            raise Forbidden("Chỉ người xử lý chính mới thực hiện được thao tác này.", user=actor.username,
                            incoming_id=handling.incoming_id)

    def _start(self, session: Session, handling: Handling, actor: Actor, late: datetime | None = None) -> None:
        status, first = domain.after_action(handling.status, handling.started_at is not None)
        handling.status = status
        handling.waiting_note = None
        self._touch(handling)
        if first:
            handling.started_at = _utc(late) if late else self._now()  # a first step entered late: its real time
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
                 note: str | None, data: dict[str, Any], late: datetime | None = None) -> None:
        """`late`: the real time of a step entered after an outage; `at` stays when (and `user_id` who) entered it."""
        if late is not None:
            data = {**data, "late_entry": True, "happened_at": _iso(_utc(late))}
        session.add(HandlingEvent(handling_id=handling.id, action=action, user_id=user_id, on_behalf_of=on_behalf_of,
                                  note=note, data=data, at=self._now()))

    def _late_step(self, session: Session, handling: Handling, happened_at: str | None, action: str | None = None,
                   user_id: str | None = None) -> tuple[datetime | None, bool]:
        """The real time of a step entered after an outage, kept in the order of the history: not before the
        document's previous step. Given the step (`action`, `user_id`): whether this very step at this real time
        is already in the history, a redelivered call that then changes nothing (the steps whose state does not
        tell a retry: pausing, resuming, an opinion)."""
        late = domain.late_moment(happened_at, self._now(), handling.registered_at)
        if late is None:
            return None, False
        stamp = _iso(_utc(late))
        events = list(session.scalars(select(HandlingEvent).where(HandlingEvent.handling_id == handling.id)))
        if action and any(e.action == action and e.user_id == user_id and (e.data or {}).get("happened_at") == stamp
                          for e in events):
            return late, True
        domain.require_in_order(late, max((self._real_time(handling, e) for e in events), default=None))
        return late, False

    @staticmethod
    def _real_time(handling: Handling, event: HandlingEvent) -> datetime:
        """When a step happened: a late entry's real time; the registration at the registry's time (the event may
        have arrived later, or been entered late); the others when they were entered."""
        happened = (event.data or {}).get("happened_at")
        if happened:
            return datetime.fromisoformat(happened)
        if event.action == "registered" and handling.registered_at is not None:
            return _utc(handling.registered_at)  # type: ignore[return-value]
        return _utc(event.at)  # type: ignore[return-value]

    def _touch(self, handling: Handling) -> None:
        handling.updated_at = self._now()

    def _handling_views(self, session: Session, handlings: list[Handling]) -> list[dict[str, Any]]:
        """Views of a list: every row's assignments read in one query, not one query a row."""
        found: dict[int, list[Assignment]] = {h.id: [] for h in handlings}
        ids = list(found)
        for start in range(0, len(ids), 500):  # SQLite takes a bounded number of parameters
            for a in session.scalars(select(Assignment).where(Assignment.handling_id.in_(ids[start:start + 500]))
                                     .order_by(Assignment.id)):
                found[a.handling_id].append(a)
        return [self._handling_view(session, h, assignments=found[h.id]) for h in handlings]

    def _handling_view(self, session: Session, handling: Handling, *, history: bool = False,
                       assignments: list[Assignment] | None = None) -> dict[str, Any]:
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
                             "read_at": _iso(a.read_at)}
                            for a in (self._assignments(session, handling, False) if assignments is None
                                      else assignments)],
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

    def list_incoming(self, actor: Actor, box: str = "mine",
                      limit: int | None = None) -> list[dict[str, Any]] | dict[str, Any]:
        """Lists, urgent first then the nearest deadline [000 Đ5.3].

        box: mine (assigned to me or my unit, not done) | to_submit (clerk) | to_direct (submitted to me) |
        done (mine, finished) | all (leaders and clerks).
        limit: only the first `limit` are answered, as `{items, total}` (a home page's panel): a clerk's backlog of
        hundreds is counted, not viewed.
        """
        with self._unit_of_work(actor) as session:
            query = select(Handling)
            if box == "to_submit":
                actor.require(Role.CLERK)
                query = query.where(Handling.status == HandlingStatus.RECEIVED)
            elif box == "to_direct":
                # a delegate's, and an entrant's (nhập thay): the items waiting for the leaders they act or type for
                ids = {actor.user_id} | {g.leader_user_id for g in self._grants(session, actor.user_id)
                                         if g.covers(actor.user_id, Scope.ASSIGN, self._now())
                                         or g.covers(actor.user_id, Scope.RECORD, self._now())}
                query = query.where(Handling.status == HandlingStatus.SUBMITTED, Handling.submitted_to.in_(ids))
            elif box in ("mine", "done"):
                # a head's box holds their unit's items and those of the units under it
                units = self._unit_tree(session).subtree(actor.unit) if actor.has(Role.DEPARTMENT_HEAD) else set()
                mine = or_(Assignment.user_id == actor.user_id,
                           Assignment.unit.in_(sorted(units)) if units else false())
                sub = select(Assignment.handling_id).where(Assignment.active, mine)
                query = query.where(Handling.id.in_(sub))
                query = query.where(Handling.status == HandlingStatus.DONE if box == "done"
                                    else Handling.status != HandlingStatus.DONE)
            elif box == "all":
                actor.require(Role.LEADER, Role.CLERK, Role.ADMIN)
            else:
                raise ValidationFailed("Danh sách không hợp lệ.", box=box)
            if limit is not None:
                return self._first_handlings(session, query, int(limit))
            rows = list(session.scalars(query.order_by(Handling.id)))
            rows.sort(key=lambda h: domain.list_order(h.priority, h.deadline, h.registered_at))
            return self._handling_views(session, rows)

    def _first_handlings(self, session: Session, query: Select, limit: int) -> dict[str, Any]:
        """list_order in SQL (a stable sort of rows read by id breaks ties as this does): only the rows shown are
        read, and the box is counted."""
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(
            func.coalesce(Handling.priority, 0).desc(), Handling.deadline.asc().nulls_last(),
            Handling.registered_at.asc().nulls_last(), Handling.id).limit(max(0, limit))).all()
        return {"items": self._handling_views(session, list(rows)), "total": total}

    def _takes_part(self, session: Session, actor: Actor, handling: Handling) -> bool:
        """Submitted to, directed by, or assigned (as a person or as the head of the unit): the actor, or the
        leader the actor acts for."""
        people = {actor.user_id} | ({actor.on_behalf_of} if actor.on_behalf_of else set())
        if handling.submitted_to in people or handling.directed_by in people:
            return True
        return any(self._holds(actor, a) for a in self._assignments(session, handling))
