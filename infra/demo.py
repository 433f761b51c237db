"""`congvan up / down / status`: the local demo as tracked background processes.

Start order: RabbitMQ and Prometheus (infra/stack.py), broker provisioning (vhosts, users, permissions, queues),
the test PKI and a timestamp server, the hubs (national first), each demo agency's services and edge, the
gateway; then seed data (accounts, registers) and print the URL and accounts. Everything runs on 127.0.0.1 and
keeps its data under var/demo/ (SQLite files and a local folder: the embedded defaults).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

from infra import demo_brokers, procs
from infra.procs import ProcTable
from infra.prometheus import config as prometheus_config
from infra.prometheus import rule_files
from infra.stack import DEMO_PORTS, REPO, Stack, ensure_system_packages
from services.interconnect.topology import DEMO, Topology

DEMO_DIR = REPO / "var" / "demo"
STACK_DIR = DEMO_DIR / "stack"
ACCOUNTS_FILE = DEMO_DIR / "accounts.txt"
DIRECTORY_FILE = REPO / "infra" / "demo" / "agencies.json"
TSA_PORT = 19230
HTTP_APIS = ("vdxp", "lgsp")   # a hub's HTTP APIs, each run when the topology's extra.<protocol>_api names it


def demo_stack() -> Stack:
    return Stack("cvdemo", STACK_DIR, DEMO_PORTS)


def _say(text: str) -> None:
    print(text, flush=True)


def _py(*args: str) -> list[str]:
    return [sys.executable, *args]


def up(fresh: bool = False, topology: Topology = DEMO, sample: bool = True) -> None:
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
    _say("Starting RabbitMQ (national hub) and Prometheus ...")
    # Each hub on its own broker, linked over mutual TLS (infra/demo_brokers.py, docs/interconnect.md).
    brokers = demo_brokers.prepare(topology, DEMO_DIR, stack.table, DEMO_PORTS, stack.env()["RABBIT_API_URI"],
                                   stack.secrets()["rabbit_admin"])
    stack.start(postgres=False, s3=False, prometheus=True, rabbit_tls=brokers.national_tls,
                prometheus_config=demo_brokers.with_broker_metrics(demo_prometheus_config(topology), brokers))
    _say("Starting the provincial hubs' brokers (H60, H17) ...")
    demo_brokers.start(brokers)
    deployment = Deployment(brokers.topology, DEMO_DIR, stack.table, stack.env()["RABBIT_API_URI"], restart=True,
                            prometheus_url=stack.env()["PROMETHEUS_URL"], hub_api_uris=brokers.api_uris,
                            link_tls=brokers.link_tls, link_guards=brokers.link_guards, personal_tokens=True)
    try:
        deployment.start()
        accounts = deployment.seed(ACCOUNTS_FILE)
        # Last in the table, so `down` stops it first and nothing is started again while the demo stops.
        procs.spawn(stack.table, "watch", _py("-m", "infra.watch", str(STACK_DIR)), env={"PYTHONPATH": str(REPO)})
    except BaseException:
        _say("Start-up failed; stopping what was started. Logs: " + str(STACK_DIR / "log"))
        stack.stop(remove=False)
        raise
    if sample:  # a working day made over the REST API, once per data folder (infra/demo_sample.py); never fatal
        from infra.demo_sample import make_sample_day

        make_sample_day(f"http://127.0.0.1:{topology.gateway_port}", accounts,
                        {a.organ_id: a.name for a in topology.agencies}, DEMO_DIR, _say)
    _say(f"\nCông Văn demo is up in {time.monotonic() - started:.0f}s.")
    _say(f"  Gateway:    http://127.0.0.1:{topology.gateway_port}/")
    _say(f"  Prometheus: http://127.0.0.1:{DEMO_PORTS.prometheus}/   RabbitMQ: http://127.0.0.1:{DEMO_PORTS.mgmt}/"
         f" (user admin, password: key rabbit_admin of {STACK_DIR / 'secrets.json'})")
    _say(f"  Queues, oldest waiting package, dead letters: http://127.0.0.1:{topology.gateway_port}/van-hanh/hang-doi"
         " (a hub operator's or an administrator's account)")
    if topology.extra.get("vdxp_api"):
        _say(f"  VDXP API:   http://127.0.0.1:{topology.extra['vdxp_api']['port']}/ (a vendor system: "
             f"congvan vdxp system-add SYSTEM_ID --agency ORGAN_ID --run-dir {DEMO_DIR})")
    if topology.extra.get("lgsp_api"):
        lgsp_api = topology.extra["lgsp_api"]
        _say(f"  LGSP API:   http://127.0.0.1:{lgsp_api['port']}/v1/ (hub {lgsp_api['hub']}; an LGSP client: "
             f"congvan lgsp system-add SYSTEM_ID --agency ORGAN_ID --hub {lgsp_api['hub']} --run-dir {DEMO_DIR})")
    _say(f"\nTài khoản dùng thử (tên đăng nhập, mật khẩu, vai trò, họ tên; lưu cả trong {ACCOUNTS_FILE}):")
    _say(accounts)
    _say("Stop with: ./congvan down")


def demo_prometheus_config(topology: Topology = DEMO) -> str:
    """The demo's Prometheus: every process of the topology, RabbitMQ, and the alert rules (docs/operations.md)."""
    return prometheus_config(topology, DEMO_PORTS, rule_files=rule_files())


class Deployment:
    """The application processes of a topology (PKI, TSA, hubs, agencies, edges, gateway) on a running broker.

    The demo uses it with DEMO on its own stack; end-to-end tests use it with a namespaced topology on the test
    stack's broker, with ports of their own.
    """

    def __init__(self, topology: Topology, run_dir: Path, table: ProcTable, rabbit_api_uri: str,
                 tsa_port: int = TSA_PORT, directory_file: Path = DIRECTORY_FILE, restart: bool = False,
                 prometheus_url: str | None = None, gateway_env: dict[str, str] | None = None,
                 hub_api_uris: dict[str, str] | None = None, link_tls: dict[str, dict[str, str]] | None = None,
                 personal_tokens: bool = False, link_guards: dict[str, dict] | None = None) -> None:
        self.topology = topology
        # Keys on each signer's own token, typed PIN at signing (the demo); else the PKI's server-held keys, which
        # the shared test deployment keeps (its stories sign without PINs; tests/gateway/test_signing_pin_browser.py
        # and tests/signing/test_demo_tokens.py sign with tokens).
        self.personal_tokens = personal_tokens
        # Each hub's own broker (its management API) and link certificate, when the hubs have one each.
        self.hub_api_uris = dict(hub_api_uris or {})
        self.link_tls = link_tls
        self.link_guards = dict(link_guards or {})   # hub code -> {crl_dir, metrics_port}: its broker's link guard
        self.gateway_extra_env = dict(gateway_env or {})  # settings of the gateway only (PUSH_*, tests)
        self.prometheus_url = prometheus_url   # for the gateway's queue page (gateway/monitoring.py)
        self.restart = restart   # record how to start each process again, for the watcher (infra/watch.py)
        self.run_dir = Path(run_dir)
        self.data_dir = self.run_dir / "data"
        self.pki_dir = self.run_dir / "pki"
        self.topology_file = self.run_dir / "topology.json"
        self.agencies_file = self.run_dir / "agencies.json"
        self.hub_reports_file = self.run_dir / "hub_reports.json"  # hubs' report URLs and tokens, for the gateway
        self.table = table
        self.rabbit_api_uri = rabbit_api_uri
        self.tsa_port = tsa_port
        self.directory_file = directory_file

    def env(self) -> dict[str, str]:
        return {"DATA_DIR": str(self.data_dir), "PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO",
                "PKI_DIR": str(self.pki_dir), "TSA_URL": f"http://127.0.0.1:{self.tsa_port}/",
                # The names the signing service reads (services/signing/settings.py): without them it looked
                # for keys under DATA_DIR/pki and no leader or seal could sign in a deployment.
                "SIGNING_PKI_DIR": str(self.pki_dir), "SIGNING_TSA_URL": f"http://127.0.0.1:{self.tsa_port}/",
                # the personal SoftHSM2 tokens of the demo's people (`congvan pki token`; services/signing/pkcs11.py)
                "SOFTHSM2_CONF": str(self.run_dir / "softhsm2.conf"),
                **({"SIGNING_SERVER_HELD_KEYS": "false"} if self.personal_tokens else {})}

    def start(self) -> None:
        from services.common.rabbit_admin import RabbitAdmin
        from services.interconnect.broker import Credentials, agency_vhost, monitor_user, provision, services_user

        self.run_dir.mkdir(parents=True, exist_ok=True)
        if _module_exists("services.signing.pkcs11"):
            from services.signing.pkcs11 import softhsm_conf

            softhsm_conf(self.run_dir / "tokens")  # writes run_dir/softhsm2.conf
        self.topology_file.write_text(self._with_directory().to_json())
        admins = {code: RabbitAdmin(uri) for code, uri in self.hub_api_uris.items()}
        _say("Provisioning vhosts, users and queues ...")
        provision(admins or RabbitAdmin(self.rabbit_api_uri), self.topology, self.run_dir, link_tls=self.link_tls)
        for admin in admins.values():
            admin.close()
        creds = Credentials.load(self.run_dir)
        env = self.env()
        self._init_pki()
        waits: list[procs.Proc] = []
        if _module_exists("services.signing.tsa"):
            waits.append(procs.spawn(self.table, "tsa",
                                     _py("-m", "services.signing.tsa", "--port", str(self.tsa_port),
                                         "--pki-dir", str(self.pki_dir)),
                                     env=env, port=self.tsa_port, restart=self.restart))
        common = ["--topology", str(self.topology_file), "--run-dir", str(self.run_dir)]
        hub_reports = self._hub_reports()
        for hub in sorted(self.topology.hubs, key=lambda h: h.parent is not None):
            waits.append(procs.spawn(
                self.table, f"hub.{hub.code}",
                _py("-m", "services.interconnect.hub", "--hub", hub.code, *common,
                    "--metrics-port", str(hub.metrics_port)),
                # The queue poller's own management-API user (not the admin), so the depth and dead-letter
                # gauges have data wherever the hub is started, the demo's `congvan up` included.
                env={**env, "HUB_REPORT_TOKEN": hub_reports[hub.code]["token"],
                     "RABBIT_API_URI": creds.api_uri(self.hub_api_uris.get(hub.code, self.rabbit_api_uri),
                                                     monitor_user(self.topology, hub.code))},
                port=hub.metrics_port,
                health_url=f"http://127.0.0.1:{hub.metrics_port}/healthz", restart=self.restart))
        for code, guard in self.link_guards.items():
            # Beside each hub's broker, with its administrator (only one may close another user's connection).
            waits.append(procs.spawn(
                self.table, f"linkguard.{code}",
                _py("-m", "services.interconnect.link_guard", "--hub", code, "--crl-dir", guard["crl_dir"],
                    "--metrics-port", str(guard["metrics_port"])),
                env={**env, "RABBIT_API_URI": self.hub_api_uris[code]}, port=guard["metrics_port"],
                health_url=f"http://127.0.0.1:{guard['metrics_port']}/healthz", restart=self.restart))
        for protocol in HTTP_APIS:
            http_api = self.topology.extra.get(f"{protocol}_api")
            if not http_api:
                continue
            # After its hub is up: the hub seeds the directory both read, and the API binds into its vhost.
            hub = self.topology.hub(http_api["hub"])
            procs.wait_until(lambda h=hub: procs.http_ok(f"http://127.0.0.1:{h.metrics_port}/healthz"), 120,
                             f"hub.{hub.code}", next((p for p in waits if p.name == f"hub.{hub.code}"), None))
            waits.append(procs.spawn(
                self.table, f"{protocol}.{hub.code}",
                _py("-m", f"services.interconnect.{protocol}_api", "--hub", hub.code, *common,
                    "--port", str(http_api["port"]), "--metrics-port", str(http_api["metrics_port"])),
                env=env, port=http_api["metrics_port"],
                health_url=f"http://127.0.0.1:{http_api['metrics_port']}/healthz", restart=self.restart))
        agencies = {}
        for agency in self.topology.agencies:
            # A hosted agency is reached through its installation's services (its vhost and user).
            uri = creds.uri(services_user(self.topology, agency.organ_id), agency_vhost(self.topology, agency.organ_id))
            agencies[agency.organ_id] = {"name": agency.name, "amqp_uri": uri, "abbreviation": agency.abbreviation,
                                         "place": agency.place, "installation": agency.installation_id,
                                         "hub": agency.hub}
        # One services process and one edge per installation, whatever the number of agencies it hosts.
        for agency in self.topology.installations():
            uri = agencies[agency.organ_id]["amqp_uri"]
            agency_env = {**env, "AGENCY_ID": agency.organ_id, "AMQP_URI": uri}
            waits.append(procs.spawn(
                self.table, f"agency.{agency.organ_id}",
                _py("-m", "services.common.agency_process", "--installation", agency.organ_id,
                    "--metrics-port", str(agency.services_metrics_port)),
                env=agency_env, port=agency.services_metrics_port,
                health_url=f"http://127.0.0.1:{agency.services_metrics_port}/healthz", restart=self.restart))
            # The RabbitMQ edge, or the client edge of the HTTP axis the installation is on (its secret comes from
            # this process's environment: LGSP_SECRET / VDXP_SECRET or their _FILE).
            waits.append(procs.spawn(
                self.table, f"edge.{agency.organ_id}",
                _py("-m", self.topology.edge_module(agency.organ_id), "--agency", agency.organ_id, *common,
                    "--metrics-port", str(agency.edge_metrics_port)),
                env=agency_env, port=agency.edge_metrics_port,
                health_url=f"http://127.0.0.1:{agency.edge_metrics_port}/healthz", restart=self.restart))
        self.agencies_file.write_text(json.dumps(agencies, ensure_ascii=False, indent=1))
        self.agencies_file.chmod(0o600)
        from services.interconnect.broker import namespace

        # The province operator's onboarding writes new agencies (and locks disabled ones) into the hubs'
        # directories, which the hubs read for every package: no hub restarts (gateway/platform.py).
        hub_directories = ",".join(f"{namespace(self.topology)}hub.{hub.code}" for hub in self.topology.hubs)
        gateway_env = {**env, "AGENCIES_FILE": str(self.agencies_file), "DIRECTORY_FILE": str(self.directory_file),
                       "HUB_REPORTS_FILE": str(self.hub_reports_file), "HUB_DIRECTORIES": hub_directories,
                       **({"PROMETHEUS_URL": self.prometheus_url} if self.prometheus_url else {}),
                       **self.gateway_extra_env}
        waits.append(procs.spawn(self.table, "gateway",
                                 _py("-m", "gateway", "--port", str(self.topology.gateway_port),
                                     "--metrics-port", str(self.topology.gateway_metrics_port)),
                                 env=gateway_env, port=self.topology.gateway_port,
                                 health_url=f"http://127.0.0.1:{self.topology.gateway_port}/healthz",
                                 restart=self.restart))
        _say(f"Waiting for {len(waits)} processes ...")
        for proc in waits:
            if proc.health_url:
                procs.wait_until(lambda p=proc: procs.http_ok(p.health_url), 120, proc.name, proc)
            else:
                procs.wait_until(lambda p=proc: procs.port_open(p.port), 60, proc.name, proc)

    def _hub_reports(self) -> dict[str, dict]:
        """A bearer token per hub for its GET /report (never in the repo), with the hubs' report URLs for the
        gateway (HUB_REPORTS_FILE, mode 600); each hub also gets its token in HUB_REPORT_TOKEN."""
        from services.interconnect.hub_report import write_hub_reports

        return write_hub_reports(self.topology, self.hub_reports_file,
                                 lambda h: f"http://127.0.0.1:{h.metrics_port}/report")

    def _with_directory(self) -> Topology:
        """The hubs seed their copy of the agency directory from the topology file's `extra.directory`."""
        if not self.directory_file.exists() or "directory" in self.topology.extra:
            return self.topology
        records = json.loads(self.directory_file.read_text())
        records = records.get("agencies", records) if isinstance(records, dict) else records
        return dataclasses.replace(self.topology, extra={**self.topology.extra, "directory": records})

    def agencies(self) -> dict[str, dict]:
        return json.loads(self.agencies_file.read_text())

    def _init_pki(self) -> None:
        if not _module_exists("services.signing.pki") or (self.pki_dir / "manifest.json").exists():
            return
        from services.signing import pki

        _say("Creating the demo PKI (root CA, issuing CA, seals, leaders, TSA) ...")
        pki.init_pki(self.pki_dir, pki.demo_agencies(self.topology.agencies))

    def seed(self, accounts_file: Path | None = None) -> str:
        """Accounts for each role of each agency (passwords generated now, never committed), then registers."""
        text = seed_accounts(self.topology, self.data_dir, accounts_file)
        from infra.demo_seed import seed_agency_services

        if self.personal_tokens:  # the tokens are provisioned from this process too
            os.environ["SOFTHSM2_CONF"] = self.env()["SOFTHSM2_CONF"]
        tokens: list[str] = []
        for organ_id, info in self.agencies().items():
            tokens += seed_agency_services(self.topology.agency(organ_id), info["amqp_uri"], self.data_dir,
                                           self.pki_dir if self.personal_tokens else None)
        if tokens:
            block = "\n  Thiết bị ký số (token) của người ký và con dấu của cơ quan:\n" + "\n".join(tokens)
            text += block
            if accounts_file is not None:
                with accounts_file.open("a") as f:
                    f.write(block + "\n")
        return text

    def stop(self) -> None:
        table = self.table.load()
        for name in reversed(list(table)):
            if table[name].kind != "infra":
                procs.stop(table[name])


def _module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def account_line(username: str, password: str, roles: tuple[str, ...] | list[str], full_name: str) -> str:
    """One demo account as printed at start-up: the roles in Vietnamese, as the screens name them ("Văn thư",
    not "clerk"). Username and password stay the first two words (tests read them back)."""
    from services.common.actor import ROLE_LABELS_VI, Role

    words = ", ".join(ROLE_LABELS_VI.get(Role(r), r) for r in roles)
    return f"    {username:<16} {password:<22} {words:<28} {full_name}"


def seed_accounts(topology: Topology, data_dir: Path, accounts_file: Path | None = None) -> str:
    from gateway.accounts import account_name
    from gateway.auth import Accounts
    from gateway.models import open_database
    from gateway.settings import GatewaySettings
    from infra.demo_people import PEOPLE, UNITS

    # Through the gateway's own opening: the accounts' creation is in its audit chain, by the system actor.
    db = open_database(GatewaySettings(data_dir=data_dir))
    db.create_all()
    accounts = Accounts(db)
    lines = []
    for agency in topology.agencies:
        lines.append(f"  {agency.name} ({agency.organ_id})")
        declared = {u.code for u in accounts.list_units(agency.organ_id)}
        for code, name in UNITS.get(agency.organ_id, {}).items():
            if code not in declared:  # an administrator's later renaming stays
                accounts.save_unit(agency.organ_id, code, name)
        for person in PEOPLE.get(agency.organ_id, ()):
            username = account_name(person.full_name, person.unit)
            shown = "(không đổi)"
            if accounts.by_username(username) is None:
                shown = f"Demo-{secrets.token_urlsafe(6)}-1"
                # Demo accounts skip the forced first change so a newcomer can try every role at once;
                # accounts created by an administrator must change their password at first login.
                accounts.create_user(username=username, full_name=person.full_name, agency_id=agency.organ_id,
                                     roles=list(person.roles), password=shown, unit=person.unit.upper(),
                                     position=person.position, must_change_password=False)
            lines.append(account_line(username, shown, person.roles, person.full_name))
    db.dispose()
    text = "\n".join(lines)
    if accounts_file is not None:
        if accounts_file.exists():
            text = accounts_file.read_text().rstrip()
        else:
            accounts_file.write_text(text + "\n")
            accounts_file.chmod(0o600)
    return text


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


def installations_text(topology: Topology, onboarded: list[tuple[str, str, str, bool]] = ()) -> str:
    """The installations and the agencies each hosts: the topology's, then those added by onboarding
    (`onboarded`: organ id, name, installation, disabled)."""
    lines = ["installation (hub) / hosted agencies"]
    known = {a.organ_id for a in topology.agencies}
    # The platform's record wins over the topology's: the operator may have renamed or stopped a demo agency.
    platform = {organ_id: (name, disabled) for organ_id, name, _inst, disabled in onboarded}
    for inst in topology.installations():
        # An installation on an HTTP axis: where and as which system (its secret is never shown, nor kept here).
        client = topology.axis_client(inst.organ_id)
        reached = f": {client.get('endpoint', '?')}, hệ thống {client.get('system_id', '?')}" if client else ""
        lines.append(f"{inst.organ_id} ({inst.hub}{reached})")
        for agency in topology.hosted_by(inst.organ_id):
            name, disabled = platform.get(agency.organ_id, (agency.name, False))
            lines.append(f"    {agency.organ_id:<16} {name}{' (ngừng sử dụng)' if disabled else ''}")
        for organ_id, name, installation, disabled in onboarded:
            if installation == inst.organ_id and organ_id not in known:
                lines.append(f"    {organ_id:<16} {name} (thêm khi đang chạy{', ngừng sử dụng' if disabled else ''})")
    return "\n".join(lines)


def _onboarded(data_dir: Path) -> list[tuple[str, str, str, bool]]:
    """The gateway's hosted agencies (SQLite under the demo's data folder); none if it has no database yet."""
    import sqlite3

    path = data_dir / "gateway" / "gateway.sqlite3"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT organ_id, name, installation, disabled FROM hosted_agencies").fetchall()
    except sqlite3.Error:
        return []
    return [(str(o), str(n), str(i), bool(d)) for o, n, i, d in rows]


def status() -> int:
    table = ProcTable(STACK_DIR).load()
    if not table:
        _say("The demo is not running. Start it with: ./congvan up")
        return 1
    topology_file = DEMO_DIR / "topology.json"
    if topology_file.exists():
        _say(installations_text(Topology.load(topology_file), _onboarded(DEMO_DIR / "data")) + "\n")
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
