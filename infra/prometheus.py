"""Prometheus scrape configuration generated from a topology, so that every process is scraped."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.stack import StackPorts
from services.interconnect.topology import Topology


def scrape_targets(topology: Topology) -> dict[str, list[dict]]:
    hubs = [{"targets": [f"127.0.0.1:{h.metrics_port}"], "labels": {"hub": h.code}} for h in topology.hubs]
    # One services process and one edge per installation (named by its first agency); hosted agencies have none.
    services = [{"targets": [f"127.0.0.1:{a.services_metrics_port}"], "labels": {"agency": a.organ_id}}
                for a in topology.installations()]
    edges = [{"targets": [f"127.0.0.1:{a.edge_metrics_port}"], "labels": {"agency": a.organ_id}}
             for a in topology.installations()]
    # The gateway's metrics listener, never its web port (where /metrics is not served).
    gateway = [{"targets": [f"127.0.0.1:{topology.gateway_metrics_port}"]}] if topology.gateway_metrics_port else []
    jobs = {"hub": hubs, "agency_services": services, "edge": edges, "gateway": gateway}
    # A hub's HTTP APIs (VDXP, LGSP), where the topology runs them.
    for name in ("vdxp_api", "lgsp_api"):
        http_api = topology.extra.get(name)
        if http_api:
            jobs[name] = [{"targets": [f"127.0.0.1:{http_api['metrics_port']}"], "labels": {"hub": http_api["hub"]}}]
    return jobs


def config(topology: Topology, ports: StackPorts, rule_files: list[str] | None = None,
           interval: str = "5s") -> str:
    jobs = [{"job_name": "rabbitmq", "static_configs": [{"targets": [f"127.0.0.1:{ports.rabbit_metrics}"]}]}]
    jobs += [{"job_name": name, "static_configs": targets} for name, targets in scrape_targets(topology).items()]
    doc = {"global": {"scrape_interval": interval, "evaluation_interval": interval}, "scrape_configs": jobs}
    if rule_files:
        doc["rule_files"] = rule_files
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


RULES_DIR = Path(__file__).resolve().parent / "prometheus"
ALERT_RULES = RULES_DIR / "alerts.yml"


def rule_files() -> list[str]:
    """Absolute paths of the alert rule files, for `config(..., rule_files=rule_files())`."""
    return [str(ALERT_RULES)]
