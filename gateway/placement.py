"""Where the number, date, signature and seal go (issue 20 item 4): a preview of the draft's pages with the boxes
signing read from the document's text, and moving a box (screen /du-thao/<id>/vi-tri-ky and REST
/api/v1/drafts/<id>/placement). A move makes a new version of the draft (the author's, while it may still change);
after the leader signed the boxes are shown but fixed, since moving one would break the signature."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Request, Security
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from gateway.api import COMMON_ERRORS, NOT_FOUND, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from services.common.errors import CongVanError, ValidationFailed
from services.storage.blobs import blob_store

LABELS = {"so_van_ban": "Số, ký hiệu (ô 2)", "ngay_ban_hanh": "Địa danh, ngày tháng (ô 4)",
          "LanhDao": "Chữ ký của người có thẩm quyền (ô 7c)", "DauCoQuan": "Chữ ký số của cơ quan, con dấu (ô 8)"}
MOVE_NOTE = "Điều chỉnh vị trí số, ngày, chữ ký, con dấu"
router = APIRouter(prefix="/api/v1", responses={**COMMON_ERRORS, **NOT_FOUND}, dependencies=[Security(bearer)])


def _current(g: Gateway, v: Viewer, draft_id: int) -> tuple[dict[str, Any], str]:
    view = g.backends.call(v.actor, "routing", "get_draft", draft_id)  # routing decides who may see
    return view, str(view.get("signed_sha256") or view["pdf_sha256"])


def boxes(g: Gateway, v: Viewer, draft_id: int) -> dict[str, Any]:
    view, sha = _current(g, v, draft_id)
    found = g.backends.call(v.actor, "signing", "placement", sha)
    pages = found["pages"]
    for name, box in found["fields"].items():
        w, h = pages[box["page"]]["width"], pages[box["page"]]["height"]
        x1, y1, x2, y2 = box["rect"]
        box["label"] = LABELS.get(name, name)
        # Percent of the page, drawn as an SVG rectangle over the page image (no inline style: the CSP forbids it)
        box["svg"] = {"x": f"{x1 / w * 100:.2f}", "y": f"{(h - y2) / h * 100:.2f}",
                      "width": f"{(x2 - x1) / w * 100:.2f}", "height": f"{(y2 - y1) / h * 100:.2f}"}
    movable = bool(found.get("movable")) and view.get("drafted_by") == v.user.id and \
        view.get("status") in ("drafting", "returned", "in_review")
    return {"draft_id": draft_id, "pdf_sha256": sha, **found, "movable": movable}


def move(g: Gateway, v: Viewer, draft_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    view, sha = _current(g, v, draft_id)
    g.backends.call(v.actor, "routing", "check_draft_version", draft_id)  # the author, while it may change
    spec = {}
    for name, value in fields.items():
        if name not in LABELS:
            raise ValidationFailed("Ô không có trong văn bản.", field=name)
        rect = value.get("rect") if isinstance(value, dict) else None
        spec[name] = {"rect": rect}
    moved = g.backends.call(v.actor, "signing", "move_fields", sha, spec)
    store = blob_store(g.settings, v.user.agency_id)
    g.backends.call(v.actor, "storage", "record_file", moved["sha256"], f"du-thao-{draft_id}.pdf", "application/pdf",
                    store.stat(moved["sha256"]).size, "draft", f"draft:{draft_id}")
    g.backends.call(v.actor, "routing", "add_draft_version", draft_id, moved["sha256"],
                    list(view.get("appendix_sha256s") or []), MOVE_NOTE)
    return boxes(g, v, draft_id)


def _form_fields(form: Any) -> dict[str, Any]:
    out = {}
    for name in LABELS:
        values = [form.get(f"{name}_{k}") for k in ("x1", "y1", "x2", "y2")]
        if all(values):
            try:
                out[name] = {"rect": [float(str(x).replace(",", ".")) for x in values]}
            except ValueError:
                raise ValidationFailed("Tọa độ phải là số (điểm, tính từ góc dưới bên trái trang).",
                                       field=name) from None
    return out


@router.get("/drafts/{draft_id}/placement", tags=["Dự thảo và công việc"],
            summary="Vị trí số, ngày, chữ ký, con dấu",
            description="The boxes of the current version (page, rect [x1, y1, x2, y2] in PDF points from the "
                        "bottom-left corner), read from the document's own text; `movable` while nobody signed.")
def api_boxes(draft_id: int = Path(ge=1), v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return boxes(g, v, draft_id)


@router.put("/drafts/{draft_id}/placement", tags=["Dự thảo và công việc"], summary="Di chuyển ô",
            description='Move boxes: {"fields": {"LanhDao": {"rect": [x1, y1, x2, y2]}}}; the seal follows a moved '
                        "signature. Makes a new version of the draft; refused once it is signed.")
def api_move(draft_id: int = Path(ge=1), body: dict[str, Any] = Body(...), v: Viewer = Depends(csrf_checked),
             g: Gateway = Depends(gw)) -> dict[str, Any]:
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict) or not fields:
        raise ValidationFailed("Cần “fields”: các ô cần di chuyển.", field="fields")
    return move(g, v, draft_id, fields)


def install(app: FastAPI) -> None:
    app.include_router(router)

    @app.get("/du-thao/{draft_id}/vi-tri-ky", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, draft_id: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _page(request, g, v, draft_id)

    @app.post("/du-thao/{draft_id}/vi-tri-ky", include_in_schema=False)
    async def submit(request: Request, draft_id: int, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        form = await request.form()
        try:
            move(g, v, draft_id, _form_fields(form))
        except CongVanError as exc:
            return _page(request, g, v, draft_id, exc.message_vi, exc.http_status)
        return RedirectResponse(f"/du-thao/{draft_id}/vi-tri-ky?tb=da-di-chuyen", status_code=303)

    @app.get("/du-thao/{draft_id}/vi-tri-ky/trang/{page_no}", include_in_schema=False)
    def page_image(draft_id: int, page_no: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        _view, sha = _current(g, v, draft_id)
        png = g.backends.call(v.actor, "signing", "page_image", sha, page_no)["sha256"]
        store = blob_store(g.settings, v.user.agency_id)
        data = store.read(png)
        return StreamingResponse(iter([data]), media_type="image/png", headers={"Cache-Control": "private, no-store"})


def _page(request: Request, g: Gateway, v: Viewer, draft_id: int, error: str | None = None,
          status_code: int = 200) -> Response:
    found = boxes(g, v, draft_id)
    by_page: dict[int, list[tuple[str, dict]]] = {}
    for name, box in found["fields"].items():
        by_page.setdefault(box["page"], []).append((name, box))
    notice = "Đã di chuyển; dự thảo có phiên bản mới." if request.query_params.get("tb") == "da-di-chuyen" else None
    return render(request, "drafting_placement.html", v, status_code=status_code, found=found, by_page=by_page,
                  error=error, notice=notice, draft_id=draft_id)
