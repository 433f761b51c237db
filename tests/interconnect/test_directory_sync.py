"""`congvan directory sync` (issue 17 item 4): the national axis's agency list into a directory, incrementally, with
history. The pure plan on small lists, then a generated list of 111,000 agencies (the size of the real VDXP
directory, STANDARDS §1.8) through the real command in its own process, a second sync with changes, and a third that
changes nothing. The same command against the national hub's real VDXP API is in test_vdxp_api.py."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect.directory import Directory
from services.interconnect.directory_sync import Known, plan
from services.interconnect.models import DirectoryAgency, DirectoryBase, DirectoryChange

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 4)
AT = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


def known(code: str, name: str, parent: str | None = None, *, axis: bool = True, valid_to: date | None = None,
          successor: str | None = None, hub: str = "H60") -> Known:
    return Known(code, name, parent, hub, valid_to, successor, axis)


def test_plan_adds_renames_moves_merges_ends_and_keeps_the_directory_s_own():
    current = {
        "000.00.00.H60": known("000.00.00.H60", "UBND tỉnh Tuyên Quang", None, axis=False),
        "000.00.09.H60": known("000.00.09.H60", "Sở Nội vụ", "000.00.00.H60"),
        "000.00.10.H60": known("000.00.10.H60", "Sở Tư pháp", "000.00.00.H60"),
        "000.00.11.H60": known("000.00.11.H60", "Sở Y tế", "000.00.00.H60"),
        "000.00.12.H60": known("000.00.12.H60", "Sở cũ", "000.00.00.H60"),
        "000.00.13.H60": known("000.00.13.H60", "Ban đã ngừng", "000.00.00.H60", valid_to=date(2026, 1, 1)),
        "H60.LOCAL": known("H60.LOCAL", "Đơn vị chỉ có ở tỉnh", "000.00.00.H60", axis=False),
    }
    items = [
        {"code": "000.00.00.H60", "name": "UBND tỉnh Tuyên Quang"},
        {"code": "000.00.09.H60", "name": "Sở Nội vụ tỉnh Tuyên Quang", "pid": "000.00.00.H60"},  # renamed
        {"code": "000.00.10.H60", "name": "Sở Tư pháp", "pid": "000.00.09.H60"},                   # moved
        {"code": "000.00.14.H60", "name": "Sở Y tế và Xã hội", "pid": "000.00.00.H60",
         "oldCode": "000.00.11.H60"},                                                             # merged into
        {"code": "000.00.13.H60", "name": "Ban đã ngừng", "pid": "000.00.00.H60"},                 # listed again
        {"code": "000.00.20.H61", "name": "Sở mới tỉnh khác", "pid": "000.00.00.H61"},             # parent unknown
        {"code": "khong-hop-le", "name": "Mã sai"},
        {"code": "000.00.21.H60", "name": ""},
        "không phải cơ quan",
    ]
    result = plan(current, items, TODAY, AT)
    assert result.counts() == {"added": 2, "renamed": 1, "moved": 1, "ended": 1, "reopened": 1, "merged": 1,
                               "skipped": 3}
    added = {row.organ_id: row for row in result.added}
    assert added["000.00.14.H60"].hub == "H60"             # its parent's hub in this directory
    assert added["000.00.20.H61"].hub == "national"        # nobody here knows its parent: the national hub
    assert added["000.00.14.H60"].parent == "000.00.00.H60"
    updates = {row["organ_id"]: row for row in result.updates}
    assert updates["000.00.11.H60"]["successor"] == "000.00.14.H60"
    assert updates["000.00.11.H60"]["valid_to"] == date(2026, 12, 3)
    assert updates["000.00.12.H60"]["valid_to"] == date(2026, 12, 3)   # no longer on the axis: ended yesterday
    assert updates["000.00.13.H60"]["valid_to"] is None                # on the axis again: reopened
    assert updates["000.00.00.H60"]["axis_seen_at"] == AT               # the axis lists it too from now on
    assert "H60.LOCAL" not in updates                                  # the directory's own: never ended by silence
    assert "hub" not in updates["000.00.09.H60"] and "installation" not in updates["000.00.09.H60"]
    assert plan(current, [], TODAY, AT).counts()["ended"] == 4         # ...and the axis's own, when silent, end


def test_a_merged_agency_keeps_its_successor_when_the_axis_still_lists_it():
    current = {"000.00.00.H60": known("000.00.00.H60", "UBND tỉnh Hà Giang", valid_to=date(2025, 6, 30),
                                      successor="000.00.00.H61")}
    result = plan(current, [{"code": "000.00.00.H60", "name": "UBND tỉnh Hà Giang"}], TODAY, AT)
    assert result.counts()["reopened"] == 0 and not any("valid_to" in u for u in result.updates)


def generated(count: int) -> list[dict]:
    """A directory the size of VDXP's: for each province-level body a People's Committee, its departments
    (level 2) and their units (level 3)."""
    items: list[dict] = []
    for body in range(1, 100):
        top = f"000.00.00.H{body:02d}"
        items.append({"code": top, "id": top, "name": f"Ủy ban nhân dân tỉnh số {body}"})
        for dept in range(1, 100):
            code = f"000.00.{dept:02d}.H{body:02d}"
            items.append({"code": code, "id": code, "name": f"Sở số {dept} tỉnh {body}", "pid": top})
            for unit in range(1, 100):
                if len(items) >= count:
                    return items
                sub = f"000.{unit:02d}.{dept:02d}.H{body:02d}"
                items.append({"code": sub, "id": sub, "name": f"Phòng {unit} sở {dept} tỉnh {body}",
                              "mail": f"p{unit}@h{body}.gov.vn", "pid": code})
    return items


def run_sync(data_dir: Path, listing: Path) -> tuple[dict, float]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", "from infra.cli import main; main()", "directory", "sync",
                          "--file", str(listing), "--data-dir", str(data_dir), "--json"],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout), time.monotonic() - started


def test_111000_agencies_then_the_changes_of_a_second_sync(tmp_path):
    data_dir, listing = tmp_path / "data", tmp_path / "getAgenciesList.json"
    directory = Directory(Database("directory", "hub.national", DirectoryBase.metadata,
                                   CommonSettings(data_dir=data_dir)))
    # The installation's own record of a province it hosts, with its hub and installation: the sync keeps both.
    directory.import_records([{"organ_id": "000.00.00.H01", "name": "Ủy ban nhân dân tỉnh số 1", "hub": "H01",
                               "installation": "000.00.00.H01"}])
    items = generated(111_000)
    listing.write_text(json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thành công", "data": items},
                                  ensure_ascii=False))
    first, seconds = run_sync(data_dir, listing)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"first sync of {len(items)} agencies: {seconds:.1f} s, peak resident memory {peak_mb:.0f} MB")
    assert first["counts"]["added"] == 110_999 and first["counts"]["skipped"] == 0
    assert directory.count() == 111_000
    province = directory.get("000.00.00.H01")
    assert (province.hub, province.installation) == ("H01", "000.00.00.H01")
    assert directory.get("000.05.07.H01").hub == "H01"    # inherited through its department from the province
    assert directory.get("000.05.07.H10").hub == "national"

    # A month later: 100 renamed, 50 gone, 20 new, 10 merged into new codes.
    by_code = {item["code"]: item for item in items}
    codes = [item["code"] for item in items if item["code"].startswith("000.0")]
    renamed, gone, merged = codes[1000:1100], codes[2000:2050], codes[3000:3010]
    for code in renamed:
        by_code[code] = {**by_code[code], "name": by_code[code]["name"] + " (tên mới)"}
    for code in gone + merged:
        del by_code[code]
    fresh = [{"code": f"H{body:02d}.9{n:02d}", "name": f"Đơn vị mới {n}", "pid": f"000.00.00.H{body:02d}"}
             for body, n in zip(range(1, 21), range(20), strict=True)]
    successors = [{"code": f"H{50 + n:02d}.8{n:02d}", "name": f"Đơn vị sau sáp nhập {n}", "oldCode": old}
                  for n, old in enumerate(merged)]
    listing.write_text(json.dumps({"data": [*by_code.values(), *fresh, *successors]}, ensure_ascii=False))
    second, seconds = run_sync(data_dir, listing)
    print(f"second sync: {seconds:.1f} s, {second['counts']}")
    assert second["counts"] == {"added": 30, "renamed": 100, "moved": 0, "ended": 50, "reopened": 0, "merged": 10,
                                "skipped": 0}
    assert directory.get(renamed[0]).name.endswith("(tên mới)")
    assert directory.get(gone[0]).valid_to is not None and directory.get(gone[0]).successor is None
    assert directory.current_id(merged[0]) == "H50.800"   # old addresses still resolve
    assert directory.count() == 111_030                    # nothing is deleted
    with directory.database.session() as session:
        history = session.scalar(select(func.count()).select_from(DirectoryChange))
        kept = session.scalar(select(func.count()).select_from(DirectoryAgency).where(
            DirectoryAgency.axis_seen_at.is_not(None)))
    assert history == 110_999 + 190 and kept == 111_030

    third, _ = run_sync(data_dir, listing)
    assert sum(third["counts"].values()) == 0               # the same list again changes nothing
    directory.database.dispose()
