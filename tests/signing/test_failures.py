"""Each failure gives the right verdict and a Vietnamese reason a clerk can read."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers import SimpleSigner
from pyhanko.stamp import TextStamp, TextStampStyle

from services.interconnect.topology import DEMO
from services.signing import fonts, layout, pades, pki
from services.signing.verify import trust_store, verify_pdf
from tests.signing.test_flow import DATE, NUMBER, issue

AGENCY_NAME = "Ủy ban nhân dân tỉnh Tuyên Quang"


def _signer(test_pki: pki.Pki, issued: pki.Issued, name: str) -> SimpleSigner:
    entry = pki.save_signer(test_pki, issued, f"special/{name}.p12", name)
    return SimpleSigner.load_pkcs12(str(test_pki.dir / entry["p12"]), passphrase=test_pki.password)


def _leader_then_seal(signing, draft: bytes, leader_signer: SimpleSigner) -> bytes:
    """The flow with a given leader key (the agency's own seal key afterwards)."""
    prepared = signing.blobs.read(signing.prepare_draft(signing.blobs.put_bytes(draft).sha256)["sha256"])
    font = fonts.stamp_font(signing.settings.font_dir)
    signed = pades.sign_leader(prepared, leader_signer, pades.Appearance(font=font, text="Người ký"))
    return signing.blobs.read(signing.fill_and_seal(signing.blobs.put_bytes(signed).sha256, NUMBER, DATE,
                                                    "15/QĐ-UBND")["sha256"])


def _report(signing, pdf: bytes) -> dict:
    return verify_pdf(pdf, trust_store(signing.settings))


def _leader(report: dict) -> dict:
    return next(s for s in report["signatures"] if s["field"] == "LanhDao")


def test_one_byte_flipped_is_invalid(signing, draft_bytes):
    pdf = bytearray(signing.blobs.read(issue(signing, draft_bytes)["sha256"]))
    # a byte of the draft's first content stream, covered by both signatures
    at = pdf.index(b"stream", pdf.index(b"/Filter")) + 40
    pdf[at] ^= 0x01
    report = _report(signing, bytes(pdf))
    assert report["verdict"] == "invalid" and not report["legally_valid"]
    for sig in report["signatures"]:
        assert not sig["intact"] and not sig["valid"]
        assert "Nội dung văn bản đã bị thay đổi sau khi ký" in sig["reasons_vi"][0]
    assert "không hợp lệ" in report["summary_vi"]


def test_content_stamped_after_the_leader_signed_is_invalid(signing, draft_bytes):
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    signed = signing.blobs.read(signing.sign_leader(prepared["sha256"], "annv.ubnd")["sha256"])
    # the wrong way: write the number into the page content instead of filling the prepared field
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    font = fonts.stamp_font(signing.settings.font_dir)
    style = TextStampStyle(stamp_text=NUMBER, border_width=0, text_box_style=pades._text_style(font, 12))
    TextStamp(writer, style).apply(0, 90, 700)
    out = io.BytesIO()
    writer.write(out)
    report = _report(signing, out.getvalue())
    assert report["verdict"] == "invalid"
    leader = _leader(report)
    assert leader["intact"] and leader["modification_level"] == "OTHER" and leader["docmdp_ok"] is False
    assert any("sửa đổi sau khi ký theo cách không được phép" in r for r in leader["reasons_vi"])


def test_expired_certificate_is_invalid(signing, test_pki, draft_bytes):
    past = datetime.now(UTC) - timedelta(days=30)
    issued = pki.issue_signer(test_pki, "Nguyễn Văn Hết Hạn", org=AGENCY_NAME, title="Phó Chủ tịch",
                              not_before=past - timedelta(days=365), not_after=past)
    report = _report(signing, _leader_then_seal(signing, draft_bytes, _signer(test_pki, issued, "expired")))
    assert report["verdict"] == "invalid"
    leader = _leader(report)
    assert leader["intact"] and not leader["trusted"] and not leader["valid"]
    assert any("hết hạn" in r for r in leader["reasons_vi"])


def test_certificate_revoked_by_crl_is_invalid(signing, draft_bytes, tmp_path_factory):
    # a PKI of its own: revoking changes the CRL that every other test reads
    own = pki.init_pki(tmp_path_factory.mktemp("pki-revoked"), pki.demo_agencies(DEMO.agencies[:1]))
    issued = pki.issue_signer(own, "Trần Văn Thu Hồi", org=AGENCY_NAME, title="Phó Chủ tịch")
    signer = _signer(own, issued, "revoked")
    signing.settings.signing_pki_dir = own.dir
    pdf = _leader_then_seal(signing, draft_bytes, signer)
    assert _report(signing, pdf)["verdict"] == "valid"  # the same file before the revocation
    pki.revoke(own, issued.cert.serial_number)
    report = _report(signing, pdf)
    assert report["verdict"] == "invalid"
    leader = _leader(report)
    assert leader["revocation"] == {"status": "revoked", "source": "CRL"} and not leader["valid"]
    assert "Chứng thư số của người ký đã bị thu hồi." in leader["reasons_vi"]


def test_untrusted_root_gives_untrusted(signing, draft_bytes, tmp_path_factory):
    foreign = pki.init_pki(tmp_path_factory.mktemp("pki-foreign"), pki.demo_agencies(DEMO.agencies[:1]),
                           ca_prefix="Foreign Test")
    trusted_store = trust_store(signing.settings)
    signing.settings.signing_pki_dir = foreign.dir
    pdf = signing.blobs.read(issue(signing, draft_bytes)["sha256"])
    report = verify_pdf(pdf, trusted_store)
    assert report["verdict"] == "untrusted" and not report["legally_valid"]
    for sig in report["signatures"]:
        assert sig["intact"] and not sig["trusted"] and sig["trust_root"] is None
        assert any("không thuộc tổ chức chứng thực được tin cậy" in r for r in sig["reasons_vi"])


def test_wrong_key_usage_is_invalid(signing, test_pki, draft_bytes):
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    issued = pki.issue_signer(test_pki, "Lê Văn Sai Mục Đích", org=AGENCY_NAME, title="Phó Chủ tịch",
                              key_usage=usage)
    report = _report(signing, _leader_then_seal(signing, draft_bytes, _signer(test_pki, issued, "wrong-ku")))
    assert report["verdict"] == "invalid"
    leader = _leader(report)
    assert not leader["key_usage_ok"] and not leader["valid"]
    assert any("sai mục đích sử dụng khóa" in r for r in leader["reasons_vi"])


def test_missing_seal_gives_incomplete(signing, draft_bytes):
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    signed = signing.blobs.read(signing.sign_leader(prepared["sha256"], "annv.ubnd")["sha256"])
    filled = pades.fill_fields(signed, {layout.NUMBER_FIELD: NUMBER, layout.DATE_FIELD: DATE},
                               fonts.stamp_font(signing.settings.font_dir))
    report = _report(signing, filled)
    assert report["verdict"] == "incomplete" and not report["legally_valid"]
    assert report["signatures"][0]["valid"]
    assert report["empty_signature_fields"] == ["DauCoQuan"]
    assert "Văn bản chưa có chữ ký số của cơ quan, tổ chức (con dấu)." in report["missing_vi"]
    assert "chưa đủ giá trị pháp lý" in report["summary_vi"]


def test_unsigned_pdf_gives_unsigned(signing, draft_bytes):
    report = _report(signing, draft_bytes)
    assert report["verdict"] == "unsigned" and report["signatures"] == []


@pytest.mark.parametrize("bad", [b"not a pdf at all", b"%PDF-1.4\n%%EOF"])
def test_garbage_is_refused_with_a_vietnamese_message(signing, bad):
    from services.common.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        signing.verify(signing.blobs.put_bytes(bad).sha256)
    assert "PDF" in err.value.message_vi

