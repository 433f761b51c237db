"""The handover of a person with open work of every kind (assignments, a document to direct, drafts, a pending
review, tasks, delegations), a single stuck item moved, and the leaver's own data with the head's permission."""

import pytest

from services.common.actor import system_actor
from services.common.errors import Forbidden, NotFound, ValidationFailed
from tests.routing.conftest import AGENCY, pdf, registered_event


@pytest.fixture
def system():
    return system_actor(AGENCY, "test")


def test_hand_over_every_kind_of_open_work(routing, people, blobs, system):
    leaver, successor = people.spec_kt, people.spec_kt2
    for incoming_id in ("IN-1", "IN-2"):
        routing.on_incoming_registered(system, registered_event(incoming_id))
        routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-1", "Giao đ/c Chuyên", main={"user_id": leaver.user_id})
    routing.direct_incoming(people.leader, "IN-2", "Phối hợp", main={"unit": "TH"},
                            coordinators=[{"user_id": leaver.user_id}])
    own = routing.create_draft(leaver, "Báo cáo quý I", pdf(blobs, "bc"))["draft_id"]
    other = routing.create_draft(people.spec_th, "Kế hoạch năm", pdf(blobs, "kh"))["draft_id"]
    routing.invite_commenters(people.spec_th, other, [leaver.user_id])          # a pending review
    task = routing.create_task(people.head_kt, "Tổng hợp số liệu", leaver.user_id)["task_id"]
    gave = routing.create_task(leaver, "Việc tự giao")["task_id"]
    routing.delegate(people.leader, leaver.user_id, "2026-03-02", "2026-03-20", ["supervise"])

    work = routing.open_work(people.admin, leaver.user_id)
    assert {k: len(work[k]) for k in ("assignments", "drafts", "reviews", "tasks", "delegations")} == {
        "assignments": 2, "drafts": 1, "reviews": 1, "tasks": 2, "delegations": 1}
    with pytest.raises(Forbidden):  # the administrator hands over, not a colleague
        routing.hand_over(people.spec_th, leaver.user_id, successor.user_id)
    routing.sync_staff(people.admin, [{"user_id": leaver.user_id, "active": False}])  # locked meanwhile

    result = routing.hand_over(people.admin, leaver.user_id, successor.user_id, "Chuyển công tác")
    assert result["left"]["total"] == 0 and result["moved"]["assignments"] == 2
    assert routing.hand_over(people.admin, leaver.user_id, successor.user_id)["moved"] == dict.fromkeys(
        ("assignments", "to_direct", "drafts", "reviews", "tasks", "delegations"), 0)  # nothing left: a no-op

    assert {h["incoming_id"] for h in routing.list_incoming(successor)} == {"IN-1", "IN-2"}
    history = routing.get_incoming(people.leader, "IN-1")["history"]
    assert history[-1]["action"] == "handed_over" and "Chuyển công tác" in history[-1]["note"]
    assert history[-1]["data"]["from"] == leaver.user_id and history[-1]["data"]["to"] == successor.user_id
    mine = routing.get_draft(successor, own)
    assert mine["drafted_by"] == successor.user_id and mine["comments"][-1]["kind"] == "handover"
    assert routing.get_draft(successor, other)["comments"][-1]["kind"] == "handover"  # the review moved too
    assert routing.get_task(successor, task)["assignee"] == successor.user_id
    assert routing.get_task(successor, gave)["created_by"] == successor.user_id
    assert routing.get_task(successor, task)["comments"][-1]["kind"] == "handover"
    [grant] = routing.list_delegations(successor)
    assert grant["delegate_user_id"] == successor.user_id and grant["scopes"] == ["supervise"]
    assert any(n["kind"] == "handover" for n in routing.list_notifications(successor))


def test_documents_to_direct_and_delegations_given_by_a_leaving_leader(routing, people, system):
    routing.on_incoming_registered(system, registered_event("IN-3"))
    routing.submit_incoming(people.clerk, "IN-3", people.leader.user_id)
    routing.delegate(people.leader, people.deputy.user_id, "2026-03-02", "2026-03-20", ["assign"])
    routing.hand_over(people.admin, people.leader.user_id, people.head_th.user_id)  # not a leader
    assert [h["incoming_id"] for h in routing.list_incoming(people.head_th, "to_direct")] == ["IN-3"]
    [grant] = routing.list_delegations(people.deputy)
    assert grant["revoked_at"] is not None  # a non-leader cannot lend the leader's authority: it ends


def test_move_one_stuck_item(routing, people, system):
    routing.on_incoming_registered(system, registered_event("IN-4"))
    routing.submit_incoming(people.clerk, "IN-4", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-4", "Giao", main={"user_id": people.spec_th.user_id})
    with pytest.raises(Forbidden):
        routing.move_item(people.head_th, "incoming", "IN-4", people.spec_th.user_id, people.spec_kt.user_id, "Ốm")
    with pytest.raises(ValidationFailed):
        routing.move_item(people.leader, "incoming", "IN-4", people.spec_th.user_id, people.spec_kt.user_id, "")
    routing.move_item(people.leader, "incoming", "IN-4", people.spec_th.user_id, people.spec_kt.user_id,
                      "Nghỉ ốm dài ngày")
    assert [h["incoming_id"] for h in routing.list_incoming(people.spec_kt)] == ["IN-4"]
    assert routing.get_incoming(people.leader, "IN-4")["history"][-1]["action"] == "handed_over"
    with pytest.raises(NotFound):  # moved already: nothing left with that person
        routing.move_item(people.leader, "incoming", "IN-4", people.spec_th.user_id, people.spec_kt.user_id, "Lại")


def test_leaver_downloads_their_data_only_with_the_heads_permission(routing, people, blobs, system):
    routing.on_incoming_registered(system, registered_event("IN-5"))
    routing.submit_incoming(people.clerk, "IN-5", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-5", "Giao", main={"user_id": people.spec_kt.user_id})
    routing.keep_for_reference(people.spec_kt, "IN-5", "Lưu")
    routing.create_draft(people.spec_kt, "Tờ trình", pdf(blobs, "tt"))
    with pytest.raises(NotFound):
        routing.handled_data(people.spec_kt)
    with pytest.raises(Forbidden):  # the head decides, not the administrator
        routing.allow_data_export(people.admin, people.spec_kt.user_id)
    assert routing.allow_data_export(people.leader, people.spec_kt.user_id)["allowed"] is True
    data = routing.handled_data(people.spec_kt)
    assert [d["incoming_id"] for d in data["documents"]] == ["IN-5"] and data["documents"][0]["history"]
    assert [d["title"] for d in data["drafts"]] == ["Tờ trình"] and data["drafts"][0]["versions"]
    routing.allow_data_export(people.leader, people.spec_kt.user_id, allowed=False)
    with pytest.raises(NotFound):
        routing.handled_data(people.spec_kt)
