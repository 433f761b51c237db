"""One hop of bench/hub_relay.py's raw chain baseline: moves one quorum queue into another, usually on the next
broker over AMQPS with mutual TLS, with no hub logic at all.

    python -m bench.chain_forwarder SPEC.json

SPEC (written by bench/hub_relay.py): {"source": ENDPOINT, "target": ENDPOINT, "prefetch": 32, "ready": PATH},
ENDPOINT = {"host", "port", "vhost", "queue", "user", and "password" (plain AMQP) or "tls" ({cert, key, ca}:
AMQPS, EXTERNAL login as the certificate's CN, the hubs' own client TLS settings, broker.link_context)}.

What it does per message is what a hub's link must do at the least, and nothing else: consume (manual acks,
`prefetch` unacked at most, as the hubs' PREFETCH), publish the same bytes persistently into the target queue
on a confirming channel (mandatory, `user_id` set, the properties the hubs set), and ack the source message only
once the target broker confirmed it. It is no heavier than a hub's transport: one asynchronous I/O loop for
both connections (no blocking layer), a message is published the moment it arrives and the source is acked by
one multiple ack per confirm the target sends, so nothing ever waits for a window to fill or for its confirms
(measured, about the CPU per message of a forwarder on the blocking layer: docs/performance.md). The pika read
size is the hubs' (importing broker sets it: 256 KB reads).

Any nack, return or lost connection ends the process with an error (a bench must not carry on quietly); what
was not acked goes back to the source queue. The ready file is written once both sides are set up.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pika
import pika.credentials

from services.interconnect import broker  # also sets pika's socket reads to the hubs' 256 KB

log = logging.getLogger("bench.chain_forwarder")


def connection_parameters(end: dict[str, Any]) -> pika.ConnectionParameters:
    """Plain AMQP with a password, or AMQPS with the client certificate and the EXTERNAL login, as a hub's link."""
    common = {"host": end["host"], "port": int(end["port"]), "virtual_host": end["vhost"], "heartbeat": 30,
              "connection_attempts": 1, "client_properties": {"connection_name": f"bench chain {end['queue']}"}}
    if end.get("tls"):
        return pika.ConnectionParameters(credentials=pika.credentials.ExternalCredentials(),
                                         ssl_options=pika.SSLOptions(broker.link_context(end["tls"]),
                                                                     server_hostname=end["host"]), **common)
    return pika.ConnectionParameters(credentials=pika.PlainCredentials(end["user"], end["password"]), **common)


class Unconfirmed:
    """Which source messages may be acked, from the target's confirms: a source message is acked only once its
    copy and the copies published before it are confirmed, so one multiple ack covers them all."""

    def __init__(self) -> None:
        self.waiting: collections.deque[tuple[int, int]] = collections.deque()  # (publish number, source tag)
        self.confirmed: set[int] = set()    # confirmed ahead of an earlier publish
        self.published = 0

    def published_one(self, source_tag: int) -> None:
        self.published += 1
        self.waiting.append((self.published, source_tag))

    def confirm(self, number: int, multiple: bool) -> int | None:
        """The target confirmed publish `number` (and every one before it if `multiple`): the source tag to ack
        with multiple=True now, or None."""
        if multiple:   # at most `prefetch` waiting: a short scan
            self.confirmed.update(n for n, _tag in self.waiting if n <= number)
        else:
            self.confirmed.add(number)
        last = None
        while self.waiting and self.waiting[0][0] in self.confirmed:
            sequence, last = self.waiting.popleft()
            self.confirmed.discard(sequence)
        return last


class ChainForwarder:
    """Source queue -> target queue; see the module's docstring."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.source, self.target = spec["source"], spec["target"]
        self.prefetch, self.ready = int(spec.get("prefetch", 32)), spec.get("ready")
        self.failure: str | None = None
        self.unconfirmed = Unconfirmed()
        self.source_ch: Any = None
        self.target_ch: Any = None
        self.source_conn = pika.SelectConnection(
            connection_parameters(self.source), on_open_callback=self._source_open,
            on_open_error_callback=self._open_failed, on_close_callback=self._closed)
        self.target_conn = pika.SelectConnection(
            connection_parameters(self.target), on_open_callback=self._target_open,
            on_open_error_callback=self._open_failed, on_close_callback=self._closed,
            custom_ioloop=self.source_conn.ioloop)

    def run(self) -> None:
        self.source_conn.ioloop.start()
        if self.failure:
            raise RuntimeError(self.failure)

    # -- setting up: the target's confirming channel first, then the source's consumer ----------------------
    def _target_open(self, conn: Any) -> None:
        conn.channel(on_open_callback=self._target_channel)

    def _target_channel(self, ch: Any) -> None:
        self.target_ch = ch
        ch.add_on_return_callback(self._returned)
        ch.confirm_delivery(ack_nack_callback=self._confirm, callback=lambda _frame: self._start_consuming())

    def _source_open(self, conn: Any) -> None:
        conn.channel(on_open_callback=self._source_channel)

    def _source_channel(self, ch: Any) -> None:
        self.source_ch = ch
        self._start_consuming()

    def _start_consuming(self) -> None:
        if self.source_ch is None or self.target_ch is None or self.source_ch.consumer_tags:
            return   # the other side is not ready yet; its callback comes back here
        self.source_ch.basic_qos(prefetch_count=self.prefetch, callback=lambda _frame: self._consume())

    def _consume(self) -> None:
        self.source_ch.basic_consume(self.source["queue"], self._message)
        if self.ready:
            Path(self.ready).write_text("ready\n")
        log.info("forwarding %s/%s -> %s/%s", self.source["vhost"], self.source["queue"], self.target["vhost"],
                 self.target["queue"])

    # -- per message ---------------------------------------------------------------------------------------
    def _message(self, _ch: Any, method: Any, props: pika.BasicProperties, body: bytes) -> None:
        self.target_ch.basic_publish("", self.target["queue"], body, pika.BasicProperties(
            delivery_mode=2, user_id=self.target["user"], message_id=props.message_id, headers=props.headers or {},
            content_type=props.content_type, timestamp=int(time.time())), mandatory=True)
        self.unconfirmed.published_one(method.delivery_tag)

    def _confirm(self, frame: Any) -> None:
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            self._fail(f"the target broker nacked message(s) up to {method.delivery_tag}")
            return
        last = self.unconfirmed.confirm(method.delivery_tag, method.multiple)
        if last is not None:
            self.source_ch.basic_ack(last, multiple=True)

    # -- failures --------------------------------------------------------------------------------------------
    def _returned(self, _ch: Any, method: Any, props: Any, _body: bytes) -> None:
        self._fail(f"{props.message_id} returned by the target broker: {method.reply_text}")

    def _open_failed(self, _conn: Any, exc: BaseException) -> None:
        self._fail(f"connection failed: {exc!r}")

    def _closed(self, _conn: Any, reason: BaseException) -> None:
        self._fail(f"connection closed: {reason!r}")

    def _fail(self, why: str) -> None:
        if self.failure is None:
            self.failure = why
            log.error("%s", why)
        for conn in (self.source_conn, self.target_conn):
            if conn.is_open:
                conn.close()
        self.source_conn.ioloop.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m bench.chain_forwarder SPEC.json")
    ChainForwarder(json.loads(Path(args[0]).read_text())).run()


if __name__ == "__main__":
    main()
