"""The administrator's "Nhóm nơi nhận" screens (/quan-tri/nhom-noi-nhan): the agency's recipient groups, each
with its members and a search of the directory by name or identifier (the server searches, so that the page stays
small however large the directory is, and works without script). The rules are gateway/recipient_groups.py's,
the same as the REST API's (gateway/api_recipient_groups.py)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import recipient_groups as rg
from gateway.admin import NOTICES, admin_post, admin_viewer
from gateway.app import Gateway, Viewer, gw, render
from services.common.errors import CongVanError

SEARCH_LIMIT = 50
GROUP_NOTICES = {**NOTICES, "da-tao-nhom": "Đã tạo nhóm nơi nhận; hãy thêm cơ quan vào nhóm.",
                 "da-doi-ten-nhom": "Đã đổi tên nhóm nơi nhận.", "da-them-noi-nhan": "Đã thêm nơi nhận vào nhóm.",
                 "da-bo-noi-nhan": "Đã bỏ nơi nhận khỏi nhóm.", "da-xoa-nhom": "Đã xóa nhóm nơi nhận."}
BASE = "/quan-tri/nhom-noi-nhan"


def _list_page(request: Request, g: Gateway, v: Viewer, error: str | None = None, status_code: int = 200,
               name: str = "") -> Response:
    return render(request, "admin_recipient_groups.html", v, status_code=status_code, groups=rg.listed(g, v),
                  changes=rg.changes(g, v), error=error, name=name, notices=GROUP_NOTICES, section="groups")


def _search(g: Gateway, v: Viewer, query: str, members: list[str]) -> list[dict[str, Any]]:
    """Agencies of the directory matching the words or the code typed, each with whether it can be added."""
    if not query.strip():
        return []
    directory = g.directory()
    found = []
    for record in directory.search(query.strip()[:100], limit=SEARCH_LIMIT):
        member = rg.member_of(directory, record.organ_id)
        reason = ("Đã có trong nhóm" if record.organ_id in members else
                  "Chính cơ quan mình" if record.organ_id == v.user.agency_id else
                  "" if member.available else member.note)
        found.append({"organ_id": record.organ_id, "name": record.name, "reason": reason})
    return found


def _group_page(request: Request, g: Gateway, v: Viewer, group_id: str, error: str | None = None,
                status_code: int = 200, query: str = "") -> Response:
    group = rg.describe(g, rg.group_of(g, v, group_id))
    members = [m["organ_id"] for m in group["members"]]
    return render(request, "admin_recipient_group.html", v, status_code=status_code, group=group, query=query,
                  found=_search(g, v, query, members), searched=bool(query.strip()), limit=SEARCH_LIMIT,
                  changes=rg.changes(g, v, group["id"]), error=error, notices=GROUP_NOTICES, section="groups")


def install(app: FastAPI) -> None:
    @app.get(BASE, response_class=HTMLResponse, include_in_schema=False)
    def group_list(request: Request, v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)):
        return _list_page(request, g, v)

    @app.post(BASE, include_in_schema=False)
    def group_create(request: Request, name: str = Form("", max_length=400), v: Viewer = Depends(admin_post),
                     g: Gateway = Depends(gw)):
        try:
            group = rg.create(g, v, name)
        except CongVanError as exc:
            return _list_page(request, g, v, exc.message_vi, exc.http_status, name)
        return RedirectResponse(f"{BASE}/{group.id}?tb=da-tao-nhom", status_code=303)

    @app.get(BASE + "/{group_id}", response_class=HTMLResponse, include_in_schema=False)
    def group_page(request: Request, group_id: str, q: str = "", v: Viewer = Depends(admin_viewer),
                   g: Gateway = Depends(gw)):
        return _group_page(request, g, v, group_id, query=q[:100])

    def change(request: Request, g: Gateway, v: Viewer, group_id: str, notice: str, query: str = "",
               **kwargs: Any) -> Response:
        rg.group_of(g, v, group_id)  # another agency's group: 404 before anything is read from the form
        try:
            rg.update(g, v, group_id, **kwargs)
        except CongVanError as exc:
            return _group_page(request, g, v, group_id, exc.message_vi, exc.http_status, query)
        return RedirectResponse(f"{BASE}/{group_id}?tb={notice}", status_code=303)

    @app.post(BASE + "/{group_id}/ten", include_in_schema=False)
    def group_rename(request: Request, group_id: str, name: str = Form("", max_length=400),
                     v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return change(request, g, v, group_id, "da-doi-ten-nhom", name=name)

    @app.post(BASE + "/{group_id}/them", include_in_schema=False)
    def group_add(request: Request, group_id: str, add: list[str] = Form([]), q: str = Form("", max_length=100),
                  v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return change(request, g, v, group_id, "da-them-noi-nhan", q, add=add)

    @app.post(BASE + "/{group_id}/bo", include_in_schema=False)
    def group_remove(request: Request, group_id: str, remove: list[str] = Form([]),
                     v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        return change(request, g, v, group_id, "da-bo-noi-nhan", remove=remove)

    @app.post(BASE + "/{group_id}/xoa", include_in_schema=False)
    def group_delete(group_id: str, v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        rg.delete(g, v, group_id)
        return RedirectResponse(f"{BASE}?tb=da-xoa-nhom", status_code=303)
