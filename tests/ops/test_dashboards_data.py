"""Every dashboard panel and alert rule returns data on a Prometheus that scrapes the whole deployment.

A Prometheus of its own (configuration generated from the `deployment` fixture's topology by infra/prometheus.py,
so every hub, agency process, edge and the gateway is a target, plus RabbitMQ) scrapes every second while a
little traffic goes through the gateway and the hubs: a document from Tuyên Quang to Đà Nẵng (three hubs), a
leader's look at the report screen, and one unreadable package at a provincial hub and at the national hub (so the
rejection counters exist). Then
`queries_without_data` must be empty, except the queries named in ALLOWED_EMPTY with the reason.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from infra import procs
from infra.grafana import build
from infra.procs import ProcTable
from infra.prometheus import config, rule_files, scrape_targets
from infra.stack import StackPorts
from services.interconnect import broker
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

SENDER, RECEIVER, MINISTRY = "000.00.00.H60", "000.00.00.H17", "000.00.00.G22"

# Queries that cannot have data yet, each with the reason. Nothing else may be empty. (The storage gauges were
# here until the storage service set them on its own timer.)
ALLOWED_EMPTY: dict[str, str] = {
    "max by (agency, code) (congvan_lgsp_edge_configuration_error)":
        "only an installation on an LGSP exports it, and the deployment has none (its edges are on RabbitMQ); "
        "tests/interconnect/test_lgsp_edge.py reads it from a real LGSP edge, infra/prometheus/tests the rule",
    "sum by (hub, direction) (increase(congvan_hub_link_closed_by_crl_total[15m]))":
        "counted when a CRL cuts an open link between hubs on their own brokers; the deployment's hubs share the "
        "test broker, with no TLS link and no link guard (tests/interconnect/test_hub_brokers_tls.py cuts such "
        "links and checks the logs; infra/prometheus/tests/HubLinkClosedByRevocation.yml the rule)",
    "max by (hub) (congvan_hub_link_crl_problem)":
        "set by the link guard beside each hub's own broker, which the deployment's shared test broker does not "
        "have (the demo runs one per broker); infra/prometheus/tests/HubLinkCrlProblem.yml tests the rule",
}


@pytest.fixture
def prometheus(deployment, stack_env, tmp_path):
    """Prometheus on a free port with the deployment's generated configuration and the alert rules."""
    port = procs.free_port()
    ports = StackPorts(amqp=int(stack_env["RABBIT_PORT"]), mgmt=0, postgres=0, s3=0, prometheus=port)
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config(deployment.topology, ports, rule_files=rule_files(), interval="1s"))
    table = ProcTable(tmp_path)
    proc = procs.spawn(table, "prometheus",
                       ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{port}"],
                       port=port, health_url=f"http://127.0.0.1:{port}/-/ready", kind="infra")
    try:
        procs.wait_until(lambda: procs.http_ok(proc.health_url), 60, "prometheus", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        procs.stop(proc)


def submit_unreadable(deployment, organ: str) -> None:
    """What a broken edge would publish: the organ's hub refuses it (FORMAT_ERROR) and answers with a status 02."""
    import pika

    topology = deployment.topology
    creds = broker.Credentials.load(deployment.run_dir)
    user = broker.agency_user(topology, organ)
    conn = pika.BlockingConnection(creds.params(user, broker.hub_vhost(topology, topology.agency(organ).hub)))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        broker.publish(ch, broker.SUBMIT, "", b"<edXML><edXMLEnvelope><unclosed></edXML>", user_id=user,
                       message_id=f"ops-unreadable-{organ}-{time.time_ns()}")
    finally:
        conn.close()


def send_document(deployment) -> None:
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    subject = f"Về việc kiểm tra số liệu giám sát {time.time_ns()}"
    sender = signed_in(base, "hoalt.vptq", demo_password(deployment, "hoalt.vptq"))
    form = sender.get("/van-ban-di/gui")
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    sent = sender.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",
        "code_number": number, "code_notation": "UBND-GS",
        "promulgation_date": "2026-11-20", "type_code": "CV", "priority": "0", "subject": subject,
        "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch", "recipients": [RECEIVER],
    }, files={"file": ("giam-sat.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject),
                       "application/pdf")})
    assert sent.status_code == 303, sent.text[:2000]
    receiver = signed_in(base, "namtv.vpdn", demo_password(deployment, "namtv.vpdn"))
    wait_for(lambda: subject in receiver.get("/van-ban-den/cho-tiep-nhan").text, 240, "the document in Đà Nẵng")
    # A leader looks at the report screen (which also refreshes the overdue gauge, see docs/operations.md).
    leader = signed_in(base, "annv.vptq", demo_password(deployment, "annv.vptq"))
    assert leader.get("/bao-cao").status_code == 200
    for client in (sender, receiver, leader):
        client.get("/")
        client.close()


def test_every_dashboard_and_rule_query_returns_data(deployment, prometheus):
    # Every process of the topology is a target and is up.
    jobs = scrape_targets(deployment.topology)
    expected = sum(len(t) for t in jobs.values()) + 1          # + RabbitMQ

    def all_up():
        answer = build.query(prometheus, "up")["data"]["result"]
        return len(answer) == expected and all(r["value"][1] == "1" for r in answer)

    wait_for(all_up, 180, "every target scraped and up")

    send_document(deployment)
    submit_unreadable(deployment, SENDER)      # refused by the Tuyên Quang hub
    submit_unreadable(deployment, MINISTRY)    # refused by the national hub (Văn phòng Chính phủ is served there)

    def empty_now() -> list[str]:
        return [q for q in build.queries_without_data(prometheus) if q not in ALLOWED_EMPTY]

    last: list[list[str]] = [[]]

    def settled() -> bool:
        last[0] = empty_now()
        return not last[0]

    try:
        wait_for(settled, 240, "every query to have data", every=2)
    except AssertionError:
        pytest.fail("queries without data:\n" + "\n".join(last[0]))
    checked = [e for _u, _t, e in build.panel_queries()] + [build._without_comparison(e) for _n, e in
                                                             build.rule_queries()]  # as queries_without_data has them
    for expr in ALLOWED_EMPTY:
        assert expr in checked, f"the allow-list names a query that no longer exists: {expr}"
    with httpx.Client() as client:   # and the alert rules were loaded and evaluated
        groups = client.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
    assert {r["name"] for g in groups for r in g["rules"]} >= {n for n, _ in build.rule_queries()}
    assert all(r["health"] == "ok" for g in groups for r in g["rules"])
