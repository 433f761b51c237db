"""The gateway: the staff web app (Vietnamese) and the REST API /api/v1. The only door for people."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import sys
import time
import urllib.parse
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import Counter, Histogram
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.accounts import MIN_PASSWORD_LENGTH, PASSWORD_RULE_VI, LockoutPolicy
from gateway.auth import Accounts, actor_of, csrf_ok
from gateway.backends import Backends
from gateway.ldap_directory import LdapDirectory
from gateway.models import User, WebSession, open_database
from gateway.settings import GatewaySettings, get_gateway_settings
from services.common import audit, clock
from services.common.actor import ROLE_LABELS_VI, Actor, Role
from services.common.db import Database
from services.common.errors import CongVanError, Forbidden, Unauthenticated

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION_COOKIE = "cv_session"

PAGE_REQUESTS = Counter("congvan_http_requests_total", "HTTP requests by route and status class",
                        ["route", "method", "status"])
PAGE_DURATION = Histogram("congvan_http_request_duration_seconds", "HTTP request time", ["route", "method"],
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class Gateway:
    """What the routes need: accounts, service backends, templates, settings."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.db = open_database(settings)  # every write chained in its audit_log (gateway/models.py)
        self.db.create_all()
        ldap = settings.ldap_config()
        self.accounts = Accounts(self.db, LockoutPolicy(settings.lockout_failures,
                                                        timedelta(minutes=settings.lockout_minutes)),
                                 idle=timedelta(minutes=settings.session_idle_minutes),
                                 directory=LdapDirectory(ldap) if ldap else None)
        self.backends = Backends.from_file(settings.agencies_file, settings.rpc_timeout,
                                           write_slots=settings.gateway_write_slots)
        from gateway.platform import Platform

        # The agencies this installation hosts: those of AGENCIES_FILE, and those the province operator added since
        self.platform = Platform(self.db, self.accounts, self.backends, self.directories)
        self.backends.resolver = self.platform.info
        self.platform.sync(self.backends.configured)
        self._hub_directories: list | None = None
        from gateway.province_ops import Notices

        self.notices = Notices(self.db)
        from gateway.password_reset import PasswordResets

        self.password_resets = PasswordResets.from_settings(self.db, settings)  # "Quên mật khẩu"
        from gateway.push_events import Followers

        self.push_followers = Followers(self)  # Web Push of routing's notifications, where PUSH_ENABLED
        self.backends.on_installation = self.push_followers.ensure
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["ROLE_LABELS"] = {r.value: label for r, label in ROLE_LABELS_VI.items()}
        self.templates.env.filters["vn_time"] = vn_time
        self.templates.env.globals["SERVER_HELD_KEYS"] = settings.signing_server_held_keys
        self.templates.env.globals["PASSWORD_RULE"] = PASSWORD_RULE_VI
        self.templates.env.globals["MIN_PASSWORD_LENGTH"] = MIN_PASSWORD_LENGTH
        # the earliest day a deadline field offers: a day already past is a slip (static/app.js says so)
        self.templates.env.globals["today_vn"] = lambda: clock.today_vn().isoformat()
        self._directory = None

    def directory(self):
        """The gateway's copy of the agency directory (recipient picker), imported from DIRECTORY_FILE once."""
        if self._directory is None:
            from services.interconnect.directory import Directory
            from services.interconnect.models import DirectoryBase

            directory = Directory(Database("directory", "gateway", DirectoryBase.metadata, self.settings))
            if self.settings.directory_file and Path(self.settings.directory_file).exists():
                directory.import_file(Path(self.settings.directory_file))
            self._directory = directory
        return self._directory

    def directories(self) -> list:
        """Every copy of the agency directory an onboarding writes: the gateway's, then the hubs' (HUB_DIRECTORIES),
        which the hubs read for each package (a locked recipient gets status 02)."""
        if self._hub_directories is None:
            from services.interconnect.directory import Directory
            from services.interconnect.models import DirectoryBase

            keys = [k.strip() for k in self.settings.hub_directories.split(",") if k.strip()]
            self._hub_directories = [Directory(Database("directory", key, DirectoryBase.metadata, self.settings))
                                     for key in keys]
        return [self.directory(), *self._hub_directories]


class Viewer:
    """The signed-in person on this request."""

    def __init__(self, user: User, session: WebSession | None, via_token: bool = False) -> None:
        self.user = user
        self.session = session
        self.via_token = via_token
        self.actor: Actor = actor_of(user)
        self.prefetched: dict[tuple, Any] = {}  # this request's reads asked in one call (gateway/reads.py)
        audit.set_request_actor(self.actor)  # the audit rows of this request's writes name this person

    @property
    def csrf(self) -> str:
        return self.session.csrf_token if self.session else ""

    def has(self, *roles: str) -> bool:
        return self.actor.has(*roles)


def gw(request: Request) -> Gateway:
    return request.app.state.gateway


def optional_viewer(request: Request, g: Gateway = Depends(gw)) -> Viewer | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = g.accounts.token_user(auth[7:].strip())
        if user is None:
            raise Unauthenticated("Mã truy cập không hợp lệ hoặc đã bị thu hồi.")
        return Viewer(user, None, via_token=True)
    found = g.accounts.session_user(request.cookies.get(SESSION_COOKIE))
    return Viewer(*found) if found else None


class LoginRequired(Exception):
    pass


class PasswordChangeRequired(Exception):
    pass


# Where a person who must change their password may still go: the form and its API route.
PASSWORD_PATHS = ("/doi-mat-khau", "/api/v1/me/password")


def viewer(request: Request, v: Viewer | None = Depends(optional_viewer)) -> Viewer:
    if v is None:
        if request.url.path.startswith("/api/"):
            raise Unauthenticated("Cần đăng nhập hoặc mã truy cập.")
        raise LoginRequired()
    if v.user.must_change_password and not v.via_token and request.url.path not in PASSWORD_PATHS:
        raise PasswordChangeRequired()
    return v


async def csrf_checked(request: Request, v: Viewer = Depends(viewer)) -> Viewer:
    """Every state-changing form post carries the session's CSRF token (token-authenticated API calls are exempt)."""
    if v.via_token:
        return v
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        given = form.get("csrf_token")
    if not csrf_ok(v.csrf, given if isinstance(given, str) else None):
        raise Forbidden("Phiên làm việc không hợp lệ (CSRF). Hãy tải lại trang và thử lại.", reason="csrf")
    return v


def render(request: Request, template: str, v: Viewer | None, status_code: int = 200, **context: Any) -> Response:
    g = gw(request)
    ctx = {"request": request, "viewer": v, "agency_name": g.backends.name_of(v.user.agency_id) if v else "",
           "Role": Role, "maintenance": g.notices.current(), "error_field": _refused_field(), **context}
    return g.templates.TemplateResponse(request, template, ctx, status_code=status_code)


def _refused_field() -> str | None:
    """The form field a refusal is about, for base.html (layout.js marks it aria-invalid): a page re-rendered with
    an error is rendered inside the `except CongVanError` that caught it, whose details name the field
    ("recipients.organ_id": the form's "recipients")."""
    exc = sys.exc_info()[1]
    if isinstance(exc, CongVanError) and isinstance(exc.details.get("field"), str):
        return exc.details["field"].split(".")[0]
    return None


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_gateway_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        g = app.state.gateway
        g.push_followers.start()
        yield
        g.push_followers.stop()
        g.backends.close()

    app = FastAPI(title="Công Văn API", version="1", lifespan=lifespan, docs_url=None,
                  openapi_url="/api/v1/openapi.json", redoc_url=None)
    app.state.gateway = Gateway(settings)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _install_middleware(app)
    _install_errors(app)
    _install_core_routes(app)
    from gateway import api, documents, web

    web.install(app)
    documents.install(app)
    from gateway import paper

    paper.install(app)
    from gateway import copies, issuing, unit_documents

    issuing.install(app)
    unit_documents.install(app)
    copies.install(app)
    api.install(app)
    from gateway import admin

    admin.install(app)
    from gateway import certificates

    certificates.install(app)
    from gateway import dossiers, search

    dossiers.install(app)
    search.install(app)
    from gateway import drafting, placement

    drafting.install(app)
    placement.install(app)
    from gateway import handling, work

    handling.install(app)
    work.install(app)
    from gateway import entry

    entry.install(app)
    from gateway import handover, oversight

    oversight.install(app)
    handover.install(app)
    from gateway import reports

    reports.install(app)
    from gateway import pdf_view, push, pwa

    pdf_view.install(app)
    push.install(app)
    pwa.install(app)
    from gateway import problems

    problems.install(app)
    from gateway import hub_reports

    hub_reports.install(app)
    from gateway import monitoring

    monitoring.install(app)
    from gateway import api_province, province

    province.install(app)
    api_province.install(app)
    from gateway import api_year_registers, year_registers

    year_registers.install(app)
    api_year_registers.install(app)
    from gateway import schedule

    schedule.install(app)
    from gateway import password_reset_pages

    password_reset_pages.install(app)
    return app


def _install_middleware(app: FastAPI) -> None:
    # Added last = outermost: the proxy's headers are read before anything looks at the scheme or the client.
    app.add_middleware(ObservedRequests)
    trusted = [h.strip() for h in app.state.gateway.settings.trusted_proxies.split(",") if h.strip()]
    if trusted:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)


# Scripts and styles only from the gateway's own /static: an injected <script> or inline handler does not run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin")]
HSTS = (b"strict-transport-security", b"max-age=31536000")
# Built once: the headers added to every answer (HTTP, and HTTPS with HSTS).
EXTRA_HEADERS = (*SECURITY_HEADERS, (b"content-security-policy", CSP.encode()))
EXTRA_HEADERS_HTTPS = (*EXTRA_HEADERS, HSTS)


class ObservedRequests:
    """Pure ASGI (BaseHTTPMiddleware costs a task and a stream per request): opens the request's audit holder,
    counts and times the request by route, and adds the security headers a route did not set itself."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        status = {"code": 500}
        https = scope.get("scheme") == "https"

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _value in headers}
                extra = EXTRA_HEADERS_HTTPS if https else EXTRA_HEADERS
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        # The holder the viewer dependency fills in; the audit hook reads it for the request's writes.
        token = audit.begin_request(f"{method} {scope.get('path', '')}")
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            audit.end_request(token)
            path = getattr(scope.get("route"), "path", "unmatched")
            PAGE_REQUESTS.labels(path, method, f"{status['code'] // 100}xx").inc()
            PAGE_DURATION.labels(path, method).observe(time.perf_counter() - started)


def _install_errors(app: FastAPI) -> None:
    from gateway import errors

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired):
        return RedirectResponse(f"/dang-nhap?next={request.url.path}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _change(_request: Request, _exc: PasswordChangeRequired):
        return RedirectResponse("/doi-mat-khau", status_code=303)

    errors.install(app)


def error_page(request: Request, exc: CongVanError, messages: list[str]) -> Response:
    """The Vietnamese page of a refusal, inside the signed-in person's menu when there is a session."""
    v = None
    try:
        found = gw(request).accounts.session_user(request.cookies.get(SESSION_COOKIE))
        v = Viewer(*found) if found else None
    except Exception:
        log.debug("no viewer for the error page", exc_info=True)
    return render(request, "error.html", v, status_code=exc.http_status, error=exc, messages=messages,
                  back=_same_site_referer(request))


def _same_site_referer(request: Request) -> str | None:
    """"Quay lại" goes to the page the person came from, when it is a page of this site."""
    referer = request.headers.get("referer", "")
    parsed = urllib.parse.urlsplit(referer)
    if not referer or parsed.netloc != request.url.netloc:
        return None
    target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    return target if target != request.url.path and _safe_next(target) == target else None


def vn_time(value: str | None) -> str:
    """ISO timestamps as people in Vietnam read them: 21/11/2026 13:16."""
    if not value:
        return ""
    from datetime import datetime

    from services.common.clock import to_vn

    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if len(str(value)) == 10:
        return moment.strftime("%d/%m/%Y")
    return to_vn(moment).strftime("%d/%m/%Y %H:%M")


def _with_script_hashes(page: HTMLResponse, sources: str) -> HTMLResponse:
    """The API documentation page (Swagger UI from its CDN) under a CSP of its own: its inline scripts are allowed
    by their SHA-256, nothing else inline runs."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
                      for body in re.findall(r"<script>(.*?)</script>", page.body.decode(), re.S))
    page.headers["content-security-policy"] = (
        f"default-src 'self'; script-src 'self' {sources} {hashes}; style-src 'self' 'unsafe-inline' {sources}; "
        f"img-src 'self' data: {sources} https://fastapi.tiangolo.com; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'")
    return page


def _install_core_routes(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return _with_script_hashes(get_swagger_ui_html(openapi_url=app.openapi_url or "", title=f"{app.title} - docs",
                                                       oauth2_redirect_url="/api/docs/oauth2-redirect"),
                                   "https://cdn.jsdelivr.net")

    @app.get("/api/docs/oauth2-redirect", include_in_schema=False)
    def api_docs_redirect() -> HTMLResponse:
        return _with_script_hashes(get_swagger_ui_oauth2_redirect_html(), "")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "process": "gateway"}

    @app.get("/dang-nhap", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/", notice: str = Query("", alias="thong-bao", max_length=40)):
        return render(request, "login.html", None, next=_safe_next(next), error=None,
                      notice=LOGIN_NOTICES.get(notice))

    @app.post("/dang-nhap", include_in_schema=False)
    def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/"),
              g: Gateway = Depends(gw)):
        address = request.client.host if request.client else ""
        try:
            user = g.accounts.authenticate(username, password, address)
        except (Unauthenticated, Forbidden) as exc:
            return render(request, "login.html", None, status_code=exc.http_status, next=_safe_next(next),
                          error=exc.message_vi, username=username)
        token, _csrf = g.accounts.open_session(user)
        target = "/doi-mat-khau" if user.must_change_password else _safe_next(next)
        response = RedirectResponse(target, status_code=303)
        # Secure when configured, or when this request came over HTTPS (directly or through a trusted proxy).
        secure = g.settings.cookie_secure or request.url.scheme == "https"
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/")
        return response

    @app.post("/dang-xuat", include_in_schema=False)
    def logout(request: Request, _v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.accounts.close_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/dang-nhap", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/doi-mat-khau", response_class=HTMLResponse, include_in_schema=False)
    def change_password_form(request: Request, v: Viewer = Depends(viewer)):
        return render(request, "change_password.html", v, error=None)

    @app.post("/doi-mat-khau", include_in_schema=False)
    def change_password(request: Request, old_password: str = Form(...), new_password: str = Form(...),
                        confirm_password: str = Form(...), v: Viewer = Depends(csrf_checked),
                        g: Gateway = Depends(gw)):
        if new_password != confirm_password:
            return render(request, "change_password.html", v, status_code=422,
                          error="Mật khẩu nhập lại không khớp.")
        try:
            g.accounts.change_password(v.user.id, old_password, new_password)
        except CongVanError as exc:
            return render(request, "change_password.html", v, status_code=exc.http_status, error=exc.message_vi)
        return RedirectResponse("/?thong-bao=doi-mat-khau", status_code=303)


LOGIN_NOTICES = {"mat-khau-moi": "Đã đặt mật khẩu mới. Hãy đăng nhập bằng mật khẩu mới."}


def _safe_next(target: str) -> str:
    # Only same-site paths: an open redirect after login would be a phishing aid.
    return target if target.startswith("/") and not target.startswith("//") else "/"
