"""Nhập thay: a person the leader entrusted types in a decision the leader took on paper.

TP.HCM, Quy định kèm QĐ 23/QĐ-VP (2006) Điều 3:
- khoản 2: "Do điều kiện công tác, Lãnh đạo Văn phòng có thể ủy nhiệm cho Phòng Hành chính - Tổ chức cập nhật những
  thông tin do Lãnh đạo Văn phòng đã bút phê chỉ đạo trên văn bản đến, hồ sơ công việc (các thông tin về phân công,
  phê duyệt tờ trình, dự thảo văn bản, chuyển xử lý...)."
- khoản 3: "Các ý kiến của Thường trực Ủy ban nhân dân thành phố trên văn bản đến và trên hồ sơ xử lý sẽ do các Thư
  ký chịu trách nhiệm cập nhật vào chương trình phần mềm".

Unlike a delegation to act ("thay mặt", delegation.py), the decision is the leader's: the step is recorded as the
leader's (user_id, directed_by, assigned_by, the reviewer of the draft), so reports, "who decided" and the leader's
own lists count it as theirs; who typed it (`entered_by`) and when (`at`) are kept beside it, and the leader is told.
The grant is a delegation with the scope `record` (docs/routing.md "Nhập thay"): checked when the entry is typed,
like every delegation. The real time follows the late entry's rules (domain.late_moment, require_in_order). A digital
signature is never entered for another person: the key is the leader's own.

A chapter of the Routing application (app.py), using handling.py's and drafting.py's helpers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import to_vn
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.routing import domain
from services.routing.base import _iso, _utc, memoised
from services.routing.domain import Authority, HandlingStatus, Scope
from services.routing.models import Draft, DraftComment, HandlingEvent, Staff, Task, TaskComment, TaskMember
from services.routing.notify import notify
from services.routing.oversight import checked_fields, checked_operation

DECISIONS = {"approve": "duyệt", "return": "trả lại"}
# The leader's steps on a document already assigned (oversight.py) that an entrant may type in, as the notice names
# them: "thông tin về phân công ... chuyển xử lý" (Điều 3 khoản 2) go on after the first bút phê. Đôn đốc is one of
# them: the leader must "kịp thời đôn đốc xử lý các văn bản đến tồn đọng" (QĐ 23 Điều 19 khoản 1), and "Các ý kiến
# của Thường trực Ủy ban nhân dân thành phố trên văn bản đến và trên hồ sơ xử lý sẽ do các Thư ký chịu trách nhiệm
# cập nhật vào chương trình phần mềm QLVB & HSCV" (Điều 3 khoản 3).
OVERSIGHT = {"chase": "đôn đốc", "deadline": "điều chỉnh hạn xử lý", "directive": "chỉ đạo thêm",
             "handlers": "giao lại người xử lý", "take_back": "thu hồi văn bản"}
APPLY = {"chase": "_chased", "deadline": "_deadline_changed", "directive": "_directive_added",
         "handlers": "_handlers_changed", "take_back": "_taken_back"}


class EntryForLeader:
    def enter_directive(self, actor: Actor, leader_user_id: str, incoming_id: str, directive: str,
                        main: dict[str, str], coordinators: list[dict[str, str]] | None = None,
                        readers: list[dict[str, str]] | None = None, deadline: str | None = None,
                        happened_at: str | None = None) -> dict[str, Any]:
        """The leader's bút phê and phân công written on the paper document, typed in by their entrant; recorded as
        the leader's directive. Once per (document, leader, real time): a retried call answers it unchanged."""
        with self._unit_of_work(actor) as session:
            leader = self._entry_leader(session, actor, leader_user_id)
            handling = self._handling(session, incoming_id)
            late, retried = self._late_step(session, handling, happened_at, "directed", leader.user_id)
            if retried or (late is None and self._entered_directive(session, handling, leader.user_id)):
                return self._handling_view(session, handling)
            self._apply_directive(session, handling, self._config(session), Authority(leader.user_id), leader,
                                  directive, main, coordinators, readers, deadline, late,
                                  entered={"entered_by": actor.user_id})
            when = _iso(late or self._now())
            notify(session, [leader.user_id], "entered_for_you",
                   f"{actor.full_name} đã nhập thay bút phê của đồng chí: {handling.subject}",
                   f"Bút phê: {directive.strip()}\nThời điểm đồng chí bút phê: {when}", "incoming", incoming_id)
            return self._handling_view(session, handling)

    def enter_draft_decision(self, actor: Actor, leader_user_id: str, draft_id: int, decision: str, step: str,
                             comment: str = "", happened_at: str | None = None) -> dict[str, Any]:
        """The leader's approval or return of a draft at `step` (the key of the step the draft waits at, as the
        entrant saw it), given on paper and typed in by their entrant. Once per (draft, step, leader, real time)."""
        if decision not in DECISIONS:
            raise ValidationFailed("Chọn ý kiến của lãnh đạo: duyệt hoặc trả lại.", field="decision", value=decision)
        if decision == "return" and not (comment or "").strip():
            raise ValidationFailed("Phải ghi ý kiến khi trả lại dự thảo.", field="comment")
        with self._unit_of_work(actor) as session:
            leader = self._entry_leader(session, actor, leader_user_id)
            draft = self._visible_draft(session, leader, draft_id)
            if self._entered_decision(session, draft, leader.user_id, decision, step, happened_at):
                return self._draft_view(session, draft)  # retried call
            current = self._entry_step(session, leader, draft, step)
            if decision == "approve" and current.signs:
                raise ValidationFailed("Không nhập thay được việc ký số: khóa ký số là của riêng lãnh đạo, chỉ lãnh "
                                       "đạo tự “Duyệt và ký” trên thiết bị ký số của mình. Có thể nhập thay ý kiến "
                                       "trả lại, hoặc việc lãnh đạo đã duyệt, ký trên giấy nếu cơ quan cho phép.",
                                       code="signature_not_entered_for_another", draft_id=draft.id)
            late, _ = self._late_draft_step(session, draft, happened_at)
            self._comment(session, draft, leader.user_id, None, decision, comment, current.key, late,
                          entered_by=actor.user_id)
            self._add_participant(session, draft, leader.user_id, "reviewer")
            self._add_participant(session, draft, actor.user_id, "entrant")
            draft.updated_at = self._now()
            if decision == "approve":
                draft.step = draft.step + 1
                self._notify_step(session, draft, self._steps(draft)[draft.step])
            else:
                draft.status, draft.step = "returned", None
                notify(session, [draft.drafted_by], "returned", f"Dự thảo bị trả lại: {draft.title}",
                       f"{current.label}: {comment}", "draft", draft.id)
            notify(session, [leader.user_id], "entered_for_you",
                   f"{actor.full_name} đã nhập thay ý kiến {DECISIONS[decision]} dự thảo của đồng chí: {draft.title}",
                   f"{current.label}: {comment}\nThời điểm đồng chí cho ý kiến: {_iso(late or self._now())}",
                   "draft", draft.id)
            return self._draft_view(session, draft)

    def enter_paper_approval(self, actor: Actor, leader_user_id: str, draft_id: int, step: str, scan_sha256: str,
                             comment: str = "", happened_at: str | None = None) -> dict[str, Any]:
        """"Duyệt, ký trên giấy" at the signing step, where the agency allows it (paper.py): the leader approved and
        signed the paper original by hand, and their entrant types it in with the scan of the signed page. Not a
        digital signature (that is never entered for another: the key is the leader's own): the hand signature is
        on the paper, and the scan shows it. Recorded as the leader's (`paper.approved_by`, the history), with
        `paper.entered_by` and `paper.entered_scan_sha256`; the draft then waits for its handler's "Chuyển phát
        hành" as when the leader clicks it. Once per draft: asked again, the draft is answered as it is."""
        if self.check_paper_entry(actor, leader_user_id, draft_id, step):
            with self._unit_of_work(actor) as session:  # as the leader sees it: the leader may have done it
                leader = self._entry_leader(session, actor, leader_user_id)
                return self._draft_view(session, self._visible_draft(session, leader, draft_id))
        self._check_blobs([scan_sha256])  # once the grant, the rule and the step allow it: nothing asked before
        with self._unit_of_work(actor) as session:
            leader = self._entry_leader(session, actor, leader_user_id)
            draft = self._visible_draft(session, leader, draft_id)
            if self._paper_entry_checked(session, leader, draft_id, step) is None:
                current = self._steps(draft)[draft.step]
                late, _ = self._late_draft_step(session, draft, happened_at)
                # the leader signed in their own name: their position as the directory has it (_signing_authority)
                staff = session.get(Staff, leader.user_id)
                position = staff.position if staff and staff.position else ""
                self._paper_approved(session, draft, current, Authority(leader.user_id), leader, position, None,
                                     comment, late,
                                     entered={"entered_by": actor.user_id, "entered_scan_sha256": scan_sha256})
                self._add_participant(session, draft, leader.user_id, "reviewer")
                self._add_participant(session, draft, actor.user_id, "entrant")
                notify(session, [leader.user_id], "entered_for_you",
                       f"{actor.full_name} đã nhập thay việc đồng chí duyệt, ký trên giấy: {draft.title}",
                       f"{current.label}: {comment}\nThời điểm đồng chí ký bản giấy: {_iso(late or self._now())}",
                       "draft", draft.id)
            return self._draft_view(session, draft)

    def check_paper_entry(self, actor: Actor, leader_user_id: str, draft_id: int, step: str) -> bool:
        """Refuses exactly when enter_paper_approval would before it reads the scan: asked by the gateway before
        the file is stored (a refusal stores nothing). True: the draft was approved on paper already."""
        with self._unit_of_work(actor) as session:
            leader = self._entry_leader(session, actor, leader_user_id)
            return bool(self._paper_entry_checked(session, leader, draft_id, step))

    def _paper_entry_checked(self, session: Session, leader: Actor, draft_id: int, step: str) -> bool | None:
        """True when the draft was approved on paper already (a retry, or the leader's own click meanwhile: nothing
        to enter); None once the agency's rule, the step (the signing step, where the leader acts) allow it."""
        draft = self._visible_draft(session, leader, draft_id)
        if self._paper_done(draft, "approved_by"):
            return True
        self._require_paper_allowed(session)
        current = self._entry_step(session, leader, draft, step)
        if not current.signs:
            raise Conflict("Chỉ nhập thay duyệt, ký trên giấy ở bước lãnh đạo ký ban hành; bước hiện tại là "
                           f"“{current.label}”.", code="not_signing_step", step=current.key)
        return None

    def enter_oversight(self, actor: Actor, leader_user_id: str, incoming_id: str, action: str, operation_id: str,
                        fields: dict[str, Any], happened_at: str | None = None) -> dict[str, Any]:
        """The leader's directing step after the first assignment (đôn đốc, điều chỉnh hạn, chỉ đạo thêm, giao lại,
        thu hồi), written on paper and typed in by their entrant: recorded as the leader's, as if the leader had done
        it on the handling page (oversight.py), with `entered_by` and the real time. Once per (document, operation id):
        a redelivered call answers the document unchanged."""
        if action not in OVERSIGHT:
            raise ValidationFailed("Chọn việc lãnh đạo đã chỉ đạo: đôn đốc, điều chỉnh hạn, chỉ đạo thêm, giao lại "
                                   "hoặc thu hồi.", field="action", value=action)
        operation, values = checked_operation(operation_id), checked_fields(action, fields)
        # the leader's own right counts, not the entrant's; a refused real time rolls the recorded operation back
        with self._oversee(actor, incoming_id, action, operation, leader_user_id) as (session, handling, authority,
                                                                                     leader):
            if authority is None:
                return self._handling_view(session, handling, history=True)
            late, _ = self._late_step(session, handling, happened_at)
            getattr(self, APPLY[action])(session, handling, authority, leader, **values, late=late,
                                         entered={"entered_by": actor.user_id})
            said = values.get("text") or values.get("reason") or values.get("note") or ""
            notify(session, [leader.user_id], "entered_for_you",
                   f"{actor.full_name} đã nhập thay ý kiến {OVERSIGHT[action]} của đồng chí: {handling.subject}",
                   f"{said}\nThời điểm đồng chí cho ý kiến: {_iso(late or self._now())}".lstrip(), "incoming",
                   incoming_id)
            return self._handling_view(session, handling, history=True)

    def enter_task_opinion(self, actor: Actor, leader_user_id: str, task_id: int, text: str, operation_id: str,
                           happened_at: str | None = None) -> dict[str, Any]:
        """The leader's opinion on a task (công việc) they take part in, written on the paper file ("ý kiến ... trên
        hồ sơ xử lý", Điều 3 khoản 3) and typed in by their entrant: the task's comment is the leader's (`user_id`),
        with `entered_by` and the real time (`happened_at`); the other members are told as for the leader's own
        comment, and the leader is told. Once per (task, operation id)."""
        text, operation = (text or "").strip(), checked_operation(operation_id)
        if not text:
            raise ValidationFailed("Ý kiến của lãnh đạo không được để trống.", field="text")
        with self._unit_of_work(actor) as session:
            leader = self._entry_leader(session, actor, leader_user_id)
            task = self._task_for(session, leader, task_id)
            if not self._entering_for(session, actor, task, leader.user_id):
                raise Forbidden(f"{leader.full_name} không tham gia công việc này; chỉ nhập thay ý kiến của lãnh đạo "
                                "trên công việc lãnh đạo giao, thực hiện hoặc phối hợp.", code="leader_not_in_task",
                                task_id=task.id)
            if session.scalar(select(TaskComment.id).where(TaskComment.task_id == task.id,
                                                           TaskComment.operation_id == operation)):
                return self._task_view(session, task, full=True)
            late = self._late_task_step(session, task, happened_at)
            session.add(TaskComment(task_id=task.id, user_id=leader.user_id, kind="comment", text=text,
                                    at=self._now(), happened_at=_utc(late), entered_by=actor.user_id,
                                    operation_id=operation))
            others = [m for m in self._task_members(session, task) if m not in (leader.user_id, actor.user_id)]
            notify(session, others, "task_comment", f"Ý kiến về công việc: {task.title}",
                   f"{leader.full_name}: {text}", "task", task.id)
            notify(session, [leader.user_id], "entered_for_you",
                   f"{actor.full_name} đã nhập thay ý kiến của đồng chí về công việc: {task.title}",
                   f"{text}\nThời điểm đồng chí cho ý kiến: {_iso(late or self._now())}", "task", task.id)
            session.flush()
            return self._task_view(session, task, full=True)

    def _entering_for(self, session: Session, actor: Actor, task: Task, leader_user_id: str | None = None) -> bool:
        """Whether a leader who entrusted the actor with typing in their opinions (scope `record`, in force; or the
        one named) takes part in the task: the entrant then sees it, as the leader does."""
        leaders = {s.user_id for s in self._entrusting_leaders(session, actor)}
        if leader_user_id is not None:
            leaders &= {leader_user_id}
        return bool(leaders) and bool(session.scalar(select(TaskMember.id).where(
            TaskMember.task_id == task.id, TaskMember.user_id.in_(leaders)).limit(1)))

    def _late_task_step(self, session: Session, task: Task, happened_at: str | None) -> Any:
        """The real time of the leader's opinion: not in the future, not before the task was given nor before its
        latest comment (the exchange reads in the order things happened)."""
        late = domain.late_moment(happened_at, self._now(), None)
        if late is None:
            return None
        if late < to_vn(task.created_at):
            raise ValidationFailed("Thời điểm lãnh đạo cho ý kiến không được trước lúc giao công việc "
                                   f"({to_vn(task.created_at).strftime('%d/%m/%Y %H:%M')}).", code="before_arrival",
                                   field="happened_at")
        said = session.scalars(select(TaskComment).where(TaskComment.task_id == task.id))
        domain.require_in_order(late, max((c.happened_at or c.at for c in said), default=None))
        return late

    # -- helpers --------------------------------------------------------------------------------------------------

    def _entry_leader(self, session: Session, actor: Actor, leader_user_id: str) -> Actor:
        """The leader whose decision is typed in, as an actor of this agency, once the entrant's grant is checked."""
        if actor.on_behalf_of:
            raise Forbidden("Nhập thay ý kiến lãnh đạo bằng tài khoản của chính mình, không trong phiên ủy quyền.",
                            code="entry_under_delegation")
        if leader_user_id == actor.user_id:
            raise ValidationFailed("Đồng chí tự nhập ý kiến của mình ở các khung xử lý, không cần nhập thay.",
                                   code="entry_for_self", field="leader_user_id")
        staff = session.get(Staff, str(leader_user_id or ""))
        if staff is None or not staff.active:
            raise NotFound("Không tìm thấy lãnh đạo được chọn trong danh bạ của cơ quan.", user_id=leader_user_id)
        if Role.LEADER.value not in (staff.roles or []):
            raise Forbidden(f"Chỉ nhập thay ý kiến của lãnh đạo cơ quan; {staff.full_name} không phải lãnh đạo.",
                            code="not_a_leader", user_id=leader_user_id)
        domain.require_entry_grant(self._grants(session, actor.user_id), actor.user_id, staff.user_id,
                                   staff.full_name, self._now())
        return Actor(user_id=staff.user_id, username=staff.username, agency_id=self.agency_id,
                     roles=frozenset(staff.roles or []), full_name=staff.full_name, unit=staff.unit)

    def _entry_step(self, session: Session, leader: Actor, draft: Draft, step: str) -> Any:
        """The step the draft waits at, checked to be the one the entrant saw (`step`) and one where the leader
        acts."""
        if draft.status != "in_review" or draft.step is None:
            raise Conflict("Dự thảo không ở trạng thái chờ duyệt.", status=draft.status, draft_id=draft.id)
        current = self._steps(draft)[draft.step]
        if current.key != step:
            raise Conflict(f"Dự thảo đã chuyển sang bước “{current.label}”; mở lại dự thảo để nhập đúng bước.",
                           code="step_moved", step=current.key, asked=step)
        if self._current_step_admits(session, leader, draft) is None:
            raise Forbidden(f"{leader.full_name} không duyệt ở bước “{current.label}” của dự thảo này.",
                            code="leader_not_at_step", step=current.key)
        return current

    def _entered_directive(self, session: Session, handling: Any, leader_user_id: str) -> bool:
        """A directive entered for this leader without a real time, already the document's latest: a retry."""
        if handling.status in (HandlingStatus.RECEIVED, HandlingStatus.SUBMITTED):
            return False
        last = session.scalar(select(HandlingEvent).where(HandlingEvent.handling_id == handling.id,
                                                          HandlingEvent.action == "directed")
                              .order_by(HandlingEvent.id.desc()).limit(1))
        return bool(last and last.user_id == leader_user_id and (last.data or {}).get("entered_by"))

    def _entered_decision(self, session: Session, draft: Draft, leader_user_id: str, decision: str, step: str,
                          happened_at: str | None) -> bool:
        """This leader's decision at this step of the current round, entered for them at this real time (any
        time when none is given): already in the draft's history."""
        rows = list(session.scalars(select(DraftComment).where(DraftComment.draft_id == draft.id)
                                    .order_by(DraftComment.id)))
        since = max((i for i, c in enumerate(rows) if c.kind == "submit"), default=-1)
        stamp = _iso(domain.late_moment(happened_at, self._now(), None)) if happened_at else None
        return any(c.kind == decision and c.user_id == leader_user_id and c.step == step and c.entered_by
                   and (stamp is None or _iso(c.happened_at) == stamp) for c in rows[since + 1:])

    def _may_enter_at(self, session: Session, actor: Actor, draft: Draft) -> bool:
        """Whether a leader who entrusted the actor with entering their decisions (scope `record`, in force) may act
        at the step the draft waits at: the entrant then sees the draft, as the leader does."""
        if draft.status != "in_review" or draft.step is None:
            return False
        step = self._steps(draft)[draft.step]
        return any(step.admits_person(set(staff.roles or []), staff.unit, draft.unit, staff.user_id)
                   for staff in self._entrusting_leaders(session, actor))

    def _entrusting_leaders(self, session: Session, actor: Actor) -> list[Staff]:
        """The active leaders whose `record` grant to the actor is in force: read once for a whole list, and once for
        all the lists of a read_many (both read under memo_grants)."""
        def read() -> list[Staff]:
            now = self._now()
            ids = sorted({g.leader_user_id for g in self._grants(session, actor.user_id)
                          if g.covers(actor.user_id, Scope.RECORD.value, now)})
            return [s for s in (session.get(Staff, i) for i in ids) if s is not None and s.active]

        return memoised(session, ("entrusting", actor.user_id), read)
