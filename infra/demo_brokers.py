"""The demo's hubs, each on its own RabbitMQ (issue 17 item 5): the national hub on the demo stack's broker, the
provincial hubs of Tuyên Quang (H60) and Đà Nẵng (H17) on nodes of their own, the links between them over AMQPS
with mutual TLS, certificates from a CA minted at every `congvan up` (never committed).

Memory stays modest: every node flow-controls publishers at 15 % of the machine's memory instead of 40 %.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.broker_pki import BrokerCa
from infra.procs import ProcTable
from infra.rabbit_node import NodePorts, NodeTls, RabbitNode
from infra.stack import StackPorts
from services.interconnect import broker
from services.interconnect.topology import Topology

MEMORY_WATERMARK = 0.15
# Fixed, like the rest of the demo's ports (infra/stack.py DEMO_PORTS: 5682-5686, 15682).
PROVINCIAL_PORTS = {
    "H60": NodePorts(amqp=5692, mgmt=15692, prometheus=5693, dist=5694, epmd=5695, amqps=5696),
    "H17": NodePorts(amqp=5702, mgmt=15702, prometheus=5703, dist=5704, epmd=5705, amqps=5706),
}

# Each broker's link guard (services/interconnect/link_guard.py): its /metrics and /healthz.
GUARD_METRICS_PORTS = {"national": 19294, "H60": 19295, "H17": 19296}


@dataclass
class HubBrokers:
    topology: Topology                      # with each hub's broker endpoint
    national_tls: NodeTls                   # for the stack's broker
    nodes: dict[str, RabbitNode]            # the provincial hubs' nodes
    link_tls: dict[str, dict[str, str]]     # hub code -> its link certificate (broker.provision)
    api_uris: dict[str, str]                # hub code -> its broker's management API (admin)
    link_guards: dict[str, dict]            # hub code -> {crl_dir, metrics_port} of its broker's link guard


def prepare(topology: Topology, run_dir: Path, table: ProcTable, stack_ports: StackPorts,
            stack_api_uri: str, admin_password: str) -> HubBrokers:
    """Mint the certificates and describe the nodes; nothing is started yet."""
    ca = BrokerCa.create(Path(run_dir) / "tls")
    national = next(h.code for h in topology.hubs if h.parent is None)
    server = ca.server(national)
    national_tls = NodeTls(server.ca, server.cert, server.key, ca.crl_dir)
    nodes: dict[str, RabbitNode] = {}
    endpoints = {national: {"host": "localhost", "amqp_port": stack_ports.amqp, "amqps_port": stack_ports.amqps}}
    api_uris = {national: stack_api_uri}
    for hub in topology.hubs:
        if hub.code == national:
            continue
        ports = PROVINCIAL_PORTS[hub.code]
        files = ca.server(hub.code)
        nodes[hub.code] = RabbitNode(f"cvdemo{hub.code.lower()}", Path(run_dir) / "stack" / f"rabbitmq-{hub.code}",
                                     ports, admin_password=admin_password,
                                     tls=NodeTls(files.ca, files.cert, files.key, ca.crl_dir),
                                     memory_high_watermark=MEMORY_WATERMARK, table=table)
        endpoints[hub.code] = {"host": "localhost", "amqp_port": ports.amqp, "amqps_port": ports.amqps}
        api_uris[hub.code] = nodes[hub.code].admin_uri
    hubs = tuple(dataclasses.replace(h, broker=endpoints[h.code]) for h in topology.hubs)
    # `crl`: the hubs check their neighbours' brokers against the CA's CRL too (and cut an open link it revokes).
    link_tls = {h.code: {**ca.client(broker.hub_user(topology, h.code)).as_dict(), "crl": str(ca.crl_dir)}
                for h in topology.hubs}
    guards = {h.code: {"crl_dir": str(ca.crl_dir), "metrics_port": GUARD_METRICS_PORTS[h.code]} for h in topology.hubs}
    return HubBrokers(dataclasses.replace(topology, hubs=hubs), national_tls, nodes, link_tls, api_uris, guards)


def start(brokers: HubBrokers) -> None:
    for node in brokers.nodes.values():
        node.start(wait=False)
    for node in brokers.nodes.values():
        node.wait()


def with_broker_metrics(config_text: str, brokers: HubBrokers) -> str:
    """The demo's Prometheus configuration with the provincial brokers' metrics in the `rabbitmq` job."""
    doc = yaml.safe_load(config_text)
    for job in doc["scrape_configs"]:
        if job["job_name"] == "rabbitmq":
            job["static_configs"] += [{"targets": [f"127.0.0.1:{node.ports.prometheus}"], "labels": {"hub": code}}
                                      for code, node in brokers.nodes.items()]
    doc["scrape_configs"].append({"job_name": "link_guard", "static_configs": [
        {"targets": [f"127.0.0.1:{guard['metrics_port']}"], "labels": {"hub": code}}
        for code, guard in brokers.link_guards.items()]})
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
