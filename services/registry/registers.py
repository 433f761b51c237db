"""Registers (number books) and the agency profile printed on what the registry issues."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.actor import Actor, Role
from services.common.clock import vn_date
from services.common.db import Database
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.registry import domain, numbering, rules
from services.registry.catalog import type_name
from services.registry.documents import _in_agency
from services.registry.domain import SCOPE_ALL, Direction
from services.registry.models import (
    AgencyProfile,
    Register,
)

NAME_MAX = 200      # the column's length
REASON_MAX = 1000


def set_agency_profile(db: Database, actor: Actor, organ_name: str, abbreviation: str, place: str = "") -> dict:
    _in_agency(db, actor)
    actor.require(Role.ADMIN)
    with db.session() as session:
        prof = session.get(AgencyProfile, actor.agency_id) or AgencyProfile(agency_id=actor.agency_id)
        prof.organ_name, prof.abbreviation, prof.place = organ_name[:200], abbreviation[:20], place[:100]
        session.add(prof)
    return {"agency_id": actor.agency_id, "organ_name": organ_name, "abbreviation": abbreviation, "place": place}


def get_send_policy(db: Database, actor: Actor) -> dict[str, Any]:
    """Whether "Gửi văn bản" may send a document without a legally valid signature, marked so (default: no)."""
    _in_agency(db, actor)
    with db.session() as session:
        prof = session.get(AgencyProfile, actor.agency_id)
        return {"allow_unsigned_send": bool(prof and prof.allow_unsigned_send)}


def set_send_policy(db: Database, actor: Actor, allow_unsigned_send: bool) -> dict[str, Any]:
    _in_agency(db, actor)
    actor.require(Role.ADMIN)
    with db.session() as session:
        prof = session.get(AgencyProfile, actor.agency_id) or AgencyProfile(
            agency_id=actor.agency_id, organ_name=actor.agency_id, abbreviation="", place="")
        prof.allow_unsigned_send = bool(allow_unsigned_send)
        session.add(prof)
    return {"allow_unsigned_send": bool(allow_unsigned_send)}


def register_dict(reg: Register) -> dict[str, Any]:
    return {"id": reg.id, "direction": reg.direction, "scope": reg.scope, "year": reg.year, "name": reg.name,
            "next_number": int(reg.next_number), "label": domain.DIRECTION_LABELS[reg.direction]}


def create_register(db: Database, actor: Actor, direction: str, year: int, scope: str = SCOPE_ALL,
                    name: str | None = None, request_key: str | None = None) -> dict[str, Any]:
    """Mở sổ. `request_key` (the form's key, or the API caller's Idempotency-Key) names this opening: the same
    request again returns the register it opened; another request for a register that exists is refused (409).
    The key is kept with what was asked: the same form sent back for another year (the browser's Back) is another
    opening, not the first one's answer."""
    _in_agency(db, actor)
    key = hashlib.sha256(f"{request_key}|{direction}|{year}|{scope}".encode()).hexdigest() if request_key else None
    rules.require_register_opener(db, actor)
    if direction not in Direction.ALL:
        raise ValidationFailed("Loại sổ không hợp lệ (sổ văn bản đến, đi, bản sao).", code="bad_direction",
                               field="direction", value=direction)
    legal = domain.legal_type(scope)
    if legal is not None:
        if direction != Direction.OUTGOING:
            raise ValidationFailed("Sổ văn bản quy phạm pháp luật là sổ văn bản đi.", code="bad_scope",
                                   field="scope", value=scope)
        domain.legal_scope(legal)
    elif scope != SCOPE_ALL:
        domain.check_type_code(scope)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed("Năm của sổ không hợp lệ.", code="bad_year", field="year", value=year)
    label = domain.DIRECTION_LABELS[direction]
    name = register_name(name) if name and name.strip() else default_name(direction, scope, int(year))
    try:
        with db.session() as session:
            if key and (done := numbering.opened_by(session, actor.agency_id, key)) is not None:
                return register_dict(done)
            reg = Register(agency_id=actor.agency_id, direction=direction, scope=scope, year=int(year), name=name,
                           next_number=1, created_by=actor.user_id)
            session.add(reg)
            session.flush()  # a register of this kind, year and scope already there: IntegrityError, said so below
            _check_name_free(_peers(session, actor.agency_id, direction, int(year)), name, reg.id)
            if key:
                session.add(numbering.RegisterOpenRequest(agency_id=actor.agency_id, request_key=key,
                                                          register_id=reg.id))
            return register_dict(reg)
    except IntegrityError:
        if key:  # the same request delivered twice at once: the other delivery opened it
            with db.session() as session:
                if (done := numbering.opened_by(session, actor.agency_id, key)) is not None:
                    return register_dict(done)
        raise Conflict(f"{label} năm {year} cho phạm vi này đã có.", code="register_exists", direction=direction,
                       year=year, scope=scope) from None


def default_name(direction: str, scope: str, year: int) -> str:
    """The name a register gets when none is typed: its kind, scope and year."""
    label, legal = domain.DIRECTION_LABELS[direction], domain.legal_type(scope)
    return (f"{label} năm {year}" if scope == SCOPE_ALL
            else f"Sổ văn bản quy phạm pháp luật ({type_name(legal)}) năm {year}" if legal
            else f"{label} ({type_name(scope)}) năm {year}")


def list_registers(db: Database, actor: Actor, year: int | None = None, direction: str | None = None) -> list[dict]:
    _in_agency(db, actor)
    registers = _listed(db, actor, year, direction)
    if not registers and year and direction:
        # A clerk's page asks for this year's registers to number in: on 1 January, none yet, the registry opens
        # them from last year's (year_registers.py) rather than refuse the first clerk of the year.
        from services.registry import year_registers

        if year_registers.open_on_first_need(db, actor.agency_id, direction, int(year)):
            registers = _listed(db, actor, year, direction)
    return registers


def _listed(db: Database, actor: Actor, year: int | None, direction: str | None) -> list[dict]:
    with db.session() as session:
        query = select(Register).where(Register.agency_id == actor.agency_id)
        if year:
            query = query.where(Register.year == int(year))
        if direction:
            query = query.where(Register.direction == direction)
        registers = _with_state(session, list(session.execute(
            query.order_by(Register.year.desc(), Register.direction, Register.scope)).scalars()))
    # A legal-normative register (QPPL-QĐ) is never the one offered first: it numbers only what the clerk says is
    # legal-normative (stable sort: the rest keep their order).
    registers.sort(key=lambda r: domain.legal_type(r["scope"]) is not None)
    return registers


def _with_state(session: Session, registers: list[Register]) -> list[dict[str, Any]]:
    """The registers as listed: closed ones are shown as such and offered to nobody for numbering; the closings
    undone (mở lại sổ) with who, when and why."""
    ids = [r.id for r in registers]
    closed, reopened = numbering.closures(session, ids), numbering.reopenings(session, ids)
    return [{**register_dict(r), "closed": r.id in closed,
             "closed_at": closed[r.id].isoformat() if r.id in closed else None,
             "reopenings": reopened.get(r.id, [])} for r in registers]


def register_name(name: str) -> str:
    """A register's name as typed, spaces tidied; an empty or too long one is refused."""
    tidy = " ".join(str(name or "").split())
    if not tidy:
        raise ValidationFailed("Tên sổ không được để trống.", code="bad_name", field="name")
    if len(tidy) > NAME_MAX:
        raise ValidationFailed(f"Tên sổ dài quá {NAME_MAX} ký tự.", code="bad_name", field="name", length=len(tidy))
    return tidy


def _peers(session: Session, agency_id: str, direction: str, year: int) -> list[Register]:
    """The registers of one kind and year, row-locked in one order (by id): two renames at once wait for each
    other instead of both taking the same name, and never deadlock."""
    return list(session.execute(select(Register).where(
        Register.agency_id == agency_id, Register.direction == direction, Register.year == year)
        .order_by(Register.id).with_for_update().execution_options(populate_existing=True)).scalars())


def _check_name_free(peers: list[Register], name: str, own_id: str) -> None:
    """The clerk picks a register by its name: two registers of the same kind and year never share one."""
    if any(r.id != own_id and r.name.casefold() == name.casefold() for r in peers):
        own = next(r for r in peers if r.id == own_id)
        raise Conflict(f"Đã có sổ “{name}” trong các {domain.DIRECTION_LABELS[own.direction].lower()} năm "
                       f"{own.year}; hãy đặt tên khác.", code="register_name_taken", field="name", value=name)


def update_register(db: Database, actor: Actor, register_id: str, name: str) -> dict[str, Any]:
    """Sửa sổ: an open register's name. Its direction, scope, year and the numbers it gave never change; a closed
    register is not edited. Setting the name it already has changes nothing (a request delivered twice)."""
    actor.require_agency(db.agency_id)
    rules.require_register_opener(db, actor)
    name = register_name(name)
    with db.session() as session:
        found = session.get(Register, register_id)
        if found is None or found.agency_id != actor.agency_id:
            raise NotFound("Không tìm thấy sổ văn bản.", register_id=register_id)
        peers = _peers(session, found.agency_id, found.direction, found.year)  # locks this register too
        reg = next(r for r in peers if r.id == register_id)
        closure = session.get(numbering.RegisterClosure, reg.id)
        if closure is not None:
            raise Conflict(f"Sổ “{reg.name}” đã khóa ngày {vn_date(closure.closed_at).strftime('%d/%m/%Y')}; không "
                           f"sửa được sổ đã khóa. Mở lại sổ trước nếu cần sửa.", code="register_closed",
                           register_id=reg.id)
        if reg.name != name:
            _check_name_free(peers, name, reg.id)
            reg.name = name
            session.flush()
        return _with_state(session, [reg])[0]


def close_register(db: Database, actor: Actor, register_id: str, request_key: str | None = None) -> dict:
    """Khóa sổ: the register gives no more numbers (numbering refuses with a Vietnamese error). Administrator of
    the register's own agency (the clerk too where the agency says so); closing a closed register again, or the
    same request (`request_key`) delivered again after a reopening, changes nothing."""
    actor.require_agency(db.agency_id)
    rules.require_register_opener(db, actor)
    with db.session() as session:
        reg, _closed_at = numbering.close_register(session, register_id, actor.agency_id, actor.user_id,
                                                   request_key[:100] if request_key else None)
        return _with_state(session, [reg])[0]


def reopen_register(db: Database, actor: Actor, register_id: str, reason: str,
                    request_key: str | None = None) -> dict[str, Any]:
    """Mở lại sổ: a register closed by mistake gives numbers again, continuing from the last one given. Only in the
    register's own year (Vietnam time), with a reason; the same roles as closing. Reopening an open register, or
    the same request (`request_key`) delivered again, changes nothing."""
    actor.require_agency(db.agency_id)
    rules.require_register_opener(db, actor)
    why = " ".join(str(reason or "").split())
    if not why:
        raise ValidationFailed("Phải ghi lý do mở lại sổ.", code="reason_required", field="reason")
    if len(why) > REASON_MAX:
        raise ValidationFailed(f"Lý do mở lại sổ dài quá {REASON_MAX} ký tự.", code="bad_reason", field="reason")
    with db.session() as session:
        reg = numbering.reopen_register(session, register_id, actor.agency_id, actor.user_id, why,
                                        request_key[:100] if request_key else None)
        return _with_state(session, [reg])[0]
