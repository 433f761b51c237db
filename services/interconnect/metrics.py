"""Prometheus metrics of the hubs and edges (served by services.common.observability.serve_metrics).

Queue gauges (inbox depth, age of the oldest message, dead letters) are read from the management API by a
poller in the hub process, since only the broker knows them; counters and latency are counted where they happen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from services.common.rabbit_admin import RabbitAdmin

log = logging.getLogger(__name__)

RELAYED = Counter("congvan_hub_packages_relayed_total", "Packages routed onward by a hub, by kind and next hop",
                  ["hub", "kind", "hop"])
REJECTED = Counter("congvan_hub_packages_rejected_total", "Packages or recipients refused, by reason",
                   ["hub", "reason"])
RELAY_LATENCY = Histogram("congvan_relay_latency_seconds",
                          "From the sender's edge publishing to the package being in the receiver's inbox",
                          ["hub"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
EDGE_SENT = Counter("congvan_edge_packages_sent_total", "Packages an edge sent to its hub", ["agency", "kind"])
EDGE_RECEIVED = Counter("congvan_edge_packages_received_total", "Packages an edge took from its inbox, by outcome",
                        ["agency", "kind", "outcome"])
EDGE_LATENCY = Histogram("congvan_edge_end_to_end_seconds",
                         "From the sender's edge publishing to the receiving registry having it",
                         ["agency"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
OUTBOX_BACKLOG = Gauge("congvan_edge_outbox_backlog", "Outgoing packages recorded but not yet confirmed by the hub",
                       ["agency"])
INBOX_DEPTH = Gauge("congvan_hub_inbox_depth", "Messages waiting in an agency's inbox", ["hub", "agency"])
INBOX_OLDEST_AGE = Gauge("congvan_hub_inbox_oldest_age_seconds", "Age of the oldest message waiting in an inbox",
                         ["hub", "agency"])
DEAD_LETTERS = Gauge("congvan_hub_dead_letters", "Messages in the hub's dead-letter queue", ["hub"])
VDXP_CALLS = Counter("congvan_vdxp_calls_total", "Calls to a hub's VDXP API, by operation and ErrorCode",
                     ["hub", "operation", "code"])
VDXP_DURATION = Histogram("congvan_vdxp_call_seconds", "Time to answer a VDXP API call", ["hub", "operation"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LINK_REFUSED = Counter("congvan_hub_link_refused_total",
                       "Connections of a hub link refused by the neighbour's broker (TLS certificate or login)",
                       ["link"])
LINK_CLOSED_BY_CRL = Counter(
    "congvan_hub_link_closed_by_crl_total",
    "Open hub links closed after a CRL revoked more certificates (outgoing: the neighbour broker's certificate is "
    "revoked; incoming: accepted by our broker before the CRL, closed to be checked again)", ["hub", "direction"])
LINK_CRL_PROBLEM = Gauge("congvan_hub_link_crl_problem",
                         "1 while the link guard finds the broker's CRL missing, unreadable or expired", ["hub"])
LINK_QUEUED = Counter("congvan_hub_link_queued_total",
                      "Copies for a neighbour hub left in the local queue for the link's forwarder, because the "
                      "relay loop's direct link to it was not up or did not confirm them", ["link"])
HELD_BY_OWN_FAILURE = Counter("congvan_held_by_own_failure_total",
                              "Retries of a message held unacked while this process's own database "
                              "was away (nothing counted against the queue's delivery limit)", ["loop"])
VDXP_WAITING = Gauge("congvan_vdxp_packages_waiting", "Packages kept for VDXP systems, not yet done or failed",
                     ["hub"])
LGSP_CALLS = Counter("congvan_lgsp_calls_total", "Calls to a hub's LGSP API, by operation and error code",
                     ["hub", "operation", "code"])
LGSP_DURATION = Histogram("congvan_lgsp_call_seconds", "Time to answer an LGSP API call", ["hub", "operation"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LGSP_WAITING = Gauge("congvan_lgsp_packages_waiting", "Packages kept for LGSP systems, not yet done or failed",
                     ["hub"])
# An agency's client edge on an LGSP (lgsp_edge.py).
LGSP_EDGE_CALLS = Counter("congvan_lgsp_edge_calls_total", "Calls an edge made to its LGSP, by operation and "
                          "error code (unreachable: no answer)", ["agency", "operation", "code"])
LGSP_EDGE_CONFIGURATION = Gauge("congvan_lgsp_edge_configuration_error",
                                "1 while an edge has stopped calling its LGSP because the axis refused its system id, "
                                "secret (15) or sender registration (19); the code is in the label",
                                ["agency", "code"])


class QueuePoller:
    """Every `interval` seconds, copy queue depths from the management API into gauges (a daemon thread).

    `inboxes` maps each inbox's broker name to its agency and `dead` is the dead-letter queue's broker name:
    the names carry a secret tag (broker.Credentials.queue), so they are given, not parsed."""

    def __init__(self, admin: RabbitAdmin, vhost: str, hub: str, inboxes: dict[str, str], dead: str,
                 interval: float = 10.0, oldest: Callable[[str, int], float | None] | None = None) -> None:
        self.admin, self.vhost, self.hub, self.interval = admin, vhost, hub, interval
        self.inboxes, self.dead, self.oldest = inboxes, dead, oldest
        self._stop = threading.Event()

    def poll_once(self) -> None:
        for q in self.admin.queues(self.vhost):
            name, depth = q["name"], int(q.get("messages", 0) or 0)
            if name in self.inboxes:
                agency = self.inboxes[name]
                INBOX_DEPTH.labels(self.hub, agency).set(depth)
                age = self.oldest(name, depth) if (self.oldest and depth) else None
                INBOX_OLDEST_AGE.labels(self.hub, agency).set(age or 0.0)
            elif name == self.dead:
                DEAD_LETTERS.labels(self.hub).set(depth)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.poll_once()
                except Exception as exc:  # the broker may be restarting; the next round will tell
                    log.info("queue poll failed: %s", exc)

        threading.Thread(target=loop, name="queue-poller", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


class InboxClock:
    """Publish times of the last messages the hub put into each inbox, to tell the age of the oldest waiting one.

    Quorum queues on RabbitMQ 3.10 report no head-message timestamp, and peeking would count as a delivery
    (towards the dead-letter limit). Inboxes are FIFO, so with `depth` messages waiting the oldest is the
    depth-th most recent publish. Only known for messages published since this hub process started.
    """

    def __init__(self, keep: int = 100_000) -> None:
        from collections import deque

        self.keep = keep
        self._times: dict[str, deque[float]] = {}
        self._deque = deque
        self._lock = threading.Lock()

    def published(self, queue: str, at: float | None = None) -> None:
        with self._lock:
            self._times.setdefault(queue, self._deque(maxlen=self.keep)).append(at or time.time())

    def oldest_age(self, queue: str, depth: int) -> float | None:
        with self._lock:
            times = self._times.get(queue)
            if not times or depth <= 0 or depth > len(times):
                return None
            return max(0.0, time.time() - times[-depth])
