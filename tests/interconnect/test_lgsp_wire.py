"""The LGSP wire rules (services/interconnect/lgsp.py): each error code's Vietnamese message and what the edge does
with it, the requests' reading, answers a real LGSP may spell otherwise; the shared retry schedule and status key
(axis.py); and how the hub's store keeps and checks an LGSP system's secret."""

from __future__ import annotations

import json

import pytest

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import axis, lgsp
from services.interconnect.axis import Refusal, Why
from services.interconnect.lgsp import Code, Handling, LgspError
from services.interconnect.lgsp_edge import LgspCallError
from services.interconnect.models import VdxpBase, VdxpSystem
from services.interconnect.vdxp_store import LGSP, VDXP, VdxpStore

# What the edge must do with each code the guide lists (STANDARDS.md §1.9), and with ours.
EXPECTED = {
    0: Handling.DONE,
    10: Handling.PACKAGE_REFUSED,        # invalid file: this package can never be sent as it is
    15: Handling.CONFIGURATION,          # wrong SystemId/SecretKey: stop, alert
    18: Handling.RECIPIENT_REFUSED,      # recipient does not exist: 02 with the reason
    19: Handling.CONFIGURATION,          # sender not registered: stop sending, alert
    20: Handling.TRANSIENT,              # axis system error: back-off
    21: Handling.TRANSIENT,              # file-processing error: back-off
    22: Handling.PACKAGE_REFUSED,        # edXML format invalid
    23: Handling.RECIPIENT_REFUSED,      # recipient locked: 02 with the reason
    40: Handling.PACKAGE_REFUSED,
    44: Handling.DONE,
    49: Handling.DONE,
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_code_has_a_vietnamese_message_and_a_handling(code):
    assert lgsp.handling_of(code) == EXPECTED[code]
    message = lgsp.message_of(code)
    assert message and message == lgsp.CODES[code].message_vi and message[0].isupper()
    assert 200 <= lgsp.CODES[code].http_status < 600
    assert (lgsp.CODES[code].http_status == 200) == (code == 0)


def test_the_guides_codes_say_what_the_guide_says():
    assert "không tồn tại" in lgsp.message_of(18) and "bị khóa" in lgsp.message_of(23)
    assert "X-SystemId" in lgsp.message_of(15) and "X-SecretKey" in lgsp.message_of(15)
    assert "chưa được đăng ký" in lgsp.message_of(19) and "edXML" in lgsp.message_of(22)
    assert set(lgsp.CODES) == set(EXPECTED)


def test_an_unlisted_code_or_no_answer_is_retried_never_dropped():
    assert lgsp.handling_of(11) == Handling.TRANSIENT and "11" in lgsp.message_of(11)
    assert lgsp.handling_of(None) == Handling.TRANSIENT
    unreachable = LgspCallError("sendEdoc", None, "ConnectError: refused")
    assert unreachable.handling == Handling.TRANSIENT and "không kết nối được" in unreachable.reason


def test_not_found_on_send_or_list_means_a_wrong_endpoint_but_on_a_package_that_it_is_gone():
    assert LgspCallError("sendEdoc", 44, "").handling == Handling.CONFIGURATION
    assert LgspCallError("getReceivedEdocList", 44, "").handling == Handling.CONFIGURATION
    assert LgspCallError("getEdoc", 44, "").handling == Handling.DONE
    assert LgspCallError("updateStatus", 49, "").handling == Handling.DONE
    refused = LgspCallError("sendEdoc", 18, "Cơ quan nhận 000.00.99.H60 không có trong danh bạ liên thông.")
    assert refused.reason.startswith("mã 18, Cơ quan nhận không tồn tại") and "000.00.99.H60" in refused.reason


@pytest.mark.parametrize(("why", "code", "http"), [
    (Why.BAD_REQUEST, 40, 400), (Why.SENDER_NOT_REGISTERED, 19, 403), (Why.INVALID_EDXML, 22, 400),
    (Why.TOO_LARGE, 10, 413), (Why.RECIPIENT_UNKNOWN, 18, 422), (Why.RECIPIENT_LOCKED, 23, 423),
    (Why.NOT_FOUND, 44, 404), (Why.CONFLICT, 49, 409)])
def test_every_shared_refusal_has_its_lgsp_code(why, code, http):
    error = LgspError.of(Refusal(why, "Chi tiết", "detail"))
    assert (error.code, error.http_status, error.detail) == (code, http, "detail")
    assert error.desc.startswith(lgsp.message_of(code)) and "Chi tiết" in error.desc
    assert lgsp.failure(error) == {"errorCode": code, "errorDesc": error.desc}


def test_request_paths_and_bodies():
    assert lgsp.operation_of("/lgsp/api/v1/sendEdoc") == ("sendEdoc", "")
    assert lgsp.operation_of("/v1/getEdoc/4f1c-9a") == ("getEdoc", "4f1c-9a")
    assert lgsp.operation_of("/") == ("", "")
    assert lgsp.status_update(b'{"docId": " d1 ", "status": "done"}') == ("d1", "done", "")
    assert lgsp.status_update(b'{"docId": "d1", "status": "fail", "description": "Sai"}') == ("d1", "fail", "Sai")
    for body in (b"", b"[]", b"not json", b'{"status": "done"}', b'{"docId": "d", "status": "archived"}',
                 b'{"docId": 5, "status": "done"}', b"[" * 100_000):
        with pytest.raises(LgspError) as refused:
            lgsp.status_update(body or b"null")
        assert refused.value.code == Code.BAD_REQUEST
    assert lgsp.message_type("status") == "status"
    with pytest.raises(LgspError):
        lgsp.message_type("")


def test_answers_are_read_whatever_their_spelling():
    assert lgsp.read_answer(lgsp.encode(lgsp.answer(data={"docId": "x"}))) == (0, "Thành công", {"docId": "x"})
    assert lgsp.read_answer(b'{"ErrorCode": "18", "ErrorDesc": "Khong ton tai"}') == (18, "Khong ton tai", None)
    assert lgsp.read_answer(b'{"code": 0, "message": "ok", "data": []}') == (0, "ok", [])
    for raw in (b"<html>502 Bad Gateway</html>", b"[1]", b'{"errorCode": "abc"}', b'{"errorCode": true}', b"",
                b'{"errorCode": Infinity}', b'{"errorCode": NaN}', b'{"errorCode": [0]}'):  # the first two: fuzz
        assert lgsp.read_answer(raw)[0] is None
    assert json.loads(lgsp.encode(lgsp.answer(Code.RECIPIENT_LOCKED)))["errorDesc"] == lgsp.message_of(23)


def test_the_retry_schedule_is_thirty_seconds_doubling_to_eight_minutes():
    assert [axis.retry_delay(n, 30, 480) for n in range(1, 8)] == [30, 60, 120, 240, 480, 480, 480]
    assert axis.retry_delay(0, 0.5, 2) == 0.5 and axis.retry_delay(4, 0.5, 2) == 2


def test_a_status_is_the_same_status_by_document_recipient_code_and_text():
    key = axis.status_key("000.00.00.H60,2026/11/21,1/UBND-VX", "000.00.20.H60", "03", "Đã vào sổ số 7")
    assert key == axis.status_key("000.00.00.H60,2026/11/21,1/UBND-VX", "000.00.20.H60", "03", "Đã vào sổ số 7")
    assert len(key) == 64
    others = [("000.00.00.H60,2026/11/21,2/UBND-VX", "000.00.20.H60", "03", "Đã vào sổ số 7"),
              ("000.00.00.H60,2026/11/21,1/UBND-VX", "000.00.21.H60", "03", "Đã vào sổ số 7"),
              ("000.00.00.H60,2026/11/21,1/UBND-VX", "000.00.20.H60", "04", "Đã vào sổ số 7"),
              ("000.00.00.H60,2026/11/21,1/UBND-VX", "000.00.20.H60", "03", "Đã vào sổ số 8")]
    assert len({key, *(axis.status_key(*o) for o in others)}) == 5


def test_an_lgsp_secret_is_kept_hashed_and_checked_per_protocol(tmp_path):
    store = VdxpStore(Database("vdxp", "hub.H60", VdxpBase.metadata, CommonSettings(data_dir=tmp_path)))
    secret = store.add_system("H60.TQ.001", "QLVB Sở GD&ĐT", protocol=LGSP)
    vdxp_secret = store.add_system("vxp.saas.01", protocol=VDXP)
    with store.db.session() as s:
        kept = s.get(VdxpSystem, "H60.TQ.001").secret
    assert secret not in kept and kept.startswith("sha256:") and len(secret) >= 40
    assert store.secret_matches("H60.TQ.001", secret, LGSP)
    assert not store.secret_matches("H60.TQ.001", secret + "x", LGSP)
    assert not store.secret_matches("H60.TQ.999", secret, LGSP) and not store.secret_matches("", "", LGSP)
    # Each protocol's systems are its own: no LGSP login with a VDXP system's key, no HMAC key of an LGSP system.
    assert not store.secret_matches("vxp.saas.01", vdxp_secret, LGSP)
    assert store.secret_of("H60.TQ.001") is None and store.secret_of("vxp.saas.01") == vdxp_secret
    assert store.systems(LGSP) == ["H60.TQ.001"] and store.systems(VDXP) == ["vxp.saas.01"]
    with pytest.raises(Refusal) as taken:
        store.add_system("vxp.saas.01", protocol=LGSP)
    assert taken.value.why == Why.CONFLICT
    # Re-keyed: the old secret stops working.
    again = store.add_system("H60.TQ.001", protocol=LGSP)
    assert store.secret_matches("H60.TQ.001", again, LGSP) and not store.secret_matches("H60.TQ.001", secret, LGSP)
    # An agency is one system's, whichever protocol: the relay delivers its copies to one queue.
    store.grant("vxp.saas.01", "000.00.20.H60")
    with pytest.raises(Refusal):
        store.grant("H60.TQ.001", "000.00.20.H60")
    assert [a.organ_id for a in store.agencies(protocol=VDXP)] == ["000.00.20.H60"]
    assert store.agencies(protocol=LGSP) == []
    store.db.dispose()
