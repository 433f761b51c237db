"""nameko service `reporting`: reports and printable registers of each hosted agency, and the overdue gauge.

It owns no business data: every figure comes from the read-only RPCs `registry.report_register`,
`routing.report_handlings` and `routing.report_staff` (services/*/report_queries.py), called with the caller's
acting user (the nameko context travels with the call), so the registry and routing re-check agency and role as
well.

RPCs: `report(date_from, date_to)`, `report_file(date_from, date_to, fmt)`, `register_rows(direction, date_from,
date_to)`, `register_file(direction, date_from, date_to, fmt)` (direction `incoming`, `outgoing` or `copies`;
files come back as {filename, content_type, data (base64)}), `refresh_overdue()`.
Gauge `congvan_documents_overdue{agency,unit}`: open incoming documents past their handling deadline, per unit
of the main handler; refreshed at start (retried after REPORTING_OVERDUE_FIRST_RETRY seconds, default 5, doubling
up to 60, until routing first answers), then every REPORTING_OVERDUE_INTERVAL seconds (default 300), and on demand.
The timer refreshes the agencies this service has seen (any report call) and the one a process was started for
(AGENCY_ID, an installation of one); an agency nobody has looked at costs nothing until someone does.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from datetime import date
from typing import Any

from eventlet import Timeout
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import Timer
from prometheus_client import Gauge

from services.common import clock
from services.common.actor import Actor, Role, system_actor
from services.common.clock import vn_date
from services.common.errors import ValidationFailed
from services.common.rpc import ACTOR_KEY, ActingUser, RpcMetrics
from services.reporting import copies_register, domain, pdf, xlsx

log = logging.getLogger(__name__)

OVERDUE_INTERVAL = float(os.environ.get("REPORTING_OVERDUE_INTERVAL", "300"))
OVERDUE_FIRST_RETRY = float(os.environ.get("REPORTING_OVERDUE_FIRST_RETRY", "5"))
OVERDUE_MAX_RETRY = 60.0

DOCUMENTS_OVERDUE = Gauge("congvan_documents_overdue",
                          "Incoming documents still open past their handling deadline, per unit of the main handler",
                          ["agency", "unit"])

# The agency's own limit to register and forward an arrived document (agency rule registration_limit_hours, kept
# by routing), for the InboxOlderThanRegistrationLimit alert (infra/prometheus/alerts.yml): 8 h, 4 h, ...
REGISTRATION_LIMIT = Gauge("congvan_registration_limit_seconds",
                           "The agency's limit to register an arrived document, in (working) seconds", ["agency"])

REPORT_READERS = (Role.LEADER, Role.DEPARTMENT_HEAD, Role.CLERK, Role.ADMIN)
REGISTER_READERS = (Role.CLERK, Role.LEADER, Role.ADMIN)
REGISTER_TITLES = {**domain.REGISTER_TITLES, "copies": copies_register.COPIES_TITLE}
REGISTER_FILES = {"incoming": "so-van-ban-den", "outgoing": "so-van-ban-di", "copies": "so-ban-sao"}
FORMATS = {"pdf": "application/pdf",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class OverdueGauge:
    """Sets the gauge for one agency, removing the units that no longer have overdue documents."""

    def __init__(self, agency: str) -> None:
        self.agency = agency
        self._units: set[str] = set()
        self._lock = threading.Lock()

    def set(self, per_unit: dict[str, int]) -> None:
        with self._lock:
            for unit in self._units - set(per_unit):
                DOCUMENTS_OVERDUE.labels(self.agency, unit).set(0)
            for unit, count in per_unit.items():
                DOCUMENTS_OVERDUE.labels(self.agency, unit).set(count)
            # Units seen once keep a 0 series: a panel shows "none overdue" rather than "no data".
            self._units |= set(per_unit)
            if not self._units:
                DOCUMENTS_OVERDUE.labels(self.agency, domain.NO_UNIT).set(0)


class StartupRetryTimer(Timer):
    """A nameko timer that fires at start and, until its method first returns True, again after a short back-off
    (`first_retry` seconds, doubling up to `max_retry`); from the first success on, every `interval` seconds.

    The overdue gauge's first refresh runs while the process is still starting routing (same process, started
    side by side): it fails then, and waiting the full interval (5 minutes) for the next try left the SLA panel
    empty. The back-off sleeps between tries (no busy loop) in the timer's own greenthread (start is not delayed).
    """

    def __init__(self, interval: float, first_retry: float = 5.0, max_retry: float = 60.0, **kwargs: Any) -> None:
        super().__init__(interval, eager=True, **kwargs)
        self.first_retry = first_retry
        self.max_retry = max(max_retry, first_retry)
        self.succeeded = False

    def handle_result(self, worker_ctx, result, exc_info):
        if exc_info is None and result is True:
            self.succeeded = True
        return super().handle_result(worker_ctx, result, exc_info)

    def _run(self) -> None:
        sleep_time, retry = 0.0, self.first_retry
        while True:
            with Timeout(sleep_time, exception=False):   # as nameko's Timer: leave when `stop` fires
                self.should_stop.wait()
                break
            started = time.monotonic()
            self.handle_timer_tick()
            self.worker_complete.wait()
            self.worker_complete.reset()
            if self.succeeded:
                sleep_time = max(self.interval - (time.monotonic() - started), 0.0)
            else:
                sleep_time, retry = retry, min(retry * 2, self.max_retry)


startup_retry_timer = StartupRetryTimer.decorator


class Agencies(DependencyProvider):
    """The overdue gauge of each agency this service has seen, and which ones the timer keeps fresh."""

    def setup(self) -> None:
        self._gauges: dict[str, OverdueGauge] = {}
        self._lock = threading.Lock()
        started_for = str(self.container.config.get("AGENCY_ID", ""))
        if started_for:
            self.gauge(started_for)

    def gauge(self, agency_id: str) -> OverdueGauge:
        with self._lock:
            gauge = self._gauges.get(agency_id)
            if gauge is None:
                gauge = self._gauges[agency_id] = OverdueGauge(agency_id)
            return gauge

    def watched(self) -> list[str]:
        with self._lock:
            return sorted(self._gauges)

    def get_dependency(self, worker_ctx) -> Agencies:
        return self


class WorkerContext(DependencyProvider):
    """The worker's context, so that the timer can act as the agency's system actor towards routing."""

    def get_dependency(self, worker_ctx) -> Any:
        return worker_ctx


def _period(date_from: str | None, date_to: str | None) -> tuple[str, str]:
    try:
        start = date.fromisoformat(str(date_from)[:10]) if date_from else vn_date(clock.now_utc()).replace(day=1)
        end = date.fromisoformat(str(date_to)[:10]) if date_to else vn_date(clock.now_utc())
    except ValueError as exc:
        raise ValidationFailed("Ngày không hợp lệ (dạng YYYY-MM-DD).", field="date",
                               value=f"{date_from}..{date_to}") from exc
    if end < start:
        raise ValidationFailed("Ngày kết thúc phải sau ngày bắt đầu.", field="date_to", value=str(date_to))
    return start.isoformat(), end.isoformat()


def _file(name: str, fmt: str, data: bytes) -> dict[str, Any]:
    return {"filename": f"{name}.{fmt}", "content_type": FORMATS[fmt], "size": len(data),
            "data": base64.b64encode(data).decode("ascii")}


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationFailed("Định dạng tệp không được hỗ trợ (chỉ PDF hoặc XLSX).", field="fmt", value=fmt)
    return fmt


class ReportingService:
    name = "reporting"
    actor = ActingUser()
    metrics = RpcMetrics()
    agencies = Agencies()
    context = WorkerContext()
    registry = RpcProxy("registry")
    routing = RpcProxy("routing")

    # --- plumbing ---

    def _caller(self, *roles: str) -> Actor:
        """The acting user, whose agency every figure is of (registry and routing re-check it)."""
        actor = self.actor.required()
        actor.require(*roles)
        return actor

    def _unit_scope(self, actor: Actor) -> str | None:
        """Department heads see their own unit only; leaders, clerks and administrators the whole agency."""
        if actor.has(Role.LEADER, Role.CLERK, Role.ADMIN):
            return None
        return actor.unit or domain.NO_UNIT

    def _build(self, actor: Actor, date_from: str, date_to: str) -> dict[str, Any]:
        unit = self._unit_scope(actor)
        facts = self.routing.report_handlings(date_from, date_to)
        incoming = self.registry.report_register("incoming", date_from, date_to)
        outgoing = self.registry.report_register("outgoing", date_from, date_to)
        summary = domain.incoming_summary(facts, clock.now_utc(), unit)
        rejected = incoming["arrived_by_state"].get("rejected", 0)
        return {
            "agency_id": actor.agency_id, "organ_name": incoming.get("organ_name") or actor.agency_id,
            "date_from": date_from, "date_to": date_to, "unit": unit,
            "registered": len(incoming["rows"]), "rejected": rejected if unit is None else 0,
            "arrived_by_state": incoming["arrived_by_state"] if unit is None else {},
            "incoming": summary,
            # Outgoing figures are the agency's: a department head sees them only for the whole agency view.
            "outgoing": domain.outgoing_summary(outgoing["rows"] if unit is None else []),
            "generated_at": clock.now_utc().isoformat(timespec="seconds"),
        }

    # --- reports ---

    @rpc
    def report(self, date_from: str | None = None, date_to: str | None = None) -> dict[str, Any]:
        actor = self._caller(*REPORT_READERS)
        start, end = _period(date_from, date_to)
        result = self._build(actor, start, end)
        self._refresh_from_open(actor.agency_id)
        return result

    @rpc
    def report_file(self, date_from: str | None = None, date_to: str | None = None,
                    fmt: str = "pdf") -> dict[str, Any]:
        actor = self._caller(*REPORT_READERS)
        _check_format(fmt)
        start, end = _period(date_from, date_to)
        report = self._build(actor, start, end)
        sections = domain.report_sections(report)
        title = "BÁO CÁO TÌNH HÌNH TIẾP NHẬN, XỬ LÝ VĂN BẢN"
        period = domain.period_text(start, end)
        maker = pdf.report_pdf if fmt == "pdf" else xlsx.report_xlsx
        return _file(f"bao-cao-{start}-{end}", fmt, maker(title, report["organ_name"], period, sections))

    # --- printable registers ---

    @rpc
    def register_rows(self, direction: str, date_from: str, date_to: str) -> dict[str, Any]:
        """The register's lines (already in the columns of Phụ lục IV; the copies register's own) for the screen."""
        self._caller(*REGISTER_READERS)
        start, end = _period(date_from, date_to)
        return self._register(direction, start, end)

    def _register(self, direction: str, start: str, end: str) -> dict[str, Any]:
        if direction not in REGISTER_TITLES:
            raise ValidationFailed("Loại sổ không hợp lệ (văn bản đến, văn bản đi hoặc bản sao).", field="direction",
                                   value=direction)
        data = self.registry.report_register(direction, start, end)
        if direction == "incoming":
            # A document's handling opens when it is registered, on or after its arrival day: from `start` on.
            facts = self.routing.report_handlings(start, None) if data["rows"] else None
            columns, lines = domain.INCOMING_COLUMNS, domain.incoming_register_rows(data["rows"], facts)
        elif direction == "copies":
            staff = self.routing.report_staff() if data["rows"] else {}  # routing keeps the staff's names
            columns, lines = copies_register.COPIES_COLUMNS, copies_register.copies_register_rows(data["rows"], staff)
        else:
            columns, lines = domain.OUTGOING_COLUMNS, domain.outgoing_register_rows(data["rows"])
        return {"title": REGISTER_TITLES[direction], "organ_name": data.get("organ_name") or "",
                "period": domain.period_text(start, end), "columns": [c[0] for c in columns],
                "widths": [c[1] for c in columns], "rows": lines, "date_from": start, "date_to": end}

    @rpc
    def register_file(self, direction: str, date_from: str, date_to: str, fmt: str = "pdf") -> dict[str, Any]:
        self._caller(*REGISTER_READERS)
        _check_format(fmt)
        start, end = _period(date_from, date_to)
        reg = self._register(direction, start, end)
        columns = list(zip(reg["columns"], reg["widths"], strict=True))
        if fmt == "pdf":
            data = pdf.register_pdf(reg["title"], reg["organ_name"], reg["period"], columns, reg["rows"],
                                    "bản sao" if direction == "copies" else "văn bản")
        else:
            data = xlsx.register_xlsx(reg["title"], reg["organ_name"], reg["period"], columns, reg["rows"])
        return _file(f"{REGISTER_FILES[direction]}-{start}-{end}", fmt, data)

    # --- the overdue gauge ---

    def _refresh_from_open(self, agency_id: str) -> dict[str, int]:
        """routing answers for the agency of the acting user in the context (the caller's, or the timer's)."""
        facts = self.routing.report_handlings(None, None, True)
        per_unit = domain.overdue_by_unit(facts, clock.now_utc())
        self.agencies.gauge(agency_id).set(per_unit)
        if facts.get("registration_limit_hours"):
            REGISTRATION_LIMIT.labels(agency_id).set(float(facts["registration_limit_hours"]) * 3600)
        return per_unit

    @rpc
    def refresh_overdue(self) -> dict[str, int]:
        actor = self._caller(*REPORT_READERS, Role.SYSTEM)
        return self._refresh_from_open(actor.agency_id)

    # At start, then soon again until routing first answers (it may still be starting), then every interval.
    @startup_retry_timer(interval=OVERDUE_INTERVAL, first_retry=OVERDUE_FIRST_RETRY, max_retry=OVERDUE_MAX_RETRY)
    def refresh_overdue_timer(self) -> bool:
        refreshed = True
        for agency in self.agencies.watched():
            self.context.data[ACTOR_KEY] = system_actor(agency, "reporting").to_dict()
            try:
                self._refresh_from_open(agency)
            except Exception:  # routing absent or busy: the timer tries again; the gauge keeps its last value
                log.warning("overdue gauge refresh failed for %s", agency, exc_info=True)
                refreshed = False
            finally:
                self.context.data.pop(ACTOR_KEY, None)
        return refreshed
