"""A copy (sao y, sao lục, trích sao) sent to paper recipients too (services/registry/copy_paper.py), on SQLite and
PostgreSQL: paper recipients are lines of channel `paper` (once per name, numbered `giay-NN` across sends), listed in
the copies register and never put in a package; a recall or take-back leaves them to the clerk, who records the day
each paper copy came back; a paper copy given back counts as agreed when the electronic recipients answer."""

from __future__ import annotations

import pytest

from services.common.clock import today_vn
from services.common.errors import ValidationFailed
from services.registry import operations as ops
from services.registry.domain import Direction, State
from services.registry.numbering import numbering_year
from tests.registry.conftest import OTHER
from tests.registry.test_flows import events
from tests.registry.test_recall import answer, issued

ELECTRONIC = {"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"}


def paper(name: str, n: int = 1) -> dict:
    """A paper recipient as the gateway hands it (gateway/issuing.py recipients_by_channel): numbered in the
    request, numbered again by the registry after the copy's paper lines."""
    return {"organ_id": f"giay-{n:02d}", "organ_name": name, "channel": "paper"}


def a_copy(db, clerk, admin, registers, subject: str) -> dict:
    source = issued(db, clerk, registers, subject)
    opened = ops.list_registers(db, clerk, numbering_year(), Direction.COPIES)
    copies = opened[0]["id"] if opened else ops.create_register(db, admin, Direction.COPIES, numbering_year())["id"]
    return ops.make_copy(db, clerk, source["id"], "SY", copies, lambda sha_, text, operation_id=None: {"sha256": sha_})


def lines(db, clerk, copy_id: str) -> list[tuple]:
    return [(r["organ_id"], r["organ_name"], r["channel"], r["recall_state"])
            for r in ops.get_document(db, clerk, copy_id)["recipients"]]


def copy_packages(db) -> list[list[str]]:
    return [[t["organ_id"] for t in p["to"]] for p in events(db, "outgoing_package")
            if p["code_notation"] == "SY-UBND"]


def test_paper_recipients_are_recorded_once_each_and_listed_in_the_copies_register(db, clerk, admin, registers):
    copy = a_copy(db, clerk, admin, registers, "Về việc sao gửi bản giấy")
    first = ops.send_copy(db, clerk, copy["id"], [ELECTRONIC, paper("Công ty TNHH Minh Phát"),
                                                  paper("  công ty tnhh   minh phát ", 2)])
    assert first["sent_to"] == [OTHER, "giay-01"] and not first["duplicate"]
    assert copy_packages(db) == [[OTHER]]   # only the electronic one leaves
    # a second send: the same paper name is left out, a new one numbered after the first
    again = ops.send_copy(db, clerk, copy["id"], [ELECTRONIC, paper("Công ty TNHH Minh Phát"),
                                                  paper("Bà Nguyễn Thị Lan", 2)])
    assert again["sent_to"] == ["giay-02"] and copy_packages(db) == [[OTHER]]
    assert ops.send_copy(db, clerk, copy["id"], [paper("CÔNG TY TNHH MINH PHÁT")])["duplicate"]
    assert lines(db, clerk, copy["id"]) == [(OTHER, "UBND TP Đà Nẵng", "interconnect", None),
                                            ("giay-01", "Công ty TNHH Minh Phát", "paper", None),
                                            ("giay-02", "Bà Nguyễn Thị Lan", "paper", None)]
    history = [h["action"] for h in ops.get_document(db, clerk, copy["id"])["history"]]
    assert history.count("copy_sent") == 1 and history.count("copy_paper_recipients") == 2
    [listed] = [c for c in ops.list_copies(db, clerk)["items"] if c["id"] == copy["id"]]
    assert listed["recipient_names"] == ["UBND TP Đà Nẵng", "Công ty TNHH Minh Phát (bản giấy)",
                                         "Bà Nguyễn Thị Lan (bản giấy)"]

    # paper only, on another copy: recorded, nothing sent
    only = a_copy(db, clerk, admin, registers, "Về việc chỉ gửi bản giấy")
    assert ops.send_copy(db, clerk, only["id"], [paper("Trường THPT Tân Trào")])["sent_to"] == ["giay-01"]
    assert copy_packages(db) == [[OTHER]]
    for wrong, code in (([{"organ_id": "VP", "organ_name": "Văn phòng", "channel": "internal"}], "bad_channel"),
                        ([paper("   ")], "missing_field"), ([], "missing_field")):
        with pytest.raises(ValidationFailed) as refused:
            ops.send_copy(db, clerk, only["id"], wrong)
        assert refused.value.code == code


def test_a_recall_waits_for_each_paper_copy_and_one_given_back_keeps_the_copy_recalled(db, edge, clerk, admin,
                                                                                      registers):
    copy = a_copy(db, clerk, admin, registers, "Về việc thu hồi bản giấy")
    ops.send_copy(db, clerk, copy["id"], [ELECTRONIC, paper("Công ty A"), paper("Công ty B", 2)])
    copy = ops.get_document(db, clerk, copy["id"])
    with pytest.raises(ValidationFailed) as early:   # nothing was asked yet
        ops.record_paper_return(db, clerk, copy["id"], "giay-01", None)
    assert early.value.code == "not_asked"

    got = ops.request_copy_change(db, clerk, copy["id"], "recall", "Sao nhầm văn bản", request_key="r1")
    assert got["state"] == State.RECALLED and got["pending_change"] == "recall"
    assert [r[3] for r in lines(db, clerk, copy["id"])] == ["requested", "paper_pending", "paper_pending"]
    assert copy_packages(db) == [[OTHER], [OTHER]]   # the recall package: to the electronic recipient only

    today = today_vn()
    for organ, day, code in (("giay-09", today, "not_a_paper_recipient"), (OTHER, today, "not_a_paper_recipient"),
                             ("giay-01", today.replace(year=today.year + 1), "future_date"),
                             ("giay-01", "31/13/2026", "bad_date")):
        with pytest.raises(ValidationFailed) as refused:
            ops.record_paper_return(db, clerk, copy["id"], organ, day)
        assert refused.value.code == code, organ
    done = ops.record_paper_return(db, clerk, copy["id"], "giay-01", today.isoformat(), "Nhận lại tại bộ phận một cửa")
    again = ops.record_paper_return(db, clerk, copy["id"], "giay-01", today.isoformat(), "lần hai")
    assert not done["duplicate"] and again["duplicate"]
    [line] = [r for r in again["recipients"] if r["organ_id"] == "giay-01"]
    assert line["recall_state"] == "paper_returned" and line["returned_on"] == today.isoformat()
    assert line["description"] == "Nhận lại tại bộ phận một cửa"
    assert [h["action"] for h in again["history"]].count("paper_returned") == 1

    answer(db, edge, copy, "16")   # the electronic recipient refuses: a paper copy came back, the copy stays recalled
    page = ops.get_document(db, clerk, copy["id"])
    assert page["state"] == State.RECALLED and page["pending_change"] is None
    assert page["history"][-1]["action"] == "change_closed"
    assert page["history"][-1]["details"]["paper_returned"] == 1
    ops.record_paper_return(db, clerk, copy["id"], "giay-02", None, "")   # later, the other one: today
    assert [r[3] for r in lines(db, clerk, copy["id"])] == ["refused", "paper_returned", "paper_returned"]


def test_a_take_back_refused_with_no_paper_copy_back_stands_and_a_paper_only_copy_is_recalled_at_once(
        db, edge, clerk, admin, registers):
    copy = a_copy(db, clerk, admin, registers, "Về việc lấy lại bản sao")
    ops.send_copy(db, clerk, copy["id"], [ELECTRONIC, paper("Công ty A")])
    copy = ops.get_document(db, clerk, copy["id"])
    ops.request_copy_change(db, clerk, copy["id"], "take_back", "Gửi nhầm")
    answer(db, edge, copy, "16")
    page = ops.get_document(db, clerk, copy["id"])
    assert page["state"] == State.ISSUED and [r["recall_state"] for r in page["recipients"]] == ["refused", None]
    with pytest.raises(ValidationFailed) as closed:   # the paper recipient is no longer asked
        ops.record_paper_return(db, clerk, copy["id"], "giay-01", None)
    assert closed.value.code == "not_asked"

    only = a_copy(db, clerk, admin, registers, "Về việc bản sao chỉ có bản giấy")
    ops.send_copy(db, clerk, only["id"], [paper("Công ty C")])
    with pytest.raises(ValidationFailed) as update:   # an update reaches nobody on paper
        ops.request_copy_change(db, clerk, only["id"], "update", "Sửa", {"subject": "Trích yếu mới"})
    assert update.value.code == "not_sent"
    recalled = ops.request_copy_change(db, clerk, only["id"], "recall", "Sao nhầm")
    assert recalled["state"] == State.RECALLED and recalled["pending_change"] is None   # nobody to wait for
    assert ops.record_paper_return(db, clerk, only["id"], "giay-01", None)["recipients"][0]["recall_state"] == \
        "paper_returned"
