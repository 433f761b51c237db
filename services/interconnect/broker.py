"""The hubs' broker layout and its credentials, and the pika plumbing every interconnect process shares.

Layout (one vhost per hub, one per agency; `ns` is `topology.extra["namespace"]`, empty in the demo, unique
per test so tests can share a broker):

    vhost <ns>hub.<code>
      exchange submit   (fanout)  -> queue relay          the hub's work queue: agencies and neighbour hubs
                                                          publish here, the hub validates and routes
      exchange deliver  (direct)  -> inbox.<organ id>     key <organ id>: one inbox per served installation
                                                          (named after its first agency); the hub routes a
                                                          hosted agency's copies to its installation's key
                                  -> upstream             key "up": to the parent hub (provincial hubs)
                                  -> down.<child code>    key "hub.<child>": to a provincial hub (national)
      exchange dlx      (fanout)  -> dead                 dead letters (delivery-limit reached)
      policy dead-letter on every queue but `dead`: delivery-limit, dead-letter-exchange dlx
    vhost <ns>agency.<organ id>                           one per installation (its first agency's id)
      exchanges registry.events, routing.events (nameko's topic exchanges)
        -> queue interconnect.edge.outgoing (keys outgoing_package, outgoing_status)

Users: `<ns>agency.<organ id>`, the installation's one broker identity, for every agency it hosts (on its
hub's vhost: write submit, read its own inbox, configure nothing),
`<ns>hub.<code>` (on its vhost: configure nothing, write submit and deliver, read its work queues and dead
letters but no inbox; write submit on its parent's and its children's vhosts),
`<ns>svc.<organ id>` (everything on the agency's vhost), `<ns>monitor.hub.<code>` (the management API on the
hub's vhost only, for its queue gauges; no AMQP right). Every publisher sets `user_id` to its own user, and
the broker refuses a message whose user_id is not the connection's user, so the hub knows who sent what.

One broker or one per hub: without `HubSpec.broker` every vhost above is on one RabbitMQ and a hub's links
publish into its neighbour's vhost there. With it (issue 17 item 5) each hub's vhost, and its installations'
vhosts, live on the hub's own RabbitMQ (`Credentials.endpoints` maps each vhost to its broker), and a link
connects to the neighbour's broker over AMQPS with mutual TLS (`Credentials.links`, `Credentials.tls`): it
logs in with EXTERNAL as its certificate's CN, the hub's user, which exists there without a password and may
only write `submit` (docs/interconnect.md, "Links between brokers").

Every queue of a hub's vhost is named above by its base name; on the broker it carries a secret tag
(`Credentials.queue`: `inbox.<organ id>.<tag>`, `relay.<tag>`, ...), because RabbitMQ before 4.2.6 lets any
user of a vhost passively declare, and so count, any of its queues by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import ssl
import struct
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pika
import pika.data
import pika.exceptions
from pika.adapters.blocking_connection import _IoloopTimerContext
from pika.adapters.utils.io_services_utils import _AsyncTransportBase

from services.interconnect.domain import H_UNDECODABLE
from services.interconnect.topology import Topology

log = logging.getLogger(__name__)

SUBMIT = "submit"
DELIVER = "deliver"
DLX = "dlx"
RELAY_QUEUE = "relay"
UPSTREAM_QUEUE = "upstream"
DEAD_QUEUE = "dead"
UP_KEY = "up"
DEFAULT_EXCHANGE = "amq.default"   # the name permissions check for the nameless default exchange
EDGE_OUTGOING = "interconnect.edge.outgoing"
AGENCY_EVENT_EXCHANGES = ("registry.events", "routing.events")
EDGE_EVENT_KEYS = ("outgoing_package", "outgoing_status")
DELIVERY_LIMIT = int(os.environ.get("HUB_DELIVERY_LIMIT", "5"))
QUORUM = {"x-queue-type": "quorum"}
CREDENTIALS_FILE = "credentials.json"


def inbox_queue(organ_id: str) -> str:
    """The base name of an agency's inbox on its hub; the broker's queue is `Credentials.queue` of it."""
    return f"inbox.{organ_id}"


def down_queue(hub_code: str) -> str:
    return f"down.{hub_code}"


def hub_key(hub_code: str) -> str:
    """Routing key on the national hub's deliver exchange for packages going down to a provincial hub."""
    return f"hub.{hub_code}"


def namespace(topology: Topology) -> str:
    return str(topology.extra.get("namespace", ""))


def hub_vhost(topology: Topology, code: str) -> str:
    return f"{namespace(topology)}hub.{code}"


def _installation(topology: Topology, organ_id: str) -> str:
    """The installation serving `organ_id` as the topology says (an agency it does not list: itself)."""
    return topology.installation_of(organ_id) or organ_id


def agency_vhost(topology: Topology, organ_id: str) -> str:
    """The services' vhost of the installation hosting `organ_id`."""
    return f"{namespace(topology)}agency.{_installation(topology, organ_id)}"


def hub_user(topology: Topology, code: str) -> str:
    return f"{namespace(topology)}hub.{code}"


def agency_user(topology: Topology, organ_id: str) -> str:
    """The broker identity of the installation hosting `organ_id` (one per installation, like an X-Road
    security server's): its edge publishes every hosted agency's packages and reads the one inbox as it."""
    return f"{namespace(topology)}agency.{_installation(topology, organ_id)}"


def services_user(topology: Topology, organ_id: str) -> str:
    return f"{namespace(topology)}svc.{_installation(topology, organ_id)}"


def monitor_user(topology: Topology, code: str) -> str:
    """The management-API user a hub's queue poller reads its own vhost's queue depths with (no AMQP rights)."""
    return f"{namespace(topology)}monitor.hub.{code}"


def gateway_user(topology: Topology, code: str) -> str:
    """The user of a hub's VDXP API (vdxp_api.py): it submits packages for the systems it authenticated."""
    return f"{namespace(topology)}vdxp.{code}"


def vdxp_queue(system_id: str) -> str:
    """The queue on a hub's deliver exchange holding packages for one VDXP system (one binding per agency)."""
    return f"vdxp.{system_id}"


def children(topology: Topology, code: str) -> list[str]:
    return [h.code for h in topology.hubs if h.parent == code]


@dataclass
class Credentials:
    """Broker address and the generated passwords of every interconnect user (run_dir/credentials.json, 0600)."""

    host: str
    port: int
    passwords: dict[str, str] = field(default_factory=dict)
    queue_key: str = ""
    endpoints: dict[str, list] = field(default_factory=dict)   # vhost -> [host, port] off the default broker
    links: dict[str, list] = field(default_factory=dict)       # hub code -> [host, amqps port] of its broker
    tls: dict[str, dict[str, str]] = field(default_factory=dict)  # hub user -> {cert, key, ca[, crl]} of its links

    def queue(self, name: str) -> str:
        """The broker's name of the hub queue `name` (inbox.<organ>, relay, upstream, down.<hub>, dead, vdxp.<id>).

        RabbitMQ before 4.2.6 answers a passive queue.declare for any queue of a vhost without checking a
        permission, so any user of a hub's vhost could count another agency's inbox or the hub's dead letters by
        name. Each name therefore carries a tag only the holders of this deployment's queue key can compute
        (130 bits of HMAC): the provisioner, the hub processes and, for its own inbox only, the agency's edge.
        A guessed name answers 404, exactly as a queue that does not exist.
        """
        if not self.queue_key:   # credentials written before the key existed: provisioning adds one
            return name
        digest = hmac.new(self.queue_key.encode(), name.encode(), hashlib.sha256).digest()
        return f"{name}.{base64.b32encode(digest).decode().lower()[:26]}"

    def uri(self, user: str, vhost: str) -> str:
        def q(text: str) -> str:
            return urllib.parse.quote(text, safe="")

        host, port = self.endpoint(vhost)
        return f"amqp://{q(user)}:{q(self.passwords[user])}@{host}:{port}/{q(vhost)}"

    def endpoint(self, vhost: str) -> tuple[str, int]:
        """The broker holding `vhost`: its hub's own, or the one shared broker."""
        host, port = self.endpoints.get(vhost) or (self.host, self.port)
        return str(host), int(port)

    def api_uri(self, api_uri: str, user: str) -> str:
        """The management API's address (`api_uri`, any credentials in it dropped) with `user`'s password."""
        parts = urllib.parse.urlsplit(api_uri)
        netloc = (f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(self.passwords[user], safe='')}"
                  f"@{parts.hostname}:{parts.port}")
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def params(self, user: str, vhost: str, heartbeat: int = 30) -> pika.ConnectionParameters:
        host, port = self.endpoint(vhost)
        return pika.ConnectionParameters(
            host=host, port=port, virtual_host=vhost,
            credentials=pika.PlainCredentials(user, self.passwords[user]),
            heartbeat=heartbeat, blocked_connection_timeout=60, connection_attempts=1,
            client_properties={"connection_name": f"{user}@{vhost}"},
        )

    def link_params(self, user: str, hub_code: str, vhost: str, heartbeat: int = 30) -> pika.ConnectionParameters:
        """How hub `user` reaches `vhost` of neighbour hub `hub_code`: over AMQPS with its own certificate and
        the EXTERNAL login when that hub has its own broker, else as `params` (the same shared broker)."""
        if hub_code not in self.links:
            return self.params(user, vhost, heartbeat)
        host, port = self.links[hub_code]
        return pika.ConnectionParameters(
            host=host, port=int(port), virtual_host=vhost, credentials=pika.credentials.ExternalCredentials(),
            ssl_options=pika.SSLOptions(link_context(self.tls[user]), server_hostname=host),
            heartbeat=heartbeat, blocked_connection_timeout=60, connection_attempts=1,
            client_properties={"connection_name": f"{user}@{vhost} (link)"},
        )

    def link_address(self, hub_code: str) -> str:
        host, port = self.links.get(hub_code) or self.endpoint("")
        return f"amqps://{host}:{port}" if hub_code in self.links else f"amqp://{host}:{port}"

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / CREDENTIALS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # Created 0600 before the secrets are written, so they are never readable by others.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f, indent=1)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, run_dir: Path) -> Credentials:
        data = json.loads((Path(run_dir) / CREDENTIALS_FILE).read_text())
        return cls(host=data["host"], port=int(data["port"]), passwords=dict(data["passwords"]),
                   queue_key=str(data.get("queue_key", "")), endpoints=dict(data.get("endpoints", {})),
                   links=dict(data.get("links", {})), tls=dict(data.get("tls", {})))


def link_context(files: Mapping[str, str]) -> ssl.SSLContext:
    """The client side of a hub link: the brokers' CA only (not the system's), the hub's certificate, the
    broker's name checked against its certificate.

    TLS 1.2: in TLS 1.3 the client's handshake is over before the server has judged the client's certificate,
    so a refusal reaches the hub as the alert or as a bare EOF, whichever comes first, and the hub could not
    log why its link was refused. In 1.2 the server's verdict is part of the handshake (ECDHE, AEAD ciphers:
    still what NIST SP 800-52r2 asks for)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=files["ca"])
    context.load_cert_chain(files["cert"], files["key"])
    if files.get("crl"):
        # The brokers' CA's CRL (PEM files of the hash directory the brokers read), read at every connection: a
        # broker whose certificate is revoked is refused at the handshake (link_revocation.py cuts open links).
        for crl in sorted(Path(files["crl"]).glob("*.r[0-9]*")):
            context.load_verify_locations(cafile=str(crl))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


_TLS_ALERT = re.compile(r"\[SSL: ([A-Z0-9_]+)\] ([^(\]'\"]+)")


def link_refusal(exc: BaseException) -> str | None:
    """What a broker refused a link for, from pika's exception text (which wraps the TLS alert or the login
    refusal several times over); None for an ordinary network failure."""
    text = repr(exc)
    alert = _TLS_ALERT.search(text)
    if alert:
        return f"TLS {alert.group(2).strip()} ({alert.group(1)})"
    if "ACCESS_REFUSED" in text:
        return "login refused (ACCESS_REFUSED: no such user for this certificate, or not allowed on the vhost)"
    if "SSLEOFError" in text or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("TLS handshake failed (" + ("the broker's certificate is not of our CA or not for this host"
                if "CERTIFICATE_VERIFY_FAILED" in text else "closed by the broker: see its log") + ")")
    return None


def refused_here(exc: BaseException) -> bool:
    """The link failed on our side of the handshake: the broker's certificate is not of our CA, not for its
    host name, or revoked by the CRL."""
    return "CERTIFICATE_VERIFY_FAILED" in repr(exc)


# Provisioning (vhosts, users, permissions, queues, on one broker or one per hub) is in provisioning.py; its
# entry points are reached through this module too (PEP 562), as they always were.
_PROVISIONING = ("provision", "unprovision", "separate_brokers", "neighbours", "hub_queues", "Admins")


def __getattr__(name: str) -> Any:
    if name in _PROVISIONING:
        from services.interconnect import provisioning

        return getattr(provisioning, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- pika plumbing ---------------------------------------------------------------------------------

_decode_properties = pika.spec.BasicProperties.decode
_FIXED_SIZES = {b"t": 1, b"b": 1, b"B": 1, b"U": 2, b"u": 2, b"s": 2, b"I": 4, b"i": 4, b"f": 4, b"L": 8, b"l": 8,
                b"d": 8, b"T": 8, b"D": 5, b"V": 0}


def _value_size(encoded: bytes, position: int) -> int | None:
    """Bytes taken by the field value at `position` (its type octet included); None for an unknown type."""
    kind = encoded[position:position + 1]
    if kind in _FIXED_SIZES:
        return 1 + _FIXED_SIZES[kind]
    if kind in (b"S", b"x", b"A", b"F"):
        return 1 + 4 + struct.unpack_from(">I", encoded, position + 1)[0]
    return None


def _lenient_table(encoded: bytes, position: int) -> tuple[dict[str, Any], int, list[str]]:
    """The header table at `position`, leaving out each value pika cannot decode (its length is known from its
    type), or everything from an unknown type on; returns (table, end, what was left out)."""
    end = position + 4 + struct.unpack_from(">I", encoded, position)[0]
    position += 4
    table: dict[str, Any] = {}
    problems: list[str] = []
    while position < end:
        key, position = pika.data.decode_short_string(encoded, position)
        try:
            table[key], position = pika.data.decode_value(encoded, position)
        except Exception as exc:
            problems.append(f"{key!r}: {exc.__class__.__name__}: {exc}")
            size = _value_size(encoded, position)
            if size is None:
                break
            position += size
    return table, end, problems


def _tolerant_decode(self: pika.spec.BasicProperties, encoded: bytes, offset: int = 0) -> pika.spec.BasicProperties:
    """BasicProperties.decode that survives a header pika cannot read.

    pika decodes a message's properties inside its frame reader: a header it cannot decode (a timestamp
    beyond year 9999, an unknown field type) raises there, the connection dies, the message is redelivered
    and kills the next connection too (the hub's relay loop, `congvan dlq list`). Values are typed and sized,
    so the bad one can be left out: the message arrives with its other properties and headers (the broker's
    x-death among them) and H_UNDECODABLE saying what was left out; the hub answers it with a status 02.
    """
    try:
        return _decode_properties(self, encoded, offset)
    except Exception:
        position, flags, word = offset, 0, 0
        while True:
            partial = struct.unpack_from(">H", encoded, position)[0]
            position += 2
            flags |= partial << (word * 16)
            word += 1
            if not partial & 1:
                break
        cls = pika.spec.BasicProperties
        if not flags & cls.FLAG_HEADERS:
            raise
        for flag in (cls.FLAG_CONTENT_TYPE, cls.FLAG_CONTENT_ENCODING):
            if flags & flag:
                position += 1 + encoded[position]
        table, end, problems = _lenient_table(encoded, position)
        _decode_properties(self, bytes(encoded[:position]) + b"\0\0\0\0" + bytes(encoded[end:]), offset)
        self.headers = {**table, H_UNDECODABLE: "; ".join(problems)[:500] or "header table"}
        return self


pika.spec.BasicProperties.decode = _tolerant_decode

# pika reads its socket 4 KB at a time and appends each read to its frame buffer (a bytes object, copied
# whole at every append): a 200 KB package took ~50 reads and ~3 MB of copying, half the CPU of consuming
# it. Reads of up to 256 KB (and up to 1 MB per turn of the I/O loop) take a package in one or two.
_AsyncTransportBase._MAX_RECV_BYTES = 256 * 1024
_AsyncTransportBase._MAX_CONSUME_BYTES = 1024 * 1024

TRANSIENT = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError,
             pika.exceptions.StreamLostError, ConnectionError, OSError)


class Backoff:
    """Exponential back-off with jitter for reconnects and transient failures: 0.2 s doubling to 10 s."""

    def __init__(self, first: float = 0.2, cap: float = 10.0) -> None:
        self.first, self.cap, self.current = first, cap, first

    def wait(self, stop: Callable[[], bool] | None = None) -> None:
        import random

        delay = self.current * (0.5 + random.random())
        self.current = min(self.cap, self.current * 2)
        end = time.monotonic() + delay
        while time.monotonic() < end and not (stop and stop()):
            time.sleep(0.05)

    def reset(self) -> None:
        self.current = self.first


@contextmanager
def confirmed_channel(params: pika.ConnectionParameters) -> Iterator[tuple[pika.BlockingConnection, Any]]:
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        yield conn, ch
    finally:
        close_quietly(conn)


def close_quietly(conn: Any) -> None:
    """Closes a connection that may already be broken: a failure then has nothing left to release."""
    if conn is not None and conn.is_open:
        try:
            conn.close()
        except Exception:
            log.debug("close failed", exc_info=True)


def publish(ch: Any, exchange: str, key: str, body: bytes, *, user_id: str, message_id: str,
            headers: dict[str, Any] | None = None, mandatory: bool = False) -> None:
    """Persistent publish on a confirming channel; returns once the broker confirmed (raises otherwise)."""
    ch.basic_publish(exchange, key, body, pika.BasicProperties(
        delivery_mode=2, user_id=user_id, message_id=message_id, headers=headers or {},
        content_type="application/xml", timestamp=int(time.time())), mandatory=mandatory)


class PublishWindow:
    """Publisher confirms for a window of messages: publish several, then wait once for all their confirms.

    pika's BlockingChannel waits for the confirm of each publish in turn (one broker round trip, and for a
    quorum queue one fsync, per message). This turns confirm mode on through the channel's underlying
    asynchronous channel (`BlockingChannel._impl`, pika 1.x) with our own callbacks, so `publish` returns at
    once and `wait` drives the connection until every outstanding delivery tag is acked. A nack, a
    `mandatory` message returned as unroutable, or no answer within `timeout` raises; the caller then acks
    nothing of the window, and everything in it is consumed and published again (at-least-once: the
    receivers deduplicate). The channel may also consume; only publishing must go through this object.
    """

    def __init__(self, conn: pika.BlockingConnection, ch: Any, timeout: float = 60.0) -> None:
        self.conn, self.impl, self.timeout = conn, ch._impl, timeout
        self.next_tag = 1          # a channel in confirm mode numbers publishes 1, 2, ...
        self.pending: set[int] = set()
        self.failures: list[str] = []
        ready: list[bool] = []
        self.impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: ready.append(True))
        self.impl.add_on_return_callback(self._on_return)
        self._drive(lambda: bool(ready), "confirm.select-ok")

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tags = {t for t in self.pending if t <= method.delivery_tag} if method.multiple else {method.delivery_tag}
        self.pending -= tags
        if isinstance(method, pika.spec.Basic.Nack):
            self.failures.append(f"nack of {len(tags)} message(s)")

    def _on_return(self, _channel: Any, method: Any, props: Any, _body: bytes) -> None:
        self.failures.append(f"unroutable {props.message_id} ({method.exchange}/{method.routing_key}: "
                             f"{method.reply_text})")

    def _drive(self, done: Callable[[], bool], what: str) -> None:
        # Not process_data_events(time_limit=...): it returns early only for events of the blocking layer, and
        # these confirms arrive on the asynchronous channel, so every call slept its whole time limit (50 ms per
        # window per hub: a third of the idle relay rate). pika's own loop stops as soon as `done` holds.
        if done():
            return
        with _IoloopTimerContext(self.timeout, self.conn._impl) as timer:
            self.conn._flush_output(timer.is_ready, done)
        if not done():
            raise pika.exceptions.AMQPConnectionError(f"no {what} within {self.timeout:.0f}s")

    def publish(self, exchange: str, key: str, body: bytes, *, user_id: str, message_id: str,
                headers: dict[str, Any] | None = None, mandatory: bool = False) -> None:
        self.impl.basic_publish(exchange, key, body, pika.BasicProperties(
            delivery_mode=2, user_id=user_id, message_id=message_id, headers=headers or {},
            content_type="application/xml", timestamp=int(time.time())), mandatory=mandatory)
        self.pending.add(self.next_tag)
        self.next_tag += 1

    def wait(self) -> None:
        """Return once every message published so far is confirmed; raise if any was nacked or returned."""
        self._drive(lambda: not self.pending, "publisher confirm")
        if self.failures:
            failures, self.failures = self.failures, []
            raise PublishFailed("; ".join(failures))


class PublishFailed(Exception):
    """A message of a window was nacked by the broker or returned as unroutable."""
