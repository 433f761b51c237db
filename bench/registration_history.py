"""A paper registration's CPU as the agency's register grows: the registry's rules in-process over years of documents.

    .venv/bin/python -m bench.registration_history [--sizes 0,5000,20000] [--each 50] [--spread-days 300]

The registry on a fresh PostgreSQL database of the test stack, in-process: `register_paper_incoming` (with its
checks: the request key, the electronic twin, duplicates, the number under its lock, the record read back) of
documents from one busy issuer (notation UBND-VX), after `size` earlier incoming documents of that issuer were
inserted, half of them arrived over the interconnect, their dates spread over `--spread-days` days (1: all on the same
day). `--undated`: the new documents without an issued date (optional on a paper form). Baseline of the same run: one
INSERT of a document row in its own transaction; printed as a ratio. A
registration's cost must not grow with the register.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from datetime import date, timedelta

from bench.platform import fresh_database
from bench.rpc_client import stack_env
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.settings import CommonSettings
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Base, Document
from services.registry.numbering import numbering_year

AGENCY = "000.00.00.H60"
ADMIN = Actor("bench-admin", "admin", AGENCY, frozenset({Role.ADMIN}))
CLERK = Actor("bench-clerk", "hoalt.vp", AGENCY, frozenset({Role.CLERK}))
TODAY = date(2026, 12, 1)


def earlier(db: Database, start: int, stop: int, spread: int) -> None:
    with db.session() as s:
        for i in range(start, stop):
            s.add(Document(agency_id=AGENCY, direction=Direction.INCOMING, state="registered",
                           source_channel="interconnect" if i % 2 else "paper", code_number=str(100000 + i),
                           code_notation="UBND-VX", organ_name="UBND huyện Yên Sơn", subject=f"Văn bản {i}",
                           issued_date=TODAY - timedelta(days=i % spread), dedupe_key=f"earlier-{i}",
                           document_id=f"000.00.00.H61,{TODAY - timedelta(days=i % spread)},{100000 + i}/UBND-VX"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,5000,20000")
    parser.add_argument("--each", type=int, default=50)
    parser.add_argument("--spread-days", type=int, default=300)
    parser.add_argument("--undated", action="store_true", help="registered without an issued date (it is optional)")
    args = parser.parse_args()
    with fresh_database(stack_env(), True) as url:
        db = Database("registry", AGENCY, Base.metadata, CommonSettings(database_url=url, agency_id=AGENCY))
        db.create_all()
        ops.set_agency_profile(db, ADMIN, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
        for direction in (Direction.INCOMING, Direction.OUTGOING):
            ops.create_register(db, ADMIN, direction, numbering_year())
        made = registered = 0

        def register() -> None:
            nonlocal registered
            registered += 1
            ops.register_paper_incoming(db, CLERK, {
                "code_number": str(registered), "code_notation": "UBND-VX", "subject": f"Về việc số {registered}",
                "organ_name": "UBND huyện Yên Sơn", "request_key": f"bench-{registered}",
                **({} if args.undated else {"issued_date": TODAY.isoformat()})},
                [hashlib.sha256(str(registered).encode()).hexdigest()], detailed=True)

        def insert() -> None:
            with db.session() as s:
                s.add(Document(agency_id=AGENCY, direction=Direction.INCOMING, state="registered",
                               subject="baseline", code_notation="UBND-VX"))

        print(f"{'earlier':>8} {'registration ms':>15} {'INSERT ms':>9} {'ratio':>6}")
        for size in [int(x) for x in args.sizes.split(",")]:
            earlier(db, made, size, max(1, args.spread_days))
            made = max(made, size)
            start = time.thread_time()
            for _ in range(args.each):
                register()
            reg = (time.thread_time() - start) * 1000 / args.each
            start = time.thread_time()
            for _ in range(args.each):
                insert()
            base = (time.thread_time() - start) * 1000 / args.each
            print(f"{size:>8} {reg:>15.1f} {base:>9.2f} {reg / base:>6.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
