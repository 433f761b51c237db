"""Every refusal answered in Vietnamese: a page for the screens, RFC 9457 problem+json under /api/.

The framework's own refusals (a form field or query parameter that does not parse, a malformed id in the address, an
unknown address, a method the address does not take, an unexpected failure) would otherwise reach people as
FastAPI's English JSON (`{"detail": [{"type": "missing", ...}]}`). Here each becomes the same answer as a refusal
of the services: the Vietnamese message people read, the precise reason in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.errors import CongVanError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

# The names of the forms' fields and the query parameters as people know them (the labels on the screens).
FIELD_LABELS = {
    "answers": "Văn bản được trả lời", "approval_doc": "Văn bản phê duyệt", "assignee": "Người thực hiện",
    "body": "Nội dung", "cause": "Nguyên nhân", "code": "Mã", "code_notation": "Ký hiệu", "code_number": "Số",
    "comment": "Ý kiến", "confirm_password": "Nhập lại mật khẩu mới", "coordinators": "Người phối hợp",
    "deadline": "Hạn xử lý", "delegate_user_id": "Người được ủy quyền", "description": "Mô tả",
    "direction": "Loại sổ", "directive": "Ý kiến chỉ đạo", "document_id": "Văn bản", "due": "Hạn hoàn thành",
    "email": "Thư điện tử", "end_date": "Ngày kết thúc", "ends_at": "Đến ngày", "file": "Tệp",
    "file_notation": "Số và ký hiệu hồ sơ", "full_name": "Họ tên", "function": "Chức năng",
    "function_other": "Chức năng khác", "headings": "Đề mục", "item_date": "Ngày", "items": "Hồ sơ",
    "kind": "Loại", "label": "Dùng cho", "link_id": "Văn bản liên quan", "link_kind": "Loại liên kết",
    "main": "Đơn vị, người chủ trì", "name": "Tên", "new_password": "Mật khẩu mới", "next": "Trang tiếp theo",
    "no_paper_copy": "Không gửi bản giấy", "note": "Ghi chú", "occurred_at": "Thời điểm xảy ra",
    "old_password": "Mật khẩu hiện tại", "ordinal": "Thứ tự", "page_url": "Trang gặp lỗi", "pages": "Số tờ",
    "password": "Mật khẩu", "plan_item_id": "Mục trong danh mục hồ sơ", "position": "Chức vụ",
    "priority": "Độ khẩn", "progress": "Tiến độ", "promulgation_date": "Ngày ban hành",
    "proposal": "Đề xuất", "readers": "Người nhận để biết", "reason": "Lý do", "reason_code": "Lý do",
    "recipients": "Nơi nhận", "register_id": "Sổ văn bản", "remove_drafts": "Loại bỏ dự thảo",
    "result": "Kết quả", "result_detail": "Chi tiết kết quả", "retention": "Thời hạn bảo quản",
    "role": "Vai trò", "roles": "Vai trò", "scope": "Phạm vi", "scopes": "Phạm vi", "screenshot": "Ảnh chụp màn hình",
    "signer_full_name": "Người ký", "signer_position": "Chức vụ người ký", "solution": "Cách xử lý",
    "start_date": "Ngày bắt đầu", "starts_at": "Từ ngày", "subject": "Trích yếu", "target_id": "Văn bản",
    "text": "Nội dung", "title": "Tiêu đề", "to_user_id": "Người nhận", "type_code": "Loại văn bản",
    "unit": "Đơn vị", "units": "Đơn vị", "user_id": "Người dùng", "user_ids": "Người được mời",
    "username": "Tên đăng nhập", "year": "Năm",
    # query parameters (filters, pages)
    "tu": "Từ ngày", "den": "Đến ngày", "dinh-dang": "Định dạng", "hop": "Hộp văn bản", "so": "Sổ",
    "trang": "Trang", "nam": "Năm", "van_ban": "Văn bản", "page": "Trang", "size": "Số mục mỗi trang",
    "include_closed": "Gồm cả việc đã kết thúc",
}


class InternalError(CongVanError):
    """A failure that is nobody's input and no service being away: a defect, logged in full."""

    code = "internal_error"
    http_status = 500


def field_message(error: dict[str, Any]) -> tuple[str, str]:
    """(the field's name, what is wrong with it in Vietnamese) for one of pydantic's validation errors."""
    loc = [str(p) for p in error.get("loc", ())]
    name = next((p for p in reversed(loc[1:]) if not p.isdigit()), loc[-1] if loc else "")
    label = f"“{FIELD_LABELS.get(name, name)}”"
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return name, f"Thiếu trường bắt buộc {label}."
    if kind.startswith(("int_", "float_", "decimal_")):
        return name, f"{label} phải là một số."
    if kind.startswith("bool_"):
        return name, f"{label} phải là có hoặc không."
    if kind.startswith(("date_", "datetime_")):
        return name, f"{label} không phải là ngày hợp lệ (dd/mm/yyyy)."
    if kind in ("greater_than", "greater_than_equal"):
        return name, f"{label} phải từ {ctx.get('ge', ctx.get('gt', ''))} trở lên."
    if kind in ("less_than", "less_than_equal"):
        return name, f"{label} không được quá {ctx.get('le', ctx.get('lt', ''))}."
    if kind == "string_too_long":
        return name, f"{label} dài quá {ctx.get('max_length', '')} ký tự."
    if kind == "string_too_short":
        return name, f"{label} phải có ít nhất {ctx.get('min_length', '')} ký tự."
    if kind in ("literal_error", "enum"):
        return name, f"{label} không thuộc các giá trị cho phép."
    return name, f"{label} không hợp lệ."


def problem_body(status: int, code: str, title: str, errors: Any = None, detail: str | None = None) -> dict[str, Any]:
    return {"type": f"https://congvan.gov.vn/problems/{code}", "title": title, "status": status, "code": code,
            "detail": detail or title, "errors": errors}


def problem(exc: CongVanError) -> dict[str, Any]:
    """RFC 9457 problem details, with the Vietnamese message as the title people see."""
    return problem_body(exc.http_status, exc.code, exc.message_vi,
                        {k: v for k, v in exc.details.items() if k in ("field", "fields", "value", "reason")})


HTTP_TITLES = {404: "Không tìm thấy trang hoặc mục được yêu cầu.",
               405: "Địa chỉ này không nhận loại yêu cầu đã gửi.",
               401: "Cần đăng nhập hoặc mã truy cập.", 403: "Không được phép.",
               413: "Dữ liệu gửi lên quá lớn.", 415: "Định dạng dữ liệu gửi lên không được hỗ trợ."}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def answer(request: Request, exc: CongVanError, errors: Any = None, messages: list[str] | None = None) -> Response:
    """The refusal as problem+json (API) or the Vietnamese error page (screens)."""
    if is_api(request):
        body = problem(exc)
        if errors is not None:
            body["errors"] = errors
        if messages:
            body["detail"] = " ".join(messages)
        return JSONResponse(body, status_code=exc.http_status, media_type=PROBLEM)
    from gateway.app import error_page

    return error_page(request, exc, messages or [])


def install(app: FastAPI) -> None:
    @app.exception_handler(CongVanError)
    async def _domain_error(request: Request, exc: CongVanError):
        if exc.http_status >= 500:
            log.error("%s %s: %s %s", request.method, request.url.path, exc.code, exc.details)
        else:
            log.info("%s %s refused: %s %s", request.method, request.url.path, exc.code, exc.details)
        return answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        found = [(error, *field_message(error)) for error in exc.errors()]
        log.info("%s %s invalid: %s", request.method, request.url.path,
                 [(e.get("loc"), e.get("type")) for e in exc.errors()])
        if not is_api(request) and any(e.get("loc", ("",))[0] == "path" for e, _n, _m in found):
            # A malformed id in the address of a page: for people, simply no such page.
            return answer(request, _status(404)(CongVanError(HTTP_TITLES[404], code="not_found")))
        messages = [message for _e, _n, message in found]
        errors = [{"field": name, "reason": e.get("type"), "message": message} for e, name, message in found]
        refusal = _status(422)(CongVanError("Dữ liệu gửi lên không hợp lệ.", code="validation_failed"))
        return answer(request, refusal, errors, messages)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        title = HTTP_TITLES.get(exc.status_code, "Yêu cầu không thực hiện được.")
        refusal = _status(exc.status_code)(CongVanError(title, code=f"http_{exc.status_code}"))
        response = answer(request, refusal)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return answer(request, InternalError("Đã có lỗi hệ thống khi xử lý yêu cầu; lỗi đã được ghi lại. Hãy thử "
                                             "lại sau hoặc báo quản trị viên (nút “Báo lỗi”)."))


def _status(status: int):
    """Give one error instance its HTTP status (the framework's refusals carry any status, not one per class)."""
    def apply(exc: CongVanError) -> CongVanError:
        exc.http_status = status
        return exc

    return apply
