"""The routing application: every use case as a method taking the acting user, over the service's database.

service.py exposes these methods as nameko RPCs and event handlers; tests call them directly too. Each method
checks the actor's agency and role, runs in one transaction, writes its history, its in-app notifications and
(through the outbox) the events that leave the service in that same transaction.

The use cases live by chapter, in the order of the user guide: staff.py (settings, people, units), handling.py
(incoming documents), oversight.py (leaders acting on assigned work), drafting.py (outgoing drafts and review), paper.py
(approval signed on paper, then "Chuyển phát hành" with the scan),
entry.py (nhập thay: a leader's paper decisions typed in by the person they entrusted),
work.py (tasks, notices, reminders), unit_documents.py (documents issued to the agency's own units),
delegation.py, handover.py (a leaver's work to a successor), schedule.py
(the leadership's work schedule); base.py holds the plumbing they share.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from services.common.actor import Actor
from services.common.reads import run_reads
from services.routing.base import RoutingBase, Signer, memo_grants
from services.routing.delegation import Delegations
from services.routing.drafting import Drafting, SigningTimeout, SigningUnavailable
from services.routing.entry import EntryForLeader
from services.routing.handling import IncomingHandling
from services.routing.handover import Handover
from services.routing.links import RecordLinks
from services.routing.oversight import Oversight
from services.routing.paper import PaperSigning
from services.routing.schedule import Schedule
from services.routing.staff import StaffAndSettings
from services.routing.unit_documents import UnitDocuments
from services.routing.work import Work

__all__ = ["Routing", "Signer", "SigningTimeout", "SigningUnavailable"]


class Routing(StaffAndSettings, IncomingHandling, RecordLinks, Oversight, PaperSigning, Drafting, EntryForLeader, Work,
              Delegations, Handover, Schedule, UnitDocuments, RoutingBase):
    """One agency's routing: the chapters' use cases over the shared plumbing."""

    # What a page may ask for in one call (read_many): the lists of the home page, and the settings its clocks use.
    READS = ("list_incoming", "list_drafts", "list_tasks", "list_notices", "unit_progress", "get_config")

    def read_many(self, actor: Actor, reads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several lists in one transaction (services/common/reads.py); reads only, so the caller's grants and the
        leaders who entrusted them are read once for all of them (memo_grants)."""
        functions = {name: partial(getattr(self, name), actor) for name in self.READS}
        with self.one_transaction(actor) as session, memo_grants(session):
            return run_reads(reads, functions)
