"""An agency process outlives a broker outage that catches a reply in flight.

nameko kills a service container when publishing an RPC reply fails; with several services in one process
`ServiceRunner.wait()` then stopped the others gracefully against the absent broker, and the process lingered:
running, answering nothing, never restarted. The agency process now gives such a reply up (the caller calls
again; handlers are idempotent) and, should a container die anyway, exits so that its supervisor restarts it.

The test runs its own RabbitMQ (it is stopped for longer than nameko's own reply retries would wait) and one
agency process with two services, the shape of a real agency process.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from infra import procs
from infra.stack import Stack
from services.common.db import agency_slug
from services.common.rpc_client import ServiceClient
from tests.agency import running_agency_process

pytestmark = pytest.mark.chaos

SERVICES = "tests.interconnect.fake_registry:FakeRegistry,services.storage.service:StorageService"
DOWN_FOR = 30.0     # longer than nameko tries to reconnect for a reply (about 10 s): the reply is given up


def _answers(uri: str) -> str:
    client = ServiceClient(uri, size=1, timeout=20)
    try:
        return client.call("registry", "slow", None, 0)
    finally:
        client.close()


def test_a_reply_lost_to_a_broker_outage_leaves_the_process_answering(chaos_stack: Stack, chaos_vhost: str,
                                                                      tmp_path: Path):
    uri = chaos_vhost
    env = {**chaos_stack.env(), "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("S3_ENDPOINT", None)
    log_path = tmp_path / "agency.log"
    # The process is not restarted by anybody here: an answer afterwards is an answer of the same process.
    with running_agency_process(SERVICES, uri, log_path, {**os.environ, **env}) as port:
        assert _answers(uri) == "done"

        # A worker sleeps through the broker's stop; its reply is due while the broker is down.
        caller = threading.Thread(target=lambda: _call_ignoring_errors(uri), daemon=True)
        caller.start()
        procs.wait_until(lambda: _slow_calls(tmp_path / "data") > 0, 30, "the slow call reaching its worker", None)
        chaos_stack.restart_rabbitmq(down_for=DOWN_FOR)

        # Every consumer reconnects and the process answers again.
        procs.wait_until(lambda: _answers_quietly(uri), 120, "an answer after the broker restart", None)
        assert procs.http_ok(f"http://127.0.0.1:{port}/healthz")
        assert " lost: " in log_path.read_text(), (
            "the reply was expected to be given up while the broker was down:\n" + log_path.read_text()[-3000:])


def _call_ignoring_errors(uri: str) -> None:
    # The caller's connection dies with the broker: its error is expected and of no interest here.
    with contextlib.suppress(Exception):
        client = ServiceClient(uri, size=1, timeout=120)
        try:
            client.call("registry", "slow", None, 5)
        finally:
            client.close()


def _answers_quietly(uri: str) -> bool:
    try:
        return _answers(uri) == "done"
    except Exception:  # not back yet
        return False


def _slow_calls(data_dir: Path) -> int:
    path = data_dir / agency_slug("000.00.00.H60") / "fake_registry.sqlite3"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM calls WHERE method = 'slow' AND body != '0'").fetchone()[0]
    finally:
        db.close()
