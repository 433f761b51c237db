"""The clerk's screens for documents that arrive on paper, by fax or by e-mail (issue 18 items 1 and 2).

"Nhập văn bản giấy, fax, thư điện tử": upload the scan (PDF, JPEG/PNG pages, or the .eml) → the fields read from
its first page, with the warnings (electronic twin, duplicates, secrecy), for the clerk to confirm → registered
with the next arrival number of the same incoming register as electronic documents, or returned with a Phiếu trả
(TP.HCM Điều 6.1). The same steps serve the REST API (gateway/api_paper.py).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import scans
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.dates import typed_day
from gateway.drafting import chosen_files
from gateway.registers import _registers
from services.common import clock
from services.common.errors import CongVanError, ValidationFailed
from services.registry import domain
from services.registry.catalog import DOCUMENT_TYPES, URGENCY_LABELS
from services.registry.paper import CHANNELS, PAPER_CHANNELS, RETURN_DEFECTS, check_return, read_header
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

FIELDS = ("code_number", "code_notation", "type_code", "issued_date", "organ_name", "organ_id", "subject",
          "priority", "secrecy", "page_amount", "signer_position", "signer_full_name", "due_date", "description",
          "channel")
SECRECY_CHOICES = [("", "Không mật"), ("MẬT", "Mật"), ("TỐI MẬT", "Tối mật"), ("TUYỆT MẬT", "Tuyệt mật")]


# --- the steps, shared with the API ----------------------------------------------------------------------------

def read_scan(g: Gateway, v: Viewer, uploads: list[UploadFile], channel: str) -> dict[str, Any]:
    """Read and check the upload, store its files (content-addressed), and read the fields of its first page."""
    scan, stored = store_scan(g, v, uploads, channel)
    text, read_by = scans.first_page_text(scan.pdf)
    fields = {"channel": stored["channel"], **read_header(text)}
    if not fields.get("subject") and scan.mail.get("subject"):
        fields["subject"] = scan.mail["subject"][:500]
    if scan.mail:
        fields["description"] = scans.mail_note(scan.mail)[:500]
    _match_issuer(g, fields)
    return {"fields": fields, "files": stored["files"], "read_by": read_by, "mail": scan.mail}


def store_scan(g: Gateway, v: Viewer, uploads: list[UploadFile], channel: str) -> tuple[scans.Scan, dict[str, Any]]:
    """Read and check the upload and store its files (content-addressed), without reading its page: registering
    takes the fields the clerk confirmed, so the text, OCR and directory look-up of `read_scan` are not repeated."""
    v.actor.require("clerk")
    max_bytes = g.settings.max_upload_mb * 1024 * 1024
    parts = [scans.read_upload(u, max_bytes) for u in chosen_files(uploads)]
    if len(parts) == 1 and scans.extension(parts[0].name) == "eml":
        scan, channel = scans.mail_of(parts[0]), "email"
    else:
        scan = scans.scan_of(parts)
    store = blob_store(g.settings, v.user.agency_id)
    files = [_stored(store, scan.pdf, scan.name, "scan", max_bytes)]
    for part in scan.others:
        files.append(_stored(store, part.data, part.name, "appendix" if scans.is_appendix(part) else "attachment",
                             max_bytes))
    return scan, {"channel": channel if channel in PAPER_CHANNELS else "paper", "files": files}


def _stored(store, data: bytes, name: str, role: str, max_bytes: int) -> dict[str, Any]:
    result = ingest(store, io.BytesIO(data), name, purpose="attachment", max_size=max_bytes)
    return {"sha256": result.sha256, "name": result.display_name, "content_type": result.content_type,
            "size": result.size, "role": role}


def _match_issuer(g: Gateway, fields: dict[str, Any]) -> None:
    """An issuer read from the scan that is in the agency directory gets its identifier and its written name."""
    name = (fields.get("organ_name") or "").strip()
    if not name:
        return
    try:
        found = g.directory().search(name, limit=10)
    except Exception:  # the directory is a convenience here: the clerk confirms the name anyway
        return
    for record in found:
        if record.name.casefold() == name.casefold():
            fields["organ_name"], fields["organ_id"] = record.name, record.organ_id
            return


def metadata_of(form: dict[str, Any]) -> dict[str, Any]:
    """The registry's metadata from what the clerk confirmed (days typed dd/mm/yyyy or ISO)."""
    meta = {k: (form.get(k).strip() if isinstance(form.get(k), str) else form.get(k)) for k in FIELDS}
    meta = {k: val for k, val in meta.items() if val not in (None, "")}
    for day in ("issued_date", "due_date"):
        if meta.get(day):
            meta[day] = typed_day(meta[day]) or meta[day]
    if meta.get("type_code"):
        meta["type_name"] = DOCUMENT_TYPES.get(meta["type_code"], "")
    return meta


def precheck(fields: dict[str, Any]) -> dict[str, Any]:
    """The registry's own rules on the fields (secrecy, required, lengths, days), applied before any file is
    stored or recorded, so that a refused registration leaves nothing behind."""
    meta = metadata_of(fields)
    domain.refuse_secret(meta)
    domain.check_required(meta, domain.PAPER_INCOMING_REQUIRED)
    if not meta.get("organ_name"):
        raise ValidationFailed("Thiếu trường bắt buộc “Tên cơ quan, tổ chức ban hành”.", field="organ_name")
    domain.check_lengths(meta, domain.INCOMING_FIELDS)
    return meta


def check(g: Gateway, v: Viewer, fields: dict[str, Any]) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "check_paper_incoming", metadata_of(fields))


def _record(g: Gateway, v: Viewer, files: list[dict[str, Any]], owner_ref: str) -> None:
    store = blob_store(g.settings, v.user.agency_id)
    for f in files:
        store.stat(f["sha256"])  # a file that is not in this agency's store cannot be registered
        g.backends.call(v.actor, "storage", "record_file", f["sha256"], f["name"], f["content_type"], f["size"],
                        "scan" if f["role"] == "scan" else "attachment", owner_ref)


def register(g: Gateway, v: Viewer, fields: dict[str, Any], files: list[dict[str, Any]],
             request_key: str | None, detailed: bool = False, register_id: str | None = None) -> dict[str, Any]:
    """Record the files with storage, then the registry registers (or recognises the electronic twin); `detailed`
    answers the document's whole record, as the REST API shows it. `register_id`: the incoming register the clerk
    chose, as for an electronic arrival (an agency may keep one per type of document); None: the year's register
    of every type."""
    v.actor.require("clerk")
    meta = {**precheck(fields), "request_key": request_key}
    if not any(f["role"] == "scan" for f in files):
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản (bản quét)”.", field="files")
    _record(g, v, files, f"incoming-paper:{meta.get('code_number', '')}/{meta.get('code_notation', '')}")
    return g.backends.call(v.actor, "registry", "register_paper_incoming", meta, files, detailed=detailed,
                           register_id=register_id or None)


def return_document(g: Gateway, v: Viewer, fields: dict[str, Any], files: list[dict[str, Any]], defects: list[str],
                    note: str, request_key: str | None) -> dict[str, Any]:
    v.actor.require("clerk")
    check_return(defects, note)
    meta = {**metadata_of(fields), "request_key": request_key}
    _record(g, v, files, "incoming-returned")
    return g.backends.call(v.actor, "registry", "return_paper_incoming", meta, files, defects, note)


# --- the confirm form carries the stored files, signed for this session ---------------------------------------

def seal_files(v: Viewer, files: list[dict[str, Any]]) -> str:
    body = json.dumps(files, ensure_ascii=False, sort_keys=True)
    mac = hmac.new(v.csrf.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{mac}.{body}"


def opened_files(v: Viewer, sealed: str) -> list[dict[str, Any]]:
    mac, _, body = (sealed or "").partition(".")
    good = hmac.new(v.csrf.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, good):
        raise ValidationFailed("Phiên nhập văn bản đã hết hạn; hãy chọn lại tệp.", code="stale_form", field="files")
    return json.loads(body)


# --- pages -----------------------------------------------------------------------------------------------------

def _choices() -> dict[str, Any]:
    return {"types": sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
            "priorities": [(int(k), label) for k, label in URGENCY_LABELS.items()],
            "channels": [(c, CHANNELS[c]) for c in PAPER_CHANNELS], "secrecies": SECRECY_CHOICES,
            "defects": list(RETURN_DEFECTS.items())}


def _upload_page(request: Request, g: Gateway, v: Viewer, error: str | None = None, status_code: int = 200,
                 channel: str = "paper") -> Response:
    return render(request, "paper_new.html", v, status_code=status_code, error=error, channel=channel,
                  max_mb=g.settings.max_upload_mb, **_choices())


def _confirm_page(request: Request, g: Gateway, v: Viewer, form: dict[str, Any], files: list[dict[str, Any]],
                  error: str | None = None, status_code: int = 200, read_by: str | None = None,
                  checked: dict[str, Any] | None = None) -> Response:
    form.setdefault("form_key", secrets.token_urlsafe(18))
    if checked is None:
        try:
            checked = check(g, v, form)
        except CongVanError as exc:  # a secret mark read from the scan: said at once, with the rule
            checked, error = {"paper_twin_of": None, "warnings": []}, error or exc.message_vi
    return render(request, "paper_confirm.html", v, status_code=status_code, form=form, files=files,
                  sealed=seal_files(v, files), error=error, read_by=read_by, twin=checked.get("paper_twin_of"),
                  warnings=checked.get("warnings") or [], today=clock.today_vn().isoformat(),
                  registers=_registers(g, v, "incoming"), **_choices())


def install(app: FastAPI) -> None:
    @app.get("/van-ban-den/nhap-van-ban-giay", response_class=HTMLResponse, include_in_schema=False)
    def upload_form(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        return _upload_page(request, g, v)

    @app.post("/van-ban-den/nhap-van-ban-giay/doc", response_class=HTMLResponse, include_in_schema=False)
    def read(request: Request, channel: str = Form("paper"), files: list[UploadFile] = File([]),
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            scanned = read_scan(g, v, files, channel)
        except CongVanError as exc:
            return _upload_page(request, g, v, exc.message_vi, exc.http_status, channel)
        return _confirm_page(request, g, v, scanned["fields"], scanned["files"], read_by=scanned["read_by"])

    @app.post("/van-ban-den/nhap-van-ban-giay", include_in_schema=False)
    async def confirm(request: Request, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        posted = await request.form()
        form = {k: str(posted.get(k) or "") for k in (*FIELDS, "form_key", "note", "register_id")}
        files = opened_files(v, str(posted.get("files") or ""))
        key = form["form_key"].strip()[:64] or None
        try:
            if posted.get("action") == "return":
                doc = return_document(g, v, form, files, [str(d) for d in posted.getlist("defects")],
                                      form["note"], f"return:{key}" if key else None)
                return RedirectResponse(f"/van-ban/{doc['id']}?thong-bao=da-tra-lai", status_code=303)
            doc = register(g, v, form, files, key, register_id=form["register_id"].strip()[:64] or None)
        except CongVanError as exc:
            return _confirm_page(request, g, v, form, files, exc.message_vi, exc.http_status)
        notice = "ban-giay-da-co" if doc.get("paper_duplicate_of") else "da-vao-so"
        return RedirectResponse(f"/van-ban/{doc['id']}?thong-bao={notice}", status_code=303)

    @app.get("/van-ban/{doc_id}/phieu-tra.pdf", include_in_schema=False)
    def slip(doc_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        from gateway.return_slip import slip_response

        return slip_response(g, v, doc_id)

    from gateway import api_paper

    app.include_router(api_paper.router)
