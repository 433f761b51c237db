"""Operations as documented (issue 21, item 7): what an operator of the demo finds.

- The demo's Prometheus loads the alert rules (its configuration used to have no `rule_files`: 0 rules loaded).
- The gateway's /metrics is not a page of its web port; it is served on a listener of its own, on 127.0.0.1, and
  that listener is what Prometheus scrapes.
"""

from __future__ import annotations

import httpx
import yaml

from infra import procs
from infra.demo import demo_prometheus_config
from infra.procs import ProcTable
from infra.prometheus import ALERT_RULES, scrape_targets
from services.interconnect.topology import DEMO


def test_the_demos_prometheus_loads_every_alert_rule(tmp_path):
    expected = sum(1 for g in yaml.safe_load(ALERT_RULES.read_text())["groups"] for r in g["rules"] if "alert" in r)
    assert expected > 0
    port = procs.free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(demo_prometheus_config(DEMO))
    proc = procs.spawn(ProcTable(tmp_path), "prometheus",
                       ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{port}"],
                       port=port, health_url=f"http://127.0.0.1:{port}/-/ready", kind="infra")
    try:
        procs.wait_until(lambda: procs.http_ok(proc.health_url), 60, "prometheus", proc)
        groups = httpx.get(f"http://127.0.0.1:{port}/api/v1/rules", timeout=10).json()["data"]["groups"]
        loaded = [r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"]
        assert len(loaded) == expected and "DeadLettersWaiting" in loaded
    finally:
        procs.stop(proc)


def test_gateway_metrics_are_not_on_the_web_port(deployment):
    topology = deployment.topology
    web = f"http://127.0.0.1:{topology.gateway_port}"
    assert httpx.get(f"{web}/dang-nhap", timeout=30).status_code == 200   # a page, so the counters move
    assert httpx.get(f"{web}/metrics", timeout=30).status_code == 404
    assert topology.gateway_metrics_port and topology.gateway_metrics_port != topology.gateway_port
    text = httpx.get(f"http://127.0.0.1:{topology.gateway_metrics_port}/metrics", timeout=30).text
    assert 'congvan_http_requests_total{method="GET",route="/dang-nhap",status="2xx"}' in text
    listening = {line.split()[3] for line in procs_ss_lines() if f":{topology.gateway_metrics_port}" in line}
    assert listening == {f"127.0.0.1:{topology.gateway_metrics_port}"}   # loopback only
    assert scrape_targets(topology)["gateway"] == [{"targets": [f"127.0.0.1:{topology.gateway_metrics_port}"]}]


def procs_ss_lines() -> list[str]:
    import subprocess

    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]
