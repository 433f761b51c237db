"""Transactional outbox: events that leave a service are written in the same transaction as the change.

A service adds the table to its own metadata and an `OutboxRelay` to its class:

    # models.py
    outbox = make_outbox_table(Base.metadata)

    # service.py
    class RegistryService:
        name = "registry"
        db = DatabaseProvider("registry", Base.metadata)
        outbox = OutboxRelay()                       # dispatches as `registry.events`, finds `db` itself

        @rpc
        def accept(self, ...):
            with self.db.session() as session:
                ...                                  # the business change
                enqueue(session, "outgoing_status", {...})   # same transaction
            self.outbox.kick()                       # optional: dispatch now instead of at the next tick

The relay dispatches pending rows in id order as nameko events of the owning service (exchange
`<service>.events`, routing key = event type, publisher confirms on) and marks a row sent only after the
broker confirmed it. Delivery is at least once: a crash between confirm and commit re-sends the row, so every
payload carries `message_id` (uuid4) and consumers deduplicate on it.

Several instances of a service may run: on PostgreSQL each claims a batch and marks it sent in one UPDATE over a
SELECT ... FOR UPDATE SKIP LOCKED, committed after the broker's confirms (strict order within a batch; across
instances batches may interleave). On SQLite, BEGIN IMMEDIATE
in services/common/db.py makes the relay a single writer.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from nameko.events import EventDispatcher
from prometheus_client import Gauge
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common import clock
from services.common.db import Database, Databases, WorkList
from services.common.rpc import sibling_databases

log = logging.getLogger(__name__)

OUTBOX_TABLE = "outbox"

OUTBOX_BACKLOG = Gauge(
    "congvan_outbox_backlog", "Outbox rows not yet dispatched, by agency and service", ["agency", "service"],
)

Publish = Callable[[str, dict[str, Any]], None]


def _columns() -> list[Column]:
    return [
        # BIGINT on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("message_id", String(36), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
    ]


def make_outbox_table(metadata: MetaData) -> Table:
    """The outbox table in a service's own metadata (so `create_all` makes it in the service's schema/file)."""
    if OUTBOX_TABLE in metadata.tables:
        return metadata.tables[OUTBOX_TABLE]
    return Table(OUTBOX_TABLE, metadata, *_columns())


# Every service's outbox has the same name and columns and lives in the service's own schema (search_path) or
# SQLite file, so one Table object writes to any of them: callers need not pass theirs around.
_generic = make_outbox_table(MetaData())

# Relays of this process, woken after a commit that enqueued something.
_relays: weakref.WeakSet[OutboxRelay] = weakref.WeakSet()


def _kick_all(session: Session) -> None:
    service, agency = session.info.get("service"), session.info.get("agency_id")
    for relay in list(_relays):
        if service is None or relay.serves(service):
            relay.kick(agency)


def enqueue(session: Session, event_type: str, payload: dict[str, Any], table: Table | None = None) -> str:
    """Write one event in the caller's transaction; returns its message_id (also put in the payload).

    The payload names its agency (`agency_id`, from the session's Database) unless it does already: the services
    of an installation serve many agencies, and an event handler has no acting user to take it from."""
    message_id = str(payload.get("message_id") or uuid.uuid4())
    body = {**payload, "message_id": message_id}
    if "agency_id" not in body and session.info.get("agency_id"):
        body["agency_id"] = session.info["agency_id"]
    session.execute((table if table is not None else _generic).insert().values(
        message_id=message_id, event_type=event_type, payload=body, created_at=clock.now_utc(), attempts=0))
    if not session.info.get("_outbox_kick"):
        # Dispatch right after the commit rather than at the next tick; a rollback never reaches this hook.
        event.listen(session, "after_commit", _kick_all)
        session.info["_outbox_kick"] = True
    return message_id


def pending_count(session: Session, table: Table | None = None) -> int:
    t = table if table is not None else _generic
    return int(session.execute(select(func.count()).select_from(t).where(t.c.sent_at.is_(None))).scalar_one())


def relay_pending(database: Database, publish: Publish, batch: int = 100, table: Table | None = None) -> int:
    """Dispatch pending rows in id order, batch by batch; returns how many were sent.

    Stops at the first failing publish (keeping order): that row's attempts/last_error are recorded and it is
    retried at the next call. Rows already confirmed are committed as sent.
    """
    return relay_all(database, publish, batch, table)[0]


def relay_all(database: Database, publish: Publish, batch: int = 100,
              table: Table | None = None) -> tuple[int, bool]:
    """relay_pending, also saying whether it ended with nothing left it could claim (no failed publish)."""
    t = table if table is not None else _generic
    claim = select(t.c.id, t.c.event_type, t.c.payload).where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(batch)
    sent = 0
    while True:
        if database.engine.dialect.name == "postgresql":
            with database.session() as session:
                rows = _claim_and_mark(session, t, batch)
                done, error = _publish_rows(rows, publish, database.service)
                if error is not None:  # rare: the marks were for the whole batch; record what really went
                    session.rollback()
                    _mark(session, t, done, error)
        else:
            # SQLite: BEGIN IMMEDIATE locks the whole file, and a writer waiting on it blocks in C (under eventlet,
            # the whole process). Never hold it across the broker round trip: read, publish, then mark. One relay
            # per SQLite file (one process) makes this safe.
            with database.session() as session:
                rows = session.execute(claim).all()
            done, error = _publish_rows(rows, publish, database.service)
            with database.session() as session:
                _mark(session, t, done, error)
        sent += len(done)
        if not rows or error is not None or len(rows) < batch:
            return sent, error is None


def _claim_and_mark(session: Session, t: Table, batch: int) -> list[Any]:
    """The next pending rows, in id order, marked sent in one statement.

    The mark is seen by nobody before the commit, which follows the broker's confirms; until then the rows stay
    locked, so a second relay skips them (SKIP LOCKED) as it would skip rows merely claimed. One statement where a
    claim and a mark took two: every event of the installation goes through here."""
    pending = (select(t.c.id).where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(batch)
               .with_for_update(skip_locked=True).scalar_subquery())
    marked = (update(t).where(t.c.id.in_(pending))
              .values(sent_at=clock.now_utc(), attempts=t.c.attempts + 1, last_error=None)
              .returning(t.c.id, t.c.event_type, t.c.payload))
    return sorted(session.execute(marked).all(), key=lambda row: row.id)


def _publish_rows(rows, publish: Publish, service: str) -> tuple[list[int], tuple[int, str] | None]:
    done: list[int] = []
    for row in rows:
        try:
            publish(row.event_type, row.payload)
        except Exception as exc:  # broker down or message refused: keep the row (and those after it), retry later
            log.warning("outbox %s: dispatch of %s #%s failed: %s", service, row.event_type, row.id, exc)
            return done, (row.id, str(exc)[:2000])
        done.append(row.id)
    return done, None


def _mark(session: Session, t: Table, done: list[int], error: tuple[int, str] | None) -> None:
    if done:
        session.execute(update(t).where(t.c.id.in_(done)).values(
            sent_at=clock.now_utc(), attempts=t.c.attempts + 1, last_error=None))
    if error is not None:
        session.execute(update(t).where(t.c.id == error[0]).values(attempts=t.c.attempts + 1, last_error=error[1]))


class OutboxRelay(EventDispatcher):
    """Dispatches a service's outboxes (one per hosted agency) as its nameko events, when kicked.

    It is an EventDispatcher (declares `<service>.events`, publishes with confirms), used from its own
    managed thread instead of from workers. The service's `Databases` come from its DatabaseProvider
    (attribute `db_attr`). A commit that enqueued wakes it at once (`self.outbox.kick()` too). It visits only the
    agencies of its WorkList: at start every agency with tables (rows left by a stopped process), then those that
    wrote since and those whose rows failed to go (retried every `interval` seconds). An idle agency is never read.
    """

    def __init__(self, db_attr: str = "db", interval: float = 0.5, batch: int = 100, **options: Any) -> None:
        super().__init__(**options)
        self.db_attr = db_attr
        self.interval = interval
        self.batch = batch
        self._wake = threading.Event()
        self._stopping = False
        self._thread = None

    def setup(self) -> None:
        super().setup()
        self._work: WorkList | None = None

    def _databases(self) -> Databases:
        return sibling_databases(self.container, self.db_attr, "OutboxRelay")

    def serves(self, service: str) -> bool:
        return self._databases().service == service

    def start(self) -> None:
        self._stopping = False
        # Fed by the commits that enqueued (enqueue's hook), not by every write: the relay's own marks, and the
        # service's transactions that send nothing, would otherwise bring the agency back for an empty claim.
        self._work = self._databases().worklist("outbox", on_writes=False)
        _relays.add(self)
        self._thread = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self) -> None:
        self._stopping = True
        _relays.discard(self)
        self._wake.set()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None

    def kill(self) -> None:
        self._stopping = True
        _relays.discard(self)
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    def kick(self, agency_id: str | None = None) -> None:
        """Dispatch now: `agency_id`'s rows (a commit that enqueued), else the agencies already due."""
        if agency_id and self._work is not None:
            self._work.note(agency_id)
        self._wake.set()

    def publish(self, event_type: str, payload: dict[str, Any]) -> None:
        # Headers of no worker: the relay is not handling a call; consumers key on payload["message_id"].
        self.publisher.publish(payload, exchange=self.exchange, routing_key=event_type)

    def drain(self) -> int:
        """Relay the pending rows of every agency due; returns how many were sent."""
        assert self._work is not None
        databases, sent = self._databases(), 0
        for agency in self._work.take():
            try:
                database = databases.for_agency(agency)
                relayed, emptied = relay_all(database, self.publish, self.batch)
                sent += relayed
                # Counted only when a publish failed: a row committed after the claim kicked this relay again,
                # and rows another process holds are being sent by it.
                backlog = 0 if emptied else self._backlog(database)
            except Exception:  # this agency's database briefly unreachable: the others still go, this one retries
                log.exception("outbox relay of %s for %s failed", self.container.service_name, agency)
                self._work.again(agency)
                continue
            OUTBOX_BACKLOG.labels(agency, self.container.service_name).set(backlog)
            if backlog:
                self._work.again(agency)
        return sent

    @staticmethod
    def _backlog(database: Database) -> int:
        with database.session() as session:
            return pending_count(session)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before draining: a kick that lands during the drain triggers another one
            try:
                self.drain()
            except Exception:  # the database may be briefly unreachable; the next tick retries
                log.exception("outbox relay of %s failed", self.container.service_name)
            self._wake.wait(self.interval)

    def get_dependency(self, worker_ctx) -> OutboxRelay:
        return self
