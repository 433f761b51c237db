"""Incoming and outgoing life cycles through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.common.actor import Role
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.outbox import _generic as outbox_table
from services.registry import operations as ops
from services.registry.domain import ServiceUnavailable, State
from tests.registry.conftest import AGENCY, OTHER, package, person, sha


def events(db, event_type: str) -> list[dict]:
    with db.session() as s:
        rows = s.execute(select(outbox_table.c.payload).where(outbox_table.c.event_type == event_type)
                         .order_by(outbox_table.c.id)).scalars()
        return list(rows)


def fake_sign(calls: list | None = None, operations: list | None = None):
    def sign(pdf, number_text, date_text, notation, appendices, operation_id=None):
        if calls is not None:
            calls.append((pdf, number_text, date_text, notation))
        if operations is not None:
            operations.append(operation_id)
        return {"sha256": sha(f"signed {pdf} {number_text}"), "appendices": [sha(f"s{a}") for a in appendices]}
    return sign


def broken_sign(*_args, **_kwargs):
    raise ConnectionError("signing is down")


# --- incoming from the interconnect -------------------------------------------------------------------------

def test_receive_is_idempotent_and_waits_for_reception(db, edge, clerk, registers):
    first = ops.receive_package(db, edge, package(12))
    again = ops.receive_package(db, edge, package(12))
    assert again == {"incoming_id": first["incoming_id"], "duplicate": True, "state": State.WAITING_RECEPTION}
    waiting = ops.list_waiting_reception(db, clerk)
    assert [d["id"] for d in waiting["items"]] == [first["incoming_id"]]
    doc = ops.get_document(db, clerk, first["incoming_id"])
    assert doc["verification_state"] == "pending"  # no signing service answered: recorded, not lost
    assert doc["raw_sha256"] == sha("raw12") and doc["trace"][0]["organ_id"] == "hub.H17"
    assert doc["attachments"][0]["sha256"] == sha("p12")


def test_verification_verdict_is_recorded_when_signing_answers(db, edge, registers):
    got = ops.receive_package(db, edge, package(3), verify=lambda s: {"valid": False, "errors": ["no seal"]})
    with db.session() as s:
        from services.registry.models import Document
        doc = s.get(Document, got["incoming_id"])
        assert doc.verification_state == "invalid" and doc.verification["errors"] == ["no seal"]


def test_urgent_documents_sort_first(db, edge, clerk, registers):
    ops.receive_package(db, edge, package(1, priority=0))
    urgent = ops.receive_package(db, edge, package(2, priority=3))
    assert ops.list_waiting_reception(db, clerk)["items"][0]["id"] == urgent["incoming_id"]


def test_accept_numbers_and_sends_03_and_incoming_registered(db, edge, clerk, registers):
    a = ops.receive_package(db, edge, package(1))["incoming_id"]
    b = ops.receive_package(db, edge, package(2))["incoming_id"]
    assert ops.accept_incoming(db, clerk, a, registers["incoming"])["number"] == 1
    got = ops.accept_incoming(db, clerk, b, registers["incoming"])
    assert got["number"] == 2 and got["state"] == State.REGISTERED and got["arrival_date"]
    statuses = events(db, "outgoing_status")
    assert [(s["status_code"], s["to"]["organ_id"]) for s in statuses] == [("03", OTHER), ("03", OTHER)]
    assert statuses[1]["description"].endswith("số 02")
    assert statuses[1]["response_for"]["document_id"] == package(2)["document_id"]
    registered = events(db, "incoming_registered")
    assert [e["incoming_id"] for e in registered] == [a, b] and all(e["message_id"] for e in registered)
    with pytest.raises(ValidationFailed):  # registered once only
        ops.accept_incoming(db, clerk, a, registers["incoming"])
    assert [d["id"] for d in ops.list_incoming(db, clerk)["items"]] == [b, a]


@pytest.mark.parametrize("reason", ["WRONG_RECIPIENT", "INVALID_SIGNATURE"])
def test_each_rejection_reason_sends_02_with_the_reason(db, edge, clerk, registers, reason):
    doc = ops.receive_package(db, edge, package(7))["incoming_id"]
    got = ops.reject_incoming(db, clerk, doc, reason, "Chữ ký không hợp lệ")
    assert got["state"] == State.REJECTED and got["reject_reason"] == reason
    (status,) = events(db, "outgoing_status")
    assert status["status_code"] == "02" and "Chữ ký không hợp lệ" in status["description"]
    with pytest.raises(ValidationFailed):
        ops.accept_incoming(db, clerk, doc, registers["incoming"])


def test_rejection_needs_an_allowed_reason_and_a_text(db, edge, clerk, registers):
    doc = ops.receive_package(db, edge, package(7))["incoming_id"]
    with pytest.raises(ValidationFailed) as exc:
        ops.reject_incoming(db, clerk, doc, "TOO_LONG_TO_READ", "x")
    assert exc.value.details["field"] == "reason_code"
    with pytest.raises(ValidationFailed) as exc:
        ops.reject_incoming(db, clerk, doc, "WRONG_RECIPIENT", " ")
    assert "Lý do từ chối" in exc.value.message_vi


def test_wrong_recipient_and_secret_packages_are_refused(db, edge, registers):
    with pytest.raises(ValidationFailed) as exc:
        ops.receive_package(db, edge, package(1, to="000.00.00.H99"))
    assert exc.value.code == "wrong_recipient"
    with pytest.raises(ValidationFailed) as exc:
        ops.receive_package(db, edge, package(2, secrecy="MẬT"))
    assert exc.value.code == "secret_document" and "mật" in exc.value.message_vi


def test_duplicate_number_warning_among_incoming(db, edge, registers):
    ops.receive_package(db, edge, package(5))
    resent = package(5)
    resent["document_id"] += "-bis"  # another DocumentId, same number/notation/issuer
    got = ops.receive_package(db, edge, resent)
    assert [w["code"] for w in got["warnings"]] == ["duplicate_number"]


def test_revoke_before_registration_is_accepted_at_once(db, edge, clerk, registers):
    doc = ops.receive_package(db, edge, package(4))["incoming_id"]
    got = ops.receive_package(db, edge, package(4, doc_type=1, target=package(4)["document_id"]))
    assert got["incoming_id"] == doc and got["state"] == State.REVOKED
    assert [s["status_code"] for s in events(db, "outgoing_status")] == ["15"]


def test_revoke_and_update_after_registration_wait_for_the_clerk(db, edge, clerk, registers):
    doc = ops.receive_package(db, edge, package(4))["incoming_id"]
    ops.accept_incoming(db, clerk, doc, registers["incoming"])
    update = package(4, doc_type=2, target=package(4)["document_id"])
    update["subject"] = "Về việc số 4 (sửa)"
    assert ops.receive_package(db, edge, update)["change"] == "update"
    assert ops.decide_change(db, clerk, doc, True)["status_code"] == "15"
    assert ops.get_document(db, clerk, doc)["subject"] == "Về việc số 4 (sửa)"
    ops.receive_package(db, edge, package(4, doc_type=1, target=package(4)["document_id"]))
    with pytest.raises(ValidationFailed):
        ops.decide_change(db, clerk, doc, False, "")
    assert ops.decide_change(db, clerk, doc, False, "Đã phân công xử lý")["status_code"] == "16"
    assert ops.get_document(db, clerk, doc)["state"] == State.REGISTERED
    assert [s["status_code"] for s in events(db, "outgoing_status")] == ["03", "15", "16"]


def test_replace_links_the_new_document_to_the_old(db, edge, clerk, registers):
    old = ops.receive_package(db, edge, package(8))["incoming_id"]
    new = package(9, doc_type=3, target=package(8)["document_id"])
    new_id = ops.receive_package(db, edge, new)["incoming_id"]
    assert ops.get_document(db, clerk, old)["replaced_by"] == new_id
    assert ("to", old, "replaces") in [("to", lk.get("to"), lk["kind"])
                                       for lk in ops.get_document(db, clerk, new_id)["links"]]


def test_take_back_status_13_on_an_incoming_document(db, edge, clerk, registers):
    doc = ops.receive_package(db, edge, package(6))["incoming_id"]
    ops.accept_incoming(db, clerk, doc, registers["incoming"])
    status = {"from": {"organ_id": OTHER}, "response_for": {"document_id": package(6)["document_id"]},
              "status_code": "13", "description": "Gửi nhầm"}
    assert ops.record_status(db, edge, status)["incoming_id"] == doc
    assert ops.decide_change(db, clerk, doc, True)["state"] == State.REVOKED


# --- incoming by hand ---------------------------------------------------------------------------------------

PAPER = {"code_number": "45", "code_notation": "SNV-TCBC", "subject": "Về việc tuyển dụng",
         "organ_name": "Sở Nội vụ", "issued_date": "2026-01-03", "priority": 1}


def test_paper_incoming_is_registered_with_the_next_arrival_number(db, clerk, registers):
    got = ops.register_paper_incoming(db, clerk, PAPER, [sha("scan")])
    assert got["state"] == State.REGISTERED and got["number"] == 1 and got["source_channel"] == "paper"
    assert events(db, "outgoing_status") == []  # nobody to answer on paper
    assert events(db, "incoming_registered")[0]["incoming_id"] == got["id"]


@pytest.mark.parametrize(("missing", "label"), [("code_number", "Số của văn bản"),
                                                 ("code_notation", "Ký hiệu của văn bản"),
                                                 ("subject", "Trích yếu nội dung")])
def test_paper_incoming_mandatory_fields_are_named(db, clerk, registers, missing, label):
    with pytest.raises(ValidationFailed) as exc:
        ops.register_paper_incoming(db, clerk, {**PAPER, missing: ""}, [sha("scan")])
    assert label in exc.value.message_vi and exc.value.details["field"] == missing


def test_paper_incoming_needs_a_file(db, clerk, registers):
    with pytest.raises(ValidationFailed) as exc:
        ops.register_paper_incoming(db, clerk, PAPER, [])
    assert "Tệp văn bản" in exc.value.message_vi


@pytest.mark.parametrize(("field", "label", "length"), [
    ("subject", "Trích yếu nội dung", 501), ("code_notation", "Ký hiệu của văn bản", 31),
    ("code_number", "Số của văn bản", 12), ("organ_name", "Tên cơ quan, tổ chức ban hành", 201),
    ("description", "Ghi chú", 501), ("signer_position", "Chức vụ người ký", 101),
    ("signer_full_name", "Họ tên người ký", 51), ("language", "Ngôn ngữ", 31), ("to_places",
                                                                                "Đơn vị hoặc người nhận", 1001),
    ("type_name", "Tên loại văn bản", 101), ("file_notation", "Số và ký hiệu hồ sơ", 21),
])
def test_every_field_length_error_names_the_field(db, clerk, registers, field, label, length):
    value = "1" * length if field == "code_number" else "a" * length
    with pytest.raises(ValidationFailed) as exc:
        ops.register_paper_incoming(db, clerk, {**PAPER, field: value}, [sha("scan")])
    assert label in exc.value.message_vi and exc.value.details == {"field": field, "max_len": length - 1,
                                                                   "length": length}


@pytest.mark.parametrize(("field", "value"), [("page_amount", 1000), ("priority", 7), ("issued_date", "31/13/2026")])
def test_numbers_dates_and_urgency_are_checked(db, clerk, registers, field, value):
    with pytest.raises(ValidationFailed) as exc:
        ops.register_paper_incoming(db, clerk, {**PAPER, field: value}, [sha("scan")])
    assert exc.value.details["field"] == field


def test_secret_paper_document_is_refused(db, clerk, registers):
    with pytest.raises(ValidationFailed) as exc:
        ops.register_paper_incoming(db, clerk, {**PAPER, "secrecy": "TỐI MẬT"}, [sha("scan")])
    assert exc.value.code == "secret_document"


def test_paper_copy_of_an_electronic_document_is_not_registered_twice(db, edge, clerk, registers):
    electronic = ops.receive_package(db, edge, package(12))["incoming_id"]
    ops.accept_incoming(db, clerk, electronic, registers["incoming"])
    paper = {"code_number": "12", "code_notation": "UBND-VX", "subject": "Về việc số 12",
             "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng", "issued_date": "2026-01-05"}
    got = ops.register_paper_incoming(db, clerk, paper, [sha("scan12")])
    assert got["paper_duplicate_of"] == electronic and got["number"] == 1
    assert ops.list_incoming(db, clerk)["total"] == 1
    history = [h["action"] for h in ops.get_document(db, clerk, electronic)["history"]]
    assert history == ["received", "registered", "paper_copy_received"]


def test_late_entry_keeps_its_real_time_and_is_marked(db, clerk, registers):
    real = datetime.now(UTC) - timedelta(hours=5)
    got = ops.register_paper_incoming(db, clerk, PAPER, [sha("scan")], late_entry_at=real.isoformat())
    assert got["late_entry"] and datetime.fromisoformat(got["happened_at"]) == real
    (entry,) = ops.get_document(db, clerk, got["id"])["history"]
    assert entry["late_entry"] and datetime.fromisoformat(entry["happened_at"]) == real
    with pytest.raises(ValidationFailed):
        ops.register_paper_incoming(db, clerk, PAPER, [sha("s2")],
                                    late_entry_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())


# --- outgoing -----------------------------------------------------------------------------------------------

def draft(n: int = 1, **extra) -> dict:
    return {"draft_id": f"d-{n}", "type_code": "QĐ", "subject": f"Quyết định số {n}", "pdf_sha256": sha(f"d{n}"),
            "signer": {"position": "Chủ tịch", "full_name": "Nguyễn Văn An"}, "handlers": ["anhnv.vp"],
            "appendix_sha256s": [sha(f"a{n}")], **extra}


RECIPIENTS = [{"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"},
              {"organ_id": "VP", "organ_name": "Văn phòng", "channel": "internal"}]


def test_issue_numbers_signs_and_dispatches_through_the_outbox(db, edge, clerk, registers):
    system = edge
    waiting = ops.submit_for_issue(db, system, draft(1, priority=2))
    assert ops.submit_for_issue(db, system, draft(1))["duplicate"]
    assert waiting["state"] == State.WAITING_ISSUE and waiting["code_notation"] == "QĐ-UBND"
    assert ops.list_waiting_issue(db, clerk)["items"][0]["id"] == waiting["id"]
    calls: list = []
    operations: list = []
    got = ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign(calls, operations),
                             urgency=3, no_paper_copy=True)
    # signing remembers a seal by its business operation (this document's seal), never by the file alone
    assert operations == [f"outgoing:{waiting['id']}:seal"]
    assert got["state"] == State.ISSUED and got["number"] == 1 and got["number_and_notation"] == "01/QĐ-UBND"
    assert calls[0][1] == "01" and calls[0][3] == "QĐ-UBND"
    (pkg,) = events(db, "outgoing_package")
    assert pkg["code_number"] == "01" and pkg["code_notation"] == "QĐ-UBND" and pkg["other"]["priority"] == 3
    assert [t["organ_id"] for t in pkg["to"]] == [OTHER]  # internal units are not sent over the axis
    assert pkg["business"]["paper"] == 0 and pkg["message_id"]
    assert {a["sha256"] for a in pkg["attachments"]} == {sha(f"signed {sha('d1')} 01"), sha(f"s{sha('a1')}")}
    doc = ops.get_document(db, clerk, waiting["id"])
    assert [r["organ_id"] for r in doc["recipients"]] == [OTHER, "VP"]
    with pytest.raises(ValidationFailed):
        ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())


def test_issue_keeps_the_drafters_order_of_the_appendices(db, edge, clerk, registers):
    """Appendix rows have random ids: read back in id order, "Phụ lục 02" could be signed and sent as 01. Twelve
    appendices make a lucky order all but impossible (1 in 12!)."""
    order = [sha(f"order {i}") for i in range(1, 13)]
    waiting = ops.submit_for_issue(db, edge, draft(9, appendix_sha256s=order))
    signed: list = []

    def sign(pdf, number_text, date_text, notation, appendices, operation_id=None):
        signed.extend(appendices)
        return fake_sign()(pdf, number_text, date_text, notation, appendices, operation_id)

    ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, sign, no_paper_copy=True)
    assert signed == order
    (pkg,) = events(db, "outgoing_package")
    assert [a["sha256"] for a in pkg["attachments"]][1:] == [sha(f"s{a}") for a in order]
    assert [a["description"] for a in pkg["attachments"]][1:] == [f"Phụ lục {i:02d}" for i in range(1, 13)]


def test_signing_unavailable_numbers_nothing(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(2))
    with pytest.raises(ServiceUnavailable) as exc:
        ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, broken_sign)
    assert "chưa được cấp số" in exc.value.message_vi
    assert ops.get_document(db, clerk, waiting["id"])["state"] == State.WAITING_ISSUE
    assert events(db, "outgoing_package") == []
    got = ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())
    assert got["number"] == 1


def test_a_number_taken_while_signing_is_signed_again_with_the_next(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(3))
    calls: list = []

    def racing_sign(*args, **kwargs):
        if not calls:  # another clerk takes the number while this PDF is being signed
            ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo",
                                                     "code_notation": "TB-UBND"}, sha("tb"), RECIPIENTS,
                                         registers["outgoing"], signed_ok)
        return fake_sign(calls)(*args, **kwargs)

    got = ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, racing_sign)
    assert [c[1] for c in calls] == ["01", "02"] and got["number"] == 2


def test_answer_marks_incoming_handled_and_tells_routing(db, edge, clerk, registers):
    incoming = ops.receive_package(db, edge, package(21))["incoming_id"]
    ops.accept_incoming(db, clerk, incoming, registers["incoming"])
    waiting = ops.submit_for_issue(db, edge, draft(4, type_code="CV", unit_abbr="VX", answers=[incoming]))
    assert waiting["code_notation"] == "UBND-VX"
    ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())
    assert ops.get_document(db, clerk, incoming)["handled"] is True
    (issued,) = events(db, "outgoing_issued")
    assert issued["outgoing_id"] == waiting["id"] and issued["answers"] == [incoming]
    (pkg,) = events(db, "outgoing_package")
    assert pkg["response_for"][0]["document_id"] == package(21)["document_id"]


def test_a_reply_that_arrives_is_linked_to_the_document_it_answers(db, edge, clerk, registers):
    # issue 18 item 9: the receiver of our document answers it; its reply names ours in ResponseFor
    ours = ops.register_outgoing_signed(db, clerk, {"type_code": "CV", "subject": "Đề nghị báo cáo",
                                                    "code_notation": "UBND-VP"}, sha("ask"), RECIPIENTS,
                                        registers["outgoing"], signed_ok)
    reply = {**package(31), "response_for": [{"organ_id": AGENCY, "code": f"{ours['code_number']}/UBND-VP",
                                              "document_id": ours["document_id"]}]}
    got = ops.receive_package(db, edge, reply)["incoming_id"]
    incoming = ops.get_document(db, clerk, got)
    assert [(lk["to"], lk["kind"]) for lk in incoming["links"]] == [(ours["id"], "answers")]
    assert incoming["links"][0]["label"] == f"{ours['code_number']}/UBND-VP – Đề nghị báo cáo"
    outgoing = ops.get_document(db, clerk, ours["id"])
    assert [(lk["from"], lk["kind"]) for lk in outgoing["links"]] == [(got, "answers")]
    assert "answer_received" in [h["action"] for h in outgoing["history"]]
    # a reply to someone else's document (another organ in ResponseFor) links nothing here
    other = {**package(32), "response_for": [{"organ_id": OTHER, "document_id": ours["document_id"]}]}
    assert ops.get_document(db, clerk, ops.receive_package(db, edge, other)["incoming_id"])["links"] == []


def signed_ok(pdf_sha256: str) -> dict:
    """signing.verify's answer on a document with the leader's signature and the seal (docs/signing.md)."""
    return {"verdict": "valid", "legally_valid": True, "summary_vi": "Văn bản có giá trị pháp lý."}


def unsigned(pdf_sha256: str) -> dict:
    return {"verdict": "unsigned", "legally_valid": False,
            "summary_vi": "Văn bản chưa được ký số; chỉ có giá trị tham khảo."}


SENT = {"type_code": "CV", "subject": "Công văn đã ký", "code_notation": "UBND-VP"}


def test_send_refuses_an_unsigned_document_unless_the_agency_allows_it_marked(db, clerk, admin, registers):
    with pytest.raises(ValidationFailed) as exc:
        ops.register_outgoing_signed(db, clerk, SENT, sha("u"), RECIPIENTS, registers["outgoing"], unsigned)
    assert exc.value.code == "not_legally_signed" and "chưa được ký số" in exc.value.message_vi
    assert events(db, "outgoing_package") == [] and ops.list_registers(db, clerk)[1]["next_number"] == 1
    with pytest.raises(ValidationFailed):  # the clerk's choice alone is not enough: the agency must allow it
        ops.register_outgoing_signed(db, clerk, {**SENT, "accept_not_legally_valid": True}, sha("u"), RECIPIENTS,
                                     registers["outgoing"], unsigned)
    ops.set_send_policy(db, admin, True)
    got = ops.register_outgoing_signed(db, clerk, {**SENT, "accept_not_legally_valid": True}, sha("u"),
                                       RECIPIENTS, registers["outgoing"], unsigned)
    doc = ops.get_document(db, clerk, got["id"])
    assert [a["role"] for a in doc["attachments"]] == ["unsigned"] and doc["legally_valid"] is False
    assert [a["sha256"] for a in events(db, "outgoing_package")[0]["attachments"]] == [sha("u")]


def test_send_is_idempotent_per_form_and_keeps_appendices_and_no_paper(db, clerk, registers):
    meta = {**SENT, "request_key": "form-1", "no_paper_copy": True, "appendices": [sha("a1")]}
    first = ops.register_outgoing_signed(db, clerk, meta, sha("s"), RECIPIENTS, registers["outgoing"], signed_ok)
    again = ops.register_outgoing_signed(db, clerk, meta, sha("s"), RECIPIENTS, registers["outgoing"], signed_ok)
    assert again["id"] == first["id"] and again["duplicate"] and not first["duplicate"]
    assert len(events(db, "outgoing_package")) == 1
    doc = ops.get_document(db, clerk, first["id"])
    assert [a["role"] for a in doc["attachments"]] == ["signed", "appendix_signed"] and doc["no_paper_copy"]
    (pkg,) = events(db, "outgoing_package")
    assert pkg["business"]["paper"] == 0 and len(pkg["attachments"]) == 2
    assert pkg["other"]["appendixes"] == [doc["attachments"][1]["name"]]


def test_register_outgoing_signed_takes_only_the_free_number(db, clerk, registers):
    meta = {"type_code": "QĐ", "subject": "Quyết định đã ký", "code_notation": "QĐ-UBND", "code_number": "5"}
    with pytest.raises(Conflict) as exc:
        ops.register_outgoing_signed(db, clerk, meta, sha("x"), RECIPIENTS, registers["outgoing"], signed_ok)
    assert "số tiếp theo là 01" in exc.value.message_vi
    got = ops.register_outgoing_signed(db, clerk, {**meta, "code_number": "01"}, sha("x"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    assert got["number_and_notation"] == "01/QĐ-UBND"
    assert events(db, "outgoing_package")[0]["document_id"].endswith(",01/QĐ-UBND")


def test_outgoing_validation_names_fields(db, clerk, registers):
    with pytest.raises(ValidationFailed) as exc:
        ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": "x", "code_notation": "QĐ UBND"},
                                     sha("x"), RECIPIENTS, registers["outgoing"], signed_ok)
    assert "Ký hiệu" in exc.value.message_vi
    with pytest.raises(ValidationFailed) as exc:
        ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": "x", "code_notation": "QĐ-UBND"},
                                     sha("x"), [], registers["outgoing"], signed_ok)
    assert "Nơi nhận" in exc.value.message_vi
    with pytest.raises(ValidationFailed) as exc:
        ops.register_outgoing_signed(db, clerk, {"type_code": "XX", "subject": "x", "code_notation": "QĐ-UBND"},
                                     sha("x"), RECIPIENTS, registers["outgoing"], signed_ok)
    assert exc.value.details["field"] == "type_code"
    with pytest.raises(ValidationFailed) as exc:
        ops.submit_for_issue(db, clerk, {**draft(9), "issued_amount": 1000})
    assert "Số lượng bản phát hành" in exc.value.message_vi


def test_recall_freezes_and_follows_the_answers(db, edge, clerk, registers):
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": "Quyết định",
                                                   "code_notation": "QĐ-UBND"}, sha("x"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    about = {"document_id": got["document_id"]}
    ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": about, "status_code": "01"})
    assert ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": about,
                                        "status_code": "1"})["duplicate"]
    ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": about, "status_code": "03"})
    recalled = ops.recall_outgoing(db, clerk, got["id"], "Sai trích yếu")
    assert recalled["state"] == State.RECALLED and recalled["frozen"]
    revoke = events(db, "outgoing_package")[-1]
    assert revoke["business"]["doc_type"] == 1 and revoke["business"]["target_document_id"] == got["document_id"]
    ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": about, "status_code": "15"})
    (row, _internal) = ops.get_document(db, clerk, got["id"])["recipients"]
    assert row["status_code"] == "03" and row["recall_state"] == "accepted"
    with pytest.raises(ValidationFailed):
        ops.recall_outgoing(db, clerk, got["id"], "lần nữa")


def test_per_recipient_statuses_move_forward(db, edge, clerk, registers):
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo",
                                                   "code_notation": "TB-UBND"}, sha("y"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    about = {"document_id": got["document_id"]}
    for code in ("01", "03", "04", "05", "05", "06"):
        ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": about, "status_code": code,
                                     "description": f"trạng thái {code}"})
    row = ops.get_document(db, clerk, got["id"])["recipients"][0]
    assert row["status_code"] == "06"
    actions = [h["details"].get("status_code") for h in ops.get_document(db, clerk, got["id"])["history"]]
    assert actions.count("05") == 2  # 05 may repeat (STANDARDS §1.6)


def test_a_status_arriving_late_does_not_take_the_line_back(db, edge, clerk, registers):
    # The receiver's edge sends 01 on arrival, its registry 03 after the clerk registered: two ways, either order.
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo thứ tự",
                                                   "code_notation": "TB-UBND"}, sha("order"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    about = {"document_id": got["document_id"]}
    for code in ("03", "01", "05", "04"):
        ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": about, "status_code": code,
                                     "description": f"trạng thái {code}"})
        if code == "01":
            row = ops.get_document(db, clerk, got["id"])["recipients"][0]
            assert (row["status_code"], row["description"]) == ("03", "trạng thái 03")
    doc = ops.get_document(db, clerk, got["id"])
    assert doc["recipients"][0]["status_code"] == "05"
    # every status is still in the history, in the order it came
    assert [h["details"].get("status_code") for h in doc["history"] if h["action"] == "status"] == [
        "03", "01", "05", "04"]


def test_a_status_time_in_vietnam_time_keeps_its_instant(db, edge, clerk, registers):
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo giờ",
                                                   "code_notation": "TB-UBND"}, sha("tz"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    ops.record_status(db, edge, {"from": {"organ_id": OTHER}, "response_for": {"document_id": got["document_id"]},
                                 "status_code": "01", "timestamp": "2026-11-21T15:11:00+07:00"})
    row = ops.get_document(db, clerk, got["id"])["recipients"][0]
    moment = datetime.fromisoformat(row["status_at"])
    assert (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) == datetime(2026, 11, 21, 8, 11, tzinfo=UTC)


# --- rules --------------------------------------------------------------------------------------------------

def test_another_agency_cannot_read_or_change_a_document_by_id(db, edge, clerk, registers):
    doc = ops.receive_package(db, edge, package(30))["incoming_id"]
    stranger = person("clerk.dn", Role.CLERK, agency=OTHER)
    for call in (lambda: ops.get_document(db, stranger, doc),
                 lambda: ops.accept_incoming(db, stranger, doc, registers["incoming"]),
                 lambda: ops.reject_incoming(db, stranger, doc, "WRONG_RECIPIENT", "x"),
                 lambda: ops.list_incoming(db, stranger)):
        with pytest.raises(Forbidden):
            call()
    assert ops.get_document(db, clerk, doc)["state"] == State.WAITING_RECEPTION


def test_drafts_are_visible_only_to_their_handlers(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(5))
    handler = person("anhnv.vp", Role.SPECIALIST)
    colleague = person("binhtt.vp", Role.SPECIALIST)
    assert ops.get_document(db, handler, waiting["id"])["id"] == waiting["id"]
    with pytest.raises(Forbidden):
        ops.get_document(db, colleague, waiting["id"])
    assert ops.list_waiting_issue(db, colleague)["items"] == []
    ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())
    assert ops.get_document(db, colleague, waiting["id"])["state"] == State.ISSUED  # registered: agency-wide


def test_missing_document_is_not_found(db, clerk, registers):
    with pytest.raises(NotFound):
        ops.get_document(db, clerk, "00000000-0000-0000-0000-000000000000")


def test_only_clerks_register(db, edge, registers):
    doc = ops.receive_package(db, edge, package(31))["incoming_id"]
    with pytest.raises(Forbidden):
        ops.accept_incoming(db, person("anhnv.vp", Role.SPECIALIST), doc, registers["incoming"])
    assert AGENCY


def test_a_status_from_an_agency_that_is_no_recipient_changes_nothing(db, edge, clerk, registers):
    """Issue 21: agency C sent a status 06 about our document, never sent to C; it must not become a recipient."""
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo riêng",
                                                   "code_notation": "TB-UBND"}, sha("inj"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    about = {"document_id": got["document_id"]}
    stranger = {"organ_id": "000.00.05.H17", "organ_name": "Cơ quan không được gửi"}
    answer = ops.record_status(db, edge, {"from": stranger, "response_for": about, "status_code": "06",
                                          "description": "Đã hoàn thành", "authenticated_sender": stranger["organ_id"]})
    assert answer["matched"] is False
    document = ops.get_document(db, clerk, got["id"])
    assert stranger["organ_id"] not in [r["organ_id"] for r in document["recipients"]]
    assert all(h["details"].get("organ_id") != stranger["organ_id"] for h in document["history"])


def test_a_successor_answers_for_the_recipient_it_replaced(db, edge, clerk, registers):
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo sáp nhập",
                                                   "code_notation": "TB-UBND"}, sha("merge"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    successor = {"organ_id": "000.00.05.H17", "organ_name": "Cơ quan kế thừa"}
    ops.record_status(db, edge, {"from": successor, "response_for": {"document_id": got["document_id"]},
                                 "status_code": "03", "on_behalf_of": OTHER,
                                 "authenticated_sender": successor["organ_id"]})
    rows = {r["organ_id"]: r for r in ops.get_document(db, clerk, got["id"])["recipients"]}
    assert rows[OTHER]["status_code"] == "03" and successor["organ_id"] not in rows


def test_a_hubs_refusal_of_the_whole_package_is_recorded(db, edge, clerk, registers):
    got = ops.register_outgoing_signed(db, clerk, {"type_code": "TB", "subject": "Thông báo lỗi",
                                                   "code_notation": "TB-UBND"}, sha("hub02"), RECIPIENTS,
                                       registers["outgoing"], signed_ok)
    ops.record_status(db, edge, {"from": {"organ_id": "hub.H60", "organ_name": "Trục"}, "status_code": "02",
                                 "response_for": {"document_id": got["document_id"]},
                                 "authenticated_sender": "hub.H60", "description": "Gói tin edXML không hợp lệ"})
    rows = {r["organ_id"]: r for r in ops.get_document(db, clerk, got["id"])["recipients"]}
    assert rows["hub.H60"]["status_code"] == "02"
