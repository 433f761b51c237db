"""Reading the audit chains that services/common/audit.py writes: `verify` recomputes one database's chain (and
compares its end with a head recorded elsewhere, the daily backup's manifest), `head` is its last row, `entries`
answers "who changed what", `discover` finds every database of a deployment that holds a chain. Used by
`congvan audit verify|log` and the backup (infra/), never on a service's request path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, select, text

from services.common.audit import AUDIT_TABLE, GENESIS, generic_log, row_hash
from services.common.db import Database, is_postgres
from services.common.settings import CommonSettings


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str          # changed | removed | inserted
    message_vi: str


@dataclass
class AuditReport:
    where: str                       # file or schema verified
    rows: int = 0
    head: tuple[int, str] = (0, GENESIS)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _engine(target: Database | Engine) -> Engine:
    return target.engine if isinstance(target, Database) else target


def has_audit_table(target: Database | Engine) -> bool:
    return inspect(_engine(target)).has_table(AUDIT_TABLE)


def head(target: Database | Engine) -> tuple[int, str]:
    with _engine(target).connect() as conn:
        last = conn.execute(select(generic_log.c.seq, generic_log.c.row_hash)
                            .order_by(generic_log.c.seq.desc()).limit(1)).first()
    return (int(last.seq), last.row_hash) if last else (0, GENESIS)


def verify(target: Database | Engine, expected_head: tuple[int, str] | None = None,
           where: str = "") -> AuditReport:
    """Recompute the chain of one database (an engine whose search_path/file holds `audit_log`)."""
    engine = _engine(target)
    report = AuditReport(where=where or str(engine.url.render_as_string(hide_password=True)))
    prev, expected_seq = GENESIS, 1
    at_expected: str | None = None
    with engine.connect() as conn:
        for r in conn.execute(select(generic_log).order_by(generic_log.c.seq)):
            report.rows += 1
            if r.seq > expected_seq:
                report.problems.append(Problem(r.seq, "removed",
                                               f"Thiếu bản ghi số {expected_seq}–{r.seq - 1} trong nhật ký kiểm toán."))
            if r.prev_hash != prev:
                kind = "inserted" if r.seq == expected_seq else "removed"
                report.problems.append(Problem(r.seq, kind, f"Bản ghi số {r.seq} không nối tiếp bản ghi trước "
                                                            "(chuỗi băm bị đứt): có bản ghi bị chèn hoặc xóa."))
            actual = row_hash(r.prev_hash, r.seq, r.at, r.agency, r.actor, r.on_behalf_of, r.action, r.entity,
                              r.entity_id, r.details)
            if actual != r.row_hash:
                report.problems.append(Problem(r.seq, "changed",
                                               f"Bản ghi số {r.seq} đã bị sửa (mã băm không khớp nội dung)."))
            if expected_head and r.seq == expected_head[0]:
                at_expected = r.row_hash
            prev, expected_seq = r.row_hash, r.seq + 1
    report.head = (expected_seq - 1, prev)
    if expected_head and expected_head[0] > 0:
        seq, digest = expected_head
        if seq >= expected_seq:
            report.problems.append(Problem(seq, "removed",
                                           f"Các bản ghi cuối từ số {expected_seq} đến {seq} đã bị xóa."))
        elif at_expected != digest:
            report.problems.append(Problem(seq, "changed", f"Bản ghi số {seq} khác với mã băm đã ghi nhận trước đó "
                                                           "(chuỗi đã bị viết lại)."))
    return report


def entries(target: Database | Engine, entity: str | None = None, entity_id: str | None = None,
            actor: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest rows of one chain (oldest first), filtered: who changed what."""
    query = select(generic_log).order_by(generic_log.c.seq.desc()).limit(limit)
    if entity:
        query = query.where(generic_log.c.entity == entity)
    if entity_id:
        query = query.where(generic_log.c.entity_id == str(entity_id))
    if actor:
        query = query.where(generic_log.c.actor == actor)
    with _engine(target).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return rows[::-1]


def discover(settings: CommonSettings) -> Iterator[tuple[str, Engine]]:
    """Every database of a deployment that holds an audit table: SQLite files under DATA_DIR, or PostgreSQL
    schemas of DATABASE_URL. Yields (where, engine); the caller disposes of nothing (engines are disposed here)."""
    if is_postgres(settings.database_url):
        admin = create_engine(settings.database_url)
        try:
            with admin.connect() as conn:
                schemas = list(conn.execute(text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = :t ORDER BY 1"),
                    {"t": AUDIT_TABLE}).scalars())
        finally:
            admin.dispose()
        for schema in schemas:
            engine = create_engine(settings.database_url, connect_args={"options": f"-csearch_path={schema}"})
            try:
                yield schema, engine
            finally:
                engine.dispose()
        return
    for path in sorted(Path(settings.data_dir).rglob("*.sqlite3")):
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        try:
            if has_audit_table(engine):
                yield str(path), engine
        finally:
            engine.dispose()
