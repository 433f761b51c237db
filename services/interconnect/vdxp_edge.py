"""An agency's edge on a real VDXP (the national axis's HTTP API) instead of our hubs' RabbitMQ.

    VDXP_SECRET=... python -m services.interconnect.vdxp_edge --agency ORGAN_ID --topology FILE --run-dir DIR \
        [--endpoint URL --system-id ID] [--poll-seconds 30] [--metrics-port N]

Chosen in configuration: the agency's `hub` in the topology is `vdxp` (no hub of ours serves it), and this
process runs in place of services/interconnect/edge.py (the endpoint and system id on the command line or in the
topology's `extra.axis_clients`; what client edges share is in axis_edge.py). The rules are the same `Edge`
(outbox, inbox deduplication on (DocumentId, sender, recipient, kind), registry hand-over, automatic 01/02); only
the transport differs, as the SDK's callers use it (STANDARDS.md §1.8):
- outgoing: the registry's `outgoing_package` / `outgoing_status` events are kept in the edge outbox (then
  acked); a sender loop sends every unsent outbox row with `sendEdoc` (`messagetype` edoc or status), oldest
  first, and marks it sent. A row the axis refuses for good (bad package, sender not registered) is logged and
  retried at the back-off's cap, never dropped; the axis being away means back-off, nothing lost.
- incoming: a poller calls `getReceivedEdocList` (edoc, then status), fetches each package with `getEdoc`, hands
  it to the same `Edge.take_incoming`, and acknowledges with `updateStatus done` once it is stored and parsed, or
  `fail` with the parser's reason. Until acknowledged the axis lists it again, so a crash anywhere means a
  second fetch, and the inbox deduplication means no second registration.
Progress survives a restart: the outbox is in the edge's database and the axis keeps what was not acknowledged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from services.common import clock
from services.interconnect import broker, vdxp
from services.interconnect import metrics as m
from services.interconnect.axis_edge import OutboxIntake, arguments, hand_over
from services.interconnect.edge import Edge, build_edge
from services.interconnect.loop import Loop
from services.interconnect.models import EdgeOutbox

log = logging.getLogger("congvan.vdxp_edge")
TIMEOUT = 60.0
# Refusals a retry cannot cure: the row stays in the outbox for an operator, retried only at the back-off's cap.
PERMANENT = {vdxp.Code.BAD_REQUEST, vdxp.Code.HASH_MISMATCH, vdxp.Code.SENDER_NOT_REGISTERED,
             vdxp.Code.INVALID_EDXML, vdxp.Code.TOO_LARGE}


class AxisError(Exception):
    """The axis answered FAIL (code, desc) or could not be reached (code None)."""

    def __init__(self, operation: str, code: str | None, desc: str) -> None:
        super().__init__(f"{operation}: {code or 'unreachable'} {desc}")
        self.operation, self.code, self.desc = operation, code, desc

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT


class AxisClient:
    """The SDK's requests, made properly: a fresh header map per call (no stale keys), a current timestamp,
    every parameter signed, and a timeout (the SDK has none)."""

    def __init__(self, endpoint: str, system_id: str, secret: str, timeout: float = TIMEOUT) -> None:
        self.endpoint, self.system_id, self.secret, self.timeout = endpoint.rstrip("/"), system_id, secret, timeout

    def _headers(self, params: dict[str, str], content_type: str) -> dict[str, str]:
        now = clock.now_vn()
        values = {"timestamp": now.strftime("%d%m%YT%H%M%S") + f"+{now.microsecond // 1000:04d}",
                  "systemid": self.system_id, "Content-Type": content_type, **params}
        signed = {vdxp.PREFIX + k: v for k, v in values.items()}
        sign = json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
        headers = {vdxp.PREFIX + k: v for k, v in values.items()}
        headers.update({"Content-Type": content_type, "XroadVnpt-sign-header-key": ";".join(values),
                        "XroadVnpt-sign-header": sign, "XroadVnpt-hash-header": vdxp.hmac_hex(self.secret, sign),
                        "User-Agent": "CongVan-VDXP/1.0 XRoad/VPCP", "XroadVnpt-version": "3.0.201608"})
        return headers

    def call(self, operation: str, params: dict[str, str] | None = None, body: bytes = b"{}",
             content_type: str = "application/json", method: str = "POST") -> dict[str, Any]:
        headers = [(name.encode(), value.encode("utf-8")) for name, value in
                   self._headers(params or {}, content_type).items()]
        try:
            response = httpx.request(method, f"{self.endpoint}/{operation}", headers=headers,
                                     content=body if method == "POST" else None, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise AxisError(operation, None, f"{exc.__class__.__name__}: {exc}") from None
        raw = response.content
        if response.status_code >= 500 and not raw.startswith(b"{"):
            raise AxisError(operation, None, f"HTTP {response.status_code}")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise AxisError(operation, None, f"not JSON: {raw[:120]!r}") from None
        code = str(answer.get("ErrorCode", ""))
        if code != vdxp.Code.OK:
            raise AxisError(operation, None if code == vdxp.Code.INTERNAL else code, str(answer.get("ErrorDesc")))
        return answer

    def send_edoc(self, sender: str, kind: str, data: bytes) -> str:
        params = {"from": sender, "servicetype": vdxp.SERVICE_TYPE, "messagetype": kind,
                  "hash-file": vdxp.sdk_hex(hashlib.sha256(data).digest())}
        answer = self.call("sendEdoc", params, data + b"\r\n", "application/octet-stream")
        return str(answer.get("DocId") or "")

    def received(self, kind: str) -> list[dict[str, Any]]:
        answer = self.call("getReceivedEdocList", {"servicetype": vdxp.SERVICE_TYPE, "messagetype": kind}, b"")
        return list(answer.get("data") or [])

    def get_edoc(self, doc_id: str) -> bytes:
        return base64.b64decode(self.call("getEdoc", {"docId": doc_id})["data"])

    def update_status(self, doc_id: str, status: str, description: str = "") -> None:
        params = {"docId": doc_id, "status": status}
        if description:
            params["description"] = description[:500]
        self.call("updateStatus", params)


# --- loops ---------------------------------------------------------------------------------------------


class AxisSender(Loop):
    """Sends unsent outbox rows with sendEdoc, oldest first; back-off while the axis is away."""

    def __init__(self, edge: Edge, client: AxisClient, wake: threading.Event) -> None:
        super().__init__(f"sender:{edge.organ_id}")
        self.edge, self.client, self.wake = edge, client, wake
        self.refused: dict[str, datetime] = {}   # message id -> when it may be tried again

    def session(self) -> None:
        self.connected.set()
        backoff = broker.Backoff(1.0, 60.0)
        while not self.stopping.is_set():
            sent_any = False
            for row in self._unsent():
                if self.stopping.is_set():
                    return
                retry_at = self.refused.get(row.message_id)
                if retry_at is not None and clock.now_vn() < retry_at:
                    continue
                try:
                    doc_id = self.client.send_edoc(self.edge.organ_id, row.kind, self.edge.blobs.read(row.raw_sha256))
                except AxisError as exc:
                    if not exc.permanent:
                        self.connected.clear()
                        raise ConnectionError(str(exc)) from None  # the Loop backs off and starts again
                    log.error("the axis refuses %s for good: %s %s", row.message_id, exc.code, exc.desc)
                    self.refused[row.message_id] = clock.now_vn() + timedelta(seconds=backoff.cap)
                    continue
                self.edge.mark_sent(row.message_id)
                self.refused.pop(row.message_id, None)
                m.EDGE_SENT.labels(self.edge.organ_id, row.kind).inc()
                log.info("sent %s %s as DocId %s", row.kind, row.message_id, doc_id)
                sent_any = True
            self.connected.set()
            if not sent_any:
                self.wake.wait(1.0)
                self.wake.clear()

    def _unsent(self) -> list[EdgeOutbox]:
        with self.edge.db.session() as s:
            return list(s.scalars(select(EdgeOutbox).where(EdgeOutbox.sent_at.is_(None))
                                  .order_by(EdgeOutbox.created_at).limit(100)))


class AxisPoller(Loop):
    """getReceivedEdocList → getEdoc → Edge.take_incoming → updateStatus, every `interval` seconds."""

    def __init__(self, edge: Edge, client: AxisClient, wake: threading.Event, interval: float) -> None:
        super().__init__(f"poller:{edge.organ_id}")
        self.edge, self.client, self.wake, self.interval = edge, client, wake, interval

    def session(self) -> None:
        while not self.stopping.is_set():
            for kind in ("edoc", "status"):
                try:
                    items = self.client.received(kind)
                except AxisError as exc:
                    self.connected.clear()
                    raise ConnectionError(str(exc)) from None
                self.connected.set()
                for item in items:
                    if self.stopping.is_set():
                        return
                    if item.get("to") and item["to"] != self.edge.organ_id:
                        continue  # another agency of the same system: its own edge takes it
                    self.take(str(item["docId"]))
            self.stopping.wait(self.interval)

    def take(self, doc_id: str) -> None:
        try:
            data = self.client.get_edoc(doc_id)
        except AxisError as exc:
            if exc.code == vdxp.Code.NOT_FOUND:
                return
            raise ConnectionError(str(exc)) from None
        failure = hand_over(self.edge, data, self.wake)
        try:
            self.client.update_status(doc_id, "fail" if failure else "done", failure)
        except AxisError as exc:
            if exc.code != vdxp.Code.CONFLICT:  # a final status set before a crash: nothing left to do
                raise ConnectionError(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    from services.interconnect.process import run_until_signalled

    args, topology, secret = arguments("Cổng liên thông của một cơ quan qua trục VDXP", "VDXP_SECRET", 30.0, argv)
    edge = build_edge(topology, args.agency, args.run_dir)
    client = AxisClient(args.endpoint, args.system_id, secret)
    wake = threading.Event()
    loops = [OutboxIntake(edge, wake), AxisSender(edge, client, wake),
             AxisPoller(edge, client, wake, args.poll_seconds)]
    try:
        run_until_signalled(f"VDXP edge of {args.agency}", loops, args.metrics_port, on_stop=edge.stopping.set,
                            agency=args.agency)
    finally:
        edge.registry.close()


if __name__ == "__main__":
    main()
