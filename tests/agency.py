"""A real agency process for service tests: started with the services asked for, stopped even when a test fails."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from infra import procs
from services.common.rabbit_admin import RabbitAdmin

if TYPE_CHECKING:
    from kombu import Connection, Queue

    from gateway.app import Gateway

# An installation process as `./congvan up` runs one: every service a clerk's and a leader's pages call.
INSTALLATION_SERVICES = ("services.storage.service:StorageService,services.signing.service:SigningService,"
                         "services.registry.service:RegistryService,services.routing.service:RoutingService")


def consumed(conn: Connection, queue: Queue, count: int, timeout: float = 10.0) -> list[dict]:
    """The bodies of the next `count` JSON messages on `queue` (each acknowledged); `timeout` bounds each wait."""
    got: list[dict] = []

    def on_message(body, message):
        got.append(body)
        message.ack()

    with conn.Consumer(queue, callbacks=[on_message], accept=["json"]):
        while len(got) < count:
            conn.drain_events(timeout=timeout)
    return got


@contextmanager
def own_vhost(rabbit_admin: RabbitAdmin, stack_env: dict[str, str], prefix: str = "t") -> Iterator[str]:
    """An empty vhost on the test broker (`<prefix>-<random>`), the admin allowed everywhere, deleted afterwards;
    yields its AMQP URI."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    rabbit_admin.add_vhost(name)
    rabbit_admin.set_permissions(name, stack_env["RABBIT_ADMIN_USER"])
    user, pw = stack_env["RABBIT_ADMIN_USER"], stack_env["RABBIT_ADMIN_PASSWORD"]
    try:
        yield f"amqp://{user}:{pw}@127.0.0.1:{stack_env['RABBIT_PORT']}/{name}"
    finally:
        rabbit_admin.delete_vhost(name)


@contextmanager
def running_agency_process(services: str, amqp_uri: str, log_path: Path, env: dict[str, str], *,
                           agency: str = "000.00.00.H60", installation: str = "",
                           ready_timeout: float = 90) -> Iterator[int]:
    """Runs `python -m services.common.agency_process` and yields its metrics/health port once /healthz answers.
    `agency=""` with an `installation` name starts an installation process that names no agency."""
    port = procs.free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.common.agency_process", *(["--agency", agency] if agency else []),
             *(["--installation", installation] if installation else []), "--amqp-uri", amqp_uri,
             "--metrics-port", str(port), "--services", services],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            procs.wait_until(lambda: procs.http_ok(f"http://127.0.0.1:{port}/healthz"), ready_timeout,
                             f"agency process ({services})")
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def embedded_installation(tmp_path: Path, amqp_uri: str, *, organ_id: str = "000.00.00.H60",
                          name: str = "UBND tỉnh Tuyên Quang",
                          rpc_timeout: float = 120) -> tuple[Gateway, dict[str, str]]:
    """A gateway that knows one installation (named by its first agency, `organ_id`, on `amqp_uri`) and the
    environment for that installation's process: SQLite and local files under `tmp_path`, whatever agency and
    PostgreSQL the test stack's environment names."""
    from gateway.app import Gateway  # here, not above: the services' tests use this module without the gateway
    from gateway.settings import GatewaySettings

    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    for variable in ("AGENCY_ID", "DATABASE_URL"):
        env.pop(variable, None)
    agencies = tmp_path / "agencies.json"
    agencies.write_text(json.dumps({organ_id: {"name": name, "amqp_uri": amqp_uri}}))
    return Gateway(GatewaySettings(data_dir=tmp_path, agencies_file=agencies, rpc_timeout=rpc_timeout)), env
