"""`congvan directory sync`: the national axis's agency list (VDXP `getAgenciesList`, STANDARDS §1.8: about 111,000
agencies, each `code`, `id`, `name`, `pid`, `mail`, `oldCode`) brought into a hub's or an installation's directory,
incrementally, with history.

- An agency new on the axis is added (valid from the day of the sync; its hub inherited from its parent, else the
  national hub); a renamed or re-parented one is updated; one the axis lists with an `oldCode` becomes the
  successor of that old code, which ends the day before (the 2025 mergers: old addresses still resolve).
- An agency that came from the axis and is no longer listed ends the day before the sync (`valid_to`); it is never
  deleted, so documents addressed to it are still understood. An agency listed again is reopened.
- Records the axis never listed (a province's own, the demo's) are not ended by their absence, and the hub and
  installation of every record stay this directory's own: the axis says who exists, not who serves them here.
- Every change is kept in `directory_change` (when, which agency, what, from what to what) and counted in the
  report. Identifiers the axis sends that are not valid are skipped and reported, not stored.

The plan is pure (`plan`), the writes are bulk statements: 111,000 agencies are compared and written in seconds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update

from services.common import clock
from services.common.errors import ValidationFailed
from services.interconnect import identifiers
from services.interconnect.directory import NATIONAL, Directory, fold
from services.interconnect.models import DirectoryAgency, DirectoryChange

CHANGE_LABELS_VI = {"added": "Thêm mới", "renamed": "Đổi tên", "moved": "Đổi cơ quan cấp trên",
                    "ended": "Ngừng (không còn trên trục)", "reopened": "Hoạt động lại", "merged": "Sáp nhập vào"}


@dataclass(frozen=True)
class Known:
    """What the comparison needs of a directory row."""
    organ_id: str
    name: str
    parent: str | None
    hub: str
    valid_to: date | None
    successor: str | None
    from_axis: bool


class Added(NamedTuple):
    """A new agency (tuples, not dicts: a first sync holds 111,000 of them)."""
    organ_id: str
    name: str
    parent: str | None
    level: int
    hub: str


class Change(NamedTuple):
    organ_id: str
    change: str                 # a key of CHANGE_LABELS_VI
    old_value: str | None
    new_value: str | None


class Listed(NamedTuple):
    name: str
    parent: str | None
    old: str | None             # the code it replaces (`oldCode`)


@dataclass
class Plan:
    added: list[Added] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)    # by organ_id: the changed columns
    changes: list[Change] = field(default_factory=list)            # the history
    skipped: list[str] = field(default_factory=list)               # what the axis sent that is not an agency

    def counts(self) -> dict[str, int]:
        counted = Counter(c.change for c in self.changes)
        return {kind: counted.get(kind, 0) for kind in CHANGE_LABELS_VI} | {"skipped": len(self.skipped)}


def axis_items(answer: Any) -> list[dict[str, Any]]:
    """The `data` of a getAgenciesList answer (or the list itself, as a saved file may hold it)."""
    items = answer.get("data") if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise ValidationFailed("Danh sách cơ quan của trục phải là một danh sách (khóa “data”).")
    return items


def _listed(items: Iterable[Any]) -> tuple[dict[str, Listed], list[str]]:
    listed: dict[str, Listed] = {}
    skipped: list[str] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            skipped.append(f"mục {index}: không phải một cơ quan")
            continue
        raw = str(item.get("code") or item.get("id") or "")
        name = str(item.get("name") or "").strip()
        code = identifiers.normalize(raw)
        if not identifiers.is_valid(code) or not name:
            skipped.append(f"mục {index}: mã “{raw[:40]}” không hợp lệ" if name
                           else f"mục {index}: thiếu tên ({raw[:40]})")
            continue
        pid = identifiers.normalize(str(item.get("pid") or ""))
        old = identifiers.normalize(str(item.get("oldCode") or ""))
        listed[code] = Listed(name[:300], pid if identifiers.is_valid(pid) and pid != code else None,
                              old if identifiers.is_valid(old) and old != code else None)
    return listed, skipped


def _parent_of(code: str, given: str | None) -> str | None:
    return given or identifiers.parent(code)


def plan(known: dict[str, Known], items: Iterable[Any], today: date, at: datetime) -> Plan:
    """What a sync changes, without touching anything: the rows to add, the columns to update, the history."""
    listed, skipped = _listed(items)
    result = Plan(skipped=skipped)
    ended_on = today - timedelta(days=1)
    hubs = {code: k.hub for code, k in known.items()}

    def hub_for(code: str, parent: str | None) -> str:
        seen = {code}
        while parent and parent not in seen:
            if parent in hubs:
                return hubs[parent]
            seen.add(parent)
            parent = listed[parent].parent if parent in listed else None
        return NATIONAL

    def change(code: str, kind: str, old: str | None = None, new: str | None = None) -> None:
        result.changes.append(Change(code, kind, old, new))

    for code, item in listed.items():
        parent = _parent_of(code, item.parent)
        row = known.get(code)
        if row is None:
            hubs[code] = hub = hub_for(code, parent)
            result.added.append(Added(code, item.name, parent, identifiers.level(code), hub))
            change(code, "added", None, item.name)
            continue
        columns: dict[str, Any] = {}
        if row.name != item.name:
            columns |= {"name": item.name, "name_key": fold(item.name)}
            change(code, "renamed", row.name, item.name)
        if row.parent != parent:
            columns["parent"] = parent
            change(code, "moved", row.parent, parent)
        # Only what this sync ended comes back: a merged agency keeps its successor even if the axis still lists it.
        if row.from_axis and row.successor is None and row.valid_to is not None and row.valid_to < today:
            columns["valid_to"] = None
            change(code, "reopened", row.valid_to.isoformat(), None)
        if columns or not row.from_axis:
            result.updates.append({"organ_id": code, **columns, "axis_seen_at": at, "updated_at": at})

    merged = {item.old: code for code, item in listed.items() if item.old and item.old not in listed}
    for code, row in known.items():
        if code in listed:
            continue
        successor = merged.get(code)
        if successor and row.successor != successor:
            columns = {"successor": successor} | ({} if row.valid_to else {"valid_to": ended_on})
            result.updates.append({"organ_id": code, **columns, "updated_at": at})
            change(code, "merged", row.successor, successor)
        elif row.from_axis and row.valid_to is None:
            result.updates.append({"organ_id": code, "valid_to": ended_on, "updated_at": at})
            change(code, "ended", None, ended_on.isoformat())
    return result


def _known(directory: Directory) -> dict[str, Known]:
    columns = (DirectoryAgency.organ_id, DirectoryAgency.name, DirectoryAgency.parent, DirectoryAgency.hub,
               DirectoryAgency.valid_to, DirectoryAgency.successor, DirectoryAgency.axis_seen_at)
    with directory.database.session() as session:
        return {r[0]: Known(r[0], r[1], r[2], r[3], r[4], r[5], r[6] is not None)
                for r in session.execute(select(*columns))}


BATCH = 5_000


def apply(directory: Directory, load: Callable[[], Iterable[Any]], today: date | None = None) -> Plan:
    """Sync the axis's agency list (`load()`) into `directory` in one transaction; the plan it carried out. The
    list is loaded here and dropped once planned, and rows are written in batches: 111,000 agencies stay within a
    few hundred MB."""
    at = clock.now_utc()
    items = load()
    planned = plan(_known(directory), items, today or clock.now_vn().date(), at)
    del items
    day = today or clock.now_vn().date()
    with directory.database.session() as session:
        for start in range(0, len(planned.added), BATCH):
            session.execute(insert(DirectoryAgency), [
                {**a._asdict(), "name_key": fold(a.name), "valid_from": day, "valid_to": None, "successor": None,
                 "locked": False, "installation": None, "updated_at": at, "axis_seen_at": at}
                for a in planned.added[start:start + BATCH]])
        # One executemany per shape of update: the ORM's bulk UPDATE by primary key takes rows of one shape.
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in planned.updates:
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for rows in by_shape.values():
            for start in range(0, len(rows), BATCH):
                session.execute(update(DirectoryAgency), rows[start:start + BATCH])
        for start in range(0, len(planned.changes), BATCH):
            session.execute(insert(DirectoryChange), [{**c._asdict(), "synced_at": at}
                                                      for c in planned.changes[start:start + BATCH]])
    return planned


def sync_from_axis(directory: Directory, client: Any) -> Plan:
    """Sync from a VDXP endpoint (`services.interconnect.vdxp_edge.AxisClient`)."""
    return apply(directory, lambda: axis_items(client.call("getAgenciesList", body=b"")))


def sync_from_file(directory: Directory, path: Path) -> Plan:
    """Sync from a saved getAgenciesList answer (JSON), for an installation that fetched it elsewhere."""
    def load() -> list[dict[str, Any]]:
        try:
            return axis_items(json.loads(Path(path).read_text(encoding="utf-8-sig")))
        except ValueError as exc:
            raise ValidationFailed(f"Tệp danh sách cơ quan không phải JSON hợp lệ: {exc}") from None

    return apply(directory, load)


def report_lines(planned: Plan, limit: int = 20) -> list[str]:
    """The report in Vietnamese: a count per kind of change, then the first changes and skipped items."""
    counts = planned.counts()
    lines = ["Đồng bộ danh bạ từ trục: " + ", ".join(
        f"{CHANGE_LABELS_VI[k].lower()} {counts[k]}" for k in CHANGE_LABELS_VI) + f", bỏ qua {counts['skipped']}."]
    for c in planned.changes[:limit]:
        arrow = f": {c.new_value}" if c.change == "added" else f": {c.old_value or '—'} → {c.new_value or '—'}"
        lines.append(f"  {CHANGE_LABELS_VI[c.change]} {c.organ_id}{arrow}")
    if len(planned.changes) > limit:
        lines.append(f"  … và {len(planned.changes) - limit} thay đổi khác (bảng directory_change).")
    lines += [f"  Bỏ qua {s}" for s in planned.skipped[:limit]]
    return lines
