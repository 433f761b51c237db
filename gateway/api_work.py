"""REST API of the work around documents, the same actions as the screens: tasks (gateway/work.py "Công việc"),
dossiers (gateway/dossiers.py "Hồ sơ": open, add and remove documents, close, submit to the agency archive — NĐ 30
Điều 28-31) and search (gateway/search.py "Tra cứu"). Routing and the registry check role and agency again;
writes take an optional Idempotency-Key (gateway/idempotency.py).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, Security
from pydantic import BaseModel, ConfigDict, Field

from gateway import work
from gateway.api import COMMON_ERRORS, DOC_ID, MAX_SIZE, NOT_FOUND, DocumentSummary, Task, _clean, bearer
from gateway.api_handling import STEP_ERRORS, operation_name
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.dates import typed_day
from gateway.handling import LINK_KINDS
from gateway.idempotency import KEY, once, service_key
from gateway.search import filters_of

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name)
TaskId = Path(ge=1, lt=2**31, description="Số công việc trong cơ quan", examples=[7])
DossierId = Path(pattern=DOC_ID, description="Mã hồ sơ (như trong GET /dossiers)")
TAG_TASK, TAG_DOSSIER = "Dự thảo và công việc", "Hồ sơ"


# -- tasks -------------------------------------------------------------------------------------------------------------

class TaskDetail(Task):
    members: list[dict[str, Any]] = Field([], description="Người giao, người thực hiện, người phối hợp")
    comments: list[dict[str, Any]] = Field([], description="Ý kiến, cập nhật tiến độ, kết thúc")
    links: list[dict[str, Any]] = Field([], description="Văn bản, dự thảo, hồ sơ liên quan")


class TaskRequest(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    assignee: str | None = Field(None, max_length=64, description="Người thực hiện (GET /staff); mặc định: người tạo")
    description: str = Field("", max_length=4000)
    coordinators: list[str] = Field([], max_length=50, description="Người phối hợp")
    due: str | None = Field(None, max_length=20, description="Hạn hoàn thành, YYYY-MM-DD (giờ Việt Nam); "
                     "ngày đã qua: 422 deadline_past")
    priority: int = Field(0, ge=0, le=3, description="0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc")
    link_kind: Literal[tuple(LINK_KINDS)] | None = Field(  # type: ignore[valid-type]
        None, description="Loại của việc gốc: " + ", ".join(LINK_KINDS))
    link_id: str = Field("", max_length=64, description="Mã của việc gốc (văn bản đến, dự thảo…)")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "Tổng hợp báo cáo quý IV", "assignee": None, "description": "", "coordinators": [],
         "due": "2026-12-25", "priority": 0, "link_kind": None, "link_id": ""}]})


class TaskText(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="Nội dung ý kiến")


class ProgressRequest(BaseModel):
    progress: int = Field(ge=0, le=100, description="Phần trăm hoàn thành")
    note: str = Field("", max_length=2000)


class CloseTask(BaseModel):
    note: str = Field("", max_length=2000, description="Kết quả")


def _task(g: Gateway, v: Viewer, done: dict[str, Any]) -> dict[str, Any]:
    """After an action: the whole task (members, comments, links), as GET /tasks/{id} answers it."""
    return g.backends.call(v.actor, "routing", "get_task", done["task_id"])


@router.post("/tasks", response_model=TaskDetail, status_code=201, responses=STEP_ERRORS, tags=[TAG_TASK],
             summary="Giao việc (tạo công việc)")
def task_create(body: TaskRequest, response: Response, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, "task_create", body, lambda: _task(g, v, work.new_task(
        g, v, body.title, body.assignee, body.description, body.coordinators, typed_day(body.due), body.priority,
        body.link_kind or "", body.link_id)))


@router.get("/tasks/{task_id}", response_model=TaskDetail, responses=NOT_FOUND, tags=[TAG_TASK],
            summary="Một công việc: người tham gia, ý kiến, tiến độ")
def task_detail(task_id: int = TaskId, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "routing", "get_task", task_id)


@router.post("/tasks/{task_id}/comments", response_model=TaskDetail, responses=STEP_ERRORS, tags=[TAG_TASK],
             summary="Gửi ý kiến về công việc",
             description="Cùng Idempotency-Key: ý kiến được ghi một lần, kể cả khi yêu cầu đến dịch vụ hai lần.")
def task_comment(body: TaskText, response: Response, task_id: int = TaskId, key: str | None = KEY,
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"task_comment:{task_id}", body,
                lambda: _task(g, v, work.comment_task(g, v, task_id, body.text, service_key(v, key))))


@router.post("/tasks/{task_id}/progress", response_model=TaskDetail, responses=STEP_ERRORS, tags=[TAG_TASK],
             summary="Cập nhật tiến độ công việc", description="Người thực hiện.")
def task_progress(body: ProgressRequest, response: Response, task_id: int = TaskId, key: str | None = KEY,
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"task_progress:{task_id}", body, lambda: _task(g, v, g.backends.call(
        v.actor, "routing", "task_progress", task_id, body.progress, body.note)))


@router.post("/tasks/{task_id}/close", response_model=TaskDetail, responses=STEP_ERRORS, tags=[TAG_TASK],
             summary="Kết thúc công việc", description="Người giao hoặc người thực hiện.")
def task_close(body: CloseTask, response: Response, task_id: int = TaskId, key: str | None = KEY,
               v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"task_close:{task_id}", body,
                lambda: _task(g, v, g.backends.call(v.actor, "routing", "close_task", task_id, body.note)))


# -- dossiers ----------------------------------------------------------------------------------------------------------

class Dossier(BaseModel):
    """A dossier (hồ sơ), its fields as NĐ 30 Phụ lục V names them; `items` only in the detail."""

    model_config = ConfigDict(extra="allow")

    id: str
    file_code_text: str = Field(description="Mã hồ sơ: mã cơ quan.năm.số và ký hiệu hồ sơ")
    title: str
    retention: str | None = None
    retention_label: str | None = None
    state: str = Field(description="open | closed | submitted | archived")
    state_label: str | None = None
    creator: str | None = None
    creator_name: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    doc_total: int | None = None
    page_total: int | None = None
    items: list[dict[str, Any]] | None = Field(None, description="Văn bản, tài liệu trong hồ sơ (id, ordinal, kind, "
                                                                 "document_pk, title, item_date, pages)")


class OpenDossier(BaseModel):
    plan_item_id: str | None = Field(None, max_length=64, description="Mục trong danh mục hồ sơ đã phê duyệt; khi "
                                     "có, tên, ký hiệu và thời hạn bảo quản lấy từ danh mục")
    title: str | None = Field(None, max_length=500)
    file_notation: str | None = Field(None, max_length=30, description="Số và ký hiệu hồ sơ, ví dụ 01.TCCB")
    retention: str | None = Field(None, max_length=30, description="Thời hạn bảo quản: `vĩnh viễn` hoặc số năm")
    start_date: str | None = Field(None, max_length=20, description="YYYY-MM-DD")
    year: int | None = Field(None, ge=2000, le=2100)
    description: str = Field("", max_length=2000)

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "Hồ sơ tổ chức hội nghị tổng kết năm", "file_notation": "05.VP", "retention": "10 năm"}]})


class AddDocument(BaseModel):
    document_id: str = Field(pattern=DOC_ID, description="Mã văn bản đến hoặc đi (như ở /incoming/{id})")


class CloseDossier(BaseModel):
    title: str | None = Field(None, max_length=500, description="Tên hồ sơ sửa lần cuối khi kết thúc")
    retention: str | None = Field(None, max_length=30)
    end_date: str | None = Field(None, max_length=20, description="YYYY-MM-DD; mặc định hôm nay")
    remove_drafts: bool = Field(False, description="Loại bỏ các bản dự thảo, tài liệu trùng khỏi hồ sơ")


@router.get("/dossiers", response_model=list[Dossier], tags=[TAG_DOSSIER], summary="Hồ sơ công việc của cơ quan")
def dossier_list(year: int | None = Query(None, ge=2000, le=2100),
                 state: Literal["open", "closed", "submitted", "archived"] | None = None,
                 mine: bool = Query(False, description="Chỉ hồ sơ do tôi lập"), v: Viewer = Depends(viewer),
                 g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "registry", "list_dossiers", state, year, mine)


@router.post("/dossiers", response_model=Dossier, status_code=201, responses=STEP_ERRORS, tags=[TAG_DOSSIER],
             summary="Mở hồ sơ (từ danh mục hồ sơ hoặc ngoài danh mục)")
def dossier_open(body: OpenDossier, response: Response, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                 g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, "dossier_open", body, lambda: g.backends.call(
        v.actor, "registry", "open_dossier", plan_item_id=body.plan_item_id or None, title=body.title or None,
        file_notation=body.file_notation or None, retention=body.retention or None,
        start_date=typed_day(body.start_date), year=body.year, description=body.description))


@router.get("/dossiers/{dossier_id}", response_model=Dossier, responses=NOT_FOUND, tags=[TAG_DOSSIER],
            summary="Một hồ sơ và các văn bản trong hồ sơ")
def dossier_detail(dossier_id: str = DossierId, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict:
    return g.backends.call(v.actor, "registry", "get_dossier", dossier_id)


@router.post("/dossiers/{dossier_id}/documents", response_model=Dossier, responses=STEP_ERRORS, tags=[TAG_DOSSIER],
             summary="Đưa văn bản vào hồ sơ")
def dossier_add_document(body: AddDocument, response: Response, dossier_id: str = DossierId, key: str | None = KEY,
                         v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"dossier_add_document:{dossier_id}", body, lambda: g.backends.call(
        v.actor, "registry", "add_to_dossier", dossier_id, body.document_id))


@router.delete("/dossiers/{dossier_id}/items/{item_id}", response_model=Dossier, responses=STEP_ERRORS,
               tags=[TAG_DOSSIER], summary="Bỏ văn bản, tài liệu khỏi hồ sơ",
               description="Chỉ khi hồ sơ còn mở. Gọi lại khi đã bỏ: 404.")
def dossier_remove_item(dossier_id: str = DossierId, item_id: str = Path(pattern=DOC_ID),
                        v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "remove_from_dossier", dossier_id, item_id)


@router.post("/dossiers/{dossier_id}/close", response_model=Dossier, responses=STEP_ERRORS, tags=[TAG_DOSSIER],
             summary="Kết thúc hồ sơ")
def dossier_close(body: CloseDossier, response: Response, dossier_id: str = DossierId, key: str | None = KEY,
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"dossier_close:{dossier_id}", body, lambda: g.backends.call(
        v.actor, "registry", "close_dossier", dossier_id, remove_drafts=body.remove_drafts, title=body.title or None,
        retention=body.retention or None, end_date=typed_day(body.end_date)))


@router.post("/dossiers/{dossier_id}/submit", response_model=Dossier, responses=STEP_ERRORS, tags=[TAG_DOSSIER],
             summary="Nộp hồ sơ đã kết thúc vào lưu trữ cơ quan")
def dossier_submit(response: Response, dossier_id: str = DossierId, key: str | None = KEY,
                   v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return once(g, v, key, response, f"dossier_submit:{dossier_id}", None,
                lambda: g.backends.call(v.actor, "registry", "submit_dossier", dossier_id))


# -- search ------------------------------------------------------------------------------------------------------------

class SearchPage(BaseModel):
    items: list[DocumentSummary]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    size: int = Field(ge=1)
    total_capped: bool = Field(False, description="Có nhiều kết quả hơn `total`: hãy thu hẹp điều kiện")


@router.get("/search", response_model=SearchPage, tags=["Tra cứu"], summary="Tra cứu văn bản",
            description="Theo thuộc tính và theo nội dung; chỉ văn bản người gọi được xem.")
def search(text: str | None = Query(None, max_length=200, description="Từ trong trích yếu hoặc nội dung"),
           number: str | None = Query(None, max_length=20), notation: str | None = Query(None, max_length=50),
           issuer: str | None = Query(None, max_length=200, description="Cơ quan ban hành"),
           date_from: str | None = Query(None, max_length=20, description="Từ ngày, YYYY-MM-DD"),
           date_to: str | None = Query(None, max_length=20, description="Đến ngày, YYYY-MM-DD"),
           type_code: str | None = Query(None, max_length=10), signer: str | None = Query(None, max_length=100),
           priority: int | None = Query(None, ge=0, le=3), state: str | None = Query(None, max_length=40),
           register_id: str | None = Query(None, max_length=64),
           direction: Literal["incoming", "outgoing"] | None = None,
           handler: str | None = Query(None, max_length=64, description="Người xử lý (user id)"),
           page: int = Query(1, ge=1, le=100_000), size: int = Query(20, ge=1, le=MAX_SIZE),
           v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    given = {"text": text, "number": number, "notation": notation, "issuer": issuer, "date_from": date_from,
             "date_to": date_to, "type_code": type_code, "signer": signer, "priority": priority, "state": state,
             "register_id": register_id, "direction": direction, "handler": handler}
    filters = filters_of({k: _clean(str(value)) or "" for k, value in given.items() if value is not None})
    return g.backends.call(v.actor, "registry", "search_documents", filters, page, size)
