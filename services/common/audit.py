"""The audit chain: an append-only, hash-chained log of every state change, in each service's own database.

A service adds the table to its own metadata (like the outbox) and records in the business transaction:

    # models.py
    audit_log = make_audit_table(Base.metadata)

    # operations
    with db.session() as session:
        ...                                              # the business change
        record(session, actor, "register_incoming", "incoming_document", doc.id, {"number": 45})

Each row stores `row_hash = SHA-256(prev_hash | seq | at | agency | actor | on_behalf_of | action | entity |
entity_id | details)` and the previous row's hash; `seq` is contiguous from 1. `verify()` (audit_verify.py, with
the other readers of a chain: `head`, `entries`, `discover`) recomputes the chain, so
a changed field, a removed row (a gap or a broken link) or an inserted row (a broken link) is found. Removing
rows from the END leaves a valid shorter chain: it is only visible against a head recorded elsewhere (the daily
backup's manifest records every database's head, `verify(..., expected_head=...)` compares).

Append-only is also enforced by the database: triggers refuse UPDATE and DELETE on the table (SQLite and
PostgreSQL). Someone with DDL rights can drop them; the chain is what then tells.

The chain is written by one transaction at a time: SQLite's BEGIN IMMEDIATE (services/common/db.py) already
serialises writers; on PostgreSQL the append takes a transaction-scoped lock on the table, held until the business
transaction commits, so two writers can never both take the same `seq`.

On PostgreSQL the append is one call of a function in the service's schema (`audit_log_append_v1`): the lock, the
last row and the chained INSERTs in one round trip, where they were three statements in every writing transaction of
every service. The function hashes exactly as `row_hash` does (a test compares them, and `verify` recomputes every
row in Python).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import greenlet
from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from services.common.actor import Actor
from services.common.db import Database

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

# Versioned by name: a later body gets a new name, so a process never replaces a function another one is calling
# (CREATE OR REPLACE racing itself fails with "tuple concurrently updated"). Created where missing by every
# create_all of a metadata holding the audit table, so schemas made by an earlier version get it too.
_PG_APPEND = "audit_log_append_v1"
_PG_APPEND_DDL = f"""
DO $do$ BEGIN
IF to_regprocedure('{_PG_APPEND}(json)') IS NULL THEN
CREATE FUNCTION {_PG_APPEND}(entries json) RETURNS bigint LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
    last_seq bigint;
    prev text;
    digest text;
    e record;
BEGIN
    LOCK TABLE {AUDIT_TABLE} IN SHARE ROW EXCLUSIVE MODE;
    SELECT seq, row_hash INTO last_seq, prev FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1;
    last_seq := coalesce(last_seq, 0);
    prev := coalesce(prev, '{GENESIS}');
    FOR e IN SELECT * FROM json_to_recordset(entries) AS x(at text, agency text, actor text, on_behalf_of text,
                                                           action text, entity text, entity_id text, details text)
    LOOP
        last_seq := last_seq + 1;
        -- row_hash(): each field as <length in characters>:<text>, SHA-256 of the UTF-8 bytes, lowercase hex
        digest := encode(sha256(convert_to(concat(
            length(prev), ':', prev,
            length(last_seq::text), ':', last_seq::text,
            length(e.at), ':', e.at,
            length(e.agency), ':', e.agency,
            length(e.actor), ':', e.actor,
            length(e.on_behalf_of), ':', e.on_behalf_of,
            length(e.action), ':', e.action,
            length(e.entity), ':', e.entity,
            length(e.entity_id), ':', e.entity_id,
            length(e.details), ':', e.details
        ), 'UTF8')), 'hex');
        INSERT INTO {AUDIT_TABLE} (seq, at, agency, actor, on_behalf_of, action, entity, entity_id, details,
                                   prev_hash, row_hash)
        VALUES (last_seq, e.at, e.agency, e.actor, e.on_behalf_of, e.action, e.entity, e.entity_id, e.details,
                prev, digest);
        prev := digest;
    END LOOP;
    RETURN last_seq;
END $fn$;
END IF;
END $do$"""  # noqa: S608 (built from this module's constants only)


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
    event.listen(metadata, "after_create", _create_append_function)
    return table


def _create_append_function(_metadata: MetaData, connection: Any, **_kw: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_PG_APPEND_DDL)


# Same name and columns in every service's schema/file, so one Table object reads and writes any of them.
generic_log = make_audit_table(MetaData())


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
    if isinstance(actor, Actor):
        agency, who, behalf = actor.agency_id, actor.user_id, actor.on_behalf_of or ""
    else:
        agency, who, behalf = "", str(actor), ""
    row = {"at": _now(), "agency": agency, "actor": who, "on_behalf_of": behalf, "action": action,
           "entity": entity, "entity_id": str(entity_id), "details": canonical(details)}
    return append(session.connection(), [row], table)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def append(connection: Any, rows: list[dict[str, str]], table: Table | None = None) -> int:
    """Chain `rows` (every column but seq and the hashes, in order) onto the log in the connection's transaction;
    returns the last one's seq."""
    t = table if table is not None else generic_log
    if connection.dialect.name == "postgresql":
        schema = connection.schema_for_object(t)
        function = f"{connection.dialect.identifier_preparer.quote_schema(schema)}.{_PG_APPEND}" if schema \
            else _PG_APPEND
        return int(connection.execute(text(f"SELECT {function}(CAST(:rows AS json))"),
                                      {"rows": json.dumps(rows, ensure_ascii=False)}).scalar_one())
    last = connection.execute(select(t.c.seq, t.c.row_hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.row_hash) if last else (0, GENESIS)
    chained = []
    for row in rows:
        seq += 1
        digest = row_hash(prev, seq=seq, **row)
        chained.append({**row, "seq": seq, "prev_hash": prev, "row_hash": digest})
        prev = digest
    connection.execute(t.insert(), chained)
    return seq


# --- automatic audit of every write of a service (installed by `Database(..., audit=True)`) ------------------
#
# Collected per flush (after_flush: primary keys are assigned and attribute history is still there) and per Core
# INSERT/UPDATE/DELETE sent through the session (do_orm_execute); written at the ROOT commit (before_commit), so
# the chain's lock (PostgreSQL) is taken only at the end of the business transaction: a writer never waits for a
# row lock while holding it, so the audit lock adds no deadlock. A rolled-back savepoint discards what it
# collected (after_soft_rollback); the end of the root transaction discards whatever is left.

# Derived or technical tables: the transactional outbox (a delivery queue whose rows only mirror business
# changes already audited), the search index (rebuilt from documents), and the log itself.
NOT_AUDITED = frozenset({AUDIT_TABLE, "outbox", "search_text", "search_fts"})
_SECRET_WORDS = ("password", "secret", "private_key", "token", "pin")
_LONG = 500
_PENDING = "congvan_audit_pending"

# The nameko worker of each greenlet (one worker per greenthread; a plain thread is its own greenlet). Keyed by
# greenlet rather than a threading.local, which is green only if created after eventlet's monkey-patching.
_workers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def set_worker(worker_ctx: Any) -> None:
    """Called by DatabaseProvider in the worker's greenthread: the nameko context the acting user comes from."""
    _workers[greenlet.getcurrent()] = worker_ctx


def clear_worker() -> None:
    _workers.pop(greenlet.getcurrent(), None)


# The acting user of a web request (the gateway is not a nameko service). A mutable holder set by the request's
# middleware: the dependency that finds the signed-in user and the endpoint that writes may run in different
# threads of the threadpool, each in a COPY of the request's context; a value set in one copy is invisible to the
# other, but both copies hold the same dict.
_request: ContextVar[dict[str, Any] | None] = ContextVar("congvan_audit_request", default=None)


def begin_request(via: str = "") -> Token:
    """Open the request's holder (the gateway's middleware, before the route runs); `via` says which page."""
    return _request.set({"actor": None, "via": via})


def end_request(token: Token) -> None:
    _request.reset(token)


def set_request_actor(actor: Actor) -> None:
    """The signed-in user of the current request: the audit rows of its writes name them."""
    holder = _request.get()
    if holder is not None:
        holder["actor"] = actor


def current_actor() -> tuple[Actor | None, str]:
    """(the acting user of the current nameko worker or web request, or None; "<service>.<method>", the page,
    or "")."""
    ctx = _workers.get(greenlet.getcurrent())
    if ctx is None:
        holder = _request.get()
        return (holder["actor"], holder["via"]) if holder else (None, "")
    entrypoint = getattr(ctx, "entrypoint", None)
    via = f"{getattr(ctx, 'service_name', '')}.{getattr(entrypoint, 'method_name', '')}" if entrypoint else ""
    data = (getattr(ctx, "data", None) or {}).get("actor")
    try:
        return (Actor.from_dict(data) if data else None), via
    except Exception:  # a malformed actor is the RPC's problem to refuse; the audit row then says system
        return None, via


def _plain(column: str, value: Any) -> Any:
    """A value as the audit row keeps it: secrets masked, bytes and long text as their SHA-256."""
    if value is None:
        return None
    if any(w in column.lower() for w in _SECRET_WORDS):
        return "***"
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    if isinstance(value, str) and len(value) > _LONG:
        return {"sha256": hashlib.sha256(value.encode()).hexdigest(), "chars": len(value), "start": value[:100]}
    if isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


@dataclass
class _Entry:
    action: str
    entity: str
    entity_id: str
    details: dict[str, Any]
    # The session transaction it was collected in and its ancestors: the objects themselves, so that an id()
    # cannot be reused by a later savepoint while the entry waits for the commit.
    transactions: tuple[Any, ...]


def _transactions(session: Session) -> tuple[Any, ...]:
    tx = session.get_nested_transaction() or session.get_transaction()
    chain = []
    while tx is not None:
        chain.append(tx)
        tx = tx.parent
    return tuple(chain)


def _entries_of_flush(session: Session, excluded: frozenset[str],
                      ignored: Mapping[str, frozenset[str]] | None = None) -> list[_Entry]:
    entries: list[_Entry] = []
    ignored = ignored or {}
    where = _transactions(session)
    for kind, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            state = inspect(obj)
            mapper = state.mapper
            table = mapper.persist_selectable
            name = getattr(table, "name", str(table))
            if name in excluded:
                continue
            loaded = state.dict
            key = ",".join(str(loaded.get(mapper.get_property_by_column(c).key)) for c in mapper.primary_key)
            if kind == "update":
                changes = {}
                for attr in mapper.column_attrs:
                    if attr.key in ignored.get(name, ()):
                        continue        # bookkeeping columns (e.g. a session's last_seen): no row of their own
                    hist = state.attrs[attr.key].history
                    if hist.added or hist.deleted:
                        old = hist.deleted[0] if hist.deleted else None
                        new = hist.added[0] if hist.added else None
                        if old != new:
                            changes[attr.key] = [_plain(attr.key, old), _plain(attr.key, new)]
                if not changes:
                    continue            # in session.dirty, but nothing persisted changed
                details: dict[str, Any] = {"changes": changes}
            else:
                details = {"values": {a.key: _plain(a.key, loaded.get(a.key)) for a in mapper.column_attrs
                                      if a.key in loaded}}
            entries.append(_Entry(kind, name, key, details, where))
    return entries


def _entry_of_statement(state: Any, rowcount: int) -> _Entry:
    stmt = state.statement
    table = stmt.table
    action = "insert" if state.is_insert else "update" if state.is_update else "delete"
    details: dict[str, Any] = {"rows": rowcount, "statement": True}
    where = getattr(stmt, "whereclause", None)
    if where is not None:
        details["where"] = str(where)
    params = state.parameters
    if isinstance(params, dict):
        params = {k: _plain(str(k), v) for k, v in params.items()}
    elif isinstance(params, list):
        params = [{k: _plain(str(k), v) for k, v in p.items()} for p in params[:20]]
    details["params"] = params or _compiled_params(stmt)
    return _Entry(action, getattr(table, "name", str(table)), "", details, ())


def _compiled_params(stmt: Any) -> dict[str, Any]:
    """The values written into the statement itself (`.values(...)`): compiling it costs more than the rest of the
    entry, so only when the execution passed none."""
    try:
        return {k: _plain(k, v) for k, v in stmt.compile().params.items()}
    except Exception:  # parameters of some constructs only exist at execution
        return {}


def write_entries(connection: Any, agency: str, entries: list[tuple[Actor | None, str, _Entry]],
                  default_actor: Actor | str = "system") -> None:
    """Append the rows of one transaction to the chain, in order, on the transaction's connection. Rows without
    an acting user name `default_actor` (a process's system actor)."""
    if not entries:
        return
    fallback = default_actor if isinstance(default_actor, Actor) else None
    fallback_id = default_actor.user_id if isinstance(default_actor, Actor) else str(default_actor)
    rows = []
    for found, via, e in entries:
        actor = found or fallback
        details = dict(e.details, via=via) if via else e.details
        rows.append({"at": _now(), "agency": actor.agency_id if actor else agency,
                     "actor": actor.user_id if actor else fallback_id,
                     "on_behalf_of": (actor.on_behalf_of or "") if actor else "",
                     "action": e.action, "entity": e.entity, "entity_id": e.entity_id, "details": canonical(details)})
    append(connection, rows)


def install(database: Database, exclude: frozenset[str] | set[str] = frozenset(),
            ignore_columns: Mapping[str, Iterable[str]] | None = None,
            default_actor: Actor | str = "system") -> None:
    """Audit every INSERT, UPDATE (changed columns, old and new) and DELETE that the database's sessions make
    on the service's tables, in the same transaction; the acting user comes from the current nameko worker or
    web request, else `default_actor`.

    `exclude`: tables never chained; `ignore_columns`: per table, columns whose change alone makes no row (an
    ORM update touching only those is skipped; they are left out of the row when other columns change too)."""
    make_audit_table(database.metadata)
    excluded = frozenset(NOT_AUDITED | set(exclude))
    ignored = {table: frozenset(cols) for table, cols in (ignore_columns or {}).items()}
    factory = database.sessions

    def pending(session: Session) -> list:
        return session.info.setdefault(_PENDING, [])

    @event.listens_for(factory, "after_flush")
    def _collect(session: Session, _flush_context) -> None:
        actor, via = current_actor()
        pending(session).extend((actor, via, e) for e in _entries_of_flush(session, excluded, ignored))

    @event.listens_for(factory, "do_orm_execute")
    def _statement(state) -> Any:
        if not (state.is_insert or state.is_update or state.is_delete):
            return None
        table = getattr(state.statement, "table", None)
        if table is None or getattr(table, "name", None) in excluded:
            return None
        result = state.invoke_statement()
        rowcount = getattr(result, "rowcount", -1)
        if rowcount != 0:
            actor, via = current_actor()
            entry = _entry_of_statement(state, rowcount)
            entry.transactions = _transactions(state.session)
            pending(state.session).append((actor, via, entry))
        return result

    @event.listens_for(factory, "before_commit")
    def _write(session: Session) -> None:
        if session.in_nested_transaction():
            return                           # a savepoint: its rows are written with the root transaction
        session.flush()                      # the commit's own flush would come after this hook
        entries = session.info.pop(_PENDING, [])
        if entries:
            write_entries(session.connection(), database.agency_id, entries, default_actor)

    @event.listens_for(factory, "after_soft_rollback")
    def _discard(session: Session, previous_transaction) -> None:
        if previous_transaction.parent is None:
            session.info.pop(_PENDING, None)
        elif _PENDING in session.info:
            session.info[_PENDING] = [p for p in session.info[_PENDING]
                                      if not any(t is previous_transaction for t in p[2].transactions)]

    @event.listens_for(factory, "after_transaction_end")
    def _end(session: Session, transaction) -> None:
        if transaction.parent is None:
            session.info.pop(_PENDING, None)
