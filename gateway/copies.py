"""Electronic copies (sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27; issue 18 item 7): the clerk copies a
registered incoming or an issued outgoing document from its page; the registry numbers the copy from the copies
register (Sổ bản sao: its own yearly series, notation `05/SY-UBND`) and signing seals the copy PDF with the copy
form at the top right of page 1, like an issue. The list of copies is the copies register's page. REST: POST
/api/v1/documents/{id}/copies, GET /api/v1/copies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Path, Request, Security, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.web import panel
from services.common import clock
from services.common.errors import CongVanError, ValidationFailed
from services.registry.copies import COPY_FORMS
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

FORM_LABELS = {"SY": "Sao y", "SL": "Sao lục", "TrS": "Trích sao"}


def copy_registers(g: Gateway, v: Viewer) -> list[dict[str, Any]]:
    return [r for r in g.backends.call(v.actor, "registry", "list_registers", year=clock.today_vn().year,
                                       direction="copies") if not r.get("closed")]


def make_copy(g: Gateway, v: Viewer, doc_id: str, form: str, register_id: str | None, pin: str | None,
              extract: UploadFile | None) -> dict[str, Any]:
    """Store the extract (trích sao) if any, then the registry numbers and signing seals the copy."""
    v.actor.require("clerk")
    if form not in COPY_FORMS:
        raise ValidationFailed("Hình thức sao không hợp lệ (sao y, sao lục, trích sao).", field="form")
    if not register_id:
        registers = copy_registers(g, v)
        if not registers:
            raise ValidationFailed("Chưa có sổ bản sao của năm nay; quản trị viên cần mở sổ.", field="register_id")
        register_id = registers[0]["id"]
    extract_sha = None
    if extract is not None and extract.filename:
        stored = ingest(blob_store(g.settings, v.user.agency_id), extract.file, extract.filename, purpose="to_sign",
                        max_size=g.settings.max_upload_mb * 1024 * 1024)
        g.backends.call(v.actor, "storage", "record_file", stored.sha256, stored.display_name, stored.content_type,
                        stored.size, "attachment", f"copy:{doc_id}")
        extract_sha = stored.sha256
    return g.backends.call(v.actor, "registry", "make_copy", doc_id, form, register_id, extract_sha,
                           pin=pin or None)


def _page(request: Request, g: Gateway, v: Viewer, doc_id: str, error: str | None = None,
          status_code: int = 200) -> Response:
    doc = g.backends.call(v.actor, "registry", "get_document", doc_id)
    return render(request, "copies_new.html", v, status_code=status_code, doc=doc, forms=FORM_LABELS,
                  registers=copy_registers(g, v), error=error)


def install(app: FastAPI) -> None:
    app.include_router(router)

    @app.get("/van-ban/{doc_id}/sao", response_class=HTMLResponse, include_in_schema=False)
    def copy_form(request: Request, doc_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        return _page(request, g, v, doc_id)

    @app.post("/van-ban/{doc_id}/sao", include_in_schema=False)
    def copy(request: Request, doc_id: str, form: str = Form(...), register_id: str = Form(""),
             pin: str = Form("", max_length=64), file: UploadFile | None = File(None),
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            made = make_copy(g, v, doc_id, form, register_id or None, pin, file)
        except CongVanError as exc:
            return _page(request, g, v, doc_id, exc.message_vi, exc.http_status)
        return RedirectResponse(f"/van-ban/{made['id']}?thong-bao=da-sao", status_code=303)

    @app.get("/van-ban-sao", response_class=HTMLResponse, include_in_schema=False)
    def copies_register(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v, panel=panel(g, v, "Sổ bản sao", "registry", "list_copies"))


def _api() -> APIRouter:
    from gateway import api as rest

    api = APIRouter(prefix="/api/v1", responses=rest.COMMON_ERRORS, dependencies=[Security(rest.bearer)],
                    tags=["Bản sao"])

    @api.post("/documents/{doc_id}/copies", response_model=rest.DocumentDetail, status_code=201,
              responses=rest.NOT_FOUND,
              summary="Sao y, sao lục, trích sao một văn bản (bản sao điện tử có số riêng, đóng dấu cơ quan)")
    def create_copy(doc_id: str = Path(pattern=rest.DOC_ID),
                    form: str = Form(..., pattern="^(SY|SL|TrS)$", description="SY sao y, SL sao lục, TrS trích sao"),
                    register_id: str | None = Form(None, max_length=64, description="A copies register of this year; "
                                                   "default: the first open one"),
                    pin: str | None = Form(None, max_length=64, description="The seal token's PIN, used once"),
                    file: UploadFile | None = File(None, description="Trích sao: the extract, one PDF"),
                    v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
        made = make_copy(g, v, doc_id, form, register_id, pin, file)
        return g.backends.call(v.actor, "registry", "get_document", made["id"])

    @api.get("/copies/{doc_id}", response_model=rest.DocumentDetail, responses=rest.NOT_FOUND,
             summary="Một bản sao: số, ký hiệu, tệp đã đóng dấu, văn bản được sao (links: copy_of)")
    def copy_detail(doc_id: str = Path(pattern=rest.DOC_ID), v: Viewer = Depends(viewer),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
        return rest._document(g, v, doc_id, "copies")

    @api.get("/copies", response_model=rest.Page[rest.DocumentSummary], summary="Sổ bản sao: các bản sao của cơ quan")
    def copies(page: int = rest.PageNo, size: int = rest.PageSize, v: Viewer = Depends(viewer),
               g: Gateway = Depends(gw)) -> dict:
        return g.backends.call(v.actor, "registry", "list_copies", page, size)

    return api


router = _api()
