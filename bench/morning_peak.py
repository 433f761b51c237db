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
- plain SQLAlchemy INSERTs of the same rows (bench: Registrations): each registration of the peak read back from the
  registry's schemas as the rows its transaction wrote (the document, its attachments, its history lines, its outbox
  events, the audit entries of those rows), inserted again with new keys, one transaction per registration, from
  `--clerks` threads, into a scratch schema of the same database with the registry's own table definitions; and
  for reference the document row alone, one per transaction.
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


class Registrations:
    """Each registration of the peak as the rows its registry transaction wrote: the document, its attachments, its
    history lines, its outbox events and the audit entries of those rows (read back from the agencies' schemas)."""

    TABLES = ("document", "attachment", "history", "outbox", "audit_log")

    def __init__(self, db_url: str) -> None:
        import sqlalchemy as sa

        from services.common.audit import make_audit_table
        from services.registry.models import Attachment, Base, Document, History, outbox

        self.metadata = Base.metadata
        audit = make_audit_table(Base.metadata)
        self.tables = {"document": Document.__table__, "attachment": Attachment.__table__,
                       "history": History.__table__, "outbox": outbox, "audit_log": audit}
        self.engine = sa.create_engine(db_url, pool_size=12)
        self.each: list[dict[str, list[dict[str, Any]]]] = []
        with self.engine.begin() as conn:
            schemas = [r[0] for r in conn.execute(sa.text(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'document' "
                "AND table_schema LIKE 'registry%'"))]
            for schema in schemas:
                self.each += self._read(conn.execution_options(schema_translate_map={None: schema}))
        if not self.each:
            raise RuntimeError("no document registered during the peak: nothing to insert")

    def _read(self, conn) -> list[dict[str, list[dict[str, Any]]]]:
        import sqlalchemy as sa

        t = self.tables
        docs = [dict(r._mapping) for r in conn.execute(sa.select(t["document"]).where(
            t["document"].c.source_channel == "paper"))]
        ids = [d["id"] for d in docs]

        def by_document(name: str) -> dict[str, list[dict[str, Any]]]:
            grouped: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            for r in conn.execute(sa.select(t[name]).where(t[name].c.document_pk.in_(ids))):
                grouped[r.document_pk].append(dict(r._mapping))
            return grouped

        attachments, history = by_document("attachment"), by_document("history")
        events = [(json.dumps(r.payload), dict(r._mapping)) for r in conn.execute(sa.select(t["outbox"]))]
        audit: dict[str, list[dict[str, Any]]] = {}
        for r in conn.execute(sa.select(t["audit_log"]).where(t["audit_log"].c.entity.in_(self.TABLES))):
            audit.setdefault(r.entity_id, []).append(dict(r._mapping))
        out = []
        for doc in docs:
            own = [doc["id"], *(a["id"] for a in attachments[doc["id"]]),
                   *(str(h["id"]) for h in history[doc["id"]])]
            out.append({"document": [doc], "attachment": attachments[doc["id"]], "history": history[doc["id"]],
                        "outbox": [e for text, e in events if doc["id"] in text],
                        "audit_log": [a for key in own for a in audit.get(key, [])]})
        return out

    def rows_each(self) -> float:
        return sum(len(rows) for reg in self.each for rows in reg.values()) / len(self.each)

    def insert(self, threads: int, at_least: int, whole: bool) -> tuple[int, float]:
        """The registrations' rows inserted again (new keys) into a scratch schema with the registry's own table
        definitions, from `threads` threads, one transaction per registration (`whole`) or only its document
        row: registrations/s."""
        import itertools

        import sqlalchemy as sa

        scratch_name = f"bench_inserts_{'whole' if whole else 'document'}"
        with self.engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{scratch_name}"'))
            # the audit table's triggers name it unqualified: made on the scratch schema's search path
            conn.execute(sa.text(f'SET LOCAL search_path TO "{scratch_name}"'))
            self.metadata.create_all(conn)
        scratch = self.engine.execution_options(schema_translate_map={None: scratch_name})
        seq = itertools.count(1)
        lock = threading.Lock()
        queue = [self.each[i % len(self.each)] for i in range(max(len(self.each), at_least))]
        count = len(queue)

        def fresh(reg: dict[str, list[dict[str, Any]]]) -> list[tuple[str, list[dict[str, Any]]]]:
            doc_id = str(uuid.uuid4())
            document = [{**reg["document"][0], "id": doc_id, "register_id": None, "dedupe_key": None}]
            if not whole:
                return [("document", document)]
            with lock:
                seqs = [next(seq) for _ in reg["audit_log"]]
            return [("document", document),
                    ("attachment", [{**a, "id": str(uuid.uuid4()), "document_pk": doc_id} for a in reg["attachment"]]),
                    ("history", [{k: v for k, v in {**h, "document_pk": doc_id}.items() if k != "id"}
                                 for h in reg["history"]]),
                    ("outbox", [{k: v for k, v in {**e, "message_id": str(uuid.uuid4())}.items() if k != "id"}
                                for e in reg["outbox"]]),
                    ("audit_log", [{**a, "seq": s} for a, s in zip(reg["audit_log"], seqs, strict=True)])]

        def work(reg: dict[str, list[dict[str, Any]]]) -> None:
            rows = fresh(reg)
            with scratch.begin() as conn:
                for name, values in rows:
                    if values:
                        conn.execute(self.tables[name].insert(), values)

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, queue))
        return count, count / (time.perf_counter() - started)


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
        registered = Registrations(inst.db_url)
        stack.callback(registered.engine.dispose)
        inserts = {whole: registered.insert(len(clerks), 500, whole) for whole in (False, True)}
        report(args, views, registrations, refused, bare, registered.rows_each(), inserts, cpu, load_at_peak,
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
           rows_each: float, inserts: dict[bool, tuple[int, float]], cpu: dict[str, float], load_at_peak: float,
           total: float) -> None:
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
    (documents, document_rows_per_s), (inserted, inserts_per_s) = inserts[False], inserts[True]
    print(f"{'plain INSERTs of the same rows':34} {inserts_per_s:>10.1f} {'':>8} {'':>8} {'':>7}  "
          f"({inserted} registrations of {rows_each:.1f} rows each, one transaction each, {args.clerks} threads)")
    print(f"{'  the document row alone':34} {document_rows_per_s:>10.1f} {'':>8} {'':>8} {'':>7}  "
          f"({documents} rows, one transaction each)")
    print(f"ratios: page views {views.per_second / max(bare.per_second, 1e-9):.3f}x the bare app; registrations "
          f"{regs / inserts_per_s:.4f}x the INSERTs of their rows ({regs / inserts_per_s * 100:.2f}%; "
          f"{regs / document_rows_per_s * 100:.2f}% of the document row alone)")
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
