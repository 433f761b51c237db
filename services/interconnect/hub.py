"""A hub of the interconnect (trục liên thông): validates, traces and routes edXML packages on RabbitMQ (pika).

    python -m services.interconnect.hub --hub H60 --topology FILE --run-dir DIR --metrics-port N

Three kinds of loops, each on its own connections and thread, each reconnecting with back-off:
- the relay: consume `relay` (what agencies and neighbour hubs submitted), validate, append this hub to the
  TraceHeaderList, publish one copy per next hop: to `deliver` for an inbox, straight into the neighbour hub's
  `submit` for another hub while that link is up (else to `deliver` -> `upstream` / `down.<child>`), and ack
  only once every onward publish is confirmed. Refusals go back to the sender as status 02.
- the uplink (provincial hubs): move `upstream` into the parent hub's submit exchange.
- the downlinks (national hub): move `down.<child>` into each child hub's submit exchange.
  Both hold what the relay's direct link could not hand over (hub_links.py).
A message that keeps failing is dead-lettered by the broker after the delivery limit (`congvan dlq`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from services.common import clock
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml, link_revocation
from services.interconnect import metrics as m
from services.interconnect.domain import (
    H_ORIGIN,
    H_PREDECESSORS,
    H_READDRESSED,
    H_RECIPIENTS,
    H_SUBMITTED,
    H_TO,
    H_UNDECODABLE,
    Reason,
)
from services.interconnect.hub_directory import (  # TopologyRecipients: tests and fuzzers build hubs on it
    RecipientDirectory,
    TopologyRecipients,  # noqa: F401
    open_directory,
)
from services.interconnect.hub_links import DirectLink, connect_link
from services.interconnect.loop import OWN_DATABASE, PREFETCH, Loop
from services.interconnect.models import HubBase
from services.interconnect.process import process_arguments, run_until_signalled
from services.interconnect.relaylog import RelayLog
from services.interconnect.topology import Topology

log = logging.getLogger("congvan.hub")
# Failures of the hub itself, not of the message: the message is retried (redelivered), not refused.
INFRASTRUCTURE = (*broker.TRANSIENT, *OWN_DATABASE)
WINDOW = PREFETCH  # packages relayed between two waits for confirms (at most the prefetch)
DIRECTORY_MEMO_SECONDS = float(os.environ.get("HUB_DIRECTORY_MEMO_SECONDS", "1"))
MEMO_ENTRIES = 10_000


@dataclass
class Copy:
    key: str
    body: bytes
    headers: dict[str, Any]
    message_id: str


@dataclass
class Outcome:
    copies: list[Copy] = field(default_factory=list)


class Hub:
    """The relay rules of one hub, over a directory and a relay log; the transport is in `RelayLoop`."""

    def __init__(self, topology: Topology, code: str, directory: RecipientDirectory, relay_log: RelayLog,
                 max_bytes: int = domain.MAX_PACKAGE_BYTES) -> None:
        self.topology = topology
        self.spec = topology.hub(code)
        self.code = code
        self.directory = directory
        self.log = relay_log
        self.max_bytes = max_bytes
        self.children = broker.children(topology, code)
        self.me = domain.trace_organ_id(code)
        self.user = broker.hub_user(topology, code)
        # One broker identity per installation: its user -> the organ id naming the installation.
        self._agency_users = {broker.agency_user(topology, a.organ_id): a.organ_id for a in topology.installations()}
        self._neighbour_users = {broker.hub_user(topology, h) for h in [*self.children, self.spec.parent] if h}
        self._gateway_user = broker.gateway_user(topology, code)
        self.memo_seconds = 0.0
        self._memo: dict[tuple[str, ...], tuple[float, Any]] = {}

    def _ask(self, question: str, *args: str) -> Any:
        """The directory's answer, remembered for `memo_seconds` (the hub process: DIRECTORY_MEMO_SECONDS).
        Four directory queries per recipient were two thirds of a relaying hub's CPU per package; the packages
        of a busy second mostly share their recipients. A directory change (sync, onboarding, a lock) is
        therefore seen by the relay up to that long after it is written."""
        if self.memo_seconds <= 0:
            return getattr(self.directory, question)(*args)
        now = time.monotonic()
        key = (question, *args)
        known = self._memo.get(key)
        if known is None or known[0] < now:
            if len(self._memo) > MEMO_ENTRIES:
                self._memo.clear()
            known = (now + self.memo_seconds, getattr(self.directory, question)(*args))
            self._memo[key] = known
        return known[1]

    # -- one submitted message -> onward copies ----------------------------------------------------------
    def handle(self, body: bytes, props: pika.BasicProperties) -> Outcome:
        """The fate of one message: its onward copies, or a status 02 to its authenticated sender.

        Never raises for anything about the message itself (codec, trace, attachments, headers): such an
        exception is answered with a 02 (PROCESSING_ERROR) like any refusal, so nothing dies in `dead`
        unanswered. Only a failure of this hub's own database or broker propagates (the message is retried).
        """
        sha = hashlib.sha256(body).hexdigest()
        message_id = domain.printable(props.message_id, 128) or sha
        headers = props.headers if isinstance(props.headers, dict) else {}
        user = domain.printable(props.user_id, 64)
        redriven = user == self.user
        try:
            if redriven:
                # Re-driven by an operator from `dead`: judged as the submitter this hub's relay log recorded.
                # Not logged (it died before its window was written): the agency user `congvan dlq redrive`
                # copied from the dead message's broker-checked user_id; never a hub's, whose headers we trust.
                fallback = domain.printable(headers.get(domain.ORIGINAL_USER), 64)
                user = self.log.submitter(message_id) or (fallback if fallback in self._agency_users else "")
            if user in self._neighbour_users:
                return self._relay_from_hub(body, headers, message_id, sha, user)
            return self._first_hop(body, headers, message_id, sha, user, redriven)
        except INFRASTRUCTURE:
            raise
        except Exception as exc:
            log.exception("relay of %s from %s failed; answered with 02", message_id, user)
            sender = self._agency_users.get(user) or (domain.printable(headers.get(H_ORIGIN), 64)
                                                       if user in self._neighbour_users else "")
            if not sender:
                self._reject_log(message_id, sha, user, Reason.PROCESSING_ERROR, repr(exc))
                return Outcome()
            return self._refuse_all(body, None, sender, message_id, sha, Reason.PROCESSING_ERROR,
                                    f"{exc.__class__.__name__}: {exc}")

    def _first_hop(self, body: bytes, received: dict[str, Any], message_id: str, sha: str, user: str,
                   redriven: bool) -> Outcome:
        """A package from one of our agencies: every header it brought is dropped but x-submitted-at (read
        only for the latency metric); the routing headers are computed here."""
        # `sender` starts as the installation the broker-checked user stands for; below it becomes the `From`
        # agency once the directory says that installation hosts it.
        sender = self._agency_users.get(user)
        installation = sender
        if user == self._gateway_user:  # the VDXP API checked the system's HMAC and that it owns the sender
            sender = domain.printable(received.get(H_ORIGIN), 64) or None
            installation = None
        self.log.append("received", message_id, sender=sender or user, sha256=sha,
                        detail=f"user={user}" + ("; redriven" if redriven else ""))
        if sender is None:
            # Nobody to answer: the broker only lets our own users publish here (or a redrive of a message this
            # hub never recorded): a misconfiguration or a forgery, logged.
            self._reject_log(message_id, sha, user, Reason.UNAUTHENTICATED, f"user_id={user!r}")
            return Outcome()
        submitted = received.get(H_SUBMITTED)
        headers: dict[str, Any] = {H_SUBMITTED: submitted if type(submitted) is int else domain.epoch_ms()}
        if H_UNDECODABLE in received:
            return self._refuse_all(body, None, sender, message_id, sha, Reason.FORMAT_ERROR,
                                    f"tiêu đề AMQP không đọc được ({domain.printable(received[H_UNDECODABLE], 200)})")
        if len(body) > self.max_bytes:
            return self._refuse_all(body, None, sender, message_id, sha, Reason.TOO_LARGE,
                                    f"{len(body)} byte > {self.max_bytes} byte")
        try:
            parsed = edxml.parse(body)
        except edxml.EdxmlError as exc:
            reason = Reason(exc.reason) if exc.reason in Reason.__members__ else Reason.FORMAT_ERROR
            return self._refuse_all(body, None, sender, message_id, sha, reason, exc.detail)
        header = parsed.header
        claimed = (header.get("from") or {}).get("organ_id", "")
        if claimed != sender:
            if not (installation and claimed and self._ask("hosts", installation, claimed)):
                return self._refuse_all(body, header, sender, message_id, sha, Reason.FORGED_SENDER,
                                        f"gói tin ghi {claimed or '(trống)'}, tài khoản gửi là {user}; danh bạ "
                                        f"không ghi cơ quan đó thuộc cụm máy chủ (installation) {sender}")
            sender = claimed  # a hosted agency of the installation that submitted it
        if parsed.kind == "status":
            # build_status puts the destination in ResponseFor/OrganId (the original recipient for a 13).
            to = (header.get("to") or {}).get("organ_id") or (header.get("response_for") or {}).get("organ_id")
            recipients = [str(to)] if to else []
            headers[H_TO] = recipients[0] if recipients else ""
            # The receiving edge accepts a status only from a recipient of the document; a successor answers
            # for the agencies it replaced (2025 mergers), which only the directory knows.
            headers[H_PREDECESSORS] = self._ask("predecessors", sender)
        else:
            recipients = [str(t.get("organ_id", "")) for t in header.get("to") or []]
        if not recipients:
            return self._refuse_all(body, header, sender, message_id, sha, Reason.FORMAT_ERROR,
                                    "không có cơ quan nhận")
        self.log.append("validated", message_id, document_id=self._doc_id(header), sender=sender,
                        recipients=recipients, sha256=sha, detail=parsed.kind)
        headers[H_ORIGIN] = sender
        return self._route(body, header, parsed.kind, sender, recipients, headers, message_id, sha)

    def _relay_from_hub(self, body: bytes, headers: dict[str, Any], message_id: str, sha: str,
                        user: str) -> Outcome:
        """A neighbour hub already validated this package and set its headers; route the recipients it
        addressed to us. Only a hub's own broker user gets here, so its headers are believed."""
        recipients = domain.organ_ids(headers.get(H_RECIPIENTS))
        sender = domain.printable(headers.get(H_ORIGIN, ""), 64)
        kind = "status" if headers.get(H_TO) else "edoc"
        # The kind is logged so that this hub's report counts documents apart from status reports.
        self.log.append("received", message_id, sender=sender, recipients=recipients, sha256=sha,
                        detail=f"from {user}; kind={kind}")
        return self._route(body, None, kind, sender, recipients, dict(headers), message_id, sha)

    def _route(self, body: bytes, header: dict[str, Any] | None, kind: str, sender: str, recipients: list[str],
               headers: dict[str, Any], message_id: str, sha: str) -> Outcome:
        # A recipient replaced by a successor (2025 mergers) is routed, and its inbox found, under the
        # successor's id; the package itself still names the original, so the map travels in a header for
        # the receiving edge and stays in the relay log.
        readdressed = domain.readdress(headers.get(H_READDRESSED), recipients,
                                       lambda organ: self._ask("current_id", organ))
        current = [readdressed.get(organ, organ) for organ in recipients]
        facts = {}
        for organ in current:
            ok, reason_vi = self._ask("is_deliverable", organ)
            facts[organ] = (ok, reason_vi, self._ask("serving_hub", organ))
        placement = self._place(current, facts)
        # The first hub parsed the package and checked its own splice; a neighbour's package is spliced as bytes.
        traced = edxml.append_trace(body, self.me, clock.now_vn(), checked=header is not None,
                                    trace=header.get("trace") if header is not None else None)
        out = Outcome()
        for key, organs in placement.routes.items():
            copy_headers = {**headers, H_RECIPIENTS: organs}
            moved = {old: new for old, new in readdressed.items() if new in organs}
            if moved:
                copy_headers[H_READDRESSED] = moved
            out.copies.append(Copy(key, traced, copy_headers, message_id))
            detail = f"key={key}" + "".join(f"; {old} -> {new} (kế thừa)" for old, new in moved.items())
            inbox = domain.is_inbox_key(key)
            self.log.append("delivered" if inbox else "routed", message_id,
                            document_id=self._doc_id(header), sender=sender, recipients=organs,
                            sha256=hashlib.sha256(traced).hexdigest(), detail=detail)
            m.RELAYED.labels(self.code, kind, "inbox" if inbox else key).inc()
        originals = {new: old for old, new in readdressed.items()}
        for organ, (reason, detail) in placement.refused.items():
            organ = originals.get(organ, organ)  # the sender tracks the recipient it addressed
            if kind == "status":  # a status nobody can take is logged, never answered (no status loops)
                self._reject_log(message_id, sha, sender, reason, detail, [organ])
                continue
            out.copies.extend(self._refusal(header, sender, message_id, sha, reason, detail,
                                            reporter=organ).copies)
        return out

    def _refuse_all(self, body: bytes, header: dict[str, Any] | None, sender: str, message_id: str, sha: str,
                    reason: Reason, detail: str) -> Outcome:
        if header is None:
            try:  # best effort: name the document in the status if the envelope is readable at all
                header = edxml.peek(body)
            except Exception:
                header = None
        if header and header.get("status_code"):
            self._reject_log(message_id, sha, sender, reason, detail)
            return Outcome()
        try:
            return self._refusal(header, sender, message_id, sha, reason, detail, reporter=None)
        except INFRASTRUCTURE:
            raise
        except Exception:  # the header's own values broke the status: answer without them
            log.exception("status 02 for %s built without the package's header", message_id)
            return self._refusal(None, sender, message_id, sha, reason, detail, reporter=None)

    def _refusal(self, header: dict[str, Any] | None, sender: str, message_id: str, sha: str, reason: Reason,
                 detail: str, reporter: str | None) -> Outcome:
        self._reject_log(message_id, sha, sender, reason, detail, [reporter] if reporter else [])
        status = domain.rejection_status(
            reporter={"organ_id": reporter or self.me, "organ_name": self.spec.name},
            sender=sender, response_for=domain.response_for_of(header, sender, message_id),
            reason=reason, detail=detail, at=clock.now_vn())
        body = edxml.append_trace(edxml.build_status(status), self.me, clock.now_vn())
        status_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.me}/{message_id}/{reporter}/{reason}"))
        headers = {H_TO: sender, H_ORIGIN: self.me, H_SUBMITTED: domain.epoch_ms()}
        placement = self._place([sender], {sender: (True, "", self._ask("serving_hub", sender))})
        return Outcome([Copy(key, body, {**headers, H_RECIPIENTS: organs}, status_id)
                        for key, organs in placement.routes.items()])

    def _place(self, recipients: list[str], facts: dict[str, tuple[bool, str, str | None]]) -> domain.Placement:
        """Copies per next hop; a recipient served here goes to its installation's inbox (the directory says
        which, so an agency onboarded a moment ago is reached at once, with no queue or binding of its own)."""
        inboxes = {organ: self._ask("installation_of", organ) for organ in recipients
                   if facts.get(organ, (False, "", None))[2] == self.code}
        return domain.place(self.code, self.children, bool(self.spec.parent), recipients, facts, inboxes)

    def _reject_log(self, message_id: str, sha: str, sender: str, reason: Reason, detail: str,
                    recipients: list[str] | None = None) -> None:
        m.REJECTED.labels(self.code, str(reason)).inc()
        self.log.append("rejected", message_id, sender=sender, recipients=recipients or [], sha256=sha,
                        detail=f"{reason}: {detail}")
        log.info("rejected %s from %s: %s %s", message_id, sender, reason, detail)

    @staticmethod
    def _doc_id(header: dict[str, Any] | None) -> str:
        if not header:
            return ""
        return str(header.get("document_id") or (header.get("response_for") or {}).get("document_id") or "")


# --- transport ------------------------------------------------------------------------------------------


class RelayLoop(Loop):
    """Relays in windows: each package's onward copies are published at once; when the window is full or no
    further package is already waiting, the loop waits for all their confirms, writes the window's relay-log
    rows in one transaction, and acks the window (one multiple ack). A crash or a failed publish anywhere
    before that ack means the whole window is redelivered and relayed again (at-least-once; receivers dedupe).

    `links` (deliver key -> DirectLink): a copy for a neighbour hub goes straight into its `submit` while that
    link is up, else into the local `upstream` / `down.<child>` queue for the forwarder; copies the neighbour
    did not confirm are queued locally before the window is acked (hub_links.py)."""

    def __init__(self, hub: Hub, creds: broker.Credentials, clock: m.InboxClock | None = None,
                 window: int = WINDOW, links: dict[str, DirectLink] | None = None) -> None:
        super().__init__(f"relay:{hub.code}")
        self.hub, self.creds, self.clock, self.window = hub, creds, clock, window
        self.links = links or {}

    def session(self) -> None:
        params = self.creds.params(self.hub.user, broker.hub_vhost(self.hub.topology, self.hub.code))
        conn = pika.BlockingConnection(params)
        try:
            ch = conn.channel()
            publisher = broker.PublishWindow(conn, ch)
            held: list[int] = []          # delivery tags handled, not yet acked
            copies: list[Copy] = []       # their onward copies, for the metrics once confirmed
            self.hub.log.hold()

            def handle(method, props, body) -> None:
                mark = self.hub.log.mark()

                def attempt() -> Outcome:
                    self.hub.log.truncate(mark)   # rows of an attempt that failed are not the message's story
                    return self.hub.handle(body, props)

                try:
                    outcome = self.hold_on(conn, attempt, OWN_DATABASE, self._database_answers,
                                           f"relay of {props.message_id}")
                except broker.TRANSIENT:
                    raise
                except Exception:
                    log.exception("relay of %s failed; it will be retried, then dead-lettered", props.message_id)
                    self.hub.log.truncate(mark)
                    ch.basic_nack(method.delivery_tag, requeue=True)
                    outcome = None
                if outcome is not None:
                    for copy in outcome.copies:
                        link = self.links.get(copy.key)
                        if link is None or not link.publish(copy):
                            self._queue(publisher, copy, link)
                    held.append(method.delivery_tag)
                    copies.extend(outcome.copies)
                if held and (len(held) >= self.window or ch.get_waiting_message_count() == 0):
                    for link in self.links.values():
                        for copy in link.confirm():   # what the neighbour did not confirm waits locally
                            self._queue(publisher, copy, link)
                    publisher.wait()
                    self.hold_on(conn, self.hub.log.flush, OWN_DATABASE, lambda _exc: False, "relay-log window")
                    ch.basic_ack(held[-1], multiple=True)
                    self._delivered(copies)
                    held.clear()
                    copies.clear()
                    self.hub.log.hold()
                    self._tend_links()

            self.consume(ch, self.creds.queue(broker.RELAY_QUEUE), handle, idle=self._tend_links)
        finally:
            self.hub.log.discard()
            for link in self.links.values():
                link.close()
            broker.close_quietly(conn)

    def _queue(self, publisher: broker.PublishWindow, copy: Copy, link: DirectLink | None) -> None:
        publisher.publish(broker.DELIVER, copy.key, copy.body, user_id=self.hub.user,
                          message_id=copy.message_id, headers=copy.headers, mandatory=True)
        if link is not None:
            m.LINK_QUEUED.labels(link.name).inc()

    def _tend_links(self) -> None:
        for link in self.links.values():
            link.tend()

    def _database_answers(self, _exc: BaseException) -> bool:
        return self.hub.log.db.answers()

    def _delivered(self, copies: list[Copy]) -> None:
        for copy in copies:
            if domain.is_inbox_key(copy.key):  # into a served installation's inbox
                age = domain.age_seconds(copy.headers.get(H_SUBMITTED))
                if age is not None:
                    m.RELAY_LATENCY.labels(self.hub.code).observe(age)
                if self.clock:
                    self.clock.published(self.creds.queue(broker.inbox_queue(copy.key)))


class Forwarder(Loop):
    """Moves one local queue into a neighbour hub's submit exchange; acks locally after the remote confirm.

    With separate brokers the neighbour's is reached over AMQPS with this hub's certificate (`link_params`);
    a refusal (certificate unknown, revoked, no such user) is logged as such and retried with back-off, and
    the packages wait in the local queue meanwhile."""

    def __init__(self, name: str, creds: broker.Credentials, user: str, local_vhost: str, queue: str,
                 remote_vhost: str, remote_hub: str = "") -> None:
        super().__init__(name)
        self.creds, self.user, self.local_vhost, self.queue, self.remote_vhost, self.remote_hub = (
            creds, user, local_vhost, queue, remote_vhost, remote_hub)

    def _connect_remote(self) -> pika.BlockingConnection:
        return connect_link(self.name, self.creds, self.user, self.remote_hub, self.remote_vhost,
                            on_cut=self.connected.clear)

    def direct_link(self) -> DirectLink:
        """The relay loop's direct link over the same hop, used while this forwarder is connected."""
        return DirectLink(self.name, self.creds, self.user, self.remote_hub, self.remote_vhost, self.connected)

    def session(self) -> None:
        remote_conn = self._connect_remote()
        try:
            publisher = broker.PublishWindow(remote_conn, remote_conn.channel())
            with broker.confirmed_channel(self.creds.params(self.user, self.local_vhost)) as (_lc, local):
                held: list[int] = []

                def handle(method, props, body) -> None:
                    publisher.publish(broker.SUBMIT, "", body, user_id=self.user, message_id=props.message_id,
                                      headers=dict(props.headers or {}))
                    held.append(method.delivery_tag)
                    # A window of forwards is confirmed by the neighbour before it is acked here.
                    if len(held) >= WINDOW or local.get_waiting_message_count() == 0:
                        publisher.wait()
                        local.basic_ack(held[-1], multiple=True)
                        held.clear()

                # Idle, the neighbour's connection is still served (heartbeats, a close by its broker or its link
                # guard): the relay loop's direct link carries most packages now, and a forwarder that noticed a
                # dead link only at its next package would keep `connected` set and its dead link open for good.
                self.consume(local, self.queue, handle, idle=lambda: remote_conn.process_data_events(0))
        finally:
            broker.close_quietly(remote_conn)


# --- the process ----------------------------------------------------------------------------------------


def build_hub(topology: Topology, code: str, run_dir: Path) -> Hub:
    settings = CommonSettings(data_dir=Path(run_dir) / "data")
    database = Database("hub", f"{broker.namespace(topology)}hub.{code}", HubBase.metadata, settings)
    database.create_all()
    relay_log = RelayLog(database, domain.trace_organ_id(code))
    hub = Hub(topology, code, open_directory(topology, code, settings), relay_log)
    hub.memo_seconds = DIRECTORY_MEMO_SECONDS
    return hub


def main(argv: list[str] | None = None) -> None:
    args = process_arguments("Trục liên thông văn bản: one hub", "hub", argv)
    topology = Topology.load(args.topology)
    creds = broker.Credentials.load(args.run_dir)
    hub = build_hub(topology, args.hub, args.run_dir)
    clock = m.InboxClock()
    vhost = broker.hub_vhost(topology, args.hub)
    forwarders: dict[str, Forwarder] = {}   # deliver key -> the link's forwarder
    if hub.spec.parent:
        forwarders[domain.UP_KEY] = Forwarder(f"uplink:{args.hub}", creds, hub.user, vhost,
                                              creds.queue(broker.UPSTREAM_QUEUE),
                                              broker.hub_vhost(topology, hub.spec.parent), hub.spec.parent)
    for child in hub.children:
        forwarders[broker.hub_key(child)] = Forwarder(f"downlink:{child}", creds, hub.user, vhost,
                                                      creds.queue(broker.down_queue(child)),
                                                      broker.hub_vhost(topology, child), child)
    links = {key: forwarder.direct_link() for key, forwarder in forwarders.items()}
    loops: list[Loop] = [RelayLoop(hub, creds, clock, links=links), *forwarders.values()]
    _start_poller(topology, args.hub, creds, clock)
    link_revocation.WATCH.hub = args.hub
    link_revocation.WATCH.start()
    run_until_signalled(f"hub {args.hub}", loops, args.metrics_port,
                        routes={"/report": _report_route(topology, hub, args.run_dir)}, hub=args.hub)


def _report_route(topology: Topology, hub: Hub, run_dir: Path):
    """GET /report: this hub's figures for the operator's screen (services/interconnect/hub_report.py, bearer token)."""
    from services.interconnect.hub_report import hub_report_token, report_route

    served = {a.organ_id: a.name for a in topology.agencies_of(hub.code)}
    return report_route(hub.log.db, hub.code, hub.spec.name, served, hub_report_token(hub.code, run_dir),
                        {str(r): text for r, text in domain.REASON_VI.items()})


def _start_poller(topology: Topology, code: str, creds: broker.Credentials, clock: m.InboxClock) -> None:
    """Queue gauges need the management API; its URI comes from RABBIT_API_URI (absent: no gauges)."""
    import os

    from services.common.rabbit_admin import RabbitAdmin

    api = os.environ.get("RABBIT_API_URI")
    if api:
        inboxes = {creds.queue(broker.inbox_queue(a.organ_id)): a.organ_id for a in topology.installations_of(code)}
        m.QueuePoller(RabbitAdmin(api), broker.hub_vhost(topology, code), code, inboxes,
                      creds.queue(broker.DEAD_QUEUE), oldest=clock.oldest_age).start()


if __name__ == "__main__":
    main()
