"""REST API of the paper, fax and e-mail arrivals and their return slips (issue 18 items 1 and 2): the same steps
as the screens of gateway/paper.py — read a scan, register it (one document per Idempotency-Key), return a document
with a wrong form and download its Phiếu trả. Errors are problem+json (gateway/api.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Response, Security, UploadFile
from pydantic import BaseModel, Field

from gateway import paper
from gateway.api import (
    COMMON_ERRORS,
    DOC_ID,
    NOT_FOUND,
    DocumentDetail,
    DocumentSummary,
    _document,
    _problem,
    bearer,
    labelled,
)
from gateway.api_clerk import IDEMPOTENCY, WRITE_ERRORS
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from services.registry.paper import RETURN_DEFECTS, check_return

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])
SCAN_FILES = File(..., description="The scan: one PDF, or JPEG/PNG pages in order (joined into one PDF), or one "
                  ".eml whose first PDF is the document and whose other files are kept with it")
CHANNEL = Form("paper", pattern="^(paper|fax|email)$", description="paper (giấy), fax, email (thư điện tử); an .eml "
               "is always email")


class PaperFields(BaseModel):
    """Phụ lục VI fields read from the scan's first page (only those found), for the clerk to confirm."""

    model_config = {"extra": "allow"}
    channel: str
    code_number: str | None = None
    code_notation: str | None = None
    type_code: str | None = None
    issued_date: str | None = Field(None, description="yyyy-mm-dd")
    organ_name: str | None = None
    organ_id: str | None = Field(None, description="When the issuer read is in the agency directory")
    subject: str | None = None
    priority: int | None = None
    secrecy: str | None = Field(None, description="A secrecy mark read on the page (MẬT, TỐI MẬT, TUYỆT MẬT): such a "
                                "document cannot be registered")
    description: str | None = None


class StoredScanFile(BaseModel):
    sha256: str
    name: str
    content_type: str
    size: int
    role: str = Field(description="scan (the document), appendix, attachment")


class PaperReading(BaseModel):
    fields: PaperFields
    files: list[StoredScanFile]
    read_by: str = Field(description="text (the PDF's text layer), ocr (Tesseract, Vietnamese), or empty")
    mail: dict[str, str] = Field({}, description="For an .eml: from_name, from_address, subject, sent, body")
    paper_twin_of: DocumentSummary | None = Field(None, description="The electronic document this paper is a copy "
                                                  "of (Đà Nẵng Đ5.5): registering records the copy on it instead")
    warnings: list[dict[str, Any]] = Field([], description="Duplicates among incoming documents")


class PaperRegistered(DocumentDetail):
    paper_duplicate_of: str | None = Field(None, description="Set when the scan is the paper copy of this electronic "
                                           "document: no second arrival number, the copy is in its history")
    duplicate: bool | None = Field(None, description="True when the same Idempotency-Key registered it before")


def _form(code_number: str, code_notation: str, issued_date: str, organ_name: str, subject: str, type_code: str,
          priority: int, secrecy: str, channel: str, signer_full_name: str, signer_position: str, due_date: str,
          description: str, page_amount: str) -> dict[str, Any]:
    return {"code_number": code_number, "code_notation": code_notation, "issued_date": issued_date,
            "organ_name": organ_name, "subject": subject, "type_code": type_code, "priority": priority,
            "secrecy": secrecy, "channel": channel, "signer_full_name": signer_full_name,
            "signer_position": signer_position, "due_date": due_date, "description": description,
            "page_amount": page_amount}


def _uploaded(g: Gateway, v: Viewer, files: list[UploadFile], channel: str) -> tuple[str, list[dict]]:
    """The upload's channel (an .eml is e-mail) and its stored files; the fields are the ones the client sent."""
    _scan, stored = paper.store_scan(g, v, files, channel)
    return stored["channel"], stored["files"]


@router.post("/incoming/paper/read", response_model=PaperReading, tags=["Văn bản đến"], responses=WRITE_ERRORS,
             summary="Đọc bản quét (PDF, ảnh, thư .eml): các trường đọc được, bản điện tử trùng, cảnh báo trùng")
def read_paper(files: list[UploadFile] = SCAN_FILES, channel: str = CHANNEL, v: Viewer = Depends(csrf_checked),
               g: Gateway = Depends(gw)) -> dict[str, Any]:
    """Nothing is registered. A secrecy mark read on the page answers 422 `secret_document` with the rule."""
    scanned = paper.read_scan(g, v, files, channel)
    checked = paper.check(g, v, scanned["fields"])
    return {**scanned, **checked}


@router.post("/incoming/paper", response_model=PaperRegistered, status_code=201, tags=["Văn bản đến"],
             summary="Vào sổ văn bản đến giấy, fax, thư điện tử (cùng dãy số đến với văn bản điện tử)",
             responses={**WRITE_ERRORS, 200: {"description": "Registered before with the same Idempotency-Key, or "
                                              "the paper copy of an electronic document (`paper_duplicate_of`)",
                                              "model": PaperRegistered}})
def register_paper(response: Response, files: list[UploadFile] = SCAN_FILES, channel: str = CHANNEL,
                   code_number: str = Form(..., max_length=11), code_notation: str = Form(..., max_length=30),
                   issued_date: str = Form("", description="yyyy-mm-dd or dd/mm/yyyy"),
                   organ_name: str = Form(..., max_length=200), subject: str = Form(..., max_length=500),
                   type_code: str = Form("CV"), priority: int = Form(0, ge=0, le=3),
                   secrecy: str = Form("", description="Empty: not secret. Any mark is refused (Đà Nẵng Đ1.3)"),
                   signer_full_name: str = Form("", max_length=50), signer_position: str = Form("", max_length=100),
                   due_date: str = Form(""), description: str = Form("", max_length=500),
                   page_amount: str = Form(""),
                   register_id: str = Form("", max_length=64, description="The incoming register (GET /registers?"
                                           "direction=incoming); empty: the year's register of every type"),
                   idempotency_key: str | None = IDEMPOTENCY,
                   v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    form = _form(code_number, code_notation, issued_date, organ_name, subject, type_code, priority, secrecy, channel,
                 signer_full_name, signer_position, due_date, description, page_amount)
    v.actor.require("clerk")
    paper.precheck(form)  # the fields' refusals, and a secret document's, come before anything is stored
    form["channel"], stored = _uploaded(g, v, files, channel)
    done = paper.register(g, v, form, stored, f"api:{idempotency_key}" if idempotency_key else None, detailed=True,
                          register_id=register_id.strip() or None)
    if done.get("duplicate") or done.get("paper_duplicate_of"):
        response.status_code = 200
    return {**labelled(done), "paper_duplicate_of": done.get("paper_duplicate_of"), "duplicate": done.get("duplicate")}


@router.post("/incoming/paper/return", response_model=DocumentDetail, status_code=201, tags=["Văn bản đến"],
             responses=WRITE_ERRORS, summary="Trả lại văn bản giấy sai thể thức (lập Phiếu trả, TP.HCM Đ6.1)")
def return_paper(files: list[UploadFile] = SCAN_FILES, channel: str = CHANNEL,
                 defects: list[str] = Form(..., description="One or more of: " + ", ".join(
                     f"{k} ({label})" for k, label in RETURN_DEFECTS.items())),
                 note: str = Form("", max_length=500, description="Required with WRONG_FORM"),
                 organ_name: str = Form(..., max_length=200, description="The issuer the slip goes back to"),
                 subject: str = Form("", max_length=500), code_number: str = Form("", max_length=11),
                 code_notation: str = Form("", max_length=30), issued_date: str = Form(""),
                 idempotency_key: str | None = IDEMPOTENCY, v: Viewer = Depends(csrf_checked),
                 g: Gateway = Depends(gw)) -> dict[str, Any]:
    """The document is kept as "Đã từ chối" without an arrival number; GET …/return-slip prints the slip."""
    check_return(defects, note)
    _channel, stored = _uploaded(g, v, files, channel)
    form = _form(code_number, code_notation, issued_date, organ_name, subject, "", 0, "", channel, "", "", "", "",
                 "")
    done = paper.return_document(g, v, form, stored, defects, note,
                                 f"api-return:{idempotency_key}" if idempotency_key else None)
    return _document(g, v, done["id"], "incoming")


@router.get("/incoming/{doc_id}/return-slip", tags=["Văn bản đến"], response_class=Response,
            responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}}, "description": "Phiếu trả (PDF)"},
                       422: _problem("Văn bản không được trả lại bằng phiếu trả (not_returned)")},
            summary="Tải Phiếu trả (PDF) của văn bản giấy đã trả lại")
def return_slip(doc_id: str = Path(pattern=DOC_ID), v: Viewer = Depends(viewer),
                g: Gateway = Depends(gw)) -> Response:
    from gateway.return_slip import slip_response

    return slip_response(g, v, doc_id)
