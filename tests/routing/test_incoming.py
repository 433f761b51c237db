"""Incoming handling end to end through the routing application, with the statuses sent to the external sender."""

import pytest

from services.common.actor import system_actor
from services.common.errors import Conflict, Forbidden, ValidationFailed
from tests.routing.conftest import AGENCY, AGENCY_NAME, outbox_rows, pdf, registered_event


@pytest.fixture
def system():
    return system_actor(AGENCY, "test")


def statuses(database) -> list[str]:
    return [r["status_code"] for r in outbox_rows(database, "outgoing_status")]


def test_full_flow_sends_04_05_06_once_each(routing, database, people, system, blobs):
    routing.on_incoming_registered(system, registered_event("IN-1"))
    routing.on_incoming_registered(system, registered_event("IN-1"))  # redelivered event: one record
    assert [h["incoming_id"] for h in routing.list_incoming(people.clerk, "to_submit")] == ["IN-1"]

    routing.submit_incoming(people.clerk, "IN-1", people.leader.user_id, "Kính trình lãnh đạo")
    assert [h["incoming_id"] for h in routing.list_incoming(people.leader, "to_direct")] == ["IN-1"]
    view = routing.direct_incoming(
        people.leader, "IN-1", "Giao phòng Kinh tế chủ trì, phòng Tổng hợp phối hợp, báo cáo trước 10/3.",
        main={"unit": "KT"}, coordinators=[{"user_id": people.spec_th.user_id}],
        readers=[{"user_id": people.deputy.user_id}], deadline="2026-03-10")
    assert view["status"] == "assigned"
    assert view["deadline"] == "2026-03-10T17:00:00+07:00" and view["deadline_source"] == "leader"
    assert statuses(database) == ["04"]

    # the department head gives it to a specialist of the unit
    routing.reassign_incoming(people.head_kt, "IN-1", people.spec_kt.user_id, "main", "Đồng chí Chuyên xử lý")
    assert [h["incoming_id"] for h in routing.list_incoming(people.spec_kt)] == ["IN-1"]
    routing.send_opinion(people.spec_th, "IN-1", "Phòng Tổng hợp thống nhất số liệu.")
    titles = [n["title"] for n in routing.list_notifications(people.spec_kt)]
    assert any(t.startswith("Ý kiến phối hợp") for t in titles)

    # the first action sends 05; waiting and resuming do not send it again
    routing.mark_waiting(people.spec_kt, "IN-1", "Chờ họp giao ban ngày 5/3")
    routing.resume_incoming(people.spec_kt, "IN-1")
    draft = routing.create_draft(people.spec_kt, "Báo cáo tình hình kinh tế quý I", pdf(blobs, "bao cao"),
                                 answers=["IN-1"])
    assert routing.get_incoming(people.spec_kt, "IN-1")["reply_draft_id"] == draft["draft_id"]
    assert statuses(database) == ["04", "05"]

    # the reply is issued by the registry: the incoming document is handled (06), once
    assert routing.on_outgoing_issued(system, {"outgoing_id": "OUT-7", "answers": ["IN-1"]}) == ["IN-1"]
    assert routing.on_outgoing_issued(system, {"outgoing_id": "OUT-7", "answers": ["IN-1"]}) == []
    done = routing.get_incoming(people.leader, "IN-1")
    assert (done["status"], done["outcome"], done["answered_by"]) == ("done", "answered", "OUT-7")
    assert statuses(database) == ["04", "05", "06"]

    status = outbox_rows(database, "outgoing_status")[0]
    assert status["kind"] == "status" and status["message_id"]
    assert status["from"] == {"organ_id": AGENCY, "organ_name": AGENCY_NAME}
    assert status["to"] == {"organ_id": "000.00.00.H60"}
    assert status["response_for"] == {"organ_id": "000.00.00.H60", "code": "12/UBND-VX",
                                      "promulgation_date": "2026-02-27",
                                      "document_id": "000.00.00.H60,2026/02/27,12/UBND-VX"}
    assert status["description"] == "Lãnh đạo: Phân công xử lý"
    history = [e["action"] for e in done["history"]]
    assert history[:4] == ["registered", "submitted", "directed", "reassigned"]
    assert {"opinion", "waiting", "resumed", "reply_drafted", "done_answered"} <= set(history)


def test_keep_for_reference_and_no_action_end_the_handling(routing, database, people, system):
    for incoming_id in ("IN-2", "IN-3"):
        routing.on_incoming_registered(system, registered_event(incoming_id))
        routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
        routing.direct_incoming(people.leader, incoming_id, "Phòng Kinh tế xem xét",
                                main={"user_id": people.spec_kt.user_id})
    kept = routing.keep_for_reference(people.spec_kt, "IN-2", "Lưu để tham khảo")
    assert (kept["status"], kept["outcome"]) == ("done", "kept")
    with pytest.raises(ValidationFailed):
        routing.close_no_action(people.spec_kt, "IN-3", "  ")
    closed = routing.close_no_action(people.spec_kt, "IN-3", "Nội dung đã được xử lý tại văn bản khác")
    assert (closed["outcome"], closed["outcome_note"]) == ("no_action", "Nội dung đã được xử lý tại văn bản khác")
    # 04, 05, 06 per document
    assert sorted(statuses(database)) == ["04", "04", "05", "05", "06", "06"]
    with pytest.raises(Conflict):
        routing.mark_waiting(people.spec_kt, "IN-3", "quá muộn")


def test_internal_documents_send_no_status(routing, database, people, system):
    routing.on_incoming_registered(system, registered_event("IN-4", external=False))
    routing.submit_incoming(people.clerk, "IN-4", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-4", "Xem", main={"user_id": people.spec_kt.user_id})
    routing.keep_for_reference(people.spec_kt, "IN-4")
    assert outbox_rows(database) == []


def test_deadline_from_document_then_agency_default(routing, people, system, clock):
    routing.configure(people.admin, default_deadline_days=3)
    routing.on_incoming_registered(system, registered_event("IN-5", due_date="2026-03-20"))
    routing.on_incoming_registered(system, registered_event("IN-6"))
    for incoming_id in ("IN-5", "IN-6"):
        routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    by_doc = routing.direct_incoming(people.leader, "IN-5", "Xử lý", main={"user_id": people.spec_kt.user_id})
    assert (by_doc["deadline"], by_doc["deadline_source"]) == ("2026-03-20T17:00:00+07:00", "document")
    clock.set(2026, 3, 5, 10, 0)  # Thursday: 3 working days are Fri 6, Mon 9, Tue 10
    default = routing.direct_incoming(people.leader, "IN-6", "Xử lý", main={"user_id": people.spec_kt.user_id})
    assert (default["deadline"], default["deadline_source"]) == ("2026-03-10T17:00:00+07:00", "default")


def test_urgent_documents_come_first(routing, people, system):
    routing.on_incoming_registered(system, registered_event("N-1", subject="Thường, hạn gần", due_date="2026-03-03"))
    routing.on_incoming_registered(system, registered_event("K-1", priority=1, subject="Khẩn"))
    routing.on_incoming_registered(system, registered_event("H-1", priority=3, subject="Hỏa tốc"))
    routing.on_incoming_registered(system, registered_event("N-2", subject="Thường, hạn xa", due_date="2026-03-30"))
    order = [h["incoming_id"] for h in routing.list_incoming(people.clerk, "to_submit")]
    assert order == ["H-1", "K-1", "N-1", "N-2"]
    # clerks were told at once about the urgent ones
    titles = [n["title"] for n in routing.list_notifications(people.clerk)]
    assert "[Hỏa tốc] Văn bản đến cần trình ngay: Hỏa tốc" in titles


def test_specialist_cannot_direct(routing, people, system):
    routing.on_incoming_registered(system, registered_event("IN-7"))
    routing.submit_incoming(people.clerk, "IN-7", people.leader.user_id)
    with pytest.raises(Forbidden):
        routing.direct_incoming(people.spec_kt, "IN-7", "Tự giao", main={"user_id": people.spec_kt.user_id})
    with pytest.raises(Forbidden):
        routing.submit_incoming(people.spec_kt, "IN-7", people.leader.user_id)


def test_department_head_acts_only_in_their_unit(routing, people, system):
    routing.on_incoming_registered(system, registered_event("IN-8"))
    routing.submit_incoming(people.clerk, "IN-8", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-8", "Phòng Kinh tế chủ trì", main={"unit": "KT"})
    with pytest.raises(Forbidden):  # the document belongs to KT, not TH
        routing.reassign_incoming(people.head_th, "IN-8", people.spec_th.user_id)
    with pytest.raises(Forbidden):  # KT's head cannot hand it to someone of TH
        routing.reassign_incoming(people.head_kt, "IN-8", people.spec_th.user_id)
    routing.reassign_incoming(people.head_kt, "IN-8", people.spec_kt.user_id)
    with pytest.raises(Forbidden):  # only the main handler closes it
        routing.keep_for_reference(people.spec_kt2, "IN-8")
    with pytest.raises(Forbidden):  # only coordinators send opinions
        routing.send_opinion(people.spec_kt2, "IN-8", "ý kiến")
    # the main handler forwards to a colleague, who can then close it
    routing.forward_incoming(people.spec_kt, "IN-8", people.spec_kt2.user_id, "Chuyển đồng chí Hai")
    with pytest.raises(Forbidden):
        routing.keep_for_reference(people.spec_kt, "IN-8")
    assert routing.keep_for_reference(people.spec_kt2, "IN-8")["status"] == "done"


def test_delegate_directs_only_inside_the_period(routing, people, system, clock):
    routing.delegate(people.leader, people.deputy.user_id, "2026-03-03T00:00:00+07:00", "2026-03-06T00:00:00+07:00",
                     ["assign"], "Đi công tác")
    for incoming_id in ("IN-9", "IN-10", "IN-11"):
        routing.on_incoming_registered(system, registered_event(incoming_id))
        routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    with pytest.raises(Forbidden):  # Monday 2 March: the period has not started
        routing.direct_incoming(people.deputy, "IN-9", "Giao", main={"user_id": people.spec_kt.user_id})
    clock.set(2026, 3, 4, 9, 0)
    assert [h["incoming_id"] for h in routing.list_incoming(people.deputy, "to_direct")] == ["IN-9", "IN-10", "IN-11"]
    view = routing.direct_incoming(people.deputy, "IN-9", "Giao", main={"user_id": people.spec_kt.user_id})
    assert (view["directed_by"], view["directed_on_behalf_of"]) == (people.deputy.user_id, people.leader.user_id)
    history = routing.get_incoming(people.deputy, "IN-9")["history"]
    assert history[-1]["on_behalf_of"] == people.leader.user_id
    clock.set(2026, 3, 6, 8, 0)  # the period is over: the right is gone
    with pytest.raises(Forbidden):
        routing.direct_incoming(people.deputy, "IN-10", "Giao", main={"user_id": people.spec_kt.user_id})
    clock.set(2026, 3, 5, 8, 0)
    [grant] = routing.list_delegations(people.leader)
    routing.revoke_delegation(people.leader, grant["delegation_id"])
    with pytest.raises(Forbidden):  # revoked before the end
        routing.direct_incoming(people.deputy, "IN-11", "Giao", main={"user_id": people.spec_kt.user_id})


def test_links_between_documents(routing, people, system):
    for incoming_id in ("IN-12", "IN-13"):  # a link needs a part in each handling it touches
        routing.on_incoming_registered(system, registered_event(incoming_id))
        routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
        routing.direct_incoming(people.leader, incoming_id, "Giao", main={"user_id": people.spec_kt.user_id})
    routing.link(people.spec_kt, "incoming", "IN-12", "incoming", "IN-13")
    routing.link(people.spec_kt, "incoming", "IN-12", "incoming", "IN-13")  # idempotent
    assert routing.get_incoming(people.spec_kt, "IN-12")["links"] == [{"kind": "incoming", "id": "IN-13"}]
    with pytest.raises(ValidationFailed):
        routing.link(people.spec_kt, "incoming", "IN-12", "secret", "x")


def test_registration_deadline_is_a_per_agency_setting(routing, people):
    # Đà Nẵng default 8 h; the document arrived at 16:55 on the Friday before Tết
    assert routing.registration_deadline(people.clerk, "2026-02-13T16:55:00+07:00")["due"] == \
        "2026-02-24T07:55:00+07:00"
    routing.configure(people.admin, registration_limit_hours=4)  # TP.HCM's rule
    assert routing.registration_deadline(people.clerk, "2026-02-13T16:55:00+07:00")["due"] == \
        "2026-02-23T11:25:00+07:00"
    with pytest.raises(Forbidden):
        routing.configure(people.clerk, registration_limit_hours=2)


def test_statuses_follow_the_registry_external_flag_not_the_sender(routing, database, people, system):
    """A paper letter of another agency has no interconnect path back: only `external` (arrived through the
    interconnect, set by the registry) sends statuses; an event without the flag is not external."""
    paper = registered_event("IN-14", external=False)  # sender is another agency, but it came on paper
    unflagged = registered_event("IN-15")
    del unflagged["external"]
    electronic = registered_event("IN-16", external=True)
    for e in (paper, unflagged, electronic):
        routing.on_incoming_registered(system, e)
        routing.submit_incoming(people.clerk, e["incoming_id"], people.leader.user_id)
        routing.direct_incoming(people.leader, e["incoming_id"], "Xem", main={"user_id": people.spec_kt.user_id})
    assert [routing.get_incoming(people.clerk, i)["external"] for i in ("IN-14", "IN-15", "IN-16")] == \
        [False, False, True]
    assert [r["response_for"]["document_id"] for r in outbox_rows(database, "outgoing_status")] == \
        [electronic["document_id"]]


def test_a_coordinator_may_start_the_reply(routing, people, system, blobs):
    """Bình Định QĐ 376 Đ4.2 Bước 1: the reply is drafted from "Xử lý chính" or "Phối hợp xử lý"; a reader may not."""
    routing.on_incoming_registered(system, registered_event("IN-40"))
    routing.submit_incoming(people.clerk, "IN-40", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-40", "Giao", main={"user_id": people.spec_kt.user_id},
                            coordinators=[{"user_id": people.spec_th.user_id}],
                            readers=[{"user_id": people.spec_vp.user_id}])
    with pytest.raises(Forbidden):
        routing.create_draft(people.spec_vp, "Trả lời", pdf(blobs, "r0"), answers=["IN-40"])
    draft = routing.create_draft(people.spec_th, "Trả lời", pdf(blobs, "r1"), answers=["IN-40"])
    view = routing.get_incoming(people.spec_kt, "IN-40")
    assert view["reply_draft_id"] == draft["draft_id"] and view["history"][-1]["action"] == "reply_drafted"
