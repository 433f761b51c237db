"""Registrations and issues take a write slot in the gateway (gateway/backends.py): at most GATEWAY_WRITE_SLOTS of
them per worker run at once, the others wait their turn, and everything else passes without waiting."""

from __future__ import annotations

import threading
import time

import pytest

from gateway.backends import Backends, ServiceUnavailable
from services.common.actor import Actor, Role

AGENCY = "000.00.00.H60"
CLERK = Actor(user_id="vt", username="hoalt.vptq", agency_id=AGENCY, roles=frozenset({Role.CLERK}))


class Installation:
    """Stands in for the installation's RPC client: each call takes `seconds` and the most at once is counted."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def call(self, service: str, method: str, actor: Actor, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.seconds:
                time.sleep(self.seconds)
            else:
                self.release.wait(30)
            return {"service": service, "method": method}
        finally:
            with self.lock:
                self.running -= 1


def backends(slots: int, installation: Installation, timeout: float = 30.0) -> Backends:
    found = Backends({AGENCY: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": "amqp://installation"}}, timeout,
                     write_slots=slots)
    found._clients["amqp://installation"] = installation  # the installation's client, replaced
    return found


def in_threads(n: int, call) -> list[threading.Thread]:
    threads = [threading.Thread(target=call) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


@pytest.mark.parametrize("slots", [1, 2])
def test_no_more_registrations_at_once_than_the_slots(slots):
    installation = Installation(0.05)
    b = backends(slots, installation)
    threads = in_threads(8, lambda: b.call(CLERK, "registry", "register_paper_incoming", {}, []))
    for t in threads:
        t.join(30)
    assert installation.most == slots


def test_reads_and_other_calls_do_not_wait_for_a_slot():
    installation = Installation(0)  # every call waits until released
    b = backends(1, installation)
    held = in_threads(1, lambda: b.call(CLERK, "registry", "accept_incoming", "doc", "reg"))
    reads = in_threads(3, lambda: b.call(CLERK, "routing", "read_many", []))
    deadline = time.monotonic() + 30  # a bound, not a timing assertion
    while installation.running < 4:
        assert time.monotonic() < deadline, f"only {installation.running} calls running"
        time.sleep(0.01)
    installation.release.set()
    for t in held + reads:
        t.join(30)
    assert installation.most == 4


def test_a_write_that_finds_no_slot_in_time_is_told_the_system_is_busy():
    installation = Installation(0)
    b = backends(1, installation, timeout=0.2)
    held = in_threads(1, lambda: b.call(CLERK, "registry", "issue_outgoing", "doc", "reg"))
    while installation.running < 1:
        time.sleep(0.01)
    with pytest.raises(ServiceUnavailable) as busy:
        b.call(CLERK, "registry", "register_outgoing_signed", {}, "sha", [], "reg")
    assert busy.value.http_status == 503 and "Hệ thống đang bận" in busy.value.message_vi
    installation.release.set()
    held[0].join(30)
    assert b.call(CLERK, "registry", "register_outgoing_signed", {}, "sha", [], "reg")["method"] == \
        "register_outgoing_signed"  # the slot came back


def test_zero_slots_means_no_bound():
    installation = Installation(0.05)
    b = backends(0, installation)
    for t in in_threads(6, lambda: b.call(CLERK, "registry", "register_paper_incoming", {}, [])):
        t.join(30)
    assert installation.most == 6
