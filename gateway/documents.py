"""Clerk's document pages: send a signed document, receive, the registers, a document's page, file downloads."""

from __future__ import annotations

import re
import secrets
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from gateway import late_entry
from gateway import recipient_groups as rg
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer, vn_time
from gateway.backends import ServiceUnavailable
from gateway.dates import typed_day
from gateway.drafting import settle, store_appendices
from gateway.hub_reports import hub_config
from gateway.issuing import copies, issue_choices, recipients_by_channel
from gateway.labels import attachment_role, file_kind, hub_label, province_names
from gateway.recall import CHANGE_ACTIONS, change_context, history_note
from gateway.recall import install as recall_install
from gateway.reception import waiting_panel
from gateway.recipient_picker import ordered, picker_context
from gateway.replacing import chosen_replacement, history_links, replace_choices, replace_context
from gateway.replacing import install as replacing_install
from gateway.web import People, panel
from services.common import clock
from services.common.errors import CongVanError, NotFound, ValidationFailed
from services.registry.catalog import DOCUMENT_TYPES, REJECT_REASONS, STATUS_LABELS, URGENCY_LABELS
from services.registry.domain import RECIPIENT_CHANNELS
from services.registry.paper import CHANNELS
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

CHUNK = 256 * 1024
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


def _registers(g: Gateway, v: Viewer, direction: str) -> list[dict[str, Any]]:
    # A closed register (khóa sổ) gives no more numbers: never offer it to the clerk.
    return [r for r in g.backends.call(v.actor, "registry", "list_registers", year=clock.today_vn().year,
                                       direction=direction) if not r.get("closed")]


def default_register(g: Gateway, v: Viewer, direction: str) -> str:
    """The register a request names none of: the first open one of this year, or why there is none."""
    registers = _registers(g, v, direction)
    if not registers:
        word = "đến" if direction == "incoming" else "đi"
        raise ValidationFailed(f"Chưa có sổ văn bản {word} của năm nay; quản trị viên cần tạo sổ.", field="register")
    return registers[0]["id"]


def send_policy(g: Gateway, v: Viewer) -> dict[str, Any]:
    """The agency's rule for "Gửi văn bản": whether a document without a legally valid signature may leave,
    marked as such (registry setting, set by the administrator)."""
    try:
        return g.backends.call(v.actor, "registry", "get_send_policy")
    except CongVanError:
        return {"allow_unsigned_send": False}


def _send_page(request: Request, g: Gateway, v: Viewer, form: dict[str, Any], error: str | None = None,
               status_code: int = 200) -> Response:
    # One key per form shown: "back" and sending the same form again returns the first document (registry).
    form.setdefault("form_key", secrets.token_urlsafe(18))
    return render(request, "send.html", v, status_code=status_code, form=form, error=error,
                  policy=send_policy(g, v),
                  types=sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
                  priorities=[(int(k), label) for k, label in URGENCY_LABELS.items()],
                  **picker_context(g, v, form.get("recipients"), form.get("recipient_groups")),
                  max_mb=g.settings.max_upload_mb, today=clock.today_vn().isoformat())


HISTORY_LABELS = {
    "received": "Nhận gói tin liên thông", "verified": "Kiểm tra chữ ký số", "registered": "Vào sổ văn bản đến",
    "rejected": "Từ chối tiếp nhận", "status": "Nhận trạng thái từ nơi nhận", "issued": "Ban hành",
    "submitted_for_issue": "Chuyển văn thư ban hành", "recalled": "Thu hồi", "change_accepted": "Đồng ý thay đổi",
    "change_refused": "Từ chối thay đổi", "revoked": "Văn bản bị thu hồi", "change_requested": "Yêu cầu thay đổi",
    "change_answered": "Tự động trả lời yêu cầu về văn bản đã thu hồi",
    "replaced": "Được thay thế", "paper_copy_received": "Nhận bản giấy", "answered": "Đã có văn bản trả lời",
    "answer_received": "Nhận văn bản trả lời", "copied": "Sao văn bản, cấp số bản sao", "copy_made": "Được sao",
    "copy_sent": "Gửi bản sao qua trục liên thông", "copy_paper_recipients": "Ghi nơi nhận bản giấy của bản sao",
    "paper_returned": "Nhận lại bản giấy của bản sao", "paper_return_corrected": "Sửa ghi nhận nhận lại bản giấy",
    "paper_return_undone": "Hủy ghi nhận nhận lại bản giấy",
    "change_sent": "Gửi yêu cầu đến nơi nhận", "change_closed": "Nơi nhận đã trả lời hết yêu cầu",
    "content_withdrawn": "Xóa nội dung văn bản bị thu hồi (giữ thông tin và lịch sử)",
    "returned": "Lập phiếu trả văn bản giấy",
}


def _decorate(doc: dict[str, Any]) -> dict[str, Any]:
    doc["priority_label"] = URGENCY_LABELS.get(doc.get("priority") or 0, "")
    for h in doc.get("history") or []:
        h["action_label"] = HISTORY_LABELS.get(h.get("action"), h.get("action"))
        if h.get("action") == "paper_returned" and doc.get("direction") == "outgoing":
            h["action_label"] = "Nhận lại bản giấy của văn bản"
        h["actor_name"] = h.get("username") or ""
        details = h.get("details") or {}
        if h.get("action") in CHANGE_ACTIONS:
            h["note"] = history_note(h)
        history_links(h)
        if h.get("action") == "submitted_for_issue" and details.get("paper_signed"):
            h["note"] = paper_signed_text(details["paper_signed"])
        if h.get("action") == "status" and details.get("status_code") and not h.get("note"):
            # The sender follows its document by these codes (01 → 03 → 04 ...): show them in the timeline.
            code = str(details["status_code"])
            h["note"] = " — ".join(x for x in (f"{code} {STATUS_LABELS.get(code, '')}".strip(),
                                               details.get("organ_id") or "") if x)
    for r in doc.get("recipients") or []:
        r["status_label"] = STATUS_LABELS.get(r.get("status_code") or "", "")
        r["channel_label"] = RECIPIENT_CHANNELS.get(r.get("channel") or "", "")
    return doc


def vn_size(size: int | None) -> str:
    """A file size as people read it, with the Vietnamese decimal comma: 512 B, 146 KB, 1,2 MB."""
    size = int(size or 0)
    if size < 1024:
        return f"{size} B"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < scale * 1024 or unit == "GB":
            value = size / scale
            text = f"{value:.0f}" if value >= 100 or unit == "KB" else f"{value:.1f}".replace(".", ",")
            return f"{text.removesuffix(',0')} {unit}"
    return f"{size} B"  # unreachable: GB takes the rest


AWAITING_SEAL = "Đã có chữ ký lãnh đạo, chờ văn thư cấp số và ký số cơ quan"


def awaiting_seal(report: Any) -> bool:
    """A draft the leader signed and the clerk has not yet numbered and sealed: complete for its stage (NĐ 30
    Điều 8: the seal comes with the number at issue), so not "invalid". Only an intact leader signature counts."""
    if not isinstance(report, dict) or report.get("verdict") != "incomplete":
        return False
    signatures = report.get("signatures") or []
    return (any(s.get("role") == "leader" and s.get("valid") for s in signatures)
            and not any(s.get("role") == "seal" for s in signatures))


def signature_label(report: dict[str, Any] | None, state: str | None = None, waiting_issue: bool = False) -> str:
    """The "Chữ ký số" row in words: Hợp lệ, Chưa ký, Đang kiểm tra, or Không hợp lệ: <why> (signing's report,
    docs/signing.md), never a raw verdict such as "none". An outgoing document waiting to be issued and signed by
    the leader says so (`waiting_issue`)."""
    if isinstance(report, dict) and report.get("verdict"):
        if report.get("legally_valid"):
            return "Hợp lệ"
        if waiting_issue and awaiting_seal(report):
            return AWAITING_SEAL
        if report.get("verdict") == "unsigned":
            return "Chưa ký"
        return f"Không hợp lệ: {report.get('summary_vi') or report.get('verdict')}"
    if state == "valid":
        return "Hợp lệ"
    if state == "pending":
        return "Đang kiểm tra"
    if state == "invalid":
        why = (report.get("summary_vi") or report.get("result")) if isinstance(report, dict) else ""
        return f"Không hợp lệ: {why}" if why else "Không hợp lệ"
    return "Chưa ký"


def _signed_file(doc: dict[str, Any]) -> str | None:
    """The file whose signatures tell the outgoing document's state: the last sealed copy, else the main file."""
    files = doc.get("attachments") or []
    for role in ("signed", "main"):
        found = [a["sha256"] for a in files if a.get("role") == role]
        if found:
            return found[-1]
    return None


PREVIEW_ROLES = ("signed", "main", "unsigned", "scan")  # the document itself before its appendices


def _preview(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The PDF whose first page the document page shows (the issued copy, else the main file), or None: a recalled
    document's files are gone, and a document without a PDF has nothing to show."""
    if doc.get("content_withdrawn_at"):
        return None
    pdfs = [a for a in doc.get("attachments") or [] if is_pdf_file(a)]
    for role in PREVIEW_ROLES:
        found = [a for a in pdfs if a.get("role") == role]
        if found:
            return found[-1]
    return pdfs[0] if pdfs else None


def name_trace(g: Gateway, trace: list[dict[str, Any]]) -> None:
    """Each hop of a package's trace by its name: a hub by its provisioned name, else its province's (read from the
    directory's record of the province's people's committee, 000.00.00.H60 for hub.H60); an agency by its own. Only
    the agencies named in the trace are read: the whole directory is tens of thousands in a national one."""
    hubs = {code: str(h.get("name")) for code, h in hub_config(g).items() if h.get("name")}
    organs = [str(hop.get("organ_id") or "") for hop in trace]
    committees = {f"000.00.00.{o.removeprefix('hub.')}" for o in organs if o.startswith("hub.") and o != "hub.national"}
    directory = g.directory()
    get = directory.lookup([*committees, *(o for o in organs if o and not o.startswith("hub."))])
    provinces = province_names([r for r in map(get, sorted(committees)) if r is not None])
    for hop, organ in zip(trace, organs, strict=True):
        if organ.startswith("hub."):
            hop["name"] = hub_label(organ, hubs, provinces)
        else:   # the sender's own line (its edge writes one first): the agency by its name
            record = get(organ) if organ else None
            hop["name"] = record.name if record is not None else organ


def _decorate_page(g: Gateway, v: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    """What the document page shows beyond the registry's record: real file sizes, the signature verdict in words
    and people's full names in the history."""
    file_sizes(g, v, doc)
    for a in doc.get("attachments") or []:
        a["kind_label"] = f"{attachment_role(a.get('role'))} · {file_kind(a.get('content_type'), a.get('name'))}"
        a["size_label"] = vn_size(a["size"]) if a.get("size") is not None else ""
    doc["preview"] = _preview(doc)
    report = doc.get("verification")
    if doc.get("direction") in ("outgoing", "copies") and not report and (sha := _signed_file(doc)):
        # The registry verifies incoming packages only; an outgoing document is judged by signing on its file.
        try:
            report = doc["verification"] = g.backends.call(v.actor, "signing", "verify", sha)
        except CongVanError:
            report = None
    # sent on "Gửi văn bản" without a legally valid signature, where the agency allows it (issue 18)
    doc["sent_not_legally_valid"] = any(a.get("role") in ("unsigned", "appendix_unsigned")
                                        for a in doc.get("attachments") or [])
    waiting = doc.get("direction") == "outgoing" and doc.get("state") == "waiting_issue"
    doc["signature_label"] = signature_label(report, doc.get("verification_state"), waiting)
    doc["signature_ok"] = isinstance(report, dict) and (bool(report.get("legally_valid"))
                                                        or (waiting and awaiting_seal(report)))
    doc["signature_text"] = doc["signature_label"]
    if isinstance(report, dict) and report.get("legally_valid") and report.get("summary_vi"):
        # who signed, and that the document has legal value: the word alone hides what people check
        doc["signature_text"] = f"{doc['signature_label']} — {report['summary_vi']}"
    for a in doc.get("attachments") or []:
        if a.get("role") in APPENDIX_ROLES:
            # each appendix carries its own seal signature (NĐ 30 Phụ lục I): checked file by file
            file_verdict(g, v, doc, a)
    if doc.get("trace"):
        name_trace(g, doc["trace"])
    people = g.accounts.full_names(v.user.agency_id, {str(h.get("username")) for h in doc.get("history") or []
                                                      if h.get("username")})
    for h in doc.get("history") or []:
        username = h.get("username") or ""
        if str(h.get("user_id") or "").startswith("system:"):
            h["actor_name"] = "hệ thống"
        else:
            h["actor_name"] = people.get(username) or username
    return doc


APPENDIX_ROLES = ("appendix", "appendix_signed", "appendix_unsigned")
NOT_PDF = "Không có chữ ký số: tệp không phải PDF"
NOT_PDF_COPY = ("Không đóng dấu bản sao: chỉ tệp PDF mang được thể thức và chữ ký số của bản sao; tệp được sao "
                "nguyên văn")


def is_pdf_file(a: dict[str, Any]) -> bool:
    return a.get("content_type") == "application/pdf" or str(a.get("name") or "").lower().endswith(".pdf")


def file_sizes(g: Gateway, v: Viewer, doc: dict[str, Any]) -> None:
    """Each file's size; the registry records none for the files made in this agency, the store knows it."""
    store = blob_store(g.settings, v.user.agency_id)
    for a in doc.get("attachments") or []:
        if not a.get("size"):
            try:
                a["size"] = store.stat(a["sha256"]).size
            except Exception:  # a file not (yet) in the store: show no size rather than fail the page
                a["size"] = None


def file_verdict(g: Gateway, v: Viewer, doc: dict[str, Any], a: dict[str, Any]) -> None:
    """One file's own signature verdict (`verification`, `signature_label`): signing's report on a PDF; a file of
    another type carries no signature, and in a copy says why it was copied without the copy form (`not_pdf`)."""
    if not is_pdf_file(a):
        a["not_pdf"] = True
        a["signature_label"] = NOT_PDF_COPY if doc.get("direction") == "copies" else NOT_PDF
        return
    try:
        a["verification"] = g.backends.call(v.actor, "signing", "verify", a["sha256"])
        a["signature_label"] = signature_label(a["verification"])
    except CongVanError:
        a["signature_label"] = "Đang kiểm tra"


def dossiers_of(g: Gateway, v: Viewer, doc_id: str) -> list[dict[str, Any]] | None:
    """The dossiers that hold the document (Đà Nẵng Đ5.4b item 5); None when the registry cannot say."""
    try:
        return g.backends.call(v.actor, "registry", "dossiers_of_document", doc_id)
    except CongVanError:
        return None


def paper_signed_text(paper: dict[str, Any] | None) -> str | None:
    """"Lãnh đạo ký trên giấy; bản scan do … chuyển phát hành" for a document signed by hand (Hưng Yên Đ6.3a)."""
    if not paper:
        return None
    signed = f"{paper.get('approved_by_name') or ''}, {vn_time(paper.get('approved_at'))}"
    forwarded = f"{paper.get('forwarded_by_name') or ''} chuyển phát hành ({vn_time(paper.get('forwarded_at'))})"
    return f"Lãnh đạo ký trên giấy ({signed}); bản scan do {forwarded}" + scan_check_text(paper.get("scan_check"))


def scan_check_text(check: dict[str, Any] | None) -> str:
    """How the scan compared with the version the leader approved (gateway/scan_match.py); "" for a document
    forwarded before the check existed."""
    if not check:
        return ""
    if check.get("score") is None:
        text = "; bản scan không đọc được chữ, chưa so được với bản lãnh đạo đã duyệt"
    else:
        text = f"; trang đầu bản scan {'' if check.get('matches') else 'chỉ '}khớp {check['score']} % với bản đã duyệt"
    return text + ("; người xử lý đã xác nhận đúng là bản lãnh đạo đã ký" if check.get("confirmed") else "")


def _meta(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    signer = doc.get("signer") or {}
    return [
        ("Loại văn bản", doc.get("type_name")), ("Cơ quan ban hành", doc.get("organ_name")),
        ("Ngày văn bản", vn_time(doc.get("issued_date"))), ("Mã văn bản", doc.get("document_id")),
        ("Số đến", doc.get("number") if doc.get("direction") == "incoming" else None),
        ("Nguồn", CHANNELS.get(doc.get("source_channel") or "") if doc.get("direction") == "incoming" else None),
        ("Lý do trả lại" if doc.get("reject_reason") == "RETURNED" else "Lý do từ chối", doc.get("reject_text")),
        ("Ngày đến", vn_time(doc.get("arrival_date"))), ("Hạn xử lý", vn_time(doc.get("due_date"))),
        ("Người ký", " ".join(x for x in (signer.get("position"), signer.get("full_name")) if x)),
        ("Ký ban hành", paper_signed_text(doc.get("paper_signed"))),
        ("Nơi nhận", ", ".join(doc.get("to_places") or [])),
        ("Chữ ký số", doc.get("signature_text") or signature_label(doc.get("verification"),
                                                                   doc.get("verification_state"))),
        ("Lưu ý", "; ".join(w.get("message", str(w)) if isinstance(w, dict) else str(w)
                            for w in doc.get("warnings") or [])),
    ]


def install(app: FastAPI) -> None:
    @app.get("/van-ban-di/gui", response_class=HTMLResponse, include_in_schema=False)
    def send_form(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        registers = _registers(g, v, "outgoing")
        # Numbers are gap-free: the register's next number is the one this document must carry.
        upcoming = f"{registers[0]['next_number']:02d}" if registers else ""
        return _send_page(request, g, v, {"type_code": "CV", "code_number": upcoming})

    @app.post("/van-ban-di/gui", include_in_schema=False)
    def send(request: Request, code_number: str = Form(...), code_notation: str = Form(...),
             promulgation_date: str = Form(...), type_code: str = Form("CV"), priority: int = Form(0),
             subject: str = Form(...), signer_full_name: str = Form(""), signer_position: str = Form(""),
             recipients: list[str] = Form([]), recipient_codes: str = Form("", max_length=4000),
             recipient_groups: list[str] = Form([]), file: UploadFile = File(...),
             appendices: list[UploadFile] = File([]), no_paper_copy: bool = Form(False),
             accept_not_legally_valid: bool = Form(False), form_key: str = Form(""),
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        form = {"code_number": code_number, "code_notation": code_notation,
                "promulgation_date": typed_day(promulgation_date) or promulgation_date,
                "type_code": type_code, "priority": priority, "subject": subject,
                "recipients": ordered(recipients, recipient_codes), "recipient_groups": recipient_groups,
                "signer_full_name": signer_full_name, "signer_position": signer_position,
                "no_paper_copy": no_paper_copy, "accept_not_legally_valid": accept_not_legally_valid,
                "form_key": form_key.strip()[:64] or None}
        try:
            doc = send_signed(g, v, form, file, appendices)
        except CongVanError as exc:
            return _send_page(request, g, v, form, exc.message_vi, exc.http_status)
        notice = "da-gui-truoc-do" if doc.get("duplicate") else "da-gui"
        return RedirectResponse(f"/van-ban/{doc['id']}?thong-bao={notice}{rg.skipped_query(doc)}", status_code=303)

    @app.get("/van-ban-den/cho-tiep-nhan", response_class=HTMLResponse, include_in_schema=False)
    def waiting_reception(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        # the agency's limit in working hours, from arrival
        return render(request, "list.html", v, panel=waiting_panel(g, v))

    @app.get("/van-ban-den", response_class=HTMLResponse, include_in_schema=False)
    def incoming_register(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v, panel=panel(g, v, "Sổ văn bản đến", "registry", "list_incoming"))

    @app.get("/van-ban-di", response_class=HTMLResponse, include_in_schema=False)
    def outgoing_register(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v, panel=panel(g, v, "Sổ văn bản đi", "registry", "list_outgoing"))

    @app.get("/van-ban-di/cho-ban-hanh", response_class=HTMLResponse, include_in_schema=False)
    def waiting_issue(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v,
                      panel=panel(g, v, "Văn bản đi chờ ban hành", "registry", "list_waiting_issue"))

    @app.get("/van-ban/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, doc_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return document_response(request, g, v, doc_id,
                                 skipped_warning=rg.skipped_from_query(g, request.query_params.get("khong-gui", "")))

    @app.post("/van-ban-den/{doc_id}/tiep-nhan", include_in_schema=False)
    def accept(doc_id: str, register_id: str = Form(...), late_entry_at: str = Form(""),
               v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        # late_entry_at: the real time of a registration entered after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2)
        g.backends.call(v.actor, "registry", "accept_incoming", doc_id, register_id, late_entry_at.strip() or None)
        return RedirectResponse(f"/van-ban/{doc_id}?thong-bao=da-tiep-nhan", status_code=303)

    @app.post("/van-ban-den/{doc_id}/tu-choi", include_in_schema=False)
    def reject(doc_id: str, reason_code: str = Form(...), text: str = Form(...), v: Viewer = Depends(csrf_checked),
               g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "registry", "reject_incoming", doc_id, reason_code, text)
        return RedirectResponse(f"/van-ban/{doc_id}?thong-bao=da-tu-choi", status_code=303)

    @app.get("/van-ban-di/{doc_id}/ban-hanh", response_class=HTMLResponse, include_in_schema=False)
    def issue_form(request: Request, doc_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        return _issue_page(request, g, v, doc_id, replaces=request.query_params.get("thay-the"))

    @app.post("/van-ban-di/{doc_id}/ban-hanh", include_in_schema=False)
    def issue(request: Request, doc_id: str, register_id: str = Form(...), recipients: list[str] = Form([]),
              recipient_codes: str = Form("", max_length=4000), recipient_groups: list[str] = Form([]),
              priority: int = Form(0), no_paper_copy: bool = Form(False), pin: str = Form("", max_length=64),
              paper_recipients: str = Form("", max_length=12000), internal_units: list[str] = Form([]),
              issued_amount: str = Form("", max_length=6), legal_normative: bool = Form(False),
              replace: bool = Form(False), replaces: str = Form("", max_length=64), form_key: str = Form(""),
              v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        recipients = ordered(recipients, recipient_codes)  # in the order chosen: "Nơi nhận" as it will be printed
        expansion = rg.Expansion(list(recipients))
        try:
            replaced = chosen_replacement(replace, replaces)
            expansion = rg.expand(g, v, recipients, recipient_groups)
            chosen = recipients_by_channel(g, v, expansion.organ_ids, paper_recipients, internal_units,
                                           bool(replaced), expansion.skipped)
            g.backends.call(v.actor, "registry", "issue_outgoing", doc_id, register_id, chosen, priority,
                            no_paper_copy, copies(issued_amount), pin=pin or None,  # the seal token's PIN, now
                            legal_normative=legal_normative, replaces=replaced,
                            request_key=f"form:{form_key.strip()[:64]}" if form_key.strip() else None)
        except ServiceUnavailable as exc:
            # Sealing is slow on a busy server: the registry may still finish after the gateway stopped waiting.
            def issued() -> bool:
                return g.backends.call(v.actor, "registry", "get_document", doc_id).get("state") == "issued"

            if not settle(issued):
                return _issue_page(request, g, v, doc_id, "Việc cấp số, đóng dấu đang được xử lý lâu hơn bình "
                                   "thường. Hãy mở lại văn bản sau ít phút để kiểm tra trước khi thử lại.",
                                   exc.http_status, expansion.organ_ids, replaces if replace else None)
        except CongVanError as exc:
            return _issue_page(request, g, v, doc_id, exc.message_vi, exc.http_status, recipients,
                               replaces if replace else None, recipient_groups)
        skipped = rg.skipped_query({"skipped_recipients": expansion.skipped})
        return RedirectResponse(f"/van-ban/{doc_id}?thong-bao=da-gui{skipped}", status_code=303)

    recall_install(app)  # thu hồi, lấy lại, cập nhật: the buttons of these pages and their API
    replacing_install(app)  # thay thế: from an issued document's page to the issue of its replacement
    late_entry.install(app)  # registration entered after an outage, over the API

    @app.get("/tep/{doc_id}/{sha256}", include_in_schema=False)
    def download(request: Request, doc_id: str, sha256: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return file_response(request, g, v, doc_id, sha256)


def document_response(request: Request, g: Gateway, v: Viewer, doc_id: str, status_code: int = 200,
                      **extra: Any) -> Response:
    """A document's page; `extra`: what a form posted from it shows again (an error, the recipients chosen)."""
    doc = _decorate_page(g, v, _decorate(g.backends.call(v.actor, "registry", "get_document", doc_id)))
    registers = []
    if doc.get("direction") == "incoming" and v.has("clerk") and doc.get("state") == "waiting_reception":
        registers = _registers(g, v, "incoming")
    # a copy is sent from its page to agencies of the directory (gateway/copies.py), with the send screen's picker;
    # not while its recipients answer a recall, take back or update (registry: change_pending)
    sendable = (doc.get("direction") == "copies" and doc.get("state") == "issued" and not doc.get("pending_change")
                and v.has("clerk"))
    picker = picker_context(g, v, extra.pop("copy_chosen", None), extra.pop("copy_chosen_groups", None),
                            "copy_") if sendable else {}
    return render(request, "document.html", v, status_code=status_code, doc=doc, meta=_meta(doc),
                  registers=registers, reject_reasons=REJECT_REASONS, submit_to=_submit_choices(g, v, doc),
                  dossiers=dossiers_of(g, v, doc_id), copy_sendable=sendable, **picker,
                  **change_context(doc, request), **replace_context(g, v, doc), **extra)


def _submit_choices(g: Gateway, v: Viewer, doc: dict[str, Any]) -> list[Any]:
    """Right after "Tiếp nhận và vào sổ" the clerk's next step is "Trình" (NĐ 30 Điều 22): the leaders to choose
    from while the document still waits to be submitted; none once it was submitted or directed."""
    if doc.get("direction") != "incoming" or doc.get("state") != "registered" or not v.has("clerk"):
        return []
    try:
        handling = g.backends.call(v.actor, "routing", "get_incoming", doc["id"])
        if handling.get("status") not in ("received", "submitted"):
            return []
    except NotFound:
        pass  # routing has not opened the handling yet (an event away): "Trình" waits for it
    except CongVanError:
        return []
    return People(g, v.user.agency_id).active("leader")


def chosen_recipients(g: Gateway, organ_ids: list[str]) -> list[dict[str, str]]:
    """Recipients chosen in the picker, by organ id: each must be in the interconnect directory."""
    if not organ_ids:
        raise ValidationFailed("Thiếu trường bắt buộc “Nơi nhận”.", field="recipients")
    chosen = []
    for organ_id in organ_ids:
        record = g.directory().get(organ_id)
        if record is None:
            raise ValidationFailed(f"Không có cơ quan mã {organ_id} trong danh bạ.", field="recipients")
        chosen.append({"organ_id": record.organ_id, "organ_name": record.name})
    return chosen


def _answered_senders(g: Gateway, v: Viewer, doc: dict[str, Any]) -> list[str]:
    """A reply goes back to whoever sent the documents it answers: those are offered as recipients."""
    senders = []
    for link in doc.get("links") or []:
        if link.get("kind") != "answers" or not link.get("to"):
            continue
        try:
            answered = g.backends.call(v.actor, "registry", "get_document", link["to"])
        except CongVanError:
            continue
        organ = answered.get("sender_organ_id") or answered.get("organ_id")
        if organ and organ not in senders:
            senders.append(organ)
    return senders


def _issue_page(request: Request, g: Gateway, v: Viewer, doc_id: str, error: str | None = None,
                status_code: int = 200, chosen: list[str] | None = None, replaces: str | None = None,
                chosen_groups: list[str] | None = None) -> Response:
    """The clerk's "ban hành": the register gives the number and date, signing fills them and seals, the
    interconnect sends to the recipients."""
    doc = _decorate(g.backends.call(v.actor, "registry", "get_document", doc_id))
    if doc.get("direction") != "outgoing" or doc.get("state") != "waiting_issue":
        raise ValidationFailed("Văn bản này không ở trạng thái chờ ban hành.", state=doc.get("state"))
    registers = _registers(g, v, "outgoing")
    return render(request, "drafting_issue.html", v, status_code=status_code, doc=doc, registers=registers,
                  **picker_context(g, v, chosen if chosen is not None else _answered_senders(g, v, doc),
                                   chosen_groups),
                  **issue_choices(g, v, doc), **replace_choices(g, v, doc_id, replaces),
                  form_key=secrets.token_urlsafe(18), error=error,
                  priorities=[(int(k), label) for k, label in URGENCY_LABELS.items()],
                  upcoming=f"{registers[0]['next_number']:02d}" if registers else "", today=clock.today_vn())


def send_signed(g: Gateway, v: Viewer, form: dict[str, Any], file: UploadFile,
                appendices: list[UploadFile] | None = None) -> dict[str, Any]:
    """Stream the file (and its appendices) into the agency's blob store (checked by content), record them, then
    the registry checks the signatures, registers and dispatches (register_outgoing_signed). The recipients are
    those chosen and the members of the chosen groups; members that can no longer receive are skipped and
    returned as `skipped_recipients`."""
    expansion = rg.expand(g, v, form["recipients"], form.get("recipient_groups"))
    if not expansion.organ_ids:
        raise ValidationFailed(" ".join(x for x in ("Thiếu trường bắt buộc “Nơi nhận”.", expansion.warning()) if x),
                               field="recipients")
    recipients = chosen_recipients(g, expansion.organ_ids)
    registers = _registers(g, v, "outgoing")  # before storing: a refused send leaves no file behind
    if not registers:
        raise ValidationFailed("Chưa có sổ văn bản đi của năm nay; quản trị viên cần tạo sổ.", field="register")
    store = blob_store(g.settings, v.user.agency_id)
    result = ingest(store, file.file, file.filename or "van-ban.pdf", purpose="to_sign",
                    max_size=g.settings.max_upload_mb * 1024 * 1024)
    g.backends.call(v.actor, "storage", "record_file", result.sha256, result.display_name, result.content_type,
                    result.size, "signed_original", f"outgoing:{form['code_number']}/{form['code_notation']}")
    extra = store_appendices(g, v, appendices or [], f"outgoing:{form['code_number']}/{form['code_notation']}")
    metadata = {"code_number": form["code_number"].strip(), "code_notation": form["code_notation"].strip(),
                "issued_date": form["promulgation_date"], "type_code": form["type_code"],
                "subject": form["subject"], "priority": int(form["priority"]),
                "signer_full_name": form["signer_full_name"], "signer_position": form["signer_position"],
                "pdf_name": result.display_name, "appendices": extra,
                "no_paper_copy": bool(form.get("no_paper_copy")),
                "accept_not_legally_valid": bool(form.get("accept_not_legally_valid")),
                "request_key": form.get("form_key") or None}
    sent = g.backends.call(v.actor, "registry", "register_outgoing_signed", metadata, result.sha256, recipients,
                           registers[0]["id"])
    return {**sent, "skipped_recipients": expansion.skipped}


def file_response(request: Request, g: Gateway, v: Viewer, doc_id: str, sha256: str) -> Response:
    """Only files of a document the viewer may see (the registry decides); Range requests serve previews."""
    from gateway.pdf_view import readable_file

    _doc, info = readable_file(g, v, doc_id, sha256)
    store = blob_store(g.settings, v.user.agency_id)
    size = int(info.get("size") or store.stat(sha256).size)
    name = info.get("name") or f"{sha256[:12]}.bin"
    headers = {"Accept-Ranges": "bytes",
               "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}",
               "Cache-Control": "private, no-store"}
    ctype = info.get("content_type") or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("range", ""))
    if match and (match.group(1) or match.group(2)):
        start = int(match.group(1)) if match.group(1) else max(0, size - int(match.group(2)))
        end = min(size, int(match.group(2)) + 1) if match.group(1) and match.group(2) else size
        if start >= size or start >= end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        return StreamingResponse(_chunks(lambda: store.open_range(sha256, start, end)), status_code=206,
                                 media_type=ctype, headers={**headers, "Content-Length": str(end - start),
                                                            "Content-Range": f"bytes {start}-{end - 1}/{size}"})
    return StreamingResponse(_chunks(lambda: store.open(sha256)), media_type=ctype,
                             headers={**headers, "Content-Length": str(size)})


def _chunks(opened: Callable[[], BinaryIO]) -> Iterator[bytes]:
    with opened() as f:
        while block := f.read(CHUNK):
            yield block
