"""The audit chain's cost per writing transaction on PostgreSQL: one function call against the three statements it was.

    .venv/bin/python -m bench.audit_chain [--transactions 500] [--rounds 3] [--rows 1]

On a fresh PostgreSQL database of the test stack, one transaction after another, each inserting `--rows` business
rows (a letter) and committing, three ways alternated round by round:

- `no chain`: the INSERT alone (the baseline);
- `chain, 3 statements`: the services' chain (`Database(..., audit=True)`: the commit hook collects the rows) with
  the append as it was until December 2026, reproduced here: LOCK TABLE, the last row, the INSERT hashed in Python;
- `chain, one call`: the same, with today's append: one call of `audit_log_append_v1`.

Printed per transaction: wall ms, this process's CPU ms, the PostgreSQL backend's CPU ms (read from /proc: the stack
runs on this machine), and the ratio of each to the baseline of the same run. The chains are verified at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from bench.platform import cpu_seconds, fresh_database
from bench.rpc_client import stack_env
from services.common import audit, audit_verify
from services.common.db import Database, table_sql
from services.common.settings import CommonSettings

AGENCY = "000.00.00.H60"
metadata = MetaData()
letters = Table("letters", metadata, Column("id", Integer, primary_key=True), Column("subject", String(200)))
audit.make_audit_table(metadata)


def three_statements(connection, rows: list[dict[str, str]], table=None) -> int:
    """The append as it was: lock, last row, one INSERT of the transaction's rows hashed in Python."""
    t = table if table is not None else audit.generic_log
    connection.execute(text(f"LOCK TABLE {table_sql(connection, t)} IN SHARE ROW EXCLUSIVE MODE"))
    last = connection.execute(select(t.c.seq, t.c.row_hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.row_hash) if last else (0, audit.GENESIS)
    chained = []
    for row in rows:
        seq += 1
        digest = audit.row_hash(prev, seq=seq, **row)
        chained.append({**row, "seq": seq, "prev_hash": prev, "row_hash": digest})
        prev = digest
    connection.execute(t.insert(), chained)
    return seq


def backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


class Way:
    def __init__(self, name: str, db: Database, write: Callable[[Database, int], None],
                 append: Callable | None = None) -> None:
        self.name, self.db, self.write, self.append = name, db, write, append
        self.pid = backend_pid(db)             # a pool of one connection: every transaction on this backend
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.pg: list[float] = []

    def round(self, first_id: int, count: int) -> None:
        current = audit.append
        audit.append = self.append or current        # what the services' commit hook calls
        wall, cpu, pg = time.perf_counter(), time.process_time(), cpu_seconds(self.pid)
        try:
            for i in range(first_id, first_id + count):
                self.write(self.db, i)
        finally:
            audit.append = current
        self.wall.append((time.perf_counter() - wall) * 1000 / count)
        self.cpu.append((time.process_time() - cpu) * 1000 / count)
        self.pg.append((cpu_seconds(self.pid) - pg) * 1000 / count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=500, help="per way and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1, help="business rows per transaction")
    args = parser.parse_args()
    rows = args.rows

    def write(db: Database, i: int) -> None:
        with db.session() as s:
            s.execute(letters.insert(), [{"id": i * rows + k, "subject": f"Công văn số {i}"} for k in range(rows)])

    with fresh_database(stack_env(), True) as url:
        ways = []
        for name, service, audited, append in (("no chain", "plain", False, None),
                                               ("chain, 3 statements", "old", True, three_statements),
                                               ("chain, one call", "new", True, None)):
            db = Database(service, AGENCY, metadata, CommonSettings(database_url=url, agency_id=AGENCY), audited)
            db.create_all()
            ways.append(Way(name, db, write, append))
        for r in range(args.rounds):
            for way in ways:
                way.round(1 + r * args.transactions, args.transactions)
        print(f"The audit chain on PostgreSQL, {args.transactions} transactions x {args.rounds} rounds per way, "
              f"{rows} business row(s) each; medians of the rounds, ms per transaction")
        print(f"{'':22}{'wall':>8}{'ratio':>8}{'CPU here':>10}{'ratio':>8}{'PostgreSQL':>12}{'ratio':>8}")
        base = ways[0]
        for way in ways:
            cells = []
            for mine, theirs in ((way.wall, base.wall), (way.cpu, base.cpu), (way.pg, base.pg)):
                m, b = statistics.median(mine), statistics.median(theirs)
                cells.append((m, m / b if b else float("nan")))
            print(f"{way.name:22}{cells[0][0]:8.2f}{cells[0][1]:8.2f}{cells[1][0]:10.2f}{cells[1][1]:8.2f}"
                  f"{cells[2][0]:12.2f}{cells[2][1]:8.2f}")
        for way in ways[1:]:
            report = audit_verify.verify(way.db)
            print(f"{way.name}: chain of {report.rows} rows {'verified' if report.ok else 'BROKEN'}")
        load = Path("/proc/loadavg").read_text().split()[0]
        print(json.dumps({"load_average": float(load)}))
        for way in ways:
            way.db.dispose()


if __name__ == "__main__":
    main()
