"""The link guard of one hub's broker: a CRL that revokes more certificates also ends the links accepted before it.

    RABBIT_API_URI=http://<administrator>:<password>@<broker>:15672 \
      python -m services.interconnect.link_guard --hub H60 --crl-dir /etc/rabbitmq/tls/crl \
        [--check-seconds 30] [--metrics-port N]

RabbitMQ checks a neighbour hub's client certificate against the CRL at the handshake only, and its management
API lists a connection's peer certificate by subject, issuer and validity, never by serial: which open link
holds the newly revoked certificate cannot be told. So, every `--check-seconds` (HUB_LINK_CRL_CHECK_SECONDS),
when a CRL of the directory revokes a serial it did not revoke at the previous check (at start: when it revokes
any), every connection that logged in with a certificate (`ssl`, a peer certificate) and was accepted before
that CRL file was written is closed (`DELETE /api/connections/<name>`, the reason in `X-Reason`). Each peer's
forwarder reconnects within a second and the broker judges its certificate against the new CRL: the revoked one
is refused, the others are back. What a closed link had not had confirmed stays in its hub's local queue.

Only an administrator of the broker may close another user's connection (the `monitoring` and `management` tags
may not: tried on RabbitMQ 3.10), so this runs beside the broker with the broker's credentials, not inside the
hub process, which parses what agencies send and holds only its own limited users.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any

from services.common.clock import VN_TZ
from services.common.rabbit_admin import RabbitAdmin
from services.interconnect import metrics as m
from services.interconnect.link_revocation import CHECK_SECONDS, Crl, describe, read_crls

log = logging.getLogger("congvan.link_guard")


def certified(connection: dict[str, Any]) -> bool:
    """A connection that logged in with a client certificate: a hub link (the listener trusts only their CA)."""
    return bool(connection.get("ssl")) and bool(connection.get("peer_cert_subject"))


class LinkGuard(threading.Thread):
    def __init__(self, hub: str, admin: RabbitAdmin, crl_dir: Path, interval: float = CHECK_SECONDS) -> None:
        super().__init__(name=f"linkguard:{hub}", daemon=True)
        self.hub, self.admin, self.crl_dir, self.interval = hub, admin, Path(crl_dir), interval
        self.stopping = threading.Event()
        self.connected = threading.Event()    # the last check read the CRL and the broker's connections
        self.seen: dict[str, frozenset[int]] = {}   # CRL issuer -> the serials it revoked at the last check
        # CRL issuer -> the CRL that last revoked more, with the serials it added: every link accepted before
        # that CRL was written is closed, at this check or a later one (the management API lists a connection
        # only once its first statistics are out, a few seconds after it opened).
        self.latest: dict[str, tuple[Crl, list[int]]] = {}
        self.closed: set[str] = set()         # connections closed already (the API lists them a while longer)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.check()
            except Exception as exc:
                self.connected.clear()
                log.error("%s: check failed (%s: %s); trying again in %.0f s", self.name,
                          exc.__class__.__name__, exc, self.interval)
            self.stopping.wait(self.interval)

    def check(self) -> list[str]:
        """One round; returns the names of the connections closed."""
        crls = read_crls(self.crl_dir)
        m.LINK_CRL_PROBLEM.labels(self.hub).set(1 if crls.problems else 0)
        for problem in crls.problems:
            log.error("%s: %s", self.name, problem)
        for crl in crls.crls:
            issuer = crl.issuer.rfc4514_string()
            added = sorted(set(crl.revoked) - self.seen.get(issuer, frozenset()))
            if added:
                self.latest[issuer] = (crl, added)
            self.seen[issuer] = frozenset(crl.revoked)
        closed: list[str] = []
        if self.latest:
            listed = [c for c in self.admin.connections() if certified(c)]
            self.closed &= {c["name"] for c in listed}
            for crl, added in self.latest.values():
                closed += self._close_accepted_before(crl, added, listed)
        self.connected.set()
        return closed

    def _close_accepted_before(self, crl: Crl, added: list[int], connections: list[dict[str, Any]]) -> list[str]:
        serials = ", ".join(f"{s:x}" for s in added)
        closed = []
        for conn in connections:
            opened = int(conn.get("connected_at") or 0) / 1000
            if opened >= crl.published or conn["name"] in self.closed:
                continue   # accepted after this CRL was in place (its handshake checked it), or closed already
            reason = (f"closed by the link guard of hub {self.hub}: the {describe(crl)} revokes serial(s) "
                      f"{serials}; this link was accepted before it and must be checked again")
            self.closed.add(conn["name"])
            if self._close(conn["name"], reason):
                m.LINK_CLOSED_BY_CRL.labels(self.hub, "incoming").inc()
                closed.append(conn["name"])
                log.warning("%s: closed link connection %r of %s (certificate %s, valid %s, opened %s): the %s "
                            "revokes serial(s) %s; it reconnects and the broker checks its certificate against "
                            "this CRL (a revoked one is refused: 'Certificate Revoked' in the broker's log)",
                            self.name, conn["name"], conn.get("user"), conn.get("peer_cert_subject"),
                            conn.get("peer_cert_validity"),
                            datetime.fromtimestamp(opened, VN_TZ).strftime("%Y-%m-%d %H:%M:%S"), describe(crl),
                            serials)
        return closed

    def _close(self, name: str, reason: str) -> bool:
        r = self.admin.client.delete(f"{self.admin.base}/connections/{urllib.parse.quote(name, safe='')}",
                                     headers={"X-Reason": reason.encode("ascii", "replace").decode()})
        if r.status_code == 404:
            return False   # gone already
        r.raise_for_status()
        return True


def main(argv: list[str] | None = None) -> None:
    from services.interconnect.process import run_until_signalled

    parser = argparse.ArgumentParser(description="Trục liên thông: close hub links a newer CRL revokes")
    parser.add_argument("--hub", required=True)
    parser.add_argument("--crl-dir", required=True, type=Path)
    parser.add_argument("--check-seconds", type=float, default=CHECK_SECONDS)
    parser.add_argument("--metrics-port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    guard = LinkGuard(args.hub, RabbitAdmin(os.environ["RABBIT_API_URI"]), args.crl_dir, args.check_seconds)
    run_until_signalled(f"link guard {args.hub}", [guard], args.metrics_port, hub=args.hub)


if __name__ == "__main__":
    main()
