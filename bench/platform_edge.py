"""The installation's one interconnect edge hosting 10, 100 and 1,000 agencies that each had traffic (issue 16).

    .venv/bin/python -m bench.platform --edge [--counts 10,100,1000] [--idle 20] [--postgres] [--profile]

For each count N, on the test stack's broker, a namespaced topology (`e<hex>.`, removed afterwards): one hub, H60
(`python -m services.interconnect.hub`), and two installations on it: the measured one, 000.00.00.H60, and a
receiving one whose edge does not run (its inbox only fills). The N agencies the measured installation hosts are
in no topology file: they are recorded, with their installation, in the hub's directory, as onboarding records
them, so the edge (`python -m services.interconnect.edge --agency 000.00.00.H60`, its own process) knows none of
them at start and makes each one's `Edge` (its tables, blob store, metrics) on that agency's first package.

The traffic is what the services publish: one `outgoing_status` event per hosted agency (status 05 about a
document the receiving installation sent it, built by routing's own `status_message`) on the installation's
`routing.events` exchange, bound to `interconnect.edge.outgoing`. The edge builds the edXML, records it in the
agency's outbox, submits it to the hub with confirms; the hub checks in its directory that the installation hosts
that agency and delivers it. Once the hub has delivered all N and the edge's log says "edge of <agency> ready" for
each, nobody works: the edge process's resident memory (VmRSS, highest sample) and its CPU time (utime + stime)
are read over the idle window. Printed too: the edge's CPU per agency during the traffic (the first package of an
agency: its tables made, one status built and sent).

`--rounds N`: N packages per agency, each round once every agency's package of the round before was delivered (with
more agencies than `OPEN_AGENCIES`, the first ones' SQLite files were closed in between). The edge's open file
descriptors at idle are printed with the memory.

`--profile`: before the processes, the same first package for N agencies in this process (HostedEdges, no
publishing) under tracemalloc; the memory kept per agency, by the line of services/ that allocated it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pika

from bench.hub_relay import stop
from bench.platform import cpu_seconds, fresh_database, open_files, organ, rss_kb
from infra.procs import free_port
from services.common.clock import VN_TZ
from services.common.rabbit_admin import RabbitAdmin
from services.interconnect import broker
from services.interconnect.topology import AgencySpec, HubSpec, Topology
from services.routing.domain import STATUS_IN_PROGRESS, status_message

REPO = Path(__file__).resolve().parents[1]
INSTALLATION = "000.00.00.H60"   # UBND tỉnh Tuyên Quang: the measured installation
RECEIVER = "000.99.99.H60"       # an installation whose edge is not started: its inbox takes the statuses


def topology(count: int) -> Topology:
    hub = "H60"
    hosted = [{"organ_id": organ(n), "name": f"Đơn vị {organ(n)}", "hub": hub, "parent": INSTALLATION,
               "installation": INSTALLATION} for n in range(1, count + 1)]
    return Topology(
        hubs=(HubSpec(hub, "Trục liên thông văn bản tỉnh Tuyên Quang", None, 0),),
        agencies=(AgencySpec(INSTALLATION, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", hub, "Tuyên Quang", 0, 0),
                  AgencySpec(RECEIVER, "Văn phòng nhận của phép đo", "VP", hub, "Tuyên Quang", 0, 0)),
        extra={"namespace": f"e{secrets.token_hex(3)}.",
               "directory": [{"organ_id": INSTALLATION, "name": "Ủy ban nhân dân tỉnh Tuyên Quang", "hub": hub},
                             {"organ_id": RECEIVER, "name": "Văn phòng nhận của phép đo", "hub": hub}, *hosted]})


def status_event(agency: str, n: int) -> dict:
    """What routing's outbox publishes when a hosted agency starts handling a document the receiver sent it."""
    event = status_message(code=STATUS_IN_PROGRESS, agency_id=agency, agency_name=f"Đơn vị {agency}",
                           sender_organ_id=RECEIVER, document_id=f"{RECEIVER},2026/11/21,{n}/VP-VX",
                           doc_code=f"{n}/VP-VX", promulgation_date="2026-11-21", staff_name="Lê Văn Hùng",
                           staff_unit="Văn thư", at=datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    return {**event, "message_id": str(uuid.uuid4())}


def publish_events(top: Topology, creds: broker.Credentials, count: int, round_: int) -> None:
    user = broker.services_user(top, INSTALLATION)
    with broker.confirmed_channel(creds.params(user, broker.agency_vhost(top, INSTALLATION))) as (_conn, ch):
        for n in range(1, count + 1):
            event = status_event(organ(n), round_ * count + n)
            ch.basic_publish("routing.events", "outgoing_status", json.dumps(event).encode(),
                             pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                                         message_id=event["message_id"]))


def start(name: str, argv: list[str], run_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    with open(run_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", *argv, "--topology", str(run_dir / "topology.json"),
                                 "--run-dir", str(run_dir), "--metrics-port", str(port)], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: _healthy(port), f"{name} healthy (see {run_dir / name}.log)", proc)
    return proc, port


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_for(done, what: str, proc: subprocess.Popen | None = None, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before: {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.5)


def delivered(port: int) -> float:
    """Statuses the hub delivered into an inbox (congvan_hub_packages_relayed_total, kind status, hop inbox)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    found = re.search(r'congvan_hub_packages_relayed_total\{hop="inbox",hub="H60",kind="status"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def edges_ready(log: Path) -> set[str]:
    """The hosted agencies whose Edge the edge process made (its log line `edge of <agency> ready`)."""
    return set(re.findall(rf"installation {re.escape(INSTALLATION)}: edge of (\S+) ready", log.read_text()))


def measure(count: int, idle: float, env: dict[str, str], postgres: bool, profile: bool,
            rounds: int = 1) -> dict[str, float]:
    top = topology(count)
    run_dir = Path(tempfile.mkdtemp(prefix=f"bench-platform-edge-{count}-"))
    (run_dir / "topology.json").write_text(top.to_json())
    admin = RabbitAdmin(env["RABBIT_API_URI"])
    procs: list[subprocess.Popen] = []
    try:
        creds = broker.provision(admin, top, run_dir)
        base = {**os.environ, "DATA_DIR": str(run_dir / "data"), "RABBIT_API_URI": env["RABBIT_API_URI"]}
        base.pop("DATABASE_URL", None)
        if profile:
            print_profile(top, run_dir, count)
        with fresh_database(env, postgres) as db_url:
            hub, hub_port = start("hub-H60", ["services.interconnect.hub", "--hub", "H60"], run_dir, base)
            procs.append(hub)
            edge, _port = start("edge", ["services.interconnect.edge", "--agency", INSTALLATION], run_dir,
                                {**base, **({"DATABASE_URL": db_url} if db_url else {})})
            procs.append(edge)
            cpu0 = cpu_seconds(edge.pid)
            for round_ in range(rounds):  # a round starts once every agency's package of the one before is out
                publish_events(top, creds, count, round_)
                wait_for(lambda r=round_: delivered(hub_port) >= count * (r + 1),
                         f"the hub delivering {count} statuses of round {round_ + 1}", edge)
                if round_ == 0:
                    first_cpu = cpu_seconds(edge.pid) - cpu0
            expected = {organ(n) for n in range(1, count + 1)}
            missing = expected - edges_ready(run_dir / "edge.log")
            if missing:
                raise RuntimeError(f"{len(missing)} hosted agencies have no edge: {sorted(missing)[:5]}")
            time.sleep(5)  # the last packages' confirms and log lines settle
            cpu0, wall0 = cpu_seconds(edge.pid), time.monotonic()
            samples = []
            while time.monotonic() - wall0 < idle:
                samples.append(rss_kb(edge.pid))
                time.sleep(min(1.0, idle / 2))
            cpu = (cpu_seconds(edge.pid) - cpu0) / (time.monotonic() - wall0)
            files = open_files(edge.pid)
    finally:
        stop(procs)
        broker.unprovision(admin, top)
        admin.close()
        (run_dir / "credentials.json").unlink(missing_ok=True)   # its users are gone; no password stays behind
    print(f"edges ready for {count}/{count} hosted agencies ({run_dir / 'edge.log'})", flush=True)
    return {"count": count, "rss_mb": max(samples) / 1024, "cpu_pct": cpu * 100,
            "onboard_ms": first_cpu * 1000 / count, "files": files}


def print_profile(top: Topology, run_dir: Path, count: int, top_lines: int = 8) -> None:
    """The memory an agency's first package leaves behind in this process, per agency, by the line of services/
    nearest to the allocation (tracemalloc; the first 10 agencies are the baseline: modules and caches warm)."""
    from services.interconnect.edge_installation import HostedEdges

    os.environ["DATA_DIR"] = str(run_dir / "profile")
    os.environ.pop("DATABASE_URL", None)
    edges = HostedEdges(top, INSTALLATION, run_dir)
    warm = min(10, count // 2)

    def first_package(n: int) -> None:
        edge = edges.edge(organ(n))
        edge.mark_sent(edge.prepare_outgoing(status_event(organ(n), n)).message_id)

    tracemalloc.start(30)
    for n in range(1, warm + 1):
        first_package(n)
    before = tracemalloc.take_snapshot()
    for n in range(warm + 1, count + 1):
        first_package(n)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    edges.close()
    agencies = count - warm
    by_line: Counter[str] = Counter()
    by_module: Counter[str] = Counter()
    for diff in after.compare_to(before, "traceback"):
        frames = list(diff.traceback)   # oldest first
        ours = next((f for f in reversed(frames) if "/services/" in f.filename), None)
        by_line[f"{Path(ours.filename).relative_to(REPO)}:{ours.lineno}" if ours else "elsewhere"] += diff.size_diff
        by_module[_short(frames[-1].filename)] += diff.size_diff
    agencies = count - warm
    print(f"profile ({agencies} agencies after {warm}): {sum(by_line.values()) / agencies / 1024:.0f} KB of Python "
          "objects kept per agency (tracemalloc)")
    for title, counts in (("the line of services/ that led to it", by_line), ("the allocating module", by_module)):
        print(f"  by {title}:")
        for line, size in counts.most_common(top_lines):
            print(f"  {size / agencies / 1024:8.1f} KB  {line}")


def _short(filename: str) -> str:
    """A library file by its package path (sqlalchemy/orm/session.py), one of ours by its repository path."""
    parts = Path(filename).parts
    cut = max((i for i, p in enumerate(parts) if p in ("site-packages", "python3.11")), default=-1)
    if cut >= 0:
        return "/".join(parts[cut + 1:])
    return str(Path(filename).relative_to(REPO)) if Path(filename).is_relative_to(REPO) else filename
