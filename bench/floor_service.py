"""Bench-only nameko services for bench/registration_floor.py: a registration's rows written through the project's
own plumbing, with no business rule (no check, no number under a lock, no twin nor duplicate search).

- `floor_b.register`: the rows of one registration (document, attachment, history line, outbox event, the audit
  entries of the three business rows), each table one INSERT, in one transaction of the service's Database
  (services/common/rpc.py DatabaseProvider, audit chain off): stage A's transaction behind one RPC.
- `floor_c.register`: the same document, attachment and history line through a Database with the real audit chain
  (services/common/audit.py: the entries collected by the session's hooks, one `audit_log_append_v1` call at commit)
  and the event through the real outbox (services/common/outbox.py `enqueue`, dispatched by `OutboxRelay` as
  `floor_c.events`);
- `floor_routing`: consumes that event and opens the document's handling record (routing's own table, one INSERT
  keyed by the document, idempotent) in its own audited transaction: the least "routing learns of the registration".

The tables are the registry's and routing's own definitions (services/registry/models.py, services/routing/models.py).
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import date
from typing import Any

from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.common import clock
from services.common.audit import GENESIS, canonical, make_audit_table
from services.common.outbox import OutboxRelay, enqueue
from services.common.rpc import ActingUser, DatabaseProvider, RpcMetrics
from services.registry import models as registry
from services.routing import models as routing

AUDIT = make_audit_table(registry.Base.metadata)
# In the order a registration writes them (the document before the rows naming it).
TABLES: dict[str, Table] = {"document": registry.Document.__table__, "attachment": registry.Attachment.__table__,
                            "history": registry.History.__table__, "outbox": registry.outbox, "audit_log": AUDIT}
BUSINESS = ("document", "attachment", "history")
EVENT = "incoming_registered"


def registration_rows(agency_id: str, user_id: str, n: int, sha256: str, size: int) -> dict[str, list[dict[str, Any]]]:
    """The rows one paper registration writes, as the morning peak's INSERT baseline copies them (7 rows): the
    document, its scan, its history line, its `incoming_registered` event, and an audit entry for each of the three
    business rows (`seq` and the hashes are the writer's)."""
    now = clock.now_utc()
    doc_id = str(uuid.uuid4())
    document = {"id": doc_id, "agency_id": agency_id, "direction": "incoming", "state": "registered",
                "source_channel": "paper", "type_code": "CV", "type_name": "Công văn", "code_number": str(n)[-11:],
                "code_notation": "UBND-VX", "issued_date": date(2026, 12, 1), "organ_name": "UBND huyện Yên Sơn",
                "subject": f"Về việc báo cáo tình hình buổi sáng số {n}", "received_at": now, "number": n,
                "year": now.year, "arrival_date": now.date(), "registered_at": now, "dedupe_key": f"api:{doc_id}"}
    attachment = {"id": str(uuid.uuid4()), "document_pk": doc_id, "name": "cong-van.pdf",
                  "content_type": "application/pdf", "size": size, "sha256": sha256, "role": "scan"}
    history = {"document_pk": doc_id, "at": now, "user_id": user_id, "username": "vt.floor", "action": "registered",
               "details": {"arrival_number": n, "channel": "paper"}}
    payload = {"incoming_id": doc_id, "agency_id": agency_id, "subject": document["subject"], "priority": 0,
               "registered_at": now.isoformat(), "registered_by": user_id, "code": f"{n}/UBND-VX"}
    event = {"message_id": str(uuid.uuid4()), "event_type": EVENT, "payload": {**payload}, "created_at": now,
             "attempts": 0}
    audit = [{"at": now.isoformat(), "agency": agency_id, "actor": user_id, "on_behalf_of": "", "action": "insert",
              "entity": name, "entity_id": str(row.get("id", "")), "details": canonical({"values": row}),
              "prev_hash": GENESIS, "row_hash": GENESIS}
             for name, row in (("document", document), ("attachment", attachment), ("history", history))]
    return {"document": [document], "attachment": [attachment], "history": [history], "outbox": [event],
            "audit_log": audit}


def write_rows(conn: Any, rows: dict[str, list[dict[str, Any]]], names: tuple[str, ...] = tuple(TABLES)) -> None:
    """One INSERT per table named (a Connection or a Session: the same statements)."""
    for name in names:
        conn.execute(TABLES[name].insert(), rows[name])


# Plain audit rows need distinct keys; replicas of the service (one per process) must not collide.
PROCESS_SEQS = itertools.count(os.getpid() << 24)


def numbered(rows: dict[str, list[dict[str, Any]]], seqs: itertools.count) -> dict[str, list[dict[str, Any]]]:
    return {**rows, "audit_log": [{**a, "seq": next(seqs)} for a in rows["audit_log"]]}


class FloorB:
    name = "floor_b"
    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("floor_b", registry.Base.metadata, audit=False)

    @rpc
    def register(self, n: int, sha256: str, size: int) -> dict[str, str]:
        actor = self.actor.required()
        rows = numbered(registration_rows(actor.agency_id, actor.user_id, n, sha256, size), PROCESS_SEQS)
        with self.db.session() as session:
            write_rows(session, rows)
        return {"id": rows["document"][0]["id"]}


class FloorC:
    name = "floor_c"
    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("floor_c", registry.Base.metadata)
    outbox = OutboxRelay(interval=0.5)

    @rpc
    def register(self, n: int, sha256: str, size: int) -> dict[str, str]:
        actor = self.actor.required()
        rows = registration_rows(actor.agency_id, actor.user_id, n, sha256, size)
        with self.db.session() as session:
            write_rows(session, rows, BUSINESS)
            enqueue(session, EVENT, rows["outbox"][0]["payload"])
        return {"id": rows["document"][0]["id"]}


class FloorRouting:
    name = "floor_routing"
    metrics = RpcMetrics()
    db = DatabaseProvider("floor_routing", routing.Base.metadata)

    @event_handler("floor_c", EVENT, requeue_on_error=True)
    def on_registered(self, payload: dict[str, Any]) -> None:
        with self.db.for_agency(payload["agency_id"]).session() as session:
            open_handling(session, payload)


def open_handling(session: Session, payload: dict[str, Any]) -> None:
    now = clock.now_utc()
    # The values as parameters of the execution, not in the statement: the audit hook then need not compile it.
    session.execute(pg_insert(routing.Handling.__table__).on_conflict_do_nothing(index_elements=["incoming_id"]), {
        "incoming_id": payload["incoming_id"], "subject": payload["subject"], "priority": payload["priority"],
        "registered_at": now, "doc_code": payload["code"], "status": "received", "created_at": now,
        "updated_at": now})
