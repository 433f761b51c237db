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
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.clock import VN_TZ, now_vn
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml, identifiers, vdxp
from services.interconnect import metrics as m
from services.interconnect.domain import H_ORIGIN, H_RECIPIENTS, H_SUBMITTED, H_TO, Reason
from services.interconnect.hub import Loop, RecipientDirectory, open_directory
from services.interconnect.models import HubBase, VdxpBase
from services.interconnect.relaylog import RelayLog
from services.interconnect.topology import Topology
from services.interconnect.vdxp import Code, SignedRequest, VdxpError, answer, require
from services.interconnect.vdxp_store import VdxpStore

log = logging.getLogger("congvan.vdxp")
RECONCILE_SECONDS = 5.0


def open_store(topology: Topology, code: str, settings: CommonSettings) -> VdxpStore:
    return VdxpStore(Database("vdxp", f"{broker.namespace(topology)}hub.{code}", VdxpBase.metadata, settings))


class Gateway:
    """The API's publishing connection (one, behind a lock: pika's BlockingConnection is not thread-safe).
    A failed connection is dropped and the call retried once on a fresh one."""

    def __init__(self, creds: broker.Credentials, user: str, vhost: str) -> None:
        self.creds, self.user, self.vhost = creds, user, vhost
        self.lock = threading.Lock()
        self.conn: pika.BlockingConnection | None = None
        self.ch: Any = None

    def _channel(self) -> Any:
        if self.conn is None or not self.conn.is_open or self.ch is None or not self.ch.is_open:
            self.close()
            self.conn = pika.BlockingConnection(self.creds.params(self.user, self.vhost, heartbeat=0))
            self.ch = self.conn.channel()
            self.ch.confirm_delivery()
        return self.ch

    def _run(self, action) -> None:
        with self.lock:
            for attempt in (1, 2):
                try:
                    action(self._channel())
                    return
                except broker.TRANSIENT:
                    self.close()
                    if attempt == 2:
                        raise

    def submit(self, body: bytes, message_id: str, headers: dict[str, Any]) -> None:
        """Into the hub's submit exchange; returns once the broker confirmed."""
        self._run(lambda ch: broker.publish(ch, broker.SUBMIT, "", body, user_id=self.user, message_id=message_id,
                                            headers=headers))

    def bind(self, system_id: str, organ_id: str) -> None:
        queue = self.creds.queue(broker.vdxp_queue(system_id))

        def action(ch: Any) -> None:
            ch.queue_declare(queue, durable=True, arguments=dict(broker.QUORUM))
            ch.queue_bind(queue, broker.DELIVER, routing_key=organ_id)

        self._run(action)

    def unbind(self, system_id: str, organ_id: str) -> None:
        queue = self.creds.queue(broker.vdxp_queue(system_id))
        self._run(lambda ch: ch.queue_unbind(queue, broker.DELIVER, routing_key=organ_id))

    def close(self) -> None:
        broker.close_quietly(self.conn)
        self.conn, self.ch = None, None


class VdxpApi:
    """The operations over the store, the directory, the relay log and the gateway; transport-free."""

    def __init__(self, topology: Topology, code: str, store: VdxpStore, directory: RecipientDirectory,
                 relay_log: RelayLog, gateway: Gateway, max_bytes: int = domain.MAX_PACKAGE_BYTES) -> None:
        self.topology, self.code, self.store, self.directory = topology, code, store, directory
        self.log, self.gateway, self.max_bytes = relay_log, gateway, max_bytes
        self.me = domain.trace_organ_id(code)
        hubs = {h.code for h in topology.hubs}
        # Agencies one of our hubs serves over RabbitMQ; one whose `hub` is `vdxp` uses an axis's HTTP API instead.
        self.amqp_agencies = {a.organ_id for a in topology.agencies if a.hub in hubs}
        self._reconcile_lock = threading.Lock()

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
        except VdxpError as error:
            log.info("vdxp %s from %s refused: %s %s", operation, system or "?", error.code, error.detail)
            if operation == "sendEdoc":
                self._log_refusal(system, headers, body, error)
            return error.http_status, vdxp.encode(vdxp.failure(error)), "application/json", error.code
        except Exception:
            log.exception("vdxp %s from %s failed", operation, system or "?")
            error = VdxpError(Code.INTERNAL, "Trục liên thông tạm thời không xử lý được yêu cầu, vui lòng gửi lại.")
            return error.http_status, vdxp.encode(vdxp.failure(error)), "application/json", error.code

    def _log_refusal(self, system: str, headers: dict[str, str], body: bytes, error: VdxpError) -> None:
        sha = hashlib.sha256(body).hexdigest()
        try:
            self.log.append("rejected", f"vdxp:{sha}", sender=headers.get("xroadvnpt-from", "") or system,
                            sha256=sha, detail=f"vdxp {system or '?'}: {error.code} {error.detail}"[:2000])
        except Exception:  # the answer still goes out; the refusal is in this process's log above
            log.exception("relay log: refusal of a sendEdoc from %s not written", system or "?")

    # -- documents -----------------------------------------------------------------------------------------
    def op_sendEdoc(self, request: SignedRequest, body: bytes) -> dict[str, Any]:
        sender = identifiers.normalize(require(request, "from"))
        kind = require(request, "messagetype", vdxp.MESSAGE_TYPES)
        if not self.store.owns(request.system_id, sender):
            raise VdxpError(Code.SENDER_NOT_REGISTERED,
                            f"Đơn vị gửi {sender} không đúng với mã đã đăng ký: {request.system_id}.",
                            f"{sender} is not registered to {request.system_id}")
        data = vdxp.file_of(body, request.get("hash-file"))
        if len(data) > self.max_bytes:
            raise VdxpError(Code.TOO_LARGE, f"Gói tin {len(data)} byte, vượt quá {self.max_bytes} byte cho phép.")
        try:
            parsed = edxml.parse(data, max_bytes=self.max_bytes)
        except edxml.EdxmlError as exc:
            code = Code.TOO_LARGE if exc.reason == "TOO_LARGE" else Code.INVALID_EDXML
            raise VdxpError(code, exc.message_vi, f"{exc.reason}: {exc.detail}") from None
        if parsed.kind != kind:
            raise VdxpError(Code.BAD_REQUEST, f"XroadVnpt-messagetype là “{kind}” nhưng gói tin là “{parsed.kind}”.")
        header = parsed.header
        claimed = (header.get("from") or {}).get("organ_id", "")
        if claimed != sender:
            raise VdxpError(Code.SENDER_NOT_REGISTERED,
                            f"Gói tin ghi cơ quan gửi {claimed or '(trống)'}, khác XroadVnpt-from {sender}.")
        if kind == "status":
            recipients = [str((header.get("to") or {}).get("organ_id") or "")]
            document_id = str((header.get("response_for") or {}).get("document_id") or "")
        else:
            recipients = [str(t.get("organ_id", "")) for t in header.get("to") or []]
            document_id = str(header.get("document_id") or "")
        # Keyed by the business operation, as the edges deduplicate: a retried or replayed sendEdoc of the same
        # package to the same recipients answers the same DocId and is relayed once.
        key = "|".join([request.system_id, sender, document_id, domain.inbox_kind(header), *sorted(recipients)])
        doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vdxp-sent/{key}"))
        if self.store.sent(doc_id) is None:
            self.gateway.submit(data, doc_id, {H_ORIGIN: sender, H_SUBMITTED: domain.epoch_ms()})
            notation = "/".join(x for x in (str(header.get("code_number") or ""),
                                            str(header.get("code_notation") or "")) if x)
            self.store.record_sent(doc_id=doc_id, system_id=request.system_id, sender=sender, recipients=recipients,
                                   kind=kind, document_id=document_id, notation=notation,
                                   title=str(header.get("subject") or header.get("description") or ""),
                                   sha256=hashlib.sha256(data).hexdigest())
        return answer(DocId=doc_id)

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
        _changed, row = self.store.update_status(request.system_id, doc_id, status, description)
        if status == "fail" and row["message_type"] == "edoc":
            self._answer_fail(row, description)
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

    def _answer_fail(self, row: dict[str, Any], description: str) -> None:
        """The receiving system could not take a document: its sender gets a status 02 from the recipient.
        Same message id and timestamp on every repeat, so the sender's edge registers it once."""
        try:
            header = edxml.parse(row["body"], max_bytes=self.max_bytes).header
        except edxml.EdxmlError:
            header = None
        detail = description or "hệ thống của cơ quan nhận báo lỗi khi nhận gói tin"
        status = domain.rejection_status(
            reporter={"organ_id": row["recipient"], "organ_name": ""}, sender=row["sender"],
            response_for=domain.response_for_of(header, row["sender"], row["message_id"]),
            reason=Reason.FORMAT_ERROR, detail=detail, at=row["updated_at"].astimezone(VN_TZ))
        status["description"] = f"Cơ quan nhận không tiếp nhận được văn bản: {detail}"
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vdxp-fail/{row['doc_id']}"))
        self.gateway.submit(edxml.build_status(status), message_id,
                            {H_ORIGIN: row["recipient"], H_SUBMITTED: domain.epoch_ms()})

    # -- agencies ------------------------------------------------------------------------------------------
    def op_getAgenciesList(self, _request: SignedRequest, _body: bytes) -> dict[str, Any]:
        from sqlalchemy import select

        from services.interconnect.models import DirectoryAgency

        today = now_vn().date()
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

    # -- broker bindings and the directory -----------------------------------------------------------------
    def activate(self, system_id: str, organ_id: str) -> None:
        """Bind first, then enter the agency in the directory: the relay must never route a copy to an agency
        this hub serves before a queue takes it (its publish is mandatory: an unroutable copy is an error)."""
        self.gateway.bind(system_id, organ_id)
        self._directory_entry(organ_id, locked=False)
        self.store.mark(organ_id, bound=True)

    def deactivate(self, system_id: str, organ_id: str) -> None:
        """The reverse order: lock it in the directory (new packages get status 02), then unbind."""
        self._directory_entry(organ_id, locked=True)
        self.store.mark(organ_id, active=False)
        self.gateway.unbind(system_id, organ_id)
        self.store.mark(organ_id, bound=False)

    def _directory_entry(self, organ_id: str, *, locked: bool) -> None:
        existing = self.directory.get(organ_id)  # type: ignore[attr-defined]
        agency = self.store.agency(organ_id)
        # An agency the operator granted by its code alone, unknown to the directory, is named by its code
        # until the directory's next load names it.
        record = existing.to_dict() if existing is not None else {
            "organ_id": organ_id, "name": (agency.name if agency else "") or organ_id, "parent": None}
        record.update(hub=self.code, locked=locked)
        if agency is not None and agency.name:
            record["name"] = agency.name
        self.directory.import_records([record])  # type: ignore[attr-defined]

    def reconcile(self) -> None:
        """Agencies granted by the operator (or left half-done by a crash) get their binding and directory entry;
        removed ones lose them."""
        with self._reconcile_lock:
            for agency in self.store.agencies(active=True):
                if not agency.bound:
                    self._reconcile_one(self.activate, agency)
            for agency in self.store.agencies(active=False):
                if agency.bound:
                    self._reconcile_one(self.deactivate, agency)

    def _reconcile_one(self, action, agency) -> None:
        try:
            action(agency.system_id, agency.organ_id)
        except broker.TRANSIENT:
            raise  # the broker is away: the receiver reconnects and reconciles again
        except Exception:  # one agency the directory refuses must not keep the others (and the API) down
            log.exception("vdxp: %s of %s for %s failed; retried at the next reconciliation",
                          action.__name__, agency.organ_id, agency.system_id)


class Receiver(Loop):
    """Keeps every copy the relay delivers to a system's queue in the database, then acks it; starts consuming
    the queue of a system added while running, and reconciles bindings every few seconds."""

    def __init__(self, api: VdxpApi, creds: broker.Credentials, user: str, vhost: str) -> None:
        super().__init__(f"vdxp:{api.code}")
        self.api, self.creds, self.user, self.vhost = api, creds, user, vhost

    def session(self) -> None:
        conn = pika.BlockingConnection(self.creds.params(self.user, self.vhost))
        try:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=32)
            consumed: set[str] = set()
            self.api.reconcile()
            self.connected.set()
            next_check = 0.0
            while not self.stopping.is_set():
                if time.monotonic() >= next_check:
                    self.api.reconcile()
                    for system in self.api.store.systems():
                        if system not in consumed:
                            queue = self.creds.queue(broker.vdxp_queue(system))
                            ch.queue_declare(queue, durable=True, arguments=dict(broker.QUORUM))
                            ch.basic_consume(queue, self._handler(system))
                            consumed.add(system)
                    m.VDXP_WAITING.labels(self.api.code).set(self.api.store.waiting())
                    next_check = time.monotonic() + RECONCILE_SECONDS
                conn.process_data_events(time_limit=0.5)
        finally:
            broker.close_quietly(conn)

    def _handler(self, system_id: str):
        def handle(ch: Any, method: Any, props: Any, body: bytes) -> None:
            headers = dict(props.headers or {})
            recipients = [str(r) for r in headers.get(H_RECIPIENTS) or [method.routing_key]]
            kind = "status" if headers.get(H_TO) else "edoc"
            sender, document_id, status_code = str(headers.get(H_ORIGIN) or ""), "", ""
            try:
                facts = edxml.peek(body)
                sender, document_id = facts["from"] or sender, str(facts["document_id"] or "")
                kind, status_code = facts["kind"], str(facts["status_code"] or "")
            except edxml.EdxmlError as exc:  # the relay validated it; keep it anyway, the system decides
                log.warning("package %s for %s does not peek: %s", props.message_id, recipients, exc.detail)
            sha = hashlib.sha256(body).hexdigest()
            message_id = props.message_id or sha
            for recipient in recipients:
                self.api.store.keep(system_id, recipient, sender, message_id, kind, body, sha,
                                    document_id=document_id, status_code=status_code)
            ch.basic_ack(method.delivery_tag)

        return handle


# --- HTTP ----------------------------------------------------------------------------------------------------

def create_app(api: VdxpApi) -> Starlette:
    """Every path ending in an operation's name answers it, so the SDK's `endpoint` may carry any prefix."""
    limit = api.max_bytes + 2  # the file and the SDK's CRLF
    drain = 2 * limit + 16 * 2**20

    async def endpoint(request: Request) -> Response:
        operation = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        declared = request.headers.get("content-length", "")
        body = bytearray()
        received = 0
        async for chunk in request.stream():
            # Past the limit the rest is read and dropped (up to a bound), so that the client, still sending,
            # gets the answer instead of a broken pipe; beyond the bound the connection is simply closed.
            received += len(chunk)
            if received <= limit:
                body += chunk
            elif received > drain:
                break
        if received > limit:
            error = VdxpError(Code.TOO_LARGE, f"Nội dung gửi lên vượt quá {api.max_bytes} byte cho phép.",
                              f"body over {limit} bytes (content-length {declared or '?'})")
            log.info("vdxp %s refused: %s", operation, error.detail)
            return Response(vdxp.encode(vdxp.failure(error)), status_code=error.http_status,
                            media_type="application/json", headers={"Connection": "close"})
        headers = vdxp.first_headers(request.scope["headers"])
        status, payload, media = await run_in_threadpool(api.call, operation, headers, bytes(body))
        return Response(payload, status_code=status, media_type=media)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def build_api(topology: Topology, code: str, run_dir: Path, creds: broker.Credentials,
              max_bytes: int = domain.MAX_PACKAGE_BYTES) -> VdxpApi:
    settings = CommonSettings(data_dir=Path(run_dir) / "data")
    ns = broker.namespace(topology)
    relay_log = RelayLog(Database("hub", f"{ns}hub.{code}", HubBase.metadata, settings),
                         domain.trace_organ_id(code))
    relay_log.db.create_all()
    gateway = Gateway(creds, broker.gateway_user(topology, code), broker.hub_vhost(topology, code))
    return VdxpApi(topology, code, open_store(topology, code, settings), open_directory(topology, code, settings),
                   relay_log, gateway, max_bytes)


def main(argv: list[str] | None = None) -> None:
    import faulthandler
    import signal

    import uvicorn

    from services.interconnect.process import run_until_signalled

    parser = argparse.ArgumentParser(description="Trục liên thông văn bản: the VDXP HTTP API of one hub")
    parser.add_argument("--hub", required=True)
    parser.add_argument("--topology", required=True, type=Path)
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, default=0)
    parser.add_argument("--max-bytes", type=int, default=domain.MAX_PACKAGE_BYTES)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    topology = Topology.load(args.topology)
    creds = broker.Credentials.load(args.run_dir)
    api = build_api(topology, args.hub, args.run_dir, creds, args.max_bytes)
    receiver = Receiver(api, creds, broker.gateway_user(topology, args.hub), broker.hub_vhost(topology, args.hub))
    server = uvicorn.Server(uvicorn.Config(create_app(api), host=args.host, port=args.port, log_level="warning",
                                           access_log=False))
    threading.Thread(target=server.run, name="vdxp-http", daemon=True).start()

    def stop() -> None:
        server.should_exit = True
        api.gateway.close()

    run_until_signalled(f"vdxp api {args.hub} on {args.host}:{args.port}", [receiver], args.metrics_port,
                        on_stop=stop, hub=args.hub)


if __name__ == "__main__":
    main()
