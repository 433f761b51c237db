"""Nhập thay on a task (công việc): "Các ý kiến của Thường trực Ủy ban nhân dân thành phố trên văn bản đến và trên hồ
sơ xử lý sẽ do các Thư ký chịu trách nhiệm cập nhật vào chương trình phần mềm QLVB & HSCV" (TP.HCM QĐ 23/QĐ-VP Điều 3
khoản 3). The leader's opinion written on the paper file of a task the leader takes part in is typed in by the person
they entrusted (scope `record`): the comment is the leader's, with `entered_by` and the real time; the members and the
leader are told; done once per operation id; the entrant sees the leader's tasks while the grant is in force, and no
other. Over PostgreSQL."""

from __future__ import annotations

from functools import partial

from services.common.errors import Forbidden, ValidationFailed
from tests.routing.test_entry_for_leader import grant, refused


def test_the_office_enters_the_leaders_opinion_on_a_task(routing, people, clock):
    clock.set(2026, 3, 2, 9, 0)
    task = routing.create_task(people.leader, "Tổng hợp báo cáo quý I", people.spec_kt.user_id, "Gửi Văn phòng")
    own = routing.create_task(people.spec_kt, "Sắp xếp hồ sơ của phòng")     # the leader takes no part in it
    enter = partial(routing.enter_task_opinion, people.clerk, people.leader.user_id)
    refused(partial(enter, task["task_id"], "Bổ sung số liệu", "op-1"), Forbidden, "no_entry_grant")
    refused(partial(routing.get_task, people.clerk, task["task_id"]), Forbidden, "forbidden")

    grant(routing, people, clock)
    clock.set(2026, 3, 4, 8, 30)
    assert {t["task_id"] for t in routing.list_tasks(people.clerk)} == {task["task_id"]}   # the leader's, not own
    refused(partial(enter, own["task_id"], "x", "op-0"), Forbidden, "leader_not_in_task")
    refused(partial(routing.get_task, people.clerk, own["task_id"]), Forbidden, "forbidden")
    refused(partial(routing.comment_task, people.clerk, task["task_id"], "Ý kiến riêng"), Forbidden, "forbidden")
    refused(partial(enter, task["task_id"], "Bổ sung", "op-1", "2026-03-04T09:00"), ValidationFailed, "future_date")
    refused(partial(enter, task["task_id"], "Bổ sung", "op-1", "2026-03-01T09:00"), ValidationFailed,
            "before_arrival")
    refused(partial(enter, task["task_id"], " ", "op-1"), ValidationFailed, "validation_failed")
    refused(partial(enter, task["task_id"], "Bổ sung", ""), ValidationFailed, "validation_failed")

    view = enter(task["task_id"], "Bổ sung số liệu của các quận", "op-1", "2026-03-03T17:45")
    again = enter(task["task_id"], "Bổ sung số liệu của các quận", "op-1")     # redelivered: once
    assert again["comments"] == view["comments"]
    [said] = view["comments"]
    assert (said["user_id"], said["kind"], said["entered_by"], said["happened_at"], said["at"]) == (
        people.leader.user_id, "comment", people.clerk.user_id, "2026-03-03T17:45:00+07:00",
        "2026-03-04T08:30:00+07:00")
    refused(partial(enter, task["task_id"], "Trước đó", "op-2", "2026-03-03T08:00"), ValidationFailed,
            "before_previous_step")
    heard = [n for n in routing.list_notifications(people.spec_kt) if n["kind"] == "task_comment"]
    assert len(heard) == 1 and heard[0]["body"].startswith(f"{people.leader.full_name}: Bổ sung")
    told = [n for n in routing.list_notifications(people.leader) if n["kind"] == "entered_for_you"]
    assert len(told) == 1 and people.clerk.full_name in told[0]["title"] and "2026-03-03T17:45" in told[0]["body"]

    clock.set(2027, 1, 4, 8, 0)       # the grant has expired: neither the entry nor the task
    refused(partial(enter, task["task_id"], "x", "op-3"), Forbidden, "entry_grant_ended")
    refused(partial(routing.get_task, people.clerk, task["task_id"]), Forbidden, "forbidden")
    assert len(routing.get_task(people.leader, task["task_id"])["comments"]) == 1
