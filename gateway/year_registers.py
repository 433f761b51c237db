"""Opening next year's registers (services/registry/year_registers.py) from the screens.

Numbers run from 01 on 1 January to 31 December (NĐ 30/2020/NĐ-CP Điều 15, 22): an agency needs its registers of
the new year on 1 January. The registry opens them on the first need (the safety net); these screens let people do
it ahead, in December, and see what is left:

- the agency's administrator (or clerk where the agency's rule lets clerks open registers): the button "Mở các sổ
  năm <Y+1> theo các sổ năm <Y>" on /quan-tri/so-van-ban, and in December a panel of the home page naming next
  year's registers not open yet;
- the province operator (Sở TTTT): /van-hanh/so-nam-moi, which hosted agencies have not opened them, and a bulk
  action opening them for those agencies, acting for each as onboarding does (gateway/platform.py
  `onboarding_actor`). One agency failing does not stop the others; the page names those that failed, and why.

The REST routes are in gateway/api_year_registers.py.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.app import Gateway, Viewer, gw
from gateway.models import HostedAgency
from gateway.platform import each_agency, onboarding_actor
from gateway.province import _page, operator_post, operator_viewer
from gateway.reads import read
from services.common import clock
from services.common.errors import CongVanError

log = logging.getLogger(__name__)

DECEMBER = 12


def next_year() -> int:
    return clock.today_vn().year + 1


def in_december() -> bool:
    return clock.today_vn().month == DECEMBER


# -- the administrator ----------------------------------------------------------------------------------------------

def _admin_panel(v: Viewer) -> bool:
    return v.has("admin") and in_december()


def home_reads(v: Viewer) -> list[tuple[str, dict[str, Any]]]:
    """The registry read of the December panel (gateway/web.py home_reads asks it with the clerk's lists)."""
    return [("year_registers", {"year": next_year()})] if _admin_panel(v) else []


def home_jobs(g: Gateway, v: Viewer) -> list:
    """The December panel of the administrator's home page: next year's registers not open yet."""
    return [lambda: [_panel(g, v)]] if _admin_panel(v) else []


def _panel(g: Gateway, v: Viewer):
    from gateway.web import Panel

    year = next_year()
    title = f"Sổ văn bản năm {year} chưa mở"
    try:
        status = read(g, v, "registry", "year_registers", year=year)
    except CongVanError as exc:
        return Panel(title, None, exc.message_vi, "/quan-tri/so-van-ban", "year_registers")
    note = (f"Số văn bản năm {year} bắt đầu từ 01 ngày 01/01/{year} (Nghị định 30/2020/NĐ-CP, Điều 15 và 22). "
            f"Mở trước các sổ năm {year} theo các sổ năm {year - 1} ở trang Sổ văn bản.")
    return Panel(title, status["missing"], None, "/quan-tri/so-van-ban", "year_registers",
                 f"Đã mở đủ các sổ năm {year}.", note=note)


def install(app: FastAPI) -> None:
    from gateway.admin import register_post

    @app.post("/quan-tri/so-van-ban/mo-so-nam-sau", include_in_schema=False)
    def open_next_year(request: Request, v: Viewer = Depends(register_post), g: Gateway = Depends(gw)):
        # Idempotent by (agency, year) in the registry: a double click opens each register once.
        try:
            done = g.backends.call(v.actor, "registry", "open_year_registers", next_year())
        except CongVanError as exc:
            from gateway.admin import register_page

            return register_page(request, g, v, exc.message_vi, exc.http_status)
        log.info("%s opened %d registers of %s", v.user.username, len(done["opened"]), done["year"])
        return RedirectResponse("/quan-tri/so-van-ban?tb=da-mo-so-nam-sau", status_code=303)

    _install_province(app)


# -- the province operator ------------------------------------------------------------------------------------------

def agencies_status(g: Gateway, agencies: list[HostedAgency], year: int) -> list[dict[str, Any]]:
    """One row per hosted agency: its registers of `year` missing, asked of its registry in parallel. A disabled
    agency is not asked (nobody numbers there)."""
    def one(row: HostedAgency) -> dict[str, Any]:
        if row.disabled:
            return _status_row(row)
        status = g.backends.call(onboarding_actor(row.organ_id), "registry", "year_registers", year)
        return _status_row(row, status["missing"], len(status["registers"]))

    def failed(row: HostedAgency, exc: CongVanError) -> dict[str, Any]:
        log.warning("registers %s of %s not read: %s", year, row.organ_id, exc)
        return {**_status_row(row), "error": exc.message_vi}

    return each_agency(agencies, one, failed)


def _status_row(row: HostedAgency, missing: list[dict[str, Any]] | None = None, open_: int = 0) -> dict[str, Any]:
    return {"organ_id": row.organ_id, "name": row.name, "disabled": bool(row.disabled), "missing": missing or [],
            "open": open_, "error": None}


def open_for(g: Gateway, agencies: list[HostedAgency], year: int, by: str) -> list[dict[str, Any]]:
    """Open `year`'s registers in each agency, each call on its own: one failing leaves the others done."""
    def base(row: HostedAgency) -> dict[str, Any]:
        return {"organ_id": row.organ_id, "name": row.name, "opened": [], "missing": [], "error": None}

    def one(row: HostedAgency) -> dict[str, Any]:
        if row.disabled:
            return {**base(row), "error": "Cơ quan đang ngừng sử dụng."}
        done = g.backends.call(onboarding_actor(row.organ_id), "registry", "open_year_registers", year)
        log.info("%s opened %d registers of %s for %s", by, len(done["opened"]), year, row.organ_id)
        return {**base(row), "opened": done["opened"], "missing": done["missing"], "open": len(done["registers"])}

    def failed(row: HostedAgency, exc: CongVanError) -> dict[str, Any]:
        log.warning("registers %s of %s not opened: %s", year, row.organ_id, exc)
        return {**base(row), "error": exc.message_vi}

    return each_agency(agencies, one, failed)


def status_after(g: Gateway, agencies: list[HostedAgency], year: int,
                 results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`agencies_status` after `open_for`: an opening's answer is its agency's status already, so only the agencies
    not opened (not chosen, or failed) are read again; a province of 1,000 agencies opened makes no more calls."""
    opened = {r["organ_id"]: r for r in results if not r["error"]}
    rest = {r["organ_id"]: r for r in agencies_status(g, [a for a in agencies if a.organ_id not in opened], year)}
    return [_status_row(a, opened[a.organ_id]["missing"], opened[a.organ_id]["open"]) if a.organ_id in opened
            else rest[a.organ_id] for a in agencies]


def chosen(g: Gateway, organ_ids: list[str] | None) -> list[HostedAgency]:
    """The hosted agencies named (unknown identifiers are left out), or every agency in use."""
    agencies = g.platform.agencies()
    if organ_ids is None:
        return [a for a in agencies if not a.disabled]
    wanted = set(organ_ids)
    return [a for a in agencies if a.organ_id in wanted]


def _install_province(app: FastAPI) -> None:
    def page(request: Request, g: Gateway, v: Viewer, results: list[dict[str, Any]] | None = None):
        year, agencies = next_year(), g.platform.agencies()
        rows = agencies_status(g, agencies, year) if results is None else status_after(g, agencies, year, results)
        return _page(request, "province_year_registers.html", v, "year_registers", rows=rows, year=year,
                     results=results, failed=[r for r in results or [] if r["error"]],
                     # an agency not read may not have opened them either: the bulk action tries it again
                     pending=[r for r in rows if r["missing"] or r["error"]])

    @app.get("/van-hanh/so-nam-moi", response_class=HTMLResponse, include_in_schema=False)
    def status(request: Request, v: Viewer = Depends(operator_viewer), g: Gateway = Depends(gw)):
        return page(request, g, v)

    @app.post("/van-hanh/so-nam-moi", include_in_schema=False)
    def open_all(request: Request, organ_id: list[str] = Form([]),
                 v: Viewer = Depends(operator_post), g: Gateway = Depends(gw)):
        # The agencies the page listed as not opened: those with nothing to do are not asked again.
        results = open_for(g, chosen(g, organ_id[:5000]), next_year(), v.user.username)
        return page(request, g, v, results)
