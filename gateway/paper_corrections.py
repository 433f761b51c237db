"""A paper given back recorded by mistake (services/registry/paper_returns.py), from the screens and the REST API:
the clerk corrects the day and the note of a recorded return ("Sửa ghi nhận"), or undoes a return recorded for the
wrong recipient with a reason ("Hủy ghi nhận"), on an outgoing document's page or a copy's, frame "Nhận lại bản
giấy" (document_changes.html). An undo is refused once the electronic recipients' answers closed the request: its
outcome counted that paper. Each is done once per operation: the form's key, the API's Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Response, Security
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from gateway.api import COMMON_ERRORS, DOC_ID, NOT_FOUND, DocumentDetail, _document, _problem, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw
from gateway.dates import typed_day
from gateway.idempotency import KEY, once, service_key

# the screens' paths of an outgoing document and of a copy, and the registry's direction of each
SCREENS = {"/van-ban-di": "outgoing", "/van-ban-sao": "copies"}
router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])
WRITE_ERRORS = {**NOT_FOUND, 409: _problem("Yêu cầu với khóa Idempotency-Key này đang được xử lý")}
ORGAN_ID = Path(min_length=1, max_length=35, pattern=r"^[A-Za-z0-9._:-]+$",
                description="The paper recipient's line (`recipients[].organ_id`: `giay-01`, …)")


def undo_open(doc: dict[str, Any]) -> bool:
    """Whether the screen offers "Hủy ghi nhận" (the registry decides: paper_returns._require_open): the recall or
    take-back still waits for electronic answers, or the document has no electronic recipient."""
    recipients = doc.get("recipients") or []
    return doc.get("pending_change") in ("recall", "take_back") or not any(
        r.get("channel") == "interconnect" for r in recipients)


def _form_key(form_key: str) -> str | None:
    return f"form:{form_key.strip()[:64]}" if form_key.strip() else None


def _back(doc_id: str, got: dict[str, Any], notice: str) -> RedirectResponse:
    """The document's page, saying what was done, or that nothing changed (a form sent twice, nothing to change)."""
    return RedirectResponse(f"/van-ban/{doc_id}?yeu-cau={'khong-doi-ghi-nhan' if got.get('duplicate') else notice}"
                            "#nhan-lai-ban-giay", status_code=303)


def install(app: FastAPI) -> None:
    for prefix, direction in SCREENS.items():
        fix, undo = _screen_routes(direction)
        app.add_api_route(f"{prefix}/{{doc_id}}/sua-nhan-lai-ban-giay", fix, methods=["POST"],
                          include_in_schema=False)
        app.add_api_route(f"{prefix}/{{doc_id}}/huy-nhan-lai-ban-giay", undo, methods=["POST"],
                          include_in_schema=False)
    app.include_router(router)


def _screen_routes(direction: str) -> tuple[Callable[..., RedirectResponse], Callable[..., RedirectResponse]]:
    """The forms "Sửa ghi nhận" and "Hủy ghi nhận" of one kind of page (outgoing document, copy)."""
    def fix(doc_id: str, organ_id: str = Form(..., max_length=35), returned_date: str = Form("", max_length=20),
            note: str = Form("", max_length=500), form_key: str = Form(""), v: Viewer = Depends(csrf_checked),
            g: Gateway = Depends(gw)) -> RedirectResponse:
        got = g.backends.call(v.actor, "registry", "correct_paper_return", doc_id, organ_id,
                              typed_day(returned_date), note, _form_key(form_key), direction)
        return _back(doc_id, got, "da-sua-ghi-nhan-ban-giay")

    def undo(doc_id: str, organ_id: str = Form(..., max_length=35), reason: str = Form("", max_length=1000),
             form_key: str = Form(""), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> RedirectResponse:
        got = g.backends.call(v.actor, "registry", "undo_paper_return", doc_id, organ_id, reason, _form_key(form_key),
                              direction)
        return _back(doc_id, got, "da-huy-ghi-nhan-ban-giay")

    return fix, undo


class PaperReturnCorrection(BaseModel):
    returned_date: str = Field(min_length=1, max_length=20, description="The right day the paper came back (Vietnam "
                               "day, YYYY-MM-DD; dd/mm/yyyy accepted): not in the future, not before the copy's date "
                               "or the document's issue")
    note: str = Field("", max_length=500, description="The right note; empty clears it")


class PaperReturnUndo(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="Why the record is undone (a wrong recipient)")


@router.put("/outgoing/{doc_id}/paper-returns/{organ_id}", response_model=DocumentDetail, responses=WRITE_ERRORS,
            tags=["Văn bản đi"], operation_id="correct_outgoing_paper_return",
            summary="Correct the day and note of a paper given back by a paper recipient of an outgoing document")
def api_correct_outgoing(body: PaperReturnCorrection, response: Response, doc_id: str = Path(pattern=DOC_ID),
                         organ_id: str = ORGAN_ID, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                         g: Gateway = Depends(gw)) -> dict[str, Any]:
    """A paper recorded as given back (`recall_state: paper_returned`) with the wrong day or note."""
    return _correct_over_api(g, v, response, "outgoing", doc_id, organ_id, body, key)


@router.put("/copies/{doc_id}/paper-returns/{organ_id}", response_model=DocumentDetail, responses=WRITE_ERRORS,
            tags=["Bản sao"], operation_id="correct_copy_paper_return",
            summary="Correct the day and note of a paper copy given back by a paper recipient of a copy")
def api_correct_copy(body: PaperReturnCorrection, response: Response, doc_id: str = Path(pattern=DOC_ID),
                     organ_id: str = ORGAN_ID, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                     g: Gateway = Depends(gw)) -> dict[str, Any]:
    """As for an outgoing document."""
    return _correct_over_api(g, v, response, "copies", doc_id, organ_id, body, key)


@router.post("/outgoing/{doc_id}/paper-returns/{organ_id}/undo", response_model=DocumentDetail,
             responses=WRITE_ERRORS, tags=["Văn bản đi"], operation_id="undo_outgoing_paper_return",
             summary="Undo a paper given back recorded for the wrong paper recipient of an outgoing document")
def api_undo_outgoing(body: PaperReturnUndo, response: Response, doc_id: str = Path(pattern=DOC_ID),
                      organ_id: str = ORGAN_ID, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)) -> dict[str, Any]:
    """The line waits again (`paper_pending`); refused (`request_closed`) once the electronic answers closed the
    request."""
    return _undo_over_api(g, v, response, "outgoing", doc_id, organ_id, body, key)


@router.post("/copies/{doc_id}/paper-returns/{organ_id}/undo", response_model=DocumentDetail,
             responses=WRITE_ERRORS, tags=["Bản sao"], operation_id="undo_copy_paper_return",
             summary="Undo a paper copy given back recorded for the wrong paper recipient of a copy")
def api_undo_copy(body: PaperReturnUndo, response: Response, doc_id: str = Path(pattern=DOC_ID),
                  organ_id: str = ORGAN_ID, key: str | None = KEY, v: Viewer = Depends(csrf_checked),
                  g: Gateway = Depends(gw)) -> dict[str, Any]:
    """As for an outgoing document."""
    return _undo_over_api(g, v, response, "copies", doc_id, organ_id, body, key)


def _correct_over_api(g: Gateway, v: Viewer, response: Response, direction: str, doc_id: str, organ_id: str,
                      body: PaperReturnCorrection, key: str | None) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        g.backends.call(v.actor, "registry", "correct_paper_return", doc_id, organ_id, typed_day(body.returned_date),
                        body.note, service_key(v, key), direction)
        return _document(g, v, doc_id, direction)
    return once(g, v, key, response, f"correct_paper_return:{direction}:{doc_id}:{organ_id}", body, run)


def _undo_over_api(g: Gateway, v: Viewer, response: Response, direction: str, doc_id: str, organ_id: str,
                   body: PaperReturnUndo, key: str | None) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        g.backends.call(v.actor, "registry", "undo_paper_return", doc_id, organ_id, body.reason,
                        service_key(v, key), direction)
        return _document(g, v, doc_id, direction)
    return once(g, v, key, response, f"undo_paper_return:{direction}:{doc_id}:{organ_id}", body, run)
