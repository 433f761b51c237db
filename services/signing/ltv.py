"""Long-term validity: PAdES B-LT and B-LTA (ETSI EN 319 142-1 §5.4, §5.5) and the archive time stamp chain.

Archives keep documents for 10, 20, 70 years or permanently (TT 10/2022/TT-BNV), far longer than a certificate
(3 years), a CA (10 years) or a CRL (days) lives. So at issue, with a TSA configured:
  - B-LT: the certificates and CRLs (or OCSP responses) of every signature and of its time stamps go into the
    document security store (/DSS), one incremental update;
  - B-LTA: a document time stamp over everything (/DocTimeStamp), which proves that the DSS existed then.
Before the last time stamp's certificate expires, `refresh` (congvan archive refresh) adds the revocation data now
available (CRLs issued after the signatures, the last time stamp's chain) and a new document time stamp; each
stamp keeps the evidence of the ones before (EN 319 102-1 §5.6.3, the time stamps as evidence record).
`validate` judges the document at any moment, offline, from what the PDF carries: a signature whose certificate
has long expired, whose CA is gone and whose CRL server no longer answers is still "valid when signed" if the
chain of time stamps proves that it was valid then (pyHanko's AdES LTA validation).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import PdfTimeStamper
from pyhanko.sign.ades.report import AdESPassed, AdESStatus
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator import policy_decl as cert_policy
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.registry import SimpleTrustManager

from services.signing.verify import SIGNER_KEY_USAGE, TrustStore, _asn1

DEFAULT_REFRESH_WITHIN = timedelta(days=365)  # re-stamp a year before the last stamp's certificate expires


def _context(store: TrustStore, moment: datetime | None = None) -> ValidationContext:
    """Revocation data for the DSS: what the trust store has offline (and the network, if fetching is allowed).
    "require" so that pyHanko gathers it for every certificate of the path instead of tolerating a gap."""
    return ValidationContext(
        trust_roots=[_asn1(c) for c in store.roots], other_certs=[_asn1(c) for c in store.intermediates],
        crls=[c.public_bytes(Encoding.DER) for c in store.crls], allow_fetching=store.allow_fetching,
        revocation_mode="require", moment=moment, best_signature_time=moment)


def _with_dss(pdf: bytes, vc: ValidationContext, *, timestamps: bool) -> bytes:
    """One incremental update that adds to the DSS the paths and revocation data of every signature (and, when
    refreshing, of every document time stamp)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    reader = writer.prev
    signatures = list(reader.embedded_regular_signatures)
    if timestamps:
        signatures += list(reader.embedded_timestamp_signatures)
    for sig in signatures:
        paths = asyncio.run(collect_validation_info(sig, vc))
        # a VRI entry once, at issue: changing an existing one later is a modification validators refuse
        vri = None if timestamps else sig.pkcs7_content.hex().encode()
        DocumentSecurityStore.supply_dss_in_writer(writer, vri, paths=paths, validation_context=vc)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _stamp(pdf: bytes, timestamper: TimeStamper, vc: ValidationContext) -> bytes:
    out = PdfTimeStamper(timestamper).timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False),
                                                    "sha256", validation_context=vc)
    return out.getvalue()


def extend(pdf: bytes, store: TrustStore, timestamper: TimeStamper, moment: datetime | None = None) -> bytes:
    """B-T → B-LT (DSS) → B-LTA (document time stamp): what the issue step does with a TSA configured."""
    vc = _context(store, moment)
    return _stamp(_with_dss(pdf, vc, timestamps=False), timestamper, vc)


def refresh(pdf: bytes, store: TrustStore, timestamper: TimeStamper, moment: datetime | None = None) -> bytes:
    """A new archive time stamp over the document, after the revocation data available now (moment)."""
    vc = _context(store, moment)
    return _stamp(_with_dss(pdf, vc, timestamps=True), timestamper, vc)


def last_timestamp_expiry(pdf: bytes) -> datetime | None:
    """notAfter of the certificate of the last document time stamp; None for a document without one (B-B/B-T)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamps = list(reader.embedded_timestamp_signatures)
    if not stamps:
        return None
    return stamps[-1].signer_cert.not_valid_after


def needs_refresh(pdf: bytes, now: datetime, within: timedelta = DEFAULT_REFRESH_WITHIN) -> bool:
    expiry = last_timestamp_expiry(pdf)
    return expiry is None or expiry - now <= within


@dataclass(frozen=True)
class LongTermResult:
    field: str
    status: str                         # passed | indeterminate | failed (ETSI EN 319 102-1 main indication)
    subindication: str
    best_signature_time: datetime | None
    valid_when_signed: bool

    def to_dict(self) -> dict:
        return {"field": self.field, "status": self.status, "subindication": self.subindication,
                "best_signature_time": self.best_signature_time.isoformat() if self.best_signature_time else None,
                "valid_when_signed": self.valid_when_signed}


def _spec(store: TrustStore) -> PdfSignatureValidationSpec:
    trust = SimpleTrustManager.build([_asn1(c) for c in store.roots])
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=trust, revinfo_policy=cert_policy.CertRevTrustPolicy(
                revocation_checking_policy=cert_policy.REQUIRE_REVINFO,
                freshness_req_type=cert_policy.FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION)),
        # A time stamp authority's certificate is judged by the chain of stamps, not by a CRL fetched today
        # (RFC 3161 TSAs commonly carry id-pkix-ocsp-nocheck for the same reason).
        ts_cert_validation_policy=CertValidationPolicySpec(
            trust_manager=trust, revinfo_policy=cert_policy.CertRevTrustPolicy(
                revocation_checking_policy=cert_policy.NO_REVOCATION)),
        # Only what the PDF carries and what the trust store holds: the CRL servers may be long gone.
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
        key_usage_settings=SIGNER_KEY_USAGE))


def validate(pdf: bytes, store: TrustStore, at: datetime) -> list[LongTermResult]:
    """AdES LTA validation of every signature at the moment `at` (e.g. fifteen years from now), offline."""
    spec = _spec(store)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out = []
    for sig in reader.embedded_regular_signatures:
        result = asyncio.run(ades.ades_lta_validation(sig, spec, timing_info=ValidationTimingInfo(at, at, False)))
        indic = result.ades_subindic
        out.append(LongTermResult(str(sig.field_name), indic.status.name.lower(), indic.name,
                                  result.best_signature_time,
                                  indic.status == AdESStatus.PASSED and indic == AdESPassed.OK))
    return out
