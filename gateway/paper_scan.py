""""Chuyển phát hành" of a draft signed on paper: the scan is checked (a PDF that opens, within the page bound),
stored and recorded with storage, then handed to routing, whose worker compares every page with the version the
leader approved, off the request path (services/routing/scan_check.py). The page and the REST route show the
check's state in Vietnamese (scan_state): being checked, the pages that differ with their words, or why nothing
could be compared. Nothing here reads a page or runs OCR: a request thread is never held by Tesseract."""

from __future__ import annotations

from typing import Any

import pikepdf
from fastapi import UploadFile

from gateway.app import Gateway, Viewer
from services.common.errors import Conflict, Forbidden, ValidationFailed
from services.common.pdf_pages import page_count
from services.routing.scan_match import MAX_PAGES
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

STATES = {"checking": "Đang đối chiếu bản quét với phiên bản lãnh đạo đã duyệt…",
          "failed": "Chưa đối chiếu được bản quét với phiên bản lãnh đạo đã duyệt."}


def forward_paper_scan(g: Gateway, v: Viewer, draft_id: int, note: str, file: UploadFile | None,
                       confirm_mismatch: bool = False,
                       appendix_scans: list[UploadFile] | None = None) -> dict[str, Any]:
    """Routing is asked first whether this person may forward this draft, so a refused upload stores nothing; a
    retry of a forwarded draft returns it unchanged. The chosen file, else (no file) the scan being checked when the
    handler confirms it, else the scan the leader's entrant attached (nhập thay, gateway/entry.py). The draft is
    forwarded by routing once the check finds every page the same, or at once with `confirm_mismatch` (the handler
    checked it is the signed original).

    `appendix_scans`: the scans of the paper appendices (optional), each checked like the scan but not compared
    with the version (no page bound); issued instead of the approved version's appendix files (routing's paper.py
    says why). None chosen: those of the scan being checked stay."""
    from gateway.drafting import chosen_files  # drafting imports this module

    view = g.backends.call(v.actor, "routing", "get_draft", draft_id)
    paper = view.get("paper") or {}
    if paper.get("forwarded_by"):
        return view
    if view.get("drafted_by") != v.user.id:
        raise Forbidden("Chỉ người soạn thảo (người xử lý) mới “Chuyển phát hành” dự thảo.", draft_id=draft_id)
    if view.get("status") != "paper_approved":
        raise Conflict("Chỉ “Chuyển phát hành” dự thảo đã được lãnh đạo duyệt, ký trên giấy.",
                       code="not_paper_approved", status=view.get("status"))
    chosen = file is not None and (file.filename or "").strip() and file.size != 0
    uploaded = (paper.get("scan_upload") or {}).get("sha256") if confirm_mismatch else None
    sha256 = uploaded or paper.get("entered_scan_sha256")
    if not chosen and not sha256:
        raise ValidationFailed("Chưa chọn tệp bản scan văn bản giấy đã ký (PDF).", field="file")
    # every file checked before routing hears of any: one bad appendix scan forwards nothing
    appendices = [_store(g, v, draft_id, a, bounded=False, what=f"Tệp bản scan phụ lục '{a.filename}'",
                         field="appendix_scans")
                  for a in chosen_files(appendix_scans)] or None
    if chosen:
        sha256 = _store(g, v, draft_id, file, bounded=True)
    return g.backends.call(v.actor, "routing", "submit_paper_scan", draft_id, sha256, note, confirm_mismatch,
                           appendices)


def _store(g: Gateway, v: Viewer, draft_id: int, file: Any, *, bounded: bool, what: str = "Tệp bản scan",
           field: str = "file") -> str:
    """Stored and recorded once it is a PDF that opens without a password; `bounded` (the main scan, which the
    check compares page by page) also within the pages the check compares. `what` names the file in the refusal,
    `field` the form field the refusal is shown at."""
    store = blob_store(g.settings, v.user.agency_id)
    result = ingest(store, file.file, file.filename or "ban-scan.pdf", purpose="to_sign",
                    max_size=g.settings.max_upload_mb * 1024 * 1024)
    try:
        pages = page_count(store.read(result.sha256))
    except pikepdf.PasswordError:
        raise ValidationFailed(f"{what} có mật khẩu; hãy quét hoặc lưu lại không mật khẩu.", code="bad_pdf",
                               field=field) from None
    except pikepdf.PdfError:
        raise ValidationFailed(f"{what} bị hỏng, không đọc được như một tệp PDF.", code="bad_pdf",
                               field=field) from None
    if bounded and pages > MAX_PAGES:
        raise ValidationFailed(f"Bản scan có {pages} trang, quá {MAX_PAGES} trang đối chiếu được. Phụ lục giấy "
                               "hãy quét riêng, chọn ở ô “Bản scan phụ lục giấy”.", code="too_many_pages",
                               field=field, pages=pages, max_pages=MAX_PAGES)
    # recorded with storage before routing hears of it: an upload whose check is still running is not lost
    g.backends.call(v.actor, "storage", "record_file", result.sha256, result.display_name, result.content_type,
                    result.size, "scan", f"draft:{draft_id}")
    return result.sha256


def scan_state(paper: dict[str, Any] | None) -> dict[str, Any] | None:
    """The check of the last scan uploaded, as the screen and GET /drafts/{id}/paper-scan show it: state
    (checking | checked | failed | forwarded), the Vietnamese message, a line per differing page, the check
    itself, and the scans of the paper appendices sent with it. None before any scan was uploaded."""
    paper = paper or {}
    upload = paper.get("scan_upload") or {}
    if paper.get("forwarded_by"):
        check = paper.get("scan_check") or {}
        state = "forwarded"
    elif upload:
        check, state = upload.get("check") or {}, upload.get("state") or "checking"
    else:
        return None
    message = STATES.get(state, "")
    if state == "failed":
        message = f"{message} {upload.get('error') or ''}".strip()
    elif check:
        message = check_message(check)
    appendices = paper.get("appendix_scan_sha256s") if state == "forwarded" else upload.get("appendix_sha256s")
    return {"state": state, "sha256": paper.get("scan_sha256") if state == "forwarded" else upload.get("sha256"),
            "appendix_scans": list(appendices or []),
            "confirmed": bool(upload.get("confirmed") or check.get("confirmed")), "message": message,
            "pages": page_lines(check), "check": check or None, "uploaded_at": upload.get("at"),
            "checked_at": upload.get("checked_at")}


def check_message(check: dict[str, Any]) -> str:
    version = check.get("version")
    count = check.get("approved_pages")
    if check.get("matches"):
        pages = f"cả {count} trang" if count else "bản scan"
        return f"Bản scan khớp phiên bản {version} lãnh đạo đã duyệt: {pages} khớp (thấp nhất {check['score']} %)."
    if "pages" not in check:  # a check of the first page only, from before every page was compared
        if check.get("score") is None:
            return "Không đọc được chữ nào trên trang đầu của bản scan nên chưa so được với phiên bản đã duyệt."
        return f"Trang đầu bản scan chỉ khớp {check['score']} % với phiên bản {version} lãnh đạo đã duyệt."
    if check.get("score") is None:
        return ("Không đọc được chữ nào trên bản scan (ảnh mờ, trang trắng hoặc không phải văn bản) nên không so "
                f"được với phiên bản {version} lãnh đạo đã duyệt.")
    differing = [p["page"] for p in check.get("pages") or []]
    return (f"Bản scan có vẻ không phải phiên bản {version} lãnh đạo đã duyệt: khác ở trang "
            f"{', '.join(str(n) for n in differing)} (bản scan {check.get('scan_pages')} trang, bản đã duyệt "
            f"{count} trang).")


def page_lines(check: dict[str, Any]) -> list[str]:
    """"Trang 2: chỉ khớp 74 % — không thấy trên bản scan: …; có thêm trên bản scan: …" for each differing page."""
    lines = []
    for page in check.get("pages") or []:
        kind, number = page.get("kind"), page.get("page")
        if kind == "missing":
            lines.append(f"Trang {number}: bản scan thiếu trang này (bản đã duyệt có {check.get('approved_pages')} "
                         "trang).")
            continue
        if kind == "extra":
            lines.append(f"Trang {number}: bản scan có thêm trang này, bản đã duyệt không có.")
            continue
        if kind == "unreadable":
            lines.append(f"Trang {number}: không đọc được chữ trên trang này nên chưa so được.")
            continue
        words = [f"chỉ khớp {page.get('score')} %"]
        if page.get("missing"):
            words.append(f"có trong bản đã duyệt, không thấy trên bản scan: {', '.join(page['missing'])}")
        if page.get("added"):
            words.append(f"có trên bản scan, không có trong bản đã duyệt: {', '.join(page['added'])}")
        lines.append(f"Trang {number}: {'; '.join(words)}.")
    blanks = check.get("blank_scan_pages") or []
    if blanks and lines:
        lines.append(f"Trang trắng của bản scan, không tính khi so: {', '.join(str(n) for n in blanks)}.")
    return lines
