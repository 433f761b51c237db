"""The operator's queue page (gateway/monitoring.py) on the real deployment, read from a real Prometheus.

A Prometheus scrapes the `deployment` fixture (every hub, edge, agency process, the gateway's metrics listener and
RabbitMQ) at the address the gateway was given (PROMETHEUS_URL). One dead letter is put in hub H60's `dead` queue and
one in Sở Nội vụ's own `dead` queue; then, in Chromium, the province's hub operator opens "Giám sát hàng đợi" from the
menu and finds the figures Prometheus has (hub dead letters, per agency waiting packages and dead letters); the REST
route gives the same; an agency administrator sees only their own agency's row; a clerk is refused in Vietnamese.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import httpx
import pika
import pytest
from playwright.sync_api import expect

from gateway import monitoring
from infra import procs
from infra.procs import ProcTable
from infra.prometheus import config, rule_files
from infra.stack import StackPorts
from services.interconnect import broker
from tests.deployment import demo_password
from tests.e2e.helpers import signed_in, wait_for

pytestmark = pytest.mark.browser
OPERATOR, H17_ADMIN, CLERK = "quancm.cntttq", "ngocvt.vpdn", "hoalt.vptq"
SNV, H17 = "000.00.09.H60", "000.00.00.H17"
PAGE, API = "/van-hanh/hang-doi", "/api/v1/monitoring/queues"
DASHBOARDS = Path(__file__).resolve().parents[2] / "infra" / "grafana" / "dashboards"


@pytest.fixture(scope="module")
def prometheus(deployment, stack_env, tmp_path_factory) -> str:
    """Prometheus where the gateway looks for it, with the deployment's generated configuration and the rules."""
    url = deployment.prometheus_url
    port = urllib.parse.urlsplit(url).port
    run = tmp_path_factory.mktemp("prometheus")
    ports = StackPorts(amqp=int(stack_env["RABBIT_PORT"]), mgmt=0, postgres=0, s3=0, prometheus=port)
    (run / "prometheus.yml").write_text(config(deployment.topology, ports, rule_files=rule_files(), interval="1s"))
    proc = procs.spawn(ProcTable(run), "prometheus",
                       ["prometheus", f"--config.file={run / 'prometheus.yml'}", f"--storage.tsdb.path={run / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{port}"],
                       port=port, health_url=f"{url}/-/ready", kind="infra")
    try:
        procs.wait_until(lambda: procs.http_ok(proc.health_url), 60, "prometheus", proc)
        yield url
    finally:
        procs.stop(proc)


def _admin_channel(stack_env, vhost: str):
    params = pika.URLParameters(stack_env["AMQP_ADMIN_URI"].rstrip("/") + "/" + urllib.parse.quote(vhost, safe=""))
    conn = pika.BlockingConnection(params)
    return conn, conn.channel()


def _dead_letter(stack_env, vhost: str, message_id: str) -> None:
    conn, ch = _admin_channel(stack_env, vhost)
    try:
        ch.confirm_delivery()
        ch.basic_publish(broker.DLX, "", b"<edXML/>", pika.BasicProperties(message_id=message_id, delivery_mode=2))
    finally:
        conn.close()


def _remove(stack_env, vhost: str, queue: str, message_id: str) -> None:
    conn, ch = _admin_channel(stack_env, vhost)
    try:
        keep = []
        while (got := ch.basic_get(queue))[0] is not None:
            method, props, _body = got
            if props.message_id == message_id:
                ch.basic_ack(method.delivery_tag)
            else:
                keep.append(method.delivery_tag)
        for tag in keep:
            ch.basic_nack(tag, requeue=True)
    finally:
        conn.close()


def _prom(url: str, query: str) -> int | None:
    result = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=10).json()["data"]["result"]
    return round(float(result[0]["value"][1])) if result else None


def test_the_page_shows_the_dashboards_figures():
    """Same PromQL as the Grafana dashboards (infra/grafana), the dashboard variable standing for what one sees."""
    exprs = []

    def walk(node) -> None:
        if isinstance(node, dict):
            exprs.extend(v for k, v in node.items() if k == "expr")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for path in DASHBOARDS.glob("*.json"):
        walk(json.loads(path.read_text()))
    assert all(any(q in e for e in exprs) for q in monitoring.QUERIES.values())
    narrowed = monitoring.queries(["H60"], ["000.00.00.H60"], ["agency.000.00.00.H60"])
    assert narrowed["inbox_depth"] == 'sum by (hub, agency) (congvan_hub_inbox_depth{hub=~"H60"})'
    assert narrowed["agency_dead"] == ('sum by (vhost) (rabbitmq_queue_messages{queue="dead", '
                                       'vhost=~"agency\\\\.000\\\\.00\\\\.00\\\\.H60"})')


def test_without_prometheus_the_page_says_so_and_the_api_answers_503(deployment):
    """Runs before the module's Prometheus starts (file order): nothing answers at PROMETHEUS_URL yet."""
    assert not procs.port_open(urllib.parse.urlsplit(deployment.prometheus_url).port)
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    operator = signed_in(base, OPERATOR, demo_password(deployment, OPERATOR))
    page = operator.get(PAGE)
    assert page.status_code == 200 and "Không đọc được số liệu giám sát từ Prometheus" in page.text
    # The operator's home page still comes, its queue panel saying why it has no figures.
    home = operator.get("/")
    assert home.status_code == 200 and "Cảnh báo hàng đợi liên thông" in home.text
    assert "Không đọc được số liệu giám sát từ Prometheus" in home.text
    api = operator.get(API)
    assert api.status_code == 503 and api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["title"].startswith("Không đọc được số liệu giám sát từ Prometheus")
    operator.close()


def test_operator_reads_queues_dead_letters_and_ages_in_the_browser(deployment, prometheus, browser, stack_env,
                                                                     artifacts_dir):
    topology = deployment.topology
    base = f"http://127.0.0.1:{topology.gateway_port}"
    hub_vhost, snv_vhost = broker.hub_vhost(topology, "H60"), broker.agency_vhost(topology, SNV)
    marker = f"queue-page-{time.time_ns()}"
    _dead_letter(stack_env, hub_vhost, marker)
    _dead_letter(stack_env, snv_vhost, marker)
    try:
        hub_dead_q = 'sum(congvan_hub_dead_letters{hub="H60"})'
        snv_dead_q = f'sum(rabbitmq_queue_messages{{queue="dead", vhost="{snv_vhost}"}})'
        wait_for(lambda: (_prom(prometheus, hub_dead_q) or 0) >= 1 and (_prom(prometheus, snv_dead_q) or 0) >= 1,
                 120, "both dead letters in Prometheus", every=1)
        hub_dead, snv_dead = _prom(prometheus, hub_dead_q), _prom(prometheus, snv_dead_q)
        # Sở Nội vụ is hosted by UBND tỉnh's installation: its row shows that installation's one inbox.
        installation = topology.installation_of(SNV)
        snv_depth = _prom(prometheus, f'sum(congvan_hub_inbox_depth{{hub="H60", agency="{installation}"}})')

        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill(OPERATOR)
        page.get_by_label("Mật khẩu").fill(demo_password(deployment, OPERATOR))
        page.get_by_role("button", name="Đăng nhập").click()
        # The home page sums up what waits: the hubs' dead letters, the alerts firing (or none).
        queues = page.locator("section.panel-alerts")
        expect(queues.get_by_role("heading", level=2)).to_contain_text("Cảnh báo hàng đợi liên thông")
        expect(queues.locator(".panel-note")).to_contain_text(f"Hàng đợi lỗi: {hub_dead} gói tin ở trục")
        queues.get_by_role("link", name="Xem tất cả").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Giám sát hàng đợi liên thông")
        hub = page.locator('section[data-hub="H60"]')
        expect(hub.get_by_role("heading", level=2)).to_have_text("Trục liên thông văn bản tỉnh Tuyên Quang")
        expect(page.locator('section[data-hub="H17"]')).to_have_count(0)   # not this operator's province
        expect(hub.locator('[data-figure="hub-dead"]')).to_have_text(str(hub_dead))
        row = hub.locator(f'tr[data-organ="{SNV}"]')
        expect(row).to_contain_text("Sở Nội vụ tỉnh Tuyên Quang")
        expect(row.locator('[data-figure="dead"]')).to_have_text(str(snv_dead))
        expect(row.locator('[data-figure="inbox-depth"]')).to_have_text(str(snv_depth))
        expect(page.get_by_text("Hàng đợi lỗi của trục")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "giam-sat-hang-doi.png"), full_page=True)

        operator = signed_in(base, OPERATOR, demo_password(deployment, OPERATOR))
        data = operator.get(API).json()
        [h60] = data["hubs"]
        assert (h60["code"], h60["dead_letters"]) == ("H60", hub_dead)
        by_organ = {a["organ_id"]: a for a in h60["agencies"]}
        assert set(by_organ) >= {a.organ_id for a in topology.agencies_of("H60")}
        assert (by_organ[SNV]["dead_letters"], by_organ[SNV]["inbox_depth"]) == (snv_dead, snv_depth)
        assert by_organ[SNV]["inbox_of"] == installation and by_organ[installation]["inbox_of"] is None
        operator.close()
    finally:
        _remove(stack_env, hub_vhost, broker.Credentials.load(deployment.run_dir).queue(broker.DEAD_QUEUE), marker)
        _remove(stack_env, snv_vhost, broker.DEAD_QUEUE, marker)


def test_an_administrator_sees_only_their_agency_and_a_clerk_is_refused(deployment, prometheus):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    admin = signed_in(base, H17_ADMIN, demo_password(deployment, H17_ADMIN))
    r = admin.get(API)
    assert r.status_code == 200, r.text[:500]
    [hub] = r.json()["hubs"]
    assert hub["code"] == "H17" and hub["dead_letters"] is None   # the hub's own figures are its operator's
    assert [a["organ_id"] for a in hub["agencies"]] == [H17]
    page = admin.get(PAGE)
    assert page.status_code == 200 and f'data-organ="{H17}"' in page.text and 'data-figure="hub-dead"' not in page.text
    admin.close()
    clerk = signed_in(base, CLERK, demo_password(deployment, CLERK))
    refused = clerk.get(API)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert "người vận hành trục liên thông" in refused.json()["title"]
    page = clerk.get(PAGE)
    assert page.status_code == 403 and "người vận hành trục liên thông" in page.text
    assert 'href="/van-hanh/hang-doi"' not in clerk.get("/").text
    clerk.close()
