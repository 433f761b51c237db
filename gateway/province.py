"""The province operator's screens (/van-hanh/...): every hosted agency, its record and administrators, onboarding
and disabling, locking a leaver's account anywhere, maintenance notices, the problem queue of every agency, usage
per agency and the six-monthly operations report. Only for the role "Vận hành nền tảng (Sở TTTT)"; the logic is in
gateway/platform.py and gateway/province_ops.py, the REST routes in gateway/api_province.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import province_ops as ops
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.dates import check_year
from gateway.platform import AgencyForm, agency_view
from services.common import clock
from services.common.actor import Role
from services.common.errors import CongVanError, NotFound, ValidationFailed

NOTICES = {"da-ngung": "Đã ngừng cơ quan: người dùng của cơ quan không đăng nhập được; dữ liệu được giữ nguyên.",
           "da-mo": "Cơ quan đã hoạt động lại.", "da-luu": "Đã lưu hồ sơ cơ quan.",
           "da-khoa": "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.",
           "da-mo-khoa": "Đã mở khóa tài khoản.", "da-dang": "Đã đăng thông báo bảo trì; mọi người dùng đều thấy.",
           "da-thu-hoi": "Đã thu hồi thông báo bảo trì.",
           "da-giao-van-hanh-truc": "Đã giao vai trò Vận hành trục liên thông; người này đăng nhập lại để dùng.",
           "da-thu-hoi-van-hanh-truc": "Đã thu hồi vai trò Vận hành trục liên thông."}


def operator_viewer(v: Viewer = Depends(viewer)) -> Viewer:
    v.actor.require(Role.PROVINCE_OPERATOR)
    return v


def operator_post(v: Viewer = Depends(csrf_checked)) -> Viewer:
    v.actor.require(Role.PROVINCE_OPERATOR)
    return v


def names(g: Gateway) -> dict[str, str]:
    return {a.organ_id: a.name for a in g.platform.agencies()}


def installation_choices(g: Gateway) -> list[tuple[str, str]]:
    """Each installation with the name of the agency it is named after: identifiers alone all look alike."""
    known = names(g)
    return [(i, f"{i} — {known[i]}" if i in known else i) for i in g.platform.installations()]


def current_half() -> tuple[int, int]:
    today = clock.today_vn()
    return today.year, 1 if today.month <= 6 else 2


def _page(request: Request, template: str, v: Viewer, section: str, status_code: int = 200, **context: Any):
    return render(request, template, v, status_code=status_code, section=section, notices=NOTICES, **context)


def install(app: FastAPI) -> None:
    _install_agencies(app)
    _install_accounts(app)
    _install_maintenance(app)
    _install_reports(app)


def _install_agencies(app: FastAPI) -> None:
    def agencies_page(request: Request, g: Gateway, v: Viewer, form: dict | None = None, error: str | None = None,
                      status_code: int = 200, onboarded=None) -> Response:
        return _page(request, "province_agencies.html", v, "agencies", status_code,
                     agencies=[agency_view(a) for a in g.platform.agencies()],
                     installations=installation_choices(g), onboarded=onboarded, error=error,
                     form=form or {"installation": g.platform.installation_of(v.user.agency_id)})

    @app.get("/van-hanh/co-quan", response_class=HTMLResponse, include_in_schema=False)
    def agencies(request: Request, v: Viewer = Depends(operator_viewer), g: Gateway = Depends(gw)):
        return agencies_page(request, g, v)

    @app.post("/van-hanh/co-quan", include_in_schema=False)
    def add_agency(request: Request, organ_id: str = Form(""), name: str = Form(""), installation: str = Form(""),
                   parent_name: str = Form(""), place: str = Form(""), abbreviation: str = Form(""),
                   admin_full_name: str = Form(""), admin_unit: str = Form(""), v: Viewer = Depends(operator_post),
                   g: Gateway = Depends(gw)):
        form = AgencyForm(organ_id=organ_id, name=name, installation=installation, parent_name=parent_name,
                          place=place, abbreviation=abbreviation, admin_full_name=admin_full_name,
                          admin_unit=admin_unit)
        try:
            onboarded = g.platform.add(form, v.user)
        except CongVanError as exc:
            return agencies_page(request, g, v, vars(form), exc.message_vi, exc.http_status)
        return agencies_page(request, g, v, onboarded=onboarded)

    @app.get("/van-hanh/co-quan/{organ_id}", response_class=HTMLResponse, include_in_schema=False)
    def agency(request: Request, organ_id: str, v: Viewer = Depends(operator_viewer), g: Gateway = Depends(gw)):
        return _agency_page(request, g, v, organ_id)

    @app.post("/van-hanh/co-quan/{organ_id}", include_in_schema=False)
    def save_agency(request: Request, organ_id: str, name: str = Form(""), parent_name: str = Form(""),
                    place: str = Form(""), v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        try:
            done = g.platform.update_record(organ_id, name, parent_name, place, v.user)
        except CongVanError as exc:
            return _agency_page(request, g, v, organ_id, error=exc.message_vi, status_code=exc.http_status)
        return _changed(request, g, v, organ_id, done, "da-luu")

    @app.post("/van-hanh/co-quan/{organ_id}/ngung", include_in_schema=False)
    def disable(request: Request, organ_id: str, v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        try:
            done = g.platform.set_disabled(organ_id, True, v.user)
        except CongVanError as exc:
            return _agency_page(request, g, v, organ_id, error=exc.message_vi, status_code=exc.http_status)
        return _changed(request, g, v, organ_id, done, "da-ngung")

    @app.post("/van-hanh/co-quan/{organ_id}/mo", include_in_schema=False)
    def enable(request: Request, organ_id: str, v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        return _changed(request, g, v, organ_id, g.platform.set_disabled(organ_id, False, v.user), "da-mo")

    @app.post("/van-hanh/co-quan/{organ_id}/quan-tri", include_in_schema=False)
    def add_admin(request: Request, organ_id: str, full_name: str = Form(""), unit: str = Form(""),
                  v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        try:
            user, password = g.platform.create_admin(organ_id, full_name, unit, v.user)
        except CongVanError as exc:
            return _agency_page(request, g, v, organ_id, error=exc.message_vi, status_code=exc.http_status)
        return _agency_page(request, g, v, organ_id, issued={"username": user.username, "password": password,
                                                             "full_name": user.full_name})

    def set_hub_operator(request: Request, organ_id: str, user_id: str, granted: bool, v: Viewer,
                         g: Gateway) -> Response:
        try:
            g.platform.set_hub_operator(organ_id, user_id, granted, v.user)
        except CongVanError as exc:
            return _agency_page(request, g, v, organ_id, error=exc.message_vi, status_code=exc.http_status)
        notice = "da-giao-van-hanh-truc" if granted else "da-thu-hoi-van-hanh-truc"
        return RedirectResponse(f"/van-hanh/co-quan/{organ_id}?tb={notice}#van-hanh-truc", status_code=303)

    @app.post("/van-hanh/co-quan/{organ_id}/van-hanh-truc", include_in_schema=False)
    def grant_hub_operator(request: Request, organ_id: str, user_id: str = Form(""),
                           v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        return set_hub_operator(request, organ_id, user_id, True, v, g)

    @app.post("/van-hanh/co-quan/{organ_id}/van-hanh-truc/{user_id}/thu-hoi", include_in_schema=False)
    def remove_hub_operator(request: Request, organ_id: str, user_id: str, v: Viewer = Depends(operator_post),
                            g: Gateway = Depends(gw)):
        return set_hub_operator(request, organ_id, user_id, False, v, g)


def _changed(request: Request, g: Gateway, v: Viewer, organ_id: str, done: dict, notice: str) -> Response:
    """After a change of the agency's record or state: its page, with what is not done yet when a copy of the
    directory was not written (the hubs would still route as before), else the page anew with the notice."""
    if done["warnings"]:
        return _agency_page(request, g, v, organ_id, warnings=done["warnings"], done_notice=NOTICES[notice])
    return RedirectResponse(f"/van-hanh/co-quan/{organ_id}?tb={notice}", status_code=303)


def _agency_page(request: Request, g: Gateway, v: Viewer, organ_id: str, error: str | None = None,
                 status_code: int = 200, issued: dict | None = None, warnings: list[str] | None = None,
                 done_notice: str = "") -> Response:
    row = g.platform.get(organ_id)
    return _page(request, "province_agency.html", v, "agencies", status_code, agency=agency_view(row),
                 admins=g.platform.admins(organ_id), people=g.accounts.list_users(organ_id), error=error,
                 issued=issued, warnings=warnings or [],
                 done_notice=done_notice,
                 problems=ops.problem_queue(g.db, {row.organ_id: row.name}, agency_id=organ_id, limit=20))


def _install_accounts(app: FastAPI) -> None:
    @app.get("/van-hanh/tai-khoan", response_class=HTMLResponse, include_in_schema=False)
    def accounts(request: Request, q: str = "", v: Viewer = Depends(operator_viewer), g: Gateway = Depends(gw)):
        return _page(request, "province_accounts.html", v, "accounts", q=q,
                     people=g.accounts.find_users(q) if q.strip() else [], names=names(g))

    def set_locked(user_id: str, locked: bool, v: Viewer, g: Gateway) -> Response:
        person = g.accounts.get(user_id)
        if person is None:
            raise NotFound("Không tìm thấy tài khoản.", user_id=user_id)
        if person.id == v.user.id:
            raise ValidationFailed("Không thể tự khóa tài khoản của chính mình.", field="user_id")
        g.accounts.set_disabled(user_id, locked)
        g.accounts.record_admin_event(v.user, user_id, "lock" if locked else "unlock", agency_id=person.agency_id,
                                      by_province=True, by_name=v.user.full_name, organ_id=person.agency_id)
        return RedirectResponse(f"/van-hanh/tai-khoan?q={person.username}&tb={'da-khoa' if locked else 'da-mo-khoa'}",
                                status_code=303)

    @app.post("/van-hanh/tai-khoan/{user_id}/khoa", include_in_schema=False)
    def lock(user_id: str, v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        return set_locked(user_id, True, v, g)

    @app.post("/van-hanh/tai-khoan/{user_id}/mo-khoa", include_in_schema=False)
    def unlock(user_id: str, v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        return set_locked(user_id, False, v, g)


def _install_maintenance(app: FastAPI) -> None:
    def page(request: Request, g: Gateway, v: Viewer, form: dict | None = None, error: str | None = None,
             status_code: int = 200) -> Response:
        return _page(request, "province_maintenance.html", v, "maintenance", status_code,
                     recent=g.notices.recent(), form=form or {}, error=error)

    @app.get("/van-hanh/bao-tri", response_class=HTMLResponse, include_in_schema=False)
    def maintenance(request: Request, v: Viewer = Depends(operator_viewer), g: Gateway = Depends(gw)):
        return page(request, g, v)

    @app.post("/van-hanh/bao-tri", include_in_schema=False)
    def publish(request: Request, starts_at: str = Form(""), ends_at: str = Form(""), message: str = Form(""),
                v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        try:
            g.notices.publish(starts_at, ends_at, message, v.user.full_name)
        except CongVanError as exc:
            return page(request, g, v, {"starts_at": starts_at, "ends_at": ends_at, "message": message},
                        exc.message_vi, exc.http_status)
        return RedirectResponse("/van-hanh/bao-tri?tb=da-dang", status_code=303)

    @app.post("/van-hanh/bao-tri/{notice_id}/thu-hoi", include_in_schema=False)
    def withdraw(notice_id: int, v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        g.notices.withdraw(notice_id)
        return RedirectResponse("/van-hanh/bao-tri?tb=da-thu-hoi", status_code=303)


def _install_reports(app: FastAPI) -> None:
    @app.get("/van-hanh/bao-loi", response_class=HTMLResponse, include_in_schema=False)
    def problems(request: Request, trang_thai: str = "", v: Viewer = Depends(operator_viewer),
                 g: Gateway = Depends(gw)):
        known = names(g)
        queue = ops.problem_queue(g.db, known, state=trang_thai)
        # Whatever the filter shows, the count of overdue reports is of them all (a list of handled ones has none).
        shown_all_open = trang_thai in ("", "open", "overdue")
        overdue = sum(p["overdue"] for p in queue) if shown_all_open else len(ops.problem_queue(g.db, known,
                                                                                                 state="overdue"))
        return _page(request, "province_problems.html", v, "problems", queue=queue, state=trang_thai,
                     overdue=overdue)

    @app.get("/van-hanh/su-dung", response_class=HTMLResponse, include_in_schema=False)
    def usage(request: Request, tu_ngay: str = "", den_ngay: str = "", v: Viewer = Depends(operator_viewer),
              g: Gateway = Depends(gw)):
        start, end = _period(tu_ngay, den_ngay)
        rows = ops.usage(g.backends, g.db, g.platform.agencies(), start, end)
        year, half = current_half()
        return _page(request, "province_usage.html", v, "usage", rows=rows, totals=ops.usage_totals(rows),
                     percent=ops.percent, start=start, end=end, year=year, half=half)

    @app.get("/van-hanh/bao-cao-6-thang", include_in_schema=False)
    def six_monthly(nam: int = 0, ky: int = 0, dinh_dang: str = "pdf", v: Viewer = Depends(operator_viewer),
                    g: Gateway = Depends(gw)):
        data, filename, media = operations_file(g, nam, ky, dinh_dang)
        return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _period(start: str, end: str, fields: tuple[str, str] = ("tu_ngay", "den_ngay")) -> tuple[date, date]:
    """The usage period; `fields` name the start and end as the caller's form or REST query does."""
    today = clock.today_vn()
    first, last = _day(start, date(today.year, 1, 1), fields[0]), _day(end, today, fields[1])
    if last < first:
        raise ValidationFailed("Đến ngày phải sau từ ngày.", field=fields[1])
    return first, last


def _day(text: str, default: date, field: str) -> date:
    try:
        day = date.fromisoformat(text) if text else default
    except ValueError:
        raise ValidationFailed("Ngày không hợp lệ (dạng YYYY-MM-DD).", field=field, value=text) from None
    check_year(day.year, field)
    return day


MEDIA = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def operations_file(g: Gateway, year: int, half: int, fmt: str) -> tuple[bytes, str, str]:
    """The six-monthly operations report of every hosted agency, PDF or XLSX."""
    from datetime import UTC, datetime, timedelta

    default_year, default_half = current_half()
    year, half = year or default_year, half or default_half
    start, end = ops.half_year(year, half)
    agencies = ops.joined_by(g.platform.agencies(), end)
    rows = ops.usage(g.backends, g.db, agencies, start, end)
    problems = ops.problem_queue(g.db, names(g), limit=100_000)
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=7)
    notices = g.notices.between(begin, begin + (end - start) + timedelta(days=1))
    sections = ops.operations_sections(agencies, rows, problems, notices, start, end)
    data, filename = ops.operations_report(fmt, sections, start, end, half)
    return data, filename, MEDIA[fmt]
