"""Issued numbers per second with 8 concurrent clerks on PostgreSQL, against plain INSERTs of the same rows.

    .venv/bin/python -m bench.numbering [--each 250]

Each clerk (a thread with its own connection) repeats: one transaction that locks the register row
(SELECT ... FOR UPDATE), takes the next number and inserts the document row with it. The baseline inserts the
same document rows with numbers computed in Python, no lock, one transaction each, with the same 8 threads and
the same database, in the same run. The ratio is the price of gap-free, unique numbering.
"""

from __future__ import annotations

import argparse
import secrets
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.settings import CommonSettings
from services.registry import numbering
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Base, Document

STACK_ENV = Path("/tmp/congvan-test-stack/env")
CLERKS = 8
AGENCY = "000.00.00.B01"


def _env() -> dict[str, str]:
    return dict(line.split("=", 1) for line in STACK_ENV.read_text().splitlines() if "=" in line)


def _threads(work) -> float:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLERKS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--each", type=int, default=250, help="documents per clerk")
    args = parser.parse_args()
    admin_url = _env()["TEST_DATABASE_URL"]
    name = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    db = Database("registry", AGENCY, Base.metadata,
                  CommonSettings(agency_id=AGENCY, database_url=url))
    try:
        db.create_all()
        actor = Actor("bench", "bench", AGENCY, frozenset({Role.ADMIN}))
        year = numbering.numbering_year()
        numbered = ops.create_register(db, actor, Direction.OUTGOING, year)["id"]
        plain = ops.create_register(db, actor, Direction.INCOMING, year)["id"]

        def issue(i: int) -> None:
            for k in range(args.each):
                with db.session() as s:
                    n = numbering.allocate(s, numbered, AGENCY, Direction.OUTGOING)
                    s.add(Document(agency_id=AGENCY, direction=Direction.OUTGOING, state="issued",
                                   register_id=numbered, number=n, subject=f"clerk {i} doc {k}"))

        def insert(i: int) -> None:
            for k in range(args.each):
                with db.session() as s:
                    s.add(Document(agency_id=AGENCY, direction=Direction.OUTGOING, state="issued",
                                   register_id=plain, number=i * args.each + k + 1, subject=f"clerk {i} doc {k}"))

        total = CLERKS * args.each
        t_insert = _threads(insert)
        t_issue = _threads(issue)
        with db.session() as s:
            got = sorted(s.execute(sa.select(Document.number).where(Document.register_id == numbered)).scalars())
        assert got == list(range(1, total + 1)), "numbers are not gap-free"
        issued_rate, insert_rate = total / t_issue, total / t_insert
        print(f"{CLERKS} clerks x {args.each} documents on PostgreSQL")
        print(f"numbered (SELECT ... FOR UPDATE + INSERT): {issued_rate:8.0f} numbers/s")
        print(f"plain INSERT of the same rows:             {insert_rate:8.0f} rows/s")
        print(f"ratio numbered / plain:                    {issued_rate / insert_rate:8.2f}")
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
