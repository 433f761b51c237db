""""Cán bộ chưa chuyển đúng hạn" (late forwarders) on a real timeline of the shared deployment.

UBND tỉnh Tuyên Quang (000.00.00.H60), with the demo's own accounts: the clerk registers two paper documents
(registry RPC, real scans in the agency's blob store); routing opens their handlings from the registry's event;
the clerk submits both to the leader, who directs them at once:
  A to the specialist Đỗ Thu Trang, who does nothing;
  B to the head of unit Phạm Minh Tuấn, who forwards it at once to Trang, who keeps it for reference at once.
Waiting 8 working hours is not possible in a test, so the two handlings' recorded times (registration, events,
assignments, deadline: every timestamp of those two handlings in routing's database, nothing else) are then moved
three weeks back together, as if it had all happened then: the gaps between the steps stay seconds, Trang's
holding of A now spans weeks of working time. The report (reporting RPC as the leader, figures from routing's RPC)
must name Trang for A, still holding, and nobody for B, where everyone passed the document on within seconds;
the leader's report screen (/bao-cao) shows the same in its "Cán bộ chưa chuyển đúng hạn" section.
"""

from __future__ import annotations

import html
import os
import re
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from infra.demo_seed import demo_directory
from services.common.actor import Actor
from services.common.clock import now_utc, vn_date
from services.common.db import make_engine
from services.common.errors import NotFound
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.routing.models import Assignment, Handling, HandlingEvent
from services.storage.blobs import blob_store
from services.storage.settings import StorageSettings
from tests.deployment import demo_password
from tests.e2e.helpers import signed_in, vietnamese_pdf, wait_for

H60 = "000.00.00.H60"
CLERK, LEADER, HEAD, SPECIALIST = "hoalt.vptq", "annv.vptq", "tuanpm.thtq", "trangdt.thtq"
SHIFT = timedelta(days=21)   # more working hours than any limit, even across Tết


def actors(deployment) -> dict[str, Actor]:
    return {p["username"]: Actor(user_id=p["user_id"], username=p["username"], agency_id=H60,
                                 roles=frozenset(p["roles"]), full_name=p["full_name"], unit=p["unit"])
            for p in demo_directory(H60, deployment.data_dir)[0]}


def register_paper(client: ServiceClient, deployment, clerk: Actor, subject: str) -> str:
    scan = vietnamese_pdf("SỞ TÀI CHÍNH TỈNH TUYÊN QUANG", subject)
    sha = blob_store(StorageSettings(data_dir=deployment.data_dir), H60).put_bytes(scan).sha256
    metadata = {"code_number": str(uuid.uuid4().int % 9000 + 1000), "code_notation": "STC-NS", "subject": subject,
                "type_code": "CV", "organ_name": "Sở Tài chính tỉnh Tuyên Quang",
                "issued_date": vn_date(now_utc()).isoformat()}
    doc = client.call("registry", "register_paper_incoming", clerk, metadata, [sha])

    def opened() -> bool:
        try:
            return bool(client.call("routing", "get_incoming", clerk, doc["id"]))
        except NotFound:
            return False

    wait_for(opened, 60, "routing to open the handling from the registry's event")
    return doc["id"]


def move_back(deployment, incoming_ids: list[str], by: timedelta) -> None:
    """Every recorded time of these handlings, `by` earlier (the clock cannot be changed in running processes)."""
    settings = CommonSettings(data_dir=deployment.data_dir, database_url=os.environ.get("DATABASE_URL"))
    engine = make_engine("routing", H60, settings)
    try:
        with Session(engine) as s, s.begin():
            handlings = list(s.scalars(select(Handling).where(Handling.incoming_id.in_(incoming_ids))))
            assert len(handlings) == len(incoming_ids)
            ids = [h.id for h in handlings]
            rows = [*handlings, *s.scalars(select(Assignment).where(Assignment.handling_id.in_(ids))),
                    *s.scalars(select(HandlingEvent).where(HandlingEvent.handling_id.in_(ids)))]
            for row in rows:
                for column in ("registered_at", "deadline", "started_at", "created_at", "updated_at", "done_at",
                               "read_at", "at"):
                    if getattr(row, column, None) is not None:
                        setattr(row, column, getattr(row, column) - by)
    finally:
        engine.dispose()


def test_late_forwarders_name_who_held_a_document_too_long_and_not_who_passed_it_on(deployment):
    people = actors(deployment)
    clerk, leader, head, specialist = (people[u] for u in (CLERK, LEADER, HEAD, SPECIALIST))
    stamp = uuid.uuid4().hex[:8]
    subjects = {"A": f"Về việc quyết toán ngân sách xã năm 2025 (mã {stamp})",
                "B": f"Về việc rà soát tài sản công (mã {stamp})"}
    client = ServiceClient(deployment.agencies()[H60]["amqp_uri"], size=1, timeout=60)
    try:
        a, b = (register_paper(client, deployment, clerk, subjects[k]) for k in ("A", "B"))
        in_a_week = (vn_date(now_utc()) + timedelta(days=7)).isoformat()
        for incoming, main in ((a, specialist), (b, head)):
            client.call("routing", "submit_incoming", clerk, incoming, leader.user_id)
            client.call("routing", "direct_incoming", leader, incoming, "Giao xử lý, báo cáo kết quả",
                        {"user_id": main.user_id}, None, None, in_a_week)
        client.call("routing", "forward_incoming", head, b, specialist.user_id, "Đồng chí Trang xử lý")
        client.call("routing", "keep_for_reference", specialist, b, "Lưu tham khảo")

        move_back(deployment, [a, b], SHIFT)

        today = vn_date(now_utc())
        period = ((today - SHIFT - timedelta(days=2)).isoformat(), today.isoformat())
        report = client.call("reporting", "report", leader, *period)
    finally:
        client.close()

    incoming = report["incoming"]
    limit = float(incoming["registration_limit_hours"])
    late = {p["user_id"]: p for p in incoming["late_forwarders"]}
    assert specialist.user_id in late, incoming["late_forwarders"]
    trang = late[specialist.user_id]
    assert trang["name"] == "Đỗ Thu Trang"
    [held] = [i for i in trang["items"] if i["incoming_id"] == a]
    assert held["subject"] == subjects["A"] and held["still_holding"] and held["working_hours"] > limit
    # A: the clerks' desk and the leader passed it on within seconds; B: everybody did (the head forwarded it,
    # Trang kept it for reference), so B is nobody's late item, and A is only Trang's.
    items = [(p["user_id"], i["incoming_id"]) for p in incoming["late_forwarders"] for i in p["items"]]
    assert [u for u, i in items if i == a] == [specialist.user_id]
    assert [u for u, i in items if i == b] == []
    assert not any(u == head.user_id for u, _ in items if _ in (a, b))
    # The same timeline makes A overdue (its deadline passed two weeks ago) with Trang as its handler; B is done.
    overdue = {o["incoming_id"]: o for o in incoming["overdue"]}
    assert overdue[a]["handler"] == specialist.user_id and overdue[a]["working_days_late"] >= 1
    assert b not in overdue

    # The leader's screen: the section lists Trang with A and does not mention B.
    screen = signed_in(f"http://127.0.0.1:{deployment.topology.gateway_port}", LEADER,
                       demo_password(deployment, LEADER))
    try:
        page = screen.get("/bao-cao", params={"tu": period[0], "den": period[1]})
    finally:
        screen.close()
    assert page.status_code == 200
    section = re.search(r"<h2>Cán bộ chưa chuyển đúng hạn</h2>(.*?)</section>", page.text, re.S)
    assert section, "no late-forwarders section on /bao-cao"
    shown = html.unescape(section.group(1))
    assert "Đỗ Thu Trang" in shown and subjects["A"] in shown and subjects["B"] not in shown
