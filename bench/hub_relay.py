"""Relay throughput and latency of the hubs against the raw broker, in the same run on the same RabbitMQ.

    .venv/bin/python -m bench.hub_relay [--count 400] [--size 200000]

Relay: packages of about 200 KB (one attachment) from a Tuyên Quang agency (000.00.00.H60) to a Đà Nẵng agency
(000.00.00.H17), published with confirms as the agency's own broker user to hub.H60's submit exchange and
consumed from the recipient's inbox on hub.H17: hub.H60 validates (full hardened edXML parse, SHA-256, sender
check, directory) and routes up, hub.national routes down, hub.H17 delivers; each hub appends its trace and
writes its relay log. The three hubs are real processes (`python -m services.interconnect.hub`).
Baselines, in the same run: the same bytes published with confirms to one quorum queue on the same broker and
consumed ("raw"); and the same bytes along the relay's path with no hub logic ("raw chain", `RawChain`): a
quorum queue in each of the three hubs' vhosts and a lean forwarder process per link (bench/chain_forwarder.py),
published into H60's queue and consumed from H17's.
Both sides flood: one publisher waits for each confirm (as the edge does), one consumer acks each message, so
the latency percentiles include queueing behind the packages published before.
The topology is namespaced (`b<hex>.`) and removed afterwards; nothing else on the broker is touched.

    .venv/bin/python -m bench.hub_relay --brokers three [--count 400]

Three brokers (issue 17 item 5): each hub on its own RabbitMQ node started here (infra/rabbit_node.py, one
epmd each, memory watermark 0.2), the links hub.H60 -> hub.national -> hub.H17 over AMQPS with mutual TLS and
CRL checking (certificates minted at run time, infra/broker_pki.py). Baselines in the same run: the same bytes
published and consumed on the sender's broker (H60's node), and the raw chain across the same three nodes, its
forwarders linked to the next node over AMQPS with mutual TLS as the hubs are (a `bench.chain` user with its own
certificate of the same CA, EXTERNAL login). Printed too: each hub's CPU per package, which is its hop (H60
validates; national and H17 only add their trace line and route), each chain forwarder's, and each broker node's
during the relay and during the chain.

    .venv/bin/python -m bench.hub_relay --brokers three --profile DIR

Each hub under cProfile (bench/profiled.py: a profile per thread in DIR/<hub code>/, CPU time; read them with
`python -m bench.profiled --show FILE...`). The profiler slows the hubs, so their CPU figures in that run are not
the hubs'.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pika

from infra.procs import free_port
from services.common.rabbit_admin import RabbitAdmin
from services.interconnect import broker, edxml
from services.interconnect.hub import PREFETCH
from services.interconnect.topology import AgencySpec, HubSpec, Topology

REPO = Path(__file__).resolve().parents[1]
STACK_ENV = Path("/tmp/congvan-test-stack/env")
SENDER, RECIPIENT = "000.00.00.H60", "000.00.00.H17"
NATIONAL_DAY = 30_000


def stack_env() -> dict[str, str]:
    env = dict(os.environ)
    if "RABBIT_API_URI" not in env and STACK_ENV.exists():
        env.update(line.strip().split("=", 1) for line in STACK_ENV.read_text().splitlines() if "=" in line)
    return env


def topology() -> Topology:
    return Topology(
        hubs=(HubSpec("national", "Trục liên thông văn bản quốc gia", None, 0),
              HubSpec("H60", "Trục liên thông văn bản tỉnh Tuyên Quang", "national", 0),
              HubSpec("H17", "Trục liên thông văn bản thành phố Đà Nẵng", "national", 0)),
        agencies=(AgencySpec(SENDER, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "H60", "Tuyên Quang", 0, 0),
                  AgencySpec(RECIPIENT, "Ủy ban nhân dân thành phố Đà Nẵng", "UBND", "H17", "Đà Nẵng", 0, 0)),
        extra={"namespace": f"b{secrets.token_hex(3)}."})


def package(top: Topology, attachment_size: int) -> bytes:
    sender, recipient = top.agency(SENDER), top.agency(RECIPIENT)
    day = date(2026, 11, 21)
    header = {
        "kind": "edoc", "document_id": f"{SENDER},{day:%Y/%m/%d},1/UBND-VX",
        "business": {"doc_type": 0, "reason": "", "target_document_id": None, "paper": 0,
                     "staff": {"department": "Văn thư", "name": "Lê Văn Hùng", "mobile": "", "email": ""},
                     "document_info": None, "replacements": []},
        "from": {"organ_id": SENDER, "organ_name": sender.name, "organization_in_charge": "", "address": "",
                 "email": "", "telephone": "", "fax": "", "website": ""},
        "to": [{"organ_id": RECIPIENT, "organ_name": recipient.name}],
        "code_number": "1", "code_notation": "UBND-VX", "promulgation_place": "Tuyên Quang",
        "promulgation_date": day.isoformat(),
        "document_type": {"type": 1, "type_detail": 0, "type_name": "Công văn"},
        "subject": "Về việc đo thông lượng trục liên thông", "content": "",
        "signer": {"competence": "TM. ỦY BAN NHÂN DÂN", "position": "Chủ tịch", "full_name": "Nguyễn Văn An"},
        "due_date": None, "to_places": ["Như trên"],
        "other": {"priority": 0, "sphere_of_promulgation": "", "typer_notation": "", "promulgation_amount": 1,
                  "page_amount": 1, "appendixes": [], "direction": False},
        "response_for": [], "steering_type": 0, "trace": [],
    }
    pdf = b"%PDF-1.7\n" + os.urandom(attachment_size - 9)
    return edxml.build_edoc(header, [({"name": "Công văn.pdf", "content_type": "application/pdf"}, pdf)])


def flood(publish_params: pika.ConnectionParameters, exchange: str, key: str, user: str,
          consume_params: pika.ConnectionParameters, queue: str, body: bytes, count: int,
          paced: bool = False, prefix: str = "flood") -> dict[str, float]:
    """Publish `count` copies with confirms while consuming them; rate and latency percentiles. `paced`: one
    package at a time (the next leaves once the previous arrived), the latency of an idle network."""
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    ready = threading.Event()
    arrived = threading.Condition()

    def consume() -> None:
        conn = pika.BlockingConnection(consume_params)
        try:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=32)
            ready.set()
            for method, props, _body in ch.consume(queue, inactivity_timeout=120):
                if method is None:
                    raise TimeoutError(f"{len(received)}/{count} received, then nothing for 120 s")
                with arrived:
                    received[props.message_id] = time.perf_counter()
                    arrived.notify_all()
                ch.basic_ack(method.delivery_tag)
                if len(received) >= count:
                    break
            ch.cancel()
        finally:
            conn.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    ready.wait(30)
    start = time.perf_counter()
    with broker.confirmed_channel(publish_params) as (_conn, ch):
        for i in range(count):
            message_id = f"bench-{prefix}-{i}"
            sent[message_id] = time.perf_counter()
            broker.publish(ch, exchange, key, body, user_id=user, message_id=message_id)
            if paced:
                with arrived:
                    if not arrived.wait_for(lambda m=message_id: m in received, timeout=120):
                        raise TimeoutError(f"{message_id} did not arrive within 120 s")
    consumer.join(timeout=600)
    if len(received) < count:
        raise RuntimeError(f"only {len(received)}/{count} arrived")
    latencies = sorted(received[k] - sent[k] for k in sent)
    elapsed = max(received.values()) - start
    return {"rate": count / elapsed, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc: unlike wall-clock rates it
    barely moves when other work shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all cores, from /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measured(procs: list[subprocess.Popen], three: ThreeBrokers | None, run: Callable[[], dict[str, float]],
             count: int) -> tuple[dict[str, float], list[float], dict[str, float]]:
    """`run`'s figures, and the CPU seconds per package that each of `procs` and each broker node (with
    --brokers three) used meanwhile. The figures get `cpu`, the CPU seconds per package of all of these and of
    the bench's own publisher and consumer, and `others`: the cores that processes not of this run
    (other engineers' tests; with one broker, the shared broker as well) kept busy meanwhile, on average; a
    wall-clock rate means little without it."""
    before = [cpu_seconds(proc.pid) for proc in procs]
    brokers_before = three.cpu_seconds() if three else {}
    machine_before, own_before, start = machine_busy(), cpu_seconds(os.getpid()), time.perf_counter()
    figures = run()
    wall = time.perf_counter() - start
    machine, own = machine_busy() - machine_before, cpu_seconds(os.getpid()) - own_before
    used = [cpu_seconds(proc.pid) - was for proc, was in zip(procs, before, strict=True)]
    brokers_now = three.cpu_seconds() if three else {}
    brokers = {code: now - brokers_before[code] for code, now in brokers_now.items()}
    figures["others"] = max(0.0, machine - own - sum(used) - sum(brokers.values())) / wall
    figures["cpu"] = (own + sum(used) + sum(brokers.values())) / count
    return figures, [sec / count for sec in used], {code: sec / count for code, sec in brokers.items()}


def start_hubs(top: Topology, run_dir: Path, profile: Path | None = None) -> list[subprocess.Popen]:
    """The three hub processes; with `profile`, each under cProfile (bench/profiled.py, a file per thread in
    profile/<hub code>/), which slows them: their CPU figures are then not the hubs'."""
    env = {**os.environ, "DATA_DIR": str(run_dir / "data")}
    env.pop("DATABASE_URL", None)
    if broker.separate_brokers(top):
        env.pop("RABBIT_API_URI", None)   # the queue gauges would poll the test stack's broker, not the hubs' own
    procs = []
    for hub in top.hubs:
        port = free_port()
        log = open(run_dir / f"hub-{hub.code}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        runner = ["-m", "bench.profiled", str(profile / hub.code)] if profile else ["-m"]
        procs.append(subprocess.Popen(
            [sys.executable, *runner, "services.interconnect.hub", "--hub", hub.code, "--topology",
             str(run_dir / "topology.json"), "--run-dir", str(run_dir), "--metrics-port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or procs[-1].poll() is not None:
                raise RuntimeError(f"hub {hub.code} did not become healthy (see {run_dir})")
            time.sleep(0.2)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def declare_raw_queue(env: dict[str, str], creds: broker.Credentials, vhost: str,
                      queue: str) -> tuple[pika.ConnectionParameters, str]:
    """The raw baseline's queue and connection, as the broker's admin: a hub's own user may declare nothing."""
    user = env["RABBIT_ADMIN_USER"]
    host, port = creds.endpoint(vhost)
    params = pika.ConnectionParameters(host=host, port=port, virtual_host=vhost,
                                       credentials=pika.PlainCredentials(user, env["RABBIT_ADMIN_PASSWORD"]))
    with broker.confirmed_channel(params) as (_conn, ch):
        ch.queue_declare(queue, durable=True, arguments=broker.QUORUM)
    return params, user


class ThreeBrokers:
    """A RabbitMQ node per hub with a TLS listener for the links, and the certificates, in `run_dir`."""

    def __init__(self, run_dir: Path) -> None:
        from infra.broker_pki import BrokerCa
        from infra.rabbit_node import NodePorts, NodeTls, RabbitNode

        self.ca = BrokerCa.create(run_dir / "tls")
        self.nodes: dict[str, RabbitNode] = {}
        for code in ("national", "H60", "H17"):
            server = self.ca.server(code)
            self.nodes[code] = RabbitNode(f"cvbench{code.lower()}{secrets.token_hex(2)}", run_dir / f"rabbit-{code}",
                                          NodePorts.free(tls=True), admin_password=secrets.token_urlsafe(18),
                                          tls=NodeTls(server.ca, server.cert, server.key, self.ca.crl_dir),
                                          memory_high_watermark=0.2)

    def start(self) -> dict[str, RabbitAdmin]:
        for node in self.nodes.values():
            node.start(wait=False)
        for node in self.nodes.values():
            node.wait()
        return {code: RabbitAdmin(node.admin_uri) for code, node in self.nodes.items()}

    def topology(self, top: Topology) -> Topology:
        import dataclasses

        return dataclasses.replace(top, hubs=tuple(dataclasses.replace(h, broker={
            "host": "localhost", "amqp_port": self.nodes[h.code].ports.amqp,
            "amqps_port": self.nodes[h.code].ports.amqps}) for h in top.hubs))

    def link_tls(self, top: Topology) -> dict[str, dict[str, str]]:
        return {h.code: self.ca.client(broker.hub_user(top, h.code)).as_dict() for h in top.hubs}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU used so far by each node (the beam process and whatever else runs in its process group)."""
        from infra import procs

        used = {}
        for code, node in self.nodes.items():
            leader = node.table.load()[node.broker_proc].pid
            used[code] = sum(cpu_seconds(pid) for pid in procs._pids_in_group(leader) if Path(f"/proc/{pid}").exists())
        return used

    def raw_env(self, code: str) -> dict[str, str]:
        return {"RABBIT_ADMIN_USER": "admin", "RABBIT_ADMIN_PASSWORD": self.nodes[code].admin_password}

    def remove(self) -> None:
        for node in self.nodes.values():
            node.remove()


CHAIN = ("H60", "national", "H17")   # the relay's path, one broker node each with --brokers three
CHAIN_QUEUE = "bench.chain"


class RawChain:
    """The raw chain baseline: the same bytes along the relay's path and kind of links, with no hub logic.

    A quorum queue `bench.chain` in each hub's vhost (so under the same dead-letter policy as the hubs'
    queues), and a forwarder process per link (bench/chain_forwarder.py): H60's queue -> national's, national's
    -> H17's. Each forwarder reads its own broker on the plain listener as that broker's admin, and writes the
    next one as a hub's link does: with --brokers three over AMQPS with a client certificate of the hubs' CA and
    the EXTERNAL login (a `bench.chain` user that may only publish to the default exchange there), on one broker
    with a password. The bench publishes into H60's queue and consumes from H17's, as for the relay.
    """

    def __init__(self, top: Topology, creds: broker.Credentials, run_dir: Path,
                 logins: dict[str, tuple[str, str]], three: ThreeBrokers | None = None,
                 admins: dict[str, RabbitAdmin] | None = None) -> None:
        self.top, self.creds, self.run_dir, self.logins = top, creds, run_dir, logins
        self.user = f"{broker.namespace(top)}bench.chain"
        self.tls: dict[str, str] | None = None
        for code in CHAIN:
            vhost = broker.hub_vhost(top, code)
            with broker.confirmed_channel(self.params(code)) as (_conn, ch):
                ch.queue_declare(CHAIN_QUEUE, durable=True, arguments=broker.QUORUM)
            if three and admins and code != CHAIN[0]:
                admins[code].add_user_without_password(self.user)
                admins[code].set_permissions(vhost, self.user, configure="^$", write=r"^amq\.default$", read="^$")
        if three:
            self.tls = three.ca.client(self.user).as_dict()
        self.procs: list[subprocess.Popen] = []

    def params(self, code: str) -> pika.ConnectionParameters:
        """The admin's plain connection to hub `code`'s vhost (publishing into the chain, consuming from it)."""
        user, password = self.logins[code]
        host, port = self.creds.endpoint(broker.hub_vhost(self.top, code))
        return pika.ConnectionParameters(host=host, port=port, virtual_host=broker.hub_vhost(self.top, code),
                                         credentials=pika.PlainCredentials(user, password))

    def flood_args(self, body: bytes) -> tuple:
        return (self.params(CHAIN[0]), "", CHAIN_QUEUE, self.logins[CHAIN[0]][0], self.params(CHAIN[-1]),
                CHAIN_QUEUE, body)

    def _endpoint(self, code: str, *, link: bool) -> dict[str, object]:
        vhost = broker.hub_vhost(self.top, code)
        if link and self.tls:
            host, port = self.creds.links[code]
            return {"host": host, "port": port, "vhost": vhost, "queue": CHAIN_QUEUE, "user": self.user,
                    "tls": self.tls}
        host, port = self.creds.endpoint(vhost)
        user, password = self.logins[code]
        return {"host": host, "port": port, "vhost": vhost, "queue": CHAIN_QUEUE, "user": user, "password": password}

    def start(self) -> None:
        for source, target in itertools.pairwise(CHAIN):
            spec, ready = self.run_dir / f"chain-{source}.json", self.run_dir / f"chain-{source}.ready"
            # 0600 from the start: it holds a broker password or the path of a private key.
            fd = os.open(spec, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"source": self._endpoint(source, link=False), "target": self._endpoint(target, link=True),
                           "prefetch": PREFETCH, "ready": str(ready)}, f)
            log = open(self.run_dir / f"chain-{source}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
            self.procs.append(subprocess.Popen([sys.executable, "-m", "bench.chain_forwarder", str(spec)], cwd=REPO,
                                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            log.close()
            deadline = time.monotonic() + 60
            while not ready.exists():
                if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                    raise RuntimeError(f"chain forwarder {source} -> {target} did not start (see {self.run_dir})")
                time.sleep(0.1)

    @staticmethod
    def hops() -> list[str]:
        return [f"{source}->{target}" for source, target in itertools.pairwise(CHAIN)]

    def stop(self) -> None:
        stop(self.procs)
        for spec in self.run_dir.glob("chain-*.json"):
            spec.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--paced", type=int, default=30, help="packages sent one at a time for idle latency")
    parser.add_argument("--size", type=int, default=200_000, help="approximate package size in bytes")
    parser.add_argument("--brokers", choices=("one", "three"), default="one",
                        help="one: the test stack's broker; three: a node per hub, links over mutual TLS")
    parser.add_argument("--profile", type=Path, help="run each hub under cProfile, profiles into this folder")
    args = parser.parse_args()
    env = stack_env()
    top = topology()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-hub-relay-"))
    three = ThreeBrokers(run_dir) if args.brokers == "three" else None
    admin: RabbitAdmin | dict[str, RabbitAdmin] = {}
    body = package(top, int(args.size * 0.73))  # base64 and the envelope add the rest
    procs: list[subprocess.Popen] = []
    try:
        if three:
            admin = three.start()
            top = three.topology(top)
            env = {**env, **three.raw_env("H60")}
        else:
            admin = RabbitAdmin(env["RABBIT_API_URI"])
        (run_dir / "topology.json").write_text(top.to_json())
        creds = broker.provision(admin, top, run_dir, link_tls=three.link_tls(top) if three else None)
        h60, h17 = broker.hub_vhost(top, "H60"), broker.hub_vhost(top, "H17")
        raw_queue = "bench.raw"
        raw_params, raw_user = declare_raw_queue(env, creds, h60, raw_queue)
        raw_args = (raw_params, "", raw_queue, raw_user, raw_params, raw_queue, body)
        raw, _none, raw_brokers = measured([], three, lambda: flood(*raw_args, args.count), args.count)
        raw_idle = flood(*raw_args, args.paced, paced=True, prefix="paced")
        logins = {code: (login["RABBIT_ADMIN_USER"], login["RABBIT_ADMIN_PASSWORD"])
                  for code, login in ((c, three.raw_env(c) if three else env) for c in CHAIN)}
        chain = RawChain(top, creds, run_dir, logins, three, admin if three else None)
        try:
            chain.start()
            chain_args = chain.flood_args(body)
            chain_idle = flood(*chain_args, args.paced, paced=True, prefix="chain-paced")
            chain_fig, chain_cpu, chain_brokers = measured(
                chain.procs, three, lambda: flood(*chain_args, args.count, prefix="chain"), args.count)
        finally:
            chain.stop()
        procs = start_hubs(top, run_dir, args.profile)
        agency = broker.agency_user(top, SENDER)
        inbox = creds.queue(broker.inbox_queue(RECIPIENT))
        relay_args = (creds.params(agency, h60), broker.SUBMIT, "", agency,
                      creds.params(broker.agency_user(top, RECIPIENT), h17), inbox, body)
        relay_idle = flood(*relay_args, args.paced, paced=True, prefix="paced")
        relay, hubs_cpu, brokers_cpu = measured(procs, three, lambda: flood(*relay_args, args.count), args.count)
        cpu = dict(zip([hub.code for hub in top.hubs], hubs_cpu, strict=True))
    finally:
        stop(procs)
        if three:
            three.remove()
            shutil.rmtree(run_dir / "tls", ignore_errors=True)   # the minted keys go with the nodes
        elif admin:
            broker.unprovision(admin, top)
    report(args, body, three is not None, {"raw": raw, "chain": chain_fig, "relay": relay},
           {"raw": raw_idle, "chain": chain_idle, "relay": relay_idle},
           {"hubs": cpu, "chain": dict(zip(RawChain.hops(), chain_cpu, strict=True))},
           {"raw": raw_brokers, "chain": chain_brokers, "relay": brokers_cpu})


def report(args: argparse.Namespace, body: bytes, three: bool, flooded: dict[str, dict[str, float]],
           paced: dict[str, dict[str, float]], cpu: dict[str, dict[str, float]],
           brokers_cpu: dict[str, dict[str, float]]) -> None:
    """The run's figures: rates, latencies, ratios against both baselines, CPU per package per process."""
    links = "three brokers, links over AMQPS (mutual TLS)" if three else "one broker"
    print(f"{args.count} packages of {len(body) / 1000:.0f} KB, {SENDER} -> hub.H60 -> hub.national -> hub.H17 "
          f"-> {RECIPIENT}; {links}")
    print(f"{'path':<44} {'packages/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'30,000 packages':>16}")
    names = {"raw": "raw: pika publish+confirm -> consume (1 q)",
             "chain": "raw chain: H60 -> national -> H17 (3 q)", "relay": "relay through three hubs"}
    for key, name in names.items():
        fig = flooded[key]
        print(f"{name:<44} {fig['rate']:>10.1f} {fig['p50'] * 1000:>9.0f} {fig['p99'] * 1000:>9.0f} "
              f"{NATIONAL_DAY / fig['rate'] / 60:>12.1f} min")
    print("other work on the machine during each flood (cores busy, of 2, not counting this run's processes"
          + ("" if three else "; the shared broker counted in") + "): "
          + ", ".join(f"{key} {flooded[key]['others']:.2f}" for key in names))
    print(f"one at a time ({args.paced} packages), latency p50/p99 ms: " + ", ".join(
        f"{key} {paced[key]['p50'] * 1000:.0f}/{paced[key]['p99'] * 1000:.0f}" for key in names))
    relay = flooded["relay"]["rate"]
    print(f"ratio relay/raw (packages/s): {relay / flooded['raw']['rate']:.2f} (raw: one queue of one broker)")
    chain_ratio = relay / flooded["chain"]["rate"]
    print(f"ratio relay/raw chain (packages/s): {chain_ratio:.2f} (the same brokers, path and links, no hub logic; "
          f"goal >= 0.5: {'met' if chain_ratio >= 0.5 else 'NOT met'})")
    if three:
        cpu_ratio = flooded["chain"]["cpu"] / flooded["relay"]["cpu"]
        print("CPU per package, every process of the path (brokers, forwarders or hubs, the bench's publisher and "
              "consumer; ms): " + ", ".join(f"{key} {flooded[key]['cpu'] * 1000:.1f}" for key in names)
              + f"; chain/relay {cpu_ratio:.2f}: the ratio of their rates if both were bound by CPU alone")
    day = NATIONAL_DAY / relay / 60
    print(f"a national day ({NATIONAL_DAY:,} packages between two provinces) at the relay's rate: {day:.1f} min "
          f"(goal < 5 min): {'met' if day < 5 else 'NOT met'}")
    hubs, forwarders = cpu["hubs"], cpu["chain"]
    print("hub CPU per package per hop (ms): " + ", ".join(f"{code} {sec * 1000:.1f}" for code, sec in hubs.items())
          + f"; the busiest hub alone on one core: {1 / max(hubs.values()):.0f} packages/s")
    print("chain forwarder CPU per package per hop (ms): "
          + ", ".join(f"{hop} {sec * 1000:.1f}" for hop, sec in forwarders.items()))
    if brokers_cpu["raw"]:
        print(f"broker CPU per package, raw (ms): H60 {brokers_cpu['raw']['H60'] * 1000:.1f}")
    for key, movers, what in (("chain", forwarders, "forwarders"), ("relay", hubs, "hubs")):
        if brokers_cpu[key]:
            movers_total, brokers_total = sum(movers.values()), sum(brokers_cpu[key].values())
            print(f"broker CPU per package, {key} (ms): "
                  + ", ".join(f"{c} {sec * 1000:.1f}" for c, sec in brokers_cpu[key].items())
                  + f"; {what} {movers_total * 1000:.1f} ms, brokers {brokers_total * 1000:.1f} ms: the {what}' share "
                  f"{movers_total / (movers_total + brokers_total):.0%} (the bench's own publisher and consumer not "
                  "counted)")
    relaying = max(hubs["national"], hubs["H17"]) * 1000
    print(f"non-validating hops (national, H17): {relaying:.1f} ms of hub CPU per package "
          f"(goal <= 2 ms): {'met' if relaying <= 2 else 'NOT met'}")

if __name__ == "__main__":
    main()
