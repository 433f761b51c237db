"""Contract tests of recalling, taking back and updating an electronic copy sent over the interconnect (STANDARDS
§8.3, statuses 13/15/16; the copy as sent: docs/edxml.md "An electronic copy on the wire"): the real producer into
the real consumer, both edges and the hubs' trace, as for an outgoing document (test_recall_contracts.py).

    registry.request_copy_change ──outgoing_status (13)──────► edge ► edge ──► registry.record_status
    registry.request_copy_change ──outgoing_package (type 2)─► edge ► hubs ► edge ──► registry.receive_package
    registry.request_copy_change ──outgoing_package (type 1)─► edge ► hubs ► edge ──► registry.receive_package
    registry.decide_change (the receiver's clerk) ──outgoing_status (15/16)──► edge ► edge ──► registry.record_status

At the receiver a copy is an incoming document like any other: the same list of requests, the same answer. The
request names the copy by the DocumentId it was sent with (its own number and notation, From the copying agency).
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import update

from services.common.actor import Role
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.interconnect import edxml
from services.interconnect.models import EdgeInbox
from services.registry import operations as ops
from services.registry.domain import Direction, State
from services.registry.models import outbox as registry_outbox
from tests.contracts.recorder import Wire
from tests.contracts.test_copy_contracts import _copy
from tests.contracts.test_event_contracts import (
    CLERK_17,
    CLERK_60,
    H17,
    LEADER,
    RECEIVE_PACKAGE_OPTIONAL,
    RECORD_STATUS_OPTIONAL,
    Agency,
    person,
    through_hubs,
)
from tests.contracts.test_event_contracts import agencies as agencies
from tests.contracts.test_recall_contracts import DA_NANG, files_withdrawn, last, last_wire, relay

SNV_17 = "000.00.09.H17"   # Sở Nội vụ thành phố Đà Nẵng: never sent the copy


def sent_and_registered(tq: Agency, dn: Agency) -> tuple[dict, str]:
    """A sao y of Tuyên Quang sent to Đà Nẵng, registered there, its 03 back on the copy's line."""
    copy = _copy(tq)
    ops.send_copy(tq.registry, CLERK_60, copy["id"], [DA_NANG])
    relay(tq, dn, last(tq, "outgoing_package"))
    [waiting] = ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
    assert waiting["copy_form"] == "SY"
    ops.accept_incoming(dn.registry, CLERK_17, waiting["id"], dn.registers[Direction.INCOMING])
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)  # 03
    return ops.get_document(tq.registry, CLERK_60, copy["id"]), waiting["id"]


def actions(doc: dict) -> list[str]:
    return [h["action"] for h in doc["history"]]


def test_a_copy_is_taken_back_updated_and_recalled_through_both_edges(agencies, tmp_path):
    tq, dn = agencies
    copy, incoming = sent_and_registered(tq, dn)
    assert copy["recipients"][0]["status_code"] == "03"

    # lấy lại: one 13 for two calls with one request key; it names the copy as it was sent
    ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "take_back", "Gửi nhầm nơi nhận", request_key="k1")
    again = ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "take_back", "Gửi nhầm nơi nhận",
                                    request_key="k1")
    assert again["duplicate"] and again["state"] == State.RECALLED and again["pending_change"] == "take_back"
    [take_back] = [s for s in tq.outbox(tq.registry, registry_outbox, "outgoing_status") if s["status_code"] == "13"]
    assert take_back["response_for"]["document_id"] == copy["document_id"]
    assert take_back["response_for"]["code"] == f"{copy['code_number']}/{copy['code_notation']}"
    assert take_back["response_for"]["organ_id"] == tq.organ_id and take_back["to"]["organ_id"] == H17
    relay(tq, dn, take_back, hubs=False)
    assert last_wire(dn, "record_status").unknown_reads(RECORD_STATUS_OPTIONAL) == set()
    # the receiver's clerk sees it among the requests, as for any document she received
    [asked] = ops.list_change_requests(dn.registry, CLERK_17)["items"]
    assert (asked["id"], asked["copy_form"], asked["change"]["kind"]) == (incoming, "SY", "take_back")
    ops.decide_change(dn.registry, CLERK_17, incoming, False, "Bản sao đã được giao xử lý")
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
    assert last_wire(tq, "record_status").unknown_reads(RECORD_STATUS_OPTIONAL) == set()
    refused = ops.get_document(tq.registry, CLERK_60, copy["id"])
    assert refused["state"] == State.ISSUED and not refused["frozen"] and refused["pending_change"] is None
    assert [(r["organ_id"], r["status_code"], r["recall_state"]) for r in refused["recipients"]] == [
        (H17, "03", "refused")]
    assert actions(refused)[-3:] == ["change_sent", "status", "change_closed"]
    # the same key after the answer: still the first request, nothing leaves
    assert ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "take_back", "Gửi nhầm nơi nhận",
                                   request_key="k1")["duplicate"]
    assert [s["status_code"] for s in tq.outbox(tq.registry, registry_outbox, "outgoing_status")].count("13") == 1

    # cập nhật: a type-2 package of the copy with its new trích yếu, through the hubs
    subject = "Về việc tuyển dụng công chức năm 2026"
    ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "update", "Sửa trích yếu", {"subject": subject})
    package = last(tq, "outgoing_package")
    assert (package["business"]["doc_type"], package["document_id"], package["subject"]) == (2, copy["document_id"],
                                                                                             subject)
    assert package["business"]["target_document_id"] == copy["document_id"]
    assert package["code_notation"] == "SY-UBND" and package["from"]["organ_id"] == tq.organ_id
    row = tq.edge.prepare_outgoing(Wire(package).payload)
    raw = through_hubs(tq.blobs.read(row.raw_sha256))
    [arrived] = dn.edge.take_incoming(raw, {})
    assert arrived.status_code == "01"
    assert last_wire(dn, "receive_package").unknown_reads(RECEIVE_PACKAGE_OPTIONAL) == set()
    # at least once: the edge handed it over and fell before it noted so; the same package comes again
    with dn.edge_db.session() as session:
        session.execute(update(EdgeInbox).values(handed_over_at=None))
    dn.edge.take_incoming(raw, {})
    assert len([w for m, w in dn.wires if m == "receive_package"]) == 3   # the copy, then the update twice
    received = ops.get_document(dn.registry, CLERK_17, incoming)
    assert actions(received).count("change_requested") == 2   # the 13, then the update once
    [asked] = ops.list_change_requests(dn.registry, CLERK_17)["items"]
    assert asked["change"]["kind"] == "update"
    ops.decide_change(dn.registry, CLERK_17, incoming, True)
    assert ops.get_document(dn.registry, CLERK_17, incoming)["subject"] == subject
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
    updated = ops.get_document(tq.registry, CLERK_60, copy["id"])
    assert updated["subject"] == subject and updated["recipients"][0]["recall_state"] == "accepted"
    assert updated["state"] == State.ISSUED

    # thu hồi: a type-1 package, agreed: the 15 closes it, the copy's files go from Đà Nẵng's store
    files = [a["sha256"] for a in ops.get_document(dn.registry, CLERK_17, incoming)["attachments"]]
    assert len(files) == 3 and all(dn.blobs.exists(sha) for sha in files)
    ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "recall", "Sao nhầm văn bản")
    recall = last(tq, "outgoing_package")
    assert recall["business"]["doc_type"] == 1 and recall["document_id"] == copy["document_id"]
    relay(tq, dn, recall)
    ops.decide_change(dn.registry, CLERK_17, incoming, True)
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
    recalled = ops.get_document(tq.registry, CLERK_60, copy["id"])
    assert recalled["state"] == State.RECALLED and recalled["frozen"] and recalled["pending_change"] is None
    assert recalled["recipients"][0]["recall_state"] == "accepted"
    assert actions(recalled)[-2:] == ["status", "change_closed"]
    assert actions(recalled).count("recalled") == 1 and actions(recalled).count("change_sent") == 2
    # the recipient: metadata and history kept, the content withdrawn
    files_withdrawn(dn, files, tmp_path)
    gone = ops.get_document(dn.registry, CLERK_17, incoming)
    assert gone["state"] == State.REVOKED and gone["content_withdrawn_at"] and gone["number"] == 1
    assert [a for a in ("change_requested", "change_refused", "change_accepted", "content_withdrawn")
            if a not in actions(gone)] == []

    # a recalled copy stays in the copies register and is sent to nobody else
    assert copy["id"] in [c["id"] for c in ops.list_copies(tq.registry, CLERK_60)["items"]]
    g22 = {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"}
    with pytest.raises(ValidationFailed) as exc:
        ops.send_copy(tq.registry, CLERK_60, copy["id"], [g22])
    assert exc.value.code == "not_sendable"


def test_requests_about_a_copy_from_an_agency_that_did_not_send_it_are_refused_02(agencies, tmp_path, caplog):
    tq, dn = agencies
    copy, incoming = sent_and_registered(tq, dn)
    snv = Agency(SNV_17, "Sở Nội vụ thành phố Đà Nẵng", "SNV", "Đà Nẵng", tmp_path / "snv",
                 person("u-admin-snv", SNV_17, Role.ADMIN))
    ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "recall", "Sao nhầm văn bản")
    real = last(tq, "outgoing_package")
    for a in real["attachments"]:   # the stranger's package carries the same files
        snv.blobs.put_bytes(tq.blobs.read(a["sha256"]))
    forged = {**real, "message_id": "forged-copy-recall",
              "from": {"organ_id": SNV_17, "organ_name": "Sở Nội vụ thành phố Đà Nẵng"}}
    caplog.set_level(logging.WARNING)
    [answer] = relay(snv, dn, forged)
    assert answer.status_code == "02" and answer.recipients == SNV_17
    assert f"{SNV_17} không phải cơ quan gửi văn bản {copy['document_id']}" in _description(dn, answer)
    assert any("refused" in r.getMessage() and SNV_17 in r.getMessage() for r in caplog.records)
    # a 13 about the copy from the same stranger: its edge refuses it, the registry never hears of it
    status = {"kind": "status", "message_id": "forged-copy-13",
              "from": {"organ_id": SNV_17, "organ_name": "Sở Nội vụ thành phố Đà Nẵng"}, "to": {"organ_id": H17},
              "response_for": {"organ_id": tq.organ_id, "code": f"{copy['code_number']}/{copy['code_notation']}",
                               "promulgation_date": copy["issued_date"], "document_id": copy["document_id"]},
              "staff": {"department": "Văn thư", "name": "Hệ thống", "mobile": "", "email": ""},
              "status_code": "13", "description": "Lấy lại", "timestamp": "2026-12-05T09:00:00+07:00"}
    calls = len([m for m, _w in dn.wires if m == "record_status"])
    [refusal] = relay(snv, dn, status, hubs=False)
    assert refusal.status_code == "02" and refusal.recipients == SNV_17
    assert len([m for m, _w in dn.wires if m == "record_status"]) == calls
    received = ops.get_document(dn.registry, CLERK_17, incoming)
    assert received["state"] == State.REGISTERED and received["pending_change"] is None
    assert ops.list_change_requests(dn.registry, CLERK_17)["total"] == 0
    # the real request, from the copying agency, is still taken
    relay(tq, dn, real)
    assert ops.list_change_requests(dn.registry, CLERK_17)["items"][0]["id"] == incoming


def _description(answering: Agency, answer) -> str:
    """The text of an edge's 02, as its recipient reads it."""
    return str(edxml.parse(answering.blobs.read(answer.raw_sha256)).header.get("description") or "")


def test_requests_about_a_copy_are_refused_when_nothing_can_be_asked(agencies):
    tq, dn = agencies
    copy, _incoming = sent_and_registered(tq, dn)
    source = next(lk["to"] for lk in copy["links"] if lk["kind"] == "copy_of")
    [register] = ops.list_registers(tq.registry, CLERK_60, direction=Direction.COPIES)
    unsent = ops.make_copy(tq.registry, CLERK_60, source, "SL", register["id"],
                           lambda sha, text, operation_id=None: {"sha256": sha})
    with pytest.raises(ValidationFailed) as exc:   # sent to nobody: nobody to ask
        ops.request_copy_change(tq.registry, CLERK_60, unsent["id"], "recall", "Sao nhầm")
    assert exc.value.code == "not_sent" and "chưa được gửi" in exc.value.message_vi
    with pytest.raises(ValidationFailed) as exc:
        ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "take_back", " ")
    assert exc.value.code == "missing_field"
    with pytest.raises(Forbidden):
        ops.request_copy_change(tq.registry, LEADER, copy["id"], "recall", "Sao nhầm")
    with pytest.raises(NotFound):   # another agency's copy looks like a missing one
        ops.request_copy_change(dn.registry, CLERK_17, copy["id"], "recall", "Sao nhầm")
    with pytest.raises(NotFound):   # only a copy here; an outgoing document has its own route
        ops.request_copy_change(tq.registry, CLERK_60, source, "recall", "Sao nhầm")
    with pytest.raises(NotFound):
        ops.request_change(tq.registry, CLERK_60, copy["id"], "recall", "Sao nhầm")
    ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "update", "Sửa", {"subject": "Trích yếu mới"})
    with pytest.raises(ValidationFailed) as exc:   # one request at a time
        ops.request_copy_change(tq.registry, CLERK_60, copy["id"], "recall", "Sao nhầm")
    assert exc.value.code == "change_pending" and exc.value.message_vi.startswith("Bản sao đang chờ")
    g22 = {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"}
    with pytest.raises(ValidationFailed) as exc:   # nor new recipients while the recipients answer
        ops.send_copy(tq.registry, CLERK_60, copy["id"], [g22])
    assert exc.value.code == "change_pending"
    assert len(tq.outbox(tq.registry, registry_outbox, "outgoing_package")) == 2   # the copy, the update
