"""The hubs' figures from their own relay logs (relaylog.py): what the operator of a hub reads for the per-hub report
(sent, received, rejected by reason, median delivery time) and the province's usage per agency.

The relay logs live in each hub's own database (one SQLite file or PostgreSQL schema per hub, under the run
directory's data folder) and only the interconnect reads them: each hub serves its own figures at `GET /report`
(bearer token) for the gateway's operator screen (gateway/hub_reports.py), and `congvan report hubs` on the
operator's machine calls `hubs_report` here. The figures themselves are computed by the pure functions of
services/reporting/domain.py.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.observability import Route
from services.common.settings import CommonSettings
from services.reporting import domain, hub_rules


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


# --- GET /report on the hub's own HTTP port (services/interconnect/hub.py) -----------------------------------

REPORT_TOKEN_ENV = "HUB_REPORT_TOKEN"  # noqa: S105 (the name of the variable, not a secret)
HUB_REPORTS_NAME = "hub_reports.json"  # in the run directory, beside the broker credentials (mode 600)


def write_hub_reports(topology: Any, path: Path, url_of: Callable[[Any], str]) -> dict[str, dict[str, Any]]:
    """The hubs' report URLs and bearer tokens for the gateway (HUB_REPORTS_FILE), one fresh token per hub, kept
    across runs (a restarted hub or gateway still matches); the hubs read their own token from it too."""
    old: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    reports = {h.code: {"name": h.name, "parent": h.parent,
                        "token": (old.get(h.code) or {}).get("token") or secrets.token_urlsafe(24),
                        "url": url_of(h), "agencies": [a.organ_id for a in topology.agencies_of(h.code)]}
               for h in topology.hubs}
    path.write_text(json.dumps(reports, ensure_ascii=False, indent=1))
    path.chmod(0o600)
    return reports


def hub_report_token(code: str, run_dir: Path) -> str | None:
    """HUB_REPORT_TOKEN, or this hub's token in the run directory's hub_reports.json; none: nobody may read."""
    token = os.environ.get(REPORT_TOKEN_ENV)
    if token:
        return token
    path = run_dir / HUB_REPORTS_NAME
    if not path.exists():
        return None
    return (json.loads(path.read_text()).get(code) or {}).get("token")


def _json(status: int, data: Any) -> tuple[int, bytes, str]:
    return status, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8"


def authorised(token: str | None, header: str | None) -> bool:
    """A bearer token compared in constant time; no token configured means nobody may read the report."""
    if not token or not header or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def report_route(database: Database, code: str, name: str, served: dict[str, str], token: str | None,
                 reason_labels: dict[str, str] | None = None) -> Route:
    """The hub's own figures for a period, for the gateway's operator screen (never the raw log rows):
    `GET /report?from=YYYY-MM-DD&to=YYYY-MM-DD` with `Authorization: Bearer <token>`; 401 without the right token,
    400 on a bad date. The token is generated at provisioning (`write_hub_reports`) and read by `hub_report_token`."""

    def route(path: str, headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        if not authorised(token, headers.get("Authorization")):
            return _json(401, {"error": "unauthorised", "message": "Cần mã truy cập báo cáo của trục (Bearer)."})
        query = parse_qs(urlsplit(path).query)
        try:
            days = [date.fromisoformat(query[k][0]) if query.get(k) else None for k in ("from", "to")]
        except ValueError:
            return _json(400, {"error": "bad_date", "message": "Ngày không hợp lệ (dạng năm-tháng-ngày)."})
        report = hub_rules.hub_report(code, name, relay_entries(database, *days), served, reason_labels)
        report["period"] = {"from": days[0].isoformat() if days[0] else None,
                            "to": days[1].isoformat() if days[1] else None}
        return _json(200, report)

    return route
