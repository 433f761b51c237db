"""REST API of problem reports ("Báo lỗi", Đà Nẵng QĐ 8849/QĐ-UBND forms 1 and 2), the same actions as the screens
/bao-loi (gateway/problems.py), through the same functions: anyone reports a fault (with a screenshot), sees their
own reports; the agency's administrator (and the province operator) sees the agency's reports and records the
cause, fix and result; both forms print as PDF. Another agency's report is 404, like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Response, Security, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from gateway import problems
from gateway.api import COMMON_ERRORS, NOT_FOUND, _problem, bearer
from gateway.api_handling import STEP_ERRORS, operation_name
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.idempotency import KEY, once
from gateway.problem_models import ProblemReport
from services.common.clock import to_vn

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)],
                   generate_unique_id_function=operation_name, tags=["Báo lỗi"])
ReportId = Path(ge=1, lt=2**31, description="Mã biên bản báo lỗi (GET /problem-reports)", examples=[4])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL refuses NUL in text
# a screenshot stored without a recognised type is served as bytes
SCREENSHOT_MEDIA = {*problems.SCREENSHOT_TYPES.values(), "application/octet-stream"}


class ProblemReportOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    number: str = Field(description="Số biên bản, ví dụ 04/BBGNL-QLVBĐH (theo năm, trong cơ quan)")
    year: int
    reporter_id: str
    reporter_name: str
    reporter_unit: str = ""
    role: str = Field(description="Vai trò sử dụng: " + ", ".join(problems.ROLES))
    function: str = Field(description="Chức năng có lỗi: " + ", ".join(problems.FUNCTIONS))
    function_other: str = ""
    occurred_at: datetime
    description: str
    proposal: str = ""
    page_url: str = ""
    screenshot: bool = Field(description="Có ảnh chụp màn hình (GET …/screenshot)")
    created_at: datetime
    state: str = Field(description="open (chưa xử lý), done (hoàn thành), not_done (chưa hoàn thành)")
    state_label: str
    cause: str = ""
    solution: str = ""
    result_detail: str = ""
    handled_by_name: str = ""
    handled_at: datetime | None = None


class Handling(BaseModel):
    cause: str = Field(min_length=1, max_length=problems.MAX_TEXT, pattern=NO_NUL, description="Nguyên nhân")
    solution: str = Field(min_length=1, max_length=problems.MAX_TEXT, pattern=NO_NUL, description="Giải pháp")
    result: Literal["done", "not_done"] = Field(description="Kết quả: hoàn thành hoặc chưa hoàn thành")
    result_detail: str = Field("", max_length=problems.MAX_TEXT, pattern=NO_NUL,
                               description="Chi tiết (bắt buộc khi chưa hoàn thành)")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"cause": "Máy chủ tệp đầy dung lượng", "solution": "Mở rộng dung lượng lưu trữ", "result": "done",
         "result_detail": ""}]})


def _vn(moment: datetime | None) -> datetime | None:
    return to_vn(moment) if moment is not None else None


def _out(report: ProblemReport) -> dict[str, Any]:
    """Every moment in Vietnam time (+07:00), as the screens and the printed forms show it."""
    return {"id": report.id, "number": problems.form_number(report), "year": report.year,
            "reporter_id": report.reporter_id, "reporter_name": report.reporter_name,
            "reporter_unit": report.reporter_unit or "", "role": report.role, "function": report.function,
            "function_other": report.function_other or "", "occurred_at": _vn(report.occurred_at),
            "description": report.description, "proposal": report.proposal or "", "page_url": report.page_url or "",
            "screenshot": bool(report.screenshot_sha256), "created_at": _vn(report.created_at), "state": report.state,
            "state_label": problems.STATES[report.state], "cause": report.cause or "",
            "solution": report.solution or "", "result_detail": report.result_detail or "",
            "handled_by_name": report.handled_by_name or "", "handled_at": _vn(report.handled_at)}


@router.get("/problem-reports", response_model=list[ProblemReportOut], summary="Biên bản báo lỗi",
            description="Người dùng: biên bản của mình; quản trị: mọi biên bản của cơ quan. Mới nhất trước.")
def problem_report_list(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
    return [_out(r) for r in problems.reports_for(g, v)]


@router.post("/problem-reports", response_model=ProblemReportOut, status_code=201, responses=STEP_ERRORS,
             summary="Báo lỗi (biên bản ghi nhận lỗi, mẫu số 1)",
             description="Mọi người. Ảnh chụp màn hình: PNG, JPEG, GIF hoặc BMP, tối đa 10 MB.")
def problem_report_create(
        response: Response,
        role: Literal[tuple(problems.ROLES)] = Form(description="Vai trò sử dụng"),  # type: ignore[valid-type]
        function: Literal[tuple(problems.FUNCTIONS)] = Form(  # type: ignore[valid-type]
            description="Chức năng có lỗi; `other`: ghi rõ ở function_other"),
        description: str = Form(min_length=1, max_length=problems.MAX_TEXT, pattern=NO_NUL,
                                description="Mô tả chi tiết"),
        function_other: str = Form("", max_length=300, pattern=NO_NUL),
        occurred_at: str = Form("", max_length=20, pattern=r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?)?$",
                                description="Thời điểm xảy ra lỗi, YYYY-MM-DDTHH:MM giờ Việt Nam; trống: bây giờ"),
        proposal: str = Form("", max_length=problems.MAX_TEXT, pattern=NO_NUL, description="Kiến nghị, đề xuất"),
        page_url: str = Form("", max_length=500, pattern=NO_NUL, description="Trang xảy ra lỗi (đường dẫn /…)"),
        screenshot: UploadFile | None = File(None, description="Ảnh chụp màn hình"),
        key: str | None = KEY, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    form = {"role": role, "function": function, "function_other": function_other, "occurred_at": occurred_at,
            "description": description, "proposal": proposal, "page_url": page_url}

    def act() -> dict[str, Any]:
        report_id = problems.submit_report(g, v, form, screenshot)
        return _out(problems.report_of(g, v, report_id))

    return once(g, v, key, response, "problem_report_create", form, act, files=[screenshot] if screenshot else None)


@router.get("/problem-reports/{report_id}", response_model=ProblemReportOut, responses=NOT_FOUND,
            summary="Một biên bản báo lỗi")
def problem_report_detail(report_id: int = ReportId, v: Viewer = Depends(viewer),
                          g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _out(problems.report_of(g, v, report_id))


@router.post("/problem-reports/{report_id}/handling", response_model=ProblemReportOut, responses=STEP_ERRORS,
             summary="Ghi nhận xử lý lỗi (biên bản xử lý lỗi, mẫu số 2)",
             description="Quản trị của cơ quan (và Sở TTTT). Ghi lại: thay cho lần ghi trước.")
def problem_report_handle(body: Handling, response: Response, report_id: int = ReportId, key: str | None = KEY,
                          v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    def act() -> dict[str, Any]:
        problems.record_handling(g, v, report_id, problems.check_handling(body.model_dump()))
        return _out(problems.report_of(g, v, report_id))

    return once(g, v, key, response, f"problem_report_handle:{report_id}", body, act)


@router.get("/problem-reports/{report_id}/screenshot", response_class=Response, summary="Ảnh chụp màn hình",
            responses={**NOT_FOUND, 200: {"content": {t: {} for t in sorted(SCREENSHOT_MEDIA)}}})
def problem_report_screenshot(report_id: int = ReportId, v: Viewer = Depends(viewer),
                              g: Gateway = Depends(gw)) -> Response:
    data, media_type = problems.screenshot_of(g, v, report_id)
    return Response(data, media_type=media_type, headers={"Content-Disposition": "inline"})


@router.get("/problem-reports/{report_id}/forms/{form}", response_class=Response,
            summary="In biên bản (PDF): mẫu 1 ghi nhận lỗi, mẫu 2 xử lý lỗi",
            responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}}},
                       422: _problem("Mẫu 2 khi chưa ghi nhận xử lý (code `not_handled`), hoặc mẫu không có")})
def problem_report_pdf(report_id: int = ReportId, form: int = Path(ge=1, le=2, description="1 hoặc 2"),
                       v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> Response:
    pdf, name = problems.form_pdf(g, v, report_id, form)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
