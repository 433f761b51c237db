"""Problem reports ("Báo lỗi", Đà Nẵng QĐ 8849/QĐ-UBND, annex forms 1 and 2).

Anyone signed in reports a fault from any page (the link in the top bar carries the page's address): the
function concerned, what happened, a screenshot. The screenshot goes into the agency's blob store, content-addressed
by SHA-256, and is recorded with the storage service. The agency's administrator records the cause, the fix and the
result. Both forms print as PDF (A4, DejaVu fonts: Vietnamese text survives copy and pdftotext).

Who sees what: the reporter sees their own reports; the administrators of the reporter's agency see all of that
agency's reports and record the fix; the province operator (Sở TTTT) sees and handles every agency's reports (one
queue: gateway/province_ops.py). Nobody else sees another agency's reports (404, as if absent).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select, text

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.problem_models import ProblemBase, ProblemReport
from services.common.actor import Role
from services.common.clock import to_vn
from services.common.db import Database
from services.common.errors import Forbidden, NotFound, ValidationFailed

FORM_NUMBER_SUFFIX = "BBGNL-QLVBĐH"

# Form 1, item 2 "Vai trò sử dụng" and item 4 "Chức năng có xuất hiện lỗi", in the form's order.
ROLES = {"leader": "Lãnh đạo cơ quan", "clerk": "Văn thư", "specialist": "Chuyên viên",
         "department_head": "Lãnh đạo phòng/ban", "one_stop": "Một cửa", "admin": "Quản trị hệ thống"}
FUNCTIONS = {"incoming": "Quản lý VB đến", "interconnect": "Liên thông VB", "search": "Tìm kiếm VB",
             "tasks": "Quản lý công việc", "dossiers": "Lập hồ sơ công việc", "reports": "Báo cáo, thống kê",
             "outgoing": "Quản lý và phát hành VB đi", "notices": "Thông báo nội bộ", "admin": "Quản trị",
             "other": "Khác"}
STATES = {"open": "Chưa xử lý", "done": "Hoàn thành", "not_done": "Chưa hoàn thành"}
# Where a page's address tells which function it belongs to (the form opens with it chosen).
PATH_FUNCTIONS = (("/van-ban-den", "incoming"), ("/van-ban-di", "outgoing"), ("/tra-cuu", "search"),
                  ("/cong-viec", "tasks"), ("/xu-ly", "tasks"), ("/du-thao", "outgoing"), ("/ho-so", "dossiers"),
                  ("/luu-tru", "dossiers"), ("/bao-cao", "reports"), ("/in-so", "reports"),
                  ("/thong-bao", "notices"), ("/quan-tri", "admin"))
SCREENSHOT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                    "bmp": "image/bmp"}
MAX_SCREENSHOT = 10 * 1024 * 1024
MAX_TEXT = 5000


# -- pure rules ----------------------------------------------------------------------------------------------

def default_role(roles: list[str] | frozenset[str]) -> str:
    """The form's role box for a person: the first of their roles in the form's order."""
    for key in ROLES:
        if key in roles:
            return key
    return "specialist"


def function_of(page: str) -> str:
    for prefix, key in PATH_FUNCTIONS:
        if page.startswith(prefix):
            return key
    return "other"


def safe_page(page: str | None) -> str:
    """Only a path of this site is kept as the page concerned (never an outside address)."""
    page = (page or "").strip()
    return page[:500] if page.startswith("/") and not page.startswith("//") else ""


def referer_page(referer: str, host: str) -> str:
    """The page the person came from, when it is a page of this site."""
    parts = urlsplit(referer)
    if parts.netloc != host:
        return ""
    return safe_page(parts.path + (f"?{parts.query}" if parts.query else ""))


def check_report(form: dict[str, str]) -> dict[str, Any]:
    """The form-1 fields, checked; ValidationFailed names the field in Vietnamese."""
    role, function = form.get("role", ""), form.get("function", "")
    if role not in ROLES:
        raise ValidationFailed("Hãy chọn vai trò sử dụng.", field="role", value=role)
    if function not in FUNCTIONS:
        raise ValidationFailed("Hãy chọn chức năng có xuất hiện lỗi.", field="function", value=function)
    description = (form.get("description") or "").strip()
    if not description:
        raise ValidationFailed("Thiếu trường bắt buộc “Mô tả chi tiết”.", field="description")
    other = (form.get("function_other") or "").strip()
    if function == "other" and not other:
        raise ValidationFailed("Chức năng “Khác”: hãy ghi rõ chức năng.", field="function_other")
    for name, label in (("description", "Mô tả chi tiết"), ("proposal", "Kiến nghị, đề xuất")):
        if len(form.get(name) or "") > MAX_TEXT:
            raise ValidationFailed(f"“{label}” dài quá {MAX_TEXT} ký tự.", field=name)
    occurred = parse_moment(form.get("occurred_at") or "")
    return {"role": role, "function": function, "function_other": other[:300], "description": description,
            "proposal": (form.get("proposal") or "").strip(), "occurred_at": occurred,
            "page_url": safe_page(form.get("page_url"))}


def parse_moment(text: str) -> datetime:
    """`2026-11-21T09:30` from a datetime-local input, in Vietnam time; empty means now."""
    if not text.strip():
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"Thời điểm xảy ra lỗi “{text}” không hợp lệ.", field="occurred_at") from None
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return moment.astimezone(UTC)


def check_handling(form: dict[str, str]) -> dict[str, str]:
    """The form-2 fields: cause, fix, result (done / not done with the details)."""
    cause, solution = (form.get("cause") or "").strip(), (form.get("solution") or "").strip()
    result, detail = form.get("result", ""), (form.get("result_detail") or "").strip()
    if not cause:
        raise ValidationFailed("Thiếu trường bắt buộc “Nguyên nhân xảy ra lỗi”.", field="cause")
    if not solution:
        raise ValidationFailed("Thiếu trường bắt buộc “Giải pháp xử lý”.", field="solution")
    if result not in ("done", "not_done"):
        raise ValidationFailed("Hãy chọn kết quả xử lý.", field="result", value=result)
    if result == "not_done" and not detail:
        raise ValidationFailed("Chưa hoàn thành: hãy ghi chi tiết.", field="result_detail")
    return {"cause": cause[:MAX_TEXT], "solution": solution[:MAX_TEXT], "state": result,
            "result_detail": detail[:MAX_TEXT]}


def form_number(report: ProblemReport) -> str:
    return f"{report.number:02d}/{FORM_NUMBER_SUFFIX}"


# -- access --------------------------------------------------------------------------------------------------

def _get(g: Gateway, v: Viewer, report_id: int) -> ProblemReport:
    with g.db.session() as s:
        report = s.get(ProblemReport, report_id)
    if report is not None and v.has(Role.PROVINCE_OPERATOR):
        return report   # the Sở TTTT receives every agency's reports in one queue (Đà Nẵng QĐ 8849 Đ10.3)
    if report is None or report.agency_id != v.user.agency_id:
        raise NotFound("Không tìm thấy biên bản báo lỗi.", report_id=report_id)
    if report.reporter_id != v.user.id and not v.has(Role.ADMIN):
        raise NotFound("Không tìm thấy biên bản báo lỗi.", report_id=report_id)
    return report


def _screenshot(g: Gateway, v: Viewer, upload: UploadFile | None) -> tuple[str | None, str, str]:
    """Stream the screenshot into the agency's blob store; (sha256, name, content type) or Nones."""
    if upload is None or not upload.filename:
        return None, "", ""
    from services.storage.blobs import blob_store
    from services.storage.ingest import ingest

    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if extension not in SCREENSHOT_TYPES:
        raise ValidationFailed("Ảnh chụp màn hình phải là tệp PNG, JPEG, GIF hoặc BMP.", field="screenshot",
                               name=upload.filename)
    result = ingest(blob_store(g.settings, v.user.agency_id), upload.file, upload.filename, purpose="attachment",
                    max_size=MAX_SCREENSHOT)
    return result.sha256, result.display_name, result.content_type


def _next_number(session, agency_id: str, year: int) -> int:
    last = session.scalar(select(func.max(ProblemReport.number)).where(ProblemReport.agency_id == agency_id,
                                                                       ProblemReport.year == year))
    return (last or 0) + 1


def add_numbered(db: Database, report: ProblemReport) -> tuple[int, int]:
    """Store a new report with the next number of its agency and year; returns (id, number).

    "Read the largest number, add one" must not interleave between two reports of one agency and year, or both
    take the same number (the unique key then refuses one: a lost report). SQLite: BEGIN IMMEDIATE
    (services/common/db.py) already serialises writers. PostgreSQL: a transaction-scoped advisory lock on
    (agency, year), released at commit; under READ COMMITTED (the default) the max() that follows the lock sees
    the number the previous holder committed.
    """
    with db.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                      {"key": f"problem_reports:{report.agency_id}:{report.year}"})
        report.number = _next_number(s, report.agency_id, report.year)
        s.add(report)
        s.flush()
        return report.id, report.number


def create_report(g: Gateway, v: Viewer, fields: dict[str, Any], shot: tuple[str | None, str, str]) -> int:
    now = datetime.now(UTC)
    report_id, _number = add_numbered(g.db, ProblemReport(
        agency_id=v.user.agency_id, year=to_vn(now).year, reporter_id=v.user.id, reporter_name=v.user.full_name,
        reporter_unit=v.user.unit or "", created_at=now, screenshot_sha256=shot[0], screenshot_name=shot[1],
        screenshot_type=shot[2], **fields))
    if shot[0]:
        # The storage service keeps the file's record (owner, kind); a failure leaves the blob, not the report.
        try:
            g.backends.call(v.actor, "storage", "record_file", shot[0], shot[1], shot[2],
                            _blob_size(g, v, shot[0]), "attachment", f"problem-report:{report_id}")
        except Exception:  # the report must not be lost because storage is briefly away
            import logging

            logging.getLogger(__name__).warning("screenshot of problem report %s not recorded", report_id,
                                                exc_info=True)
    return report_id


def submit_report(g: Gateway, v: Viewer, form: dict[str, str], screenshot: UploadFile | None) -> int:
    """Form 1 checked, the screenshot stored, the report numbered: the screen's form and the REST API."""
    fields = check_report(form)
    return create_report(g, v, fields, _screenshot(g, v, screenshot))


def reports_for(g: Gateway, v: Viewer) -> list[ProblemReport]:
    """The reporter's own reports; the administrator's: all of the agency's. Newest first."""
    query = select(ProblemReport).where(ProblemReport.agency_id == v.user.agency_id)
    if not v.has(Role.ADMIN):
        query = query.where(ProblemReport.reporter_id == v.user.id)
    with g.db.session() as s:
        return list(s.scalars(query.order_by(ProblemReport.id.desc()).limit(500)).all())


def report_of(g: Gateway, v: Viewer, report_id: int) -> ProblemReport:
    return _get(g, v, report_id)


def screenshot_of(g: Gateway, v: Viewer, report_id: int) -> tuple[bytes, str]:
    from services.storage.blobs import blob_store

    report = _get(g, v, report_id)
    if not report.screenshot_sha256:
        raise NotFound("Biên bản không có ảnh chụp màn hình.", report_id=report_id)
    data = blob_store(g.settings, report.agency_id).read(report.screenshot_sha256)
    return data, report.screenshot_type or "application/octet-stream"


def form_pdf(g: Gateway, v: Viewer, report_id: int, form: int) -> tuple[bytes, str]:
    """Form 1 or 2 as PDF, with its file name."""
    report = _get(g, v, report_id)
    if form not in (1, 2):
        raise NotFound("Không có mẫu biên bản này.", form=form)
    texts = _agency_texts(g, report.agency_id)
    pdf = form1_pdf(report, *texts) if form == 1 else form2_pdf(report, *texts)
    return pdf, f"bien-ban-{'ghi-nhan' if form == 1 else 'xu-ly'}-loi-{report.number:02d}-{report.year}.pdf"


def _blob_size(g: Gateway, v: Viewer, sha256: str) -> int:
    from services.storage.blobs import blob_store

    return blob_store(g.settings, v.user.agency_id).stat(sha256).size


def record_handling(g: Gateway, v: Viewer, report_id: int, fields: dict[str, str]) -> None:
    if not v.has(Role.ADMIN, Role.PROVINCE_OPERATOR):
        raise Forbidden("Chỉ quản trị phần mềm của cơ quan được ghi nhận xử lý lỗi.", user=v.user.username,
                        required="admin")
    _get(g, v, report_id)
    with g.db.session() as s:
        report = s.get(ProblemReport, report_id)
        for key, value in fields.items():
            setattr(report, key, value)
        report.handled_by_id, report.handled_by_name = v.user.id, v.user.full_name
        report.handled_at = datetime.now(UTC)


# -- PDF (forms 1 and 2) -------------------------------------------------------------------------------------

FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSerif" in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont("DejaVuSerif", f"{FONT_DIR}/DejaVuSerif.ttf"))
    pdfmetrics.registerFont(TTFont("DejaVuSerif-Bold", f"{FONT_DIR}/DejaVuSerif-Bold.ttf"))
    pdfmetrics.registerFont(TTFont("DejaVuSerif-Italic", f"{FONT_DIR}/DejaVuSerif-Italic.ttf"))
    pdfmetrics.registerFont(TTFont("DejaVuSans", f"{FONT_DIR}/DejaVuSans.ttf"))


def _para(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _box(on: bool) -> str:
    # DejaVu Serif has no ballot boxes; DejaVu Sans has them.
    return f'<font name="DejaVuSans">{"☒" if on else "☐"}</font>'


def _header(agency_name: str, parent_name: str, number: str, place: str, day: datetime) -> list:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table, TableStyle

    center = ParagraphStyle("c", fontName="DejaVuSerif", fontSize=10.5, leading=14, alignment=1)
    bold = ParagraphStyle("cb", parent=center, fontName="DejaVuSerif-Bold")
    italic = ParagraphStyle("ci", parent=center, fontName="DejaVuSerif-Italic")
    vn = to_vn(day)
    left = [Paragraph(_para(parent_name.upper()), center), Paragraph(_para(agency_name.upper()), bold),
            Paragraph("-------", center), Paragraph(f"Số: {_para(number)}", center)]
    right = [Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold), Paragraph("Độc lập - Tự do - Hạnh phúc", bold),
             Paragraph("---------------", center),
             Paragraph(f"{_para(place)}, ngày {vn.day:02d} tháng {vn.month:02d} năm {vn.year}", italic)]
    table = Table([[left, right]], colWidths=[200, 290])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [table]


def _document(title: str, subtitle: str, header: list, body: list,
              signers: tuple[tuple[str, str], tuple[str, str]]) -> bytes:
    """A4 portrait, the national motto block, then the body and two signature blocks ((title, name), ...)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    _fonts()
    center = ParagraphStyle("t", fontName="DejaVuSerif-Bold", fontSize=13, leading=18, alignment=1)
    sub = ParagraphStyle("s", fontName="DejaVuSerif-Bold", fontSize=11.5, leading=16, alignment=1)
    plain = ParagraphStyle("p", fontName="DejaVuSerif", fontSize=11, leading=15, alignment=1)
    sign = ParagraphStyle("sg", parent=plain, fontName="DejaVuSerif-Bold")
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=30 * mm, rightMargin=15 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=f"{title} {subtitle}", author="Công Văn")
    story = [*header, Spacer(1, 14), Paragraph(title, center), Paragraph(_para(subtitle), sub),
             Paragraph("Kính gửi: Sở Thông tin và Truyền thông", plain), Spacer(1, 10), *body, Spacer(1, 20)]
    story.append(Table([[[Paragraph(_para(title_), sign), Paragraph("(Ký và ghi rõ họ tên)", plain), Spacer(1, 50),
                          Paragraph(_para(name), sign)] for title_, name in signers]], colWidths=[240, 240]))
    doc.build(story)
    return buf.getvalue()


def _text_style():
    from reportlab.lib.styles import ParagraphStyle

    _fonts()   # before any Paragraph is built: it resolves its font at once
    return ParagraphStyle("b", fontName="DejaVuSerif", fontSize=11.5, leading=16, spaceAfter=4)


def form1_pdf(report: ProblemReport, agency_name: str, parent_name: str, place: str) -> bytes:
    """Mẫu số 1: Biên bản ghi nhận lỗi Phần mềm Quản lý văn bản và điều hành."""
    from reportlab.platypus import Paragraph

    st = _text_style()
    happened = to_vn(report.occurred_at)
    roles = "  ".join(f"{_box(k == report.role)} {label}" for k, label in ROLES.items())
    functions = "  ".join(f"{_box(k == report.function)} {label}" for k, label in FUNCTIONS.items() if k != "other")
    other = f"{_box(report.function == 'other')} Khác: {_para(report.function_other)}"
    who = report.reporter_name + (f" / {report.reporter_unit}" if report.reporter_unit else "")
    body = [
        Paragraph(f"Hôm nay, ngày {happened:%d/%m/%Y}, Phần mềm QLVBĐH xảy ra lỗi như sau:", st),
        Paragraph(f"1. Người sử dụng/Phòng ban công tác: {_para(who)}", st),
        Paragraph("2. Vai trò sử dụng", st), Paragraph(roles, st),
        Paragraph(f"3. Thời điểm xảy ra lỗi: {happened:%H:%M} ngày {happened:%d/%m/%Y}", st),
        Paragraph("4. Chức năng có xuất hiện lỗi", st), Paragraph(functions, st), Paragraph(other, st),
        Paragraph("5. Mô tả chi tiết", st), Paragraph(_para(report.description), st),
    ]
    if report.page_url:
        body.append(Paragraph(f"Trang xảy ra lỗi: {_para(report.page_url)}", st))
    if report.screenshot_sha256:
        from reportlab.lib.styles import ParagraphStyle

        small = ParagraphStyle("h", parent=st, fontSize=8, leading=11)
        body.append(Paragraph(f"Hình ảnh chụp giao diện: {_para(report.screenshot_name)}, lưu trong kho tệp của "
                              "cơ quan, mã băm SHA-256:", st))
        body.append(Paragraph(report.screenshot_sha256, small))
    else:
        body.append(Paragraph("Hình ảnh chụp giao diện: không gửi kèm.", st))
    body += [Paragraph("6. Kiến nghị, đề xuất", st), Paragraph(_para(report.proposal or "Không."), st)]
    header = _header(agency_name, parent_name, form_number(report), place, report.created_at)
    return _document("BIÊN BẢN", "Ghi nhận lỗi Phần mềm Quản lý văn bản và điều hành", header, body,
                     (("Quản trị Phần mềm QLVBĐH", ""), ("Người sử dụng", report.reporter_name)))


def form2_pdf(report: ProblemReport, agency_name: str, parent_name: str, place: str) -> bytes:
    """Mẫu số 2: Biên bản xử lý lỗi phần mềm (once the administrator recorded it)."""
    from reportlab.platypus import Paragraph

    if report.state == "open":
        raise ValidationFailed("Biên bản xử lý lỗi chỉ in được sau khi quản trị ghi nhận kết quả xử lý.",
                               code="not_handled", report_id=report.id)
    st = _text_style()
    handled = to_vn(report.handled_at or report.created_at)
    reported = to_vn(report.created_at)
    body = [
        Paragraph(f"Hôm nay, ngày {handled:%d/%m/%Y}, Phần mềm QLVBĐH đã được hiệu chỉnh các lỗi trong nội dung "
                  f"Biên bản số {form_number(report)} ngày {reported:%d/%m/%Y}:", st),
        Paragraph("1. Nguyên nhân xảy ra lỗi", st), Paragraph(_para(report.cause), st),
        Paragraph("2. Giải pháp xử lý", st), Paragraph(_para(report.solution), st),
        Paragraph("3. Kết quả xử lý", st),
        Paragraph(f"{_box(report.state == 'done')} Hoàn thành.", st),
        Paragraph(f"{_box(report.state == 'not_done')} Chưa hoàn thành, chi tiết: "
                  f"{_para(report.result_detail)}", st),
    ]
    header = _header(agency_name, parent_name, form_number(report), place, report.handled_at or report.created_at)
    return _document("BIÊN BẢN", "Xử lý lỗi Phần mềm Quản lý văn bản và điều hành", header, body,
                     (("Đại diện Sở TT&TT", ""), ("Quản trị Phần mềm QLVBĐH", report.handled_by_name)))


def _agency_texts(g: Gateway, agency_id: str) -> tuple[str, str, str]:
    info = g.backends.info(agency_id)
    return info.get("name", agency_id), info.get("parent_name", ""), info.get("place", "") or "……"


# -- routes --------------------------------------------------------------------------------------------------

def _view(report: ProblemReport) -> dict[str, Any]:
    return {"r": report, "number": form_number(report), "role": ROLES.get(report.role, report.role),
            "function": FUNCTIONS.get(report.function, report.function), "state": STATES[report.state]}


def install(app: FastAPI) -> None:
    g0: Gateway = app.state.gateway
    ProblemBase.metadata.create_all(g0.db.engine)

    @app.get("/bao-loi", response_class=HTMLResponse, include_in_schema=False)
    def new_report(request: Request, trang: str = "", v: Viewer = Depends(viewer)):
        page = safe_page(trang) or referer_page(request.headers.get("referer", ""), request.url.netloc)
        return render(request, "problems_new.html", v, roles=ROLES, functions=FUNCTIONS,
                      form={"role": default_role(v.user.roles or []), "function": function_of(page),
                            "page_url": page})

    @app.post("/bao-loi", include_in_schema=False)
    def submit_report_form(request: Request, role: str = Form(""), function: str = Form(""),
                           function_other: str = Form(""), occurred_at: str = Form(""), description: str = Form(""),
                           proposal: str = Form(""), page_url: str = Form(""),
                           screenshot: UploadFile | None = File(None), v: Viewer = Depends(csrf_checked),
                           g: Gateway = Depends(gw)):
        form = {"role": role, "function": function, "function_other": function_other, "occurred_at": occurred_at,
                "description": description, "proposal": proposal, "page_url": page_url}
        try:
            report_id = submit_report(g, v, form, screenshot)
        except ValidationFailed as exc:
            return render(request, "problems_new.html", v, status_code=exc.http_status, roles=ROLES,
                          functions=FUNCTIONS, form=form, error=exc.message_vi)
        return RedirectResponse(f"/bao-loi/{report_id}?thong-bao=da-gui-bao-loi", status_code=303)

    @app.get("/bao-loi/danh-sach", response_class=HTMLResponse, include_in_schema=False)
    def list_reports(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "problems_list.html", v, reports=[_view(r) for r in reports_for(g, v)])

    @app.get("/bao-loi/{report_id}", response_class=HTMLResponse, include_in_schema=False)
    def show_report(request: Request, report_id: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "problems_detail.html", v, **_view(_get(g, v, report_id)),
                      can_handle=v.has(Role.ADMIN, Role.PROVINCE_OPERATOR),
                      notice=request.query_params.get("thong-bao", ""))

    @app.post("/bao-loi/{report_id}/xu-ly", include_in_schema=False)
    def handle_report(request: Request, report_id: int, cause: str = Form(""), solution: str = Form(""),
                      result: str = Form(""), result_detail: str = Form(""), v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)):
        if not v.has(Role.ADMIN, Role.PROVINCE_OPERATOR):
            raise Forbidden("Chỉ quản trị phần mềm của cơ quan được ghi nhận xử lý lỗi.", user=v.user.username,
                            required="admin")
        report = _get(g, v, report_id)
        form = {"cause": cause, "solution": solution, "result": result, "result_detail": result_detail}
        try:
            fields = check_handling(form)
        except ValidationFailed as exc:
            return render(request, "problems_detail.html", v, status_code=exc.http_status, **_view(report),
                          can_handle=True, error=exc.message_vi, form=form)
        record_handling(g, v, report_id, fields)
        return RedirectResponse(f"/bao-loi/{report_id}?thong-bao=da-xu-ly", status_code=303)

    @app.get("/bao-loi/{report_id}/anh", include_in_schema=False)
    def screenshot_file(report_id: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        data, media_type = screenshot_of(g, v, report_id)
        return Response(data, media_type=media_type, headers={"Content-Disposition": "inline"})

    @app.get("/bao-loi/{report_id}/mau-{form}.pdf", include_in_schema=False)
    def report_pdf(report_id: int, form: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        pdf, name = form_pdf(g, v, report_id, form)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})
