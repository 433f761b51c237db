"""Database engines: one SQLite file per (agency, service) by default, one PostgreSQL schema each otherwise.

A service owns its tables and never reads another service's; giving each (agency, service) pair its own
SQLite file or PostgreSQL schema makes that boundary physical, and lets many agencies share one server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from services.common.settings import CommonSettings, get_settings


def agency_slug(agency_id: str) -> str:
    """`000.00.00.H60` -> `000_00_00_h60`: safe as a file name and as a PostgreSQL identifier part."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", agency_id).strip("_").lower()
    return slug or "default"


def schema_name(service: str, agency_id: str) -> str:
    return f"{service}__{agency_slug(agency_id)}"[:63]


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


def make_engine(service: str, agency_id: str, settings: CommonSettings | None = None, **kwargs) -> Engine:
    settings = settings or get_settings()
    if is_postgres(settings.database_url):
        schema = schema_name(service, agency_id)
        engine = create_engine(
            settings.database_url,
            connect_args={"options": f"-csearch_path={schema}"},
            pool_pre_ping=True,
            **kwargs,
        )
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        return engine
    if settings.database_url:
        return create_engine(settings.database_url, **kwargs)
    path = Path(settings.data_dir) / agency_slug(agency_id) / f"{service}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30}, **kwargs)
    _tune_sqlite(engine)
    return engine


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


class Database:
    """An engine, its session factory and the metadata of one service's tables."""

    def __init__(self, service: str, agency_id: str, metadata: MetaData, settings: CommonSettings | None = None,
                 audit: bool = False):
        self.service = service
        self.agency_id = agency_id
        self.engine = make_engine(service, agency_id, settings)
        sqlite_autocommit_off(self.engine)
        self.metadata = metadata
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if audit:
            # Every write of the service's sessions also lands in its hash-chained audit_log (docs/operations.md).
            from services.common import audit as audit_chain

            audit_chain.install(self)

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

    def dispose(self) -> None:
        self.engine.dispose()


def add_later_columns(metadata: MetaData, columns: dict[str, tuple[str, ...]]) -> None:
    """Columns added after a service's tables existed, added (nullable, no default) to an existing SQLite file or
    PostgreSQL schema by every create_all: there are no migrations yet, and create_all never alters a table, so an
    agency's data from before keeps working. `columns`: table name -> names, each declared in the model."""

    @event.listens_for(metadata, "after_create")
    def _add(target: MetaData, connection, **_kw) -> None:
        from sqlalchemy import inspect

        inspector = inspect(connection)
        for table_name, names in columns.items():
            present = {c["name"] for c in inspector.get_columns(table_name)}
            table = target.tables[table_name]
            for name in names:
                if name not in present:
                    kind = table.c[name].type.compile(dialect=connection.dialect)
                    connection.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {kind}"))
