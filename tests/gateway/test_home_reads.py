"""The home page asks each service once (`read_many`, gateway/reads.py), through a real installation process: the
gateway's batch (producer) into routing's and registry's entrypoints (consumers). Every role's page makes one call
per service it reads, and shows exactly what one call per list showed before."""

from __future__ import annotations

import time

import pytest

import gateway.web
from gateway.app import Gateway, Viewer
from gateway.platform import AgencyForm
from gateway.web import home_panels
from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests.agency import INSTALLATION_SERVICES, embedded_installation, running_agency_process
from tests.e2e.helpers import vietnamese_pdf

AGENCY = "000.00.00.H60"
STAFF = {"anld.vp": (["leader"], None), "hangpt.th": (["department_head"], "th"),
         "phuchv.th": (["specialist"], "th"), "hoalt.vp": (["clerk"], "vp"),
         "binhnv.th": (["department_head", "specialist"], "th")}


@pytest.fixture
def installation(fresh_vhost, tmp_path):
    g, env = embedded_installation(tmp_path, fresh_vhost, organ_id=AGENCY)
    with running_agency_process(INSTALLATION_SERVICES, fresh_vhost, tmp_path / "installation.log", env, agency=AGENCY,
                                ready_timeout=180):
        g.platform.add(AgencyForm(organ_id=AGENCY, name="UBND tỉnh Tuyên Quang", installation=AGENCY,
                                  admin_full_name="Nguyễn Văn Quản", admin_unit="qt"))
        for username, (roles, unit) in STAFF.items():
            g.accounts.create_user(username=username, full_name=f"Cán bộ {username}", agency_id=AGENCY, roles=roles,
                                   password="Mat-khau-2026!", unit=unit, position="", must_change_password=False)
        yield g, tmp_path
    g.backends.close()


def viewer(g: Gateway, username: str) -> Viewer:
    return Viewer(g.accounts.by_username(username), None)


def with_work(g: Gateway, tmp_path) -> None:
    """A task for the specialist, a notice for everyone, a paper document registered by the clerk (waiting to be
    submitted once routing has the event)."""
    for username in STAFF:  # a first page puts each person in routing's staff directory
        home_panels(g, viewer(g, username))
    leader, clerk = viewer(g, "anld.vp").actor, viewer(g, "hoalt.vp").actor
    specialist = g.accounts.by_username("phuchv.th").id
    g.backends.call(leader, "routing", "create_task", "Chuẩn bị báo cáo quý IV", specialist)
    g.backends.call(leader, "routing", "publish_notice", "Lịch họp giao ban tuần", "Sáng thứ Hai")
    pdf = blob_store(CommonSettings(data_dir=tmp_path), AGENCY).put_bytes(
        vietnamese_pdf("ỦY BAN NHÂN DÂN HUYỆN YÊN SƠN", "Về việc báo cáo")).sha256
    g.backends.call(clerk, "registry", "register_paper_incoming", {
        "code_number": "15", "code_notation": "UBND-VX", "subject": "Về việc báo cáo tình hình buổi sáng",
        "organ_name": "UBND huyện Yên Sơn", "issued_date": "2026-12-01"}, [pdf])
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
