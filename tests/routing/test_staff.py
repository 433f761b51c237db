"""The staff directory read by the gateway's pickers."""

import dataclasses

import pytest

from services.common.errors import Forbidden
from tests.routing.conftest import person


def test_list_staff_gives_unit_position_roles_and_hides_inactive(routing, people):
    routing.sync_staff(people.admin, [{"user_id": people.spec_th.user_id, "active": False}])
    staff = routing.list_staff(people.spec_kt)
    ids = [s["user_id"] for s in staff]
    assert people.spec_th.user_id not in ids and people.leader.user_id in ids
    leader = next(s for s in staff if s["user_id"] == people.leader.user_id)
    assert (leader["full_name"], leader["position"], leader["roles"]) == ("Nguyễn Văn An", "Chủ tịch", ["leader"])
    kt = [s["user_id"] for s in staff if s["unit"] == "KT"]
    assert kt[0] == people.head_kt.user_id  # the unit's head first, for the "main handler" picker
    assert people.spec_th.user_id in [s["user_id"] for s in routing.list_staff(people.admin, include_inactive=True)]


def test_list_staff_refuses_another_agency(routing):
    outsider = dataclasses.replace(person("u-x", {"leader"}, None, "Người ngoài"), agency_id="000.00.00.G22")
    with pytest.raises(Forbidden):
        routing.list_staff(outsider)
