"""An agency's edge on a provincial LGSP (the Lạng Sơn LGSP v2.2 guide; wire rules in lgsp.py) instead of our hubs'
RabbitMQ.

    LGSP_SECRET=... python -m services.interconnect.lgsp_edge --agency ORGAN_ID --topology FILE --run-dir DIR \\
        [--endpoint BASE --system-id ID] [--poll-seconds 60] [--retry-first 30] [--retry-cap 480] [--metrics-port N]

Chosen in configuration the way the VDXP edge is: the agency's `hub` in the topology is `lgsp`, and this process
runs in place of services/interconnect/edge.py (`Topology.edge_module`); `BASE` is the `{base}` of the guide's
`{base}/v1/sendEdoc`. The rules are the RabbitMQ edge's own `Edge` (outbox, inbox deduplication on (DocumentId,
sender, recipient, kind), registry hand-over, automatic 01/02); only the transport differs (axis_edge.py: what
client edges share):

- outgoing: the registry's events are kept in the edge outbox; a sender loop sends each row with `sendEdoc`
  (`messageType` edoc or status), oldest first. What the axis answers decides (lgsp.CODES): 0 sent; 20, 21 or no
  answer: tried again 30 s later, doubling to 480 s and staying there (never dropped); 10, 22, 40 and 18, 23: refused
  for good, each recipient of a document gets a status 02 in our registry with the axis's reason; 15, 19: our
  system id, secret or sender registration is wrong: logged with what to fix, nothing more is sent (15: nor fetched)
  until the process is restarted, and `congvan_lgsp_edge_configuration_error` raises the alert.
  A status already sent with the same (document, recipient, code, text) is not sent again (axis.status_key).
- incoming: a poller lists `getReceivedEdocList` (edoc, then status), fetches each item addressed to this agency
  with `getEdoc`, hands it to the edge and acknowledges it with `updateStatus` `done` (or `fail` with the parser's
  reason): one acknowledgement per (docId, status), kept until the axis has it and retried with the same back-off.
- progress survives a restart: the outbox, the tries and their next time (`edge_axis_send`) and the owed
  acknowledgements (`edge_axis_ack`) are in the edge's database; the axis keeps what was not acknowledged, and a
  package fetched twice is registered once (the inbox key).
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, or_, select

from services.interconnect import edxml, lgsp
from services.interconnect import metrics as m
from services.interconnect.axis import retry_delay, status_key
from services.interconnect.axis_edge import OutboxIntake, arguments, hand_over
from services.interconnect.edge import Edge, build_edge
from services.interconnect.lgsp import Code, Handling
from services.interconnect.lgsp_oauth import TokenError, TokenSource
from services.interconnect.loop import Loop
from services.interconnect.models import EdgeAxisAck, EdgeAxisSend, EdgeOutbox

log = logging.getLogger("congvan.lgsp_edge")
TIMEOUT = 60.0
RETRY_FIRST, RETRY_CAP = 30.0, 480.0
# Operations whose "not found" means the endpoint is wrong, not that a package is gone.
ENDPOINT_OPERATIONS = ("sendEdoc", "getReceivedEdocList")


class LgspCallError(Exception):
    """The axis answered a code other than 0 (`code`), or no answer of the guide's shape (`code` None)."""

    def __init__(self, operation: str, code: int | None, desc: str) -> None:
        super().__init__(f"{operation}: {code if code is not None else 'unreachable'} {desc}")
        self.operation, self.code, self.desc = operation, code, desc

    @property
    def handling(self) -> Handling:
        if self.code in (Code.NOT_FOUND, Code.CONFLICT) and self.operation in ENDPOINT_OPERATIONS:
            return Handling.CONFIGURATION  # the endpoint answers, but not as an LGSP does: a wrong {base}
        return lgsp.handling_of(self.code)

    @property
    def reason(self) -> str:
        """What the code means, then what the axis said (for the clerk's 02 and the operator's log)."""
        if self.code is None:
            return f"không kết nối được trục LGSP ({self.desc})"
        meaning = lgsp.message_of(self.code)
        if self.desc.startswith(meaning):  # our API's descriptions begin with it; a real LGSP's may not
            return f"mã {self.code}, {self.desc}"
        return f"mã {self.code}, {meaning}" + (f": {self.desc}" if self.desc else "")


class LgspClient:
    """The guide's requests: X-SystemId and X-SecretKey on every call, and an OAuth2 bearer token where the LGSP
    wants one (`tokens`: fetched by the client-credentials grant, kept until shortly before it expires, fetched
    again once when a call is answered 401; or a fixed `bearer`), a timeout, and the answer's code read whatever
    the JSON's spelling."""

    def __init__(self, base: str, system_id: str, secret: str, agency: str = "", timeout: float = TIMEOUT,
                 bearer: str = "", tokens: TokenSource | None = None) -> None:
        self.base, self.agency, self.timeout, self.tokens = base.rstrip("/"), agency, timeout, tokens
        self.headers = {lgsp.SYSTEM_HEADER: system_id, lgsp.SECRET_HEADER: secret}
        if bearer and tokens is None:
            self.headers["Authorization"] = f"Bearer {bearer}"

    def _bearer(self, operation: str) -> str:
        try:
            return self.tokens.bearer() if self.tokens else ""
        except TokenError as exc:
            # Refused credentials are a configuration error (15: stop and alert); no answer, a transient one.
            self._count(operation, "token")
            raise LgspCallError(operation, Code.UNAUTHENTICATED if exc.refused else None, str(exc)) from None

    def _request(self, method: str, operation: str, path: str, request: dict[str, Any]) -> httpx.Response:
        for first in (True, False):
            token = self._bearer(operation)
            headers = {**self.headers, **({"Authorization": f"Bearer {token}"} if token else {})}
            try:
                response = httpx.request(method, f"{self.base}/v1/{operation}{path}", headers=headers,
                                         timeout=self.timeout, **request)
            except httpx.HTTPError as exc:
                self._count(operation, "unreachable")
                raise LgspCallError(operation, None, f"{exc.__class__.__name__}: {exc}") from None
            if not (first and token and response.status_code == 401):
                return response
            log.info("%s answered 401 with our bearer token: fetching a new token, then calling once more", operation)
            self.tokens.invalidate(token)   # type: ignore[union-attr]
        return response

    def call(self, method: str, operation: str, path: str = "", **request: Any) -> Any:
        """The answer's `data` when the code is 0; else LgspCallError."""
        response = self._request(method, operation, path, request)
        code, desc, data = lgsp.read_answer(response.content)
        self._count(operation, "unreachable" if code is None else str(code))
        if code is None:
            raise LgspCallError(operation, None, f"HTTP {response.status_code}, {desc}")
        if code != Code.OK:
            raise LgspCallError(operation, code, desc)
        return data

    def _count(self, operation: str, code: str) -> None:
        m.LGSP_EDGE_CALLS.labels(self.agency, operation, code).inc()

    def send_edoc(self, kind: str, data: bytes, name: str) -> str:
        answer = self.call("POST", "sendEdoc", files={lgsp.FILE_FIELD: (name, data, "application/xml")},
                           data={lgsp.TYPE_FIELD: kind})
        return str(answer.get("docId") or "") if isinstance(answer, dict) else str(answer or "")

    def received(self, kind: str) -> list[dict[str, Any]]:
        items = self.call("GET", "getReceivedEdocList", params={lgsp.TYPE_FIELD: kind})
        return [i for i in items or [] if isinstance(i, dict) and i.get("docId")]

    def get_edoc(self, doc_id: str) -> bytes:
        data = self.call("GET", "getEdoc", f"/{doc_id}")
        return base64.b64decode(data if isinstance(data, str) else (data or {}).get("content") or "")

    def update_status(self, doc_id: str, status: str, description: str = "") -> None:
        body = {"docId": doc_id, "status": status, **({"description": description[:500]} if description else {})}
        self.call("POST", "updateStatus", json=body)


class Halt:
    """A configuration error (15, 19) stops the loops it concerns until the process restarts: the axis would refuse
    every call the same way, and an operator must fix the system id, the secret or the registration first."""

    def __init__(self, agency: str) -> None:
        self.agency = agency
        self.codes: dict[int, str] = {}
        for code in (Code.UNAUTHENTICATED, Code.SENDER_NOT_REGISTERED):
            m.LGSP_EDGE_CONFIGURATION.labels(agency, str(int(code))).set(0)

    def stop(self, error: LgspCallError) -> None:
        code = int(error.code) if error.code is not None else Code.UNAUTHENTICATED
        if code in self.codes:
            return
        self.codes[code] = error.reason
        m.LGSP_EDGE_CONFIGURATION.labels(self.agency, str(code)).set(1)
        what = {Code.UNAUTHENTICATED: "the system id (--system-id) or the secret (LGSP_SECRET)",
                Code.SENDER_NOT_REGISTERED: f"the registration of {self.agency} to this system on the LGSP"}
        log.error("LGSP configuration error at %s: %s. Nothing more is %s until %s is fixed and this edge restarted",
                  error.operation, error.reason,
                  "sent" if code == Code.SENDER_NOT_REGISTERED else "sent or fetched",
                  what.get(code, "the endpoint (--endpoint: the guide's {base}, without /v1)"))

    @property
    def sending(self) -> bool:
        return not self.codes

    @property
    def receiving(self) -> bool:
        return not (set(self.codes) - {Code.SENDER_NOT_REGISTERED})


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class Deliveries:
    """The sending side's progress in the edge's database: per outbox row its tries, next time and end."""

    def __init__(self, edge: Edge) -> None:
        self.db = edge.db

    def _pending(self, query):
        return (query.outerjoin(EdgeAxisSend, EdgeAxisSend.message_id == EdgeOutbox.message_id)
                .where(EdgeOutbox.sent_at.is_(None), EdgeAxisSend.outcome.is_(None)))

    def due(self, limit: int = 100) -> list[EdgeOutbox]:
        with self.db.session() as s:
            q = self._pending(select(EdgeOutbox)).where(
                or_(EdgeAxisSend.next_at.is_(None), EdgeAxisSend.next_at <= _now()))
            return list(s.scalars(q.order_by(EdgeOutbox.created_at).limit(limit)))

    def backlog(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(self._pending(select(func.count()).select_from(EdgeOutbox))) or 0)

    def already_sent(self, key: str, message_id: str) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(EdgeAxisSend.message_id).where(
                EdgeAxisSend.status_key == key, EdgeAxisSend.outcome == "sent",
                EdgeAxisSend.message_id != message_id).limit(1))

    def update(self, message_id: str, **values: Any) -> EdgeAxisSend:
        with self.db.session() as s:
            row = s.get(EdgeAxisSend, message_id)
            if row is None:
                row = EdgeAxisSend(message_id=message_id, attempts=0, detail="", axis_doc_id="")
                s.add(row)
            for name, value in values.items():
                setattr(row, name, value(row) if callable(value) else value)
            row.updated_at = _now()
            s.flush()
            s.expunge(row)
            return row


class Acks:
    """The acknowledgements owed to the axis, one per (docId, status), until it has them."""

    def __init__(self, edge: Edge) -> None:
        self.db = edge.db

    def get(self, doc_id: str) -> EdgeAxisAck | None:
        with self.db.session() as s:
            row = s.get(EdgeAxisAck, doc_id)
            if row is not None:
                s.expunge(row)
            return row

    def owe(self, doc_id: str, status: str, description: str) -> EdgeAxisAck:
        with self.db.session() as s:
            if s.get(EdgeAxisAck, doc_id) is None:
                s.add(EdgeAxisAck(doc_id=doc_id, status=status, description=description[:2000], attempts=0,
                                  detail="", updated_at=_now()))
        return self.get(doc_id)  # type: ignore[return-value]

    def due(self, limit: int = 100) -> list[EdgeAxisAck]:
        with self.db.session() as s:
            rows = list(s.scalars(select(EdgeAxisAck).where(
                EdgeAxisAck.acked_at.is_(None),
                or_(EdgeAxisAck.next_at.is_(None), EdgeAxisAck.next_at <= _now())).limit(limit)))
            s.expunge_all()
            return rows

    def update(self, doc_id: str, **values: Any) -> None:
        with self.db.session() as s:
            row = s.get(EdgeAxisAck, doc_id)
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value(row) if callable(value) else value)
                row.updated_at = _now()


class Schedule:
    """The retry schedule: `first` seconds, doubling, at most `cap` (30 s → 480 s; seconds in tests)."""

    def __init__(self, first: float = RETRY_FIRST, cap: float = RETRY_CAP) -> None:
        self.first, self.cap = first, cap

    def after(self, attempts: int) -> tuple[float, datetime]:
        delay = retry_delay(attempts, self.first, self.cap)
        return delay, _now() + timedelta(seconds=delay)


class LgspSender(Loop):
    """Sends the outbox's due rows with sendEdoc, oldest first, and records how each went."""

    def __init__(self, edge: Edge, client: LgspClient, wake: threading.Event, halt: Halt,
                 schedule: Schedule) -> None:
        super().__init__(f"sender:{edge.organ_id}")
        self.edge, self.client, self.wake, self.halt, self.schedule = edge, client, wake, halt, schedule
        self.deliveries = Deliveries(edge)
        # While the axis is away (no answer, or 20) nothing is sent until `resume_at`, on the schedule of the
        # outage's consecutive failures; a failure of one file (21) delays that row only.
        self.outage, self.resume_at = 0, _now()

    def session(self) -> None:
        self.connected.set()
        while not self.stopping.is_set():
            if not self.halt.sending:
                self.connected.clear()
            elif _now() >= self.resume_at:
                for row in self.deliveries.due():
                    if self.stopping.is_set() or not self.halt.sending or _now() < self.resume_at:
                        break
                    self.send(row)
            m.OUTBOX_BACKLOG.labels(self.edge.organ_id).set(self.deliveries.backlog())
            self.wake.wait(1.0)
            self.wake.clear()

    def send(self, row: EdgeOutbox) -> None:
        body = self.edge.blobs.read(row.raw_sha256)
        key = self._status_key(row, body) if row.kind == "status" else None
        if key is not None and (first := self.deliveries.already_sent(key, row.message_id)):
            self.deliveries.update(row.message_id, outcome="duplicate", status_key=key, detail=f"như {first}")
            log.info("status %s %s about %s not sent again: %s already carried it", row.status_code,
                     row.message_id, row.document_id, first)
            return
        try:
            doc_id = self.client.send_edoc(row.kind, body, f"{row.kind}-{row.raw_sha256[:16]}.edxml")
        except LgspCallError as exc:
            self._not_sent(row, key, exc)
            return
        self.deliveries.update(row.message_id, outcome="sent", axis_doc_id=doc_id[:128], status_key=key,
                               attempts=lambda r: r.attempts + 1, code=None, next_at=None)
        self.edge.mark_sent(row.message_id)
        self.outage = 0
        self.connected.set()
        m.EDGE_SENT.labels(self.edge.organ_id, row.kind).inc()
        log.info("sent %s %s as docId %s", row.kind, row.message_id, doc_id)

    def _not_sent(self, row: EdgeOutbox, key: str | None, exc: LgspCallError) -> None:
        handling = exc.handling
        if handling == Handling.CONFIGURATION:
            self.deliveries.update(row.message_id, code=exc.code, detail=exc.reason[:2000], status_key=key)
            self.halt.stop(exc)
            self.connected.clear()
        elif handling in (Handling.PACKAGE_REFUSED, Handling.RECIPIENT_REFUSED):
            log.error("the LGSP refuses %s %s for good (%s)", row.kind, row.message_id, exc.reason)
            if row.kind == "edoc":  # a refused status is not answered (no status loops)
                self.edge.refuse_recipients(row.document_id, [r for r in row.recipients.split(",") if r],
                                            f"Trục LGSP không nhận gói tin ({exc.reason})")
            self.deliveries.update(row.message_id, outcome="refused", code=exc.code, detail=exc.reason[:2000],
                                   status_key=key, attempts=lambda r: r.attempts + 1)
        else:  # transient, and codes the guide does not list
            tried = self.deliveries.update(row.message_id, code=exc.code, detail=exc.reason[:2000], status_key=key,
                                           attempts=lambda r: r.attempts + 1)
            if exc.code is None or exc.code == Code.AXIS_ERROR:
                self.outage += 1
                delay, self.resume_at = self.schedule.after(self.outage)
                at = self.resume_at
                self.connected.clear()
            else:
                delay, at = self.schedule.after(tried.attempts)
            self.deliveries.update(row.message_id, next_at=at)
            log.warning("%s %s not sent (try %d: %s); next try in %.3g s", row.kind, row.message_id, tried.attempts,
                        exc.reason, delay)

    @staticmethod
    def _status_key(row: EdgeOutbox, body: bytes) -> str:
        try:
            description = str(edxml.parse(body).header.get("description") or "")
        except edxml.EdxmlError:
            description = row.message_id  # we built it; should it not read back, it is nobody's duplicate
        return status_key(row.document_id, row.recipients, str(row.status_code or ""), description)


class LgspPoller(Loop):
    """Every `interval` seconds: the owed acknowledgements that are due, then getReceivedEdocList → getEdoc →
    the edge → updateStatus. An unreachable axis is polled again on the retry schedule."""

    def __init__(self, edge: Edge, client: LgspClient, wake: threading.Event, halt: Halt, schedule: Schedule,
                 interval: float) -> None:
        super().__init__(f"poller:{edge.organ_id}")
        self.edge, self.client, self.wake, self.halt = edge, client, wake, halt
        self.schedule, self.interval = schedule, interval
        self.acks = Acks(edge)

    def session(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            if not self.halt.receiving:
                self.connected.clear()
                self.stopping.wait(1.0)
                continue
            try:
                self.poll()
            except LgspCallError as exc:
                self.connected.clear()
                if exc.handling == Handling.CONFIGURATION:
                    self.halt.stop(exc)
                    continue
                failures += 1
                delay = retry_delay(failures, self.schedule.first, self.schedule.cap)
                log.warning("polling the LGSP failed (%s); again in %.3g s", exc.reason, delay)
                self.stopping.wait(delay)
                continue
            failures = 0
            self.connected.set()
            self.stopping.wait(self.interval)

    def poll(self) -> None:
        for ack in self.acks.due():
            self.acknowledge(ack)
        for kind in ("edoc", "status"):
            for item in self.client.received(kind):
                if self.stopping.is_set():
                    return
                if item.get("to") and item["to"] != self.edge.organ_id:
                    continue  # another agency of the same system: its own edge takes it
                self.take(str(item["docId"]))

    def take(self, doc_id: str) -> None:
        if self.acks.get(doc_id) is not None:
            return  # taken already: its acknowledgement is sent, or waits for its next try
        try:
            data = self.client.get_edoc(doc_id)
        except LgspCallError as exc:
            if exc.code == Code.NOT_FOUND:
                return
            raise
        failure = hand_over(self.edge, data, self.wake)
        self.acknowledge(self.acks.owe(doc_id, "fail" if failure else "done", failure))

    def acknowledge(self, ack: EdgeAxisAck) -> None:
        try:
            self.client.update_status(ack.doc_id, ack.status, ack.description)
        except LgspCallError as exc:
            if exc.handling == Handling.DONE:  # unknown to the axis, or its final status set already
                self.acks.update(ack.doc_id, acked_at=_now(), code=exc.code, detail=exc.reason[:2000])
                return
            if exc.handling == Handling.CONFIGURATION:
                raise
            attempts = ack.attempts + 1
            delay, at = self.schedule.after(attempts)
            self.acks.update(ack.doc_id, attempts=attempts, next_at=at, code=exc.code, detail=exc.reason[:2000])
            log.warning("acknowledgement %s of %s not sent (try %d: %s); next try in %.3g s", ack.status,
                        ack.doc_id, attempts, exc.reason, delay)
            return
        self.acks.update(ack.doc_id, acked_at=_now(), code=None, detail="")


def main(argv: list[str] | None = None) -> None:
    from services.interconnect.process import run_until_signalled

    retry = [("--retry-first", {"type": float, "default": RETRY_FIRST}),
             ("--retry-cap", {"type": float, "default": RETRY_CAP})]
    args, topology, secret = arguments("Cổng liên thông của một cơ quan qua trục LGSP", "LGSP_SECRET", 60.0, argv,
                                       retry)
    edge = build_edge(topology, args.agency, args.run_dir)
    # An OAuth2 bearer token, where the LGSP requires one besides the secret: fetched from its token endpoint
    # (LGSP_TOKEN_URL, client-credentials grant with the system id and secret), or given as is (LGSP_BEARER_TOKEN).
    token_url = os.environ.get("LGSP_TOKEN_URL", "").strip()
    tokens = TokenSource(token_url, args.system_id, secret) if token_url else None
    client = LgspClient(args.endpoint, args.system_id, secret, args.agency,
                        bearer=os.environ.get("LGSP_BEARER_TOKEN", ""), tokens=tokens)
    wake, halt, schedule = threading.Event(), Halt(args.agency), Schedule(args.retry_first, args.retry_cap)
    loops = [OutboxIntake(edge, wake), LgspSender(edge, client, wake, halt, schedule),
             LgspPoller(edge, client, wake, halt, schedule, args.poll_seconds)]
    try:
        run_until_signalled(f"LGSP edge of {args.agency}", loops, args.metrics_port, on_stop=edge.stopping.set,
                            agency=args.agency)
    finally:
        edge.registry.close()


if __name__ == "__main__":
    main()
