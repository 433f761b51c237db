"""REST API of the clerk's and the drafter's writes that issue 18 made reachable from the screens: a draft with its
appendices, the draft's detail (issued, with its number), issuing a signed draft, and "Gửi văn bản" (an already
signed document, its signatures checked first; one document per Idempotency-Key). Same services, same rules as the
pages (gateway/drafting.py, gateway/documents.py); errors are problem+json (gateway/api.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Header, Path, Response, Security, UploadFile
from pydantic import BaseModel, Field

from gateway.api import (
    COMMON_ERRORS,
    DOC_ID,
    NOT_FOUND,
    DocumentDetail,
    Draft,
    Register,
    _document,
    _problem,
    bearer,
)
from gateway.api_recipient_groups import GROUPS_TO_SEND, SkippedRecipient
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.idempotency import KEY, once, service_key
from services.common.errors import ValidationFailed
from services.registry.catalog import DOCUMENT_TYPES

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])
WRITE_ERRORS = {**NOT_FOUND, 409: _problem("Số không còn là số tiếp theo của sổ, sổ đã khóa, hoặc trạng thái đã đổi")}
IDEMPOTENCY = Header(None, alias="Idempotency-Key", max_length=64,
                     description="One key per document: the same request sent again returns the first document")


class DraftDetail(Draft):
    appendix_sha256s: list[str] = Field([], description="Appendices (phụ lục) of the current version, PDF files")
    signed_sha256: str | None = None
    outgoing_id: str | None = Field(None, description="The outgoing document made of it once issued")
    issued_number: str | None = Field(None, description="Số, ký hiệu given at issue, e.g. 05/UBND-TH")
    issued_at: str | None = None
    paper: dict[str, Any] | None = Field(None, description="Approved and signed on paper (agency rule paper_signing): "
                                         "approved_by, on_behalf_of, approved_at, step, then scan_sha256, "
                                         "forwarded_by, forwarded_at once the scan was forwarded for issue, "
                                         "with scan_check {score (per cent, the lowest page's; null: nothing "
                                         "read on the scan), matches, confirmed, version, missing, added, "
                                         "scan_pages, approved_pages, blank_scan_pages, pages [{page, kind, score, "
                                         "missing, added}] (the pages that differ)}: every page of the scan "
                                         "against the approved version's; before that, scan_upload {sha256, state "
                                         "(checking | checked | failed), confirmed, note, check, error} (GET "
                                         "/drafts/{id}/paper-scan says it in Vietnamese)")
    comments: list[dict[str, Any]] | None = Field(None, description="The draft's history (comments and steps): kind, "
                                                  "step, user_id, on_behalf_of, version, text, at (when entered); a "
                                                  "step entered late after an outage has late_entry and happened_at "
                                                  "(its real time, Vietnam time)")
    paper_signing: str | None = Field(None, description="The agency's rule: 'allowed' lets the leader at the "
                                      "signing step choose POST /drafts/{id}/paper-approval; 'no' refuses it")


class IssueRequest(BaseModel):
    recipients: list[str] = Field([], description="Electronic recipients: organ ids (mã định danh) from the agency "
                                  "directory, sent over the interconnect; in the order of “Nơi nhận”, kept in the "
                                  "document and the package (GET /directory/agencies finds them)")
    paper_recipients: list[str] = Field([], max_length=50, description="Recipients of a paper copy only, by name "
                                        "(listed in the register and on the printed list, never sent)")
    recipient_groups: list[str] = Field([], max_length=100, description=GROUPS_TO_SEND)
    internal_units: list[str] = Field([], description="Units of the agency (their codes) that receive it internally")
    internal_units_with_subunits: bool = Field(False, description="Each unit of `internal_units` receives it together "
                                               "with the active units of every level under it (Cây đơn vị): each is "
                                               "recorded as an internal recipient of its own")
    issued_amount: int | None = Field(None, ge=1, le=999, description="Số lượng bản phát hành (column 7 of the "
                                      "outgoing register)")
    legal_normative: bool = Field(False, description="Văn bản quy phạm pháp luật (NQ, QĐ): numbered in its type's own "
                                  "register (scope QPPL-<type>), the number carries the year: 09/2026/QĐ-UBND")
    register_id: str | None = Field(None, description="An outgoing register of this year; default: the first open")
    priority: int | None = Field(None, ge=0, le=3)
    no_paper_copy: bool = Field(False, description="No paper original is sent (Không gửi kèm bản giấy)")
    pin: str | None = Field(None, max_length=64, description="PIN of the agency seal's token, typed by the clerk now; "
                            "used once, never stored (not needed on a test installation with server-held keys)")
    replaces: str | None = Field(None, pattern=DOC_ID, description="Thay thế văn bản: the id of one of the agency's "
                                 "issued outgoing documents that this one replaces. Sent as an edXML package of "
                                 "business type 3 naming it (ReplacementInfo), to its recipients as well as those "
                                 "chosen here (then `recipients` may be empty). Refused (422) for the document "
                                 "itself, one not issued or recalled, one already replaced, another agency's")


class SentDocument(DocumentDetail):
    skipped_recipients: list[SkippedRecipient] = Field([], description="Members of the chosen recipient groups that "
                                                       "were not sent to: they left the directory or are locked")


class ApproveRequest(BaseModel):
    comment: str = Field("", max_length=2000, description="Ý kiến duyệt")
    pin: str | None = Field(None, max_length=64, description="At the signing step: the PIN of the signer's own token, "
                            "used once and never stored")
    otp: str | None = Field(None, max_length=12, description="One-time password, for a remote (CSC, SCAL2) signature")
    happened_at: str | None = Field(None, max_length=40, description="Late entry after an outage: when the approval "
                                    "was really given on paper (Vietnam time without a zone; not in the future, not "
                                    "before the draft's previous step). Refused at the signing step (422 "
                                    "signature_not_backdated): a digital signature's time is the signing itself")


@router.post("/drafts", response_model=DraftDetail, status_code=201, tags=["Dự thảo và công việc"],
             responses=WRITE_ERRORS, summary="Tạo dự thảo (kèm phụ lục)")
def create_draft(title: str = Form(..., min_length=1, max_length=500), type_code: str = Form("CV"),
                 priority: int = Form(0, ge=0, le=3), note: str = Form("", max_length=500),
                 answers: list[str] = Form([]), file: UploadFile = File(..., description="PDF, DOCX or ODT"),
                 appendices: list[UploadFile] = File([], description="Appendices, one PDF each"),
                 v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    from gateway.drafting import store_appendices, store_draft_file

    v.actor.require("specialist", "department_head", "leader")
    if type_code not in DOCUMENT_TYPES:
        raise ValidationFailed("Loại văn bản không hợp lệ.", field="type_code", value=type_code)
    sha, _name = store_draft_file(g, v, file, f"draft:new:{v.user.id}")
    extra = store_appendices(g, v, appendices, f"draft:new:{v.user.id}")
    return g.backends.call(v.actor, "routing", "create_draft", title.strip(), sha, type_code, extra,
                           [a for a in answers if a], priority, note)


@router.get("/drafts/{draft_id}", response_model=DraftDetail, responses=NOT_FOUND, tags=["Dự thảo và công việc"],
            summary="Một dự thảo: phiên bản, phụ lục, trạng thái, số khi đã ban hành")
def draft_detail(draft_id: int = Path(ge=1), v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict:
    return g.backends.call(v.actor, "routing", "get_draft", draft_id)


@router.post("/drafts/{draft_id}/approve", response_model=DraftDetail, responses=WRITE_ERRORS,
             tags=["Dự thảo và công việc"], summary="Duyệt dự thảo ở bước của mình; ở bước ký: duyệt và ký số bằng "
             "thiết bị ký số của mình (mã PIN)")
def approve_draft(body: ApproveRequest, draft_id: int = Path(ge=1), v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)) -> dict:
    """A wrong PIN is 422 `pin_incorrect`, a token locked by its own retry counter 403 `pin_locked`."""
    return g.backends.call(v.actor, "routing", "approve_draft", draft_id, body.comment, pin=body.pin or None,
                           otp=body.otp or None, **({"happened_at": body.happened_at} if body.happened_at else {}))


@router.post("/outgoing/{doc_id}/issue", response_model=SentDocument, responses=WRITE_ERRORS, tags=["Văn bản đi"],
             summary="Cấp số, ký số cơ quan và ban hành văn bản chờ ban hành")
def issue(body: IssueRequest, doc_id: str = Path(pattern=DOC_ID), idempotency_key: str | None = IDEMPOTENCY,
          v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    """With an Idempotency-Key, the same issue sent again returns the issued document (200) instead of 422."""
    from gateway.issuing import recipients_by_channel
    from gateway.recipient_groups import expand
    from gateway.registers import default_register

    v.actor.require("clerk")
    expansion = expand(g, v, body.recipients, body.recipient_groups)
    chosen = recipients_by_channel(g, v, expansion.organ_ids, body.paper_recipients, body.internal_units,
                                   bool(body.replaces), expansion.skipped, body.internal_units_with_subunits)
    register_id = body.register_id or default_register(g, v, "outgoing")
    g.backends.call(v.actor, "registry", "issue_outgoing", doc_id, register_id, chosen, body.priority,
                    body.no_paper_copy, body.issued_amount, pin=body.pin or None,
                    legal_normative=body.legal_normative, replaces=body.replaces,
                    request_key=f"api:{idempotency_key}" if idempotency_key else None)
    return {**_document(g, v, doc_id, "outgoing"), "skipped_recipients": expansion.skipped}


@router.post("/outgoing", response_model=SentDocument, status_code=201, tags=["Văn bản đi"],
             summary="Gửi văn bản đã ký số (kiểm tra chữ ký trước khi gửi)",
             responses={**WRITE_ERRORS, 200: {"description": "Sent before with the same Idempotency-Key: that document",
                                              "model": DocumentDetail}})
def send(response: Response, code_number: str = Form(..., max_length=11), code_notation: str = Form(..., max_length=30),
         promulgation_date: str = Form(..., description="yyyy-mm-dd"), type_code: str = Form("CV"),
         priority: int = Form(0, ge=0, le=3), subject: str = Form(..., min_length=1, max_length=500),
         signer_full_name: str = Form("", max_length=50), signer_position: str = Form("", max_length=100),
         recipients: list[str] = Form([], description="Organ ids (mã định danh) in the order of “Nơi nhận”, kept in "
                                      "the document and the package; with `recipient_groups`, at least one of the two"),
         recipient_groups: list[str] = Form([], description="Recipient groups (GET /recipient-groups), whose members "
                                            "are added; members that can no longer receive are skipped and named in "
                                            "`skipped_recipients`"),
         no_paper_copy: bool = Form(False, description="Không có văn bản giấy"),
         accept_not_legally_valid: bool = Form(False, description="Where the agency allows it: send a document "
                                               "without a legally valid signature, marked as such"),
         file: UploadFile = File(..., description="The signed PDF"),
         appendices: list[UploadFile] = File([], description="Appendices, one signed PDF each"),
         idempotency_key: str | None = IDEMPOTENCY, v: Viewer = Depends(csrf_checked),
         g: Gateway = Depends(gw)) -> dict[str, Any]:
    from gateway.sending import send_signed

    v.actor.require("clerk")
    form = {"code_number": code_number, "code_notation": code_notation, "promulgation_date": promulgation_date,
            "type_code": type_code, "priority": priority, "subject": subject, "recipients": recipients,
            "recipient_groups": recipient_groups, "signer_full_name": signer_full_name,
            "signer_position": signer_position,
            "no_paper_copy": no_paper_copy, "accept_not_legally_valid": accept_not_legally_valid,
            "form_key": f"api:{idempotency_key}" if idempotency_key else None}
    sent = send_signed(g, v, form, file, appendices)
    if sent.get("duplicate"):
        response.status_code = 200
    return {**_document(g, v, sent["id"], "outgoing"), "skipped_recipients": sent.get("skipped_recipients") or []}


class RegisterRequest(BaseModel):
    direction: str = Field(pattern="^(incoming|outgoing|copies)$")
    year: int = Field(ge=2000, le=2100)
    scope: str = Field("all", max_length=10, description="`all`, a document type code (NĐ 30 Phụ lục III), or "
                       "`QPPL-NQ` / `QPPL-QĐ`: the outgoing register of that type's legal-normative documents")
    name: str | None = Field(None, max_length=200)


@router.post("/registers", response_model=Register, status_code=201, responses=WRITE_ERRORS, tags=["Sổ văn bản"],
             summary="Mở sổ văn bản (quản trị viên; cả văn thư nếu quy định của cơ quan cho phép)")
def open_register(body: RegisterRequest, response: Response, key: str | None = KEY,
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict:
    # With a key the registry knows this opening too: the call delivered to it twice opens one register, not a 409.
    return once(g, v, key, response, "register_open", body,
                lambda: g.backends.call(v.actor, "registry", "create_register", body.direction, body.year,
                                        body.scope or "all", body.name, service_key(v, key)))
