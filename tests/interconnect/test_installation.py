"""One interconnect edge per installation (issue 16 item 2), over the real broker with real hubs and edges.

Tuyên Quang's installation (named by UBND tỉnh, H60_A) hosts Sở Nội vụ (H60_B) and Sở Tài chính (H60_C): one
services process, one edge, one broker identity and one inbox on hub H60 for the three. Đà Nẵng (H17_A) is an
installation of one. The tests check that:

- a package for two hosted agencies reaches both through the one inbox, and a retry to one is deduplicated by
  that agency alone;
- the hub accepts a `From` only when its directory says the submitting installation hosts it: Đà Nẵng's
  identity sending as Sở Nội vụ Tuyên Quang gets a status 02 with the reason;
- an agency recorded in the hubs' directories while everything runs (what onboarding writes) receives a
  document, registers it and replies, with nothing provisioned, started or restarted for it.
"""

from __future__ import annotations

import re
import secrets
import urllib.request
import uuid
from datetime import date
from pathlib import Path

import pytest

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, domain, edxml
from services.interconnect.directory import Directory
from services.interconnect.models import DirectoryBase
from services.interconnect.topology import AgencySpec, HubSpec, Topology
from tests.interconnect.conftest import H17_A, H60_A, H60_B
from tests.interconnect.harness import Network, edoc, provisioned_network, registered, wait_for

H60_C = "000.00.02.H60"   # Sở Tài chính tỉnh Tuyên Quang, hosted by H60_A's installation
ADDED = "000.00.05.H60"   # Sở Xây dựng tỉnh Tuyên Quang, onboarded while the network runs


def _topology() -> Topology:
    return Topology(
        hubs=(HubSpec("national", "Trục liên thông văn bản quốc gia", None, 0),
              HubSpec("H60", "Trục liên thông văn bản tỉnh Tuyên Quang", "national", 0),
              HubSpec("H17", "Trục liên thông văn bản thành phố Đà Nẵng", "national", 0)),
        agencies=(AgencySpec(H60_A, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "H60", "Tuyên Quang", 0, 0),
                  AgencySpec(H60_B, "Sở Nội vụ tỉnh Tuyên Quang", "SNV", "H60", "Tuyên Quang", 0, 0,
                             parent=H60_A, installation=H60_A),
                  AgencySpec(H60_C, "Sở Tài chính tỉnh Tuyên Quang", "STC", "H60", "Tuyên Quang", 0, 0,
                             parent=H60_A, installation=H60_A),
                  AgencySpec(H17_A, "Ủy ban nhân dân thành phố Đà Nẵng", "UBND", "H17", "Đà Nẵng", 0, 0)),
        extra={"namespace": f"i{secrets.token_hex(3)}."})


@pytest.fixture(scope="module")
def installation_net(rabbit_admin, stack_env, tmp_path_factory):
    topology = _topology()
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("installation") / "run") \
            as net:
        net.start([a.organ_id for a in topology.installations()])   # two services processes, two edges
        yield net


def _edge_counter(net: Network, installation: str, agency: str, outcome: str) -> float:
    port = net.procs[f"edge:{installation}"][1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    pattern = (r'congvan_edge_packages_received_total\{[^}]*agency="' + re.escape(agency) +
               r'"[^}]*kind="edoc"[^}]*outcome="' + outcome + r'"[^}]*\} ([0-9.e+]+)')
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_the_broker_has_one_identity_and_one_inbox_per_installation(installation_net):
    net = installation_net
    users = set(net.creds.passwords)
    ns = net.topology.extra["namespace"]
    assert {f"{ns}agency.{H60_A}", f"{ns}agency.{H17_A}"} <= users
    assert not {f"{ns}agency.{H60_B}", f"{ns}agency.{H60_C}", f"{ns}svc.{H60_B}"} & users
    assert broker.agency_user(net.topology, H60_B) == broker.agency_user(net.topology, H60_A)


def test_one_package_for_two_hosted_agencies_reaches_both_and_a_retry_to_one_is_deduplicated(installation_net):
    net = installation_net
    package = edoc(net.topology, H17_A, [H60_B, H60_C], 101, [])
    net.call(H17_A, "send_package", package)
    doc = package["document_id"]
    got_b = wait_for(lambda: registered(net, H60_B, doc), what="the document at Sở Nội vụ")
    wait_for(lambda: registered(net, H60_C, doc), what="the document at Sở Tài chính")
    # Each hosted agency answered 01 for itself, through the installation's one identity.
    wait_for(lambda: {r["sender"] for r in registered(net, H17_A, doc, "status")} == {H60_B, H60_C},
             what="status 01 from both hosted recipients")
    assert not registered(net, H60_A, doc)   # the installation's own agency was not a recipient

    # The hub's copy again, for H60_B only (a redelivery after a lost ack): H60_B's edge tables find it.
    duplicates_before = _edge_counter(net, H60_A, H60_B, "duplicate")
    body = net.read_blob(H60_B, got_b[0]["package"]["raw_sha256"])
    hub_user = broker.hub_user(net.topology, "H60")
    with broker.confirmed_channel(net.creds.params(hub_user, broker.hub_vhost(net.topology, "H60"))) as (_c, ch):
        broker.publish(ch, broker.DELIVER, H60_A, body, user_id=hub_user, message_id=package["message_id"],
                       headers={domain.H_RECIPIENTS: [H60_B], domain.H_ORIGIN: H17_A}, mandatory=True)
    wait_for(lambda: _edge_counter(net, H60_A, H60_B, "duplicate") == duplicates_before + 1,
             what="the retry taken as a duplicate")
    assert net.call(H60_B, "calls", "receive_package", doc) == 1
    assert net.call(H60_C, "calls", "receive_package", doc) == 1


def test_a_from_the_submitting_installation_does_not_host_gets_status_02(installation_net):
    net = installation_net
    # Đà Nẵng's identity submits a package that claims to come from Sở Nội vụ tỉnh Tuyên Quang.
    forged = edoc(net.topology, H60_B, [H60_C], 102, [])
    body = edxml.build_edoc(forged, [])
    user = broker.agency_user(net.topology, H17_A)
    with broker.confirmed_channel(net.creds.params(user, broker.hub_vhost(net.topology, "H17"))) as (_c, ch):
        broker.publish(ch, broker.SUBMIT, "", body, user_id=user, message_id=str(uuid.uuid4()))
    refusal = wait_for(lambda: registered(net, H17_A, forged["document_id"], "status"),
                       what="the refusal at Đà Nẵng")[0]["package"]
    assert refusal["status_code"] == "02"
    assert domain.REASON_VI[domain.Reason.FORGED_SENDER] in refusal["description"]
    assert H60_B in refusal["description"] and "installation" in refusal["description"]
    # Nothing reached the agency named as recipient; what Tuyên Quang's own identity sends as Sở Nội vụ passes.
    genuine = edoc(net.topology, H60_B, [H17_A], 103, [])
    net.call(H60_B, "send_package", genuine)
    wait_for(lambda: registered(net, H17_A, genuine["document_id"]), what="the genuine package at Đà Nẵng")
    assert not registered(net, H60_C, forged["document_id"])


def _hub_directory(net: Network, code: str) -> Directory:
    database = Database("directory", f"{broker.namespace(net.topology)}hub.{code}", DirectoryBase.metadata,
                        CommonSettings(data_dir=Path(net.data_dir)))
    return Directory(database)


def test_an_agency_added_to_the_directories_at_run_time_receives_registers_and_replies(installation_net):
    net = installation_net
    before = {name: proc.pid for name, (proc, _port) in net.procs.items()}
    # What onboarding writes (gateway/platform.py): the record, with the installation that hosts it, in every
    # hub directory this installation's gateway knows. Nothing is provisioned, started or restarted.
    for code in ("H60", "national", "H17"):
        _hub_directory(net, code).import_records([{"organ_id": ADDED, "name": "Sở Xây dựng tỉnh Tuyên Quang",
                                                   "hub": "H60", "parent": H60_A, "installation": H60_A}])
    package = edoc(net.topology, H17_A, [H60_B], 104, [])
    package["to"] = [{"organ_id": ADDED, "organ_name": "Sở Xây dựng tỉnh Tuyên Quang"}]
    net.call(H17_A, "send_package", package)
    doc = package["document_id"]
    got = wait_for(lambda: net.call_as(ADDED, H60_A, "registered"), what="the document at the added agency")
    assert [r["document_id"] for r in got if r["kind"].startswith("edoc")] == [doc]
    wait_for(lambda: [r["sender"] for r in registered(net, H17_A, doc, "status")] == [ADDED],
             what="status 01 from the added agency")

    # It replies with a document of its own, through its installation's edge and identity.
    reply = edoc(net.topology, H60_B, [H17_A], 105, [])
    reply["from"] = {**reply["from"], "organ_id": ADDED, "organ_name": "Sở Xây dựng tỉnh Tuyên Quang"}
    reply["document_id"] = f"{ADDED},{date(2026, 11, 21):%Y/%m/%d},105/SXD-VX"
    reply["response_for"] = [{"organ_id": H17_A, "code": "104/UBND-VX", "promulgation_date": "2026-11-21",
                              "document_id": doc}]
    net.call_as(ADDED, H60_A, "send_package", reply)
    back = wait_for(lambda: registered(net, H17_A, reply["document_id"]), what="the reply at Đà Nẵng")
    assert [t["organ_id"] for t in back[0]["package"]["trace"]] == [ADDED, "hub.H60", "hub.national", "hub.H17"]
    assert {name: proc.pid for name, (proc, _port) in net.procs.items()} == before
    assert all(proc.poll() is None for proc, _port in net.procs.values())
