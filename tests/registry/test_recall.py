"""Recall, take back and update (STANDARDS §8.3) through the registry's use cases, both sides, on SQLite and
PostgreSQL: the request leaves through the outbox, the answers close it, an agreed recall deletes the content."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.common.errors import ValidationFailed
from services.registry import operations as ops
from services.registry.domain import Direction, State
from services.registry.models import Document
from services.registry.numbering import numbering_year
from tests.registry.conftest import OTHER, package, sha
from tests.registry.test_flows import RECIPIENTS, events, signed_ok


def issued(db, clerk, registers, subject: str = "Quyết định") -> dict:
    return ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": subject,
                                                    "code_notation": "QĐ-UBND"}, sha(subject), RECIPIENTS,
                                        registers["outgoing"], signed_ok)


def answer(db, edge, doc: dict, code: str, organ: str = OTHER) -> dict:
    return ops.record_status(db, edge, {"from": {"organ_id": organ}, "response_for": {"document_id":
                                                                                       doc["document_id"]},
                                        "status_code": code, "description": f"trả lời {code}"})


def test_take_back_sends_a_13_and_a_refusal_by_all_gives_the_document_back(db, edge, clerk, registers):
    doc = issued(db, clerk, registers)
    with pytest.raises(ValidationFailed) as missing:
        ops.request_change(db, clerk, doc["id"], "take_back", " ")
    assert missing.value.code == "missing_field"
    got = ops.request_change(db, clerk, doc["id"], "take_back", "Gửi nhầm nơi nhận", request_key="k1")
    assert got["state"] == State.RECALLED and got["frozen"] and got["pending_change"] == "take_back"
    again = ops.request_change(db, clerk, doc["id"], "take_back", "Gửi nhầm nơi nhận", request_key="k1")
    assert again["duplicate"]
    [status] = [s for s in events(db, "outgoing_status") if s["status_code"] == "13"]  # one, not two
    assert status["to"]["organ_id"] == OTHER and status["response_for"]["document_id"] == doc["document_id"]
    assert status["description"] == "Gửi nhầm nơi nhận"
    with pytest.raises(ValidationFailed) as pending:
        ops.request_change(db, clerk, doc["id"], "recall", "lần nữa", request_key="k2")
    assert pending.value.code == "change_pending"
    answer(db, edge, doc, "16")
    page = ops.get_document(db, clerk, doc["id"])
    assert page["state"] == State.ISSUED and not page["frozen"] and page["pending_change"] is None
    assert page["recipients"][0]["recall_state"] == "refused"
    actions = [h["action"] for h in page["history"]]
    assert actions[-3:] == ["change_sent", "status", "change_closed"]


def test_update_sends_the_new_metadata_and_the_receiver_applies_it(db, edge, clerk, registers):
    doc = issued(db, clerk, registers, "Về việc họp")
    with pytest.raises(ValidationFailed) as same:
        ops.request_change(db, clerk, doc["id"], "update", "Sửa", {"subject": "Về việc họp"})
    assert same.value.code == "nothing_changed"
    got = ops.request_change(db, clerk, doc["id"], "update", "Sửa trích yếu", {"subject": "Về việc họp (sửa)"})
    assert got["state"] == State.ISSUED and got["subject"] == "Về việc họp (sửa)"
    update = events(db, "outgoing_package")[-1]
    assert update["business"]["doc_type"] == 2 and update["subject"] == "Về việc họp (sửa)"
    assert update["business"]["reason"] == "Sửa trích yếu" and [t["organ_id"] for t in update["to"]] == [OTHER]
    answer(db, edge, doc, "15")
    page = ops.get_document(db, clerk, doc["id"])
    assert page["pending_change"] is None and page["recipients"][0]["recall_state"] == "accepted"
    sent = next(h for h in page["history"] if h["action"] == "change_sent")
    assert sent["details"]["changes"]["subject"] == ["Về việc họp", "Về việc họp (sửa)"]


def test_an_update_of_the_summary_longer_than_edxml_holds_is_refused_before_anything_changes(db, edge, clerk,
                                                                                            registers):
    doc = issued(db, clerk, registers, "Về việc tóm tắt")
    with pytest.raises(ValidationFailed) as long:
        ops.request_change(db, clerk, doc["id"], "update", "Sửa", {"content": "x" * 501})
    assert long.value.code == "too_long" and long.value.details["field"] == "content"
    page = ops.get_document(db, clerk, doc["id"])
    assert page["pending_change"] is None and page["content"] != "x" * 501
    got = ops.request_change(db, clerk, doc["id"], "update", "Sửa", {"content": "Tóm tắt " + "y" * 492})
    assert got["pending_change"] == "update" and events(db, "outgoing_package")[-1]["content"].startswith("Tóm tắt")


def test_agreed_recall_withdraws_the_content_and_keeps_the_metadata(db, edge, clerk, registers):
    doc = ops.receive_package(db, edge, package(21))["incoming_id"]
    ops.accept_incoming(db, clerk, doc, registers["incoming"])
    revoke = package(21, doc_type=1, target=package(21)["document_id"])
    ops.receive_package(db, edge, revoke)
    waiting = ops.list_change_requests(db, clerk)["items"]
    assert [(i["id"], i["change"]["kind"]) for i in waiting] == [(doc, "revoke")]
    got = ops.decide_change(db, clerk, doc, True, request_key="a1")
    assert got["status_code"] == "15" and got["state"] == State.REVOKED
    assert ops.decide_change(db, clerk, doc, True, request_key="a1")["duplicate"]  # answered once
    assert [s["status_code"] for s in events(db, "outgoing_status")] == ["03", "15"]
    [withdrawn] = events(db, "content_withdrawn")
    assert sorted(withdrawn["sha256s"]) == sorted([sha("p21"), sha("raw21")])
    page = ops.get_document(db, clerk, doc)
    assert page["content_withdrawn_at"] and page["subject"] == "Về việc số 21" and page["number"] == 1
    assert [h["action"] for h in page["history"]][-3:] == ["change_requested", "change_accepted",
                                                           "content_withdrawn"]
    assert ops.list_change_requests(db, clerk)["items"] == []
    with db.session() as s:  # decided: SQL NULL, so the list's query no longer reads this document at all
        assert s.execute(select(Document.id).where(Document.id == doc, Document.pending_change.is_(None))).first()


def test_a_file_another_document_uses_is_not_deleted(db, edge, clerk, registers):
    first = ops.receive_package(db, edge, package(22))["incoming_id"]
    twin = package(23)
    twin["attachments"][0]["sha256"] = sha("p22")  # the same PDF sent again as another document
    ops.receive_package(db, edge, twin)
    ops.receive_package(db, edge, package(22, doc_type=1, target=package(22)["document_id"]))
    assert ops.get_document(db, clerk, first)["state"] == State.REVOKED  # before registration: at once
    [withdrawn] = events(db, "content_withdrawn")
    assert withdrawn["sha256s"] == [sha("raw22")]


def test_a_request_about_someone_elses_document_is_refused(db, edge, clerk, registers):
    ops.receive_package(db, edge, package(24))
    forged = package(24, sender="000.00.00.H31", doc_type=1, target=package(24)["document_id"])
    with pytest.raises(ValidationFailed) as refused:
        ops.receive_package(db, edge, forged)
    assert refused.value.code == "not_the_sender" and "000.00.00.H31" in refused.value.message_vi
    with pytest.raises(ValidationFailed) as unknown:
        ops.receive_package(db, edge, package(25, doc_type=2, target="none,2026/01/05,1/X"))
    assert unknown.value.code == "unknown_target"
    status = {"from": {"organ_id": "000.00.00.H31"}, "response_for": {"document_id": package(24)["document_id"]},
              "status_code": "13"}
    assert ops.record_status(db, edge, status) == {"matched": False, "refused": "not_the_sender"}
    assert ops.list_change_requests(db, clerk)["items"] == []


def test_a_sent_copy_is_taken_back_once_per_request_key(db, edge, clerk, admin, registers):
    """A copy (request_copy_change) on both databases: the same key sends one 13, also after the answers came back;
    the recipient's 16 closes the request on the copy's line."""
    source = issued(db, clerk, registers, "Về việc sao gửi")
    copies = ops.create_register(db, admin, Direction.COPIES, numbering_year())["id"]
    copy = ops.make_copy(db, clerk, source["id"], "SY", copies, lambda sha_, text, operation_id=None: {"sha256": sha_})
    with pytest.raises(ValidationFailed) as unsent:
        ops.request_copy_change(db, clerk, copy["id"], "take_back", "Gửi nhầm")
    assert unsent.value.code == "not_sent"
    ops.send_copy(db, clerk, copy["id"], RECIPIENTS[:1])
    copy = ops.get_document(db, clerk, copy["id"])
    for _ in range(2):
        got = ops.request_copy_change(db, clerk, copy["id"], "take_back", "Gửi nhầm", request_key="c1")
    assert got["duplicate"] and got["state"] == State.RECALLED
    answer(db, edge, copy, "16")
    page = ops.get_document(db, clerk, copy["id"])
    assert page["state"] == State.ISSUED and page["recipients"][0]["recall_state"] == "refused"
    assert ops.request_copy_change(db, clerk, copy["id"], "take_back", "Gửi nhầm", request_key="c1")["duplicate"]
    assert [s["response_for"]["document_id"] for s in events(db, "outgoing_status")
            if s["status_code"] == "13"] == [copy["document_id"]]


def test_a_recall_handed_over_twice_is_asked_once(db, edge, clerk, registers):
    """At least once: the edge handed the recall over and fell before noting it; the registry takes it once, also
    after the clerk answered."""
    doc = ops.receive_package(db, edge, package(27))["incoming_id"]
    ops.accept_incoming(db, clerk, doc, registers["incoming"])
    stamp = {"organ_id": OTHER, "timestamp": "2026-01-06T08:00:00+07:00"}
    revoke = package(27, doc_type=1, target=package(27)["document_id"], trace=[stamp])
    assert not ops.receive_package(db, edge, revoke)["duplicate"]
    assert ops.receive_package(db, edge, revoke)["duplicate"]
    ops.decide_change(db, clerk, doc, False, "Đang xử lý")
    assert ops.receive_package(db, edge, revoke)["duplicate"]
    assert ops.list_change_requests(db, clerk)["items"] == []
    # another recall of the same document later (its sender's edge stamped it anew) is a new request
    again = package(27, doc_type=1, target=package(27)["document_id"],
                    trace=[{**stamp, "timestamp": "2026-01-07T08:00:00+07:00"}])
    assert not ops.receive_package(db, edge, again)["duplicate"]
    history = [h["action"] for h in ops.get_document(db, clerk, doc)["history"]]
    assert history.count("change_requested") == 2


def test_a_request_about_a_document_recalled_already_is_answered_at_once(db, edge, clerk, registers):
    """Nothing is left to decide once the content is withdrawn: another recall is agreed again (15), an update
    refused (16), without the clerk; each request once, and the sender hears of each."""
    doc = ops.receive_package(db, edge, package(28))["incoming_id"]
    ops.accept_incoming(db, clerk, doc, registers["incoming"])
    first = package(28, doc_type=1, target=package(28)["document_id"],
                    trace=[{"organ_id": OTHER, "timestamp": "2026-01-06T08:00:00+07:00"}])
    ops.receive_package(db, edge, first)
    ops.decide_change(db, clerk, doc, True)
    later = [package(28, doc_type=kind, target=package(28)["document_id"],
                     trace=[{"organ_id": OTHER, "timestamp": f"2026-01-0{day}T08:00:00+07:00"}])
             for kind, day in ((1, 7), (2, 8))]
    for request in later:
        got = ops.receive_package(db, edge, request)
        assert not got["duplicate"] and got["state"] == State.REVOKED
        assert ops.receive_package(db, edge, request)["duplicate"]  # handed over again: answered once
    assert ops.list_change_requests(db, clerk)["items"] == []
    assert [(s["status_code"], s["description"]) for s in events(db, "outgoing_status")][-2:] == [
        ("15", "Văn bản đã được thu hồi trước đó"), ("16", "Văn bản đã bị thu hồi; không thể cập nhật")]
    page = ops.get_document(db, clerk, doc)
    answered = [h["details"] for h in page["history"] if h["action"] == "change_answered"]
    assert [(d["kind"], d["status_code"]) for d in answered] == [("revoke", "15"), ("update", "16")]
    assert page["state"] == State.REVOKED and page["pending_change"] is None
