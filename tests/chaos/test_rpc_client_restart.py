"""A long-lived RPC client (the edge's, the gateway's) outlives a broker restart and a restart of the service.

The edge used to call its registry through nameko's standalone proxy; after a broker restart with the agency
process restarted around it, one edge's calls timed out for good while the new process served the queue
(docs/interconnect.md). The client now speaks nameko's protocol over pika with every wait bounded. Here one
client keeps calling through the outage: each call ends (an error while the broker or service is down), and
the same client answers once the new agency process is up.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from infra import procs
from infra.stack import Stack
from services.common.rpc_client import ServiceClient
from tests.agency import running_agency_process

pytestmark = pytest.mark.chaos

SERVICES = "tests.interconnect.fake_registry:FakeRegistry"
CALL_TIMEOUT = 10.0
# Generous: a call may spend its timeout, a connect its socket and handshake timeouts, a confirm two heartbeats.
# What this catches is a call that never ends, not a slow one.
LONGEST_ACCEPTABLE_CALL = 120.0


class Hammer(threading.Thread):
    """Calls once a second through one shared client and records how long each call took and how it ended."""

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.stopping = threading.Event()
        self.calls: list[tuple[float, str]] = []
        self.current_started: float | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            self.current_started = time.monotonic()
            try:
                outcome = str(self.client.call("registry", "slow", None, 0))
            except Exception as exc:  # the broker or the service is down: the kind of error is recorded
                outcome = type(exc).__name__
            self.calls.append((time.monotonic() - self.current_started, outcome))
            self.current_started = None
            self.stopping.wait(1.0)

    def stuck_for(self) -> float:
        started = self.current_started
        return 0.0 if started is None else time.monotonic() - started


def test_one_client_answers_again_after_broker_and_service_restart(chaos_stack: Stack, chaos_vhost: str,
                                                                   tmp_path: Path):
    uri = chaos_vhost
    env = {**os.environ, **chaos_stack.env(), "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    client = ServiceClient(uri, size=2, timeout=CALL_TIMEOUT)
    hammer = Hammer(client)
    try:
        with running_agency_process(SERVICES, uri, tmp_path / "agency-1.log", env):
            assert client.call("registry", "slow", None, 0) == "done"
            hammer.start()
            procs.wait_until(lambda: len(hammer.calls) >= 3, 30, "calls through the first process", None)
            # The service process dies with the broker, as in a machine's restart: killed while the broker stops.
            chaos_stack.restart_rabbitmq(down_for=15)
        failures_before = sum(1 for _, outcome in hammer.calls if outcome != "done")
        with running_agency_process(SERVICES, uri, tmp_path / "agency-2.log", env):
            seen = len(hammer.calls)
            procs.wait_until(lambda: any(o == "done" for _, o in hammer.calls[seen:]), 120,
                             "an answer from the new process through the same client", None)
        hammer.stopping.set()
        hammer.join(LONGEST_ACCEPTABLE_CALL)
        assert not hammer.is_alive(), f"a call has not returned for {hammer.stuck_for():.0f}s"
    finally:
        hammer.stopping.set()
        client.close()
    longest = max(seconds for seconds, _ in hammer.calls)
    assert longest < LONGEST_ACCEPTABLE_CALL, hammer.calls
    assert failures_before > 0, "the outage was expected to fail some calls (or the test did not test it)"
