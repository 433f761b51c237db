"""Dossiers (hồ sơ công việc) and the agency archive: the year's file plan, dossiers from open to archived, the
archive's inbox, and the export downloads. Every rule lives in the registry service; these pages only call it
and show its refusals (Vietnamese messages) next to the form that caused them."""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.dates import typed_day
from gateway.search import result_page
from services.common import clock
from services.common.errors import CongVanError, ValidationFailed
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

CHUNK = 256 * 1024
ITEM_KIND_LABELS = {"document": "Văn bản", "draft": "Dự thảo", "note": "Ghi chú, tài liệu làm việc",
                    "media": "Tư liệu (ảnh, ghi âm, phim)"}
NOTICES = {"da-mo": "Đã mở hồ sơ.", "da-them": "Đã thêm vào hồ sơ.", "da-bo": "Đã bỏ khỏi hồ sơ.",
           "da-sap-xep": "Đã sắp xếp lại; khi kết thúc, hồ sơ giữ thứ tự này.",
           "da-ket-thuc": "Đã kết thúc hồ sơ.", "da-nop": "Đã nộp lưu hồ sơ; chờ lưu trữ cơ quan tiếp nhận.",
           "da-lap-danh-muc": "Đã lập danh mục hồ sơ; chờ lãnh đạo phê duyệt.",
           "da-phe-duyet": "Đã phê duyệt danh mục hồ sơ.", "da-tiep-nhan": "Đã tiếp nhận hồ sơ vào lưu trữ.",
           "da-tra-lai": "Đã trả lại hồ sơ cho người lập kèm lý do."}


# --- pure: the file plan form ------------------------------------------------------------------------------

def parse_plan_lines(headings_text: str, items_text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Headings 'code | title | abbreviation' and items 'heading | notation | title | retention | creator | note',
    one a line (the plan is typed or pasted from the approved document)."""
    headings = []
    for n, line in _lines(headings_text):
        parts = _cells(line, 2, 3, n, "Đề mục")
        headings.append({"code": parts[0], "title": parts[1], "abbreviation": parts[2] if len(parts) > 2 else ""})
    items = []
    for n, line in _lines(items_text):
        parts = _cells(line, 4, 6, n, "Hồ sơ")
        items.append({"heading": parts[0], "file_notation": parts[1], "title": parts[2], "retention": parts[3],
                      "creator": parts[4] if len(parts) > 4 else "", "note": parts[5] if len(parts) > 5 else ""})
    if not items:
        raise ValidationFailed("Danh mục hồ sơ phải có ít nhất một hồ sơ.", code="missing_field", field="items")
    return headings, items


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]


def _cells(line: str, least: int, most: int, n: int, what: str) -> list[str]:
    parts = [p.strip() for p in line.split("|")]
    if not least <= len(parts) <= most or not all(parts[:least]):
        raise ValidationFailed(f"Dòng {n} của phần “{what}” không đúng mẫu (các cột cách nhau bởi dấu |).",
                               code="bad_plan_line", field="headings" if what == "Đề mục" else "items", line=n)
    return parts


def plan_tree(plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Headings in order, each with its items; items without a heading under a last, untitled group."""
    if not plan:
        return []
    groups = [{"heading": h, "items": [i for i in plan["items"] if i["heading_id"] == h["id"]]}
              for h in plan["headings"]]
    loose = [i for i in plan["items"] if not i["heading_id"]]
    return groups + ([{"heading": None, "items": loose}] if loose else [])


def can_keep(v: Viewer, dossier: dict[str, Any]) -> bool:
    """Mirrors the registry's rule only to hide buttons; the registry decides."""
    return v.actor.user_id == dossier.get("creator") or v.has("clerk", "admin")


# --- pages ---------------------------------------------------------------------------------------------------

def _year(value: str | None) -> int:
    try:
        return int(value) if value else clock.today_vn().year
    except ValueError:
        return clock.today_vn().year


def _dossiers_page(request: Request, g: Gateway, v: Viewer, year: int, error: str | None = None,
                   status_code: int = 200) -> Response:
    plan = g.backends.call(v.actor, "registry", "get_file_plan", year)
    dossiers = g.backends.call(v.actor, "registry", "list_dossiers", year=year)
    due = g.backends.call(v.actor, "registry", "dossiers_due")
    opened = {(d["file_code"]["file_notation"]) for d in dossiers}
    return render(request, "dossiers_list.html", v, status_code=status_code, year=year, plan=plan,
                  tree=plan_tree(plan), dossiers=dossiers, due=due, opened=opened, error=error,
                  today=clock.today_vn().isoformat(), notice=NOTICES.get(request.query_params.get("tb", ""), ""))


def _dossier_page(request: Request, g: Gateway, v: Viewer, dossier_id: str, error: str | None = None,
                  status_code: int = 200, form: dict[str, Any] | None = None) -> Response:
    dossier = g.backends.call(v.actor, "registry", "get_dossier", dossier_id)
    for item in dossier.get("items") or []:
        item["kind_label"] = ITEM_KIND_LABELS.get(item["kind"], item["kind"])
    query = request.query_params.get("tim", "").strip()
    found = None
    if query and dossier["state"] == "open":
        found = result_page(g, v, {"text": query}, 1, 20)
    return render(request, "dossiers_detail.html", v, status_code=status_code, dossier=dossier, error=error,
                  keeper=can_keep(v, dossier), query=query, found=found, form=form or {},
                  kinds=[(k, label) for k, label in ITEM_KIND_LABELS.items() if k != "document"],
                  notice=NOTICES.get(request.query_params.get("tb", ""), ""))


def _back(dossier_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/ho-so/{dossier_id}?tb={notice}", status_code=303)


def install(app: FastAPI) -> None:
    _install_plan(app)
    _install_dossier(app)
    _install_archive(app)


def _install_plan(app: FastAPI) -> None:
    @app.get("/ho-so", response_class=HTMLResponse, include_in_schema=False)
    def dossiers(request: Request, nam: str | None = None, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _dossiers_page(request, g, v, _year(nam))

    @app.post("/ho-so/danh-muc", include_in_schema=False)
    def create_plan(request: Request, year: int = Form(...), headings: str = Form(""), items: str = Form(""),
                    v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            parsed_headings, parsed_items = parse_plan_lines(headings, items)
            g.backends.call(v.actor, "registry", "create_file_plan", year, parsed_headings, parsed_items)
        except CongVanError as exc:
            return _dossiers_page(request, g, v, year, exc.message_vi, exc.http_status)
        return RedirectResponse(f"/ho-so?nam={year}&tb=da-lap-danh-muc", status_code=303)

    @app.post("/ho-so/danh-muc/{plan_id}/phe-duyet", include_in_schema=False)
    def approve_plan(request: Request, plan_id: str, year: int = Form(...), approval_doc: str = Form(""),
                     v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "approve_file_plan", plan_id, approval_doc)
        except CongVanError as exc:
            return _dossiers_page(request, g, v, year, exc.message_vi, exc.http_status)
        return RedirectResponse(f"/ho-so?nam={year}&tb=da-phe-duyet", status_code=303)

    @app.post("/ho-so/mo", include_in_schema=False)
    def open_dossier(request: Request, plan_item_id: str = Form(""), title: str = Form(""),
                     file_notation: str = Form(""), retention: str = Form(""), start_date: str = Form(""),
                     year: int | None = Form(None), description: str = Form(""),
                     v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            opened = g.backends.call(v.actor, "registry", "open_dossier", plan_item_id=plan_item_id or None,
                                     title=title or None, file_notation=file_notation or None,
                                     retention=retention or None, start_date=typed_day(start_date), year=year,
                                     description=description)
        except CongVanError as exc:
            return _dossiers_page(request, g, v, _year(str(year or "")), exc.message_vi, exc.http_status)
        return _back(opened["id"], "da-mo")


def _install_dossier(app: FastAPI) -> None:
    @app.get("/ho-so/them-van-ban", response_class=HTMLResponse, include_in_schema=False)
    def choose_dossier(request: Request, van_ban: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        """From a document's page: the open dossiers this person keeps, to add the document to one of them."""
        doc = g.backends.call(v.actor, "registry", "get_document", van_ban)
        open_ones = [d for d in g.backends.call(v.actor, "registry", "list_dossiers", state="open")
                     if can_keep(v, d)]
        return render(request, "dossiers_choose.html", v, doc=doc, dossiers=open_ones)

    @app.get("/ho-so/{dossier_id}", response_class=HTMLResponse, include_in_schema=False)
    def dossier_page(request: Request, dossier_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _dossier_page(request, g, v, dossier_id)

    @app.post("/ho-so/{dossier_id}/them", include_in_schema=False)
    def add_document(request: Request, dossier_id: str, document_id: str = Form(...),
                     v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "add_to_dossier", dossier_id, document_id)
        except CongVanError as exc:
            return _dossier_page(request, g, v, dossier_id, exc.message_vi, exc.http_status)
        return _back(dossier_id, "da-them")

    @app.post("/ho-so/{dossier_id}/tai-lieu", include_in_schema=False)
    def add_item(request: Request, dossier_id: str, kind: str = Form(...), title: str = Form(...),
                 item_date: str = Form(""), pages: int = Form(0), file: UploadFile = File(...),
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        """A working draft, a note or a media file that is not a registry document: stored, then referenced."""
        form = {"kind": kind, "title": title, "item_date": item_date, "pages": pages}
        try:
            add_uploaded_item(g, v, dossier_id, kind, title, item_date, pages, file)
        except CongVanError as exc:
            return _dossier_page(request, g, v, dossier_id, exc.message_vi, exc.http_status, form)
        return _back(dossier_id, "da-them")

    @app.post("/ho-so/{dossier_id}/bo/{item_id}", include_in_schema=False)
    def remove_item(request: Request, dossier_id: str, item_id: str, v: Viewer = Depends(csrf_checked),
                    g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "remove_from_dossier", dossier_id, item_id)
        except CongVanError as exc:
            return _dossier_page(request, g, v, dossier_id, exc.message_vi, exc.http_status)
        return _back(dossier_id, "da-bo")

    @app.post("/ho-so/{dossier_id}/sap-xep/{item_id}", include_in_schema=False)
    def move_item(request: Request, dossier_id: str, item_id: str, ordinal: int = Form(...),
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "move_in_dossier", dossier_id, item_id, ordinal)
        except CongVanError as exc:
            return _dossier_page(request, g, v, dossier_id, exc.message_vi, exc.http_status)
        return _back(dossier_id, "da-sap-xep")

    @app.post("/ho-so/{dossier_id}/ket-thuc", include_in_schema=False)
    def close(request: Request, dossier_id: str, title: str = Form(""), retention: str = Form(""),
              end_date: str = Form(""), remove_drafts: str = Form(""), v: Viewer = Depends(csrf_checked),
              g: Gateway = Depends(gw)):
        form = {"title": title, "retention": retention, "end_date": end_date, "remove_drafts": remove_drafts}
        try:
            g.backends.call(v.actor, "registry", "close_dossier", dossier_id, remove_drafts=bool(remove_drafts),
                            title=title or None, retention=retention or None, end_date=typed_day(end_date))
        except CongVanError as exc:
            return _dossier_page(request, g, v, dossier_id, exc.message_vi, exc.http_status, form)
        return _back(dossier_id, "da-ket-thuc")

    @app.post("/ho-so/{dossier_id}/nop-luu", include_in_schema=False)
    def submit(request: Request, dossier_id: str, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "submit_dossier", dossier_id)
        except CongVanError as exc:
            return _dossier_page(request, g, v, dossier_id, exc.message_vi, exc.http_status)
        return _back(dossier_id, "da-nop")


def _install_archive(app: FastAPI) -> None:
    @app.get("/luu-tru", response_class=HTMLResponse, include_in_schema=False)
    def archive(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _archive_page(request, g, v)

    @app.post("/luu-tru/{dossier_id}/tiep-nhan", include_in_schema=False)
    def accept(request: Request, dossier_id: str, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "archive_decide", dossier_id, True)
        except CongVanError as exc:
            return _archive_page(request, g, v, exc.message_vi, exc.http_status)
        return RedirectResponse("/luu-tru?tb=da-tiep-nhan", status_code=303)

    @app.post("/luu-tru/{dossier_id}/tra-lai", include_in_schema=False)
    def give_back(request: Request, dossier_id: str, reason: str = Form(""), v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)):
        try:
            g.backends.call(v.actor, "registry", "archive_decide", dossier_id, False, reason)
        except CongVanError as exc:
            return _archive_page(request, g, v, exc.message_vi, exc.http_status)
        return RedirectResponse("/luu-tru?tb=da-tra-lai", status_code=303)

    @app.get("/luu-tru/{dossier_id}/xuat/{part}", include_in_schema=False)
    def export(dossier_id: str, part: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        """hoso.pdf (every document in date order), METS.xml, or the whole package (.zip). The registry builds
        the export (only of a closed dossier) and leaves the bytes in the agency's blob store."""
        return export_part(g, v, dossier_id, part)


EXPORT_PARTS = {"hoso.pdf": ("pdf", "application/pdf"), "METS.xml": ("mets", "application/xml"),
                "goi.zip": ("zip", "application/zip")}


def export_part(g: Gateway, v: Viewer, dossier_id: str, part: str) -> StreamingResponse:
    """One part of a closed dossier's export, streamed from the agency's blob store (the screen and the API)."""
    if part not in EXPORT_PARTS:
        raise ValidationFailed("Không có phần xuất này.", code="bad_export_part", part=part)
    kind, media_type = EXPORT_PARTS[part]
    exported = g.backends.call(v.actor, "registry", "export_dossier", dossier_id)
    dossier = g.backends.call(v.actor, "registry", "get_dossier", dossier_id)
    name = f"{dossier['file_code_text']}-{part}"
    store = blob_store(g.settings, v.user.agency_id)

    def chunks():
        with store.open(exported["blobs"][kind]) as f:
            while block := f.read(CHUNK):
                yield block

    return StreamingResponse(chunks(), media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}",
        "Cache-Control": "private, no-store"})


def add_uploaded_item(g: Gateway, v: Viewer, dossier_id: str, kind: str, title: str, item_date: str, pages: int,
                      file: UploadFile) -> dict[str, Any]:
    """A working draft, a note or a media file that is not a registry document, stored then referenced (the screen
    and the API). Refused before anything is stored: a refused upload leaves no file and no record."""
    g.backends.call(v.actor, "registry", "check_dossier_item", dossier_id)
    store = blob_store(g.settings, v.user.agency_id)
    stored = ingest(store, file.file, file.filename or "tai-lieu.pdf", purpose="attachment",
                    max_size=g.settings.max_upload_mb * 1024 * 1024)
    g.backends.call(v.actor, "storage", "record_file", stored.sha256, stored.display_name, stored.content_type,
                    stored.size, "draft" if kind == "draft" else "attachment", f"dossier:{dossier_id}")
    return g.backends.call(v.actor, "registry", "add_item_to_dossier", dossier_id, kind, stored.sha256, title,
                           typed_day(item_date), pages, stored.content_type)


def _archive_page(request: Request, g: Gateway, v: Viewer, error: str | None = None,
                  status_code: int = 200) -> Response:
    inbox = g.backends.call(v.actor, "registry", "list_dossiers", state="submitted")
    archived = g.backends.call(v.actor, "registry", "list_dossiers", state="archived")
    return render(request, "dossiers_archive.html", v, status_code=status_code, inbox=inbox, archived=archived,
                  error=error, notice=NOTICES.get(request.query_params.get("tb", ""), ""))
