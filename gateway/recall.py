"""Recall, take back and update (STANDARDS §8.3; statuses 13, 15, 16), from the screens and the REST API.

The sender's clerk asks from the outgoing document's page, or from a copy's once it was sent (the copy is named by
the number it was sent with), with a reason (thu hồi: a type-1 package; lấy lại: a status 13; cập nhật: a type-2
package with the new trích yếu); the request travels as edXML through the interconnect. The receiver's clerk sees
it on the incoming document's page (a received copy is one) and in the list "Yêu cầu thu hồi, cập nhật, lấy lại",
and agrees or refuses; the answer goes back as 15 or 16. An agreed recall deletes the files and keeps the metadata
and the history (services/registry/recall.py)."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Header, Path, Request, Security
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from gateway import paper_corrections
from gateway.api import (
    COMMON_ERRORS,
    DOC_ID,
    NOT_FOUND,
    DocumentDetail,
    DocumentSummary,
    Page,
    _document,
    _problem,
    bearer,
)
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.dates import typed_day
from gateway.web import panel
from services.common import clock

KINDS = {"thu-hoi": "recall", "lay-lai": "take_back", "cap-nhat": "update"}
KIND_LABELS = {"recall": "Thu hồi", "take_back": "Lấy lại", "update": "Cập nhật", "revoke": "Thu hồi"}
NOTICES = {"da-gui-yeu-cau": "Đã gửi yêu cầu đến nơi nhận qua trục liên thông; kết quả hiện ở “Trạng thái tại nơi "
                             "nhận” khi nơi nhận trả lời.",
           "da-dong-y": "Đã đồng ý và báo lại nơi gửi.", "da-tu-choi-yeu-cau": "Đã từ chối yêu cầu và báo lại nơi gửi.",
           "da-nhan-lai-ban-giay": "Đã ghi nhận bản giấy của bản sao được nhận lại.",
           "da-nhan-lai-ban-giay-van-ban": "Đã ghi nhận bản giấy của văn bản được nhận lại.",
           # a record corrected or undone (gateway/paper_corrections.py)
           "da-sua-ghi-nhan-ban-giay": "Đã sửa ngày nhận lại và ghi chú của bản giấy.",
           "da-huy-ghi-nhan-ban-giay": "Đã hủy ghi nhận: nơi nhận trở lại “Chờ nhận lại bản giấy”. Ghi nhận lại đúng "
                                       "nơi nhận đã trả bản giấy.",
           "khong-doi-ghi-nhan": "Không có gì thay đổi: ghi nhận đã như vậy, hoặc biểu mẫu này đã được gửi trước đó.",
           "da-thu-hoi-ban-giay": "Bản sao chỉ gửi bản giấy: không có yêu cầu nào gửi qua trục liên thông. Thu lại "
                                  "bản giấy ở từng nơi nhận rồi ghi nhận ở khung “Nhận lại bản giấy”.",
           "da-thu-hoi-van-ban-giay": "Văn bản không có nơi nhận điện tử: không có yêu cầu nào gửi qua trục liên "
                                      "thông. Thu lại bản giấy ở từng nơi nhận bản giấy rồi ghi nhận ở khung “Nhận "
                                      "lại bản giấy”.",
           "da-cap-nhat-tai-cho": "Đã cập nhật văn bản. Văn bản không có nơi nhận điện tử: không có yêu cầu nào gửi "
                                  "qua trục liên thông. Các đơn vị trong cơ quan thấy trích yếu mới (người của đơn vị "
                                  "nhận văn bản được báo); nơi nhận bản giấy (nếu có) cần được báo ngoài phần mềm.",
           "da-thu-hoi-noi-bo": "Văn bản chỉ gửi nội bộ: đã chuyển sang “Đã thu hồi” và người của các đơn vị nhận "
                                "văn bản được báo; không có yêu cầu nào gửi qua trục liên thông."}
FIELD_WORDS = {"subject": "trích yếu", "content": "nội dung"}
# paper recipients (services/registry/paper_returns.py): nobody asks them, the clerk records the paper given back
RECALL_STATES = {"requested": "Đang chờ trả lời", "accepted": "Đồng ý", "refused": "Từ chối",
                 "paper_pending": "Chờ nhận lại bản giấy", "paper_returned": "Đã nhận lại bản giấy"}

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])
WRITE_ERRORS = {**NOT_FOUND, 409: _problem("Trạng thái của văn bản đã đổi")}
IDEMPOTENCY = Header(None, alias="Idempotency-Key", max_length=64,
                     description="One key per request: the same request sent again changes nothing more")


CHANGE_ACTIONS = ("recalled", "change_sent", "change_requested", "change_accepted", "change_refused", "change_closed",
                  "revoked", "content_withdrawn", "change_answered", "copy_paper_recipients", "paper_returned",
                  "paper_return_corrected", "paper_return_undone")
PAPER_ACTIONS = ("copy_paper_recipients", "paper_returned", "paper_return_corrected", "paper_return_undone")


def history_note(h: dict[str, Any]) -> str:
    """The words beside a recall/update step in the history: what was asked, why, and what came of it."""
    details = h.get("details") or {}
    if h.get("action") in PAPER_ACTIONS:
        return paper_note(h["action"], details)
    kind = KIND_LABELS.get(details.get("kind") or ("recall" if h.get("action") == "recalled" else ""), "")
    if h.get("action") == "change_closed":
        returned = f", {details['paper_returned']} bản giấy đã nhận lại" if details.get("paper_returned") else ""
        return f"{kind}: {details.get('accepted', 0)} đồng ý, {details.get('refused', 0)} từ chối{returned}"
    if h.get("action") == "content_withdrawn":
        return f"{details.get('files', 0)} tệp"
    changes = (details.get("changes") or {}).items()
    changed = "; ".join(f"{FIELD_WORDS.get(k, k)}: “{new}”" for k, (_old, new) in changes)
    automatic = "tự động đồng ý vì chưa vào sổ" if details.get("automatic") else ""
    if h.get("action") == "change_answered":  # about a document recalled already: answered without the clerk
        automatic = "tự động " + ("đồng ý" if details.get("status_code") == "15" else "từ chối")
    waiting = f"{details['paper_pending']} nơi nhận bản giấy chờ nhận lại" if details.get("paper_pending") else ""
    parts = [kind, details.get("reason") or "", changed, automatic, waiting]
    return " — ".join(p for p in parts if p)


def paper_note(action: str, details: dict[str, Any]) -> str:
    """A copy's paper recipients as recorded, or one paper given back: who, on which day, the note; a correction
    with the day and note before it, an undo with its reason."""
    if action == "copy_paper_recipients":
        return "; ".join(r.get("organ_name") or "" for r in details.get("recipients") or [])
    parts = [f"{details.get('organ_name') or details.get('organ_id') or ''}, ngày {_day(details.get('returned_on'))}",
             details.get("note") or ""]
    if action == "paper_return_corrected":
        before = details.get("before") or {}
        parts.append("trước khi sửa: " + ", ".join(p for p in (f"ngày {_day(before.get('returned_on'))}",
                                                                before.get("note") or "") if p))
    if action == "paper_return_undone":
        parts.append(f"lý do hủy: {details.get('reason') or ''}")
    return " — ".join(p for p in parts if p)


def _day(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def change_context(doc: dict[str, Any], request: Request) -> dict[str, Any]:
    """What document_changes.html needs: labels of the pending request, the recipients' answers, a form key."""
    for r in doc.get("recipients") or []:
        r["recall_label"] = " ".join(x for x in (RECALL_STATES.get(r.get("recall_state") or "", ""),
                                                 f"ngày {_day(r['returned_on'])}" if r.get("returned_on") else "") if x)
    return {"change_label": KIND_LABELS.get(doc.get("pending_change") or "", ""),
            "change_notice": NOTICES.get(request.query_params.get("yeu-cau") or "", ""),
            "change_key": secrets.token_urlsafe(18), "today": clock.today_vn().isoformat(),
            "paper_waiting": [r for r in doc.get("recipients") or [] if r.get("recall_state") == "paper_pending"],
            "paper_back": [r for r in doc.get("recipients") or [] if r.get("recall_state") == "paper_returned"],
            "paper_undo_open": paper_corrections.undo_open(doc)}


def home_panels(g: Gateway, v: Viewer) -> list[Any]:
    """The clerk's home: the senders' requests waiting for an answer, only when there are some (a badge, not an
    empty list every day)."""
    found = panel(g, v, "Yêu cầu thu hồi, cập nhật, lấy lại chờ trả lời", "registry", "list_change_requests",
                  "/van-ban-den/yeu-cau-thay-doi")
    return [found] if found.rows or found.error else []


def _ask_on_screen(g: Gateway, v: Viewer, method: str, doc_id: str, kind: str, reason: str, subject: str,
                   content: str, form_key: str) -> RedirectResponse:
    """The frame "Thu hồi, lấy lại, cập nhật" of an outgoing document's page or a copy's."""
    chosen = KINDS.get(kind, kind)
    changes = {"subject": subject, "content": content} if chosen == "update" else None
    got = g.backends.call(v.actor, "registry", method, doc_id, chosen, reason, changes, form_key.strip()[:64] or None)
    return RedirectResponse(f"/van-ban/{doc_id}?yeu-cau={_asked_notice(g, v, method, doc_id, chosen, got)}",
                            status_code=303)


def _asked_notice(g: Gateway, v: Viewer, method: str, doc_id: str, kind: str, got: dict[str, Any]) -> str:
    """What the page says after a request: sent over the interconnect, or, with no electronic recipient, nobody was
    asked: an update is made at once; for a recall the clerk takes the paper back (paper_returns.py); an outgoing
    document sent inside the agency only is recalled at once."""
    if got.get("pending_change"):
        return "da-gui-yeu-cau"
    if kind == "update":  # changed here at once: nobody to ask
        return "da-cap-nhat-tai-cho"
    if method == "request_copy_change":
        return "da-thu-hoi-ban-giay"
    doc = g.backends.call(v.actor, "registry", "get_document", doc_id)
    on_paper = any(r.get("recall_state") == "paper_pending" for r in doc.get("recipients") or [])
    return "da-thu-hoi-van-ban-giay" if on_paper else "da-thu-hoi-noi-bo"


def install(app: FastAPI) -> None:
    @app.post("/van-ban-di/{doc_id}/yeu-cau", include_in_schema=False)
    def ask(doc_id: str, kind: str = Form(...), reason: str = Form(""), subject: str = Form(""),
            content: str = Form("", max_length=4000), form_key: str = Form(""), v: Viewer = Depends(csrf_checked),
            g: Gateway = Depends(gw)):
        return _ask_on_screen(g, v, "request_change", doc_id, kind, reason, subject, content, form_key)

    @app.post("/van-ban-sao/{doc_id}/yeu-cau", include_in_schema=False)
    def ask_about_copy(doc_id: str, kind: str = Form(...), reason: str = Form(""), subject: str = Form(""),
                       content: str = Form("", max_length=4000), form_key: str = Form(""),
                       v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        return _ask_on_screen(g, v, "request_copy_change", doc_id, kind, reason, subject, content, form_key)

    @app.post("/van-ban-sao/{doc_id}/nhan-lai-ban-giay", include_in_schema=False)
    def paper_back(doc_id: str, organ_id: str = Form(..., max_length=35), returned_date: str = Form("", max_length=20),
                   note: str = Form("", max_length=500), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "registry", "record_paper_return", doc_id, organ_id, typed_day(returned_date), note)
        return RedirectResponse(f"/van-ban/{doc_id}?yeu-cau=da-nhan-lai-ban-giay", status_code=303)

    @app.post("/van-ban-di/{doc_id}/nhan-lai-ban-giay", include_in_schema=False)
    def outgoing_paper_back(doc_id: str, organ_id: str = Form(..., max_length=35),
                            returned_date: str = Form("", max_length=20), note: str = Form("", max_length=500),
                            v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "registry", "record_outgoing_paper_return", doc_id, organ_id,
                        typed_day(returned_date), note)
        return RedirectResponse(f"/van-ban/{doc_id}?yeu-cau=da-nhan-lai-ban-giay-van-ban", status_code=303)

    @app.post("/van-ban-den/{doc_id}/tra-loi-yeu-cau", include_in_schema=False)
    def decide(doc_id: str, decision: str = Form(...), reason: str = Form(""), form_key: str = Form(""),
               v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        accept = decision == "dong-y"
        g.backends.call(v.actor, "registry", "decide_change", doc_id, accept, reason, form_key.strip()[:64] or None)
        notice = "da-dong-y" if accept else "da-tu-choi-yeu-cau"
        return RedirectResponse(f"/van-ban/{doc_id}?yeu-cau={notice}", status_code=303)

    @app.get("/van-ban-den/yeu-cau-thay-doi", response_class=HTMLResponse, include_in_schema=False)
    def requests_page(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "change_requests.html", v, labels=KIND_LABELS,
                      panel=panel(g, v, "Yêu cầu thu hồi, cập nhật, lấy lại chờ trả lời", "registry",
                                  "list_change_requests"))

    app.include_router(router)
    paper_corrections.install(app)  # a paper given back recorded by mistake: corrected, undone


class ChangeRequest(BaseModel):
    kind: str = Field(pattern="^(recall|take_back|update)$", description="recall: thu hồi (gói tin loại 1); "
                      "take_back: lấy lại (trạng thái 13); update: cập nhật (gói tin loại 2)")
    reason: str = Field(min_length=1, max_length=1000, description="Lý do, sent to the recipients")
    subject: str | None = Field(None, max_length=500, description="update only: the new trích yếu")
    content: str | None = Field(None, max_length=500, description="update only: the new summary of content (edXML "
                                "Content, at most 500 characters)")


class ChangeDecision(BaseModel):
    accept: bool = Field(description="true: đồng ý (15); false: từ chối (16)")
    reason: str = Field("", max_length=1000, description="Lý do; required to refuse")


class ChangeRequestItem(DocumentSummary):
    change: dict[str, Any] = Field(description="kind (revoke, update, take_back), reason, received_at")


@router.post("/outgoing/{doc_id}/changes", response_model=DocumentDetail, responses=WRITE_ERRORS,
             tags=["Văn bản đi"], summary="Thu hồi, lấy lại hoặc cập nhật văn bản đã gửi (có lý do)")
def api_request_change(body: ChangeRequest, doc_id: str = Path(pattern=DOC_ID), key: str | None = IDEMPOTENCY,
                       v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return _ask_over_api(g, v, "request_change", doc_id, body, key, "outgoing")


@router.post("/copies/{doc_id}/changes", response_model=DocumentDetail, responses=WRITE_ERRORS, tags=["Bản sao"],
             operation_id="request_copy_change",
             summary="Thu hồi, lấy lại hoặc cập nhật bản sao đã gửi qua trục liên thông (có lý do)")
def api_request_copy_change(body: ChangeRequest, doc_id: str = Path(pattern=DOC_ID),
                            key: str | None = IDEMPOTENCY, v: Viewer = Depends(csrf_checked),
                            g: Gateway = Depends(gw)) -> dict[str, Any]:
    """As for an outgoing document: the copy's recipients are asked, each answers on its line (`recall_state`)."""
    return _ask_over_api(g, v, "request_copy_change", doc_id, body, key, "copies")


def _ask_over_api(g: Gateway, v: Viewer, method: str, doc_id: str, body: ChangeRequest, key: str | None,
                  direction: str) -> dict[str, Any]:
    changes = {"subject": body.subject, "content": body.content} if body.kind == "update" else None
    g.backends.call(v.actor, "registry", method, doc_id, body.kind, body.reason, changes,
                    f"api:{key}" if key else None)
    return _document(g, v, doc_id, direction)


class PaperReturn(BaseModel):
    organ_id: str = Field(min_length=1, max_length=35, description="The paper recipient's line of the copy or "
                          "outgoing document (`recipients[].organ_id`, `giay-01`, …), waiting with `recall_state` "
                          "`paper_pending`")
    returned_date: str | None = Field(None, max_length=20, description="The day the paper came back (Vietnam day, "
                                      "YYYY-MM-DD; dd/mm/yyyy accepted); default today; not in the future, not "
                                      "before the copy's date or the document's issue")
    note: str = Field("", max_length=500, description="Ghi chú (how, by whom), shown in the recipient's “Mô tả”")


@router.post("/copies/{doc_id}/paper-returns", response_model=DocumentDetail, responses=WRITE_ERRORS,
             tags=["Bản sao"], operation_id="record_copy_paper_return",
             summary="Ghi nhận đã nhận lại bản giấy của bản sao từ nơi nhận bản giấy (sau yêu cầu thu hồi, lấy lại)")
def api_paper_return(body: PaperReturn, doc_id: str = Path(pattern=DOC_ID), v: Viewer = Depends(csrf_checked),
                     g: Gateway = Depends(gw)) -> dict[str, Any]:
    """Paper recipients cannot be asked over the interconnect: after a recall or a take-back of the copy, the
    clerk records each paper copy given back. Once per copy and recipient: recorded again, nothing changes."""
    return _paper_over_api(g, v, "record_paper_return", doc_id, body, "copies")


@router.post("/outgoing/{doc_id}/paper-returns", response_model=DocumentDetail, responses=WRITE_ERRORS,
             tags=["Văn bản đi"], operation_id="record_outgoing_paper_return",
             summary="Ghi nhận đã nhận lại bản giấy của văn bản đi từ nơi nhận bản giấy (sau yêu cầu thu hồi, lấy lại)")
def api_outgoing_paper_return(body: PaperReturn, doc_id: str = Path(pattern=DOC_ID),
                              v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    """As for a copy: after a recall or a take-back of the outgoing document, the clerk records each paper given
    back by a paper recipient of its issue. Once per document and recipient."""
    return _paper_over_api(g, v, "record_outgoing_paper_return", doc_id, body, "outgoing")


def _paper_over_api(g: Gateway, v: Viewer, method: str, doc_id: str, body: PaperReturn,
                    direction: str) -> dict[str, Any]:
    g.backends.call(v.actor, "registry", method, doc_id, body.organ_id, typed_day(body.returned_date), body.note)
    return _document(g, v, doc_id, direction)


@router.post("/incoming/{doc_id}/change-decision", response_model=DocumentDetail, responses=WRITE_ERRORS,
             tags=["Văn bản đến"], summary="Đồng ý hoặc từ chối yêu cầu thu hồi, cập nhật, lấy lại của nơi gửi")
def api_decide_change(body: ChangeDecision, doc_id: str = Path(pattern=DOC_ID), key: str | None = IDEMPOTENCY,
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, Any]:
    g.backends.call(v.actor, "registry", "decide_change", doc_id, body.accept, body.reason,
                    f"api:{key}" if key else None)
    return _document(g, v, doc_id, "incoming")


@router.get("/change-requests", response_model=Page[ChangeRequestItem], tags=["Văn bản đến"],
            summary="Văn bản đến có yêu cầu thu hồi, cập nhật, lấy lại chờ trả lời")
def api_change_requests(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
    return g.backends.call(v.actor, "registry", "list_change_requests")
