"""Opening next year's registers like this year's (mở sổ năm mới).

Numbers run from 01 on 1 January to 31 December each year (NĐ 30/2020/NĐ-CP Điều 15.1 for documents issued, Điều 22
for documents received: "Số đến của văn bản được lấy liên tiếp theo thứ tự và trình tự thời gian tiếp nhận văn bản
trong năm"), so an agency keeps one register per direction, scope and year. Nothing opened next year's: on 1 January
(17:00 UTC on 31 December) every registration of an agency that had not opened them by hand was refused.

`open_year_registers` opens, for one agency, year Y's counterpart of every register it used in year Y-1 (same
direction and scope; the name with the year replaced when it contains it, else the default name), skipping those
that exist. The business operation (agency, year) is its own key: each register is a row of `uq_register` (agency,
direction, scope, year), so running it twice, or two at once, opens each register once (the loser of a race hears
the unique constraint, looks again and finds them). Every row it writes lands in the registry's audit chain, like
every register change (services/common/audit.py).

A register of Y-1 closed before December was given up during the year ("thôi dùng sổ") and is not carried over; one
closed in December is the year-end closing (khóa sổ cuối năm) and is.

`open_on_first_need` is the safety net of 1 January: when a number is needed in the current year (Vietnam time) and
the agency has no register of that year for the direction at all but had one the year before, the same operation
runs in its own transaction first. It never opens a year before its time, nor anything for an agency that never had
registers. `numbered` is the same net for a form opened before midnight and sent after: the register it offered is
last year's, and the number comes from that register's successor of the new year (same agency, direction and scope:
numbering.successor), opened first if need be (`open_successor`); never from last year's register.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor
from services.common.db import Database
from services.common.errors import Conflict, ValidationFailed
from services.registry import domain, numbering, rules
from services.registry.documents import _in_agency
from services.registry.models import Register
from services.registry.registers import default_name, register_dict

SAFETY_NET_ACTOR = "system:nam-moi"   # created_by of registers the 1 January safety net opened
ATTEMPTS = 3                          # a race lost to another opening: look again (it then finds them)
T = TypeVar("T")


def year_registers(db: Database, actor: Actor, year: int | None = None) -> dict[str, Any]:
    """Which of year Y's registers (default: next year) are open, and which of Y-1's have no counterpart yet."""
    _in_agency(db, actor)
    year = int(year) if year else numbering.numbering_year(clock.now_utc()) + 1
    with db.session() as session:
        return _status(session, actor.agency_id, year)


def open_year_registers(db: Database, actor: Actor, year: int | None = None) -> dict[str, Any]:
    """Mở các sổ năm Y theo các sổ năm Y-1 (default Y: next year). The administrator, the clerk where the agency's
    rule says so (NĐ 30 Điều 16, 22: rules.require_register_opener), or the province operator acting for the
    agency as onboarding does. Only this year's or next year's registers: a typo must not open 2072's."""
    _in_agency(db, actor)
    rules.require_register_opener(db, actor)
    now = numbering.numbering_year(clock.now_utc())
    year = int(year) if year else now + 1
    if not now <= year <= now + 1:
        raise ValidationFailed(f"Chỉ mở được các sổ của năm nay ({now}) hoặc năm sau ({now + 1}) theo sổ năm trước.",
                               code="bad_year", field="year", value=year)
    return _open(db, actor.agency_id, year, actor.user_id)


def open_on_first_need(db: Database, agency_id: str, direction: str, year: int) -> bool:
    """The 1 January safety net (see the module's docstring); True when it opened something. `year` is the year a
    number is asked in: anything but the current year in Vietnam opens nothing."""
    if year != numbering.numbering_year(clock.now_utc()):
        return False
    known = _HAVE_REGISTERS.setdefault(db, set())
    if (agency_id, direction, year) in known:
        return False
    with db.session() as session:
        if session.execute(select(Register.id).where(
                Register.agency_id == agency_id, Register.direction == direction, Register.year == year)).first():
            known.add((agency_id, direction, year))
            return False
        if not any(r.direction == direction for r in _carried(session, agency_id, year - 1)):
            return False
    return bool(_open(db, agency_id, year, SAFETY_NET_ACTOR)["opened"])


def numbered(db: Database, agency_id: str, register_id: str | None, work: Callable[[], T]) -> T:
    """Run `work`, a numbering transaction that takes its register through numbering.current. Refused because the
    register chosen is last year's and its successor is not open (a form opened before midnight in Vietnam and sent
    after, or midnight passing during the transaction), the year's registers are opened (`open_successor`) and
    `work` runs once more: the clerk does not retype the form. The usual path costs no extra transaction."""
    try:
        return work()
    except Conflict as exc:
        if not register_id or not numbering.turned_meanwhile(exc):
            raise
    open_successor(db, agency_id, register_id)
    return work()


def peek_current(db: Database, agency_id: str, chosen_id: str, direction: str) -> tuple[str, int]:
    """For the numberings that seal before they take the number (issue, copies): the register that numbers now for
    the one chosen (numbering.current, its successor opened on need) and its next number. Midnight passing while
    sealing makes `allocate` refuse (numbering.turned_meanwhile): the caller asks here again."""
    def look() -> tuple[str, int]:
        with db.session() as session:
            used = numbering.current(session, chosen_id, agency_id)
            return used, numbering.peek(session, used, agency_id, direction)

    return numbered(db, agency_id, chosen_id, look)


def open_successor(db: Database, agency_id: str, register_id: str) -> None:
    """When the register is last year's and carried over (see the module's docstring) but its successor
    (numbering.successor) is not open, the year's registers are opened as `open_on_first_need` opens them, in their
    own transaction. A register given up during its year, or of another year, opens nothing."""
    year = numbering.numbering_year(clock.now_utc())
    with db.session() as session:
        reg = session.get(Register, register_id)
        if reg is None or reg.agency_id != agency_id or reg.year != year - 1:
            return
        if numbering.successor(session, reg, year) is not None:
            return
        if reg.id not in {r.id for r in _carried(session, agency_id, year - 1)}:
            return   # given up during its year: not carried over, so no successor of its own
    _open(db, agency_id, year, SAFETY_NET_ACTOR)


# What the safety net found already there, per database: a register is never deleted, so an agency that has one of
# the year for a direction keeps it, and the registration of each paper document (register_paper_incoming asks at
# every one) need not look again in a transaction of its own.
_HAVE_REGISTERS: weakref.WeakKeyDictionary[Database, set[tuple[str, str, int]]] = weakref.WeakKeyDictionary()


def _open(db: Database, agency_id: str, year: int, by: str) -> dict[str, Any]:
    for _attempt in range(ATTEMPTS):
        try:
            with db.session() as session:
                have = _of_year(session, agency_id, year)
                opened = []
                for old in _carried(session, agency_id, year - 1):
                    if (old.direction, old.scope) in {(r.direction, r.scope) for r in have}:
                        continue
                    taken = {r.name.casefold() for r in have if r.direction == old.direction}
                    reg = Register(agency_id=agency_id, direction=old.direction, scope=old.scope, year=year,
                                   name=_name(old, year, taken), next_number=1, created_by=by)
                    session.add(reg)
                    session.flush()   # uq_register: another opening of the same register got there first
                    have.append(reg)
                    opened.append(reg)
                status = _status(session, agency_id, year)
                return {**status, "opened": [register_dict(r) for r in opened]}
        except IntegrityError:
            continue
    raise Conflict(f"Không mở được các sổ năm {year}: sổ đang được mở đồng thời; vui lòng thử lại.",
                   code="register_race", year=year)


def _status(session: Session, agency_id: str, year: int) -> dict[str, Any]:
    have = _of_year(session, agency_id, year)
    kinds = {(r.direction, r.scope) for r in have}
    missing = [{"direction": r.direction, "scope": r.scope, "label": domain.DIRECTION_LABELS[r.direction],
                "name": _name(r, year, set()), "from_name": r.name, "from_id": r.id}
               for r in _carried(session, agency_id, year - 1) if (r.direction, r.scope) not in kinds]
    return {"year": year, "from_year": year - 1, "registers": [register_dict(r) for r in have], "missing": missing,
            "opened": []}


def _of_year(session: Session, agency_id: str, year: int) -> list[Register]:
    return list(session.execute(select(Register).where(Register.agency_id == agency_id, Register.year == year)
                                .order_by(Register.direction, Register.scope)).scalars())


def _carried(session: Session, agency_id: str, year: int) -> list[Register]:
    """The registers of `year` the next year continues: all but those closed before December (given up)."""
    registers = _of_year(session, agency_id, year)
    closed = numbering.closures(session, [r.id for r in registers])
    december = date(year, 12, 1)
    return [r for r in registers if r.id not in closed or clock.vn_date(closed[r.id]) >= december]


def _name(old: Register, year: int, taken: set[str]) -> str:
    """Last year's name with its year replaced ("Sổ công văn đến 2026" → "... 2027"), else the default name; the
    default when the replaced name is taken by another register of the kind and year."""
    fallback = default_name(old.direction, old.scope, year)
    name = old.name.replace(str(old.year), str(year)) if str(old.year) in old.name else fallback
    for candidate in (name, fallback, f"{fallback} ({old.scope})"):
        if candidate.casefold() not in taken:
            return candidate
    return f"{fallback} ({old.id[:8]})"
