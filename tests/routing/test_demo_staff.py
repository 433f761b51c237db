"""The demo seeding gives routing the demo's staff (units, heads, leaders), so a fresh deployment can route a
registered document at once: the leader directs it to the department head."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from services.common import clock
from services.common.actor import Actor, system_actor
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.signing import sample
from services.storage.blobs import blob_store
from tests.e2e.helpers import vietnamese_pdf, wait_for

AGENCY = "000.00.00.H60"


@pytest.fixture
def h60(deployment):
    client = ServiceClient(deployment.agencies()[AGENCY]["amqp_uri"], size=1, timeout=60)
    try:
        yield client
    finally:
        client.close()


def actor_of(entry: dict) -> Actor:
    return Actor(user_id=entry["user_id"], username=entry["username"], agency_id=AGENCY,
                 roles=frozenset(entry["roles"]), full_name=entry["full_name"], unit=entry["unit"])


def by_role(staff: list[dict], role: str) -> dict:
    found = [s for s in staff if role in s["roles"]]
    assert found, f"no {role} in routing's staff directory: {staff}"
    return found[0]


def test_seeded_staff_lets_the_leader_direct_to_the_department_head(deployment, h60):
    staff = h60.call("routing", "list_staff", system_actor(AGENCY, "test"))
    leader, head, clerk = (by_role(staff, r) for r in ("leader", "department_head", "clerk"))
    assert (leader["full_name"], leader["position"]) == ("Nguyễn Văn An", "Chủ tịch")
    assert (head["full_name"], head["unit"], head["position"]) == ("Phạm Minh Tuấn", "THTQ",
                                                                   "Trưởng phòng Tổng hợp")
    assert clerk["full_name"] == "Lê Thị Hoa"
    assert {s["username"] for s in staff} >= {"annv.vptq", "tuanpm.thtq", "hoalt.vptq"}

    store = blob_store(CommonSettings(data_dir=deployment.data_dir, s3_endpoint=None, agency_id=AGENCY), AGENCY)
    scan = store.put_bytes(vietnamese_pdf("SỞ TÀI CHÍNH", "Về việc rà soát định mức chi năm 2027")).sha256
    number = str(secrets.randbelow(9000) + 1000)
    registered = h60.call("registry", "register_paper_incoming", actor_of(clerk), {
        "code_number": number, "code_notation": "STC-NS", "subject": "Về việc rà soát định mức chi năm 2027",
        "organ_name": "Sở Tài chính tỉnh Tuyên Quang", "issued_date": "2026-11-18"}, [scan])
    incoming_id = registered["id"]

    def waiting_to_submit():
        boxes = h60.call("routing", "list_incoming", actor_of(clerk), "to_submit")
        return any(h["incoming_id"] == incoming_id for h in boxes)

    wait_for(waiting_to_submit, 60, "routing's handling record of the registered document")
    h60.call("routing", "submit_incoming", actor_of(clerk), incoming_id, leader["user_id"], "Kính trình Chủ tịch")
    due = clock.today_vn() + timedelta(days=20)  # a day already past is refused (routing.domain.set_deadline)
    view = h60.call("routing", "direct_incoming", actor_of(leader), incoming_id,
                    f"Giao phòng Tổng hợp chủ trì rà soát, báo cáo trước ngày {due:%d/%m}.",
                    {"user_id": head["user_id"]}, None, None, due.isoformat())
    assert view["status"] == "assigned" and view["directed_by"] == leader["user_id"]
    assert view["external"] is False  # a paper arrival: the registry says so, no status goes back
    assert any(h["incoming_id"] == incoming_id for h in h60.call("routing", "list_incoming", actor_of(head), "mine"))


def test_seeded_leader_and_department_head_sign_with_their_own_certificates(deployment, h60):
    """The seeding binds the demo PKI's personal certificates to the accounts of the same name."""
    staff = h60.call("routing", "list_staff", system_actor(AGENCY, "test"))
    store = blob_store(CommonSettings(data_dir=deployment.data_dir, s3_endpoint=None, agency_id=AGENCY), AGENCY)
    for entry, on_behalf_of in ((by_role(staff, "leader"), None),
                                (by_role(staff, "department_head"),
                                 {"user_id": by_role(staff, "leader")["user_id"], "full_name": "Nguyễn Văn An",
                                  "position": "Chủ tịch"})):
        draft = store.put_bytes(sample.draft_pdf()).sha256
        prepared = h60.call("signing", "prepare_draft", actor_of(entry), draft)["sha256"]
        signed = h60.call("signing", "sign_leader", actor_of(entry), prepared, entry["user_id"], "Đồng ý",
                          on_behalf_of)["sha256"]
        report = h60.call("signing", "verify", actor_of(entry), signed)
        [personal] = report["signatures"]
        assert personal["signer"] == entry["full_name"] and personal["trusted"] and personal["intact"]
