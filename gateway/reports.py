"""Reports and printable registers: "Báo cáo, thống kê" (leaders, department heads, clerks, administrators) and
"In sổ" (clerks, leaders, administrators: the incoming, outgoing and copies registers). Everything comes from the
agency's `reporting` service with the viewer as acting user, so the service (and behind it the registry and
routing) decides what the viewer may see: the viewer's own agency only, a department head only their unit. Charts
are inline SVG drawn here; downloads are PDF or XLSX. REST: GET /api/v1/register-prints (gateway/api_reports.py).
"""

from __future__ import annotations

import base64
import urllib.parse
from datetime import date
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.app import Gateway, Viewer, gw, render, viewer
from gateway.dates import check_year, typed_day
from services.common import clock
from services.common.errors import ValidationFailed
from services.reporting import domain

REPORT_ROLES = ("leader", "department_head", "clerk", "admin")
REGISTER_ROLES = ("clerk", "leader", "admin")
REGISTERS = {"den": "incoming", "di": "outgoing", "sao": "copies"}
FORMATS = ("pdf", "xlsx")
FORMAT = Query("pdf", alias="dinh-dang")
BAR_WIDTH = 420  # px of the longest bar


def _period(tu: str | None, den: str | None) -> tuple[str, str]:
    """The period picked (YYYY-MM-DD); by default this month up to today, in Vietnam time."""
    today = clock.today_vn()
    tu, den = typed_day(tu), typed_day(den)
    try:
        start = date.fromisoformat(tu) if tu else today.replace(day=1)
        end = date.fromisoformat(den) if den else today
    except ValueError as exc:
        raise ValidationFailed("Ngày không hợp lệ (nhập theo dạng dd/mm/yyyy, ví dụ 05/03/2026).", field="tu",
                               value=f"{tu}..{den}") from exc
    check_year(start.year, "tu")  # a year 1 reached the services' and hubs' date arithmetic: a 500, or a 503
    check_year(end.year, "den")
    if end < start:
        raise ValidationFailed(f"“Đến ngày” ({end:%d/%m/%Y}) không được trước “Từ ngày” ({start:%d/%m/%Y}); hãy "
                               "sửa khoảng ngày rồi xem lại.", field="den", value=f"{tu}..{den}")
    return start.isoformat(), end.isoformat()


def _refused(request: Request, v: Viewer, template: str, exc: ValidationFailed, tu: str | None, den: str | None,
             **context: Any) -> Response:
    """The period form again, as typed, with what is wrong: a wrong day never ends on a page with no form."""
    return render(request, template, v, status_code=exc.http_status, error=exc.message_vi, tu=tu or "", den=den or "",
                  **context)


def register_of(so: str) -> str:
    direction = REGISTERS.get(so)
    if direction is None:
        raise ValidationFailed("Sổ không hợp lệ (sổ văn bản đến, sổ văn bản đi hoặc sổ bản sao).", field="so",
                               value=so)
    return direction


def register_download(g: Gateway, v: Viewer, direction: str, tu: str | None, den: str | None,
                      fmt: str) -> Response:
    """The printed register as a file; the screen's link and the REST route both come here."""
    v.actor.require(*REGISTER_ROLES)
    start, end = _period(tu, den)
    return _download(g.backends.call(v.actor, "reporting", "register_file", direction, start, end, _format(fmt)))


def _format(value: str) -> str:
    if value not in FORMATS:
        raise ValidationFailed("Định dạng tệp không được hỗ trợ (chỉ PDF hoặc XLSX).", field="dinh-dang", value=value)
    return value


def _download(result: dict[str, Any]) -> Response:
    name = result["filename"]
    disposition = f"attachment; filename=\"{name}\"; filename*=UTF-8''{urllib.parse.quote(name)}"
    return Response(base64.b64decode(result["data"]), media_type=result["content_type"],
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


def bars(items: list[tuple[str, list[tuple[str, int, str]]]]) -> dict[str, Any]:
    """Grouped horizontal bars for an inline SVG: each item a label and (series name, value, css colour)."""
    top = max([v for _label, series in items for _n, v, _c in series] + [1])
    rows, y = [], 8
    for label, series in items:
        parts = []
        for name, value, colour in series:
            parts.append({"name": name, "value": value, "colour": colour, "y": y,
                          "width": round(BAR_WIDTH * value / top, 1)})
            y += 16
        rows.append({"label": label, "y": parts[0]["y"] if parts else y, "bars": parts})
        y += 10
    return {"rows": rows, "height": y + 4, "width": BAR_WIDTH + 260}


def _charts(report: dict[str, Any]) -> dict[str, Any]:
    units = [(u["unit_label"], [("Đã xử lý", u["handled"], "#2e7d32"), ("Đang xử lý", u["in_progress"], "#1565c0"),
                                ("Quá hạn", u["overdue"], "#c62828")]) for u in report["incoming"]["by_unit"]]
    types = [(t["type_name"] or t["type_code"],
              [("Số lượng", t["count"], "#1565c0"), ("Ký số", t["signed"], "#2e7d32")])
             for t in report["outgoing"]["by_type"]]
    return {"units": bars(units) if units else None, "types": bars(types) if types else None}


def install(app: FastAPI) -> None:
    @app.get("/bao-cao", response_class=HTMLResponse, include_in_schema=False)
    def reports_page(request: Request, tu: str | None = None, den: str | None = None,
                     v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require(*REPORT_ROLES)
        try:
            start, end = _period(tu, den)
        except ValidationFailed as exc:
            return _refused(request, v, "reports_index.html", exc, tu, den, report=None)
        report = g.backends.call(v.actor, "reporting", "report", start, end)
        return render(request, "reports_index.html", v, report=report, tu=start, den=end,
                      period=domain.period_text(start, end), charts=_charts(report),
                      sections=domain.report_sections(report), vn_moment=domain.vn_moment)

    @app.get("/bao-cao/tai-ve", include_in_schema=False)
    def report_download(tu: str | None = None, den: str | None = None, dinh_dang: str = FORMAT,
                        v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require(*REPORT_ROLES)
        start, end = _period(tu, den)
        return _download(g.backends.call(v.actor, "reporting", "report_file", start, end, _format(dinh_dang)))

    @app.get("/in-so", response_class=HTMLResponse, include_in_schema=False)
    def register_page(request: Request, so: str = "den", tu: str | None = None, den: str | None = None,
                      v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require(*REGISTER_ROLES)
        direction = register_of(so)
        try:
            start, end = _period(tu, den)
        except ValidationFailed as exc:
            return _refused(request, v, "reports_register.html", exc, tu, den, register=None, so=so)
        register = g.backends.call(v.actor, "reporting", "register_rows", direction, start, end)
        return render(request, "reports_register.html", v, register=register, so=so, tu=start, den=end)

    @app.get("/in-so/tai-ve", include_in_schema=False)
    def register_file(so: str = "den", tu: str | None = None, den: str | None = None, dinh_dang: str = FORMAT,
                      v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require(*REGISTER_ROLES)   # the role before the register's name: a stranger learns nothing
        return register_download(g, v, register_of(so), tu, den, dinh_dang)
