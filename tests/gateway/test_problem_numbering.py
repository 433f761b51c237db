"""Problem-report numbers (Số: N/BBGNL-QLVBĐH, from 1 each year per agency) stay distinct and gap-free when many
reports are filed at the same moment, on the real PostgreSQL (and on SQLite, the embedded default)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from gateway import problems
from gateway.problem_models import ProblemBase, ProblemReport
from services.common.db import Database
from services.common.settings import CommonSettings

REPORTS = 7    # per agency: 14 threads fit SQLAlchemy's default pool (5 + 10 overflow), so none waits for a connection
AGENCIES = ("000.00.00.H60", "000.00.00.H17")


def report(agency: str, n: int) -> ProblemReport:
    now = datetime.now(UTC)
    return ProblemReport(agency_id=agency, year=2026, reporter_id=f"u-{n}", reporter_name=f"Người báo lỗi {n}",
                         role="clerk", occurred_at=now, function="incoming",
                         description=f"Không vào sổ được văn bản đến (lần {n})", created_at=now)


def file_at_once(db: Database) -> dict[str, list[int]]:
    """REPORTS reports per agency from as many threads, released together; the numbers each agency got."""
    jobs = [(agency, n) for n in range(REPORTS) for agency in AGENCIES]
    start = threading.Barrier(len(jobs))

    def one(job: tuple[str, int]) -> tuple[str, int]:
        start.wait(timeout=60)
        return job[0], problems.add_numbered(db, report(*job))[1]

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(one, jobs))
    return {agency: sorted(number for a, number in results if a == agency) for agency in AGENCIES}


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    db = Database("gateway", "gateway", ProblemBase.metadata, CommonSettings(database_url=url, data_dir=tmp_path))
    db.create_all()
    try:
        yield db
    finally:
        db.dispose()


def test_concurrent_reports_get_distinct_numbers_one_to_n(database):
    numbers = file_at_once(database)
    for agency in AGENCIES:
        assert numbers[agency] == list(range(1, REPORTS + 1)), agency
    # and the next one follows on
    assert problems.add_numbered(database, report(AGENCIES[0], 99))[1] == REPORTS + 1
