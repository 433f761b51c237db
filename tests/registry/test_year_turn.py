"""A form opened before midnight in Hà Nội (17:00 UTC on 31 December) and sent after it, on SQLite and PostgreSQL:
the register it offered is last year's, and the number comes from that register's successor of the new year (same
agency, direction and scope), opened on first need as the 1 January safety net opens it; never from last year's
register. The answer and the history say which register numbered; the same request sent again is the same
document. Registers of other years, and one given up during its year, are refused as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common import clock
from services.common.errors import Conflict
from services.registry import operations as ops
from tests.registry.conftest import package, sha
from tests.registry.test_flows import RECIPIENTS, draft, fake_sign

DECEMBER_2026 = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
JUNE_2026 = datetime(2026, 6, 30, 3, 0, tzinfo=UTC)
BEFORE = datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC)   # 23:59:59 on 31 December 2026 in Hà Nội
AFTER = datetime(2026, 12, 31, 17, 0, 1, tzinfo=UTC)      # 00:00:01 on 1 January 2027 in Hà Nội


@pytest.fixture
def at(monkeypatch):
    def stand(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now_utc", lambda: moment)   # callers use clock.now_utc(): the patch reaches them
    return stand


def paper(db, clerk, n: int, register_id: str, key: str | None = None) -> dict:
    return ops.register_paper_incoming(db, clerk, {
        "code_number": str(n), "code_notation": "SNV-VP", "subject": f"Về việc giao thừa {n}",
        "organ_name": "Sở Nội vụ", "issued_date": "2026-12-30", "type_code": "CV", "request_key": key},
        [sha(f"giao-thua-{n}")], register_id=register_id)


def of_year(db, admin, year: int, direction: str) -> list[dict]:
    return ops.list_registers(db, admin, year, direction)


def test_paper_incoming_sent_after_midnight_is_numbered_from_the_new_years_register(db, admin, clerk, at):
    at(DECEMBER_2026)
    old = ops.create_register(db, admin, "incoming", 2026, name="Sổ công văn đến năm 2026")
    ops.create_register(db, admin, "outgoing", 2026)
    assert paper(db, clerk, 1, old["id"])["number"] == 1

    at(BEFORE)   # still 31 December in Hà Nội: last year's register is this year's
    before = paper(db, clerk, 2, old["id"])
    assert (before["number"], before["register_id"], before["year_turn"]) == (2, old["id"], None)
    assert of_year(db, admin, 2027, "incoming") == []

    at(AFTER)   # the clerk's page was opened at 23:58 and sent at 00:00:01: no refusal, no retyping
    after = paper(db, clerk, 3, old["id"], key="form-giao-thua")
    [new] = of_year(db, admin, 2027, "incoming")
    assert new["name"] == "Sổ công văn đến năm 2027" and new["id"] != old["id"]
    assert (after["number"], after["register_id"], after["year"]) == (1, new["id"], 2027)
    assert after["year_turn"] == {"from_register_id": old["id"], "from_register_name": "Sổ công văn đến năm 2026",
                                  "from_year": 2026, "register_id": new["id"],
                                  "register_name": "Sổ công văn đến năm 2027", "year": 2027}
    assert [r["year"] for r in of_year(db, admin, 2027, "outgoing")] == [2027]   # opened as the safety net does
    assert next(r for r in of_year(db, admin, 2026, "incoming"))["next_number"] == 3   # last year's untouched
    document = ops.get_document(db, clerk, after["id"])
    assert document["year_turn"] == after["year_turn"] and document["register_id"] == new["id"]
    registered = next(h for h in document["history"] if h["action"] == "registered")
    assert registered["details"]["year_turn"]["register_id"] == new["id"]

    again = paper(db, clerk, 3, old["id"], key="form-giao-thua")   # the same request delivered again
    assert again["id"] == after["id"] and again["duplicate"] and again["number"] == 1
    assert paper(db, clerk, 4, new["id"])["number"] == 2 and paper(db, clerk, 5, old["id"])["number"] == 3


def test_reception_of_an_electronic_document_after_midnight_and_the_registers_still_refused(db, admin, clerk, edge,
                                                                                            at):
    at(DECEMBER_2026)
    two_years_ago = ops.create_register(db, admin, "incoming", 2025)
    old = ops.create_register(db, admin, "incoming", 2026)
    at(JUNE_2026)
    given_up = ops.create_register(db, admin, "incoming", 2026, scope="TB")
    ops.close_register(db, admin, given_up["id"])   # thôi dùng sổ in June: no successor of its own
    at(DECEMBER_2026)
    ops.close_register(db, admin, old["id"])          # khóa sổ cuối năm: carried over
    waiting = [ops.receive_package(db, edge, package(n))["incoming_id"] for n in (1, 2, 3)]

    at(AFTER)
    got = ops.accept_incoming(db, clerk, waiting[0], old["id"])
    [new] = of_year(db, admin, 2027, "incoming")
    assert (got["number"], got["register_id"], got["year_turn"]["register_name"]) == (
        1, new["id"], "Sổ văn bản đến năm 2027")
    for refused_register, code in ((two_years_ago, "register_year"), (given_up, "register_year")):
        with pytest.raises(Conflict) as refused:
            ops.accept_incoming(db, clerk, waiting[1], refused_register["id"])
        assert refused.value.code == code and "số văn bản năm 2027 phải lấy từ sổ năm 2027" in \
            refused.value.message_vi
    assert [r["scope"] for r in of_year(db, admin, 2027, "incoming")] == ["all"]
    assert ops.get_document(db, clerk, waiting[1])["state"] == "waiting_reception"   # nothing lost
    assert ops.accept_incoming(db, clerk, waiting[2], old["id"])["number"] == 2


def issue(db, clerk, doc_id: str, register_id: str, sign=None, key: str | None = None) -> dict:
    return ops.issue_outgoing(db, clerk, doc_id, register_id, RECIPIENTS, sign or fake_sign(), request_key=key)


def test_issue_sent_after_midnight_takes_the_successors_number_even_if_midnight_passes_while_sealing(
        db, admin, clerk, edge, at):
    at(DECEMBER_2026)
    ops.set_agency_profile(db, admin, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
    old = ops.create_register(db, admin, "outgoing", 2026)
    waiting = [ops.submit_for_issue(db, edge, draft(n))["id"] for n in (1, 2, 3)]

    at(BEFORE)
    first = issue(db, clerk, waiting[0], old["id"])
    assert (first["number"], first["register_id"], first["year_turn"], first["issued_date"]) == (
        1, old["id"], None, "2026-12-31")

    calls: list = []
    sealed = fake_sign(calls)

    def sealing_across_midnight(*args, **kwargs):
        at(AFTER)   # the seal token took its time: 00:00:01 when the number is taken
        return sealed(*args, **kwargs)

    crossed = issue(db, clerk, waiting[1], old["id"], sealing_across_midnight)
    [new] = of_year(db, admin, 2027, "outgoing")
    assert [(number, day) for _pdf, number, day, _notation in calls] == [("02", "31/12/2026"), ("01", "01/01/2027")]
    assert (crossed["number"], crossed["register_id"], crossed["issued_date"], crossed["year"]) == (
        1, new["id"], "2027-01-01", 2027)
    assert crossed["year_turn"]["from_register_id"] == old["id"]

    after = issue(db, clerk, waiting[2], old["id"], key="form-giao-thua")
    again = issue(db, clerk, waiting[2], old["id"], key="form-giao-thua")   # delivered again: the same document
    assert (after["number"], after["register_id"]) == (2, new["id"])
    assert again["duplicate"] and (again["id"], again["number"]) == (after["id"], 2)
    history = ops.get_document(db, clerk, after["id"])["history"]
    issued = [h for h in history if h["action"] == "issued"]
    assert len(issued) == 1 and issued[0]["details"]["year_turn"]["register_name"] == "Sổ văn bản đi năm 2027"
    assert next(r for r in of_year(db, admin, 2026, "outgoing"))["next_number"] == 2
