"""Idle cost of one installation hosting 10, 100 and 1,000 agencies, in one run (issue 16).

    .venv/bin/python -m bench.platform [--counts 10,100,1000] [--idle 30] [--postgres]
    .venv/bin/python -m bench.platform --edge [--counts 10,100,1000] [--idle 30] [--profile]

For each count: one installation process (python -m services.common.agency_process --installation, every service:
storage, signing, registry, routing, reporting) on a fresh vhost and a fresh DATA_DIR (or a fresh PostgreSQL
database with --postgres). Each hosted agency is used once, as onboarding does (its incoming register of the year
is created: the registry's tables of that agency exist and its engine or schema view is open), then nobody works:
the process's resident memory (VmRSS) and CPU time (utime + stime) are read over an idle window. Printed beside
each other, with the ratios to the 10-agency run and the extra memory per agency.

`--edge`: the same for the installation's one interconnect edge process, each hosted agency given its first
package (bench/platform_edge.py).
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench.rpc_client import stack_env
from services.common.actor import Actor, Role
from services.common.rabbit_admin import RabbitAdmin
from services.common.rpc_client import ServiceClient
from services.registry.numbering import numbering_year
from tests.agency import running_agency_process

SERVICES = ("services.storage.service:StorageService,services.signing.service:SigningService,"
            "services.registry.service:RegistryService,services.routing.service:RoutingService,"
            "services.reporting.service:ReportingService")
TICK = os.sysconf("SC_CLK_TCK")


def organ(n: int) -> str:
    return f"000.{n // 100:02d}.{n % 100:02d}.H60"


def pid_on(port: int) -> int:
    import subprocess

    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(out.split("pid=", 1)[1].split(",", 1)[0])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_files(pid: int) -> int:
    """The process's open file descriptors (SQLite keeps three per open database: the file, its WAL and -shm)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_ms(work, repeat: int = 3) -> tuple[float, object]:
    """CPU milliseconds of this thread per call of `work()` (steadier than wall time on a shared machine), and its
    last answer."""
    result = None
    start = time.thread_time()
    for _ in range(repeat):
        result = work()
    return (time.thread_time() - start) * 1000 / repeat, result


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@contextmanager
def fresh_vhost(env: dict[str, str]):
    admin = RabbitAdmin(env["RABBIT_API_URI"])
    vhost = f"bench-platform-{secrets.token_hex(4)}"
    admin.add_vhost(vhost)
    admin.set_permissions(vhost, env["RABBIT_ADMIN_USER"])
    try:
        yield f"amqp://{env['RABBIT_ADMIN_USER']}:{env['RABBIT_ADMIN_PASSWORD']}@127.0.0.1:{env['RABBIT_PORT']}/{vhost}"
    finally:
        admin.delete_vhost(vhost)
        admin.close()


@contextmanager
def fresh_database(env: dict[str, str], postgres: bool):
    if not postgres:
        yield None
        return
    import sqlalchemy as sa

    name = f"bench_platform_{secrets.token_hex(4)}"
    admin_url = env["POSTGRES_ADMIN_URL"]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        engine.dispose()


def measure(count: int, idle: float, env: dict[str, str], postgres: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, fresh_vhost(env) as uri, fresh_database(env, postgres) as db_url:
        proc_env = {**os.environ, "DATA_DIR": tmp}
        proc_env.pop("AGENCY_ID", None)
        proc_env.pop("DATABASE_URL", None)
        if db_url:
            proc_env["DATABASE_URL"] = db_url
        with running_agency_process(SERVICES, uri, Path(tmp) / "installation.log", proc_env, agency="",
                                    installation="bench", ready_timeout=180) as port:
            pid = pid_on(port)
            client = ServiceClient(uri, size=1, timeout=120)
            started = time.perf_counter()
            try:
                for n in range(1, count + 1):
                    admin = Actor(user_id="system:onboarding", username="onboarding", agency_id=organ(n),
                                  roles=frozenset({Role.ADMIN, Role.SYSTEM}))
                    client.call("registry", "create_register", admin, "incoming", numbering_year())
            finally:
                client.close()
            onboarding = time.perf_counter() - started
            time.sleep(5)  # the last calls' workers finish and the timers settle
            cpu0, wall0 = cpu_seconds(pid), time.monotonic()
            samples = []
            while time.monotonic() - wall0 < idle:
                samples.append(rss_kb(pid))
                time.sleep(1)
            cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
            files = open_files(pid)
    return {"count": count, "rss_mb": max(samples) / 1024, "cpu_pct": cpu * 100, "files": files,
            "onboard_ms": onboarding * 1000 / count}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="10,100,1000")
    parser.add_argument("--idle", type=float, default=30.0, help="Seconds of the idle window")
    parser.add_argument("--postgres", action="store_true", help="DATABASE_URL of the test stack, a fresh database")
    parser.add_argument("--edge", action="store_true",
                        help="The installation's interconnect edge instead of its services (bench/platform_edge.py)")
    parser.add_argument("--profile", action="store_true", help="--edge: tracemalloc of the memory kept per agency")
    parser.add_argument("--rounds", type=int, default=1, help="--edge: packages per hosted agency, in rounds")
    args = parser.parse_args()
    env = stack_env()
    results = []
    for count in [int(c) for c in args.counts.split(",")]:
        if args.edge:
            from bench.platform_edge import measure as measure_edge

            result = measure_edge(count, args.idle, env, args.postgres, args.profile, args.rounds)
            what = "edge CPU for each agency's first package"
        else:
            result = measure(count, args.idle, env, args.postgres)
            what = "onboarding"
        results.append(result)
        print(f"{count:>5} agencies: {result['rss_mb']:7.1f} MB resident, {result['cpu_pct']:5.2f}% of a core idle "
              f"({what} {result['onboard_ms']:.0f} ms per agency)", flush=True)
    print_table(results, "interconnect edge" if args.edge else "services", args.postgres, args.idle)


def print_table(results: list[dict[str, float]], process: str, postgres: bool, idle: float) -> None:
    base = results[0]
    print(f"\n{process}; engine: {'PostgreSQL' if postgres else 'SQLite (embedded default)'}; idle window {idle:.0f}s; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'agencies':>8} {'RSS MB':>8} {'× ' + str(base['count']):>8} {'CPU %':>7} {'KB per extra agency':>20} "
          f"{'open files':>10}")
    for r in results:
        extra = r["count"] - base["count"]
        per = (r["rss_mb"] - base["rss_mb"]) * 1024 / extra if extra else 0.0
        print(f"{r['count']:>8} {r['rss_mb']:>8.1f} {r['rss_mb'] / base['rss_mb']:>8.2f} {r['cpu_pct']:>7.2f} "
              f"{per:>20.0f} {r['files']:>10}")


if __name__ == "__main__":
    main()
