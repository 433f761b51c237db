"""The leadership's work schedule (lịch công tác, Bình Định Đ3.1): /lich-cong-tac shows a week (any day names it:
?tuan=YYYY-MM-DD, this week by default), lets the office (clerk, leaders, administrator) add, change, remove and
publish entries, and prints on A4 (the page's print style). Routing keeps the schedule (services/routing/schedule.py);
its REST routes are in gateway/api_office.py."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from services.common import clock
from services.common.actor import Role
from services.common.errors import CongVanError

NOTICES = {"da-them": "Đã lưu mục lịch công tác.", "da-xoa": "Đã xóa mục lịch công tác.",
           "da-cong-bo": "Đã công bố lịch công tác tuần; mọi cán bộ xem được."}


def leaders(g: Gateway, v: Viewer) -> list[dict[str, Any]]:
    try:
        staff = g.backends.call(v.actor, "routing", "list_staff")
    except CongVanError:
        return []
    return [s for s in staff if Role.LEADER.value in (s.get("roles") or [])]


def entry_from_form(form: dict[str, Any], documents: str) -> dict[str, Any]:
    """The form -> routing's entry; documents typed one per line as "<document id> <label>" (label optional)."""
    day = str(form.get("day") or "").strip()
    start, end = str(form.get("start") or "").strip(), str(form.get("end") or "").strip()
    docs = []
    for line in (documents or "").splitlines():
        parts = line.strip().split(maxsplit=1)
        if parts:
            docs.append({"id": parts[0], "label": parts[1] if len(parts) > 1 else parts[0]})
    return {"id": form.get("id") or None, "title": form.get("title") or "", "place": form.get("place") or "",
            "starts_at": f"{day}T{start}" if day and start else day,
            "ends_at": f"{day}T{end}" if day and end else None, "leaders": form.get("leaders") or [],
            "attendees": form.get("attendees") or "", "preparing_unit": form.get("preparing_unit") or "",
            "documents": docs}


def page(request: Request, g: Gateway, v: Viewer, week: str, error: str | None = None, status_code: int = 200,
         form: dict[str, Any] | None = None) -> Response:
    schedule = g.backends.call(v.actor, "routing", "schedule_week", week)
    return render(request, "schedule.html", v, status_code=status_code, schedule=schedule, error=error,
                  form=form or {"day": schedule["week_start"], "start": "08:00"}, notices=NOTICES,
                  leaders=leaders(g, v) if schedule["can_edit"] else [])


def vn_date(value: str | None) -> str:
    """2026-03-02 -> 02/03/2026."""
    return "/".join(reversed(str(value)[:10].split("-"))) if value else ""


def install(app: FastAPI) -> None:
    app.state.gateway.templates.env.filters["vn_date"] = vn_date

    @app.get("/lich-cong-tac", response_class=HTMLResponse, include_in_schema=False)
    def week_page(request: Request, tuan: str = "", v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return page(request, g, v, tuan or clock.today_vn().isoformat())

    @app.post("/lich-cong-tac/muc", include_in_schema=False)
    async def save_entry(request: Request, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        raw = await request.form()
        form = {k: raw.get(k) for k in raw} | {"leaders": raw.getlist("leaders")}
        try:
            saved = g.backends.call(v.actor, "routing", "save_schedule_entry",
                                    entry_from_form(form, str(form.get("documents") or "")))
        except CongVanError as exc:
            return page(request, g, v, str(form.get("day") or clock.today_vn().isoformat()), exc.message_vi,
                        exc.http_status, form)
        return RedirectResponse(f"/lich-cong-tac?tuan={saved['date']}&tb=da-them", status_code=303)

    @app.post("/lich-cong-tac/muc/{entry_id}/xoa", include_in_schema=False)
    def delete_entry(entry_id: int, tuan: str = Form(""), v: Viewer = Depends(csrf_checked),
                     g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "delete_schedule_entry", entry_id)
        return RedirectResponse(f"/lich-cong-tac?tuan={tuan}&tb=da-xoa", status_code=303)

    @app.post("/lich-cong-tac/cong-bo", include_in_schema=False)
    def publish(tuan: str = Form(...), note: str = Form(""), v: Viewer = Depends(csrf_checked),
                g: Gateway = Depends(gw)):
        week = g.backends.call(v.actor, "routing", "publish_schedule", tuan, note)
        return RedirectResponse(f"/lich-cong-tac?tuan={week['week_start']}&tb=da-cong-bo", status_code=303)
