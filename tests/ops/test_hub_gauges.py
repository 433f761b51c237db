"""The hubs' queue gauges have data wherever a hub is started (issue 21, item 7).

`congvan_hub_inbox_depth` and `congvan_hub_dead_letters` come from the hub's queue poller, which reads the
management API. The hubs used to take its address from RABBIT_API_URI inherited from whoever started them: the
test suite had it (the stack's admin), `congvan up` had not, so on the demo both gauges had no series. Now the
deployment gives each hub the address with a user of its own (`monitor.hub.<code>`, management tag, no right on
any queue), whatever the environment of the process that starts it.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from infra import procs
from services.interconnect import broker


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _samples(port: int, name: str) -> dict[tuple, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples if s.name == name}


def _process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_every_hub_sets_its_depth_and_dead_letter_gauges(deployment, stack_env):
    topology = deployment.topology
    creds = broker.Credentials.load(deployment.run_dir)
    running = deployment.table.load()
    for hub in topology.hubs:
        # The hub runs with its own monitor user's address, not the admin's this test process happens to have.
        api = _process_env(running[f"hub.{hub.code}"].pid)["RABBIT_API_URI"]
        assert api == creds.api_uri(stack_env["RABBIT_API_URI"], broker.monitor_user(topology, hub.code))
        served = {a.organ_id for a in topology.installations_of(hub.code)}   # one inbox per installation

        def gauges_set(hub=hub, served=served) -> bool:
            depth = {dict(k)["agency"] for k in _samples(hub.metrics_port, "congvan_hub_inbox_depth")}
            dead = _samples(hub.metrics_port, "congvan_hub_dead_letters")
            return depth == served and (("hub", hub.code),) in dead

        procs.wait_until(gauges_set, 90, f"queue gauges of hub {hub.code}")


def test_every_edge_exports_its_outbox_backlog_from_the_start(deployment):
    """Shown on the operators' queue page ("Chờ trục xác nhận"): 0 for an edge that has sent nothing, not no data.
    One edge per installation, labelled with the installation's own agency."""
    for agency in deployment.topology.installations():
        procs.wait_until(lambda a=agency: (("agency", a.organ_id),) in _samples(a.edge_metrics_port,
                                                                                "congvan_edge_outbox_backlog"),
                         60, f"outbox backlog gauge of {agency.organ_id}")


def test_the_monitor_user_sees_only_its_hubs_queues(deployment, stack_env):
    topology = deployment.topology
    creds = broker.Credentials.load(deployment.run_dir)
    user = broker.monitor_user(topology, "H60")
    base = creds.api_uri(stack_env["RABBIT_API_URI"], user).split("@", 1)[1]
    vhost, inbox = _q(broker.hub_vhost(topology, "H60")), _q(creds.queue(broker.inbox_queue("000.00.00.H60")))
    with httpx.Client(base_url=f"http://{base}/api", auth=(user, creds.passwords[user]), timeout=10) as client:
        names = {q["name"] for q in client.get(f"/queues/{vhost}").json()}
        assert names >= set(map(creds.queue, ("relay", "dead", "upstream")))
        assert client.get(f"/queues/{_q(broker.hub_vhost(topology, 'national'))}").status_code == 401
        assert client.get(f"/queues/{_q(broker.agency_vhost(topology, '000.00.00.H60'))}").status_code == 401
        assert client.post(f"/queues/{vhost}/{inbox}/get",
                           json={"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"}).status_code == 401
        assert client.delete(f"/queues/{vhost}/{inbox}/contents").status_code == 401
