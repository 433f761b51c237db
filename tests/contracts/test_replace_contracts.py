"""Contract test of "Thay thế văn bản" (issue 18 item 6; STANDARDS 2.2.1, 2.2.8): the real producer into the real
consumer.

    registry.issue_outgoing(replaces=…) ──outgoing_package (type 3, ReplacementInfo)──► edge ► hubs ► edge
        ──► registry.receive_package ──► changes._link_replacement            (the receiver links the pair)

Same harness as test_recall_contracts.py: the payload goes through JSON, the edges build and parse real edXML, and
a key the consumer reads that the producer never wrote fails the test (here `business.replacements` is required).
"""

from __future__ import annotations

from services.common.actor import system_actor
from services.registry import operations as ops
from services.registry.domain import Direction
from services.routing.models import outbox as routing_outbox
from tests.contracts.recorder import Wire
from tests.contracts.test_event_contracts import (
    CLERK_17,
    CLERK_60,
    H60,
    RECEIVE_PACKAGE_OPTIONAL,
    signed_draft,
)
from tests.contracts.test_event_contracts import agencies as agencies
from tests.contracts.test_recall_contracts import last, last_wire, relay, sent_and_registered


def test_a_replacing_document_is_linked_by_the_receiver_to_the_one_it_replaces(agencies):
    tq, dn = agencies
    old, old_incoming = sent_and_registered(tq, dn)

    _draft, _appendices = signed_draft(tq)
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    waiting = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), Wire(event).payload)
    # no recipient chosen: the replaced document's recipient (Đà Nẵng) receives the new one
    new = ops.issue_outgoing(tq.registry, CLERK_60, waiting["id"], tq.registers[Direction.OUTGOING], [],
                             tq.fill_and_seal, replaces=old["id"])

    [answer] = relay(tq, dn, last(tq, "outgoing_package"))
    assert answer.status_code == "01"  # taken in, not refused
    wire = last_wire(dn, "receive_package")
    assert wire.unknown_reads(RECEIVE_PACKAGE_OPTIONAL - {"business.replacements"}) == set()
    assert wire.payload["business"]["doc_type"] == 3

    [arrived] = [d for d in ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
                 if d["document_id"] == new["document_id"]]
    replaced = ops.get_document(dn.registry, CLERK_17, old_incoming)
    assert replaced["replaced_by"] == arrived["id"]
    assert replaced["history"][-1]["action"] == "replaced"
    assert any(lk["kind"] == "replaces" and lk["from"] == arrived["id"] for lk in replaced["links"])
    replacing = ops.get_document(dn.registry, CLERK_17, arrived["id"])
    assert [(lk["kind"], lk["to"]) for lk in replacing["links"]] == [("replaces", old_incoming)]
    assert replacing["business_type"] == 3

    # the sender's side says the same of its own pair
    sent = ops.get_document(tq.registry, CLERK_60, old["id"])
    assert sent["replaced_by"] == waiting["id"] and sent["history"][-1]["action"] == "replaced"
