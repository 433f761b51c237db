"""Morning peak of a province's installation hosting 1,000 agencies (issue 16), in one run, with its baselines.

    .venv/bin/python -m bench.morning_peak [--agencies 1000] [--active 10] [--sessions 200] [--clerks 10]
                                           [--seconds 60] [--think 0] [--workers <cores>] [--processes <cores>]

The installation: a fresh vhost on the test stack's RabbitMQ and a fresh PostgreSQL database; `--processes`
installation processes (each runs storage, signing, registry, routing and reporting on the same queues: replicas) and
the real gateway (`python -m gateway --workers N`, uvicorn) over real HTTP. 1,000 agencies are recorded as `congvan
agency add` records them (bench/platform.py's way: host_in_bulk); `--active` of them are onboarded through the
platform (gateway.platform.add: registers, profile, administrator) and given staff accounts (gateway.auth.Accounts,
the accounts the admin screens make), who sign in over HTTP (POST /dang-nhap, argon2 and all).

The peak, for `--seconds`: `--sessions` signed-in staff (spread evenly over the active agencies; a mix of
specialists, heads of unit, clerks and leaders, so every kind of home page is asked for) load their home page
`/` again and again, each on its own keep-alive connection (bench/http_load.py), `--think` seconds between two
loads (then each load opens a new connection, as a browser does after the server closed an idle one, and the
sessions start at random instants within the first think time); meanwhile `--clerks` clerks (one per active
agency, in turn) register incoming paper documents through the REST API (POST /api/v1/incoming/paper with a
one-page PDF scan, httpx.AsyncClient, one Idempotency-Key each).

Baselines, in the same run, after the peak:
- a bare FastAPI app (bench/bare_app.py:home_app), served by uvicorn with the same workers, rendering the same
  template home.html with static data: the panels, people and viewers of ten staff captured from the real gateway
  right after the peak; asked for by the same client with the same sessions count and think time;
- plain SQLAlchemy INSERTs, one per transaction from `--clerks` threads, of the document rows the peak registered
  (read back from the registry's schemas, given new ids) into a scratch schema of the same database with the
  registry's own table definitions.
Printed: page views/s, p50, p95; registrations/s; the baselines and the ratios; the CPU each process used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench import http_load
from bench.gateway_http import server
from bench.platform import SERVICES, cpu_seconds, fresh_database, fresh_vhost, pid_on
from bench.rpc_client import stack_env
from gateway.__main__ import default_workers
from infra import procs
from tests.agency import running_agency_process
from tests.common.test_installation_1000 import INSTALLATION, host_in_bulk, organ

PASSWORD = "Buoi-sang-2026!"
# Ten staff of an agency, in this order (then again): every kind of home page is asked for.
ROLE_MIX = ("specialist", "specialist", "department_head", "specialist", "clerk", "specialist", "leader",
            "specialist", "department_head", "specialist")
UNITS = ("vp", "th", "kt")


class Installation:
    """The 1,000-agency installation: records, onboarded agencies, staff, the processes."""

    def __init__(self, args: argparse.Namespace, stack: ExitStack) -> None:
        self.args = args
        env = stack_env()
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="morning-peak-")))
        self.amqp = stack.enter_context(fresh_vhost(env))
        self.db_url = stack.enter_context(fresh_database(env, True))
        agencies_file = self.tmp / "agencies.json"
        agencies_file.write_text(json.dumps({INSTALLATION: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": self.amqp}}))
        self.env = {**os.environ, "DATA_DIR": str(self.tmp), "DATABASE_URL": self.db_url,
                    "AGENCIES_FILE": str(agencies_file), "RPC_TIMEOUT": "120"}
        for name in ("AGENCY_ID", "PUSH_ENABLED", "PROMETHEUS_MULTIPROC_DIR", "GATEWAY_WORKERS"):
            self.env.pop(name, None)
        from gateway.app import Gateway
        from gateway.settings import GatewaySettings

        self.gateway = Gateway(GatewaySettings(data_dir=self.tmp, database_url=self.db_url,
                                               agencies_file=agencies_file, rpc_timeout=120))
        stack.callback(self.gateway.backends.close)
        started = time.monotonic()
        host_in_bulk(self.gateway, [organ(n) for n in range(1, args.agencies)])
        say(f"{args.agencies} agencies recorded in {time.monotonic() - started:.1f}s")
        # Several processes of the installation consume the same queues (docs/deployment.md, replicas): one eventlet
        # process uses at most one core.
        self.metrics_ports = [stack.enter_context(running_agency_process(
            SERVICES, self.amqp, self.tmp / f"installation-{n}.log", self.env, agency="", installation="peak",
            ready_timeout=240)) for n in range(args.processes)]
        self.active = [organ(n) for n in range(1, args.active + 1)]

    def onboard(self) -> None:
        from gateway.platform import AgencyForm

        started = time.monotonic()
        for organ_id in self.active:
            self.gateway.platform.add(AgencyForm(organ_id=organ_id, name=f"Đơn vị {organ_id}",
                                                 installation=INSTALLATION, admin_full_name="Nguyễn Văn Quản",
                                                 admin_unit="qt"))
        say(f"{len(self.active)} agencies onboarded in {time.monotonic() - started:.1f}s")

    def staff(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The staff's usernames (sessions) and the clerks' (username, API token)."""
        accounts = self.gateway.accounts
        per_agency = -(-self.args.sessions // len(self.active))
        wanted = []
        for a, organ_id in enumerate(self.active):
            for unit in UNITS:
                accounts.save_unit(organ_id, unit, f"Phòng {unit}")
            for i in range(per_agency + 1):  # one more: the clerk who registers (not one of the sessions)
                role = "clerk" if i == per_agency else ROLE_MIX[i % len(ROLE_MIX)]
                wanted.append((f"nv{a:03d}{i:03d}.peak" if i < per_agency else f"vt{a:03d}.peak", organ_id, role,
                               UNITS[i % len(UNITS)]))
        started = time.monotonic()

        def create(item: tuple[str, str, str, str]) -> None:
            username, organ_id, role, unit = item
            accounts.create_user(username=username, full_name=f"Cán bộ {username}", agency_id=organ_id,
                                 roles=[role], password=PASSWORD, unit=unit, position="Chuyên viên",
                                 must_change_password=False)

        with ThreadPoolExecutor(4) as pool:  # argon2 lets go of the GIL
            list(pool.map(create, wanted))
        say(f"{len(wanted)} accounts made in {time.monotonic() - started:.1f}s")
        sessions = [u for u, _o, _r, _unit in wanted if not u.startswith("vt")][:self.args.sessions]
        clerks = [(u, accounts.issue_api_token(accounts.by_username(u).id, "morning peak"))
                  for u, _o, _r, _unit in wanted if u.startswith("vt")][:self.args.clerks]
        return sessions, clerks


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def sign_in(port: int, usernames: list[str]) -> list[str]:
    """Each person signs in over HTTP; their session cookies."""
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        async def one(username: str) -> str:
            async with limit:
                r = await client.post("/dang-nhap", data={"username": username, "password": PASSWORD, "next": "/"})
            if r.status_code != 303:
                raise RuntimeError(f"sign-in of {username}: {r.status_code} {r.text[:300]}")
            return f"cv_session={r.cookies['cv_session']}"

        return await asyncio.gather(*(one(u) for u in usernames))


async def register(port: int, clerks: list[tuple[str, str]], pdf: bytes, start: float, stop: float,
                   done: list[float], refused: dict[int, int]) -> None:
    """Every clerk registers one paper document after another until `stop`; those finished inside the window
    count."""
    async def clerk(c: int, token: str) -> None:
        n = 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers={"authorization": f"Bearer {token}"}) as client:
            while time.perf_counter() < stop:
                n += 1
                began = time.perf_counter()
                r = await client.post("/api/v1/incoming/paper", files={"files": ("cong-van.pdf", pdf,
                                                                                 "application/pdf")},
                                      data={"code_number": str(1000 * c + n), "code_notation": "UBND-VX",
                                            "issued_date": "2026-12-01", "organ_name": "UBND huyện Yên Sơn",
                                            "subject": f"Về việc báo cáo tình hình buổi sáng số {n}",
                                            "channel": "paper"},
                                      headers={"Idempotency-Key": f"peak-{c}-{n}"})
                ended = time.perf_counter()
                if r.status_code == 201:
                    if began >= start and ended <= stop:
                        done.append(ended - began)
                else:
                    refused[r.status_code] = refused.get(r.status_code, 0) + 1
                    if refused[r.status_code] <= 2:
                        say(f"registration refused: {r.status_code} {r.text[:300]}")

    await asyncio.gather(*(clerk(c, token) for c, (_u, token) in enumerate(clerks)))


async def peak(port: int, cookies: list[str], clerks: list[tuple[str, str]], pdf: bytes,
               args: argparse.Namespace) -> tuple[http_load.Load, list[float], dict[int, int]]:
    requests = [[http_load.request_bytes("/", f"127.0.0.1:{port}", cookie)] for cookie in cookies]
    warmup = 2.0
    start = time.perf_counter() + warmup
    done: list[float] = []
    refused: dict[int, int] = {}
    views, _ = await asyncio.gather(
        http_load.run(port, requests, args.seconds, warmup, think=args.think),
        register(port, clerks, pdf, start, start + args.seconds, done, refused))
    return views, done, refused


def home_pages(inst: Installation, usernames: list[str]) -> list[dict[str, Any]]:
    """What ten staff's home pages show now, as plain data for the bare app (bench/bare_app.py)."""
    from gateway.app import Viewer
    from gateway.models import User
    from gateway.web import People, home_panels

    g = inst.gateway
    columns = [c.key for c in User.__table__.columns]
    pages = []
    for username in usernames[:len(ROLE_MIX)]:
        user = g.accounts.by_username(username)
        v = Viewer(user, None)
        panels = home_panels(g, v)
        people = People(g, user.agency_id)
        pages.append({"user": {c: getattr(user, c) for c in columns}, "csrf": "x" * 32,
                      "agency_name": g.backends.name_of(user.agency_id), "panels": [asdict(p) for p in panels],
                      "people": [{c: getattr(u, c) for c in columns} for u in people.users],
                      "waiting": sum(len(p.rows or []) for p in panels)})
    return pages


def bare_home(inst: Installation, pages: list[dict[str, Any]], sessions: int, args: argparse.Namespace,
              workers: int) -> http_load.Load:
    data = inst.tmp / "home-pages.pickle"
    data.write_bytes(pickle.dumps(pages))
    port = procs.free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "bench.bare_app:home_app", "--port", str(port),
            "--workers", str(workers), "--log-level", "info",
            *([] if inst.gateway.settings.gateway_access_log else ["--no-access-log"])]
    with server(argv, {**inst.env, "BENCH_HOME_DATA": str(data)}, port, inst.tmp / "bare.log", ready="/"):
        requests = [[http_load.request_bytes(f"/?as={i % len(pages)}", f"127.0.0.1:{port}")]
                    for i in range(sessions)]
        seconds = max(args.baseline_seconds, 2 * args.think)  # every session loads at least once in the window
        return http_load._run(http_load.run(port, requests, seconds, 2.0, think=args.think))


def insert_baseline(inst: Installation, threads: int, at_least: int) -> tuple[int, float]:
    """The registered document rows, inserted again (new ids) one per transaction: rows/s."""
    import sqlalchemy as sa

    from services.registry.models import Base, Document

    engine = sa.create_engine(inst.db_url, pool_size=threads + 2)
    with engine.begin() as conn:
        schemas = [r[0] for r in conn.execute(sa.text(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'document' "
            "AND table_schema LIKE 'registry%'"))]
        rows = []
        for schema in schemas:
            rows += [dict(r._mapping) for r in conn.execute(
                sa.select(Document.__table__).where(Document.source_channel == "paper")
                .execution_options(schema_translate_map={None: schema}))]
        conn.execute(sa.text('CREATE SCHEMA "bench_inserts"'))
    if not rows:
        raise RuntimeError("no document registered during the peak: nothing to insert")
    scratch = engine.execution_options(schema_translate_map={None: "bench_inserts"})
    Base.metadata.create_all(scratch)
    copies = [{**rows[i % len(rows)], "id": str(uuid.uuid4()), "register_id": None, "dedupe_key": None}
              for i in range(max(len(rows), at_least))]
    table = Document.__table__
    lock = threading.Lock()
    queue = list(copies)

    def insert() -> None:
        while True:
            with lock:
                if not queue:
                    return
                row = queue.pop()
            with scratch.begin() as conn:
                conn.execute(table.insert(), row)

    started = time.perf_counter()
    workers = [threading.Thread(target=insert) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(copies), len(copies) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=1000)
    parser.add_argument("--active", type=int, default=10, help="Agencies onboarded, whose staff work")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--clerks", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0, help="The peak's measured window")
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=0.0, help="Seconds a person waits between two loads")
    parser.add_argument("--workers", type=int, default=default_workers(), help="Gateway workers")
    parser.add_argument("--processes", type=int, default=default_workers(),
                        help="Installation processes (each runs every service; replicas on the same queues)")
    args = parser.parse_args()
    from tests.e2e.helpers import vietnamese_pdf

    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN HUYỆN YÊN SƠN", "Về việc báo cáo tình hình buổi sáng")
    began = time.monotonic()
    with ExitStack() as stack:
        inst = Installation(args, stack)
        inst.onboard()
        usernames, clerks = inst.staff()
        port = procs.free_port()
        gateway_argv = [sys.executable, "-m", "gateway", "--port", str(port), "--metrics-port", "0",
                        "--workers", str(args.workers)]
        gw_pgid = stack.enter_context(server(gateway_argv, inst.env, port, inst.tmp / "gateway.log"))
        started = time.monotonic()
        cookies = asyncio.run(sign_in(port, usernames))
        say(f"{len(cookies)} staff signed in over HTTP in {time.monotonic() - started:.1f}s")
        installation_pids = [pid_on(port) for port in inst.metrics_ports]
        readers = {"gateway": lambda: http_load.group_cpu_seconds(gw_pgid),
                   "installation": lambda: sum(cpu_seconds(pid) for pid in installation_pids),
                   "this client": lambda: time.process_time(),
                   **{name: partial(http_load.group_cpu_seconds, g) for name, g in stack_groups().items()},
                   "postgres": partial(http_load.command_cpu_seconds, "postgres")}
        cpu0 = {name: read() for name, read in readers.items()}
        wall0 = time.monotonic()
        views, registrations, refused = http_load._run(peak(port, cookies, clerks, pdf, args))
        wall = time.monotonic() - wall0
        cpu = {name: (read() - cpu0[name]) / wall for name, read in readers.items()}
        load_at_peak = os.getloadavg()[0]
        pages = home_pages(inst, usernames)
        bare = bare_home(inst, pages, len(cookies), args, args.workers)
        inserted, inserts_per_s = insert_baseline(inst, len(clerks), 500)
    report(args, views, registrations, refused, bare, inserted, inserts_per_s, cpu, load_at_peak,
           time.monotonic() - began)


def stack_groups() -> dict[str, int]:
    """The test stack's RabbitMQ (its process group), when its process table is readable."""
    table = Path(os.environ.get("CONGVAN_STACK_DIR", "/tmp/congvan-test-stack")) / "procs.json"
    try:
        found = json.loads(table.read_text())
    except (OSError, ValueError):
        return {}
    return {"rabbitmq": os.getpgid(found["rabbitmq"]["pid"])} if "rabbitmq" in found else {}


def report(args, views: http_load.Load, registrations: list[float], refused: dict[int, int], bare: http_load.Load,
           inserted: int, inserts_per_s: float, cpu: dict[str, float], load_at_peak: float, total: float) -> None:
    regs = len(registrations) / args.seconds
    print(f"\nMorning peak: {args.agencies} agencies hosted, {args.active} working; {args.sessions} staff sessions "
          f"loading / (think {args.think:g}s), {args.clerks} clerks registering paper documents; gateway "
          f"{args.workers} workers; {args.processes} installation processes; {args.seconds:.0f}s window; PostgreSQL")
    print(f"{'':34} {'per second':>10} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    print(f"{'home page, gateway':34} {views.per_second:>10.1f} {views.percentile(50) * 1000:>8.0f} "
          f"{views.percentile(95) * 1000:>8.0f} {sum(views.failed.values()):>7}")
    print(f"{'home page, bare app (static data)':34} {bare.per_second:>10.1f} {bare.percentile(50) * 1000:>8.0f} "
          f"{bare.percentile(95) * 1000:>8.0f} {sum(bare.failed.values()):>7}")
    reg_p50 = statistics.median(registrations) * 1000 if registrations else float("nan")
    reg_p95 = (statistics.quantiles(registrations, n=100)[94] * 1000 if len(registrations) > 1
               else float("nan"))
    print(f"{'registrations, gateway API':34} {regs:>10.2f} {reg_p50:>8.0f} {reg_p95:>8.0f} "
          f"{sum(refused.values()):>7}")
    print(f"{'plain INSERTs of the same rows':34} {inserts_per_s:>10.1f} {'':>8} {'':>8} {'':>7}  "
          f"({inserted} rows, {args.clerks} threads)")
    print(f"ratios: page views {views.per_second / max(bare.per_second, 1e-9):.3f}x the bare app; registrations "
          f"{regs / inserts_per_s:.4f}x the INSERTs ({regs / inserts_per_s * 100:.2f}%)")
    print(f"goals: p95 home page < 500 ms: {'met' if views.percentile(95) < 0.5 else 'missed'} "
          f"({views.percentile(95) * 1000:.0f} ms); registrations >= 25% of INSERTs: "
          f"{'met' if regs >= 0.25 * inserts_per_s else 'missed'}")
    work = views.per_second + regs
    print("CPU during the peak, cores (ms per page view or registration): " + ", ".join(
        f"{name} {used:.2f} ({used * 1000 / work:.0f})" for name, used in cpu.items())
        + " [RabbitMQ and PostgreSQL: the test stack's, shared with other users]")
    print(f"machine: {os.cpu_count()} cores, load average {load_at_peak:.1f} at the peak's end; "
          f"whole run {total:.0f}s")
    if views.failed or refused:
        print(f"errors by status: page views {views.failed}, registrations {refused}")


if __name__ == "__main__":
    main()
