"""Remote signing through the Cloud Signature Consortium API v2 (issue 20 item 2): a pyHanko Signer whose raw
signature comes from a CSC provider's `signatures/signHash`.

The PDF is prepared and hashed HERE: pyHanko builds the CMS signed attributes over the document digest, this
signer hashes them (SHA-256) and only that 32-byte hash leaves the installation. The holder authorises each
signature with their PIN and, for SCAL2 credentials, a one-time password: `credentials/authorize` binds the SAD
(signature activation data) to exactly these hashes.

A key reference: {"source": "csc", "url": "https://provider/csc/v2", "credential_id": "…"}; the installation's
API token is SIGNING_CSC_TOKEN. Calls used: credentials/list, credentials/info, credentials/authorize,
signatures/signHash (CSC API v2.0.0.2 §11.4, 11.5, 11.6, 11.9).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from typing import Any

import requests
from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.common.errors import ValidationFailed
from services.signing.pkcs11 import Pin, PinIncorrect, PinLocked, PinRequired, TokenUnavailable

SHA256_OID = "2.16.840.1.101.3.4.2.1"
RSA_OID = "1.2.840.113549.1.1.1"
TIMEOUT = 15


def totp(secret: bytes, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 one-time password (HMAC-SHA1), as an authenticator app shows it."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


class CscClient:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = requests.post(f"{self.url}/{method}", json=body, timeout=TIMEOUT,
                                   headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            raise TokenUnavailable("Không kết nối được dịch vụ ký số từ xa (CSC).", url=self.url,
                                   error=type(exc).__name__) from exc
        data = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code == 200:
            return data
        raise _error(str(data.get("error") or answer.status_code), str(data.get("error_description") or ""),
                     method)

    def credentials(self, user_id: str = "") -> list[str]:
        return list(self.call("credentials/list", {"userID": user_id} if user_id else {})["credentialIDs"])

    def info(self, credential_id: str) -> dict[str, Any]:
        return self.call("credentials/info", {"credentialID": credential_id, "certificates": "chain",
                                              "certInfo": False, "authInfo": True})


def _error(code: str, description: str, method: str) -> Exception:
    if code == "invalid_pin":
        return PinIncorrect("Mã PIN của chữ ký số từ xa không đúng; văn bản chưa được ký.", method=method)
    if code == "invalid_otp":
        return PinIncorrect("Mã OTP không đúng hoặc đã hết hạn; văn bản chưa được ký.", method=method, code_csc=code)
    if code == "credential_locked":
        return PinLocked("Chữ ký số từ xa đã bị nhà cung cấp khóa vì nhập sai mã PIN nhiều lần; liên hệ nhà cung "
                         "cấp dịch vụ ký số.", method=method)
    if code == "otp_required":
        return PinRequired("Chữ ký số từ xa cần mã OTP (mức SCAL2); hãy nhập mã OTP.", method=method)
    return TokenUnavailable("Dịch vụ ký số từ xa từ chối yêu cầu.", method=method, error=code,
                            description=description[:200])


def certificates_of(info: dict[str, Any]) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(base64.b64decode(c)) for c in info["cert"]["certificates"]]


class CscSigner(Signer):
    """One credential of a CSC provider; each raw signature is authorised with the holder's PIN (and OTP)."""

    def __init__(self, client: CscClient, credential_id: str, pin: Pin | None, otp: str | None = None) -> None:
        info = client.info(credential_id)
        chain = certificates_of(info)
        super().__init__(signing_cert=chain[0], cert_registry=SimpleCertificateStore.from_certs(chain),
                         signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}))
        self.client, self.credential_id, self.pin, self.otp = client, credential_id, pin, otp
        self.scal2 = str(info.get("SCAL", "1")) == "2"
        self.size = chain[0].public_key.bit_size // 8

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:  # pyHanko sizes the signature placeholder first
            return bytes(self.size)
        if digest_algorithm != "sha256":
            raise ValidationFailed("Dịch vụ ký số từ xa chỉ dùng SHA-256.", algorithm=digest_algorithm)
        if self.pin is None or self.pin.wiped:
            raise PinRequired("Hãy nhập mã PIN của chữ ký số từ xa để ký.")
        if self.scal2 and not self.otp:
            raise PinRequired("Chữ ký số từ xa cần mã OTP (mức SCAL2); hãy nhập mã OTP.")
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()  # all that leaves the installation
        body: dict[str, Any] = {"credentialID": self.credential_id, "numSignatures": 1, "hashes": [digest],
                                "hashAlgorithmOID": SHA256_OID}
        try:
            body["PIN"] = self.pin.encode().decode()
            if self.otp:
                body["OTP"] = self.otp
            sad = self.client.call("credentials/authorize", body)["SAD"]
        finally:
            self.pin.wipe()
            body.pop("PIN", None)
        signed = self.client.call("signatures/signHash", {
            "credentialID": self.credential_id, "SAD": sad, "hashes": [digest], "hashAlgorithmOID": SHA256_OID,
            "signAlgo": RSA_OID})
        return base64.b64decode(signed["signatures"][0])
