"""Administration screens (/quan-tri), for the agency's administrator only and scoped to the admin's agency:
people (create, edit, lock/unlock, reset password), units, registers, catalogues and routing's configuration.

Every change to a person is pushed to routing (`routing.sync_staff`) so that routing knows whom it may assign,
notify or ask to review, and every unit's name (`routing.sync_units`) so that registers and reports print it; if
routing does not answer, the change stays and the page says the sync is pending.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import people, rules
from gateway.accounts import AGENCY_ROLES
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.handover import open_work
from gateway.models import User
from gateway.people import staff_entry
from gateway.web import People
from services.common import clock
from services.common.actor import Role
from services.common.errors import Conflict, CongVanError, NotFound, ValidationFailed
from services.registry.catalog import DOCUMENT_TYPES, REJECT_REASONS, STATUS_LABELS, URGENCY_LABELS
from services.registry.domain import DIRECTION_LABELS, LEGAL_NORMATIVE_TYPES, SCOPE_ALL

PERIOD_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

NOTICES = {
    "da-luu": "Đã lưu thay đổi.", "da-khoa": "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.",
    "da-mo-khoa": "Đã mở khóa tài khoản.", "da-tao-so": "Đã tạo sổ văn bản.", "da-luu-don-vi": "Đã lưu đơn vị.",
    "da-ngung-don-vi": "Đơn vị đã ngừng hoạt động: giữ tên trong lịch sử, không còn được chọn cho việc mới.",
    "da-mo-don-vi": "Đơn vị đã hoạt động lại.",
    "da-khoa-so": "Đã khóa sổ văn bản; sổ không cấp thêm số.",
    "da-sua-so": "Đã lưu tên sổ văn bản.",
    "da-mo-lai-so": "Đã mở lại sổ văn bản; số tiếp theo nối tiếp số cuối cùng đã cấp.",
    "da-mo-so-nam-sau": "Đã mở các sổ năm sau theo các sổ năm nay; sổ đã có được giữ nguyên.",
    "da-khoa-con-viec": "Đã khóa tài khoản; các phiên đăng nhập đã kết thúc. Người này còn công việc đang xử lý: "
                        "hãy bàn giao cho người khác.",
    "da-luu-cau-hinh": "Đã lưu cấu hình.", "da-luu-quy-dinh": "Đã lưu quy định áp dụng của cơ quan.",
    "da-dong-bo": "Đã đồng bộ danh sách cán bộ và đơn vị sang dịch vụ điều hành.",
    "da-thu-hoi-ma": "Đã thu hồi mã truy cập API; hệ thống dùng mã này không truy cập được nữa.",
    "ma-da-thu-hoi": "Mã truy cập API này đã được thu hồi từ trước; không có gì thay đổi.",
}
__all__ = ["config_changes", "parse_days", "parse_periods", "staff_entry"]  # staff_entry: gateway/people.py


# -- pure helpers (tested without I/O) ---------------------------------------------------------------------

def parse_periods(text: str) -> list[list[str]]:
    """Working hours as typed by the admin, "07:30-11:30, 13:30-17:00" -> [["07:30", "11:30"], ["13:30", "17:00"]]."""
    periods: list[list[str]] = []
    for part in [p.strip() for p in re.split(r"[,;\n]", text or "") if p.strip()]:
        match = PERIOD_RE.fullmatch(part)
        if not match:
            raise ValidationFailed(f"Giờ làm việc “{part}” không đúng dạng HH:MM-HH:MM.", field="periods", value=part)
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        if not (0 <= h1 < 24 and 0 <= h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
            raise ValidationFailed(f"Khoảng giờ “{part}” không hợp lệ.", field="periods", value=part)
        periods.append([f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"])
    if not periods:
        raise ValidationFailed("Cần ít nhất một khoảng giờ làm việc.", field="periods")
    return periods


def parse_days(text: str, field: str) -> list[str]:
    """One date per line or separated by commas, as YYYY-MM-DD or DD/MM/YYYY; returned as ISO dates."""
    days = []
    for part in [p.strip() for p in re.split(r"[,;\n]", text or "") if p.strip()]:
        try:
            day = date.fromisoformat(part) if "-" in part else date(*reversed([int(x) for x in part.split("/")]))
        except (ValueError, TypeError):
            raise ValidationFailed(f"Ngày “{part}” không hợp lệ (dạng DD/MM/YYYY).", field=field, value=part) from None
        days.append(day.isoformat())
    return sorted(set(days))


def config_changes(form: dict[str, Any]) -> dict[str, Any]:
    """The configuration form -> `routing.configure` keyword arguments (routing checks them again)."""
    def positive(name: str, label: str) -> int:
        try:
            value = int(str(form.get(name, "")).strip())
        except ValueError:
            raise ValidationFailed(f"“{label}” phải là số nguyên dương.", field=name) from None
        if value <= 0:
            raise ValidationFailed(f"“{label}” phải lớn hơn 0.", field=name, value=value)
        return value

    chain_text = str(form.get("review_chain") or "").strip()
    try:
        chain = json.loads(chain_text) if chain_text else None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"Quy trình trình duyệt không phải JSON hợp lệ (dòng {exc.lineno}).",
                               field="review_chain") from None
    if chain is not None and not isinstance(chain, list):
        raise ValidationFailed("Quy trình trình duyệt phải là một danh sách các bước.", field="review_chain")
    return {
        "agency_name": str(form.get("agency_name") or "").strip()[:200],
        # the reception limit is one of the agency's rules (gateway/rules.py); an older form may still send it
        **({"registration_limit_hours": positive("registration_limit_hours", "Thời hạn vào sổ (giờ làm việc)")}
           if str(form.get("registration_limit_hours") or "").strip() else {}),
        "default_deadline_days": positive("default_deadline_days", "Hạn xử lý mặc định (ngày làm việc)"),
        "due_soon_hours": positive("due_soon_hours", "Báo sắp đến hạn trước (giờ)"),
        "calendar": {"periods": parse_periods(str(form.get("periods") or "")),
                     "extra_days_off": parse_days(str(form.get("extra_days_off") or ""), "extra_days_off"),
                     "make_up_days": parse_days(str(form.get("make_up_days") or ""), "make_up_days"),
                     "public_holidays": bool(form.get("public_holidays"))},
        "review_chain": chain,
        "review_chains": _chains_per_type(str(form.get("review_chains") or "")),
        "signing_delegation": bool(form.get("signing_delegation")),
    }


def _chains_per_type(text: str) -> dict[str, Any] | None:
    """{"QD": [steps], ...} as typed; empty: every type follows the agency's chain. Routing validates the steps."""
    if not text.strip():
        return None
    try:
        chains = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"Quy trình theo loại văn bản không phải JSON hợp lệ (dòng {exc.lineno}).",
                               field="review_chains") from None
    if not isinstance(chains, dict):
        raise ValidationFailed("Quy trình theo loại văn bản phải có dạng {\"mã loại\": [các bước]}.",
                               field="review_chains")
    return chains


# -- dependencies ------------------------------------------------------------------------------------------

def admin_viewer(v: Viewer = Depends(viewer)) -> Viewer:
    v.actor.require(Role.ADMIN)
    return v


def admin_post(v: Viewer = Depends(csrf_checked)) -> Viewer:
    v.actor.require(Role.ADMIN)
    return v


def register_viewer(v: Viewer = Depends(viewer)) -> Viewer:
    """Registers: the administrator, or the clerk where the agency's rule lets clerks open registers (the registry
    decides: services/registry/rules.py)."""
    v.actor.require(Role.ADMIN, Role.CLERK)
    return v


def register_post(v: Viewer = Depends(csrf_checked)) -> Viewer:
    v.actor.require(Role.ADMIN, Role.CLERK)
    return v


_units = people.units


def _users_page(request: Request, g: Gateway, v: Viewer, form: dict[str, Any] | None = None, error: str | None = None,
                status_code: int = 200, issued: dict[str, str] | None = None, warning: str | None = None) -> Response:
    rules.delete_due_leavers(g, v)  # where the agency deletes leavers' accounts (Đà Nẵng Đ13.5d)
    return render(request, "admin_users.html", v, status_code=status_code, users=g.accounts.list_users(
        v.user.agency_id), units=_units(g, v.user.agency_id), roles=AGENCY_ROLES, form=form or {"roles": []},
        error=error, issued=issued, warning=warning, notices=NOTICES, section="users",
        deleted=rules.deleted_ids(g, v.user.agency_id), unit_name=People(g, v.user.agency_id).unit_name)


def _user_page(request: Request, g: Gateway, v: Viewer, user: User, error: str | None = None,
               status_code: int = 200, issued: str | None = None, warning: str | None = None) -> Response:
    return render(request, "admin_user.html", v, status_code=status_code, person=user,
                  deleted=user.id in rules.deleted_ids(g, v.user.agency_id),
                  directory_account=g.accounts.is_directory_account(user.id),
                  units=_units(g, v.user.agency_id), roles=AGENCY_ROLES, error=error, issued=issued, warning=warning,
                  events=g.accounts.admin_events(v.user.agency_id, user.id), open_work=open_work(g, v, user.id),
                  tokens=people.api_tokens(g, v, user.id),
                  admins={u.id: u.full_name for u in g.accounts.list_users(v.user.agency_id)},
                  logins=g.accounts.login_events(user.username), notices=NOTICES, section="users")


# -- routes ------------------------------------------------------------------------------------------------

def install(app: FastAPI) -> None:
    @app.get("/quan-tri", include_in_schema=False)
    def admin_home(_v: Viewer = Depends(admin_viewer)):
        return RedirectResponse("/quan-tri/nguoi-dung", status_code=303)

    _install_people(app)
    _install_units(app)
    _install_registers(app)
    _install_catalogues(app)
    _install_configuration(app)
    rules.install(app)
    from gateway import admin_recipient_groups

    admin_recipient_groups.install(app)  # nhóm nơi nhận


def _install_people(app: FastAPI) -> None:
    @app.get("/quan-tri/nguoi-dung", response_class=HTMLResponse, include_in_schema=False)
    def users(request: Request, v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)):
        return _users_page(request, g, v)

    @app.post("/quan-tri/nguoi-dung", include_in_schema=False)
    def create_user(request: Request, full_name: str = Form(...), unit: str = Form(...), position: str = Form(""),
                    email: str = Form(""), roles: list[str] = Form([]), username: str = Form(""),
                    v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        form = {"full_name": full_name, "unit": unit, "position": position, "email": email, "roles": roles,
                "username": username}
        try:
            user, password, warning = people.create_account(g, v, full_name, unit, position, email, roles, username)
        except people.NameTaken as exc:
            form["username"] = exc.details["suggested"]
            return _users_page(request, g, v, form, exc.message_vi.replace("rồi tạo lại", "rồi bấm Tạo tài khoản"),
                               409)
        except CongVanError as exc:
            return _users_page(request, g, v, form, exc.message_vi, exc.http_status)
        return _users_page(request, g, v, issued={"username": user.username, "password": password,
                                                   "full_name": user.full_name}, warning=warning)

    @app.post("/quan-tri/nguoi-dung/dong-bo", include_in_schema=False)
    def sync_all(request: Request, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        """Accounts made before routing ran (or by the demo seed) are pushed to routing in one go."""
        if warning := people.sync_all(g, v):
            return _users_page(request, g, v, warning=warning)
        return RedirectResponse("/quan-tri/nguoi-dung?tb=da-dong-bo", status_code=303)

    @app.get("/quan-tri/nguoi-dung/{user_id}", response_class=HTMLResponse, include_in_schema=False)
    def user_page(request: Request, user_id: str, v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)):
        return _user_page(request, g, v, g.accounts.user_in_agency(v.user.agency_id, user_id))

    @app.post("/quan-tri/nguoi-dung/{user_id}", include_in_schema=False)
    def update_user(request: Request, user_id: str, full_name: str = Form(...), unit: str = Form(...),
                    position: str = Form(""), email: str = Form(""), roles: list[str] = Form([]),
                    v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        person = g.accounts.user_in_agency(v.user.agency_id, user_id)
        try:
            user, warning = people.update_account(g, v, user_id, full_name, unit, position, roles, email)
        except CongVanError as exc:
            return _user_page(request, g, v, person, exc.message_vi, exc.http_status)
        if warning:
            return _user_page(request, g, v, user, warning=warning)
        return RedirectResponse(f"/quan-tri/nguoi-dung/{user_id}?tb=da-luu", status_code=303)

    def _set_locked(request: Request, user_id: str, locked: bool, v: Viewer, g: Gateway) -> Response:
        person = g.accounts.user_in_agency(v.user.agency_id, user_id)
        try:
            user, warning, still_open = people.set_locked(g, v, user_id, locked)
        except CongVanError as exc:
            return _user_page(request, g, v, person, exc.message_vi, exc.http_status)
        if warning:
            return _user_page(request, g, v, user, warning=warning)
        notice = "da-khoa" if locked else "da-mo-khoa"
        if still_open:
            notice = "da-khoa-con-viec"  # locked, never stranded: the page offers the handover
        return RedirectResponse(f"/quan-tri/nguoi-dung/{user_id}?tb={notice}", status_code=303)

    @app.post("/quan-tri/nguoi-dung/{user_id}/khoa", include_in_schema=False)
    def lock_user(request: Request, user_id: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return _set_locked(request, user_id, True, v, g)

    @app.post("/quan-tri/nguoi-dung/{user_id}/mo-khoa", include_in_schema=False)
    def unlock_user(request: Request, user_id: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return _set_locked(request, user_id, False, v, g)

    @app.post("/quan-tri/nguoi-dung/{user_id}/ma-truy-cap/{token_id}/thu-hoi", include_in_schema=False)
    def revoke_token(user_id: str, token_id: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        # another agency's account, or a token of another account: 404, as every admin route
        revoked = people.revoke_api_token(g, v, user_id, token_id)
        notice = "da-thu-hoi-ma" if revoked["changed"] else "ma-da-thu-hoi"
        return RedirectResponse(f"/quan-tri/nguoi-dung/{user_id}?tb={notice}", status_code=303)

    @app.post("/quan-tri/nguoi-dung/{user_id}/dat-lai-mat-khau", include_in_schema=False)
    def reset_password(request: Request, user_id: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        user, password = people.reset_password(g, v, user_id)
        return _user_page(request, g, v, user, issued=password)


def _install_units(app: FastAPI) -> None:
    @app.get("/quan-tri/don-vi", response_class=HTMLResponse, include_in_schema=False)
    def units(request: Request, sua: str = "", v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)):
        listed = _units(g, v.user.agency_id)
        # "Sửa" on a row fills the form with the unit as it is, so that renaming it does not move it
        chosen = next((u for u in listed if u["code"] == sua and u["declared"]), None)
        form = {k: chosen.get(k) or "" for k in ("code", "name", "abbreviation", "parent_code")} if chosen else {}
        return _units_page(request, g, v, form=form, listed=listed)

    @app.post("/quan-tri/don-vi", include_in_schema=False)
    def save_unit(request: Request, code: str = Form(...), name: str = Form(...), abbreviation: str = Form(""),
                  parent_code: str = Form(""), v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        try:
            _unit, warning = people.save_unit(g, v, code, name, abbreviation, parent_code.strip() or None)
        except CongVanError as exc:
            return _units_page(request, g, v, error=exc.message_vi, status_code=exc.http_status,
                               form={"code": code, "name": name, "abbreviation": abbreviation,
                                     "parent_code": parent_code})
        if warning:
            return _units_page(request, g, v, warning=warning)
        return RedirectResponse("/quan-tri/don-vi?tb=da-luu-don-vi", status_code=303)

    @app.post("/quan-tri/don-vi/{code}/ngung-hoat-dong", include_in_schema=False)
    def retire_unit(request: Request, code: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return _set_unit_active(request, code, False, v, g)

    @app.post("/quan-tri/don-vi/{code}/hoat-dong-lai", include_in_schema=False)
    def reactivate_unit(request: Request, code: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return _set_unit_active(request, code, True, v, g)


def _set_unit_active(request: Request, code: str, active: bool, v: Viewer, g: Gateway) -> Response:
    try:
        people.set_unit_active(g, v, code, active)
    except CongVanError as exc:  # what to do first, above the tree
        if isinstance(exc, NotFound):  # another agency's unit: 404, as every admin route
            raise
        return _units_page(request, g, v, error=exc.message_vi, status_code=exc.http_status)
    return RedirectResponse(f"/quan-tri/don-vi?tb={'da-mo-don-vi' if active else 'da-ngung-don-vi'}", status_code=303)


def _units_page(request: Request, g: Gateway, v: Viewer, *, error: str | None = None, warning: str | None = None,
                form: dict[str, Any] | None = None, status_code: int = 200,
                listed: list[dict[str, Any]] | None = None) -> Response:
    """The page "Đơn vị": the tree, the form, a refusal or warning above them, and the recent changes."""
    return render(request, "admin_units.html", v, status_code=status_code,
                  units=listed if listed is not None else _units(g, v.user.agency_id), error=error, warning=warning,
                  form=form or {}, changes=people.unit_changes(g, v, 20), notices=NOTICES, section="units")


def register_page(request: Request, g: Gateway, v: Viewer, error: str | None = None, status_code: int = 200,
                  form: dict[str, Any] | None = None, editing: str = "", edit_name: str | None = None,
                  reopening: str = "", reason: str = "") -> Response:
    """The page "Sổ văn bản" (gateway/year_registers.py posts its button here too)."""
    registers = g.backends.call(v.actor, "registry", "list_registers")
    # "Sửa" on a row opens the form with the register as it is (an open one only: the registry refuses the rest)
    edited = next((r for r in registers if r["id"] == editing and not r["closed"]), None)
    return render(request, "admin_registers.html", v, status_code=status_code, registers=registers,
                  directions=DIRECTION_LABELS, types=sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
                  legal_types=[(code, DOCUMENT_TYPES[code]) for code in LEGAL_NORMATIVE_TYPES],
                  error=error, form=form or {"year": clock.today_vn().year}, notices=NOTICES, section="registers",
                  edited=edited, edit_name=edit_name if edit_name is not None else (edited or {}).get("name", ""),
                  year=clock.today_vn().year, people=_people_names(g, v.user.agency_id),
                  reopening=reopening, reason=reason, form_key=secrets.token_urlsafe(18))


def _install_registers(app: FastAPI) -> None:
    page = register_page

    @app.get("/quan-tri/so-van-ban", response_class=HTMLResponse, include_in_schema=False)
    def registers(request: Request, sua: str = "", v: Viewer = Depends(register_viewer), g: Gateway = Depends(gw)):
        return page(request, g, v, editing=sua)

    @app.post("/quan-tri/so-van-ban", include_in_schema=False)
    def create_register(request: Request, direction: str = Form(...), year: int = Form(...),
                        scope: str = Form(SCOPE_ALL), name: str = Form(""), form_key: str = Form("", max_length=64),
                        v: Viewer = Depends(register_post), g: Gateway = Depends(gw)):
        # The form's key names this opening: sent twice (a double click, a retry after a timeout) it opens one
        # register and says so, instead of answering the second time that the register exists.
        try:
            g.backends.call(v.actor, "registry", "create_register", direction, year, scope or SCOPE_ALL,
                            name.strip() or None, f"form:{form_key.strip()}" if form_key.strip() else None)
        except CongVanError as exc:
            return page(request, g, v, exc.message_vi, exc.http_status,
                        {"direction": direction, "year": year, "scope": scope, "name": name})
        return RedirectResponse("/quan-tri/so-van-ban?tb=da-tao-so", status_code=303)

    @app.post("/quan-tri/so-van-ban/{register_id}/khoa", include_in_schema=False)
    def close_register(register_id: str, form_key: str = Form("", max_length=64), v: Viewer = Depends(register_post),
                       g: Gateway = Depends(gw)):
        # The registry checks the role and the agency again and refuses numbering into the register from now on; the
        # form's key names this closing, so the same form sent again after a reopening does not close it again.
        g.backends.call(v.actor, "registry", "close_register", register_id,
                        f"form:{form_key.strip()}" if form_key.strip() else None)
        return RedirectResponse("/quan-tri/so-van-ban?tb=da-khoa-so", status_code=303)

    @app.post("/quan-tri/so-van-ban/{register_id}/sua", include_in_schema=False)
    def update_register(request: Request, register_id: str, name: str = Form("", max_length=400),
                        v: Viewer = Depends(register_post), g: Gateway = Depends(gw)):
        # Another agency's register or a refused role: the registry's 404/403, as on closing.
        try:
            g.backends.call(v.actor, "registry", "update_register", register_id, name)
        except (Conflict, ValidationFailed) as exc:
            return page(request, g, v, exc.message_vi, exc.http_status, editing=register_id, edit_name=name)
        return RedirectResponse("/quan-tri/so-van-ban?tb=da-sua-so", status_code=303)

    @app.post("/quan-tri/so-van-ban/{register_id}/mo-lai", include_in_schema=False)
    def reopen_register(request: Request, register_id: str, reason: str = Form("", max_length=2000),
                        form_key: str = Form("", max_length=64), v: Viewer = Depends(register_post),
                        g: Gateway = Depends(gw)):
        # The form's key names this reopening: the same form sent twice reopens once, even if closed in between.
        try:
            g.backends.call(v.actor, "registry", "reopen_register", register_id, reason,
                            f"form:{form_key.strip()}" if form_key.strip() else None)
        except (Conflict, ValidationFailed) as exc:
            return page(request, g, v, exc.message_vi, exc.http_status, reopening=register_id, reason=reason)
        return RedirectResponse("/quan-tri/so-van-ban?tb=da-mo-lai-so", status_code=303)


def _people_names(g: Gateway, agency_id: str) -> dict[str, str]:
    """Who closed and reopened a register, by full name (the registry keeps user ids)."""
    return {u.id: u.full_name for u in g.accounts.list_users(agency_id)}


def _install_catalogues(app: FastAPI) -> None:
    @app.get("/quan-tri/danh-muc", response_class=HTMLResponse, include_in_schema=False)
    def catalogues(request: Request, v: Viewer = Depends(admin_viewer)):
        return render(request, "admin_catalogues.html", v,
                      types=sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
                      urgencies=[(int(k), label) for k, label in URGENCY_LABELS.items()],
                      statuses=sorted(STATUS_LABELS.items()), reject_reasons=REJECT_REASONS,
                      directions=DIRECTION_LABELS, notices=NOTICES, section="catalogues")


def config_page(request: Request, g: Gateway, v: Viewer, error: str | None = None, status_code: int = 200) -> Response:
    """The configuration and, below it, the agency's rules (gateway/rules.py) with their legal sources."""
    config = people.current_config(g, v)
    calendar = config.get("calendar") or {}
    form = {
        "agency_name": config.get("agency_name") or "",
        "default_deadline_days": config.get("default_deadline_days"),
        "due_soon_hours": config.get("due_soon_hours"),
        "periods": ", ".join(f"{a}-{b}" for a, b in calendar.get("periods") or []),
        "extra_days_off": "\n".join(calendar.get("extra_days_off") or []),
        "make_up_days": "\n".join(calendar.get("make_up_days") or []),
        "public_holidays": calendar.get("public_holidays", True),
        "review_chain": json.dumps(config.get("review_chain") or [], ensure_ascii=False, indent=2),
        "allow_unsigned_send": bool(config.get("allow_unsigned_send")),
        "signing_delegation": config.get("signing_delegation", True),
        "review_chains": json.dumps(config.get("review_chains"), ensure_ascii=False, indent=2)
        if config.get("review_chains") else "",
    }
    return render(request, "admin_config.html", v, status_code=status_code, form=form, error=error, notices=NOTICES,
                  section="config", **rules.page_context(g, v))


def _install_configuration(app: FastAPI) -> None:
    @app.get("/quan-tri/cau-hinh", response_class=HTMLResponse, include_in_schema=False)
    def configuration(request: Request, v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)):
        return config_page(request, g, v)

    @app.post("/quan-tri/cau-hinh", include_in_schema=False)
    async def save_configuration(request: Request, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        form = dict((await request.form()).items())
        try:
            people.configure(g, v, config_changes(form), bool(form.get("allow_unsigned_send")))
        except CongVanError as exc:
            return _config_error_page(request, g, v, form, exc)
        return RedirectResponse("/quan-tri/cau-hinh?tb=da-luu-cau-hinh", status_code=303)


def _config_error_page(request: Request, g: Gateway, v: Viewer, form: dict[str, Any], exc: CongVanError) -> Response:
    """Re-show what the admin typed, with the reason, rather than the stored configuration."""
    shown = {k: form.get(k, "") for k in ("agency_name", "default_deadline_days",
                                          "due_soon_hours", "periods", "extra_days_off", "make_up_days",
                                          "review_chain", "review_chains")}
    shown["public_holidays"] = bool(form.get("public_holidays"))
    shown["allow_unsigned_send"] = bool(form.get("allow_unsigned_send"))
    shown["signing_delegation"] = bool(form.get("signing_delegation"))
    return render(request, "admin_config.html", v, status_code=exc.http_status, form=shown, error=exc.message_vi,
                  notices=NOTICES, section="config", **rules.page_context(g, v))
