"""One interconnect edge per installation, like an X-Road security server hosting many members (issue 16 item 2).

    python -m services.interconnect.edge --agency INSTALLATION --topology FILE --run-dir DIR --metrics-port N

The installation has one broker identity on its hub (`agency.<installation>`) and one inbox there. The edge
consumes:

- the installation's `interconnect.edge.outgoing` queue (its services' `outgoing_package` / `outgoing_status`
  events for every hosted agency): the event's `From` picks the hosted agency whose edge builds, records and
  publishes it; the hub accepts it only if its directory records that this installation hosts that agency;
- the installation's inbox: the hub sends one copy per installation with `x-recipients` naming the hosted
  agencies it is for (only hubs publish into an inbox, and they compute that header), and the edge hands it to
  each of them in turn, each deduplicating in its own tables; the message is acked once all are done.

Each hosted agency's edge (`Edge`: its own database and blob store) is made on first use, so an agency added by
onboarding sends and receives from its first package with no restart and nothing provisioned for it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pika

from services.common.db import Databases
from services.common.errors import CongVanError
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml
from services.interconnect import metrics as m
from services.interconnect.domain import H_SUBMITTED
from services.interconnect.edge import Edge, build_edge
from services.interconnect.loop import OWN_DATABASE, Loop
from services.interconnect.models import EdgeBase, EdgeOutbox
from services.interconnect.process import process_arguments, run_until_signalled
from services.interconnect.topology import EDGE_MODULE, Topology

log = logging.getLogger("congvan.edge")


class HostedEdges:
    """The edges of the agencies one installation hosts, made on first use and kept (one per agency)."""

    def __init__(self, topology: Topology, installation: str, run_dir: Path) -> None:
        self.topology = topology
        self.installation = installation
        self.run_dir = Path(run_dir)
        self.creds = broker.Credentials.load(run_dir)
        self.user = broker.agency_user(topology, installation)
        self.hub = topology.agency(installation).hub
        self.registry = ServiceClient(self.creds.uri(broker.services_user(topology, installation),
                                                     broker.agency_vhost(topology, installation)),
                                      size=2, timeout=30)
        self.stopping = threading.Event()
        self.settings = CommonSettings(agency_id=installation)
        # The hosted agencies' edge tables as the services keep theirs (services/common/db.py): on PostgreSQL one
        # pool and a schema per agency; on SQLite a file per agency, a bounded number of them open.
        self.databases = Databases("edge", EdgeBase.metadata, self.settings)
        self._edges: OrderedDict[str, Edge] = OrderedDict()
        self._lock = threading.Lock()

    def edge(self, organ_id: str) -> Edge:
        """The agency's edge, on the database `Databases` holds open for it now. On SQLite only `OPEN_AGENCIES`
        files stay open: an edge kept with a database closed since would reopen its file outside that bound and
        never close it again (three descriptors an agency: an edge of 1,000 agencies with traffic held 3,016 open
        files, past the usual limit of 1,024), so an edge whose database was closed is made again on the new one,
        and edges are kept only as long as their databases."""
        database = self.databases.for_agency(organ_id)
        with self._lock:
            edge = self._edges.get(organ_id)
            if edge is None or edge.db is not database:
                if edge is not None:
                    edge.db.dispose()  # what it reopened since it was closed
                edge = build_edge(self.topology, organ_id, self.run_dir, self.settings, registry=self.registry,
                                  installation=self.installation, database=database)
                edge.stopping = self.stopping  # one stop for all: a registry call's back-off gives up
                self._edges[organ_id] = edge
                log.info("installation %s: edge of %s ready", self.installation, organ_id)
            self._edges.move_to_end(organ_id)
            while len(self._edges) > self.databases.max_open:
                _, dropped = self._edges.popitem(last=False)
                dropped.db.dispose()
            return edge

    def sender_of(self, payload: dict[str, Any]) -> Edge:
        """The edge of the hosted agency an outgoing event is from (only this installation's services publish
        on its vhost; the hub checks the claim against its directory again)."""
        organ = str((payload.get("from") or {}).get("organ_id") or "") if isinstance(payload, dict) else ""
        return self.edge(organ or self.installation)

    def recipients_of(self, headers: dict[str, Any]) -> list[Edge]:
        """The hosted agencies one inbox copy is for: the hub's `x-recipients` (current ids, successors
        included); a copy without it (none is published so today) is the installation's own."""
        try:
            organs = domain.organ_ids(headers.get(domain.H_RECIPIENTS))
        except ValueError:
            organs = []
        return [self.edge(organ) for organ in dict.fromkeys(o for o in organs if o)] or [self.edge(self.installation)]

    def close(self) -> None:
        self.registry.close()


class HubPublisher:
    """A confirming channel to the hub as the installation's user, opened lazily and reopened after a failure."""

    def __init__(self, edges: HostedEdges) -> None:
        self.edges = edges
        self._ctx = None
        self._ch: Any = None

    def send(self, edge: Edge, row: EdgeOutbox) -> None:
        body = edge.blobs.read(row.raw_sha256)
        try:
            if self._ch is None:
                params = self.edges.creds.params(self.edges.user, broker.hub_vhost(self.edges.topology,
                                                                                   self.edges.hub))
                self._ctx = broker.confirmed_channel(params)
                _conn, self._ch = self._ctx.__enter__()
            broker.publish(self._ch, broker.SUBMIT, "", body, user_id=self.edges.user, message_id=row.message_id,
                           headers={H_SUBMITTED: domain.epoch_ms()})
        except BaseException:
            self.close()
            raise
        edge.mark_sent(row.message_id)
        m.EDGE_SENT.labels(edge.organ_id, row.kind).inc()

    def close(self) -> None:
        ctx, self._ctx, self._ch = self._ctx, None, None
        if ctx is not None:
            try:
                ctx.__exit__(None, None, None)
            except Exception:  # the connection is gone already
                log.debug("closing the hub channel failed", exc_info=True)


class OutgoingLoop(Loop):
    def __init__(self, edges: HostedEdges) -> None:
        super().__init__(f"outgoing:{edges.installation}")
        self.edges = edges

    def session(self) -> None:
        publisher = HubPublisher(self.edges)
        topology, installation = self.edges.topology, self.edges.installation
        params = self.edges.creds.params(broker.services_user(topology, installation),
                                         broker.agency_vhost(topology, installation))
        try:
            with broker.confirmed_channel(params) as (_conn, ch):
                # From the start, so an edge that has sent nothing yet shows 0, not "no data".
                own = self.edges.edge(installation)
                m.OUTBOX_BACKLOG.labels(own.organ_id).set(own.backlog())

                def handle(method, _props, body) -> None:
                    try:
                        payload = json.loads(body)
                        edge = self.edges.sender_of(payload)
                        row = edge.prepare_outgoing(payload)
                    except edxml.EdxmlError as exc:
                        # A package real receivers would refuse: the sender's registry shows each recipient
                        # "Từ chối" with the reason, and the event is done (nothing is left to retry).
                        log.error("outgoing package refused before sending: %s", exc)
                        edge.refuse_unsendable(payload, exc)
                        ch.basic_ack(method.delivery_tag)
                        return
                    except (ValueError, CongVanError) as exc:
                        # Not buildable now, not buildable later: dead-letter at once for an operator.
                        log.error("outgoing event refused: %s", exc)
                        ch.basic_nack(method.delivery_tag, requeue=False)
                        return
                    if row.sent_at is None:
                        publisher.send(edge, row)
                    ch.basic_ack(method.delivery_tag)
                    m.OUTBOX_BACKLOG.labels(edge.organ_id).set(edge.backlog())

                self.consume(ch, broker.EDGE_OUTGOING, handle)
        finally:
            publisher.close()


class IncomingLoop(Loop):
    def __init__(self, edges: HostedEdges) -> None:
        super().__init__(f"incoming:{edges.installation}")
        self.edges = edges

    def session(self) -> None:
        publisher = HubPublisher(self.edges)
        params = self.edges.creds.params(self.edges.user, broker.hub_vhost(self.edges.topology, self.edges.hub))
        try:
            conn = pika.BlockingConnection(params)
            try:
                ch = conn.channel()

                def handle(method, props, body) -> None:
                    headers = dict(props.headers or {})
                    try:
                        # Each hosted recipient in turn; a failure redelivers the copy, and the recipients
                        # done already find it in their own edge_inbox (their 01 is re-sent if it never left).
                        for edge in self.edges.recipients_of(headers):
                            replies = self.hold_on(
                                conn, lambda e=edge: e.take_incoming(body, headers), OWN_DATABASE,
                                lambda _exc, e=edge: e.db.answers(), f"incoming {props.message_id} for "
                                                                     f"{edge.organ_id}")
                            for row in replies:
                                publisher.send(edge, row)
                    except broker.TRANSIENT:
                        raise
                    except Exception:
                        log.exception("incoming %s failed; it will be retried, then dead-lettered",
                                      props.message_id)
                        ch.basic_nack(method.delivery_tag, requeue=True)
                        return
                    ch.basic_ack(method.delivery_tag)

                self.consume(ch, self.edges.creds.queue(broker.inbox_queue(self.edges.installation)), handle)
            finally:
                if conn.is_open:
                    conn.close()
        finally:
            publisher.close()


def main(argv: list[str] | None = None) -> None:
    args = process_arguments("Cổng liên thông của một cụm máy chủ (mọi cơ quan nó phục vụ)", "agency", argv)
    topology = Topology.load(args.topology)
    installation = topology.installation_of(args.agency) or args.agency
    if topology.edge_module(installation) != EDGE_MODULE:
        raise SystemExit(f"{installation} reaches its axis over HTTP (hub {topology.agency(installation).hub!r} in "
                         f"the topology): its edge is {topology.edge_module(installation)}, not this one")
    edges = HostedEdges(topology, installation, args.run_dir)
    for agency in topology.hosted_by(installation):
        edges.edge(agency.organ_id)  # the known ones at once: their tables exist before the first package
    try:
        # on_stop: a registry call waiting in its back-off gives up, so that the incoming loop can end
        run_until_signalled(f"edge of installation {installation}", [OutgoingLoop(edges), IncomingLoop(edges)],
                            args.metrics_port, on_stop=edges.stopping.set, agency=installation)
    finally:
        edges.close()
