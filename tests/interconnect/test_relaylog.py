"""The relay log's hash chain finds a changed, a removed and an inserted row (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect.models import HubBase, RelayLogEntry
from services.interconnect.relaylog import RelayLog, row_hash


@pytest.fixture(params=["sqlite", "postgres"])
def relay_log(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    db = Database("hub", "hub.H60", HubBase.metadata, CommonSettings(data_dir=tmp_path, database_url=url))
    db.create_all()
    log = RelayLog(db, "hub.H60")
    for i in range(5):
        log.append("received", f"m{i}", document_id=f"000.00.00.H60,2026/11/21,{i}/UBND-VX",
                   sender="000.00.00.H60", recipients=["000.00.09.H60"], sha256="ab" * 32)
    yield log
    db.dispose()


def test_an_untouched_chain_verifies(relay_log):
    assert relay_log.verify() == []
    assert relay_log.head()[0] == 5


def test_a_changed_row_is_found(relay_log):
    with relay_log.db.session() as s:
        s.execute(update(RelayLogEntry).where(RelayLogEntry.seq == 3).values(sha256="cd" * 32))
    problems = relay_log.verify()
    assert [(p.seq, p.kind) for p in problems] == [(3, "changed")]
    assert "đã bị sửa" in problems[0].message_vi


def test_a_removed_row_is_found(relay_log):
    with relay_log.db.session() as s:
        s.execute(delete(RelayLogEntry).where(RelayLogEntry.seq == 2))
    assert {(p.seq, p.kind) for p in relay_log.verify()} == {(3, "removed")}


def test_removed_tail_is_found_against_a_recorded_head(relay_log):
    head = relay_log.head()
    with relay_log.db.session() as s:
        s.execute(delete(RelayLogEntry).where(RelayLogEntry.seq == 5))
    assert relay_log.verify() == []  # a chain cut at the end is still a valid chain...
    assert [p.kind for p in relay_log.verify(expected_head=head)] == ["removed"]  # ...but not the published one


def test_an_inserted_row_is_found(relay_log):
    # A forger who recomputes the row's own hash still breaks the link to the next row.
    with relay_log.db.session() as s:
        s.execute(update(RelayLogEntry).where(RelayLogEntry.seq >= 3).values(seq=RelayLogEntry.seq + 100))
        first = s.get(RelayLogEntry, 2)
        fields = ("hub.H60", "2026-11-21T00:00:00+00:00", "routed", "forged", "", "", "", "", "")
        s.add(RelayLogEntry(seq=3, hub=fields[0], at=fields[1], event=fields[2], message_id=fields[3],
                            document_id="", sender="", recipients="", sha256="", detail="",
                            prev_hash=first.row_hash, row_hash=row_hash(first.row_hash, 3, *fields)))
        s.execute(update(RelayLogEntry).where(RelayLogEntry.seq >= 103).values(seq=RelayLogEntry.seq - 99))
    kinds = {(p.seq, p.kind) for p in relay_log.verify()}
    assert (4, "inserted") in kinds


def test_held_rows_are_written_in_one_chained_batch_and_discarded_rows_never(relay_log):
    relay_log.hold()
    for i in range(5, 9):
        relay_log.append("delivered", f"m{i}", recipients=["000.00.09.H60"])
    assert relay_log.head()[0] == 5  # nothing written while held
    assert relay_log.flush() == 4
    relay_log.hold()
    relay_log.append("received", "lost-with-its-window")
    relay_log.discard()
    relay_log.append("received", "m9")  # not held any more: written at once
    assert [e.message_id for e in relay_log.entries()][5:] == ["m5", "m6", "m7", "m8", "m9"]
    assert relay_log.head()[0] == 10 and relay_log.verify() == []
