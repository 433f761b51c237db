"""The VDXP HTTP API of a hub: a vendor system that embeds the VPCP/VNPT SDK connects to our national hub as it
does to the national axis (Trục liên thông văn bản quốc gia, STANDARDS.md §1.8; wire rules in vdxp.py).

    python -m services.interconnect.vdxp_api --hub national --topology FILE --run-dir DIR --port 8090

It runs next to the hub process, on the same broker vhost and database:
- `sendEdoc` is checked here (HMAC, hash-file, size, the sender is one of the system's agencies, the hardened
  edXML parser, From = `from`) so that the SDK gets a precise answer at once, then submitted to the hub's
  `submit` exchange as the broker user `vdxp.<hub>`: the hub's relay validates, traces, routes, logs and answers
  refusals (status 02) exactly as for a package an agency published over AMQP.
- Each system has a queue `vdxp.<system id>` on the hub's `deliver` exchange, bound once per agency registered
  to it; the directory says this hub serves those agencies, so the relay delivers their copies there. The
  receiver loop keeps each copy in the database (once per message and recipient) before acking it, for
  `getReceivedEdocList` / `getEdoc` / `downloadEdoc` and the acknowledgement `updateStatus`.
- `updateStatus fail` of a document answers its sender with a status 02 from the recipient, through the relay.
What it shares with the LGSP API (the package checks, the submission, the store, the bindings, the receiver) is in
axis_api.py; this module is the VDXP wire (vdxp.py) over it, and the operations only VDXP has (agencies).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common import clock
from services.interconnect import axis_api, identifiers, vdxp
from services.interconnect import metrics as m
from services.interconnect.axis import Refusal
from services.interconnect.axis_api import SystemsApi, read_body
from services.interconnect.vdxp import Code, SignedRequest, VdxpError, answer, require
from services.interconnect.vdxp_store import VDXP

log = logging.getLogger("congvan.vdxp")


class VdxpApi(SystemsApi):
    """The VDXP operations over the shared ones (axis_api.SystemsApi); transport-free."""

    protocol = VDXP
    message_type_param = "XroadVnpt-messagetype"

    # -- one call ------------------------------------------------------------------------------------------
    def call(self, operation: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        """(HTTP status, body, media type) of one request; headers lower-cased, first value each."""
        began = time.perf_counter()
        status, payload, media, code = self._call(operation, headers, body)
        known = operation if operation in vdxp.OPERATIONS else "other"  # label values stay bounded
        m.VDXP_CALLS.labels(self.code, known, code).inc()
        m.VDXP_DURATION.labels(self.code, known).observe(time.perf_counter() - began)
        return status, payload, media

    def _call(self, operation: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str, str]:
        system = headers.get("xroadvnpt-systemid", "")
        try:
            if operation not in vdxp.OPERATIONS:
                raise VdxpError(Code.NOT_FOUND, f"Không có thao tác “{operation}” trên trục.",
                                f"unknown operation {operation!r}")
            system = vdxp.signed_system(headers)
            request = vdxp.verify(headers, self.store.secret_of(system))
            result = getattr(self, f"op_{operation}")(request, body)
            if isinstance(result, bytes):
                return 200, result, "application/octet-stream", Code.OK
            return 200, vdxp.encode(result), "application/json", Code.OK
        except (VdxpError, Refusal) as refused:
            error = refused if isinstance(refused, VdxpError) else VdxpError.of(refused)
            log.info("vdxp %s from %s refused: %s %s", operation, system or "?", error.code, error.detail)
            if operation == "sendEdoc":
                self.log_refusal(system, headers.get("xroadvnpt-from", ""), body, error.code, error.detail)
            return error.http_status, vdxp.encode(vdxp.failure(error)), "application/json", error.code
        except Exception:
            log.exception("vdxp %s from %s failed", operation, system or "?")
            error = VdxpError(Code.INTERNAL, "Trục liên thông tạm thời không xử lý được yêu cầu, vui lòng gửi lại.")
            return error.http_status, vdxp.encode(vdxp.failure(error)), "application/json", error.code

    # -- documents -----------------------------------------------------------------------------------------
    def op_sendEdoc(self, request: SignedRequest, body: bytes) -> dict[str, Any]:
        sender = identifiers.normalize(require(request, "from"))
        kind = require(request, "messagetype", vdxp.MESSAGE_TYPES)
        if not self.store.owns(request.system_id, sender):
            raise VdxpError(Code.SENDER_NOT_REGISTERED,
                            f"Đơn vị gửi {sender} không đúng với mã đã đăng ký: {request.system_id}.",
                            f"{sender} is not registered to {request.system_id}")
        package = self.read_package(vdxp.file_of(body, request.get("hash-file")), kind)
        if package.sender != sender:
            raise VdxpError(Code.SENDER_NOT_REGISTERED,
                            f"Gói tin ghi cơ quan gửi {package.sender or '(trống)'}, khác XroadVnpt-from {sender}.")
        return answer(DocId=self.submit(request.system_id, package))

    def op_getReceivedEdocList(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        message_type = request.get("messagetype").strip()
        if message_type and message_type not in vdxp.MESSAGE_TYPES:
            require(request, "messagetype", vdxp.MESSAGE_TYPES)
        return answer(data=self.store.pending(request.system_id, message_type or None))

    def op_getEdoc(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        data = self.store.body(request.system_id, require(request, "docId"))
        return answer(data=base64.b64encode(data).decode("ascii"))

    def op_downloadEdoc(self, request: SignedRequest, _body: bytes) -> bytes:
        return self.store.body(request.system_id, require(request, "docId"))

    def op_updateStatus(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        doc_id = require(request, "docId")
        status = require(request, "status", vdxp.TRANSPORT_STATUSES)
        description = request.get("description").strip()
        self.acknowledge(request.system_id, doc_id, status, description)
        return answer()

    def op_getSentEdocList(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        message_type = request.get("messagetype").strip()
        if message_type and message_type not in vdxp.MESSAGE_TYPES:
            require(request, "messagetype", vdxp.MESSAGE_TYPES)
        return answer(data=self.store.sent_list(request.system_id, message_type or None, request.get("docId")))

    def op_countReceiveEdoc(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        return answer(count=self.store.count_pending(request.system_id, "edoc"))

    def op_countReceiveStatus(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        return answer(count=self.store.count_pending(request.system_id, "status"))

    # -- agencies ------------------------------------------------------------------------------------------
    def op_getAgenciesList(self, _request: SignedRequest, _body: bytes) -> dict[str, Any]:
        from sqlalchemy import select

        from services.interconnect.models import DirectoryAgency

        today = clock.now_vn().date()
        contacts = self.store.contacts()
        with self.directory.database.session() as s:  # type: ignore[attr-defined]
            rows = list(s.scalars(select(DirectoryAgency).order_by(DirectoryAgency.organ_id)))
        predecessors = {r.successor: r.organ_id for r in rows if r.successor}
        items = []
        for r in rows:
            if r.locked or (r.valid_to is not None and r.valid_to < today):
                continue
            items.append({"code": r.organ_id, "id": r.organ_id, "name": r.name, "pid": r.parent or None,
                          "mail": (contacts.get(r.organ_id) or {}).get("mail") or None,
                          "oldCode": predecessors.get(r.organ_id)})
        return answer(data=items)

    def op_registerAgency(self, request: SignedRequest, body: bytes) -> dict[str, Any]:
        try:
            fields = json.loads(body or b"{}")
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise VdxpError(Code.BAD_REQUEST, "Nội dung registerAgency phải là JSON {id, pcode, code, name, ...}.")
        try:
            code = identifiers.validate(str(fields.get("code") or ""))
        except identifiers.InvalidOrganId as exc:
            raise VdxpError(Code.BAD_REQUEST, exc.message_vi, f"bad code {fields.get('code')!r}") from None
        parent = identifiers.normalize(str(fields.get("pcode") or ""))
        if not parent or not self.store.owns(request.system_id, parent):
            raise VdxpError(Code.SENDER_NOT_REGISTERED,
                            f"Đơn vị cấp trên {parent or '(trống)'} không thuộc hệ thống {request.system_id}.")
        self._check_free(code)
        name = str(fields.get("name") or "").strip()
        if not name:
            raise VdxpError(Code.BAD_REQUEST, "Thiếu tên cơ quan (name).")
        self.store.grant(request.system_id, code, name=name, parent=parent,
                         **{k: str(fields.get(k) or "") for k in ("mail", "mobile", "fax")})
        self.activate(request.system_id, code)
        return answer(data={"code": code, "name": name, "pid": parent})

    def op_deleteAgency(self, request: SignedRequest, _body: bytes) -> dict[str, Any]:
        code = identifiers.normalize(require(request, "AgencyCode"))
        if not self.store.owns(request.system_id, code):
            raise VdxpError(Code.NOT_FOUND, f"Cơ quan {code} không thuộc hệ thống {request.system_id}.")
        self.deactivate(request.system_id, code)
        return answer()

    def _check_free(self, code: str) -> None:
        if code in self.amqp_agencies:
            raise VdxpError(Code.CONFLICT, f"Cơ quan {code} đã kết nối trục qua hệ thống quản lý văn bản của mình.")
        record = self.directory.get(code)  # type: ignore[attr-defined]
        if record is not None and record.hub not in (self.code, "national", ""):
            raise VdxpError(Code.CONFLICT, f"Cơ quan {code} do trục {record.hub} phục vụ.",
                            f"{code} is served by hub {record.hub}")


# --- HTTP ----------------------------------------------------------------------------------------------------

def create_app(api: VdxpApi) -> Starlette:
    """Every path ending in an operation's name answers it, so the SDK's `endpoint` may carry any prefix."""
    limit = api.max_bytes + 2  # the file and the SDK's CRLF

    async def endpoint(request: Request) -> Response:
        operation = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        body, received = await read_body(request, limit)
        if received > limit:
            declared = request.headers.get("content-length") or "?"
            error = VdxpError(Code.TOO_LARGE, f"Nội dung gửi lên vượt quá {api.max_bytes} byte cho phép.",
                              f"body over {limit} bytes (content-length {declared})")
            log.info("vdxp %s refused: %s", operation, error.detail)
            return Response(vdxp.encode(vdxp.failure(error)), status_code=error.http_status,
                            media_type="application/json", headers={"Connection": "close"})
        headers = vdxp.first_headers(request.scope["headers"])
        status, payload, media = await run_in_threadpool(api.call, operation, headers, body)
        return Response(payload, status_code=status, media_type=media)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def main(argv: list[str] | None = None) -> None:
    axis_api.run("Trục liên thông văn bản: the VDXP HTTP API of one hub", VdxpApi, create_app, m.VDXP_WAITING, argv)


if __name__ == "__main__":
    main()
