"""`congvan up / down / status`: the local demo as tracked background processes.

Start order: RabbitMQ and Prometheus (infra/stack.py), broker provisioning (vhosts, users, permissions, queues),
the test PKI and a timestamp server, the hubs (national first), each demo agency's services and edge, the
gateway; then seed data (accounts, registers) and print the URL and accounts. Everything runs on 127.0.0.1 and
keeps its data under var/demo/ (SQLite files and a local folder: the embedded defaults).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time

from infra import procs
from infra.procs import ProcTable
from infra.prometheus import config as prometheus_config
from infra.stack import DEMO_PORTS, REPO, Stack, ensure_system_packages
from infra.topology import DEMO, Topology

DEMO_DIR = REPO / "var" / "demo"
STACK_DIR = DEMO_DIR / "stack"
DATA_DIR = DEMO_DIR / "data"
TOPOLOGY_FILE = DEMO_DIR / "topology.json"
AGENCIES_FILE = DEMO_DIR / "agencies.json"
ACCOUNTS_FILE = DEMO_DIR / "accounts.txt"
DIRECTORY_FILE = REPO / "infra" / "demo" / "agencies.json"
PKI_DIR = DEMO_DIR / "pki"
TSA_PORT = 19230


def demo_stack() -> Stack:
    return Stack("cvdemo", STACK_DIR, DEMO_PORTS)


def _say(text: str) -> None:
    print(text, flush=True)


def _py(*args: str) -> list[str]:
    return [sys.executable, *args]


def up(fresh: bool = False, topology: Topology = DEMO) -> None:
    started = time.monotonic()
    stack = demo_stack()
    if stack.running().get("rabbitmq"):
        _say("The demo is already running:")
        status()
        return
    ensure_system_packages()
    if fresh and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    stack.stop(remove=False)  # leftovers of a killed run
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    TOPOLOGY_FILE.write_text(topology.to_json())
    _say("Starting RabbitMQ and Prometheus ...")
    stack.start(postgres=False, s3=False, prometheus=True,
                prometheus_config=prometheus_config(topology, DEMO_PORTS))
    try:
        _start_application(stack, topology)
        accounts = _seed(topology)
    except BaseException:
        _say("Start-up failed; stopping what was started. Logs: " + str(STACK_DIR / "log"))
        stack.stop(remove=False)
        raise
    _say(f"\nCông Văn demo is up in {time.monotonic() - started:.0f}s.")
    _say(f"  Gateway:    http://127.0.0.1:{topology.gateway_port}/")
    _say(f"  Prometheus: http://127.0.0.1:{DEMO_PORTS.prometheus}/   RabbitMQ: http://127.0.0.1:{DEMO_PORTS.mgmt}/")
    _say(f"\nDemo accounts (also in {ACCOUNTS_FILE}):")
    _say(accounts)
    _say("Stop with: ./congvan down")


def _env() -> dict[str, str]:
    return {"DATA_DIR": str(DATA_DIR), "PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO",
            "PKI_DIR": str(PKI_DIR), "TSA_URL": f"http://127.0.0.1:{TSA_PORT}/"}


def _start_application(stack: Stack, topology: Topology) -> None:
    from services.common.rabbit_admin import RabbitAdmin
    from services.interconnect.broker import Credentials, agency_vhost, provision, services_user

    admin = RabbitAdmin(stack.env()["RABBIT_API_URI"])
    _say("Provisioning vhosts, users and queues ...")
    provision(admin, topology, DEMO_DIR)
    creds = Credentials.load(DEMO_DIR)
    table = stack.table
    env = _env()
    _init_pki(topology)
    waits: list[procs.Proc] = []
    if _module_exists("services.signing.tsa"):
        waits.append(procs.spawn(table, "tsa", _py("-m", "services.signing.tsa", "--port", str(TSA_PORT),
                                                   "--pki-dir", str(PKI_DIR)), env=env, port=TSA_PORT))
    common = ["--topology", str(TOPOLOGY_FILE), "--run-dir", str(DEMO_DIR)]
    for hub in sorted(topology.hubs, key=lambda h: h.parent is not None):
        waits.append(procs.spawn(
            table, f"hub.{hub.code}",
            _py("-m", "services.interconnect.hub", "--hub", hub.code, *common, "--directory", str(DIRECTORY_FILE),
                "--metrics-port", str(hub.metrics_port)),
            env=env, port=hub.metrics_port, health_url=f"http://127.0.0.1:{hub.metrics_port}/healthz"))
    agencies = {}
    for agency in topology.agencies:
        uri = creds.uri(services_user(topology, agency.organ_id), agency_vhost(topology, agency.organ_id))
        agencies[agency.organ_id] = {"name": agency.name, "amqp_uri": uri, "abbreviation": agency.abbreviation,
                                     "place": agency.place}
        agency_env = {**env, "AGENCY_ID": agency.organ_id, "AMQP_URI": uri}
        waits.append(procs.spawn(
            table, f"agency.{agency.organ_id}",
            _py("-m", "services.common.agency_process", "--metrics-port", str(agency.services_metrics_port)),
            env=agency_env, port=agency.services_metrics_port,
            health_url=f"http://127.0.0.1:{agency.services_metrics_port}/healthz"))
        waits.append(procs.spawn(
            table, f"edge.{agency.organ_id}",
            _py("-m", "services.interconnect.edge", "--agency", agency.organ_id, *common,
                "--metrics-port", str(agency.edge_metrics_port)),
            env=agency_env, port=agency.edge_metrics_port,
            health_url=f"http://127.0.0.1:{agency.edge_metrics_port}/healthz"))
    AGENCIES_FILE.write_text(json.dumps(agencies, ensure_ascii=False, indent=1))
    AGENCIES_FILE.chmod(0o600)
    gateway_env = {**env, "AGENCIES_FILE": str(AGENCIES_FILE), "DIRECTORY_FILE": str(DIRECTORY_FILE)}
    waits.append(procs.spawn(table, "gateway", _py("-m", "gateway", "--port", str(topology.gateway_port)),
                             env=gateway_env, port=topology.gateway_port,
                             health_url=f"http://127.0.0.1:{topology.gateway_port}/healthz"))
    _say(f"Waiting for {len(waits)} processes ...")
    for proc in waits:
        if proc.health_url:
            procs.wait_until(lambda p=proc: procs.http_ok(p.health_url), 120, proc.name, proc)
        else:
            procs.wait_until(lambda p=proc: procs.port_open(p.port), 60, proc.name, proc)


def _module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _init_pki(topology: Topology) -> None:
    if not _module_exists("services.signing.pki") or (PKI_DIR / "root-ca.pem").exists():
        return
    from services.signing import pki

    _say("Creating the demo PKI (root CA, issuing CA, seals, leaders, TSA) ...")
    pki.init_demo_pki(PKI_DIR, topology)


def _seed(topology: Topology) -> str:
    """Accounts for each role of each agency; passwords generated now and printed (never committed)."""
    from gateway.accounts import account_name
    from gateway.auth import Accounts
    from gateway.models import Base
    from gateway.settings import GatewaySettings
    from infra.demo_people import PEOPLE
    from services.common.db import Database

    settings = GatewaySettings(data_dir=DATA_DIR)
    db = Database("gateway", "gateway", Base.metadata, settings)
    db.create_all()
    accounts = Accounts(db)
    lines = []
    for agency in topology.agencies:
        lines.append(f"  {agency.name} ({agency.organ_id})")
        for person in PEOPLE.get(agency.organ_id, ()):
            username = account_name(person.full_name, person.unit)
            existing = accounts.by_username(username)
            shown = "(không đổi)"
            if existing is None:
                shown = f"Demo-{secrets.token_urlsafe(6)}-1"
                # Demo accounts skip the forced first change so a newcomer can try every role at once;
                # accounts created by an administrator must change their password at first login.
                accounts.create_user(username=username, full_name=person.full_name, agency_id=agency.organ_id,
                                     roles=list(person.roles), password=shown, unit=person.unit.upper(),
                                     position=person.position, must_change_password=False)
            lines.append(f"    {username:<16} {shown:<22} {', '.join(person.roles):<16} {person.full_name}")
    db.dispose()
    text = "\n".join(lines)
    if not ACCOUNTS_FILE.exists():
        ACCOUNTS_FILE.write_text(text + "\n")
        ACCOUNTS_FILE.chmod(0o600)
    else:
        text = ACCOUNTS_FILE.read_text().rstrip()
    _seed_services(topology)
    return text


def _seed_services(topology: Topology) -> None:
    """Registers of the current year in every agency (the administrator's yearly task)."""
    from infra.demo_seed import seed_agency_services

    for agency in topology.agencies:
        seed_agency_services(agency, json.loads(AGENCIES_FILE.read_text())[agency.organ_id]["amqp_uri"])


def down() -> None:
    stack = demo_stack()
    table = stack.table.load()
    if not table:
        _say("Nothing is running.")
    stack.stop(remove=False)
    ports = [p.port for p in table.values() if p.port]
    listening = [p for p in ports if procs.port_open(p)]
    leftovers = [p.name for p in table.values() if procs.alive(p.pid)]
    if listening or leftovers:
        _say(f"Still running: {leftovers}; ports still listening: {listening}")
        raise SystemExit(1)
    _say(f"Stopped {len(table)} processes; no port of ours is listening.")


def status() -> int:
    table = ProcTable(STACK_DIR).load()
    if not table:
        _say("The demo is not running. Start it with: ./congvan up")
        return 1
    bad = 0
    _say(f"{'process':<28} {'pid':>7} {'port':>6}  state")
    for name, proc in table.items():
        alive = procs.alive(proc.pid)
        if not alive:
            state = "STOPPED"
        elif proc.health_url:
            state = "healthy" if procs.http_ok(proc.health_url) else "UNHEALTHY"
        else:
            state = "running" if (not proc.port or procs.port_open(proc.port)) else "NOT LISTENING"
        bad += state not in ("healthy", "running")
        _say(f"{name:<28} {proc.pid:>7} {proc.port or '':>6}  {state}")
    return 0 if bad == 0 else 1
