"""Handover of a person's work (bàn giao), screens and REST: the open work of a person, all of it to a successor in
one step (administrator), one stuck item to someone else (administrator or leader), the head's permission to
download one's own data and the ZIP of what one handled (with an index). Routing owns the rules
(services/routing/handover.py) and checks them again.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import zipfile
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Request, Security
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, NOT_FOUND, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.web import People
from services.common.errors import CongVanError, ValidationFailed
from services.storage.blobs import blob_store

KIND_LABELS = {"assignments": "Văn bản đến đang được giao", "to_direct": "Văn bản đến chờ bút phê",
               "drafts": "Dự thảo đang soạn, trình duyệt", "reviews": "Dự thảo được mời góp ý",
               "tasks": "Công việc đang mở", "delegations": "Ủy quyền đang có hiệu lực"}
RESULTS = {"da-ban-giao": "Đã bàn giao toàn bộ công việc.", "da-chuyen": "Đã chuyển công việc.",
           "da-cho-phep": "Đã cho phép tải dữ liệu.", "da-thu-hoi-quyen": "Đã thu hồi quyền tải dữ liệu."}
ZIP_NAME = "du-lieu-da-xu-ly.zip"


def open_work(g: Gateway, v: Viewer, user_id: str) -> dict[str, Any] | None:
    """The person's open work for the admin's user page; None when routing does not answer (the page still shows)."""
    try:
        return g.backends.call(v.actor, "routing", "open_work", user_id)
    except CongVanError:
        return None


def _page(request: Request, g: Gateway, v: Viewer, user_id: str) -> Response:
    v.actor.require("admin", "leader")
    person = g.accounts.user_in_agency(v.user.agency_id, user_id)
    work = g.backends.call(v.actor, "routing", "open_work", user_id)
    grant = g.backends.call(v.actor, "routing", "data_export_grant", user_id)
    people = People(g, v.user.agency_id)
    return render(request, "handover.html", v, person=person, work=work, grant=grant, people=people,
                  staff=people.active(exclude=user_id), KIND_LABELS=KIND_LABELS,
                  result=RESULTS.get(request.query_params.get("ket-qua", ""), ""))


def _back(user_id: str, result: str) -> RedirectResponse:
    return RedirectResponse(f"/ban-giao/{user_id}?ket-qua={result}", status_code=303)


def data_zip(g: Gateway, v: Viewer) -> bytes:
    """What the person handled: index.csv (one line per record), du-lieu.json (every record with its history)
    and the files of the drafts they took part in (each version, the signed one)."""
    data = g.backends.call(v.actor, "routing", "handled_data")
    store = blob_store(g.settings, v.user.agency_id)
    index = io.StringIO()
    rows = csv.writer(index)
    rows.writerow(["Loại", "Mã", "Trích yếu / tên", "Trạng thái", "Tệp"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for d in data["documents"]:
            rows.writerow(["Văn bản đến", d["incoming_id"], d["subject"], d.get("status_label", ""), ""])
        for d in data["drafts"]:
            files = []
            shas = [(f"phien-ban-{x['number']}", x["pdf_sha256"]) for x in d.get("versions") or []]
            shas += [("da-ky", d["signed_sha256"])] if d.get("signed_sha256") else []
            for label, sha in shas:
                name = f"du-thao/{d['draft_id']}-{label}.pdf"
                try:
                    archive.writestr(name, store.read(sha))
                except (OSError, KeyError, CongVanError):
                    continue  # a file gone from the store: the index still lists the draft
                files.append(name)
            rows.writerow(["Dự thảo", d["draft_id"], d["title"], d["status"], "; ".join(files)])
        for t in data["tasks"]:
            rows.writerow(["Công việc", t["task_id"], t["title"], t["status"], ""])
        archive.writestr("index.csv", "\ufeff" + index.getvalue())  # BOM: spreadsheet programs read UTF-8
        archive.writestr("du-lieu.json", json.dumps(data, ensure_ascii=False, indent=2))
    return buffer.getvalue()


def _zip_response(g: Gateway, v: Viewer) -> Response:
    return Response(data_zip(g, v), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{ZIP_NAME}"',
                             "Cache-Control": "private, no-store"})


def install(app: FastAPI) -> None:
    @app.get("/ban-giao", include_in_schema=False)
    def choose(nguoi: str = "", v: Viewer = Depends(viewer)):
        v.actor.require("admin", "leader")
        if not nguoi:
            raise ValidationFailed("Chọn cán bộ cần bàn giao, chuyển việc.", field="nguoi")
        return RedirectResponse(f"/ban-giao/{urllib.parse.quote(nguoi, safe='')}", status_code=303)

    @app.get("/ban-giao/{user_id}", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, user_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _page(request, g, v, user_id)

    @app.post("/ban-giao/{user_id}", include_in_schema=False)
    def hand_over(user_id: str, successor_id: str = Form(""), note: str = Form(""),
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        if not successor_id:
            raise ValidationFailed("Chọn người nhận bàn giao.", field="successor_id")
        g.accounts.user_in_agency(v.user.agency_id, user_id)
        g.backends.call(v.actor, "routing", "hand_over", user_id, successor_id, note)
        g.accounts.record_admin_event(v.user, user_id, "handover", successor=successor_id)
        return _back(user_id, "da-ban-giao")

    @app.post("/ban-giao/{user_id}/chuyen", include_in_schema=False)
    def move(user_id: str, kind: str = Form(...), item_id: str = Form(...), to_user_id: str = Form(""),
             reason: str = Form(""), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "move_item", kind, item_id, user_id, to_user_id, reason)
        return _back(user_id, "da-chuyen")

    @app.post("/ban-giao/{user_id}/tai-du-lieu", include_in_schema=False)
    def allow(user_id: str, allowed: str = Form("1"), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "allow_data_export", user_id, allowed == "1", "")
        return _back(user_id, "da-cho-phep" if allowed == "1" else "da-thu-hoi-quyen")

    @app.get("/tai-khoan/du-lieu", response_class=HTMLResponse, include_in_schema=False)
    def my_data(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        grant = g.backends.call(v.actor, "routing", "data_export_grant", None)
        return render(request, "handover_data.html", v, grant=grant, people=People(g, v.user.agency_id))

    @app.get(f"/tai-khoan/{ZIP_NAME}", include_in_schema=False)
    def my_data_zip(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _zip_response(g, v)

    app.include_router(router)


# -- REST ---------------------------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)], tags=["Điều hành"])
UserId = Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="A person's user id in this agency")


class HandoverRequest(BaseModel):
    successor_id: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=1000)


class MoveRequest(BaseModel):
    kind: str = Field(pattern="^(incoming|draft|task)$")
    item_id: str = Field(min_length=1, max_length=64, description="Incoming id, draft id or task id")
    from_user_id: str = Field(min_length=1, max_length=64)
    to_user_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)


class ExportRequest(BaseModel):
    allowed: bool = True


@router.get("/users/{user_id}/open-work", responses=NOT_FOUND, summary="Công việc đang xử lý của một người",
            description="Administrator or leader: assignments, documents to direct, drafts, pending reviews, "
                        "tasks and delegations still open in this person's name.")
def api_open_work(user_id: str = UserId, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    g.accounts.user_in_agency(v.user.agency_id, user_id)
    return g.backends.call(v.actor, "routing", "open_work", user_id)


@router.post("/users/{user_id}/handover", responses=NOT_FOUND, summary="Bàn giao toàn bộ công việc cho người khác",
             description="Administrator. Everything open moves in one step; each item's history says so. Sent again, "
                         "nothing is left to move.")
def api_hand_over(body: HandoverRequest, user_id: str = UserId, v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    g.accounts.user_in_agency(v.user.agency_id, user_id)
    result = g.backends.call(v.actor, "routing", "hand_over", user_id, body.successor_id, body.note)
    g.accounts.record_admin_event(v.user, user_id, "handover", successor=body.successor_id)
    return result


@router.post("/work/move", responses=NOT_FOUND, summary="Chuyển một công việc bị ách tắc cho người khác",
             description="Administrator or leader (TP.HCM Đ9): one document, draft or task.")
def api_move(body: MoveRequest, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "move_item", body.kind, body.item_id, body.from_user_id,
                           body.to_user_id, body.reason)


@router.post("/users/{user_id}/data-export", summary="Cho phép (hoặc thu hồi) việc tải dữ liệu đã xử lý",
             description="The head of the agency (a leader), Tuyên Quang Đ21.1c.")
def api_allow_export(body: ExportRequest, user_id: str = UserId, v: Viewer = Depends(csrf_checked),
                     g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "allow_data_export", user_id, body.allowed, "")


@router.get("/me/handled-data.zip", responses={**NOT_FOUND, 200: {"content": {"application/zip": {}}}},
            summary="Tải dữ liệu đã xử lý của tôi (ZIP có mục lục)", response_class=Response)
def api_my_data(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> Response:
    return _zip_response(g, v)
