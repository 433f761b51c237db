"""A registration entered after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2): its real time, not before the arrival."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.clock import to_vn
from services.common.errors import ValidationFailed
from services.registry import operations as ops
from tests.registry.conftest import package
from tests.registry.test_flows import events


def test_late_registration_is_not_before_the_arrival_and_the_routing_event_carries_its_real_time(
        db, edge, clerk, registers):
    arrived = datetime.now(UTC) - timedelta(hours=3)
    doc = ops.receive_package(db, edge, package(31, received_at=arrived.isoformat()))["incoming_id"]
    with pytest.raises(ValidationFailed) as before:
        ops.accept_incoming(db, clerk, doc, registers["incoming"], (arrived - timedelta(minutes=5)).isoformat())
    assert before.value.code == "before_arrival" and "trước lúc văn bản đến" in before.value.message_vi
    real = arrived + timedelta(hours=1)
    got = ops.accept_incoming(db, clerk, doc, registers["incoming"], real.isoformat())
    assert got["late_entry"] and datetime.fromisoformat(got["happened_at"]) == real
    [event] = events(db, "incoming_registered")
    assert datetime.fromisoformat(event["registered_at"]) == real
    [entry] = [h for h in ops.get_document(db, clerk, doc)["history"] if h["action"] == "registered"]
    assert entry["late_entry"] and entry["username"] == clerk.username
    assert datetime.fromisoformat(entry["at"]) > datetime.fromisoformat(entry["happened_at"])


def test_a_time_typed_without_a_zone_is_vietnam_time(db, edge, clerk, registers):
    arrived = datetime.now(UTC) - timedelta(hours=3)
    doc = ops.receive_package(db, edge, package(32, received_at=arrived.isoformat()))["incoming_id"]
    real = to_vn(arrived + timedelta(hours=1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    ops.accept_incoming(db, clerk, doc, registers["incoming"], real.replace(tzinfo=None).isoformat())  # as typed
    stored = ops.get_document(db, clerk, doc)
    assert datetime.fromisoformat(stored["happened_at"]) == real
    [entry] = [h for h in stored["history"] if h["action"] == "registered"]
    assert datetime.fromisoformat(entry["happened_at"]) == real
