"""The national hub's VDXP API: sendEdoc and getEdoc per second with p95, beside the raw broker and the AMQP relay,
all in the same run on the same RabbitMQ.

    .venv/bin/python -m bench.vdxp_api [--count 300] [--size 200000] [--clients 1]

- raw: the same bytes published with confirms to one quorum queue and consumed (bench/hub_relay.py's flood);
- AMQP relay: an agency on the national hub (000.00.00.G22) publishes to its submit exchange, the hub validates
  and delivers to the inbox of another agency there (000.00.00.G09 is on VDXP, so a second AMQP agency,
  000.00.01.G22, receives);
- VDXP sendEdoc: a vendor system (the test suite's SDK-format client, a new HTTP connection per call as the SDK
  makes) sends from 000.00.00.G09 to 000.00.01.G22; the call returns once the package is in the relay's queue;
  the figure is calls per second and the call's p95, and the end-to-end rate until the last one is in the inbox;
- VDXP getEdoc: `count` packages sent over AMQP to 000.00.00.G09 are kept by the API; the client fetches each
  (getEdoc: base64 in JSON) after one getReceivedEdocList.
The topology is namespaced (`b<hex>.`) and removed afterwards; processes are the real hub and API.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.hub_relay import REPO, declare_raw_queue, flood, package, stack_env, start_hubs, stop
from bench.hub_relay import topology as relay_topology
from infra.procs import free_port
from services.common.rabbit_admin import RabbitAdmin
from services.interconnect import broker
from services.interconnect.topology import AgencySpec, HubSpec, Topology

SYSTEM, VDXP_AGENCY = "vxp.bench", "000.00.00.G09"
SENDER, RECIPIENT = "000.00.00.G22", "000.00.01.G22"


def topology() -> Topology:
    return Topology(
        hubs=(HubSpec("national", "Trục liên thông văn bản quốc gia", None, 0),),
        agencies=(AgencySpec(SENDER, "Văn phòng Chính phủ", "VPCP", "national", "Hà Nội", 0, 0),
                  AgencySpec(RECIPIENT, "Cục Kiểm soát thủ tục hành chính", "KSTT", "national", "Hà Nội", 0, 0,
                             parent=SENDER)),
        extra={"namespace": f"b{secrets.token_hex(3)}."})


def body_from(template: bytes, sender: str, recipient: str, number: int) -> bytes:
    """bench/hub_relay.py's package, re-addressed (identifiers of equal length) and numbered: each sendEdoc is
    a distinct business operation, so none is answered from the idempotency key without being relayed."""
    data = template.replace(b"000.00.00.H60", sender.encode()).replace(b"000.00.00.H17", recipient.encode())
    return data.replace(b",2026/11/21,1/UBND-VX", f",2026/11/21,{number}/UBND-VX".encode())


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed_calls(calls: list, clients: int) -> tuple[float, list[float]]:
    """Run the calls on `clients` threads; (calls per second, each call's latency)."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(calls)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                call = queue.pop()
            began = time.perf_counter()
            call()
            with lock:
                latencies.append(time.perf_counter() - began)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(calls) / (time.perf_counter() - start), latencies


def start_api(top: Topology, run_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATA_DIR": str(run_dir / "data")}
    env.pop("DATABASE_URL", None)
    metrics = free_port()
    log = open(run_dir / "vdxp-api.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
    proc = subprocess.Popen([sys.executable, "-m", "services.interconnect.vdxp_api", "--hub", "national",
                             "--topology", str(run_dir / "topology.json"), "--run-dir", str(run_dir),
                             "--port", str(port), "--metrics-port", str(metrics)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the VDXP API did not become healthy (see {run_dir})")
        time.sleep(0.2)


def main() -> None:
    from services.common.settings import CommonSettings
    from services.interconnect.axis_api import open_store
    from tests.interconnect.vdxp_client import SdkClient

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=200_000, help="approximate package size in bytes")
    parser.add_argument("--clients", type=int, default=1, help="vendor clients calling at once")
    args = parser.parse_args()
    env = stack_env()
    admin = RabbitAdmin(env["RABBIT_API_URI"])
    top = topology()
    top.extra["directory"] = [{"organ_id": a.organ_id, "name": a.name, "hub": "national"} for a in top.agencies]
    top.extra["directory"].append({"organ_id": VDXP_AGENCY, "name": "Bộ Tài chính", "hub": "national"})
    run_dir = Path(tempfile.mkdtemp(prefix="bench-vdxp-"))
    (run_dir / "topology.json").write_text(top.to_json())
    template = package(relay_topology(), int(args.size * 0.73))
    procs: list[subprocess.Popen] = []
    try:
        creds = broker.provision(admin, top, run_dir)
        vhost = broker.hub_vhost(top, "national")
        agency = broker.agency_user(top, SENDER)
        admin_params, admin_user = declare_raw_queue(env, creds, vhost, "bench.raw")
        raw_body = body_from(template, SENDER, RECIPIENT, 0)
        raw = flood(admin_params, "", "bench.raw", admin_user, admin_params, "bench.raw", raw_body, args.count)
        procs = start_hubs(top, run_dir)
        inbox_params = creds.params(broker.agency_user(top, RECIPIENT), vhost)
        relay = flood(creds.params(agency, vhost), broker.SUBMIT, "", agency, inbox_params,
                      creds.queue(broker.inbox_queue(RECIPIENT)), raw_body, args.count, prefix="amqp")

        os.environ.pop("DATABASE_URL", None)
        store = open_store(top, "national", CommonSettings(data_dir=run_dir / "data", database_url=None))
        secret = store.add_system(SYSTEM, "bench")
        store.grant(SYSTEM, VDXP_AGENCY)
        port = free_port()
        procs.append(start_api(top, run_dir, port))
        endpoint = f"http://127.0.0.1:{port}/mapi"

        # sendEdoc: the inbox is drained meanwhile, so the end-to-end rate is measured too.
        bodies = [body_from(template, VDXP_AGENCY, RECIPIENT, 1000 + i) for i in range(args.count)]
        arrived: list[float] = []
        ready = threading.Event()

        def drain() -> None:
            import pika

            conn = pika.BlockingConnection(inbox_params)
            ch = conn.channel()
            ch.basic_qos(prefetch_count=32)
            ready.set()
            inbox = creds.queue(broker.inbox_queue(RECIPIENT))
            for method, _props, _body in ch.consume(inbox, inactivity_timeout=120):
                if method is None:
                    break
                ch.basic_ack(method.delivery_tag)
                arrived.append(time.perf_counter())
                if len(arrived) >= args.count:
                    break
            conn.close()

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        ready.wait(30)

        def sender(data: bytes):
            def call() -> None:
                status, answer = SdkClient(endpoint, SYSTEM, secret).send_edoc(VDXP_AGENCY, data)
                if answer["ErrorCode"] != "0":
                    raise RuntimeError(f"sendEdoc {status}: {answer}")
            return call

        began = time.perf_counter()
        send_rate, send_latency = timed_calls([sender(b) for b in bodies], args.clients)
        drainer.join(timeout=600)
        if len(arrived) < args.count:
            raise RuntimeError(f"only {len(arrived)}/{args.count} sent packages arrived")
        send_e2e = args.count / (max(arrived) - began)

        # getEdoc: packages from an AMQP agency to the VDXP one, kept by the API.
        with broker.confirmed_channel(creds.params(agency, vhost)) as (_conn, ch):
            for i in range(args.count):
                broker.publish(ch, broker.SUBMIT, "", body_from(template, SENDER, VDXP_AGENCY, 5000 + i),
                               user_id=agency, message_id=f"bench-get-{i}")
        client = SdkClient(endpoint, SYSTEM, secret)
        deadline = time.monotonic() + 600
        while (count := client.call("countReceiveEdoc")[1].get("count", 0)) < args.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {count}/{args.count} kept for getEdoc")
            time.sleep(0.5)
        items = client.received("edoc")

        def getter(doc_id: str):
            def call() -> None:
                status, answer = SdkClient(endpoint, SYSTEM, secret).get_edoc(doc_id)
                if status != 200 or not answer.get("data"):
                    raise RuntimeError(f"getEdoc {status}: {answer.get('ErrorDesc')}")
            return call

        get_rate, get_latency = timed_calls([getter(i["docId"]) for i in items[:args.count]], args.clients)
    finally:
        stop(procs)
        broker.unprovision(admin, top)

    print(f"{args.count} packages of {len(raw_body) / 1000:.0f} KB on one broker; {args.clients} VDXP client(s), "
          "a new HTTP connection per call (as the SDK)")
    print(f"{'path':<58} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'raw: publish+confirm -> consume (1 quorum queue)':<58} {raw['rate']:>7.1f} {raw['p50'] * 1000:>8.0f}"
          f" {'':>8}")
    print(f"{'AMQP relay: agency -> hub.national -> inbox':<58} {relay['rate']:>7.1f} "
          f"{relay['p50'] * 1000:>8.0f} {'':>8}")
    print(f"{'VDXP sendEdoc (call answered)':<58} {send_rate:>7.1f} {statistics.median(send_latency) * 1000:>8.0f}"
          f" {p95(send_latency) * 1000:>8.0f}")
    print(f"{'VDXP sendEdoc -> hub.national -> inbox (end to end)':<58} {send_e2e:>7.1f}")
    print(f"{'VDXP getEdoc (base64 in JSON)':<58} {get_rate:>7.1f} {statistics.median(get_latency) * 1000:>8.0f}"
          f" {p95(get_latency) * 1000:>8.0f}")
    print(f"ratios to raw: AMQP relay {relay['rate'] / raw['rate']:.2f}, sendEdoc {send_rate / raw['rate']:.2f} "
          f"(end to end {send_e2e / raw['rate']:.2f}), getEdoc {get_rate / raw['rate']:.2f}; "
          f"sendEdoc / AMQP relay {send_e2e / relay['rate']:.2f}")


if __name__ == "__main__":
    main()
