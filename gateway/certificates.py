"""Chứng thư số (issue 20 item 3): the administrator enrols a person's or the agency's certificate, uploaded (.cer or
.pem) or read from the holder's token, and sees every enrolled certificate with its expiry warning (30 and 7 days).

    GET  /quan-tri/chung-thu-so            the list and the form
    POST /quan-tri/chung-thu-so            enrol (file, or token label)
    GET  /api/v1/certificates              the list (JSON)
    POST /api/v1/certificates              enrol (multipart: holder, kind, file | token_label)
The checks are the signing service's (services/signing/enrolment.py); a refusal says why in Vietnamese.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, Security, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.admin import admin_post, admin_viewer
from gateway.api import COMMON_ERRORS, bearer
from gateway.app import Gateway, Viewer, gw, render
from services.common.errors import ValidationFailed

MAX_UPLOAD = 64 * 1024
NOTICES = {"da-dang-ky": "Đã kiểm tra và đăng ký chứng thư số."}


def _holders(g: Gateway, v: Viewer) -> dict[str, str]:
    """user id → "Full name (username)" of the agency's accounts, the choices of the form."""
    return {u.id: f"{u.full_name} ({u.username})" for u in g.accounts.list_users(v.user.agency_id)}


def _enrol(g: Gateway, v: Viewer, holder: str, kind: str, file: UploadFile | None, token_label: str) -> dict:
    kind = "seal" if kind == "seal" else "personal"
    if kind == "personal" and holder not in _holders(g, v):
        raise ValidationFailed("Hãy chọn cán bộ của cơ quan mình để đăng ký chứng thư số.", field="holder")
    data = file.file.read(MAX_UPLOAD + 1) if file is not None and file.filename else b""
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed("Tệp chứng thư số quá lớn (tối đa 64 KB).", field="file")
    key_ref = {"source": "pkcs11", "token_label": token_label.strip()} if token_label.strip() else None
    if not data and key_ref is None:
        raise ValidationFailed("Hãy chọn tệp chứng thư số (.cer, .pem) hoặc nhập nhãn thiết bị ký số để đọc chứng "
                               "thư từ thiết bị.", field="file")
    certificate = base64.b64encode(data).decode() if data else None
    return g.backends.call(v.actor, "signing", "enrol_certificate", holder or "", kind, certificate, key_ref)


def _page(request: Request, g: Gateway, v: Viewer, error: str | None = None, status_code: int = 200,
          done: dict | None = None) -> Response:
    holders = _holders(g, v)
    rows = g.backends.call(v.actor, "signing", "enrolled_certificates")
    for row in rows:
        row["holder_name"] = "Con dấu cơ quan" if row["kind"] == "seal" else holders.get(row["holder"], row["holder"])
    return render(request, "admin_certificates.html", v, status_code=status_code, rows=rows, holders=holders,
                  error=error, done=done, notices=NOTICES, section="certificates")


def install(app: FastAPI) -> None:
    @app.get("/quan-tri/chung-thu-so", response_class=HTMLResponse, include_in_schema=False)
    def certificates(request: Request, v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)):
        return _page(request, g, v)

    @app.post("/quan-tri/chung-thu-so", include_in_schema=False)
    def enrol(request: Request, holder: str = Form(""), kind: str = Form("personal"),
              file: UploadFile | None = File(None), token_label: str = Form("", max_length=32),
              v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)):
        try:
            _enrol(g, v, holder, kind, file, token_label)
        except ValidationFailed as exc:  # refused: the reason on the same page, nothing bound
            return _page(request, g, v, exc.message_vi, exc.http_status)
        return RedirectResponse("/quan-tri/chung-thu-so?tb=da-dang-ky", status_code=303)

    app.include_router(_router())


def _router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Chứng thư số"], responses=COMMON_ERRORS,
                       dependencies=[Security(bearer)])

    @router.get("/certificates", summary="Chứng thư số đã đăng ký của cơ quan, kèm cảnh báo sắp hết hạn (30, 7 ngày)")
    def listed(v: Viewer = Depends(admin_viewer), g: Gateway = Depends(gw)) -> list[dict[str, Any]]:
        return g.backends.call(v.actor, "signing", "enrolled_certificates")

    @router.post("/certificates", status_code=201, summary="Đăng ký chứng thư số của cán bộ hoặc con dấu cơ quan "
                 "(tệp .cer/.pem, hoặc đọc từ thiết bị ký số theo nhãn)")
    def enrolled(holder: str = Form("", description="user id; empty for kind=seal"),
                 kind: str = Form("personal", pattern="^(personal|seal)$"),
                 file: UploadFile | None = File(None), token_label: str = Form("", max_length=32),
                 v: Viewer = Depends(admin_post), g: Gateway = Depends(gw)) -> dict[str, Any]:
        return _enrol(g, v, holder, kind, file, token_label)

    return router
