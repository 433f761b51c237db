"""`directory sync` of a VDXP-sized agency list (111,000 agencies, STANDARDS §1.8) against the plain INSERT of the
same rows into the same kind of table, in the same run.

    .venv/bin/python -m bench.directory_sync [--count 111000] [--database-url postgresql://...]

Prints, for the first sync (everything new), a second sync with changes and a third that changes nothing: seconds,
agencies per second and the process's peak resident memory; then the baseline's seconds and the ratio (sync time
over baseline time). The issue's goals: under 60 s and under 300 MB for the first sync.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, String, Table, insert

from services.common import clock
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect.directory import Directory
from services.interconnect.directory_sync import apply
from services.interconnect.models import DirectoryBase


def generated(count: int) -> list[dict]:
    items: list[dict] = []
    for body in range(1, 100):
        top = f"000.00.00.H{body:02d}"
        items.append({"code": top, "name": f"Ủy ban nhân dân tỉnh số {body}"})
        for dept in range(1, 100):
            code = f"000.00.{dept:02d}.H{body:02d}"
            items.append({"code": code, "name": f"Sở số {dept} tỉnh {body}", "pid": top})
            for unit in range(1, 100):
                if len(items) >= count:
                    return items
                items.append({"code": f"000.{unit:02d}.{dept:02d}.H{body:02d}", "pid": code,
                              "name": f"Phòng {unit} sở {dept} tỉnh {body}"})
    return items


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(settings: CommonSettings, items: list[dict]) -> float:
    """The same rows, prepared once, inserted with one executemany into a table of the same columns."""
    metadata = MetaData()
    table = Table("plain_agency", metadata, Column("organ_id", String(64), primary_key=True),
                  Column("name", String(300)), Column("name_key", String(300)), Column("parent", String(64)),
                  Column("level", Integer), Column("hub", String(32)), Column("valid_from", Date),
                  Column("updated_at", DateTime(timezone=True)))
    database = Database("directory", "bench.baseline", metadata, settings)
    metadata.create_all(database.engine)
    rows = [{"organ_id": i["code"], "name": i["name"], "name_key": i["name"].lower(), "parent": i.get("pid"),
             "level": 2, "hub": "national", "valid_from": None, "updated_at": clock.now_utc()} for i in items]
    started = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(insert(table), rows)
    database.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=111_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = CommonSettings(data_dir=Path(scratch), database_url=args.database_url)
        directory = Directory(Database("directory", "bench.sync", DirectoryBase.metadata, settings))
        items = generated(args.count)
        renamed = [dict(i, name=i["name"] + " (mới)") if n % 1000 == 0 else i for n, i in enumerate(items)]
        second = renamed[:-500]   # 111 renamed, 500 gone
        runs = []
        for label, listing in (("first", items), ("second", second), ("third", second)):
            started = time.perf_counter()
            planned = apply(directory, lambda listing=listing: listing)
            seconds = time.perf_counter() - started
            runs.append(seconds)
            print(f"{label} sync of {len(listing)} agencies: {seconds:.2f} s ({len(listing) / seconds:,.0f}/s), "
                  f"changes {planned.counts()}, peak resident {peak_mb():.0f} MB")
        directory.database.dispose()
        plain = baseline(settings, items)
        print(f"baseline: plain INSERT of the same {len(items)} rows: {plain:.2f} s")
        print(f"ratio first sync / baseline: {runs[0] / plain:.2f}×")


if __name__ == "__main__":
    main()
