"""Replacing a document already issued (issue 18 item 6, "Thay thế văn bản"), the sender's side, on SQLite and
PostgreSQL: the new document leaves as a type-3 package naming the replaced one, to its recipients; the replaced
one says by which document; the refusals."""

from __future__ import annotations

import pytest

from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.registry import operations as ops
from services.registry.domain import State
from tests.registry.conftest import OTHER, package, person
from tests.registry.test_flows import RECIPIENTS, draft, events, fake_sign
from tests.registry.test_recall import issued

THIRD = {"organ_id": "000.00.00.H48", "organ_name": "UBND TP Hà Nội"}


def waiting(db, edge, n: int) -> dict:
    return ops.submit_for_issue(db, edge, draft(n))


def test_a_replacing_document_goes_as_type_3_to_the_replaced_ones_recipients(db, edge, clerk, registers):
    old = issued(db, clerk, registers, "Quyết định về giá đất")
    new = waiting(db, edge, 81)
    got = ops.issue_outgoing(db, clerk, new["id"], registers["outgoing"], [THIRD], fake_sign(), replaces=old["id"],
                             request_key="form-81")
    assert got["state"] == State.ISSUED
    package_ = events(db, "outgoing_package")[-1]
    assert package_["document_id"] == got["document_id"]
    business = package_["business"]
    assert business["doc_type"] == 3
    assert business["replacements"] == [{"document_id": old["document_id"], "organ_ids": [OTHER]}]
    assert business["reason"].startswith(f"Thay thế văn bản số {old['code_number']}/QĐ-UBND ngày ")
    # the replaced document's electronic recipient is added to the one chosen; its internal unit is kept too
    assert sorted(t["organ_id"] for t in package_["to"]) == sorted([THIRD["organ_id"], OTHER])
    page = ops.get_document(db, clerk, new["id"])
    assert {r["organ_id"] for r in page["recipients"]} == {THIRD["organ_id"], OTHER, "VP"}
    assert [(lk["kind"], lk["to"]) for lk in page["links"]] == [("replaces", old["id"])]
    [step] = [h for h in page["history"] if h["action"] == "issued"]
    assert step["details"]["replaces"] == old["id"]

    before = ops.get_document(db, clerk, old["id"])
    assert before["replaced_by"] == new["id"] and before["state"] == State.ISSUED
    replaced = before["history"][-1]
    assert replaced["action"] == "replaced" and replaced["details"]["by"] == new["id"]
    assert replaced["details"]["number"] == f"số {got['code_number']}/{got['code_notation']}"

    # the same issue asked again (the form sent twice, an API retry) returns the document, nothing sent twice
    again = ops.issue_outgoing(db, clerk, new["id"], registers["outgoing"], [THIRD], fake_sign(),
                               replaces=old["id"], request_key="form-81")
    assert again["duplicate"] and again["id"] == new["id"]
    assert len([p for p in events(db, "outgoing_package") if p["business"]["doc_type"] == 3]) == 1


def test_the_refusals_say_why_and_number_nothing(db, edge, clerk, registers):
    old = issued(db, clerk, registers, "Kế hoạch năm 2026")
    new = waiting(db, edge, 82)

    def refused(replaces: str, kind: type[Exception] = ValidationFailed) -> Exception:
        with pytest.raises(kind) as exc:
            ops.issue_outgoing(db, clerk, new["id"], registers["outgoing"], [THIRD], fake_sign(), replaces=replaces)
        return exc.value

    itself = refused(new["id"])
    assert itself.code == "replaces_itself" and "chính nó" in itself.message_vi

    # a document received from another agency is not ours to replace
    incoming = ops.receive_package(db, edge, package(83))["incoming_id"]
    other = refused(incoming)
    assert other.code == "replaces_other_agency" and "do cơ quan mình ban hành" in other.message_vi
    # another agency's document (or none) looks missing, with the same rule said
    missing = refused("khong-co-van-ban-nay", NotFound)
    assert "chính cơ quan ban hành" in missing.message_vi

    # not issued: a draft still waiting to issue, and a recalled document
    pending = waiting(db, edge, 84)
    not_issued = refused(pending["id"])
    assert not_issued.code == "replaces_not_issued" and "chưa được ban hành" in not_issued.message_vi
    recalled = issued(db, clerk, registers, "Thông báo bị thu hồi")
    ops.request_change(db, clerk, recalled["id"], "recall", "Sai thẩm quyền")
    assert refused(recalled["id"]).code == "replaces_not_issued"

    # already replaced: one replacement only
    ops.issue_outgoing(db, clerk, pending["id"], registers["outgoing"], [THIRD], fake_sign(), replaces=old["id"])
    twice = refused(old["id"])
    assert twice.code == "already_replaced" and "đã được thay thế" in twice.message_vi

    assert ops.get_document(db, clerk, new["id"])["state"] == State.WAITING_ISSUE   # nothing numbered
    # another agency's clerk cannot name our document either
    stranger = person("vanthu.dn", "clerk", agency=OTHER)
    with pytest.raises(Forbidden):
        ops.issue_outgoing(db, stranger, new["id"], registers["outgoing"], [THIRD], fake_sign(), replaces=old["id"])


def test_without_a_chosen_recipient_the_replaced_ones_recipients_suffice(db, edge, clerk, registers):
    old = issued(db, clerk, registers, "Công văn về lịch họp")
    new = waiting(db, edge, 85)
    ops.issue_outgoing(db, clerk, new["id"], registers["outgoing"], [], fake_sign(), replaces=old["id"])
    assert [t["organ_id"] for t in events(db, "outgoing_package")[-1]["to"]] == [RECIPIENTS[0]["organ_id"]]
