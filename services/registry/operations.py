"""The registry's use cases over a Database, one import for service.py, tests and benchmarks.

Every function takes the acting user and re-checks agency and role. Changes that leave the service (status and
package events for the interconnect edge, `incoming_registered`, `outgoing_issued`) are written to the outbox in
the same transaction as the change. The use cases live by chapter: registers.py, incoming.py, outgoing.py,
changes.py (recall, update, replace received, statuses), recall.py (the sender's requests); documents.py holds
the record they share.
"""

from services.registry.changes import (
    RECALL_ANSWERS,
    decide_change,
    recall_outgoing,
    record_status,
)
from services.registry.copies import COPY_FORMS, list_copies, make_copy
from services.registry.copy_sending import send_copy
from services.registry.documents import (
    PAGE_SIZE_MAX,
    build_package,
    get_document,
    profile,
    reject_reasons,
    summary,
)
from services.registry.incoming import (
    Verify,
    accept_incoming,
    list_incoming,
    list_waiting_reception,
    receive_package,
    register_paper_incoming,
    reject_incoming,
    reverify_pending,
    verification_outcome,
    verifications_left,
)
from services.registry.outgoing import (
    ISSUE_RETRIES,
    Sign,
    issue_outgoing,
    list_outgoing,
    list_waiting_issue,
    register_outgoing_signed,
    submit_for_issue,
)
from services.registry.paper_intake import check_paper_incoming, return_paper_incoming, return_slip
from services.registry.paper_returns import (
    correct_paper_return,
    record_outgoing_paper_return,
    record_paper_return,
    undo_paper_return,
)
from services.registry.recall import (
    CHANGE_KINDS,
    list_change_requests,
    request_change,
    request_copy_change,
)
from services.registry.registers import (
    close_register,
    create_register,
    get_send_policy,
    list_registers,
    register_dict,
    reopen_register,
    set_agency_profile,
    set_send_policy,
    update_register,
)
from services.registry.year_registers import open_year_registers, year_registers

__all__ = [
    "CHANGE_KINDS",
    "COPY_FORMS",
    "ISSUE_RETRIES",
    "PAGE_SIZE_MAX",
    "RECALL_ANSWERS",
    "Sign",
    "Verify",
    "accept_incoming",
    "build_package",
    "check_paper_incoming",
    "close_register",
    "correct_paper_return",
    "create_register",
    "decide_change",
    "get_document",
    "get_send_policy",
    "issue_outgoing",
    "list_change_requests",
    "list_copies",
    "list_incoming",
    "list_outgoing",
    "list_registers",
    "list_waiting_issue",
    "list_waiting_reception",
    "make_copy",
    "open_year_registers",
    "profile",
    "recall_outgoing",
    "receive_package",
    "record_outgoing_paper_return",
    "record_paper_return",
    "record_status",
    "register_dict",
    "register_outgoing_signed",
    "register_paper_incoming",
    "reject_incoming",
    "reject_reasons",
    "reopen_register",
    "request_change",
    "request_copy_change",
    "return_paper_incoming",
    "return_slip",
    "reverify_pending",
    "send_copy",
    "set_agency_profile",
    "set_send_policy",
    "submit_for_issue",
    "summary",
    "undo_paper_return",
    "update_register",
    "verification_outcome",
    "verifications_left",
    "year_registers",
]
