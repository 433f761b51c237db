"""Authorisation inside one agency (issue 21 item 5): links need a part in the handling they touch, coordinators of
a task follow the assignee's rule, and a draft version is refused before any file is stored."""

import pytest

from services.common.actor import system_actor
from services.common.errors import Conflict, Forbidden, NotFound
from tests.routing.conftest import AGENCY, pdf, registered_event


@pytest.fixture
def handled(routing, people):
    """IN-20 directed to unit KT (its head holds it) with spec_th coordinating; IN-21 directed to spec_kt."""
    system = system_actor(AGENCY, "test")
    for incoming_id in ("IN-20", "IN-21"):
        routing.on_incoming_registered(system, registered_event(incoming_id))
        routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    routing.direct_incoming(people.leader, "IN-20", "Giao phòng Kinh tế", main={"unit": "KT"},
                            coordinators=[{"user_id": people.spec_th.user_id}])
    routing.direct_incoming(people.leader, "IN-21", "Giao đồng chí Chuyên", main={"user_id": people.spec_kt.user_id})
    return routing


def test_links_to_a_handling_need_a_part_in_it(handled, people):
    # spec_vp takes no part in either document: no link from it, none onto it from a task of theirs
    with pytest.raises(Forbidden):
        handled.link(people.spec_vp, "incoming", "IN-20", "outgoing", "vb-di-1")
    own = handled.create_task(people.spec_vp, "Việc của tôi")
    with pytest.raises(Forbidden):
        handled.link(people.spec_vp, "task", str(own["task_id"]), "incoming", "IN-21")
    with pytest.raises(Forbidden):
        handled.create_task(people.spec_vp, "Việc gắn văn bản", links=[{"kind": "incoming", "id": "IN-21"}])
    # a handler links from one they hold to another they hold; the head holds IN-20 through the unit
    handled.link(people.spec_kt, "incoming", "IN-21", "outgoing", "vb-di-1")
    handled.link(people.head_kt, "incoming", "IN-20", "outgoing", "vb-di-2")
    handled.link(people.spec_th, "incoming", "IN-20", "outgoing", "vb-di-3")  # a coordinator takes part
    handled.link(people.leader, "incoming", "IN-20", "outgoing", "vb-di-4")  # the leader who directed it
    # ... but not onto a handling they take no part in
    with pytest.raises(Forbidden):
        handled.link(people.spec_kt, "incoming", "IN-21", "incoming", "IN-20")
    with pytest.raises(NotFound):
        handled.link(people.spec_kt, "incoming", "IN-21", "task", "khong-phai-so")
    assert [link["id"] for link in handled.get_incoming(people.spec_vp, "IN-20")["links"]] == \
        ["vb-di-2", "vb-di-3", "vb-di-4"]


def test_coordinators_follow_the_assignees_rule(routing, people):
    # a specialist gives work to nobody but themselves: not as assignee, not as coordinator
    with pytest.raises(Forbidden):
        routing.create_task(people.spec_kt, "Giao cho đồng nghiệp", people.spec_kt2.user_id)
    with pytest.raises(Forbidden):
        routing.create_task(people.spec_kt, "Mời phối hợp", coordinators=[people.spec_kt2.user_id])
    # a department head inside their unit only, for coordinators too
    with pytest.raises(Forbidden):
        routing.create_task(people.head_kt, "Việc của phòng", people.spec_kt.user_id,
                            coordinators=[people.spec_th.user_id])
    task = routing.create_task(people.head_kt, "Việc của phòng", people.spec_kt.user_id,
                               coordinators=[people.spec_kt2.user_id])
    assert {m["kind"] for m in routing.get_task(people.head_kt, task["task_id"])["members"]} == \
        {"creator", "assignee", "coordinator"}
    # the leader asks anyone
    routing.create_task(people.leader, "Việc liên phòng", people.spec_kt.user_id,
                        coordinators=[people.spec_th.user_id, people.spec_vp.user_id])
    # refused calls made no task
    titles = [t["title"] for t in routing.list_tasks(people.spec_kt2)]
    assert "Mời phối hợp" not in titles and titles.count("Việc của phòng") == 1


def test_a_new_draft_version_is_checked_before_the_file_is_stored(routing, people, blobs):
    draft = routing.create_draft(people.spec_kt, "Báo cáo quý I", pdf(blobs, "v1"))
    routing.check_draft_version(people.spec_kt, draft["draft_id"])  # the author may
    with pytest.raises(NotFound):  # not a participant: the draft does not exist for them
        routing.check_draft_version(people.spec_th, draft["draft_id"])
    routing.invite_commenters(people.spec_kt, draft["draft_id"], [people.spec_kt2.user_id])
    with pytest.raises(Forbidden):  # a commenter sees it but does not write it
        routing.check_draft_version(people.spec_kt2, draft["draft_id"])
    routing.submit_draft(people.spec_kt, draft["draft_id"])
    with pytest.raises(Conflict):  # in review: no new version
        routing.check_draft_version(people.spec_kt, draft["draft_id"])


def test_a_record_number_past_the_databases_range_is_no_such_record(routing, people):
    """Found by the schemathesis run: /api/v1/drafts/17241810747567181716783104 failed inside PostgreSQL (500)."""
    for huge in (2**31, 17241810747567181716783104, "khong-phai-so"):
        with pytest.raises(NotFound):
            routing.get_draft(people.spec_kt, huge)
        with pytest.raises(NotFound):
            routing.get_task(people.spec_kt, huge)
        with pytest.raises(NotFound):
            routing.read_notice(people.spec_kt, huge)
