"""The routing nameko service: thin entrypoints over services.routing.app.Routing.

Every RPC takes the acting user from the nameko context; the application re-checks agency and role.
Events in: `registry.incoming_registered`, `registry.outgoing_issued`, `registry.outgoing_changed`.
Events out (outbox, exchange `routing.events`): `outgoing_status` (04/05/06 to external senders),
`draft_signed` (the registry puts the signed draft into the clerk's "waiting to issue"), `notified` (each in-app
notification: the gateway sends it by Web Push).
RPC out: `signing.sign_leader(pdf_sha256, signer_user_id, reason, on_behalf_of, signer_position)` when the leader
(or a delegate, on the leader's behalf) approves and signs; bounded by ROUTING_SIGNING_TIMEOUT seconds.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.common.actor import system_actor
from services.common.errors import CongVanError
from services.common.outbox import OutboxRelay
from services.common.rpc import ActingUser, DatabaseProvider, RpcMetrics
from services.routing import scan_check
from services.routing.app import Routing, SigningTimeout
from services.routing.models import Base
from services.routing.notify import MailSender
from services.routing.report_queries import ReportQueries
from services.routing.work import NOTICE_PAGE
from services.storage.provider import AgencyBlobStore

log = logging.getLogger(__name__)

REMINDER_INTERVAL = float(os.environ.get("ROUTING_REMINDER_INTERVAL", "300"))
SIGNING_TIMEOUT = float(os.environ.get("ROUTING_SIGNING_TIMEOUT", "30"))
# seconds between passes of the paper scan check (scan_check.py); a pass with no new scan costs nothing
SCAN_CHECK_INTERVAL = float(os.environ.get("ROUTING_SCAN_CHECK_INTERVAL", "2"))


class RoutingService(ReportQueries):
    name = "routing"

    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("routing", Base.metadata)
    outbox = OutboxRelay()
    mail = MailSender()
    blobs = AgencyBlobStore()
    # transient messages: a signer's PIN may ride in sign_leader's arguments and must not reach the broker's disk
    signing = RpcProxy("signing", delivery_mode=1)
    config = Config()

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _app(self, agency_id: str | None = None) -> Routing:
        """The routing of the acting user's agency, or of `agency_id` (events and timers have no acting user)."""
        database = self.db.for_agency(agency_id) if agency_id else self.db
        blobs = None
        if self.config.get("ROUTING_CHECK_BLOBS", True):
            blobs = self.blobs.for_agency(database.agency_id) if agency_id else self.blobs
        return Routing(database, database.agency_id, sign=self._sign, blobs=blobs)

    def _sign(self, pdf_sha256: str, signer_user_id: str, reason: str, on_behalf_of: dict | None = None,
              signer_position: str = "", operation_id: str | None = None, pin: str | None = None,
              otp: str | None = None) -> dict[str, Any]:
        # Failures (unknown service, broker trouble) become SigningUnavailable in Routing._sign. A signing service
        # that is stopped leaves the request queued: without a bound the approval would hang, so wait at most
        # ROUTING_SIGNING_TIMEOUT seconds. A signature made after we gave up is remembered by signing under
        # its operation (the draft and step) and reused when the leader approves again.
        seconds = float(self.config.get("ROUTING_SIGNING_TIMEOUT") or SIGNING_TIMEOUT)
        reply = self.signing.sign_leader.call_async(pdf_sha256, signer_user_id, reason, on_behalf_of,
                                                    signer_position, operation_id,
                                                    **({"pin": pin} if pin else {}), **({"otp": otp} if otp else {}))
        with eventlet.Timeout(seconds, SigningTimeout(seconds)):
            return reply.result()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self._app(), method)(self.actor.required(), *args, **kwargs)
        self.mail.kick()  # notifications written by the call go out by e-mail now, not at the next tick
        return result

    # -- events in (the agency is the event's: an installation's routing serves all its agencies) ---------------

    @event_handler("registry", "incoming_registered", requeue_on_error=True)
    def on_incoming_registered(self, payload: dict[str, Any]) -> None:
        agency = payload["agency_id"]
        try:
            self._app(agency).on_incoming_registered(system_actor(agency, "routing"), payload)
        except CongVanError:  # a malformed event will not get better by retrying
            log.exception("incoming_registered refused: %s", payload.get("incoming_id"))
        self.mail.kick()

    @event_handler("registry", "outgoing_issued", requeue_on_error=True)
    def on_outgoing_issued(self, payload: dict[str, Any]) -> None:
        agency = payload["agency_id"]
        try:
            self._app(agency).on_outgoing_issued(system_actor(agency, "routing"), payload)
        except CongVanError:
            log.exception("outgoing_issued refused: %s", payload.get("outgoing_id"))
        self.mail.kick()  # the people of the units it was issued to (unit_documents.py)

    @event_handler("registry", "outgoing_changed", requeue_on_error=True)
    def on_outgoing_changed(self, payload: dict[str, Any]) -> None:
        agency = payload["agency_id"]
        try:
            self._app(agency).on_outgoing_changed(system_actor(agency, "routing"), payload)
        except CongVanError:
            log.exception("outgoing_changed refused: %s", payload.get("outgoing_id"))
        self.mail.kick()

    @timer(interval=REMINDER_INTERVAL)
    def reminders(self) -> None:
        """Due-soon and overdue reminders, for the agencies that wrote since the last pass (all at start) and
        those with open deadlines still ahead; an agency with nothing open is not visited."""
        work = self.db.worklist("reminders")
        for agency in work.take():
            app = self._app(agency)
            app.run_reminders(system_actor(agency, "routing"))
            if app.deadlines_ahead():
                work.again(agency)
        self.mail.kick()

    @timer(interval=SCAN_CHECK_INTERVAL)
    def check_scans(self) -> None:
        """The paper scans waiting for their check against the approved version (scan_check.py), of the agencies
        that wrote since the last pass (all at start: a check a restart interrupted is done again)."""
        work = self.db.worklist("scan_checks")
        for agency in work.take():
            try:
                scan_check.run_pending(self._app(agency), agency, self.blobs.for_agency(agency).read)
            except Exception:  # a database or blob store briefly unreachable: the next pass retries
                log.exception("paper scan check of %s failed", agency)
                work.again(agency)
        self.mail.kick()

    # -- configuration ------------------------------------------------------------------------------------------

    @rpc
    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("configure", **changes)

    @rpc
    def get_config(self) -> dict[str, Any]:
        return self._call("get_config")

    @rpc
    def read_many(self, reads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A page's lists in one call and one transaction (services/common/reads.py; Routing.READS)."""
        return self._call("read_many", reads)

    @rpc
    def get_rules(self) -> list[dict[str, Any]]:
        return self._call("get_rules")

    @rpc
    def set_rules(self, changes: dict[str, Any]) -> list[dict[str, Any]]:
        return self._call("set_rules", changes)

    @rpc
    def schedule_week(self, week: str) -> dict[str, Any]:
        return self._call("schedule_week", week)

    @rpc
    def save_schedule_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        return self._call("save_schedule_entry", entry)

    @rpc
    def delete_schedule_entry(self, entry_id: int) -> dict[str, Any]:
        return self._call("delete_schedule_entry", entry_id)

    @rpc
    def publish_schedule(self, week: str, note: str = "") -> dict[str, Any]:
        return self._call("publish_schedule", week, note)

    @rpc
    def sync_staff(self, entries: list[dict[str, Any]]) -> int:
        return self._call("sync_staff", entries)

    @rpc
    def sync_units(self, entries: list[dict[str, Any]]) -> int:
        return self._call("sync_units", entries)

    @rpc
    def list_staff(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        return self._call("list_staff", include_inactive)

    @rpc
    def registration_deadline(self, arrived_at: str) -> dict[str, Any]:
        return self._call("registration_deadline", arrived_at)

    # -- incoming handling --------------------------------------------------------------------------------------

    @rpc
    def submit_incoming(self, incoming_id: str, to_user_id: str | None = None, note: str = "",
                        happened_at: str | None = None) -> dict[str, Any]:
        return self._call("submit_incoming", incoming_id, to_user_id, note, happened_at)

    @rpc
    def direct_incoming(self, incoming_id: str, directive: str, main: dict[str, str],
                        coordinators: list[dict[str, str]] | None = None, readers: list[dict[str, str]] | None = None,
                        deadline: str | None = None, happened_at: str | None = None) -> dict[str, Any]:
        return self._call("direct_incoming", incoming_id, directive, main, coordinators, readers, deadline,
                          happened_at)

    @rpc
    def reassign_incoming(self, incoming_id: str, user_id: str | None, kind: str = "main", note: str = "",
                          happened_at: str | None = None, unit: str | None = None) -> dict[str, Any]:
        return self._call("reassign_incoming", incoming_id, user_id, kind, note, happened_at, unit)

    @rpc
    def forward_incoming(self, incoming_id: str, to_user_id: str, note: str = "",
                         happened_at: str | None = None) -> dict[str, Any]:
        return self._call("forward_incoming", incoming_id, to_user_id, note, happened_at)

    @rpc
    def keep_for_reference(self, incoming_id: str, note: str = "", happened_at: str | None = None) -> dict[str, Any]:
        return self._call("keep_for_reference", incoming_id, note, happened_at)

    @rpc
    def close_no_action(self, incoming_id: str, reason: str, happened_at: str | None = None) -> dict[str, Any]:
        return self._call("close_no_action", incoming_id, reason, happened_at)

    @rpc
    def mark_waiting(self, incoming_id: str, note: str, happened_at: str | None = None) -> dict[str, Any]:
        return self._call("mark_waiting", incoming_id, note, happened_at)

    @rpc
    def resume_incoming(self, incoming_id: str, note: str = "", happened_at: str | None = None) -> dict[str, Any]:
        return self._call("resume_incoming", incoming_id, note, happened_at)

    @rpc
    def send_opinion(self, incoming_id: str, text: str, happened_at: str | None = None) -> dict[str, Any]:
        return self._call("send_opinion", incoming_id, text, happened_at)

    @rpc
    def mark_read(self, incoming_id: str) -> dict[str, Any]:
        return self._call("mark_read", incoming_id)

    @rpc
    def get_incoming(self, incoming_id: str) -> dict[str, Any]:
        return self._call("get_incoming", incoming_id)

    @rpc
    def list_incoming(self, box: str = "mine", limit: int | None = None) -> list[dict[str, Any]] | dict[str, Any]:
        return self._call("list_incoming", box, limit)

    @rpc
    def link(self, from_kind: str, from_id: str, to_kind: str, to_id: str) -> dict[str, Any]:
        return self._call("link", from_kind, from_id, to_kind, to_id)

    # -- leaders acting on assigned work (oversight.py); each once per (item, operation id) ------------------------

    @rpc
    def oversight_options(self, incoming_id: str) -> dict[str, bool]:
        return self._call("oversight_options", incoming_id)

    @rpc
    def chase(self, incoming_id: str, note: str, operation_id: str) -> dict[str, Any]:
        return self._call("chase", incoming_id, note, operation_id)

    @rpc
    def change_deadline(self, incoming_id: str, deadline: str, reason: str, operation_id: str) -> dict[str, Any]:
        return self._call("change_deadline", incoming_id, deadline, reason, operation_id)

    @rpc
    def add_directive(self, incoming_id: str, text: str, operation_id: str) -> dict[str, Any]:
        return self._call("add_directive", incoming_id, text, operation_id)

    @rpc
    def reassign_handlers(self, incoming_id: str, operation_id: str, main: dict[str, str] | None = None,
                          coordinators: list[dict[str, str]] | None = None, note: str = "") -> dict[str, Any]:
        return self._call("reassign_handlers", incoming_id, operation_id, main, coordinators, note)

    @rpc
    def take_back(self, incoming_id: str, reason: str, operation_id: str) -> dict[str, Any]:
        return self._call("take_back", incoming_id, reason, operation_id)

    # -- drafts -------------------------------------------------------------------------------------------------

    @rpc
    def create_draft(self, title: str, pdf_sha256: str, type_code: str = "CV",
                     appendix_sha256s: list[str] | None = None, answers: list[str] | None = None,
                     priority: int = 0, note: str = "") -> dict[str, Any]:
        return self._call("create_draft", title, pdf_sha256, type_code, appendix_sha256s, answers, priority, note)

    @rpc
    def add_draft_version(self, draft_id: int, pdf_sha256: str, appendix_sha256s: list[str] | None = None,
                          note: str = "") -> dict[str, Any]:
        return self._call("add_draft_version", draft_id, pdf_sha256, appendix_sha256s, note)

    @rpc
    def check_draft_version(self, draft_id: int) -> None:
        """Refuses exactly when add_draft_version would for this actor: asked before the file is stored."""
        return self._call("check_draft_version", draft_id)

    @rpc
    def invite_commenters(self, draft_id: int, user_ids: list[str]) -> dict[str, Any]:
        return self._call("invite_commenters", draft_id, user_ids)

    @rpc
    def comment_draft(self, draft_id: int, text: str) -> dict[str, Any]:
        return self._call("comment_draft", draft_id, text)

    @rpc
    def name_deputy(self, draft_id: int, user_id: str | None) -> dict[str, Any]:
        return self._call("name_deputy", draft_id, user_id)

    @rpc
    def submit_draft(self, draft_id: int, note: str = "", happened_at: str | None = None) -> dict[str, Any]:
        return self._call("submit_draft", draft_id, note, happened_at)

    @rpc
    def approve_draft(self, draft_id: int, comment: str = "", pin: str | None = None,
                      otp: str | None = None, happened_at: str | None = None) -> dict[str, Any]:
        """`pin` (and `otp` for a SCAL2 remote signature): typed by the leader (or delegate) at the signing step;
        passed to signing once and never stored or logged. `happened_at`: a late entry (not at the signing step)."""
        return self._call("approve_draft", draft_id, comment, pin=pin, otp=otp, happened_at=happened_at)

    @rpc
    def approve_on_paper(self, draft_id: int, comment: str = "", happened_at: str | None = None) -> dict[str, Any]:
        return self._call("approve_on_paper", draft_id, comment, happened_at)

    @rpc
    def submit_paper_scan(self, draft_id: int, scan_sha256: str, note: str = "", confirmed: bool = False,
                          appendix_scan_sha256s: list[str] | None = None) -> dict[str, Any]:
        return self._call("submit_paper_scan", draft_id, scan_sha256, note, confirmed, appendix_scan_sha256s)

    @rpc
    def forward_paper_scan(self, draft_id: int, scan_sha256: str, note: str = "",
                           scan_check: dict[str, Any] | None = None,
                           appendix_scan_sha256s: list[str] | None = None) -> dict[str, Any]:
        return self._call("forward_paper_scan", draft_id, scan_sha256, note, scan_check, appendix_scan_sha256s)

    @rpc
    def return_draft(self, draft_id: int, comment: str, happened_at: str | None = None) -> dict[str, Any]:
        return self._call("return_draft", draft_id, comment, happened_at)

    # -- nhập thay: a leader's paper decisions typed in by the person they entrusted (entry.py) -----------------

    @rpc
    def enter_directive(self, leader_user_id: str, incoming_id: str, directive: str, main: dict[str, str],
                        coordinators: list[dict[str, str]] | None = None, readers: list[dict[str, str]] | None = None,
                        deadline: str | None = None, happened_at: str | None = None) -> dict[str, Any]:
        return self._call("enter_directive", leader_user_id, incoming_id, directive, main, coordinators, readers,
                          deadline, happened_at)

    @rpc
    def enter_draft_decision(self, leader_user_id: str, draft_id: int, decision: str, step: str, comment: str = "",
                             happened_at: str | None = None) -> dict[str, Any]:
        return self._call("enter_draft_decision", leader_user_id, draft_id, decision, step, comment, happened_at)

    @rpc
    def enter_paper_approval(self, leader_user_id: str, draft_id: int, step: str, scan_sha256: str, comment: str = "",
                             happened_at: str | None = None) -> dict[str, Any]:
        return self._call("enter_paper_approval", leader_user_id, draft_id, step, scan_sha256, comment, happened_at)

    @rpc
    def check_paper_entry(self, leader_user_id: str, draft_id: int, step: str) -> bool:
        """Refuses exactly when enter_paper_approval would for this actor: asked before the scan is stored."""
        return self._call("check_paper_entry", leader_user_id, draft_id, step)

    @rpc
    def enter_oversight(self, leader_user_id: str, incoming_id: str, action: str, operation_id: str,
                        fields: dict[str, Any], happened_at: str | None = None) -> dict[str, Any]:
        return self._call("enter_oversight", leader_user_id, incoming_id, action, operation_id, fields, happened_at)

    @rpc
    def enter_task_opinion(self, leader_user_id: str, task_id: int, text: str, operation_id: str,
                           happened_at: str | None = None) -> dict[str, Any]:
        return self._call("enter_task_opinion", leader_user_id, task_id, text, operation_id, happened_at)

    @rpc
    def get_draft(self, draft_id: int) -> dict[str, Any]:
        return self._call("get_draft", draft_id)

    @rpc
    def list_drafts(self) -> list[dict[str, Any]]:
        return self._call("list_drafts")

    # -- tasks, notices, delegation -------------------------------------------------------------------------------

    @rpc
    def create_task(self, title: str, assignee: str | None = None, description: str = "",
                    coordinators: list[str] | None = None, due: str | None = None, priority: int = 0,
                    links: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return self._call("create_task", title, assignee, description, coordinators, due, priority, links)

    @rpc
    def comment_task(self, task_id: int, text: str, operation_id: str | None = None) -> dict[str, Any]:
        return self._call("comment_task", task_id, text, operation_id)

    @rpc
    def task_progress(self, task_id: int, progress: int, note: str = "") -> dict[str, Any]:
        return self._call("task_progress", task_id, progress, note)

    @rpc
    def close_task(self, task_id: int, note: str = "") -> dict[str, Any]:
        return self._call("close_task", task_id, note)

    @rpc
    def get_task(self, task_id: int) -> dict[str, Any]:
        return self._call("get_task", task_id)

    @rpc
    def list_tasks(self, include_closed: bool = False) -> list[dict[str, Any]]:
        return self._call("list_tasks", include_closed)

    @rpc
    def publish_notice(self, title: str, body: str = "", units: list[str] | None = None) -> dict[str, Any]:
        return self._call("publish_notice", title, body, units)

    @rpc
    def list_notices(self, page: int = 1, size: int = NOTICE_PAGE, unread_only: bool = False) -> dict[str, Any]:
        return self._call("list_notices", page, size, unread_only)

    @rpc
    def read_notice(self, notice_id: int) -> dict[str, Any]:
        return self._call("read_notice", notice_id)

    @rpc
    def notice_readers(self, notice_id: int) -> dict[str, Any]:
        return self._call("notice_readers", notice_id)

    @rpc
    def delegate(self, delegate_user_id: str, starts_at: str, ends_at: str, scopes: list[str] | None = None,
                 note: str = "") -> dict[str, Any]:
        return self._call("delegate", delegate_user_id, starts_at, ends_at, scopes, note)

    @rpc
    def revoke_delegation(self, delegation_id: int) -> dict[str, Any]:
        return self._call("revoke_delegation", delegation_id)

    @rpc
    def list_delegations(self) -> list[dict[str, Any]]:
        return self._call("list_delegations")

    # -- handover of a leaver's work (handover.py) -------------------------------------------------------------------

    @rpc
    def open_work(self, user_id: str) -> dict[str, Any]:
        return self._call("open_work", user_id)

    @rpc
    def hand_over(self, user_id: str, successor_id: str, note: str = "") -> dict[str, Any]:
        return self._call("hand_over", user_id, successor_id, note)

    @rpc
    def move_item(self, kind: str, item_id: str, from_user_id: str, to_user_id: str, reason: str) -> dict[str, Any]:
        return self._call("move_item", kind, item_id, from_user_id, to_user_id, reason)

    @rpc
    def allow_data_export(self, user_id: str, allowed: bool = True, note: str = "") -> dict[str, Any]:
        return self._call("allow_data_export", user_id, allowed, note)

    @rpc
    def data_export_grant(self, user_id: str | None = None) -> dict[str, Any]:
        return self._call("data_export_grant", user_id)

    @rpc
    def handled_data(self) -> dict[str, Any]:
        return self._call("handled_data")

    # -- leaders' view, notifications ---------------------------------------------------------------------------

    @rpc
    def unit_progress(self, unit: str | None = None, open_items: bool = True,
                      overdue_limit: int | None = None) -> list[dict[str, Any]]:
        return self._call("unit_progress", unit, open_items, overdue_limit)

    @rpc
    def run_reminders(self) -> dict[str, int]:
        return self._call("run_reminders")

    @rpc
    def list_unit_documents(self, page: int = 1, size: int = 50) -> dict[str, Any]:
        return self._call("list_unit_documents", page, size)

    @rpc
    def list_notifications(self, unread_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        return self._call("list_notifications", unread_only, limit)

    @rpc
    def mark_notification_read(self, notification_id: int) -> bool:
        return self._call("mark_notification_read", notification_id)
