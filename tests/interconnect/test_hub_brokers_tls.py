"""Each hub on its own RabbitMQ, the hub-to-hub links over AMQPS with mutual TLS (issue 17 item 5).

Three broker nodes (national, Tuyên Quang H60, Đà Nẵng H17) started here with infra/rabbit_node.py, each with a
TLS listener that asks for a client certificate of the brokers' CA (minted at run time, infra/broker_pki.py) and
checks it against that CA's CRL. The hubs, two installations' edges and stand-in registries are real processes
(tests/interconnect/harness.py); the edges and hubs reach their own broker on its plain loopback listener, the
hubs' links reach the neighbour's over AMQPS, logging in as their certificate's CN (EXTERNAL).

The national broker's 60-second outage is in the chaos job (it alone lasts longer than the rest of the module).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from infra.broker_pki import BrokerCa, TlsFiles, self_signed
from infra.procs import free_port
from infra.rabbit_node import NodePorts, NodeTls, RabbitNode
from services.common.rabbit_admin import RabbitAdmin
from services.interconnect import broker, hub
from services.interconnect.topology import Topology
from tests.interconnect.conftest import H17_A, H60_A, make_topology
from tests.interconnect.harness import Network, edoc, wait_for
from tests.interconnect.test_relay import _attachment, _registered, _statuses

HUBS = ("national", "H60", "H17")
CHECK_SECONDS_ENV = "HUB_LINK_CRL_CHECK_SECONDS"


@dataclasses.dataclass
class Brokers:
    ca: BrokerCa
    servers: dict[str, TlsFiles]
    nodes: dict[str, RabbitNode]
    admins: dict[str, RabbitAdmin]
    topology: Topology
    creds: broker.Credentials
    net: Network
    root: Path


@pytest.fixture(scope="module")
def brokers(tmp_path_factory) -> Iterator[Brokers]:
    root = tmp_path_factory.mktemp("hub-brokers")
    ca = BrokerCa.create(root / "tls")
    tag = secrets.token_hex(3)
    nodes: dict[str, RabbitNode] = {}
    servers: dict[str, TlsFiles] = {}
    for code in HUBS:
        server = servers[code] = ca.server(code)
        nodes[code] = RabbitNode(f"cv{code.lower()}{tag}", root / f"rabbit-{code}", NodePorts.free(tls=True),
                                 admin_password=secrets.token_urlsafe(18),
                                 tls=NodeTls(server.ca, server.cert, server.key, ca.crl_dir),
                                 memory_high_watermark=0.2, log_level="info")
    admins: dict[str, RabbitAdmin] = {}
    net = None
    try:
        for node in nodes.values():
            node.start(wait=False)   # the three boot side by side
        for node in nodes.values():
            node.wait()
        admins = {code: RabbitAdmin(node.admin_uri) for code, node in nodes.items()}
        base = make_topology("")
        topology = dataclasses.replace(base, hubs=tuple(
            dataclasses.replace(h, broker={"host": "localhost", "amqp_port": nodes[h.code].ports.amqp,
                                           "amqps_port": nodes[h.code].ports.amqps}) for h in base.hubs))
        run_dir = root / "run"
        run_dir.mkdir()
        (run_dir / "topology.json").write_text(topology.to_json())
        link_tls = {code: {**ca.client(broker.hub_user(topology, code)).as_dict(), "crl": str(ca.crl_dir)}
                    for code in HUBS}
        creds = broker.provision(admins, topology, run_dir, delivery_limit=3, link_tls=link_tls)
        # The hubs look at their open links' certificates every second (30 s by default).
        net = Network(topology, creds, run_dir, {CHECK_SECONDS_ENV: "1"})
        net.env.pop("RABBIT_API_URI", None)   # the test stack's broker is none of these hubs'
        net.start([H60_A, H17_A])
        for code, node in nodes.items():   # each broker's link guard, with the broker's administrator
            net._spawn(f"guard:{code}", ["-m", "services.interconnect.link_guard", "--hub", code, "--crl-dir",
                                         str(ca.crl_dir), "--check-seconds", "1", "--metrics-port",
                                         str(port := free_port())], port, env={"RABBIT_API_URI": node.admin_uri})
        net.wait_healthy()
        yield Brokers(ca, servers, nodes, admins, topology, creds, net, root)
    finally:
        if net is not None:
            net.stop()
        for admin in admins.values():
            admin.close()
        for node in nodes.values():
            node.remove()


def _send(b: Brokers, number: int) -> dict:
    meta, _data = _attachment(b.net, H60_A, size=20_000)
    package = edoc(b.topology, H60_A, [H17_A], number, [meta])
    b.net.call(H60_A, "send_package", package)
    return package


def _arrived(b: Brokers, document_id: str) -> list[dict]:
    return [r for r in _registered(b.net, H17_A) if r["document_id"] == document_id]


def _link_of(b: Brokers, to_hub: str, user: str) -> dict:
    """The management API's view of `user`'s connection on `to_hub`'s broker (listed once its statistics are
    first emitted, a few seconds after it opened)."""
    def listed() -> list[dict]:
        return [c for c in b.admins[to_hub].connections() if c.get("user") == user and "ssl" in c]

    return wait_for(listed, 30, f"the connection of {user} on {to_hub}'s broker")[0]


def test_packages_cross_three_brokers_over_mutual_tls(brokers):
    package = _send(brokers, 1)
    rows = wait_for(lambda: _arrived(brokers, package["document_id"]), what="the package at Đà Nẵng")
    trace = [t["organ_id"] for t in rows[0]["package"]["trace"]]
    assert trace == [H60_A, "hub.H60", "hub.national", "hub.H17"]
    wait_for(lambda: _statuses(brokers.net, H60_A, package["document_id"]) == ["01"], what="status 01 back")
    # Each link is a TLS connection to the neighbour's broker, logged in by its certificate, not a password.
    top = brokers.topology
    for to_hub, user in (("national", "H60"), ("national", "H17"), ("H17", "national"), ("H60", "national")):
        link = _link_of(brokers, to_hub, broker.hub_user(top, user))
        assert link["ssl"] is True and link["auth_mechanism"] == "EXTERNAL", link
        assert link["peer_cert_subject"].endswith(f"CN={broker.hub_user(top, user)}")
    # The agencies reach only their own province's broker: no agency user exists on the national one.
    national_users = {u["name"] for u in brokers.admins["national"]._get("/users")}
    assert broker.agency_user(top, H60_A) not in national_users
    assert broker.agency_user(top, H17_A) not in national_users


def _forwarder(b: Brokers, code: str, tls: dict[str, str]) -> hub.Forwarder:
    """The link `code` -> national exactly as the hub process builds it, with the certificate `tls`."""
    creds = dataclasses.replace(b.creds, tls={**b.creds.tls, broker.hub_user(b.topology, code): tls})
    return hub.Forwarder(f"uplink:{code}", creds, broker.hub_user(b.topology, code),
                         broker.hub_vhost(b.topology, code), creds.queue(broker.UPSTREAM_QUEUE),
                         broker.hub_vhost(b.topology, "national"), "national")


def _refused(b: Brokers, forwarder: hub.Forwarder, caplog) -> str:
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="congvan.hub"), pytest.raises(broker.TRANSIENT):
        forwarder._connect_remote()
    lines = [r.getMessage() for r in caplog.records if "refused the link" in r.getMessage()]
    assert len(lines) == 1, caplog.text
    return lines[0]


def test_a_hub_with_a_self_signed_certificate_is_refused(brokers, caplog):
    user = broker.hub_user(brokers.topology, "H60")
    own = self_signed(brokers.root / "rogue", user, brokers.ca.ca_path)
    line = _refused(brokers, _forwarder(brokers, "H60", own.as_dict()), caplog)
    address = brokers.creds.link_address("national")
    assert line == (f"uplink:H60: hub national's broker {address} refused the link of {user}: "
                    "TLS sslv3 alert bad certificate (SSLV3_ALERT_BAD_CERTIFICATE)"), line
    # The broker says so on its side too (Erlang's ssl, at notice level).
    _broker_logged(brokers, "Bad Certificate")


def _broker_logged(b: Brokers, alert: str) -> None:
    log = b.nodes["national"].log_file
    wait_for(lambda: f"generated SERVER ALERT: Fatal - {alert}" in log.read_text(errors="replace"), 30,
             f"'{alert}' in the national broker's log")


def test_a_revoked_certificate_is_refused(brokers, caplog):
    user = broker.hub_user(brokers.topology, "H17")
    spare = brokers.ca.client(user)          # a second certificate of the hub, valid until revoked
    forwarder = _forwarder(brokers, "H17", spare.as_dict())
    broker.close_quietly(forwarder._connect_remote())   # accepted while valid
    brokers.ca.revoke(spare)
    line = _refused(brokers, forwarder, caplog)
    assert line.endswith(f"refused the link of {user}: TLS sslv3 alert certificate revoked "
                         "(SSLV3_ALERT_CERTIFICATE_REVOKED)")
    _broker_logged(brokers, "Certificate Revoked")
    # The hub's own certificate is not revoked: its link still works and packages still flow.
    package = _send(brokers, 2)
    wait_for(lambda: _arrived(brokers, package["document_id"]), what="a package after the revocation")


def _links(b: Brokers, on_hub: str, user: str) -> list[dict]:
    return [c for c in b.admins[on_hub].connections() if c.get("user") == user and c.get("ssl")]


def _log(b: Brokers, process: str) -> str:
    return (b.net.run_dir / f"{process}.log").read_text(errors="replace")


def _upstream_depth(b: Brokers, code: str, queue: str) -> int:
    return int(b.admins[code].queue(broker.hub_vhost(b.topology, code), b.creds.queue(queue)).get("messages", 0))


def _fresh_link(b: Brokers, on_hub: str, user: str, number: int) -> dict:
    """Send packages to Đà Nẵng until `user`'s link on `on_hub`'s broker is one accepted after the current CRL
    (an earlier test's revocation had every link closed and checked again; an idle forwarder reconnects only
    at its next package)."""
    published = max(p.stat().st_mtime for p in b.ca.crl_dir.iterdir()) * 1000
    numbers = itertools.count(number)

    def accepted_since() -> list[dict]:
        package = _send(b, next(numbers))
        wait_for(lambda: _arrived(b, package["document_id"]), what=f"{package['document_id']} at Đà Nẵng")
        return [c for c in _links(b, on_hub, user) if c["connected_at"] > published]

    return wait_for(accepted_since, 90, f"a link of {user} accepted after the current CRL")[0]


def test_revoking_a_hubs_certificate_cuts_its_open_link_and_loses_nothing(brokers):
    """Tuyên Quang's uplink is open on the national broker; its certificate is revoked and the CRL published:
    the national broker's link guard closes the link, the broker refuses it at every reconnection, what Tuyên
    Quang accepts meanwhile waits in its `upstream` queue, and with a new certificate it all arrives, once."""
    b = brokers
    user = broker.hub_user(b.topology, "H60")
    _fresh_link(b, "national", user, 20)
    files = b.creds.tls[user]
    serial = x509.load_pem_x509_certificate(Path(files["cert"]).read_bytes()).serial_number
    b.ca.revoke(TlsFiles(Path(files["cert"]), Path(files["key"]), Path(files["ca"])))
    guard = wait_for(lambda: [ln for ln in _log(b, "guard:national").splitlines()
                              if f"of {user} (certificate" in ln and f"revokes serial(s) {serial:x};" in ln],
                     60, "the national broker's guard closing H60's link")
    assert f"CN={user}" in guard[0], guard
    # Accepted by Tuyên Quang's hub while its link is refused: relayed no further, kept in its upstream queue.
    held = [_send(b, n) for n in (50, 51)]
    refusal = f"refused the link of {user}: TLS sslv3 alert certificate revoked (SSLV3_ALERT_CERTIFICATE_REVOKED)"
    wait_for(lambda: refusal in _log(b, "hub:H60"), 60, "H60's hub logging the refusal")
    wait_for(lambda: _upstream_depth(b, "H60", broker.UPSTREAM_QUEUE) == 2, 60, "two packages held in upstream")
    # The management API still lists a closed connection for a few seconds (longer on a loaded machine): none may
    # have been accepted after the CRL, and the closed ones go.
    revoked_at = max(p.stat().st_mtime for p in b.ca.crl_dir.iterdir()) * 1000
    assert not [c for c in _links(b, "national", user) if c["connected_at"] > revoked_at], \
        "a revoked certificate logged in again"
    wait_for(lambda: not _links(b, "national", user), 60, "H60's closed links gone from the national broker")
    assert all(not _arrived(b, p["document_id"]) for p in held)
    # A new certificate for the hub (same files): the forwarder's next attempt is accepted, nothing was lost.
    b.ca.client(user)
    for package in held:
        wait_for(lambda p=package: _arrived(b, p["document_id"]), 120, f"{package['document_id']} after renewal")
    assert all(len(_arrived(b, p["document_id"])) == 1 for p in held)


def test_a_neighbour_broker_whose_certificate_is_revoked_is_cut_by_our_hub(brokers):
    """The national hub's downlink into Đà Nẵng's broker is open; that broker's server certificate is revoked:
    the national hub cuts its own link within a check, refuses the broker at every reconnection (its TLS context
    checks the CRL), keeps what is for Đà Nẵng in `down.H17`, and delivers it once the broker has a new one.

    Đà Nẵng's own link guard is stopped meanwhile: on a new CRL it closes every certificate link opened before it,
    this one included, and when it was first the hub had no open link left to cut (seen once on a loaded machine);
    what is tested here is the hub's own check."""
    b = brokers
    national = broker.hub_user(b.topology, "national")
    _fresh_link(b, "H17", national, 60)
    guard, _port = b.net.procs["guard:H17"]
    guard.terminate()
    guard.wait(15)
    try:
        _our_hub_cuts_the_revoked_broker(b, national)
    finally:
        b.net.restart("guard:H17")


def _our_hub_cuts_the_revoked_broker(b: Brokers, national: str) -> None:
    b.ca.revoke(b.servers["H17"])
    cut = wait_for(lambda: [ln for ln in _log(b, "hub:national").splitlines()
                            if "downlink:H17: cutting the link to hub H17's broker" in ln], 60, "the cut in the log")
    assert "CN=broker H17" in cut[0] and "was revoked at" in cut[0], cut
    wait_for(lambda: not _links(b, "H17", national), 60, "the downlink gone from Đà Nẵng's broker")
    held = _send(b, 80)
    wait_for(lambda: _upstream_depth(b, "national", broker.down_queue("H17")) == 1, 60, "the package in down.H17")
    address = b.creds.link_address("H17")
    assert (f"downlink:H17: refused hub H17's broker {address}: TLS certificate verify failed: certificate revoked "
            "(CERTIFICATE_VERIFY_FAILED)") in _log(b, "hub:national")
    assert not _links(b, "H17", national) and not _arrived(b, held["document_id"])
    # Đà Nẵng's broker gets a new certificate (same files; Erlang re-reads them once its PEM cache is cleared).
    b.servers["H17"] = b.ca.server("H17")
    assert b.nodes["H17"].rabbitmqctl("eval", "ssl:clear_pem_cache().").returncode == 0
    wait_for(lambda: _arrived(b, held["document_id"]), 120, "the held package after the new certificate")
    assert len(_arrived(b, held["document_id"])) == 1


@pytest.mark.chaos
def test_national_broker_down_60s_all_arrive_none_twice(brokers):
    """Packages keep being sent while the national broker is stopped for 60 s: they wait in H60's `upstream`
    queue (and the sender's outbox), and after the restart every one arrives at Đà Nẵng exactly once."""
    import threading
    import time

    sent: list[dict] = [_send(brokers, n) for n in range(100, 105)]
    wait_for(lambda: _arrived(brokers, sent[0]["document_id"]), what="the flow before the outage")
    stop = threading.Event()

    def keep_sending() -> None:
        number = 105
        while not stop.is_set():
            sent.append(_send(brokers, number))
            number += 1
            stop.wait(3)

    sender = threading.Thread(target=keep_sending, daemon=True)
    sender.start()
    try:
        brokers.nodes["national"].restart(down_for=60)
    finally:
        time.sleep(5)   # a few more packages after the restart, then stop sending
        stop.set()
        sender.join(30)
    assert len(sent) >= 25   # 5 before, ~20 during the outage and after it
    for package in sent:
        wait_for(lambda p=package: _arrived(brokers, p["document_id"]), 180, f"{package['document_id']}")
    for package in sent:
        assert len(_arrived(brokers, package["document_id"])) == 1
        assert brokers.net.call(H17_A, "calls", "receive_package", package["document_id"]) == 1
