"""Delegation: a leader lets a deputy act for them within a period and scopes; grants are checked by base._authority.

A chapter of the Routing application (app.py); the methods use the shared plumbing of base.RoutingBase and, where
noted, methods of the other chapters through the composed class.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from services.common.actor import Actor, Role
from services.common.clock import to_vn
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.routing import domain
from services.routing.base import _iso, _utc, row_id
from services.routing.domain import Scope
from services.routing.models import (
    Delegation,
)
from services.routing.notify import notify


class Delegations:
    def delegate(self, actor: Actor, delegate_user_id: str, starts_at: str, ends_at: str,
                 scopes: list[str] | None = None, note: str = "") -> dict[str, Any]:
        """A leader lets someone act in their name for a period, only within the scopes named: assign (directives,
        deadlines, re-assignment), supervise (see and chase the units' progress), approve (approve and sign)."""
        actor.require(Role.LEADER)
        scopes = sorted(set(scopes or []))
        if not scopes:  # nothing is granted by default
            raise ValidationFailed("Chọn ít nhất một phạm vi ủy quyền.", field="scopes")
        if not set(scopes) <= {s.value for s in Scope}:
            raise ValidationFailed("Phạm vi ủy quyền không hợp lệ.", scopes=scopes)
        start = domain.parse_instant(starts_at, "Ngày bắt đầu ủy quyền")
        end = domain.parse_instant(ends_at, "Ngày kết thúc ủy quyền")
        domain.check_delegation_period(start, end)
        if delegate_user_id == actor.user_id:
            raise ValidationFailed("Không thể tự ủy quyền cho chính mình.")
        with self._unit_of_work(actor) as session:
            if Scope.APPROVE.value in scopes and not self._signing_delegation(session):
                raise Forbidden("Cơ quan không cho phép ủy quyền duyệt, ký văn bản.", scopes=scopes)
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
            row = session.get(Delegation, row_id(delegation_id))
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
