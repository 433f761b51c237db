"""Electronic copies (sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27; issue 18 item 7): the clerk copies a
registered incoming or an issued outgoing document from its page; the registry numbers the copy from the copies
register (Sổ bản sao: its own yearly series, notation `05/SY-UBND`) and signing seals each copied PDF (the main file
and, for sao y and sao lục, every appendix) with the copy form at the top right of page 1, like an issue; an
appendix that is not a PDF is copied as it is. The copy's page lists its files in the source's order, each with its
verdict. The list of copies is the copies register's page. From its page, a copy is sent to agencies of the
interconnect directory, with the send screen's recipient picker, and to paper recipients typed by name (as at issue:
gateway/issuing.py), once per recipient (registry.send_copy); the page shows each recipient's status like an
outgoing document's, and the copies register names the recipients, paper ones marked. REST:
POST /api/v1/documents/{id}/copies
(Idempotency-Key), GET /api/v1/copies/{id}, GET /api/v1/copies, POST /api/v1/copies/{id}/send,
GET /api/v1/copies/{id}/statuses."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Path, Request, Security, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from gateway import recipient_groups as rg
from gateway.api_recipient_groups import GROUPS_TO_SEND, SkippedRecipient
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.document_page import document_response, file_sizes
from gateway.idempotency import KEY, once
from gateway.issuing import PAPER_MAX, recipients_by_channel
from gateway.recipient_picker import ordered
from gateway.signature_labels import APPENDIX_ROLES, file_verdict
from gateway.web import list_panel
from services.common import clock
from services.common.errors import CongVanError, ValidationFailed
from services.registry.copies import COPY_FORMS
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

FORM_LABELS = {"SY": "Sao y", "SL": "Sao lục", "TrS": "Trích sao"}


class SendCopyRequest(BaseModel):
    recipients: list[str] = Field([], max_length=200, description="Organ ids (mã định danh) from the agency "
                                  "directory, in the order of “Nơi nhận” (kept); the copy goes to each over the "
                                  "interconnect")
    recipient_groups: list[str] = Field([], max_length=100, description=GROUPS_TO_SEND)
    paper_recipients: list[str] = Field([], max_length=PAPER_MAX, description="Gửi bản giấy: names (a company, a "
                                        "citizen, an agency without the interconnect), each ≤ 200 characters; "
                                        "recorded with channel `paper` (`giay-01`, …), listed in the copies register "
                                        "and on the printed list of recipients, never sent over the interconnect")


def copy_registers(g: Gateway, v: Viewer) -> list[dict[str, Any]]:
    return [r for r in g.backends.call(v.actor, "registry", "list_registers", year=clock.today_vn().year,
                                       direction="copies") if not r.get("closed")]


def make_copy(g: Gateway, v: Viewer, doc_id: str, form: str, register_id: str | None, pin: str | None,
              extract: UploadFile | None, request_key: str | None = None) -> dict[str, Any]:
    """Store the extract (trích sao) if any, then the registry numbers and signing seals the copy's files."""
    v.actor.require("clerk")
    if form not in COPY_FORMS:
        raise ValidationFailed("Hình thức sao không hợp lệ (sao y, sao lục, trích sao).", field="form")
    if not register_id:
        registers = copy_registers(g, v)
        if not registers:
            raise ValidationFailed("Chưa có sổ bản sao của năm nay; quản trị viên cần mở sổ.", field="register_id")
        register_id = registers[0]["id"]
    extract_sha = None
    if extract is not None and extract.filename:
        stored = ingest(blob_store(g.settings, v.user.agency_id), extract.file, extract.filename, purpose="to_sign",
                        max_size=g.settings.max_upload_mb * 1024 * 1024)
        g.backends.call(v.actor, "storage", "record_file", stored.sha256, stored.display_name, stored.content_type,
                        stored.size, "attachment", f"copy:{doc_id}")
        extract_sha = stored.sha256
    return g.backends.call(v.actor, "registry", "make_copy", doc_id, form, register_id, extract_sha,
                           pin=pin or None, request_key=request_key)


def send_copy(g: Gateway, v: Viewer, copy_id: str, organ_ids: list[str], group_ids: list[str] | None = None,
              paper: list[str] | str | None = None) -> dict[str, Any]:
    """Recipients chosen one by one and the members of the chosen groups (as an outgoing document's send), checked
    in the directory, and paper recipients by name (as at issue: gateway/issuing.py); at least one of any channel.
    The registry sends the copy to the electronic ones it was not sent to yet and records the paper ones it does
    not list yet. `skipped_recipients`: group members that can no longer receive."""
    v.actor.require("clerk")
    expansion = rg.expand(g, v, organ_ids, group_ids)
    chosen = recipients_by_channel(g, v, expansion.organ_ids, paper, skipped=expansion.skipped)
    sent = g.backends.call(v.actor, "registry", "send_copy", copy_id, chosen)
    return {**sent, "skipped_recipients": expansion.skipped}


def sent_notice(sent: dict[str, Any]) -> str:
    """The copy page's notice after "Gửi bản sao": sent over the interconnect, paper recipients recorded, or both."""
    if sent.get("duplicate"):
        return "ban-sao-da-gui-truoc-do"
    paper = any(o.startswith("giay-") for o in sent.get("sent_to") or [])
    electronic = any(not o.startswith("giay-") for o in sent.get("sent_to") or [])
    return {(True, False): "da-gui-ban-sao", (False, True): "da-ghi-ban-giay"}.get((electronic, paper),
                                                                                  "da-gui-ban-sao-va-ban-giay")


def with_files(g: Gateway, v: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    """A copy as REST shows it: each file (main first, then the appendices in the source's order) with its size
    and its own signature verdict; a file that is not a PDF says why it carries none."""
    file_sizes(g, v, doc)
    for a in doc.get("attachments") or []:
        file_verdict(g, v, doc, a)
        report = a.get("verification")
        a["legally_valid"] = bool(report.get("legally_valid")) if isinstance(report, dict) else None
    return doc


def _page(request: Request, g: Gateway, v: Viewer, doc_id: str, error: str | None = None,
          status_code: int = 200, form_key: str = "") -> Response:
    doc = g.backends.call(v.actor, "registry", "get_document", doc_id)
    return render(request, "copies_new.html", v, status_code=status_code, doc=doc, forms=FORM_LABELS,
                  registers=copy_registers(g, v), error=error, form_key=form_key or secrets.token_urlsafe(18),
                  appendices=[a for a in doc.get("attachments") or [] if a.get("role") in APPENDIX_ROLES])


def install(app: FastAPI) -> None:
    app.include_router(router)

    @app.get("/van-ban/{doc_id}/sao", response_class=HTMLResponse, include_in_schema=False)
    def copy_form(request: Request, doc_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require("clerk")
        return _page(request, g, v, doc_id)

    @app.post("/van-ban/{doc_id}/sao", include_in_schema=False)
    def copy(request: Request, doc_id: str, form: str = Form(...), register_id: str = Form(""),
             pin: str = Form("", max_length=64), file: UploadFile | None = File(None),
             form_key: str = Form("", max_length=64), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        key = form_key.strip()
        try:   # the form's key: a second click, or the same form sent again, returns the first copy
            made = make_copy(g, v, doc_id, form, register_id or None, pin, file, f"form:{key}" if key else None)
        except CongVanError as exc:
            return _page(request, g, v, doc_id, exc.message_vi, exc.http_status, key)
        return RedirectResponse(f"/van-ban/{made['id']}?thong-bao=da-sao", status_code=303)

    @app.post("/van-ban/{doc_id}/gui-ban-sao", include_in_schema=False)
    def send(request: Request, doc_id: str, recipients: list[str] = Form([]),
             recipient_codes: str = Form("", max_length=4000), recipient_groups: list[str] = Form([]),
             paper_recipients: str = Form("", max_length=12000), v: Viewer = Depends(csrf_checked),
             g: Gateway = Depends(gw)):
        recipients = ordered(recipients, recipient_codes)
        try:
            sent = send_copy(g, v, doc_id, recipients, recipient_groups, paper_recipients)
        except CongVanError as exc:
            return document_response(request, g, v, doc_id, exc.http_status, copy_send_error=exc.message_vi,
                                     copy_chosen=recipients, copy_chosen_groups=recipient_groups,
                                     copy_paper=paper_recipients)
        return RedirectResponse(f"/van-ban/{doc_id}?thong-bao={sent_notice(sent)}{rg.skipped_query(sent)}",
                                status_code=303)

    @app.get("/van-ban-sao", response_class=HTMLResponse, include_in_schema=False)
    def copies_register(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v, panel=list_panel(g, v, "Sổ bản sao", "list_copies", trang))


def _api() -> APIRouter:
    from gateway import api as rest

    class CopyFile(rest.Attachment):
        id: str | None = None
        description: str | None = None
        signature_label: str | None = Field(None, description="Chữ ký số of this file in words: Hợp lệ, Không hợp "
                                            "lệ: …, or why a file that is not a PDF carries no copy form")
        legally_valid: bool | None = Field(None, description="signing's verdict on this file; null: not a PDF")
        verification: Any = Field(None, description="signing's report on this file (docs/signing.md)")

    class CopyDetail(rest.DocumentDetail):
        attachments: list[CopyFile] = Field([], description="Main file first, then the appendices in the source's "
                                            "order")

    api = APIRouter(prefix="/api/v1", responses=rest.COMMON_ERRORS, dependencies=[Security(rest.bearer)],
                    tags=["Bản sao"])

    @api.post("/documents/{doc_id}/copies", response_model=CopyDetail, status_code=201,
              responses=rest.NOT_FOUND,
              summary="Sao y, sao lục, trích sao một văn bản (bản sao điện tử có số riêng, đóng dấu cơ quan; sao y, "
                      "sao lục sao kèm các phụ lục)")
    def create_copy(response: Response, doc_id: str = Path(pattern=rest.DOC_ID),
                    form: str = Form(..., pattern="^(SY|SL|TrS)$", description="SY sao y, SL sao lục, TrS trích sao"),
                    register_id: str | None = Form(None, max_length=64, description="A copies register of this year; "
                                                   "default: the first open one"),
                    pin: str | None = Form(None, max_length=64, description="The seal token's PIN, used once"),
                    file: UploadFile | None = File(None, description="Trích sao: the extract, one PDF"),
                    key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
        """With an Idempotency-Key, the same request again returns the first copy and seals nothing new."""
        def run() -> dict[str, Any]:
            made = make_copy(g, v, doc_id, form, register_id, pin, file, f"api:{key}" if key else None)
            return with_files(g, v, g.backends.call(v.actor, "registry", "get_document", made["id"]))

        return once(g, v, key, response, f"copy:{doc_id}", {"form": form, "register_id": register_id}, run,
                    [file] if file is not None and file.filename else None)

    @api.get("/copies/{doc_id}", response_model=CopyDetail, responses=rest.NOT_FOUND,
             summary="Một bản sao: số, ký hiệu, các tệp đã đóng dấu (văn bản chính, phụ lục) với kết quả kiểm tra "
                     "chữ ký số, văn bản được sao (links: copy_of)")
    def copy_detail(doc_id: str = Path(pattern=rest.DOC_ID), v: Viewer = Depends(viewer),
                    g: Gateway = Depends(gw)) -> dict[str, Any]:
        return with_files(g, v, rest._document(g, v, doc_id, "copies"))

    class SentCopy(rest.OutgoingStatuses):
        sent_to: list[str] = Field(description="Recipients this request sent the copy to (organ ids) or recorded "
                                   "(paper ones: `giay-NN`); those it had been sent to already are not sent to again")
        duplicate: bool = Field(description="True when every recipient had the copy already: nothing was sent or "
                                "recorded")
        skipped_recipients: list[SkippedRecipient] = Field([], description="Members of the chosen recipient groups "
                                                           "that can no longer receive: not sent to")

    @api.post("/copies/{doc_id}/send", response_model=SentCopy, responses=rest.NOT_FOUND,
              summary="Gửi bản sao điện tử qua trục liên thông và ghi nơi nhận bản giấy (một lần cho mỗi nơi nhận)")
    def send(body: SendCopyRequest, response: Response, doc_id: str = Path(pattern=rest.DOC_ID), key: str | None = KEY,
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
        """Sent once per copy and recipient, whatever the key: a recipient sent to before is left out of the package
        (`sent_to` names those this request sent to), a paper recipient already listed (same name) is not listed
        again. With an Idempotency-Key the same request again answers the
        first answer."""
        def run() -> dict[str, Any]:
            sent = send_copy(g, v, doc_id, body.recipients, body.recipient_groups, body.paper_recipients)
            doc = rest._document(g, v, doc_id, "copies")
            return {"id": doc["id"], "document_id": doc.get("document_id"), "recipients": doc.get("recipients") or [],
                    "sent_to": sent.get("sent_to") or [], "duplicate": bool(sent.get("duplicate")),
                    "skipped_recipients": sent["skipped_recipients"]}

        return once(g, v, key, response, f"copy-send:{doc_id}", body, run)

    @api.get("/copies/{doc_id}/statuses", response_model=rest.OutgoingStatuses, responses=rest.NOT_FOUND,
             summary="Trạng thái bản sao tại từng nơi nhận (01 đã đến … 06 hoàn thành, 02 từ chối)")
    def copy_statuses(doc_id: str = Path(pattern=rest.DOC_ID), v: Viewer = Depends(viewer),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
        doc = rest._document(g, v, doc_id, "copies")
        return {"id": doc["id"], "document_id": doc.get("document_id"), "recipients": doc.get("recipients") or []}

    @api.get("/copies", response_model=rest.Page[rest.DocumentSummary], summary="Sổ bản sao: các bản sao của cơ quan")
    def copies(page: int = rest.PageNo, size: int = rest.PageSize, v: Viewer = Depends(viewer),
               g: Gateway = Depends(gw)) -> dict:
        return g.backends.call(v.actor, "registry", "list_copies", page, size)

    return api


router = _api()
