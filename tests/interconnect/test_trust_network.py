"""Issue 21 over the real broker: forged headers, injected statuses and poison messages (hubs, edges and
stand-in registries as real processes; the dead-letter tools against the broker)."""

from __future__ import annotations

from datetime import datetime

import pika

from services.interconnect import broker, domain, edxml, ops_cli
from tests.interconnect.conftest import H17_A, H60_A, H60_B
from tests.interconnect.harness import edoc, reject_until_dead, status_package, wait_for
from tests.interconnect.test_relay import _registered, _send_and_wait
from tests.interconnect.test_relay_lifecycle import _dead


class PoisonProperties(pika.BasicProperties):
    """Properties whose header table pika cannot decode: a timestamp no datetime can hold (RabbitMQ relays it)."""

    def encode(self) -> list[bytes]:
        data = b"".join(super().encode())
        stamp = data.index(b"T", data.index(b"x-when"))
        return [data[:stamp + 1] + b"\xff" * 8 + data[stamp + 9:]]


def _publish(net_or_topology, creds, organ: str, body: bytes, message_id: str, headers: dict | None = None,
             poison: bool = False) -> None:
    topology = getattr(net_or_topology, "topology", net_or_topology)
    user = broker.agency_user(topology, organ)
    conn = pika.BlockingConnection(creds.params(user, broker.hub_vhost(topology, topology.agency(organ).hub)))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        cls = PoisonProperties if poison else pika.BasicProperties
        headers = {**(headers or {}), **({"x-when": datetime(2026, 1, 1)} if poison else {})}
        ch.basic_publish(broker.SUBMIT, "", body, cls(delivery_mode=2, user_id=user, message_id=message_id,
                                                      headers=headers))
    finally:
        conn.close()


def _package(topology, sender: str, recipients: list[str], number: int) -> tuple[dict, bytes]:
    header = edoc(topology, sender, recipients, number, [])
    return header, edxml.build_edoc(header, [({"name": "a.pdf", "content_type": "application/pdf"}, b"%PDF x")])


def test_dlq_list_and_redrive_survive_a_poison_header_and_never_keep_the_submitters_headers(provisioned):
    topology, creds, _ = provisioned
    _header, body = _package(topology, H60_A, [H60_B], 1)
    national = broker.hub_user(topology, "national")
    forged = {domain.ORIGINAL_USER: national, domain.H_ORIGIN: "000.00.00.G22", domain.H_RECIPIENTS: [H17_A],
              "x-death": [{"queue": creds.queue(broker.inbox_queue(H60_B)), "reason": "expired"}]}
    _publish(topology, creds, H60_A, body, "forged", headers=forged)
    _publish(topology, creds, H60_A, body, "poison", poison=True)
    hub = broker.hub_user(topology, "H60")
    conn = pika.BlockingConnection(creds.params(hub, broker.hub_vhost(topology, "H60")))
    try:
        reject_until_dead(conn.channel(), creds, tries=12)
    finally:
        conn.close()
    rows = {r["message_id"]: r for r in ops_cli.dead_letters(topology, creds, "H60")}
    assert set(rows) == {"forged", "poison"}
    assert rows["poison"]["headers_unreadable"] and rows["poison"]["queue"] == broker.RELAY_QUEUE
    assert ops_cli.redrive(topology, creds, "H60", None) == 2
    conn = pika.BlockingConnection(creds.params(hub, broker.hub_vhost(topology, "H60")))
    try:
        ch = conn.channel()
        got = {}
        while (answer := ch.basic_get(creds.queue(broker.RELAY_QUEUE), auto_ack=True))[0] is not None:
            got[answer[1].message_id] = answer[1].headers
    finally:
        conn.close()
    receiver = broker.agency_user(topology, H60_B)
    conn = pika.BlockingConnection(creds.params(receiver, broker.hub_vhost(topology, "H60")))
    try:  # the forged x-death naming H60_B's inbox was not followed
        assert conn.channel().basic_get(creds.queue(broker.inbox_queue(H60_B)))[0] is None
    finally:
        conn.close()
    agency_user = broker.agency_user(topology, H60_A)
    assert got["forged"][domain.ORIGINAL_USER] == agency_user  # the broker-checked submitter, not the header
    assert got["poison"][domain.ORIGINAL_USER] == agency_user


def test_a_forged_readdressing_header_does_not_reroute(network):
    header, body = _package(network.topology, H60_A, [H60_B], 61)
    _publish(network, network.creds, H60_A, body, "reroute",
             headers={domain.H_READDRESSED: {H60_B: H17_A}, domain.H_RECIPIENTS: [H17_A]})
    wait_for(lambda: [r for r in _registered(network, H60_B) if r["document_id"] == header["document_id"]],
             what="the package at its real addressee")
    _send_and_wait(network, H60_A, H17_A, 62)  # everything before it has been relayed
    assert not [r for r in _registered(network, H17_A) if r["document_id"] == header["document_id"]]


def test_a_status_about_a_document_never_sent_to_its_author_is_refused_and_answered(network):
    sent, got, _ = _send_and_wait(network, H60_A, H60_B, 71)  # sent to H60_B only
    injected = status_package(network, H17_A, H60_A, got, "06", "Đã hoàn thành", 1)
    network.call(H17_A, "send_status", injected)
    refusal = wait_for(lambda: [r for r in _registered(network, H17_A, "status:02")
                                if r["document_id"] == sent["document_id"]], what="02 back to the injector")
    assert refusal[0]["package"]["from"]["organ_id"] == H60_A
    assert "không phải nơi nhận" in refusal[0]["package"]["description"]
    # A take-back (13) from an agency that never sent the document is refused by its recipient the same way.
    network.call(H17_A, "send_status", status_package(network, H17_A, H60_B, got, "13", "Đề nghị lấy lại", 2))
    wait_for(lambda: [r for r in _registered(network, H17_A, "status:02")
                      if r["package"]["from"]["organ_id"] == H60_B], what="02 from the recipient")
    # The sender's registry never heard of either; the real recipient's statuses still count.
    network.call(H60_B, "send_status", status_package(network, H60_B, H60_A, got, "03", "Đã tiếp nhận", 3))
    wait_for(lambda: "03" in [r["package"]["status_code"] for r in _registered(network, H60_A, "status")
                              if r["document_id"] == sent["document_id"]], what="03 from the recipient")
    senders = {r["package"]["from"]["organ_id"] for r in _registered(network, H60_A, "status")
               if r["document_id"] == sent["document_id"]}
    assert senders == {H60_B}
    assert not [r for r in _registered(network, H60_B, "status:13") if r["document_id"] == sent["document_id"]]


def test_a_poison_header_comes_back_as_02_and_nothing_is_dead_lettered(network):
    header, body = _package(network.topology, H60_A, [H17_A], 81)
    _publish(network, network.creds, H60_A, body, "poison-81", poison=True)
    refusal = wait_for(lambda: [r for r in _registered(network, H60_A, "status:02")
                                if r["document_id"] == header["document_id"]], what="02 for the poison message")
    assert "tiêu đề AMQP không đọc được" in refusal[0]["package"]["description"]
    _send_and_wait(network, H60_A, H17_A, 82)  # the hub still relays
    assert _dead(network) == 0
    assert not [r for r in _registered(network, H17_A) if r["document_id"] == header["document_id"]]
