"""Long-term validity: PAdES B-LT and B-LTA (ETSI EN 319 142-1 §5.4, §5.5) and the archive time stamp chain.

Archives keep documents for 10, 20, 70 years or permanently (TT 10/2022/TT-BNV), far longer than a certificate
(3 years), a time stamp authority's certificate (3 years) or a CRL (days) lives. So at issue, with a TSA configured:
  - B-LT: the certificates and CRLs (or OCSP responses) of every signature and of its time stamps go into the
    document security store (/DSS), one incremental update;
  - B-LTA: a document time stamp over everything (/DocTimeStamp), which proves that the DSS existed then.
Before the last time stamp's certificate expires, `refresh` (congvan archive refresh) adds the last stamp's chain
and the CRLs of now to the DSS, and a new document time stamp from the TSA's renewed certificate over it; each
stamp keeps the evidence of the ones before (EN 319 102-1 §5.6.3, the time stamps as evidence record).
`validate` judges the document at any moment, offline, from what the PDF carries: a signature whose certificate
has long expired and whose CRL server no longer answers is still "valid when signed" if the chain of time stamps
proves that it was valid then (tests/signing/test_long_term.py moves the clock fifteen years).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import core, tsp
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import PdfTimeStamper
from pyhanko.sign.general import find_cms_attribute_iter
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

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
    # At issue, the signatures; at a refresh, the last document time stamp only: the earlier certificates may
    # have expired by then, and their validation data is already in the DSS, under a later stamp.
    signatures = list(reader.embedded_timestamp_signatures)[-1:] if timestamps else \
        list(reader.embedded_regular_signatures)
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
    """A new archive time stamp over the document, after the last stamp's chain and revocation data of now."""
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


def _dss_context(dss: DocumentSecurityStore, store: TrustStore, moment: datetime) -> ValidationContext:
    """Judge at `moment` with the certificates and CRLs the document carries, nothing else: offline, the CRL
    servers may be long gone. Every CRL counts, whenever it was added (a CA signs it, so it speaks for itself):
    one issued later that dates a revocation back before `moment` still revokes (retroactive), and one issued
    after the signature still vouches for it, which is what the DSS added at issue is for."""
    return dss.as_validation_context({
        "trust_roots": [_asn1(c) for c in store.roots], "allow_fetching": False, "moment": moment,
        "best_signature_time": moment, "revocation_mode": "hard-fail", "retroactive_revinfo": True})


def _stamp_chain(reader: PdfFileReader, dss: DocumentSecurityStore | None, store: TrustStore,
                 at: datetime) -> tuple[datetime | None, str]:
    """The time since which the signed revisions provably exist, from the chain of document time stamps
    (EN 319 102-1 §5.6.2.5, the stamps as an evidence record): the newest is judged at `at` (intact, trusted,
    its TSA certificate unexpired); each older one at the time of the next, with the revocation data the document
    carries. Returns (the oldest proven stamp's time, "OK") or (None, why not)."""
    stamps = list(reader.embedded_timestamp_signatures)
    if not stamps:
        return None, "NO_POE"
    moment, context = at, ValidationContext(trust_roots=[_asn1(c) for c in store.roots], allow_fetching=False,
                                            moment=at, revocation_mode="soft-fail")
    for index in range(len(stamps) - 1, -1, -1):
        status = asyncio.run(async_validate_pdf_timestamp(stamps[index], validation_context=context))
        if not (status.intact and status.valid):
            return None, "HASH_FAILURE" if not status.intact else "SIG_CRYPTO_FAILURE"
        if not status.trusted:
            return None, "OUT_OF_BOUNDS_NO_POE" if index == len(stamps) - 1 else "REVOKED_NO_POE"
        moment = status.timestamp
        context = _dss_context(dss, store, moment)
    return moment, "OK"


def _judge(sig, dss: DocumentSecurityStore, store: TrustStore, proven_at: datetime) -> LongTermResult:
    """A signature is valid when signed if the chain proves that it existed (the first document time stamp
    came after its own signature time stamp) and, at its signature time, its certificate chained to a trusted
    root and was not revoked according to the CRLs the document carries."""
    ts_context = _dss_context(dss, store, proven_at)
    # One validation: the signer is judged at the time its time stamp states, read before the stamp is checked;
    # the stamp is checked in the same call (at proven_at), and only a stamp it finds valid decides.
    claimed = _stamp_time(sig)
    status = _validate(sig, dss, store, ts_context, claimed or proven_at)
    stamp = status.timestamp_validity
    if stamp is None or not (stamp.intact and stamp.valid and stamp.trusted) or stamp.timestamp > proven_at:
        return LongTermResult(str(sig.field_name), "indeterminate", "NO_POE", None, False)
    signed_at = stamp.timestamp
    if signed_at != claimed:  # several stamps and not the first one trusted: the signer is judged at the one that is
        status = _validate(sig, dss, store, ts_context, signed_at)
    if not (status.intact and status.valid):
        return LongTermResult(str(sig.field_name), "failed", "HASH_FAILURE" if not status.intact
                              else "SIG_CRYPTO_FAILURE", signed_at, False)
    if status.revoked:
        return LongTermResult(str(sig.field_name), "failed", "REVOKED", signed_at, False)
    if not status.trusted:
        return LongTermResult(str(sig.field_name), "indeterminate", "CERTIFICATE_CHAIN_GENERAL_FAILURE",
                              signed_at, False)
    return LongTermResult(str(sig.field_name), "passed", "OK", signed_at, True)


def _stamp_time(sig) -> datetime | None:
    """The time the signature's first time stamp token states, unchecked; None without a readable one (then the
    validation refuses the token as it always did)."""
    for token in find_cms_attribute_iter(sig.signer_info["unsigned_attrs"], "signature_time_stamp_token"):
        content = token["content"]["encap_content_info"]["content"]
        try:
            info = content.parsed if isinstance(content, core.ParsableOctetString) else None
            return info["gen_time"].native if isinstance(info, tsp.TSTInfo) else None
        except ValueError:
            return None
    return None


def _validate(sig, dss: DocumentSecurityStore, store: TrustStore, ts_context: ValidationContext,
              signed_at: datetime):
    return asyncio.run(async_validate_pdf_signature(sig, signer_validation_context=_dss_context(dss, store, signed_at),
                                                    ts_validation_context=ts_context,
                                                    key_usage_settings=SIGNER_KEY_USAGE))


def validate(pdf: bytes, store: TrustStore, at: datetime) -> list[LongTermResult]:
    """Every signature judged at the moment `at` (e.g. fifteen years from now), offline, from what the PDF carries.

    pyHanko's AdES LTA validation (0.38) is not used here: its time sliding takes CRLs issued after an old time
    stamp's certificate expired as the latest word on it and then finds that certificate expired, and it cannot
    place a CRL signed by the signer's issuing CA when that CA is the anchor of its truncated path; a chain of
    renewed time stamps therefore never validates. This is the same judgment, made with pyHanko's point-in-time
    validation at the times the chain proves."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    # read once: every link of the chain and every signature is judged with the same certificates and CRLs
    dss = DocumentSecurityStore.read_dss(reader) if reader.embedded_timestamp_signatures else None
    proven_at, why = _stamp_chain(reader, dss, store, at)
    out = []
    for sig in reader.embedded_regular_signatures:
        if proven_at is None:
            out.append(LongTermResult(str(sig.field_name), "indeterminate", why, None, False))
        else:
            out.append(_judge(sig, dss, store, proven_at))
    return out
