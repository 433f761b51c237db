"""A hub whose own database is away holds what it is relaying instead of burning the delivery limit (issue 21:
"nothing reaches dead letters unanswered"). Before, every failed relay-log write nacked the window back to the
queue at once, so a database outage of a few seconds dead-lettered every package in flight, unanswered.

The hub runs in this process on the real broker and PostgreSQL; its database connection goes through a TCP
proxy the test cuts (every open connection dropped, new ones closed at once) for longer than three delivery
attempts would last, then heals.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from collections.abc import Iterator

import pika
import pytest

from services.interconnect import broker, edxml, hub
from services.interconnect import metrics as m
from tests.interconnect.conftest import H60_A, H60_B
from tests.interconnect.harness import edoc, wait_for
from tests.interconnect.test_trust_network import _publish


class CuttableProxy:
    """A TCP forwarder to `target` that can drop every connection and refuse new ones (a network cut)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.cut_off.set()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def heal(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_pg(pg_url) -> Iterator[tuple[str, CuttableProxy]]:
    parts = urllib.parse.urlsplit(pg_url)
    proxy = CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = parts.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{proxy.port}"
    try:
        yield urllib.parse.urlunsplit(parts._replace(netloc=netloc)), proxy
    finally:
        proxy.close()


def _held() -> float:
    return m.HELD_BY_OWN_FAILURE.labels("relay")._value.get()


def _take_all(creds, topology, organ: str, queue: str) -> list[str]:
    user = broker.agency_user(topology, organ)
    conn = pika.BlockingConnection(creds.params(user, broker.hub_vhost(topology, "H60")))
    try:
        ch, got = conn.channel(), []
        while (msg := ch.basic_get(queue, auto_ack=True))[0] is not None:
            got.append(msg[1].message_id)
        return got
    finally:
        conn.close()


def test_a_hub_whose_database_is_away_holds_the_package_and_relays_it_once_back(provisioned, proxied_pg,
                                                                                monkeypatch):
    topology, creds, run_dir = provisioned
    url, proxy = proxied_pg
    monkeypatch.setenv("DATABASE_URL", url)
    relay_hub = hub.build_hub(topology, "H60", run_dir)
    loop = hub.RelayLoop(relay_hub, creds)
    header = edoc(topology, H60_A, [H60_B], 1, [])
    body = edxml.build_edoc(header, [({"name": "a.pdf", "content_type": "application/pdf"}, b"%PDF x")])
    proxy.cut()
    loop.start()
    try:
        wait_for(loop.connected.is_set, 30, "the relay loop on the broker")
        before = _held()
        _publish(topology, creds, H60_A, body, "outage-1")
        # Four retries while the database is away: more than the queue's delivery limit (3) would allow.
        wait_for(lambda: _held() - before >= 4, 120, "the hub holding the package through its outage")
        assert _take_all(creds, topology, H60_B, creds.queue(broker.inbox_queue(H60_B))) == []
        proxy.heal()
        inbox = creds.queue(broker.inbox_queue(H60_B))
        arrived = wait_for(lambda: _take_all(creds, topology, H60_B, inbox), 120, "the package in the inbox")
        assert arrived == ["outage-1"]   # once: the held window was relayed and logged a single time
    finally:
        loop.stopping.set()
        loop.join(30)
    hub_user = broker.hub_user(topology, "H60")
    conn = pika.BlockingConnection(creds.params(hub_user, broker.hub_vhost(topology, "H60")))
    try:
        assert conn.channel().basic_get(creds.queue(broker.DEAD_QUEUE))[0] is None, "dead-lettered"
    finally:
        conn.close()
    received = [e for e in relay_hub.log.entries("outage-1") if e.event == "received"]
    assert len(received) == 1, [e.event for e in relay_hub.log.entries("outage-1")]
    assert relay_hub.log.verify() == []
