"""Tasks, internal notices, leaders' progress view, reminders and their e-mail through a real SMTP server."""

import email
import socket
from dataclasses import replace
from email.policy import default as default_policy

import pytest

from services.common.actor import system_actor
from services.common.db import Database
from services.common.errors import Forbidden, ValidationFailed
from services.common.mail import Mailer
from services.common.settings import CommonSettings
from services.routing.app import Routing
from services.routing.models import Base
from services.routing.notify import deliver_pending
from tests.routing.conftest import AGENCY, pdf, registered_event


def test_tasks_assign_coordinate_comment_progress_close(routing, people, blobs):
    system = system_actor(AGENCY, "test")  # IN-1, directed to unit KT: its head takes part and may link a task to it
    routing.on_incoming_registered(system, registered_event("IN-1"))
    routing.submit_incoming(people.clerk, "IN-1", people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-1", "Giao phòng Kinh tế", main={"unit": "KT"})
    task = routing.create_task(people.head_kt, "Tổng hợp số liệu quý I", people.spec_kt.user_id,
                               "Gửi phòng trước ngày 10", coordinators=[people.spec_kt2.user_id], due="2026-03-10",
                               links=[{"kind": "incoming", "id": "IN-1"}])
    task_id = task["task_id"]
    assert task["due"] == "2026-03-10T17:00:00+07:00" and task["unit"] == "KT"
    with pytest.raises(Forbidden):  # a department head assigns only inside their unit
        routing.create_task(people.head_kt, "Việc phòng khác", people.spec_th.user_id)
    with pytest.raises(Forbidden):  # a specialist creates tasks only for themselves
        routing.create_task(people.spec_kt, "Giao cho đồng nghiệp", people.spec_kt2.user_id)
    assert routing.create_task(people.spec_kt, "Việc của tôi")["assignee"] == people.spec_kt.user_id

    routing.comment_task(people.spec_kt2, task_id, "Tôi gửi số liệu phần thu ngân sách.")
    with pytest.raises(Forbidden):  # only the assignee reports progress
        routing.task_progress(people.spec_kt2, task_id, 50)
    routing.task_progress(people.spec_kt, task_id, 60, "Đã có 3/5 số liệu")
    with pytest.raises(Forbidden):  # outsiders see nothing
        routing.get_task(people.spec_th, task_id)
    draft_id = str(routing.create_draft(people.spec_kt, "Báo cáo số liệu quý I", pdf(blobs, "bc"))["draft_id"])
    routing.link(people.spec_kt, "task", str(task_id), "draft", draft_id)  # a draft the linker sees
    closed = routing.close_task(people.spec_kt, task_id, "Hoàn thành")
    full = routing.get_task(people.head_kt, task_id)
    assert closed["status"] == "closed" and full["progress"] == 60
    assert [c["kind"] for c in full["comments"]] == ["comment", "progress", "close"]
    assert full["links"] == [{"kind": "incoming", "id": "IN-1"}, {"kind": "draft", "id": draft_id}]
    assert {m["kind"] for m in full["members"]} == {"creator", "assignee", "coordinator"}
    assert [t["task_id"] for t in routing.list_tasks(people.spec_kt2)] == []
    assert [t["task_id"] for t in routing.list_tasks(people.spec_kt2, include_closed=True)] == [task_id]


def test_a_comment_sent_twice_as_one_operation_is_recorded_once(routing, people):
    """A form posted twice (double click, slow network) or an API call delivered twice carries the same operation
    id: one comment, one notice to the others; another operation, or none, is another comment."""
    task_id = routing.create_task(people.head_kt, "Tổng hợp số liệu quý II", people.spec_kt.user_id)["task_id"]
    routing.comment_task(people.spec_kt, task_id, "Đã nhận việc.", "form:op-1")
    again = routing.comment_task(people.spec_kt, task_id, "Đã nhận việc.", "form:op-1")
    assert again["task_id"] == task_id
    said = [c["text"] for c in routing.get_task(people.head_kt, task_id)["comments"]]
    assert said == ["Đã nhận việc."]
    heard = [n for n in routing.list_notifications(people.head_kt) if n["kind"] == "task_comment"]
    assert len(heard) == 1
    routing.comment_task(people.spec_kt, task_id, "Đã nhận việc.", "form:op-2")
    routing.comment_task(people.spec_kt, task_id, "Đã nhận việc.")
    assert len(routing.get_task(people.head_kt, task_id)["comments"]) == 3
    with pytest.raises(ValidationFailed):     # an operation id too long to keep is refused, not cut
        routing.comment_task(people.spec_kt, task_id, "Ý kiến", "x" * 81)


def test_notices_to_all_or_units_with_read_receipts(routing, people):
    everyone = routing.publish_notice(people.clerk, "Lịch nghỉ Tết Bính Ngọ", "Nghỉ từ 16/2 đến 20/2")
    to_kt = routing.publish_notice(people.head_kt, "Họp phòng Kinh tế", "8 giờ thứ Hai", units=["KT"])
    with pytest.raises(Forbidden):
        routing.publish_notice(people.head_kt, "Họp phòng khác", units=["TH"])
    with pytest.raises(Forbidden):
        routing.publish_notice(people.spec_kt, "Thông báo")
    assert [n["notice_id"] for n in routing.list_notices(people.spec_th)["items"]] == [everyone["notice_id"]]
    assert {n["notice_id"] for n in routing.list_notices(people.spec_kt)["items"]} == {everyone["notice_id"],
                                                                                        to_kt["notice_id"]}
    assert routing.read_notice(people.spec_kt, to_kt["notice_id"])["read_at"]
    routing.read_notice(people.spec_kt, to_kt["notice_id"])  # reading twice keeps one receipt
    readers = routing.notice_readers(people.head_kt, to_kt["notice_id"])
    assert [r["user_id"] for r in readers["read"]] == [people.spec_kt.user_id]
    assert readers["not_read"] == [people.spec_kt2.user_id]
    with pytest.raises(Forbidden):
        routing.notice_readers(people.spec_kt, to_kt["notice_id"])



@pytest.fixture(params=["postgresql", "sqlite"])
def any_engine(request, tmp_path, people, clock, blobs, signer):
    """Routing over PostgreSQL (the routing fixture) or an SQLite file: the notices' audience is decided in SQL."""
    if request.param == "postgresql":
        yield request.getfixturevalue("routing")
        return
    db = Database("routing", AGENCY, Base.metadata, CommonSettings(agency_id=AGENCY, data_dir=tmp_path))
    db.create_all()
    try:
        app = Routing(db, AGENCY, sign=signer, blobs=blobs, clock=clock)
        app.sync_staff(people.admin, [{"user_id": p.user_id, "username": p.username, "full_name": p.full_name,
                                       "unit": p.unit, "roles": sorted(p.roles)} for p in people.all()])
        yield app
    finally:
        db.dispose()


def test_notices_come_a_page_at_a_time_newest_first_counting_only_the_readers_own(any_engine, people, clock):
    routing = any_engine
    published = []
    for number in range(45):  # the whole agency's, KT's and TH's in turn, a minute apart
        clock.set(2026, 3, 2, 8, number)
        units = [None, ["KT"], ["TH"]][number % 3]
        published.append((routing.publish_notice(people.clerk, f"Thông báo {number}", units=units), units))
    own = routing.publish_notice(people.head_th, "Họp phòng Tổng hợp", units=["TH"])  # not KT's, but the head's
    kt = [n["notice_id"] for n, units in reversed(published) if units != ["TH"]]   # newest first: 30 of them

    first = routing.list_notices(people.spec_kt)
    assert (first["total"], first["page"], first["size"]) == (30, 1, 20)
    assert [n["notice_id"] for n in first["items"]] == kt[:20]
    second = routing.list_notices(people.spec_kt, page=2)
    assert [n["notice_id"] for n in second["items"]] == kt[20:] and second["total"] == 30
    assert routing.list_notices(people.spec_kt, page=3)["items"] == []
    assert [n["notice_id"] for n in routing.list_notices(people.spec_kt, page=4, size=7)["items"]] == kt[21:28]
    assert routing.list_notices(people.spec_kt, size=1000)["size"] == 100   # at most a hundred a page

    head_th = routing.list_notices(people.head_th, size=100)
    assert head_th["total"] == 31 and head_th["items"][0]["notice_id"] == own["notice_id"]
    assert routing.list_notices(people.spec_kt2, size=100)["total"] == 30
    assert routing.list_notices(people.leader, size=100)["total"] == 15   # no unit: the whole agency's only
    lower = replace(people.spec_kt, unit="kt")   # units are compared exactly, as opening a notice does
    assert routing.list_notices(lower, size=100)["total"] == 15

    routing.read_notice(people.spec_kt, kt[0])
    routing.read_notice(people.spec_kt, kt[29])
    unread = routing.list_notices(people.spec_kt, unread_only=True, size=100)
    assert unread["total"] == 28 and [n["notice_id"] for n in unread["items"]] == kt[1:29]
    assert all(n["read_at"] is None for n in unread["items"])
    assert routing.list_notices(people.spec_kt)["items"][0]["read_at"]


def _assigned(routing, people, incoming_id, main, deadline, priority=0):
    system = system_actor(AGENCY, "test")
    routing.on_incoming_registered(system, registered_event(incoming_id, priority=priority,
                                                            subject=f"Văn bản {incoming_id}"))
    routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    routing.direct_incoming(people.leader, incoming_id, "Xử lý", main=main, deadline=deadline)


def test_leaders_see_progress_and_overdue_items_of_their_units(routing, people, clock):
    _assigned(routing, people, "A-1", {"unit": "KT"}, "2026-03-03")
    _assigned(routing, people, "A-2", {"user_id": people.spec_kt.user_id}, "2026-03-20", priority=2)
    _assigned(routing, people, "A-3", {"user_id": people.spec_th.user_id}, "2026-03-03T10:00")
    routing.keep_for_reference(people.spec_kt, "A-2")
    clock.set(2026, 3, 4, 9, 0)
    units = {u["unit"]: u for u in routing.unit_progress(people.leader)}
    assert set(units) == {"KT", "TH"}
    assert (units["KT"]["total"], units["KT"]["done"], units["KT"]["overdue"]) == (2, 1, 1)
    assert [i["incoming_id"] for i in units["KT"]["overdue_items"]] == ["A-1"]
    assert [i["incoming_id"] for i in units["TH"]["overdue_items"]] == ["A-3"]
    [mine] = routing.unit_progress(people.head_kt)
    assert mine["unit"] == "KT"
    with pytest.raises(Forbidden):
        routing.unit_progress(people.head_kt, "TH")
    with pytest.raises(Forbidden):
        routing.unit_progress(people.spec_kt)


def test_reminder_email_reaches_the_smtp_server_with_a_vietnamese_subject(routing, database, people, clock,
                                                                          smtp_server):
    inbox, port = smtp_server
    _assigned(routing, people, "R-1", {"user_id": people.spec_kt.user_id}, "2026-03-03T10:00", priority=3)
    mailer = Mailer(host="127.0.0.1", port=port, sender="congvan@danang.gov.vn")
    deliver_pending(database, mailer)  # the assignment notices themselves
    inbox.messages.clear()

    clock.set(2026, 3, 2, 16, 0)  # 2.5 working hours before the deadline: due soon
    system = system_actor(AGENCY, "scheduler")
    assert routing.run_reminders(system) == {"due_soon": 1, "overdue": 0}
    assert routing.run_reminders(system) == {"due_soon": 0, "overdue": 0}  # once per item and state
    assert deliver_pending(database, mailer)["sent"] == 1
    clock.set(2026, 3, 3, 10, 30)
    assert routing.run_reminders(system)["overdue"] == 1
    deliver_pending(database, mailer)

    assert [to for to, _ in inbox.messages] == [["u-spec-kt@danang.gov.vn"]] * 2
    raw = inbox.messages[0][1]
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0].lower()  # RFC 2047 encoded-words in the header
    subjects = [email.message_from_bytes(m, policy=default_policy)["Subject"] for _, m in inbox.messages]
    assert subjects == ["[Hỏa tốc] Sắp đến hạn xử lý: Văn bản R-1", "[Hỏa tốc] Đã quá hạn xử lý: Văn bản R-1"]
    body = email.message_from_bytes(inbox.messages[1][1], policy=default_policy).get_content()
    assert "Hạn xử lý: 2026-03-03T10:00:00+07:00" in body
    in_app = [n["kind"] for n in routing.list_notifications(people.spec_kt)]
    assert in_app.count("due_soon") == 1 and in_app.count("overdue") == 1


def test_email_waits_while_smtp_is_down(routing, database, people):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # nothing listens here
    _assigned(routing, people, "R-2", {"user_id": people.spec_kt.user_id}, "2026-03-10")
    counts = deliver_pending(database, Mailer(host="127.0.0.1", port=dead_port, timeout=2))
    assert counts["failed"] >= 1 and counts["sent"] == 0
    assert {n["email_state"] for n in routing.list_notifications(people.spec_kt)} == {"pending"}


def test_finished_items_are_counted_for_their_unit_even_when_it_has_nothing_open(routing, people, clock):
    """Finished documents are counted, not listed (an agency's years of them are on every leader's home page): a
    unit whose items are all done still has its row, and a done item given to a person counts for their unit."""
    _assigned(routing, people, "B-1", {"user_id": people.spec_th.user_id}, "2026-03-20")
    _assigned(routing, people, "B-2", {"unit": "KT"}, "2026-03-03")
    _assigned(routing, people, "B-3", {"user_id": people.spec_kt.user_id}, "2026-03-20")
    routing.keep_for_reference(people.spec_th, "B-1")
    routing.keep_for_reference(people.spec_kt, "B-3")
    clock.set(2026, 3, 4, 9, 0)
    units = {u["unit"]: u for u in routing.unit_progress(people.leader)}
    th, kt = units["TH"], units["KT"]
    assert (th["total"], th["done"], th["in_progress"], th["open_items"], th["overdue_items"]) == (1, 1, 0, [], [])
    assert (kt["total"], kt["done"], kt["overdue"]) == (2, 1, 1)
    assert [i["incoming_id"] for i in kt["open_items"]] == ["B-2"]
