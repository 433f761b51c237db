"""The demo's shape (issue 16 item 6): two provincial installations with several agencies each and the national
hub with Văn phòng Chính phủ, one services process and one edge per installation; `congvan status` lists the
installations with the agencies each hosts, those added by onboarding included."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.demo import _onboarded, installations_text
from infra.prometheus import scrape_targets
from services.interconnect.topology import DEMO


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
    db.dispose()
    text = installations_text(DEMO, _onboarded(tmp_path / "data"))
    tuyen_quang = text.split("000.00.00.H60 (H60)", 1)[1].split("000.00.00.H17 (H17)", 1)[0]
    for organ in ("000.00.00.H60", "000.00.09.H60", "000.00.02.H60", "000.00.06.H60"):
        assert organ in tuyen_quang
    assert "Sở Tư pháp tỉnh Tuyên Quang (thêm khi đang chạy, ngừng sử dụng)" in tuyen_quang
    assert "000.00.00.G22 (national)" in text and "Văn phòng Chính phủ" in text
    assert _onboarded(tmp_path / "nothing") == []
