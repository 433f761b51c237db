"""Revocation of hub links that are already open (issue 17, item 5).

A broker checks a link's certificate against the CA's CRL at the TLS handshake only; a connection accepted
before a revocation stays open for as long as it lives. Two checks close such links within one check interval
(`HUB_LINK_CRL_CHECK_SECONDS`, 30 s by default) of the CRL being published:

- our forwarder's side, `LinkWatch` (in the hub process): the neighbour broker's server certificate of each
  open link, kept when the link was set up, is looked up in the CRL; a revoked one cuts the link, and the next
  handshake refuses it (`broker.link_context` checks the CRL too).
- our broker's side, `link_guard.LinkGuard` (a process beside the broker): the management API does not say a
  connection's certificate serial, so when the CRL revokes more serials than before, every link connection
  accepted before the new CRL was published is closed: each peer reconnects at once and the broker judges its
  certificate against the new CRL; the revoked one is refused. docs/interconnect.md "Revocation" says why.

The CRLs are the files of the broker's hash directory (`<issuer hash>.r<n>`, PEM or DER), as
infra/broker_pki.py writes them and Erlang's `ssl_crl_hash_dir` reads them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from services.common.clock import VN_TZ
from services.interconnect import metrics as m

log = logging.getLogger("congvan.hub")
CHECK_SECONDS = float(os.environ.get("HUB_LINK_CRL_CHECK_SECONDS", "30"))


@dataclass
class Crl:
    path: Path
    issuer: x509.Name
    revoked: dict[int, datetime]      # serial -> revocation date
    published: float                  # the file's mtime: from then on every handshake reads it
    number: int | None
    next_update: datetime | None


@dataclass
class Crls:
    """The CRLs of a hash directory, and what is wrong with it (no CRL, unreadable, expired)."""

    crls: list[Crl] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def revocation(self, cert: x509.Certificate) -> tuple[Crl, datetime] | None:
        for crl in self.crls:
            if crl.issuer == cert.issuer and cert.serial_number in crl.revoked:
                return crl, crl.revoked[cert.serial_number]
        return None


def read_crls(directory: str | Path, now: datetime | None = None) -> Crls:
    directory = Path(directory)
    found = Crls()
    now = now or datetime.now(UTC)
    try:
        paths = sorted(p for p in directory.iterdir() if p.suffix[:2] == ".r" and p.suffix[2:].isdigit())
    except OSError as exc:
        return Crls(problems=[f"CRL directory {directory}: {exc.strerror or exc}"])
    for path in paths:
        try:
            data = path.read_bytes()
            crl = (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----")
                   else x509.load_der_x509_crl(data))
            published = path.stat().st_mtime
        except (OSError, ValueError) as exc:
            found.problems.append(f"CRL {path}: unreadable ({exc})")
            continue
        try:
            number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        except x509.ExtensionNotFound:
            number = None
        next_update = crl.next_update_utc
        if next_update is not None and next_update < now:
            found.problems.append(f"CRL {path} of {crl.issuer.rfc4514_string()} expired at "
                                  f"{next_update.astimezone(VN_TZ):%Y-%m-%d %H:%M} (every handshake fails until "
                                  "a new one is published)")
        found.crls.append(Crl(path, crl.issuer, {r.serial_number: r.revocation_date_utc for r in crl},
                              published, number, next_update))
    if not paths:
        found.problems.append(f"CRL directory {directory}: no CRL (<issuer hash>.r0); every handshake fails")
    return found


def describe(crl: Crl) -> str:
    number = f" number {crl.number}" if crl.number is not None else ""
    return (f"CRL{number} of {crl.issuer.rfc4514_string()} ({crl.path.name}, published "
            f"{datetime.fromtimestamp(crl.published, VN_TZ):%Y-%m-%d %H:%M:%S})")


# --- our forwarders' side: the neighbour broker's certificate ------------------------------------------------


def peer_certificate(conn: Any) -> tuple[socket.socket, x509.Certificate] | None:
    """The TLS socket of a pika BlockingConnection and the broker's certificate on it (None: not TLS)."""
    sock = getattr(getattr(getattr(conn, "_impl", None), "_transport", None), "_sock", None)
    der = sock.getpeercert(binary_form=True) if hasattr(sock, "getpeercert") else None
    return (sock, x509.load_der_x509_certificate(der)) if der else None


@dataclass
class _Link:
    name: str
    peer: str
    sock: socket.socket
    cert: x509.Certificate
    crl_dir: str
    on_cut: Callable[[], None]
    conn: Any   # weakref.ref of the connection


class LinkWatch(threading.Thread):
    """Cuts an open link whose neighbour broker's certificate the CRL now revokes.

    The forwarder registers each link it sets up (`opened`); every `interval` seconds this thread reads the CRL
    of each link and, for a revoked certificate, logs why, counts it, and shuts the link's socket down. It does
    not touch the forwarder's pika objects (they belong to the forwarder's thread): the forwarder meets the
    closed socket at its next publish, its window goes unacked and stays in the local queue, and the reconnection
    is refused at the handshake, whose context checks the same CRL."""

    def __init__(self, hub: str = "", interval: float = CHECK_SECONDS) -> None:
        super().__init__(name="linkwatch", daemon=True)
        self.hub, self.interval = hub, interval
        self.stopping = threading.Event()
        self._links: list[_Link] = []
        self._lock = threading.Lock()

    def opened(self, conn: Any, *, name: str, peer: str, crl_dir: str | None, on_cut: Callable[[], None]) -> None:
        if not crl_dir:
            return
        found = peer_certificate(conn)
        if found is None:
            return
        sock, cert = found
        with self._lock:
            self._links.append(_Link(name, peer, sock, cert, crl_dir, on_cut, weakref.ref(conn)))

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.check()
            except Exception:
                log.exception("linkwatch: checking the links' certificates failed")

    def check(self) -> list[str]:
        """One round: cut every open link whose broker certificate is revoked; returns the links cut."""
        with self._lock:
            self._links = [link for link in self._links if (c := link.conn()) is not None and c.is_open]
            links = list(self._links)
        cut: list[str] = []
        for crl_dir in {link.crl_dir for link in links}:
            crls = read_crls(crl_dir)
            for link in (lk for lk in links if lk.crl_dir == crl_dir):
                found = crls.revocation(link.cert)
                if found is None:
                    continue
                crl, at = found
                m.LINK_CLOSED_BY_CRL.labels(self.hub, "outgoing").inc()
                log.error("%s: cutting the link to %s: its certificate (%s, serial %x) was revoked at %s by the %s; "
                          "the link stays refused at every handshake until the broker has a valid certificate",
                          link.name, link.peer, link.cert.subject.rfc4514_string(), link.cert.serial_number,
                          at.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S"), describe(crl))
                # socket.socket's own shutdown, not SSLSocket's: that one also drops the SSL object under the
                # forwarder's thread. The kernel closes the TCP connection; the TLS layer then meets EOF.
                with contextlib.suppress(OSError):   # already closed
                    socket.socket.shutdown(link.sock, socket.SHUT_RDWR)
                link.on_cut()
                cut.append(link.name)
                with self._lock:
                    self._links = [lk for lk in self._links if lk is not link]
        return cut


WATCH = LinkWatch()
