"""Web Push for every notification routing writes (a chase, a deadline change, a draft to review or returned, a
reminder, a task...), not only for what the gateway itself did: routing sends each in-app notification as an event
`notified` through its outbox (services/routing/notify.py); a thread here per installation follows them and posts
each to the person's subscribed devices (gateway/push.py).

The queue is shared by the installation's gateway workers, so each notification is pushed once. It expires a day
after the last gateway stopped following it (PUSH_ENABLED turned off) and drops what waited over an hour: a
notification is a courtesy, the work is in the lists, and a stale one on a phone is noise."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import pika
import pika.exceptions

from services.common.rpc_client import cluster_uris

if TYPE_CHECKING:
    from gateway.app import Gateway

log = logging.getLogger("congvan.gateway.push")

EXCHANGE = "routing.events"  # nameko's event exchange of the routing service
EVENT = "notified"
QUEUE = "gateway.push"
QUEUE_ARGS = {"x-expires": 24 * 3600 * 1000, "x-message-ttl": 3600 * 1000}
RETRY_MAX = 30.0


def message_of(event: dict[str, Any]) -> dict[str, str]:
    """The push message of one notification event: its title, body and the page it is about."""
    from gateway.handling import link_href

    ref_kind, ref_id = event.get("ref_kind"), event.get("ref_id")
    url = link_href(ref_kind, ref_id) if ref_kind and ref_id is not None else "/nhac-viec"
    return {"title": str(event.get("title") or "Công Văn"), "body": str(event.get("body") or ""),
            "url": "/nhac-viec" if url == "#" else url}


class Follower:
    """Follows `routing.notified` on one installation's broker, reconnecting after a broker outage."""

    def __init__(self, g: Gateway, amqp_uri: str) -> None:
        self.g = g
        self.nodes = [pika.URLParameters(uri) for uri in cluster_uris(amqp_uri)]  # a cluster: each node in turn
        for params in self.nodes:
            params.client_properties = {"connection_name": "gateway-push"}
            params.heartbeat = 30
        self.params = self.nodes[0]
        self._stopping = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._thread = threading.Thread(target=self._run, name="push-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        connection, channel = self._connection, self._channel
        if connection is not None and channel is not None:
            with contextlib.suppress(pika.exceptions.AMQPError):  # already closed: the loop ends on its own
                connection.add_callback_threadsafe(channel.stop_consuming)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        wait = 0.5
        while not self._stopping.is_set():
            try:
                self._follow()
                wait = 0.5
            except (pika.exceptions.AMQPError, OSError) as exc:
                if self._stopping.is_set():
                    break
                log.warning("push follower on %s: %s; retrying in %.1f s", self.params.virtual_host, exc, wait)
                self._stopping.wait(wait)
                wait = min(wait * 2, RETRY_MAX)

    def _follow(self) -> None:
        self._connection = connection = pika.BlockingConnection(self.nodes)
        try:
            self._channel = channel = connection.channel()
            # Declared as nameko declares it, so following works before routing ever dispatched an event.
            channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
            channel.queue_declare(QUEUE, durable=True, arguments=QUEUE_ARGS)
            channel.queue_bind(QUEUE, EXCHANGE, routing_key=EVENT)
            channel.basic_qos(prefetch_count=20)
            channel.basic_consume(QUEUE, self._on_message)
            if not self._stopping.is_set():
                channel.start_consuming()
        finally:
            self._connection = self._channel = None
            if connection.is_open:
                connection.close()

    def _on_message(self, channel, method, _properties, body: bytes) -> None:
        from gateway.push import send_to_user

        try:
            event = json.loads(body)
            if event.get("user_id"):
                send_to_user(self.g, str(event["user_id"]), message_of(event))
        except Exception:  # a courtesy: one that cannot be sent is logged, never retried into a loop
            log.exception("push of notification %r not sent", body[:200])
        channel.basic_ack(method.delivery_tag)


class Followers:
    """One follower per installation the gateway serves (an agency added later brings its installation's)."""

    def __init__(self, g: Gateway) -> None:
        self.g = g
        self._by_uri: dict[str, Follower] = {}
        self._lock = threading.Lock()

    def ensure(self, amqp_uri: str | None) -> None:
        if not amqp_uri or not self.g.settings.push_enabled:
            return
        with self._lock:
            if amqp_uri in self._by_uri:
                return
            follower = self._by_uri[amqp_uri] = Follower(self.g, amqp_uri)
        follower.start()

    def start(self) -> None:
        for info in list(self.g.backends.configured.values()):
            self.ensure(info.get("amqp_uri"))

    def stop(self) -> None:
        with self._lock:
            followers, self._by_uri = list(self._by_uri.values()), {}
        for follower in followers:
            follower.stop()
