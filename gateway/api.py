"""REST API /api/v1 for other systems: token (or session) authentication, the same rules as the pages (the
acting user travels to the services, which check agency and role again), page-number pagination and RFC 9457
problem+json errors with the Vietnamese message as the title. Described in docs/api.md.
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from services.common.errors import NotFound
from services.registry.catalog import STATUS_LABELS

PROBLEM = "application/problem+json"
MAX_SIZE = 100
DOC_ID = r"^[A-Za-z0-9._:-]{1,64}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

T = TypeVar("T")


# -- models --------------------------------------------------------------------------------------------------

class Problem(BaseModel):
    """RFC 9457 problem details; `title` is the Vietnamese message to show people."""

    type: str = Field(description="URI of the problem kind, https://congvan.gov.vn/problems/<code>")
    title: str = Field(description="Thông báo lỗi bằng tiếng Việt")
    status: int
    code: str = Field(description="Machine code: unauthenticated, forbidden, not_found, validation_failed, ...")
    detail: str | None = None
    errors: Any = Field(None, description="Fields at fault, when the request was invalid")


class Page(BaseModel, Generic[T]):
    """One page of a list: `page` counts from 1, `size` is at most 100, `total` counts every matching item."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    size: int = Field(ge=1)


class Me(BaseModel):
    user_id: str
    username: str
    full_name: str
    agency_id: str
    agency_name: str
    unit: str | None
    roles: list[str]
    sign_in: str = Field("local", pattern="^(local|directory)$",
                         description="local: a password kept here; directory: the province's LDAP directory checks "
                                     "the password and gives the roles (docs/deployment.md)")


class TokenRequest(BaseModel):
    label: str = Field(min_length=1, max_length=100, description="What the token is for (shown to the admin)")


class TokenIssued(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown only once")
    label: str


class RegisterReopening(BaseModel):
    closed_at: str = Field(description="Lúc sổ đã khóa")
    closed_by: str = Field(description="Mã người đã khóa sổ")
    reopened_at: str = Field(description="Lúc mở lại sổ")
    reopened_by: str = Field(description="Mã người mở lại sổ")
    reason: str = Field(description="Lý do mở lại sổ")


class Register(BaseModel):
    id: str
    direction: str = Field(description="incoming | outgoing | copies")
    scope: str = Field(description="`all` or a document type code (NĐ 30 Phụ lục III)")
    year: int
    name: str
    next_number: int = Field(description="The number the next document registered in it will carry")
    label: str
    # documented since registers could be closed, but dropped by the model until the API could close one itself
    closed: bool = Field(False, description="Đã khóa sổ: không cấp thêm số (409 `register_closed`)")
    closed_at: str | None = Field(None, description="Lúc khóa sổ")
    reopenings: list[RegisterReopening] = Field([], description="Các lần sổ đã khóa rồi được mở lại (cũ trước)")


class YearTurn(BaseModel):
    """The register chosen was last year's (a form opened before midnight in Vietnam, sent after): the number came
    from its successor of the new year, the same agency, direction and scope."""

    from_register_id: str = Field(description="The register chosen (last year's)")
    from_register_name: str
    from_year: int
    register_id: str = Field(description="The register that numbered the document (the new year's)")
    register_name: str
    year: int


class DocumentSummary(BaseModel):
    """A document as listed in a register (incoming or outgoing)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="The document's id in this agency (use it in /incoming/{id}, /outgoing/{id})")
    direction: str
    state: str
    state_label: str | None = None
    document_id: str | None = Field(None, description="edXML DocumentId (the same at sender and recipients)")
    code_number: str | None = None
    code_notation: str | None = None
    number_and_notation: str | None = None
    type_code: str | None = None
    type_name: str | None = None
    copy_form: str | None = Field(None, description="SY sao y, SL sao lục, TrS trích sao when the document is an "
                                  "electronic copy; a received one is told by its notation (05/SY-UBND)")
    issued_date: str | None = None
    organ_id: str | None = None
    organ_name: str | None = None
    subject: str | None = None
    priority: int | None = Field(None, description="0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc")
    number: int | str | None = Field(None, description="Number in this agency's register")
    year: int | None = None
    register_id: str | None = Field(None, description="The register that numbered it (after midnight on 31 "
                                    "December, the successor of last year's register chosen: see `year_turn`)")
    year_turn: YearTurn | None = Field(None, description="Set when the register chosen was last year's and the "
                                       "number came from its successor of the new year")
    arrival_date: str | None = None
    registered_at: str | None = None
    due_date: str | None = None
    sender_organ_id: str | None = None
    sender_organ_name: str | None = None
    verification_state: str | None = None
    legally_valid: bool | None = None


class RecipientStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    organ_id: str
    organ_name: str | None = None
    channel: str | None = Field(None, description="interconnect (điện tử) | paper (bản giấy) | internal (nội bộ)")
    status_code: str | None = Field(None, description="01 đã đến … 06 hoàn thành; null: queued, not confirmed yet")
    status_label: str = ""
    description: str | None = None
    status_at: str | None = None
    recall_state: str | None = Field(None, description="after a recall, take back or update: requested | accepted | "
                                     "refused; a paper recipient (of a copy or an outgoing document): paper_pending "
                                     "(waits for the clerk's record) | paper_returned")
    returned_on: str | None = Field(None, description="a paper recipient: the day its paper came back")


class Attachment(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str
    role: str | None = None


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    at: str | None = None
    username: str | None = None
    action: str
    details: Any = None


class DocumentDetail(DocumentSummary):
    content: str | None = None
    signer: dict[str, Any] | None = None
    to_places: list[str] | None = None
    issued_amount: int | None = Field(None, description="Số lượng bản phát hành (column 7 of the outgoing register)")
    paper_signed: dict[str, Any] | None = Field(None, description="Signed by hand on paper, the scan forwarded for "
                                                "issue: approved_by(_name), approved_at, forwarded_by(_name), "
                                                "forwarded_at (Vietnam time), scan_check {score, matches, "
                                                "confirmed}: how the scan matched the approved version; "
                                                "appendix_scans, replaced_appendices: the appendices are that many "
                                                "scans of the paper appendices, instead of that many files of the "
                                                "approved version")
    trace: Any = None
    verification: Any = None
    attachments: list[Attachment] = []
    recipients: list[RecipientStatus] = []
    history: list[HistoryEntry] = []


class OutgoingStatuses(BaseModel):
    id: str
    document_id: str | None
    recipients: list[RecipientStatus]


class Draft(BaseModel):
    model_config = ConfigDict(extra="allow")

    draft_id: int
    title: str
    type_code: str | None = None
    priority: int | None = None
    status: str
    drafted_by: str | None = None
    unit: str | None = None
    version: int | None = None
    step: dict[str, Any] | None = Field(None, description="The review step the draft waits at")
    updated_at: str | None = None


class Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_id: int
    title: str
    description: str | None = None
    priority: int | None = None
    assignee: str | None = None
    unit: str | None = None
    due: str | None = None
    status: str
    progress: int | None = None
    due_state: str | None = Field(None, description="ok | due_soon | overdue")


# -- routes ---------------------------------------------------------------------------------------------------

def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM: {}}}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _problem("Chưa đăng nhập hoặc mã truy cập không hợp lệ"),
    403: _problem("Vai trò không được phép"),
    422: _problem("Tham số không hợp lệ"),
    503: _problem("Dịch vụ của cơ quan chưa sẵn sàng"),
}
NOT_FOUND = {404: _problem("Không tìm thấy (hoặc thuộc cơ quan khác)")}

# Documents the scheme; the token itself is checked by gateway.app.optional_viewer (a session cookie works too).
bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A token from POST /api/v1/tokens: `Authorization: Bearer cv_...`")
router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])

DESCRIPTION = """REST API of Công Văn for other systems of the agency (portals, reporting, one-stop shops).

* **Authentication**: `Authorization: Bearer <token>`; a token is issued by `POST /api/v1/tokens` from a signed-in
  session and acts as that person: the same agency, the same roles, the same rules as the screens.
* **Pagination**: `?page=1&size=20` (size at most 100); lists answer `{items, total, page, size}`.
* **Errors**: `application/problem+json` (RFC 9457); `title` is the Vietnamese message to show people, `code` a
  stable machine code. Another agency's document is answered 404, exactly like a missing one.
"""
TAGS = [
    {"name": "Tài khoản", "description": "The caller and its tokens"},
    {"name": "Sổ văn bản", "description": "Registers of the agency (NĐ 30/2020)"},
    {"name": "Văn bản đến", "description": "Incoming documents: register, waiting for reception, detail"},
    {"name": "Văn bản đi", "description": "Outgoing documents and their statuses at each recipient"},
    {"name": "Xử lý văn bản đến", "description": "Trình, bút phê và giao xử lý, chuyển, kết thúc (NĐ 30 Điều 22-24)"},
    {"name": "Dự thảo và công việc", "description": "The caller's drafts and tasks"},
    {"name": "Điều hành", "description": "Leaders acting on assigned work, progress of units, hand-over of work"},
    {"name": "Hồ sơ", "description": "Dossiers (hồ sơ công việc) that hold a document"},
    {"name": "Tra cứu", "description": "Tra cứu văn bản theo thuộc tính và nội dung"},
    {"name": "Lịch công tác", "description": "The leadership's weekly work schedule (Bình Định Đ3.1)"},
    {"name": "Quản trị", "description": "The agency's rules, per province and agency, with their legal sources"},
    {"name": "Thông báo nội bộ", "description": "Internal notices of the agency, with read receipts (/thong-bao)"},
    {"name": "Ủy quyền", "description": "A leader's delegation of assigning, supervising, approving, and of entering "
                                       "their paper decisions (/uy-quyen)"},
    {"name": "Nhập thay ý kiến lãnh đạo", "description": "A leader's paper directive, approval or return typed in by "
                                                         "the person they entrusted (TP.HCM QĐ 23 Điều 3.2, 3.3)"},
    {"name": "Nhắc việc", "description": "The caller's in-app reminders (/nhac-viec)"},
    {"name": "Báo lỗi", "description": "Problem reports and their handling, forms 1 and 2 (/bao-loi)"},
    {"name": "Nhóm nơi nhận", "description": "The agency's recipient groups, added at once when sending "
                                             "(/quan-tri/nhom-noi-nhan)"},
]

PageNo = Query(1, ge=1, le=100_000, description="Page number, from 1")
PageSize = Query(20, ge=1, le=MAX_SIZE, description=f"Items per page, 1 to {MAX_SIZE}")


def _clean(text: str | None) -> str | None:
    # Control characters never belong in a search; PostgreSQL refuses NUL outright.
    if text is None:
        return None
    return _CONTROL.sub("", text).strip() or None


def _slice(rows: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    start = (page - 1) * size
    return {"items": rows[start:start + size], "total": len(rows), "page": page, "size": size}


def _document(g: Gateway, v: Viewer, doc_id: str, direction: str) -> dict[str, Any]:
    doc = g.backends.call(v.actor, "registry", "get_document", doc_id)
    if doc.get("direction") != direction:
        raise NotFound("Không tìm thấy văn bản.", doc_id=doc_id)
    return labelled(doc)


def labelled(doc: dict[str, Any]) -> dict[str, Any]:
    """A document's record as the API shows it: each recipient's status with its label."""
    for r in doc.get("recipients") or []:
        r["status_label"] = STATUS_LABELS.get(r.get("status_code") or "", "")
    return doc


def _filters(year: int | None, text: str | None, priority: int | None, register_id: str | None) -> dict[str, Any]:
    filters = {"year": year, "text": _clean(text), "priority": priority, "register_id": _clean(register_id)}
    return {k: v for k, v in filters.items() if v is not None}


@router.get("/me", response_model=Me, tags=["Tài khoản"], summary="Người dùng hiện tại")
def me(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    u = v.user
    return {"user_id": u.id, "username": u.username, "full_name": u.full_name, "agency_id": u.agency_id,
            "agency_name": g.backends.name_of(u.agency_id), "unit": u.unit, "roles": list(u.roles),
            "sign_in": "directory" if g.accounts.is_directory_account(u.id) else "local"}


@router.post("/tokens", response_model=TokenIssued, status_code=201, tags=["Tài khoản"],
             summary="Cấp mã truy cập cho hệ thống khác",
             description="The token acts as the signed-in user (same agency, same roles). From a browser session "
                         "the `X-CSRF-Token` header is required.")
def issue_token(body: TokenRequest, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, str]:
    label = _clean(body.label) or "api"
    return {"token": g.accounts.issue_api_token(v.user.id, label[:100]), "label": label[:100]}


@router.get("/registers", response_model=list[Register], tags=["Sổ văn bản"], summary="Sổ văn bản của cơ quan")
def registers(year: int | None = Query(None, ge=2000, le=2100),
              direction: str | None = Query(None, pattern="^(incoming|outgoing|copies)$"),
              v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return g.backends.call(v.actor, "registry", "list_registers", year=year, direction=direction)


@router.get("/incoming", response_model=Page[DocumentSummary], tags=["Văn bản đến"],
            summary="Sổ văn bản đến", description="Registered incoming documents, urgent first.")
def incoming(page: int = PageNo, size: int = PageSize, year: int | None = Query(None, ge=2000, le=2100),
             text: str | None = Query(None, max_length=200, description="Words of the subject (trích yếu)"),
             priority: int | None = Query(None, ge=0, le=3), register_id: str | None = Query(None, max_length=64),
             v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "list_incoming", _filters(year, text, priority, register_id),
                           page, size)


@router.get("/incoming/waiting-reception", response_model=Page[DocumentSummary], tags=["Văn bản đến"],
            summary="Văn bản đến chờ tiếp nhận", description="Clerk, leader or admin; urgent first.")
def waiting_reception(page: int = PageNo, size: int = PageSize, v: Viewer = Depends(viewer),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
    """Each item carries its clock (gateway/reception.py): `reception_due` (Vietnam time), `reception_minutes_left`
    (working minutes; negative once overdue), `reception_overdue`, `reception_state` (on_time, due_soon,
    overdue) and `reception_limit_hours`, the agency's limit counted from `received_at` (arrival)."""
    from gateway.reception import with_reception_clock

    found = g.backends.call(v.actor, "registry", "list_waiting_reception", page, size)
    with_reception_clock(g, v, found.get("items") or [])
    return found


@router.get("/incoming/{doc_id}", response_model=DocumentDetail, responses=NOT_FOUND, tags=["Văn bản đến"],
            summary="Chi tiết văn bản đến")
def incoming_detail(doc_id: str = Path(pattern=DOC_ID), v: Viewer = Depends(viewer),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _document(g, v, doc_id, "incoming")


@router.get("/outgoing", response_model=Page[DocumentSummary], tags=["Văn bản đi"], summary="Sổ văn bản đi")
def outgoing(page: int = PageNo, size: int = PageSize, year: int | None = Query(None, ge=2000, le=2100),
             text: str | None = Query(None, max_length=200, description="Words of the subject (trích yếu)"),
             priority: int | None = Query(None, ge=0, le=3), register_id: str | None = Query(None, max_length=64),
             v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "list_outgoing", _filters(year, text, priority, register_id),
                           page, size)


@router.get("/outgoing/waiting-issue", response_model=Page[DocumentSummary], tags=["Văn bản đi"],
            summary="Văn bản đi chờ ban hành")
def waiting_issue(page: int = PageNo, size: int = PageSize, v: Viewer = Depends(viewer),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "list_waiting_issue", page, size)


@router.get("/outgoing/{doc_id}", response_model=DocumentDetail, responses=NOT_FOUND, tags=["Văn bản đi"],
            summary="Chi tiết văn bản đi")
def outgoing_detail(doc_id: str = Path(pattern=DOC_ID), v: Viewer = Depends(viewer),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _document(g, v, doc_id, "outgoing")


@router.get("/outgoing/{doc_id}/statuses", response_model=OutgoingStatuses, responses=NOT_FOUND,
            tags=["Văn bản đi"], summary="Trạng thái xử lý tại từng nơi nhận",
            description="One entry per recipient with the last status it sent back (01 đã đến, 02 từ chối, "
                        "03 đã tiếp nhận, 04 phân công, 05 đang xử lý, 06 hoàn thành, 13/15/16 lấy lại).")
def outgoing_statuses(doc_id: str = Path(pattern=DOC_ID), v: Viewer = Depends(viewer),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
    doc = _document(g, v, doc_id, "outgoing")
    return {"id": doc["id"], "document_id": doc.get("document_id"), "recipients": doc.get("recipients") or []}


@router.get("/drafts", response_model=Page[Draft], tags=["Dự thảo và công việc"], summary="Dự thảo của tôi",
            description="Drafts the user takes part in and drafts waiting at a review step the user may act on.")
def drafts(page: int = PageNo, size: int = PageSize, v: Viewer = Depends(viewer),
           g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _slice(g.backends.call(v.actor, "routing", "list_drafts"), page, size)


@router.get("/tasks", response_model=Page[Task], tags=["Dự thảo và công việc"], summary="Công việc của tôi")
def tasks(page: int = PageNo, size: int = PageSize, include_closed: bool = False, v: Viewer = Depends(viewer),
          g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _slice(g.backends.call(v.actor, "routing", "list_tasks", include_closed), page, size)


def _problem_media_types(app: FastAPI) -> None:
    """FastAPI documents a response model as application/json; errors are served as application/problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content") or {}
                    if PROBLEM in content:
                        response["content"] = {PROBLEM: content.get("application/json") or content[PROBLEM]}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    app.description = DESCRIPTION
    app.openapi_tags = TAGS
    from gateway import api_clerk  # its routes reuse this module's models and helpers

    app.include_router(router)
    app.include_router(api_clerk.router)
    from gateway import (
        api_accounts,
        api_admin,
        api_archive,
        api_drafting,
        api_entry,
        api_handling,
        api_notices,
        api_office,
        api_password_reset,
        api_problems,
        api_recipient_groups,
        api_reports,
        api_work,
        idempotency,
        recipient_picker,
    )

    app.include_router(api_office.router)
    idempotency.install(app.state.gateway)
    # issue 18: every write of the screens
    for module in (api_handling, api_drafting, api_entry, api_work, api_archive, api_notices, api_accounts, api_admin,
                   api_problems, api_password_reset, api_recipient_groups, api_reports, recipient_picker):
        app.include_router(module.router)
    _problem_media_types(app)
