"""What the HTTP APIs of a hub share: the VDXP API (vdxp_api.py, for vendor systems on the VPCP/VNPT SDK) and the
LGSP API (lgsp_api.py, for clients of a provincial LGSP). Each runs next to a hub process, on its broker vhost and
databases, and differs from the other only in what is on the wire:

- `SystemsApi`: reading a package a system sends (size, the hardened edXML parser, its kind, its From), the
  recipients' check against the directory, submitting it to the hub's `submit` exchange as the broker user
  `vdxp.<hub>` (the relay validates, traces, routes, logs and answers refusals with status 02 as for a package an
  agency published over AMQP), the transport acknowledgement (a `fail` of a document answers its sender with a
  status 02), refusals in the relay log, and the systems' agencies: bound on `deliver` and entered in the
  directory, or locked and unbound.
- `Receiver`: keeps every copy the relay delivers to a system's queue in the store (vdxp_store.py), then acks it.
- `Gateway`: the one publishing connection. `read_body`: a request's body up to a limit. `HttpServer`: the HTTP
  server, listening before /healthz can answer. `run`: the process.

Both APIs' systems are in one store per hub, each API serving those of its own protocol.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request

from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml
from services.interconnect.axis import Refusal, Why
from services.interconnect.domain import H_ORIGIN, H_RECIPIENTS, H_SUBMITTED, H_TO, Reason
from services.interconnect.hub_directory import RecipientDirectory, open_directory
from services.interconnect.loop import Loop
from services.interconnect.models import HubBase, VdxpBase
from services.interconnect.relaylog import RelayLog
from services.interconnect.topology import Topology
from services.interconnect.vdxp_store import VdxpStore

log = logging.getLogger("congvan.axis_api")
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


@dataclass(frozen=True)
class Package:
    """A package a system sent, read by the hardened parser."""

    data: bytes
    kind: str                # edoc | status
    header: dict[str, Any]
    sender: str              # From/OrganId
    recipients: list[str]    # To (a status: its one destination)
    document_id: str         # the edoc's, or the one a status is about


class SystemsApi:
    """The operations both protocols have, over the store, the directory, the relay log and the gateway;
    transport-free. A subclass names its `protocol` (the store's, the relay log's and the docIds' prefix) and
    the parameter that carries the message type (quoted when the package's kind differs)."""

    protocol = ""
    message_type_param = ""

    def __init__(self, topology: Topology, code: str, store: VdxpStore, directory: RecipientDirectory,
                 relay_log: RelayLog, gateway: Gateway, max_bytes: int = domain.MAX_PACKAGE_BYTES) -> None:
        self.topology, self.code, self.store, self.directory = topology, code, store, directory
        self.log, self.gateway, self.max_bytes = relay_log, gateway, max_bytes
        self.me = domain.trace_organ_id(code)
        hubs = {h.code for h in topology.hubs}
        # Agencies one of our hubs serves over RabbitMQ; one whose `hub` is an axis's name uses that axis's API.
        self.amqp_agencies = {a.organ_id for a in topology.agencies if a.hub in hubs}
        self._reconcile_lock = threading.Lock()

    # -- sending -------------------------------------------------------------------------------------------
    def read_package(self, data: bytes, kind: str) -> Package:
        """The package in `data`, refused unless it is within the size limit, passes the hardened parser and is of
        the message type the call says."""
        if len(data) > self.max_bytes:
            raise Refusal(Why.TOO_LARGE, f"Gói tin {len(data)} byte, vượt quá {self.max_bytes} byte cho phép.")
        try:
            parsed = edxml.parse(data, max_bytes=self.max_bytes)
        except edxml.EdxmlError as exc:
            why = Why.TOO_LARGE if exc.reason == "TOO_LARGE" else Why.INVALID_EDXML
            raise Refusal(why, exc.message_vi, f"{exc.reason}: {exc.detail}") from None
        if parsed.kind != kind:
            raise Refusal(Why.BAD_REQUEST,
                          f"{self.message_type_param} là “{kind}” nhưng gói tin là “{parsed.kind}”.")
        header = parsed.header
        if kind == "status":
            recipients = [str((header.get("to") or {}).get("organ_id") or "")]
            document_id = str((header.get("response_for") or {}).get("document_id") or "")
        else:
            recipients = [str(t.get("organ_id", "")) for t in header.get("to") or []]
            document_id = str(header.get("document_id") or "")
        sender = str((header.get("from") or {}).get("organ_id") or "")
        return Package(data, kind, header, sender, recipients, document_id)

    def check_recipients(self, package: Package) -> None:
        """Refuse at once a package the relay would refuse for every recipient's sake: one unknown (not in the
        directory, or ended with no successor) or locked (disabled by its operator) recipient."""
        locked = []
        for organ in package.recipients:
            ok, reason = self.directory.is_deliverable(organ)
            if ok:
                continue
            record = self.directory.resolve(organ) if self.directory.get(organ) else None  # type: ignore[attr-defined]
            if record is None or not record.locked:
                raise Refusal(Why.RECIPIENT_UNKNOWN, reason, f"recipient {organ}: {reason}")
            locked.append((organ, reason))
        if locked:
            raise Refusal(Why.RECIPIENT_LOCKED, locked[0][1], f"recipient {locked[0][0]} is locked")

    def submit(self, system_id: str, package: Package) -> str:
        """Hand a checked package to the hub's relay; its docId.

        Keyed by the business operation, as the edges deduplicate: a retried or replayed send of the same package
        to the same recipients answers the same docId and is relayed once."""
        header = package.header
        key = "|".join([system_id, package.sender, package.document_id, domain.inbox_kind(header),
                        *sorted(package.recipients)])
        doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.protocol}-sent/{key}"))
        if self.store.sent(doc_id) is None:
            self.gateway.submit(package.data, doc_id, {H_ORIGIN: package.sender, H_SUBMITTED: domain.epoch_ms()})
            notation = "/".join(x for x in (str(header.get("code_number") or ""),
                                            str(header.get("code_notation") or "")) if x)
            self.store.record_sent(doc_id=doc_id, system_id=system_id, sender=package.sender,
                                   recipients=package.recipients, kind=package.kind,
                                   document_id=package.document_id, notation=notation,
                                   title=str(header.get("subject") or header.get("description") or ""),
                                   sha256=hashlib.sha256(package.data).hexdigest())
        return doc_id

    def log_refusal(self, system: str, sender: str, body: bytes, code: object, detail: str) -> None:
        """A refused send in the hub's relay log (`rejected`, detail `<protocol> <system>: <code> <detail>`)."""
        sha = hashlib.sha256(body).hexdigest()
        try:
            self.log.append("rejected", f"{self.protocol}:{sha}", sender=sender or system, sha256=sha,
                            detail=f"{self.protocol} {system or '?'}: {code} {detail}"[:2000])
        except Exception:  # the answer still goes out; the refusal is in this process's log
            log.exception("relay log: refusal of a send from %s not written", system or "?")

    # -- receiving -----------------------------------------------------------------------------------------
    def acknowledge(self, system_id: str, doc_id: str, status: str, description: str) -> None:
        """The system's transport status of a package it fetched; `fail` of a document answers its sender."""
        _changed, row = self.store.update_status(system_id, doc_id, status, description)
        if status == "fail" and row["message_type"] == "edoc":
            self._answer_fail(row, description)

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
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.protocol}-fail/{row['doc_id']}"))
        self.gateway.submit(edxml.build_status(status), message_id,
                            {H_ORIGIN: row["recipient"], H_SUBMITTED: domain.epoch_ms()})

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
        """This protocol's agencies granted by the operator (or left half-done by a crash) get their binding and
        directory entry; removed ones lose them."""
        with self._reconcile_lock:
            for agency in self.store.agencies(active=True, protocol=self.protocol):
                if not agency.bound:
                    self._reconcile_one(self.activate, agency)
            for agency in self.store.agencies(active=False, protocol=self.protocol):
                if agency.bound:
                    self._reconcile_one(self.deactivate, agency)

    def _reconcile_one(self, action, agency) -> None:
        try:
            action(agency.system_id, agency.organ_id)
        except broker.TRANSIENT:
            raise  # the broker is away: the receiver reconnects and reconciles again
        except Exception:  # one agency the directory refuses must not keep the others (and the API) down
            log.exception("%s: %s of %s for %s failed; retried at the next reconciliation", self.protocol,
                          action.__name__, agency.organ_id, agency.system_id)


class Receiver(Loop):
    """Keeps every copy the relay delivers to a system's queue in the store, then acks it; starts consuming the
    queue of a system added while running, and reconciles bindings every few seconds. `waiting` is the gauge of
    packages the API's systems have not acknowledged."""

    def __init__(self, api: SystemsApi, creds: broker.Credentials, waiting: Any) -> None:
        super().__init__(f"{api.protocol}:{api.code}")
        self.api, self.creds, self.waiting = api, creds, waiting
        self.user, self.vhost = broker.gateway_user(api.topology, api.code), broker.hub_vhost(api.topology, api.code)

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
                    for system in self.api.store.systems(self.api.protocol):
                        if system not in consumed:
                            queue = self.creds.queue(broker.vdxp_queue(system))
                            ch.queue_declare(queue, durable=True, arguments=dict(broker.QUORUM))
                            ch.basic_consume(queue, self._handler(system))
                            consumed.add(system)
                    self.waiting.labels(self.api.code).set(self.api.store.waiting(self.api.protocol))
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

async def read_body(request: Request, limit: int) -> tuple[bytes, int]:
    """The body up to `limit` bytes, and how many arrived. Past the limit the rest is read and dropped (up to a
    bound), so that a client still sending gets the answer instead of a broken pipe; beyond the bound the
    connection is simply closed. `received > limit` means refused for its size."""
    drain = 2 * limit + 16 * 2**20
    body = bytearray()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received <= limit:
            body += chunk
        elif received > drain:
            break
    return bytes(body), received


def build(cls: type[SystemsApi], topology: Topology, code: str, run_dir: Path, creds: broker.Credentials,
          max_bytes: int = domain.MAX_PACKAGE_BYTES) -> SystemsApi:
    """An API of `cls` over the hub's store, directory and relay log, publishing as the hub's gateway user."""
    settings = CommonSettings(data_dir=Path(run_dir) / "data")
    ns = broker.namespace(topology)
    relay_log = RelayLog(Database("hub", f"{ns}hub.{code}", HubBase.metadata, settings),
                         domain.trace_organ_id(code))
    relay_log.db.create_all()
    gateway = Gateway(creds, broker.gateway_user(topology, code), broker.hub_vhost(topology, code))
    return cls(topology, code, open_store(topology, code, settings), open_directory(topology, code, settings),
               relay_log, gateway, max_bytes)


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, telling `ready` once it serves."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()


class HttpServer(threading.Thread):
    """The API's HTTP server (uvicorn in a thread), one of the process's loops: its /healthz check (`connected`)
    is on while uvicorn serves.

    The socket is bound and listening from construction, before the receiver and /healthz start: a call made as
    soon as /healthz answers waits in the listen backlog instead of being refused (uvicorn binds only once its
    thread has run its start-up, which on a loaded machine came after /healthz's first 200), and a port already
    taken ends the process at once (uvicorn's error and exit status 3) instead of leaving it healthy with no API.
    If the server ends of itself, the process stops with `failed` set."""

    def __init__(self, app: Starlette, host: str, port: int, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping, self.connected = threading.Event(), threading.Event()
        self.failed = False
        self.server = _Uvicorn(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False),
                               self.connected)
        self.sock = self.server.config.bind_socket()
        self.sock.listen(self.server.config.backlog)

    def run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException:  # uvicorn's start-up failure is a SystemExit, which would end only this thread
            log.exception("%s: the HTTP server failed", self.name)
        finally:
            self.connected.clear()
        if not self.server.should_exit:
            self.failed = True
            log.error("%s: the HTTP server ended on its own; stopping the process", self.name)
            os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        self.server.should_exit = True


def run(description: str, cls: type[SystemsApi], create_app: Callable[[Any], Starlette], waiting: Any,
        argv: list[str] | None = None) -> None:
    """The API process: the HTTP server (a thread) and the receiver, until SIGTERM or SIGINT; exit status 1 if
    the HTTP server ended of itself."""
    import faulthandler
    import sys

    from services.interconnect.process import run_until_signalled

    parser = argparse.ArgumentParser(description=description)
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
    api = build(cls, topology, args.hub, args.run_dir, creds, args.max_bytes)
    http = HttpServer(create_app(api), args.host, args.port, f"{cls.protocol}-http")
    receiver = Receiver(api, creds, waiting)

    def stop() -> None:
        http.stop()
        api.gateway.close()

    run_until_signalled(f"{cls.protocol} api {args.hub} on {args.host}:{args.port}", [receiver, http],
                        args.metrics_port, on_stop=stop, hub=args.hub)
    if http.failed:
        sys.exit(1)
