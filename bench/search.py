"""Search latency and indexing rate on a generated corpus, SQLite FTS5 (embedded) and PostgreSQL full text.

    .venv/bin/python -m bench.search [--sizes 10000] [--engines sqlite,postgres] [--queries 200]
    .venv/bin/python -m bench.search --sizes 10000,1000000     # the 1M corpus: long, never part of the tests
    .venv/bin/python -m bench.search --sizes 1000000 --engines sqlite --keep /var/tmp/congvan-bench --load-only
        # build the corpus once (kept with its indexing rate), then query it again later without reloading

Each document gets metadata and ~150 words of text from a Vietnamese vocabulary; indexing goes through
search.index_new_batch (the same folding and tables as the service, 2,000 documents a transaction).
Queries: two folded words, a word + issuer + date range, a rare word, and a filter-only query (type + year),
as a clerk (sees everything).
Baseline in the same run: the same two-word query as `subject ILIKE '%...%'` on the smaller corpus.
Printed: indexing rate, p50/p95 per query kind and size (wall and CPU time), the load average (the figures
are only comparable at a similar load), and the worst p95(largest)/p95(smallest) (CPU time on SQLite).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.settings import CommonSettings
from services.registry import search
from services.registry.models import Base, Document

STACK_ENV = Path("/tmp/congvan-test-stack/env")
AGENCY = "000.00.00.B02"
VOCABULARY = ("quyết định kế hoạch thông báo báo cáo công văn điều chỉnh quy hoạch sử dụng đất tài nguyên môi "
              "trường giáo dục đào tạo y tế dịch bệnh phòng chống thiên tai lụt bão đê điều thủy lợi nông nghiệp "
              "giao thông xây dựng đầu tư ngân sách tài chính cán bộ công chức tuyển dụng khen thưởng kỷ luật "
              "thanh tra khiếu nại chuyển đổi số văn hóa du lịch an ninh quốc phòng huyện xã phường tỉnh thành phố "
              "ủy ban nhân dân sở phòng ban trung tâm hợp tác quốc tế lao động việc làm bảo hiểm xã hội người có "
              "công")
WORDS = tuple(VOCABULARY.split())
RARE = "tinhkhiet"   # one document in 5,000 carries it
TYPES = (("QĐ", "Quyết định"), ("TB", "Thông báo"), ("KH", "Kế hoạch"), ("BC", "Báo cáo"), (None, "Công văn"))
ISSUERS = ("Sở Tài chính", "Sở Nội vụ", "Sở Y tế", "Sở Giáo dục và Đào tạo", "UBND huyện Sơn Dương")


def _env() -> dict[str, str]:
    return dict(line.split("=", 1) for line in STACK_ENV.read_text().splitlines() if "=" in line)


def _load(db: Database, size: int, rng: random.Random) -> tuple[float, float]:
    """Documents stored and indexed per second of wall time and per second of this process's CPU time
    (search.index_new_batch: one transaction per 2,000 documents). On SQLite the engine runs in this process,
    so the CPU rate is the work itself, whatever else the machine is doing; on PostgreSQL it is the client's."""
    start, cpu = time.perf_counter(), time.process_time()
    batch = 2000
    for first in range(0, size, batch):
        with db.session() as session:
            loaded = []
            for n in range(first, min(size, first + batch)):
                code, name = TYPES[n % len(TYPES)]
                words = rng.choices(WORDS, k=150)
                if n % 5000 == 7:
                    words.append(RARE)
                doc = Document(agency_id=AGENCY, direction="incoming", state="registered", type_code=code,
                               type_name=name, code_number=str(n % 9999 + 1), code_notation="UBND-VX",
                               issued_date=date(2025, 1, 1) + timedelta(days=n % 365),
                               organ_name=ISSUERS[n % len(ISSUERS)], subject=" ".join(rng.choices(WORDS, k=12)),
                               signer_full_name="Nguyễn Văn An", year=2025)
                session.add(doc)
                loaded.append((doc, " ".join(words)))
            search.index_new_batch(session, loaded)
    return size / (time.perf_counter() - start), size / (time.process_time() - cpu)


QUERIES = {
    "two words": {"text": "quy hoach dat"},
    "word+issuer+dates": {"text": "dich benh", "issuer": "Sở Y tế", "date_from": "2025-03-01",
                          "date_to": "2025-06-30"},
    "rare word": {"text": RARE},
    "filters only": {"type_code": "QĐ", "date_from": "2025-05-01", "date_to": "2025-05-31"},
}


def _time(db: Database, actor: Actor, filters: dict, runs: int) -> tuple[float, float, float, float]:
    """p50 and p95 in ms of wall time, then of this process's CPU time (on SQLite: the query's own work, a
    figure that stays meaningful on a loaded machine; on PostgreSQL the server's work is not in it)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, used = time.perf_counter(), time.process_time()
        search.search(db, actor, filters, size=20)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    wall.sort()
    cpu.sort()
    at95 = int(runs * 0.95) - 1
    return statistics.median(wall), wall[at95], statistics.median(cpu), cpu[at95]


def _baseline(db: Database, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        with db.session() as s:
            s.execute(sa.select(Document.id).where(Document.subject.ilike("%quy hoạch%"),
                                                   Document.subject.ilike("%đất%")).limit(20)).all()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[int(len(samples) * 0.95) - 1]


def _database(engine: str, tmp: Path, tag: str, keep: bool) -> tuple[Database, callable]:
    if engine == "sqlite":
        db = Database("registry", AGENCY, Base.metadata, CommonSettings(agency_id=AGENCY, data_dir=tmp / tag))
        return db, lambda: None
    admin_url = _env()["TEST_DATABASE_URL"]
    name = f"bench_search_keep_{tag}" if keep else f"bench_search_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = Database("registry", AGENCY, Base.metadata,
                  CommonSettings(agency_id=AGENCY, database_url=f"{admin_url.rsplit('/', 1)[0]}/{name}"))

    def drop() -> None:
        if not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db, drop


def _corpus(db: Database, engine: str, size: int, marker: Path | None) -> tuple[float, float]:
    """Load the corpus, or reuse a kept one (its indexing rate was recorded when it was loaded)."""
    if marker is not None and marker.exists():
        db.create_all()                            # a corpus kept from an older schema gets the newer columns
        for index in Document.__table__.indexes:   # and indexes
            index.create(db.engine, checkfirst=True)
        rates = [float(x) for x in marker.read_text().split()]
        return rates[0], rates[1] if len(rates) > 1 else float("nan")   # older markers: the wall rate only
    db.create_all()
    rate = _load(db, size, random.Random(size))
    if engine == "postgres":
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    if marker is not None:
        marker.write_text(f"{rate[0]} {rate[1]}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="keep the corpora here (SQLite) or in named databases, reuse them")
    parser.add_argument("--load-only", action="store_true", help="build (or find) the corpora, run no query")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    actor = Actor("bench", "bench", AGENCY, frozenset({Role.CLERK}))
    with tempfile.TemporaryDirectory(prefix="congvan-bench-search-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for engine in args.engines.split(","):
            p95s: dict[int, float] = {}
            for size in sizes:
                db, drop = _database(engine, root, f"{engine}{size}", args.keep is not None)
                marker = root / f"{engine}{size}.loaded" if args.keep else None
                try:
                    rate, cpu_rate = _corpus(db, engine, size, marker)
                    print(f"{engine} {size:>9,} docs: indexing {rate:8.0f} docs/s wall, {cpu_rate:8.0f} docs per "
                          f"CPU-second of the loader   ({_load_average()})", flush=True)
                    if args.load_only:
                        continue
                    worst = 0.0
                    for label, filters in QUERIES.items():
                        p50, p95, cpu50, cpu95 = _time(db, actor, filters, args.queries)
                        worst = max(worst, cpu95 if engine == "sqlite" else p95)
                        print(f"  {label:<20} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   CPU p50 {cpu50:7.2f} ms   "
                              f"CPU p95 {cpu95:7.2f} ms", flush=True)
                    p95s[size] = worst
                    print(f"  ({_load_average()})")
                    if size == sizes[0]:
                        print(f"  baseline subject ILIKE (no index)   p95 {_baseline(db, args.queries):7.2f} ms")
                finally:
                    db.dispose()
                    drop()
            if len(p95s) > 1:
                ratio = p95s[sizes[-1]] / p95s[sizes[0]]
                kind = "CPU p95" if engine == "sqlite" else "p95"
                print(f"{engine}: worst {kind}({sizes[-1]:,}) / {kind}({sizes[0]:,}) = {ratio:.2f}")


def _load_average() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
