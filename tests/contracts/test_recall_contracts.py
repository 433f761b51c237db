"""Contract tests of recall, take back and update (STANDARDS §8.3): the real producer into the real consumer.

    registry ──outgoing_status (13)──────► edge ► edge ──► registry.record_status      (the receiver is asked)
    registry ──outgoing_package (type 2)─► edge ► edge ──► registry.receive_package    (an update to decide)
    registry ──outgoing_package (type 1)─► edge ► edge ──► registry.receive_package    (a recall to decide)
    registry ──outgoing_status (15/16)───► edge ► edge ──► registry.record_status      (the sender's answer)
    registry ──content_withdrawn─────────► storage.withdraw_blobs                      (the files go)

Same harness as test_event_contracts.py: every payload goes through JSON, the edges build and parse real edXML, and
a key the consumer reads that the producer never wrote fails the test.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import edxml
from services.registry import operations as ops
from services.registry.domain import Direction, State
from services.registry.models import outbox as registry_outbox
from services.storage import records
from services.storage.models import Base as StorageBase
from tests.contracts.recorder import Wire
from tests.contracts.test_event_contracts import (
    CLERK_17,
    CLERK_60,
    H17,
    LEGALLY_VALID,
    RECEIVE_PACKAGE_OPTIONAL,
    RECORD_STATUS_OPTIONAL,
    Agency,
    pdf,
    through_hubs,
)
from tests.contracts.test_event_contracts import agencies as agencies

DA_NANG = {"organ_id": H17, "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"}


def relay(source: Agency, target: Agency, payload: dict, hubs: bool = True) -> list:
    """One event of `source`'s registry to `target`'s registry, as edXML through both edges (and the hubs)."""
    row = source.edge.prepare_outgoing(Wire(payload).payload)
    raw = source.blobs.read(row.raw_sha256)
    raw = through_hubs(raw) if hubs else edxml.append_trace(raw, "hub.H17", datetime.now(UTC))
    return target.edge.take_incoming(raw, {})


def last(agency: Agency, event_type: str) -> dict:
    return agency.outbox(agency.registry, registry_outbox, event_type)[-1]


def last_wire(agency: Agency, method: str) -> Wire:
    return [w for m, w in agency.wires if m == method][-1]


def files_withdrawn(dn: Agency, files: list[str], tmp_path) -> None:
    """Đà Nẵng's storage service takes the registry's `content_withdrawn`: the recalled files leave its store."""
    storage = Database("storage", H17, StorageBase.metadata, CommonSettings(agency_id=H17, data_dir=tmp_path / "st"))
    storage.create_all()
    wire = Wire(last(dn, "content_withdrawn"))
    with storage.session() as session:
        removed = records.withdraw_blobs(session, dn.blobs, wire.payload["sha256s"])
    assert wire.unknown_reads() == set()
    assert set(files) <= set(removed) and not any(dn.blobs.exists(sha) for sha in files)


def sent_and_registered(tq: Agency, dn: Agency) -> tuple[dict, str]:
    sha = pdf(tq.blobs, "Quyết định phê duyệt kế hoạch")
    doc = ops.register_outgoing_signed(tq.registry, CLERK_60, {
        "type_code": "QĐ", "subject": "Về việc phê duyệt kế hoạch", "code_notation": "QĐ-UBND",
        "code_number": "1", "issued_date": "2026-03-02"}, sha, [DA_NANG], tq.registers[Direction.OUTGOING],
        lambda _sha: LEGALLY_VALID)
    relay(tq, dn, last(tq, "outgoing_package"))
    [incoming] = ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
    ops.accept_incoming(dn.registry, CLERK_17, incoming["id"], dn.registers[Direction.INCOMING])
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)  # 03
    return doc, incoming["id"]


def test_take_back_update_and_recall_travel_as_edxml_and_their_answers_come_back(agencies, tmp_path):
    tq, dn = agencies
    doc, incoming = sent_and_registered(tq, dn)

    # lấy lại: a 13 reaches Đà Nẵng's registry, which waits for its clerk; refused, a 16 comes back
    ops.request_change(tq.registry, CLERK_60, doc["id"], "take_back", "Gửi nhầm nơi nhận")
    relay(tq, dn, last(tq, "outgoing_status"), hubs=False)
    assert last_wire(dn, "record_status").unknown_reads(RECORD_STATUS_OPTIONAL) == set()
    [asked] = ops.list_change_requests(dn.registry, CLERK_17)["items"]
    assert (asked["id"], asked["change"]["kind"], asked["change"]["reason"]) == (incoming, "take_back",
                                                                                  "Gửi nhầm nơi nhận")
    ops.decide_change(dn.registry, CLERK_17, incoming, False, "Văn bản đã được phân công xử lý")
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
    assert last_wire(tq, "record_status").unknown_reads(RECORD_STATUS_OPTIONAL) == set()
    sender = ops.get_document(tq.registry, CLERK_60, doc["id"])
    assert sender["state"] == State.ISSUED and sender["recipients"][0]["recall_state"] == "refused"

    # cập nhật: a type-2 package with the new trích yếu, agreed: the receiver's record takes it
    ops.request_change(tq.registry, CLERK_60, doc["id"], "update", "Sửa trích yếu",
                       {"subject": "Về việc phê duyệt kế hoạch năm 2026"})
    relay(tq, dn, last(tq, "outgoing_package"))
    assert last_wire(dn, "receive_package").unknown_reads(RECEIVE_PACKAGE_OPTIONAL) == set()
    ops.decide_change(dn.registry, CLERK_17, incoming, True)
    assert ops.get_document(dn.registry, CLERK_17, incoming)["subject"] == "Về việc phê duyệt kế hoạch năm 2026"
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
    assert ops.get_document(tq.registry, CLERK_60, doc["id"])["recipients"][0]["recall_state"] == "accepted"

    # thu hồi: a type-1 package, agreed: a 15 back, the files deleted from Đà Nẵng's store, the metadata kept
    files = [a["sha256"] for a in ops.get_document(dn.registry, CLERK_17, incoming)["attachments"]]
    assert all(dn.blobs.exists(sha) for sha in files)
    ops.request_change(tq.registry, CLERK_60, doc["id"], "recall", "Sai thẩm quyền ban hành")
    relay(tq, dn, last(tq, "outgoing_package"))
    ops.decide_change(dn.registry, CLERK_17, incoming, True)
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
    sender = ops.get_document(tq.registry, CLERK_60, doc["id"])
    assert sender["state"] == State.RECALLED and sender["recipients"][0]["recall_state"] == "accepted"
    assert [h["action"] for h in sender["history"]][-2:] == ["status", "change_closed"]

    files_withdrawn(dn, files, tmp_path)
    received = ops.get_document(dn.registry, CLERK_17, incoming)
    assert received["state"] == State.REVOKED and received["content_withdrawn_at"] and received["number"] == 1


def test_a_recall_about_a_document_the_sender_did_not_send_is_answered_02(agencies):
    tq, dn = agencies
    doc, _incoming = sent_and_registered(tq, dn)
    # Đà Nẵng asks Tuyên Quang to recall Tuyên Quang's own document: nobody's to recall but Tuyên Quang's.
    forged = {**last(tq, "outgoing_package"), "message_id": "forged-recall",
              "from": {"organ_id": H17, "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"},
              "to": [{"organ_id": tq.organ_id, "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang"}]}
    forged["business"] = {**forged["business"], "doc_type": 1, "reason": "Thu hồi"}
    [answer] = relay(dn, tq, forged)
    assert answer.status_code == "02" and answer.recipients == H17
    sender = ops.get_document(tq.registry, CLERK_60, doc["id"])
    assert sender["state"] == State.ISSUED and sender["pending_change"] is None


def test_a_second_update_with_the_same_reason_is_taken_and_answered(agencies):
    """Updated twice for the same reason ("Sửa trích yếu"): the receiving edge tells the two requests apart by the
    time the sender's edge stamped each (its TraceHeader), not by type and reason alone, which dropped the second as a
    duplicate and left the sender waiting for an answer that never came. The same package again stays one."""
    tq, dn = agencies
    doc, incoming = sent_and_registered(tq, dn)
    for subject in ("Về việc phê duyệt kế hoạch năm 2026", "Về việc phê duyệt kế hoạch năm 2026 (bổ sung)"):
        time.sleep(1.1)  # the trace's timestamp counts whole seconds: the second request is another second
        ops.request_change(tq.registry, CLERK_60, doc["id"], "update", "Sửa trích yếu", {"subject": subject})
        package = last(tq, "outgoing_package")
        relay(tq, dn, package)
        [asked] = ops.list_change_requests(dn.registry, CLERK_17)["items"]
        assert (asked["id"], asked["change"]["kind"]) == (incoming, "update")
        ops.decide_change(dn.registry, CLERK_17, incoming, True)
        relay(dn, tq, last(dn, "outgoing_status"), hubs=False)
        assert ops.get_document(dn.registry, CLERK_17, incoming)["subject"] == subject
        sender = ops.get_document(tq.registry, CLERK_60, doc["id"])
        assert sender["pending_change"] is None and sender["recipients"][0]["recall_state"] == "accepted"
    received = [w for m, w in dn.wires if m == "receive_package"]
    relay(tq, dn, package)  # the last update delivered again: a duplicate at the edge
    assert len([w for m, w in dn.wires if m == "receive_package"]) == len(received) == 3  # the document, 2 updates
