"""The per-hub report: the pure counting rules (hub_rules.hub_report, hubs_visible, sections) and the hub's
`GET /report` endpoint over a real relay log (SQLite) and a real HTTP server (serve_metrics)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pika
import pytest

from infra.procs import free_port
from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.observability import serve_metrics
from services.common.settings import CommonSettings
from services.interconnect import broker, edxml
from services.interconnect import hub as hub_module
from services.interconnect.domain import H_ORIGIN, H_RECIPIENTS
from services.interconnect.hub import Hub, TopologyRecipients
from services.interconnect.hub_report import (
    HUB_REPORTS_NAME,
    REPORT_TOKEN_ENV,
    authorised,
    relay_entries,
    write_hub_reports,
)
from services.interconnect.models import HubBase
from services.interconnect.relaylog import RelayLog
from services.interconnect.topology import DEMO
from services.reporting import hub_rules
from tests.interconnect.harness import edoc

UB, SNV, DN, VPCP = "000.00.00.H60", "000.00.09.H60", "000.00.00.H17", "000.00.00.G22"
SERVED = {UB: "Ủy ban nhân dân tỉnh Tuyên Quang", SNV: "Sở Nội vụ tỉnh Tuyên Quang"}
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)


def row(event: str, mid: str, seconds: float, sender: str = "", recipients: str = "", detail: str = "") -> dict:
    return {"event": event, "message_id": mid, "sender": sender, "recipients": recipients,
            "at": (T0 + timedelta(seconds=seconds)).isoformat(), "detail": detail}


ENTRIES = [
    # m1: UB -> SNV inside the province, delivered after 2 s; the window was relayed twice (rows written twice)
    row("received", "m1", 0, UB), row("validated", "m1", 0.1, UB, SNV, "edoc"),
    row("delivered", "m1", 2, UB, SNV, "key=000.00.09.H60"),
    row("received", "m1", 5, UB), row("validated", "m1", 5.1, UB, SNV, "edoc"),
    row("delivered", "m1", 6, UB, SNV, "key=000.00.09.H60"),
    # m2: UB -> Đà Nẵng, forwarded upstream
    row("received", "m2", 10, UB), row("validated", "m2", 10.1, UB, DN, "edoc"),
    row("routed", "m2", 10.2, UB, DN, "key=upstream"),
    # m3: a status 01 from SNV back to UB (not a document)
    row("received", "m3", 20, SNV), row("validated", "m3", 20.1, SNV, UB, "status"),
    row("delivered", "m3", 24, SNV, UB, "key=000.00.00.H60"),
    # m4: a document from VPCP arriving from the national hub, delivered to UB and SNV after 6 s
    row("received", "m4", 30, VPCP, f"{UB},{SNV}", "from hub.national; kind=edoc"),
    row("delivered", "m4", 36, VPCP, f"{UB},{SNV}", "key=000.00.00.H60"),
    # m5: a status from Đà Nẵng arriving from the national hub
    row("received", "m5", 40, DN, UB, "from hub.national; kind=status"),
    row("delivered", "m5", 41, DN, UB, "key=000.00.00.H60"),
    # m6, m7: SNV's packages refused
    row("received", "m6", 50, SNV), row("rejected", "m6", 50.1, SNV, "", "FORGED_SENDER: gói tin ghi UB"),
    row("received", "m7", 60, SNV), row("rejected", "m7", 60.1, SNV, "", "TOO_LARGE: 60000000 byte"),
    row("received", "m8", 70, SNV), row("rejected", "m8", 70.1, SNV, "", "TOO_LARGE: 70000000 byte"),
]


def test_hub_report_counts_each_package_once_and_documents_apart_from_statuses():
    report = hub_rules.hub_report("H60", "Trục tỉnh", ENTRIES, SERVED, {"TOO_LARGE": "Quá dung lượng"})
    assert (report["sent"], report["received"], report["delivered"], report["routed"], report["rejected"]) == \
        (3, 8, 5, 1, 3)
    assert report["rejected_by_reason"] == [
        {"reason": "TOO_LARGE", "label": "Quá dung lượng", "count": 2},
        {"reason": "FORGED_SENDER", "label": "FORGED_SENDER", "count": 1}]
    # delays: m1 2 s (first delivery only), m3 4 s, m4 6 s twice, m5 1 s -> median 4 s
    assert report["deliveries_measured"] == 5
    assert report["median_delivery_seconds"] == 4.0
    usage = {a["organ_id"]: (a["sent"], a["received"], a["rejected"]) for a in report["agencies"]}
    # UB: documents m1, m2 sent; m4 received (the statuses m3, m5 are not documents); SNV: m1, m4 received
    assert usage == {UB: (2, 1, 0), SNV: (0, 2, 3)}
    assert [a["name"] for a in report["agencies"]] == [SERVED[UB], SERVED[SNV]]


def test_hub_report_lists_every_served_agency_even_without_traffic():
    report = hub_rules.hub_report("H60", "Trục tỉnh", [], SERVED)
    assert report["sent"] == report["rejected"] == 0 and report["median_delivery_seconds"] is None
    assert [(a["organ_id"], a["sent"], a["received"], a["rejected"]) for a in report["agencies"]] == [
        (UB, 0, 0, 0), (SNV, 0, 0, 0)]


def test_message_kind_of_old_rows_without_kind_is_unknown():
    assert hub_rules.message_kind(row("received", "x", 0, detail="from hub.national")) is None
    assert hub_rules.message_kind(row("received", "x", 0, detail="from hub.national; kind=status")) == "status"
    assert hub_rules.message_kind(row("validated", "x", 0, detail="")) == "edoc"


HUBS = {"national": {"parent": None, "agencies": [VPCP]}, "H60": {"parent": "national", "agencies": [UB, SNV]},
        "H17": {"parent": "national", "agencies": [DN]}}


def test_an_operator_sees_the_hub_of_their_agency_and_the_national_operator_sees_all():
    assert hub_rules.hubs_visible(SNV, HUBS) == ["H60"]
    assert hub_rules.hubs_visible(DN, HUBS) == ["H17"]
    assert hub_rules.hubs_visible(VPCP, HUBS) == ["national", "H17", "H60"]
    assert hub_rules.hubs_visible("000.00.00.H99", HUBS) == []


def test_duration_text_in_vietnamese():
    assert hub_rules.duration_text(None) == "—"
    assert hub_rules.duration_text(0.84) == "0,8 giây"
    assert hub_rules.duration_text(125) == "2 phút 5 giây"
    assert hub_rules.duration_text(3 * 3600 + 61) == "3 giờ 1 phút"


def test_sections_have_the_hub_reason_and_agency_rows():
    report = hub_rules.hub_report("H60", "Trục tỉnh", ENTRIES, SERVED)
    (hubs_name, hub_headers, hub_rows, _w), (_n, _h, reason_rows, _w2), (_n3, _h3, usage_rows, _w3) = \
        hub_rules.hub_report_sections([report])
    assert hubs_name == "Số liệu theo trục" and "Thời gian chuyển trung vị" in hub_headers
    assert hub_rows == [["Trục tỉnh", 3, 8, 5, 1, 3, "4,0 giây"]]
    assert [r[1] for r in reason_rows] == ["TOO_LARGE", "FORGED_SENDER"]
    assert usage_rows[0] == ["Trục tỉnh", UB, SERVED[UB], 2, 1, 0]


def test_authorised_needs_the_exact_bearer_token():
    assert authorised("s3cret", "Bearer s3cret") and authorised("s3cret", "bearer  s3cret ")
    assert not authorised("s3cret", None) and not authorised("s3cret", "Bearer other")
    assert not authorised("s3cret", "s3cret") and not authorised(None, "Bearer ") and not authorised("", "Bearer ")


# -- the endpoint of a real hub object over a real relay log --------------------------------------------------------

@pytest.fixture
def hub_server(tmp_path, monkeypatch):
    """Hub H60 of the demo topology on SQLite, its /report served on a free port with a token."""
    monkeypatch.setenv(REPORT_TOKEN_ENV, "token-of-the-test")
    db = Database("hub", "hub.H60", HubBase.metadata, CommonSettings(data_dir=tmp_path))
    db.create_all()
    hub = Hub(DEMO, "H60", TopologyRecipients(DEMO), RelayLog(db, "hub.H60"))
    port = free_port()
    server = serve_metrics(port, routes={"/report": hub_module._report_route(DEMO, hub, tmp_path)}, hub="H60")
    try:
        yield hub, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        db.dispose()


def _relay_from_national(hub: Hub, package: dict) -> None:
    body = edxml.build_edoc(package, [])
    props = pika.BasicProperties(message_id=package["message_id"], user_id=broker.hub_user(DEMO, "national"),
                                 headers={H_RECIPIENTS: [t["organ_id"] for t in package["to"]],
                                          H_ORIGIN: package["from"]["organ_id"]})
    outcome = hub.handle(body, props)
    assert [c.key for c in outcome.copies] == [UB]


def test_the_hub_endpoint_requires_its_token_and_reports_a_relayed_document(hub_server):
    hub, url = hub_server
    _relay_from_national(hub, edoc(DEMO, VPCP, [UB], 7, []))
    today = datetime.now(VN_TZ).date().isoformat()
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/report").status_code == 401
        assert client.get("/report", headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": "Bearer token-of-the-test"}
        assert client.get("/report?from=2026-13-01", headers=auth).status_code == 400
        r = client.get(f"/report?from={today}&to={today}", headers=auth)
        assert r.status_code == 200, r.text
        report = r.json()
        assert r.headers["content-type"].startswith("application/json")
    assert report["hub"] == "H60" and report["name"] == DEMO.hub("H60").name
    assert report["period"] == {"from": today, "to": today}
    assert (report["received"], report["delivered"], report["sent"]) == (1, 1, 0)
    usage = {a["organ_id"]: a for a in report["agencies"]}
    assert set(usage) == {a.organ_id for a in DEMO.agencies_of("H60")} and usage[UB]["received"] == 1
    assert report["median_delivery_seconds"] is not None
    # the hub's `received` row names the kind: what lets the report tell documents from status reports
    received = [e for e in relay_entries(hub.log.db) if e["event"] == "received"]
    assert [e["detail"] for e in received] == [f"from {broker.hub_user(DEMO, 'national')}; kind=edoc"]


def test_the_endpoint_is_closed_when_no_token_was_provisioned(hub_server, monkeypatch, tmp_path):
    hub, url = hub_server
    monkeypatch.delenv(REPORT_TOKEN_ENV)
    closed = serve_metrics(port := free_port(), routes={"/report": hub_module._report_route(DEMO, hub, tmp_path)})
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/report", headers={"Authorization": "Bearer x"}, timeout=10)
        assert r.status_code == 401
        assert "mã truy cập" in r.json()["message"]
    finally:
        closed.shutdown()
        closed.server_close()
    # /metrics and /healthz are unchanged next to the route
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200


def test_provisioned_tokens_reach_the_hub_from_the_run_directory_and_survive_a_rerun(hub_server, monkeypatch,
                                                                                      tmp_path):
    """Production (infra/deploy): `provision` writes the tokens beside the broker passwords; a hub started without
    HUB_REPORT_TOKEN reads its own from there, and provisioning again keeps them (running gateways still match)."""
    hub, _ = hub_server
    monkeypatch.delenv(REPORT_TOKEN_ENV)
    path = tmp_path / HUB_REPORTS_NAME
    first = write_hub_reports(DEMO, path, lambda h: f"http://hub-{h.code.lower()}:9100/report")
    assert path.stat().st_mode & 0o777 == 0o600
    assert first["H60"]["url"] == "http://hub-h60:9100/report" and UB in first["H60"]["agencies"]
    assert len({r["token"] for r in first.values()}) == len(DEMO.hubs)  # one token per hub
    again = write_hub_reports(DEMO, path, lambda h: f"http://hub-{h.code.lower()}:9100/report")
    assert {c: r["token"] for c, r in again.items()} == {c: r["token"] for c, r in first.items()}
    served = serve_metrics(port := free_port(), routes={"/report": hub_module._report_route(DEMO, hub, tmp_path)})
    try:
        ok = httpx.get(f"http://127.0.0.1:{port}/report", headers={"Authorization": f"Bearer {first['H60']['token']}"},
                       timeout=10)
        other = httpx.get(f"http://127.0.0.1:{port}/report",
                          headers={"Authorization": f"Bearer {first['national']['token']}"}, timeout=10)
    finally:
        served.shutdown()
        served.server_close()
    assert ok.status_code == 200 and ok.json()["hub"] == "H60"
    assert other.status_code == 401  # another hub's token opens nothing here


# -- the gateway screen (in-process app) over real hub endpoints ------------------------------------------------------

PASSWORD = "Mat-khau-2026!"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def operator_web(tmp_path):
    """Endpoints of hubs H60 and H17 (SQLite relay logs, real HTTP), a gateway configured with their URLs and
    tokens, an operator in Sở Nội vụ Tuyên Quang (H60), one at Văn phòng Chính phủ (national) and a clerk."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import GatewaySettings
    from services.interconnect.hub_report import report_route

    servers, dbs, config = [], [], {}
    for code, served in (("H60", SERVED), ("H17", {DN: "Ủy ban nhân dân thành phố Đà Nẵng"})):
        db = Database("hub", f"hub.{code}", HubBase.metadata, CommonSettings(data_dir=tmp_path / code))
        db.create_all()
        dbs.append(db)
        port, token = free_port(), f"token-{code}"
        servers.append(serve_metrics(port, routes={"/report": report_route(db, code, DEMO.hub(code).name, served,
                                                                           token)}))
        config[code] = {"name": DEMO.hub(code).name, "parent": "national", "url": f"http://127.0.0.1:{port}/report",
                        "token": token, "agencies": sorted(served)}
    config["national"] = {"name": DEMO.hub("national").name, "parent": None, "agencies": [VPCP],
                          "url": f"http://127.0.0.1:{free_port()}/report", "token": "x"}  # nobody listens there
    log = RelayLog(dbs[0], "hub.H60")
    log.append("received", "p1", sender=SNV)
    log.append("validated", "p1", sender=SNV, recipients=[UB], detail="edoc")
    log.append("delivered", "p1", sender=SNV, recipients=[UB], detail=f"key={UB}")
    log.append("received", "p2", sender=SNV)
    log.append("rejected", "p2", sender=SNV, detail="TOO_LARGE: 60000000 byte > 52428800 byte")
    (tmp_path / "hubs.json").write_text(json.dumps(config))
    app = create_app(GatewaySettings(data_dir=tmp_path / "gw", agencies_file=None,
                                     hub_reports_file=tmp_path / "hubs.json"))
    for username, agency, roles in (("ducnv.cntt", SNV, ["hub_operator"]), ("hoalt.vp", SNV, ["clerk"]),
                                    ("quannm.vpcp", VPCP, ["hub_operator"])):
        app.state.gateway.accounts.create_user(username=username, full_name=username, agency_id=agency, roles=roles,
                                               password=PASSWORD, must_change_password=False)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for db in dbs:
            db.dispose()


def _signed_in(client, username: str):
    client.cookies.clear()
    assert client.post("/dang-nhap", data={"username": username, "password": PASSWORD, "next": "/"},
                       follow_redirects=False).status_code == 303
    return client


def test_operator_screen_shows_their_hub_with_charts_and_exports(operator_web):
    import io

    from openpyxl import load_workbook

    client = _signed_in(operator_web, "ducnv.cntt")
    page = client.get("/bao-cao/truc-lien-thong")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert "Báo cáo trục liên thông" in text and DEMO.hub("H60").name in text
    assert DEMO.hub("H17").name not in text  # another province's hub is not shown
    assert '<td data-label="Gửi đi (cơ quan của trục gửi)" data-figure="sent">1</td>' in text
    assert '<td data-reason="TOO_LARGE">1</td>' in text and "Gói tin vượt quá" not in text  # label from the hub
    assert f'<tr data-organ="{SNV}">' in text and "<svg" in text and "Sử dụng theo cơ quan" in text
    assert 'href="/bao-cao/truc-lien-thong"' in text  # the menu link of the role
    got = client.get("/bao-cao/truc-lien-thong/tai-ve", params={"dinh-dang": "xlsx"})
    assert got.status_code == 200 and got.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(got.content))
    hubs_sheet = book.worksheets[0]
    assert hubs_sheet.cell(6, 1).value == DEMO.hub("H60").name and hubs_sheet.cell(6, 2).value == 1
    usage = {r[1]: r for r in book.worksheets[2].iter_rows(min_row=6, values_only=True)}
    assert usage[SNV][3:6] == (1, 0, 1) and usage[UB][3:6] == (0, 1, 0)
    pdf = client.get("/bao-cao/truc-lien-thong/tai-ve", params={"dinh-dang": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/bao-cao/truc-lien-thong/tai-ve", params={"dinh-dang": "doc"}).status_code == 422


def test_national_operator_sees_every_hub_and_a_hub_down_is_named(operator_web):
    client = _signed_in(operator_web, "quannm.vpcp")
    page = client.get("/bao-cao/truc-lien-thong")
    assert page.status_code == 200
    assert DEMO.hub("H60").name in page.text and DEMO.hub("H17").name in page.text
    assert f"Không kết nối được trục liên thông {DEMO.hub('national').name}" in page.text
    got = client.get("/bao-cao/truc-lien-thong/tai-ve", params={"dinh-dang": "pdf"})
    assert got.status_code == 503 and "Không kết nối được" in got.text  # no file with a hub missing


def test_other_roles_are_refused_in_vietnamese(operator_web):
    client = _signed_in(operator_web, "hoalt.vp")
    for path in ("/bao-cao/truc-lien-thong", "/bao-cao/truc-lien-thong/tai-ve?dinh-dang=pdf"):
        r = client.get(path)
        assert r.status_code == 403 and "Vận hành trục liên thông" in r.text, (path, r.status_code)
    client.cookies.clear()
    assert client.get("/bao-cao/truc-lien-thong", follow_redirects=False).headers["location"].startswith("/dang-nhap")
