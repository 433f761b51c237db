"""The province operator's home page (gateway/operator_home.py): every agency's open problem reports, the oldest due
first with the overdue ones flagged, and the agencies on the platform, latest joined first; and onboarding defaults
to the installation serving the operator's own agency, not to whichever installation's identifier sorts first. The
services are not running here (nobody answers at the address): these panels read only the gateway's tables."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.problem_models import ProblemReport
from gateway.problems import add_numbered
from gateway.settings import GatewaySettings
from services.common.clock import to_vn
from tests.gateway.conftest import PASSWORD, csrf_of, login

G22, H60, SNV, NEW = "000.00.00.G22", "000.00.00.H60", "000.00.09.H60", "000.00.12.H60"
NOWHERE = "amqp://u:p@127.0.0.1:9/x"


@pytest.fixture
def app(tmp_path):
    agencies = tmp_path / "agencies.json"
    # Two installations, as the demo's gateway fronts: Văn phòng Chính phủ's sorts before the province's.
    agencies.write_text(json.dumps({G22: {"name": "Văn phòng Chính phủ", "amqp_uri": NOWHERE},
                                    H60: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": NOWHERE},
                                    SNV: {"name": "Sở Nội vụ", "amqp_uri": NOWHERE, "installation": H60}}))
    app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=agencies, hub_directories="hub.H60",
                                     rpc_timeout=2))
    accounts = app.state.gateway.accounts
    # The operator's account sits in an agency hosted by the province's installation.
    accounts.create_user(username="thaolt.stttt", full_name="Lương Thị Thảo", agency_id=SNV,
                         roles=["province_operator"], password=PASSWORD, unit="STTTT", must_change_password=False)
    accounts.create_user(username="manhhd.vptq", full_name="Hoàng Đức Mạnh", agency_id=H60, roles=["admin"],
                         password=PASSWORD, unit="VPTQ", must_change_password=False)
    return app


def _report(app, agency: str, created: datetime, state: str = "open") -> int:
    report = ProblemReport(agency_id=agency, year=to_vn(created).year, reporter_id="u", reporter_name="Người báo",
                           role="clerk", occurred_at=created, function="incoming",
                           description="Không mở được văn bản", created_at=created, state=state)
    add_numbered(app.state.gateway.db, report)
    return report.id


def _panel(page: str, title: str) -> str:
    found = re.search(rf"<section class=\"card panel-\w+\">\s*<h2>{title} .*?</section>", page, re.S)
    assert found, f"no panel {title!r} on the page"
    return found.group(0)


def test_the_operators_home_lists_open_problem_reports_and_the_agencies(app):
    late = _report(app, SNV, datetime.now(UTC) - timedelta(days=20))
    fresh = _report(app, H60, datetime.now(UTC))
    handled = _report(app, H60, datetime.now(UTC) - timedelta(days=1), state="done")
    with TestClient(app, base_url="http://127.0.0.1") as operator:
        assert login(operator, "thaolt.stttt").status_code == 303
        page = operator.get("/").text
    problems = _panel(page, "Báo lỗi chờ xử lý")
    assert '<span class="badge">2</span>' in problems
    rows = re.findall(r'<tr data-problem="(\d+)">(.*?)</tr>', problems, re.S)
    assert [int(i) for i, _ in rows] == [late, fresh]          # the oldest due first; the handled one is not there
    assert "Quá hạn" in rows[0][1] and "Quá hạn" not in rows[1][1] and "Sở Nội vụ" in rows[0][1]
    assert str(handled) not in [i for i, _ in rows]
    agencies = _panel(page, "Cơ quan trên nền tảng")
    assert '<span class="badge">3</span>' in agencies
    assert all(f'data-organ="{organ}"' in agencies for organ in (G22, H60, SNV))
    assert f"{to_vn(datetime.now(UTC)):%d/%m/%Y}" in agencies    # the day they were recorded, in Vietnam time
    # The app badge counts what waits for the operator (the two open reports), not the agencies.
    assert 'data-waiting="2"' in page
    assert 'href="/van-hanh/bao-loi"' in page and 'href="/van-hanh/su-dung"' in page


def test_an_agency_administrator_sees_neither_panel(app):
    _report(app, H60, datetime.now(UTC))
    with TestClient(app, base_url="http://127.0.0.1") as admin:
        assert login(admin, "manhhd.vptq").status_code == 303
        page = admin.get("/").text
    assert "Báo lỗi chờ xử lý" not in page and "Cơ quan trên nền tảng" not in page
    assert 'href="/van-hanh/bao-loi"' not in page


def test_onboarding_defaults_to_the_installation_serving_the_operators_agency(app):
    with TestClient(app, base_url="http://127.0.0.1") as operator:
        assert login(operator, "thaolt.stttt").status_code == 303
        page = operator.get("/van-hanh/co-quan").text
        # The form preselects the province's installation and names each one.
        assert f'<option value="{H60}" selected>{H60} — UBND tỉnh Tuyên Quang</option>' in page
        assert f'<option value="{G22}" >{G22} — Văn phòng Chính phủ</option>' in page
        made = operator.post("/api/v1/agencies", json={"organ_id": NEW, "name": "Sở Xây dựng tỉnh Tuyên Quang"},
                             headers={"X-CSRF-Token": csrf_of(page)})
    assert made.status_code == 201, made.text
    assert made.json()["agency"]["installation"] == H60
