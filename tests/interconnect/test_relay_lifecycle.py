"""End to end over the real broker (hubs, edges, stand-in registries as processes): the rest of a package's life.

Hostile attachments refused by a hub with a precise status 02, the status round trip 01→06 at the sender,
revoke / update / replace and take-back 13/15/16 both ways, and a recipient replaced by its successor in the
directory (the 2025 mergers) delivered to the successor.
"""

from __future__ import annotations

import base64
import io
import zipfile

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker, edxml
from services.interconnect.models import HubBase
from services.interconnect.relaylog import RelayLog
from tests.interconnect.conftest import H17_A, H60_A, H60_B, MERGED
from tests.interconnect.harness import (
    Network,
    answer_03_to_06,
    edoc,
    sender_view,
    status_codes,
    status_package,
    wait_for,
)
from tests.interconnect.test_relay import _attachment, _registered, _send_and_wait, _statuses, _submit_raw


def _relay_log(net: Network, code: str) -> list[dict]:
    db = Database("hub", f"{broker.namespace(net.topology)}hub.{code}", HubBase.metadata,
                  CommonSettings(data_dir=net.data_dir))
    try:
        return [{"event": e.event, "message_id": e.message_id, "recipients": e.recipients.split(","),
                 "detail": e.detail} for e in RelayLog(db, f"hub.{code}").entries()]
    finally:
        db.dispose()


def _zip(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_bomb_and_unlisted_attachment_get_status_02_with_the_reason_and_the_hub_keeps_running(network):
    bomb_header = edoc(network.topology, H60_A, [H17_A], 21, [])
    bomb = edxml.build_edoc(bomb_header, [({"name": "van-ban.pdf", "content_type": "application/pdf"}, b"x")])
    bomb = bomb.replace(base64.b64encode(b"x"), base64.b64encode(_zip("van-ban.pdf", b"\0" * (40 * 2**20))))
    bomb = bomb.replace(b">application/pdf<", b">application/zip<")

    unlisted_header = edoc(network.topology, H60_A, [H17_A], 22, [])
    unlisted = edxml.build_edoc(unlisted_header, [({"name": "a.pdf", "content_type": "application/pdf"}, b"A"),
                                                  ({"name": "b.pdf", "content_type": "application/pdf"}, b"B")])
    start = unlisted.index(b"<edXML:Reference>", unlisted.index(b"<edXML:Reference>") + 1)
    end = unlisted.index(b"</edXML:Reference>", start) + len(b"</edXML:Reference>")
    unlisted = unlisted[:start] + unlisted[end:]

    _submit_raw(network, H60_A, bomb, "bad-bomb")
    _submit_raw(network, H60_A, unlisted, "bad-unlisted")

    def refusals() -> dict[str, str]:
        return {r["document_id"]: r["package"]["description"] for r in _registered(network, H60_A, "status:02")}

    mine = {bomb_header["document_id"], unlisted_header["document_id"]}
    got = wait_for(lambda: (s := refusals()) and mine <= s.keys() and s, what="two statuses 02")
    assert got[bomb_header["document_id"]].startswith("Gói tin vượt quá dung lượng cho phép")
    assert "zip bomb" in got[bomb_header["document_id"]]
    assert got[unlisted_header["document_id"]] == (
        "Tệp đính kèm bị thiếu hoặc hỏng: tệp 2 được đính kèm nhưng không có trong danh mục (manifest)")
    rejected = [r for r in _relay_log(network, "H60") if r["event"] == "rejected"]
    assert {r["message_id"] for r in rejected} >= {"bad-bomb", "bad-unlisted"}
    assert not [r for r in _registered(network, H17_A)
                if r["document_id"] in (bomb_header["document_id"], unlisted_header["document_id"])]
    _send_and_wait(network, H60_A, H17_A, 23)  # the hub still relays


def test_status_round_trip_01_to_06_is_visible_at_the_sender(network):
    sent, got, _ = _send_and_wait(network, H60_A, H17_A, 31)
    wait_for(lambda: _statuses(network, H60_A, sent["document_id"]) == ["01"], what="01")
    answer_03_to_06(network, H17_A, H60_A, got)
    assert status_codes(network, H60_A, sent["document_id"]) == ["01", "03", "04", "05", "06"]


def test_revoke_update_replace_and_take_back_13_15_16_both_ways(network):
    first, first_got, _ = _send_and_wait(network, H60_A, H17_A, 41)
    second, second_got, _ = _send_and_wait(network, H60_A, H17_A, 42)

    # update (2) and replace (3) of the first document, revoke (1) of the second: registered as their own kinds
    for number, doc_type, target in ((43, 2, first), (44, 3, first), (45, 1, second)):
        meta, _ = _attachment(network, H60_A)
        package = edoc(network.topology, H60_A, [H17_A], number, [meta], doc_type=doc_type,
                       target=target["document_id"])
        network.call(H60_A, "send_package", package)
        rows = wait_for(lambda p=package, t=doc_type: [r for r in _registered(network, H17_A, f"edoc:{t}")
                                           if r["document_id"] == p["document_id"]], what=f"doc_type {doc_type}")
        assert rows[0]["package"]["business"]["target_document_id"] == target["document_id"]

    # take-back: the sender asks (13, to the recipient); the recipient agrees for one (15), refuses the other (16)
    for n, about in enumerate((first_got, second_got)):
        network.call(H60_A, "send_status",
                     status_package(network, H60_A, H17_A, about, "13", "Đề nghị lấy lại văn bản", n))
    for about in (first, second):
        wait_for(lambda a=about: _statuses(network, H17_A, a["document_id"]) == ["13"], what="13 at the recipient")
    network.call(H17_A, "send_status", status_package(network, H17_A, H60_A, first_got, "15", "Đồng ý cho lấy lại", 10))
    network.call(H17_A, "send_status", status_package(network, H17_A, H60_A, second_got, "16", "Từ chối: đã xử lý", 11))
    wait_for(lambda: "15" in _statuses(network, H60_A, first["document_id"]), what="15 at the sender")
    wait_for(lambda: "16" in _statuses(network, H60_A, second["document_id"]), what="16 at the sender")
    assert wait_for(lambda: (v := sender_view(network, H60_A, first["document_id"], H17_A)) and v[0] == "15" and v)
    assert wait_for(lambda: (v := sender_view(network, H60_A, second["document_id"], H17_A)) and v[0] == "16" and v)


def test_a_recipient_replaced_by_its_successor_is_delivered_to_the_successor(network):
    meta, _ = _attachment(network, H17_A)
    package = edoc(network.topology, H17_A, [H60_B], 51, [meta])
    package["to"] = [{"organ_id": MERGED, "organ_name": "Sở Lao động - Thương binh và Xã hội tỉnh Tuyên Quang"}]
    network.call(H17_A, "send_package", package)
    rows = wait_for(lambda: [r for r in _registered(network, H60_B) if r["document_id"] == package["document_id"]],
                    what="the package at the successor")
    assert [t["organ_id"] for t in rows[0]["package"]["to"]] == [MERGED]  # the package is untouched
    assert [t["organ_id"] for t in rows[0]["package"]["trace"]] == [H17_A, "hub.H17", "hub.national", "hub.H60"]
    wait_for(lambda: _statuses(network, H17_A, package["document_id"]) == ["01"], what="01 from the successor")
    answers = [r for r in _registered(network, H17_A, "status") if r["document_id"] == package["document_id"]]
    assert [(r["package"]["status_code"], r["package"]["from"]["organ_id"]) for r in answers] == [("01", H60_B)]
    for code in ("H17", "national", "H60"):  # every hop logs the original id next to the successor's
        moved = [r for r in _relay_log(network, code) if r["message_id"] == package["message_id"]
                 and r["event"] in ("routed", "delivered")]
        assert moved and f"{MERGED} -> {H60_B}" in moved[0]["detail"], (code, moved)
    delivered = [r for r in _relay_log(network, "H60") if r["event"] == "delivered"
                 and r["message_id"] == package["message_id"]]
    assert delivered[0]["recipients"] == [H60_B]
    assert _dead(network) == 0  # nothing was dead-lettered on the way (the bug this test guards against)


def _dead(net: Network) -> int:
    import pika

    total = 0
    for hub in net.topology.hubs:
        conn = pika.BlockingConnection(net.creds.params(broker.hub_user(net.topology, hub.code),
                                                        broker.hub_vhost(net.topology, hub.code)))
        try:
            total += conn.channel().queue_declare(net.creds.queue(broker.DEAD_QUEUE), passive=True).method.message_count
        finally:
            conn.close()
    return total
