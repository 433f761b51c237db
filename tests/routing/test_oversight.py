"""Leaders acting on assigned work (chase, deadline, directive, re-assignment, take back), each once per operation,
and the delegation scopes: assign, supervise, approve; signing delegation switched off by the agency."""

import pytest

from services.common.actor import system_actor
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.routing.conftest import AGENCY, pdf, registered_event


@pytest.fixture
def assigned(routing, people):
    """IN-1 directed to unit KT, given by its head to a specialist, with a coordinator of unit TH."""
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("IN-1", priority=1))
    routing.submit_incoming(people.clerk, "IN-1", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-1", "Giao phòng Kinh tế", main={"unit": "KT"},
                            coordinators=[{"user_id": people.spec_th.user_id}], deadline="2026-03-10")
    routing.reassign_incoming(people.head_kt, "IN-1", people.spec_kt.user_id)
    return "IN-1"


def actions(view: dict) -> list[str]:
    return [e["action"] for e in view["history"]]


def active(view: dict, kind: str) -> list[str]:
    return [a["user_id"] or a["unit"] for a in view["assignments"] if a["active"] and a["kind"] == kind]


def test_leader_chases_once_per_operation(routing, people, assigned):
    view = routing.chase(people.leader, assigned, "Đề nghị khẩn trương hoàn thành.", "op-1")
    again = routing.chase(people.leader, assigned, "Đề nghị khẩn trương hoàn thành.", "op-1")  # a retry
    assert actions(again).count("chased") == 1 and actions(view) == actions(again)
    chases = [n for n in routing.list_notifications(people.spec_kt) if n["kind"] == "chase"]
    assert len(chases) == 1 and chases[0]["title"].startswith("[Khẩn] Đôn đốc xử lý văn bản")
    assert "Đề nghị khẩn trương" in chases[0]["body"]
    routing.chase(people.leader, assigned, "Nhắc lần hai.", "op-2")  # another operation: another chase
    assert actions(routing.get_incoming(people.leader, assigned)).count("chased") == 2
    with pytest.raises(ValidationFailed):
        routing.chase(people.leader, assigned, "", "op-3")
    with pytest.raises(ValidationFailed):  # no operation id: not idempotent, refused
        routing.chase(people.leader, assigned, "Nhắc", "")


def test_deadline_directive_and_who_may(routing, people, assigned):
    view = routing.change_deadline(people.leader, assigned, "2026-03-20", "Chờ số liệu của Cục Thống kê", "op-d")
    assert view["deadline"] == "2026-03-20T17:00:00+07:00" and view["deadline_source"] == "changed"
    event = view["history"][-1]
    assert event["action"] == "deadline_changed" and event["note"] == "Chờ số liệu của Cục Thống kê"
    assert event["data"] == {"from": "2026-03-10T17:00:00+07:00", "deadline": "2026-03-20T17:00:00+07:00"}
    with pytest.raises(ValidationFailed):  # a reason is required
        routing.change_deadline(people.leader, assigned, "2026-03-05", "", "op-d2")
    # the head of the handling unit shortens it; the head of another unit may not touch it
    view = routing.change_deadline(people.head_kt, assigned, "2026-03-06", "Lãnh đạo UBND cần sớm", "op-d3")
    assert view["deadline"] == "2026-03-06T17:00:00+07:00"
    with pytest.raises(Forbidden):
        routing.change_deadline(people.head_th, assigned, "2026-03-30", "Lý do", "op-d4")
    with pytest.raises(Forbidden):  # nor a specialist
        routing.add_directive(people.spec_kt, assigned, "Tự chỉ đạo", "op-x")
    assert routing.oversight_options(people.head_th, assigned) == dict.fromkeys(
        ("chase", "deadline", "directive", "handlers", "take_back"), False)
    assert all(routing.oversight_options(people.head_kt, assigned).values())

    view = routing.add_directive(people.leader, assigned, "Lấy thêm ý kiến Sở Tài chính.", "op-c")
    assert view["history"][-1]["action"] == "directive_added"
    titles = [n["title"] for n in routing.list_notifications(people.spec_th)]  # coordinators hear it too
    assert any(t.startswith("Chỉ đạo thêm") for t in titles) and any(t.startswith("Hạn xử lý đã thay đổi")
                                                                       for t in titles)


def test_reassign_main_and_coordinators(routing, people, assigned):
    view = routing.reassign_handlers(people.leader, assigned, "op-r", main={"user_id": people.spec_kt2.user_id},
                                     coordinators=[{"unit": "VP"}], note="Đồng chí Hai nắm số liệu")
    assert active(view, "main") == [people.spec_kt2.user_id] and active(view, "coordinator") == ["VP"]
    assert view["history"][-1]["action"] == "handlers_changed"
    assert [h["incoming_id"] for h in routing.list_incoming(people.spec_kt2)] == [assigned]
    assert routing.list_incoming(people.spec_kt) == []
    with pytest.raises(Forbidden):  # a department head re-assigns only inside their unit
        routing.reassign_handlers(people.head_kt, assigned, "op-r2", main={"user_id": people.spec_th.user_id})
    view = routing.reassign_handlers(people.head_kt, assigned, "op-r3", main={"user_id": people.spec_kt.user_id})
    assert active(view, "main") == [people.spec_kt.user_id]


def test_take_back_by_the_head_and_by_the_leader(routing, people, assigned):
    view = routing.take_back(people.head_kt, assigned, "Phòng tự xử lý lại", "op-t1")
    assert active(view, "main") == ["KT"] and view["status"] in ("assigned", "in_progress")
    assert routing.list_incoming(people.spec_kt) == []
    view = routing.take_back(people.leader, assigned, "Giao đơn vị khác", "op-t2")
    assert view["status"] == "submitted" and view["submitted_to"] == people.leader.user_id
    assert active(view, "main") == [] and active(view, "coordinator") == []
    assert [h["incoming_id"] for h in routing.list_incoming(people.leader, "to_direct")] == [assigned]
    assert routing.take_back(people.leader, assigned, "Giao đơn vị khác", "op-t2")["status"] == "submitted"
    with pytest.raises(Conflict):  # nothing assigned any more: a new operation is refused
        routing.chase(people.leader, assigned, "Nhắc", "op-t3")
    view = routing.direct_incoming(people.leader, assigned, "Giao phòng Tổng hợp", main={"unit": "TH"})
    assert active(view, "main") == ["TH"]


def test_delegated_supervisor_sees_progress_and_chases(routing, people, assigned, clock):
    with pytest.raises(ValidationFailed):  # nothing is granted without a scope
        routing.delegate(people.leader, people.spec_vp.user_id, "2026-03-02", "2026-03-09", [])
    with pytest.raises(Forbidden):
        routing.unit_progress(people.spec_vp)
    routing.delegate(people.leader, people.spec_vp.user_id, "2026-03-02", "2026-03-09", ["supervise"])
    units = {u["unit"]: u for u in routing.unit_progress(people.spec_vp)}
    assert [i["incoming_id"] for i in units["KT"]["open_items"]] == [assigned]
    view = routing.chase(people.spec_vp, assigned, "Thay mặt lãnh đạo đề nghị báo cáo", "op-s")
    event = view["history"][-1]
    assert (event["action"], event["user_id"], event["on_behalf_of"]) == (
        "chased", people.spec_vp.user_id, people.leader.user_id)
    with pytest.raises(Forbidden):  # supervising is not assigning: no deadline change
        routing.change_deadline(people.spec_vp, assigned, "2026-03-30", "Lý do", "op-s2")
    with pytest.raises(Forbidden):  # nor directing
        routing.direct_incoming(people.spec_vp, assigned, "Giao", main={"unit": "TH"})
    clock.set(2026, 3, 10, 8, 0)  # the period is over
    with pytest.raises(Forbidden):
        routing.chase(people.spec_vp, assigned, "Nhắc", "op-s3")


def test_agency_switches_signing_delegation_off(routing, people, blobs, clock):
    assert routing.get_config(people.admin)["signing_delegation"] is True
    routing.delegate(people.leader, people.deputy.user_id, "2026-03-02", "2026-03-09", ["approve"])
    draft = routing.create_draft(people.spec_kt, "Báo cáo quý I", pdf(blobs, "bc"))["draft_id"]
    routing.configure(people.admin, review_chain=[{"key": "leader", "label": "Lãnh đạo", "roles": ["leader"],
                                                   "signs": True}], signing_delegation=False)
    routing.submit_draft(people.spec_kt, draft)
    with pytest.raises(NotFound):  # the grant made before no longer lets the deputy sign (nor see the draft)
        routing.approve_draft(people.deputy, draft)
    with pytest.raises(Forbidden):
        routing.delegate(people.leader, people.deputy.user_id, "2026-03-02", "2026-03-09", ["approve"])
    routing.delegate(people.leader, people.deputy.user_id, "2026-03-02", "2026-03-09", ["assign"])  # still fine
    routing.configure(people.admin, signing_delegation=True)
    assert routing.approve_draft(people.deputy, draft)["status"] == "signed"
