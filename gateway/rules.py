"""The agency's rules (services/common/agency_rules.py) on the configuration screen and in the REST API.

Each rule is kept by the service that applies it (registry, routing, …); the gateway keeps its own (what happens to
a leaver's account) in its database, keyed by agency. The screen shows every rule with its legal source and default;
a change is checked for every rule before any owner writes.

Leavers' accounts (Đà Nẵng Đ13.5d): where the agency chose "delete", an account locked for one working day (the
agency's calendar) is deleted: it can no longer sign in nor be unlocked, its password, e-mail, sessions and tokens
are gone, and its name stays in the history. The check runs when the administrator opens the people list or the
rules, and on `GET /api/v1/agency-rules`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from gateway.api import COMMON_ERRORS, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.models import AdminEvent, ApiToken, DeletedAccount, User, WebSession
from services.common import agency_rules, clock
from services.common.actor import Role
from services.common.errors import CongVanError, ValidationFailed
from services.common.workcalendar import WorkCalendar

OWN = "gateway"
DELETED_HASH = "!deleted"  # no argon2 hash: no password matches it


# -- reading and writing every owner's rules ---------------------------------------------------------------------

def owners() -> list[str]:
    return list(dict.fromkeys(r.owner for r in agency_rules.RULES.values()))


def all_rules(g: Gateway, v: Viewer) -> list[dict[str, Any]]:
    """Every rule with the agency's value, in the registry's order."""
    found: dict[str, dict[str, Any]] = {}
    for owner in owners():
        if owner == OWN:
            with g.db.session() as session:
                rows = agency_rules.read(session, v.user.agency_id, OWN)
        else:
            rows = g.backends.call(v.actor, owner, "get_rules")
        found.update({row["key"]: row for row in rows})
    return [found[key] for key in agency_rules.RULES if key in found]


def save_rules(g: Gateway, v: Viewer, changes: dict[str, Any]) -> dict[str, Any]:
    """Check every value first, then let each owner keep its own (an owner re-checks)."""
    v.actor.require(Role.ADMIN)
    checked = {key: agency_rules.rule(key).check(value) for key, value in changes.items()}
    for owner in owners():
        mine = {k: val for k, val in checked.items() if agency_rules.RULES[k].owner == owner}
        if not mine:
            continue
        if owner == OWN:
            with g.db.session() as session:
                agency_rules.write(session, v.user.agency_id, OWN, mine, v.user.id, clock.now_utc())
        else:
            g.backends.call(v.actor, owner, "set_rules", mine)
    g.accounts.record_admin_event(v.user, None, "agency_rules", **checked)
    return checked


def leaver_rule(g: Gateway, agency_id: str) -> str:
    with g.db.session() as session:
        return agency_rules.value_of(session, agency_id, "leaver_accounts")


# -- leavers' accounts (Đà Nẵng Đ13.5d) ----------------------------------------------------------------------------

def delete_due_leavers(g: Gateway, v: Viewer, now: datetime | None = None,
                       calendar: WorkCalendar | None = None) -> list[str]:
    """Delete the accounts locked for one working day or more, where the agency's rule says so; their user names."""
    if leaver_rule(g, v.user.agency_id) != "delete":
        return []
    now = now or clock.now_utc()
    if calendar is None:
        try:
            calendar = WorkCalendar.from_config(g.backends.call(v.actor, "routing", "get_config").get("calendar"))
        except CongVanError:
            calendar = WorkCalendar()
    deleted = []
    with g.db.session() as session:
        gone = set(session.scalars(select(DeletedAccount.user_id)))
        locked = [u for u in session.scalars(select(User).where(User.agency_id == v.user.agency_id, User.disabled))
                  if u.id not in gone]
        for user in locked:
            since = session.scalar(select(AdminEvent.at).where(
                AdminEvent.agency_id == v.user.agency_id, AdminEvent.target_user_id == user.id,
                AdminEvent.action == "lock").order_by(AdminEvent.at.desc()).limit(1))
            if since is None or calendar.add_working_days(since, 1) > now:
                continue
            user.password_hash, user.email = DELETED_HASH, ""
            session.execute(update(WebSession).where(WebSession.user_id == user.id).values(revoked=True))
            session.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked=True))
            session.add(DeletedAccount(user_id=user.id, deleted_at=now, locked_at=since))
            session.add(AdminEvent(agency_id=v.user.agency_id, at=now, admin_user_id=v.user.id,
                                   target_user_id=user.id, action="delete",
                                   details={"rule": "leaver_accounts", "locked_at": since.isoformat()}))
            deleted.append(user.username)
    return deleted


def deleted_ids(g: Gateway, agency_id: str) -> set[str]:
    with g.db.session() as session:
        return set(session.scalars(select(DeletedAccount.user_id).join(User, User.id == DeletedAccount.user_id)
                                   .where(User.agency_id == agency_id)))


def refuse_unlock_of_deleted(g: Gateway, v: Viewer, user_id: str) -> None:
    if user_id in deleted_ids(g, v.user.agency_id):
        raise ValidationFailed("Tài khoản đã bị xóa theo quy định của cơ quan (Đà Nẵng Điều 13.5d), không mở khóa "
                               "được; hãy tạo tài khoản mới nếu người này trở lại công tác.", code="account_deleted")


# -- the screen --------------------------------------------------------------------------------------------------

def form_changes(form: dict[str, Any]) -> dict[str, Any]:
    """The rules' fields of the form (named `rule_<key>`) -> {key: value}; rules not on the form are left alone."""
    return {key: form[f"rule_{key}"] for key in agency_rules.RULES if f"rule_{key}" in form}


def _admin(v: Viewer = Depends(viewer)) -> Viewer:
    v.actor.require(Role.ADMIN)
    return v


def _admin_post(v: Viewer = Depends(csrf_checked)) -> Viewer:
    v.actor.require(Role.ADMIN)
    return v


def install(app: FastAPI) -> None:
    @app.post("/quan-tri/cau-hinh/quy-dinh", include_in_schema=False)
    async def save(request: Request, v: Viewer = Depends(_admin_post), g: Gateway = Depends(gw)) -> Response:
        from gateway.admin import config_page

        form = dict((await request.form()).items())
        try:
            save_rules(g, v, form_changes(form))
        except CongVanError as exc:
            try:
                return config_page(request, g, v, error=exc.message_vi, status_code=exc.http_status)
            except CongVanError:  # routing does not answer either: the refusal itself is what the admin must read
                raise exc from None
        return RedirectResponse("/quan-tri/cau-hinh?tb=da-luu-quy-dinh#quy-dinh", status_code=303)

    app.include_router(router)


# -- REST API ----------------------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])


class RuleChoice(BaseModel):
    value: str
    label: str
    source: str = Field(description="Article and regulation that say so")


class AgencyRule(BaseModel):
    key: str
    label: str
    owner: str = Field(description="The service that keeps and applies it")
    value: Any = Field(description="The agency's choice (the default until an administrator changes it)")
    default: Any
    source: str = Field(description="Legal source of the value in force")
    rule_source: str
    hint: str = ""
    kind: str = Field(description="choice | integer")
    minimum: int | None = None
    maximum: int | None = None
    choices: list[RuleChoice]


class RuleChanges(BaseModel):
    values: dict[str, Any] = Field(description="key → new value, e.g. {\"legal_validity\": \"head_or_clerk\"}")


@router.get("/agency-rules", response_model=list[AgencyRule], tags=["Quản trị"],
            summary="Quy định áp dụng của cơ quan (theo tỉnh, cơ quan), với căn cứ pháp lý")
def api_rules(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    v.actor.require(Role.ADMIN, Role.LEADER, Role.CLERK)
    if v.has(Role.ADMIN):
        delete_due_leavers(g, v)
    return all_rules(g, v)


@router.put("/agency-rules", response_model=list[AgencyRule], tags=["Quản trị"],
            summary="Đổi quy định áp dụng của cơ quan (quản trị viên)")
def api_save_rules(body: RuleChanges, v: Viewer = Depends(csrf_checked),
                   g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    save_rules(g, v, body.values)
    return all_rules(g, v)


def page_context(g: Gateway, v: Viewer) -> dict[str, Any]:
    """What the configuration page shows of the rules (an owner that does not answer: said so, nothing lost)."""
    delete_due_leavers(g, v)
    try:
        return {"rules": all_rules(g, v), "rules_error": None}
    except CongVanError as exc:
        return {"rules": [], "rules_error": exc.message_vi}

