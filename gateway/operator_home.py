"""The operators' home pages. Their work is the platform, not documents: without these panels their home page
showed only the internal notices.

The province operator (Sở TTTT): every agency's open problem reports, which must be fixed "tối đa không quá 03 (ba)
ngày làm việc" (Đà Nẵng QĐ 8849/QĐ-UBND Điều 10.3), and the agencies on the platform; read from the gateway's own
tables (no service call). Maintenance notices are not repeated here: every page, this one included, shows them in
its banner. The rows are in operator_home_rows.html; the same lists over REST: GET /api/v1/problems?state=open,
GET /api/v1/agencies.

The hub operator: the alerts firing on the hubs they run, and the dead letters and the inboxes past the registration
limit, from Prometheus as the queue page (gateway/monitoring.py, GET /api/v1/monitoring/queues) reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway import province_ops as ops
from gateway.app import Gateway, Viewer
from gateway.models import HostedAgency
from gateway.web import HOME_ROWS, Job, Panel
from services.common.clock import to_vn
from services.common.errors import CongVanError

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


def queues_panel(g: Gateway, v: Viewer) -> Panel:
    """The alerts firing, and in its note what waits to be handled: a failing Prometheus shows its error, as a
    failing service does on the other panels."""
    from gateway.monitoring import PATH, collect

    title = "Cảnh báo hàng đợi liên thông"
    try:
        data = collect(g, v)
    except CongVanError as exc:
        return Panel(title, None, exc.message_vi, PATH, "alerts")
    at_hubs = sum(h["dead_letters"] or 0 for h in data["hubs"])
    # The agencies an installation hosts share its broker identity, hence its dead-letter queue: counted once.
    rows = [a for h in data["hubs"] for a in h["agencies"]]
    installations = {a["inbox_of"] or a["organ_id"]: a["dead_letters"] or 0 for a in rows}
    late = sorted({a["name"] for a in rows if a["over_registration_limit"]})
    note = f"Hàng đợi lỗi: {at_hubs} gói tin ở trục, {sum(installations.values())} gói tin ở các cụm máy chủ."
    if late:
        note += (f" Gói tin chờ quá {data['registration_limit_hours']} giờ (thời hạn vào sổ) ở: {', '.join(late)}.")
    return Panel(title, data["alerts"], None, PATH, "alerts", "Không có cảnh báo nào đang kích hoạt.", note=note)


def operator_jobs(g: Gateway, v: Viewer) -> list[Job]:
    jobs: list[Job] = []
    if v.has("province_operator"):
        jobs += [lambda: [problems_panel(g)], lambda: [agencies_panel(g)]]
    if v.has("hub_operator"):
        jobs.append(lambda: [queues_panel(g, v)])
    return jobs
