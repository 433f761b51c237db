"""The province operator's home page (Sở TTTT): what waits for them across every hosted agency, read from the
gateway's own tables (no service call). Maintenance notices are not repeated here: every page, this one included,
shows them in its banner. The operator's work is the platform, not documents: without these panels
their home page showed only the internal notices, and the problem reports that must be fixed "tối đa không quá 03
(ba) ngày làm việc" (Đà Nẵng QĐ 8849/QĐ-UBND Điều 10.3) were a click further away. The rows are in
province_home_rows.html; the same lists over REST: GET /api/v1/problems?state=open, GET /api/v1/agencies."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway import province_ops as ops
from gateway.app import Gateway, Viewer
from gateway.models import HostedAgency
from gateway.web import HOME_ROWS, Job, Panel
from services.common.clock import to_vn

# Not work waiting for the operator: left out of the app badge's count (home.html data-waiting).
NOT_WAITING = frozenset({"agencies"})


def _joined(agency: HostedAgency) -> datetime:
    moment = agency.created_at or datetime.min
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)   # SQLite hands back naive UTC


def problems_panel(g: Gateway) -> Panel:
    """Open reports of every agency, the oldest due first (problem_queue's order), overdue ones flagged."""
    names = {a.organ_id: a.name for a in g.platform.agencies()}
    queue = ops.problem_queue(g.db, names, state="open")
    return Panel("Báo lỗi chờ xử lý", queue[:HOME_ROWS], None, "/van-hanh/bao-loi?trang_thai=open", "problems",
                 "Không có biên bản báo lỗi chờ xử lý.", total=len(queue))


def agencies_panel(g: Gateway) -> Panel:
    """Every hosted agency counted; the rows are the latest to join (onboarding is the operator's daily change)."""
    agencies = g.platform.agencies()
    latest = sorted(agencies, key=_joined, reverse=True)[:HOME_ROWS]
    return Panel("Cơ quan trên nền tảng", [{"organ_id": a.organ_id, "name": a.name, "disabled": bool(a.disabled),
                                            "installation": a.installation,
                                            "joined": f"{to_vn(_joined(a)):%d/%m/%Y}" if a.created_at else ""}
                                           for a in latest], None, "/van-hanh/co-quan", "agencies",
                 "Chưa có cơ quan nào.", total=len(agencies))


def province_jobs(g: Gateway, v: Viewer) -> list[Job]:
    if not v.has("province_operator"):
        return []
    return [lambda: [problems_panel(g)], lambda: [agencies_panel(g)]]
