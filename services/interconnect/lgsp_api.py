"""The LGSP API of a hub: a document system that is a client of a provincial LGSP (the Lạng Sơn LGSP v2.2 guide,
STANDARDS.md §1.9; wire rules and our assumptions in lgsp.py) connects to our provincial hub as to its LGSP.

    python -m services.interconnect.lgsp_api --hub H60 --topology FILE --run-dir DIR --port 8091

It runs next to the hub process, on its broker vhost and databases, and shares with the VDXP API everything but the
wire (axis_api.py: the package checks, the submission into the hub's relay as the broker user `vdxp.<hub>`, the
store of connected systems, the bindings and the receiver):
- every call is authenticated by `X-SystemId` and `X-SecretKey` against the system's secret, kept hashed and
  compared in constant time (15 otherwise, the same answer for an unknown system and a wrong secret);
- `sendEdoc` (multipart: `edocFile`, `messageType`) is checked here so that the client gets the guide's code at once:
  the size limit and a well-formed form (10), the hardened edXML parser (22), its kind, a From registered to the
  system (19), recipients the directory knows (18) and that are not locked (23); then it goes to the hub's relay,
  which validates, traces, routes, logs and answers refusals with status 02 as for a package published over AMQP;
- `getReceivedEdocList`, `getEdoc/{docId}` and `updateStatus` (the acknowledgement; `fail` of a document sends its
  sender a status 02) serve what the relay delivered for the system's agencies (our assumption: the guide's receive
  operations are not in our notes);
- refused sends are written to the hub's relay log, and every call is counted by operation and code;
- `POST {base}/token` issues OAuth2 bearer tokens (client-credentials grant), which every operation then requires
  when `LGSP_REQUIRE_TOKEN=true` (lgsp_oauth.py).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.interconnect import axis_api, broker, lgsp, lgsp_oauth
from services.interconnect import metrics as m
from services.interconnect.axis import Refusal, first_headers
from services.interconnect.axis_api import SystemsApi, read_body
from services.interconnect.lgsp import Code, LgspError, answer
from services.interconnect.vdxp_store import LGSP

log = logging.getLogger("congvan.lgsp")
MEDIA = "application/json; charset=utf-8"
# Failures of our own side (broker, database): "the axis cannot take the call now".
OWN_SIDE = (*broker.TRANSIENT, sqlalchemy.exc.OperationalError)
TOKEN_BODY_LIMIT = 16 * 1024


@dataclass
class LgspRequest:
    """One call as the server reads it: headers lower-cased, the multipart form of a sendEdoc already parsed (or
    why it could not be), `received` the body's size (over the limit: refused for it)."""

    operation: str
    method: str
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    path_doc_id: str = ""
    body: bytes = b""
    received: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    form_error: str = ""


class LgspApi(SystemsApi):
    """The LGSP operations over the shared ones (axis_api.SystemsApi); transport-free."""

    protocol = LGSP
    message_type_param = "messageType"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lifetime = int(os.environ.get("LGSP_TOKEN_SECONDS", lgsp_oauth.DEFAULT_LIFETIME))
        self.tokens = lgsp_oauth.TokenStore(self.store.db, lifetime)
        self.require_token = os.environ.get("LGSP_REQUIRE_TOKEN", "").strip().lower() in ("1", "true", "yes")

    def token(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """The token endpoint (RFC 6749 §4.4): its own answers, not the operations' `errorCode`."""
        status, answer_ = lgsp_oauth.token_answer(
            headers, body, self.tokens, lambda system, secret: self.store.secret_matches(system, secret, LGSP))
        m.LGSP_CALLS.labels(self.code, "token", str(status)).inc()
        return status, json.dumps(answer_).encode()

    @property
    def body_limit(self) -> int:
        return self.max_bytes + lgsp.FORM_OVERHEAD

    def call(self, request: LgspRequest) -> tuple[int, bytes]:
        """(HTTP status, JSON body) of one call."""
        began = time.perf_counter()
        status, payload, code = self._call(request)
        known = request.operation if request.operation in lgsp.OPERATIONS else "other"  # bounded label values
        m.LGSP_CALLS.labels(self.code, known, str(code)).inc()
        m.LGSP_DURATION.labels(self.code, known).observe(time.perf_counter() - began)
        return status, payload

    def _call(self, request: LgspRequest) -> tuple[int, bytes, int]:
        system = request.headers.get("x-systemid", "")
        try:
            system = self.authenticate(request.headers)
            if request.operation not in lgsp.OPERATIONS:
                raise LgspError(Code.NOT_FOUND, f"Không có thao tác “{request.operation[:80]}” trên trục.",
                                f"unknown operation {request.operation[:80]!r}")
            if request.received > self.body_limit:
                raise LgspError(Code.INVALID_FILE, f"{lgsp.message_of(Code.INVALID_FILE)}: nội dung gửi lên vượt "
                                f"quá {self.max_bytes} byte.", f"body of {request.received} bytes", http_status=413)
            result = getattr(self, f"op_{request.operation}")(system, request)
            return 200, lgsp.encode(result), Code.OK
        except (LgspError, Refusal) as refused:
            error = refused if isinstance(refused, LgspError) else LgspError.of(refused)
            log.info("lgsp %s from %s refused: %s %s", request.operation, system or "?", error.code, error.detail)
            if request.operation == "sendEdoc" and error.code != Code.UNAUTHENTICATED:
                self.log_refusal(system, "", request.files.get(lgsp.FILE_FIELD, request.body), error.code,
                                 error.detail)
            return error.http_status, lgsp.encode(lgsp.failure(error)), error.code
        except Exception as exc:
            log.exception("lgsp %s from %s failed", request.operation, system or "?")
            # Both transient to the client: our broker or database away (20), anything else while taking a file (21).
            code = Code.FILE_PROCESSING if request.operation == "sendEdoc" and not isinstance(exc, OWN_SIDE) \
                else Code.AXIS_ERROR
            error = LgspError(code)
            return error.http_status, lgsp.encode(lgsp.failure(error)), error.code

    def authenticate(self, headers: dict[str, str]) -> str:
        system, secret = headers.get("x-systemid", "").strip(), headers.get("x-secretkey", "")
        if not system or not secret or not self.store.secret_matches(system, secret, LGSP):
            raise LgspError(Code.UNAUTHENTICATED, detail="missing headers" if not (system and secret)
                            else "unknown system or wrong secret")
        if self.require_token:
            why = self.tokens.check(lgsp_oauth.bearer_of(headers), system)
            if why:
                raise LgspError(Code.UNAUTHENTICATED, f"{lgsp.message_of(Code.UNAUTHENTICATED)}: thiếu, sai hoặc "
                                "hết hạn mã truy cập OAuth2 (Authorization: Bearer); lấy mã mới tại địa chỉ cấp "
                                "mã (token) của trục.", why)
        return system

    # -- operations ----------------------------------------------------------------------------------------
    def op_sendEdoc(self, system: str, request: LgspRequest) -> dict[str, Any]:
        data = request.files.get(lgsp.FILE_FIELD)
        if request.form_error or data is None:
            raise LgspError(Code.INVALID_FILE, f"{lgsp.message_of(Code.INVALID_FILE)}: cần biểu mẫu multipart có "
                            f"tệp {lgsp.FILE_FIELD}.", request.form_error or f"no {lgsp.FILE_FIELD} in the form")
        if not data:
            raise LgspError(Code.INVALID_FILE, f"{lgsp.message_of(Code.INVALID_FILE)}: tệp {lgsp.FILE_FIELD} rỗng.")
        kind = lgsp.message_type(request.fields.get(lgsp.TYPE_FIELD) or request.query.get(lgsp.TYPE_FIELD))
        package = self.read_package(data, kind)
        if not self.store.owns(system, package.sender):
            raise LgspError(Code.SENDER_NOT_REGISTERED, f"{lgsp.message_of(Code.SENDER_NOT_REGISTERED)}: gói tin "
                            f"ghi cơ quan gửi {package.sender or '(trống)'}, hệ thống {system}.",
                            f"{package.sender!r} is not registered to {system}")
        self.check_recipients(package)
        return answer(data={"docId": self.submit(system, package)})

    def op_getReceivedEdocList(self, system: str, request: LgspRequest) -> dict[str, Any]:
        wanted = request.query.get(lgsp.TYPE_FIELD, "").strip()
        kind = lgsp.message_type(wanted) if wanted else None
        return answer(data=self.store.pending(system, kind))

    def op_getEdoc(self, system: str, request: LgspRequest) -> dict[str, Any]:
        doc_id = request.path_doc_id or request.query.get("docId", "")
        data = self.store.body(system, doc_id)
        return answer(data=base64.b64encode(data).decode("ascii"))

    def op_updateStatus(self, system: str, request: LgspRequest) -> dict[str, Any]:
        doc_id, status, description = lgsp.status_update(request.body)
        self.acknowledge(system, doc_id, status, description)
        return answer()


# --- HTTP ----------------------------------------------------------------------------------------------------

async def read_form(headers: Headers, body: bytes) -> tuple[dict[str, str], dict[str, bytes], str]:
    """(fields, files, error) of a multipart body already in memory (its size checked before)."""
    if not headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return {}, {}, f"content-type {headers.get('content-type', '(none)')[:80]!r} is not multipart/form-data"

    async def stream():
        yield body

    try:
        form = await MultiPartParser(headers, stream(), max_files=4, max_fields=16, max_part_size=64 * 1024).parse()
    except MultiPartException as exc:
        return {}, {}, f"multipart: {exc.message}"
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.setdefault(name, await value.read())
            else:
                fields.setdefault(name, value)
    finally:
        await form.close()
    return fields, files, ""


def create_app(api: LgspApi) -> Starlette:
    """`{base}/v1/<operation>` for any `{base}`; `getEdoc` takes its docId as the last path segment."""

    async def endpoint(request: Request) -> Response:
        operation, path_doc_id = lgsp.operation_of(request.url.path)
        if operation == "token" and request.method == "POST":
            body, received = await read_body(request, TOKEN_BODY_LIMIT)
            status, payload = await run_in_threadpool(api.token, first_headers(request.scope["headers"]),
                                                      body if received <= TOKEN_BODY_LIMIT else b"")
            return Response(payload, status_code=status, media_type=MEDIA,
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
        body, received = await read_body(request, api.body_limit)
        call = LgspRequest(operation, request.method, first_headers(request.scope["headers"]),
                           dict(request.query_params), path_doc_id, body, received)
        if operation == "sendEdoc" and received <= api.body_limit:
            call.fields, call.files, call.form_error = await read_form(request.headers, body)
        status, payload = await run_in_threadpool(api.call, call)
        headers = {"Connection": "close"} if received > api.body_limit else {}
        if status == 401:   # RFC 6750 §3
            headers["WWW-Authenticate"] = 'Bearer realm="lgsp"'
        return Response(payload, status_code=status, media_type=MEDIA, headers=headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def main(argv: list[str] | None = None) -> None:
    axis_api.run("Trục liên thông văn bản: the LGSP HTTP API of one hub", LgspApi, create_app, m.LGSP_WAITING, argv)


if __name__ == "__main__":
    main()
