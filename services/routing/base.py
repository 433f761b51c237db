"""The plumbing every routing use case shares: the unit of work (agency check, staff directory refresh), the agency's
configuration and calendar, the clock, delegated authority and staff look-ups.

app.py composes the use-case chapters (staff.py, handling.py, drafting.py, work.py, delegation.py) over this base.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.clock import to_vn
from services.common.db import Database, get_or_add
from services.common.errors import NotFound
from services.common.workcalendar import WorkCalendar, calendar_for
from services.routing import domain
from services.routing.domain import Authority, Scope
from services.routing.models import (
    AgencyConfig,
    Delegation,
    Staff,
)

Signer = Callable[..., dict[str, Any]]  # (pdf_sha256, signer_user_id, reason, on_behalf_of=None, signer_position="")

_CALENDARS: dict[str, WorkCalendar] = {}
_CONFIG_KEY = "routing_agency_config"
_GRANTS_MEMO = "routing_grants_memo"
T = TypeVar("T")


@contextmanager
def memo_grants(session: Session) -> Iterator[None]:
    """Within: each person's delegation grants, and the leaders who entrusted them, read once (a list checking every
    draft against the caller's grants; read_many's lists). Only around reads: a grant made or revoked within would
    not be seen. Nested, the outer one's memo serves and outlives the inner."""
    if _GRANTS_MEMO in session.info:
        yield
        return
    session.info[_GRANTS_MEMO] = {}
    try:
        yield
    finally:
        session.info.pop(_GRANTS_MEMO, None)


def memoised(session: Session, key: tuple[str, str], make: Callable[[], T]) -> T:
    """make(), once per key within memo_grants (held strongly: the identity map keeps rows only weakly)."""
    memo = session.info.get(_GRANTS_MEMO)
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def row_id(value: object) -> int:
    """A record number from a request: anything that is not one the database can hold (PostgreSQL integer) is no
    such record, not a database error."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**31 else 0


def _iso(moment: datetime | None) -> str | None:
    return to_vn(moment).isoformat(timespec="seconds") if moment else None


def _now_utc() -> datetime:
    return clock.now_utc()   # looked up at each call, so a test's patch of services.common.clock reaches routing


class RoutingBase:
    def __init__(self, database: Database, agency_id: str, *, sign: Signer | None = None, blobs: Any = None,
                 clock: Callable[[], datetime] = _now_utc) -> None:
        self.db = database
        self.agency_id = agency_id
        self.sign = sign
        self.blobs = blobs
        self.clock = clock
        self._calendars = _CALENDARS  # shared: the service builds a Routing per call, holidays are costly
        self._shared: Session | None = None

    # == plumbing ================================================================================================

    @contextmanager
    def _unit_of_work(self, actor: Actor) -> Iterator[Session]:
        if self._shared is not None:  # inside one_transaction: the caller's session, already checked
            yield self._shared
            return
        actor.require_agency(self.agency_id)
        with self.db.session() as session:
            self._remember(session, actor)
            yield session

    @contextmanager
    def one_transaction(self, actor: Actor) -> Iterator[Session]:
        """Every use case called inside runs in this one transaction: one session, one agency check, one staff
        refresh, the agency's configuration read once (read_many answers a page's lists this way)."""
        with self._unit_of_work(actor) as session:
            self._shared = session
            try:
                yield session
            finally:
                self._shared = None

    def _remember(self, session: Session, actor: Actor) -> None:
        """Keep the staff directory fresh from the actors we see (the gateway is the source of truth)."""
        if actor.has(Role.SYSTEM):
            return
        roles = sorted(actor.roles)
        staff = get_or_add(session, Staff, actor.user_id, lambda: Staff(
            user_id=actor.user_id, username=actor.username, full_name=actor.full_name, unit=actor.unit, roles=roles))
        if (staff.unit, staff.roles, staff.full_name) != (actor.unit, roles, actor.full_name or staff.full_name):
            staff.unit, staff.roles = actor.unit, roles
            staff.full_name = actor.full_name or staff.full_name

    def _config(self, session: Session) -> AgencyConfig:
        # Held by the session for its unit of work: the identity map keeps rows weakly, so without this every row
        # of a list read the configuration again from the database.
        found = session.info.get(_CONFIG_KEY)
        if found is None:
            found = session.info[_CONFIG_KEY] = get_or_add(session, AgencyConfig, self.agency_id, lambda: AgencyConfig(
                agency_id=self.agency_id, agency_name="", calendar={}, registration_limit_hours=8,
                default_deadline_days=10, due_soon_hours=8, review_chain=None))
        return found

    def _calendar(self, cfg: AgencyConfig) -> WorkCalendar:
        return calendar_for(cfg.calendar or {}, self._calendars)

    def _now(self) -> datetime:
        return _utc(self.clock())  # type: ignore[return-value]

    def _grants(self, session: Session, user_id: str) -> list[domain.DelegationGrant]:
        def read() -> list[domain.DelegationGrant]:
            rows = session.scalars(select(Delegation).where(Delegation.delegate_user_id == user_id)).all()
            return [domain.DelegationGrant(r.leader_user_id, r.delegate_user_id, r.starts_at, r.ends_at,
                                           frozenset(r.scopes), revoked=r.revoked_at is not None) for r in rows]

        return memoised(session, ("grants", user_id), read)

    def _authority(self, session: Session, actor: Actor, scope: Scope) -> Authority:
        grants = self._grants(session, actor.user_id)
        if scope == Scope.APPROVE and not self._signing_delegation(session):
            grants = []  # the agency switched signing delegation off: only the leader signs
        return domain.leader_authority(actor, scope, grants, self._now())

    def _signing_delegation(self, session: Session) -> bool:
        return self._config(session).signing_delegation is not False

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
