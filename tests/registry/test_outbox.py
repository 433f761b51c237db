"""The shared transactional outbox (services/common/outbox.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import MetaData, select

from services.common.db import Database
from services.common.outbox import enqueue, make_outbox_table, pending_count, relay_all, relay_pending
from tests.registry.conftest import make_db


def _db(kind: str, tmp_path, request) -> Database:
    metadata = MetaData()
    make_outbox_table(metadata)
    return make_db(kind, tmp_path, request, "outboxtest", "000.00.00.T01", metadata)


@pytest.fixture(params=["sqlite", "postgres"])
def outbox_db(request, tmp_path):
    db = _db(request.param, tmp_path, request)
    yield db
    db.dispose()


def test_enqueue_is_part_of_the_callers_transaction(outbox_db):
    with outbox_db.session() as s:
        mid = enqueue(s, "outgoing_status", {"status_code": "03"})
    with pytest.raises(RuntimeError), outbox_db.session() as s:
        enqueue(s, "outgoing_status", {"status_code": "02"})
        raise RuntimeError("business change failed")
    with outbox_db.session() as s:
        assert pending_count(s) == 1
        table = make_outbox_table(MetaData())
        row = s.execute(select(table)).one()
    # The payload names its agency: the services of an installation serve many, and an event has no actor.
    assert row.message_id == mid
    assert row.payload == {"status_code": "03", "message_id": mid, "agency_id": "000.00.00.T01"}


def test_relay_dispatches_in_order_and_marks_sent_only_after_publish(outbox_db):
    with outbox_db.session() as s:
        ids = [enqueue(s, "outgoing_package", {"n": n}) for n in range(5)]
    published: list[tuple[str, dict]] = []

    def flaky(event_type, payload):
        if payload["n"] == 3 and not any(p["n"] == 99 for _, p in published):
            published.append(("marker", {"n": 99}))
            raise ConnectionError("broker went away")
        published.append((event_type, payload))

    # stops at the failure, keeps order, and says so (the relay then counts what is left for its gauge)
    assert relay_all(outbox_db, flaky) == (3, False)
    with outbox_db.session() as s:
        assert pending_count(s) == 2
        rows = s.execute(select(make_outbox_table(MetaData())).order_by("id")).all()
    # the three confirmed are sent; the failed one says why; the one after it was never tried
    assert [(r.sent_at is not None, r.attempts, r.last_error) for r in rows] == [
        (True, 1, None), (True, 1, None), (True, 1, None), (False, 1, "broker went away"), (False, 0, None)]
    assert relay_all(outbox_db, flaky) == (2, True)
    delivered = [p["message_id"] for t, p in published if t == "outgoing_package"]
    assert delivered == ids
    assert relay_pending(outbox_db, flaky) == 0


def test_two_relays_never_send_a_row_twice(request, tmp_path):
    db = _db("postgres", tmp_path, request)
    try:
        with db.session() as s:
            for n in range(300):
                enqueue(s, "e", {"n": n})
        seen: list[int] = []
        lock = threading.Lock()

        def publish(_t, payload):
            with lock:
                seen.append(payload["n"])

        threads = [threading.Thread(target=relay_pending, args=(db, publish, 20)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(seen) == list(range(300))
    finally:
        db.dispose()
