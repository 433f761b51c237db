"""The administrator's actions on the agency's people, units and configuration, shared by the screens /quan-tri
(gateway/admin.py) and the REST API (gateway/api_admin.py): one function per action, so both follow the same
rules, record the same admin event and push the same change to routing. Every function requires the admin role
and the administrator's own agency (another agency's account is "not found")."""

from __future__ import annotations

from types import EllipsisType
from typing import Any

from gateway import rules
from gateway.accounts import (
    PROVINCE_GRANTED_ROLES,
    PROVINCE_GRANTS_ONLY,
    STAFF_ROLES,
    account_name,
    check_roles,
    next_free_name,
    temporary_password,
    unit_code,
)
from gateway.app import Gateway, Viewer
from gateway.auth import refuse_retired
from gateway.handover import open_work
from gateway.models import Unit, User
from services.common.actor import Role
from services.common.clock import to_vn
from services.common.errors import Conflict, CongVanError, Forbidden, ValidationFailed
from services.routing.domain import UnitTree

SYNC_PENDING = ("Thay đổi đã được lưu nhưng chưa đồng bộ được sang dịch vụ điều hành (phân công, thông báo): "
                "{reason} Hãy lưu lại sau ít phút.")


class NameTaken(Conflict):
    """The naming rule gives the same account name to two people: the administrator decides (a name is offered)."""

    code = "username_taken"


def staff_entry(user: User) -> dict[str, Any]:
    """What routing's staff directory keeps of a person."""
    return {"user_id": user.id, "username": user.username, "full_name": user.full_name, "unit": user.unit,
            "email": user.email or None, "position": user.position or "", "roles": list(user.roles or []),
            "active": not user.disabled}


def sync(g: Gateway, v: Viewer, user: User) -> str | None:
    """Push the person to routing; the warning to show when routing cannot be reached."""
    try:
        g.backends.call(v.actor, "routing", "sync_staff", [staff_entry(user)])
    except CongVanError as exc:
        return SYNC_PENDING.format(reason=exc.message_vi)
    return None


def sync_all(g: Gateway, v: Viewer) -> str | None:
    """Every account and unit of the agency pushed to routing in one go (accounts made before routing ran, or by
    the demo seed); the warning to show when routing cannot be reached."""
    v.actor.require(Role.ADMIN)
    everyone = g.accounts.list_users(v.user.agency_id)
    declared = [unit_entry(u) for u in g.accounts.list_units(v.user.agency_id)]
    try:
        g.backends.call(v.actor, "routing", "sync_staff", [staff_entry(u) for u in everyone])
        if declared:
            g.backends.call(v.actor, "routing", "sync_units", declared)
    except CongVanError as exc:
        return SYNC_PENDING.format(reason=exc.message_vi)
    return None


def roles_from(given: list[str]) -> list[str]:
    return [r for r in STAFF_ROLES if r in given]


def refuse_province_roles(v: Viewer, given: list[str], held: list[str]) -> None:
    """An agency's administrator adds no role that only the province operator grants (403)."""
    if added := [r for r in given if r in PROVINCE_GRANTED_ROLES and r not in held]:
        raise Forbidden(PROVINCE_GRANTS_ONLY, field="roles", roles=added, user=v.user.username)


def admin_roles(given: list[str], held: list[str]) -> list[str]:
    """The roles after an administrator's edit: theirs to give as ticked, the province-granted ones as held (the
    administrator neither adds nor removes them; their form does not offer them)."""
    return roles_from([r for r in given if r not in PROVINCE_GRANTED_ROLES]
                      + [r for r in held if r in PROVINCE_GRANTED_ROLES])


def create_account(g: Gateway, v: Viewer, full_name: str, unit: str, position: str = "", email: str = "",
                   roles: list[str] | None = None, username: str = "") -> tuple[User, str, str | None]:
    """A new account with a temporary password (changed at the first sign-in): (user, password, sync warning)."""
    v.actor.require(Role.ADMIN)
    roles = list(roles or [])
    if reason := check_roles(roles):
        raise ValidationFailed(reason, field="roles")
    refuse_province_roles(v, roles, [])
    if not full_name.strip():
        raise ValidationFailed("Họ tên không được để trống.", field="full_name")
    try:
        wanted = username.strip().lower() or account_name(full_name, unit_code(unit))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="full_name") from None
    refuse_retired_unit(g, v, unit)
    taken = g.accounts.usernames()
    if wanted in taken:
        suggested = next_free_name(wanted, taken)
        raise NameTaken(f"Tài khoản “{wanted}” đã có người dùng. Đề xuất tên “{suggested}”; kiểm tra lại hoặc sửa "
                        "rồi tạo lại.", field="username", value=suggested, suggested=suggested)
    password = temporary_password()
    user = g.accounts.create_user(username=wanted, full_name=full_name.strip(), agency_id=v.user.agency_id,
                                  roles=roles_from(roles), password=password, unit=unit_code(unit).upper(),
                                  position=position.strip(), email=email.strip(), must_change_password=True)
    g.accounts.record_admin_event(v.user, user.id, "create", username=user.username, roles=user.roles, unit=user.unit)
    return user, password, sync(g, v, user)


def update_account(g: Gateway, v: Viewer, user_id: str, full_name: str, unit: str, position: str, roles: list[str],
                   email: str = "") -> tuple[User, str | None]:
    """Name, unit, position, e-mail and roles; new roles end the person's open sessions."""
    v.actor.require(Role.ADMIN)
    person = g.accounts.user_in_agency(v.user.agency_id, user_id)
    if person.id == v.user.id and Role.ADMIN.value not in roles:
        raise ValidationFailed("Không thể tự bỏ vai trò quản trị của chính mình.", field="roles")
    held = list(person.roles or [])
    refuse_province_roles(v, roles, held)
    if unit_code(unit) != (person.unit or "").lower():  # a person left in a retired unit may keep it (history)
        refuse_retired_unit(g, v, unit)
    user = g.accounts.update_user(v.user.agency_id, user_id, full_name=full_name,
                                  unit=unit_code(unit).upper() or None, position=position,
                                  roles=admin_roles(roles, held), email=email)
    g.accounts.record_admin_event(v.user, user.id, "update", roles=user.roles, unit=user.unit,
                                  position=user.position)
    return user, sync(g, v, user)


def set_locked(g: Gateway, v: Viewer, user_id: str, locked: bool) -> tuple[User, str | None, int]:
    """Lock (sessions and tokens end at once) or unlock: (user, sync warning, open work still in their name)."""
    v.actor.require(Role.ADMIN)
    person = g.accounts.user_in_agency(v.user.agency_id, user_id)
    if person.id == v.user.id:
        raise ValidationFailed("Không thể tự khóa tài khoản của chính mình.", field="user_id")
    if not locked:
        rules.refuse_unlock_of_deleted(g, v, user_id)
    g.accounts.set_disabled(user_id, locked)
    g.accounts.record_admin_event(v.user, user_id, "lock" if locked else "unlock")
    user = g.accounts.user_in_agency(v.user.agency_id, user_id)
    warning = sync(g, v, user)
    # locked, never stranded: what is still open in their name is to be handed over
    still_open = int((open_work(g, v, user_id) or {}).get("total") or 0) if locked else 0
    return user, warning, still_open


def reset_password(g: Gateway, v: Viewer, user_id: str) -> tuple[User, str]:
    """A temporary password, shown once to the administrator; sessions end and any lockout is lifted."""
    v.actor.require(Role.ADMIN)
    g.accounts.user_in_agency(v.user.agency_id, user_id)
    password = g.accounts.reset_password(v.user.agency_id, user_id)
    g.accounts.record_admin_event(v.user, user_id, "reset_password")
    return g.accounts.user_in_agency(v.user.agency_id, user_id), password


def refuse_retired_unit(g: Gateway, v: Viewer, unit: str) -> None:
    """A person is not placed in a retired unit (an undeclared code is the administrator's to type)."""
    refuse_retired(declared_unit(g, v.user.agency_id, unit_code(unit)), "unit")


def declared_unit(g: Gateway, agency_id: str, code: str | None) -> Unit | None:
    return next((u for u in g.accounts.list_units(agency_id) if code and u.code == code), None)


def unit_tree(g: Gateway, agency_id: str) -> UnitTree:
    """The agency's declared units and where each sits (services/routing/domain.py holds the tree's rules)."""
    return UnitTree.of((u.code, u.parent_code) for u in g.accounts.list_units(agency_id))


def units(g: Gateway, agency_id: str) -> list[dict[str, Any]]:
    """Declared units in the order of their tree (each followed by the units under it, `depth` 1 directly under
    the agency), plus units that people carry but nobody declared yet (older accounts, the demo)."""
    declared = {u.code: {"code": u.code, "name": u.name, "abbreviation": u.abbreviation, "declared": True,
                         "parent_code": u.parent_code, "active": bool(u.active)}
                for u in g.accounts.list_units(agency_id)}
    tree = UnitTree.of((code, u["parent_code"]) for code, u in declared.items())
    out = [{**declared[code.lower()], "depth": depth} for code, depth in tree.ordered()]
    for user in g.accounts.list_users(agency_id):
        code = (user.unit or "").lower()
        if code and code not in declared:
            declared[code] = {"code": code, "name": "", "declared": False, "parent_code": None, "depth": 1,
                              "active": True}
            out.append(declared[code])
    return out


def unit_changes(g: Gateway, v: Viewer, limit: int = 50) -> list[dict[str, Any]]:
    """The administrators' changes to the agency's units, newest first: who, when, and each field's [old, new]."""
    v.actor.require(Role.ADMIN)
    names = {u.id: u.full_name for u in g.accounts.list_users(v.user.agency_id)}
    events = g.accounts.admin_events(v.user.agency_id, limit=limit, action="unit")
    return [{"at": to_vn(e.at).isoformat(timespec="seconds"), "admin": names.get(e.admin_user_id, e.admin_user_id),
             "code": e.details.get("code"), "changes": e.details.get("changes") or {}} for e in events]


def unit_entry(unit: Unit) -> dict[str, Any]:
    """What routing keeps of a unit: its name (registers' column 6, reports), its notations' abbreviation, the
    unit it sits in and whether it still works (routing gives no new work to a retired unit)."""
    return {"code": unit.code, "name": unit.name, "abbreviation": unit.abbreviation, "parent": unit.parent_code,
            "active": bool(unit.active)}


def save_unit(g: Gateway, v: Viewer, code: str, name: str, abbreviation: str | None = None,
              parent_code: str | EllipsisType | None = ...) -> tuple[Unit, str | None]:
    """Declare or change a unit (`parent_code` left out: where it sits stays); the change is an admin event."""
    v.actor.require(Role.ADMIN)
    unit, changes = g.accounts.save_unit(v.user.agency_id, code, name, abbreviation, parent_code)
    if changes:
        g.accounts.record_admin_event(v.user, None, "unit", code=unit.code, changes=changes)
    # the units above it go along: routing refuses a parent it does not know (declared while it was away)
    declared = {u.code: u for u in g.accounts.list_units(v.user.agency_id)}
    above = [declared[c.lower()] for c in reversed(unit_tree(g, v.user.agency_id).ancestors(unit.code))
             if c.lower() in declared]
    try:  # routing keeps its own copy of the units' names, abbreviations and tree
        g.backends.call(v.actor, "routing", "sync_units", [unit_entry(u) for u in [*above, unit]])
    except CongVanError as exc:
        return unit, SYNC_PENDING.format(reason=exc.message_vi)
    return unit, None


def set_unit_active(g: Gateway, v: Viewer, code: str, active: bool) -> Unit:
    """Retire a unit (ngừng hoạt động: merged into another or dissolved) or make it work again. Retiring is refused
    while people still work in it or units under it still work (the administrator moves or retires them first),
    and, by routing, while it still handles a document (main or coordinating). Routing is told first: it refuses the
    retirement or gives the unit no new work from then on; unreachable, nothing changes. Asked again, it answers
    the same and records nothing."""
    v.actor.require(Role.ADMIN)
    unit = g.accounts.unit_in_agency(v.user.agency_id, code)
    if bool(unit.active) == active:
        return unit
    if active:
        parent = declared_unit(g, v.user.agency_id, unit.parent_code)
        if parent is not None and not parent.active:  # a working unit never sits under a retired one
            raise Conflict(f"Chưa thể cho đơn vị {unit.name} hoạt động lại: đơn vị cấp trên {parent.name} đang ngừng "
                           "hoạt động. Cho đơn vị cấp trên hoạt động lại, hoặc chuyển đơn vị này sang đơn vị cấp "
                           "trên khác (Sửa), trước.", code="unit_parent_retired", field="parent_code",
                           value=parent.code)
    else:
        refuse_retiring(g, v, unit)
    g.backends.call(v.actor, "routing", "sync_units", [{**unit_entry(unit), "active": active}])
    if g.accounts.set_unit_active(v.user.agency_id, unit.code, active):
        g.accounts.record_admin_event(v.user, None, "unit", code=unit.code, changes={"active": [not active, active]})
    return g.accounts.unit_in_agency(v.user.agency_id, code)


def refuse_retiring(g: Gateway, v: Viewer, unit: Unit) -> None:
    """People still in the unit and units still working under it come first, named so the administrator knows
    whom to move (Sửa tài khoản) and which units to retire or move."""
    people = [u for u in g.accounts.list_users(v.user.agency_id)
              if (u.unit or "").lower() == unit.code and not u.disabled]
    if people:
        names = ", ".join(p.full_name for p in people[:5]) + (", ..." if len(people) > 5 else "")
        raise Conflict(f"Chưa thể cho đơn vị {unit.name} ngừng hoạt động: còn {len(people)} tài khoản đang hoạt động "
                       f"thuộc đơn vị ({names}). Chuyển những người này sang đơn vị khác (Sửa tài khoản) hoặc khóa "
                       "tài khoản của người đã nghỉ trước.", code="unit_has_people", field="code", value=unit.code,
                       people=len(people))
    below = [u for u in g.accounts.list_units(v.user.agency_id) if u.parent_code == unit.code and u.active]
    if below:
        raise Conflict(f"Chưa thể cho đơn vị {unit.name} ngừng hoạt động: còn đơn vị trực thuộc đang hoạt động ("
                       + ", ".join(f"{u.name} ({u.code})" for u in below) + "). Cho các đơn vị này ngừng hoạt động "
                       "hoặc chuyển sang đơn vị cấp trên khác trước.", code="unit_has_subunits", field="code",
                       value=unit.code)


def current_config(g: Gateway, v: Viewer) -> dict[str, Any]:
    """Routing's configuration of the agency with the registry's sending policy."""
    from gateway.sending import send_policy

    v.actor.require(Role.ADMIN)
    return {**g.backends.call(v.actor, "routing", "get_config"), **send_policy(g, v)}


def configure(g: Gateway, v: Viewer, changes: dict[str, Any], allow_unsigned_send: bool | None) -> None:
    """`changes`: routing.configure's keyword arguments, only those to change (routing checks them again);
    `allow_unsigned_send` None: the sending policy stays."""
    v.actor.require(Role.ADMIN)
    if changes:
        g.backends.call(v.actor, "routing", "configure", **changes)
    if allow_unsigned_send is not None:
        # "Gửi văn bản" belongs to the registry: whether an unsigned document may leave, marked as such
        g.backends.call(v.actor, "registry", "set_send_policy", allow_unsigned_send)
    keys = sorted(changes) + (["allow_unsigned_send"] if allow_unsigned_send is not None else [])
    g.accounts.record_admin_event(v.user, None, "configure", keys=keys)


def api_tokens(g: Gateway, v: Viewer, user_id: str) -> list[dict[str, Any]]:
    """The API tokens of one account of the agency, newest first: metadata only, never the secret."""
    v.actor.require(Role.ADMIN)
    g.accounts.user_in_agency(v.user.agency_id, user_id)
    return g.accounts.list_api_tokens(user_id)


def revoke_api_token(g: Gateway, v: Viewer, user_id: str, token_id: str) -> dict[str, Any]:
    """Revoke a token of one account of the agency (a lost phone, a retired portal, a leaver's scripts): from then
    on it gets 401. A token of another account is "not found", as is another agency's account. Revoking a token
    that is revoked already changes nothing and records nothing; `changed` says which it was."""
    v.actor.require(Role.ADMIN)
    person = g.accounts.user_in_agency(v.user.agency_id, user_id)
    revoked = g.accounts.revoke_api_token(person.id, token_id)
    if revoked["changed"]:
        g.accounts.record_admin_event(v.user, person.id, "revoke_token", token_id=revoked["id"],
                                      label=revoked["label"], username=person.username, admin_username=v.user.username)
    return revoked
