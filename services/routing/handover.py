"""Handing over the work of a person who leaves or moves (bàn giao): all their open work to a successor in one step,
a single stuck item by an administrator or a leader, and the head's permission to download what they handled.

"Cá nhân có trách nhiệm bàn giao lại tài khoản ... trước khi nghỉ việc hoặc chuyển công tác" (Tuyên Quang QĐ 51/2024
Đ21.2b); the office "có quyền can thiệp và thực hiện việc chuyển thông tin trên mạng trong trường hợp người có trách
nhiệm luân chuyển thông tin ... không thực hiện đúng quy định, để không làm ách tắc trên mạng" (TP.HCM Đ9); "Thủ
trưởng cơ quan ... quyết định ... việc cho phép cá nhân nghỉ việc hoặc chuyển công tác được phép tải dữ liệu trên tài
khoản" (Tuyên Quang Đ21.1c).

Open work of a person: active assignments on documents not done, documents submitted to them for a directive,
their drafts not yet signed, invitations to comment on drafts still in review, open tasks they carry out,
coordinate or gave, and delegations they hold. Every moved item says so in its own history. A delegation the
leaver GAVE moves only to a successor who is a leader; otherwise it ends (their authority leaves with them).

A chapter of the Routing application (app.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.errors import NotFound, ValidationFailed
from services.routing.base import _iso, row_id
from services.routing.domain import AssignmentKind, Authority, HandlingStatus
from services.routing.models import (
    Assignment,
    DataExportGrant,
    Delegation,
    Draft,
    DraftParticipant,
    Handling,
    HandlingEvent,
    Staff,
    Task,
    TaskComment,
    TaskMember,
)
from services.routing.notify import notify

# paper_approved: signed on paper, the scan not yet forwarded (paper.py); the successor forwards it
OPEN_DRAFT = ("drafting", "in_review", "returned", "paper_approved")
KINDS = ("assignments", "to_direct", "drafts", "reviews", "tasks", "delegations")


class Handover:
    def open_work(self, actor: Actor, user_id: str) -> dict[str, Any]:
        """Everything still open that carries this person's name (administrator or leader)."""
        actor.require(Role.ADMIN, Role.LEADER)
        with self._unit_of_work(actor) as session:
            return self._open_work(session, user_id)

    def hand_over(self, actor: Actor, user_id: str, successor_id: str, note: str = "") -> dict[str, Any]:
        """Move all open work of `user_id` to `successor_id` in one transaction (administrator). Running it again
        finds nothing left to move."""
        actor.require(Role.ADMIN)
        if user_id == successor_id:
            raise ValidationFailed("Người nhận bàn giao phải khác người bàn giao.", field="successor")
        with self._unit_of_work(actor) as session:
            successor = self._staff(session, successor_id)
            leaver = self._known(session, user_id)
            text = f"Bàn giao công việc của {leaver.full_name} cho {successor.full_name}"
            text += f": {note}" if note else ""
            work = self._open_work(session, user_id)
            moved = {kind: len(work[kind]) for kind in KINDS}
            for incoming_id in dict.fromkeys(i["incoming_id"] for i in work["assignments"] + work["to_direct"]):
                self._move_incoming(session, actor, incoming_id, user_id, successor_id, text)
            for item in work["drafts"] + work["reviews"]:
                self._move_draft(session, actor, item["draft_id"], user_id, successor_id, text)
            for item in work["tasks"]:
                self._move_task(session, actor, item["task_id"], user_id, successor_id, text)
            for item in work["delegations"]:
                self._move_delegation(session, item["delegation_id"], user_id, successor, text)
            session.flush()
            notify(session, [successor_id], "handover", f"Bạn nhận bàn giao công việc của {leaver.full_name}",
                   text, "user", user_id)
            return {"user_id": user_id, "successor_id": successor_id, "moved": moved,
                    "left": self._open_work(session, user_id)}

    def move_item(self, actor: Actor, kind: str, item_id: str, from_user_id: str, to_user_id: str,
                  reason: str) -> dict[str, Any]:
        """Move one stuck item (a document, a draft, a task) from a person to another (administrator or leader)."""
        actor.require(Role.ADMIN, Role.LEADER)
        if not (reason or "").strip():
            raise ValidationFailed("Ghi lý do chuyển công việc.", field="reason")
        if from_user_id == to_user_id:
            raise ValidationFailed("Người nhận phải khác người đang giữ công việc.", field="to_user_id")
        with self._unit_of_work(actor) as session:
            receiver = self._staff(session, to_user_id)
            text = f"Chuyển công việc cho {receiver.full_name}: {reason.strip()}"
            if kind == "incoming":
                self._move_incoming(session, actor, str(item_id), from_user_id, to_user_id, text)
            elif kind == "draft":
                self._move_draft(session, actor, row_id(item_id), from_user_id, to_user_id, text)
            elif kind == "task":
                self._move_task(session, actor, row_id(item_id), from_user_id, to_user_id, text)
            else:
                raise ValidationFailed("Loại công việc không hợp lệ.", field="kind", value=kind)
            return self._open_work(session, from_user_id)

    # -- the leaver's own data (Tuyên Quang Đ21.1c) ---------------------------------------------------------------

    def allow_data_export(self, actor: Actor, user_id: str, allowed: bool = True, note: str = "") -> dict[str, Any]:
        """The head (a leader) allows — or withdraws — a person's download of what they handled."""
        actor.require(Role.LEADER)
        with self._unit_of_work(actor) as session:
            self._known(session, user_id)
            grant = session.get(DataExportGrant, user_id)
            if allowed and grant is None:
                session.add(DataExportGrant(user_id=user_id, granted_by=actor.user_id, granted_at=self._now(),
                                            note=note))
                notify(session, [user_id], "data_export", "Bạn được phép tải dữ liệu đã xử lý của mình", note,
                       "data_export", user_id)
            elif not allowed and grant is not None:
                session.delete(grant)
            session.flush()
            return self._export_grant(session, user_id)

    def data_export_grant(self, actor: Actor, user_id: str | None = None) -> dict[str, Any]:
        """Whether a person may download their data (themselves, an administrator or a leader asking)."""
        user_id = user_id or actor.user_id
        if user_id != actor.user_id:
            actor.require(Role.ADMIN, Role.LEADER)
        with self._unit_of_work(actor) as session:
            return self._export_grant(session, user_id)

    def handled_data(self, actor: Actor) -> dict[str, Any]:
        """The index of what the actor handled, for their ZIP: documents they took part in (with their history),
        drafts they wrote or reviewed (with the files), tasks. Only with the head's permission."""
        with self._unit_of_work(actor) as session:
            if session.get(DataExportGrant, actor.user_id) is None:
                raise NotFound("Thủ trưởng cơ quan chưa cho phép bạn tải dữ liệu của mình.", user_id=actor.user_id)
            me = actor.user_id
            handled = set(session.scalars(select(Assignment.handling_id).where(Assignment.user_id == me)))
            handled |= set(session.scalars(select(HandlingEvent.handling_id).where(HandlingEvent.user_id == me)))
            documents = [self._handling_view(session, h, history=True) for h in session.scalars(
                select(Handling).where(Handling.id.in_(handled)).order_by(Handling.id))] if handled else []
            drafts = select(DraftParticipant.draft_id).where(DraftParticipant.user_id == me)
            return {"user_id": me, "generated_at": _iso(self._now()), "documents": documents,
                    "drafts": [self._draft_view(session, d, full=True) for d in session.scalars(
                        select(Draft).where(Draft.id.in_(drafts)).order_by(Draft.id))],
                    "tasks": [self._task_view(session, t, full=True) for t in session.scalars(
                        select(Task).where(Task.id.in_(select(TaskMember.task_id).where(TaskMember.user_id == me)))
                        .order_by(Task.id))]}

    # -- helpers --------------------------------------------------------------------------------------------------

    def _known(self, session: Session, user_id: str) -> Staff:
        staff = session.get(Staff, user_id)
        if staff is None:
            raise NotFound("Không tìm thấy cán bộ trong danh bạ của cơ quan.", user_id=user_id)
        return staff

    @staticmethod
    def _export_grant(session: Session, user_id: str) -> dict[str, Any]:
        grant = session.get(DataExportGrant, user_id)
        return {"user_id": user_id, "allowed": grant is not None,
                "granted_by": grant.granted_by if grant else None,
                "granted_at": _iso(grant.granted_at) if grant else None}

    def _open_work(self, session: Session, user_id: str) -> dict[str, Any]:
        done = HandlingStatus.DONE.value
        assignments = session.execute(select(Handling, Assignment).join(
            Assignment, Assignment.handling_id == Handling.id).where(
            Assignment.user_id == user_id, Assignment.active, Handling.status != done).order_by(Assignment.id))
        to_direct = session.scalars(select(Handling).where(Handling.status == HandlingStatus.SUBMITTED,
                                                           Handling.submitted_to == user_id).order_by(Handling.id))
        drafts = session.scalars(select(Draft).where(Draft.drafted_by == user_id, Draft.status.in_(OPEN_DRAFT))
                                 .order_by(Draft.id))
        invited = select(DraftParticipant.draft_id).where(DraftParticipant.user_id == user_id,
                                                          DraftParticipant.role == "commenter")
        reviews = session.scalars(select(Draft).where(Draft.id.in_(invited), Draft.status.in_(OPEN_DRAFT),
                                                      Draft.drafted_by != user_id).order_by(Draft.id))
        member = select(TaskMember.task_id).where(TaskMember.user_id == user_id)
        tasks = session.scalars(select(Task).where(Task.status == "open", or_(
            Task.assignee == user_id, Task.created_by == user_id, Task.id.in_(member))).order_by(Task.id))
        delegations = session.scalars(select(Delegation).where(
            Delegation.revoked_at.is_(None), Delegation.ends_at > self._now(),
            or_(Delegation.delegate_user_id == user_id, Delegation.leader_user_id == user_id)).order_by(Delegation.id))
        work: dict[str, Any] = {
            "user_id": user_id,
            "assignments": [{"incoming_id": h.incoming_id, "subject": h.subject, "kind": a.kind, "status": h.status,
                             "deadline": _iso(h.deadline)} for h, a in assignments],
            "to_direct": [{"incoming_id": h.incoming_id, "subject": h.subject, "status": h.status,
                           "deadline": _iso(h.deadline)} for h in to_direct],
            "drafts": [{"draft_id": d.id, "title": d.title, "status": d.status} for d in drafts],
            "reviews": [{"draft_id": d.id, "title": d.title, "status": d.status} for d in reviews],
            "tasks": [{"task_id": t.id, "title": t.title, "due": _iso(t.due),
                       "role": "assignee" if t.assignee == user_id else
                       "creator" if t.created_by == user_id else "coordinator"} for t in tasks],
            "delegations": [{"delegation_id": d.id, "leader_user_id": d.leader_user_id,
                             "delegate_user_id": d.delegate_user_id, "scopes": d.scopes,
                             "ends_at": _iso(d.ends_at)} for d in delegations],
        }
        work["total"] = sum(len(work[kind]) for kind in KINDS)
        return work

    def _move_incoming(self, session: Session, actor: Actor, incoming_id: str, from_id: str, to_id: str,
                       text: str) -> None:
        handling = self._handling(session, incoming_id)
        moved = []
        for a in self._assignments(session, handling):
            if a.user_id == from_id and handling.status != HandlingStatus.DONE:
                a.active = False
                self._assign(session, handling, AssignmentKind(a.kind), {"user_id": to_id},
                             Authority(actor.user_id), text)
                moved.append(a.kind)
        if handling.status == HandlingStatus.SUBMITTED and handling.submitted_to == from_id:
            handling.submitted_to = to_id
            notify(session, [to_id], "submitted", f"Văn bản đến chờ bút phê: {handling.subject}", text,
                   "incoming", handling.incoming_id)
            moved.append("to_direct")
        if not moved:
            raise NotFound("Người này không còn giữ văn bản này.", incoming_id=incoming_id, user_id=from_id)
        self._touch(handling)
        self._history(session, handling, "handed_over", actor.user_id, None, text,
                      {"from": from_id, "to": to_id, "kinds": moved})

    def _move_draft(self, session: Session, actor: Actor, draft_id: int, from_id: str, to_id: str,
                    text: str) -> None:
        draft = session.get(Draft, draft_id)
        if draft is None or draft.status not in OPEN_DRAFT:
            raise NotFound("Không tìm thấy dự thảo đang xử lý.", draft_id=draft_id)
        part = session.scalar(select(DraftParticipant).where(DraftParticipant.draft_id == draft.id,
                                                             DraftParticipant.user_id == from_id))
        if draft.drafted_by == from_id:
            draft.drafted_by = to_id
            self._add_participant(session, draft, to_id, "author")
        elif part is not None and part.role == "commenter":
            self._add_participant(session, draft, to_id, "commenter")
        else:
            raise NotFound("Người này không tham gia dự thảo này.", draft_id=draft_id, user_id=from_id)
        if part is not None:
            part.role = "handed_over"  # still sees what they worked on; no longer expected to act
        draft.updated_at = self._now()
        self._comment(session, draft, actor.user_id, None, "handover", text)
        notify(session, [to_id], "handover", f"Dự thảo được bàn giao cho bạn: {draft.title}", text, "draft", draft.id)

    def _move_task(self, session: Session, actor: Actor, task_id: int, from_id: str, to_id: str, text: str) -> None:
        task = session.get(Task, task_id)
        if task is None or task.status != "open":
            raise NotFound("Không tìm thấy công việc đang mở.", task_id=task_id)
        members = {m.user_id: m for m in session.scalars(select(TaskMember).where(TaskMember.task_id == task.id))}
        if from_id not in members and from_id not in (task.assignee, task.created_by):
            raise NotFound("Người này không tham gia công việc này.", task_id=task_id, user_id=from_id)
        if task.assignee == from_id:
            task.assignee = to_id
        if task.created_by == from_id:
            task.created_by = to_id
        old = members.pop(from_id, None)
        kind = old.kind if old else "coordinator"
        if old is not None:
            session.delete(old)
        if to_id in members:
            if kind == "assignee":
                members[to_id].kind = kind
        else:
            session.add(TaskMember(task_id=task.id, user_id=to_id, kind=kind))
        session.add(TaskComment(task_id=task.id, user_id=actor.user_id, kind="handover", text=text, at=self._now()))
        notify(session, [to_id], "handover", f"Công việc được bàn giao cho bạn: {task.title}", text, "task", task.id)

    def _move_delegation(self, session: Session, delegation_id: int, from_id: str, successor: Staff,
                         text: str) -> None:
        row = session.get(Delegation, delegation_id)
        if row is None:
            return
        if row.delegate_user_id == from_id:
            row.delegate_user_id = successor.user_id
        elif Role.LEADER.value in (successor.roles or []):
            row.leader_user_id = successor.user_id
        else:
            row.revoked_at = self._now()  # a non-leader cannot lend a leader's authority
        row.note = f"{row.note}\n{text}".strip()
