"""Where signing keys live: PKCS#12 files (software keys) or PKCS#11 tokens (USB tokens, HSMs).

A key reference is a small dict stored per holder (a leader's user id, or the agency for its seal):
    {"source": "pkcs12", "p12": "agencies/000_00_00_h60/seal.p12"}          path relative to the PKI dir
    {"source": "pkcs11", "key_label": "sign", "cert_label": "sign",         the holder's own token; it signs
     "token_label": "cv-annv.ubnd"}                                        with the PIN typed at signing
A PKCS#12 file, or a token without a typed PIN (its PIN in SIGNING_PKCS11_PIN), is a server-held key: allowed only
with SIGNING_SERVER_HELD_KEYS (test installations, banner on every page).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import Signer

from services.common.errors import NotFound, ValidationFailed
from services.signing.pkcs11 import Pin, PinRequired, token_certificate, token_signer
from services.signing.pki import load_certificate, password_of
from services.signing.settings import SigningSettings


class KeyUnavailable(ValidationFailed):
    code = "key_unavailable"


def _chain(pki_dir: Path) -> list[asn1_x509.Certificate]:
    """CA certificates to embed next to a token's certificate (a token usually holds only the leaf)."""
    out = []
    for name in ("issuing.pem", "root.pem"):
        path = pki_dir / name
        if path.exists():
            out.append(asn1_x509.Certificate.load(load_certificate(path).public_bytes(_der())))
    return out


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def check_ref(ref: dict[str, Any]) -> dict[str, Any]:
    source = ref.get("source")
    if source == "pkcs12" and ref.get("p12"):
        return {"source": "pkcs12", "p12": str(ref["p12"])}
    if source == "csc" and ref.get("url") and ref.get("credential_id"):
        return {"source": "csc", "url": str(ref["url"]), "credential_id": str(ref["credential_id"])}
    if source == "pkcs11" and (ref.get("key_label") or ref.get("key_id")):
        return {k: str(v) for k, v in ref.items() if k in ("source", "key_label", "cert_label", "key_id",
                                                              "token_label") and v}
    raise ValidationFailed("Tham chiếu khóa ký không hợp lệ (cần pkcs12 với tệp p12, hoặc pkcs11 với nhãn khóa).",
                           ref=ref)


SERVER_HELD_REFUSED = ("Khóa ký lưu trên máy chủ chỉ được dùng ở bản cài đặt thử nghiệm; người ký phải dùng thiết "
                       "bị ký số (token) của mình và nhập mã PIN khi ký.")


@contextmanager
def open_signer(ref: dict[str, Any], settings: SigningSettings, pin: Pin | None = None,
                otp: str | None = None) -> Iterator[Signer]:
    """The signer of a key reference. With `pin` (typed by the holder) the key is on the holder's own token and
    the PIN is wiped once used; without it only a server-held key of a test installation signs."""
    ref = check_ref(ref)
    try:
        if ref["source"] == "csc":  # remote: only the hash leaves, authorised by the holder's PIN (and OTP)
            from services.signing.csc import CscClient, CscSigner

            yield CscSigner(CscClient(ref["url"], settings.signing_csc_token.get_secret_value()),
                            ref["credential_id"], pin, otp)
            return
        if ref["source"] == "pkcs11" and pin is not None:
            ref.setdefault("token_label", settings.signing_pkcs11_token_label)
            with token_signer(settings.signing_pkcs11_module, ref, pin, _chain(settings.pki_dir)) as signer:
                yield signer
            return
        if not settings.signing_server_held_keys:
            if ref["source"] == "pkcs11":
                raise PinRequired("Hãy nhập mã PIN của thiết bị ký số để ký.", token=ref.get("token_label"))
            raise ValidationFailed(SERVER_HELD_REFUSED, code="server_held_key", source=ref["source"])
        if ref["source"] == "pkcs12":
            yield _pkcs12_signer(Path(ref["p12"]), settings.pki_dir)
        else:
            with _pkcs11_signer(ref, settings) as signer:
                yield signer
    finally:
        if pin is not None:
            pin.wipe()


def certificate_of(ref: dict[str, Any], settings: SigningSettings) -> asn1_x509.Certificate:
    """The certificate of a key reference, read without any PIN (a token's certificate is a public object)."""
    ref = check_ref(ref)
    if ref["source"] == "csc":
        from services.signing.csc import CscClient, certificates_of

        client = CscClient(ref["url"], settings.signing_csc_token.get_secret_value())
        return certificates_of(client.info(ref["credential_id"]))[0]
    if ref["source"] == "pkcs12":
        path = Path(ref["p12"]) if Path(ref["p12"]).is_absolute() else settings.pki_dir / ref["p12"]
        if not path.exists():
            raise NotFound("Không tìm thấy tệp khóa ký.", path=str(path))
        from cryptography.hazmat.primitives.serialization import pkcs12

        bundle = pkcs12.load_pkcs12(path.read_bytes(), password_of(settings.pki_dir))
        if bundle.cert is None:
            raise KeyUnavailable("Tệp khóa ký không chứa chứng thư số.", path=str(path))
        return asn1_x509.Certificate.load(bundle.cert.certificate.public_bytes(_der()))
    label = ref.get("token_label") or settings.signing_pkcs11_token_label
    return asn1_x509.Certificate.load(token_certificate(settings.signing_pkcs11_module, label,
                                                        ref.get("cert_label") or ref.get("key_label")))


def _pkcs12_signer(p12: Path, pki_dir: Path) -> Signer:
    path = p12 if p12.is_absolute() else pki_dir / p12
    if not path.exists():
        raise NotFound("Không tìm thấy tệp khóa ký.", path=str(path))
    signer = SimpleSigner.load_pkcs12(str(path), passphrase=password_of(pki_dir))
    if signer is None:
        raise KeyUnavailable("Không mở được tệp khóa ký (sai mật khẩu hoặc tệp hỏng).", path=str(path))
    return signer


@contextmanager
def _pkcs11_signer(ref: dict[str, Any], settings: SigningSettings) -> Iterator[Signer]:
    from pkcs11.exceptions import PKCS11Error as LibError
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.pkcs11 import PKCS11Error, PKCS11Signer, open_pkcs11_session

    label = ref.get("token_label") or settings.signing_pkcs11_token_label
    pin = settings.signing_pkcs11_pin.get_secret_value() or None
    try:
        session = open_pkcs11_session(settings.signing_pkcs11_module, token_criteria=TokenCriteria(label=label),
                                      user_pin=pin)
    except (PKCS11Error, LibError, OSError, RuntimeError) as exc:
        raise KeyUnavailable("Không kết nối được thiết bị ký số (token) hoặc sai mã PIN.",
                             module=settings.signing_pkcs11_module, token=label, error=str(exc)) from exc
    try:
        key_id = bytes.fromhex(ref["key_id"]) if ref.get("key_id") else None
        signer = PKCS11Signer(session, key_label=ref.get("key_label"), cert_label=ref.get("cert_label"),
                              key_id=key_id, ca_chain=_chain(settings.pki_dir))
        try:
            yield signer
        except (PKCS11Error, LibError, SigningError) as exc:
            raise KeyUnavailable("Thiết bị ký số từ chối thao tác ký.", token=label, error=str(exc)) from exc
    finally:
        session.close()
