"""Sửa sổ and mở lại sổ (services/registry/registers.py, numbering.py), on SQLite and PostgreSQL: an open register's
name changes and nothing else; a register closed by mistake is reopened within its own year (Vietnam time), with a
reason, and numbering continues from the last number given; both are idempotent, for the register's own agency and
the roles that open registers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from services.common import clock
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.registry import operations as ops
from services.registry import rules
from services.registry.numbering import numbering_year
from tests.registry.conftest import OTHER, make_registry_db, person, sha


def paper(db, clerk, n: int) -> dict:
    return ops.register_paper_incoming(db, clerk, {
        "code_number": str(n), "code_notation": "SNV-VP", "subject": f"Về việc thử sổ {n}", "organ_name": "Sở Nội vụ",
        "issued_date": "2026-01-05", "type_code": "CV"}, [sha(f"so-{n}")])


def listed(db, actor, register_id: str) -> dict:
    return next(r for r in ops.list_registers(db, actor) if r["id"] == register_id)


def test_reopening_continues_numbering_with_no_gap_and_no_number_given_twice(db, admin, clerk):
    register = ops.create_register(db, admin, "incoming", numbering_year())
    assert [paper(db, clerk, n)["number"] for n in (1, 2)] == [1, 2]
    ops.close_register(db, admin, register["id"])
    with pytest.raises(Conflict) as refused:
        paper(db, clerk, 3)
    assert refused.value.code == "register_closed"

    reopened = ops.reopen_register(db, admin, register["id"], "  Khóa nhầm   sổ đang dùng ")
    assert (reopened["closed"], reopened["closed_at"], reopened["next_number"]) == (False, None, 3)
    assert paper(db, clerk, 4)["number"] == 3  # last + 1: the number refused while closed was never taken

    [history] = listed(db, clerk, register["id"])["reopenings"]
    assert history["reason"] == "Khóa nhầm sổ đang dùng"
    assert (history["closed_by"], history["reopened_by"]) == (admin.user_id, admin.user_id)
    assert history["closed_at"] <= history["reopened_at"]
    # closing again keeps the first closing in the history; the register is closed anew
    again = ops.close_register(db, admin, register["id"])
    assert again["closed"] and len(again["reopenings"]) == 1


def test_reopening_asks_a_reason_and_happens_once_per_request(db, admin):
    register = ops.create_register(db, admin, "outgoing", numbering_year())
    unchanged = ops.reopen_register(db, admin, register["id"], "Không cần")  # an open register: nothing changes
    assert not unchanged["closed"] and unchanged["reopenings"] == []
    ops.close_register(db, admin, register["id"])
    for blank in ("", "   "):
        with pytest.raises(ValidationFailed) as refused:
            ops.reopen_register(db, admin, register["id"], blank)
        assert refused.value.code == "reason_required" and "lý do" in refused.value.message_vi
    assert listed(db, admin, register["id"])["closed"]  # a refusal changes nothing

    first = ops.reopen_register(db, admin, register["id"], "Khóa nhầm", request_key="form:a")
    assert ops.reopen_register(db, admin, register["id"], "Khóa nhầm", request_key="form:a") == first
    # closed again on purpose, then the first request delivered once more: it already reopened, it does nothing
    ops.close_register(db, admin, register["id"])
    assert ops.reopen_register(db, admin, register["id"], "Khóa nhầm", request_key="form:a")["closed"]
    second = ops.reopen_register(db, admin, register["id"], "Khóa nhầm lần hai", request_key="form:b")
    assert not second["closed"]
    assert [h["reason"] for h in second["reopenings"]] == ["Khóa nhầm", "Khóa nhầm lần hai"]


def test_a_closing_delivered_again_after_a_reopening_does_not_close_again(db, admin, clerk):
    register = ops.create_register(db, admin, "incoming", numbering_year())
    closed = ops.close_register(db, admin, register["id"], request_key="form:k1")
    assert ops.close_register(db, admin, register["id"], request_key="form:k1") == closed
    ops.reopen_register(db, admin, register["id"], "Khóa nhầm", request_key="form:r1")
    # the first closing arrives once more (a redelivered RPC, a client's retry): the register stays open
    assert not ops.close_register(db, admin, register["id"], request_key="form:k1")["closed"]
    paper(db, clerk, 1)  # and gives numbers
    assert listed(db, admin, register["id"])["next_number"] == 2
    # a new closing, with its own key, closes it; without a key, closing is idempotent by state alone
    assert ops.close_register(db, admin, register["id"], request_key="form:k2")["closed"]
    assert ops.close_register(db, admin, register["id"])["closed"]
    assert len(listed(db, admin, register["id"])["reopenings"]) == 1


def test_a_register_reopens_only_in_its_own_year_in_vietnam_time(sqlite_db, admin, monkeypatch):
    register = ops.create_register(sqlite_db, admin, "incoming", 2025)

    def at(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now_utc", lambda: moment)

    ops.close_register(sqlite_db, admin, register["id"])
    at(datetime(2025, 12, 31, 16, 59, 59, tzinfo=UTC))  # 23:59:59 on 31 December 2025 in Hà Nội
    assert not ops.reopen_register(sqlite_db, admin, register["id"], "Khóa sớm")["closed"]

    ops.close_register(sqlite_db, admin, register["id"])
    at(datetime(2025, 12, 31, 17, 0, tzinfo=UTC))  # 00:00 on 1 January 2026 in Hà Nội, still 2025 in UTC
    with pytest.raises(Conflict) as refused:
        ops.reopen_register(sqlite_db, admin, register["id"], "Khóa sớm")
    assert refused.value.code == "register_year"
    assert "không thể mở lại sổ của năm đã qua trong năm 2026" in refused.value.message_vi
    assert listed(sqlite_db, admin, register["id"])["closed"]


def test_only_an_open_registers_name_changes_and_names_stay_distinct(db, admin):
    year = numbering_year()
    main = ops.create_register(db, admin, "incoming", year)
    own = ops.create_register(db, admin, "incoming", year, scope="TB")
    outgoing = ops.create_register(db, admin, "outgoing", year)

    renamed = ops.update_register(db, admin, main["id"], "  Sổ đến   chung ")
    assert renamed["name"] == "Sổ đến chung"
    assert {k: renamed[k] for k in ("direction", "scope", "year", "next_number")} == {
        "direction": "incoming", "scope": "all", "year": year, "next_number": 1}
    assert ops.update_register(db, admin, main["id"], "Sổ đến chung") == renamed  # again: nothing changes

    with pytest.raises(Conflict) as taken:  # the clerk picks registers by name: not twice in the same kind and year
        ops.update_register(db, admin, own["id"], "sổ đến CHUNG")
    assert taken.value.code == "register_name_taken" and "hãy đặt tên khác" in taken.value.message_vi
    with pytest.raises(Conflict):
        ops.create_register(db, admin, "incoming", year, scope="KH", name="Sổ đến chung")
    assert ops.update_register(db, admin, outgoing["id"], "Sổ đến chung")["name"] == "Sổ đến chung"  # another kind
    with pytest.raises(ValidationFailed):
        ops.update_register(db, admin, main["id"], " ")
    with pytest.raises(ValidationFailed):
        ops.update_register(db, admin, main["id"], "x" * 201)

    ops.close_register(db, admin, own["id"])
    with pytest.raises(Conflict) as closed:
        ops.update_register(db, admin, own["id"], "Sổ thông báo")
    assert closed.value.code == "register_closed" and "không sửa được sổ đã khóa" in closed.value.message_vi
    assert listed(db, admin, own["id"])["name"] == own["name"]


def test_roles_and_agencies_for_editing_and_reopening(sqlite_db, admin, clerk, request, tmp_path):
    register = ops.create_register(sqlite_db, admin, "incoming", numbering_year())
    ops.close_register(sqlite_db, admin, register["id"])
    specialist = person("anhnv.vp", "specialist")
    for who in (clerk, specialist):
        with pytest.raises(Forbidden):
            ops.reopen_register(sqlite_db, who, register["id"], "Khóa nhầm")
        with pytest.raises(Forbidden):
            ops.update_register(sqlite_db, who, register["id"], "Tên khác")

    # Another agency's administrator, in their own agency's data: no such register, as for closing
    other_db = make_registry_db("sqlite", tmp_path / "other", request, agency=OTHER)
    try:
        other_admin = person("quantri.dn", "admin", agency=OTHER)
        with pytest.raises(NotFound):
            ops.reopen_register(other_db, other_admin, register["id"], "Khóa nhầm")
        with pytest.raises(NotFound):
            ops.update_register(other_db, other_admin, register["id"], "Tên khác")
    finally:
        other_db.dispose()
    assert listed(sqlite_db, admin, register["id"])["closed"]

    # where the agency lets clerks open registers, they reopen and rename too
    rules.set_rules(sqlite_db, admin, {"register_openers": "admin_and_clerk"})
    reopened = ops.reopen_register(sqlite_db, clerk, register["id"], "Khóa nhầm")
    assert not reopened["closed"] and reopened["reopenings"][0]["reopened_by"] == clerk.user_id
    assert ops.update_register(sqlite_db, clerk, register["id"], "Sổ đến của văn thư")["name"] == "Sổ đến của văn thư"


def test_opening_is_once_per_request_and_a_second_request_is_told_the_register_exists(db, admin):
    """RabbitMQ delivers the registry's call at least once and a client retries after a timeout: the same request
    (the form's key, the API caller's) answers the register it opened; only another request hears 409."""
    year = numbering_year() + 3
    first = ops.create_register(db, admin, "copies", year, request_key="form:k1")
    again = ops.create_register(db, admin, "copies", year, request_key="form:k1")
    assert again["id"] == first["id"] and again["name"] == first["name"]
    for other in ("form:k2", None):
        with pytest.raises(Conflict) as refused:
            ops.create_register(db, admin, "copies", year, request_key=other)
        assert refused.value.code == "register_exists"
    assert [r["id"] for r in ops.list_registers(db, admin, year, "copies")] == [first["id"]]
    # the same form sent back for the next year (the browser's Back): another opening
    following = ops.create_register(db, admin, "copies", year + 1, request_key="form:k1")
    assert following["year"] == year + 1 and following["id"] != first["id"]


def test_one_request_delivered_twice_at_once_opens_one_register(db, admin):
    year, answers, errors = numbering_year() + 4, [], []

    def deliver() -> None:
        try:
            answers.append(ops.create_register(db, admin, "incoming", year, request_key="api:twice"))
        except Exception as exc:  # the test reports whatever a delivery raised
            errors.append(exc)

    deliveries = [threading.Thread(target=deliver) for _ in range(2)]
    for t in deliveries:
        t.start()
    for t in deliveries:
        t.join()
    assert errors == [] and len({a["id"] for a in answers}) == 1 and len(answers) == 2
    assert [r["id"] for r in ops.list_registers(db, admin, year, "incoming")] == [answers[0]["id"]]
