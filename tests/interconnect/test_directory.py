"""The agency directory on SQLite and on PostgreSQL, loaded with the demo's directory (infra/demo/agencies.json)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.settings import REPO_ROOT, CommonSettings
from services.interconnect import identifiers
from services.interconnect.directory import AgencyRecord, Directory, fold, read_file
from services.interconnect.models import DirectoryBase

DEMO_FILE = REPO_ROOT / "infra" / "demo" / "agencies.json"
BEFORE_MERGER = date(2025, 6, 1)
AFTER_MERGER = date(2026, 1, 5)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        settings = CommonSettings(data_dir=tmp_path)
    else:
        settings = CommonSettings(database_url=request.getfixturevalue("pg_url"), data_dir=tmp_path)
    db = Database("directory", "hub.national", DirectoryBase.metadata, settings)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def directory(database) -> Directory:
    directory = Directory(database)
    assert directory.import_file(DEMO_FILE) == len(read_file(DEMO_FILE))
    return directory


def test_demo_directory_has_the_four_demo_agencies_and_their_hubs(directory):
    assert directory.count() >= 34
    expected = {"000.00.00.H60": ("Ủy ban nhân dân tỉnh Tuyên Quang", "H60"),
                "000.00.09.H60": ("Sở Nội vụ tỉnh Tuyên Quang", "H60"),
                "000.00.00.H17": ("Ủy ban nhân dân thành phố Đà Nẵng", "H17"),
                "000.00.00.G22": ("Văn phòng Chính phủ", "national")}
    for organ_id, (name, hub) in expected.items():
        record = directory.get(organ_id)
        assert (record.name, record.hub) == (name, hub)
        assert directory.serving_hub(organ_id) == hub
    assert directory.get("000.00.09.H60") == AgencyRecord(
        organ_id="000.00.09.H60", name="Sở Nội vụ tỉnh Tuyên Quang", parent="000.00.00.H60", level=2, hub="H60",
        valid_from=None, valid_to=None, successor=None, locked=False)
    assert {record.organ_id for record in directory.served_by("H17")} >= {"000.00.00.H17", "000.00.09.H17"}


def test_lookup_by_name_ignores_diacritics_case_and_both_uy_spellings(directory):
    found = directory.search("uy ban nhan dan tinh tuyen quang")
    assert found[0].organ_id == "000.00.00.H60"
    assert directory.search("ỦY BAN NHÂN DÂN TỈNH CAO BẰNG")[0].organ_id == "000.00.00.H14"   # stored as “Uỷ”
    assert directory.search("Uỷ ban nhân dân tỉnh Tuyên Quang")[0].organ_id == "000.00.00.H60"
    assert directory.search("da nang")[0].organ_id == "000.00.00.H17"                      # đ/Đ -> d
    assert directory.search("UBND Đà Nẵng")[0].organ_id == "000.00.00.H17"
    assert {r.organ_id for r in directory.search("so noi vu")} >= {"000.00.09.H60", "000.00.09.H17"}
    assert directory.search("không có cơ quan này") == []


def test_lookup_by_code_prefix_and_by_level1_code(directory):
    assert [r.organ_id for r in directory.search("000.00.09.H6")] == ["000.00.09.H60"]
    h60 = directory.search("H60", limit=100)
    assert h60[0].organ_id == "000.00.00.H60" and "H60.101" in {r.organ_id for r in h60}
    assert all(r.organ_id.endswith("H60") or r.organ_id.startswith("H60") for r in h60)
    assert len(directory.search("H60", limit=3)) == 3
    assert directory.search("000.00.00.g22")[0].name == "Văn phòng Chính phủ"


def test_words_of_the_name_and_of_the_code_together(directory):
    """As the recipients' picker is typed: a name without its marks narrowed by part of the code."""
    assert [r.organ_id for r in directory.search("uy ban tuyen quang 000.00.00")] == ["000.00.00.H60"]
    assert [r.organ_id for r in directory.search("so noi vu .H17")] == ["000.00.09.H17"]
    assert directory.search("so noi vu 999.99") == []
    assert directory.search("sở nội vụ , ")[0].name.startswith("Sở Nội vụ")   # punctuation alone is no word


def test_merged_province_resolves_to_its_successor_after_the_merger(directory):
    before = directory.resolve("000.00.00.H22", on=BEFORE_MERGER)
    assert before.organ_id == "000.00.00.H22"
    after = directory.resolve("000.00.00.H22", on=AFTER_MERGER)
    assert after.organ_id == "000.00.00.H60"
    assert directory.serving_hub("000.00.09.H22", on=AFTER_MERGER) == "H60"
    assert directory.serving_hub("000.00.00.H47", on=AFTER_MERGER) == "H17"
    ok, reason = directory.is_deliverable("000.00.00.H47", on=AFTER_MERGER)
    assert ok and "000.00.00.H17" in reason


def test_the_recipient_list_has_no_province_merged_in_2025(directory):
    # issue 18 item 9: Hà Giang (H22) and Quảng Nam (H47) are former agencies after 1 July 2025; the list offers
    # their successors, while a package still addressed to the old id is delivered to the successor.
    after = {r.organ_id for r in directory.deliverable(on=AFTER_MERGER)}
    assert {"000.00.00.H60", "000.00.00.H17"} <= after
    assert not after & {"000.00.00.H22", "000.00.09.H22", "000.00.00.H47", "000.00.31.H60"}
    before = {r.organ_id for r in directory.deliverable(on=BEFORE_MERGER)}
    assert {"000.00.00.H22", "000.00.00.H47"} <= before and "H60.101" not in before
    assert directory.is_deliverable("000.00.00.H22", on=AFTER_MERGER)[0]


def test_unknown_locked_and_dissolved_agencies_are_not_deliverable(directory):
    assert directory.is_deliverable("000.00.00.H60", on=AFTER_MERGER) == (True, "")
    ok, reason = directory.is_deliverable("000.00.99.H60", on=AFTER_MERGER)
    assert not ok and "không có trong danh bạ" in reason
    ok, reason = directory.is_deliverable("000.00.12.H60", on=AFTER_MERGER)
    assert not ok and "đang bị khóa" in reason
    ok, reason = directory.is_deliverable("000.00.31.H60", on=AFTER_MERGER)     # district abolished in 2025
    assert not ok and "ngừng hoạt động từ ngày 30/06/2025" in reason
    assert directory.is_deliverable("000.00.31.H60", on=BEFORE_MERGER) == (True, "")
    ok, reason = directory.is_deliverable("H60.101", on=BEFORE_MERGER)           # the new ward did not exist yet
    assert not ok and "01/07/2025" in reason
    assert directory.serving_hub("000.00.99.H60") is None
    assert directory.resolve("000.00.99.H60") is None


def test_import_is_an_upsert_from_csv_with_derived_fields(directory, tmp_path):
    csv_file = tmp_path / "bo-sung.csv"
    csv_file.write_text(
        "organ_id,name,parent,level,hub,valid_from,valid_to,successor,locked\n"
        "000.00.09.H60,Sở Nội vụ tỉnh Tuyên Quang (đổi tên),,,H60,,,,x\n"
        "000.01.09.H60,Phòng Tổ chức biên chế,,,,,,,\n"
        "000.00.00.H99,Đơn vị thử nghiệm,,,,2026-01-01,,,\n",
        encoding="utf-8-sig")
    count_before = directory.count()
    assert directory.import_file(csv_file) == 3
    assert directory.count() == count_before + 2
    renamed = directory.get("000.00.09.H60")
    assert renamed.name.endswith("(đổi tên)") and renamed.locked
    child = directory.get("000.01.09.H60")
    assert (child.parent, child.level, child.hub) == ("000.00.09.H60", 3, "H60")   # hub inherited from parent
    assert directory.get("000.00.00.H99").hub == "national"
    assert directory.search("phong to chuc bien che")[0].organ_id == "000.01.09.H60"


def test_import_refuses_invalid_rows_without_writing_any(directory):
    count = directory.count()
    with pytest.raises(ValidationFailed) as caught:
        directory.import_records([{"organ_id": "000.00.50.H60", "name": "Hợp lệ"},
                                  {"organ_id": "28.22.H17", "name": "Mã sai"}])
    assert "Dòng 2" in caught.value.message_vi and "28.22.H17" in caught.value.message_vi
    with pytest.raises(ValidationFailed):
        directory.import_records([{"organ_id": "000.00.51.H60", "name": "Ngày sai", "valid_to": "30/06/2025"}])
    assert directory.count() == count


def test_fold():
    assert fold("Ủy ban nhân dân tỉnh Tuyên Quang") == fold("Uỷ ban nhân dân tỉnh Tuyên Quang") == \
        "uy ban nhan dan tinh tuyen quang"
    assert fold("ĐÀ NẴNG") == "da nang"
    assert fold("UBND TP. Đà Nẵng") == "uy ban nhan dan thanh pho da nang"


@pytest.mark.parametrize(("organ_id", "kind", "level", "level1", "parent"), [
    ("000.00.00.H60", "legacy", 1, "H60", None),
    ("000.00.09.H60", "legacy", 2, "H60", "000.00.00.H60"),
    ("000.21.31.H53", "legacy", 3, "H53", "000.00.31.H53"),
    ("001.21.31.H53", "legacy", 4, "H53", "000.21.31.H53"),
    ("000.00.18.G12", "legacy", 2, "G12", "000.00.00.G12"),
    ("H01.151.01", "new", 3, "H01", "H01.151"),
    ("G09.20", "new", 2, "G09", "G09"),
    ("H37.DN.001", "new", 3, "H37", "H37.DN"),
    ("G22", "new", 1, "G22", None),
])
def test_identifiers(organ_id, kind, level, level1, parent):
    assert identifiers.kind(organ_id) == kind
    assert identifiers.level(organ_id) == level
    assert identifiers.level1_code(organ_id) == level1
    assert identifiers.parent(organ_id) == parent


@pytest.mark.parametrize("bad", ["28.22.H17", "00.22.W00", "999.010.01.H22", "000.00.00.60", "h", "",
                                 "H01." + ".".join(["1234"] * 9)])
def test_invalid_identifiers(bad):
    assert not identifiers.is_valid(bad)
    with pytest.raises(identifiers.InvalidOrganId) as caught:
        identifiers.validate(bad)
    assert "không đúng định dạng" in caught.value.message_vi


def test_identifier_normalisation():
    assert identifiers.validate(" 000.00.09.h60 ") == "000.00.09.H60"
    assert identifiers.level1_id("000.21.31.H53") == "000.00.00.H53"
    assert identifiers.level1_id("H01.151.01") == "H01"


def test_answers_over_records_read_at_once_are_those_of_one_query_per_agency(directory):
    """`lookup` (a recipient group's members read in one query) answers resolve, is_deliverable and current_id as
    the per-agency queries do: a replaced agency whose successor was not asked for, a locked one, an unknown one."""
    asked = ["000.00.00.H47", "000.00.12.H60", "000.00.99.H60", "000.00.00.H60"]
    lookup = directory.lookup(asked)
    for organ_id in asked:
        for on in (BEFORE_MERGER, AFTER_MERGER):
            assert directory.is_deliverable(organ_id, on, lookup) == directory.is_deliverable(organ_id, on)
            assert directory.current_id(organ_id, on, lookup) == directory.current_id(organ_id, on)
    assert lookup("000.00.99.H60") is None
    assert directory.current_id("000.00.00.H47", AFTER_MERGER, lookup) == "000.00.00.H17"
