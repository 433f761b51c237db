"""An installation's interconnect edge: the only part of an installation that talks to its hub (pika).

    python -m services.interconnect.edge --agency INSTALLATION --topology FILE --run-dir DIR --metrics-port N

One edge process serves every agency its installation hosts (`--agency` names the installation by its first
agency), with the installation's one broker identity and one inbox (edge_installation.py: the loops). This
module holds the rules of one hosted agency (`Edge`), each over that agency's own database and blob store.

Outgoing: consume `interconnect.edge.outgoing` (the registry's and routing's `outgoing_package` /
`outgoing_status` events) on the agency's vhost; deduplicate on message_id; build the edXML (attachment bytes
from the agency's blob store by SHA-256); record it in the edge outbox; publish it to the hub's submit
exchange with confirms; then ack.
Incoming: consume the agency's inbox on the hub; store the raw .edxml and every attachment in the blob store;
deduplicate on (DocumentId, sender, recipient, kind); hand it to `registry.receive_package` (or
`record_status`); commit; send status 01 back; ack only after the local commit and the confirmed 01.
Every step is idempotent, so a crash anywhere means a redelivery, never a loss or a double registration.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import func, select

from services.common import audit, clock
from services.common.actor import system_actor
from services.common.db import Database
from services.common.errors import CongVanError
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.common.status_codes import status_advances
from services.interconnect import broker, domain, edxml
from services.interconnect import metrics as m
from services.interconnect.domain import H_SUBMITTED, Reason
from services.interconnect.models import EdgeBase, EdgeInbox, EdgeOutbox, EdgeRecipientStatus
from services.interconnect.topology import Topology
from services.storage.blobs import BlobStore, blob_store

log = logging.getLogger("congvan.edge")
# Errors a package's own content can cause (a bug or a limit meeting a value), answered with a 02: never the
# connection and timeout errors of the database, the blob store, the registry or the broker, which are retried.
DATA_ERRORS = (ValueError, TypeError, KeyError, LookupError, AttributeError, UnicodeError, zlib.error,
               sqlalchemy.exc.DataError, sqlalchemy.exc.IntegrityError)
RPC_ATTEMPTS = 8
EDGE_PROCESS = "interconnect-edge"  # the system actor: system:interconnect-edge in calls and audit rows


class Edge:
    """The rules of one hosted agency's edge over its database, blob store and the installation's registry
    client; the transport is in edge_installation.py.

    `installation` names the installation hosting the agency (its broker user and inbox); by default the one
    the topology says, else the agency itself. An agency added by onboarding is in no topology: its name then
    comes from the packages addressed to it."""

    def __init__(self, topology: Topology, organ_id: str, creds: broker.Credentials, database: Database,
                 blobs: BlobStore, registry: ServiceClient, installation: str | None = None) -> None:
        self.topology = topology
        self.organ_id = organ_id
        self.installation = installation or topology.installation_of(organ_id) or organ_id
        known = next((a for a in topology.agencies if a.organ_id == organ_id), None)
        self.name = known.name if known is not None else ""
        self.hub = topology.agency(self.installation).hub
        self.creds = creds
        self.db = database
        self.blobs = blobs
        self.registry = registry
        self.user = broker.agency_user(topology, self.installation)
        self.actor = system_actor(organ_id, EDGE_PROCESS)
        self.stopping = threading.Event()

    def _own_name(self, header: dict[str, Any]) -> str:
        """Our name as the topology knows it, else as the sender wrote it in the package addressed to us."""
        if self.name:
            return self.name
        to = header.get("to")
        for entry in to if isinstance(to, list) else [to] if isinstance(to, dict) else []:
            if isinstance(entry, dict) and entry.get("organ_id") == self.organ_id and entry.get("organ_name"):
                return str(entry["organ_name"])[:300]
        return self.organ_id

    # -- outgoing -----------------------------------------------------------------------------------------
    def prepare_outgoing(self, payload: dict[str, Any]) -> EdgeOutbox:
        """The outbox row of an outgoing event (built and stored once; later deliveries reuse it)."""
        message_id = str(payload.get("message_id") or uuid.uuid5(uuid.NAMESPACE_URL,
                                                                  json.dumps(payload, sort_keys=True)))
        with self.db.session() as s:
            row = s.get(EdgeOutbox, message_id)
            if row is not None:
                return row
        kind = "status" if payload.get("kind") == "status" else "edoc"
        if kind == "status":
            raw = edxml.build_status(payload)
            recipients = [str((payload.get("to") or {}).get("organ_id") or "")]
            document_id = str((payload.get("response_for") or {}).get("document_id") or "")
        else:
            attachments = [(meta, self.blobs.read(meta["sha256"])) for meta in payload.get("attachments") or []]
            # The sender's own TraceHeader first: a receiving Bkav hub fails on an empty TraceHeaderList (a
            # NullPointerException answered with error 9999), and every real sample carries one. Built in
            # strict mode: what real receivers refuse is refused here, with the reason, before it leaves.
            traced = {**payload, "trace": [*(payload.get("trace") or []),
                                           {"organ_id": self.organ_id, "timestamp": clock.now_vn()}]}
            raw = edxml.build_edoc(traced, attachments, strict=True)
            recipients = [str(t.get("organ_id")) for t in payload.get("to") or []]
            document_id = str(payload.get("document_id") or "")
        info = self.blobs.put_bytes(raw)
        row = EdgeOutbox(message_id=message_id, kind=kind, document_id=document_id,
                         recipients=",".join(recipients), status_code=payload.get("status_code"),
                         raw_sha256=info.sha256, raw_size=info.size, created_at=datetime.now(UTC))
        with self.db.session() as s:
            if s.get(EdgeOutbox, message_id) is None:
                s.add(row)
        return row

    def refuse_unsendable(self, payload: dict[str, Any], exc: edxml.EdxmlError) -> None:
        """Record, in our own registry, a 02 for each recipient of a package that could not be built."""
        recipients = [str(r.get("organ_id") or "") for r in payload.get("to") or []]
        self.refuse_recipients(str(payload.get("document_id") or ""), recipients,
                               f"Không gửi được qua trục liên thông: {exc.message_vi}")

    def refuse_recipients(self, document_id: str, recipients: list[str], description: str) -> None:
        """Record, in our own registry, a 02 with `description` for each recipient of one of our documents that
        will never reach them (it could not be built, or an axis refused it for good)."""
        for organ in recipients:
            status = {"kind": "status", "from": {"organ_id": self.organ_id}, "on_behalf_of": organ,
                      "response_for": {"organ_id": self.organ_id, "document_id": document_id},
                      "status_code": "02", "timestamp": clock.now_vn().isoformat(timespec="seconds"),
                      "description": description}
            try:
                self._rpc("record_status", status)
            except CongVanError as refused:
                log.warning("registry refused the local 02 for %s: %s", document_id, refused)

    def mark_sent(self, message_id: str) -> None:
        with self.db.session() as s:
            row = s.get(EdgeOutbox, message_id)
            if row is not None and row.sent_at is None:
                row.sent_at = datetime.now(UTC)

    def backlog(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(EdgeOutbox).where(EdgeOutbox.sent_at.is_(None))))

    # -- incoming -----------------------------------------------------------------------------------------
    def take_incoming(self, body: bytes, headers: dict[str, Any]) -> list[EdgeOutbox]:
        """Handle one package from the inbox; returns the outbox rows (our automatic 01/02) still to publish.

        An error that comes from the package itself (a value no column or rule here can take) is answered
        with a 02 to its authenticated sender rather than retried into `dead`; a failure of our database,
        blob store, registry or broker propagates, and the package is redelivered."""
        try:
            return self._take_incoming(body, headers)
        except DATA_ERRORS as exc:
            log.exception("incoming package could not be handled; answered with 02")
            return self._answer_failure(body, headers, exc)

    def _answer_failure(self, body: bytes, headers: dict[str, Any], exc: Exception) -> list[EdgeOutbox]:
        m.EDGE_RECEIVED.labels(self.organ_id, "unknown", "failed").inc()
        try:
            facts = edxml.peek(body)
        except Exception:
            facts = {}
        author = domain.printable(headers.get(domain.H_ORIGIN), 64) or str(facts.get("from") or "")
        if facts.get("kind") != "edoc" or not author or author.startswith("hub."):
            return []  # a status is not answered (no status loops), nor a hub
        detail = domain.printable(f"{exc.__class__.__name__}: {exc}", 300)
        header = {"document_id": str(facts.get("document_id") or "")[:256]}
        return self._unsent([self._reply(header, author, "02", domain.reason_text(Reason.PROCESSING_ERROR, detail),
                                         key="failed").message_id])

    def _take_incoming(self, body: bytes, headers: dict[str, Any]) -> list[EdgeOutbox]:
        try:
            parsed = edxml.parse(body)
        except edxml.EdxmlError as exc:
            return self._answer_unreadable(body, exc)
        header = dict(parsed.header)
        if parsed.kind == "status":
            return self._take_status(body, header, headers)
        sender = str((header.get("from") or {}).get("organ_id") or "")
        addressed = [str(t.get("organ_id")) for t in header.get("to") or []]
        if not domain.accepts(self.organ_id, addressed, headers.get(domain.H_READDRESSED)):
            return [self._reply(header, sender, "02", domain.reason_text(Reason.WRONG_RECIPIENT, self.organ_id),
                                key="wrong")]
        kind = domain.inbox_kind(header)
        document_id = str(header.get("document_id") or "")
        with self.db.session() as s:
            row = s.execute(select(EdgeInbox).where(
                EdgeInbox.document_id == document_id, EdgeInbox.sender == sender,
                EdgeInbox.recipient == self.organ_id, EdgeInbox.kind == kind)).scalar_one_or_none()
            done = row is not None and row.handed_over_at is not None
        if done:  # a duplicate: registered already; re-send our 01 if it never left
            m.EDGE_RECEIVED.labels(self.organ_id, "edoc", "duplicate").inc()
            return self._unsent([row.reply_message_id])
        raw = self.blobs.put_bytes(body)
        for attachment in parsed.attachments:
            self.blobs.put_bytes(attachment.data)
        package = {**header, "received_at": datetime.now(UTC).isoformat(), "raw_sha256": raw.sha256,
                   "raw_size": raw.size}
        try:
            self._rpc("receive_package", package)
        except CongVanError as exc:  # the registry refused it: tell the sender why
            m.EDGE_RECEIVED.labels(self.organ_id, "edoc", "refused").inc()
            return [self._reply(header, sender, "02", exc.message_vi, key=f"refused:{kind}")]
        reply = self._reply(header, sender, "01", "Đã đến - Phần mềm quản lý văn bản đã nhận, văn thư chưa xử lý",
                            key=kind)
        self._record_inbox(document_id, sender, kind, raw.sha256, raw.size, reply.message_id)
        m.EDGE_RECEIVED.labels(self.organ_id, "edoc", "registered").inc()
        age = domain.age_seconds(headers.get(H_SUBMITTED))
        if age is not None:
            m.EDGE_LATENCY.labels(self.organ_id).observe(age)
        return self._unsent([reply.message_id])

    def _take_status(self, body: bytes, header: dict[str, Any], headers: dict[str, Any]) -> list[EdgeOutbox]:
        sender = str((header.get("from") or {}).get("organ_id") or "")
        kind = domain.inbox_kind(header)
        document_id = str((header.get("response_for") or {}).get("document_id") or "")
        # Only hubs publish into our inbox, and the first hub set x-origin from the broker-checked user.
        author = domain.printable(headers.get(domain.H_ORIGIN), 64) or sender
        verdict = self._status_allowed(author, sender, document_id, str(header.get("status_code") or ""),
                                       headers.get(domain.H_PREDECESSORS))
        if verdict is None:
            return self._refuse_status(header, author, kind)
        extra = {"authenticated_sender": author, **({"on_behalf_of": verdict} if verdict else {})}
        with self.db.session() as s:
            exists = s.execute(select(EdgeInbox.id).where(
                EdgeInbox.document_id == document_id, EdgeInbox.sender == sender,
                EdgeInbox.recipient == self.organ_id, EdgeInbox.kind == kind)).first()
        if exists:
            m.EDGE_RECEIVED.labels(self.organ_id, "status", "duplicate").inc()
            return []
        raw = self.blobs.put_bytes(body)
        try:
            self._rpc("record_status", {**header, **extra, "received_at": datetime.now(UTC).isoformat(),
                                        "raw_sha256": raw.sha256})
        except CongVanError as exc:  # not ours to argue with: keep it in our view, log the refusal
            log.warning("registry refused status %s for %s: %s", header.get("status_code"), document_id, exc)
        self._record_inbox(document_id, sender, kind, raw.sha256, raw.size, None)
        self._update_view(document_id, sender, header)
        m.EDGE_RECEIVED.labels(self.organ_id, "status", "recorded").inc()
        return []

    def _status_allowed(self, author: str, sender: str, document_id: str, code: str,
                        predecessors: object) -> str | None:
        """Whether a status may be taken (STANDARDS §1.6: statuses come from the document's recipients, a
        13 from its sender): None if not; else "" or the recipient a successor answers for.

        A hub's own status (a refusal of what we submitted) is taken; an agency's only about a document we
        sent it (or, for a 13, one it sent us), or as the answer 02 to a status we sent it."""
        if author.startswith("hub."):
            return ""
        if author != sender:  # the first hub refuses such a package already; never believe the XML over it
            return None
        with self.db.session() as s:
            if code == "13":
                got = s.execute(select(EdgeInbox.id).where(
                    EdgeInbox.document_id == document_id, EdgeInbox.sender == author,
                    EdgeInbox.recipient == self.organ_id, EdgeInbox.kind.like("edoc:%"))).first()
                return "" if got else None
            sent = s.execute(select(EdgeOutbox.kind, EdgeOutbox.recipients, EdgeOutbox.status_code).where(
                EdgeOutbox.document_id == document_id)).all()
        documents = {r for kind, recipients, _ in sent if kind == "edoc" for r in recipients.split(",") if r}
        if author in documents:
            return ""
        replaced = [str(p) for p in predecessors] if isinstance(predecessors, list) else []
        for organ in replaced:
            if organ in documents:
                return organ
        # Our own 02s are not among them: nobody answers a refusal.
        statuses = {r for kind, recipients, sent_code in sent if kind == "status" and sent_code != "02"
                    for r in recipients.split(",") if r}
        if code == "02" and author in statuses:
            return ""  # its refusal of a status we sent it
        return None

    def _refuse_status(self, header: dict[str, Any], author: str, kind: str) -> list[EdgeOutbox]:
        """A status about a document that author has no part in: logged, kept from the registry, and answered
        with a 02 (a refused 02 is not answered, or two edges could refuse each other for ever)."""
        about = dict(header.get("response_for") or {})
        code = str(header.get("status_code") or "")
        log.warning("status %s from %s about %s refused: %s is no recipient of that document here", code,
                    author, about.get("document_id"), author)
        m.EDGE_RECEIVED.labels(self.organ_id, "status", "refused").inc()
        if code == "02" or not author:
            return []
        status = {
            "kind": "status",
            "message_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.organ_id}|refused|{author}|{kind}|"
                                                             f"{about.get('document_id')}")),
            "from": {"organ_id": self.organ_id, "organ_name": self._own_name(header)},
            "to": {"organ_id": author},
            "response_for": {"organ_id": str(about.get("organ_id") or ""), "code": str(about.get("code") or "0/KXĐ"),
                             "promulgation_date": str(about.get("promulgation_date") or ""),
                             "document_id": str(about.get("document_id") or "")},
            "staff": {"department": "Văn thư", "name": "Hệ thống", "mobile": "", "email": ""},
            "status_code": "02",
            "description": domain.reason_text(Reason.NOT_A_RECIPIENT,
                                              f"{author} không nhận văn bản {about.get('document_id')} từ "
                                              f"{self.organ_id}, trạng thái {code} không được ghi nhận"),
            "timestamp": clock.now_vn().isoformat(timespec="seconds"),
        }
        return self._unsent([self.prepare_outgoing(status).message_id])

    def _record_inbox(self, document_id: str, sender: str, kind: str, sha: str, size: int,
                      reply_id: str | None) -> None:
        now = datetime.now(UTC)
        with self.db.session() as s:
            row = s.execute(select(EdgeInbox).where(
                EdgeInbox.document_id == document_id, EdgeInbox.sender == sender,
                EdgeInbox.recipient == self.organ_id, EdgeInbox.kind == kind)).scalar_one_or_none()
            if row is None:
                s.add(EdgeInbox(document_id=document_id, sender=sender, recipient=self.organ_id, kind=kind,
                                raw_sha256=sha, raw_size=size, received_at=now, handed_over_at=now,
                                reply_message_id=reply_id))
            elif row.handed_over_at is None:
                row.handed_over_at, row.reply_message_id = now, reply_id

    def _update_view(self, document_id: str, recipient: str, header: dict[str, Any]) -> None:
        code = str(header.get("status_code") or "")
        with self.db.session() as s:
            row = s.get(EdgeRecipientStatus, (document_id, recipient))
            if row is None:
                s.add(EdgeRecipientStatus(document_id=document_id, recipient=recipient, status_code=code,
                                          description=str(header.get("description") or ""), history=code,
                                          updated_at=datetime.now(UTC)))
            else:
                if status_advances(row.status_code, code):  # 01 and 03 come back by separate ways
                    row.status_code, row.description = code, str(header.get("description") or "")
                row.history = f"{row.history},{code}" if row.history else code
                row.updated_at = datetime.now(UTC)

    def _reply(self, header: dict[str, Any], sender: str, code: str, description: str, key: str) -> EdgeOutbox:
        """Our own status (01, or 02 for what we cannot hand over), recorded in the outbox once."""
        document_id = str(header.get("document_id") or "")
        status = {
            "kind": "status",
            "message_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.organ_id}|{document_id}|{sender}|{key}|{code}")),
            "from": {"organ_id": self.organ_id, "organ_name": self._own_name(header)},
            "to": {"organ_id": sender},
            "response_for": domain.response_for_of(header, sender, document_id or "0"),
            "staff": {"department": "Văn thư", "name": "Hệ thống", "mobile": "", "email": ""},
            "status_code": code,
            "description": description,
            "timestamp": clock.now_vn().isoformat(timespec="seconds"),
        }
        return self.prepare_outgoing(status)

    def _answer_unreadable(self, body: bytes, exc: edxml.EdxmlError) -> list[EdgeOutbox]:
        m.EDGE_RECEIVED.labels(self.organ_id, "unknown", "unreadable").inc()
        try:
            facts = edxml.peek(body)
        except Exception:
            facts = None
        if not facts or facts.get("kind") != "edoc" or not facts.get("from"):
            log.warning("dropping an unreadable package nobody can be told about: %s", exc.detail)
            return []
        header = {"document_id": facts.get("document_id")}
        return [self._reply(header, str(facts["from"]), "02", exc.message_vi, key="unreadable")]

    def _unsent(self, message_ids: list[str | None]) -> list[EdgeOutbox]:
        with self.db.session() as s:
            rows = [s.get(EdgeOutbox, mid) for mid in message_ids if mid]
            return [r for r in rows if r is not None and r.sent_at is None]

    def _rpc(self, method: str, package: dict[str, Any]) -> Any:
        """Call the registry, retrying transient failures with back-off (not the broker's redelivery, which
        would count towards the dead-letter limit); business refusals (CongVanError) are not retried."""
        backoff = broker.Backoff(0.5, 10.0)
        for attempt in range(1, RPC_ATTEMPTS + 1):
            try:
                return self.registry.call("registry", method, self.actor, package)
            except CongVanError:
                raise
            except Exception as exc:
                if attempt == RPC_ATTEMPTS or self.stopping.is_set():
                    raise
                log.warning("registry.%s failed (%s), retrying", method, exc.__class__.__name__)
                backoff.wait(self.stopping.is_set)
        raise AssertionError("unreachable")


# --- the process ---------------------------------------------------------------------------------------


def build_edge(topology: Topology, organ_id: str, run_dir: Path, settings: CommonSettings | None = None,
               registry: ServiceClient | None = None, installation: str | None = None,
               database: Database | None = None) -> Edge:
    """The edge of one agency: its own database (schema or file; `database`, a view of the installation's shared
    pool, or an engine of its own when not given) and blob store; `registry`, the installation's client, shared by
    every agency it hosts (a new one when not given)."""
    settings = settings or CommonSettings(agency_id=organ_id)
    creds = broker.Credentials.load(run_dir)
    database = database or Database("edge", organ_id, EdgeBase.metadata, settings)
    # Every inbox, outbox and recipient-status write is chained in the edge's own audit_log (docs/operations.md),
    # by the edge's system actor: no person acts here.
    audit.install(database, default_actor=system_actor(organ_id, EDGE_PROCESS))
    database.create_all()
    if registry is None:
        registry = ServiceClient(creds.uri(broker.services_user(topology, installation or organ_id),
                                           broker.agency_vhost(topology, installation or organ_id)),
                                 size=2, timeout=30)
    return Edge(topology, organ_id, creds, database, blob_store(settings, organ_id), registry, installation)


def main(argv: list[str] | None = None) -> None:
    from services.interconnect.edge_installation import main as run_installation

    run_installation(argv)


if __name__ == "__main__":
    main()
