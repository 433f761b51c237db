"""The operator's queue page ("Giám sát hàng đợi"): per hub and per agency, what waits in the hubs' queues.

No Grafana server can run on the project's machines, so the demo shows in the gateway the figures of the Grafana
dashboards (infra/grafana: "Gói tin chờ trong hộp thư", "Gói tin chờ lâu nhất", "Hàng đợi lỗi"), read with the same
PromQL from Prometheus (PROMETHEUS_URL): per hub its dead letters; per agency the packages waiting in its inbox, the
age of the oldest one (against the 8-hour registration limit), the dead letters of its own vhost and what its edge
has recorded but the hub not yet confirmed; and the alerts firing for them.

Who sees what: a `hub_operator` sees the hubs hub_rules.hubs_visible gives (the hub serving their agency, every hub
for the national hub's operator) with all their agencies; an agency's `admin` sees their own agency's row. Everyone
else is refused. Page: GET /van-hanh/hang-doi; REST: GET /api/v1/monitoring/queues (same figures, JSON).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from gateway.app import Gateway, Viewer, gw, render, viewer
from gateway.hub_reports import hub_config
from services.common.clock import to_vn
from services.common.errors import CongVanError, Forbidden
from services.common.workcalendar import DEFAULT_REGISTRATION_LIMIT_HOURS
from services.reporting import hub_rules

log = logging.getLogger(__name__)
PATH = "/van-hanh/hang-doi"
API_PATH = "/monitoring/queues"
ROLES = ("hub_operator", "admin")
LIMIT_SECONDS = DEFAULT_REGISTRATION_LIMIT_HOURS * 3600

# The dashboards' queries (infra/grafana/build.py), with the dashboard variable ($hub, $vhost) replaced by the
# hubs and vhosts this person may see.
QUERIES = {
    "inbox_depth": 'sum by (hub, agency) (congvan_hub_inbox_depth{hub=~"$hub"})',
    "oldest_age": 'max by (hub, agency) (congvan_hub_inbox_oldest_age_seconds{hub=~"$hub"})',
    "hub_dead": 'sum by (hub) (congvan_hub_dead_letters{hub=~"$hub"})',
    "agency_dead": 'sum by (vhost) (rabbitmq_queue_messages{queue="dead", vhost=~"$vhost"})',
    "outbox": 'sum by (agency) (congvan_edge_outbox_backlog{agency=~"$agency"})',
    "alerts": 'ALERTS{alertstate="firing"}',
}
ALERTS_VI = {
    "DeadLettersWaiting": "Có gói tin trong hàng đợi lỗi",
    "InboxOlderThanRegistrationLimit": "Gói tin chờ trong hộp thư quá thời hạn vào sổ",
    "RejectedPackagesSpike": "Trục từ chối nhiều gói tin",
    "EdgeOutboxBacklogGrowing": "Gói tin chờ gửi của cơ quan tăng dần",
    "ServiceOutboxBacklogGrowing": "Sự kiện chờ chuyển của dịch vụ tăng dần",
    "ProcessDown": "Tiến trình không hoạt động",
    "SigningCertificateExpiresSoon": "Chứng thư số sắp hết hạn",
}


class MonitoringUnavailable(CongVanError):
    code = "monitoring_unavailable"
    http_status = 503


# -- what a person may see -----------------------------------------------------------------------------------

def scope(v: Viewer, config: dict[str, dict[str, Any]]) -> tuple[dict[str, list[str]], bool]:
    """hub code -> the organ ids this person sees under it, and whether they see the hubs' own figures."""
    is_operator, is_admin = v.has("hub_operator"), v.has("admin")
    if not (is_operator or is_admin):
        raise Forbidden("Chỉ người vận hành trục liên thông và quản trị hệ thống của cơ quan xem được trang giám sát "
                        "hàng đợi.", user=v.user.username)
    seen: dict[str, list[str]] = {}
    if is_operator:
        for code in hub_rules.hubs_visible(v.user.agency_id, config):
            seen[code] = list(config[code].get("agencies") or [])
    if is_admin:
        for code, hub in config.items():
            if v.user.agency_id in (hub.get("agencies") or []) and v.user.agency_id not in seen.get(code, []):
                seen.setdefault(code, []).append(v.user.agency_id)
    if not seen:
        raise Forbidden("Cơ quan của bạn không có trong cấu hình các trục liên thông của hệ thống.",
                        user=v.user.username, agency=v.user.agency_id)
    return seen, is_operator


def vhost_of(amqp_uri: str | None) -> str | None:
    """The vhost of an agency's services (the path of its AMQP URI in AGENCIES_FILE)."""
    if not amqp_uri:
        return None
    path = urllib.parse.urlsplit(amqp_uri).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else None


def _alternatives(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in names) or "^$"


def queries(hubs: list[str], agencies: list[str], vhosts: list[str]) -> dict[str, str]:
    """The dashboards' queries, narrowed to what this person sees (PromQL regexes are anchored)."""
    fill = {"$hub": _alternatives(hubs), "$agency": _alternatives(agencies), "$vhost": _alternatives(vhosts)}
    out = {}
    for key, query in QUERIES.items():
        for var, value in fill.items():
            query = query.replace(var, value.replace("\\", "\\\\"))
        out[key] = query
    return out


# -- Prometheus ----------------------------------------------------------------------------------------------

def prometheus_query(url: str, query: str, timeout: float) -> list[dict[str, Any]]:
    """One instant query; the result vector (`metric` labels and `value`)."""
    try:
        r = httpx.get(f"{url.rstrip('/')}/api/v1/query", params={"query": query}, timeout=timeout)
        body = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise MonitoringUnavailable(f"Không đọc được số liệu giám sát từ Prometheus ({url}); hãy kiểm tra tiến trình "
                                    "Prometheus rồi tải lại trang.", url=url, reason=type(exc).__name__) from exc
    if r.status_code != 200 or body.get("status") != "success":
        raise MonitoringUnavailable("Prometheus không trả lời được truy vấn giám sát hàng đợi.", url=url,
                                    status=r.status_code, error=str(body.get("error", ""))[:200], query=query)
    return body["data"]["result"]


def read_all(url: str, qs: dict[str, str], timeout: float) -> dict[str, list[dict[str, Any]]]:
    with ThreadPoolExecutor(max_workers=len(qs)) as pool:
        results = dict(zip(qs, pool.map(lambda q: prometheus_query(url, q, timeout), qs.values()), strict=True))
    return results


# -- the figures ---------------------------------------------------------------------------------------------

def _value(sample: dict[str, Any]) -> float:
    return float(sample["value"][1])


def _count(value: float | None) -> int | None:
    return None if value is None else round(value)


def figures(seen: dict[str, list[str]], show_hubs: bool, config: dict[str, dict[str, Any]],
            names: dict[str, str], vhosts: dict[str, str], results: dict[str, list[dict[str, Any]]],
            at: datetime, inboxes: dict[str, str] | None = None) -> dict[str, Any]:
    """The page's and the API's figures from the query results (pure: no I/O). A figure Prometheus has no series
    for is None ("chưa có số liệu"), never a made-up 0. `inboxes`: the installation whose one inbox serves each
    hosted agency (docs/interconnect.md "One edge per installation"); its row shows that shared inbox."""
    inboxes = inboxes or {}
    depth = {(s["metric"].get("hub"), s["metric"].get("agency")): _value(s) for s in results["inbox_depth"]}
    age = {(s["metric"].get("hub"), s["metric"].get("agency")): _value(s) for s in results["oldest_age"]}
    hub_dead = {s["metric"].get("hub"): _value(s) for s in results["hub_dead"]}
    vhost_dead = {s["metric"].get("vhost"): _value(s) for s in results["agency_dead"]}
    outbox = {s["metric"].get("agency"): _value(s) for s in results["outbox"]}
    hubs = []
    for code in sorted(seen, key=lambda c: (bool(config.get(c, {}).get("parent")), c)):
        rows = []
        counted: dict[str, int | None] = {}
        for organ in sorted(seen[code]):
            inbox = inboxes.get(organ) or organ
            oldest = age.get((code, inbox))
            waiting = depth.get((code, inbox))
            counted[inbox] = _count(waiting)
            rows.append({
                "organ_id": organ, "name": names.get(organ, organ),
                "inbox_of": inbox if inbox != organ else None,
                "inbox_depth": _count(waiting),
                "oldest_age_seconds": None if oldest is None or not waiting else round(oldest, 1),
                "over_registration_limit": bool(waiting and oldest is not None and oldest > LIMIT_SECONDS),
                "dead_letters": _count(vhost_dead.get(vhosts[organ])) if organ in vhosts else None,
                "outbox_backlog": _count(outbox.get(organ)),
            })
        known = [depth for depth in counted.values() if depth is not None]   # a shared inbox counts once
        hubs.append({"code": code, "name": config.get(code, {}).get("name") or code,
                     "dead_letters": _count(hub_dead.get(code)) if show_hubs else None,
                     "inbox_total": sum(known) if known else None, "agencies": rows})
    visible_agencies = {o for organs in seen.values() for o in organs}
    alerts = []
    for s in results["alerts"]:
        labels = s["metric"]
        hub, agency = labels.get("hub"), labels.get("agency")
        mine = (agency in visible_agencies) or (show_hubs and hub in seen) or (show_hubs and not agency and not hub)
        if mine:
            name = labels.get("alertname", "")
            alerts.append({"alert": name, "title": ALERTS_VI.get(name, name), "severity": labels.get("severity", ""),
                           "hub": hub, "agency": agency, "agency_name": names.get(agency, agency) if agency else None,
                           "instance": labels.get("instance")})
    alerts.sort(key=lambda a: (a["severity"] != "critical", a["alert"], a["hub"] or "", a["agency"] or ""))
    return {"generated_at": to_vn(at).isoformat(timespec="seconds"), "registration_limit_hours":
            DEFAULT_REGISTRATION_LIMIT_HOURS, "hubs": hubs, "alerts": alerts}


def collect(g: Gateway, v: Viewer) -> dict[str, Any]:
    config = hub_config(g)
    seen, show_hubs = scope(v, config)
    url = g.settings.prometheus_url
    if not url:
        raise MonitoringUnavailable("Chưa cấu hình máy chủ Prometheus (PROMETHEUS_URL) cho cổng thông tin nên chưa "
                                    "có số liệu giám sát hàng đợi.")
    organs = sorted({o for organs in seen.values() for o in organs})
    vhosts = {o: vh for o in organs if (vh := vhost_of(g.backends.info(o).get("amqp_uri")))}
    names = {o: g.backends.name_of(o) for o in organs}
    inboxes = {o: g.backends.info(o).get("installation") or o for o in organs}
    results = read_all(url, queries(sorted(seen), sorted({*organs, *inboxes.values()}), sorted(vhosts.values())),
                       g.settings.prometheus_timeout)
    return figures(seen, show_hubs, config, names, vhosts, results, datetime.now(UTC), inboxes)


# -- REST ----------------------------------------------------------------------------------------------------

class AgencyQueues(BaseModel):
    organ_id: str
    name: str
    inbox_of: str | None = Field(None, description="Cụm máy chủ (installation) có hộp thư chung phục vụ cơ quan; "
                                                   "null: hộp thư của chính cơ quan")
    inbox_depth: int | None = Field(description="Gói tin chờ trong hộp thư của cơ quan tại trục (null: chưa có "
                                                "số liệu)")
    oldest_age_seconds: float | None = Field(description="Tuổi của gói tin chờ lâu nhất, giây (null: không có gói chờ)")
    over_registration_limit: bool = Field(description="Gói tin chờ lâu nhất đã quá thời hạn vào sổ")
    dead_letters: int | None = Field(description="Gói tin trong hàng đợi lỗi của cơ quan")
    outbox_backlog: int | None = Field(description="Gói tin cơ quan đã ghi nhưng trục chưa xác nhận")


class HubQueues(BaseModel):
    code: str
    name: str
    dead_letters: int | None = Field(description="Gói tin trong hàng đợi lỗi của trục (null với quản trị cơ quan)")
    inbox_total: int | None
    agencies: list[AgencyQueues]


class FiringAlert(BaseModel):
    alert: str
    title: str = Field(description="Tên cảnh báo bằng tiếng Việt")
    severity: str
    hub: str | None
    agency: str | None
    agency_name: str | None
    instance: str | None


class QueueMonitor(BaseModel):
    generated_at: str = Field(description="Thời điểm lấy số liệu, giờ Việt Nam (ISO 8601)")
    registration_limit_hours: int
    hubs: list[HubQueues]
    alerts: list[FiringAlert]


def _router() -> APIRouter:
    from gateway.api import COMMON_ERRORS, bearer

    router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])

    @router.get(API_PATH, response_model=QueueMonitor, tags=["Vận hành"], summary="Giám sát hàng đợi liên thông",
                description="Hàng đợi của các trục và cơ quan mà người vận hành trục (hoặc quản trị cơ quan) được "
                            "xem, đọc từ Prometheus: gói tin chờ, gói chờ lâu nhất, hàng đợi lỗi, cảnh báo.")
    def queue_monitor(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, Any]:
        return collect(g, v)

    return router


def install(app: FastAPI) -> None:
    app.include_router(_router())

    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def queue_monitor_page(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        try:
            data = collect(g, v)
        except MonitoringUnavailable as exc:
            # The page itself works: it tells the operator that the figures' source is down (the API answers 503).
            log.warning("queue page without figures: %s %s", exc.message_vi, exc.details)
            return render(request, "monitoring_queues.html", v, data=None, error=exc.message_vi)
        return render(request, "monitoring_queues.html", v, data=data, duration=hub_rules.duration_text, error=None,
                      generated=to_vn(datetime.fromisoformat(data["generated_at"])).strftime("%H:%M:%S %d/%m/%Y"))
