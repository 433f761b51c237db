"""The hub relay log: every package received, validated, routed, rejected and delivered, in a hash chain.

Each row stores `row_hash = SHA-256(prev_hash | seq | hub | at | event | message_id | document_id | sender |
recipients | sha256 | detail)` and the previous row's hash; `seq` is contiguous from 1. `verify()` recomputes
the chain, so a changed field, a removed row (gap or broken link) or an inserted row (broken link) is found.
Removing rows from the end is only visible against a published head: `head()` gives (seq, hash) to record
elsewhere (the operator's report, a metric).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from services.common.db import Database, table_sql
from services.interconnect.domain import printable
from services.interconnect.models import RelayLogEntry

GENESIS = "0" * 64
_COLUMNS = ("seq", "hub", "at", "event", "message_id", "document_id", "sender", "recipients", "sha256", "detail",
            "prev_hash", "row_hash")
EVENTS = ("received", "validated", "routed", "rejected", "delivered")


def row_hash(prev_hash: str, seq: int, hub: str, at: str, event: str, message_id: str, document_id: str,
             sender: str, recipients: str, sha256: str, detail: str) -> str:
    fields = [prev_hash, str(seq), hub, at, event, message_id, document_id, sender, recipients, sha256, detail]
    # Length-prefixed so that moving a separator between two fields changes the hash.
    text = "".join(f"{len(f)}:{f}" for f in fields)
    return hashlib.sha256(text.encode()).hexdigest()


def _statements(connection: Any) -> tuple[str, str, str]:
    """The relay log's SQL on this connection: (lock the last row or "", read the last row, insert rows). Only the
    model's table name, quoted by the dialect (and in the hub's schema on PostgreSQL), goes into the text; every
    value is a bound parameter."""
    table = table_sql(connection, RelayLogEntry.__table__)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    last = f"SELECT seq, row_hash FROM {table} ORDER BY seq DESC LIMIT 1"  # noqa: S608 - the table's own name
    lock = f"{last} FOR UPDATE" if connection.dialect.name == "postgresql" else ""
    insert = (f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "  # noqa: S608 - the table's own name
              f"VALUES ({', '.join([mark] * len(_COLUMNS))})")
    return lock, last, insert


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str        # changed | removed | inserted
    message_vi: str


class RelayLog:
    """The chain of one hub. `append` writes one row in its own transaction; between `hold()` and `flush()`
    rows are kept in memory and written in one transaction (the relay loop holds a window of packages and
    flushes it after their onward publishes are confirmed and before they are acked)."""

    def __init__(self, database: Database, hub: str) -> None:
        self.db = database
        self.hub = hub
        self._lock = threading.Lock()  # one writer per process; the DB transaction guards across processes
        self._held: list[tuple] | None = None

    def append(self, event: str, message_id: str, *, document_id: str = "", sender: str = "",
               recipients: list[str] | tuple[str, ...] = (), sha256: str = "", detail: str = "") -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown relay event {event!r}")
        # Everything here may come from a hostile package or header: made printable and cut to the columns'
        # sizes, so that a held window can always be written (a failing flush would redeliver it forever).
        row = (event, printable(message_id, 128), printable(document_id, 256), printable(sender, 64),
               printable(",".join(printable(r, 64) for r in recipients), 20_000), printable(sha256, 64),
               printable(detail, 4000), datetime.now(UTC).isoformat(timespec="microseconds"))
        if self._held is not None:
            self._held.append(row)
            return
        self._write([row])

    def hold(self) -> None:
        """Keep the next appends in memory until `flush` (or drop them with `discard`)."""
        if self._held is None:
            self._held = []

    def mark(self) -> int:
        """Where the held rows end now (0 when not holding), for `truncate`."""
        return len(self._held) if self._held is not None else 0

    def truncate(self, mark: int) -> None:
        """Drop the rows held since `mark`: the attempt that appended them failed and will be made again."""
        if self._held is not None:
            del self._held[mark:]

    def flush(self) -> int:
        """Write the held rows in one transaction, in the order they were appended; returns how many. If the
        write fails the rows stay held, so the same window can be flushed again."""
        rows = self._held or []
        if rows:
            self._write(rows)
        self._held = None
        return len(rows)

    def discard(self) -> None:
        """Forget held rows: their packages were not acked and will be relayed, and logged, again."""
        self._held = None

    def _write(self, rows: list[tuple]) -> None:
        # Two statements of plain SQL per window, not Core constructs nor ORM objects: the relay loop writes a
        # window at a time, often of one or two packages when the hub keeps up, and SQLAlchemy's compiling and
        # execution machinery was most of that cost (0.30 -> 0.14 ms of CPU per window of one package).
        with self._lock, self.db.engine.begin() as s:
            lock, last_row, insert_rows = _statements(s)
            if lock:  # PostgreSQL: serialise appenders, the chain needs the true last row
                s.exec_driver_sql(lock)
            last = s.exec_driver_sql(last_row).first()
            seq, prev = (last[0], last[1]) if last else (0, GENESIS)
            values = []
            for event, message_id, document_id, sender, rcpt, sha256, detail, at in rows:
                seq += 1
                digest = row_hash(prev, seq, self.hub, at, event, message_id, document_id, sender, rcpt, sha256,
                                  detail)
                values.append((seq, self.hub, at, event, message_id, document_id, sender, rcpt, sha256, detail,
                               prev, digest))
                prev = digest
            s.exec_driver_sql(insert_rows, values)

    def entries(self, message_id: str | None = None) -> list[RelayLogEntry]:
        with self.db.session() as s:
            q = select(RelayLogEntry).order_by(RelayLogEntry.seq)
            if message_id:
                q = q.where(RelayLogEntry.message_id == message_id)
            return list(s.execute(q).scalars())

    def submitter(self, message_id: str) -> str | None:
        """The broker user that first submitted `message_id` to this hub, as its `received` row recorded it
        (`user=<agency user>` or `from <hub user>; ...`); None if this hub never logged it."""
        with self.db.session() as s:
            q = (select(RelayLogEntry.detail).where(RelayLogEntry.message_id == printable(message_id, 128),
                                                     RelayLogEntry.event == "received").order_by(RelayLogEntry.seq))
            for detail in s.execute(q).scalars():
                if detail.startswith("user="):
                    return detail.removeprefix("user=").split(";", 1)[0]
                if detail.startswith("from "):
                    return detail.removeprefix("from ").split(";", 1)[0]
        return None

    def head(self) -> tuple[int, str]:
        with self.db.session() as s:
            last = s.execute(select(RelayLogEntry).order_by(RelayLogEntry.seq.desc()).limit(1)).scalar_one_or_none()
            return (last.seq, last.row_hash) if last else (0, GENESIS)

    def verify(self, expected_head: tuple[int, str] | None = None) -> list[Problem]:
        problems: list[Problem] = []
        prev, expected_seq = GENESIS, 1
        with self.db.session() as s:
            for e in s.execute(select(RelayLogEntry).order_by(RelayLogEntry.seq)).scalars():
                if e.seq != expected_seq:
                    problems.append(Problem(e.seq, "removed",
                                            f"Thiếu bản ghi số {expected_seq}–{e.seq - 1} trong nhật ký chuyển tiếp."))
                if e.prev_hash != prev:
                    problems.append(Problem(e.seq, "inserted" if e.seq == expected_seq else "removed",
                                            f"Bản ghi số {e.seq} không nối tiếp bản ghi trước (chuỗi băm bị đứt)."))
                actual = row_hash(e.prev_hash, e.seq, e.hub, e.at, e.event, e.message_id, e.document_id,
                                  e.sender, e.recipients, e.sha256, e.detail)
                if actual != e.row_hash:
                    problems.append(Problem(e.seq, "changed",
                                            f"Bản ghi số {e.seq} đã bị sửa (mã băm không khớp nội dung)."))
                prev, expected_seq = e.row_hash, e.seq + 1
        if expected_head and expected_head[0] >= expected_seq:
            problems.append(Problem(expected_head[0], "removed",
                                    f"Các bản ghi cuối từ số {expected_seq} đến {expected_head[0]} đã bị xóa."))
        return problems
