"""An outgoing document's paper recipients followed in its recall or take-back (services/registry/paper_returns.py),
on SQLite and PostgreSQL: only the electronic recipients are asked over the interconnect; each paper recipient waits
for the clerk's record of the day its paper came back, once; a paper given back counts as agreed when the electronic
answers close the request; a document issued only on paper is recalled at once; internal recipients (the agency's
own units) are not asked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.clock import today_vn
from services.common.errors import NotFound, ValidationFailed
from services.registry import operations as ops
from services.registry.domain import State
from tests.registry.conftest import OTHER, sha
from tests.registry.test_flows import events, signed_ok
from tests.registry.test_recall import answer

ELECTRONIC = {"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"}
INTERNAL = {"organ_id": "unit:VP", "organ_name": "Văn phòng", "channel": "internal"}


def paper(name: str, n: int) -> dict:
    """A paper recipient as the gateway hands it at issue (gateway/issuing.py recipients_by_channel)."""
    return {"organ_id": f"giay-{n:02d}", "organ_name": name, "channel": "paper"}


def issued_to(db, clerk, registers, subject: str, recipients: list[dict]) -> dict:
    return ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": subject,
                                                    "code_notation": "QĐ-UBND"}, sha(subject), recipients,
                                        registers["outgoing"], signed_ok)


def states(db, clerk, doc_id: str) -> list[tuple[str, str | None]]:
    return [(r["organ_id"], r["recall_state"]) for r in ops.get_document(db, clerk, doc_id)["recipients"]]


def test_a_recall_asks_the_interconnect_and_waits_for_each_paper_once(db, edge, clerk, registers):
    doc = issued_to(db, clerk, registers, "Về việc thu hồi văn bản có bản giấy",
                    [ELECTRONIC, paper("Công ty TNHH Minh Phát", 1), paper("Bà Nguyễn Thị Lan", 2), INTERNAL])
    with pytest.raises(ValidationFailed) as early:   # nothing was asked yet
        ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-01", None)
    assert early.value.code == "not_asked"

    got = ops.request_change(db, clerk, doc["id"], "recall", "Ban hành sai thẩm quyền", request_key="r1")
    assert got["state"] == State.RECALLED and got["pending_change"] == "recall"
    assert states(db, clerk, doc["id"]) == [(OTHER, "requested"), ("giay-01", "paper_pending"),
                                            ("giay-02", "paper_pending"), ("unit:VP", None)]
    # the issue and the recall: nobody on paper or inside the agency on the wire
    assert [[t["organ_id"] for t in p["to"]] for p in events(db, "outgoing_package")] == [[OTHER], [OTHER]]
    [step] = [h for h in ops.get_document(db, clerk, doc["id"])["history"] if h["action"] == "recalled"]
    assert step["details"]["paper_pending"] == 2

    today = today_vn()
    for organ, day, code in (("giay-09", today, "not_a_paper_recipient"), (OTHER, today, "not_a_paper_recipient"),
                             ("unit:VP", today, "not_a_paper_recipient"),
                             ("giay-01", today + timedelta(days=1), "future_date"),
                             ("giay-01", today - timedelta(days=400), "before_issue"),
                             ("giay-01", "31/13/2026", "bad_date")):
        with pytest.raises(ValidationFailed) as refused:
            ops.record_outgoing_paper_return(db, clerk, doc["id"], organ, day)
        assert refused.value.code == code, (organ, day)
    with pytest.raises(NotFound):   # an outgoing document is not a copy: the copies' call does not find it
        ops.record_paper_return(db, clerk, doc["id"], "giay-01", None)
    done = ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-01", today.isoformat(), "Nhận tại một cửa")
    again = ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-01", today.isoformat(), "lần hai")
    assert not done["duplicate"] and again["duplicate"]
    [line] = [r for r in again["recipients"] if r["organ_id"] == "giay-01"]
    assert (line["recall_state"], line["returned_on"], line["description"]) == (
        "paper_returned", today.isoformat(), "Nhận tại một cửa")
    assert [h["action"] for h in again["history"]].count("paper_returned") == 1

    answer(db, edge, doc, "16")   # the electronic recipient refuses: a paper came back, the document stays recalled
    page = ops.get_document(db, clerk, doc["id"])
    assert page["state"] == State.RECALLED and page["pending_change"] is None
    assert page["history"][-1]["action"] == "change_closed"
    assert page["history"][-1]["details"] == {"kind": "recall", "accepted": 0, "refused": 1, "paper_returned": 1}
    ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-02", None)   # later, the other one: today
    assert states(db, clerk, doc["id"]) == [(OTHER, "refused"), ("giay-01", "paper_returned"),
                                            ("giay-02", "paper_returned"), ("unit:VP", None)]


def test_a_take_back_refused_with_no_paper_back_stands_and_a_paper_only_document_is_recalled_at_once(
        db, edge, clerk, registers):
    doc = issued_to(db, clerk, registers, "Về việc lấy lại văn bản gửi nhầm", [ELECTRONIC, paper("Công ty A", 1)])
    ops.request_change(db, clerk, doc["id"], "take_back", "Gửi nhầm")
    assert states(db, clerk, doc["id"]) == [(OTHER, "requested"), ("giay-01", "paper_pending")]
    answer(db, edge, doc, "16")
    page = ops.get_document(db, clerk, doc["id"])
    assert page["state"] == State.ISSUED and not page["frozen"]   # nobody agreed, no paper back: it stands
    assert [r["recall_state"] for r in page["recipients"]] == ["refused", None]
    with pytest.raises(ValidationFailed) as closed:   # the paper recipient is no longer asked
        ops.record_outgoing_paper_return(db, clerk, doc["id"], "giay-01", None)
    assert closed.value.code == "not_asked"

    only = issued_to(db, clerk, registers, "Về việc văn bản chỉ gửi bản giấy",
                     [paper("Trường THPT Tân Trào", 1), INTERNAL])
    sent = len(events(db, "outgoing_package")) + len(events(db, "outgoing_status"))
    recalled = ops.request_change(db, clerk, only["id"], "take_back", "Gửi nhầm")
    assert recalled["state"] == State.RECALLED and recalled["pending_change"] is None   # nobody to wait for
    assert len(events(db, "outgoing_package")) + len(events(db, "outgoing_status")) == sent   # nothing on the wire
    back = ops.record_outgoing_paper_return(db, clerk, only["id"], "giay-01", None, "Trường gửi trả qua bưu điện")
    assert [(r["organ_id"], r["recall_state"]) for r in back["recipients"]] == [("giay-01", "paper_returned"),
                                                                                ("unit:VP", None)]
    assert back["state"] == State.RECALLED
