"""The consumer loop every interconnect process runs (hub relay and forwarders, the edges): a thread that
reconnects with back-off until stopped and holds a message while this process's own database is away (hub.py
"Three kinds of loops"; edge_installation.py, the axis, VDXP and LGSP edges)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy.exc

from services.interconnect import broker
from services.interconnect import metrics as m

log = logging.getLogger("congvan.interconnect.loop")  # hub and edges alike, like process.py's "congvan.interconnect"
# Failures of this process's own database, not of the message: the message is held and retried, not refused.
OWN_DATABASE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)
PREFETCH = 32
OWN_FAILURE_STRIKES = 3      # failures with our own side healthy before a message is judged the cause
OWN_FAILURE_MAX_WAIT = 30.0  # seconds between two retries while our own database is away
T = TypeVar("T")


class MessageFailed(Exception):
    """The message kept failing while this process's own database answered: let the broker count it."""


class Loop(threading.Thread):
    """A consumer that reconnects with back-off until stopped; `once(conn)` runs one connected session."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()
        self.connected = threading.Event()

    def run(self) -> None:
        backoff = broker.Backoff()
        while not self.stopping.is_set():
            try:
                self.session()
                backoff.reset()
            except broker.TRANSIENT as exc:
                self.connected.clear()
                log.warning("%s: %s; reconnecting", self.name, exc.__class__.__name__)
                backoff.wait(self.stopping.is_set)
            except Exception:
                self.connected.clear()
                log.exception("%s failed; restarting", self.name)
                backoff.wait(self.stopping.is_set)

    def session(self) -> None:
        raise NotImplementedError

    def hold_on(self, conn: Any, attempt: Callable[[], T], own: tuple[type[BaseException], ...],
                healthy: Callable[[BaseException], bool], what: str) -> T:
        """Run `attempt` again and again while it fails for a reason of our own (`own`: our database),
        waiting on the open connection in between: the message stays unacked, so the broker neither
        redelivers it nor counts a delivery against the queue's limit, and nothing is dead-lettered because
        this process's own database was down for a while. When our side answers again (`healthy`) and the
        attempt still fails, the failure is the message's: after OWN_FAILURE_STRIKES such rounds it is
        raised as MessageFailed, and the broker's delivery limit takes over."""
        delay, strikes = 0.5, 0
        while True:
            try:
                return attempt()
            except broker.TRANSIENT:
                raise
            except own as exc:
                if healthy(exc):
                    strikes += 1
                    if strikes >= OWN_FAILURE_STRIKES:
                        raise MessageFailed(f"{what}: {exc.__class__.__name__}: {exc}") from exc
                if self.stopping.is_set():
                    raise
                m.HELD_BY_OWN_FAILURE.labels(self.name.split(":", 1)[0]).inc()
                log.warning("%s: %s failed for a reason of our own (%s); holding it, retry in %.1f s",
                            self.name, what, exc.__class__.__name__, delay)
                conn.sleep(delay)   # heartbeats go on; deliveries wait in the client
                delay = min(delay * 2, OWN_FAILURE_MAX_WAIT)

    def consume(self, ch: Any, queue: str, handle, idle: Callable[[], None] | None = None) -> None:
        ch.basic_qos(prefetch_count=PREFETCH)
        self.connected.set()
        for method, props, body in ch.consume(queue, inactivity_timeout=0.5):
            if self.stopping.is_set():
                break
            if method is None:
                if idle is not None:
                    idle()
                continue
            handle(method, props, body)
        ch.cancel()
