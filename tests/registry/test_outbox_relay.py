"""OutboxRelay in a real nameko container: a committed row becomes a `<service>.events` message."""

from __future__ import annotations

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from nameko.containers import ServiceContainer
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook
from sqlalchemy import Column, Integer, MetaData, Table

from services.common.outbox import OutboxRelay, enqueue, make_outbox_table, pending_count
from services.common.rpc import DatabaseProvider
from tests.agency import consumed

pytestmark = pytest.mark.eventlet

metadata = MetaData()
make_outbox_table(metadata)
thing = Table("thing", metadata, Column("n", Integer, primary_key=True))


class OutboxDemo:
    name = "outboxdemo"
    db = DatabaseProvider("outboxdemo", metadata)
    outbox = OutboxRelay(interval=600.0)  # no tick during the test: only the after-commit kick can deliver

    @rpc
    def change(self, n: int, fail: bool = False) -> str:
        with self.db.session() as session:
            mid = enqueue(session, "thing_changed", {"n": n})
            if fail:
                raise ValueError("rolled back")
        return mid

    @rpc
    def touch(self, n: int) -> None:
        """A write that sends nothing."""
        with self.db.session() as session:
            session.execute(thing.insert().values(n=n))


AGENCY = "000.00.00.T02"
CLERK = {"user_id": "u1", "username": "thuvt.vp", "agency_id": AGENCY, "roles": ["clerk"]}


def test_relay_dispatches_committed_events_only(fresh_vhost, tmp_path):
    config = {"AMQP_URI": fresh_vhost, "DATA_DIR": str(tmp_path), "serializer": "json"}
    container = ServiceContainer(OutboxDemo, config)
    container.start()
    try:
        with Connection(fresh_vhost) as conn:
            exchange = Exchange("outboxdemo.events", type="topic", durable=True)
            queue = Queue("test.outboxdemo", exchange=exchange, routing_key="thing_changed", durable=False)
            queue(conn.channel()).declare()
            with entrypoint_hook(container, "change", context_data={"actor": CLERK}) as change:
                first = change(1)
                with pytest.raises(ValueError):
                    change(2, fail=True)
                third = change(3)
            bodies = consumed(conn, queue, 2)
            assert [b["message_id"] for b in bodies] == [first, third]
            assert [b["n"] for b in bodies] == [1, 3]
            assert {b["agency_id"] for b in bodies} == {AGENCY}  # events name their agency
        relay = next(d for d in container.dependencies if isinstance(d, OutboxRelay))
        for _ in range(100):  # the relay commits its marks after the broker's confirms
            if _pending(relay) == 0:
                break
            eventlet.sleep(0.1)
        eventlet.sleep(0.2)
        # Nothing brings the agency back to the relay: not its own marks, nor a write that enqueued nothing (an
        # idle agency costs no claim, and a registration's other transactions none either).
        assert relay._work._due == set()
        with entrypoint_hook(container, "touch", context_data={"actor": CLERK}) as touch:
            touch(4)
        assert relay._work._due == set()
    finally:
        container.stop()


def _pending(relay: OutboxRelay) -> int:
    with relay._databases().for_agency(AGENCY).session() as s:
        return pending_count(s)
