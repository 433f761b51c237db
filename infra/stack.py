"""The throwaway infrastructure: RabbitMQ 3.10 (+management, +prometheus), PostgreSQL, moto's S3 server, Prometheus.

Each server runs as a background process on 127.0.0.1 with its data under the stack's run directory and is
stopped by PID (see infra/procs.py). The demo and the test suite use separate stacks (ports and run dirs), so
tests can run while the demo is up. Passwords are generated when a stack starts; nothing secret is in the repo.

Recipe and pitfalls: ../shared/notes/feasibility.md §2, §5-7, §10.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra import procs
from infra.procs import ProcTable
from infra.rabbit_node import NodePorts, NodeTls, RabbitNode

REPO = Path(__file__).resolve().parents[1]
APT_PACKAGES = [
    "rabbitmq-server", "prometheus", "postgresql", "poppler-utils", "fonts-dejavu-core",
    "chromium", "softhsm2", "libnss3-tools", "opensc", "curl", "procps", "iproute2",
    "tesseract-ocr", "tesseract-ocr-vie", "ghostscript",   # OCR of scans for search (ocrmypdf)
    "libreoffice-writer-nogui",   # DOCX/ODT drafts converted to PDF before signing (gateway/drafting.py)
    "fonts-liberation2",   # Times New Roman/Arial metrics with Vietnamese glyphs for converted DOCX/ODT drafts
    "slapd", "ldap-utils",   # a throwaway OpenLDAP directory for the LDAP login tests (tests/ldap_server.py)
]
# slapd's postinst would otherwise make a database for a domain guessed from the host name, with an admin password
# asked through debconf; the tests run their own slapd from a generated configuration, so none is made here.
DEBCONF_PRESEEDS = "slapd slapd/no_configuration boolean true\n"


@dataclass(frozen=True)
class StackPorts:
    amqp: int
    mgmt: int
    postgres: int
    s3: int
    prometheus: int

    @property
    def rabbit_metrics(self) -> int:
        return self.amqp + 1

    @property
    def erlang_dist(self) -> int:
        return self.amqp + 2

    @property
    def epmd(self) -> int:
        return self.amqp + 3

    @property
    def amqps(self) -> int:
        """The AMQPS listener, when the broker has one (the demo's national hub: links over mutual TLS)."""
        return self.amqp + 4


def free_stack_ports(low: int = 16000, high: int = 19000, attempts: int = 200) -> StackPorts:
    """Ports for one more stack (a fault-injection test's own broker): AMQP and the three after it, and the
    other servers' ports, all free on 127.0.0.1 right now. Below the kernel's ephemeral range (32768-60999 on
    Linux), where any outgoing connection made before the servers bind could take one of them (RabbitMQ then
    fails to boot its management plugin), and clear of infra.procs.free_port's ranges and the fixed ports."""
    import random
    import socket

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
            return True

    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(low, high - 10, 10)
        ports = StackPorts(amqp=base, mgmt=base + 5, postgres=base + 6, s3=base + 7, prometheus=base + 8)
        if all(free(base + i) for i in range(9)):
            return ports
    raise RuntimeError(f"no free block of ports in {low}-{high}")


DEMO_PORTS = StackPorts(amqp=5682, mgmt=15682, postgres=5442, s3=19010, prometheus=19091)
TEST_PORTS = StackPorts(amqp=25673, mgmt=35673, postgres=25432, s3=19000, prometheus=19090)


def missing_apt_packages(packages: list[str] = APT_PACKAGES) -> list[str]:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *packages],
                         capture_output=True, text=True, check=False).stdout
    installed = {line.split()[0] for line in out.splitlines() if len(line.split()) > 1 and line.split()[1] == "ii"}
    return [p for p in packages if p not in installed]


# Packages whose postinst enables a system service at boot, and those services (systemd units; the SysV script is
# the unit's name without the suffix). epmd comes with erlang-base, which rabbitmq-server pulls in.
BOOT_SERVICES = {
    "rabbitmq-server": ["rabbitmq-server.service", "epmd.service", "epmd.socket"],
    "prometheus": ["prometheus.service"],
    "postgresql": ["postgresql.service"],
    "slapd": ["slapd.service"],   # SysV only: the LDAP tests run their own slapd (tests/ldap_server.py)
}


def disable_at_boot(units: list[str], root: Path = Path("/")) -> list[str]:
    """Undo what a package's postinst did to start `units` at boot; returns the links removed or renamed.

    The stacks run their own RabbitMQ, Prometheus and PostgreSQL as throwaway processes on other ports, so the
    system-wide services the packages enable would only be servers nobody configured, listening on the default
    ports (epmd on every interface) after the next boot. This is what `systemctl disable` and `update-rc.d
    disable` do, done on the files so that it works where systemd is not running (containers, CI): the
    `*.wants/` links of each unit go, and the SysV start links S<nn><name> become K<nn><name>, which a later
    upgrade's `update-rc.d defaults` leaves alone (as deb-systemd-helper leaves a unit it finds disabled).
    """
    changed: list[str] = []
    etc = root / "etc"
    for unit in units:
        for link in sorted((etc / "systemd" / "system").glob(f"*.wants/{unit}")):
            if link.is_symlink():
                link.unlink()
                changed.append(str(link.relative_to(root)))
        script = unit.rsplit(".", 1)[0]
        for link in sorted(etc.glob(f"rc[0-6S].d/S[0-9][0-9]{script}")):
            if link.name[3:] == script:
                target = link.with_name("K" + link.name[1:])
                link.rename(target)
                changed.append(str(target.relative_to(root)))
    return changed


def ensure_system_packages() -> None:
    missing = missing_apt_packages()
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Without policy-rc.d, postinst scripts would start system-wide RabbitMQ/PostgreSQL on default ports; it
    # does not stop them from enabling those services at boot, which disable_at_boot undoes afterwards.
    policy = Path("/usr/sbin/policy-rc.d")
    created = False
    if not policy.exists():
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        created = True
    try:
        subprocess.run(["debconf-set-selections"], input=DEBCONF_PRESEEDS, text=True, check=True, env=env)
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
    finally:
        if created:
            policy.unlink()
        # Also after a failed install: a package configured before the failure has enabled its service already.
        disable_at_boot([u for p in missing for u in BOOT_SERVICES.get(p, [])])


class Stack:
    """One set of infrastructure servers. `env()` gives the URLs processes and tests need."""

    def __init__(self, name: str, run_dir: Path, ports: StackPorts) -> None:
        self.name = name
        self.run_dir = Path(run_dir)
        self.ports = ports
        self.table = ProcTable(self.run_dir)
        self.secrets_path = self.run_dir / "secrets.json"
        self._rabbit_tls: NodeTls | None = None

    # -- secrets generated per run -------------------------------------------------------------
    def secrets(self) -> dict[str, str]:
        if self.secrets_path.exists():
            return json.loads(self.secrets_path.read_text())
        data = {"rabbit_admin": secrets.token_urlsafe(18), "postgres_app": secrets.token_urlsafe(18),
                "s3_secret": secrets.token_urlsafe(18)}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_path.write_text(json.dumps(data))
        self.secrets_path.chmod(0o600)
        return data

    def env(self) -> dict[str, str]:
        s = self.secrets()
        p = self.ports
        return {
            "RABBIT_HOST": "127.0.0.1",
            "RABBIT_PORT": str(p.amqp),
            "RABBIT_ADMIN_USER": "admin",
            "RABBIT_ADMIN_PASSWORD": s["rabbit_admin"],
            "AMQP_ADMIN_URI": f"amqp://admin:{s['rabbit_admin']}@127.0.0.1:{p.amqp}/",
            "RABBIT_API_URI": f"http://admin:{s['rabbit_admin']}@127.0.0.1:{p.mgmt}",
            "RABBIT_METRICS_URL": f"http://127.0.0.1:{p.rabbit_metrics}/metrics",
            "POSTGRES_ADMIN_URL": f"postgresql+psycopg://postgres@127.0.0.1:{p.postgres}/postgres",
            "TEST_DATABASE_URL": f"postgresql+psycopg://app:{s['postgres_app']}@127.0.0.1:{p.postgres}/app",
            "S3_TEST_ENDPOINT": f"127.0.0.1:{p.s3}",
            "S3_TEST_ACCESS_KEY": "congvan",
            "S3_TEST_SECRET_KEY": s["s3_secret"],
            "PROMETHEUS_URL": f"http://127.0.0.1:{p.prometheus}",
            "STACK_RUN_DIR": str(self.run_dir),
        }

    def write_env_file(self) -> Path:
        path = self.run_dir / "env"
        path.write_text("".join(f"{k}={v}\n" for k, v in self.env().items()))
        path.chmod(0o600)
        return path

    def running(self) -> dict[str, procs.Proc]:
        return {n: p for n, p in self.table.load().items() if procs.alive(p.pid)}

    # -- RabbitMQ ----------------------------------------------------------------------------------
    def rabbit_node(self, tls: NodeTls | None = None) -> RabbitNode:
        """The stack's broker as a RabbitNode (infra/rabbit_node.py) under run_dir/rabbitmq, recorded in the
        stack's table as `rabbitmq` and `epmd`; with `tls`, an AMQPS listener on `ports.amqps`."""
        p = self.ports
        ports = NodePorts(amqp=p.amqp, mgmt=p.mgmt, prometheus=p.rabbit_metrics, dist=p.erlang_dist, epmd=p.epmd,
                          amqps=p.amqps if tls else 0)
        return RabbitNode(self.name, self.run_dir / "rabbitmq", ports, admin_password=self.secrets()["rabbit_admin"],
                          tls=tls, table=self.table, proc_names=("rabbitmq", "epmd"),
                          stop_grace=float(os.environ.get("RMQ_STOP_GRACE", "15")))

    def rabbit_env(self) -> dict[str, str]:
        return self.rabbit_node(self._rabbit_tls).env()

    def start_rabbitmq(self, definitions: dict | None = None, tls: NodeTls | None = None) -> None:
        """Start the broker (and its own epmd) without waiting for it (`wait_rabbitmq`)."""
        self._rabbit_tls = tls
        self.rabbit_node(tls).start(definitions, wait=False)

    def restart_rabbitmq(self, *, hard: bool = False, timeout: float = 90, down_for: float = 0.0) -> None:
        """Stop the broker (SIGTERM, or SIGKILL with `hard`), leave it down `down_for` seconds, and start it again
        on the same data directory, keeping its epmd; returns once it accepts connections again (fault-injection
        tests)."""
        self.rabbit_node(self._rabbit_tls).restart(hard=hard, down_for=down_for, timeout=timeout)

    def wait_rabbitmq(self, timeout: float = 90) -> None:
        self.rabbit_node(self._rabbit_tls).wait(timeout)

    def rabbitmqctl(self, *args: str) -> subprocess.CompletedProcess:
        return self.rabbit_node(self._rabbit_tls).rabbitmqctl(*args)

    # -- PostgreSQL --------------------------------------------------------------------------------
    def start_postgres(self) -> None:
        pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        b = self.run_dir / "postgres"
        # PostgreSQL refuses root; the data dir must belong to `postgres` and every parent be traversable.
        for d in (b, b / "sock"):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "postgres", "postgres")
            d.chmod(0o700)
        p = self.ports
        self._traversable(b)
        if not (b / "data" / "PG_VERSION").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", str(pgbin / "initdb"), "-D", str(b / "data"),
                            "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                           check=True, capture_output=True)
        procs.spawn(self.table, "postgres",
                    [str(pgbin / "postgres"), "-D", str(b / "data"), "-p", str(p.postgres), "-k", str(b / "sock"),
                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off", "-c", "max_connections=300"],
                    user="postgres", port=p.postgres, kind="infra", stop_grace=10)

    def _traversable(self, path: Path) -> None:
        for parent in [path, *path.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)

    def wait_postgres(self, timeout: float = 60) -> None:
        proc = self.table.load()["postgres"]
        procs.wait_until(lambda: procs.port_open(self.ports.postgres), timeout, "PostgreSQL", proc)
        pw = self.secrets()["postgres_app"]
        sql = (f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='app') THEN "
               f"CREATE ROLE app LOGIN SUPERUSER PASSWORD '{pw}'; END IF; END$$;")
        psql = ["psql", "-h", "127.0.0.1", "-p", str(self.ports.postgres), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                "-qc"]
        procs.wait_until(lambda: subprocess.run([*psql, "select 1"], capture_output=True).returncode == 0,
                         timeout, "PostgreSQL accepting queries", proc)
        subprocess.run([*psql, sql], check=True, capture_output=True)
        exists = subprocess.run([*psql[:-1], "-tAc", "select 1 from pg_database where datname='app'"],
                                capture_output=True, text=True).stdout.strip()
        if not exists:
            subprocess.run([*psql, "create database app owner app"], check=True, capture_output=True)

    # -- S3 (moto) ---------------------------------------------------------------------------------
    def start_moto(self) -> None:
        p = self.ports
        procs.spawn(self.table, "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(p.s3)],
                    port=p.s3, health_url=f"http://127.0.0.1:{p.s3}/moto-api/", kind="infra", stop_grace=3)

    # -- Prometheus --------------------------------------------------------------------------------
    def start_prometheus(self, config_text: str | None = None, rule_files: list[Path] | None = None) -> None:
        b = self.run_dir / "prometheus"
        (b / "tsdb").mkdir(parents=True, exist_ok=True)
        p = self.ports
        config = config_text or (
            "global: {scrape_interval: 5s, evaluation_interval: 5s}\n"
            "scrape_configs:\n"
            f"  - job_name: rabbitmq\n    static_configs: [{{targets: ['127.0.0.1:{p.rabbit_metrics}']}}]\n"
        )
        (b / "prometheus.yml").write_text(config)
        procs.spawn(self.table, "prometheus",
                    ["prometheus", f"--config.file={b / 'prometheus.yml'}", f"--storage.tsdb.path={b / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{p.prometheus}", "--web.enable-lifecycle"],
                    port=p.prometheus, health_url=f"http://127.0.0.1:{p.prometheus}/-/ready", kind="infra",
                    stop_grace=5)

    def wait_http(self, name: str, timeout: float = 60) -> None:
        proc = self.table.load()[name]
        procs.wait_until(lambda: procs.http_ok(proc.health_url), timeout, name, proc)

    # -- the whole stack ---------------------------------------------------------------------------
    def start(self, *, rabbitmq: bool = True, postgres: bool = True, s3: bool = True, prometheus: bool = True,
              rabbit_definitions: dict | None = None, prometheus_config: str | None = None,
              rabbit_tls: NodeTls | None = None) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o755)
        if rabbitmq:
            self.start_rabbitmq(rabbit_definitions, rabbit_tls)
        if s3:
            self.start_moto()
        if prometheus:
            self.start_prometheus(prometheus_config)
        if postgres:
            self.start_postgres()
        if rabbitmq:
            self.wait_rabbitmq()
        if s3:
            self.wait_http("s3")
        if prometheus:
            self.wait_http("prometheus")
        if postgres:
            self.wait_postgres()
        self.write_env_file()

    def stop(self, *, remove: bool = True) -> None:
        table = self.table.load()
        # Reverse start order: clients before the broker, the broker before its epmd.
        for name in reversed(list(table)):
            procs.stop(table[name])
        if remove and self.run_dir.exists():
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self.table.path.exists():
            self.table.save({})
