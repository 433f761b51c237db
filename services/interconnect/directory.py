"""The agency directory: who exists, under whom, which hub serves them, and until when (STANDARDS §2, §8.1).

The national hub uses it to know which provincial hub serves an agency; every hub uses it to refuse unknown,
locked or dissolved recipients. Agencies are versioned for the 2025 reorganisation: a merged province keeps
its old identifier with `valid_to` and a `successor`, so old addresses still resolve.

Import from JSON (a list, or {"agencies": [...]}) or CSV (header row: organ_id,name,parent,level,hub,
valid_from,valid_to,successor,locked). Lookup by code prefix or by name, diacritics-insensitive.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select

from services.common import clock
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.settings import CommonSettings
from services.common.textfold import terms
from services.interconnect import identifiers
from services.interconnect.models import DirectoryAgency, DirectoryBase

NATIONAL = "national"
Lookup = Callable[[str], "AgencyRecord | None"]
MAX_SUCCESSOR_HOPS = 10
_ABBREVIATIONS = {"ubnd": "uy ban nhan dan", "hdnd": "hoi dong nhan dan", "tp": "thanh pho"}


@dataclass(frozen=True)
class AgencyRecord:
    organ_id: str
    name: str
    parent: str | None
    level: int
    hub: str                      # "national" or a provincial hub's level-1 code ("H60")
    valid_from: date | None
    valid_to: date | None
    successor: str | None
    locked: bool
    installation: str | None = None   # the installation hosting it; None: its own (or not on AMQP here)

    def valid_on(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (self.valid_to is None or on <= self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        return {"organ_id": self.organ_id, "name": self.name, "parent": self.parent, "level": self.level,
                "hub": self.hub, "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_to": self.valid_to.isoformat() if self.valid_to else None, "successor": self.successor,
                "locked": self.locked, "installation": self.installation}


def fold(text: str) -> str:
    """Lower-case ASCII without diacritics, for search: `Ủy ban nhân dân tỉnh Đà Nẵng` and `Uỷ ban ...` both give
    `uy ban nhan dan tinh da nang` (đ has no decomposition, so it is mapped by hand)."""
    return " ".join(_ABBREVIATIONS.get(word, word) for word in terms(text or ""))


def _as_date(value: Any, field: str, row: int) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(f"Dòng {row}: ngày “{value}” ở cột {field} không đúng dạng YYYY-MM-DD.",
                               details={"row": row, "field": field, "value": value}) from None


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "x", "co", "có")


def _optional_id(value: Any, row: int, field: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return identifiers.validate(str(value))
    except identifiers.InvalidOrganId as exc:
        raise ValidationFailed(f"Dòng {row}: {exc.message_vi}", details={"row": row, "field": field}) from None


def _normalise_record(raw: dict[str, Any], row: int) -> dict[str, Any]:
    organ_id = _optional_id(raw.get("organ_id"), row, "organ_id")
    if organ_id is None:
        raise ValidationFailed(f"Dòng {row}: thiếu mã định danh (organ_id).", details={"row": row})
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ValidationFailed(f"Dòng {row}: thiếu tên cơ quan ({organ_id}).", details={"row": row})
    level = raw.get("level")
    # The structural parent unless the file says otherwise (post-2025 units re-parented under the province).
    parent = _optional_id(raw.get("parent"), row, "parent") or identifiers.parent(organ_id)
    valid_from = _as_date(raw.get("valid_from"), "valid_from", row)
    valid_to = _as_date(raw.get("valid_to"), "valid_to", row)
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationFailed(f"Dòng {row}: ngày hết hiệu lực trước ngày có hiệu lực ({organ_id}).",
                               details={"row": row})
    hub = str(raw.get("hub") or "").strip()
    return {
        "organ_id": organ_id, "name": name, "name_key": fold(name), "parent": parent,
        "level": int(level) if level not in (None, "") else identifiers.level(organ_id),
        "hub": NATIONAL if hub.lower() == NATIONAL else hub.upper(),
        "valid_from": valid_from, "valid_to": valid_to,
        "successor": _optional_id(raw.get("successor"), row, "successor"), "locked": _as_bool(raw.get("locked")),
        "installation": _optional_id(raw.get("installation"), row, "installation"),
    }


def read_file(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON or CSV directory file (UTF-8, with or without BOM)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return [dict(row) for row in csv.DictReader(text.splitlines())]
    data = json.loads(text)
    records = data.get("agencies") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise ValidationFailed("Tệp danh bạ JSON phải là một danh sách hoặc có khóa “agencies”.",
                               details={"path": str(path)})
    return records


def _record(row: DirectoryAgency) -> AgencyRecord:
    return AgencyRecord(organ_id=row.organ_id, name=row.name, parent=row.parent, level=row.level, hub=row.hub,
                        valid_from=row.valid_from, valid_to=row.valid_to, successor=row.successor,
                        locked=bool(row.locked), installation=row.installation)


def _word_condition(word: str) -> Any:
    """One typed word: its folded words all in the name (`UBND` is three of them), or, with a digit, part of the
    code; None for a word of punctuation only."""
    folded = [DirectoryAgency.name_key.like(f"%{_like_escape(w)}%", escape="\\") for w in fold(word).split()]
    code = identifiers.normalize(word)
    by_code = (DirectoryAgency.organ_id.like(f"%{_like_escape(code)}%", escape="\\")
               if re.fullmatch(r"[0-9A-Z.]+", code) and re.search(r"\d", code) else None)
    if not folded:
        return by_code
    by_name = and_(*folded)
    return by_name if by_code is None else or_(by_name, by_code)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Directory:
    """The directory over one database (its own tables, DirectoryBase)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        DirectoryBase.metadata.create_all(database.engine)
        _add_installation_column(database)

    # --- import ---------------------------------------------------------------------------------------------

    def import_records(self, records: Iterable[dict[str, Any]]) -> int:
        """Insert or update (by organ_id) every record, in one transaction; returns how many were written.
        Missing hubs are inherited from the parent (same batch or already known), else "national"."""
        rows = [_normalise_record(dict(raw), index) for index, raw in enumerate(records, start=1)]
        by_id = {row["organ_id"]: row for row in rows}
        with self.database.session() as session:
            for row in rows:
                if not row["hub"]:
                    row["hub"] = self._inherited_hub(session, row, by_id)
            for row in rows:
                existing = session.get(DirectoryAgency, row["organ_id"])
                if existing is None:
                    session.add(DirectoryAgency(**row, updated_at=clock.now_utc()))
                else:
                    for key, value in row.items():
                        setattr(existing, key, value)
                    existing.updated_at = clock.now_utc()
        return len(rows)

    def _inherited_hub(self, session, row: dict[str, Any], batch: dict[str, dict[str, Any]]) -> str:
        parent, seen = row["parent"], {row["organ_id"]}
        while parent and parent not in seen:
            seen.add(parent)
            if parent in batch:
                if batch[parent]["hub"]:
                    return batch[parent]["hub"]
                parent = batch[parent]["parent"]
                continue
            known = session.get(DirectoryAgency, parent)
            return known.hub if known is not None else NATIONAL
        return NATIONAL

    def import_file(self, path: Path) -> int:
        return self.import_records(read_file(path))

    # --- lookup ---------------------------------------------------------------------------------------------

    def get(self, organ_id: str) -> AgencyRecord | None:
        with self.database.session() as session:
            row = session.get(DirectoryAgency, identifiers.normalize(organ_id))
            return _record(row) if row is not None else None

    def search(self, text: str, limit: int = 20) -> list[AgencyRecord]:
        """Agencies whose code starts (or, for a level-1 code like `H60`, ends) with `text`, then agencies of which
        every word of `text` is in the name, ignoring case and diacritics, or, for a word with a digit, in the
        code ("tuyen quang 000.00.00" finds UBND tỉnh Tuyên Quang `000.00.00.H60`)."""
        results: list[AgencyRecord] = []
        code = identifiers.normalize(text)
        with self.database.session() as session:
            if code and re.fullmatch(r"[0-9A-Z.]+", code) and re.search(r"\d", code):
                pattern = _like_escape(code)
                query = (select(DirectoryAgency)
                         .where(or_(DirectoryAgency.organ_id.like(f"{pattern}%", escape="\\"),
                                    DirectoryAgency.organ_id.like(f"%.{pattern}", escape="\\")))
                         .order_by(DirectoryAgency.level, DirectoryAgency.organ_id).limit(limit))
                results += [_record(row) for row in session.scalars(query)]
            conditions = [c for c in map(_word_condition, text.split()) if c is not None]
            if conditions and len(results) < limit:
                query = select(DirectoryAgency).where(*conditions)
                query = query.order_by(DirectoryAgency.level, DirectoryAgency.organ_id).limit(limit)
                seen = {record.organ_id for record in results}
                results += [_record(row) for row in session.scalars(query) if row.organ_id not in seen]
        return results[:limit]

    def lookup(self, organ_ids: Iterable[str]) -> Lookup:
        """A `get` over these agencies read in one query (others, e.g. their successors, one by one): for
        `resolve`, `is_deliverable` and `current_id` over many agencies, e.g. a recipient group's members."""
        wanted = sorted(asked := {identifiers.normalize(o) for o in organ_ids if o})
        known: dict[str, AgencyRecord] = {}
        with self.database.session() as session:
            for start in range(0, len(wanted), 500):
                query = select(DirectoryAgency).where(DirectoryAgency.organ_id.in_(wanted[start:start + 500]))
                known.update((row.organ_id, _record(row)) for row in session.scalars(query))
        return lambda organ_id: known.get(organ_id) or known.get(identifiers.normalize(organ_id)) or (
            None if identifiers.normalize(organ_id) in asked else self.get(organ_id))

    def resolve(self, organ_id: str, on: date | None = None, lookup: Lookup | None = None) -> AgencyRecord | None:
        """The agency that stands for `organ_id` on `on` (today in Vietnam by default): the agency itself, or
        its successor (followed transitively) once it has expired. None when unknown. `lookup`: records already
        read (`lookup()`), instead of a query per agency."""
        on = on or clock.now_vn().date()
        get = lookup or self.get
        record = get(organ_id)
        seen: set[str] = set()
        while (record is not None and record.valid_to is not None and record.valid_to < on and record.successor
               and record.organ_id not in seen and len(seen) < MAX_SUCCESSOR_HOPS):
            seen.add(record.organ_id)
            successor = get(record.successor)
            if successor is None:
                break
            record = successor
        return record

    def current_id(self, organ_id: str, on: date | None = None, lookup: Lookup | None = None) -> str:
        """The id a package addressed to `organ_id` is delivered under on `on`: its successor's once replaced."""
        record = self.resolve(organ_id, on, lookup)
        return record.organ_id if record is not None else organ_id

    def predecessors(self, organ_id: str, on: date | None = None) -> list[str]:
        """The agencies `organ_id` stands for on `on` (replaced, their successor chain ending at it), so that a
        status it sends about a document addressed to one of them is its answer."""
        with self.database.session() as session:
            replaced = list(session.scalars(select(DirectoryAgency.organ_id)
                                            .where(DirectoryAgency.successor.is_not(None))))
        return sorted(old for old in replaced if old != organ_id and self.current_id(old, on) == organ_id)

    def installation_of(self, organ_id: str, on: date | None = None) -> str:
        """The installation whose inbox and broker identity serve `organ_id` today (of the agency it resolves
        to): the one its record names, else the agency itself (an installation of one, as before)."""
        record = self.resolve(organ_id, on)
        if record is None:
            return organ_id
        return record.installation or record.organ_id

    def hosts(self, installation: str, organ_id: str) -> bool:
        """Whether `installation` hosts `organ_id` as the directory records it (the hub's test of a `From`)."""
        record = self.get(organ_id)
        return record is not None and (record.installation or record.organ_id) == installation

    def serving_hub(self, organ_id: str, on: date | None = None) -> str | None:
        """The hub that delivers to `organ_id` today: the hub of the agency it resolves to; None if unknown."""
        record = self.resolve(organ_id, on)
        return record.hub if record is not None else None

    def is_deliverable(self, organ_id: str, on: date | None = None,
                       lookup: Lookup | None = None) -> tuple[bool, str]:
        """Whether a package addressed to `organ_id` can be delivered on `on`, with the reason in Vietnamese."""
        on = on or clock.now_vn().date()
        original = (lookup or self.get)(organ_id)
        if original is None:
            return False, f"Cơ quan nhận {organ_id} không có trong danh bạ liên thông."
        record = self.resolve(organ_id, on, lookup)
        assert record is not None
        if record.valid_to is not None and record.valid_to < on:
            return False, (f"Cơ quan nhận {record.organ_id} ({record.name}) đã ngừng hoạt động từ ngày "
                           f"{record.valid_to:%d/%m/%Y} và không có cơ quan kế thừa.")
        if record.valid_from is not None and on < record.valid_from:
            return False, (f"Cơ quan nhận {record.organ_id} ({record.name}) chỉ có hiệu lực từ ngày "
                           f"{record.valid_from:%d/%m/%Y}.")
        if record.locked:
            return False, f"Cơ quan nhận {record.organ_id} ({record.name}) đang bị khóa trên trục liên thông."
        if record.organ_id != original.organ_id:
            return True, (f"Cơ quan {original.organ_id} ({original.name}) đã được thay thế bởi "
                          f"{record.organ_id} ({record.name}).")
        return True, ""

    def deliverable(self, on: date | None = None) -> list[AgencyRecord]:
        """Every current agency that can receive on that day, by level and code: a recipient picker for a small
        directory. An agency replaced in the 2025 reorganisation (a merged province: Hà Giang → Tuyên Quang) is a
        former agency, not listed: a package addressed to its old id still reaches its successor (`resolve`), but
        the clerk picks the successor (issue 18 item 9)."""
        with self.database.session() as session:
            rows = session.scalars(select(DirectoryAgency).order_by(DirectoryAgency.level, DirectoryAgency.organ_id))
            records = [_record(row) for row in rows]
        # One query, then every check in memory: a query per agency and per successor made the send screen of a
        # province-sized directory cost 0.5 s of CPU per thousand agencies (docs/performance.md).
        known = {r.organ_id: r for r in records}

        def get(organ_id: str) -> AgencyRecord | None:
            return known.get(organ_id) or known.get(identifiers.normalize(organ_id))

        return [r for r in records if self.is_deliverable(r.organ_id, on, get) == (True, "")]

    def served_by(self, hub: str) -> list[AgencyRecord]:
        """Every agency a hub serves (its inboxes), expired ones included."""
        with self.database.session() as session:
            query = select(DirectoryAgency).where(DirectoryAgency.hub == hub).order_by(DirectoryAgency.organ_id)
            return [_record(row) for row in session.scalars(query)]

    def count(self) -> int:
        with self.database.session() as session:
            return len(session.scalars(select(DirectoryAgency.organ_id)).all())


def _add_installation_column(database: Database) -> None:
    """Directories made before installations (or the axis sync) existed lack their columns: add them (NULL: an
    installation of one; a record of the directory's own)."""
    from sqlalchemy import inspect, text

    later = {"installation": "VARCHAR(64)", "axis_seen_at": "TIMESTAMP WITH TIME ZONE"}
    with database.engine.begin() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns(DirectoryAgency.__tablename__)}
        for name, kind in later.items():
            if name not in columns:
                if conn.dialect.name != "postgresql":
                    kind = kind.replace("TIMESTAMP WITH TIME ZONE", "DATETIME")
                conn.execute(text(f"ALTER TABLE {DirectoryAgency.__tablename__} ADD COLUMN {name} {kind}"))


def open_directory(scope: str = NATIONAL, settings: CommonSettings | None = None) -> Directory:
    """The directory database of a scope (a hub code), as the CLI and hubs open it by default."""
    return Directory(Database("directory", f"hub.{scope}", DirectoryBase.metadata, settings))
