"""Broker provisioning: vhosts, users, permissions, quorum queues, dead-lettering; the broker's own checks."""

from __future__ import annotations

import stat

import pika
import pika.exceptions
import pytest

from services.interconnect import broker, domain, ops_cli
from tests.interconnect.conftest import G22, H17_A, H60_A, H60_B
from tests.interconnect.harness import reject_until_dead


def test_provision_creates_layout_and_is_idempotent(provisioned, rabbit_admin):
    topology, creds, run_dir = provisioned
    again = broker.provision(rabbit_admin, topology, run_dir, delivery_limit=3)
    assert again.passwords == creds.passwords  # a second run keeps the generated passwords
    assert again.queue_key == creds.queue_key and len(creds.queue_key) == 64   # and the queue names' key
    mode = stat.S_IMODE((run_dir / broker.CREDENTIALS_FILE).stat().st_mode)
    assert mode == 0o600
    h60 = {q["name"]: q for q in rabbit_admin.queues(broker.hub_vhost(topology, "H60"))}
    served = [f"inbox.{a.organ_id}" for a in topology.agencies_of("H60")]
    assert {H60_A, H60_B} <= {a.organ_id for a in topology.agencies_of("H60")}
    assert set(h60) == set(map(creds.queue, ["relay", "upstream", "dead", *served]))
    assert all(q["type"] == "quorum" for q in h60.values())
    national = {q["name"] for q in rabbit_admin.queues(broker.hub_vhost(topology, "national"))}
    assert national == set(map(creds.queue, ["relay", "dead", "down.H60", "down.H17", f"inbox.{G22}"]))
    agency = {q["name"] for q in rabbit_admin.queues(broker.agency_vhost(topology, H17_A))}
    assert agency == {broker.EDGE_OUTGOING, "dead"}


def _connect(creds, topology, user, vhost_code):
    return pika.BlockingConnection(creds.params(user, broker.hub_vhost(topology, vhost_code)))


def test_agency_cannot_read_another_agencys_inbox(provisioned):
    topology, creds, _ = provisioned
    conn = _connect(creds, topology, broker.agency_user(topology, H60_A), "H60")
    try:
        ch = conn.channel()
        ch.basic_get(creds.queue(broker.inbox_queue(H60_A)))  # its own inbox: allowed
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
            ch = conn.channel()
            ch.basic_get(creds.queue(broker.inbox_queue(H60_B)))
        assert err.value.reply_code == 403
    finally:
        conn.close()


def test_agency_cannot_publish_as_someone_else_or_elsewhere(provisioned):
    topology, creds, _ = provisioned
    user = broker.agency_user(topology, H60_A)
    conn = _connect(creds, topology, user, "H60")
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        broker.publish(ch, broker.SUBMIT, "", b"<x/>", user_id=user, message_id="m1")  # its own name: accepted
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as forged:
            broker.publish(ch, broker.SUBMIT, "", b"<x/>", user_id=broker.agency_user(topology, H60_B),
                           message_id="m2")
        assert forged.value.reply_code == 406  # PRECONDITION_FAILED: user_id is not the connection's user
        ch = conn.channel()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as direct:
            ch.confirm_delivery()
            broker.publish(ch, broker.DELIVER, H60_B, b"<x/>", user_id=user, message_id="m3")
        assert direct.value.reply_code == 403  # only the submit exchange is writable
    finally:
        if conn.is_open:
            conn.close()


def test_agency_user_has_no_access_to_other_hubs(provisioned):
    topology, creds, _ = provisioned
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        _connect(creds, topology, broker.agency_user(topology, H60_A), "H17")


def test_a_message_failing_too_often_is_dead_lettered(provisioned):
    topology, creds, _ = provisioned
    user = broker.hub_user(topology, "H60")
    conn = _connect(creds, topology, user, "H60")
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        broker.publish(ch, broker.SUBMIT, "", b"<poison/>", user_id=user, message_id="poison")
        reject_until_dead(ch, creds)
        method, props, body = ch.basic_get(creds.queue(broker.DEAD_QUEUE))
        assert body == b"<poison/>" and props.message_id == "poison"
        assert method is not None and ch.basic_get(creds.queue(broker.RELAY_QUEUE))[0] is None
        ch.basic_nack(method.delivery_tag, requeue=True)
    finally:
        conn.close()
    # The operator sees it, with where it died and why, and puts it back.
    [row] = ops_cli.dead_letters(topology, creds, "H60")
    assert (row["message_id"], row["queue"], row["reason"]) == ("poison", "relay", "delivery_limit")
    assert ops_cli.redrive(topology, creds, "H60", "poison") == 1
    conn = _connect(creds, topology, user, "H60")
    try:
        _method, props, body = conn.channel().basic_get(creds.queue(broker.RELAY_QUEUE), auto_ack=True)
        assert body == b"<poison/>" and props.headers[domain.ORIGINAL_USER] == user
    finally:
        conn.close()


def test_a_publish_window_confirms_many_and_refuses_an_unroutable_message(provisioned):
    topology, creds, _ = provisioned
    user = broker.hub_user(topology, "H60")
    conn = _connect(creds, topology, user, "H60")
    try:
        window = broker.PublishWindow(conn, conn.channel())
        for i in range(20):
            window.publish(broker.DELIVER, H60_B, b"<edXML/>", user_id=user, message_id=f"w{i}", mandatory=True)
        window.wait()
        assert window.pending == set()
        window.publish(broker.DELIVER, "000.00.99.H60", b"<edXML/>", user_id=user, message_id="nowhere",
                       mandatory=True)
        with pytest.raises(broker.PublishFailed, match="unroutable nowhere"):
            window.wait()
    finally:
        conn.close()
    conn = _connect(creds, topology, broker.agency_user(topology, H60_B), "H60")
    try:
        ch = conn.channel()
        got = []
        while (msg := ch.basic_get(creds.queue(broker.inbox_queue(H60_B)), auto_ack=True))[0] is not None:
            got.append(msg[1].message_id)
        assert got == [f"w{i}" for i in range(20)]
    finally:
        conn.close()
