"""Databases of a service, one per hosted agency: a PostgreSQL schema or an SQLite file per (service, agency).

An installation hosts any number of agencies with one set of workers; the agency of a unit of work comes from
its acting user, its event or its package, never from the process's configuration. Each agency's tables stay
physically apart, so a query that forgets to filter by agency still cannot see another agency's rows:

- PostgreSQL: one engine (one connection pool) per service and process; each agency's `Database` is a view of it
  with `schema_translate_map={None: "<service>__<agency>"}` (it shares the pool). The schema and its tables are
  made on first use and remembered; `congvan_tenancy.agencies` lists which agencies have a schema of which
  service. The translate map does not reach raw SQL (DDL strings, triggers, text()): search_path is set too, at
  the start of a transaction whose pooled connection last served another agency (`_scoped`), and raw SQL that
  names a table may use `table_sql`.
- SQLite (the embedded default): `DATA_DIR/<agency>/<service>.sqlite3`, opened on demand; a bounded LRU keeps
  the engines of the agencies in use (an evicted engine is disposed). `DATA_DIR/<agency>/AGENCY` names the agency.

A `Database` made directly (CLIs, tests) has an engine of its own, as before.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, create_engine, event, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from services.common.settings import CommonSettings, get_settings

TENANCY_SCHEMA = "congvan_tenancy"
AGENCY_MARKER = "AGENCY"

_catalog_metadata = MetaData(schema=TENANCY_SCHEMA)
_catalog = Table("agencies", _catalog_metadata,
                 Column("service", String(63), nullable=False), Column("agency_id", String(64), nullable=False),
                 Column("schema_name", String(63), nullable=False), PrimaryKeyConstraint("service", "agency_id"))


def agency_slug(agency_id: str) -> str:
    """`000.00.00.H60` -> `000_00_00_h60`: safe as a file name and as a PostgreSQL identifier part."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", agency_id).strip("_").lower()
    return slug or "default"


def schema_name(service: str, agency_id: str) -> str:
    return f"{service}__{agency_slug(agency_id)}"[:63]


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


def sqlite_path(settings: CommonSettings, service: str, agency_id: str) -> Path:
    return Path(settings.data_dir) / agency_slug(agency_id) / f"{service}.sqlite3"


def make_engine(service: str, agency_id: str, settings: CommonSettings | None = None, **kwargs) -> Engine:
    """An engine of its own for one (service, agency): unqualified names reach its schema (search_path) or file."""
    settings = settings or get_settings()
    if is_postgres(settings.database_url):
        schema = schema_name(service, agency_id)
        engine = create_engine(settings.database_url, connect_args={"options": f"-csearch_path={schema}"},
                               pool_pre_ping=True, **kwargs)
        _create_schema(engine, schema)
        return engine
    if settings.database_url:
        return create_engine(settings.database_url, **kwargs)
    return _sqlite_engine(sqlite_path(settings, service, agency_id), agency_id, **kwargs)


def _sqlite_engine(path: Path, agency_id: str, **kwargs) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = path.parent / AGENCY_MARKER
    if not marker.exists():
        marker.write_text(agency_id)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30}, **kwargs)
    _tune_sqlite(engine)
    return engine


def _create_schema(engine: Engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - exercised by every SQLite test
        cur = dbapi_conn.cursor()
        # WAL lets readers run while a writer commits; busy_timeout queues writers instead of failing.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN so that
    # "read the counter, then increment it" cannot interleave between two writers.
    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_autocommit_off(engine: Engine) -> None:
    """Needed with BEGIN IMMEDIATE: let SQLAlchemy, not pysqlite, decide when transactions start."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect", insert=True)
        def _isolation(dbapi_conn, _record) -> None:  # pragma: no cover
            dbapi_conn.isolation_level = None


def _scoped(base: Engine, schema: str) -> Engine:
    """A view of `base` (same pool) in which every statement reaches `schema`.

    ORM and Core statements name the schema (schema_translate_map). Raw SQL (DDL strings, triggers, text()) relies
    on search_path, which is set at the start of a transaction only when the pooled connection's last agency was
    another one: a pool shared by agencies pays the round trip only when it switches agency."""
    scoped = base.execution_options(schema_translate_map={None: schema})

    @event.listens_for(scoped, "begin")
    def _search_path(conn) -> None:
        info = conn.connection.info
        if info.get(_SEARCH_PATH) != schema:
            conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            info[_SEARCH_PATH] = schema

    if not event.contains(base, "rollback", _forget_search_path):
        event.listen(base, "rollback", _forget_search_path)
    return scoped


_SEARCH_PATH = "congvan_search_path"


def _forget_search_path(conn) -> None:
    # A SET inside a transaction that rolls back is undone: the next transaction sets it again.
    conn.connection.info.pop(_SEARCH_PATH, None)


def table_sql(connection: Any, table: Table) -> str:
    """The table's name for raw SQL on this connection, in the agency's schema (text() escapes the translate map)."""
    prep = connection.dialect.identifier_preparer
    schema = connection.schema_for_object(table)
    return f"{prep.quote_schema(schema)}.{prep.quote(table.name)}" if schema else prep.quote(table.name)


class Database:
    """One agency's tables of one service: an engine (or a schema's view of a shared one) and its sessions."""

    def __init__(self, service: str, agency_id: str, metadata: MetaData, settings: CommonSettings | None = None,
                 audit: bool = False, *, engine: Engine | None = None, owner: Databases | None = None) -> None:
        if not agency_id:
            raise ValueError(f"{service}: a Database belongs to an agency")
        self.service = service
        self.agency_id = agency_id
        self.metadata = metadata
        self.owner = owner
        self._own_engine = engine is None
        base = engine if engine is not None else make_engine(service, agency_id, settings)
        self._base = base
        if base.dialect.name == "postgresql":
            self.schema: str | None = schema_name(service, agency_id)
            self.engine = _scoped(base, self.schema)
        else:
            self.schema = None
            self.engine = base
        if self._own_engine:
            sqlite_autocommit_off(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False,
                                     info={"agency_id": agency_id, "service": service})
        if audit:
            # Every write of the service's sessions also lands in its hash-chained audit_log (docs/operations.md).
            from services.common import audit as audit_chain

            audit_chain.install(self)

    def answers(self) -> bool:
        """Whether the database takes a query now (a loop waiting out its own database's outage asks this)."""
        try:
            with self.session() as s:
                s.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def create_all(self) -> None:
        self.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def for_agency(self, agency_id: str) -> Database:
        """Another hosted agency's Database of the same service (for timers and events, which have no actor)."""
        if agency_id == self.agency_id:
            return self
        if self.owner is None:
            raise LookupError(f"{self.service}: this database serves {self.agency_id} only, not {agency_id}")
        return self.owner.for_agency(agency_id)

    def dispose(self) -> None:
        if self._own_engine:
            self._base.dispose()


class Databases:
    """Every hosted agency's Database of one service in this process, opened on first use.

    PostgreSQL: one pool for all agencies; schemas and tables are made once and remembered. SQLite: at most
    `max_open` files open at a time (least recently used closed first); a file is created on first use.
    """

    def __init__(self, service: str, metadata: MetaData, settings: CommonSettings | None = None,
                 audit: bool = False, max_open: int | None = None) -> None:
        self.service = service
        self.metadata = metadata
        self.settings = settings or get_settings()
        self.audit = audit
        self.postgres = is_postgres(self.settings.database_url)
        if self.settings.database_url and not self.postgres:
            raise ValueError("DATABASE_URL must be PostgreSQL; without it each agency has its own SQLite files")
        self.max_open = max_open or (self.settings.open_agencies if not self.postgres else 100_000)
        self._engine: Engine | None = None
        if self.postgres:
            self._engine = create_engine(self.settings.database_url, pool_pre_ping=True)
            sqlite_autocommit_off(self._engine)
        self._open: OrderedDict[str, Database] = OrderedDict()
        self._ready: set[str] = set()
        self._lock = threading.RLock()
        self._worklists: dict[str, WorkList] = {}

    def worklist(self, job: str, *, on_writes: bool = True) -> WorkList:
        """The list of agencies a background job of this process must visit (see WorkList), one per job name.

        `on_writes=False`: a commit that wrote does not note its agency; the job notes the agencies it must visit
        itself (the outbox relay: only commits that enqueued an event)."""
        with self._lock:
            work = self._worklists.get(job)
            if work is None:
                work = self._worklists[job] = WorkList(self, on_writes)
            return work

    def _watch(self, database: Database) -> None:
        """Note the agency for every work list after each commit that wrote something (reads do not count, so a
        job's own read-only visit does not bring it back)."""

        @event.listens_for(database.sessions, "do_orm_execute", insert=True)
        def _statement(state) -> None:
            if state.is_insert or state.is_update or state.is_delete:
                state.session.info["_wrote"] = True

        @event.listens_for(database.sessions, "after_flush")
        def _flushed(session: Session, _context) -> None:
            session.info["_wrote"] = True

        @event.listens_for(database.sessions, "after_commit")
        def _committed(session: Session) -> None:
            if session.info.pop("_wrote", False):
                for work in list(self._worklists.values()):
                    if work.on_writes:
                        work.note(database.agency_id)

        @event.listens_for(database.sessions, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("_wrote", None)

    def for_agency(self, agency_id: str) -> Database:
        if not agency_id:
            raise LookupError(f"{self.service}: no agency named for this unit of work")
        with self._lock:
            database = self._open.get(agency_id)
            if database is not None:
                self._open.move_to_end(agency_id)
                return database
            database = Database(self.service, agency_id, self.metadata, self.settings, self.audit,
                                engine=self._engine, owner=self)
            self._watch(database)
            if agency_id not in self._ready:
                self._prepare(database)
                self._ready.add(agency_id)
            self._open[agency_id] = database
            while len(self._open) > self.max_open:
                _, evicted = self._open.popitem(last=False)
                evicted.dispose()
            return database

    def _prepare(self, database: Database) -> None:
        # Two processes (or workers) using a new agency at once race on CREATE SCHEMA / CREATE TABLE: PostgreSQL
        # may refuse the loser with a duplicate error even with IF NOT EXISTS. The winner made it; try again.
        for attempt in range(3):
            try:
                self._create(database)
                return
            except (IntegrityError, ProgrammingError):
                if attempt == 2:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def _create(self, database: Database) -> None:
        if self.postgres:
            assert self._engine is not None
            with self._engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{TENANCY_SCHEMA}"'))
                _catalog.create(conn, checkfirst=True)
                conn.execute(pg_insert(_catalog).values(service=self.service, agency_id=database.agency_id,
                                                        schema_name=database.schema).on_conflict_do_nothing())
        database.create_all()

    def known_agencies(self) -> list[str]:
        """Agencies that have this service's tables (any process made them): what a sweep at start visits."""
        if self.postgres:
            assert self._engine is not None
            with self._engine.connect() as conn:
                exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{TENANCY_SCHEMA}.agencies"}).scalar()
                if not exists:
                    return []
                return sorted(conn.execute(select(_catalog.c.agency_id)
                                           .where(_catalog.c.service == self.service)).scalars())
        found = []
        for path in sorted(Path(self.settings.data_dir).glob(f"*/{self.service}.sqlite3")):
            marker = path.parent / AGENCY_MARKER
            if marker.exists():
                found.append(marker.read_text().strip())
        return found

    def open_agencies(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def dispose(self) -> None:
        with self._lock:
            for database in self._open.values():
                database.dispose()
            self._open.clear()
        if self._engine is not None:
            self._engine.dispose()


class WorkList:
    """The agencies a background job (outbox relay, mail, reminders, index, gauges) must visit.

    At its first visit: every agency that has the service's tables (a sweep at start, which also finds work left
    by a process that died). Then only the agencies whose sessions committed a write since its last visit (or, for
    a list not fed `on_writes`, those its job noted), and those it left unfinished (`again`). An idle agency is
    never visited, so it costs no CPU however many there are.
    """

    def __init__(self, databases: Databases, on_writes: bool = True) -> None:
        self.databases = databases
        self.on_writes = on_writes
        self._swept = False
        self._due: set[str] = set()

    def note(self, agency_id: str) -> None:
        self._due.add(agency_id)

    def again(self, agency_id: str) -> None:
        """Visit this agency at the next tick too (work left, or a failure to retry)."""
        self._due.add(agency_id)

    def take(self) -> list[str]:
        if not self._swept:
            self._due |= set(self.databases.known_agencies()) | set(self.databases.open_agencies())
            self._swept = True
        due, self._due = self._due, set()
        return sorted(due)


def add_later_columns(metadata: MetaData, columns: dict[str, tuple[str, ...]]) -> None:
    """Columns added after a service's tables existed, added (nullable, no default) to an existing SQLite file or
    PostgreSQL schema by every create_all: there are no migrations yet, and create_all never alters a table, so an
    agency's data from before keeps working. `columns`: table name -> names, each declared in the model."""

    @event.listens_for(metadata, "after_create")
    def _add(target: MetaData, connection, **_kw) -> None:
        from sqlalchemy import inspect

        inspector = inspect(connection)
        for table_name, names in columns.items():
            table = target.tables[table_name]
            # The agency's schema (schema_translate_map), which neither the inspector nor text() would apply.
            schema = connection.schema_for_object(table)
            present = {c["name"] for c in inspector.get_columns(table_name, schema=schema)}
            for name in names:
                if name not in present:
                    kind = table.c[name].type.compile(dialect=connection.dialect)
                    connection.execute(text(f"ALTER TABLE {table_sql(connection, table)} ADD COLUMN {name} {kind}"))


def get_or_add(session: Session, model: type, key: Any, make: Any) -> Any:
    """The row of `model` with primary key `key`, added from `make()` when missing. Two workers (or an RPC and an
    event of one agency) may both find it missing: the loser's insert fails in its savepoint and it reads the
    winner's row, instead of failing the whole unit of work on the unique key."""
    row = session.get(model, key)
    if row is not None:
        return row
    row = make()
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        row = session.get(model, key, populate_existing=True)
        if row is None:
            raise
    return row
