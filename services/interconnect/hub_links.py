"""A hub's links to its neighbour hubs' brokers: connecting one (shared by the forwarders and the relay loop) and
the relay loop's own direct link.

A copy for a neighbour hub used to cross the hub twice: the relay loop published it into the local `upstream` /
`down.<child>` quorum queue, then the link's forwarder consumed it and published it again into the neighbour's
`submit`. At a relaying hub those two extra passes of a 200 KB package were a third of its CPU, and the local
queue a quorum write and read on its broker (issue 17 item 5). `DirectLink` lets the relay loop publish the
copy into the neighbour's `submit` itself, in the same window as its other copies: the window is acked only
once the neighbour's broker confirmed it too. The local queue and its forwarder stay, for when the neighbour
cannot take it: a copy goes there whenever the direct link is not up (the forwarder is not connected, the
connection failed or rests after a failure), and every copy of a window the neighbour did not confirm (a nack,
a return, a broken connection, no confirm within LINK_CONFIRM_SECONDS) is published there before the window is
acked. So nothing waits on a neighbour that is away, nothing is lost, and at worst a copy reaches the
neighbour twice (the receiving edges deduplicate, as for any redelivery).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pika

from services.interconnect import broker, link_revocation
from services.interconnect import metrics as m

log = logging.getLogger("congvan.hub")
LINK_CONFIRM_SECONDS = 10.0  # a neighbour slower than this to confirm a window gets it through the local queue
LINK_REST_SECONDS = 15.0     # after a failure the direct link is left alone this long (the forwarder drains)


def connect_link(name: str, creds: broker.Credentials, user: str, remote_hub: str, remote_vhost: str,
                 on_cut: Callable[[], None] = lambda: None) -> pika.BlockingConnection:
    """Hub `user`'s connection to `remote_vhost` of neighbour hub `remote_hub` (AMQPS with the hub's certificate
    when that hub has its own broker); a refusal (certificate unknown, revoked, no such user, or the broker's
    certificate failing our check) is logged and counted as such before the exception goes on. The open link is
    handed to the hub's LinkWatch, which cuts it (then calls `on_cut`) when a CRL revokes the neighbour broker's
    certificate (link_revocation.py)."""
    try:
        conn = pika.BlockingConnection(creds.link_params(user, remote_hub, remote_vhost))
    except broker.TRANSIENT as exc:
        refusal = broker.link_refusal(exc)
        if refusal:
            m.LINK_REFUSED.labels(name).inc()
            if broker.refused_here(exc):   # the broker's certificate failed our check (CA, name, CRL)
                log.error("%s: refused hub %s's broker %s: %s", name, remote_hub, creds.link_address(remote_hub),
                          refusal)
            else:
                log.error("%s: hub %s's broker %s refused the link of %s: %s", name, remote_hub,
                          creds.link_address(remote_hub), user, refusal)
        raise
    link_revocation.WATCH.opened(conn, name=name, peer=f"hub {remote_hub}'s broker {creds.link_address(remote_hub)}",
                                 crl_dir=creds.tls.get(user, {}).get("crl"), on_cut=on_cut)
    return conn


class DirectLink:
    """The relay loop's own connection to a neighbour hub's `submit` (see the module's docstring). Used by the
    relay loop's thread only; `neighbour_up` is the link's forwarder's `connected` flag, so that a neighbour
    known to be away costs no connection attempt per window."""

    def __init__(self, name: str, creds: broker.Credentials, user: str, remote_hub: str, remote_vhost: str,
                 neighbour_up: Callable[[], bool] | threading.Event) -> None:
        self.name, self.creds, self.user, self.remote_hub, self.remote_vhost = (
            name, creds, user, remote_hub, remote_vhost)
        self._neighbour_up = neighbour_up.is_set if isinstance(neighbour_up, threading.Event) else neighbour_up
        self.conn: pika.BlockingConnection | None = None
        self.window: broker.PublishWindow | None = None
        self.pending: list[Any] = []   # copies published since the last `confirm`
        self.resting_until = 0.0

    def publish(self, copy: Any) -> bool:
        """Publish `copy` (hub.Copy) to the neighbour; False if the link is not up: queue it locally instead."""
        if self.window is None and not self._open():
            return False
        try:
            self.window.publish(broker.SUBMIT, "", copy.body, user_id=self.user, message_id=copy.message_id,
                                headers=copy.headers, mandatory=True)
        except Exception as exc:   # whatever broke, the copy has the local queue
            self._rest(exc)
            return False
        self.pending.append(copy)
        return True

    def confirm(self) -> list[Any]:
        """Wait for the neighbour's confirms of what `publish` sent since the last call; returns the copies it did
        not confirm (every one of them after any failure), which the caller must queue locally."""
        pending, self.pending = self.pending, []
        if not pending:
            return []
        if self.window is None:    # the connection failed after they were published
            return pending
        try:
            self.window.wait()
        except Exception as exc:
            self._rest(exc)
            return pending
        return []

    def tend(self) -> None:
        """Answer the neighbour's heartbeats while the link carries nothing (the relay loop calls it when idle
        and after each window), so that an idle link is not closed by the broker."""
        if self.conn is not None:
            try:
                self.conn.process_data_events(0)
            except Exception as exc:
                self._rest(exc)

    def close(self) -> None:
        """Forget the connection and whatever it has not confirmed (the relay loop's messages are redelivered)."""
        self.pending = []
        broker.close_quietly(self.conn)
        self.conn, self.window = None, None

    def _open(self) -> bool:
        if time.monotonic() < self.resting_until or not self._neighbour_up():
            return False
        try:
            self.conn = connect_link(self.name, self.creds, self.user, self.remote_hub, self.remote_vhost)
            self.window = broker.PublishWindow(self.conn, self.conn.channel(), timeout=LINK_CONFIRM_SECONDS)
        except Exception as exc:
            self._rest(exc)
            return False
        log.info("%s: direct link to hub %s open", self.name, self.remote_hub)
        return True

    def _rest(self, exc: BaseException) -> None:
        log.warning("%s: direct link to hub %s failed (%s: %s); its copies go through the local queue for %.0f s",
                    self.name, self.remote_hub, exc.__class__.__name__, exc, LINK_REST_SECONDS)
        broker.close_quietly(self.conn)
        self.conn, self.window = None, None
        self.resting_until = time.monotonic() + LINK_REST_SECONDS
