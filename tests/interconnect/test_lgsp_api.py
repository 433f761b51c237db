"""A provincial hub's LGSP API over real HTTP, next to real hubs and edges on the real broker.

An LGSP-style client (lgsp_client.py: the guide's calls, a hand-built multipart body, none of the server's code)
calls every operation against Tuyên Quang's hub: good calls, and each refusal with the guide's error code (15 bad
secret or unknown system, 19 sender not registered, 18 unknown recipient, 23 locked recipient, 10 invalid file or
too large, 22 hostile or invalid edXML) or ours (40, 44, 49). Packages cross between the API and agencies on
RabbitMQ both ways, and meet the same relay, relay log and statuses.
"""

from __future__ import annotations

import base64
import re

import pytest

from services.interconnect import edxml
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
    status_package,
    wait_for,
)
from tests.interconnect.lgsp_client import LgspTestClient, multipart
from tests.interconnect.test_edxml_security import hostile_packages, zip_bomb

SYSTEM = "H60.TQ.001"              # an LGSP client system, ids as the guide's (H37.DN.001)
ROOT = "000.00.20.H60"             # its agency: Sở Giáo dục và Đào tạo tỉnh Tuyên Quang
OTHER_SYSTEM = "H60.TQ.002"
OTHER = "000.00.21.H60"            # another system's agency: Sở Y tế tỉnh Tuyên Quang
LOCKED = "000.00.15.H60"           # in the directory, locked (disabled by the province's operator)
UNKNOWN = "000.00.99.H60"          # in no directory
MAX_BYTES = 1_000_000


def _topology():
    topology = make_topology("")
    topology.extra["directory"] = directory_records(
        topology,
        {"organ_id": ROOT, "name": "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang", "hub": "H60", "parent": H60_A},
        {"organ_id": OTHER, "name": "Sở Y tế tỉnh Tuyên Quang", "hub": "H60", "parent": H60_A},
        {"organ_id": LOCKED, "name": "Sở Du lịch tỉnh Tuyên Quang", "hub": "H60", "parent": H60_A, "locked": True})
    return topology


@pytest.fixture(scope="module")
def lgsp_axis(rabbit_admin, stack_env, tmp_path_factory):
    """Hubs, the edges and stand-in registries of H60_A and H60_B, and Tuyên Quang's hub's LGSP API with two
    systems; shared by the module's tests, each asserting only what it caused."""
    topology = _topology()
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("lgsp") / "run") as net:
        net.start([H60_A, H60_B])
        secret = add_system(net, "lgsp", SYSTEM, [ROOT], "--hub", "H60")
        add_system(net, "lgsp", OTHER_SYSTEM, [OTHER], "--hub", "H60")
        port = net.start_api("lgsp", "H60", "--max-bytes", str(MAX_BYTES))
        net.wait_healthy()
        # `{base}` with a prefix of the province's choosing, as a real LGSP's.
        yield net, LgspTestClient(f"http://127.0.0.1:{port}/lgsp/api", SYSTEM, secret), port


def _package(number: int, recipients: list[str], sender: str = ROOT, attachments=None) -> tuple[dict, bytes]:
    return foreign_package(number, sender, "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang", "SGDĐT-VP", recipients,
                           attachments)


def _relay_log(net: Network) -> RelayLog:
    return hub_relay_log(net, "H60")


def _expect(answer: tuple[int, dict], http: int, code: int, text: str = "") -> dict:
    status, body = answer
    assert (status, body["errorCode"]) == (http, code), body
    assert text in body["errorDesc"], body
    return body


def test_every_refusal_gets_its_documented_code(lgsp_axis):
    net, client, _port = lgsp_axis
    header, good = _package(1, [H60_B])
    before = _relay_log(net).head()[0]

    # 15: a wrong secret, an unknown system, no credentials: one answer, so that system ids cannot be probed.
    wrong = LgspTestClient(client.base, SYSTEM, "not-the-secret")
    _expect(wrong.send_edoc(good), 401, 15, "X-SecretKey")
    _expect(wrong.call("GET", "getReceivedEdocList"), 401, 15)
    _expect(LgspTestClient(client.base, "H60.TQ.999", client.secret).call("GET", "getReceivedEdocList"), 401, 15)
    _expect(client.call("GET", "getReceivedEdocList", credentials=False), 401, 15)

    refused = 0
    # 10: no form, no edocFile in it, an empty one.
    _expect(client.call("POST", "sendEdoc", good, [("Content-Type", "application/xml")]), 400, 10, "edocFile")
    _expect(client.send_edoc(good, field="file"), 400, 10, "edocFile")
    _expect(client.send_edoc(b""), 400, 10, "rỗng")
    body, content_type = multipart({"messageType": "edoc"}, {"edocFile": ("a.edxml", good)})
    _expect(client.call("POST", "sendEdoc", body[:-40], [("Content-Type", content_type)]), 400, 10)
    refused += 4
    # 40: messageType missing, unknown, or not the package's kind.
    _expect(client.send_edoc(good, message_type=None), 400, 40, "messageType")
    _expect(client.send_edoc(good, message_type="abc"), 400, 40, "messageType")
    _expect(client.send_edoc(good, message_type="status"), 400, 40, "messageType")
    refused += 3
    # 19: a sender that is not the system's (an agency on RabbitMQ, another system's).
    _expect(client.send_edoc(_package(2, [H60_B], sender=H60_A)[1]), 403, 19, H60_A)
    _expect(client.send_edoc(_package(3, [H60_B], sender=OTHER)[1]), 403, 19, OTHER)
    refused += 2
    # 18 and 23: the whole package is refused at once, naming the recipient.
    _expect(client.send_edoc(_package(4, [UNKNOWN])[1]), 422, 18, UNKNOWN)
    _expect(client.send_edoc(_package(5, [H60_B, UNKNOWN])[1]), 422, 18, UNKNOWN)
    _expect(client.send_edoc(_package(6, [LOCKED])[1]), 423, 23, LOCKED)
    refused += 3
    # 10 under HTTP 413: a package over the limit, a body over it (cut short unread), a zip bomb.
    big = _package(7, [H60_B], attachments=[({"name": "lon.pdf", "content_type": "application/pdf"},
                                              b"x" * (MAX_BYTES + 10))])[1]
    _expect(client.send_edoc(big), 413, 10)
    _expect(client.send_edoc(b"x" * (3 * MAX_BYTES)), 413, 10, "vượt quá")
    _expect(client.send_edoc(zip_bomb(ROOT)), 413, 10)
    refused += 3
    # 22: every hostile package of the codec's security tests.
    hostile = {**hostile_packages(good), "duplicate recipient": _package(8, [H60_B, H60_B])[1]}
    for name, data in hostile.items():
        body = _expect(client.send_edoc(data), 400, 22)
        assert "root:" not in body["errorDesc"], name  # /etc/passwd was never read
    refused += len(hostile)

    # 40, 44, 49 on the receiving side; an unknown operation.
    _expect(client.get_edoc("00000000-0000-0000-0000-000000000000"), 404, 44)
    _expect(client.update_status("00000000-0000-0000-0000-000000000000", "done"), 404, 44)
    _expect(client.update_status("00000000-0000-0000-0000-000000000000", "archived"), 400, 40, "archived")
    _expect(client.call("POST", "updateStatus", b"not json", [("Content-Type", "application/json")]), 400, 40)
    _expect(client.call("GET", "getReceivedEdocList", query={"messageType": "fax"}), 400, 40)
    _expect(client.call("GET", "getEverything"), 404, 44)

    # Nothing of it reached the relay; every refused sendEdoc of the system is in the hub's relay log (strangers'
    # calls, refused with 15, are not: they cannot write into the hub's chained log).
    rows = [r for r in _relay_log(net).entries() if r.seq > before]
    assert [r.event for r in rows] == ["rejected"] * refused
    assert all(r.detail.startswith(f"lgsp {SYSTEM}: ") for r in rows)
    assert not registered(net, H60_B, header["document_id"])

    counted = api_calls(net, "lgsp", "H60")
    assert counted("sendEdoc", 22) == len(hostile) and counted("sendEdoc", 18) == 2
    assert counted("getReceivedEdocList", 15) == 3 and counted("other", 44) == 1
    assert _relay_log(net).verify() == []


def test_a_package_sent_with_sendEdoc_reaches_an_agency_on_rabbitmq(lgsp_axis):
    net, client, _port = lgsp_axis
    header, data = _package(10, [H60_B])
    status, sent = client.send_edoc(data)
    assert (status, sent["errorCode"]) == (200, 0), sent
    doc_id = sent["data"]["docId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", doc_id)
    assert client.send_edoc(data)[1]["data"]["docId"] == doc_id  # a retry: the same docId, relayed once

    rows = wait_for(lambda: registered(net, H60_B, header["document_id"]), what="the LGSP package at H60_B")
    assert [t["organ_id"] for t in rows[0]["package"]["trace"]][-1] == "hub.H60"

    # H60_B's status 01 comes back to the LGSP system.
    statuses = wait_for(lambda: [i for i in client.received("status") if i["from"] == H60_B], what="01 over LGSP")
    assert statuses[0]["to"] == ROOT and statuses[0]["messageType"] == "status"
    status, got = client.get_edoc(statuses[0]["docId"])
    assert (status, got["errorCode"]) == (200, 0)
    parsed = edxml.parse(base64.b64decode(got["data"]))
    assert parsed.header["status_code"] == "01"
    assert parsed.header["response_for"]["document_id"] == header["document_id"]
    assert client.update_status(statuses[0]["docId"], "done")[1]["errorCode"] == 0
    assert not [i for i in client.received("status") if i["docId"] == statuses[0]["docId"]]

    # One relay: received once, from the hub's gateway user, under the docId answered.
    log = _relay_log(net)
    received = [r for r in log.entries(doc_id) if r.event == "received"]
    assert len(received) == 1 and received[0].sender == ROOT and "vdxp.H60" in received[0].detail
    assert log.verify() == []


def test_a_package_from_rabbitmq_is_fetched_answered_and_acknowledged_over_lgsp(lgsp_axis):
    net, client, _port = lgsp_axis
    first = edoc(net.topology, H60_A, [H60_B], 20, [])
    first["to"] = [{"organ_id": ROOT, "organ_name": "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang"}]
    net.call(H60_A, "send_package", first)
    (item,) = wait_for(lambda: [i for i in client.received("edoc") if i["from"] == H60_A], what="the package")
    assert (item["to"], item["status"], item["messageType"]) == (ROOT, "initial", "edoc")
    status, got = client.get_edoc(item["docId"])
    data = base64.b64decode(got["data"])
    assert status == 200 and edxml.parse(data).header["document_id"] == first["document_id"]
    assert client.update_status(item["docId"], "processing")[1]["errorCode"] == 0
    assert client.update_status(item["docId"], "done")[1]["errorCode"] == 0
    assert client.update_status(item["docId"], "done")[1]["errorCode"] == 0  # repeated: idempotent
    _expect(client.update_status(item["docId"], "fail"), 409, 49)
    assert not [i for i in client.received("edoc") if i["docId"] == item["docId"]]

    # The LGSP agency answers with a business status (messageType=status): it reaches the sender's registry.
    about = edxml.parse(data).header
    reply = status_package(net, H60_A, H60_A, about, "03", "Đã vào sổ văn bản đến số 12", 3)
    reply["from"] = {"organ_id": ROOT, "organ_name": "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang"}
    assert client.send_edoc(edxml.build_status(reply), message_type="status")[1]["errorCode"] == 0
    wait_for(lambda: registered(net, H60_A, first["document_id"], "status:03"), what="status 03 at the sender")

    second = edoc(net.topology, H60_A, [H60_B], 21, [])
    second["to"] = [{"organ_id": ROOT, "organ_name": "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang"}]
    net.call(H60_A, "send_package", second)
    (item,) = wait_for(lambda: [i for i in client.received("edoc") if i["from"] == H60_A], what="the second package")
    assert client.update_status(item["docId"], "fail", "Không đọc được tệp đính kèm")[1]["errorCode"] == 0
    rows = wait_for(lambda: registered(net, H60_A, second["document_id"], "status:02"),
                    what="status 02 at the sender")
    assert rows[0]["package"]["from"]["organ_id"] == ROOT
    assert "Không đọc được tệp đính kèm" in rows[0]["package"]["description"]


def test_the_systems_command_lists_lgsp_systems_and_never_their_secrets(lgsp_axis):
    net, client, _port = lgsp_axis
    out = net.congvan("lgsp", "systems", "--hub", "H60", "--run-dir", str(net.run_dir)).stdout
    assert f"{SYSTEM}: {ROOT}" in out and f"{OTHER_SYSTEM}: {OTHER}" in out
    assert client.secret not in out and "SHA-256" in out
    # The hub's VDXP systems are another protocol's: not listed, and a VDXP id cannot be taken for LGSP.
    vdxp = net.congvan("vdxp", "systems", "--hub", "H60", "--run-dir", str(net.run_dir)).stdout
    assert SYSTEM not in vdxp
    taken = net.congvan("vdxp", "system-add", SYSTEM, "--agency", "000.00.22.H60", "--hub", "H60", "--run-dir",
                        str(net.run_dir), check=False)
    assert taken.returncode == 1 and "LGSP" in taken.stderr


def test_an_api_whose_port_is_taken_ends_at_once_and_says_why(lgsp_axis):
    """A second LGSP API on the first one's port: it exits, with the reason in its log, rather than run with a
    healthy /healthz and no API behind it."""
    net, client, port = lgsp_axis
    net.start_api("lgsp", "H60", port=port, name="lgsp:taken")
    proc, _metrics = net.procs["lgsp:taken"]
    assert proc.wait(timeout=120) != 0, net.log_tail("lgsp:taken")
    assert "address already in use" in net.log_tail("lgsp:taken").lower()
    del net.procs["lgsp:taken"]  # ended, as it should: no later health wait of the module is to wait for it
    client.received()  # the first API answers still (200, errorCode 0)
