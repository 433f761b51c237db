"""nameko service `registry`: thin entrypoints over services/registry/operations.py.

Events leave through the transactional outbox (OutboxRelay dispatches them as `registry.events`):
`outgoing_package`, `outgoing_status` (for the interconnect edge), `incoming_registered`, `outgoing_issued`.
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.events import event_handler
from nameko.rpc import RpcProxy, rpc

from services.common.actor import system_actor
from services.common.outbox import OutboxRelay
from services.common.rpc import ActingUser, DatabaseProvider, RpcMetrics
from services.registry import operations as ops
from services.registry.models import Base

VERIFY_TIMEOUT = 3.0     # receive_package must not wait long for a verdict: it is recorded as pending instead
SIGN_TIMEOUT = 30.0


class RegistryService:
    name = "registry"
    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("registry", Base.metadata)
    outbox = OutboxRelay(interval=0.5)
    signing = RpcProxy("signing")

    # --- adapters to the signing service (nameko RPC) ---

    def _verify(self, pdf_sha256: str) -> dict[str, Any]:
        with eventlet.Timeout(VERIFY_TIMEOUT):
            return self.signing.verify.call_async(pdf_sha256).result()

    def _sign(self, pdf_sha256: str, number_text: str, date_text: str, notation: str,
              appendices: list[str]) -> dict[str, Any]:
        with eventlet.Timeout(SIGN_TIMEOUT):
            return self.signing.fill_and_seal.call_async(pdf_sha256, number_text, date_text, notation,
                                                         appendices).result()

    # --- administration ---

    @rpc
    def set_agency_profile(self, organ_name: str, abbreviation: str, place: str = "") -> dict:
        return ops.set_agency_profile(self.db, self.actor.required(), organ_name, abbreviation, place)

    @rpc
    def create_register(self, direction: str, year: int, scope: str = "all", name: str | None = None) -> dict:
        return ops.create_register(self.db, self.actor.required(), direction, year, scope, name)

    @rpc
    def list_registers(self, year: int | None = None, direction: str | None = None) -> list[dict]:
        return ops.list_registers(self.db, self.actor.required(), year, direction)

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
    def decide_change(self, incoming_id: str, accept: bool, reason: str = "") -> dict:
        return ops.decide_change(self.db, self.actor.required(), incoming_id, accept, reason)

    @rpc
    def register_paper_incoming(self, metadata: dict, file_sha256s: list[str], late_entry_at: str | None = None,
                                register_id: str | None = None) -> dict:
        return ops.register_paper_incoming(self.db, self.actor.required(), metadata, file_sha256s, late_entry_at,
                                           register_id)

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
        # Events carry no acting user: routing's signed draft is handed over by this agency's system actor.
        ops.submit_for_issue(self.db, system_actor(self.db.agency_id, "routing"), payload)

    @rpc
    def list_waiting_issue(self, page: int = 1, size: int = 50) -> dict:
        return ops.list_waiting_issue(self.db, self.actor.required(), page, size)

    @rpc
    def list_outgoing(self, filters: dict | None = None, page: int = 1, size: int = 50) -> dict:
        return ops.list_outgoing(self.db, self.actor.required(), filters, page, size)

    @rpc
    def issue_outgoing(self, outgoing_id: str, register_id: str, recipients: list[dict], urgency: int | None = None,
                       no_paper_copy: bool = False, issued_amount: int | None = None,
                       to_places: list[str] | None = None) -> dict:
        return ops.issue_outgoing(self.db, self.actor.required(), outgoing_id, register_id, recipients, self._sign,
                                  urgency, no_paper_copy, issued_amount, to_places)

    @rpc
    def register_outgoing_signed(self, metadata: dict, pdf_sha256: str, recipients: list[dict],
                                 register_id: str) -> dict:
        return ops.register_outgoing_signed(self.db, self.actor.required(), metadata, pdf_sha256, recipients,
                                            register_id)

    @rpc
    def recall_outgoing(self, outgoing_id: str, reason: str) -> dict:
        return ops.recall_outgoing(self.db, self.actor.required(), outgoing_id, reason)
