"""RPC round trips through our pika client (services/common/rpc_client.py) against nameko's own standalone proxy.

    .venv/bin/python -m bench.rpc_client          # uses the running test stack's RabbitMQ

One agency process runs the echo service (tests/common/echo_service.py) on a fresh vhost; both clients call the
same method with the same acting user, one call at a time (as a gateway worker does), then from four threads
through one pooled client. The baseline is nameko's ClusterRpcProxy, which the gateway and the edge used before.
"""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from services.common.actor import Actor
from services.common.rabbit_admin import RabbitAdmin
from services.common.rpc import ACTOR_KEY
from services.common.rpc_client import ServiceClient
from tests.agency import running_agency_process

STACK_ENV = Path("/tmp/congvan-test-stack/env")
CALLS = 400
THREADS = 4
ACTOR = Actor(user_id="u1", username="hoalt.vp", agency_id="000.00.00.H60", roles=frozenset({"clerk"}),
              full_name="Lê Thị Hoa", unit="VP")


def stack_env() -> dict[str, str]:
    env = dict(os.environ)
    if "AMQP_ADMIN_URI" not in env and STACK_ENV.exists():
        env.update(line.strip().split("=", 1) for line in STACK_ENV.read_text().splitlines() if "=" in line)
    return env


def sequential(call: Callable[[], object], count: int) -> tuple[float, list[float]]:
    latencies = []
    began = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t0)
    return count / (time.perf_counter() - began), latencies


def threaded(call: Callable[[], object], count: int, threads: int) -> float:
    def work() -> None:
        for _ in range(count // threads):
            call()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (count // threads * threads) / (time.perf_counter() - began)


def report(label: str, rate: float, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]
    print(f"{label:<34} {rate:8.0f} calls/s   p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms")


def main() -> None:
    env = stack_env()
    admin = RabbitAdmin(env["RABBIT_API_URI"])
    vhost = f"bench-{secrets.token_hex(4)}"
    admin.add_vhost(vhost)
    admin.set_permissions(vhost, env["RABBIT_ADMIN_USER"])
    uri = f"amqp://{env['RABBIT_ADMIN_USER']}:{env['RABBIT_ADMIN_PASSWORD']}@127.0.0.1:{env['RABBIT_PORT']}/{vhost}"
    try:
        with tempfile.TemporaryDirectory() as tmp, running_agency_process(
                "tests.common.echo_service:EchoService", uri, Path(tmp) / "agency.log",
                {**os.environ, "DATA_DIR": tmp}, ready_timeout=60):
            ours = ServiceClient(uri, size=THREADS, timeout=30)
            holder = ClusterRpcProxy({"AMQP_URI": uri}, timeout=30)
            baseline = holder.start()
            holder._worker_ctx.data[ACTOR_KEY] = ACTOR.to_dict()  # how the old client carried the acting user
            try:
                for _ in range(50):  # warm both: connections, queues, the service's workers
                    ours.call("echo", "whoami", ACTOR)
                    baseline.echo.whoami()
                base_rate, base_lat = sequential(baseline.echo.whoami, CALLS)
                our_rate, our_lat = sequential(lambda: ours.call("echo", "whoami", ACTOR), CALLS)
            finally:
                holder.stop()
            our_threaded = threaded(lambda: ours.call("echo", "whoami", ACTOR), CALLS, THREADS)
            ours.close()
    finally:
        admin.delete_vhost(vhost)
        admin.close()
    print(f"{CALLS} calls of echo.whoami with an acting user, one at a time:")
    report("nameko ClusterRpcProxy (baseline)", base_rate, base_lat)
    report("ServiceClient (pika)", our_rate, our_lat)
    print(f"ratio ours / baseline: {our_rate / base_rate:.2f}")
    print(f"ServiceClient from {THREADS} threads (pool of {THREADS}): {our_threaded:.0f} calls/s")


if __name__ == "__main__":
    main()
