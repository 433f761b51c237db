"""End to end over the real broker: agencies' edges, the hubs and stand-in registries as real processes."""

from __future__ import annotations

import hashlib
import os

from services.interconnect import broker
from tests.interconnect.conftest import G22, H17_A, H60_A, H60_B
from tests.interconnect.harness import Network, edoc, wait_for


def _attachment(net: Network, sender: str, size: int = 50_000) -> tuple[dict, bytes]:
    data = os.urandom(size)
    sha = net.put_blob(sender, data)
    return {"content_id": "cid:1", "name": "Công văn.pdf", "content_type": "application/pdf", "description": "",
            "size": size, "sha256": sha}, data


def _registered(net: Network, organ: str, kind_prefix: str = "edoc") -> list[dict]:
    return [r for r in net.call(organ, "registered") if r["kind"].startswith(kind_prefix)]


def _send_and_wait(net: Network, sender: str, recipient: str, number: int) -> tuple[dict, dict, bytes]:
    meta, data = _attachment(net, sender)
    package = edoc(net.topology, sender, [recipient], number, [meta])
    net.call(sender, "send_package", package)
    rows = wait_for(lambda: [r for r in _registered(net, recipient) if r["document_id"] == package["document_id"]],
                    what=f"{package['document_id']} at {recipient}")
    return package, rows[0]["package"], data


def _statuses(net: Network, organ: str, document_id: str) -> list[str]:
    return [r["package"]["status_code"] for r in _registered(net, organ, "status")
            if r["document_id"] == document_id]


def test_horizontal_within_a_province_with_status_01_back(network):
    sent, got, data = _send_and_wait(network, H60_A, H60_B, 1)
    assert [t["organ_id"] for t in got["trace"]] == [H60_A, "hub.H60"]   # the sender's own line first
    assert got["attachments"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert network.read_blob(H60_B, got["attachments"][0]["sha256"]) == data  # stored at the receiver
    assert network.read_blob(H60_B, got["raw_sha256"])  # the raw .edxml is kept as evidence
    wait_for(lambda: _statuses(network, H60_A, sent["document_id"]) == ["01"], what="status 01 at the sender")


def test_vertical_via_national_both_ways(network):
    _sent, got, _ = _send_and_wait(network, H60_A, G22, 2)
    assert [t["organ_id"] for t in got["trace"]] == [H60_A, "hub.H60", "hub.national"]
    _sent, back, _ = _send_and_wait(network, G22, H60_B, 3)
    assert [t["organ_id"] for t in back["trace"]] == [G22, "hub.national", "hub.H60"]


def test_cross_province_trace_and_hash(network):
    sent, got, data = _send_and_wait(network, H60_A, H17_A, 4)
    assert [t["organ_id"] for t in got["trace"]] == [H60_A, "hub.H60", "hub.national", "hub.H17"]
    assert got["attachments"][0]["sha256"] == sent["attachments"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    wait_for(lambda: _statuses(network, H60_A, sent["document_id"]) == ["01"], what="status 01 across provinces")


def test_the_same_package_twice_registers_once(network):
    meta, _data = _attachment(network, H60_A)
    package = edoc(network.topology, H60_A, [H60_B], 5, [meta])
    network.call(H60_A, "send_package", package)
    network.call(H60_A, "send_package", {**package, "message_id": package["message_id"] + "-again"})
    wait_for(lambda: len(_statuses(network, H60_A, package["document_id"])) >= 1, what="01")
    marker, _, _ = _send_and_wait(network, H60_A, H60_B, 6)  # everything sent before it has been handled
    assert len([r for r in _registered(network, H60_B) if r["document_id"] == package["document_id"]]) == 1
    for document_id in (package["document_id"], marker["document_id"]):  # the edge handed over each one once
        assert network.call(H60_B, "calls", "receive_package", document_id) == 1
    assert marker


def test_unknown_recipient_gets_status_02_with_reason(network):
    meta, _ = _attachment(network, H60_A)
    package = edoc(network.topology, H60_A, [H60_B], 7, [meta])
    package["to"] = [{"organ_id": "000.00.99.H60", "organ_name": "Cơ quan không tồn tại"}]
    network.call(H60_A, "send_package", package)
    rows = wait_for(lambda: [r for r in _registered(network, H60_A, "status:02")
                             if r["document_id"] == package["document_id"]], what="status 02")
    status = rows[0]["package"]
    assert status["from"]["organ_id"] == "000.00.99.H60"
    assert "Không tìm thấy cơ quan nhận" in status["description"]


def test_the_hubs_relay_log_verifies(network):
    _send_and_wait(network, H60_A, H17_A, 8)
    from services.common.db import Database
    from services.common.settings import CommonSettings
    from services.interconnect.models import HubBase
    from services.interconnect.relaylog import RelayLog

    for code in ("H60", "national", "H17"):
        db = Database("hub", f"{broker.namespace(network.topology)}hub.{code}", HubBase.metadata,
                      CommonSettings(data_dir=network.data_dir))
        log = RelayLog(db, f"hub.{code}")
        assert log.verify() == [] and log.head()[0] > 0
        db.dispose()


def _submit_raw(net: Network, organ: str, body: bytes, message_id: str) -> None:
    import pika

    user = broker.agency_user(net.topology, organ)
    vhost = broker.hub_vhost(net.topology, net.topology.agency(organ).hub)
    conn = pika.BlockingConnection(net.creds.params(user, vhost))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        broker.publish(ch, broker.SUBMIT, "", body, user_id=user, message_id=message_id)
    finally:
        conn.close()


def test_bad_packages_come_back_as_status_02_and_the_hub_keeps_running(network):
    from services.interconnect import edxml

    forged = edoc(network.topology, H60_B, [H17_A], 9, [])  # claims to come from H60_B, sent by H60_A
    bad = {
        "forged": edxml.build_edoc(forged, []),
        "malformed": b"<edXML><edXMLEnvelope><unclosed></edXML>",
        "xxe": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><edXML>&e;</edXML>',
        "laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><edXML>&b;</edXML>',
    }
    for name, body in bad.items():
        _submit_raw(network, H60_A, body, f"bad-{name}")

    def statuses() -> dict[str, str]:
        return {r["document_id"]: r["package"]["description"] for r in _registered(network, H60_A, "status:02")}

    mine = {forged["document_id"], *(f"bad-{name}" for name in ("malformed", "xxe", "laughs"))}
    got = wait_for(lambda: (s := statuses()) and mine <= s.keys() and s, what="four statuses 02")
    assert "không trùng với tài khoản đã gửi" in got[forged["document_id"]]
    for name in ("malformed", "xxe", "laughs"):
        assert got[f"bad-{name}"].startswith("Gói tin edXML không hợp lệ"), got[f"bad-{name}"]
    assert not [r for r in _registered(network, H17_A) if r["document_id"] == forged["document_id"]]
    _send_and_wait(network, H60_A, H60_B, 10)  # the hub still relays
