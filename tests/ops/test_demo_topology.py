"""The demo's shape (issue 16 item 6): two provincial installations with several agencies each and the national
hub with Văn phòng Chính phủ, one services process and one edge per installation; `congvan status` lists the
installations with the agencies each hosts, those added by onboarding included, and how an installation on an HTTP
axis reaches it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from infra.demo import _onboarded, installations_text
from infra.prometheus import scrape_targets
from services.interconnect.topology import DEMO, AgencySpec


def test_the_demo_is_two_provincial_installations_and_the_national_one():
    hosted = {i.organ_id: [a.organ_id for a in DEMO.hosted_by(i.organ_id)] for i in DEMO.installations()}
    assert set(hosted) == {"000.00.00.H60", "000.00.00.H17", "000.00.00.G22"}
    assert len(hosted["000.00.00.H60"]) >= 3 and len(hosted["000.00.00.H17"]) >= 3
    assert hosted["000.00.00.G22"] == ["000.00.00.G22"] and DEMO.agency("000.00.00.G22").hub == "national"
    assert all(DEMO.agency(o).hub == "H60" for o in hosted["000.00.00.H60"])
    # One services process and one edge per installation are scraped; hosted agencies have no process.
    targets = scrape_targets(DEMO)
    assert {t["labels"]["agency"] for t in targets["edge"]} == set(hosted)
    assert {t["labels"]["agency"] for t in targets["agency_services"]} == set(hosted)


def test_status_lists_installations_with_their_hosted_and_onboarded_agencies(tmp_path):
    from gateway.models import HostedAgency, open_database
    from gateway.settings import GatewaySettings

    db = open_database(GatewaySettings(data_dir=tmp_path / "data"))
    db.create_all()
    with db.session() as s:
        s.add(HostedAgency(organ_id="000.00.06.H60", name="Sở Tư pháp tỉnh Tuyên Quang", parent_name="",
                           place="Tuyên Quang", abbreviation="STP", installation="000.00.00.H60", hub="H60",
                           disabled=True, created_at=datetime.now(UTC)))
        # A demo agency the operator stopped on the platform's screen is said stopped too.
        s.add(HostedAgency(organ_id="000.00.09.H17", name="Sở Nội vụ thành phố Đà Nẵng", parent_name="",
                           place="Đà Nẵng", abbreviation="SNV", installation="000.00.00.H17", hub="H17",
                           disabled=True, created_at=datetime.now(UTC)))
    db.dispose()
    text = installations_text(DEMO, _onboarded(tmp_path / "data"))
    tuyen_quang = text.split("000.00.00.H60 (H60)", 1)[1].split("000.00.00.H17 (H17)", 1)[0]
    for organ in ("000.00.00.H60", "000.00.09.H60", "000.00.02.H60", "000.00.06.H60"):
        assert organ in tuyen_quang
    assert "Sở Tư pháp tỉnh Tuyên Quang (thêm khi đang chạy, ngừng sử dụng)" in tuyen_quang
    assert "000.00.09.H17    Sở Nội vụ thành phố Đà Nẵng (ngừng sử dụng)" in text
    assert "000.00.00.H17    Ủy ban nhân dân thành phố Đà Nẵng\n" in text   # in use: nothing added
    assert "000.00.00.G22 (national)" in text and "Văn phòng Chính phủ" in text
    assert _onboarded(tmp_path / "nothing") == []


def test_an_installation_on_an_http_axis_runs_its_client_edge_and_status_shows_how_it_is_reached():
    lgsp = AgencySpec("000.00.20.H60", "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang", "SGDĐT", "lgsp", "Tuyên Quang", 0, 0)
    vdxp = AgencySpec("000.00.00.G09", "Bộ Tài chính", "BTC", "vdxp", "Hà Nội", 0, 0)
    topology = dataclasses.replace(DEMO, agencies=(*DEMO.agencies, lgsp, vdxp), extra={
        **DEMO.extra, "axis_clients": {lgsp.organ_id: {"endpoint": "https://lgsp.tuyenquang.gov.vn/api",
                                                       "system_id": "H60.TQ.001"}}})
    assert topology.edge_module("000.00.00.H60") == "services.interconnect.edge"
    assert topology.edge_module(lgsp.organ_id) == "services.interconnect.lgsp_edge"
    assert topology.edge_module(vdxp.organ_id) == "services.interconnect.vdxp_edge"
    text = installations_text(topology)
    assert "000.00.20.H60 (lgsp: https://lgsp.tuyenquang.gov.vn/api, hệ thống H60.TQ.001)" in text
    assert "000.00.00.G09 (vdxp)" in text  # given on its edge's command line instead
    # The demo's hubs serve their HTTP APIs: both are scraped, on Tuyên Quang's hub for LGSP.
    targets = scrape_targets(DEMO)
    assert targets["lgsp_api"][0]["labels"] == {"hub": "H60"}
    assert targets["vdxp_api"][0]["labels"] == {"hub": "national"}
