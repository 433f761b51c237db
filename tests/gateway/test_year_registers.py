"""Opening next year's registers from the screens and REST (gateway/year_registers.py, api_year_registers.py) over a
real registry process: the administrator's button and December panel, the province operator's view of every hosted
agency and the bulk opening (one agency failing does not stop the others), and the 1 January safety net reached
through the clerk's register list."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.models import HostedAgency
from gateway.platform import onboarding_actor
from gateway.settings import GatewaySettings
from services.common import clock
from services.common.actor import system_actor
from tests.agency import running_agency_process
from tests.gateway.conftest import PASSWORD, csrf_of, login
from tests.registry.conftest import package

H60, SNV, OLD, BAD = "000.00.00.H60", "000.00.09.H60", "000.00.10.H60", "000.00.11.H60"
YEAR = clock.today_vn().year   # the registry process runs on the real clock: the years follow it
NEXT = YEAR + 1


@pytest.fixture
def installation(tmp_path, fresh_vhost):
    agencies = tmp_path / "agencies.json"
    agencies.write_text(json.dumps({H60: {"name": "UBND tỉnh Tuyên Quang", "amqp_uri": fresh_vhost}}))
    env = {k: v for k, v in os.environ.items() if k not in ("AGENCY_ID", "DATABASE_URL", "S3_ENDPOINT")}
    env["DATA_DIR"] = str(tmp_path / "data")
    with running_agency_process("services.registry.service:RegistryService", fresh_vhost, tmp_path / "registry.log",
                                env, agency=H60):
        app = create_app(GatewaySettings(data_dir=tmp_path, agencies_file=agencies, rpc_timeout=60))
        g = app.state.gateway
        with g.db.session() as s:
            for organ_id, name, installation in ((SNV, "Sở Nội vụ", H60), (OLD, "Sở Tư pháp", H60),
                                                 (BAD, "Sở Y tế", "000.00.99.H60")):   # an installation not here
                s.add(HostedAgency(organ_id=organ_id, name=name, installation=installation, created_at=clock.now_utc()))
        for username, roles, agency in (("manhhd.vptq", ["admin"], H60), ("hoalt.vp", ["clerk"], H60),
                                        ("thaolt.stttt", ["province_operator"], H60), ("lanvt.snv", ["clerk"], OLD)):
            g.accounts.create_user(username=username, full_name=username, agency_id=agency, roles=roles,
                                   password=PASSWORD, unit="VP", must_change_password=False)
        for organ_id, year in ((H60, YEAR), (SNV, YEAR), (OLD, YEAR - 1)):
            for direction in ("incoming", "outgoing"):
                g.backends.call(onboarding_actor(organ_id), "registry", "create_register", direction, year)
        g.backends.call(onboarding_actor(SNV), "registry", "create_register", "outgoing", YEAR, "QPPL-QĐ")
        yield app
        g.backends.close()


@pytest.fixture
def december(monkeypatch):
    """The gateway stands on 5 December of this year (the registry, in its own process, on the real date)."""
    monkeypatch.setattr(clock, "now_utc", lambda: datetime(YEAR, 12, 5, 3, 0, tzinfo=UTC))


def signed_in(app, username: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, username).status_code == 303
    return client


def test_the_admin_opens_next_years_registers_from_the_page_once(installation, december):
    admin = signed_in(installation, "manhhd.vptq")
    home = admin.get("/").text
    assert f"Sổ văn bản năm {NEXT} chưa mở" in home and f"Sổ văn bản đến năm {NEXT}" in home
    page = admin.get("/quan-tri/so-van-ban").text
    assert f"Mở các sổ năm {NEXT} theo các sổ năm {YEAR}" in page
    for _twice in range(2):   # a double click opens each register once
        done = admin.post("/quan-tri/so-van-ban/mo-so-nam-sau", data={"csrf_token": csrf_of(page)},
                          follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"].endswith("tb=da-mo-so-nam-sau")
    listed = admin.get(f"/api/v1/registers?year={NEXT}").json()
    assert sorted((r["direction"], r["name"], r["next_number"]) for r in listed) == [
        ("incoming", f"Sổ văn bản đến năm {NEXT}", 1), ("outgoing", f"Sổ văn bản đi năm {NEXT}", 1)]
    assert "Đã mở các sổ năm sau theo các sổ năm nay" in admin.get("/quan-tri/so-van-ban?tb=da-mo-so-nam-sau").text
    assert f"Đã mở đủ các sổ năm {NEXT}." in admin.get("/").text

    rest = admin.get("/api/v1/year-registers").json()
    assert (rest["year"], rest["missing"], len(rest["registers"])) == (NEXT, [], 2)
    again = admin.post("/api/v1/year-registers/open", json={}, headers={"X-CSRF-Token": csrf_of(page)})
    assert again.status_code == 200 and again.json()["opened"] == []
    clerk = signed_in(installation, "hoalt.vp")   # the agency's rule leaves opening registers to the admin
    refused = clerk.post("/api/v1/year-registers/open", json={"year": NEXT},
                         headers={"X-CSRF-Token": csrf_of(clerk.get("/tai-khoan").text)})
    assert refused.status_code == 403
    assert "chưa mở" not in clerk.get("/").text   # the panel is the administrator's


def test_the_province_operator_opens_them_for_every_agency_that_has_not(installation, december, monkeypatch):
    operator = signed_in(installation, "thaolt.stttt")
    page = operator.get("/van-hanh/so-nam-moi")
    assert page.status_code == 200
    status = {r["organ_id"]: r for r in operator.get("/api/v1/year-registers/agencies").json()}
    assert [len(status[a]["missing"]) for a in (H60, SNV, OLD)] == [2, 3, 0]   # OLD used no register in YEAR
    assert status[BAD]["error"] == "Cơ quan chưa được cấu hình trên cổng này."
    assert f"Mở sổ năm {NEXT} cho các cơ quan chưa mở (3)" in page.text   # BAD: not read, tried

    backends = installation.state.gateway.backends
    calls, call = [], backends.call

    def spied(actor, service, method, *args, **kwargs):
        calls.append((actor.agency_id, method))
        return call(actor, service, method, *args, **kwargs)

    monkeypatch.setattr(backends, "call", spied)
    done = operator.post("/van-hanh/so-nam-moi", data={"csrf_token": csrf_of(page.text),
                                                       "organ_id": [H60, SNV, BAD]})
    assert done.status_code == 200
    # The page after the opening shows each opened agency from its opening's answer: only the agency not chosen
    # (OLD) and the one that failed (BAD) are read again.
    assert sorted(calls) == sorted([(H60, "open_year_registers"), (SNV, "open_year_registers"),
                                    (BAD, "open_year_registers"), (OLD, "year_registers"), (BAD, "year_registers")])
    def table(html: str) -> str:
        return html.split(f"<h2>Sổ văn bản năm {NEXT} của các cơ quan</h2>", 1)[1].split("</section>", 1)[0]

    assert table(done.text) == table(operator.get("/van-hanh/so-nam-moi").text)   # as the status read shows it
    assert "Đã mở sổ cho 2 cơ quan (5 sổ); 1 cơ quan chưa mở được." in done.text
    assert f'data-failed="{BAD}"' in done.text and "Cơ quan chưa được cấu hình trên cổng này." in done.text
    assert f"Mọi cơ quan đang sử dụng đã mở đủ các sổ năm {NEXT}." not in done.text   # BAD still not
    names = sorted(r["name"] for r in installation.state.gateway.backends.call(
        onboarding_actor(SNV), "registry", "list_registers", NEXT))
    assert names == [f"Sổ văn bản quy phạm pháp luật (Quyết định) năm {NEXT}", f"Sổ văn bản đi năm {NEXT}",
                     f"Sổ văn bản đến năm {NEXT}"]

    again = operator.post("/api/v1/year-registers/agencies/open", json={},
                          headers={"X-CSRF-Token": csrf_of(page.text)}).json()
    assert {r["organ_id"]: (len(r["opened"]), r["error"]) for r in again} == {
        H60: (0, None), SNV: (0, None), OLD: (0, None), BAD: (0, "Cơ quan chưa được cấu hình trên cổng này.")}
    admin = signed_in(installation, "manhhd.vptq")
    assert admin.get("/api/v1/year-registers/agencies").status_code == 403


def test_the_first_clerk_of_the_year_finds_its_registers_opened_from_last_years(installation):
    clerk = signed_in(installation, "lanvt.snv")   # Sở Tư pháp kept registers last year only
    [opened] = clerk.get(f"/api/v1/registers?year={YEAR}&direction=incoming").json()
    assert (opened["year"], opened["name"], opened["next_number"]) == (YEAR, f"Sổ văn bản đến năm {YEAR}", 1)
    assert clerk.get(f"/api/v1/registers?year={NEXT}&direction=incoming").json() == []   # never ahead of time


def test_a_form_with_last_years_register_sent_in_the_new_year_numbers_from_this_years(installation):
    """A page opened before midnight (Vietnam time) offered last year's register; sent after, the registry numbers
    from its successor of the new year. Sở Tư pháp kept registers last year only (the registry process runs on the
    real clock: YEAR - 1 is last year): over the REST route, once per Idempotency-Key, and on the screen's form."""
    g = installation.state.gateway
    [old] = g.backends.call(onboarding_actor(OLD), "registry", "list_registers", YEAR - 1, "incoming")
    edge = system_actor(OLD, "interconnect")
    rest, screen = (g.backends.call(edge, "registry", "receive_package", package(n, to=OLD))["incoming_id"]
                    for n in (7, 8))
    clerk = signed_in(installation, "lanvt.snv")
    csrf = csrf_of(clerk.get("/tai-khoan").text)
    headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "tiep-nhan-giao-thua"}
    answers = [clerk.post(f"/api/v1/incoming/{rest}/register", json={"register_id": old["id"]}, headers=headers)
               for _twice in range(2)]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json() == answers[1].json()
    [new] = clerk.get(f"/api/v1/registers?year={YEAR}&direction=incoming").json()
    body = answers[0].json()
    assert (body["register_id"], body["number"], body["year"]) == (new["id"], 1, YEAR)
    assert body["year_turn"] == {"from_register_id": old["id"], "from_register_name": f"Sổ văn bản đến năm {YEAR - 1}",
                                 "from_year": YEAR - 1, "register_id": new["id"],
                                 "register_name": f"Sổ văn bản đến năm {YEAR}", "year": YEAR}

    done = clerk.post(f"/van-ban-den/{screen}/tiep-nhan", data={"csrf_token": csrf, "register_id": old["id"]},
                      follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("thong-bao=da-tiep-nhan")
    page = clerk.get(done.headers["location"]).text
    assert (f"Đã tiếp nhận và vào sổ văn bản đến. Đã sang năm {YEAR}: văn bản được vào Sổ văn bản đến năm {YEAR}, "
            f"số 02.") in page
    assert "Đã sang năm" not in clerk.get(f"/van-ban/{screen}").text   # said once, after the registration
    [listed] = clerk.get(f"/api/v1/registers?year={YEAR - 1}&direction=incoming").json()
    assert listed["next_number"] == 1   # nothing numbered from last year's register
