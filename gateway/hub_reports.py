"""The hub operator's report ("Báo cáo trục liên thông"): per hub sent, received, delivered, rejected by reason and
the median delivery time; per agency of the province its usage; inline-SVG bar charts; PDF and XLSX exports.

The figures come from each hub's own `GET /report` (services/interconnect/hub_report.py), called with the hub's
bearer token from HUB_REPORTS_FILE: the gateway never opens a hub's database. Who sees what: a person with the role
`hub_operator` sees the hub that serves their agency; the operator at an agency served by the national hub sees
every configured hub (hub_rules.hubs_visible). Everyone else is refused with a Vietnamese message.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from gateway.app import Gateway, Viewer, gw, render, viewer
from gateway.reports import FORMAT, _format, _period, bars
from services.common.errors import CongVanError, Forbidden
from services.reporting import domain, hub_rules

log = logging.getLogger(__name__)
ROLE = "hub_operator"
PATH = "/bao-cao/truc-lien-thong"
HUB_SERIES = (("sent", "Gửi đi", "#1565c0"), ("received", "Nhận vào trục", "#6a1b9a"),
              ("delivered", "Vào hộp thư", "#2e7d32"), ("rejected", "Bị từ chối", "#c62828"))
AGENCY_SERIES = (("sent", "Văn bản gửi", "#1565c0"), ("received", "Văn bản nhận", "#2e7d32"),
                 ("rejected", "Bị từ chối", "#c62828"))
LABEL_CHARS = 36  # the chart's label column holds about this many characters


class HubUnavailable(CongVanError):
    code = "hub_unavailable"
    http_status = 503


def hub_config(g: Gateway) -> dict[str, dict[str, Any]]:
    """HUB_REPORTS_FILE, read on each use (a hub added at provisioning appears without restarting the gateway)."""
    path = g.settings.hub_reports_file
    if not path or not Path(path).exists():
        return {}
    return json.loads(Path(path).read_text())


def fetch(hub: dict[str, Any], code: str, start: str, end: str, timeout: float) -> dict[str, Any]:
    query = urllib.parse.urlencode({"from": start, "to": end})
    try:
        r = httpx.get(f"{hub['url'].rstrip('/')}?{query}", timeout=timeout,
                      headers={"Authorization": f"Bearer {hub.get('token', '')}"})
    except httpx.HTTPError as exc:
        raise HubUnavailable(f"Không kết nối được trục liên thông {hub.get('name') or code}; hãy thử lại sau.",
                             hub=code, reason=type(exc).__name__) from exc
    if r.status_code != 200:
        raise HubUnavailable(f"Trục liên thông {hub.get('name') or code} không trả số liệu (mã {r.status_code}).",
                             hub=code, status=r.status_code)
    return r.json()


def visible(g: Gateway, v: Viewer) -> dict[str, dict[str, Any]]:
    v.actor.require(ROLE)
    config = hub_config(g)
    codes = hub_rules.hubs_visible(v.user.agency_id, config)
    if not codes:
        raise Forbidden("Cơ quan của bạn không vận hành trục liên thông nào trong cấu hình của hệ thống.",
                        user=v.user.username, agency=v.user.agency_id)
    return {code: config[code] for code in codes}


def collect(g: Gateway, hubs: dict[str, dict[str, Any]], start: str, end: str
            ) -> tuple[list[dict[str, Any]], list[str]]:
    """Every visible hub's report, side by side; a hub that does not answer is named in the errors."""
    timeout = g.settings.hub_report_timeout

    def one(code: str) -> dict[str, Any] | str:
        try:
            return fetch(hubs[code], code, start, end, timeout)
        except HubUnavailable as exc:
            log.warning("hub report %s: %s", code, exc.details)
            return exc.message_vi

    with ThreadPoolExecutor(max_workers=min(4, len(hubs))) as pool:
        results = list(pool.map(one, hubs))
    return [r for r in results if isinstance(r, dict)], [r for r in results if isinstance(r, str)]


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def charts(reports: list[dict[str, Any]]) -> dict[str, Any]:
    hubs = [(_short(r["name"] or r["hub"]), [(label, r[key], colour) for key, label, colour in HUB_SERIES])
            for r in reports]
    agencies = [(_short(a["name"] or a["organ_id"]), [(label, a[key], colour) for key, label, colour in AGENCY_SERIES])
                for r in reports for a in r["agencies"]]
    return {"hubs": bars(hubs) if hubs else None, "agencies": bars(agencies) if agencies else None}


def export(kind: str, organ_name: str, period: str, reports: list[dict[str, Any]], start: str, end: str) -> Response:
    from services.reporting import pdf, xlsx

    sections = hub_rules.hub_report_sections(reports)
    if kind == "pdf":
        data, ctype = pdf.report_pdf(hub_rules.HUB_REPORT_TITLE, organ_name, period, sections), "application/pdf"
    else:
        data = xlsx.report_xlsx(hub_rules.HUB_REPORT_TITLE, organ_name, period, sections)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"bao-cao-truc-lien-thong_{start}_{end}.{kind}"
    return Response(data, media_type=ctype, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{urllib.parse.quote(name)}",
        "Cache-Control": "no-store"})


def install(app: FastAPI) -> None:
    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def hub_report_page(request: Request, tu: str | None = None, den: str | None = None,
                        v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        hubs = visible(g, v)
        start, end = _period(tu, den)
        reports, errors = collect(g, hubs, start, end)
        return render(request, "hubreport_index.html", v, reports=reports, errors=errors, tu=start, den=end,
                      period=domain.period_text(start, end), charts=charts(reports),
                      sections=hub_rules.hub_report_sections(reports), duration=hub_rules.duration_text,
                      figures=hub_rules.HUB_FIGURES_VI)

    @app.get(f"{PATH}/tai-ve", include_in_schema=False)
    def hub_report_download(tu: str | None = None, den: str | None = None, dinh_dang: str = FORMAT,
                            v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        hubs = visible(g, v)
        start, end = _period(tu, den)
        kind = _format(dinh_dang)
        reports, errors = collect(g, hubs, start, end)
        if errors:  # a file with a hub silently missing would be signed off as complete
            raise HubUnavailable(errors[0], hubs=list(hubs))
        return export(kind, g.backends.name_of(v.user.agency_id), domain.period_text(start, end), reports,
                      start, end)
