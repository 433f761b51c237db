"""Work that is not a document: tasks, internal notices, the leaders' progress view, reminders and in-app
notifications.

A chapter of the Routing application (app.py); the methods use the shared plumbing of base.RoutingBase and, where
noted, methods of the other chapters through the composed class.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.routing import domain
from services.routing.base import _iso, _utc, row_id
from services.routing.domain import AssignmentKind, Authority, HandlingStatus, Scope
from services.routing.models import (
    Assignment,
    Handling,
    Link,
    Notice,
    NoticeRead,
    Notification,
    Staff,
    Task,
    TaskComment,
    TaskMember,
)
from services.routing.notify import notify
from services.routing.oversight import checked_operation

_UNKNOWN = object()  # a notice view's read time not looked up yet
NOTICE_PAGE, NOTICE_PAGE_MAX = 20, 100   # a person may have thousands of notices: they come a page at a time


class Work:
    def create_task(self, actor: Actor, title: str, assignee: str | None = None, description: str = "",
                    coordinators: list[str] | None = None, due: str | None = None, priority: int = 0,
                    links: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Anyone creates a task for themselves; leaders assign anyone; department heads their unit's staff."""
        if not (title or "").strip():
            raise ValidationFailed("Tên công việc không được để trống.")
        with self._unit_of_work(actor) as session:
            assignee = assignee or actor.user_id
            authority = self._may_give(session, actor, assignee, "giao công việc")
            for coordinator in coordinators or []:
                # Asking someone to coordinate is giving them work too: the same rule as for the assignee.
                self._may_give(session, actor, coordinator, "mời phối hợp")
            for link in links or []:
                self._require_linkable(session, actor, str(link.get("kind")), str(link.get("id")))
            cfg = self._config(session)
            now = self._now()
            deadline = domain.set_deadline(due, self._calendar(cfg), now, "Hạn hoàn thành", "due")
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

    def _may_give(self, session: Session, actor: Actor, user_id: str, action: str) -> Authority:
        """Anyone gives work to themselves; leaders to anyone; department heads inside their unit; others only
        with a leader's delegated right to assign."""
        if user_id == actor.user_id:
            return Authority(actor.user_id)
        target = self._staff(session, user_id)
        if actor.has(Role.DEPARTMENT_HEAD) and not actor.has(Role.LEADER):
            domain.require_same_unit(actor, target.unit, action, self._unit_tree(session))
        elif not actor.has(Role.DEPARTMENT_HEAD):
            return self._authority(session, actor, Scope.ASSIGN)
        return Authority(actor.user_id)

    def comment_task(self, actor: Actor, task_id: int, text: str, operation_id: str | None = None) -> dict[str, Any]:
        """A member's opinion on the task; with an operation id (the form's, drawn with the page; the API's
        Idempotency-Key) it is recorded once per (task, operation), as an entered opinion is (entry.py)."""
        operation = checked_operation(operation_id) if operation_id is not None else None
        with self._unit_of_work(actor) as session:
            task = self._task_for(session, actor, task_id)
            if operation and session.scalar(select(TaskComment.id).where(TaskComment.task_id == task.id,
                                                                         TaskComment.operation_id == operation)):
                return self._task_view(session, task)
            session.add(TaskComment(task_id=task.id, user_id=actor.user_id, kind="comment", text=text, at=self._now(),
                                    operation_id=operation))
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
            return self._task_view(session, self._task_for(session, actor, task_id, reading=True), full=True)

    def list_tasks(self, actor: Actor, include_closed: bool = False) -> list[dict[str, Any]]:
        with self._unit_of_work(actor) as session:
            # the entrant also finds the tasks of the leaders who entrusted them (nhập thay ý kiến, entry.py)
            people = [actor.user_id, *(s.user_id for s in self._entrusting_leaders(session, actor))]
            sub = select(TaskMember.task_id).where(TaskMember.user_id.in_(people))
            query = select(Task).where(Task.id.in_(sub))
            if not include_closed:
                query = query.where(Task.status != "closed")
            rows = list(session.scalars(query))
            rows.sort(key=lambda t: domain.list_order(t.priority, t.due, t.created_at))
            return [self._task_view(session, t) for t in rows]

    def _task_members(self, session: Session, task: Task) -> list[str]:
        return list(session.scalars(select(TaskMember.user_id).where(TaskMember.task_id == task.id)))

    def _task_for(self, session: Session, actor: Actor, task_id: int, reading: bool = False) -> Task:
        """The task, when the actor takes part in it or oversees it; `reading`: also for the person a leader taking
        part entrusted with typing in their opinions (entry.py), who acts on it in no other way."""
        task = session.get(Task, row_id(task_id))
        if task is None:
            raise NotFound("Không tìm thấy công việc.", task_id=task_id)
        if actor.user_id in self._task_members(session, task) or actor.has(Role.LEADER):
            return task
        if actor.has(Role.DEPARTMENT_HEAD) and self._unit_tree(session).within(task.unit, actor.unit):
            return task
        if reading and self._entering_for(session, actor, task):
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
                                 "at": _iso(c.at), "happened_at": _iso(c.happened_at), "entered_by": c.entered_by}
                                for c in session.scalars(
                select(TaskComment).where(TaskComment.task_id == task.id).order_by(TaskComment.id))]
            view["links"] = self._links(session, "task", str(task.id))
        return view


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

    def list_notices(self, actor: Actor, page: int = 1, size: int = NOTICE_PAGE,
                     unread_only: bool = False) -> dict[str, Any]:
        """The notices the actor may read, newest first, a page at a time: `{items, total, page, size}` as the
        registry's lists answer (size at most NOTICE_PAGE_MAX); `unread_only`: those the actor has not opened."""
        page, size = max(1, int(page or 1)), max(1, min(int(size or NOTICE_PAGE), NOTICE_PAGE_MAX))
        with self._unit_of_work(actor) as session:
            # Who may read a notice is decided in the query, so that the total and the pages count what is shown.
            query = select(Notice).where(self._notices_for(session, actor))
            if unread_only:
                query = query.where(~exists().where(NoticeRead.notice_id == Notice.id,
                                                    NoticeRead.user_id == actor.user_id))
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(Notice.published_at.desc(), Notice.id.desc())
                                   .offset((page - 1) * size).limit(size)).all()
            read = {notice_id: at for notice_id, at in session.execute(
                select(NoticeRead.notice_id, NoticeRead.read_at).where(
                    NoticeRead.user_id == actor.user_id, NoticeRead.notice_id.in_([n.id for n in rows])))}
            return {"items": [self._notice_view(session, n, actor, read.get(n.id)) for n in rows],
                    "total": total, "page": page, "size": size}

    def read_notice(self, actor: Actor, notice_id: int) -> dict[str, Any]:
        with self._unit_of_work(actor) as session:
            notice = session.get(Notice, row_id(notice_id))
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
            notice = session.get(Notice, row_id(notice_id))
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

    @staticmethod
    def _notices_for(session: Session, actor: Actor) -> ColumnElement[bool]:
        """_notice_for as SQL. `units` is a JSON list (None or [] for the whole agency, stored as SQL NULL or JSON
        null): the actor's unit is looked for as its quoted JSON string in the list's text, case-sensitively as
        _notice_for compares (SQLite's LIKE ignores case, hence instr/strpos)."""
        units = cast(Notice.units, String)
        whole_agency = or_(Notice.units.is_(None), units.in_(["null", "[]"]))
        if not actor.unit:
            return or_(whole_agency, Notice.published_by == actor.user_id)
        find = func.instr if session.get_bind().dialect.name == "sqlite" else func.strpos
        return or_(whole_agency, Notice.published_by == actor.user_id, find(units, json.dumps(actor.unit)) > 0)

    def _notice_view(self, session: Session, notice: Notice, actor: Actor, read: Any = _UNKNOWN) -> dict[str, Any]:
        if read is _UNKNOWN:
            read = session.scalar(select(NoticeRead.read_at).where(NoticeRead.notice_id == notice.id,
                                                                   NoticeRead.user_id == actor.user_id))
        return {"notice_id": notice.id, "title": notice.title, "body": notice.body, "units": notice.units,
                "published_by": notice.published_by, "published_at": _iso(notice.published_at),
                "read_at": _iso(read)}


    def unit_progress(self, actor: Actor, unit: str | None = None, open_items: bool = True,
                      overdue_limit: int | None = None) -> list[dict[str, Any]]:
        """Progress, overdue and open items per unit: leaders (and their delegates with the "supervise" scope)
        see every unit, department heads their own and the units under it. A unit's row counts the items of the
        units under it too: a Chi cục's head follows what its phòng handle (Bình Định QĐ 376 Đ4.1 Bước 3).
        `open_items=False` (the home page: counts and the overdue items only) leaves out the open and due-soon
        items, most of the answer; `overdue_limit`, each unit's most pressing overdue items only (the home page
        shows the first ten of them; a unit's count stays whole)."""
        with self._unit_of_work(actor) as session:
            tree = self._unit_tree(session)
            if not actor.has(Role.LEADER):
                try:
                    self._authority(session, actor, Scope.SUPERVISE)  # a leader's delegate: every unit
                except Forbidden:
                    if not actor.has(Role.DEPARTMENT_HEAD):
                        raise
                    domain.require_same_unit(actor, unit or actor.unit, "xem tiến độ", tree)
                    unit = unit or actor.unit
            cfg = self._config(session)
            calendar = self._calendar(cfg)
            now = self._now()
            staff_units = {s.user_id: s.unit for s in session.scalars(select(Staff))}

            def row_units(a_unit: str | None, a_user: str | None) -> list[str]:
                owner = (a_unit or staff_units.get(a_user or "") or "").upper()
                return [u for u in ([owner, *tree.ancestors(owner)] if owner else [""])
                        if not unit or tree.within(u, unit)]

            main = (Assignment.kind == AssignmentKind.MAIN, Assignment.active)
            # Open items are the units' work, viewed one by one; the finished ones (all the agency's years of them)
            # are only counted, from their ids: a leader's home page asks for this list.
            per_unit: dict[str, dict[int, dict[str, Any]]] = {}
            for handling, assignment in session.execute(
                    select(Handling, Assignment).join(Assignment, Assignment.handling_id == Handling.id)
                    .where(*main, Handling.status != HandlingStatus.DONE).order_by(Assignment.id)):
                for row_unit in row_units(assignment.unit, assignment.user_id):
                    items = per_unit.setdefault(row_unit, {})
                    if handling.id in items:
                        if assignment.user_id:  # the person handling it says more than the unit it went to
                            items[handling.id]["handler"] = assignment.user_id
                        continue
                    items[handling.id] = self._progress_item(handling, assignment, calendar, cfg, now)
            done: dict[str, set[int]] = {}
            for handling_id, a_unit, a_user in session.execute(
                    select(Assignment.handling_id, Assignment.unit, Assignment.user_id)
                    .join(Handling, Assignment.handling_id == Handling.id)
                    .where(*main, Handling.status == HandlingStatus.DONE)):
                for row_unit in row_units(a_unit, a_user):
                    done.setdefault(row_unit, set()).add(handling_id)
            order = {code: i for i, (code, _depth) in enumerate(tree.ordered())}
            out = []
            for unit_code in sorted(per_unit.keys() | done.keys(), key=lambda c: (order.get(c, len(order)), c)):
                items = sorted(per_unit.get(unit_code, {}).values(), key=lambda i: i["_order"])
                for item in items:
                    item.pop("_order")
                summary = domain.progress_summary(items)
                finished = len(done.get(unit_code, ()))
                summary["done"] += finished
                summary["total"] += finished
                out.append({"unit": unit_code, "parent": tree.parent(unit_code),
                            "depth": tree.depth(unit_code) if unit_code else 1, **summary,
                            "overdue_items": [i for i in items if i["due_state"] == "overdue"][:overdue_limit],
                            "due_soon_items": [i for i in items if i["due_state"] == "due_soon"] if open_items else [],
                            "open_items": items if open_items else []})
            return out

    @staticmethod
    def _progress_item(handling: Handling, assignment: Assignment, calendar: Any, cfg: Any,
                       now: Any) -> dict[str, Any]:
        due_state = (calendar.due_state(handling.deadline, now, cfg.due_soon_hours)
                     if handling.status != HandlingStatus.DONE else None)
        return {"incoming_id": handling.incoming_id, "subject": handling.subject, "priority": handling.priority,
                "status": handling.status, "deadline": _iso(handling.deadline), "due_state": due_state,
                "handler": assignment.user_id or assignment.unit,
                "_order": domain.list_order(handling.priority, handling.deadline, handling.registered_at)}

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

    def deadlines_ahead(self) -> bool:
        """Whether an open handling or task has a deadline still ahead, so that a reminder may come due later
        (the reminder timer keeps visiting the agency; an agency with none is left alone until it writes)."""
        now = self._now()
        active = [s.value for s in domain.ACTIVE_STATES]
        with self.db.session() as session:
            if session.scalar(select(Handling.id).where(Handling.status.in_(active), Handling.deadline > now)
                              .limit(1)) is not None:
                return True
            return session.scalar(select(Task.id).where(Task.status == "open", Task.due > now).limit(1)) is not None

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
            row = session.get(Notification, row_id(notification_id))
            if row is None or row.user_id != actor.user_id:
                raise NotFound("Không tìm thấy thông báo.", notification_id=notification_id)
            if row.read_at is None:
                row.read_at = self._now()
            return True
