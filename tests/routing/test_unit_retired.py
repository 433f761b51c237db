"""A unit retired (ngừng hoạt động: merged into another or dissolved) in routing's copy of the units: refused while a
document given to it is still being handled (its head sees it in the unit's list, the leader follows it under the
unit's name), then given no new document until it works again; its name stays."""

import pytest

from services.common.actor import system_actor
from services.common.errors import Conflict, ValidationFailed
from services.routing.models import UnitName
from tests.routing.conftest import AGENCY, registered_event

KT = {"code": "KT", "name": "Phòng Kinh tế", "parent": None}


def test_a_unit_holding_a_document_is_not_retired_and_a_retired_unit_gets_no_new_one(routing, people, database):
    routing.sync_units(people.admin, [KT])
    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("in-open"))
    routing.submit_incoming(people.clerk, "in-open", people.leader.user_id)
    routing.direct_incoming(people.leader, "in-open", "Phòng Kinh tế chủ trì", main={"unit": "KT"})

    with pytest.raises(Conflict) as held:
        routing.sync_units(people.admin, [{**KT, "active": False}])
    assert held.value.code == "unit_has_open_work" and held.value.details["open_items"] == 1
    assert "Phòng Kinh tế" in held.value.message_vi and "giao các văn bản này" in held.value.message_vi

    # the head hands it to his specialist, who closes it: the unit holds nothing open any more
    routing.reassign_incoming(people.head_kt, "in-open", people.spec_kt.user_id)
    routing.keep_for_reference(people.spec_kt, "in-open", "Lưu hồ sơ")
    assert routing.sync_units(people.admin, [{**KT, "active": False}]) == 1
    assert routing.sync_units(people.admin, [{**KT, "active": False}]) == 1  # again: nothing more to check

    routing.on_incoming_registered(system_actor(AGENCY, "test"), registered_event("in-new"))
    routing.submit_incoming(people.clerk, "in-new", people.leader.user_id)
    with pytest.raises(ValidationFailed) as refused:  # its head still has an account: the flag alone refuses it
        routing.direct_incoming(people.leader, "in-new", "Phòng Kinh tế chủ trì", main={"unit": "KT"})
    assert refused.value.code == "unit_retired" and "Phòng Kinh tế đã ngừng hoạt động" in refused.value.message_vi
    with database.session() as s:
        assert s.get(UnitName, "KT").name == "Phòng Kinh tế"  # registers and reports still name it

    routing.sync_units(people.admin, [{**KT, "active": True}])
    done = routing.direct_incoming(people.leader, "in-new", "Phòng Kinh tế chủ trì", main={"unit": "KT"})
    assert any(a.get("unit") == "KT" for a in done["assignments"])
