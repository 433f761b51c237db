"""A whole deployment for end-to-end and screen tests (fixture `deployment` in tests/conftest.py): hubs,
agencies, edges and the gateway as real processes.

It is the demo's topology with its own namespace on the test broker (vhosts `e2e<hex>.hub.H60`, ...) and free
ports, so it never collides with the demo or with other tests. Every process is stopped afterwards, even on failure.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

from infra import procs
from infra.demo import Deployment
from infra.procs import ProcTable
from services.interconnect.topology import DEMO, Topology


def e2e_topology() -> Topology:
    hubs = tuple(dataclasses.replace(h, metrics_port=procs.free_port()) for h in DEMO.hubs)
    # Ports for the installations' processes only: a hosted agency has none of its own.
    agencies = tuple(a if a.installation else
                     dataclasses.replace(a, services_metrics_port=procs.free_port(),
                                         edge_metrics_port=procs.free_port()) for a in DEMO.agencies)
    return Topology(hubs=hubs, agencies=agencies, gateway_port=procs.free_port(),
                    gateway_metrics_port=procs.free_port(),
                    extra={"namespace": f"e2e{secrets.token_hex(3)}.",
                           "vdxp_api": {"hub": "national", "port": procs.free_port(),
                                        "metrics_port": procs.free_port()},
                           "lgsp_api": {"hub": "H60", "port": procs.free_port(),
                                        "metrics_port": procs.free_port()}})


def start_deployment(stack_env, tmp_path_factory) -> Iterator[Deployment]:
    run_dir = tmp_path_factory.mktemp("deployment")
    topology = e2e_topology()
    # The gateway's queue page reads a Prometheus at this address; tests that need it start one there
    # (tests/e2e/test_queue_monitor.py), the others leave it unanswered.
    dep = Deployment(topology, run_dir, ProcTable(run_dir), stack_env["RABBIT_API_URI"], tsa_port=procs.free_port(),
                     prometheus_url=f"http://127.0.0.1:{procs.free_port()}",
                     # Web Push on, to the project's own push-protocol server on this machine (tests/push_service.py)
                     gateway_env={"PUSH_ENABLED": "true", "PUSH_SERVICES": "127.0.0.1", "PUSH_ALLOW_HTTP": "true",
                                  "PUSH_SUBJECT": "mailto:quantri@stttt.tuyenquang.gov.vn"})
    try:
        dep.start()
        dep.accounts_text = dep.seed(run_dir / "accounts.txt")
        allow_unsigned_send(dep)
        yield dep
    finally:
        dep.stop()
        from services.common.rabbit_admin import RabbitAdmin
        from services.interconnect.broker import unprovision

        admin = RabbitAdmin(stack_env["RABBIT_API_URI"])
        unprovision(admin, topology)
        admin.close()


def allow_unsigned_send(dep: Deployment, allowed: bool = True) -> None:
    """Most screen tests send a throwaway unsigned PDF on "Gửi văn bản", ticking "Vẫn gửi nếu chữ ký số không hợp
    lệ"; that needs the agency's permission (registry send policy, issue 18). The demo itself keeps the default:
    refused. tests/e2e/test_clerk_day.py turns it off to check the refusal."""
    from infra.demo_seed import seeding_admin
    from services.common.rpc_client import ServiceClient

    for organ_id, info in dep.agencies().items():
        client = ServiceClient(info["amqp_uri"], size=1, timeout=60)
        try:
            client.call("registry", "set_send_policy", seeding_admin(organ_id), allowed)
        finally:
            client.close()


def demo_password(dep: Deployment, username: str) -> str:
    for line in dep.accounts_text.splitlines():
        parts = line.split()
        if parts and parts[0] == username:
            return parts[1]
    raise KeyError(username)
