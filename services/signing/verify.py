"""Verification of every signature of a PDF with pyHanko, and the report a clerk reads (domain.py decides).

Trust store: the demo trusts the root of the test PKI (`congvan pki init`); production trusts the government
roots of STANDARDS.md §7.1, loaded from files whose SHA-256 must match the pins below. The pins come from
public sources and are marked as NOT verified out of band: check them against ca.gov.vn before shipping.
Revocation: CRLs from the PKI dir and SIGNING_CRLS (offline), OCSP/CRL fetching only if allowed.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import InvalidCertificateError

from services.common.errors import ValidationFailed
from services.signing import domain
from services.signing.pki import load_certificate, load_crl
from services.signing.settings import SigningSettings

log = logging.getLogger(__name__)
# certvalidator logs a full traceback whenever no path can be built; the report already says so.
logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
logging.getLogger("pyhanko.sign.validation").setLevel(logging.CRITICAL)

# STANDARDS.md §7.1. Pins to be checked out of band (ca.gov.vn) before production use.
GOVERNMENT_ROOTS = [
    {"name": "RootCA chuyên dùng Chính phủ G2", "url": "http://ca.gov.vn/pki/pub/crt/rootcag2.crt",
     "sha256": "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8", "verified_out_of_band": False},
    {"name": "RootCA chuyên dùng Chính phủ G1", "url": "http://ca.gov.vn/pki/pub/cert/rootca.crt",
     "sha256": "F7BC89054CEC7F12730D7B8CD3EB7955B163835087E5EB873EDFB584763B3F90", "verified_out_of_band": False},
]
GOVERNMENT_INTERMEDIATES = [
    {"name": "CA phục vụ các cơ quan Nhà nước G2", "file": "cpg2.crt",
     "sha256": "D8CAB7A4AEF92E6BB2509D7C61CEE7B44F3731B2D21074963530277B366FAE4B"},
    {"name": "CA phục vụ các cơ quan Đảng G2", "file": "dcscag2.crt",
     "sha256": "E4B402E3CB4CACC0A20D21FA49BCE76BEB4EB47BA7FFB7A8F71C554DBE561A81"},
    {"name": "CA phục vụ các cơ quan Nhà nước (G1)", "file": "cp.crt",
     "sha256": "75E969C07BA35C29C72BBC1BFB880F20F3891A619B00B77EB02CA6160736A1FE"},
]
SIGNER_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


@dataclass
class TrustStore:
    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    revocation_mode: str = "soft-fail"
    allow_fetching: bool = False

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=[_asn1(c) for c in self.roots], other_certs=[_asn1(c) for c in self.intermediates],
            crls=[c.public_bytes(Encoding.DER) for c in self.crls], allow_fetching=self.allow_fetching,
            revocation_mode=self.revocation_mode)

    def revocation_of(self, cert: x509.Certificate) -> tuple[str, str | None]:
        """Offline CRL lookup for the report: good / revoked / unknown."""
        for crl in self.crls:
            if crl.issuer == cert.issuer:
                if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                    return "revoked", "CRL"
                return "good", "CRL"
        return "unknown", None


def pinned_roots(paths: list[Path]) -> list[x509.Certificate]:
    """Production: only files whose SHA-256 matches a government root pin."""
    pins = {r["sha256"] for r in GOVERNMENT_ROOTS}
    out = []
    for path in paths:
        cert = load_certificate(path)
        if fingerprint(cert) not in pins:
            raise ValidationFailed("Chứng thư gốc không khớp danh sách chứng thư gốc của Chính phủ.",
                                   path=str(path), sha256=fingerprint(cert))
        out.append(cert)
    return out


def trust_store(settings: SigningSettings, extra_roots: list[Path] | None = None) -> TrustStore:
    pki = settings.pki_dir
    root_paths = list(settings.signing_trust_roots)
    if settings.signing_trust_store == "production":
        roots = pinned_roots(root_paths + list(extra_roots or []))
        intermediates: list[x509.Certificate] = []
    else:
        if not root_paths and (pki / "root.pem").exists():
            root_paths = [pki / "root.pem"]  # the deployment's configured root; extra roots add to it
        roots = [load_certificate(p) for p in root_paths + list(extra_roots or [])]
        intermediates = [load_certificate(pki / "issuing.pem")] if (pki / "issuing.pem").exists() else []
    crl_paths = list(settings.signing_crls) + [p for p in (pki / "root.crl", pki / "issuing.crl") if p.exists()]
    return TrustStore(roots, intermediates, [load_crl(p) for p in crl_paths], settings.signing_revocation_mode,
                      settings.signing_allow_fetching)


def _subject(name: x509.Name) -> dict[str, str]:
    out = {}
    for attr in name:
        key = getattr(attr.oid, "_name", None) or attr.oid.dotted_string
        out[{"commonName": "common_name", "organizationName": "organization_name",
             "organizationIdentifier": "organization_identifier", "title": "title"}.get(key, key)] = str(attr.value)
    return out


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _facts(embedded, store: TrustStore, context: ValidationContext) -> domain.SignatureFacts:
    facts = domain.SignatureFacts(field=str(embedded.field_name))
    try:
        cert = x509.load_der_x509_certificate(embedded.signer_cert.dump())
    except Exception as exc:  # unreadable CMS: nothing more to learn
        facts.readable = False
        facts.error = str(exc)
        return facts
    subject = _subject(cert.subject)
    facts.role = domain.role_of(facts.field, subject)
    facts.signer = _cn(cert.subject)
    facts.issuer = _cn(cert.issuer)
    facts.serial = format(cert.serial_number, "X")
    facts.certifying = embedded.docmdp_level is not None
    reason = embedded.sig_object.get("/Reason")
    facts.reason = str(reason) if reason is not None else None
    facts.revocation, facts.revocation_source = store.revocation_of(cert)
    try:
        SIGNER_KEY_USAGE.validate(embedded.signer_cert)
    except InvalidCertificateError:
        facts.key_usage_ok = False
    try:
        status = validate_pdf_signature(embedded, context, ts_validation_context=context,
                                        key_usage_settings=SIGNER_KEY_USAGE)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        facts.readable = False
        facts.error = str(exc)
        return facts
    facts.signing_time = _iso(status.signer_reported_dt)
    facts.intact, facts.crypto_valid, facts.trusted = status.intact, status.valid, status.trusted
    facts.trust_problem = status.trust_problem_indic.name if status.trust_problem_indic else None
    if status.revoked:
        facts.revocation = "revoked"
    elif status.validation_path is None:
        # no path to a trusted root: a CRL found by issuer name proves nothing about this certificate
        facts.revocation, facts.revocation_source = "unknown", None
    if status.validation_path is not None and status.trusted:
        anchor = status.validation_path.trust_anchor.authority.name
        facts.trust_root = anchor.native.get("common_name") or anchor.human_friendly
    facts.coverage = status.coverage.name if status.coverage else None
    level = status.modification_level
    facts.modification_level = level.name if level is not None else None
    facts.docmdp_ok = status.docmdp_ok
    ts = status.timestamp_validity
    if ts is not None:
        facts.timestamp_time = _iso(ts.timestamp)
        facts.timestamp_ok = bool(ts.intact and ts.valid and ts.trusted)
    return facts


def verify_pdf(pdf: bytes, store: TrustStore, proven: dict[str, str] | None = None) -> dict[str, Any]:
    """The report of issue 4 item 6 (see docs/signing.md, "Reading a verification report"). `proven`: the
    signature fields that the archive time stamp chain shows valid when signed, with their signature time."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
        empty = [name for name, _, _ in fields.enumerate_sig_fields(reader, filled_status=False)]
    except (PdfError, ValueError) as exc:
        raise ValidationFailed("Tệp không phải PDF hợp lệ hoặc bị hỏng.", error=str(exc)) from exc
    context = store.context()
    facts = [_facts(e, store, context) for e in embedded]
    facts = [domain.proven_when_signed(f, proven[f.field]) if f.field in (proven or {}) else f for f in facts]
    doc = domain.judge_document(facts, empty)
    keep = ("field", "role", "signer", "issuer", "serial", "signing_time", "timestamp_time", "reason", "trusted",
            "trust_root", "intact", "coverage", "modification_level", "docmdp_ok", "certifying", "valid",
            "reasons_vi")
    signatures = []
    for f in facts:
        row = {k: v for k, v in asdict(f).items() if k in keep}
        row["revocation"] = {"status": f.revocation, "source": f.revocation_source}
        row["key_usage_ok"] = f.key_usage_ok
        row["timestamp_valid"] = f.timestamp_ok
        signatures.append(row)
    summary = doc.summary_vi
    if proven and doc.legally_valid:
        summary += (" Chữ ký được xác nhận hợp lệ tại thời điểm ký bằng chuỗi dấu thời gian lưu trữ (chứng thư số "
                    "của người ký nay đã hết hạn).")
    return {"verdict": str(doc.verdict), "legally_valid": doc.legally_valid, "summary_vi": summary,
            "missing_vi": doc.missing_vi, "empty_signature_fields": empty, "signatures": signatures,
            "trust_roots": [_cn(c.subject) for c in store.roots],
            "proven_by_archive_stamps": sorted(proven or {})}
