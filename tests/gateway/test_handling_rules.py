"""Pure rules of the handling screens: which forms each person is offered (routing decides again on every post),
how a picker value becomes routing's target, and where links point."""

from __future__ import annotations

import pytest

from gateway.app import Viewer
from gateway.handling import abilities, link_href, parse_target
from gateway.models import User
from services.common.errors import ValidationFailed


def person(user_id: str, roles: list[str], unit: str) -> Viewer:
    return Viewer(User(id=user_id, username=user_id, full_name=user_id, agency_id="000.00.00.H17", unit=unit,
                       roles=roles, must_change_password=False), None)


class NoDelegations:
    """Stands in for the gateway's backends in these pure-logic tests: nobody holds a delegation."""

    class backends:  # mirrors Gateway.backends
        @staticmethod
        def call(actor, service, method, *args, **kwargs):
            assert (service, method) == ("routing", "list_delegations")
            return []


def can(v: Viewer, h: dict) -> dict[str, bool]:
    return abilities(NoDelegations, v, h)  # type: ignore[arg-type]


def handling(status: str, *assignments: dict, submitted_to: str | None = None) -> dict:
    return {"status": status, "submitted_to": submitted_to,
            "assignments": [{"active": True, "user_id": None, "unit": None, "read_at": None, **a}
                            for a in assignments]}


LEADER = person("leader", ["leader"], "VPDN")
CLERK = person("clerk", ["clerk"], "VPDN")
HEAD = person("head", ["department_head"], "THDN")
OTHER_HEAD = person("head2", ["department_head"], "KTDN")
SPECIALIST = person("spec", ["specialist"], "THDN")


def test_picker_values_become_routing_targets():
    assert parse_target("user:abc") == {"user_id": "abc"}
    assert parse_target("unit:THDN") == {"unit": "THDN"}
    for bad in ("", "user:", "group:x", "abc"):
        with pytest.raises(ValidationFailed):
            parse_target(bad)


def test_before_the_directive_the_clerk_submits_and_the_leader_directs():
    submitted = handling("submitted", submitted_to="leader")
    assert can( CLERK, submitted)["submit"] and not can( CLERK, submitted)["direct"]
    assert can( LEADER, submitted)["direct"] and not can( LEADER, submitted)["submit"]
    assert not any(can( SPECIALIST, handling("received")).values())
    # The agency's distributor is offered the directive form for what was submitted to them.
    assert can( SPECIALIST, handling("submitted", submitted_to="spec"))["direct"]


def test_a_unit_assignment_offers_reassignment_only_to_that_units_head():
    assigned = handling("assigned", {"kind": "main", "unit": "THDN"})
    assert can( HEAD, assigned)["reassign"] and can( HEAD, assigned)["main"]
    assert not can( OTHER_HEAD, assigned)["reassign"]
    assert not can( SPECIALIST, assigned)["main"]


def test_with_nested_units_a_head_reassigns_what_went_to_a_unit_below_never_above():
    from services.routing.domain import UnitTree

    tree = UnitTree.of([("THDN", None), ("TDT", "THDN"), ("KTDN", None)])
    sub_head = person("head3", ["department_head"], "TDT")
    to_sub = handling("assigned", {"kind": "main", "unit": "TDT"})
    assert abilities(NoDelegations, HEAD, to_sub, tree)["reassign"]  # type: ignore[arg-type]
    assert abilities(NoDelegations, sub_head, to_sub, tree)["reassign"]  # type: ignore[arg-type]
    assert not can(HEAD, to_sub)["reassign"]  # without the tree: its own unit only
    to_parent = handling("assigned", {"kind": "main", "unit": "THDN"})
    assert not abilities(NoDelegations, sub_head, to_parent, tree)["reassign"]  # type: ignore[arg-type]
    assert not abilities(NoDelegations, OTHER_HEAD, to_sub, tree)["reassign"]  # type: ignore[arg-type]
    named = handling("assigned", {"kind": "main", "user_id": "head3"})
    assert abilities(NoDelegations, sub_head, named, tree)["reassign"]  # type: ignore[arg-type]


def test_main_handler_coordinator_and_reader_each_get_their_own_forms():
    h = handling("in_progress", {"kind": "main", "user_id": "spec"}, {"kind": "coordinator", "user_id": "head"},
                 {"kind": "info", "user_id": "clerk"})
    spec, head, clerk = can( SPECIALIST, h), can( HEAD, h), can( CLERK, h)
    assert spec["main"] and not spec["opinion"] and not spec["waiting"]
    assert head["opinion"] and not head["main"] and not head["reassign"]
    assert clerk["read"] and not clerk["main"]
    assert can( SPECIALIST, {**h, "status": "waiting"})["waiting"]


def test_a_finished_or_forwarded_handling_offers_no_action():
    done = handling("done", {"kind": "main", "user_id": "spec"})
    assert not can( SPECIALIST, done)["main"]
    forwarded = handling("in_progress", {"kind": "main", "user_id": "spec", "active": False},
                         {"kind": "main", "user_id": "head"})
    assert not can( SPECIALIST, forwarded)["main"] and can( HEAD, forwarded)["main"]


def test_links_point_to_each_areas_pages():
    assert link_href("outgoing", "a/b") == "/van-ban/a%2Fb"
    assert link_href("draft", "7") == "/du-thao/7"
    assert link_href("dossier", "3") == "/ho-so/3"
    assert link_href("task", 5) == "/cong-viec/5"
    assert link_href("unknown", "x") == "#"
