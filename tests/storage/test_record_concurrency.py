"""The same file recorded twice at once (an at-least-once call delivered twice, both copies running together) is
one file: on PostgreSQL the later INSERT waits for the earlier's commit and fails on the unique key, and its
transaction runs again to find the file the other one recorded."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from services.storage import records
from services.storage.models import Base, StoredFile
from tests.registry.conftest import make_db

AGENCY = "000.00.00.H60"


def _waiting_on_a_lock(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND datname = current_database()")).scalar_one()


def test_the_same_file_recorded_twice_at_once_is_one_file(request, tmp_path, local_store):
    db = make_db("postgres", tmp_path, request, "storage", AGENCY, Base.metadata)
    try:
        info = local_store.put_bytes(b"%PDF-1.4 cong van so 12")
        fields = {"sha256": info.sha256, "display_name": "Công văn số 12.pdf", "content_type": "application/pdf",
                  "size": info.size, "kind": "attachment", "owner_ref": "document:12", "user_id": "u-clerk"}
        second: dict = {}

        def deliver_again() -> None:
            try:
                second["file"] = records.record_file(db, local_store, **fields)
            except Exception as exc:  # reported by the assertions below
                second["error"] = exc

        with db.session() as s:
            first = records.record(s, local_store, **fields)
            s.flush()  # the row is written, not committed: the copy's INSERT has to wait for it
            thread = threading.Thread(target=deliver_again)
            thread.start()
            deadline = time.monotonic() + 20
            while _waiting_on_a_lock(db) == 0:
                assert time.monotonic() < deadline, "the second delivery never reached its INSERT"
                time.sleep(0.05)
            first_id = first.id
        thread.join(20)
        assert "error" not in second, second.get("error")
        assert second["file"]["id"] == first_id
        assert second["file"]["version"] == 1
        with db.session() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 1
    finally:
        db.dispose()
