"""An installation on a VDXP axis (services/interconnect/vdxp_edge.py) exchanging documents and statuses 01–06
with an installation on RabbitMQ. The axis is our own national hub's VDXP API: two real processes over HTTP
(the installation's VDXP edge and the hub's API), with the real hubs, edges and stand-in registries around them.
"""

from __future__ import annotations

import signal

import pytest

from services.interconnect.topology import AgencySpec, Topology
from tests.interconnect.conftest import H60_A, directory_records, make_topology
from tests.interconnect.harness import (
    add_system,
    answer_03_to_06,
    attachment,
    edoc,
    provisioned_network,
    registered,
    status_codes,
    status_package,
    wait_for,
)

SYSTEM = "vxp.btc.01"
VDXP_AGENCY = "000.00.00.G09"   # Bộ Tài chính: its document system talks to the axis over HTTP


def _topology() -> Topology:
    # `hub: vdxp`: no hub of ours serves it; its edge is the VDXP client adapter.
    topology = make_topology("", AgencySpec(VDXP_AGENCY, "Bộ Tài chính", "BTC", "vdxp", "Hà Nội", 0, 0))
    topology.extra["directory"] = directory_records(topology, served_by={"vdxp": "national"})
    return topology


@pytest.fixture(scope="module")
def installations(rabbit_admin, stack_env, tmp_path_factory):
    topology = _topology()
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("vdxp-edge") / "run") as net:
        net.start([H60_A])
        secret = add_system(net, "vdxp", SYSTEM, [VDXP_AGENCY])
        port = net.start_api("vdxp", "national")
        net.wait_healthy()
        net.env["VDXP_SECRET"] = secret
        net.start_registry(VDXP_AGENCY)
        net.start_process(f"edge:{VDXP_AGENCY}", ["-m", "services.interconnect.vdxp_edge", "--agency", VDXP_AGENCY,
                                                  "--endpoint", f"http://127.0.0.1:{port}/mapi", "--system-id",
                                                  SYSTEM, "--poll-seconds", "0.5"])
        net.wait_healthy()
        yield net


def test_vdxp_installation_sends_and_gets_statuses_01_to_06(installations):
    net = installations
    package = edoc(net.topology, VDXP_AGENCY, [H60_A], 1, [attachment(net, VDXP_AGENCY)])
    net.call(VDXP_AGENCY, "send_package", package)
    (row,) = wait_for(lambda: registered(net, H60_A, package["document_id"]), what="the document at H60_A")
    got = row["package"]
    assert [t["organ_id"] for t in got["trace"]][-2:] == ["hub.national", "hub.H60"]
    assert net.read_blob(H60_A, got["attachments"][0]["sha256"])  # the attachment crossed intact

    answer_03_to_06(net, H60_A, VDXP_AGENCY, got)
    assert status_codes(net, VDXP_AGENCY, package["document_id"]) == ["01", "03", "04", "05", "06"]


def test_rabbitmq_installation_sends_to_vdxp_one_gets_01_and_02_and_a_restart_loses_nothing(installations):
    net = installations
    package = edoc(net.topology, H60_A, [VDXP_AGENCY], 2, [attachment(net, H60_A)])
    net.call(H60_A, "send_package", package)
    (row,) = wait_for(lambda: registered(net, VDXP_AGENCY, package["document_id"]), what="the document over VDXP")
    assert net.read_blob(VDXP_AGENCY, row["package"]["attachments"][0]["sha256"])
    wait_for(lambda: status_codes(net, H60_A, package["document_id"]) == ["01"], what="01 from the VDXP installation")
    net.call(VDXP_AGENCY, "send_status",
             status_package(net, VDXP_AGENCY, H60_A, row["package"], "02", "Từ chối: gửi nhầm cơ quan", 9))
    wait_for(lambda: status_codes(net, H60_A, package["document_id"]) == ["01", "02"], what="02 at the sender")

    # The VDXP edge is killed; packages sent meanwhile wait on the axis, and arrive once after its restart.
    net.kill(f"edge:{VDXP_AGENCY}", signal.SIGKILL)
    later = [edoc(net.topology, H60_A, [VDXP_AGENCY], 10 + i, []) for i in range(3)]
    for item in later:
        net.call(H60_A, "send_package", item)
    net.restart(f"edge:{VDXP_AGENCY}")
    net.wait_healthy()
    for item in later:
        wait_for(lambda i=item: registered(net, VDXP_AGENCY, i["document_id"]), what="a package after restart")
        wait_for(lambda i=item: status_codes(net, H60_A, i["document_id"]) == ["01"], what="its 01")
    marker = edoc(net.topology, H60_A, [VDXP_AGENCY], 20, [])
    net.call(H60_A, "send_package", marker)
    wait_for(lambda: status_codes(net, H60_A, marker["document_id"]) == ["01"], what="the marker's 01")
    for item in [package, *later]:
        assert len(registered(net, VDXP_AGENCY, item["document_id"])) == 1
        assert status_codes(net, H60_A, item["document_id"]) in (["01"], ["01", "02"])
