"""One RabbitMQ node as a throwaway process: its own ports, data directory, epmd, configuration and plugins,
an optional AMQPS listener with mutual TLS and CRL checking.

    node = RabbitNode("national", run_dir / "rabbit-national", NodePorts.free(tls=True),
                      admin_password=secrets.token_urlsafe(18), tls=NodeTls(cacert, cert, key, crl_dir))
    node.start()            # returns once AMQP and the management API answer
    node.admin_uri          # http://admin:...@127.0.0.1:<mgmt> for services.common.rabbit_admin.RabbitAdmin
    node.stop(); node.start()      # same data directory: durable queues and messages survive
    node.kill()                    # SIGKILL, like a power cut
    node.restart(down_for=60)      # stop, stay down, start again
    node.remove()                  # stop everything and delete the directory

The node name is `<name>@localhost`; its Erlang cookie is `cookie` (generated per node unless given), kept in
`<dir>/home/.erlang.cookie`. Nodes of one cluster need the same cookie and the same epmd (Erlang nodes find
each other's distribution port through the epmd of the host they are told, here the one on `ports.epmd`):

    first = RabbitNode("c1", d / "c1", NodePorts.free(), admin_password=pw, cookie=cookie)
    second = RabbitNode("c2", d / "c2", dataclasses.replace(NodePorts.free(), epmd=first.ports.epmd),
                        admin_password=pw, cookie=cookie)
    first.start(); second.start(); second.join(first)   # stop_app, join_cluster, start_app

A node starts an epmd on `ports.epmd` unless one already listens there, and stops only the epmd it started
(feasibility.md §2 pitfall 1: otherwise the first Erlang process starts a shared one on 0.0.0.0:4369 that
outlives everything). Every listener binds 127.0.0.1 only.
Processes are recorded in a ProcTable (infra/procs.py) under `rabbitmq-<name>` and `epmd-<name>` (or the
`proc_names` given), so several nodes can share one run directory's table and `congvan stack down`-style code
stops them by PID.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from infra import procs
from infra.procs import ProcTable

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
DEFAULT_PLUGINS = ("rabbitmq_management", "rabbitmq_prometheus")


@dataclass(frozen=True)
class NodePorts:
    """A node's ports; `amqps` 0 means no TLS listener."""

    amqp: int
    mgmt: int
    prometheus: int
    dist: int
    epmd: int
    amqps: int = 0

    @classmethod
    def free(cls, *, tls: bool = False) -> NodePorts:
        """Six (five) ports free on 127.0.0.1 now, outside the kernel's ephemeral range (procs.free_port)."""
        return cls(amqp=procs.free_port(), mgmt=procs.free_port(), prometheus=procs.free_port(),
                   dist=procs.free_port(), epmd=procs.free_port(), amqps=procs.free_port() if tls else 0)


@dataclass(frozen=True)
class NodeTls:
    """The AMQPS listener's files. Peers must present a certificate issued by `cacert`; with `crl_dir` (an
    OpenSSL-style hash directory, `<issuer hash>.r0`, see infra/broker_pki.py) a revoked one is refused at the
    handshake. `external_auth`: a TLS client may log in as its certificate's CN (rabbitmq_auth_mechanism_ssl)."""

    cacert: Path
    cert: Path
    key: Path
    crl_dir: Path | None = None
    external_auth: bool = True


@dataclass
class RabbitNode:
    name: str
    dir: Path
    ports: NodePorts
    admin_password: str
    tls: NodeTls | None = None
    plugins: tuple[str, ...] = DEFAULT_PLUGINS
    memory_high_watermark: float | None = None   # e.g. 0.1 of RAM for the demo's three nodes
    extra_conf: str = ""                          # appended to rabbitmq.conf
    cookie: str = field(default_factory=lambda: secrets.token_hex(16))
    table: ProcTable | None = None
    proc_names: tuple[str, str] | None = None     # (broker, epmd) names in the table
    stop_grace: float = 15.0
    log_level: str = "warning"                    # "info" also logs refused TLS handshakes (Erlang's notices)

    def __post_init__(self) -> None:
        self.dir = Path(self.dir)
        self.table = self.table or ProcTable(self.dir)
        self.broker_proc, self.epmd_proc = self.proc_names or (f"rabbitmq-{self.name}", f"epmd-{self.name}")

    # -- addresses -----------------------------------------------------------------------------------
    @property
    def nodename(self) -> str:
        return f"{self.name}@localhost"

    @property
    def admin_uri(self) -> str:
        """The management API with the administrator's credentials (RabbitAdmin)."""
        return f"http://admin:{urllib.parse.quote(self.admin_password, safe='')}@127.0.0.1:{self.ports.mgmt}"

    @property
    def amqp_uri(self) -> str:
        return f"amqp://admin:{urllib.parse.quote(self.admin_password, safe='')}@127.0.0.1:{self.ports.amqp}/"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prometheus}/metrics"

    def env(self) -> dict[str, str]:
        """The environment of the server and of its CLI tools (rabbitmqctl needs HOME for the cookie)."""
        p = self.ports
        return {
            "HOME": str(self.dir / "home"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(p.amqp),
            "RABBITMQ_DIST_PORT": str(p.dist),
            "ERL_EPMD_PORT": str(p.epmd),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbit.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @property
    def log_file(self) -> Path:
        """The broker's own log (TLS refusals are written here)."""
        return self.dir / "log" / f"{self.nodename}.log"

    # -- configuration -------------------------------------------------------------------------------
    def configure(self, definitions: dict | None = None) -> None:
        """Write the configuration files (every start does; the data directory is kept)."""
        for sub in ("mnesia", "log", "home"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        cookie = self.dir / "home" / ".erlang.cookie"
        if not cookie.exists():
            fd = os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
            with os.fdopen(fd, "w") as f:
                f.write(self.cookie)
        self.cookie = cookie.read_text()
        defs = definitions or {}
        defs = {
            "vhosts": [{"name": "/"}, *defs.get("vhosts", [])],
            "users": [{"name": "admin", "password": self.admin_password, "tags": ["administrator"]},
                      *defs.get("users", [])],
            "permissions": [{"user": "admin", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
                            *defs.get("permissions", [])],
            **{k: v for k, v in defs.items() if k not in ("vhosts", "users", "permissions")},
        }
        _write_private(self.dir / "definitions.json", json.dumps(defs, indent=1))
        _write_private(self.dir / "rabbitmq.conf", self.rabbitmq_conf())
        _write_private(self.dir / "advanced.config", self.advanced_config())
        plugins = list(self.plugins)
        if self.tls and self.tls.external_auth and "rabbitmq_auth_mechanism_ssl" not in plugins:
            plugins.append("rabbitmq_auth_mechanism_ssl")
        (self.dir / "enabled_plugins").write_text(f"[{','.join(plugins)}].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")

    def rabbitmq_conf(self) -> str:
        p = self.ports
        lines = [
            f"listeners.tcp.1 = 127.0.0.1:{p.amqp}",
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {p.mgmt}",
            f"prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = {p.prometheus}",
            "prometheus.return_per_object_metrics = true",
            f"loopback_users = none\nlog.console = false\nlog.file.level = {self.log_level}",
            f"load_definitions = {self.dir / 'definitions.json'}",
        ]
        if self.memory_high_watermark is not None:
            lines.append(f"vm_memory_high_watermark.relative = {self.memory_high_watermark}")
        if self.tls:
            lines.append(f"listeners.ssl.1 = 127.0.0.1:{p.amqps}")
            if self.tls.external_auth:
                lines += ["auth_mechanisms.1 = PLAIN", "auth_mechanisms.2 = AMQPLAIN", "auth_mechanisms.3 = EXTERNAL",
                          "ssl_cert_login_from = common_name"]
        return "\n".join([*lines, self.extra_conf, ""])

    def advanced_config(self) -> str:
        """The TLS options, in Erlang terms: rabbitmq.conf (cuttlefish) has no key for the CRL cache in 3.10,
        and ssl_options given here replace the whole list, so all of them are here."""
        if not self.tls:
            return "[].\n"
        t = self.tls
        options = [f'{{cacertfile, "{t.cacert}"}}', f'{{certfile, "{t.cert}"}}', f'{{keyfile, "{t.key}"}}',
                   "{verify, verify_peer}", "{fail_if_no_peer_cert, true}", "{depth, 2}",
                   "{versions, ['tlsv1.3', 'tlsv1.2']}", "{log_level, notice}"]
        if t.crl_dir:
            # Erlang's ssl checks the peer's certificate against the CRL found by its issuer's name hash in the
            # directory, read at every handshake: a CRL rewritten there refuses the next connection, no restart.
            options += ["{crl_check, peer}",
                        f'{{crl_cache, {{ssl_crl_hash_dir, {{internal, [{{dir, "{t.crl_dir}"}}]}}}}}}']
        return "[{rabbit, [{ssl_options, [" + ", ".join(options) + "]}]}].\n"

    # -- life cycle ----------------------------------------------------------------------------------
    def start(self, definitions: dict | None = None, *, timeout: float = 90, wait: bool = True) -> None:
        """Configure, start epmd (if not running) and the broker, and wait until it answers (`wait=False`:
        return at once, to boot several nodes side by side, then call `wait()` on each)."""
        self.configure(definitions)
        running = self.table.load()
        epmd = running.get(self.epmd_proc)
        if (epmd is None or not procs.alive(epmd.pid)) and not procs.port_open(self.ports.epmd):
            procs.spawn(self.table, self.epmd_proc, ["epmd", "-address", "127.0.0.1", "-port", str(self.ports.epmd)],
                        env=self.env(), port=self.ports.epmd, kind="infra", stop_grace=2)
        self._spawn()
        if wait:
            self.wait(timeout)

    def _spawn(self) -> None:
        procs.spawn(self.table, self.broker_proc, [str(RABBIT_BIN / "rabbitmq-server")], env=self.env(),
                    port=self.ports.amqp, health_url=self.metrics_url, kind="infra", stop_grace=self.stop_grace)

    def wait(self, timeout: float = 90) -> None:
        proc = self.table.load()[self.broker_proc]
        procs.wait_until(lambda: self._answers(), timeout, f"RabbitMQ node {self.name}", proc)

    def _answers(self) -> bool:
        ports = [self.ports.amqp, self.ports.mgmt] + ([self.ports.amqps] if self.tls else [])
        return all(procs.port_open(p) for p in ports) and procs.http_ok(self.metrics_url)

    def is_running(self) -> bool:
        proc = self.table.load().get(self.broker_proc)
        return proc is not None and procs.alive(proc.pid)

    def stop(self) -> None:
        """SIGTERM the broker (SIGKILL after `stop_grace`) and wait until its ports are closed; epmd stays."""
        proc = self.table.load().get(self.broker_proc)
        if proc is None:
            return
        procs.stop(proc)
        self._wait_down(proc)

    def kill(self) -> None:
        """SIGKILL the broker: no clean shutdown, like a power cut."""
        proc = self.table.load().get(self.broker_proc)
        if proc is None:
            return
        procs.kill_hard(proc)
        self._wait_down(proc)

    def _wait_down(self, proc: procs.Proc) -> None:
        procs.wait_until(lambda: not procs._group_alive(proc.pid) and not procs.port_open(self.ports.amqp), 30,
                         f"RabbitMQ node {self.name} stopped")
        self.table.remove(self.broker_proc)

    def restart(self, *, hard: bool = False, down_for: float = 0.0, timeout: float = 90) -> None:
        """Stop (or kill), stay down `down_for` seconds, start again on the same data directory."""
        self.kill() if hard else self.stop()
        time.sleep(down_for)
        self._spawn()   # the configuration written at start stays (and so do the definitions it loads)
        self.wait(timeout)

    def remove(self) -> None:
        """Stop the broker and its epmd and delete the node's directory."""
        self.stop()
        epmd = self.table.load().get(self.epmd_proc)
        if epmd is not None:
            procs.stop(epmd)
            self.table.remove(self.epmd_proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- CLI and clustering --------------------------------------------------------------------------
    def rabbitmqctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), *args], env={**os.environ, **self.env()},
                              capture_output=True, text=True, check=False, timeout=timeout)

    def join(self, other: RabbitNode) -> None:
        """Join `other`'s cluster (both nodes need the same `cookie`): stop_app, join_cluster, start_app."""
        for args in (("stop_app",), ("join_cluster", other.nodename), ("start_app",)):
            result = self.rabbitmqctl(*args)
            if result.returncode != 0:
                raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {self.name}: {result.stderr or result.stdout}")
        self.wait()


def _write_private(path: Path, text: str) -> None:
    """The files hold the admin password or key paths: readable by their owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
