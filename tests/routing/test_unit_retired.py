"""A unit retired (ngừng hoạt động: merged into another or dissolved) in routing's copy of the units: refused while it
still handles a document, main or coordinating (its head sees it in the unit's list, the leader follows it under the
unit's name), until the leader gives it to another unit or it is finished; then given no new document until it works
again; its name stays."""

import pytest

from services.common.actor import system_actor
from services.common.errors import Conflict, ValidationFailed
from services.routing.models import UnitName
from tests.routing.conftest import AGENCY, registered_event

KT = {"code": "KT", "name": "Phòng Kinh tế", "parent": None}


def directed(routing, people, incoming_id: str, **targets) -> None:
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event(incoming_id, subject=incoming_id))
    routing.submit_incoming(people.clerk, incoming_id, people.leader.user_id)
    routing.direct_incoming(people.leader, incoming_id, "Giao xử lý", **targets)


def test_a_unit_handling_a_document_is_not_retired_and_a_retired_unit_gets_no_new_one(routing, people, database):
    routing.sync_units(people.admin, [KT])
    directed(routing, people, "Về kế hoạch đầu tư công", main={"unit": "KT"})
    directed(routing, people, "Về phối hợp kiểm tra", main={"unit": "TH"}, coordinators=[{"unit": "KT"}])
    directed(routing, people, "Về lịch họp giao ban", main={"unit": "TH"}, readers=[{"unit": "KT"}])

    with pytest.raises(Conflict) as held:
        routing.sync_units(people.admin, [{**KT, "active": False}])
    # handling it, main or coordinating, holds it back; only to know of it (để biết) does not
    assert held.value.code == "unit_has_open_work" and held.value.details["open_items"] == 2
    assert "“Về kế hoạch đầu tư công”; “Về phối hợp kiểm tra”" in held.value.message_vi
    assert "Phòng Kinh tế" in held.value.message_vi and "Giao lại" in held.value.message_vi

    # the leader gives the first to Tổng hợp (Giao lại); the second is finished
    routing.reassign_handlers(people.leader, "Về kế hoạch đầu tư công", "op-1", main={"unit": "TH"})
    with pytest.raises(Conflict) as still:
        routing.sync_units(people.admin, [{**KT, "active": False}])
    assert still.value.details["open_items"] == 1
    routing.keep_for_reference(people.head_th, "Về phối hợp kiểm tra", "Lưu hồ sơ")
    assert routing.sync_units(people.admin, [{**KT, "active": False}]) == 1
    assert routing.sync_units(people.admin, [{**KT, "active": False}]) == 1  # again: nothing more to check

    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("in-new"))
    routing.submit_incoming(people.clerk, "in-new", people.leader.user_id)
    for targets in ({"main": {"unit": "KT"}}, {"main": {"unit": "TH"}, "readers": [{"unit": "KT"}]}):
        with pytest.raises(ValidationFailed) as refused:  # its head still has an account: the flag alone refuses
            routing.direct_incoming(people.leader, "in-new", "Giao xử lý", **targets)
        assert refused.value.code == "unit_retired"
        assert "Phòng Kinh tế đã ngừng hoạt động" in refused.value.message_vi
    with database.session() as s:
        assert s.get(UnitName, "KT").name == "Phòng Kinh tế"  # registers and reports still name it

    routing.sync_units(people.admin, [{**KT, "active": True}])
    done = routing.direct_incoming(people.leader, "in-new", "Phòng Kinh tế chủ trì", main={"unit": "KT"})
    assert any(a.get("unit") == "KT" for a in done["assignments"])
