"""Seed an agency's services the way its administrator would: the agency profile, this year's registers and the
staff directory of routing (units and their names, heads, leaders) from the demo's accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.common import clock
from services.common.actor import Actor, Role
from services.common.errors import Conflict
from services.common.rpc_client import ServiceClient
from services.registry.domain import Direction
from services.routing.chains import DEFAULT_CHAIN


def seeding_admin(organ_id: str) -> Actor:
    return Actor(user_id="system:seed", username="seed", agency_id=organ_id,
                 roles=frozenset({Role.ADMIN, Role.SYSTEM}), full_name="Khởi tạo dữ liệu mẫu")


def demo_directory(organ_id: str, data_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The demo people of an agency (infra/demo_people.py) with the user ids the gateway gave their accounts, and
    the agency's units as declared in the gateway (code, name): what routing's sync_staff and sync_units take.

    Routing keys people by the gateway's user id (the actor of every call), so the accounts must exist first.
    """
    from gateway.accounts import account_name
    from gateway.auth import Accounts
    from gateway.models import open_database
    from gateway.settings import GatewaySettings
    from infra.demo_people import PEOPLE

    db = open_database(GatewaySettings(data_dir=data_dir))
    try:
        accounts = Accounts(db)
        staff = []
        for person in PEOPLE.get(organ_id, ()):
            user = accounts.by_username(account_name(person.full_name, person.unit))
            if user is None or user.agency_id != organ_id:
                continue
            staff.append({"user_id": user.id, "username": user.username, "full_name": user.full_name,
                          "unit": user.unit, "roles": sorted(user.roles), "position": user.position or "",
                          "email": user.email or None, "active": not user.disabled})
        units = [{"code": u.code, "name": u.name} for u in accounts.list_units(organ_id)]
        return staff, units
    finally:
        db.dispose()


def bind_personal_certificates(client: ServiceClient, actor: Actor, staff: list[dict[str, Any]]) -> None:
    """The demo PKI issued certificates to the demo's leaders and department heads (delegates); bind each to the
    account of the same name, as an administrator would, so they can sign from the screens."""
    certificates = {c["name"]: c for c in client.call("signing", "personal_certificates", actor)}
    for person in staff:
        cert = certificates.get(person["full_name"])
        if cert is not None:
            client.call("signing", "register_certificate", actor, person["user_id"], "personal", cert["key_ref"],
                        person["full_name"])


# The default chain has an office step for unit "VP" (legal and form check); the demo agencies have no such unit,
# so a newcomer's draft would wait there for nobody. The demo reviews in the drafter's department, then the leader.
DEMO_REVIEW_CHAIN = [step for step in DEFAULT_CHAIN if step["key"] != "office"]


def seed_agency_services(agency, amqp_uri: str, data_dir: Path | None = None,
                         tokens_from: Path | None = None) -> list[str]:
    """Idempotent: an existing register is left as it is; staff entries are overwritten with the same values.

    With `data_dir` (where the gateway keeps its accounts), routing also learns the demo's staff. With
    `tokens_from` (the demo PKI's directory), each signer and the seal get a token of their own
    (infra/demo_tokens.py) instead of the PKI's server-held keys; returns the lines that give their PINs.
    """
    lines: list[str] = []
    actor = seeding_admin(agency.organ_id)
    client = ServiceClient(amqp_uri, size=1, timeout=60)
    try:
        client.call("registry", "set_agency_profile", actor, agency.name, agency.abbreviation, agency.place)
        year = clock.now_vn().year
        for direction in Direction.ALL:
            try:
                client.call("registry", "create_register", actor, direction, year)
            except Conflict:
                continue
        if data_dir is not None:
            client.call("routing", "configure", actor, agency_name=agency.name, review_chain=DEMO_REVIEW_CHAIN)
            staff, units = demo_directory(agency.organ_id, Path(data_dir))
            client.call("routing", "sync_staff", actor, staff)
            if units:
                client.call("routing", "sync_units", actor, units)
            if tokens_from is not None:
                from infra.demo_tokens import seed_tokens

                lines = seed_tokens(client, actor, agency.organ_id, staff, tokens_from)
            else:
                bind_personal_certificates(client, actor, staff)
    finally:
        client.close()
    return lines
