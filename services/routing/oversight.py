"""Leaders acting on work already assigned: chase (đôn đốc), change the deadline, add a directive, re-assign the
main handler or coordinators, take the item back.

Once a document is assigned the leader keeps control of it: "Trường hợp phát hiện văn bản, hồ sơ xử lý trễ hạn,
lãnh đạo đơn vị phải kịp thời chỉ đạo, đôn đốc các bộ phận liên quan xử lý, khắc phục" (Tuyên Quang QĐ 51/2024
Đ12.2d; Hưng Yên Đ7.2b); "Lãnh đạo ... sử dụng Hệ thống ... để chỉ đạo giải quyết công việc, giám sát, đôn đốc"
(Bình Định QĐ 376 Đ5.1).

Who: a leader on every item of the agency; a department head on items whose main handler is their unit, a unit
under it, or one of their staff; a delegate of a leader within the delegation's scope ("supervise" chases,
"assign" does the rest; the history records on whose behalf). Every action is written to the handling history (and
so to the audit chain) and is done once per (item, operation id): a retried request returns the item unchanged.

A chapter of the Routing application (app.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.errors import Forbidden, ValidationFailed
from services.routing import domain
from services.routing.base import _iso, _utc
from services.routing.domain import AssignmentKind, Authority, HandlingStatus, Scope
from services.routing.models import Handling, OversightAction, Staff
from services.routing.notify import notify

ACTIONS = ("chase", "deadline", "directive", "handlers", "take_back")
MAX_OPERATION = 80


def _required(text: str | None, message_vi: str, field: str) -> str:
    if not (text or "").strip():
        raise ValidationFailed(message_vi, field=field)
    return str(text).strip()


def checked_operation(operation_id: str | None) -> str:
    operation = str(operation_id or "").strip()
    if not operation or len(operation) > MAX_OPERATION:
        raise ValidationFailed("Thiếu mã thao tác (operation id) hoặc mã quá dài.", field="operation_id")
    return operation


def checked_fields(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An action's fields, checked before anything is read or written (the same for a leader's own step and for one
    typed in for them)."""
    if action == "chase":
        return {"note": _required(fields.get("note"), "Ghi nội dung đôn đốc.", "note")}
    if action == "deadline":
        reason = _required(fields.get("reason"), "Ghi lý do điều chỉnh hạn xử lý.", "reason")
        return {"deadline": _required(fields.get("deadline"), "Chọn hạn xử lý mới.", "deadline"), "reason": reason}
    if action == "directive":
        return {"text": _required(fields.get("text"), "Ý kiến chỉ đạo không được để trống.", "text")}
    if action == "handlers":
        main, coordinators = fields.get("main") or None, fields.get("coordinators")
        if main is None and coordinators is None:
            raise ValidationFailed("Chọn người xử lý chính hoặc người phối hợp mới.", field="main")
        return {"main": main, "coordinators": coordinators, "note": str(fields.get("note") or "")}
    if action == "take_back":
        return {"reason": _required(fields.get("reason"), "Ghi lý do thu hồi.", "reason")}
    raise ValidationFailed("Thao tác điều hành không hợp lệ.", field="action", value=action)


class Oversight:
    # -- what the actor may do on an item (the handling page shows these forms) ----------------------------------

    def oversight_options(self, actor: Actor, incoming_id: str) -> dict[str, bool]:
        with self._unit_of_work(actor) as session:
            handling = self._handling(session, incoming_id)
            open_ = handling.status in {s.value for s in domain.ACTIVE_STATES}
            options = dict.fromkeys(ACTIONS, False)
            if not open_:
                return options
            for action in ACTIONS:
                try:
                    self._overseer(session, actor, handling, action)
                except Forbidden:
                    continue
                options[action] = True
            return options

    # -- the actions ---------------------------------------------------------------------------------------------

    def chase(self, actor: Actor, incoming_id: str, note: str, operation_id: str) -> dict[str, Any]:
        """Đôn đốc: a notice to the main handlers (urgent ones marked), recorded in the history."""
        fields = checked_fields("chase", {"note": note})
        with self._oversee(actor, incoming_id, "chase", operation_id) as (session, handling, authority, _):
            if authority is not None:
                self._chased(session, handling, authority, actor, **fields)
            return self._handling_view(session, handling, history=True)

    def change_deadline(self, actor: Actor, incoming_id: str, deadline: str, reason: str,
                        operation_id: str) -> dict[str, Any]:
        """Extend or shorten the deadline, with a reason; the old and new deadlines are in the history."""
        fields = checked_fields("deadline", {"deadline": deadline, "reason": reason})
        with self._oversee(actor, incoming_id, "deadline", operation_id) as (session, handling, authority, _):
            if authority is not None:
                self._deadline_changed(session, handling, authority, actor, **fields)
            return self._handling_view(session, handling, history=True)

    def add_directive(self, actor: Actor, incoming_id: str, text: str, operation_id: str) -> dict[str, Any]:
        """A further directive (chỉ đạo thêm) after the first bút phê."""
        fields = checked_fields("directive", {"text": text})
        with self._oversee(actor, incoming_id, "directive", operation_id) as (session, handling, authority, _):
            if authority is not None:
                self._directive_added(session, handling, authority, actor, **fields)
            return self._handling_view(session, handling, history=True)

    def reassign_handlers(self, actor: Actor, incoming_id: str, operation_id: str, main: dict[str, str] | None = None,
                          coordinators: list[dict[str, str]] | None = None, note: str = "") -> dict[str, Any]:
        """Re-assign the main handler and/or replace the coordinators (None leaves them as they are)."""
        fields = checked_fields("handlers", {"main": main, "coordinators": coordinators, "note": note})
        with self._oversee(actor, incoming_id, "handlers", operation_id) as (session, handling, authority, _):
            if authority is not None:
                self._handlers_changed(session, handling, authority, actor, **fields)
            return self._handling_view(session, handling, history=True)

    def take_back(self, actor: Actor, incoming_id: str, reason: str, operation_id: str) -> dict[str, Any]:
        """Thu hồi. A leader takes the item back to direct it again (it waits in their "chờ cho ý kiến" box); a
        department head takes it back from their staff to the unit (they assign it again inside the unit)."""
        fields = checked_fields("take_back", {"reason": reason})
        with self._oversee(actor, incoming_id, "take_back", operation_id) as (session, handling, authority, _):
            if authority is not None:
                self._taken_back(session, handling, authority, actor, **fields)
            return self._handling_view(session, handling, history=True)

    # -- the steps, once the authority is known -------------------------------------------------------------------
    # `by`: the person who decided (named in the notices); `late`: the real time of a step entered afterwards;
    # `entered`: who typed in a leader's paper decision (nhập thay, entry.py), kept in the history's data.

    def _chased(self, session: Session, handling: Handling, authority: Authority, by: Actor, note: str,
                late: datetime | None = None, entered: dict[str, Any] | None = None) -> None:
        self._history(session, handling, "chased", authority.user_id, authority.on_behalf_of, note,
                      {**(entered or {})}, late)
        notify(session, self._main_handlers(session, handling), "chase",
               f"{domain.urgency_prefix(handling.priority)}Đôn đốc xử lý văn bản: {handling.subject}",
               f"{by.full_name}: {note}\nHạn xử lý: {_iso(handling.deadline) or 'không có'}",
               "incoming", handling.incoming_id)

    def _deadline_changed(self, session: Session, handling: Handling, authority: Authority, by: Actor,
                          deadline: str, reason: str, late: datetime | None = None,
                          entered: dict[str, Any] | None = None) -> None:
        calendar = self._calendar(self._config(session))
        new = domain.set_deadline(deadline, calendar, late or self._now())
        old = handling.deadline
        handling.deadline, handling.deadline_source = _utc(new), "changed"
        self._touch(handling)
        self._history(session, handling, "deadline_changed", authority.user_id, authority.on_behalf_of,
                      reason, {"from": _iso(old), "deadline": _iso(new), **(entered or {})}, late)
        notify(session, self._main_handlers(session, handling) + self._coordinators(session, handling),
               "deadline", f"Hạn xử lý đã thay đổi: {handling.subject}",
               f"Hạn mới: {_iso(new)} (trước: {_iso(old) or 'không có'}). Lý do: {reason}",
               "incoming", handling.incoming_id)

    def _directive_added(self, session: Session, handling: Handling, authority: Authority, by: Actor, text: str,
                         late: datetime | None = None, entered: dict[str, Any] | None = None) -> None:
        self._touch(handling)
        self._history(session, handling, "directive_added", authority.user_id, authority.on_behalf_of,
                      text, {**(entered or {})}, late)
        notify(session, self._main_handlers(session, handling) + self._coordinators(session, handling),
               "directive", f"Chỉ đạo thêm về văn bản: {handling.subject}", f"{by.full_name}: {text}",
               "incoming", handling.incoming_id)

    def _handlers_changed(self, session: Session, handling: Handling, authority: Authority, by: Actor,
                          main: dict[str, str] | None, coordinators: list[dict[str, str]] | None, note: str,
                          late: datetime | None = None, entered: dict[str, Any] | None = None) -> None:
        for target in ([main] if main else []) + list(coordinators or []):
            self._inside_unit(session, by, target)
        changes: dict[str, Any] = {}
        current = self._assignments(session, handling)
        if main:
            for a in current:
                if a.kind == AssignmentKind.MAIN:
                    a.active = False
            self._assign(session, handling, AssignmentKind.MAIN, main, authority, note or None, at=late)
            changes["main"] = main
        if coordinators is not None:
            wanted = {(t.get("user_id"), t.get("unit")) for t in coordinators}
            kept = set()
            for a in current:
                if a.kind == AssignmentKind.COORDINATOR:
                    if (a.user_id, a.unit) in wanted:
                        kept.add((a.user_id, a.unit))
                    else:
                        a.active = False
            for target in coordinators:
                if (target.get("user_id"), target.get("unit")) not in kept:
                    self._assign(session, handling, AssignmentKind.COORDINATOR, target, authority, note or None,
                                 at=late)
            changes["coordinators"] = coordinators
        self._touch(handling)
        self._history(session, handling, "handlers_changed", authority.user_id, authority.on_behalf_of,
                      note or None, {**changes, **(entered or {})}, late)

    def _taken_back(self, session: Session, handling: Handling, authority: Authority, by: Actor, reason: str,
                    late: datetime | None = None, entered: dict[str, Any] | None = None) -> None:
        holders = self._main_handlers(session, handling) + self._coordinators(session, handling)
        if self._as_leader(by, authority):
            for a in self._assignments(session, handling):
                a.active = False
            handling.status = HandlingStatus.SUBMITTED
            handling.submitted_to = authority.on_behalf_of or authority.user_id
            handling.waiting_note = None
            data = {"to": handling.submitted_to, "level": "agency"}
        else:
            unit = by.unit or ""
            tree = self._unit_tree(session)
            for a in self._assignments(session, handling):  # from their staff and the units under theirs
                below = (tree.within(self._unit_of(session, a.user_id), unit) if a.user_id
                         else a.unit and a.unit.upper() != unit.upper() and tree.within(a.unit, unit))
                if below:
                    a.active = False
            if not any(a.kind == AssignmentKind.MAIN for a in self._assignments(session, handling)):
                self._assign(session, handling, AssignmentKind.MAIN, {"unit": unit}, authority, reason)
            data = {"unit": unit, "level": "unit"}
        self._touch(handling)
        self._history(session, handling, "taken_back", authority.user_id, authority.on_behalf_of, reason,
                      {**data, **(entered or {})}, late)
        notify(session, [h for h in holders if h != by.user_id], "taken_back",
               f"Văn bản đã được thu hồi: {handling.subject}", f"{by.full_name}: {reason}",
               "incoming", handling.incoming_id)

    # -- rules --------------------------------------------------------------------------------------------------

    @contextmanager
    def _oversee(self, actor: Actor, incoming_id: str, action: str, operation_id: str,
                 leader_user_id: str | None = None) -> Iterator[tuple[Session, Handling, Authority | None, Actor]]:
        """The unit of work of one action: the item, the authority over it of whoever decided (the actor, or the
        leader whose step the actor types in, `leader_user_id`: entry.py) and who decided; None as the authority
        when this operation was already done on this item (the caller then only returns the view). The operation
        is recorded as the actor's."""
        operation = checked_operation(operation_id)
        with self._unit_of_work(actor) as session:
            by = actor if leader_user_id is None else self._entry_leader(session, actor, leader_user_id)
            handling = self._handling(session, incoming_id)
            if self._operation_done(session, handling, operation):
                yield session, handling, None, by
                return
            authority = self._overseer(session, by, handling, action)
            self._record_operation(session, handling, operation, action, actor)
            yield session, handling, authority, by

    @staticmethod
    def _operation_done(session: Session, handling: Handling, operation: str) -> bool:
        return bool(session.scalar(select(OversightAction.id).where(OversightAction.handling_id == handling.id,
                                                                    OversightAction.operation_id == operation)))

    def _record_operation(self, session: Session, handling: Handling, operation: str, action: str,
                          actor: Actor) -> None:
        """The operation done on this item, by whoever did it (or typed it in): a redelivery finds it."""
        session.add(OversightAction(handling_id=handling.id, operation_id=operation, action=action,
                                    user_id=actor.user_id, at=self._now()))
        session.flush()

    def _overseer(self, session: Session, actor: Actor, handling: Handling, action: str) -> Authority:
        domain.require_state(handling.status, domain.ACTIVE_STATES, "điều hành văn bản đã giao")
        if actor.has(Role.LEADER) and not actor.on_behalf_of:
            return Authority(actor.user_id)
        if actor.has(Role.DEPARTMENT_HEAD) and not actor.on_behalf_of and actor.unit:
            tree = self._unit_tree(session)  # the head of a unit oversees what its sub-units handle
            if any(tree.within(unit, actor.unit) for unit in self._handler_units(session, handling)):
                return Authority(actor.user_id)
        # a delegate acts as the leader: supervising lets them chase, assigning lets them do it all
        scopes = (Scope.SUPERVISE, Scope.ASSIGN) if action == "chase" else (Scope.ASSIGN,)
        refusal: Forbidden | None = None
        for scope in scopes:
            try:
                return self._authority(session, actor, scope)
            except Forbidden as exc:
                refusal = refusal or exc
        raise Forbidden("Chỉ lãnh đạo cơ quan, lãnh đạo đơn vị được giao văn bản hoặc người được ủy quyền mới điều "
                        "hành được văn bản này.", user=actor.username, incoming_id=handling.incoming_id,
                        action=action) from refusal

    @staticmethod
    def _as_leader(actor: Actor, authority: Authority) -> bool:
        """A leader, or a delegate acting for one: taking back returns the item to the agency level."""
        return actor.has(Role.LEADER) or authority.on_behalf_of is not None

    def _handler_units(self, session: Session, handling: Handling) -> set[str]:
        units = set()
        for a in self._assignments(session, handling):
            if a.kind == AssignmentKind.MAIN:
                units.add(a.unit or self._unit_of(session, a.user_id or "") or "")
        return units - {""}

    @staticmethod
    def _unit_of(session: Session, user_id: str) -> str | None:
        staff = session.get(Staff, user_id)
        return staff.unit if staff else None

    def _inside_unit(self, session: Session, actor: Actor, target: dict[str, str]) -> None:
        """A department head re-assigns only inside their unit and the units under it [Bình Định 376 Đ4.1];
        leaders anywhere."""
        if actor.has(Role.LEADER) or not actor.has(Role.DEPARTMENT_HEAD) or actor.on_behalf_of:
            return
        unit = target.get("unit") or self._unit_of(session, target.get("user_id") or "")
        domain.require_same_unit(actor, unit, "giao việc", self._unit_tree(session))

    def _coordinators(self, session: Session, handling: Handling) -> list[str]:
        return self._holders(session, handling, AssignmentKind.COORDINATOR)
