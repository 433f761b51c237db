"""The audit chain: an append-only, hash-chained log of every state change, in each service's own database.

A service adds the table to its own metadata (like the outbox) and records in the business transaction:

    # models.py
    audit_log = make_audit_table(Base.metadata)

    # operations
    with db.session() as session:
        ...                                              # the business change
        record(session, actor, "register_incoming", "incoming_document", doc.id, {"number": 45})

Each row stores `row_hash = SHA-256(prev_hash | seq | at | agency | actor | on_behalf_of | action | entity |
entity_id | details)` and the previous row's hash; `seq` is contiguous from 1. `verify()` recomputes the chain, so
a changed field, a removed row (a gap or a broken link) or an inserted row (a broken link) is found. Removing
rows from the END leaves a valid shorter chain: it is only visible against a head recorded elsewhere (the daily
backup's manifest records every database's head, `verify(..., expected_head=...)` compares).

Append-only is also enforced by the database: triggers refuse UPDATE and DELETE on the table (SQLite and
PostgreSQL). Someone with DDL rights can drop them; the chain is what then tells.

The chain is written by one transaction at a time: SQLite's BEGIN IMMEDIATE (services/common/db.py) already
serialises writers; on PostgreSQL `record` takes a transaction-scoped lock on the table, held until the business
transaction commits, so two writers can never both take the same `seq`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from services.common.actor import Actor
from services.common.db import Database, is_postgres
from services.common.settings import CommonSettings

AUDIT_TABLE = "audit_log"
GENESIS = "0" * 64

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_update BEFORE UPDATE ON {AUDIT_TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_delete BEFORE DELETE ON {AUDIT_TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
]
_PG_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION {AUDIT_TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    f"""CREATE OR REPLACE TRIGGER {AUDIT_TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {AUDIT_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION {AUDIT_TABLE}_append_only()""",
]


def _columns() -> list[Column]:
    return [
        # Assigned by `record` (last + 1), not by a sequence: a rolled-back transaction must not leave a gap.
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
        Column("at", String(40), nullable=False),             # ISO 8601 UTC, microseconds: hashed as written
        Column("agency", String(64), nullable=False),
        Column("actor", String(200), nullable=False),         # user id (system:<process> for processes)
        Column("on_behalf_of", String(200), nullable=False, default=""),
        Column("action", String(100), nullable=False),
        Column("entity", String(100), nullable=False),
        Column("entity_id", String(200), nullable=False),
        Column("details", Text, nullable=False),              # canonical JSON
        Column("prev_hash", String(64), nullable=False),
        Column("row_hash", String(64), nullable=False),
    ]


def make_audit_table(metadata: MetaData) -> Table:
    """The audit table in a service's own metadata, with the append-only triggers created alongside it."""
    if AUDIT_TABLE in metadata.tables:
        return metadata.tables[AUDIT_TABLE]
    table = Table(AUDIT_TABLE, metadata, *_columns())
    for stmt in _SQLITE_TRIGGERS:
        event.listen(table, "after_create", DDL(stmt).execute_if(dialect="sqlite"))
    for stmt in _PG_TRIGGERS:
        event.listen(table, "after_create", DDL(stmt).execute_if(dialect="postgresql"))
    return table


# Same name and columns in every service's schema/file, so one Table object reads and writes any of them.
_generic = make_audit_table(MetaData())


def canonical(details: dict[str, Any] | None) -> str:
    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, seq: int, at: str, agency: str, actor: str, on_behalf_of: str, action: str,
             entity: str, entity_id: str, details: str) -> str:
    fields = [prev_hash, str(seq), at, agency, actor, on_behalf_of, action, entity, entity_id, details]
    # Length-prefixed, so moving text from one field to the next changes the hash.
    return hashlib.sha256("".join(f"{len(f)}:{f}" for f in fields).encode()).hexdigest()


def record(session: Session, actor: Actor | str, action: str, entity: str, entity_id: Any,
           details: dict[str, Any] | None = None, table: Table | None = None) -> int:
    """Append one row in the caller's transaction (it commits or rolls back with the change); returns its seq."""
    t = table if table is not None else _generic
    if session.get_bind().dialect.name == "postgresql":
        # SHARE ROW EXCLUSIVE conflicts with itself: one audit writer per schema until its transaction ends.
        session.execute(text(f"LOCK TABLE {AUDIT_TABLE} IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(select(t.c.seq, t.c.row_hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.row_hash) if last else (1, GENESIS)
    if isinstance(actor, Actor):
        agency, who, behalf = actor.agency_id, actor.user_id, actor.on_behalf_of or ""
    else:
        agency, who, behalf = "", str(actor), ""
    values = {"seq": seq, "at": datetime.now(UTC).isoformat(timespec="microseconds"), "agency": agency,
              "actor": who, "on_behalf_of": behalf, "action": action, "entity": entity,
              "entity_id": str(entity_id), "details": canonical(details)}
    digest = row_hash(prev, **values)
    session.execute(t.insert().values(**values, prev_hash=prev, row_hash=digest))
    return seq


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str          # changed | removed | inserted
    message_vi: str


@dataclass
class AuditReport:
    where: str                       # file or schema verified
    rows: int = 0
    head: tuple[int, str] = (0, GENESIS)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _engine(target: Database | Engine) -> Engine:
    return target.engine if isinstance(target, Database) else target


def has_audit_table(target: Database | Engine) -> bool:
    return inspect(_engine(target)).has_table(AUDIT_TABLE)


def head(target: Database | Engine) -> tuple[int, str]:
    with _engine(target).connect() as conn:
        last = conn.execute(select(_generic.c.seq, _generic.c.row_hash)
                            .order_by(_generic.c.seq.desc()).limit(1)).first()
    return (int(last.seq), last.row_hash) if last else (0, GENESIS)


def verify(target: Database | Engine, expected_head: tuple[int, str] | None = None,
           where: str = "") -> AuditReport:
    """Recompute the chain of one database (an engine whose search_path/file holds `audit_log`)."""
    engine = _engine(target)
    report = AuditReport(where=where or str(engine.url.render_as_string(hide_password=True)))
    prev, expected_seq = GENESIS, 1
    at_expected: str | None = None
    with engine.connect() as conn:
        for r in conn.execute(select(_generic).order_by(_generic.c.seq)):
            report.rows += 1
            if r.seq > expected_seq:
                report.problems.append(Problem(r.seq, "removed",
                                               f"Thiếu bản ghi số {expected_seq}–{r.seq - 1} trong nhật ký kiểm toán."))
            if r.prev_hash != prev:
                kind = "inserted" if r.seq == expected_seq else "removed"
                report.problems.append(Problem(r.seq, kind, f"Bản ghi số {r.seq} không nối tiếp bản ghi trước "
                                                            "(chuỗi băm bị đứt): có bản ghi bị chèn hoặc xóa."))
            actual = row_hash(r.prev_hash, r.seq, r.at, r.agency, r.actor, r.on_behalf_of, r.action, r.entity,
                              r.entity_id, r.details)
            if actual != r.row_hash:
                report.problems.append(Problem(r.seq, "changed",
                                               f"Bản ghi số {r.seq} đã bị sửa (mã băm không khớp nội dung)."))
            if expected_head and r.seq == expected_head[0]:
                at_expected = r.row_hash
            prev, expected_seq = r.row_hash, r.seq + 1
    report.head = (expected_seq - 1, prev)
    if expected_head and expected_head[0] > 0:
        seq, digest = expected_head
        if seq >= expected_seq:
            report.problems.append(Problem(seq, "removed",
                                           f"Các bản ghi cuối từ số {expected_seq} đến {seq} đã bị xóa."))
        elif at_expected != digest:
            report.problems.append(Problem(seq, "changed", f"Bản ghi số {seq} khác với mã băm đã ghi nhận trước đó "
                                                           "(chuỗi đã bị viết lại)."))
    return report


def discover(settings: CommonSettings) -> Iterator[tuple[str, Engine]]:
    """Every database of a deployment that holds an audit table: SQLite files under DATA_DIR, or PostgreSQL
    schemas of DATABASE_URL. Yields (where, engine); the caller disposes of nothing (engines are disposed here)."""
    if is_postgres(settings.database_url):
        admin = create_engine(settings.database_url)
        try:
            with admin.connect() as conn:
                schemas = list(conn.execute(text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = :t ORDER BY 1"),
                    {"t": AUDIT_TABLE}).scalars())
        finally:
            admin.dispose()
        for schema in schemas:
            engine = create_engine(settings.database_url, connect_args={"options": f"-csearch_path={schema}"})
            try:
                yield schema, engine
            finally:
                engine.dispose()
        return
    for path in sorted(Path(settings.data_dir).rglob("*.sqlite3")):
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        try:
            if has_audit_table(engine):
                yield str(path), engine
        finally:
            engine.dispose()
