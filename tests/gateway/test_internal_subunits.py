"""Internal recipients sent "together with their subordinate units" (gateway/issuing.py internal_recipients), on the
gateway's own store of units: a Chi cục with two levels under it, one of its phòng no longer active. The chosen unit
is followed by the active units of its subtree, each recorded as an internal recipient of its own and named with the
unit it sits in; without the choice only the chosen unit, a retired one refused; another agency's unit is refused
with the same Vietnamese error as an unknown code. Delivery to each unit is routing's, tested in
tests/gateway/test_unit_documents_api.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.issuing import internal_recipients
from gateway.models import Unit
from services.common.errors import ValidationFailed

H60, H17 = "000.00.00.H60", "000.00.00.H17"


@pytest.fixture
def accounts(gateway_app):
    accounts = gateway_app.state.gateway.accounts
    accounts.save_unit(H60, "ccvt", "Chi cục Văn thư", parent_code=None)
    accounts.save_unit(H60, "pnv", "Phòng Nghiệp vụ", parent_code="ccvt")
    accounts.save_unit(H60, "tlt", "Tổ Lưu trữ", parent_code="pnv")        # two levels below the Chi cục
    accounts.save_unit(H60, "pcu", "Phòng Hành chính cũ", parent_code="ccvt")
    accounts.save_unit(H60, "tsh", "Tổ Số hóa", parent_code="pcu")          # active, under the inactive phòng
    accounts.save_unit(H60, "kh", "Phòng Kế hoạch", parent_code=None)       # beside the Chi cục, not under it
    accounts.save_unit(H17, "thdn", "Phòng Tổng hợp", parent_code=None)     # another agency's
    with accounts.db.session() as s:
        s.scalars(select(Unit).where(Unit.agency_id == H60, Unit.code == "pcu")).one().active = False
    return accounts


def reached(accounts, chosen: list[str], with_subunits: bool) -> list[tuple[str, str, str]]:
    return [(r["organ_id"], r["organ_name"], r["channel"])
            for r in internal_recipients(accounts.list_units(H60), chosen, with_subunits)]


def test_a_unit_with_its_subunits_reaches_every_active_level_below_it(accounts):
    # in the tree's order (each unit followed by those under it, siblings by code, as on the units' screen)
    assert reached(accounts, ["ccvt"], True) == [
        ("unit:ccvt", "Chi cục Văn thư", "internal"),
        # the inactive Phòng Hành chính cũ (pcu) receives nothing; the active tổ under it is still in the subtree
        ("unit:tsh", "Tổ Số hóa (thuộc Phòng Hành chính cũ)", "internal"),
        ("unit:pnv", "Phòng Nghiệp vụ (thuộc Chi cục Văn thư)", "internal"),
        ("unit:tlt", "Tổ Lưu trữ (thuộc Phòng Nghiệp vụ)", "internal")]
    # a unit of the middle level takes only its own subtree
    assert [r[0] for r in reached(accounts, ["pnv"], True)] == ["unit:pnv", "unit:tlt"]


def test_without_the_choice_only_the_chosen_units_and_each_unit_once(accounts):
    assert reached(accounts, ["ccvt", "kh"], False) == [("unit:ccvt", "Chi cục Văn thư", "internal"),
                                                       ("unit:kh", "Phòng Kế hoạch", "internal")]
    # chosen by hand and reached again under a chosen unit: listed once, where first reached
    assert [r[0] for r in reached(accounts, ["tlt", "ccvt", "kh"], True)] == [
        "unit:tlt", "unit:ccvt", "unit:tsh", "unit:pnv", "unit:kh"]
    # a retired unit (ngừng hoạt động) chosen anyway is refused: it keeps its name in history, receives nothing new
    with pytest.raises(ValidationFailed) as retired:
        reached(accounts, ["kh", "pcu"], False)
    assert retired.value.code == "unit_retired" and retired.value.details.get("field") == "internal_units"
    assert retired.value.message_vi == "Đơn vị Phòng Hành chính cũ (mã pcu) đã ngừng hoạt động; chọn đơn vị khác."


@pytest.mark.parametrize("code", ["thdn", "khongco"])
def test_another_agencys_unit_or_an_unknown_code_is_refused(accounts, code):
    with pytest.raises(ValidationFailed) as refused:
        reached(accounts, ["ccvt", code], True)
    assert refused.value.message_vi == f"Không có đơn vị mã {code} trong cơ quan."
    assert refused.value.details.get("field") == "internal_units"
