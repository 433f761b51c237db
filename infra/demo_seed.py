"""Seed an agency's services the way its administrator would: the agency profile and this year's registers."""

from __future__ import annotations

from services.common.actor import Actor, Role
from services.common.clock import now_vn
from services.common.errors import Conflict
from services.common.rpc import ServiceClient
from services.registry.domain import Direction


def seeding_admin(organ_id: str) -> Actor:
    return Actor(user_id="system:seed", username="seed", agency_id=organ_id,
                 roles=frozenset({Role.ADMIN, Role.SYSTEM}), full_name="Khởi tạo dữ liệu mẫu")


def seed_agency_services(agency, amqp_uri: str) -> None:
    """Idempotent: an existing register is left as it is."""
    actor = seeding_admin(agency.organ_id)
    client = ServiceClient(amqp_uri, size=1, timeout=60)
    try:
        client.call("registry", "set_agency_profile", actor, agency.name, agency.abbreviation, agency.place)
        year = now_vn().year
        for direction in Direction.ALL:
            try:
                client.call("registry", "create_register", actor, direction, year)
            except Conflict:
                continue
    finally:
        client.close()
