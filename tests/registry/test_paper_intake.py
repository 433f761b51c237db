"""Paper, fax and e-mail arrivals (issue 18 item 1 and 2): the check before registering, one document per request,
the files with their names and roles, and the return slip (Phiếu trả) of a document with a wrong form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import ValidationFailed
from services.registry import operations as ops
from services.registry.domain import State
from tests.registry.conftest import package, sha

PAPER = {"code_number": "45", "code_notation": "SNV-TCBC", "subject": "Về việc tuyển dụng công chức",
         "organ_name": "Sở Nội vụ", "issued_date": "2026-01-03", "channel": "fax"}


def test_the_check_names_the_electronic_twin_and_the_duplicates_and_writes_nothing(db, edge, clerk, registers):
    electronic = ops.receive_package(db, edge, package(12))["incoming_id"]
    twin = {"code_number": "12", "code_notation": "UBND-VX", "subject": "Về việc số 12",
            "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng", "issued_date": "2026-01-05"}
    checked = ops.check_paper_incoming(db, clerk, twin)
    assert checked["paper_twin_of"]["id"] == electronic
    # the paper form's number written with a leading zero is the same number (found through the index's spellings)
    assert ops.check_paper_incoming(db, clerk, {**twin, "code_number": "012"})["paper_twin_of"]["id"] == electronic
    assert ops.check_paper_incoming(db, clerk, {**twin, "code_number": "120"})["paper_twin_of"] is None
    assert ops.check_paper_incoming(db, clerk, PAPER) == {"paper_twin_of": None, "warnings": []}
    first = ops.register_paper_incoming(db, clerk, PAPER, [sha("scan")])
    (warning,) = ops.check_paper_incoming(db, clerk, PAPER)["warnings"]
    assert warning["code"] == "duplicate_number" and warning["other"] == first["id"]
    (loose,) = ops.check_paper_incoming(db, clerk, {**PAPER, "organ_name": "Sở nội vụ tỉnh"})["warnings"]
    assert loose["code"] == "duplicate_number_date" and loose["other"] == first["id"]
    other_day = {**PAPER, "organ_name": "Sở nội vụ tỉnh", "issued_date": "2026-01-04"}
    assert ops.check_paper_incoming(db, clerk, other_day)["warnings"] == []
    assert ops.list_incoming(db, clerk)["total"] == 1


def test_a_secret_document_is_refused_with_the_rule_quoted(db, clerk, registers):
    for call in (lambda: ops.check_paper_incoming(db, clerk, {**PAPER, "secrecy": "MẬT"}),
                 lambda: ops.register_paper_incoming(db, clerk, {**PAPER, "secrecy": "MẬT"}, [sha("s")])):
        with pytest.raises(ValidationFailed) as exc:
            call()
        assert exc.value.code == "secret_document" and "Điều 1 khoản 3" in exc.value.message_vi
    assert ops.list_incoming(db, clerk)["total"] == 0


def test_one_request_key_registers_one_document_with_its_named_files(db, clerk, registers):
    files = [{"sha256": sha("scan"), "name": "Công văn 45.pdf", "content_type": "application/pdf", "size": 1200,
              "role": "scan"},
             {"sha256": sha("xlsx"), "name": "Danh sách.xlsx", "role": "attachment", "size": 300,
              "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}]
    first = ops.register_paper_incoming(db, clerk, {**PAPER, "request_key": "form-1"}, files)
    again = ops.register_paper_incoming(db, clerk, {**PAPER, "request_key": "form-1"}, files)
    assert again["id"] == first["id"] and again["duplicate"] and first["number"] == 1
    assert ops.list_incoming(db, clerk)["total"] == 1
    doc = ops.get_document(db, clerk, first["id"])
    assert doc["source_channel"] == "fax"
    assert {(a["name"], a["role"]) for a in doc["attachments"]} == {("Công văn 45.pdf", "scan"),
                                                                   ("Danh sách.xlsx", "attachment")}
    with pytest.raises(ValidationFailed) as exc:
        ops.register_paper_incoming(db, clerk, {**PAPER, "channel": "bồ câu"}, [sha("x")])
    assert exc.value.code == "bad_channel"


def test_the_same_request_again_gets_its_document_even_when_its_form_is_refused_or_a_twin_arrived(db, edge, clerk,
                                                                                                  registers):
    """The request key is asked first: neither the form's checks nor an electronic twin that arrived since
    (read by the same SELECT as the key) turn a repeated request into a refusal or a paper copy of the twin."""
    form = {"code_number": "12", "code_notation": "UBND-VX", "subject": "Về việc số 12", "request_key": "api:12",
            "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng", "issued_date": "2026-01-05"}
    first = ops.register_paper_incoming(db, clerk, form, [sha("paper 12")])
    electronic = ops.receive_package(db, edge, package(12))["incoming_id"]
    for detailed in (False, True):
        again = ops.register_paper_incoming(db, clerk, form, [sha("paper 12")], detailed=detailed)
        assert again["id"] == first["id"] and again["duplicate"] and "paper_duplicate_of" not in again
        refused = ops.register_paper_incoming(db, clerk, {**form, "issued_date": "ngày 5"}, [], detailed=detailed)
        assert refused["id"] == first["id"] and refused["duplicate"]
    assert ops.register_paper_incoming(db, clerk, {**form, "request_key": "api:13"}, [sha("paper 12")],
                                       )["paper_duplicate_of"] == electronic
    with pytest.raises(ValidationFailed):
        ops.register_paper_incoming(db, clerk, {**form, "request_key": "api:14", "issued_date": "ngày 5"}, [])
    assert [h["action"] for h in ops.get_document(db, clerk, first["id"])["history"]] == ["registered"]


def test_a_detailed_registration_answers_what_the_document_page_reads(db, edge, clerk, registers):
    """The REST API asks for the whole record in the registering call instead of a second call: it must be the
    record get_document reads afterwards, for a new document, the same request again and a paper twin."""
    def same(answer: dict) -> None:
        assert {k: v for k, v in answer.items() if k not in ("duplicate", "paper_duplicate_of")} == \
            ops.get_document(db, clerk, answer["id"])

    first = ops.register_paper_incoming(db, clerk, {**PAPER, "request_key": "api:1"}, [sha("scan")], detailed=True)
    same(first)
    assert first["state"] == State.REGISTERED and [h["action"] for h in first["history"]] == ["registered"]
    assert [a["sha256"] for a in first["attachments"]] == [sha("scan")]
    again = ops.register_paper_incoming(db, clerk, {**PAPER, "request_key": "api:1"}, [sha("scan")], detailed=True)
    same(again)
    assert again["id"] == first["id"] and again["duplicate"]
    electronic = ops.receive_package(db, edge, package(12))["incoming_id"]
    twin = ops.register_paper_incoming(db, clerk, {
        "code_number": "12", "code_notation": "UBND-VX", "subject": "Về việc số 12",
        "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng", "issued_date": "2026-01-05"}, [sha("paper")],
        detailed=True)
    same(twin)
    assert twin["paper_duplicate_of"] == electronic and twin["history"][-1]["action"] == "paper_copy_received"
    assert ops.list_incoming(db, clerk)["total"] == 1
    # built from the rows the registration wrote (not read back): several files, named and bare, in their order;
    # a late entry's real time; the duplicate warning; the arrival number
    files = [{"sha256": sha("45"), "name": "Công văn 45.pdf", "size": 1200, "role": "scan"}, sha("bare"),
             {"sha256": sha("list"), "name": "Danh sách.xlsx", "role": "attachment", "description": "Phụ lục",
              "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}]
    real = datetime.now(UTC) - timedelta(hours=3)
    late = ops.register_paper_incoming(db, clerk, {**PAPER, "request_key": "api:2", "due_date": "2026-02-01",
                                                   "to_places": ["UBND tỉnh"], "page_amount": 2}, files,
                                       late_entry_at=real.isoformat(), detailed=True)
    same(late)
    assert [a["name"] for a in late["attachments"]] == ["Công văn 45.pdf", f"{sha('bare')[:12]}.pdf",
                                                         "Danh sách.xlsx"]
    assert late["late_entry"] and late["history"][0]["late_entry"] and late["number"] == first["number"] + 1
    assert [w["code"] for w in late["warnings"]] == ["duplicate_number"]
    assert late["links"] == [] and late["recipients"] == []


def test_a_returned_document_gets_no_number_and_its_slip_says_why(db, clerk, registers):
    bad = {"organ_name": "Công ty TNHH Minh An", "subject": "Đề nghị cấp phép", "channel": "paper",
           "request_key": "return-1"}
    with pytest.raises(ValidationFailed) as exc:
        ops.return_paper_incoming(db, clerk, bad, [sha("scan")], [], "")
    assert exc.value.code == "missing_field"
    with pytest.raises(ValidationFailed):
        ops.return_paper_incoming(db, clerk, bad, [sha("scan")], ["NO_LUCK"], "")
    returned = ops.return_paper_incoming(db, clerk, bad, [sha("scan")], ["NO_NUMBER", "NO_SEAL"], "Thiếu dấu")
    assert ops.return_paper_incoming(db, clerk, bad, [sha("scan")], ["NO_NUMBER"], "")["id"] == returned["id"]
    assert returned["state"] == State.REJECTED and returned["number"] is None
    assert ops.list_incoming(db, clerk)["total"] == 0
    slip = ops.return_slip(db, clerk, returned["id"])
    assert slip["defects"] == ["Không có số, ký hiệu văn bản", "Không đóng dấu"] and slip["note"] == "Thiếu dấu"
    assert slip["returned_by"] == clerk.username and "Điều 6" in slip["rule"]
    assert [h["action"] for h in ops.get_document(db, clerk, returned["id"])["history"]] == ["returned"]
    paper = ops.register_paper_incoming(db, clerk, PAPER, [sha("ok")])
    with pytest.raises(ValidationFailed) as exc:
        ops.return_slip(db, clerk, paper["id"])
    assert exc.value.code == "not_returned"
