"""The national hub's VDXP API over real HTTP, next to real hubs and edges on the real broker.

A vendor-style client (vdxp_client.py: the SDK's request format, none of the server's code) calls every operation:
good calls, and each refusal with its documented ErrorCode. Packages cross between the API and agencies on
RabbitMQ both ways, and meet the same relay, relay log and statuses.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import edxml
from services.interconnect.directory import Directory
from services.interconnect.models import DirectoryBase
from services.interconnect.relaylog import RelayLog
from tests.interconnect.conftest import H60_A, H60_B, directory_records, make_topology
from tests.interconnect.harness import (
    Network,
    add_system,
    api_calls,
    edoc,
    foreign_package,
    hub_relay_log,
    provisioned_network,
    registered,
    wait_for,
)
from tests.interconnect.test_edxml_security import hostile_packages, zip_bomb
from tests.interconnect.vdxp_client import SdkClient, days_ago

SYSTEM = "vxp.saas.09"
ROOT = "000.00.00.G09"   # Bộ Tài chính, connected through a vendor system on the VDXP SDK
UNIT = "000.00.01.G09"
MAX_BYTES = 1_000_000
CONFORMANCE = "vxp.conformance"
FIXTURE_SENDERS = ("000.00.00.H41", "000.00.00.A80")  # the real packages' senders but G22 (on RabbitMQ here)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "edxml"


def _topology():
    topology = make_topology("")
    # Every hub's directory knows the VDXP agencies as served by the national hub (as the axis's directory says).
    topology.extra["directory"] = directory_records(topology, {"organ_id": ROOT, "name": "Bộ Tài chính",
                                                               "hub": "national"})
    return topology


@pytest.fixture(scope="module")
def axis(rabbit_admin, stack_env, tmp_path_factory):
    """Hubs, the edges and stand-in registries of H60_A and H60_B, and the national hub's VDXP API; shared by
    the module's tests (starting them takes most of the time), each test asserting only what it caused."""
    topology = _topology()
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("vdxp") / "run") as net:
        net.start([H60_A, H60_B])
        secret = add_system(net, "vdxp", SYSTEM, [ROOT], "--name", "Hệ thống QLVB Bộ Tài chính")
        # A second system speaks for the senders of the real conformance packages (tests/fixtures/edxml).
        conformance_secret = add_system(net, "vdxp", CONFORMANCE, list(FIXTURE_SENDERS))
        port = net.start_api("vdxp", "national", "--max-bytes", str(MAX_BYTES))
        net.wait_healthy()
        # Long-lived, as vendors keep it: a timestamp two days old, every key of every call re-sent.
        client = SdkClient(f"http://127.0.0.1:{port}/XrdAdapter/RestService/forward/mapi", SYSTEM, secret,
                           started=days_ago(2))
        net.conformance = SdkClient(f"http://127.0.0.1:{port}/mapi", CONFORMANCE, conformance_secret)
        yield net, client, port


def _no_null(client: SdkClient, operation: str, params: dict[str, str] | None = None) -> dict:
    client.headers.update(params or {})
    status, raw = client.raw(operation, body=b"{}")
    assert b"null" not in raw, raw[:300]
    assert status == 200, raw[:300]
    return json.loads(raw)


def _package(number: int, sender: str, recipients: list[str], attachments=None) -> tuple[dict, bytes]:
    return foreign_package(number, sender, "Bộ Tài chính", "BTC-VP", recipients, attachments)


def _relay_log(net: Network) -> RelayLog:
    return hub_relay_log(net, "national")


def _expect(answer: tuple[int, dict], http: int, code: str, text: str = "") -> dict:
    status, body = answer
    assert (status, body["status"], body["ErrorCode"]) == (http, "FAIL", code), body
    assert text in body["ErrorDesc"], body
    return body


def test_every_refusal_gets_its_documented_error(axis):
    net, client, port = axis
    _, good = _package(1, ROOT, [H60_B])
    before = _relay_log(net).head()[0]

    stranger = SdkClient(f"http://127.0.0.1:{port}/mapi", SYSTEM, "not-the-secret")
    _expect(stranger.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": "edoc"}), 401, "2")
    unknown = SdkClient(f"http://127.0.0.1:{port}/mapi", "vxp.unknown", "whatever")
    _expect(unknown.call("countReceiveEdoc"), 401, "2")
    unsigned = [(n, v) for n, v in client.signed_headers() if n != "XroadVnpt-hash-header"]
    status, raw = client.raw("countReceiveEdoc", body=b"{}", headers=unsigned)
    assert status == 401 and json.loads(raw)["ErrorCode"] == "2"

    _expect(client.send_edoc(ROOT, good, hash_file="0" * 64), 400, "3", "hash-file")
    _expect(client.send_edoc(H60_A, _package(2, H60_A, [H60_B])[1]), 403, "4",
            f"Đơn vị gửi {H60_A} không đúng với mã đã đăng ký: {SYSTEM}")
    _expect(client.send_edoc(ROOT, _package(3, H60_A, [H60_B])[1]), 403, "4", f"khác XroadVnpt-from {ROOT}")
    _expect(client.send_edoc(ROOT, good, message_type="status"), 400, "1", "messagetype")
    big = _package(4, ROOT, [H60_B], [({"name": "lon.pdf", "content_type": "application/pdf"},
                                       b"x" * (MAX_BYTES + 10))])[1]
    _expect(client.send_edoc(ROOT, big), 413, "6")

    hostile = {**hostile_packages(good), "duplicate recipient": _package(5, ROOT, [H60_B, H60_B])[1]}
    for name, data in hostile.items():
        body = _expect(client.send_edoc(ROOT, data), 400, "5")
        assert "root:" not in body["ErrorDesc"], name  # /etc/passwd was never read
    _expect(client.send_edoc(ROOT, zip_bomb(ROOT)), 413, "6")

    _expect(client.get_edoc("00000000-0000-0000-0000-000000000000"), 404, "7")
    _expect(client.update_status("00000000-0000-0000-0000-000000000000", "done"), 404, "7")
    _expect(client.update_status("00000000-0000-0000-0000-000000000000", "archived"), 400, "1", "archived")
    status, raw = client.download("00000000-0000-0000-0000-000000000000")
    assert status == 404 and json.loads(raw)["ErrorCode"] == "7"
    _expect(client.call("getEverything"), 404, "7")

    # registerAgency: only under an agency of one's own, never an agency that is connected otherwise.
    agency = {"id": "", "pcode": ROOT, "code": H60_B, "name": "Sở Nội vụ", "mail": "", "mobile": "", "fax": ""}
    _expect(client.call("registerAgency", body=json.dumps(agency).encode()), 409, "8")
    agency.update(pcode="000.00.00.H17", code="000.00.05.H17")
    _expect(client.call("registerAgency", body=json.dumps(agency).encode()), 403, "4")
    _expect(client.call("deleteAgency", {"AgencyCode": H60_A}), 404, "7")

    # Nothing of it reached the relay; the refused sendEdocs are in the national hub's relay log.
    rows = [r for r in _relay_log(net).entries() if r.seq > before]
    # The oversized body is refused unread, so unlogged.
    assert [r.event for r in rows] == ["rejected"] * (5 + len(hostile))
    assert all(r.detail.startswith(f"vdxp {SYSTEM}: ") for r in rows)

    # Counted per operation and ErrorCode on the API's /metrics.
    counted = api_calls(net, "vdxp", "national")
    assert counted("sendEdoc", "5") == len(hostile)
    assert counted("sendEdoc", "3") == 1 and counted("countReceiveEdoc", "2") == 2
    assert _relay_log(net).verify() == []


def test_a_package_sent_with_sendEdoc_reaches_an_agency_on_rabbitmq(axis):
    net, client, _port = axis
    agencies = _no_null(client, "getAgenciesList")["data"]
    codes = {a["code"] for a in agencies}
    assert {ROOT, H60_A, H60_B, "000.00.00.G22"} <= codes

    unit = {"id": "", "pcode": ROOT, "code": UNIT, "name": "Cục Thuế", "mail": "ct@mof.gov.vn", "mobile": "",
            "fax": ""}
    status, answer = client.call("registerAgency", body=json.dumps(unit).encode())
    assert (status, answer["ErrorCode"]) == (200, "0"), answer
    listed = {a["code"]: a for a in _no_null(client, "getAgenciesList")["data"]}
    assert listed[UNIT]["pid"] == ROOT and listed[UNIT]["mail"] == "ct@mof.gov.vn"

    header, data = _package(10, ROOT, [H60_B])
    status, sent = client.send_edoc(ROOT, data)
    assert (status, sent["status"], sent["ErrorCode"]) == (200, "OK", "0"), sent
    assert re.fullmatch(r"[0-9a-f-]{36}", sent["DocId"])
    assert client.send_edoc(ROOT, data)[1]["DocId"] == sent["DocId"]  # a retry: the same DocId, relayed once

    rows = wait_for(lambda: registered(net, H60_B, header["document_id"]),
                    what="the VDXP package at H60_B")
    assert [t["organ_id"] for t in rows[0]["package"]["trace"]][-2:] == ["hub.national", "hub.H60"]

    # The status 01 of H60_B's edge comes back to the VDXP system.
    statuses = wait_for(lambda: client.received("status"), what="status 01 over VDXP")
    assert statuses[0]["from"] == H60_B and statuses[0]["to"] == ROOT and statuses[0]["status"] == "initial"
    assert _no_null(client, "countReceiveStatus")["count"] == 1
    status, got = client.get_edoc(statuses[0]["docId"])
    assert status == 200 and got["ErrorCode"] == "0"
    parsed = edxml.parse(base64.b64decode(got["data"]))
    assert parsed.kind == "status" and parsed.header["status_code"] == "01"
    assert parsed.header["response_for"]["document_id"] == header["document_id"]
    assert client.update_status(statuses[0]["docId"], "done")[1]["ErrorCode"] == "0"
    assert client.received("status") == []

    sent_list = _no_null(client, "getSentEdocList", {"servicetype": "eDoc", "messagetype": "edoc", "docId": ""})
    (item,) = [i for i in sent_list["data"] if i["senderDocId"] == sent["DocId"]]
    assert (item["fromCode"], item["toCode"], item["receiveStatus"]) == (ROOT, H60_B, "01")
    assert item["notation"] == "10/BTC-VP"

    log = _relay_log(net)
    received = [r for r in log.entries(sent["DocId"]) if r.event == "received"]
    assert len(received) == 1 and received[0].sender == ROOT and "vdxp.national" in received[0].detail
    assert log.verify() == []

    # A registered unit may send at once (the national hub's directory knows it); once deleted it may not.
    assert client.send_edoc(UNIT, _package(11, UNIT, [H60_B])[1])[1]["ErrorCode"] == "0"
    assert client.call("deleteAgency", {"AgencyCode": UNIT})[1]["ErrorCode"] == "0"
    assert UNIT not in {a["code"] for a in _no_null(client, "getAgenciesList")["data"]}
    _expect(client.send_edoc(UNIT, _package(12, UNIT, [H60_B])[1]), 403, "4")


def test_a_package_from_rabbitmq_is_fetched_acknowledged_or_failed_over_vdxp(axis):
    net, client, _port = axis
    first = edoc(net.topology, H60_A, [H60_B], 20, [])
    first["to"] = [{"organ_id": ROOT, "organ_name": "Bộ Tài chính"}]
    net.call(H60_A, "send_package", first)
    items = wait_for(lambda: client.received("edoc"), what="the package in getReceivedEdocList")
    (item,) = items
    assert (item["from"], item["to"], item["status"], item["messageType"]) == (H60_A, ROOT, "initial", "edoc")
    assert _no_null(client, "countReceiveEdoc")["count"] == 1

    status, got = client.get_edoc(item["docId"])
    data = base64.b64decode(got["data"])
    assert status == 200 and edxml.parse(data).header["document_id"] == first["document_id"]
    assert client.download(item["docId"]) == (200, data)
    assert client.update_status(item["docId"], "processing")[1]["ErrorCode"] == "0"
    assert [i["status"] for i in client.received("edoc")] == ["processing"]
    assert client.update_status(item["docId"], "done")[1]["ErrorCode"] == "0"
    assert client.update_status(item["docId"], "done")[1]["ErrorCode"] == "0"  # repeated: idempotent
    _expect(client.update_status(item["docId"], "fail"), 409, "8")
    assert client.received("edoc") == [] and _no_null(client, "countReceiveEdoc")["count"] == 0

    second = edoc(net.topology, H60_A, [H60_B], 21, [])
    second["to"] = [{"organ_id": ROOT, "organ_name": "Bộ Tài chính"}]
    net.call(H60_A, "send_package", second)
    (item,) = wait_for(lambda: client.received("edoc"), what="the second package")
    client.get_edoc(item["docId"])
    assert client.update_status(item["docId"], "fail", description="Không đọc được tệp đính kèm")[1][
        "ErrorCode"] == "0"
    rows = wait_for(lambda: registered(net, H60_A, second["document_id"], "status:02"),
                    what="status 02 at the sender")
    assert rows[0]["package"]["from"]["organ_id"] == ROOT
    assert "Không đọc được tệp đính kèm" in rows[0]["package"]["description"]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.edxml")))
def test_every_real_conformance_package_is_accepted_by_sendEdoc(axis, name):
    net, _client, _port = axis
    data = (FIXTURES / name).read_bytes()
    facts = edxml.peek(data)
    if facts["from"] not in FIXTURE_SENDERS:
        pytest.skip(f"{name} is sent by {facts['from']}, an agency on RabbitMQ in this topology")
    status, answer = net.conformance.send_edoc(facts["from"], data, message_type=facts["kind"])
    assert (status, answer["status"], answer["ErrorCode"]) == (200, "OK", "0"), answer
    assert answer["DocId"]


def test_directory_sync_from_the_national_hub_s_vdxp_api(axis, tmp_path):
    """`congvan directory sync --endpoint`: the real command, in its own process, fetches getAgenciesList from the
    national hub's real API (signed with the system's secret, as the SDK would) into an installation's directory."""
    net, client, port = axis
    listed = {a["code"]: a for a in _no_null(client, "getAgenciesList")["data"]}
    data_dir = tmp_path / "installation"
    out = net.congvan("directory", "sync", "--endpoint", f"http://127.0.0.1:{port}/mapi", "--system-id", SYSTEM,
                      "--data-dir", str(data_dir), "--json", env={"VDXP_SECRET": client.secret}, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["counts"]["added"] == len(listed) and report["counts"]["skipped"] == 0
    directory = Directory(Database("directory", "hub.national", DirectoryBase.metadata,
                                   CommonSettings(data_dir=data_dir)))
    try:
        assert directory.count() == len(listed)
        assert directory.get(ROOT).name == listed[ROOT]["name"]
        assert directory.get(H60_A).valid_to is None
    finally:
        directory.database.dispose()
    bad = net.congvan("directory", "sync", "--endpoint", f"http://127.0.0.1:{port}/mapi", "--system-id", SYSTEM,
                      "--data-dir", str(data_dir), env={"VDXP_SECRET": "not-the-secret"}, check=False)
    assert bad.returncode != 0 and "Trục trả lỗi" in bad.stdout + bad.stderr
