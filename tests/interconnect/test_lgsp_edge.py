"""An installation on an LGSP (services/interconnect/lgsp_edge.py) exchanging documents and statuses with
installations on RabbitMQ. The LGSP is our own Tuyên Quang hub's LGSP API: two real processes over HTTP (the
installation's LGSP edge and the hub's API), with the real hubs, edges and stand-in registries around them. The edge
retries on a short schedule here (0.5 s doubling to 2 s; 30 s to 480 s in production).
"""

from __future__ import annotations

import re
import signal

import pytest

from infra.procs import free_port
from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect.models import EdgeAxisAck, EdgeAxisSend, EdgeBase, EdgeOutbox
from services.interconnect.topology import AgencySpec, Topology
from tests.interconnect.conftest import H17_A, H60_A, directory_records, make_topology
from tests.interconnect.harness import (
    Network,
    add_system,
    answer_03_to_06,
    attachment,
    edoc,
    provisioned_network,
    registered,
    sender_view,
    status_codes,
    status_package,
    wait_for,
)
from tests.interconnect.lgsp_client import LgspTestClient

SYSTEM = "H60.TQ.005"
LG = "000.00.20.H60"          # Sở Giáo dục và Đào tạo: its document system is a client of Tuyên Quang's LGSP
LOCKED = "000.00.15.H60"      # disabled by the province's operator: locked in the directory
UNKNOWN = "000.00.99.H60"


def _topology(base: str) -> Topology:
    # `hub: lgsp`: no hub of ours serves it over RabbitMQ; its edge is the LGSP client adapter, which reaches the
    # axis as extra.axis_clients says (the secret only in its environment).
    topology = make_topology("", AgencySpec(LG, "Sở Giáo dục và Đào tạo tỉnh Tuyên Quang", "SGDĐT", "lgsp",
                                            "Tuyên Quang", 0, 0))
    topology.extra["directory"] = directory_records(
        topology, {"organ_id": LOCKED, "name": "Sở Du lịch tỉnh Tuyên Quang", "hub": "H60", "locked": True},
        served_by={"lgsp": "H60"})
    topology.extra["axis_clients"] = {LG: {"endpoint": base, "system_id": SYSTEM}}
    return topology


@pytest.fixture(scope="module")
def installations(rabbit_admin, stack_env, tmp_path_factory):
    port = free_port()
    topology = _topology(f"http://127.0.0.1:{port}/lgsp/api")
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("lgsp-edge") / "run") as net:
        net.start([H60_A, H17_A])
        net.env["LGSP_SECRET"] = add_system(net, "lgsp", SYSTEM, [LG], "--hub", "H60")
        net.start_api("lgsp", "H60", port=port)
        net.start_registry(LG)
        start_lgsp_edge(net)
        net.wait_healthy()
        net.axis = LgspTestClient(f"http://127.0.0.1:{port}/lgsp/api", SYSTEM, net.env["LGSP_SECRET"])
        yield net


def start_lgsp_edge(net: Network, secret: str | None = None) -> None:
    """The installation's edge as the topology chooses it (`Topology.edge_module`): endpoint and system id from
    the topology, the secret from its environment (`secret` instead of the issued one, when given)."""
    net.start_process(f"edge:{LG}", ["-m", net.topology.edge_module(LG), "--agency", LG, "--poll-seconds", "0.5",
                                     "--retry-first", "0.5", "--retry-cap", "2"],
                      env={"LGSP_SECRET": secret} if secret is not None else None)


def _edge_rows(net: Network, model: type, **where: str) -> list:
    db = Database("edge", LG, EdgeBase.metadata, CommonSettings(data_dir=net.data_dir))
    try:
        with db.session() as s:
            rows = [r for r in s.query(model).all() if all(getattr(r, k) == v for k, v in where.items())]
            s.expunge_all()
            return rows
    finally:
        db.dispose()


def _sends(net: Network, document_id: str, kind: str = "edoc") -> list[tuple[EdgeOutbox, EdgeAxisSend | None]]:
    sends = {r.message_id: r for r in _edge_rows(net, EdgeAxisSend)}
    return [(o, sends.get(o.message_id)) for o in _edge_rows(net, EdgeOutbox, document_id=document_id, kind=kind)]


def _edge_status(net: Network) -> str:
    return net.congvan("lgsp", "edge-status", "--agency", LG, "--run-dir", str(net.run_dir)).stdout


def test_the_lgsp_installation_sends_and_gets_statuses_01_to_06(installations):
    net = installations
    package = edoc(net.topology, LG, [H60_A, H17_A], 1, [attachment(net, LG)])
    net.call(LG, "send_package", package)
    (row,) = wait_for(lambda: registered(net, H60_A, package["document_id"]), what="the document at H60_A")
    got = row["package"]
    assert [t["organ_id"] for t in got["trace"]][-1] == "hub.H60"
    assert net.read_blob(H60_A, got["attachments"][0]["sha256"])  # the attachment crossed intact
    (far,) = wait_for(lambda: registered(net, H17_A, package["document_id"]), what="the document in Đà Nẵng")
    assert [t["organ_id"] for t in far["package"]["trace"]][-3:] == ["hub.H60", "hub.national", "hub.H17"]

    answer_03_to_06(net, H60_A, LG, got)
    wait_for(lambda: (v := sender_view(net, LG, package["document_id"], H17_A)) and v[0] == "01",
             what="01 from Đà Nẵng")
    # Every package fetched from the axis was acknowledged (updateStatus done), once each.
    wait_for(lambda: net.axis.received("status") == [], what="every status acknowledged")
    acks = wait_for(lambda: (a := _edge_rows(net, EdgeAxisAck)) and all(r.acked_at for r in a) and a,
                    what="every acknowledgement recorded")
    assert {a.status for a in acks} == {"done"}


def test_a_rabbitmq_installation_sends_to_the_lgsp_one_and_a_restart_loses_nothing(installations):
    net = installations
    package = edoc(net.topology, H60_A, [LG], 2, [attachment(net, H60_A)])
    net.call(H60_A, "send_package", package)
    (row,) = wait_for(lambda: registered(net, LG, package["document_id"]), what="the document over LGSP")
    assert net.read_blob(LG, row["package"]["attachments"][0]["sha256"])
    wait_for(lambda: status_codes(net, H60_A, package["document_id"]) == ["01"], what="01 from the LGSP installation")
    net.call(LG, "send_status", status_package(net, LG, H60_A, row["package"], "02", "Từ chối: gửi nhầm cơ quan", 9))
    wait_for(lambda: status_codes(net, H60_A, package["document_id"]) == ["01", "02"], what="02 at the sender")

    # The LGSP edge is killed; packages sent meanwhile wait on the axis, and arrive once after its restart.
    net.kill(f"edge:{LG}", signal.SIGKILL)
    later = [edoc(net.topology, H60_A, [LG], 10 + i, []) for i in range(3)]
    for item in later:
        net.call(H60_A, "send_package", item)
    start_lgsp_edge(net)
    net.wait_healthy()
    for item in later:
        wait_for(lambda i=item: registered(net, LG, i["document_id"]), what="a package after restart")
        wait_for(lambda i=item: status_codes(net, H60_A, i["document_id"]) == ["01"], what="its 01")
    wait_for(lambda: net.axis.received("edoc") == [], what="every package acknowledged")
    for item in [package, *later]:
        assert len(registered(net, LG, item["document_id"])) == 1
        assert status_codes(net, H60_A, item["document_id"]) in (["01"], ["01", "02"])


def test_while_the_axis_is_away_sending_backs_off_and_resumes_once(installations):
    net = installations
    net.kill("lgsp:H60", signal.SIGTERM)
    package = edoc(net.topology, LG, [H60_A], 30, [])
    net.call(LG, "send_package", package)
    # Tried, failed for want of an answer, and scheduled again; progress is in the edge's database.
    wait_for(lambda: (s := _sends(net, package["document_id"])) and s[0][1] is not None and s[0][1].attempts >= 2,
             what="two tries while the axis is away")
    (outbox, tried), = _sends(net, package["document_id"])
    assert outbox.sent_at is None and tried.outcome is None and tried.code is None and tried.next_at is not None
    assert "không kết nối được trục LGSP" in tried.detail
    status = _edge_status(net)
    assert f"Mã hệ thống (X-SystemId): {SYSTEM}" in status and "không in ra" in status
    assert re.search(r"edoc .*30/SGDĐT-VX: đã thử \d+ lần", status)
    assert net.env["LGSP_SECRET"] not in status

    net.restart("lgsp:H60")
    net.wait_healthy()
    wait_for(lambda: registered(net, H60_A, package["document_id"]), what="the document once the axis is back")
    wait_for(lambda: status_codes(net, LG, package["document_id"]) == ["01"], what="its 01")
    (outbox, tried), = _sends(net, package["document_id"])
    assert outbox.sent_at is not None and tried.outcome == "sent" and tried.axis_doc_id
    assert len(registered(net, H60_A, package["document_id"])) == 1


def test_a_recipient_the_axis_refuses_gets_a_02_with_the_reason_and_nothing_is_resent(installations):
    net = installations
    unknown = edoc(net.topology, LG, [H60_A], 40, [])
    unknown["to"] = [{"organ_id": UNKNOWN, "organ_name": "Sở không có"}]
    locked = edoc(net.topology, LG, [H60_A], 41, [])
    locked["to"] = [{"organ_id": LOCKED, "organ_name": "Sở Du lịch tỉnh Tuyên Quang"}]
    for package, code, organ in ((unknown, 18, UNKNOWN), (locked, 23, LOCKED)):
        net.call(LG, "send_package", package)
        (row,) = wait_for(lambda p=package: registered(net, LG, p["document_id"], "status:02"),
                          what=f"the local 02 for code {code}")
        assert row["package"]["on_behalf_of"] == organ
        assert f"mã {code}" in row["package"]["description"] and organ in row["package"]["description"]
        (_outbox, tried), = _sends(net, package["document_id"])
        assert (tried.outcome, tried.code, tried.attempts) == ("refused", code, 1)
    # A package real receivers would refuse is refused before it leaves, as on the RabbitMQ edge.
    unbuildable = edoc(net.topology, LG, [H60_A], 42, [])
    unbuildable["code_notation"] = "không hợp lệ?"
    net.call(LG, "send_package", unbuildable)
    (row,) = wait_for(lambda: registered(net, LG, unbuildable["document_id"], "status:02"), what="the local 02")
    assert row["package"]["on_behalf_of"] == H60_A and "Không gửi được" in row["package"]["description"]
    assert _sends(net, unbuildable["document_id"]) == []


def test_a_status_written_twice_is_sent_once(installations):
    net = installations
    package = edoc(net.topology, H60_A, [LG], 50, [])
    net.call(H60_A, "send_package", package)
    (row,) = wait_for(lambda: registered(net, LG, package["document_id"]), what="the document")
    first = status_package(net, LG, H60_A, row["package"], "03", "Đã vào sổ văn bản đến số 15", 1)
    again = {**first, "message_id": f"{first['message_id']}|again", "timestamp": "2026-11-21T10:05:00+07:00"}
    net.call(LG, "send_status", first)
    net.call(LG, "send_status", again)
    sends = wait_for(lambda: (s := _sends(net, package["document_id"], "status")) and len(s) == 3
                     and all(t is not None and t.outcome for _o, t in s) and s, what="both 03s handled")
    outcomes = sorted(t.outcome for o, t in sends if o.status_code == "03")
    assert outcomes == ["duplicate", "sent"]
    wait_for(lambda: status_codes(net, H60_A, package["document_id"]) == ["01", "03"], what="the 03 at the sender")
    marker = edoc(net.topology, H60_A, [LG], 51, [])
    net.call(H60_A, "send_package", marker)
    wait_for(lambda: status_codes(net, H60_A, marker["document_id"]) == ["01"], what="the marker's 01")
    assert status_codes(net, H60_A, package["document_id"]) == ["01", "03"]  # the second 03 never left


def test_a_wrong_secret_stops_the_edge_with_an_alert_until_it_is_fixed(installations):
    net = installations
    right = net.env["LGSP_SECRET"]
    net.kill(f"edge:{LG}", signal.SIGTERM)
    start_lgsp_edge(net, secret="not-the-secret")
    wait_for(lambda: re.search(rf'congvan_lgsp_edge_configuration_error{{agency="{LG}",code="15"}} 1\.0',
                               _metrics_or_empty(net)), what="the configuration alert's gauge")
    assert net.health(f"edge:{LG}") == 503
    package = edoc(net.topology, LG, [H60_A], 60, [])
    net.call(LG, "send_package", package)
    wait_for(lambda: _sends(net, package["document_id"]), what="the document in the outbox")
    assert "Chờ gửi: 1 gói tin" in _edge_status(net)
    (outbox, tried), = _sends(net, package["document_id"])
    assert outbox.sent_at is None and tried is None  # not tried: the edge stopped calling the axis

    net.kill(f"edge:{LG}", signal.SIGTERM)
    start_lgsp_edge(net, secret=right)
    net.wait_healthy()
    wait_for(lambda: registered(net, H60_A, package["document_id"]), what="the document once the secret is fixed")
    assert re.search(rf'congvan_lgsp_edge_configuration_error{{agency="{LG}",code="15"}} 0\.0',
                     net.metrics(f"edge:{LG}"))


def _metrics_or_empty(net: Network) -> str:
    try:
        return net.metrics(f"edge:{LG}")
    except OSError:
        return ""  # not listening yet
