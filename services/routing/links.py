"""Links between related records (liên kết: documents asking the same thing, a task and its draft...), shown on
both records (split from handling.py, which shows an incoming document's links on its page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common.actor import Actor
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.routing.models import Link

LINK_KINDS = {"incoming", "outgoing", "draft", "task", "dossier"}


class RecordLinks:
    def link(self, actor: Actor, from_kind: str, from_id: str, to_kind: str, to_id: str) -> dict[str, Any]:
        """Link related records (documents asking the same thing, a task and its draft...)."""
        if from_kind not in LINK_KINDS or to_kind not in LINK_KINDS:
            raise ValidationFailed("Loại liên kết không hợp lệ.", from_kind=from_kind, to_kind=to_kind)
        with self._unit_of_work(actor) as session:
            for kind, record_id in ((from_kind, from_id), (to_kind, to_id)):
                self._require_linkable(session, actor, kind, record_id)
            exists = session.scalar(select(Link.id).where(
                Link.from_kind == from_kind, Link.from_id == str(from_id), Link.to_kind == to_kind,
                Link.to_id == str(to_id)))
            if not exists:
                session.add(Link(from_kind=from_kind, from_id=str(from_id), to_kind=to_kind, to_id=str(to_id),
                                 created_by=actor.user_id, created_at=self._now()))
                session.flush()
            return {"links": self._links(session, from_kind, str(from_id))}

    def _require_linkable(self, session: Session, actor: Actor, kind: str, record_id: str) -> None:
        """A link shows on both records: the actor needs a part in a handling it touches, and must see a draft
        or task it touches. Other kinds (registry documents, dossiers) are not routing's records."""
        if kind == "incoming":
            handling = self._handling(session, record_id)
            if not self._takes_part(session, actor, handling):
                raise Forbidden("Chỉ người tham gia xử lý văn bản mới thêm được liên kết vào văn bản đó.",
                                user=actor.username, incoming_id=handling.incoming_id)
        elif kind == "draft":
            self._visible_draft(session, actor, _record_number(record_id))
        elif kind == "task":
            self._task_for(session, actor, _record_number(record_id))

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


def _record_number(record_id: str) -> int:
    """Drafts and tasks are numbered: anything else is no such record."""
    try:
        return int(record_id)
    except (TypeError, ValueError):
        raise NotFound("Không tìm thấy dự thảo hoặc công việc được liên kết.", record_id=str(record_id)[:40]) from None
