"""The gateway over real HTTP against a bare FastAPI app serving the same route, in the same run (issue 16).

    .venv/bin/python -m bench.gateway_http [--connections 50] [--seconds 5] [--rounds 3] [--workers 1,2]

Both are uvicorn servers on this machine started the same way (`python -m gateway --workers N`; `uvicorn --factory
bench.bare_app:healthz_app --workers N`, with the gateway's access-log setting), both asked for GET /healthz by
the same keep-alive client (bench/http_load.py; wrk is not installed) over `--connections` connections. Rounds
interleave the two, so a machine busy with other work slows both alike. Printed: requests/s of each and their
ratio, and the CPU time each server's processes spent per request answered (steadier than requests/s on a
machine shared with other work), whose ratio is the gateway's throughput per core relative to the bare app's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bench import http_load
from gateway.settings import GatewaySettings
from infra import procs


@contextmanager
def server(argv: list[str], env: dict[str, str], port: int, log: Path, ready: str = "/healthz"):
    """The server running (its own process group: its workers' CPU is read by group); yields its group id."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        procs.wait_until(lambda: procs.port_open(port) and procs.http_ok(f"http://127.0.0.1:{port}{ready}"), 180,
                         " ".join(argv[:4]), procs.Proc(argv[2], proc.pid, log=str(log)))
        yield proc.pid
    finally:
        procs.stop(procs.Proc(argv[2], proc.pid), grace=15)


def gateway_argv(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gateway", "--port", str(port), "--metrics-port", "0", "--workers", str(workers)]


def bare_argv(port: int, workers: int, factory: str, access_log: bool) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port), "--workers", str(workers),
            "--log-level", "info", *([] if access_log else ["--no-access-log"])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default=f"1,{len(os.sched_getaffinity(0))}")
    args = parser.parse_args()
    access_log = GatewaySettings().gateway_access_log
    counts = sorted({int(w) for w in args.workers.split(",")})
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATA_DIR": tmp}
        for name in ("AGENCIES_FILE", "DATABASE_URL", "PUSH_ENABLED", "PROMETHEUS_MULTIPROC_DIR", "GATEWAY_WORKERS"):
            env.pop(name, None)
        results = {}
        for workers in counts:
            gw_port, bare_port = procs.free_port(), procs.free_port()
            with server(gateway_argv(gw_port, workers), env, gw_port, Path(tmp) / f"gateway-{workers}.log") as gw_pg, \
                    server(bare_argv(bare_port, workers, "bench.bare_app:healthz_app", access_log), env, bare_port,
                           Path(tmp) / f"bare-{workers}.log") as bare_pg:
                gw, bare = [], []
                for _ in range(args.rounds):
                    gw.append(http_load.measure_cpu(gw_port, gw_pg, "/healthz", args.connections, args.seconds))
                    bare.append(http_load.measure_cpu(bare_port, bare_pg, "/healthz", args.connections,
                                                      args.seconds))
                results[workers] = (gw, bare)
    print(f"GET /healthz, {args.connections} keep-alive connections, {args.rounds} x {args.seconds:.0f}s per "
          f"server, interleaved; access log {'on' if access_log else 'off'} on both; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'workers':>7} {'gateway req/s':>14} {'bare req/s':>11} {'ratio':>6} {'gw CPU ms/req':>14} "
          f"{'bare CPU ms/req':>16} {'per-core ratio':>15} {'gw p50 ms':>10} {'gw p95 ms':>10} {'errors':>7}")
    for workers, (gw, bare) in results.items():
        g = statistics.median(r.per_second for r, _cpu in gw)
        b = statistics.median(r.per_second for r, _cpu in bare)
        g_cpu = statistics.median(cpu for _r, cpu in gw)
        b_cpu = statistics.median(cpu for _r, cpu in bare)
        p50 = statistics.median(r.percentile(50) for r, _cpu in gw) * 1000
        p95 = statistics.median(r.percentile(95) for r, _cpu in gw) * 1000
        errors = sum(sum(r.failed.values()) for r, _cpu in gw + bare)
        print(f"{workers:>7} {g:>14.0f} {b:>11.0f} {g / b:>6.2f} {g_cpu:>14.3f} {b_cpu:>16.3f} {b_cpu / g_cpu:>15.2f} "
              f"{p50:>10.1f} {p95:>10.1f} {errors:>7}")
    print("ratio: the gateway's requests/s over the bare app's (wall time); per-core ratio: the bare app's CPU time "
          "per request over the gateway's (what one core serves of the gateway, relative to the bare app)")


if __name__ == "__main__":
    main()
