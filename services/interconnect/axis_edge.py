"""What an agency's client edges on an HTTP axis share: vdxp_edge.py (the national axis's API) and lgsp_edge.py (a
provincial LGSP). Either runs in place of the RabbitMQ edge for an agency whose `hub` in the topology names the axis
(topology.CLIENT_AXES), with the same `Edge` rules (outbox, inbox deduplication, registry hand-over, automatic
01/02); only the transport differs:

- `OutboxIntake`: the registry's outgoing events into the edge outbox, acked once stored (a sender loop sends); a
  package that cannot be built is refused at once with a 02 in our registry, as on the RabbitMQ edge;
- `hand_over`: a fetched package to the edge (stored, deduplicated, registered), with the parser's reason if it
  cannot be read, for the acknowledgement;
- `arguments`: the process's command line. The axis's endpoint and system id come from it or from the topology
  (`extra.axis_clients[organ id]`), the secret from an environment variable or the file it names, never from a
  file of the repository.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import signal
import threading
from pathlib import Path

from services.common.errors import CongVanError
from services.interconnect import broker, edxml
from services.interconnect.edge import Edge
from services.interconnect.loop import Loop
from services.interconnect.topology import Topology

log = logging.getLogger("congvan.axis_edge")


class OutboxIntake(Loop):
    """The registry's outgoing events into the edge outbox; acked once the row is stored (the sender sends)."""

    def __init__(self, edge: Edge, wake: threading.Event) -> None:
        super().__init__(f"outgoing:{edge.organ_id}")
        self.edge, self.wake = edge, wake

    def session(self) -> None:
        params = self.edge.creds.params(broker.services_user(self.edge.topology, self.edge.organ_id),
                                        broker.agency_vhost(self.edge.topology, self.edge.organ_id))
        with broker.confirmed_channel(params) as (_conn, ch):
            def handle(method, _props, body) -> None:
                try:
                    payload = json.loads(body)
                    self.edge.prepare_outgoing(payload)
                except edxml.EdxmlError as exc:
                    # As the RabbitMQ edge does: a package real receivers would refuse is refused before it
                    # leaves, each recipient "Từ chối" with the reason in our registry, and the event is done.
                    log.error("outgoing package refused before sending: %s", exc)
                    self.edge.refuse_unsendable(payload, exc)
                    ch.basic_ack(method.delivery_tag)
                    return
                except (ValueError, CongVanError) as exc:
                    log.error("outgoing event refused: %s", exc)  # dead-lettered at once, for an operator
                    ch.basic_nack(method.delivery_tag, requeue=False)
                    return
                ch.basic_ack(method.delivery_tag)
                self.wake.set()

            self.consume(ch, broker.EDGE_OUTGOING, handle)


def hand_over(edge: Edge, data: bytes, wake: threading.Event) -> str:
    """A package fetched from the axis, handed to the edge; '' once stored and registered (or found a duplicate),
    else the parser's reason (the edge answers the sender with a 02 as well). The edge's own replies (01/02) are
    in its outbox then, and the sender loop is woken to send them. A failure of the registry or of our database
    propagates: the package stays unacknowledged on the axis and is fetched again."""
    failure = ""
    try:
        edxml.parse(data)
    except edxml.EdxmlError as exc:
        failure = exc.message_vi
    if edge.take_incoming(data, {}):
        wake.set()
    return failure


def arguments(description: str, secret_env: str, poll_seconds: float, argv: list[str] | None,
              more: list[tuple[str, dict]] = ()) -> tuple[argparse.Namespace, Topology, str]:
    """The command line of a client edge, its topology, and its secret (`secret_env`, or the file named by
    `<secret_env>_FILE`, e.g. a container secret); logging set up, `kill -USR1` dumps every thread's stack."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--agency", required=True)
    parser.add_argument("--topology", required=True, type=Path)
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--endpoint", default="", help="the axis's endpoint (else extra.axis_clients in the topology)")
    parser.add_argument("--system-id", default="", help="our system's id on the axis (else from the topology)")
    parser.add_argument("--poll-seconds", type=float, default=poll_seconds)
    parser.add_argument("--metrics-port", type=int, default=0)
    for flag, options in more:
        parser.add_argument(flag, **options)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    topology = Topology.load(args.topology)
    configured = topology.axis_client(args.agency)
    args.endpoint = args.endpoint or str(configured.get("endpoint") or "")
    args.system_id = args.system_id or str(configured.get("system_id") or "")
    if not args.endpoint or not args.system_id:
        raise SystemExit(f"{args.agency}: no endpoint or system id for the axis (--endpoint, --system-id, or "
                         f"extra.axis_clients in {args.topology})")
    secret = os.environ.get(secret_env, "")
    if not secret and os.environ.get(f"{secret_env}_FILE"):
        secret = Path(os.environ[f"{secret_env}_FILE"]).read_text().strip()
    if not secret:
        raise SystemExit(f"{secret_env} is not set (nor {secret_env}_FILE): the axis's secret for this system, "
                         "issued by the axis's operator (never in a file of the repository)")
    return args, topology, secret
