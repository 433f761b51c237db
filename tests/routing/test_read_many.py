"""`read_many`: a page's lists in one call and one transaction (services/common/reads.py). Each read answers as its
own call would, a refused read does not stop the others, and only the listed reads with their own arguments may
be asked for."""

from __future__ import annotations

import re

import pytest

from services.common.actor import system_actor
from services.common.errors import ValidationFailed
from services.common.reads import MAX_READS
from tests.routing.conftest import AGENCY, pdf, registered_event


@pytest.fixture
def with_work(routing, people):
    routing.create_task(people.leader, "Chuẩn bị báo cáo quý IV", assignee=people.spec_kt.user_id)
    routing.publish_notice(people.leader, "Lịch họp giao ban tuần", "Sáng thứ Hai, phòng họp số 1")
    return routing


def test_each_read_answers_as_its_own_call_would(with_work, people):
    reads = [{"method": "list_tasks"}, {"method": "list_notices", "kwargs": {}},
             {"method": "list_incoming", "kwargs": {"box": "mine"}}, {"method": "list_drafts"},
             {"method": "get_config"}]
    answers = with_work.read_many(people.spec_kt, reads)
    assert [a["result"] for a in answers] == [
        with_work.list_tasks(people.spec_kt), with_work.list_notices(people.spec_kt),
        with_work.list_incoming(people.spec_kt, box="mine"), with_work.list_drafts(people.spec_kt),
        with_work.get_config(people.spec_kt)]
    assert answers[0]["result"][0]["title"] == "Chuẩn bị báo cáo quý IV"
    assert answers[1]["result"]["items"][0]["title"] == "Lịch họp giao ban tuần"


def test_one_transaction_for_the_whole_batch(with_work, people, database, monkeypatch):
    opened = []
    real = database.session

    def counted():
        opened.append(1)
        return real()

    monkeypatch.setattr(database, "session", counted)
    with_work.read_many(people.leader, [{"method": "list_tasks"}, {"method": "list_notices"},
                                        {"method": "unit_progress"}, {"method": "list_drafts"}])
    assert len(opened) == 1
    with_work.list_tasks(people.leader)
    assert len(opened) == 2  # outside a batch, each call has its own again


def test_the_entrusting_leaders_are_read_once_for_the_whole_batch(with_work, people, database, blobs):
    """The office enters the leader's opinions (nhập thay): its drafts and tasks lists both ask which leaders
    entrusted it; within one read_many the delegations are read once for both, and each list answers as alone."""
    from sqlalchemy import event

    with_work.delegate(people.leader, people.clerk.user_id, "2026-03-01T00:00", "2026-12-31T17:00", ["record"])
    draft = with_work.create_draft(people.spec_kt, "Báo cáo quý IV", pdf(blobs, "bc"))   # in review: the office's
    with_work.submit_draft(people.spec_kt, draft["draft_id"])                             # list asks about it
    reads = [{"method": "list_drafts"}, {"method": "list_tasks"}, {"method": "list_incoming", "kwargs": {}}]
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        answers = with_work.read_many(people.clerk, reads)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert len([s for s in seen if re.search(r"\bFROM\s+(\S+\.)?delegation\b", s)]) == 1
    assert [a["result"] for a in answers] == [
        with_work.list_drafts(people.clerk), with_work.list_tasks(people.clerk), with_work.list_incoming(people.clerk)]
    assert [t["title"] for t in answers[1]["result"]] == ["Chuẩn bị báo cáo quý IV"]   # the leader's task


def test_a_refused_read_leaves_the_others_answered(with_work, people):
    answers = with_work.read_many(people.spec_kt, [{"method": "list_incoming", "kwargs": {"box": "to_submit"}},
                                                   {"method": "list_tasks"}])
    assert answers[0]["error"]["code"] == "forbidden" and answers[0]["error"]["message"]
    assert "result" not in answers[0]
    assert answers[1]["result"][0]["title"] == "Chuẩn bị báo cáo quý IV"


@pytest.mark.parametrize("reads, why", [
    ([{"method": "configure", "kwargs": {"agency_name": "Khác"}}], "a write"),
    ([{"method": "mark_read", "kwargs": {"incoming_id": "1"}}], "a write that is not listed"),
    ([{"method": "_config"}], "plumbing"),
    ([{"method": "list_tasks", "kwargs": {"actor": "u-leader"}}], "the actor given as an argument"),
    ([{"method": "list_tasks", "kwargs": {"include_everything": True}}], "an argument the read does not take"),
    ([{"method": "list_tasks", "kwargs": ["x"]}], "arguments that are not named"),
    (["list_tasks"], "an item that is not an object"),
    ([], "nothing"),
    ([{"method": "list_tasks"}] * (MAX_READS + 1), "too many"),
    ({"method": "list_tasks"}, "not a list"),
])
def test_anything_else_refuses_the_whole_call_before_any_read(with_work, people, reads, why):
    before = with_work.get_config(people.admin)
    with pytest.raises(ValidationFailed) as refused:
        with_work.read_many(people.admin, [{"method": "list_notices"}, *reads] if isinstance(reads, list) and reads
                            else reads)
    assert refused.value.message_vi.startswith("Yêu cầu đọc gộp"), why
    assert with_work.get_config(people.admin) == before, why


def test_a_limited_list_views_its_first_rows_in_list_order_and_counts_them_all(routing, people):
    """The home page's panels (gateway/web.py HOME_ROWS): the most pressing rows, and the count of the whole box."""
    system = system_actor(AGENCY, "test")
    for incoming_id, priority, due in [("IN-1", 0, None), ("IN-2", 3, None), ("IN-3", 1, None), ("IN-4", 2, None),
                                       ("IN-5", 0, None), ("IN-6", 0, None)]:
        routing.on_incoming_registered(system, registered_event(incoming_id, priority=priority, due_date=due))
    whole = [h["incoming_id"] for h in routing.list_incoming(people.clerk, "to_submit")]
    # hỏa tốc, thượng khẩn, khẩn, then thường as they came (no deadline before the directive)
    assert whole == ["IN-2", "IN-4", "IN-3", "IN-1", "IN-5", "IN-6"]
    first = routing.list_incoming(people.clerk, "to_submit", limit=2)
    assert [h["incoming_id"] for h in first["items"]] == whole[:2] and first["total"] == 6
    every = routing.list_incoming(people.clerk, "to_submit", limit=10)
    assert [h["incoming_id"] for h in every["items"]] == whole and every["items"] == routing.list_incoming(
        people.clerk, "to_submit")
    [answer] = routing.read_many(people.clerk, [{"method": "list_incoming",
                                                 "kwargs": {"box": "to_submit", "limit": 3}}])
    assert [h["incoming_id"] for h in answer["result"]["items"]] == whole[:3] and answer["result"]["total"] == 6
