"""nameko service `registry`: thin entrypoints over the use cases of services/registry/operations.py.

Events leave through the transactional outbox (OutboxRelay dispatches them as `registry.events`):
`outgoing_package`, `outgoing_status` (for the interconnect edge), `incoming_registered`, `outgoing_issued`.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import eventlet
from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.common.actor import system_actor
from services.common.outbox import OutboxRelay
from services.common.reads import run_reads
from services.common.rpc import ACTOR_KEY, ActingUser, DatabaseProvider, RpcMetrics
from services.registry import domain, rules
from services.registry import operations as ops
from services.registry.dossier_service import DossierEntrypoints
from services.registry.models import Base
from services.registry.report_queries import ReportQueries

VERIFY_TIMEOUT = 3.0     # receive_package must not wait long for a verdict: it is recorded as pending instead
SIGN_TIMEOUT = 30.0
# deferred verifications are retried this often (seconds); the environment may shorten it (tests, demo)
REVERIFY_INTERVAL = float(os.environ.get("REGISTRY_REVERIFY_INTERVAL", "30"))


def stamp_texts(number: str, date_text: str, notation: str, place: str) -> tuple[str, str]:
    """What the clerk's step writes in the PDF fields (NĐ 30 Phụ lục I, ô 2 and ô 4).

    `number` is the register's number ("05"), `date_text` dd/mm/yyyy: "Số: 05/QĐ-UBND" and
    "Tuyên Quang, ngày 05 tháng 3 năm 2026" (a day below 10 and a month below 3 get a leading zero, NĐ 30 Phụ lục I).
    """
    day, month, year = (int(part) for part in date_text.split("/"))
    month_text = f"{month:02d}" if month < 3 else str(month)
    date_field = f"ngày {day:02d} tháng {month_text} năm {year}"
    return domain.number_display(number, notation), f"{place}, {date_field}" if place else date_field


class WorkerContext(DependencyProvider):
    """The worker's nameko context, so that a timer can put the system actor in it before calling another service."""

    def get_dependency(self, worker_ctx) -> Any:
        return worker_ctx


class RegistryService(DossierEntrypoints, ReportQueries):
    name = "registry"
    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("registry", Base.metadata)
    outbox = OutboxRelay(interval=0.5)
    # transient messages: the clerk's seal-token PIN may ride in fill_and_seal's arguments (not to the broker's disk)
    signing = RpcProxy("signing", delivery_mode=1)
    context = WorkerContext()

    # --- adapters to the signing service (nameko RPC) ---

    def _verify(self, pdf_sha256: str) -> dict[str, Any]:
        with eventlet.Timeout(VERIFY_TIMEOUT):
            return self.signing.verify.call_async(pdf_sha256).result()

    def _sign(self, pdf_sha256: str, number_text: str, date_text: str, notation: str,
              appendices: list[str], operation_id: str | None = None, pin: str | None = None,
              paper_signed: bool = False) -> dict[str, Any]:
        with self.db.session() as session:
            place = ops.profile(session, self.db.agency_id).place or ""
        number_field, date_field = stamp_texts(number_text, date_text, notation, place)
        with eventlet.Timeout(SIGN_TIMEOUT):
            return self.signing.fill_and_seal.call_async(pdf_sha256, number_field, date_field, notation,
                                                         appendices, operation_id,
                                                         **({"pin": pin} if pin else {}),
                                                         **({"paper_signed": True} if paper_signed else {})
                                                         ).result()

    def _verify_to_send(self, pdf_sha256: str) -> dict[str, Any]:
        # The clerk waits for this answer on "Gửi văn bản": as long as sealing may take, not receive_package's 3 s.
        with eventlet.Timeout(SIGN_TIMEOUT):
            return self.signing.verify.call_async(pdf_sha256).result()

    @timer(interval=REVERIFY_INTERVAL)
    def reverify_pending(self) -> None:
        """Verifications deferred by receive_package (signing absent or slow) are asked again in the background,
        for the agencies that wrote since the last pass (all of them at start) and those with some still pending."""
        work = self.db.worklist("reverify")
        for agency in work.take():
            actor = system_actor(agency, "registry")
            self.context.data[ACTOR_KEY] = actor.to_dict()  # signing.verify requires an acting user
            database = self.db.for_agency(agency)
            try:
                done = ops.reverify_pending(database, actor, self._verify)
            finally:
                self.context.data.pop(ACTOR_KEY, None)
            if done:
                self.outbox.kick()
            if ops.verifications_left(database):
                work.again(agency)

    # --- administration ---

    @rpc
    def set_agency_profile(self, organ_name: str, abbreviation: str, place: str = "") -> dict:
        return ops.set_agency_profile(self.db, self.actor.required(), organ_name, abbreviation, place)

    @rpc
    def get_send_policy(self) -> dict:
        return ops.get_send_policy(self.db, self.actor.required())

    @rpc
    def set_send_policy(self, allow_unsigned_send: bool) -> dict:
        return ops.set_send_policy(self.db, self.actor.required(), allow_unsigned_send)

    @rpc
    def get_rules(self) -> list[dict]:
        """The agency's rules that the registry applies (services/common/agency_rules.py)."""
        return rules.get_rules(self.db, self.actor.required())

    @rpc
    def set_rules(self, changes: dict) -> list[dict]:
        return rules.set_rules(self.db, self.actor.required(), changes)

    @rpc
    def create_register(self, direction: str, year: int, scope: str = "all", name: str | None = None,
                        request_key: str | None = None) -> dict:
        return ops.create_register(self.db, self.actor.required(), direction, year, scope, name, request_key)

    @rpc
    def list_registers(self, year: int | None = None, direction: str | None = None) -> list[dict]:
        return ops.list_registers(self.db, self.actor.required(), year, direction)

    @rpc
    def year_registers(self, year: int | None = None) -> dict:
        """Which of year `year`'s registers (default next year) are open, which of last year's are not yet."""
        return ops.year_registers(self.db, self.actor.required(), year)

    @rpc
    def open_year_registers(self, year: int | None = None) -> dict:
        """Mở các sổ năm `year` theo các sổ năm trước (services/registry/year_registers.py); idempotent."""
        return ops.open_year_registers(self.db, self.actor.required(), year)

    @rpc
    def close_register(self, register_id: str, request_key: str | None = None) -> dict:
        return ops.close_register(self.db, self.actor.required(), register_id, request_key)

    @rpc
    def update_register(self, register_id: str, name: str) -> dict:
        """Sửa sổ: an open register's name (services/registry/registers.py)."""
        return ops.update_register(self.db, self.actor.required(), register_id, name)

    @rpc
    def reopen_register(self, register_id: str, reason: str, request_key: str | None = None) -> dict:
        """Mở lại sổ đã khóa, in its own year, with a reason; `request_key`: the operation, done once."""
        return ops.reopen_register(self.db, self.actor.required(), register_id, reason, request_key)

    # --- from the interconnect edge ---

    @rpc
    def receive_package(self, package: dict) -> dict:
        result = ops.receive_package(self.db, self.actor.required(), package, self._verify)
        self.outbox.kick()
        return result

    @rpc
    def record_status(self, status: dict) -> dict:
        return ops.record_status(self.db, self.actor.required(), status)

    # --- incoming, for the clerk ---

    @rpc
    def list_waiting_reception(self, page: int = 1, size: int = 50) -> dict:
        return ops.list_waiting_reception(self.db, self.actor.required(), page, size)

    @rpc
    def accept_incoming(self, incoming_id: str, register_id: str, late_entry_at: str | None = None) -> dict:
        return ops.accept_incoming(self.db, self.actor.required(), incoming_id, register_id, late_entry_at)

    @rpc
    def reject_incoming(self, incoming_id: str, reason_code: str, text: str) -> dict:
        return ops.reject_incoming(self.db, self.actor.required(), incoming_id, reason_code, text)

    @rpc
    def decide_change(self, incoming_id: str, accept: bool, reason: str = "", request_key: str | None = None) -> dict:
        return ops.decide_change(self.db, self.actor.required(), incoming_id, accept, reason, request_key)

    @rpc
    def list_change_requests(self) -> dict:
        return ops.list_change_requests(self.db, self.actor.required())

    @rpc
    def register_paper_incoming(self, metadata: dict, file_sha256s: list[str], late_entry_at: str | None = None,
                                register_id: str | None = None, detailed: bool = False) -> dict:
        return ops.register_paper_incoming(self.db, self.actor.required(), metadata, file_sha256s, late_entry_at,
                                           register_id, detailed)

    @rpc
    def check_paper_incoming(self, metadata: dict) -> dict:
        return ops.check_paper_incoming(self.db, self.actor.required(), metadata)

    @rpc
    def return_paper_incoming(self, metadata: dict, files: list, defects: list[str], note: str = "") -> dict:
        return ops.return_paper_incoming(self.db, self.actor.required(), metadata, files, defects, note)

    @rpc
    def return_slip(self, document_id: str) -> dict:
        return ops.return_slip(self.db, self.actor.required(), document_id)

    @rpc
    def list_incoming(self, filters: dict | None = None, page: int = 1, size: int = 50) -> dict:
        return ops.list_incoming(self.db, self.actor.required(), filters, page, size)

    @rpc
    def get_document(self, document_id: str) -> dict:
        return ops.get_document(self.db, self.actor.required(), document_id)

    # --- outgoing ---

    @rpc
    def submit_for_issue(self, draft: dict) -> dict:
        return ops.submit_for_issue(self.db, self.actor.required(), draft)

    @event_handler("routing", "draft_signed")
    def on_draft_signed(self, payload: dict) -> None:
        # Events carry no acting user: routing's signed draft is handed over by its agency's system actor.
        agency = payload["agency_id"]
        ops.submit_for_issue(self.db.for_agency(agency), system_actor(agency, "routing"), payload)

    # What a page may ask for in one call: the clerk's home lists, the admin's December panel (next year's registers).
    READS = ("list_waiting_reception", "list_waiting_issue", "list_change_requests", "year_registers")

    @rpc
    def read_many(self, reads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A page's lists in one call (services/common/reads.py): this worker's own entrypoints, called in turn."""
        return run_reads(reads, {name: getattr(self, name) for name in self.READS})

    @rpc
    def list_waiting_issue(self, page: int = 1, size: int = 50) -> dict:
        return ops.list_waiting_issue(self.db, self.actor.required(), page, size)

    @rpc
    def list_outgoing(self, filters: dict | None = None, page: int = 1, size: int = 50) -> dict:
        return ops.list_outgoing(self.db, self.actor.required(), filters, page, size)

    @rpc
    def issue_outgoing(self, outgoing_id: str, register_id: str, recipients: list[dict], urgency: int | None = None,
                       no_paper_copy: bool = False, issued_amount: int | None = None,
                       to_places: list[str] | None = None, pin: str | None = None,
                       legal_normative: bool = False, replaces: str | None = None,
                       request_key: str | None = None) -> dict:
        """`pin`: the agency seal token's, typed by the clerk at issue; used for this issue only, never stored.
        `replaces`: the issued outgoing document this one replaces (Thay thế văn bản)."""
        sign = functools.partial(self._sign, pin=pin) if pin else self._sign
        return ops.issue_outgoing(self.db, self.actor.required(), outgoing_id, register_id, recipients, sign,
                                  urgency, no_paper_copy, issued_amount, to_places, legal_normative, replaces,
                                  request_key)

    @rpc
    def make_copy(self, source_id: str, form: str, register_id: str, extract_sha256: str | None = None,
                  pin: str | None = None, request_key: str | None = None) -> dict:
        """Sao y, sao lục, trích sao (services/registry/copies.py); `pin`: the seal token's, used for each file of
        this copy, never stored; `request_key`: the same copy asked again returns the first one."""
        def seal(pdf_sha256: str, text: str, operation_id: str | None = None) -> dict[str, Any]:
            with eventlet.Timeout(SIGN_TIMEOUT):
                return self.signing.seal_copy.call_async(pdf_sha256, text, operation_id,
                                                         **({"pin": pin} if pin else {})).result()

        return ops.make_copy(self.db, self.actor.required(), source_id, form, register_id, seal, extract_sha256,
                             request_key)

    @rpc
    def send_copy(self, copy_id: str, recipients: list[dict]) -> dict:
        """Send a copy over the interconnect (services/registry/copy_sending.py): once per copy and recipient."""
        return ops.send_copy(self.db, self.actor.required(), copy_id, recipients)

    @rpc
    def record_paper_return(self, copy_id: str, organ_id: str, returned_date: str | None = None,
                            note: str = "") -> dict:
        """The paper copy of a recalled copy given back by a paper recipient (services/registry/paper_returns.py)."""
        return ops.record_paper_return(self.db, self.actor.required(), copy_id, organ_id, returned_date, note)

    @rpc
    def record_outgoing_paper_return(self, outgoing_id: str, organ_id: str, returned_date: str | None = None,
                                     note: str = "") -> dict:
        """The paper of a recalled or taken back outgoing document given back by a paper recipient."""
        return ops.record_outgoing_paper_return(self.db, self.actor.required(), outgoing_id, organ_id,
                                                returned_date, note)

    @rpc
    def correct_paper_return(self, doc_id: str, organ_id: str, returned_date: str | None = None, note: str = "",
                             request_key: str | None = None, direction: str = "copies") -> dict:
        """A paper given back recorded with the wrong day or note, corrected (paper_returns.py)."""
        return ops.correct_paper_return(self.db, self.actor.required(), doc_id, organ_id, returned_date, note,
                                        request_key, direction)

    @rpc
    def undo_paper_return(self, doc_id: str, organ_id: str, reason: str, request_key: str | None = None,
                          direction: str = "copies") -> dict:
        """A paper given back recorded for the wrong recipient, undone while no outcome counted it."""
        return ops.undo_paper_return(self.db, self.actor.required(), doc_id, organ_id, reason, request_key,
                                     direction)

    @rpc
    def list_copies(self, page: int = 1, size: int = 50) -> dict:
        return ops.list_copies(self.db, self.actor.required(), page, size)

    @rpc
    def register_outgoing_signed(self, metadata: dict, pdf_sha256: str, recipients: list[dict],
                                 register_id: str) -> dict:
        return ops.register_outgoing_signed(self.db, self.actor.required(), metadata, pdf_sha256, recipients,
                                            register_id, self._verify_to_send)

    @rpc
    def recall_outgoing(self, outgoing_id: str, reason: str) -> dict:
        return ops.recall_outgoing(self.db, self.actor.required(), outgoing_id, reason)

    @rpc
    def request_change(self, outgoing_id: str, kind: str, reason: str, changes: dict | None = None,
                       request_key: str | None = None) -> dict:
        """Recall (thu hồi), take back (lấy lại) or update (cập nhật) an issued document at its recipients."""
        return ops.request_change(self.db, self.actor.required(), outgoing_id, kind, reason, changes, request_key)

    @rpc
    def request_copy_change(self, copy_id: str, kind: str, reason: str, changes: dict | None = None,
                            request_key: str | None = None) -> dict:
        """The same for a copy sent over the interconnect (services/registry/recall.py)."""
        return ops.request_copy_change(self.db, self.actor.required(), copy_id, kind, reason, changes, request_key)
