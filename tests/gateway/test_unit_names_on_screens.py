"""Screens name a unit as the administrator declared it ("Phòng Tổng hợp"), not by its code ("th"), as the printed
registers and reports do (tests/gateway/test_register_lists.py); a code nobody declared is still shown as a code.
Through a real installation process: the handling page's pickers, assignments and timeline, "Theo dõi tiến độ các
đơn vị", a draft's page and the administrator's list of users."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

import gateway.web
from gateway.app import create_app
from gateway.people import save_unit
from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests.e2e.helpers import vietnamese_pdf
from tests.gateway.conftest import csrf_of, login
from tests.gateway.test_home_reads import AGENCY, agency_with, viewer
from tests.gateway.test_register_lists import main_text, submitted

# people carry their unit's code as the demo's do (THDN), the administrator declares it in lower case (thdn)
STAFF = {"anld.vp": (["leader"], None), "hangpt.th": (["department_head"], "TH"), "phuchv.th": (["specialist"], "TH"),
         "hoalt.vp": (["clerk"], "VP"), "khoadv.vp": (["admin"], "VP"), "binhlv.tdt": (["department_head"], "TDT"),
         "tuanpv.kt": (["department_head"], "KT")}  # KT: a unit people carry that nobody declared


@pytest.fixture
def installation(fresh_vhost, tmp_path):
    with agency_with(fresh_vhost, tmp_path, STAFF) as made:
        yield made


def signed_in(app, username: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, username).status_code == 303
    return client


def options(html: str, select: str) -> list[str]:
    """The labels of a <select>'s options, in order (the empty choice left out)."""
    body = re.search(rf'<select name="{select}".*?</select>', html, re.S).group(0)
    return [o for o in re.findall(r"<option[^>]*>([^<]*)</option>", body) if o and not o.startswith("—")]


def test_screens_show_the_declared_name_of_a_unit(installation):
    g, tmp_path = installation
    for username in STAFF:  # a first page puts each person in routing's staff directory
        gateway.web.home_panels(g, viewer(g, username))
    admin, clerk, leader, specialist = (viewer(g, u) for u in ("khoadv.vp", "hoalt.vp", "anld.vp", "phuchv.th"))
    assert save_unit(g, admin, "th", "Phòng Tổng hợp")[1] is None
    assert save_unit(g, admin, "tdt", "Tổ Đầu tư công", parent_code="th")[1] is None
    doc = submitted(g, tmp_path, "78", "Về việc rà soát dự án", clerk, leader)
    app = create_app(g.settings)
    leader_web, head_web = signed_in(app, "anld.vp"), signed_in(app, "hangpt.th")

    # the leader's "Xử lý chính" / "Phối hợp" / "Để biết": names, a sub-unit with the name of the unit it sits in
    page = leader_web.get(f"/xu-ly/{doc['id']}").text
    units = ["Phòng Tổng hợp", "Tổ Đầu tư công (thuộc Phòng Tổng hợp)", "Đơn vị KT"]
    for select in ("main", "coordinators", "readers"):
        assert options(page, select)[:3] == units, options(page, select)
    g.backends.call(leader.actor, "routing", "direct_incoming", doc["id"], "Giao Phòng Tổng hợp", {"unit": "TH"})
    page = main_text(leader_web.get(f"/xu-ly/{doc['id']}").text)
    assert "Xử lý chính Phòng Tổng hợp" in page and "Đơn vị TH" not in page

    # the head hands it to the sub-unit, picked and then shown by its name
    page = head_web.get(f"/xu-ly/{doc['id']}").text
    assert options(page, "user_id")[0] == "Tổ Đầu tư công (thuộc Phòng Tổng hợp)", options(page, "user_id")
    handed = head_web.post(f"/xu-ly/{doc['id']}/giao-lai", data={"csrf_token": csrf_of(page),
                                                                  "user_id": "unit:TDT", "kind": "main"},
                           follow_redirects=False)
    assert handed.status_code == 303, main_text(handed.text)
    assert "cho đơn vị Tổ Đầu tư công" in main_text(head_web.get(f"/xu-ly/{doc['id']}").text)

    # "Theo dõi tiến độ các đơn vị": the rows, the sub-unit's parent and the page of one unit
    progress = main_text(leader_web.get("/tien-do").text)
    assert "Phòng Tổng hợp 1" in progress and "Tổ Đầu tư công (thuộc Phòng Tổng hợp, đã cộng" in progress
    assert not re.search(r"\b(TH|TDT)\b", progress), progress
    one = main_text(leader_web.get("/tien-do?don-vi=TH").text)
    assert "Tiến độ xử lý văn bản đến — Phòng Tổng hợp" in one
    assert "Phòng Tổng hợp: văn bản đang xử lý" in one

    # a draft's page: the drafter with the name of the unit
    pdf = blob_store(CommonSettings(data_dir=tmp_path), AGENCY).put_bytes(
        vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", "Dự thảo báo cáo rà soát")).sha256
    draft = g.backends.call(specialist.actor, "routing", "create_draft", "Dự thảo báo cáo rà soát", pdf)
    shown = main_text(signed_in(app, "phuchv.th").get(f"/du-thao/{draft['draft_id']}").text)
    assert "Người soạn Cán bộ phuchv.th (Phòng Tổng hợp)" in shown, shown

    # the administrator's list of users: the unit column
    users = main_text(signed_in(app, "khoadv.vp").get("/quan-tri/nguoi-dung").text)
    assert "Cán bộ phuchv.th Phòng Tổng hợp" in users and "Cán bộ binhlv.tdt Tổ Đầu tư công" in users
    assert "Cán bộ tuanpv.kt KT" in users  # undeclared: its code
