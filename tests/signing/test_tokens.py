"""Personal tokens (issue 20 item 1): each signer's key on their own SoftHSM2 token, the PIN typed at signing, wiped
after use, never logged; a wrong PIN and the token's own lock get clear Vietnamese messages."""

from __future__ import annotations

import logging
import secrets

import pytest
from pkcs11 import exceptions as p11
from sqlalchemy import func, select

from services.common.errors import CongVanError, Forbidden, ValidationFailed
from services.signing import pki
from services.signing.models import Operation
from services.signing.pkcs11 import (
    CKF_USER_PIN_COUNT_LOW,
    CKF_USER_PIN_FINAL_TRY,
    CKF_USER_PIN_LOCKED,
    Pin,
    pin_error,
    provision_issued,
)
from services.signing.workflow import seal_holder
from tests.signing.conftest import AGENCY

ORG = "Ủy ban nhân dân tỉnh Tuyên Quang"


def _person_token(softhsm, test_pki, signing, holder: str, name: str) -> str:
    pin = secrets.token_hex(4)
    issued = pki.issue_signer(test_pki, name, org=ORG, title="Phó Chủ tịch")
    ref = provision_issued(softhsm, holder, issued, pin)
    signing.register_certificate(holder, "personal", ref)  # the administrator needs no PIN to bind it
    return pin


def _seal_token(softhsm, test_pki, signing) -> str:
    pin = secrets.token_hex(4)
    issued = pki.issue_signer(test_pki, ORG, org=ORG, org_id=f"VN:{AGENCY}")
    holder = seal_holder(AGENCY) + "-" + secrets.token_hex(2)  # a label of its own in the session's token dir
    signing.register_certificate(seal_holder(AGENCY), "seal", provision_issued(softhsm, holder, issued, pin))
    return pin


@pytest.fixture
def tokens_only(signing):
    signing.settings.signing_server_held_keys = False
    return signing


def test_leader_and_clerk_sign_with_the_pins_they_type(softhsm, test_pki, tokens_only, draft_bytes, caplog):
    signing = tokens_only
    leader_pin = _person_token(softhsm, test_pki, signing, "hoangvt.ubnd", "Hoàng Văn Thẻ")
    seal_pin = _seal_token(softhsm, test_pki, signing)
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    caplog.set_level(logging.DEBUG)
    typed = Pin(leader_pin)
    leader = signing.sign_leader(prepared["sha256"], "hoangvt.ubnd", operation_id="draft:1:step:0:sign", pin=typed)
    assert typed.wiped  # zeroed as soon as the token accepted it
    sealed = signing.fill_and_seal(leader["sha256"], "Số: 16/QĐ-UBND", "Tuyên Quang, ngày 22 tháng 11 năm 2026",
                                   "16/QĐ-UBND", operation_id="outgoing:1:seal", pin=seal_pin)
    report = signing.verify(sealed["sha256"])
    assert report["verdict"] == "valid", report
    assert {s["signer"] for s in report["signatures"]} == {"Hoàng Văn Thẻ", ORG}
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert leader_pin not in logged and seal_pin not in logged


def test_without_a_pin_a_token_does_not_sign_and_server_held_files_are_refused(softhsm, test_pki, tokens_only,
                                                                                draft_bytes):
    signing = tokens_only
    _person_token(softhsm, test_pki, signing, "nopin.ubnd", "Không Có PIN")
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    with pytest.raises(ValidationFailed) as missing:
        signing.sign_leader(prepared["sha256"], "nopin.ubnd")
    assert missing.value.code == "pin_required" and "nhập mã PIN" in missing.value.message_vi
    # the demo leader's PKCS#12 file on the server: a test installation's key, refused here
    with pytest.raises(CongVanError) as held:
        signing.sign_leader(prepared["sha256"], "annv.ubnd")
    assert "bản cài đặt thử nghiệm" in held.value.message_vi


def test_a_wrong_pin_says_so_signs_nothing_and_the_right_one_then_signs(softhsm, test_pki, tokens_only,
                                                                         draft_bytes):
    signing = tokens_only
    pin = _person_token(softhsm, test_pki, signing, "saipin.ubnd", "Nhập Sai PIN")
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    wrong = "0" + pin
    with pytest.raises(ValidationFailed) as refused:
        signing.sign_leader(prepared["sha256"], "saipin.ubnd", operation_id="draft:2:step:0:sign", pin=wrong)
    assert refused.value.code == "pin_incorrect"
    assert refused.value.message_vi.startswith("Mã PIN của thiết bị ký số không đúng; văn bản chưa được ký.")
    assert wrong not in repr(refused.value.args) and pin not in repr(refused.value.args)
    with signing.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Operation)) == 1  # only prepare_draft's
    signed = signing.sign_leader(prepared["sha256"], "saipin.ubnd", operation_id="draft:2:step:0:sign", pin=pin)
    assert signing.verify(signed["sha256"])["signatures"][0]["signer"] == "Nhập Sai PIN"


def test_the_tokens_own_lock_is_reported_as_a_lock():
    # SoftHSM2 keeps no retry counter, so the token's CKR_PIN_LOCKED (and the token flags) are mapped here
    locked = pin_error(p11.PinLocked(), "cv-annv.ubnd")
    assert isinstance(locked, Forbidden) and locked.code == "pin_locked"
    assert "tự khóa" in locked.message_vi and "SO PIN" in locked.message_vi
    assert pin_error(p11.PinIncorrect(), "t", CKF_USER_PIN_LOCKED).code == "pin_locked"
    last = pin_error(p11.PinIncorrect(), "t", CKF_USER_PIN_FINAL_TRY)
    assert last.code == "pin_incorrect" and "MỘT lần thử" in last.message_vi
    # COUNT_LOW is set by a single wrong PIN (PKCS#11): the message must not say "many times"
    once = pin_error(p11.PinIncorrect(), "t", CKF_USER_PIN_COUNT_LOW).message_vi
    assert "Đã có lần nhập sai mã PIN" in once and "nhiều lần" not in once


def test_a_pin_is_never_shown_and_is_zeroed():
    buffer = bytearray(b"123456")
    pin = Pin(buffer)
    assert buffer == bytearray(6)  # the caller's buffer was taken over and cleared
    assert "123456" not in repr(pin) and "123456" not in str(pin) and pin.encode() == b"123456"
    pin.wipe()
    assert pin.wiped
    with pytest.raises(ValidationFailed):
        pin.encode()
