"""Certificate enrolment (issue 20 item 3): an administrator uploads a person's or the agency's certificate (.cer
DER or .pem, or read from the holder's token); the product checks it and binds it to the holder.

Checks, in the order a person can act on them:
  validity    notBefore ≤ now ≤ notAfter;
  key usage   digitalSignature or nonRepudiation (what the verifier requires of a signer, verify.SIGNER_KEY_USAGE);
  chain       a path to a configured root (the Ban Cơ yếu roots in production: verify.trust_store);
  revocation  the CRLs of the trust store (and OCSP/CRL fetching if allowed); revoked is always refused.
Tuyên Quang Quy chế Đ21.1b makes heads responsible for their certificates: the screen and the metric warn 30 and
7 days before a certificate expires (`expiry_warning`).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)

from services.common.errors import ValidationFailed
from services.signing.verify import SIGNER_KEY_USAGE, TrustStore

WARN_DAYS = (30, 7)   # the two warnings; 0 = expired
MAX_CERTIFICATE = 64 * 1024


def parse_certificate(data: bytes | str) -> asn1_x509.Certificate:
    """A certificate from .cer (DER), .pem, or base64 text; anything else is a clear error."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if not raw or len(raw) > MAX_CERTIFICATE:
        raise ValidationFailed("Tệp chứng thư số trống hoặc quá lớn (tối đa 64 KB).", code="bad_certificate")
    try:
        if not asn1_pem.detect(raw) and not raw.startswith(b"\x30"):  # base64 text over RPC: .cer or .pem
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        if asn1_pem.detect(raw):
            _, _, raw = asn1_pem.unarmor(raw)
        cert = asn1_x509.Certificate.load(raw)
        cert.native  # noqa: B018 -- parse it all now: asn1crypto is lazy
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("Tệp không phải chứng thư số X.509 (.cer hoặc .pem).", code="bad_certificate",
                               error=str(exc)[:200]) from exc
    return cert


def common_name(cert: asn1_x509.Certificate) -> str:
    return common_name_of(cert.subject)


def days_left(cert: asn1_x509.Certificate, now: datetime) -> int:
    return (cert.not_valid_after - now).days


def expiry_warning(not_after: datetime, now: datetime) -> int:
    """0 none · 30 expires within 30 days · 7 within 7 days · -1 expired (also the metric's value)."""
    left = (not_after - now).total_seconds() / 86400
    if left < 0:
        return -1
    return next((d for d in sorted(WARN_DAYS) if left <= d), 0)


def warning_text(not_after: datetime, now: datetime) -> str:
    level = expiry_warning(not_after, now)
    if level == -1:
        return "Chứng thư số đã hết hạn: người giữ không ký được nữa, cần gia hạn ngay."
    if level:
        return f"Chứng thư số còn {max(0, (not_after - now).days)} ngày là hết hạn (dưới {level} ngày): cần gia hạn."
    return ""


@dataclass(frozen=True)
class Checked:
    cert: asn1_x509.Certificate
    subject: str
    issuer: str
    serial: str
    not_after: datetime
    trust_root: str

    def to_dict(self, now: datetime) -> dict:
        return {"subject": self.subject, "issuer": self.issuer, "serial": self.serial,
                "not_after": self.not_after.isoformat(), "days_left": (self.not_after - now).days,
                "warning": expiry_warning(self.not_after, now), "warning_vi": warning_text(self.not_after, now),
                "trust_root": self.trust_root}


def check_certificate(cert: asn1_x509.Certificate, store: TrustStore, now: datetime) -> Checked:
    """Validity, key usage, chain to a configured root and revocation; the first failure is the error."""
    subject = common_name(cert)
    facts = {"subject": subject, "serial": format(cert.serial_number, "x")}
    if now < cert.not_valid_before:
        raise ValidationFailed(f"Chứng thư số của {subject} chưa có hiệu lực (từ {cert.not_valid_before:%d/%m/%Y}).",
                               code="certificate_not_yet_valid", **facts)
    if now > cert.not_valid_after:
        raise ValidationFailed(f"Chứng thư số của {subject} đã hết hạn ngày {cert.not_valid_after:%d/%m/%Y}.",
                               code="certificate_expired", **facts)
    try:
        SIGNER_KEY_USAGE.validate(cert)
    except InvalidCertificateError as exc:
        raise ValidationFailed("Chứng thư số không được phép dùng để ký (thiếu mục đích sử dụng khóa "
                               "digitalSignature/nonRepudiation).", code="certificate_key_usage", **facts) from exc
    validator = CertificateValidator(cert, validation_context=store.context())
    try:
        path = asyncio.run(validator.async_validate_path())
    except RevokedError as exc:
        raise ValidationFailed(f"Chứng thư số của {subject} đã bị thu hồi (theo danh sách thu hồi CRL).",
                               code="certificate_revoked", **facts) from exc
    except (ExpiredError, NotYetValidError) as exc:
        raise ValidationFailed("Một chứng thư trong chuỗi chứng thực đã hết hạn hoặc chưa có hiệu lực.",
                               code="certificate_chain_expired", error=str(exc)[:300], **facts) from exc
    except PathBuildingError as exc:
        raise ValidationFailed("Chứng thư số không thuộc chuỗi của tổ chức cung cấp dịch vụ chứng thực được tin "
                               "cậy trên hệ thống (chứng thư gốc đã cấu hình).", code="certificate_untrusted",
                               **facts) from exc
    except PathValidationError as exc:
        raise ValidationFailed("Chứng thư số không hợp lệ trong chuỗi chứng thực hoặc chưa kiểm tra được tình "
                               "trạng thu hồi.", code="certificate_invalid", error=str(exc)[:300], **facts) from exc
    anchor = path.trust_anchor.authority.name
    return Checked(cert, subject, common_name_of(cert.issuer), facts["serial"], cert.not_valid_after,
                   str(anchor.native.get("common_name") or anchor.human_friendly))


def common_name_of(name: asn1_x509.Name) -> str:
    return str(name.native.get("common_name") or name.human_friendly)


def same_certificate(a: asn1_x509.Certificate, b: asn1_x509.Certificate) -> bool:
    return a.dump() == b.dump()
