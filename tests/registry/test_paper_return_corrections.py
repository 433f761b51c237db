"""A paper given back recorded by mistake, corrected or undone (services/registry/paper_returns.py), on SQLite and
PostgreSQL: the day and the note of a recorded return are corrected with the record's checks and a history line
holding both; a return recorded for the wrong recipient is undone with a reason (the line waits again, its
description as before) while the request still waits for electronic answers or when nobody electronic was asked,
and refused once the answers closed the request; each operation's key does it once; only the clerk of the agency,
only on a paper line recorded as given back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.actor import Role
from services.common.clock import today_vn
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.registry import operations as ops
from services.registry.domain import Direction, State
from tests.registry.conftest import OTHER, person, sha
from tests.registry.test_copy_paper import a_copy
from tests.registry.test_flows import signed_ok
from tests.registry.test_outgoing_paper_returns import ELECTRONIC, paper
from tests.registry.test_recall import answer

OUT = Direction.OUTGOING


def issued_days_ago(db, clerk, registers, subject: str, recipients: list[dict], days: int) -> dict:
    return ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": subject, "code_notation": "QĐ-UBND",
                                                    "issued_date": (today_vn() - timedelta(days=days)).isoformat()},
                                        sha(subject), recipients, registers["outgoing"], signed_ok)


def line(doc: dict, organ: str) -> tuple:
    [r] = [r for r in doc["recipients"] if r["organ_id"] == organ]
    return r["recall_state"], r["returned_on"], r["description"]


def actions(doc: dict, action: str) -> list[dict]:
    return [h["details"] for h in doc["history"] if h["action"] == action]


def refused(code: str, call, *args, **kwargs) -> None:
    with pytest.raises(ValidationFailed) as error:
        call(*args, **kwargs)
    assert error.value.code == code, (error.value.code, args)


def test_the_day_and_note_of_a_recorded_return_are_corrected_once_with_the_records_checks(db, clerk, registers):
    doc = issued_days_ago(db, clerk, registers, "Về việc sửa ghi nhận bản giấy",
                          [ELECTRONIC, paper("Công ty TNHH Minh Phát", 1), paper("Bà Nguyễn Thị Lan", 2)], 10)
    ops.request_change(db, clerk, doc["id"], "recall", "Ban hành sai thẩm quyền")
    today = today_vn()
    refused("not_returned", ops.correct_paper_return, db, clerk, doc["id"], "giay-01", today, "", direction=OUT)
    ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-01", today.isoformat(), "Nhận tại một cửa")

    for organ, day, note, code in (("giay-02", today, "", "not_returned"), (OTHER, today, "", "not_a_paper_recipient"),
                                   ("giay-01", today + timedelta(days=1), "", "future_date"),
                                   ("giay-01", today - timedelta(days=11), "", "before_issue"),
                                   ("giay-01", "2026-13-31", "", "bad_date"),
                                   ("giay-01", today, "x" * 501, "too_long")):
        refused(code, ops.correct_paper_return, db, clerk, doc["id"], organ, day, note, direction=OUT)
    with pytest.raises(NotFound):   # an outgoing document is not a copy
        ops.correct_paper_return(db, clerk, doc["id"], "giay-01", today, "")
    with pytest.raises(Forbidden):
        ops.correct_paper_return(db, person("annv.ld", Role.LEADER), doc["id"], "giay-01", today, "", direction=OUT)
    with pytest.raises(Forbidden):   # another agency's clerk, in this agency's registry
        ops.correct_paper_return(db, person("namtv.vp", Role.CLERK, agency=OTHER), doc["id"], "giay-01", today, "",
                                 direction=OUT)

    three_days_ago = today - timedelta(days=3)
    fixed = ops.correct_paper_return(db, clerk, doc["id"], "giay-01", three_days_ago.isoformat(),
                                     " Nhận qua bưu điện ", "k1", OUT)
    again = ops.correct_paper_return(db, clerk, doc["id"], "giay-01", three_days_ago, "Nhận qua bưu điện", "k1", OUT)
    assert not fixed["duplicate"] and again["duplicate"]
    assert line(again, "giay-01") == ("paper_returned", three_days_ago.isoformat(), "Nhận qua bưu điện")
    [step] = actions(again, "paper_return_corrected")
    assert {k: step[k] for k in ("organ_id", "returned_on", "note", "before")} == {
        "organ_id": "giay-01", "returned_on": three_days_ago.isoformat(), "note": "Nhận qua bưu điện",
        "before": {"returned_on": today.isoformat(), "note": "Nhận tại một cửa"}}
    # the same correction with no key changes nothing either; a later correction with the first key is a retry
    assert ops.correct_paper_return(db, clerk, doc["id"], "giay-01", three_days_ago, "Nhận qua bưu điện",
                                    direction=OUT)["duplicate"]
    ops.correct_paper_return(db, clerk, doc["id"], "giay-01", None, "", "k2", OUT)   # None keeps the day
    retried = ops.correct_paper_return(db, clerk, doc["id"], "giay-01", today, "Nhận tại một cửa", "k1", OUT)
    assert retried["duplicate"] and line(retried, "giay-01") == ("paper_returned", three_days_ago.isoformat(), "")
    assert len(actions(retried, "paper_return_corrected")) == 2
    assert line(retried, "giay-02") == ("paper_pending", None, "")


def test_a_return_recorded_for_the_wrong_recipient_is_undone_while_the_request_waits_and_not_after(
        db, edge, clerk, registers):
    doc = issued_days_ago(db, clerk, registers, "Về việc hủy ghi nhận bản giấy",
                          [ELECTRONIC, paper("Công ty TNHH Minh Phát", 1), paper("Bà Nguyễn Thị Lan", 2)], 0)
    ops.request_change(db, clerk, doc["id"], "recall", "Ban hành sai thẩm quyền")
    ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-01", None, "Nhận nhầm dòng")
    refused("missing_field", ops.undo_paper_return, db, clerk, doc["id"], "giay-01", "  ", direction=OUT)
    refused("too_long", ops.undo_paper_return, db, clerk, doc["id"], "giay-01", "x" * 1001, direction=OUT)
    refused("not_returned", ops.undo_paper_return, db, clerk, doc["id"], "giay-02", "Chọn nhầm", direction=OUT)
    refused("not_a_paper_recipient", ops.undo_paper_return, db, clerk, doc["id"], OTHER, "Chọn nhầm", direction=OUT)
    with pytest.raises(Forbidden):
        ops.undo_paper_return(db, person("annv.ld", Role.LEADER), doc["id"], "giay-01", "Chọn nhầm", direction=OUT)

    undone = ops.undo_paper_return(db, clerk, doc["id"], "giay-01", "Chọn nhầm nơi nhận", "u1", OUT)
    twice = ops.undo_paper_return(db, clerk, doc["id"], "giay-01", "Chọn nhầm nơi nhận", "u1", OUT)
    no_key = ops.undo_paper_return(db, clerk, doc["id"], "giay-01", "Chọn nhầm nơi nhận", direction=OUT)
    assert not undone["duplicate"] and twice["duplicate"] and no_key["duplicate"]
    assert line(no_key, "giay-01") == ("paper_pending", None, "")   # waits again, its description as before
    [step] = actions(no_key, "paper_return_undone")
    assert {k: step[k] for k in ("organ_id", "returned_on", "note", "reason")} == {
        "organ_id": "giay-01", "returned_on": today_vn().isoformat(), "note": "Nhận nhầm dòng",
        "reason": "Chọn nhầm nơi nhận"}

    # the right one is recorded; the electronic recipient refuses: the outcome counts that paper, which stays
    ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-02", None, "Bà Lan gửi trả")
    answer(db, edge, doc, "16")
    page = ops.get_document(db, clerk, doc["id"])
    assert page["state"] == State.RECALLED and page["pending_change"] is None
    assert page["history"][-1]["details"] == {"kind": "recall", "accepted": 0, "refused": 1, "paper_returned": 1}
    refused("request_closed", ops.undo_paper_return, db, clerk, doc["id"], "giay-02", "Chọn nhầm", "u2", OUT)
    fixed = ops.correct_paper_return(db, clerk, doc["id"], "giay-02", None, "Bà Lan gửi trả qua bưu điện",
                                     direction=OUT)   # the day and note may still be corrected
    assert line(fixed, "giay-02") == ("paper_returned", today_vn().isoformat(), "Bà Lan gửi trả qua bưu điện")


def test_a_copy_sent_on_paper_only_has_its_return_undone_and_recorded_again(db, clerk, admin, registers):
    copy = a_copy(db, clerk, admin, registers, "Về việc hủy ghi nhận bản sao giấy")
    ops.send_copy(db, clerk, copy["id"], [paper("Công ty TNHH Minh Phát", 1), paper("Trường THPT Tân Trào", 2)])
    recalled = ops.request_copy_change(db, clerk, copy["id"], "recall", "Sao nhầm")
    assert recalled["state"] == State.RECALLED and recalled["pending_change"] is None   # nobody to wait for
    ops.record_paper_return(db, clerk, copy["id"], "giay-01", None, "Trường gửi trả")
    with pytest.raises(NotFound):   # a copy is not an outgoing document
        ops.undo_paper_return(db, clerk, copy["id"], "giay-01", "Chọn nhầm", direction=OUT)
    refused("before_copy", ops.correct_paper_return, db, clerk, copy["id"], "giay-01",
            today_vn() - timedelta(days=1), "")
    refused("bad_direction", ops.undo_paper_return, db, clerk, copy["id"], "giay-01", "Chọn nhầm",
            direction=Direction.INCOMING)
    undone = ops.undo_paper_return(db, clerk, copy["id"], "giay-01", "Trường gửi trả, không phải công ty")
    assert line(undone, "giay-01") == ("paper_pending", None, "") and undone["state"] == State.RECALLED
    again = ops.record_paper_return(db, clerk, copy["id"], "giay-02", None, "Trường gửi trả")
    assert [r["recall_state"] for r in again["recipients"]] == ["paper_pending", "paper_returned"]
    assert [h["action"] for h in again["history"]].count("paper_returned") == 2
