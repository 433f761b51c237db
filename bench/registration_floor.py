"""The floor of the architecture under a registration (issue 16): the least a registration can cost in the plumbing
the developers' guide mandates, with no business logic, against the morning peak's INSERT baseline, in one run.

    .venv/bin/python -m bench.registration_floor [--seconds 20] [--clients 10] [--processes <cores>]
                                                 [--workers <cores>] [--stages AHBCDE]

On the running test stack: a fresh vhost and a fresh PostgreSQL database. Each stage runs for `--seconds` (after 2 s
of warm-up) with `--clients` concurrent clients, each registering one document after another; a registration counts
when it started and ended inside the window.

- A. baseline: the rows of one registration (bench/floor_service.py `registration_rows`: the document, its scan,
  its history line, its outbox event, the audit entries of the three business rows; 7 rows, the shape the morning
  peak's baseline copies) as plain SQLAlchemy Core INSERTs, one per table, one transaction per registration, from
  the clients' threads, into a scratch schema with the registry's own table definitions.
- H. HTTP alone: the bare FastAPI app of D (below) writing A's rows itself in its own process, one transaction a
  request (bench/bare_app.py `direct_registration_app`): no RPC, no audit chain, no outbox. The least a
  registration arriving over HTTP can cost, in a design the architecture rules out (the gateway writing the
  registry's tables).
- B. the same transaction in a nameko service (`floor_b.register`: DatabaseProvider, ActingUser, RpcMetrics; audit
  chain off), called through ServiceClient from the same threads: one RPC hop.
- C. B with the real audit chain and the real outbox (`floor_c.register`), and a second service consuming the
  event and writing routing's handling record in its own audited transaction (`floor_routing`).
- D. C behind HTTP: a bare FastAPI app under uvicorn (`--workers`; bench/bare_app.py `registration_app`) taking the
  morning peak's multipart POST with a one-page PDF and a bearer token (one indexed SELECT), then C's RPC; the
  client is the morning peak's own (bench/morning_peak.py `register`, httpx).
- E. the real thing: one agency onboarded in a small installation as the morning peak builds it (bench/morning_peak.py
  Installation: all services in `--processes` processes, the real gateway), its clerk registering through the REST
  API from `--clients` clients, no page views.

`--processes` service processes (replicas on the same queues, as the morning peak runs the installation). Printed
per stage: registrations/s, p50, p95, errors, the ratio to A, and the CPU milliseconds per registration of each
process (this client, the gateway, the service processes, the test stack's RabbitMQ and every postgres process:
both shared with whatever else runs on the machine), read at the window's edges.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from bench import http_load
from bench.bare_app import token_table
from bench.floor_service import TABLES, numbered, registration_rows, write_rows
from bench.gateway_http import bare_argv, gateway_argv, server
from bench.morning_peak import Installation, register, say, stack_groups
from bench.platform import cpu_seconds, fresh_database, fresh_vhost, organ, pid_on
from bench.rpc_client import stack_env
from gateway.__main__ import default_workers
from infra import procs
from services.common.actor import Actor, Role
from services.common.db import schema_name
from services.common.rpc_client import ServiceClient
from tests.agency import running_agency_process

FLOOR_SERVICES = "bench.floor_service:FloorB,bench.floor_service:FloorC,bench.floor_service:FloorRouting"
AGENCY = organ(1)
ACTOR = Actor(user_id="u-floor", username="vt.floor", agency_id=AGENCY, roles=frozenset({Role.CLERK}))
WARMUP = 2.0
Readers = dict[str, Callable[[], float]]


@dataclass
class Stage:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)   # seconds used inside the window, per process
    note: str = ""

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def cpu_ms(self) -> float:
        return sum(self.cpu.values()) * 1000 / max(len(self.latencies), 1)

    def ceiling(self, cores: int) -> float:
        return cores * 1000 / self.cpu_ms() if self.latencies else float("nan")

    def ms(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000


class Window:
    """The measured window (after the warm-up), and the CPU each reader counts between its edges (a thread of its
    own reads them, whatever the clients do meanwhile)."""

    def __init__(self, seconds: float, readers: Readers) -> None:
        self.start = time.perf_counter() + WARMUP
        self.stop = self.start + seconds
        self.readers = readers
        self.marks: list[dict[str, float]] = []
        self.thread = threading.Thread(target=self._mark)
        self.thread.start()

    def _mark(self) -> None:
        for at in (self.start, self.stop):
            time.sleep(max(0.0, at - time.perf_counter()))
            self.marks.append({name: read() for name, read in self.readers.items()})

    def cpu(self) -> dict[str, float]:
        self.thread.join()
        return {name: self.marks[1][name] - self.marks[0][name] for name in self.readers}


def threaded(stage: Stage, work: Callable[[int], object], clients: int, readers: Readers) -> Stage:
    """`clients` threads, each calling work(n) with its own numbers, one after another until the window ends."""
    window = Window(stage.seconds, readers)
    lock = threading.Lock()

    def client(c: int) -> None:
        for n in itertools.count(c * 1_000_000 + 1):
            began = time.perf_counter()
            if began >= window.stop:
                return
            try:
                work(n)
            except Exception as exc:
                with lock:
                    stage.errors += 1
                    if stage.errors <= 2:
                        say(f"{stage.name}: {exc!r}")
                continue
            ended = time.perf_counter()
            if began >= window.start and ended <= window.stop:
                stage.latencies.append(ended - began)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stage.cpu = window.cpu()
    return stage


def over_http(stage: Stage, port: int, token: str, pdf: bytes, clients: int, readers: Readers) -> Stage:
    window = Window(stage.seconds, readers)
    refused: dict[int, int] = {}
    http_load._run(register(port, [("", token)] * clients, pdf, window.start, window.stop, stage.latencies, refused))
    stage.errors = sum(refused.values())
    stage.cpu = window.cpu()
    return stage


def base_readers() -> Readers:
    return {"client": time.process_time, **{name: partial(http_load.group_cpu_seconds, g)
                                            for name, g in stack_groups().items()},
            "postgres": partial(http_load.command_cpu_seconds, "postgres")}


def scratch_schema(engine: sa.Engine, name: str) -> sa.Engine:
    """A new schema with the registry's tables (and the audit table), as the morning peak's baseline makes it."""
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        # the audit table's triggers name it unqualified: made on the scratch schema's search path
        conn.execute(sa.text(f'SET LOCAL search_path TO "{name}"'))
        TABLES["document"].metadata.create_all(conn)
    return engine.execution_options(schema_translate_map={None: name})


def stage_a(db_url: str, args: argparse.Namespace, sha: str, size: int) -> Stage:
    """Plain INSERTs, as bench/morning_peak.py Registrations.insert writes them: one transaction a registration."""
    engine = sa.create_engine(db_url, pool_size=args.clients + 2)
    try:
        scratch = scratch_schema(engine, "floor_inserts")
        seqs = itertools.count(1)

        def work(n: int) -> None:
            rows = numbered(registration_rows(AGENCY, ACTOR.user_id, n, sha, size), seqs)
            with scratch.begin() as conn:
                write_rows(conn, rows)

        return threaded(Stage("A. plain INSERTs", args.seconds), work, args.clients, base_readers())
    finally:
        engine.dispose()


def routing_lag(engine: sa.Engine, registered_before: int) -> str:
    """How many of the stage's events routing had not yet recorded when the clients stopped, and how long it took
    to record them all (the stage's CPU counts only what the consumer did inside the window)."""
    def counts() -> tuple[int, int]:
        return rows_of(engine, "floor_c", "document"), rows_of(engine, "floor_routing", "handling")

    began = time.perf_counter()
    docs, seen = counts()
    lag = docs - seen
    while seen < docs and time.perf_counter() - began < 120:
        time.sleep(0.2)
        docs, seen = counts()
    left = f", {docs - seen} still missing" if seen < docs else ""
    return (f"routing behind by {lag} of {docs - registered_before} events at the end, caught up in "
            f"{time.perf_counter() - began:.1f}s{left}")


def floor_stages(args: argparse.Namespace, pdf: bytes, stack: ExitStack, tmp: Path) -> list[Stage]:
    env = stack_env()
    amqp = stack.enter_context(fresh_vhost(env))
    db_url = stack.enter_context(fresh_database(env, True))
    sha, size = hashlib.sha256(pdf).hexdigest(), len(pdf)
    stages: list[Stage] = []
    if "A" in args.stages:
        stages.append(stage_a(db_url, args, sha, size))
        say(f"A: {stages[-1].per_second:.1f}/s")
    if "H" in args.stages:
        stages.append(stage_h(args, pdf, db_url, tmp))
    if not set(args.stages) & set("BCD"):
        return stages
    proc_env = {**os.environ, "DATA_DIR": str(tmp), "DATABASE_URL": db_url}
    for name in ("AGENCY_ID", "PROMETHEUS_MULTIPROC_DIR"):
        proc_env.pop(name, None)
    ports = [stack.enter_context(running_agency_process(FLOOR_SERVICES, amqp, tmp / f"floor-{n}.log", proc_env,
                                                        agency="", installation="floor", ready_timeout=240))
             for n in range(args.processes)]
    pids = [pid_on(p) for p in ports]
    readers = {**base_readers(), "services": lambda: sum(cpu_seconds(pid) for pid in pids)}
    idle = readers["services"]()
    time.sleep(5)
    args.idle = f"{(readers['services']() - idle) / 5 * 100:.1f}% of a core ({args.processes} processes, 5 s)"
    client = ServiceClient(amqp, size=args.clients, timeout=120)
    stack.callback(client.close)
    engine = sa.create_engine(db_url)
    stack.callback(engine.dispose)
    for service in ("floor_b", "floor_c"):  # each replica opens the agency's schema (made on first use)
        for n in range(4 * args.processes):
            client.call(service, "register", ACTOR, 900_000_000 + n, sha, size)

    def rpc(service: str) -> Callable[[int], object]:
        return lambda n: client.call(service, "register", ACTOR, n, sha, size)

    if "B" in args.stages:
        stages.append(threaded(Stage("B. + one RPC (nameko service)", args.seconds), rpc("floor_b"), args.clients,
                               readers))
        say(f"B: {stages[-1].per_second:.1f}/s")
    before = rows_of(engine, "floor_c", "document")
    if "C" in args.stages:
        stages.append(threaded(Stage("C. + audit chain, outbox, consumer", args.seconds), rpc("floor_c"),
                               args.clients, readers))
        stages[-1].note = routing_lag(engine, before)
        say(f"C: {stages[-1].per_second:.1f}/s; {stages[-1].note}")
    if "D" in args.stages:
        stages.append(stage_d(args, pdf, amqp, db_url, engine, readers, tmp))
    return stages


def rows_of(engine: sa.Engine, service: str, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(
            sa.table(table, schema=schema_name(service, AGENCY)))).scalar_one())


def new_token(engine: sa.Engine) -> str:
    """A bearer token of the floor's clerk, in the bare apps' token table (made on first use)."""
    token = "cv_floor_" + hashlib.sha256(os.urandom(16)).hexdigest()[:32]
    tokens = token_table()
    with engine.begin() as conn:
        conn.execute(sa.text('CREATE SCHEMA IF NOT EXISTS "floor_gateway"'))
        tokens.create(conn, checkfirst=True)
        conn.execute(tokens.insert().values(id_hash=hashlib.sha256(token.encode()).hexdigest(),
                                            user_id=ACTOR.user_id, agency_id=AGENCY))
    return token


def stage_h(args: argparse.Namespace, pdf: bytes, db_url: str, tmp: Path) -> Stage:
    """The bare app writing A's rows itself (bench/bare_app.py direct_registration_app): HTTP and nothing else."""
    engine = sa.create_engine(db_url)
    try:
        scratch_schema(engine, "floor_direct")
        token = new_token(engine)
    finally:
        engine.dispose()
    port = procs.free_port()
    env = {**os.environ, "BENCH_FLOOR_DB": db_url, "BENCH_FLOOR_SCHEMA": "floor_direct"}
    argv = bare_argv(port, args.workers, "bench.bare_app:direct_registration_app", access_log=False)
    with server(argv, env, port, tmp / "bare-direct.log") as pgid:
        stage = over_http(Stage("H. HTTP alone (the app writes A's rows)", args.seconds), port, token, pdf,
                          args.clients, {**base_readers(), "gateway": partial(http_load.group_cpu_seconds, pgid)})
    say(f"H: {stage.per_second:.1f}/s")
    return stage


def stage_d(args: argparse.Namespace, pdf: bytes, amqp: str, db_url: str, engine: sa.Engine, readers: Readers,
            tmp: Path) -> Stage:
    token = new_token(engine)
    port = procs.free_port()
    env = {**os.environ, "BENCH_FLOOR_DB": db_url, "BENCH_FLOOR_AMQP": amqp}
    argv = bare_argv(port, args.workers, "bench.bare_app:registration_app", access_log=False)
    with server(argv, env, port, tmp / "bare-registration.log") as pgid:
        before = rows_of(engine, "floor_c", "document")
        stage = over_http(Stage("D. + HTTP (bare FastAPI app)", args.seconds), port, token, pdf, args.clients,
                          {**readers, "gateway": partial(http_load.group_cpu_seconds, pgid)})
        stage.note = routing_lag(engine, before)
    say(f"D: {stage.per_second:.1f}/s; {stage.note}")
    return stage


def stage_e(args: argparse.Namespace, pdf: bytes) -> Stage:
    with ExitStack() as stack:
        inst = Installation(argparse.Namespace(agencies=2, active=1, sessions=0, clerks=1,
                                               processes=args.processes), stack)
        inst.onboard()
        _sessions, clerks = inst.staff()
        port = procs.free_port()
        pgid = stack.enter_context(server(gateway_argv(port, args.workers), inst.env, port, inst.tmp / "gateway.log"))
        pids = [pid_on(p) for p in inst.metrics_ports]
        readers = {**base_readers(), "services": lambda: sum(cpu_seconds(pid) for pid in pids),
                   "gateway": partial(http_load.group_cpu_seconds, pgid)}
        stage = over_http(Stage("E. the real registration (REST API)", args.seconds), port, clerks[0][1], pdf,
                          args.clients, readers)
    say(f"E: {stage.per_second:.1f}/s")
    return stage


COLUMNS = ("client", "gateway", "services", "rabbitmq", "postgres")


def report(args: argparse.Namespace, stages: list[Stage], loads: tuple[tuple[float, ...], tuple[float, ...]],
           total: float, idle: str) -> None:
    cores = os.cpu_count() or 1
    print(f"\nRegistration floor: {args.clients} clients, {args.seconds:.0f}s windows, {args.processes} service "
          f"processes, {args.workers} HTTP workers; PostgreSQL; {cores} cores, load average {_load(loads[0])} at the "
          f"start, {_load(loads[1])} at the end; whole run {total:.0f}s")
    print(f"{'':38} {'':>7} {'':>7} {'':>7} {'':>6} {'':>6}   {'CPU ms per registration':<52}  CPU-bound ceiling")
    print(f"{'stage':38} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} {'errors':>6} {'× A':>6}   "
          + " ".join(f"{c:>8}" for c in COLUMNS) + f" {'all':>6}  {'per s':>7} {'× A':>6}")
    base = stages[0] if stages and stages[0].name.startswith("A") else None
    for s in stages:
        per = {name: used * 1000 / max(len(s.latencies), 1) for name, used in s.cpu.items()}
        cells = " ".join(f"{per[c]:>8.2f}" if c in per else f"{'-':>8}" for c in COLUMNS)
        print(f"{s.name:38} {s.per_second:>7.1f} {s.ms(50):>7.1f} {s.ms(95):>7.1f} {s.errors:>6} "
              f"{s.per_second / base.per_second if base else float('nan'):>6.3f}   {cells} {s.cpu_ms():>6.2f}  "
              f"{s.ceiling(cores):>7.0f} {s.ceiling(cores) / base.ceiling(cores) if base else float('nan'):>6.3f}")
    for s in stages:
        if s.note:
            print(f"{s.name[:2]} {s.note}")
    print(f"service processes idle (before B): {idle}")
    print("CPU-bound ceiling: the registrations a second if the processes measured had every core to themselves and "
          "nothing but CPU limited them (cores × 1000 / all CPU ms); RabbitMQ and postgres are the test stack's, "
          "shared with other users of the machine.")
    if base:
        print(f"goal of issue 16 (>= 25% of A): {0.25 * base.per_second:.0f} registrations/s")


def _load(avg: tuple[float, ...]) -> str:
    return "/".join(f"{a:.2f}" for a in avg)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--processes", type=int, default=default_workers(), help="Service processes (replicas)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="HTTP workers (H, D and E)")
    parser.add_argument("--stages", default="AHBCDE")
    parser.add_argument("--logs", type=Path, help="Keep the processes' logs in this folder (default: removed)")
    args = parser.parse_args()
    args.idle = "not measured"
    from tests.e2e.helpers import vietnamese_pdf

    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN HUYỆN YÊN SƠN", "Về việc báo cáo tình hình buổi sáng")
    began, load_start = time.monotonic(), os.getloadavg()
    say(f"load average {_load(load_start)}")
    with ExitStack() as stack:
        logs = args.logs or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        logs.mkdir(parents=True, exist_ok=True)
        stages = floor_stages(args, pdf, stack, logs)
    if "E" in args.stages:
        stages.append(stage_e(args, pdf))
    report(args, stages, (load_start, os.getloadavg()), time.monotonic() - began, args.idle)


if __name__ == "__main__":
    main()
