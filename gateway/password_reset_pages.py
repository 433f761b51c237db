"""The screens of "Quên mật khẩu" (gateway/password_reset.py): ask for a link by account name, then set the new
password through the link. Both are for people who are signed out: no session, no CSRF token (the link's secret is
what proves the person)."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.app import Gateway, gw, render
from gateway.password_reset import LINK_PARAM, NEUTRAL_VI, RESET_PAGE, ResetLinkInvalid
from services.common.errors import CongVanError

FORGOT_PAGE = "/quen-mat-khau"
log = logging.getLogger(__name__)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def ask(g: Gateway, request: Request, username: str, background: BackgroundTasks) -> None:
    """A request for a link, from the page or the API, handled after the answer (PasswordResets.ask)."""
    background.add_task(g.password_resets.ask, username, client_address(request))


def install(app: FastAPI) -> None:
    @app.get(FORGOT_PAGE, response_class=HTMLResponse, include_in_schema=False)
    def forgot_form(request: Request):
        return render(request, "forgot_password.html", None, sent=False)

    @app.post(FORGOT_PAGE, response_class=HTMLResponse, include_in_schema=False)
    def forgot(request: Request, background: BackgroundTasks, username: str = Form(..., max_length=200),
               g: Gateway = Depends(gw)):
        ask(g, request, username, background)
        return render(request, "forgot_password.html", None, sent=True, message=NEUTRAL_VI)

    @app.get(RESET_PAGE, response_class=HTMLResponse, include_in_schema=False)
    def reset_form(request: Request, token: str = Query("", alias=LINK_PARAM, max_length=200),
                   g: Gateway = Depends(gw)):
        try:
            username = g.password_resets.check(token)
        except ResetLinkInvalid as exc:
            return render(request, "reset_password.html", None, status_code=exc.http_status, invalid=exc.message_vi)
        return render(request, "reset_password.html", None, token=token, username=username, error=None)

    @app.post(RESET_PAGE, include_in_schema=False)
    def reset(request: Request, background: BackgroundTasks, token: str = Form("", alias=LINK_PARAM, max_length=200),
              new_password: str = Form(...), confirm_password: str = Form(...), g: Gateway = Depends(gw)) -> Response:
        try:
            username = g.password_resets.check(token)
            if new_password != confirm_password:
                return render(request, "reset_password.html", None, status_code=422, token=token, username=username,
                              error="Mật khẩu nhập lại không khớp.")
            mail = g.password_resets.confirm(token, new_password, client_address(request))
        except ResetLinkInvalid as exc:
            return render(request, "reset_password.html", None, status_code=exc.http_status, invalid=exc.message_vi)
        except CongVanError as exc:  # the password rules of "Đổi mật khẩu": the same link may be used again
            return render(request, "reset_password.html", None, status_code=exc.http_status, token=token,
                          username=username, error=exc.message_vi)
        background.add_task(g.password_resets.deliver, mail)
        return RedirectResponse("/dang-nhap?thong-bao=mat-khau-moi", status_code=303)  # FastAPI adds the mail task
