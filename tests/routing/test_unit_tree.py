"""Units nested more than one level (Bình Định QĐ 376 Đ4.1 Bước 3: "Lãnh đạo các đơn vị trực thuộc Sở chuyển cho
lãnh đạo các phòng thuộc đơn vị trực thuộc; lãnh đạo các phòng thuộc đơn vị trực thuộc chuyển công chức, viên chức
thực hiện"): the pure rules of the tree, then a document handed down two levels through the routing application,
the heads' boxes and the progress rolled up to the parent unit."""

import pytest

from services.common.actor import Role, system_actor
from services.common.errors import Forbidden, ValidationFailed
from services.routing.domain import MAX_UNIT_DEPTH, UnitTree, check_unit_parent, require_same_unit
from tests.routing.conftest import AGENCY, pdf, person, registered_event, restart_without

# KT (Phòng Kinh tế) has KT1 (Tổ Đầu tư) under it, which has KT1A under it; TH and VP stand alone.
TREE = UnitTree.of([("kt", None), ("kt1", "kt"), ("kt1a", "KT1"), ("th", None), ("vp", None)])

head_kt1 = person("u-head-kt1", {Role.DEPARTMENT_HEAD}, "KT1", "Lưu Văn Tổ Trưởng")
spec_kt1 = person("u-spec-kt1", {Role.SPECIALIST}, "KT1", "Trịnh Thị Tổ Viên")


def test_the_tree_answers_within_subtree_depth_and_order():
    assert TREE.within("KT1A", "kt") and TREE.within("kt1", "KT1") and TREE.within("KT", "KT")
    assert not TREE.within("KT", "KT1") and not TREE.within("TH", "KT") and not TREE.within(None, "KT")
    assert TREE.subtree("KT") == {"KT", "KT1", "KT1A"} and TREE.subtree("TH") == {"TH"}
    assert TREE.subtree("MOI") == {"MOI"} and TREE.subtree(None) == set()  # a unit nobody declared: itself
    assert TREE.ancestors("KT1A") == ["KT1", "KT"] and TREE.depth("KT1A") == 3 and TREE.height("KT") == 3
    assert TREE.ordered() == [("KT", 1), ("KT1", 2), ("KT1A", 3), ("TH", 1), ("VP", 1)]
    assert TREE.children("KT") == ["KT1"] and TREE.children("TH") == []


def test_a_parent_must_be_declared_never_below_itself_and_the_tree_stays_shallow():
    check_unit_parent("TH", "KT1A", TREE)  # a fourth level is allowed
    check_unit_parent("KT1", None, TREE)   # back to directly under the agency
    with pytest.raises(ValidationFailed) as unknown:
        check_unit_parent("TH", "KHAC", TREE)
    assert unknown.value.code == "unknown_parent" and "cùng cơ quan" in unknown.value.message_vi
    for parent in ("KT", "KT1", "KT1A"):
        with pytest.raises(ValidationFailed) as cycle:
            check_unit_parent("KT", parent, TREE)
        assert cycle.value.code == "unit_cycle" and "dưới chính nó" in cycle.value.message_vi
    deep = UnitTree.of([*TREE.parents.items(), ("KT1B", "KT1A")])
    assert deep.depth("KT1B") == MAX_UNIT_DEPTH
    with pytest.raises(ValidationFailed) as too_deep:
        check_unit_parent("TH", "KT1B", deep)
    assert too_deep.value.code == "unit_too_deep" and "tối đa 4 cấp" in too_deep.value.message_vi
    with pytest.raises(ValidationFailed):  # moving a two-level branch under the third level: five levels
        check_unit_parent("KT1", "KT1A", UnitTree.of([("A", None), ("B", "A"), ("C", "B"), ("KT1", None),
                                                      ("KT1A", "C"), ("X", "KT1")]))


def test_a_head_acts_in_their_unit_and_below_never_above_or_beside():
    head_kt = person("h", {Role.DEPARTMENT_HEAD}, "KT", "Trưởng phòng")
    require_same_unit(head_kt, "KT1A", "giao việc", TREE)
    require_same_unit(head_kt1, "KT1", "giao việc", TREE)
    for unit, who in (("KT", head_kt1), ("TH", head_kt), (None, head_kt)):
        with pytest.raises(Forbidden) as refused:
            require_same_unit(who, unit, "giao việc", TREE)
        assert "trong đơn vị của mình" in refused.value.message_vi
    with pytest.raises(Forbidden):  # without the tree the old rule stands: the same unit only
        require_same_unit(head_kt, "KT1", "giao việc")


@pytest.fixture
def nested(routing, people):
    """KT1 under KT in routing's copy of the units, with its head and specialist in the directory."""
    routing.sync_units(people.admin, [{"code": "KT", "name": "Phòng Kinh tế", "parent": None},
                                      {"code": "kt1", "name": "Tổ Đầu tư", "parent": "kt"}])
    routing.sync_staff(people.admin, [{"user_id": p.user_id, "username": p.username, "full_name": p.full_name,
                                       "unit": p.unit, "roles": sorted(p.roles)} for p in (head_kt1, spec_kt1)])
    return routing


def directed_to_kt(routing, people, incoming_id: str) -> None:
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event(incoming_id))
    routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    routing.direct_incoming(people.leader, incoming_id, "Phòng Kinh tế chủ trì", main={"unit": "KT"},
                            deadline="2026-03-20")


def ids(views) -> list[str]:
    return [v["incoming_id"] for v in views]


def test_a_document_goes_down_two_levels_and_the_parent_head_follows_it(nested, people, blobs):
    routing = nested
    directed_to_kt(routing, people, "N-1")
    assert ids(routing.list_incoming(head_kt1)) == []  # not yet theirs

    # the head of KT gives it to the sub-unit KT1 (not to a person): KT1's head receives it
    view = routing.reassign_incoming(people.head_kt, "N-1", None, "main", "Tổ Đầu tư xử lý", unit="kt1")
    assert any(a["unit"] == "KT1" and a["kind"] == "main" and a["active"] for a in view["assignments"])
    again = routing.reassign_incoming(people.head_kt, "N-1", None, "main", "Tổ Đầu tư xử lý", unit="KT1")
    assert len(again["assignments"]) == len(view["assignments"])  # a retried call adds nothing
    assert ids(routing.list_incoming(head_kt1)) == ["N-1"]
    assert any(n["title"].startswith("Văn bản đến giao xử lý chính") for n in routing.list_notifications(head_kt1))

    # KT1's head may not reach up to KT's staff, nor give it back to the unit it is in
    with pytest.raises(Forbidden):
        routing.reassign_incoming(head_kt1, "N-1", people.spec_kt.user_id, "main")
    with pytest.raises(ValidationFailed):
        routing.reassign_incoming(head_kt1, "N-1", None, "main", unit="KT1")
    with pytest.raises(ValidationFailed):
        routing.reassign_incoming(head_kt1, "N-1", spec_kt1.user_id, "main", unit="KT1")  # both: which one?
    # ... and the head of another unit has no part in it at all
    with pytest.raises(Forbidden):
        routing.reassign_incoming(people.head_th, "N-1", people.spec_th.user_id, "main")

    # KT1's head gives it to their specialist, who handles it and drafts the reply
    routing.reassign_incoming(head_kt1, "N-1", spec_kt1.user_id, "main", "Đồng chí Tổ Viên xử lý")
    assert ids(routing.list_incoming(spec_kt1)) == ["N-1"]
    draft = routing.create_draft(spec_kt1, "Trả lời về dự án đầu tư", pdf(blobs, "n1"), answers=["N-1"])
    assert routing.get_incoming(people.head_kt, "N-1")["reply_draft_id"] == draft["draft_id"]

    # the parent head still has it in their box, and their progress rolls KT1's items up into KT's row
    assert ids(routing.list_incoming(people.head_kt)) == ["N-1"]
    rows = {r["unit"]: r for r in routing.unit_progress(people.head_kt)}
    assert set(rows) == {"KT", "KT1"} and rows["KT1"]["parent"] == "KT" and rows["KT1"]["depth"] == 2
    assert ids(rows["KT"]["open_items"]) == ["N-1"] and rows["KT"]["total"] == 1
    assert rows["KT1"]["open_items"][0]["handler"] == spec_kt1.user_id
    # the home page's read: the same counts, without the items listed one by one
    counted = {r["unit"]: r for r in routing.unit_progress(people.head_kt, open_items=False, overdue_limit=0)}
    figures = ("total", "in_progress", "done", "due_soon", "overdue")
    assert {u: [r[f] for f in figures] for u, r in counted.items()} == {u: [r[f] for f in figures]
                                                                        for u, r in rows.items()}
    assert all(r["open_items"] == [] == r["due_soon_items"] == r["overdue_items"] for r in counted.values())
    assert {r["unit"] for r in routing.unit_progress(people.head_kt, "KT1")} == {"KT1"}
    assert [r["unit"] for r in routing.unit_progress(head_kt1)] == ["KT1"]
    with pytest.raises(Forbidden):  # a sub-unit's head does not see the parent's progress
        routing.unit_progress(head_kt1, "KT")
    assert {r["unit"] for r in routing.unit_progress(people.leader)} >= {"KT", "KT1"}

    # the parent head oversees it: chases, and takes it back from the sub-unit to their own unit
    assert routing.oversight_options(people.head_kt, "N-1")["take_back"]
    assert not routing.oversight_options(people.head_th, "N-1")["chase"]
    routing.chase(people.head_kt, "N-1", "Đề nghị Tổ Đầu tư báo cáo", "op-n1")
    back = routing.take_back(people.head_kt, "N-1", "Phòng trực tiếp xử lý", "op-n2")
    active = {(a["unit"], a["user_id"]) for a in back["assignments"] if a["active"] and a["kind"] == "main"}
    assert active == {("KT", None)}
    assert ids(routing.list_incoming(spec_kt1)) == [] and ids(routing.list_incoming(head_kt1)) == []


def test_a_parent_head_gives_to_a_sub_units_person_directly_and_a_task_too(nested, people):
    routing = nested
    directed_to_kt(routing, people, "N-2")
    routing.reassign_incoming(people.head_kt, "N-2", spec_kt1.user_id, "coordinator", "Phối hợp")
    assert ids(routing.list_incoming(spec_kt1)) == ["N-2"]
    task = routing.create_task(people.head_kt, "Tổng hợp số liệu đầu tư", spec_kt1.user_id)
    assert routing.get_task(people.head_kt, task["task_id"])["assignee"] == spec_kt1.user_id
    with pytest.raises(Forbidden):  # upwards: the sub-unit's head gives no work to the parent's staff
        routing.create_task(head_kt1, "Việc ngược", people.spec_kt.user_id)


def test_a_head_named_in_person_hands_the_main_handling_down_but_a_coordinator_does_not(nested, people):
    routing = nested
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("N-3"))
    routing.submit_incoming(people.clerk, "N-3", people.leader.user_id)
    routing.direct_incoming(people.leader, "N-3", "Đồng chí Trưởng phòng chủ trì",
                            main={"user_id": people.head_kt.user_id}, coordinators=[{"user_id": head_kt1.user_id}])
    with pytest.raises(Forbidden):  # a coordinator's part is not theirs to give away
        routing.reassign_incoming(head_kt1, "N-3", spec_kt1.user_id, "main")
    view = routing.reassign_incoming(people.head_kt, "N-3", None, "main", unit="KT1")
    mains = {(a["user_id"], a["unit"]) for a in view["assignments"] if a["active"] and a["kind"] == "main"}
    assert mains == {(None, "KT1")}
    assert ids(routing.list_incoming(people.head_kt)) == ["N-3"]  # still in the box of the unit above
    routing.reassign_incoming(head_kt1, "N-3", spec_kt1.user_id, "main")
    assert ids(routing.list_incoming(spec_kt1)) == ["N-3"]


def test_routing_refuses_a_cycle_or_an_unknown_parent_sent_by_the_directory(nested, people):
    routing = nested
    with pytest.raises(ValidationFailed) as cycle:
        routing.sync_units(people.admin, [{"code": "KT", "name": "Phòng Kinh tế", "parent": "KT1"}])
    assert cycle.value.code == "unit_cycle"
    with pytest.raises(ValidationFailed):
        routing.sync_units(people.admin, [{"code": "TH", "name": "Phòng Tổng hợp", "parent": "KHONGCO"}])
    # a batch that swaps two units past each other is checked once written, as a whole
    routing.sync_units(people.admin, [{"code": "KT", "name": "Phòng Kinh tế", "parent": "KT1"},
                                      {"code": "KT1", "name": "Tổ Đầu tư", "parent": None}])
    rows = {r["unit"]: r for r in routing.unit_progress(people.leader)}
    assert rows == {}  # nothing assigned yet; the call works on the moved tree


def test_routing_s_older_unit_names_gain_the_parent_column_and_keep_their_rows(routing, database, people):
    routing.sync_units(people.admin, [{"code": "KT", "name": "Phòng Kinh tế", "abbreviation": "KTĐ"}])
    assert restart_without(database, "unit_name", "parent")  # routing's copy as it was before this release
    routing.sync_units(people.admin, [{"code": "KT1", "name": "Tổ Đầu tư", "parent": "KT"}])
    with database.session() as session:  # the kept row reads as before; the new one sits under it
        assert routing._unit_abbreviation(session, "KT") == "KTĐ"
        assert routing._unit_tree(session).parent("KT1") == "KT"


def test_a_parent_heads_report_counts_the_sub_units_items(nested, database, people):
    """Routing's report facts carry the tree; the reporting service's summary for KT's head rolls KT1 up."""
    from datetime import datetime

    from services.common.clock import VN_TZ
    from services.reporting.domain import incoming_summary
    from services.routing.report_queries import handling_facts

    directed_to_kt(nested, people, "N-4")
    nested.reassign_incoming(people.head_kt, "N-4", None, "main", unit="KT1")
    nested.reassign_incoming(head_kt1, "N-4", spec_kt1.user_id, "main")
    facts = handling_facts(database, people.head_kt)
    assert facts["units"] == {"KT": None, "KT1": "KT"}
    now = datetime(2026, 3, 3, 9, 0, tzinfo=VN_TZ)
    assert incoming_summary(facts, now, unit="KT")["totals"]["received"] == 1
    assert incoming_summary(facts, now, unit="KT1")["totals"]["received"] == 1
    assert incoming_summary(facts, now, unit="TH")["totals"]["received"] == 0
