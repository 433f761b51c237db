"""Registers (number books) and the agency profile printed on what the registry issues."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.errors import Conflict, ValidationFailed
from services.registry import domain, numbering, rules
from services.registry.catalog import type_name
from services.registry.documents import _in_agency
from services.registry.domain import SCOPE_ALL, Direction
from services.registry.models import (
    AgencyProfile,
    Register,
)


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
                    name: str | None = None) -> dict[str, Any]:
    _in_agency(db, actor)
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
    name = name or (f"{label} năm {year}" if scope == SCOPE_ALL
                    else f"Sổ văn bản quy phạm pháp luật ({type_name(legal)}) năm {year}" if legal
                    else f"{label} ({type_name(scope)}) năm {year}")
    try:
        with db.session() as session:
            reg = Register(agency_id=actor.agency_id, direction=direction, scope=scope, year=int(year), name=name,
                           next_number=1, created_by=actor.user_id)
            session.add(reg)
            session.flush()
            return register_dict(reg)
    except IntegrityError:
        raise Conflict(f"{label} năm {year} cho phạm vi này đã có.", code="register_exists", direction=direction,
                       year=year, scope=scope) from None


def list_registers(db: Database, actor: Actor, year: int | None = None, direction: str | None = None) -> list[dict]:
    _in_agency(db, actor)
    with db.session() as session:
        query = select(Register).where(Register.agency_id == actor.agency_id)
        if year:
            query = query.where(Register.year == int(year))
        if direction:
            query = query.where(Register.direction == direction)
        registers = [register_dict(r) for r in session.execute(
            query.order_by(Register.year.desc(), Register.direction, Register.scope)).scalars()]
        # Closed registers are shown as such and offered to nobody for numbering.
        closed = numbering.closures(session, [r["id"] for r in registers])
    # A legal-normative register (QPPL-QĐ) is never the one offered first: it numbers only what the clerk says is
    # legal-normative (stable sort: the rest keep their order).
    registers.sort(key=lambda r: domain.legal_type(r["scope"]) is not None)
    for r in registers:
        r["closed"] = r["id"] in closed
        r["closed_at"] = closed[r["id"]].isoformat() if r["id"] in closed else None
    return registers


def close_register(db: Database, actor: Actor, register_id: str) -> dict:
    """Khóa sổ: the register gives no more numbers (numbering refuses with a Vietnamese error). Administrator of
    the register's own agency (the clerk too where the agency says so); closing a closed register again changes
    nothing."""
    actor.require_agency(db.agency_id)
    rules.require_register_opener(db, actor)
    with db.session() as session:
        reg, closed_at = numbering.close_register(session, register_id, actor.agency_id, actor.user_id)
        return {**register_dict(reg), "closed": True, "closed_at": closed_at.isoformat()}
