"""The relay loop's direct link to a neighbour hub (services/interconnect/hub_links.py): a copy for the national hub
goes from H60's relay loop straight into national's `submit`, not through H60's `upstream` queue and its forwarder;
while the link is down, or when the neighbour does not confirm, the copies wait in `upstream` instead, and none is
lost.

Hub H60's relay loop runs in this process on the test broker; its link reaches national's vhost through a TCP
proxy the test cuts. No forwarder runs, so what went through the local queue stays there to be counted.
"""

from __future__ import annotations

import dataclasses
import threading

import pika
import pytest

from services.interconnect import broker, domain, edxml, hub, hub_links
from services.interconnect import metrics as m
from tests.interconnect.conftest import H17_A, H60_A
from tests.interconnect.harness import edoc, wait_for
from tests.interconnect.test_own_outage import CuttableProxy
from tests.interconnect.test_trust_network import _publish


@pytest.fixture
def relay(provisioned, monkeypatch):
    """H60's relay loop with a direct link to national through a proxy: (topology, creds, proxy, up, loop)."""
    topology, creds, run_dir = provisioned
    monkeypatch.setattr(hub_links, "LINK_REST_SECONDS", 0)   # each copy tries the link again
    national = broker.hub_vhost(topology, "national")
    proxy = CuttableProxy(creds.endpoint(national))
    proxied = dataclasses.replace(creds, endpoints={**creds.endpoints, national: ["127.0.0.1", proxy.port]})
    up = threading.Event()   # stands for the uplink forwarder's `connected`
    up.set()
    link = hub_links.DirectLink("uplink:H60", proxied, broker.hub_user(topology, "H60"), "national", national, up)
    loop = hub.RelayLoop(hub.build_hub(topology, "H60", run_dir), creds, links={domain.UP_KEY: link})
    loop.start()
    try:
        wait_for(loop.connected.is_set, 30, "the relay loop on the broker")
        yield topology, creds, proxy, up, loop
    finally:
        loop.stopping.set()
        loop.join(30)
        proxy.close()


def _take(creds, topology, code: str, queue: str) -> list[tuple[str, bytes]]:
    """Everything waiting in `queue` of hub `code`'s vhost, taken as that hub's own user."""
    conn = pika.BlockingConnection(creds.params(broker.hub_user(topology, code), broker.hub_vhost(topology, code)))
    try:
        ch, got = conn.channel(), []
        while (msg := ch.basic_get(creds.queue(queue), auto_ack=True))[0] is not None:
            got.append((msg[1].message_id, msg[2]))
        return got
    finally:
        conn.close()


def _queued() -> float:
    return m.LINK_QUEUED.labels("uplink:H60")._value.get()


def _sent(relay, numbers) -> list[str]:
    topology, creds, *_ = relay
    ids = []
    for number in numbers:
        body = edxml.build_edoc(edoc(topology, H60_A, [H17_A], number, []),
                                [({"name": "a.pdf", "content_type": "application/pdf"}, b"%PDF x")])
        ids.append(f"direct-{number}")
        _publish(topology, creds, H60_A, body, ids[-1])
    return ids


def _arrived(relay, code: str, queue: str, want: int, what: str) -> list[str]:
    topology, creds, *_ = relay
    got: list[tuple[str, bytes]] = []

    def enough() -> bool:
        got.extend(_take(creds, topology, code, queue))
        return len(got) >= want

    wait_for(enough, 60, what)
    for _id, body in got:   # what arrived is the traced package either way
        assert [t["organ_id"] for t in edxml.peek(body)["trace"]] == ["hub.H60"]
    return sorted(message_id for message_id, _body in got)


def test_a_copy_for_the_national_hub_goes_straight_into_its_submit(relay):
    topology, creds, *_ = relay
    before = _queued()
    ids = _sent(relay, [1, 2, 3])
    assert _arrived(relay, "national", broker.RELAY_QUEUE, 3, "the copies in national's relay queue") == ids
    assert _take(creds, topology, "H60", broker.UPSTREAM_QUEUE) == []   # none went through the local queue
    assert _queued() == before


def test_while_the_link_is_down_the_copies_wait_in_the_local_queue_and_none_is_lost(relay):
    topology, creds, proxy, up, loop = relay
    first = _sent(relay, [10])
    assert _arrived(relay, "national", broker.RELAY_QUEUE, 1, "a first copy over the link") == first
    before = _queued()
    # The neighbour's broker goes away under an open link: the copy it cannot confirm is queued locally, and so
    # are the next ones, for which the link cannot be opened again.
    proxy.cut()
    cut = _sent(relay, [11, 12, 13])
    assert _arrived(relay, "H60", broker.UPSTREAM_QUEUE, 3, "the copies in H60's upstream") == cut
    assert _queued() - before == 3
    # The forwarder says the neighbour is away: no connection is tried, the copies go to the local queue.
    proxy.heal()
    up.clear()
    away = _sent(relay, [14, 15])
    assert _arrived(relay, "H60", broker.UPSTREAM_QUEUE, 2, "the copies in H60's upstream") == away
    # The neighbour is back: the link opens again and carries the next copies.
    up.set()
    back = _sent(relay, [16])
    assert _arrived(relay, "national", broker.RELAY_QUEUE, 1, "a copy over the reopened link") == back
    assert _take(creds, topology, "national", broker.RELAY_QUEUE) == []   # none of the queued ones went twice
    assert _take(creds, topology, "H60", broker.DEAD_QUEUE) == []
    assert loop.is_alive()
