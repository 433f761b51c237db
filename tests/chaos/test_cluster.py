"""Scale-out on existing engines (issue 16 item 5): a three-node RabbitMQ cluster with quorum queues, two worker
processes of the installation's services behind the same queues, PostgreSQL, under a steady load of clerks
registering documents; one worker is killed with SIGKILL (its supervisor starts it again) and the node leading the
registry's queue is stopped while the load runs, and stays down.

Expected: every registration a clerk asked for is there exactly once, none lost; a clerk may see an error and try
again (the same form, the same request key: `metadata["request_key"]`, as the gateway's Idempotency-Key does).

The cluster is the test's own (three nodes on free ports sharing one epmd, infra/rabbit_node.py), never the shared
test stack. The services are real agency processes (`python -m services.common.agency_process`) with
`AMQP_URI` listing the three nodes (`amqp://n1/vh;amqp://n2/vh;amqp://n3/vh`: kombu, hence nameko, and
services/common/rpc_client.py try them in order) and `AMQP_QUORUM_QUEUES=1`.

Alone: `.venv/bin/python -m pytest tests/chaos/test_cluster.py -m chaos -s` (CLUSTER_SECONDS, CLUSTER_CLERKS).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import procs
from infra.procs import ProcTable
from infra.rabbit_node import NodePorts, RabbitNode
from services.common.actor import Actor, Role
from services.common.clock import now_utc, vn_date
from services.common.rabbit_admin import RabbitAdmin
from services.common.rpc_client import ServiceClient
from services.registry.numbering import numbering_year

pytestmark = pytest.mark.chaos

AGENCY = "000.00.00.H60"
VHOST = "installation.tuyenquang"
SERVICES = "services.registry.service:RegistryService,services.routing.service:RoutingService"
SECONDS = float(os.environ.get("CLUSTER_SECONDS", "50"))
CLERKS = int(os.environ.get("CLUSTER_CLERKS", "3"))
ADMIN = Actor(user_id="quantri", username="quantri", agency_id=AGENCY, roles=frozenset({Role.ADMIN}),
              full_name="Quản trị")
CLERK = Actor(user_id="thuvt.vp", username="thuvt.vp", agency_id=AGENCY, roles=frozenset({Role.CLERK}),
              full_name="Vũ Thị Thu", unit="VP")


@pytest.fixture
def cluster(tmp_path) -> Iterator[list[RabbitNode]]:
    """Three nodes, one Erlang cookie, one epmd (the nodes find each other through it), joined to the first."""
    table, cookie, password = ProcTable(tmp_path), secrets.token_hex(16), secrets.token_urlsafe(18)
    epmd = procs.free_port()
    nodes = [RabbitNode(f"cv{i}", tmp_path / f"cv{i}", dataclasses.replace(NodePorts.free(), epmd=epmd), password,
                        cookie=cookie, table=table, proc_names=(f"rabbitmq-cv{i}", "epmd-cluster"),
                        memory_high_watermark=0.15) for i in range(3)]
    try:
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait(180)
        for node in nodes[1:]:
            node.join(nodes[0])
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        epmd_proc = table.load().get("epmd-cluster")
        if epmd_proc is not None:
            procs.stop(epmd_proc)


def _running_nodes(node: RabbitNode) -> list[str]:
    out = node.rabbitmqctl("cluster_status", "--formatter", "json")
    import json

    return sorted(json.loads(out.stdout)["running_nodes"])


@dataclasses.dataclass
class Worker:
    """One agency process: a worker of every service it runs, on the cluster."""

    name: str
    proc: subprocess.Popen
    port: int

    @classmethod
    def start(cls, name: str, amqp_uri: str, env: dict[str, str], log_dir: Path) -> Worker:
        port = procs.free_port()
        log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 (kept open for the process's life)
        proc = subprocess.Popen([sys.executable, "-m", "services.common.agency_process", "--agency", AGENCY,
                                 "--amqp-uri", amqp_uri, "--metrics-port", str(port), "--services", SERVICES],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        procs.wait_until(lambda: procs.http_ok(f"http://127.0.0.1:{port}/healthz"), 180, f"worker {name}")
        return cls(name, proc, port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Supervisor:
    """What restarts a container in production (compose's `restart: unless-stopped`): a worker that died, killed or
    exiting on its own (services/common/agency_process.py exits when a service container dies), is started again."""

    def __init__(self, workers: list[Worker], amqp_uri: str, env: dict[str, str], log_dir: Path) -> None:
        self.workers, self.amqp_uri, self.env, self.log_dir = workers, amqp_uri, env, log_dir
        self.restarts: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            for i, worker in enumerate(self.workers):
                if worker.proc.poll() is not None:
                    self.restarts.append(f"{worker.name} (exit {worker.proc.returncode})")
                    self.workers[i] = Worker.start(f"{worker.name}-{len(self.restarts)}", self.amqp_uri, self.env,
                                                   self.log_dir)


def paper(key: str) -> dict:
    return {"code_number": key[-6:], "code_notation": "UBND-VX", "subject": f"Về việc kiểm thử cụm {key}",
            "type_code": "CV", "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang",
            "issued_date": vn_date(now_utc()).isoformat(), "request_key": key}


class Clerks:
    """Clerks registering paper documents, each request tried again (same key) until it is answered."""

    def __init__(self, client: ServiceClient, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self.answers: dict[str, str] = {}
        self.errors: Counter[str] = Counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counter = 0

    def _next_key(self) -> str:
        with self.lock:
            self.counter += 1
            return f"{self.prefix}-{self.counter:06d}"

    def run(self) -> None:
        while not self.stop.is_set():
            key = self._next_key()
            for _attempt in range(120):
                try:
                    doc = self.client.call("registry", "register_paper_incoming", CLERK, paper(key),
                                           [secrets.token_hex(32)])
                except Exception as exc:  # a dead worker or node: the clerk sees an error and sends it again
                    with self.lock:
                        self.errors[type(exc).__name__] += 1
                    time.sleep(0.5)
                    continue
                with self.lock:
                    self.answers[key] = doc["id"]
                break
            else:
                raise AssertionError(f"{key} never answered")
            time.sleep(0.05)


def _call_until_answered(client: ServiceClient, *args) -> object:
    deadline = time.monotonic() + 120
    while True:
        try:
            return client.call(*args)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_registrations_survive_a_killed_worker_and_a_stopped_node(cluster, pg_url, tmp_path):
    nodes = cluster
    assert _running_nodes(nodes[0]) == sorted(n.nodename for n in nodes)
    admin = RabbitAdmin(nodes[0].admin_uri)
    admin.add_vhost(VHOST)
    admin.set_permissions(VHOST, "admin")
    amqp = ";".join(n.amqp_uri + VHOST for n in nodes)
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL", "AMQP_URI")}
    data = tmp_path / "data"
    data.mkdir()
    env.update({"DATABASE_URL": pg_url, "DATA_DIR": str(data), "AMQP_QUORUM_QUEUES": "1",
                "ROUTING_CHECK_BLOBS": "0"})
    workers = [Worker.start(f"worker-{i}", amqp, env, tmp_path) for i in (1, 2)]
    client = ServiceClient(amqp, size=CLERKS + 1, timeout=15)
    try:
        _call_until_answered(client, "registry", "set_agency_profile", ADMIN, "Ủy ban nhân dân tỉnh Tuyên Quang",
                             "UBND", "Tuyên Quang")
        _call_until_answered(client, "registry", "create_register", ADMIN, "incoming", numbering_year())
        queues = {q["name"]: q for q in admin.queues(VHOST)}
        assert queues["rpc-registry"]["type"] == "quorum" and queues["rpc-routing"]["type"] == "quorum"
        # both workers behind the same queue (the management API counts consumers a few seconds late)
        procs.wait_until(lambda: admin.queue(VHOST, "rpc-registry").get("consumers") == 2, 60,
                         "two consumers on rpc-registry")
        event_queues = [q for name, q in queues.items() if name.startswith("evt-")]
        assert event_queues and all(q["type"] == "quorum" for q in event_queues), event_queues

        supervisor = Supervisor(workers, amqp, env, tmp_path)
        supervisor.thread.start()
        clerks = Clerks(client, f"cum-{secrets.token_hex(3)}")
        threads = [threading.Thread(target=clerks.run, name=f"clerk-{i}") for i in range(CLERKS)]
        for t in threads:
            t.start()
        began = time.monotonic()

        def at(fraction: float) -> None:
            time.sleep(max(0.0, began + SECONDS * fraction - time.monotonic()))

        at(0.2)
        os.kill(workers[0].proc.pid, signal.SIGKILL)
        killed_after = len(clerks.answers)
        at(0.4)
        leader = queues["rpc-registry"].get("leader") or nodes[1].nodename
        stopped = next(n for n in nodes if n.nodename == leader)
        stopped.stop()  # it stays down to the end: a node lost, not a node restarted
        stopped_after = len(clerks.answers)
        at(1.0)
        while_down = len(clerks.answers) - stopped_after
        clerks.stop.set()
        for t in threads:
            t.join(300)
        supervisor.stop.set()
        supervisor.thread.join(200)
        assert not any(t.is_alive() for t in threads)
        print(f"\n{len(clerks.answers)} registrations in {time.monotonic() - began:.0f}s; worker killed after "
              f"{killed_after}, node {stopped.name} (leader of rpc-registry) stopped after {stopped_after}, "
              f"{while_down} while it was down; "
              f"errors the clerks saw and retried: {dict(clerks.errors)}; workers restarted: {supervisor.restarts}")
        # the load went on through both faults, and while the node was down
        assert len(clerks.answers) > stopped_after > killed_after > 0 and while_down > 0

        # Every request answered, each by one document, each document registered once.
        registered = _registered(client, clerks.prefix)
        assert sorted(registered) == sorted(clerks.answers), "a registration is missing or extra"
        assert {k: d for k, (d, _n) in registered.items()} == clerks.answers  # the answer the clerk got is the one
        numbers = sorted(n for _d, n in registered.values())
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "arrival numbers repeat or skip"
        alive = next(n for n in nodes if n is not stopped)
        assert _running_nodes(alive) == sorted(n.nodename for n in nodes if n is not stopped)
    finally:
        client.close()
        for w in workers:
            w.stop()
        admin.close()


def _registered(client: ServiceClient, prefix: str) -> dict[str, tuple[str, int]]:
    """request key → (document id, arrival number) of every registered document whose subject carries the prefix
    (a paper document registered by the clerk is numbered at once)."""
    out: dict[str, tuple[str, int]] = {}
    page = 1
    while True:
        got = _call_until_answered(client, "registry", "list_incoming", CLERK, {"text": prefix}, page, 100)
        for item in got["items"]:
            key = item["subject"].rsplit(" ", 1)[-1]
            assert key not in out, f"{key} registered twice: {out[key]} and {item['id']}"
            out[key] = (item["id"], int(item["number"]))
        if page * got["size"] >= got["total"]:
            return out
        page += 1
