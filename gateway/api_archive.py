"""REST API of the file plan, a dossier's own items and the agency archive, the same actions as the screens
(gateway/dossiers.py "Hồ sơ" and "Lưu trữ"; NĐ 30 Điều 28–31): the year's file plan (danh mục hồ sơ) drafted and
approved, a file that is not a registry document put into a dossier, the dossier's order, the archive's accept or
give back, and a closed dossier's export. The registry checks role and agency again; writes take an optional
Idempotency-Key (gateway/idempotency.py), except the upload (its body is a file).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, Security, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, bearer
from gateway.api_handling import STEP_ERRORS, operation_name
from gateway.api_work import TAG_DOSSIER, Dossier, DossierId
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.dossiers import EXPORT_PARTS, add_uploaded_item, export_part
from gateway.idempotency import KEY, once

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name)
TAG_ARCHIVE = "Lưu trữ"
PlanId = Path(pattern=DOC_ID, description="Mã danh mục hồ sơ (như trong GET /file-plans)")


class PlanHeading(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="Mã đề mục, ví dụ I, 1")
    title: str = Field(min_length=1, max_length=500)
    abbreviation: str = Field("", max_length=20, description="Chữ viết tắt của đề mục (dùng trong ký hiệu hồ sơ)")


class PlanItem(BaseModel):
    heading: str = Field(min_length=1, max_length=20, description="Mã đề mục chứa hồ sơ")
    file_notation: str = Field(min_length=1, max_length=30, description="Số và ký hiệu hồ sơ, ví dụ 01.TCCB")
    title: str = Field(min_length=1, max_length=500, description="Tên đề mục và tiêu đề hồ sơ")
    retention: str = Field(min_length=1, max_length=30, description="Thời hạn bảo quản: `vĩnh viễn` hoặc số năm")
    creator: str = Field("", max_length=200, description="Đơn vị, người lập hồ sơ")
    note: str = Field("", max_length=500)


class FilePlanRequest(BaseModel):
    year: int = Field(ge=2000, le=2100)
    headings: list[PlanHeading] = Field([], max_length=500)
    items: list[PlanItem] = Field(min_length=1, max_length=5000)

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "year": 2027, "headings": [{"code": "I", "title": "Tổng hợp", "abbreviation": "TH"}],
        "items": [{"heading": "I", "file_notation": "01.TH", "title": "Hồ sơ hội nghị tổng kết năm",
                   "retention": "10 năm", "creator": "Văn phòng", "note": ""}]}]})


class Approval(BaseModel):
    approval_doc: str = Field("", max_length=200, description="Số, ký hiệu, ngày của quyết định ban hành danh mục")


class Move(BaseModel):
    ordinal: int = Field(ge=1, le=100_000, description="Số thứ tự mới trong hồ sơ")


class GiveBack(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Lý do trả lại (hồ sơ thiếu, chưa đúng quy định)")


@router.get("/file-plans", response_model=dict[str, Any] | None, tags=[TAG_DOSSIER],
            summary="Danh mục hồ sơ của một năm", description="`null` khi năm đó chưa có danh mục.")
def file_plan(year: int = Query(ge=2000, le=2100), v: Viewer = Depends(viewer),
              g: Gateway = Depends(gw)) -> dict[str, Any] | None:
    return g.backends.call(v.actor, "registry", "get_file_plan", year)


@router.post("/file-plans", response_model=dict[str, Any], status_code=201, responses=STEP_ERRORS,
             tags=[TAG_DOSSIER], summary="Lập danh mục hồ sơ của năm",
             description="Văn thư hoặc quản trị (NĐ 30 Điều 28). Đề mục và hồ sơ như trên màn hình “Hồ sơ”.")
def file_plan_create(body: FilePlanRequest, response: Response, key: str | None = KEY,
                     v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"file_plan_create:{body.year}", body, lambda: g.backends.call(
        v.actor, "registry", "create_file_plan", body.year, [h.model_dump() for h in body.headings],
        [i.model_dump() for i in body.items]))


@router.post("/file-plans/{plan_id}/approve", response_model=dict[str, Any], responses=STEP_ERRORS,
             tags=[TAG_DOSSIER], summary="Phê duyệt danh mục hồ sơ", description="Lãnh đạo cơ quan.")
def file_plan_approve(body: Approval, response: Response, plan_id: str = PlanId, key: str | None = KEY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"file_plan_approve:{plan_id}", body, lambda: g.backends.call(
        v.actor, "registry", "approve_file_plan", plan_id, body.approval_doc))


@router.post("/dossiers/{dossier_id}/items", response_model=Dossier, status_code=201, responses=STEP_ERRORS,
             tags=[TAG_DOSSIER], summary="Đưa tài liệu không phải văn bản vào hồ sơ (tệp tải lên)",
             description="Bản dự thảo, ghi chép, tệp phim ảnh, ghi âm… Người lập hồ sơ, khi hồ sơ còn mở; tệp bị "
                         "từ chối thì không lưu gì.")
def dossier_add_item(dossier_id: str = DossierId, kind: Literal["draft", "note", "media"] = Form(...),
                     title: str = Form(min_length=1, max_length=500), item_date: str = Form("", max_length=20),
                     pages: int = Form(0, ge=0, le=100_000), file: UploadFile = File(...),
                     v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return add_uploaded_item(g, v, dossier_id, kind, title, item_date, pages, file)


@router.post("/dossiers/{dossier_id}/items/{item_id}/move", response_model=Dossier, responses=STEP_ERRORS,
             tags=[TAG_DOSSIER], summary="Sắp xếp: đưa văn bản, tài liệu đến số thứ tự mới trong hồ sơ")
def dossier_move_item(body: Move, response: Response, dossier_id: str = DossierId,
                      item_id: str = Path(pattern=DOC_ID), key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"dossier_move_item:{dossier_id}:{item_id}", body, lambda: g.backends.call(
        v.actor, "registry", "move_in_dossier", dossier_id, item_id, body.ordinal))


@router.get("/archive", response_model=dict[str, list[Dossier]], tags=[TAG_ARCHIVE],
            summary="Lưu trữ cơ quan: hồ sơ chờ tiếp nhận và đã lưu trữ")
def archive_lists(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return {"submitted": g.backends.call(v.actor, "registry", "list_dossiers", state="submitted"),
            "archived": g.backends.call(v.actor, "registry", "list_dossiers", state="archived")}


@router.post("/archive/{dossier_id}/accept", response_model=Dossier, responses=STEP_ERRORS, tags=[TAG_ARCHIVE],
             summary="Tiếp nhận hồ sơ nộp lưu", description="Người làm lưu trữ của cơ quan (NĐ 30 Điều 31).")
def archive_accept(response: Response, dossier_id: str = DossierId, key: str | None = KEY,
                   v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"archive_accept:{dossier_id}", None, lambda: g.backends.call(
        v.actor, "registry", "archive_decide", dossier_id, True))


@router.post("/archive/{dossier_id}/give-back", response_model=Dossier, responses=STEP_ERRORS, tags=[TAG_ARCHIVE],
             summary="Trả lại hồ sơ nộp lưu, kèm lý do")
def archive_give_back(body: GiveBack, response: Response, dossier_id: str = DossierId, key: str | None = KEY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"archive_give_back:{dossier_id}", body, lambda: g.backends.call(
        v.actor, "registry", "archive_decide", dossier_id, False, body.reason))


@router.get("/dossiers/{dossier_id}/export/{part}", response_class=StreamingResponse, responses={
    **NOT_FOUND, 200: {"content": {"application/pdf": {}, "application/xml": {}, "application/zip": {}},
                       "description": "hoso.pdf, METS.xml hoặc gói .zip của hồ sơ đã kết thúc"}},
    tags=[TAG_ARCHIVE], summary="Xuất hồ sơ đã kết thúc (PDF các văn bản, METS.xml, gói .zip)")
def dossier_export(dossier_id: str = DossierId, part: Literal[tuple(EXPORT_PARTS)] = Path(  # type: ignore[valid-type]
                       description="hoso.pdf, METS.xml hoặc goi.zip"),
                   v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> StreamingResponse:
    return export_part(g, v, dossier_id, part)
