"""The home page asks each service once (`read_many`, gateway/reads.py), through a real installation process: the
gateway's batch (producer) into routing's and registry's entrypoints (consumers). Every role's page makes one call
per service it reads, and shows exactly what one call per list showed before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

import gateway.web
from gateway.app import Gateway, Viewer, create_app
from gateway.platform import AgencyForm
from gateway.web import home_panels
from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests.agency import INSTALLATION_SERVICES, embedded_installation, running_agency_process
from tests.e2e.helpers import vietnamese_pdf
from tests.gateway.conftest import login

AGENCY = "000.00.00.H60"
STAFF = {"anld.vp": (["leader"], None), "hangpt.th": (["department_head"], "th"),
         "phuchv.th": (["specialist"], "th"), "hoalt.vp": (["clerk"], "vp"),
         "binhnv.th": (["department_head", "specialist"], "th")}


@contextmanager
def agency_with(fresh_vhost: str, tmp_path, staff: dict[str, tuple[list[str], str | None]],
                services: str = INSTALLATION_SERVICES) -> Iterator[tuple[Gateway, Any]]:
    """A gateway and one installation process of `services` serving AGENCY, with `staff` (username: roles, unit)."""
    g, env = embedded_installation(tmp_path, fresh_vhost, organ_id=AGENCY)
    with running_agency_process(services, fresh_vhost, tmp_path / "installation.log", env, agency=AGENCY,
                                ready_timeout=180):
        g.platform.add(AgencyForm(organ_id=AGENCY, name="UBND tỉnh Tuyên Quang", installation=AGENCY,
                                  admin_full_name="Nguyễn Văn Quản", admin_unit="qt"))
        for username, (roles, unit) in staff.items():
            g.accounts.create_user(username=username, full_name=f"Cán bộ {username}", agency_id=AGENCY, roles=roles,
                                   password="Mat-khau-2026!", unit=unit, position="", must_change_password=False)
        yield g, tmp_path
    g.backends.close()


@pytest.fixture
def installation(fresh_vhost, tmp_path):
    with agency_with(fresh_vhost, tmp_path, STAFF) as made:
        yield made


def viewer(g: Gateway, username: str) -> Viewer:
    return Viewer(g.accounts.by_username(username), None)


def register_paper(g: Gateway, tmp_path, number: str, subject: str) -> dict:
    clerk = viewer(g, "hoalt.vp").actor
    pdf = blob_store(CommonSettings(data_dir=tmp_path), AGENCY).put_bytes(
        vietnamese_pdf("ỦY BAN NHÂN DÂN HUYỆN YÊN SƠN", subject)).sha256
    return g.backends.call(clerk, "registry", "register_paper_incoming", {
        "code_number": number, "code_notation": "UBND-VX", "subject": subject,
        "organ_name": "UBND huyện Yên Sơn", "issued_date": "2026-12-01"}, [pdf])


def with_work(g: Gateway, tmp_path) -> None:
    """A task for the specialist, a notice for everyone, a paper document registered by the clerk (waiting to be
    submitted once routing has the event)."""
    for username in STAFF:  # a first page puts each person in routing's staff directory
        home_panels(g, viewer(g, username))
    leader, clerk = viewer(g, "anld.vp").actor, viewer(g, "hoalt.vp").actor
    specialist = g.accounts.by_username("phuchv.th").id
    g.backends.call(leader, "routing", "create_task", "Chuẩn bị báo cáo quý IV", specialist)
    g.backends.call(leader, "routing", "publish_notice", "Lịch họp giao ban tuần", "Sáng thứ Hai")
    register_paper(g, tmp_path, "15", "Về việc báo cáo tình hình buổi sáng")
    deadline = time.monotonic() + 60  # a bound, not a timing assertion: routing takes the registry's event
    while not g.backends.call(clerk, "routing", "list_incoming", box="to_submit"):
        assert time.monotonic() < deadline, "routing never listed the registered document"
        time.sleep(0.2)


def shown(panels) -> list[tuple]:
    return [(p.title, p.kind, p.error, p.rows) for p in panels]


def test_every_role_asks_each_service_once_and_sees_what_separate_calls_show(installation, monkeypatch):
    g, tmp_path = installation
    with_work(g, tmp_path)
    calls: list[tuple[str, str]] = []
    real = g.backends.call

    def spied(actor, service, method, *args, **kwargs):
        calls.append((service, method))
        return real(actor, service, method, *args, **kwargs)

    monkeypatch.setattr(g.backends, "call", spied)
    expected_services = {"hoalt.vp": {"routing", "registry"}}
    for username in STAFF:
        calls.clear()
        batched = home_panels(g, viewer(g, username))
        assert sorted(calls) == sorted((s, "read_many") for s in expected_services.get(username, {"routing"})), \
            (username, calls)
        with monkeypatch.context() as m:
            m.setattr(gateway.web, "prefetch", lambda *_a: None)
            calls.clear()
            separate = home_panels(g, viewer(g, username))
            assert len(calls) > 1 and ("routing", "read_many") not in calls, (username, calls)
        assert shown(batched) == shown(separate), username

    titles = {p.title: p.rows for p in home_panels(g, viewer(g, "phuchv.th"))}
    assert [t["title"] for t in titles["Công việc"]] == ["Chuẩn bị báo cáo quý IV"]
    assert [n["title"] for n in titles["Thông báo nội bộ chưa đọc"]] == ["Lịch họp giao ban tuần"]
    clerk = {p.title: p.rows for p in home_panels(g, viewer(g, "hoalt.vp"))}
    assert [h["subject"] for h in clerk["Văn bản đến chờ trình"]] == ["Về việc báo cáo tình hình buổi sáng"]


def test_a_service_that_does_not_answer_shows_its_error_on_each_of_its_panels(installation, monkeypatch):
    g, _tmp = installation
    real = g.backends.call
    asked: list[str] = []

    def routing_away(actor, service, method, *args, **kwargs):
        asked.append(f"{service}.{method}")
        if service == "routing":
            from services.common.errors import CongVanError

            raise CongVanError("Dịch vụ xử lý văn bản đang bận, vui lòng thử lại sau.", "unavailable")
        return real(actor, service, method, *args, **kwargs)

    monkeypatch.setattr(g.backends, "call", routing_away)
    panels = home_panels(g, viewer(g, "hoalt.vp"))
    routing_panels = [p for p in panels if p.title in ("Văn bản đến chờ trình", "Thông báo nội bộ chưa đọc")]
    assert len(routing_panels) == 2
    assert all(p.rows is None and p.error == "Dịch vụ xử lý văn bản đang bận, vui lòng thử lại sau."
               for p in routing_panels)
    assert asked.count("routing.read_many") == 1 and len([a for a in asked if a.startswith("routing")]) == 1
    assert any(p.title == "Văn bản đi chờ ban hành" and p.error is None for p in panels)


def test_a_panel_shows_its_first_rows_and_counts_the_whole_list(installation, monkeypatch):
    """A clerk's backlog: the panel holds HOME_ROWS rows (viewed by routing, not cut after), its badge and the
    app's badge count every document waiting, and the page says how many are shown."""
    g, tmp_path = installation
    with_work(g, tmp_path)
    register_paper(g, tmp_path, "16", "Về việc kiểm tra công tác văn thư")
    clerk = viewer(g, "hoalt.vp")
    deadline = time.monotonic() + 60  # a bound, not a timing assertion: routing takes the registry's event
    while len(g.backends.call(clerk.actor, "routing", "list_incoming", box="to_submit")) < 2:
        assert time.monotonic() < deadline, "routing never listed the second document"
        time.sleep(0.2)
    monkeypatch.setattr(gateway.web, "HOME_ROWS", 1)
    asked: list = []
    real = g.backends.call

    def spied(actor, service, method, *args, **kwargs):
        asked.append((service, method, args))
        return real(actor, service, method, *args, **kwargs)

    monkeypatch.setattr(g.backends, "call", spied)
    [waiting] = [p for p in home_panels(g, clerk) if p.title == "Văn bản đến chờ trình"]
    assert len(waiting.rows) == 1 and waiting.count == 2
    [routing_reads] = [args[0] for service, method, args in asked if (service, method) == ("routing", "read_many")]
    assert {"method": "list_incoming", "kwargs": {"box": "to_submit", "limit": 1}} in routing_reads

    app = create_app(g.settings)
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, "hoalt.vp").status_code == 303
    page = client.get("/").text
    section = page[page.index("Văn bản đến chờ trình"):]
    section = section[:section.index("</section>")]
    assert '<span class="badge">2</span>' in section and "Hiện 1 trong số 2 mục." in section
    assert section.count('href="/xu-ly/') == 1
