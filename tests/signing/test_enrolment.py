"""Certificate enrolment (issue 20 item 3): an administrator's upload (.cer DER or .pem) or the holder's token is
checked (chain to the configured roots, key usage, validity, revocation), bound to the holder, listed with the
30- and 7-day expiry warnings, exported as a Prometheus gauge; a key that does not carry the enrolled certificate
does not sign for the holder."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from prometheus_client import REGISTRY

from services.common.errors import ValidationFailed
from services.signing import pki
from services.signing.certificates import export_expiry
from services.signing.pkcs11 import provision_issued
from tests.signing.conftest import AGENCY, LEADER

ORG = "Ủy ban nhân dân tỉnh Tuyên Quang"


def _pem(issued) -> str:
    return issued.cert.public_bytes(Encoding.PEM).decode()


def _refused(signing, data, code: str, holder: str = "someone") -> str:
    with pytest.raises(ValidationFailed) as refused:
        signing.enrol_certificate(holder, "personal", data)
    assert refused.value.code == code, refused.value.to_dict()
    return refused.value.message_vi


def test_a_good_certificate_is_enrolled_from_pem_or_der_and_listed(signing, test_pki):
    issued = pki.issue_signer(test_pki, "Đỗ Thị Đăng Ký", org=ORG, title="Phó Chủ tịch")
    done = signing.enrol_certificate("dangky.ubnd", "personal", _pem(issued), enrolled_by="admin")
    assert done["subject"] == "Đỗ Thị Đăng Ký" and done["trust_root"].endswith("Root CA") and done["warning"] == 0
    der = issued.cert.public_bytes(Encoding.DER)
    again = signing.enrol_certificate("dangky.ubnd", "personal", der)  # a .cer file: DER bytes
    assert again["serial"] == done["serial"]
    listed = {c["holder"]: c for c in signing.enrolled_certificates()}
    assert listed["dangky.ubnd"]["subject"] == "Đỗ Thị Đăng Ký" and listed["dangky.ubnd"]["warning_vi"] == ""


def test_bad_certificates_are_refused_with_the_reason(signing, test_pki, tmp_path):
    assert "X.509" in _refused(signing, b"not a certificate", "bad_certificate")
    other = pki.init_pki(tmp_path / "other", [], ca_prefix="CA Lạ")
    stranger = pki.issue_signer(other, "Người Ngoài", org="Công ty lạ")
    assert "được tin cậy" in _refused(signing, _pem(stranger), "certificate_untrusted")
    now = datetime.now(UTC)
    old = pki.issue_signer(test_pki, "Hết Hạn", org=ORG, not_before=now - timedelta(days=400),
                           not_after=now - timedelta(days=2))
    assert "đã hết hạn" in _refused(signing, _pem(old), "certificate_expired")
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    wrong = pki.issue_signer(test_pki, "Sai Mục Đích", org=ORG, key_usage=usage)
    assert "không được phép dùng để ký" in _refused(signing, _pem(wrong), "certificate_key_usage")
    revoked = pki.issue_signer(test_pki, "Bị Thu Hồi", org=ORG)
    pki.revoke(test_pki, revoked.cert.serial_number)
    assert "thu hồi" in _refused(signing, _pem(revoked), "certificate_revoked")
    assert signing.enrolled_certificates() == []  # nothing refused was bound


def test_expiry_warnings_at_30_and_7_days_on_screen_data_and_as_a_metric(signing, test_pki):
    now = datetime.now(UTC)
    soon = pki.issue_signer(test_pki, "Sắp Hết Hạn", org=ORG, not_after=now + timedelta(days=20))
    very = pki.issue_signer(test_pki, "Rất Sắp Hết Hạn", org=ORG, not_after=now + timedelta(days=5))
    assert signing.enrol_certificate("soon.ubnd", "personal", _pem(soon))["warning"] == 30
    assert signing.enrol_certificate("very.ubnd", "personal", _pem(very))["warning"] == 7
    listed = {c["holder"]: c for c in signing.enrolled_certificates()}
    assert "dưới 30 ngày" in listed["soon.ubnd"]["warning_vi"] and "dưới 7 ngày" in listed["very.ubnd"]["warning_vi"]
    export_expiry(signing.settings, signing.db)

    def warning(subject: str, serial: int) -> float | None:
        return REGISTRY.get_sample_value("congvan_signing_certificate_expiry_warning_days", {
            "agency": AGENCY, "role": "leader", "subject": subject, "serial": format(serial, "x")})

    assert warning("Sắp Hết Hạn", soon.cert.serial_number) == 30
    assert warning("Rất Sắp Hết Hạn", very.cert.serial_number) == 7


def test_read_from_the_token_and_only_that_certificate_signs(signing, test_pki, softhsm, draft_bytes):
    pin = secrets.token_hex(4)
    issued = pki.issue_signer(test_pki, "Trần Văn Thẻ", org=ORG, title="Phó Chủ tịch")
    ref = provision_issued(softhsm, "enrol-" + secrets.token_hex(3), issued, pin)
    done = signing.enrol_certificate("thetv.ubnd", "personal", key_ref=ref)  # no file, no PIN: read from the token
    assert done["subject"] == "Trần Văn Thẻ"
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    assert signing.sign_leader(prepared["sha256"], "thetv.ubnd", pin=pin)["sha256"]
    # the demo leader's certificate is enrolled, but his key on the server carries another one: refused
    other = pki.issue_signer(test_pki, "Nguyễn Văn An", org=ORG, title="Chủ tịch")
    signing.enrol_certificate(LEADER, "personal", _pem(other))
    with pytest.raises(ValidationFailed) as refused:
        signing.sign_leader(prepared["sha256"], LEADER)
    assert refused.value.code == "certificate_not_enrolled"


def test_congvan_pki_enrol_checks_and_binds(signing, test_pki, tmp_path):
    from tests.signing.test_cli import run_cli

    good = pki.issue_signer(test_pki, "Vũ Thị Dòng Lệnh", org=ORG)
    (tmp_path / "good.pem").write_text(_pem(good))
    env = {"DATA_DIR": str(signing.settings.data_dir), "SIGNING_PKI_DIR": str(test_pki.dir)}
    done = run_cli("pki", "enrol", str(tmp_path / "good.pem"), "--agency", AGENCY, "--holder", "vtdl.ubnd", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {c["holder"]: c["subject"] for c in signing.enrolled_certificates()}["vtdl.ubnd"] == "Vũ Thị Dòng Lệnh"
    (tmp_path / "bad.cer").write_bytes(b"\x30\x03garbage")
    refused = run_cli("pki", "enrol", str(tmp_path / "bad.cer"), "--agency", AGENCY, "--holder", "x", env=env)
    assert refused.returncode == 1 and "X.509" in refused.stdout
