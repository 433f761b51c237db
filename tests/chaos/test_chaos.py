"""Chaos: 2,000 packages through the hubs while hubs, edges and registries are SIGKILLed and the broker restarts.

The test runs its OWN RabbitMQ (free ports, a run dir under pytest's tmp_path), never the shared test stack,
because it restarts the broker. On it: the three hubs (national, H60, H17) and the edges of a sender in H60
(000.00.00.H60) and of two receivers, one in H60 (000.00.09.H60: the horizontal path, one hub) and one in H17
(000.00.00.H17: the cross-province path, three hubs), all as real processes. Behind each receiver's edge runs
its real agency process (storage, signing and registry services in one nameko process, as deployed); behind the
sender's edge a stand-in registry (tests/interconnect/fake_registry.py, also a real nameko agency process) that
records every status it is handed, so that a receiver answering twice would show.

The packages enter through the sender's outbox exactly as the registry's outbox relay emits them: nameko
`outgoing_package` events on the agency's `registry.events` exchange, consumed by the edge from
`interconnect.edge.outgoing` (re-published after a broker failure, so the edge also sees duplicate events).
While they flow, a seeded RNG (the seed is printed; `CHAOS_SEED=N` replays it) SIGKILLs a hub or an edge at a
random moment and restarts it, and restarts the broker once while the outbox is still being fed. The dead-letter
limit is raised for this topology so that redeliveries after kills cannot dead-letter.

Counted afterwards, by DocumentId:
- at each receiver's registry (its `document` table): every package sent to it registered exactly once as an
  incoming document waiting for reception, nothing else;
- at each receiver's edge (`edge_inbox`): exactly one row per DocumentId;
- at the sender's registry: exactly one status 01 per (DocumentId, receiver) — the 01 carries the time it was
  made, so a receiver that answered twice would show two rows here;
- every `dead` queue empty (otherwise the dead letters are printed and the test fails), every queue drained,
  every hub's relay log chain intact.
The receivers' agency processes are SIGKILLed too, so that an edge sees its registry die under a call and come
back as a new process, sometimes across the broker restart. One that exits on its own is restarted, as its
supervisor would (services/common/agency_process.py exits when a service container dies), and such restarts are
printed.

Alone: `.venv/bin/python -m pytest tests/chaos -m chaos -s` (CHAOS_PACKAGES, CHAOS_SEED, CHAOS_TIMEOUT).
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import sqlite3
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pika
import pytest

from infra.stack import Stack
from services.common.db import Database, agency_slug
from services.common.rabbit_admin import RabbitAdmin
from services.common.settings import CommonSettings
from services.interconnect import broker, ops_cli
from services.interconnect.models import EdgeBase, EdgeInbox, HubBase
from services.interconnect.relaylog import RelayLog
from tests.interconnect.conftest import H17_A, H60_A, H60_B, make_topology
from tests.interconnect.harness import Network, edoc

pytestmark = pytest.mark.chaos

TOTAL = int(os.environ.get("CHAOS_PACKAGES", "2000"))
TIMEOUT = float(os.environ.get("CHAOS_TIMEOUT", "420"))   # overall, for everything to arrive; not a speed bound
SENDER, RECEIVERS = H60_A, (H60_B, H17_A)
AGENCY_SERVICES = ",".join(["services.storage.service:StorageService", "services.signing.service:SigningService",
                            "services.registry.service:RegistryService"])
HUBS = ("national", "H60", "H17")
DELIVERY_LIMIT = 100_000        # a message requeued by every kill must never reach the dead-letter limit
KILL_GAP = (1.0, 5.0)           # seconds between a restarted process being healthy and the next fault
DOWN_FOR = (0.0, 2.0)           # seconds a killed process stays down
MAX_KILLS = int(os.environ.get("CHAOS_MAX_KILLS", "30"))
FEED_RATE = 40.0                # outgoing events per second: the outbox keeps filling while faults happen


@pytest.fixture
def chaos_network(chaos_stack: Stack, chaos_admin: RabbitAdmin, tmp_path: Path) -> Iterator[Network]:
    env = chaos_stack.env()
    admin = chaos_admin
    topology = make_topology("")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "topology.json").write_text(topology.to_json())
    creds = broker.provision(admin, topology, run_dir, delivery_limit=DELIVERY_LIMIT)
    net = Network(topology, creds, run_dir, {"RABBIT_API_URI": env["RABBIT_API_URI"]})
    net.env.pop("S3_ENDPOINT", None)  # blobs in the run dir: nothing of the shared stack is used
    net.agency_services = dict.fromkeys(RECEIVERS, AGENCY_SERVICES)
    try:
        net.start([SENDER, *RECEIVERS])
        yield net
    finally:
        net.stop()
        chaos_stack.wait_rabbitmq()  # the broker is shared by the chaos job's tests: leave it empty of ours
        cleanup = RabbitAdmin(env["RABBIT_API_URI"])  # a new connection: the old one saw the broker restart
        try:
            broker.unprovision(cleanup, topology)
        finally:
            cleanup.close()


# --- sending through the sender's outbox --------------------------------------------------------------------


def _packages(net: Network, attachment: dict) -> list[dict]:
    """TOTAL packages, alternately to the H60 and the H17 receiver, with ids that do not depend on the run."""
    out = []
    for n in range(1, TOTAL + 1):
        recipient = RECEIVERS[n % 2]
        out.append(edoc(net.topology, SENDER, [recipient], n, [attachment],
                        message_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaos/{n}"))))
    return out


class OutboxFeeder(threading.Thread):
    """Publishes the registry's `outgoing_package` events with confirms at FEED_RATE; after a broker failure the
    unconfirmed event is published again (at-least-once, as the registry's outbox relay does), so the edge may
    see an event twice and must send its package once."""

    def __init__(self, net: Network, packages: list[dict]) -> None:
        super().__init__(name="outbox-feeder", daemon=True)
        self.net, self.packages = net, packages
        self.stopping = threading.Event()
        self.published = 0
        self.republished = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        user = broker.services_user(self.net.topology, SENDER)
        params = self.net.creds.params(user, broker.agency_vhost(self.net.topology, SENDER))
        backoff = broker.Backoff()
        i = 0
        began = time.monotonic()
        try:
            while i < len(self.packages) and not self.stopping.is_set():
                try:
                    with broker.confirmed_channel(params) as (_conn, ch):
                        backoff.reset()
                        while i < len(self.packages) and not self.stopping.is_set():
                            package = self.packages[i]
                            ch.basic_publish("registry.events", "outgoing_package", json.dumps(package).encode(),
                                             pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                                                  message_id=package["message_id"]))
                            i += 1
                            self.published = i
                            ahead = began + i / FEED_RATE - time.monotonic()
                            if ahead > 0:
                                time.sleep(ahead)
                except broker.TRANSIENT:
                    self.republished += 1
                    backoff.wait(self.stopping.is_set)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.error = exc


def _unsigned_pdf(text: str) -> bytes:
    """A small real PDF: the receiving registry has signing verify it, as it does every incoming main file."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


# --- counting ---------------------------------------------------------------------------------------------


def _registry_rows(net: Network, organ: str, sql: str, file: str = "fake_registry") -> list[tuple]:
    path = net.data_dir / agency_slug(organ) / f"{file}.sqlite3"  # created before the registry is healthy
    for attempt in range(10):
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                return list(db.execute(sql))
            finally:
                db.close()
        except sqlite3.OperationalError:  # locked by the registry's writer beyond the timeout: read again
            if attempt == 9:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def registrations(net: Network, organ: str) -> Counter:
    """DocumentId -> incoming documents registered from an edoc package at this agency's (real) registry."""
    rows = _registry_rows(net, organ, "SELECT document_id, count(*) FROM document WHERE direction = 'incoming'"
                                      " AND source_channel = 'interconnect' GROUP BY document_id", file="registry")
    return Counter({doc: n for doc, n in rows})


def statuses_01(net: Network) -> Counter:
    """(DocumentId, receiver) -> statuses 01 recorded at the sender's registry."""
    rows = _registry_rows(net, SENDER, "SELECT document_id, sender, count(*) FROM registered"
                                       " WHERE kind LIKE 'status:01:%' GROUP BY document_id, sender")
    return Counter({(doc, who): n for doc, who, n in rows})


def edge_inbox(net: Network, organ: str) -> Counter:
    settings = CommonSettings(data_dir=net.data_dir, agency_id=organ, database_url=None)
    db = Database("edge", organ, EdgeBase.metadata, settings)
    try:
        with db.session() as s:
            return Counter(doc for (doc,) in s.query(EdgeInbox.document_id).filter(EdgeInbox.kind.like("edoc:%")))
    finally:
        db.dispose()


def queued_messages(admin: RabbitAdmin) -> dict[str, int]:
    """Messages waiting in the interconnect's queues (RPC reply queues of killed clients are not ours). While the
    broker restarts, its management API is away too: that counts as "not empty"."""
    try:
        queues = admin.queues()
    except httpx.HTTPError as exc:
        return {f"(management API: {exc.__class__.__name__})": -1}
    return {f"{q['vhost']}/{q['name']}": int(q.get("messages", 0) or 0) for q in queues
            if q.get("messages") and not q["name"].startswith("rpc.reply-")}


def dead_letters(net: Network) -> list[dict]:
    found = []
    for name in [*HUBS, SENDER, *RECEIVERS]:
        found.extend({"where": name, **row} for row in ops_cli.dead_letters(net.topology, net.creds, name))
    return found


# --- the test ---------------------------------------------------------------------------------------------


class Chaos:
    def __init__(self, net: Network, stack: Stack, seed: int) -> None:
        self.net, self.stack, self.rng = net, stack, random.Random(seed)
        self.kills: Counter = Counter()
        self.exited: Counter = Counter()
        self.broker_restarts = 0
        self.broker_error: BaseException | None = None
        # The broker restarts once the outbox feeder has published this fraction, so it fails under the feeder,
        # the edges and the hubs at once.
        self.restart_at = self.rng.uniform(0.3, 0.7)
        # The receivers' agency processes too: an edge must ride out its registry dying under a call and coming
        # back as a new process (possibly across the broker restart), and the registry must not register twice.
        self.victims = ([f"hub:{h}" for h in HUBS] + [f"edge:{a}" for a in (SENDER, *RECEIVERS)]
                        + [f"registry:{a}" for a in RECEIVERS])

    def supervise(self) -> None:
        """Restart a process that exited without being killed here, as the process supervisor of a deployment
        would; hubs and edges must never need it (asserted); agency processes exit when a service container dies
        (counted and printed: the registry is idempotent, so a restart may not lose or duplicate anything)."""
        for name, (proc, _port) in list(self.net.procs.items()):
            if proc.poll() is None:
                continue
            self.exited[name] += 1
            print(f"[chaos] {name} exited on its own (code {proc.returncode}); restarting it", flush=True)
            kind, organ = name.split(":", 1)
            self.starter(kind)(organ)

    def restart_broker_when_fed(self, feeder: OutboxFeeder) -> threading.Thread:
        """A thread that restarts the broker once the feeder has published `restart_at` of the packages: on its
        own thread so that a slow process start in the kill loop cannot delay it past the feeding."""
        def run() -> None:
            try:
                while feeder.published < self.restart_at * TOTAL and not feeder.stopping.is_set():
                    time.sleep(0.2)
                if feeder.stopping.is_set():
                    return
                print(f"[chaos] restarting the broker at {feeder.published / TOTAL:.0%} fed", flush=True)
                self.stack.restart_rabbitmq()
                self.broker_restarts += 1
            except BaseException as exc:  # reported by the test
                self.broker_error = exc

        thread = threading.Thread(target=run, name="broker-restart", daemon=True)
        thread.start()
        return thread

    def strike(self) -> None:
        victim = self.rng.choice(self.victims)
        down = self.rng.uniform(*DOWN_FOR)
        print(f"[chaos] SIGKILL {victim}, down {down:.1f}s", flush=True)
        self.net.kill(victim)
        self.kills[victim] += 1
        time.sleep(down)
        kind, name = victim.split(":", 1)
        self.starter(kind)(name)
        self.wait_healthy(victim)

    def starter(self, kind: str):
        return {"hub": self.net.start_hub, "edge": self.net.start_edge, "registry": self.net.start_registry}[kind]

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        """Until the restarted process serves /healthz: a process killed again while still importing would
        only prove that Python starts slowly (on 2 busy cores a start takes seconds)."""
        proc, port = self.net.procs[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    return
            except OSError:  # not listening yet, or 503 while its consumers connect
                time.sleep(0.3)


def test_two_thousand_packages_survive_kills_and_a_broker_restart(chaos_network: Network, chaos_stack: Stack,
                                                                  chaos_admin: RabbitAdmin):
    net, admin = chaos_network, chaos_admin
    seed = int(os.environ.get("CHAOS_SEED") or secrets.randbits(32))
    print(f"\n[chaos] seed {seed} (replay: CHAOS_SEED={seed}), {TOTAL} packages", flush=True)
    attachment_data = _unsigned_pdf(f"chaos {seed}")
    attachment = {"content_id": "cid:1", "name": "Công văn.pdf", "content_type": "application/pdf",
                  "description": "", "size": len(attachment_data), "sha256": net.put_blob(SENDER, attachment_data)}
    packages = _packages(net, attachment)
    expected = {r: {p["document_id"] for p in packages if p["to"][0]["organ_id"] == r} for r in RECEIVERS}
    chaos = Chaos(net, chaos_stack, seed)
    feeder = OutboxFeeder(net, packages)
    started = next_report = time.monotonic()
    feeder.start()
    restarter = chaos.restart_broker_when_fed(feeder)
    try:
        while True:
            registered = sum(len(registrations(net, r)) for r in RECEIVERS)
            answered = len(statuses_01(net))
            if registered >= TOTAL and answered >= TOTAL:
                break
            assert feeder.error is None, f"the outbox feeder failed: {feeder.error!r}"
            assert chaos.broker_error is None, f"the broker restart failed: {chaos.broker_error!r}"
            assert time.monotonic() - started < TIMEOUT, (
                f"not complete after {TIMEOUT:.0f}s: {registered}/{TOTAL} registered, {answered}/{TOTAL} "
                f"statuses 01, {feeder.published} published; kills {dict(chaos.kills)}; "
                f"queues {queued_messages(admin)}")
            chaos.supervise()
            if time.monotonic() >= next_report:  # progress in the CI log, and where packages wait
                deepest = sorted(queued_messages(admin).items(), key=lambda kv: -kv[1])[:4]
                print(f"[chaos] {time.monotonic() - started:.0f}s: published {feeder.published}, registered "
                      f"{registered}, statuses 01 {answered}; deepest queues {deepest}", flush=True)
                next_report = time.monotonic() + 20
            if sum(chaos.kills.values()) < MAX_KILLS:
                time.sleep(chaos.rng.uniform(*KILL_GAP))
                chaos.strike()
            else:
                time.sleep(1.0)
        flowed = time.monotonic() - started
        # Quiet: nothing left in any queue, so no late copy can still arrive after the counts below.
        # The management API's counts lag by its stats interval (5 s), so "empty" must be read twice.
        quiet_deadline, empty_reads = time.monotonic() + 120, 0
        while empty_reads < 2 and time.monotonic() < quiet_deadline:
            left = queued_messages(admin)
            empty_reads = 0 if left else empty_reads + 1
            time.sleep(6.0)
    finally:
        feeder.stopping.set()
        feeder.join(timeout=10)
        restarter.join(timeout=120)

    on_their_own = {n: c for n, c in chaos.exited.items() if not n.startswith("registry:")}
    assert not on_their_own, f"hub or edge processes died without being killed: {on_their_own}"
    dead = dead_letters(net)
    assert not dead, "dead letters:\n" + "\n".join(json.dumps(d, ensure_ascii=False, default=str) for d in dead)
    assert not left, f"messages still queued: {left}"
    assert chaos.broker_restarts == 1, "the broker restart did not happen before everything arrived"
    for receiver in RECEIVERS:
        got = registrations(net, receiver)
        assert set(got) == expected[receiver], (
            f"{receiver}: lost {sorted(expected[receiver] - set(got))[:10]}, "
            f"unexpected {sorted(set(got) - expected[receiver])[:10]}")
        assert {d: n for d, n in got.items() if n != 1} == {}, f"{receiver}: registered more than once"
        inbox = edge_inbox(net, receiver)
        assert set(inbox) == expected[receiver] and max(inbox.values()) == 1, f"{receiver}: edge inbox"
    answers = statuses_01(net)
    assert set(answers) == {(d, r) for r in RECEIVERS for d in expected[r]}, "a status 01 is missing or stray"
    assert {k: n for k, n in answers.items() if n != 1} == {}, "a receiver answered 01 more than once"
    for code in HUBS:
        db = Database("hub", broker.hub_vhost(net.topology, code), HubBase.metadata,
                      CommonSettings(data_dir=net.data_dir, database_url=None))
        try:
            assert RelayLog(db, f"hub.{code}").verify() == [], f"relay log of hub.{code}"
        finally:
            db.dispose()

    print(f"[chaos] seed {seed}: sent {TOTAL} (events published {feeder.published}, feeder reconnects "
          f"{feeder.republished}), registered {sum(len(registrations(net, r)) for r in RECEIVERS)} once each, "
          f"statuses 01 {len(answers)} once each; kills {sum(chaos.kills.values())} {dict(chaos.kills)}, "
          f"broker restarts {chaos.broker_restarts}; agency processes restarted after exiting on their own "
          f"{dict(chaos.exited)}; "
          f"{flowed:.0f}s until all arrived, {time.monotonic() - started:.0f}s in all", flush=True)
