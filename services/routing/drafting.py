"""Drafting an outgoing document: drafts and their versions, comments, the review chain and the signing step.

A chapter of the Routing application (app.py); the methods use the shared plumbing of base.RoutingBase and, where
noted, methods of the other chapters through the composed class.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common import agency_rules
from services.common.actor import Actor, Role
from services.common.errors import Conflict, CongVanError, Forbidden, NotFound, ValidationFailed
from services.common.outbox import enqueue
from services.routing import domain
from services.routing.base import _iso, _utc, memo_grants, row_id
from services.routing.chains import ChainStep, chain_for, parse_chain, require_step, with_deputy
from services.routing.domain import AssignmentKind, Authority, Scope, sign_operation
from services.routing.models import (
    Draft,
    DraftComment,
    DraftParticipant,
    DraftVersion,
    Link,
    Staff,
)
from services.routing.notify import notify

log = logging.getLogger(__name__)

DRAFT_TYPES_MAX = 20
# The steps of a draft's review that a late entry is ordered after (its previous step). Comments, versions, the
# deputy's choice and handovers are not steps: a draft written on paper during an outage is often uploaded only
# afterwards, and then its steps are entered with their real times, earlier than the upload.
REVIEW_STEPS = ("submit", "approve", "return", "sign", "paper_sign", "paper_forward")


class SigningUnavailable(Conflict):
    code = "signing_unavailable"
    http_status = 503


class SigningTimeout(TimeoutError):
    """The signing service did not answer within the configured time (service.py raises it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"signing did not answer within {seconds:g} s")
        self.seconds = seconds


def signer_entry(actor: Actor, position: str, on_behalf_of: dict[str, str] | None) -> dict[str, str]:
    """The signer as `draft_signed` carries it to the registry (and the edXML SignerInfo)."""
    return {"user_id": actor.user_id, "full_name": actor.full_name, "position": position,
            # edXML SignerInfo.Competence, e.g. "TUQ. CHỦ TỊCH" (empty: in their own name)
            "competence": f"{on_behalf_of['form']} {on_behalf_of['position'].upper()}" if on_behalf_of else ""}


class Drafting:
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
                # the main handler, or a coordinator: "tạo dự thảo văn bản tại mục 'Xử lý chính' hoặc 'Phối hợp
                # xử lý' của văn bản đến" (Bình Định QĐ 376 Đ4.2 Bước 1)
                self._require_main_handler(session, actor, handling, AssignmentKind.COORDINATOR)
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

    def check_draft_version(self, actor: Actor, draft_id: int) -> None:
        with self._unit_of_work(actor) as session:
            self._editable_draft(session, actor, draft_id)

    def _editable_draft(self, session: Session, actor: Actor, draft_id: int) -> Draft:
        draft = self._visible_draft(session, actor, draft_id)
        self._require_author(actor, draft)
        if draft.status not in ("drafting", "returned"):
            raise Conflict("Chỉ sửa dự thảo khi đang soạn hoặc bị trả lại.", status=draft.status)
        return draft

    def add_draft_version(self, actor: Actor, draft_id: int, pdf_sha256: str,
                          appendix_sha256s: list[str] | None = None, note: str = "") -> dict[str, Any]:
        self._check_blobs([pdf_sha256, *(appendix_sha256s or [])])
        with self._unit_of_work(actor) as session:
            draft = self._editable_draft(session, actor, draft_id)
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

    def name_deputy(self, actor: Actor, draft_id: int, user_id: str | None) -> dict[str, Any]:
        """The drafter names (or clears) the deputy in charge (phó phụ trách), who reviews and initials the draft
        just before the leader signs; taken into the chain at the next submission."""
        with self._unit_of_work(actor) as session:
            draft = self._editable_draft(session, actor, draft_id)
            name = "(không có)"
            if user_id:
                deputy = self._staff(session, user_id)
                if Role.LEADER.value not in (deputy.roles or []):
                    raise ValidationFailed("Phó phụ trách phải là lãnh đạo cơ quan.", user_id=user_id)
                name = deputy.full_name
            if draft.deputy_user_id != (user_id or None):
                draft.deputy_user_id = user_id or None
                draft.updated_at = self._now()
                self._comment(session, draft, actor.user_id, None, "deputy", name)
            return self._draft_view(session, draft)

    def submit_draft(self, actor: Actor, draft_id: int, note: str = "",
                     happened_at: str | None = None) -> dict[str, Any]:
        """The drafter submits along the agency's chain; a returned draft starts again from the first step.
        `happened_at`: submitted on paper during an outage, entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2)."""
        with self._unit_of_work(actor) as session:
            draft = self._visible_draft(session, actor, draft_id)
            self._require_author(actor, draft)
            late, retried = self._late_draft_step(session, draft, happened_at, "submit", actor.user_id)
            if retried or draft.status == "in_review":
                return self._draft_view(session, draft)  # retried call
            if draft.status not in ("drafting", "returned"):
                raise Conflict("Dự thảo này không thể trình duyệt nữa.", status=draft.status)
            cfg = self._config(session)
            steps = with_deputy(chain_for(draft.type_code, cfg.review_chain, cfg.review_chains), draft.deputy_user_id)
            draft.chain = [s.to_dict() for s in steps]
            draft.status, draft.step = "in_review", 0
            draft.updated_at = self._now()
            self._comment(session, draft, actor.user_id, None, "submit", note, steps[0].key, late)
            self._notify_step(session, draft, steps[0])
            return self._draft_view(session, draft)

    def approve_draft(self, actor: Actor, draft_id: int, comment: str = "", pin: str | None = None,
                      otp: str | None = None, happened_at: str | None = None) -> dict[str, Any]:
        """Approve at the current step; at the last step the leader (or delegate) approves AND signs. `happened_at`:
        an approval given on paper during an outage, entered afterwards; never for the signature, whose time is
        the moment the key signs (docs/signing.md)."""
        with self._unit_of_work(actor) as session:
            done = self._late_retry(session, actor, draft_id, happened_at, "approve")
            if done is not None:
                return done
            draft, step, authority = self._reviewer(session, actor, draft_id)
            if step.signs and happened_at:
                raise ValidationFailed("Không nhập muộn được việc ký số: thời điểm ký là lúc thiết bị ký số ký, "
                                       "không ghi lùi được. Nếu lãnh đạo đã ký trên giấy trong lúc phần mềm ngừng "
                                       "hoạt động, chọn “Duyệt, ký trên giấy” với thời điểm thực tế.",
                                       code="signature_not_backdated", field="happened_at", draft_id=draft_id)
            if not step.signs:
                late, _ = self._late_draft_step(session, draft, happened_at)
                self._comment(session, draft, authority.user_id, authority.on_behalf_of, "approve", comment,
                              step.key, late)
                self._add_participant(session, draft, actor.user_id, "reviewer")
                draft.step = (draft.step or 0) + 1
                draft.updated_at = self._now()
                self._notify_step(session, draft, self._steps(draft)[draft.step])
                return self._draft_view(session, draft)
            step_index, pdf_sha256 = int(draft.step or 0), self._version(session, draft).pdf_sha256
        return self._sign(actor, draft_id, step_index, pdf_sha256, authority, comment, pin, otp)

    def _sign(self, actor: Actor, draft_id: int, step_index: int, pdf_sha256: str, authority: Authority,
              comment: str, pin: str | None = None, otp: str | None = None) -> dict[str, Any]:
        # The signature is made BEFORE the transaction: if signing is unavailable nothing changes here.
        if self.sign is None:
            raise SigningUnavailable("Dịch vụ ký số chưa sẵn sàng; dự thảo chưa được duyệt, vui lòng thử lại sau.")
        on_behalf_of, position = self._signing_authority(actor, authority)
        try:
            # the PIN (the signer's own token) goes to signing only when typed: stand-ins and older signers take none
            signed_sha = str(self.sign(pdf_sha256, actor.user_id, "Phê duyệt và ký ban hành", on_behalf_of,
                                       position, operation_id=sign_operation(draft_id, step_index),
                                       **({"pin": pin} if pin else {}), **({"otp": otp} if otp else {}))["sha256"])
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
            signer = signer_entry(actor, staff.position if staff and staff.position else "", on_behalf_of)
            self._hand_to_issue(session, draft, signed_sha, list(version.appendix_sha256s or []), signer,
                                on_behalf_of)
            notify(session, [draft.drafted_by], "signed", f"Dự thảo đã được duyệt và ký: {draft.title}",
                   ref_kind="draft", ref_id=draft.id)
            return self._draft_view(session, draft)

    def _hand_to_issue(self, session: Session, draft: Draft, pdf_sha256: str, appendix_sha256s: list[str],
                       signer: dict[str, str], on_behalf_of: dict[str, str] | None,
                       paper_signed: dict[str, Any] | None = None) -> None:
        """`draft_signed` to the registry (the clerk's "Chờ ban hành"), in the caller's transaction: the one way a
        signed draft reaches issue, whether the leader signed digitally or on paper (paper.py)."""
        enqueue(session, "draft_signed", {
            "draft_id": draft.id, "title": draft.title, "subject": draft.title, "type_code": draft.type_code,
            "pdf_sha256": pdf_sha256, "appendix_sha256s": appendix_sha256s, "signer": signer,
            "on_behalf_of": draft.signed_on_behalf_of, "on_behalf_of_leader": on_behalf_of,
            "answers": list(draft.answers or []), "drafted_by": draft.drafted_by, "unit": draft.unit,
            "unit_name": self._unit_name(session, draft.unit),   # the register's column 6 (registry)
            # the notation's drafting unit, "12/UBND-VX" (NĐ 30 Phụ lục I): its abbreviation, else its code
            "unit_abbr": self._unit_abbreviation(session, draft.unit),
            "priority": draft.priority,
            **({"paper_signed": paper_signed} if paper_signed else {}),
        })
        if domain.is_urgent(draft.priority):
            # An urgent document is issued as soon as it is signed (DOMAIN.md outgoing 4; Đà Nẵng Đ5.3 for the
            # incoming side): the clerks are told at once, in the app and by Web Push (the `notified` event),
            # not when they next open "Chờ ban hành" (issue 18).
            notify(session, self._people_with(session, Role.CLERK.value), "urgent",
                   f"{domain.urgency_prefix(draft.priority)}Văn bản đi cần cấp số, ban hành ngay: {draft.title}",
                   ref_kind="waiting_issue", ref_id=draft.id, dedupe_key=f"urgent-signed:{draft.id}")

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

    def return_draft(self, actor: Actor, draft_id: int, comment: str,
                     happened_at: str | None = None) -> dict[str, Any]:
        """Return to the drafter from the current step (`happened_at`: returned on paper during an outage)."""
        if not (comment or "").strip():
            raise ValidationFailed("Phải ghi ý kiến khi trả lại dự thảo.")
        with self._unit_of_work(actor) as session:
            done = self._late_retry(session, actor, draft_id, happened_at, "return")
            if done is not None:
                return done
            draft, step, authority = self._reviewer(session, actor, draft_id)
            late, _ = self._late_draft_step(session, draft, happened_at)
            self._comment(session, draft, authority.user_id, authority.on_behalf_of, "return", comment, step.key,
                          late)
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
            taking_part = set(session.scalars(mine))
            rows = list(session.scalars(select(Draft).where(or_(Draft.id.in_(mine), Draft.status == "in_review"))))
            # Every draft in review of the agency is a candidate: its visibility, the caller's grants and its
            # current version are read once for the list, not once a draft (every home page asks for this list).
            with memo_grants(session):
                visible = [d for d in rows if self._can_see(session, actor, d, participant=d.id in taking_part)]
            visible.sort(key=lambda d: domain.list_order(d.priority, None, d.created_at))
            versions = self._current_versions(session, visible)
            return [self._draft_view(session, d, version=versions[d.id]) for d in visible]

    # -- draft helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _steps(draft: Draft) -> list[ChainStep]:
        return parse_chain(draft.chain)

    def _version(self, session: Session, draft: Draft) -> DraftVersion:
        return session.scalars(select(DraftVersion).where(DraftVersion.draft_id == draft.id,
                                                          DraftVersion.number == draft.version)).one()

    @staticmethod
    def _current_versions(session: Session, drafts: list[Draft]) -> dict[int, DraftVersion]:
        current = {d.id: d.version for d in drafts}
        found: dict[int, DraftVersion] = {}
        ids = list(current)
        for start in range(0, len(ids), 500):  # SQLite takes a bounded number of parameters
            for v in session.scalars(select(DraftVersion).where(DraftVersion.draft_id.in_(ids[start:start + 500]))):
                if v.number == current[v.draft_id]:
                    found[v.draft_id] = v
        return found

    def _add_participant(self, session: Session, draft: Draft, user_id: str, role: str) -> None:
        if not session.scalar(select(DraftParticipant.id).where(DraftParticipant.draft_id == draft.id,
                                                                DraftParticipant.user_id == user_id)):
            session.add(DraftParticipant(draft_id=draft.id, user_id=user_id, role=role))
            session.flush()

    def _comment(self, session: Session, draft: Draft, user_id: str, on_behalf_of: str | None, kind: str,
                 text: str, step: str | None = None, late: datetime | None = None,
                 entered_by: str | None = None) -> None:
        """`late`: the real time of a step entered after an outage; `at` stays when it was entered, and by
        `user_id` unless someone typed the leader's decision in for them (`entered_by`, entry.py)."""
        session.add(DraftComment(draft_id=draft.id, user_id=user_id, on_behalf_of=on_behalf_of, kind=kind,
                                 step=step, version=draft.version, text=text or "", at=self._now(),
                                 happened_at=_utc(late), entered_by=entered_by))

    def _late_draft_step(self, session: Session, draft: Draft, happened_at: str | None, kind: str | None = None,
                   user_id: str | None = None) -> tuple[datetime | None, bool]:
        """The real time of a draft's step entered after an outage (domain.late_moment: Vietnam time, not in the
        future), not before the draft's previous step (REVIEW_STEPS, code before_previous_step) as for the steps
        of an incoming document. Given the step (`kind`, `user_id`): whether this very step at this real time is
        already in the history, a redelivered call that then changes nothing."""
        late = domain.late_moment(happened_at, self._now(), None)
        if late is None:
            return None, False
        rows = list(session.scalars(select(DraftComment).where(DraftComment.draft_id == draft.id,
                                                               DraftComment.kind.in_(REVIEW_STEPS))))
        if kind and any(c.kind == kind and c.user_id == user_id and _iso(c.happened_at) == _iso(late) for c in rows):
            return late, True
        domain.require_in_order(late, max((_utc(c.happened_at or c.at) for c in rows), default=None))
        return late, False

    def _late_retry(self, session: Session, actor: Actor, draft_id: int, happened_at: str | None,
                    kind: str) -> dict[str, Any] | None:
        """A reviewer's late step already entered (redelivered, while the draft has moved on to a step this person
        may no longer act at): the draft as it is; else None."""
        if not happened_at:
            return None
        draft = self._visible_draft(session, actor, draft_id)
        _late, retried = self._late_draft_step(session, draft, happened_at, kind, actor.user_id)  # Authority.user_id
        return self._draft_view(session, draft) if retried else None

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

    def _can_see(self, session: Session, actor: Actor, draft: Draft, participant: bool | None = None) -> bool:
        """`participant`: whether the actor takes part in the draft, when the caller already knows."""
        if participant is None:
            participant = session.scalar(select(DraftParticipant.id).where(
                DraftParticipant.draft_id == draft.id, DraftParticipant.user_id == actor.user_id)) is not None
        if participant:
            return True
        # a leader's entrant (nhập thay, entry.py) sees the drafts waiting at that leader's step
        return self._current_step_admits(session, actor, draft) is not None or self._may_enter_at(session, actor, draft)

    def _visible_draft(self, session: Session, actor: Actor, draft_id: int) -> Draft:
        draft = session.get(Draft, row_id(draft_id))
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

    def _initials(self, session: Session, draft: Draft) -> list[dict[str, Any]]:
        """The reviewers' initials (ký tắt) of the current round: each approval since the last submission, with
        the step, the version it approved and when ("Trình dự thảo ... tới Lãnh đạo được phân công phụ trách xem
        xét, ký tắt trước khi trình Lãnh đạo cơ quan ... ký ban hành", Tuyên Quang QĐ 51/2024 Đ12.1c)."""
        rows = list(session.scalars(select(DraftComment).where(DraftComment.draft_id == draft.id).order_by(
            DraftComment.id)))
        since = max((i for i, c in enumerate(rows) if c.kind == "submit"), default=-1)
        out = []
        for c in rows[since + 1:]:
            if c.kind in ("approve", "sign", "paper_sign"):
                staff = session.get(Staff, c.user_id)
                name = staff.full_name if staff else c.user_id
                out.append({"step": c.step, "user_id": c.user_id, "on_behalf_of": c.on_behalf_of,
                            "initials": domain.initials_of(name), "full_name": name, "version": c.version,
                            "at": _iso(c.happened_at or c.at), "signs": c.kind in ("sign", "paper_sign")})
        return out

    def _notify_step(self, session: Session, draft: Draft, step: ChainStep) -> None:
        people = [s.user_id for s in session.scalars(select(Staff).where(Staff.active))
                  if step.admits_person(set(s.roles or []), s.unit, draft.unit, s.user_id)]
        notify(session, people, "review", f"{domain.urgency_prefix(draft.priority)}Dự thảo chờ duyệt ({step.label}): "
               f"{draft.title}", ref_kind="draft", ref_id=draft.id)

    def _draft_view(self, session: Session, draft: Draft, full: bool = False,
                    version: DraftVersion | None = None) -> dict[str, Any]:
        steps = self._steps(draft) if draft.chain else []
        version = version or self._version(session, draft)
        view = {
            "draft_id": draft.id, "title": draft.title, "type_code": draft.type_code, "priority": draft.priority,
            "status": draft.status, "drafted_by": draft.drafted_by, "unit": draft.unit,
            "answers": list(draft.answers or []), "version": draft.version, "pdf_sha256": version.pdf_sha256,
            "appendix_sha256s": list(version.appendix_sha256s or []),
            "step": steps[draft.step].to_dict() if steps and draft.step is not None else None,
            "signed_sha256": draft.signed_sha256, "signed_by": draft.signed_by,
            "signed_on_behalf_of": draft.signed_on_behalf_of, "updated_at": _iso(draft.updated_at),
            "deputy_user_id": draft.deputy_user_id,
            "outgoing_id": draft.outgoing_id, "issued_number": draft.issued_number,
            "issued_at": _iso(draft.issued_at), "paper": dict(draft.paper) if draft.paper else None,
        }
        if full:
            view["versions"] = [{"number": v.number, "pdf_sha256": v.pdf_sha256,
                                 "appendix_sha256s": v.appendix_sha256s, "uploaded_by": v.uploaded_by,
                                 "note": v.note, "at": _iso(v.created_at)} for v in session.scalars(
                select(DraftVersion).where(DraftVersion.draft_id == draft.id).order_by(DraftVersion.number))]
            # `at`: when entered; a late step's real time is `happened_at` (late_entry)
            view["comments"] = [{"user_id": c.user_id, "on_behalf_of": c.on_behalf_of, "kind": c.kind,
                                 "step": c.step, "version": c.version, "text": c.text, "at": _iso(c.at),
                                 "happened_at": _iso(c.happened_at), "late_entry": c.happened_at is not None,
                                 "entered_by": c.entered_by}
                                for c in session.scalars(select(DraftComment).where(
                                    DraftComment.draft_id == draft.id).order_by(DraftComment.id))]
            view["initials"] = self._initials(session, draft)
            view["participants"] = sorted(p.user_id for p in session.scalars(
                select(DraftParticipant).where(DraftParticipant.draft_id == draft.id)))
            view["chain"] = [s.to_dict() for s in steps]
            # whether the leader may choose "Duyệt, ký trên giấy" here (the page shows the option only then)
            view["paper_signing"] = agency_rules.value_of(session, self.agency_id, "paper_signing")
        return view
