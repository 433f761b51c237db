"""Adapter to the hubs' relay logs (services/interconnect/relaylog.py): what the operator of a hub reads for the
per-hub report (sent, received, rejected by reason, median delivery time) and the province's usage per agency.

The relay logs live in each hub's own database (one SQLite file or PostgreSQL schema per hub, under the run
directory's data folder); only the operator's machine reaches them, so this is a CLI (`congvan report hubs`),
not an agency RPC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.settings import CommonSettings
from services.reporting import domain


def _bound(day: date | None, shift: int = 0) -> str | None:
    if day is None:
        return None
    moment = datetime.combine(day + timedelta(days=shift), time(0), tzinfo=VN_TZ).astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def relay_entries(database: Database, date_from: date | None = None, date_to: date | None = None
                  ) -> list[dict[str, Any]]:
    """The relay-log rows of one hub between two Vietnam days (inclusive), oldest first."""
    from services.interconnect.models import RelayLogEntry

    lo, hi = _bound(date_from), _bound(date_to, shift=1)
    with database.session() as s:
        query = select(RelayLogEntry).order_by(RelayLogEntry.seq)
        # `at` is written by RelayLog as UTC ISO text of fixed width, so text order is time order.
        if lo:
            query = query.where(RelayLogEntry.at >= lo)
        if hi:
            query = query.where(RelayLogEntry.at < hi)
        return [{"event": e.event, "message_id": e.message_id, "sender": e.sender, "recipients": e.recipients,
                 "at": e.at, "detail": e.detail} for e in s.scalars(query)]


def hubs_report(topology: Any, run_dir: Path, date_from: date | None = None,
                date_to: date | None = None) -> dict[str, Any]:
    """The per-hub and per-agency figures of every hub of a topology, from their relay logs."""
    from services.interconnect import broker
    from services.interconnect.models import HubBase

    settings = CommonSettings(data_dir=Path(run_dir) / "data")
    entries: dict[str, list[dict[str, Any]]] = {}
    for hub in topology.hubs:
        db = Database("hub", f"{broker.namespace(topology)}hub.{hub.code}", HubBase.metadata, settings)
        try:
            db.create_all()
            entries[hub.code] = relay_entries(db, date_from, date_to)
        finally:
            db.dispose()
    report = domain.hub_summary(entries)
    names = {a.organ_id: a.name for a in topology.agencies}
    for agency in report["agencies"]:
        agency["name"] = names.get(agency["organ_id"], "")
    return report
