"""Contract tests of an outgoing document issued to the agency's own units ("Gửi nội bộ"): the real producer into the
real consumer.

    registry ──outgoing_issued (internal_units)──► routing.on_outgoing_issued    (the unit's people told, its list)
    registry ──outgoing_changed──────────────────► routing.on_outgoing_changed   (recalled, taken back, updated)

Same harness as test_event_contracts.py: every payload goes through JSON and a key the consumer reads that the
producer never wrote fails the test. Each event is delivered twice, as a broker may: nobody is told twice.
"""

from __future__ import annotations

import pytest

from services.common.actor import Role, system_actor
from services.common.errors import Forbidden
from services.registry import operations as ops
from services.registry.domain import Direction, State
from services.registry.models import outbox as registry_outbox
from services.routing.models import outbox as routing_outbox
from tests.contracts.recorder import Wire
from tests.contracts.test_event_contracts import (
    ADMIN_60,
    CLERK_17,
    CLERK_60,
    H60,
    HEAD,
    SPECIALIST,
    Agency,
    person,
    signed_draft,
)
from tests.contracts.test_event_contracts import agencies as agencies
from tests.contracts.test_recall_contracts import DA_NANG, last, relay

KT_MEMBER = person("u-kt", H60, Role.SPECIALIST, unit="KT", name="Vũ Văn Kế")
TH = {"organ_id": "unit:th", "organ_name": "Phòng Tổng hợp", "channel": "internal"}
COMPANY = {"organ_id": "giay-01", "organ_name": "Công ty TNHH Minh Phát", "channel": "paper"}


def issued_to_th(tq: Agency, recipients: list[dict] | None = None) -> dict:
    """A draft of the Tổng hợp department signed and issued by the clerk to the department itself (and `recipients`),
    with the registry's `outgoing_issued` delivered to routing twice."""
    tq.routing.sync_staff(ADMIN_60, [{"user_id": KT_MEMBER.user_id, "username": KT_MEMBER.username,
                                      "full_name": KT_MEMBER.full_name, "unit": "KT", "roles": ["specialist"]}])
    tq.routing.sync_units(ADMIN_60, [{"code": "TH", "name": "Phòng Tổng hợp"}])
    signed_draft(tq)
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    waiting = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), Wire(event).payload)
    issued = ops.issue_outgoing(tq.registry, CLERK_60, waiting["id"], tq.registers[Direction.OUTGOING],
                                [TH, *(recipients or [])], tq.fill_and_seal)
    [done] = tq.outbox(tq.registry, registry_outbox, "outgoing_issued")
    assert done["internal_units"] == ["th"] and done["subject"] == issued["subject"]
    for _ in range(2):   # at-least-once delivery
        wire = Wire(done)
        tq.routing.on_outgoing_issued(system_actor(H60, "registry"), wire.payload)
        assert wire.unknown_reads() == set()
    return issued


def told(tq: Agency, actor, outgoing_id: str) -> list[str]:
    return [n["title"] for n in tq.routing.list_notifications(actor) if n["ref_kind"] == "outgoing"
            and n["ref_id"] == outgoing_id]


def deliver_changes(tq: Agency) -> list[dict]:
    """Every `outgoing_changed` of the registry so far, each delivered twice."""
    events = tq.outbox(tq.registry, registry_outbox, "outgoing_changed")
    for event in events:
        for _ in range(2):
            wire = Wire(event)
            tq.routing.on_outgoing_changed(system_actor(H60, "registry"), wire.payload)
            assert wire.unknown_reads() == set()
    return events


def test_an_issue_to_a_unit_tells_its_people_once_and_lands_in_its_list(agencies):
    tq, _dn = agencies
    issued = issued_to_th(tq, [COMPANY])
    number = issued["number_and_notation"]
    title = f"Văn bản ban hành gửi đơn vị: số {number} — {issued['subject']}"
    assert told(tq, HEAD, issued["id"]) == [title]   # everyone of the unit, once though the event came twice
    # the drafter, of the unit too, is told of the issue once: by its draft's notice, not a second time as the unit
    assert told(tq, SPECIALIST, issued["id"]) == []
    assert [n["title"] for n in tq.routing.list_notifications(SPECIALIST) if n["kind"] == "issued"] == [
        f"Văn bản đã được ban hành: số {number} — Về việc rà soát hồ sơ công việc năm 2026"]
    assert told(tq, KT_MEMBER, issued["id"]) == [] and told(tq, CLERK_60, issued["id"]) == []
    listed = tq.routing.list_unit_documents(SPECIALIST)
    assert (listed["unit"], listed["unit_name"], listed["total"]) == ("TH", "Phòng Tổng hợp", 1)
    [row] = listed["items"]
    assert (row["outgoing_id"], row["number"], row["subject"], row["state_label"]) == (
        issued["id"], number, issued["subject"], "Đã ban hành")
    assert row["issued_at"].endswith("+07:00")   # Vietnam time
    assert tq.routing.list_unit_documents(KT_MEMBER)["items"] == []
    # the unit's people read the document issued to them: issued documents are open to the whole agency
    assert ops.get_document(tq.registry, SPECIALIST, issued["id"])["subject"] == issued["subject"]
    with pytest.raises(Forbidden):
        ops.get_document(tq.registry, CLERK_17, issued["id"])   # never another agency


def test_an_update_then_a_recall_reach_the_unit_once_each(agencies):
    tq, _dn = agencies
    issued = issued_to_th(tq)
    number = issued["number_and_notation"]
    ops.request_change(tq.registry, CLERK_60, issued["id"], "update", "Sửa trích yếu cho đúng",
                       {"subject": "Về việc rà soát hồ sơ công việc năm 2026 (sửa đổi)"})
    ops.request_change(tq.registry, CLERK_60, issued["id"], "recall", "Ban hành sai thẩm quyền")
    updated, recalled = deliver_changes(tq)
    assert (updated["kind"], recalled["kind"]) == ("update", "recall") and updated["step"] < recalled["step"]
    assert told(tq, HEAD, issued["id"]) == [   # newest first
        f"Văn bản số {number} đã bị thu hồi: Ban hành sai thẩm quyền",
        f"Văn bản số {number} đã được cập nhật: Về việc rà soát hồ sơ công việc năm 2026 (sửa đổi)",
        f"Văn bản ban hành gửi đơn vị: số {number} — {issued['subject']}"]
    [row] = tq.routing.list_unit_documents(SPECIALIST)["items"]
    assert (row["state"], row["state_label"], row["change_label"], row["change_reason"]) == (
        "recalled", "Đã thu hồi", "Đã thu hồi", "Ban hành sai thẩm quyền")
    assert row["subject"] == "Về việc rà soát hồ sơ công việc năm 2026 (sửa đổi)"

    # the update delivered again after the recall: an older step changes nothing and tells nobody
    assert tq.routing.on_outgoing_changed(system_actor(H60, "registry"), Wire(updated).payload) == 0
    assert tq.routing.list_unit_documents(SPECIALIST)["items"][0]["state"] == "recalled"
    assert len(told(tq, HEAD, issued["id"])) == 3
    assert len(told(tq, SPECIALIST, issued["id"])) == 2   # the drafter: the changes, not the issue a second time


def test_a_document_without_internal_recipients_tells_no_unit(agencies):
    tq, _dn = agencies
    signed_draft(tq)
    [event] = tq.outbox(tq.routing_db, routing_outbox, "draft_signed")
    waiting = ops.submit_for_issue(tq.registry, system_actor(H60, "routing"), Wire(event).payload)
    issued = ops.issue_outgoing(tq.registry, CLERK_60, waiting["id"], tq.registers[Direction.OUTGOING], [COMPANY],
                                tq.fill_and_seal)
    [done] = tq.outbox(tq.registry, registry_outbox, "outgoing_issued")
    assert done["internal_units"] == []
    tq.routing.on_outgoing_issued(system_actor(H60, "registry"), Wire(done).payload)
    ops.request_change(tq.registry, CLERK_60, issued["id"], "recall", "Ban hành nhầm")
    assert tq.outbox(tq.registry, registry_outbox, "outgoing_changed") == []
    assert tq.routing.list_unit_documents(SPECIALIST)["items"] == []


def test_a_recall_refused_over_the_interconnect_tells_the_unit_the_document_stands(agencies):
    """Sent to Đà Nẵng as well: the recall waits for its answer; Đà Nẵng refuses (16), the document is issued again,
    and the unit, told of the recall, is told it stands."""
    tq, dn = agencies
    issued = issued_to_th(tq, [DA_NANG])
    relay(tq, dn, last(tq, "outgoing_package"))
    [incoming] = ops.list_waiting_reception(dn.registry, CLERK_17)["items"]
    ops.accept_incoming(dn.registry, CLERK_17, incoming["id"], dn.registers[Direction.INCOMING])
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)  # 03

    ops.request_change(tq.registry, CLERK_60, issued["id"], "recall", "Ban hành sai thẩm quyền")
    relay(tq, dn, last(tq, "outgoing_package"))
    ops.decide_change(dn.registry, CLERK_17, incoming["id"], False, "Văn bản đã được phân công xử lý")
    relay(dn, tq, last(dn, "outgoing_status"), hubs=False)  # 16
    assert ops.get_document(tq.registry, CLERK_60, issued["id"])["state"] == State.ISSUED
    recalled, restored = deliver_changes(tq)
    assert (recalled["kind"], recalled["state"], restored["kind"], restored["state"]) == (
        "recall", "recalled", "restored", "issued")
    number = issued["number_and_notation"]
    assert told(tq, SPECIALIST, issued["id"])[:2] == [
        f"Văn bản số {number} vẫn có hiệu lực: Các nơi nhận không đồng ý",
        f"Văn bản số {number} đã bị thu hồi: Ban hành sai thẩm quyền"]
    [row] = tq.routing.list_unit_documents(HEAD)["items"]
    assert (row["state"], row["state_label"], row["change"]) == ("issued", "Đã ban hành", "restored")
