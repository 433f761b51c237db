"""The audit chain on SQLite and PostgreSQL: written with the business change, append-only, tampering detected."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.common import audit, audit_verify
from services.common.actor import Actor
from tests.ops.conftest import audit_log, letters

CLERK = Actor(user_id="u-7", username="hunglv.vt", agency_id="000.00.00.H60", roles=frozenset({"clerk"}))


def write(db, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        with db.session() as s:
            s.execute(letters.insert().values(id=i, subject=f"Công văn số {i}", state="registered"))
            audit.record(s, CLERK, "register_incoming", "letter", i, {"number": i, "subject": f"Công văn số {i}"})


def raw(db, *statements) -> None:
    """What someone with direct database access would do: drop the guards, then tamper."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        for stmt in statements:
            if isinstance(stmt, str):
                conn.exec_driver_sql(stmt)
            else:
                conn.execute(stmt)


def kinds(report) -> set[tuple[int, str]]:
    return {(p.seq, p.kind) for p in report.problems}


def test_rows_are_written_in_the_business_transaction_and_chain(make_db):
    db = make_db()
    write(db, 5)
    with pytest.raises(RuntimeError), db.session() as s:
        s.execute(letters.insert().values(id=99, subject="bị hủy", state="draft"))
        audit.record(s, CLERK, "register_incoming", "letter", 99)
        raise RuntimeError("the business change failed")
    report = audit_verify.verify(db)
    assert report.ok and report.rows == 5          # the rolled-back change left no audit row and no gap
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, actor, agency, entity_id, details, prev_hash, row_hash "
                                 "FROM audit_log ORDER BY seq")).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS and all(rows[i].prev_hash == rows[i - 1].row_hash for i in range(1, 5))
    assert rows[2].actor == "u-7" and rows[2].agency == "000.00.00.H60" and rows[2].entity_id == "3"
    assert '"subject":"Công văn số 3"' in rows[2].details
    assert report.head == (5, rows[-1].row_hash) == audit_verify.head(db)


def test_database_refuses_update_and_delete(make_db):
    db = make_db()
    write(db, 2)
    for stmt in ("UPDATE audit_log SET actor = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.exec_driver_sql(stmt)
    assert audit_verify.verify(db).ok


def test_changed_row_is_detected(make_db):
    db = make_db()
    write(db, 5)
    raw(db, "UPDATE audit_log SET details = '{\"number\":33}' WHERE seq = 3")
    report = audit_verify.verify(db)
    assert kinds(report) == {(3, "changed")}
    assert "Bản ghi số 3 đã bị sửa" in report.problems[0].message_vi


def test_removed_row_is_detected(make_db):
    db = make_db()
    write(db, 5)
    raw(db, "DELETE FROM audit_log WHERE seq = 2")
    assert {k for _, k in kinds(audit_verify.verify(db))} == {"removed"}
    assert (3, "removed") in kinds(audit_verify.verify(db))


def test_inserted_row_is_detected(make_db):
    db = make_db()
    write(db, 4)
    # Shift rows 3..4 up and slip a forged row in at 3, hashed correctly over its own content and predecessor:
    # row 4 (old 3) no longer links to it.
    forged_at = "2026-01-01T00:00:00.000000+00:00"
    with db.engine.connect() as conn:
        prev = conn.execute(text("SELECT row_hash FROM audit_log WHERE seq = 2")).scalar_one()
    digest = audit.row_hash(prev, 3, forged_at, "000.00.00.H60", "u-7", "", "delete", "letter", "1", "{}")
    raw(db, "UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3",
        "UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13",
        audit_log.insert().values(seq=3, at=forged_at, agency="000.00.00.H60", actor="u-7", on_behalf_of="",
                                  action="delete", entity="letter", entity_id="1", details="{}", prev_hash=prev,
                                  row_hash=digest))
    report = audit_verify.verify(db)
    assert (4, "inserted") in kinds(report)      # old row 3, now 4, does not chain onto the forged row
    assert (4, "changed") in kinds(report)       # and its seq is part of what its hash covers


def test_truncated_tail_is_detected_against_a_recorded_head(make_db):
    db = make_db()
    write(db, 5)
    recorded = audit_verify.head(db)
    raw(db, "DELETE FROM audit_log WHERE seq >= 4")
    assert audit_verify.verify(db).ok                    # a shorter chain is self-consistent ...
    assert kinds(audit_verify.verify(db, expected_head=recorded)) == {(5, "removed")}   # ... but not the recorded head


def test_rewritten_chain_is_detected_against_a_recorded_head(make_db):
    db = make_db()
    write(db, 3)
    recorded = audit_verify.head(db)
    raw(db, "DELETE FROM audit_log")
    write(db, 3, start=10)                        # a fresh, self-consistent chain of the same length
    assert audit_verify.verify(db).ok
    assert kinds(audit_verify.verify(db, expected_head=recorded)) == {(3, "changed")}


def test_concurrent_writers_keep_the_chain_contiguous(make_db):
    # SQLite: BEGIN IMMEDIATE serialises writers; PostgreSQL: the table lock taken by `record`.
    db = make_db()
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            write(db, 15, start=base)
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(1000 * k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = audit_verify.verify(db)
    assert report.ok and report.rows == 60 and report.head[0] == 60


def test_discover_finds_every_database_with_the_table(make_db, settings):
    make_db("registry", "000.00.00.H60")
    make_db("routing", "000.00.09.H60")
    found = [where for where, _engine in audit_verify.discover(settings)]
    assert len(found) == 2
    assert any("registry" in w for w in found) and any("routing" in w for w in found)


def test_rows_chained_by_the_database_hash_as_row_hash_does(make_db):
    # On PostgreSQL the chain is written by a function in the schema, which hashes in SQL: its text must be hashed
    # exactly as row_hash() does, whatever the characters, or verify() would report every row as changed.
    db = make_db()
    odd = ["Nguyễn Thị Ánh – Sở TT&TT", "dòng 1\ndòng 2\t\"trích\" \\ 'yếu'", "𝔄 emoji 📄 ký tự ngoài BMP", "",
           "a:b:1:"]
    actor = Actor(user_id=odd[0], username="x", agency_id="000.00.00.H60", roles=frozenset({"clerk"}),
                  on_behalf_of=odd[4])
    with db.session() as s:
        last = audit.append(s.connection(), [
            {"at": "2026-12-31T16:59:59.999999+00:00", "agency": "000.00.00.H60", "actor": text_, "on_behalf_of": "",
             "action": "note", "entity": "letter", "entity_id": str(i), "details": audit.canonical({"t": text_})}
            for i, text_ in enumerate(odd)])
        audit.record(s, actor, "note", "letter", odd[1], {"subject": odd[2], "nested": {"list": odd}})
    assert last == len(odd)
    report = audit_verify.verify(db)
    assert report.ok and report.rows == len(odd) + 1, report.problems
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all()
    prev = audit.GENESIS
    for r in rows:                                 # recomputed here too, not only through verify()
        assert r.prev_hash == prev
        assert r.row_hash == audit.row_hash(prev, r.seq, r.at, r.agency, r.actor, r.on_behalf_of, r.action,
                                            r.entity, r.entity_id, r.details)
        prev = r.row_hash
    assert rows[-1].actor == odd[0] and rows[-1].on_behalf_of == odd[4] and rows[1].actor == odd[1]


def test_a_schema_made_before_the_append_function_gets_it_at_the_next_start(make_db):
    db = make_db()
    write(db, 2)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:           # as a schema made by a version without the function
            conn.exec_driver_sql("DROP FUNCTION audit_log_append_v1(json)")
        with pytest.raises(DBAPIError, match="audit_log_append_v1"):
            write(db, 1, start=3)
    db.create_all()                                # what every process does with an agency it opens
    db.create_all()                                # and again: finding the function there is not an error
    write(db, 2, start=3)
    report = audit_verify.verify(db)
    assert report.ok and report.rows == 4
