"""Clerk's document pages: send a signed document, receive, the registers, a document's page, issue, file
downloads (the routes; what they show is in document_page, sending, registers and downloads)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import late_entry
from gateway import recipient_groups as rg
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.backends import ServiceUnavailable
from gateway.dates import typed_day
from gateway.document_page import _decorate, document_response
from gateway.downloads import file_response
from gateway.drafting import settle
from gateway.issuing import copies, issue_choices, recipients_by_channel
from gateway.recall import install as recall_install
from gateway.reception import waiting_panel
from gateway.recipient_picker import ordered, picker_context
from gateway.registers import _registers
from gateway.replacing import chosen_replacement, replace_choices
from gateway.replacing import install as replacing_install
from gateway.sending import _send_page, send_signed
from gateway.web import list_panel
from services.common import clock
from services.common.errors import CongVanError, ValidationFailed
from services.registry.catalog import URGENCY_LABELS


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
    def waiting_reception(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        # the agency's limit in working hours, from arrival
        return render(request, "list.html", v, panel=waiting_panel(g, v, page=trang))

    @app.get("/van-ban-den", response_class=HTMLResponse, include_in_schema=False)
    def incoming_register(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        found = list_panel(g, v, "Sổ văn bản đến", "list_incoming", trang)
        found.arrival = True
        return render(request, "list.html", v, panel=found)

    @app.get("/van-ban-di", response_class=HTMLResponse, include_in_schema=False)
    def outgoing_register(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v, panel=list_panel(g, v, "Sổ văn bản đi", "list_outgoing", trang))

    @app.get("/van-ban-di/cho-ban-hanh", response_class=HTMLResponse, include_in_schema=False)
    def waiting_issue(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "list.html", v,
                      panel=list_panel(g, v, "Văn bản đi chờ ban hành", "list_waiting_issue", trang))

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
              internal_subunits: bool = Form(False),
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
                                           bool(replaced), expansion.skipped, internal_subunits)
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
