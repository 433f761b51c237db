"""Calls into an agency's nameko services from processes that are not nameko services (gateway, edge, tools).

    client = ServiceClient(amqp_uri)                  # a small pool of connections, thread-safe
    client.call("registry", "list_incoming", actor, ...)

It speaks nameko's RPC wire protocol over plain pika instead of using nameko's standalone proxy. That proxy
runs kombu in the calling thread and, after a broker restart, could block for good while reconnecting: an edge
whose registry calls kept timing out although the registry was back (docs/interconnect.md, "A hang found by
chaos"). Here every wait is bounded: connecting (socket and handshake timeouts), the publisher confirm (the
connection's heartbeat), the reply (the call's timeout). A connection that fails in any way is thrown away and
the next call opens a new one; the reply queue is exclusive to its connection, so nothing is left behind.

The protocol (nameko 2.x, nameko/rpc.py): the request is published to the topic exchange `nameko-rpc` with
routing key `<service>.<method>`, body `{"args": [...], "kwargs": {...}}` (kombu's JSON), `reply_to` a routing
key bound to the caller's reply queue, a `correlation_id`, and the worker context as `nameko.<key>` headers
(the acting user travels as `nameko.actor`). The reply comes back on the same exchange with `reply_to` as
routing key: `{"result": ..., "error": null | serialised exception}`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pika
import pika.exceptions
from kombu import serialization
from nameko.exceptions import RemoteError, UnknownService, deserialize

from services.common.actor import Actor
from services.common.errors import CongVanError

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"
ACTOR_HEADER = "nameko.actor"
CALL_ID_HEADER = "nameko.call_id_stack"
IDLE_RENEW_SECONDS = 20.0  # a connection idle this long may have missed its heartbeats: open a new one


def cluster_uris(amqp_uri: str) -> list[str]:
    """The nodes of a RabbitMQ cluster, written as kombu (hence nameko) takes them: `amqp://n1/vh;amqp://n2/vh`.
    A connection tries them in order; one URI is a single broker."""
    uris = [u.strip() for u in amqp_uri.split(";") if u.strip()]
    if not uris:
        raise ValueError("no AMQP URI")
    return uris


class RpcTimeout(TimeoutError):
    """No reply within the call's timeout (the service is down, busy, or the reply was lost)."""


class _Line:
    """One connection with its own exclusive reply queue; one call at a time."""

    def __init__(self, params: list[pika.ConnectionParameters], timeout: float) -> None:
        self.timeout = timeout
        self.conn = pika.BlockingConnection(params)  # the first node of a cluster that answers
        try:
            self.ch = self.conn.channel()
            self.ch.exchange_declare(RPC_EXCHANGE, "topic", durable=True)
            self.reply_to = f"rpc-client-{uuid.uuid4()}"
            self.queue = self.ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
            self.ch.queue_bind(self.queue, RPC_EXCHANGE, routing_key=self.reply_to)
            self.ch.confirm_delivery()  # with mandatory=True: an unknown service is an UnroutableError at once
            self.ch.basic_consume(self.queue, self._on_reply, auto_ack=True)
        except BaseException:
            self.close()
            raise
        self.replies: dict[str, tuple[bytes, str, str]] = {}
        self.last_used = time.monotonic()

    def _on_reply(self, _ch: Any, _method: Any, props: pika.BasicProperties, body: bytes) -> None:
        # A late reply to a call that timed out lands here too and is dropped with the line (it is discarded).
        self.replies[str(props.correlation_id)] = (body, props.content_type or "application/json",
                                                   props.content_encoding or "utf-8")

    def fresh(self) -> bool:
        """Whether this line can take a call: open, not idle for long, no close pending from the broker."""
        if not self.conn.is_open or time.monotonic() - self.last_used > IDLE_RENEW_SECONDS:
            return False
        try:
            self.conn.process_data_events(0)  # reads a pending Connection.Close or EOF, answers heartbeats
        except pika.exceptions.AMQPError:
            return False
        return self.conn.is_open

    def call(self, service: str, method: str, actor: Actor | None, args: tuple, kwargs: dict) -> Any:
        correlation_id = str(uuid.uuid4())
        content_type, encoding, body = serialization.dumps({"args": list(args), "kwargs": kwargs}, "json")
        headers: dict[str, Any] = {CALL_ID_HEADER: [f"rpc_client.call.{correlation_id}"]}
        if actor is not None:
            headers[ACTOR_HEADER] = {k: v for k, v in actor.to_dict().items() if v is not None}
        props = pika.BasicProperties(content_type=content_type, content_encoding=encoding, headers=headers,
                                     reply_to=self.reply_to, correlation_id=correlation_id, delivery_mode=1)
        self.last_used = time.monotonic()
        try:
            self.ch.basic_publish(RPC_EXCHANGE, f"{service}.{method}", body, props, mandatory=True)
        except pika.exceptions.UnroutableError:
            raise UnknownService(service) from None
        deadline = time.monotonic() + self.timeout
        while correlation_id not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RpcTimeout(f"{service}.{method}: no reply within {self.timeout:.0f}s")
            self.conn.process_data_events(time_limit=min(remaining, 1.0))
        self.last_used = time.monotonic()
        raw, content_type, encoding = self.replies.pop(correlation_id)
        payload = serialization.loads(raw, content_type, encoding)
        if payload.get("error"):
            raise deserialize(payload["error"])
        return payload.get("result")

    def close(self) -> None:
        try:
            if self.conn.is_open:
                self.conn.close()
        except Exception:  # already broken; nothing more to release
            log.debug("closing an rpc connection failed", exc_info=True)


class ServiceClient:
    """A small pool of RPC connections to one agency's vhost, lent to one call at a time (thread-safe)."""

    def __init__(self, amqp_uri: str, size: int = 4, timeout: float = 30.0, heartbeat: int = 30) -> None:
        self.params = [self._params(uri, heartbeat, timeout) for uri in cluster_uris(amqp_uri)]
        self.size = size
        self.timeout = timeout
        self._idle: queue.LifoQueue[_Line] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    @staticmethod
    def _params(uri: str, heartbeat: int, timeout: float) -> pika.URLParameters:
        params = pika.URLParameters(uri)
        params.heartbeat = heartbeat
        params.blocked_connection_timeout = timeout
        params.socket_timeout = 10
        params.stack_timeout = 15
        params.connection_attempts = 1
        params.client_properties = {"connection_name": "rpc-client"}
        return params

    def _take(self) -> _Line:
        """An idle line that is still fresh, else a new one while the pool has room, else the next one returned."""
        while True:
            try:
                line = self._idle.get_nowait()
            except queue.Empty:
                with self._lock:
                    room = self._created < self.size
                    if room:
                        self._created += 1
                if room:
                    return self._open()
                try:
                    line = self._idle.get(timeout=self.timeout)
                except queue.Empty:
                    raise RpcTimeout(f"all {self.size} rpc connections busy for {self.timeout:.0f}s") from None
            if line.fresh():
                return line
            self._discard(line)

    def _open(self) -> _Line:
        try:
            return _Line(self.params, self.timeout)
        except BaseException:
            with self._lock:
                self._created -= 1
            raise

    def _discard(self, line: _Line) -> None:
        with self._lock:
            self._created -= 1
        line.close()

    @contextmanager
    def _line(self) -> Iterator[_Line]:
        line = self._take()
        try:
            yield line
        except (CongVanError, RemoteError):  # a proper reply: the line is fine
            self._idle.put(line)
            raise
        except BaseException:  # the connection or the reply stream may be unusable now
            self._discard(line)
            raise
        else:
            self._idle.put(line)

    def call(self, service: str, method: str, actor: Actor | None, *args: Any, **kwargs: Any) -> Any:
        with self._line() as line:
            return line.call(service, method, actor, args, kwargs)

    def close(self) -> None:
        while True:
            try:
                line = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(line)
