"""Registers: gap-free unique numbers under concurrency, year rollover in Vietnam time, display."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.common.errors import Conflict
from services.registry import domain, numbering
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Document, Register
from tests.registry.conftest import make_registry_db, person

CLERKS = 8
EACH = 500


def _run_clerks(work) -> list[BaseException]:
    errors: list[BaseException] = []

    def clerk(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(CLERKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_eight_clerks_500_outgoing_numbers_each_are_gap_free_on_postgres(request, tmp_path, admin):
    db = make_registry_db("postgres", tmp_path, request)
    try:
        reg = ops.create_register(db, admin, Direction.OUTGOING, numbering.numbering_year())["id"]

        def work(i: int) -> None:
            for k in range(EACH):
                with db.session() as s:
                    n = numbering.allocate(s, reg, admin.agency_id, Direction.OUTGOING)
                    s.add(Document(agency_id=admin.agency_id, direction=Direction.OUTGOING, state="issued",
                                   register_id=reg, number=n, subject=f"clerk {i} doc {k}"))

        assert _run_clerks(work) == []
        with db.session() as s:
            numbers = sorted(s.execute(select(Document.number).where(Document.register_id == reg)).scalars())
        assert numbers == list(range(1, CLERKS * EACH + 1))
    finally:
        db.dispose()


def test_eight_clerks_500_arrival_numbers_each_are_gap_free_on_postgres(request, tmp_path, admin):
    db = make_registry_db("postgres", tmp_path, request)
    try:
        reg = ops.create_register(db, admin, Direction.INCOMING, numbering.numbering_year())["id"]

        def work(i: int) -> None:
            clerk = person(f"clerk{i}", "clerk")
            for k in range(EACH):
                ops.register_paper_incoming(db, clerk, {
                    "code_number": str(k + 1), "code_notation": f"UBND-X{i}", "subject": f"Công văn {i}/{k}",
                    "organ_name": f"Sở số {i}", "issued_date": "2026-01-02"}, [f"{i:032x}{k:032x}"],
                    # half the clerks leave the register to be found (the year's, by the locking SELECT)
                    register_id=reg if i % 2 else None)

        assert _run_clerks(work) == []
        with db.session() as s:
            numbers = sorted(s.execute(select(Document.number).where(Document.register_id == reg)).scalars())
        assert numbers == list(range(1, CLERKS * EACH + 1))
    finally:
        db.dispose()


def test_a_registration_waiting_for_the_register_is_refused_when_the_register_closes_meanwhile(db, admin, clerk):
    """The register is found and locked by one SELECT; its closure is read after the lock, by another statement:
    a closing committed while the registration waited for the lock is seen (a SELECT joining the closure would
    read it from the snapshot taken before the wait, and number the document from a closed register)."""
    reg = ops.create_register(db, admin, Direction.INCOMING, numbering.numbering_year())["id"]
    outcome: list[BaseException | dict] = []

    def register() -> None:
        try:
            outcome.append(ops.register_paper_incoming(db, clerk, {
                "code_number": "7", "code_notation": "UBND-VX", "subject": "Về việc khóa sổ",
                "organ_name": "Sở Nội vụ", "issued_date": "2026-01-02"}, ["ab" * 32]))
        except BaseException as exc:  # asserted below
            outcome.append(exc)

    waiting = threading.Thread(target=register)
    with db.session() as s:
        numbering.close_register(s, reg, admin.agency_id, admin.user_id)   # holds the register's lock
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()     # blocked on the register's lock (PostgreSQL) or the write lock (SQLite)
    waiting.join(30)
    (refused,) = outcome
    assert isinstance(refused, Conflict) and refused.code == "register_closed"
    with db.session() as s:
        assert s.execute(select(Document.id)).first() is None


def test_sqlite_writers_are_serialised_too(sqlite_db, admin):
    reg = ops.create_register(sqlite_db, admin, Direction.OUTGOING, numbering.numbering_year())["id"]

    def work(_i: int) -> None:
        for _ in range(25):
            with sqlite_db.session() as s:
                n = numbering.allocate(s, reg, admin.agency_id, Direction.OUTGOING)
                s.add(Document(agency_id=admin.agency_id, direction=Direction.OUTGOING, state="issued",
                               register_id=reg, number=n))

    assert _run_clerks(work) == []
    with sqlite_db.session() as s:
        assert sorted(s.execute(select(Document.number)).scalars()) == list(range(1, CLERKS * 25 + 1))


def test_a_rolled_back_document_gives_its_number_back(db, admin):
    reg = ops.create_register(db, admin, Direction.OUTGOING, numbering.numbering_year())["id"]
    with pytest.raises(RuntimeError), db.session() as s:
        numbering.allocate(s, reg, admin.agency_id, Direction.OUTGOING)
        raise RuntimeError("signing failed")
    with db.session() as s:
        assert numbering.allocate(s, reg, admin.agency_id, Direction.OUTGOING) == 1


def test_year_rollover_at_midnight_vietnam_restarts_at_01(db, admin):
    before = datetime(2025, 12, 31, 16, 59, 59, tzinfo=UTC)   # 23:59:59 on 31 Dec in Hà Nội
    after = datetime(2025, 12, 31, 17, 0, 0, tzinfo=UTC)      # 00:00:00 on 1 Jan 2026 in Hà Nội
    assert numbering.numbering_year(before) == 2025 and numbering.numbering_year(after) == 2026
    old = ops.create_register(db, admin, Direction.OUTGOING, 2025)["id"]
    new = ops.create_register(db, admin, Direction.OUTGOING, 2026)["id"]
    with db.session() as s:
        for _ in range(4):
            numbering.allocate(s, old, admin.agency_id, Direction.OUTGOING, moment=before)
        assert numbering.allocate(s, old, admin.agency_id, Direction.OUTGOING, moment=before) == 5
        with pytest.raises(Conflict) as exc:
            numbering.allocate(s, old, admin.agency_id, Direction.OUTGOING, moment=after)
        assert "năm 2026" in exc.value.message_vi
        picked = numbering.find_register(s, admin.agency_id, Direction.OUTGOING, numbering.numbering_year(after))
        assert picked.id == new
        first = numbering.allocate(s, new, admin.agency_id, Direction.OUTGOING, moment=after)
    assert domain.format_number(first) == "01"


def test_number_display_and_notation():
    assert domain.number_display(5, domain.make_notation("QĐ", "UBND")) == "Số: 05/QĐ-UBND"
    assert domain.number_display(12, domain.make_notation("CV", "UBND", "VX")) == "Số: 12/UBND-VX"
    assert domain.document_id("000.00.00.H60", datetime(2026, 11, 21).date(), 12, "UBND-VX") == \
        "000.00.00.H60,2026/11/21,12/UBND-VX"


def test_admin_creates_registers_once_per_scope_and_year(db, admin, clerk):
    from services.common.errors import Forbidden

    ops.create_register(db, admin, Direction.OUTGOING, 2026)
    ops.create_register(db, admin, Direction.OUTGOING, 2026, scope="QĐ")
    with pytest.raises(Conflict):
        ops.create_register(db, admin, Direction.OUTGOING, 2026)
    with pytest.raises(Forbidden):
        ops.create_register(db, clerk, Direction.INCOMING, 2026)
    with db.session() as s:
        assert numbering.find_register(s, admin.agency_id, Direction.OUTGOING, 2026, "QĐ").scope == "QĐ"
        assert numbering.find_register(s, admin.agency_id, Direction.OUTGOING, 2026, "TB").scope == "all"
    names = {r["name"] for r in ops.list_registers(db, admin, 2026)}
    assert names == {"Sổ văn bản đi năm 2026", "Sổ văn bản đi (Quyết định) năm 2026"}


def test_a_register_read_before_its_lock_is_numbered_from_the_row_the_lock_read(request, tmp_path, admin):
    # A transaction that holds the register (read before its lock, e.g. to show or check it) and then takes the
    # lock must number from the row as the lock read it, not from the copy in its session: another clerk's number
    # was committed in between (PostgreSQL; SQLite serialises the two writers, test_sqlite_writers_are_serialised_too).
    db = make_registry_db("postgres", tmp_path, request)
    try:
        reg = ops.create_register(db, admin, Direction.INCOMING, numbering.numbering_year())["id"]
        for take in (lambda s: numbering.allocate(s, reg, admin.agency_id, Direction.INCOMING),
                     lambda s: numbering.allocate_in_year(s, admin.agency_id, Direction.INCOMING,
                                                          numbering.numbering_year())[1]):
            with db.session() as first:
                held = first.get(Register, reg)                 # the register as it was, in first's session
                with db.session() as other:
                    taken = numbering.allocate(other, reg, admin.agency_id, Direction.INCOMING)
                assert take(first) == taken + 1 and held.next_number == taken + 2
    finally:
        db.dispose()
