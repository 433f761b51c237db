"""Provisioning of the hubs' brokers: every vhost, user, permission, exchange, queue and policy of the layout
described in broker.py, on one shared RabbitMQ or on one per hub (`HubSpec.broker`). Reached as
`broker.provision` / `broker.unprovision` too."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from services.common.rabbit_admin import RabbitAdmin
from services.interconnect.broker import (
    AGENCY_EVENT_EXCHANGES,
    DEAD_QUEUE,
    DEFAULT_EXCHANGE,
    DELIVER,
    DELIVERY_LIMIT,
    DLX,
    EDGE_EVENT_KEYS,
    EDGE_OUTGOING,
    QUORUM,
    RELAY_QUEUE,
    SUBMIT,
    UP_KEY,
    UPSTREAM_QUEUE,
    Credentials,
    agency_user,
    agency_vhost,
    children,
    down_queue,
    gateway_user,
    hub_key,
    hub_user,
    hub_vhost,
    inbox_queue,
    monitor_user,
    services_user,
)
from services.interconnect.topology import HubSpec, Topology


def _amqp_listener(admin: RabbitAdmin) -> tuple[str, int]:
    for listener in admin._get("/overview").get("listeners", []):
        if listener.get("protocol") == "amqp":
            ip = listener.get("ip_address") or "127.0.0.1"
            return ("127.0.0.1" if ip in ("::", "0.0.0.0") else ip), int(listener["port"])  # noqa: S104
    raise RuntimeError("RabbitMQ reports no AMQP listener")


def _basic_user(admin: RabbitAdmin) -> str:
    header = admin.client.auth._auth_header  # httpx.BasicAuth keeps "Basic base64(user:pw)"
    return base64.b64decode(header.split(" ", 1)[1]).decode().split(":", 1)[0]


def _declare_exchange(admin: RabbitAdmin, vhost: str, name: str, kind: str) -> None:
    admin._put(f"/exchanges/{admin._q(vhost)}/{admin._q(name)}",
               {"type": kind, "durable": True, "auto_delete": False, "internal": False, "arguments": {}})


def _declare_queue(admin: RabbitAdmin, vhost: str, name: str) -> None:
    admin._put(f"/queues/{admin._q(vhost)}/{admin._q(name)}",
               {"durable": True, "auto_delete": False, "arguments": dict(QUORUM)})


def _bind(admin: RabbitAdmin, vhost: str, exchange: str, queue: str, key: str = "") -> None:
    r = admin.client.post(f"{admin.base}/bindings/{admin._q(vhost)}/e/{admin._q(exchange)}/q/{admin._q(queue)}",
                          json={"routing_key": key, "arguments": {}})
    r.raise_for_status()  # binding twice is a no-op in AMQP, so this is idempotent


def hub_queues(topology: Topology, hub: HubSpec) -> list[str]:
    """The queues a hub process consumes: its work queue, the links to its neighbours, its dead letters."""
    links = [UPSTREAM_QUEUE] if hub.parent else []
    return [RELAY_QUEUE, *links, *(down_queue(c) for c in children(topology, hub.code)), DEAD_QUEUE]


def _exact(*names: str) -> str:
    return "^(" + "|".join(re.escape(n) for n in names) + ")$" if names else "^$"


Admins = RabbitAdmin | Mapping[str, RabbitAdmin]


def _admins(admin: Admins, topology: Topology) -> dict[str, RabbitAdmin]:
    """The management API of each hub's broker: one for all (shared broker) or one per hub code."""
    if isinstance(admin, RabbitAdmin):
        return {h.code: admin for h in topology.hubs}
    missing = [h.code for h in topology.hubs if h.code not in admin]
    if missing:
        raise ValueError(f"no broker admin for hub(s) {', '.join(missing)}")
    return dict(admin)


def separate_brokers(topology: Topology) -> bool:
    """Whether each hub runs its own RabbitMQ (HubSpec.broker set), linked to its neighbours over AMQPS."""
    return any(h.broker for h in topology.hubs)


def neighbours(topology: Topology, code: str) -> list[str]:
    hub = topology.hub(code)
    return [*children(topology, code), *([hub.parent] if hub.parent else [])]


def provision(admin: Admins, topology: Topology, run_dir: Path, *, amqp_host: str | None = None,
              amqp_port: int | None = None, delivery_limit: int = DELIVERY_LIMIT,
              link_tls: Mapping[str, Mapping[str, str]] | None = None) -> Credentials:
    """Create (or bring up to date) every vhost, user, permission, exchange, queue and policy. Idempotent:
    passwords already in run_dir/credentials.json are kept, declarations are repeated harmlessly.

    `admin`: the shared broker's API, or with separate brokers (HubSpec.broker) a mapping hub code -> the API
    of that hub's broker; `link_tls`: hub code -> {cert, key, ca} of the hub's link certificate (CN = its
    broker user), needed for every hub of a topology with separate brokers, and `crl`: the directory of the CA's
    CRL as the hub reads it (its links refuse, and cut, a neighbour broker whose certificate it revokes)."""
    run_dir = Path(run_dir)
    admins = _admins(admin, topology)
    first = admins[topology.hubs[0].code]
    try:
        creds = Credentials.load(run_dir)
    except FileNotFoundError:
        host, port = _amqp_listener(first)
        creds = Credentials(host=amqp_host or host, port=amqp_port or port)
    if amqp_host:
        creds.host = amqp_host
    if amqp_port:
        creds.port = amqp_port
    creds.queue_key = creds.queue_key or secrets.token_hex(32)
    _record_endpoints(creds, topology, link_tls or {})
    for hub in topology.hubs:
        _provision_hub(admins[hub.code], topology, hub, creds, delivery_limit)
    for hub in topology.hubs:
        _grant_hub(admins[hub.code], topology, hub, creds)
    for agency in topology.installations():
        # An installation on an HTTP axis (topology.CLIENT_AXES) has no hub of ours: its vhost is on the first's.
        _provision_agency(admins.get(agency.hub, first), topology, agency.organ_id, creds, delivery_limit)
    creds.save(run_dir)
    return creds


def _record_endpoints(creds: Credentials, topology: Topology, link_tls: Mapping[str, Mapping[str, str]]) -> None:
    """Where each vhost lives and how each hub is reached by its neighbours, from the topology."""
    for hub in topology.hubs:
        if not hub.broker:
            continue
        address = [str(hub.broker["host"]), int(hub.broker["amqp_port"])]
        creds.endpoints[hub_vhost(topology, hub.code)] = address
        for agency in topology.installations_of(hub.code):
            creds.endpoints[agency_vhost(topology, agency.organ_id)] = address
        if hub.broker.get("amqps_port"):
            creds.links[hub.code] = [str(hub.broker["host"]), int(hub.broker["amqps_port"])]
    if separate_brokers(topology):
        missing = [h.code for h in topology.hubs if h.code not in link_tls and hub_user(topology, h.code)
                   not in creds.tls]
        if missing:
            raise ValueError(f"hub(s) {', '.join(missing)} have no link certificate (link_tls)")
    for code, files in link_tls.items():
        creds.tls[hub_user(topology, code)] = {k: str(files[k]) for k in ("cert", "key", "ca", "crl") if k in files}


def _user(admin: RabbitAdmin, creds: Credentials, name: str, tags: str = "") -> str:
    creds.passwords.setdefault(name, secrets.token_urlsafe(24))
    admin.add_user(name, creds.passwords[name], tags=tags)
    return name


def _provision_hub(admin: RabbitAdmin, topology: Topology, hub: HubSpec, creds: Credentials,
                   delivery_limit: int) -> None:
    q = creds.queue
    vhost = hub_vhost(topology, hub.code)
    admin.add_vhost(vhost)
    admin.set_permissions(vhost, _basic_user(admin))
    _user(admin, creds, hub_user(topology, hub.code))
    for name, kind in ((SUBMIT, "fanout"), (DELIVER, "direct"), (DLX, "fanout")):
        _declare_exchange(admin, vhost, name, kind)
    # Dead letters first: a queue must not exist for a moment without its policy's target.
    _declare_queue(admin, vhost, q(DEAD_QUEUE))
    _bind(admin, vhost, DLX, q(DEAD_QUEUE))
    admin.set_policy(vhost, "dead-letter", f"^(?!{re.escape(q(DEAD_QUEUE))}$).*",
                     {"delivery-limit": delivery_limit, "dead-letter-exchange": DLX}, apply_to="queues")
    _declare_queue(admin, vhost, q(RELAY_QUEUE))
    _bind(admin, vhost, SUBMIT, q(RELAY_QUEUE))
    if hub.parent:
        _declare_queue(admin, vhost, q(UPSTREAM_QUEUE))
        _bind(admin, vhost, DELIVER, q(UPSTREAM_QUEUE), UP_KEY)
    for child in children(topology, hub.code):
        _declare_queue(admin, vhost, q(down_queue(child)))
        _bind(admin, vhost, DELIVER, q(down_queue(child)), hub_key(child))
    for agency in topology.installations_of(hub.code):
        _declare_queue(admin, vhost, q(inbox_queue(agency.organ_id)))
        _bind(admin, vhost, DELIVER, q(inbox_queue(agency.organ_id)), agency.organ_id)


def _grant_hub(admin: RabbitAdmin, topology: Topology, hub: HubSpec, creds: Credentials) -> None:
    q = creds.queue
    vhost = hub_vhost(topology, hub.code)
    # The hub declares nothing at run time (provisioning did), publishes into submit (its own refusals)
    # and deliver, and into the default exchange for `dlq redrive`; it reads only its work queues and
    # dead letters, never an agency's inbox.
    admin.set_permissions(vhost, hub_user(topology, hub.code), configure="^$",
                          write=_exact(SUBMIT, DELIVER, DEFAULT_EXCHANGE),
                          read=_exact(*map(q, hub_queues(topology, hub))))
    # Neighbour hubs may only drop packages into this hub's submit exchange. On a hub's own broker they exist
    # without a password: the only way in is the TLS listener's EXTERNAL login with a certificate of our CA
    # whose CN is their user, checked against the CRL (a revoked hub is refused at the handshake).
    for other in neighbours(topology, hub.code):
        if separate_brokers(topology):
            admin.add_user_without_password(hub_user(topology, other))
        admin.set_permissions(vhost, hub_user(topology, other), configure="^$", write=_exact(SUBMIT), read="^$")
    for agency in topology.installations_of(hub.code):
        admin.set_permissions(vhost, _user(admin, creds, agency_user(topology, agency.organ_id)), configure="^$",
                              write=_exact(SUBMIT), read=_exact(q(inbox_queue(agency.organ_id))))
    # Management access to this vhost only, and no right on any of its resources: the API then lists this
    # vhost's queues (the depth and dead-letter gauges) and refuses to read, purge or publish anything.
    admin.set_permissions(vhost, _user(admin, creds, monitor_user(topology, hub.code), tags="management"),
                          configure="^$", write="^$", read="^$")
    # The VDXP API declares and binds its systems' queues at run time (registerAgency) and submits the
    # packages it authenticated; reading `deliver` is what binding from it needs.
    admin.set_permissions(vhost, _user(admin, creds, gateway_user(topology, hub.code)), configure=r"^vdxp\..*$",
                          write=rf"^({SUBMIT}|vdxp\..*)$", read=rf"^({DELIVER}|vdxp\..*)$")


def _provision_agency(admin: RabbitAdmin, topology: Topology, organ_id: str, creds: Credentials,
                      delivery_limit: int) -> None:
    vhost = agency_vhost(topology, organ_id)
    admin.add_vhost(vhost)
    admin.set_permissions(vhost, _basic_user(admin))
    admin.set_permissions(vhost, _user(admin, creds, services_user(topology, organ_id)))
    admin.set_policy(vhost, "dead-letter", f"^{re.escape(EDGE_OUTGOING)}$",
                     {"delivery-limit": delivery_limit, "dead-letter-exchange": DLX}, apply_to="queues")
    _declare_exchange(admin, vhost, DLX, "fanout")
    _declare_queue(admin, vhost, DEAD_QUEUE)
    _bind(admin, vhost, DLX, DEAD_QUEUE)
    _declare_queue(admin, vhost, EDGE_OUTGOING)
    for exchange in AGENCY_EVENT_EXCHANGES:
        _declare_exchange(admin, vhost, exchange, "topic")  # as nameko declares them: durable topic
        for key in EDGE_EVENT_KEYS:
            _bind(admin, vhost, exchange, EDGE_OUTGOING, key)


def unprovision(admin: Admins, topology: Topology) -> None:
    """Remove every vhost and user `provision` created (tests, `congvan down --fresh`)."""
    admins = _admins(admin, topology)
    for hub in topology.hubs:
        a = admins[hub.code]
        a.delete_vhost(hub_vhost(topology, hub.code))
        for user in (hub_user(topology, hub.code), monitor_user(topology, hub.code), gateway_user(topology, hub.code),
                     *(hub_user(topology, other) for other in neighbours(topology, hub.code))):
            a.delete_user(user)
    for agency in topology.installations():
        a = admins.get(agency.hub, admins[topology.hubs[0].code])
        a.delete_vhost(agency_vhost(topology, agency.organ_id))
        a.delete_user(agency_user(topology, agency.organ_id))
        a.delete_user(services_user(topology, agency.organ_id))
