"""Gap-free, unique numbers from a register (sổ văn bản), under any concurrency.

The register row is the counter. Allocation locks it (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
transaction already holds the write lock from BEGIN IMMEDIATE, services/common/db.py), takes `next_number`
and increments it in the same transaction as the document that uses the number: a rollback returns the
number, so there are no gaps; the lock makes two clerks never get the same one.

A closed register (khóa sổ, e.g. at the end of the year) gives no more numbers. Closing takes the same row lock,
so a number is either taken before the register closes or refused after it. A register closed by mistake is reopened
(mở lại sổ) within its own year only: `next_number` was never touched, so numbering continues from the last number
given, with no gap and no number given twice. The closure then moves to `register_reopening`, with who reopened it,
when and why: the history of a register's closings is kept, not overwritten.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common import clock
from services.common.clock import vn_date
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.registry.domain import DIRECTION_LABELS, SCOPE_ALL
from services.registry.models import Base, Register


class RegisterClosure(Base):
    """A closed register. Its own table (not a column of `register`) so that databases made before registers could
    be closed gain it from create_all, with no column migration."""

    __tablename__ = "register_closure"
    register_id: Mapped[str] = mapped_column(ForeignKey("register.id"), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    closed_by: Mapped[str] = mapped_column(String(100), default="")


class RegisterCloseRequest(Base):
    """A closing asked for by a form or an API call with a key. Kept after the register is reopened, so that the same
    request delivered again (RabbitMQ delivers at least once; a client retries) does not close it a second time."""

    __tablename__ = "register_close_request"
    register_id: Mapped[str] = mapped_column(ForeignKey("register.id"), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())


class RegisterOpenRequest(Base):
    """The register a form or an API call with a key opened: the same request delivered again (RabbitMQ delivers at
    least once; a client retries after a timeout) is answered with that register instead of "đã có"."""

    __tablename__ = "register_open_request"
    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    register_id: Mapped[str] = mapped_column(ForeignKey("register.id"))


def opened_by(session: Session, agency_id: str, request_key: str) -> Register | None:
    """The register this request opened, if it did."""
    done = session.get(RegisterOpenRequest, (agency_id, request_key))
    return session.get(Register, done.register_id) if done is not None else None


class RegisterReopening(Base):
    """A closing undone: when and by whom the register had been closed, and who reopened it, when and why. A table
    of its own, like the closure, so that older databases gain it from create_all."""

    __tablename__ = "register_reopening"
    # the business operation that reopened it (a form's or an API call's key): delivered twice, reopened once
    __table_args__ = (UniqueConstraint("register_id", "request_key", name="uq_register_reopening_key"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    register_id: Mapped[str] = mapped_column(ForeignKey("register.id"), index=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str] = mapped_column(String(100), default="")
    reopened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    reopened_by: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    request_key: Mapped[str | None] = mapped_column(String(100), nullable=True)


def numbering_year(moment: datetime | None = None) -> int:
    """The register year of an instant: the calendar year in Vietnam (31 Dec 17:00 UTC is 1 Jan there)."""
    return vn_date(moment or clock.now_utc()).year


def lock_register(session: Session, register_id: str, agency_id: str, direction: str) -> Register:
    """The register, locked, as the lock read it: `populate_existing`, because a copy the session already holds
    (read before the lock, while another clerk took a number) would otherwise be handed back as it was."""
    reg = session.execute(select(Register).where(Register.id == register_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if reg is None or reg.agency_id != agency_id:
        raise NotFound("Không tìm thấy sổ văn bản.", register_id=register_id)
    if reg.direction != direction:
        raise ValidationFailed(f"Phải chọn {DIRECTION_LABELS[direction].lower()}.", code="wrong_register",
                               register_id=register_id, direction=reg.direction, wanted=direction)
    check_open(session, reg)
    return reg


def check_open(session: Session, reg: Register) -> None:
    closure = session.get(RegisterClosure, reg.id)
    if closure is not None:
        raise Conflict(f"Sổ “{reg.name}” đã khóa ngày {vn_date(closure.closed_at).strftime('%d/%m/%Y')}; không thể "
                       f"lấy số từ sổ đã khóa. Hãy chọn sổ khác hoặc đề nghị quản trị mở sổ mới.",
                       code="register_closed", register_id=reg.id)


def lock_own(session: Session, register_id: str, agency_id: str) -> Register:
    """The register, row-locked as numbering locks it; another agency's register is "not found", like a missing one."""
    reg = session.execute(select(Register).where(Register.id == register_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if reg is None or reg.agency_id != agency_id:
        raise NotFound("Không tìm thấy sổ văn bản.", register_id=register_id)
    return reg


def close_register(session: Session, register_id: str, agency_id: str, user_id: str,
                   request_key: str | None = None) -> tuple[Register, datetime | None]:
    """Close the register; returns it and when it closed (None: open). Idempotent: closing a closed register, or a
    request key that already closed this register (even if it was reopened since), changes nothing."""
    reg = lock_own(session, register_id, agency_id)
    closure = session.get(RegisterClosure, register_id)
    if request_key:
        if session.get(RegisterCloseRequest, (reg.id, request_key)) is not None:
            return reg, _utc(closure.closed_at) if closure else None
        session.add(RegisterCloseRequest(register_id=reg.id, request_key=request_key))
    if closure is None:
        closure = RegisterClosure(register_id=register_id, closed_at=clock.now_utc(), closed_by=user_id)
        session.add(closure)
        session.flush()
    return reg, _utc(closure.closed_at)


def reopen_register(session: Session, register_id: str, agency_id: str, user_id: str, reason: str,
                    request_key: str | None = None) -> Register:
    """Reopen a closed register of the current year (Vietnam time). Idempotent: an open register, or a request key
    that already reopened this register, changes nothing. `next_number` stays as it is: the next number follows the
    last one given."""
    reg = lock_own(session, register_id, agency_id)
    if request_key and session.execute(select(RegisterReopening.id).where(
            RegisterReopening.register_id == reg.id, RegisterReopening.request_key == request_key)).first():
        return reg
    closure = session.get(RegisterClosure, reg.id)
    if closure is None:
        return reg
    year = numbering_year(clock.now_utc())
    if reg.year != year:
        raise Conflict(f"Sổ “{reg.name}” là sổ năm {reg.year}; không thể mở lại sổ của năm đã qua trong năm {year}. "
                       f"Số văn bản năm {year} phải lấy từ sổ năm {year}: hãy mở sổ năm {year}.",
                       code="register_year", register_year=reg.year, year=year)
    session.add(RegisterReopening(register_id=reg.id, closed_at=closure.closed_at, closed_by=closure.closed_by,
                                  reopened_at=clock.now_utc(), reopened_by=user_id, reason=reason,
                                  request_key=request_key))
    session.delete(closure)
    session.flush()
    return reg


def reopenings(session: Session, register_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each register's closings undone, oldest first (registers never reopened are absent)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not register_ids:
        return found
    rows = session.execute(select(RegisterReopening).where(RegisterReopening.register_id.in_(register_ids))
                           .order_by(RegisterReopening.reopened_at, RegisterReopening.id)).scalars()
    for r in rows:
        found.setdefault(r.register_id, []).append({
            "closed_at": _utc(r.closed_at).isoformat(), "closed_by": r.closed_by,
            "reopened_at": _utc(r.reopened_at).isoformat(), "reopened_by": r.reopened_by, "reason": r.reason})
    return found


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone=True columns; everything stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def closures(session: Session, register_ids: list[str]) -> dict[str, datetime]:
    """When each of these registers closed (open ones are absent)."""
    if not register_ids:
        return {}
    rows = session.execute(select(RegisterClosure).where(RegisterClosure.register_id.in_(register_ids))).scalars()
    return {r.register_id: _utc(r.closed_at) for r in rows}


def check_year(reg: Register, moment: datetime | None) -> None:
    year = numbering_year(moment)
    if reg.year != year:
        raise Conflict(f"Sổ “{reg.name}” là sổ năm {reg.year}; số văn bản năm {year} phải lấy từ sổ năm {year}.",
                       code="register_year", register_year=reg.year, year=year)


def successor(session: Session, reg: Register, year: int) -> Register | None:
    """The register of `year` that continues `reg`: the same agency, direction and scope (kind), the correspondence
    by which next year's registers are opened from this year's (year_registers.py)."""
    return session.execute(select(Register).where(
        Register.agency_id == reg.agency_id, Register.direction == reg.direction, Register.scope == reg.scope,
        Register.year == year)).scalar_one_or_none()


def current(session: Session, register_id: str, agency_id: str, moment: datetime | None = None) -> str:
    """The register that numbers at `moment` (default now) for the one chosen: the chosen one, or, when it is of the
    year before (a form opened before midnight in Vietnam, sent after), its successor of the new year. A new-year
    number never comes from last year's register: with no successor open, Conflict `register_year`, on which
    year_registers.numbered opens it and asks again. Registers of other years are left to `allocate` to refuse."""
    year = numbering_year(moment)
    reg = session.get(Register, register_id)
    if reg is None or reg.agency_id != agency_id or reg.year != year - 1:
        return register_id
    found = successor(session, reg, year)
    if found is None:
        check_year(reg, moment)
    return found.id


def year_turn(session: Session, chosen_id: str | None, used_id: str) -> dict[str, Any] | None:
    """What the answer and the document's history say when the year turned between the form and the number: the
    register chosen and the one that numbered instead (None when they are the same)."""
    if not chosen_id or chosen_id == used_id:
        return None
    chosen, used = session.get(Register, chosen_id), session.get(Register, used_id)
    return {"from_register_id": chosen.id, "from_register_name": chosen.name, "from_year": chosen.year,
            "register_id": used.id, "register_name": used.name, "year": used.year}


def turn_details(turn: dict[str, Any] | None) -> dict[str, Any]:
    """The history line's share of a year turn: {"year_turn": turn}, or nothing when the year did not turn."""
    return {"year_turn": turn} if turn else {}


def turned_meanwhile(exc: Conflict) -> bool:
    """A register of the year before refused by `allocate`: midnight passed between looking at the register and
    taking the number (e.g. while the document was being sealed); looking again finds the successor."""
    return exc.code == "register_year" and exc.details.get("register_year") == exc.details.get("year", 0) - 1


def allocate(session: Session, register_id: str, agency_id: str, direction: str,
             moment: datetime | None = None, expected: int | None = None) -> int:
    """Take the next number of the register in the caller's transaction.

    `expected`: the number the caller already used (e.g. printed into a signed PDF); if another clerk took it
    meanwhile, Conflict is raised and nothing is taken.
    """
    return _take(session, lock_register(session, register_id, agency_id, direction), moment, expected)


def allocate_in_year(session: Session, agency_id: str, direction: str, year: int,
                     moment: datetime | None = None) -> tuple[str, int]:
    """find_register's book of the year (the 'all' one) and allocate() from it: (its id, the number). The register
    is found by the locking SELECT itself, one statement instead of a lookup and then a lock by id. Its closure is
    still read by a statement of its own after the lock: one SELECT joining it would see the snapshot taken before
    the wait, and miss a closing committed while it waited for the lock (READ COMMITTED). The counter's UPDATE goes
    with the caller's next flush or its commit (the row stays locked until then)."""
    reg = session.execute(select(Register).where(
        Register.agency_id == agency_id, Register.direction == direction, Register.year == year,
        Register.scope == SCOPE_ALL).with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if reg is None:
        raise _no_register(direction, year)
    check_open(session, reg)
    return reg.id, _take(session, reg, moment, None, flush=False)


def _take(session: Session, reg: Register, moment: datetime | None, expected: int | None, flush: bool = True) -> int:
    check_year(reg, moment)
    number = int(reg.next_number)
    if expected is not None and expected != number:
        raise Conflict(f"Số {expected:02d} không còn trống trong sổ “{reg.name}”; số tiếp theo là {number:02d}.",
                       code="number_taken", expected=expected, next_number=number)
    reg.next_number = number + 1
    if flush:
        session.flush()
    return number


def peek(session: Session, register_id: str, agency_id: str, direction: str) -> int:
    reg = session.get(Register, register_id)
    if reg is None or reg.agency_id != agency_id:
        raise NotFound("Không tìm thấy sổ văn bản.", register_id=register_id)
    if reg.direction != direction:
        raise ValidationFailed(f"Phải chọn {DIRECTION_LABELS[direction].lower()}.", code="wrong_register",
                               register_id=register_id)
    check_open(session, reg)
    return int(reg.next_number)


def find_register(session: Session, agency_id: str, direction: str, year: int,
                  type_code: str | None = None) -> Register:
    """The register for a document: the type's own book if the agency keeps one, else the 'all' book."""
    scopes = [s for s in (type_code, SCOPE_ALL) if s]
    regs = {r.scope: r for r in session.execute(select(Register).where(
        Register.agency_id == agency_id, Register.direction == direction, Register.year == year,
        Register.scope.in_(scopes))).scalars()}
    for scope in scopes:
        if scope in regs:
            return regs[scope]
    raise _no_register(direction, year)


def _no_register(direction: str, year: int) -> NotFound:
    return NotFound(f"Chưa có {DIRECTION_LABELS[direction].lower()} năm {year}; quản trị cần tạo sổ trước.",
                    code="no_register", direction=direction, year=year)
