"""Broker metadata is private (issue 21, item 4): a user of the hubs' broker reaches only its own queues.

What the broker's permissions check is tested for every user of the layout: an agency's and a neighbour hub's
user can configure nothing and read no queue but their own, and a hub's user reads its work queues and dead
letters but no agency's inbox and declares nothing. A passive declare (which answers a queue's message and
consumer counts) is a different matter: RabbitMQ checks no permission for it before 4.2.6 / 4.3.0
(rabbitmq-server pull requests 16085 and 16272), so on the Debian 12 broker (3.10) any user of a vhost could
count another agency's inbox by its name. Hub queue names therefore carry a secret tag (broker.Credentials.queue)
that no other user can compute; the last test shows that no name one can guess answers.
"""

from __future__ import annotations

import secrets

import pika
import pika.exceptions

from services.interconnect import broker
from tests.interconnect.conftest import G22, H17_A, H60_A, H60_B

PASSIVE_DECLARE_CHECKED = (4, 2, 6)   # first RabbitMQ release that checks a permission for passive declares


def _broker_version(rabbit_admin) -> tuple[int, ...]:
    text = rabbit_admin._get("/overview")["rabbitmq_version"]
    return tuple(int(p) for p in text.split("-")[0].split(".")[:3])


def _refused(creds, user: str, vhost: str, action) -> int | None:
    """Run `action(channel)` as `user` on `vhost`; the broker's reply code if it closed the channel, else None."""
    conn = pika.BlockingConnection(creds.params(user, vhost))
    try:
        action(conn.channel())
        return None
    except pika.exceptions.ChannelClosedByBroker as exc:
        return exc.reply_code
    finally:
        if conn.is_open:
            conn.close()


def _declare(name: str):
    return lambda ch: ch.queue_declare(name, durable=True, arguments=dict(broker.QUORUM))


def _get(name: str):
    return lambda ch: ch.basic_get(name)


def test_agency_and_neighbour_users_configure_nothing_and_read_only_their_own(provisioned):
    topology, creds, _ = provisioned
    h60 = broker.hub_vhost(topology, "H60")
    agency = broker.agency_user(topology, H60_A)
    q = creds.queue   # the broker's names, as if the spy had learnt them
    assert _refused(creds, agency, h60, _get(q(broker.inbox_queue(H60_A)))) is None   # its own inbox
    for queue in (broker.inbox_queue(H60_B), broker.RELAY_QUEUE, broker.DEAD_QUEUE, broker.UPSTREAM_QUEUE):
        assert _refused(creds, agency, h60, _get(q(queue))) == 403, queue
    assert _refused(creds, agency, h60, _declare("spy")) == 403
    assert _refused(creds, agency, h60, lambda ch: ch.queue_delete(q(broker.inbox_queue(H60_B)))) == 403
    national = broker.hub_user(topology, "national")   # a neighbour of H60: it may only drop into submit
    for queue in (broker.inbox_queue(H60_A), broker.RELAY_QUEUE, broker.DEAD_QUEUE):
        assert _refused(creds, national, h60, _get(q(queue))) == 403, queue
    assert _refused(creds, national, h60, _declare("spy")) == 403


def test_a_hub_user_reads_its_work_queues_but_no_inbox_and_declares_nothing(provisioned):
    topology, creds, _ = provisioned
    for code, own, inboxes in (("H60", ["relay", "upstream", "dead"], [H60_A, H60_B]),
                               ("national", ["relay", "down.H60", "down.H17", "dead"], [G22])):
        vhost, user = broker.hub_vhost(topology, code), broker.hub_user(topology, code)
        for queue in own:
            assert _refused(creds, user, vhost, _get(creds.queue(queue))) is None, (code, queue)
        for organ in inboxes:
            assert _refused(creds, user, vhost, _get(creds.queue(broker.inbox_queue(organ)))) == 403, (code, organ)
        assert _refused(creds, user, vhost, _declare("spy")) == 403
        assert _refused(creds, user, vhost, lambda ch: ch.queue_delete(creds.queue(broker.RELAY_QUEUE))) == 403
    # What the hub must still do: publish into deliver (an inbox) and, for a redrive, into a queue by name.
    user, vhost = broker.hub_user(topology, "H17"), broker.hub_vhost(topology, "H17")

    def publish(ch):
        ch.confirm_delivery()
        broker.publish(ch, broker.DELIVER, H17_A, b"<x/>", user_id=user, message_id="to-inbox")
        broker.publish(ch, "", creds.queue(broker.RELAY_QUEUE), b"<x/>", user_id=user, message_id="redriven")

    assert _refused(creds, user, vhost, publish) is None


def test_no_user_can_count_another_agencys_inbox_or_the_hubs_queues(provisioned, rabbit_admin):
    """A passive declare answers a queue's message and consumer counts to whoever names it. Every hub queue's
    name carries a secret tag, so without the deployment's queue key no name reaches one: the base name, or
    the right form under another key, answers 404 exactly as a queue that does not exist; the agency's own
    inbox, whose name it is given, still answers. From RabbitMQ 4.2.6 the broker also refuses (403) a passive
    declare of a queue the user may not read, even by its real name."""
    topology, creds, _ = provisioned
    h60 = broker.hub_vhost(topology, "H60")
    agency, national = broker.agency_user(topology, H60_A), broker.hub_user(topology, "national")
    guessed = broker.Credentials(creds.host, creds.port, queue_key=secrets.token_hex(32))

    def passive(name: str):
        return lambda ch: ch.queue_declare(name, passive=True)

    assert _refused(creds, agency, h60, passive(creds.queue(broker.inbox_queue(H60_A)))) is None   # its own
    for base in (broker.inbox_queue(H60_B), broker.DEAD_QUEUE, broker.RELAY_QUEUE, broker.UPSTREAM_QUEUE):
        real = creds.queue(base)
        assert real.startswith(base + ".") and len(real) - len(base) > 26, real   # 130 bits of HMAC
        for user in (agency, national):
            for name in (base, guessed.queue(base)):
                assert _refused(creds, user, h60, passive(name)) == 404, (user, name)
    if _broker_version(rabbit_admin) >= PASSIVE_DECLARE_CHECKED:
        assert _refused(creds, agency, h60, passive(creds.queue(broker.inbox_queue(H60_B)))) == 403
        assert _refused(creds, national, h60, passive(creds.queue(broker.DEAD_QUEUE))) == 403
