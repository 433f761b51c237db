"""Mở sổ năm mới (services/registry/year_registers.py), on SQLite and PostgreSQL: next year's registers opened like
this year's, once however often or concurrently asked; and the 1 January safety net, around midnight in Hà Nội
(17:00 UTC on 31 December)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from services.common import audit_verify, clock
from services.common.db import Database
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.common.settings import CommonSettings
from services.registry import operations as ops
from services.registry import rules
from services.registry.models import Base
from tests.registry.conftest import AGENCY, person, sha

LAST_MINUTE_2026 = datetime(2026, 12, 31, 16, 59, tzinfo=UTC)   # 23:59 on 31 December 2026 in Hà Nội
NEW_YEAR_2027 = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)       # 00:00 on 1 January 2027 in Hà Nội
DECEMBER_2026 = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def at(monkeypatch):
    def stand(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now_utc", lambda: moment)   # callers use clock.now_utc(): the patch reaches them
    return stand


def kinds(registers: list[dict]) -> list[tuple]:
    return sorted((r["direction"], r["scope"], r["year"], r["name"]) for r in registers)


def this_years(db, admin) -> None:
    """The registers of 2026 an agency keeps: the three "all" books (one renamed, keeping its year), one of its
    own for Công văn, the legal-normative one, and one given up in June."""
    ops.create_register(db, admin, "incoming", 2026, name="Sổ công văn đến năm 2026")
    ops.create_register(db, admin, "outgoing", 2026)
    ops.create_register(db, admin, "copies", 2026, name="Sổ sao y")
    ops.create_register(db, admin, "outgoing", 2026, scope="CV")
    ops.create_register(db, admin, "outgoing", 2026, scope="QPPL-QĐ")
    return ops.create_register(db, admin, "incoming", 2026, scope="TB")


def paper(db, clerk, n: int) -> dict:
    return ops.register_paper_incoming(db, clerk, {
        "code_number": str(n), "code_notation": "SNV-VP", "subject": f"Về việc năm mới {n}", "organ_name": "Sở Nội vụ",
        "issued_date": "2026-12-30", "type_code": "CV"}, [sha(f"nam-moi-{n}")])


def test_next_years_registers_open_like_this_years_once(db, admin, clerk, at):
    at(DECEMBER_2026)
    given_up = this_years(db, admin)
    at(datetime(2026, 6, 30, 3, 0, tzinfo=UTC))
    ops.close_register(db, admin, given_up["id"])   # thôi dùng sổ in June: not carried over
    at(DECEMBER_2026)
    closed_at_year_end = ops.list_registers(db, admin, 2026, "outgoing")[0]
    ops.close_register(db, admin, closed_at_year_end["id"])   # khóa sổ in December: carried over

    before = ops.year_registers(db, clerk)
    assert before["year"] == 2027 and before["registers"] == [] and len(before["missing"]) == 5
    opened = ops.open_year_registers(db, admin)
    assert kinds(opened["opened"]) == [
        ("copies", "all", 2027, "Sổ bản sao năm 2027"),   # no year in its name: the default name
        ("incoming", "all", 2027, "Sổ công văn đến năm 2027"),
        ("outgoing", "CV", 2027, "Sổ văn bản đi (Công văn) năm 2027"),
        ("outgoing", "QPPL-QĐ", 2027, "Sổ văn bản quy phạm pháp luật (Quyết định) năm 2027"),
        ("outgoing", "all", 2027, "Sổ văn bản đi năm 2027")]
    assert all(r["next_number"] == 1 for r in opened["opened"]) and opened["missing"] == []

    again = ops.open_year_registers(db, admin, 2027)   # the same operation once more: nothing new
    assert again["opened"] == [] and kinds(again["registers"]) == kinds(opened["opened"])
    assert len(ops.list_registers(db, admin, 2027)) == 5


def test_only_the_missing_ones_open_and_a_concurrent_opening_opens_each_once(db, admin, at):
    at(DECEMBER_2026)
    this_years(db, admin)
    own = ops.create_register(db, admin, "incoming", 2027, name="Sổ đến 2027 mở tay")
    results: list[dict] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            results.append(ops.open_year_registers(db, admin, 2027))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(len(r["opened"]) for r in results) == 5   # incoming "all" was open already; TB stays too
    registers = ops.list_registers(db, admin, 2027)
    assert len(registers) == len({(r["direction"], r["scope"]) for r in registers}) == 6
    assert next(r for r in registers if r["id"] == own["id"])["name"] == "Sổ đến 2027 mở tay"


def test_who_may_open_and_which_years(db, admin, clerk, at):
    at(DECEMBER_2026)
    ops.create_register(db, admin, "incoming", 2026)
    with pytest.raises(Forbidden):
        ops.open_year_registers(db, clerk)
    with pytest.raises(Forbidden):
        ops.open_year_registers(db, person("khac", "admin", agency="000.00.00.H17"))
    for year in (2025, 2028):
        with pytest.raises(ValidationFailed) as refused:
            ops.open_year_registers(db, admin, year)
        assert refused.value.code == "bad_year" and "năm sau (2027)" in refused.value.message_vi
    rules.set_rules(db, admin, {"register_openers": "admin_and_clerk"})   # NĐ 30 Điều 16: the agency says so
    assert [r["year"] for r in ops.open_year_registers(db, clerk)["opened"]] == [2027]


def test_numbers_at_midnight_in_hanoi_come_from_the_new_years_register_from_01(db, admin, clerk, at):
    at(DECEMBER_2026)
    old = ops.create_register(db, admin, "incoming", 2026)
    ops.create_register(db, admin, "outgoing", 2026)
    assert [paper(db, clerk, n)["number"] for n in (1, 2)] == [1, 2]
    assert ops.list_registers(db, clerk, 2027, "incoming") == []   # never next year's in December
    at(LAST_MINUTE_2026)
    assert paper(db, clerk, 3)["number"] == 3
    assert [r["year"] for r in ops.list_registers(db, admin)] == [2026, 2026]

    at(NEW_YEAR_2027)   # nobody opened 2027's: the first clerk of the year is not refused
    first = paper(db, clerk, 4)
    new = ops.list_registers(db, admin, 2027)
    assert sorted(r["direction"] for r in new) == ["incoming", "outgoing"]
    document = ops.get_document(db, clerk, first["id"])
    assert (first["number"], document["register_id"]) == (1, next(r["id"] for r in new
                                                                   if r["direction"] == "incoming"))
    assert document["register_id"] != old["id"] and paper(db, clerk, 5)["number"] == 2
    assert all(r["name"].endswith("năm 2027") for r in new)


def test_the_clerks_page_opens_the_year_and_an_agency_without_registers_gets_none(db, admin, clerk, at):
    at(DECEMBER_2026)
    ops.create_register(db, admin, "outgoing", 2026)
    at(NEW_YEAR_2027)
    assert ops.list_registers(db, clerk, 2028, "outgoing") == []       # not a year before its time
    assert ops.list_registers(db, clerk, 2027, "copies") == []         # no copies register last year: nothing
    assert ops.list_registers(db, admin, 2027) == []
    [opened] = ops.list_registers(db, clerk, 2027, "outgoing")         # the issue page: opened, then listed
    assert (opened["year"], opened["next_number"], opened["name"]) == (2027, 1, "Sổ văn bản đi năm 2027")



def test_an_agency_that_never_had_registers_gets_none(db, admin, clerk, at):
    at(NEW_YEAR_2027)
    with pytest.raises(NotFound) as refused:
        paper(db, clerk, 1)
    assert refused.value.code == "no_register" and "Chưa có sổ văn bản đến năm 2027" in refused.value.message_vi
    assert ops.list_registers(db, clerk, 2027, "incoming") == [] and ops.list_registers(db, admin) == []
    assert ops.open_year_registers(db, admin, 2027)["opened"] == []


def test_registers_opened_are_in_the_audit_chain(tmp_path, admin, at):
    at(DECEMBER_2026)
    db = Database("registry", AGENCY, Base.metadata, CommonSettings(agency_id=AGENCY, data_dir=tmp_path), True)
    db.create_all()
    ops.create_register(db, admin, "incoming", 2026)
    opened = ops.open_year_registers(db, admin)["opened"]
    rows = audit_verify.entries(db, entity="register", entity_id=opened[0]["id"])
    assert [r["action"] for r in rows] == ["insert"] and audit_verify.verify(db).ok
    db.dispose()
