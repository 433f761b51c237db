"""PAdES B-T with the local RFC 3161 TSA, and the PKCS#11 path with a throwaway SoftHSM2 token."""

from __future__ import annotations

import pytest

from services.signing import pki
from services.signing.pkcs11 import provision_issued
from tests.signing.conftest import local_server
from tests.signing.test_flow import issue


@pytest.fixture
def tsa_url(test_pki):
    with local_server("services.signing.tsa", "--pki-dir", str(test_pki.dir)) as port:
        yield f"http://127.0.0.1:{port}/"


def test_pades_b_t_with_the_local_tsa(signing, draft_bytes, tsa_url):
    signing.settings.signing_tsa_url = tsa_url
    report = signing.verify(issue(signing, draft_bytes)["sha256"])
    assert report["verdict"] == "valid"
    for sig in report["signatures"]:
        assert sig["timestamp_time"] is not None and sig["timestamp_valid"] is True


def test_pkcs11_token_signs_and_verifies(signing, test_pki, draft_bytes, softhsm, monkeypatch):
    """A server-held token (its PIN in the settings: test installations only) still signs."""
    label, pin = "congvan-test", "246810"
    issued = pki.issue_signer(test_pki, "Hoàng Văn Token", org="Ủy ban nhân dân tỉnh Tuyên Quang",
                              title="Phó Chủ tịch")
    provision_issued(softhsm, "leader", issued, pin, label=label, object_label="leader")
    signing.settings.signing_pkcs11_module = softhsm
    signing.settings.signing_pkcs11_token_label = label
    monkeypatch.setattr(signing.settings, "signing_pkcs11_pin", type(signing.settings.signing_pkcs11_pin)(pin))
    signing.register_certificate("hoangvt.ubnd", "personal", {"source": "pkcs11", "key_label": "leader",
                                                              "cert_label": "leader"})
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    leader = signing.sign_leader(prepared["sha256"], "hoangvt.ubnd")
    sealed = signing.fill_and_seal(leader["sha256"], "Số: 16/QĐ-UBND", "Tuyên Quang, ngày 22 tháng 11 năm 2026",
                                   "16/QĐ-UBND")
    report = signing.verify(sealed["sha256"])
    assert report["verdict"] == "valid"
    lead = next(s for s in report["signatures"] if s["field"] == "LanhDao")
    assert lead["signer"] == "Hoàng Văn Token" and lead["valid"] and lead["modification_level"] == "FORM_FILLING"
