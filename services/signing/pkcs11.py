"""Personal PKCS#11 tokens: each signer's key on their own token, unlocked by the PIN they type when signing.

Production: a USB token or an HSM slot per person (Ban Cơ yếu's special-use signatures, TT 185/2019/TT-BQP, expect
the holder alone to control the key). Tests and the demo: one SoftHSM2 token per person, made at run time
(`provision_softhsm_token`); nothing secret is committed.

The PIN (`Pin`) lives in a bytearray that is zeroed when the signature is made or refused. What Python cannot
guarantee is said in docs/signing.md ("PINs"): the HTTP layer parsed the form into an immutable `str`, and
python-pkcs11 copies the bytes once more for C_Login; those copies are unreferenced at once but not zeroed.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509

from services.common.errors import Forbidden, NotFound, ValidationFailed

CKF_USER_PIN_COUNT_LOW = 0x00010000
CKF_USER_PIN_FINAL_TRY = 0x00020000
CKF_USER_PIN_LOCKED = 0x00040000
MAX_PIN = 64


# Plain common errors with codes, not subclasses: nameko rebuilds a remote error only from a class the receiving
# process imported, and routing, registry and the gateway never import this module.
def PinRequired(message_vi: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message_vi, code="pin_required", **details)


def PinIncorrect(message_vi: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message_vi, code="pin_incorrect", **details)


def PinLocked(message_vi: str, **details: Any) -> Forbidden:
    return Forbidden(message_vi, code="pin_locked", **details)


def TokenUnavailable(message_vi: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message_vi, code="key_unavailable", **details)


class Pin:
    """A PIN typed by the signer. Never printed (repr hides it), zeroed by wipe(); python-pkcs11 reads it through
    `encode`, the one place a short-lived immutable copy is made."""

    __slots__ = ("_buf",)

    def __init__(self, typed: str | bytes | bytearray) -> None:
        raw = typed.encode() if isinstance(typed, str) else typed
        self._buf = bytearray(raw)
        if isinstance(typed, bytearray):  # the caller's buffer is ours now: clear it
            typed[:] = b"\0" * len(typed)
        if not self._buf or len(self._buf) > MAX_PIN:
            self.wipe()
            raise PinIncorrect("Mã PIN không hợp lệ (từ 1 đến 64 ký tự).")

    @classmethod
    def of(cls, typed: str | bytes | bytearray | Pin | None) -> Pin | None:
        if typed is None or isinstance(typed, Pin):
            return typed
        return cls(typed) if typed else None

    def encode(self, encoding: str = "utf-8") -> bytes:
        if not any(self._buf):
            raise PinRequired("Mã PIN đã được xóa sau lần dùng trước; hãy nhập lại.")
        return bytes(self._buf)

    def wipe(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0

    @property
    def wiped(self) -> bool:
        return not any(self._buf)

    def __repr__(self) -> str:
        return "Pin(***)"

    __str__ = __repr__

    def __enter__(self) -> Pin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.wipe()


# A SoftHSM2 module sees tokens created after C_Initialize only after a C_Finalize/C_Initialize, which closes every
# session of the process: rescans wait until no signature is in progress.
_sessions = threading.Condition()
_active = 0


def _library(module: str):
    from pkcs11 import lib

    try:
        return lib(module)
    except (OSError, RuntimeError) as exc:
        raise TokenUnavailable("Không nạp được thư viện thiết bị ký số (PKCS#11).", module=module,
                               error=str(exc)) from exc


def _token(module: str, label: str):
    from pkcs11.exceptions import NoSuchToken

    lib = _library(module)
    try:
        return lib.get_token(token_label=label)
    except NoSuchToken:
        pass
    with _sessions:
        while _active:
            _sessions.wait()
        lib.reinitialize()
    try:
        return lib.get_token(token_label=label)
    except NoSuchToken as exc:
        raise TokenUnavailable("Không tìm thấy thiết bị ký số (token) của người ký; hãy cắm thiết bị hoặc liên "
                               "hệ quản trị.", token=label) from exc


@contextmanager
def _in_use() -> Iterator[None]:
    """Counts an open session, so that a rescan (_token) waits for it."""
    global _active
    with _sessions:
        _active += 1
    try:
        yield
    finally:
        with _sessions:
            _active -= 1
            _sessions.notify_all()


def _fresh_flags(module: str, label: str) -> int:
    try:
        return int(_library(module).get_token(token_label=label).flags)
    except Exception:  # flags are only a hint for the message
        return 0


def pin_error(exc: Exception, label: str, flags: int = 0) -> Exception:
    """The Vietnamese error for a refused login: a wrong PIN, or the token's own lock (CKR_PIN_LOCKED)."""
    from pkcs11 import exceptions as p11

    if isinstance(exc, p11.PinLocked) or flags & CKF_USER_PIN_LOCKED:
        return PinLocked("Thiết bị ký số đã tự khóa vì nhập sai mã PIN quá số lần cho phép. Người giữ thiết bị "
                         "cần mở khóa bằng mã PIN quản trị (SO PIN) của thiết bị, hoặc liên hệ tổ chức cấp chứng "
                         "thư số.", token=label)
    if isinstance(exc, (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange)):
        hint = ""
        if flags & CKF_USER_PIN_FINAL_TRY:
            hint = " Chỉ còn MỘT lần thử: nhập sai nữa thiết bị sẽ tự khóa."
        elif flags & CKF_USER_PIN_COUNT_LOW:  # PKCS#11: a wrong PIN at least once since the last good login
            hint = " Đã có lần nhập sai mã PIN từ lần ký trước; nhập sai quá số lần cho phép, thiết bị sẽ tự khóa."
        return PinIncorrect("Mã PIN của thiết bị ký số không đúng; văn bản chưa được ký." + hint, token=label)
    if isinstance(exc, p11.PinExpired):
        return PinIncorrect("Mã PIN của thiết bị ký số đã hết hạn; hãy đổi mã PIN trên thiết bị rồi ký lại.",
                            token=label)
    return TokenUnavailable("Thiết bị ký số từ chối đăng nhập.", token=label, error=type(exc).__name__)


@contextmanager
def token_session(module: str, label: str, pin: Pin) -> Iterator[Any]:
    """A logged-in session on the token `label`; the PIN is wiped as soon as the login is done."""
    from pkcs11 import exceptions as p11

    try:
        token = _token(module, label)
        if int(token.flags) & CKF_USER_PIN_LOCKED:  # do not spend an attempt on a locked token
            raise pin_error(p11.PinLocked(), label)
        with _in_use():
            try:
                session = token.open(user_pin=pin)
            except p11.PKCS11Error as exc:
                raise pin_error(exc, label, _fresh_flags(module, label)) from None
            finally:
                pin.wipe()
            try:
                yield session
            finally:
                session.close()
    finally:
        pin.wipe()


@contextmanager
def token_signer(module: str, ref: dict[str, Any], pin: Pin, ca_chain: list[asn1_x509.Certificate]):
    """pyHanko's PKCS11Signer over the holder's own token, logged in with the PIN they typed."""
    from pkcs11.exceptions import PKCS11Error as LibError
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.pkcs11 import PKCS11Error, PKCS11Signer

    label = ref.get("token_label") or ""
    if not label:
        raise TokenUnavailable("Khóa ký trên thiết bị cá nhân cần nhãn thiết bị (token_label).", ref=ref)
    with token_session(module, label, pin) as session:
        key_id = bytes.fromhex(ref["key_id"]) if ref.get("key_id") else None
        try:
            signer = PKCS11Signer(session, key_label=ref.get("key_label"), cert_label=ref.get("cert_label"),
                                  key_id=key_id, ca_chain=ca_chain)
            signer.signing_cert  # noqa: B018 -- fail here, with our message, if the certificate is not on the token
        except (PKCS11Error, LibError, SigningError) as exc:
            raise TokenUnavailable("Không tìm thấy khóa hoặc chứng thư số trên thiết bị ký số.", token=label,
                                   error=str(exc)) from exc
        try:
            yield signer
        except (PKCS11Error, LibError, SigningError) as exc:
            raise TokenUnavailable("Thiết bị ký số từ chối thao tác ký.", token=label, error=str(exc)) from exc


# ---------------------------------------------------------------- SoftHSM2 tokens for tests and the demo


def softhsm_conf(token_dir: Path) -> Path:
    """A SoftHSM2 configuration whose tokens live in `token_dir`; export SOFTHSM2_CONF=<returned path>."""
    token_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    conf = token_dir.parent / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return conf


def token_label_of(holder: str) -> str:
    """A token label for a person or the agency seal (PKCS#11 labels are at most 32 bytes)."""
    return ("cv-" + holder.replace("agency:", "seal-"))[:32]


def provision_softhsm_token(module: str, label: str, user_pin: str, key_der: bytes, cert_der: bytes,
                            object_label: str = "sign") -> dict[str, str]:
    """Initialise a SoftHSM2 token, import one signing key (not extractable) and its certificate; return the key
    reference to bind. A real token generates its key inside; SoftHSM2 stands in for it in tests and the demo.
    The SO PIN is random and thrown away: the demo's tokens are never unlocked by an administrator."""
    import secrets

    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.rsa import decode_rsa_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    env = dict(os.environ)
    done = subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", user_pin,
                           "--so-pin", secrets.token_hex(8)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise TokenUnavailable("Không khởi tạo được thiết bị ký số SoftHSM2.", token=label,
                               error=done.stderr.strip()[-300:])
    key_attrs = decode_rsa_private_key(key_der)
    key_attrs.update({Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                      Attribute.EXTRACTABLE: False, Attribute.SIGN: True, Attribute.LABEL: object_label,
                      Attribute.ID: b"\x01"})
    cert_attrs = decode_x509_certificate(cert_der)
    cert_attrs.update({Attribute.TOKEN: True, Attribute.LABEL: object_label, Attribute.ID: b"\x01",
                       Attribute.CLASS: ObjectClass.CERTIFICATE})
    with Pin(user_pin) as pin, token_session(module, label, pin) as _:
        pass  # rescans the slots so that the new token is visible to this process
    from pkcs11 import lib

    with lib(module).get_token(token_label=label).open(user_pin=user_pin, rw=True) as session:
        session.create_object(key_attrs)
        session.create_object(cert_attrs)
    return {"source": "pkcs11", "token_label": label, "key_label": object_label, "cert_label": object_label}


def token_certificate(module: str, label: str, cert_label: str | None = None) -> bytes:
    """The DER certificate on a token, read without logging in (certificates are public objects): to enrol it,
    and to watch its expiry, without anybody's PIN."""
    from pkcs11 import Attribute, ObjectClass
    from pkcs11 import exceptions as p11

    token = _token(module, label)
    try:
        with _in_use(), token.open() as session:
            query = {Attribute.CLASS: ObjectClass.CERTIFICATE}
            if cert_label:
                query[Attribute.LABEL] = cert_label
            found = [obj[Attribute.VALUE] for obj in session.get_objects(query)]
    except p11.PKCS11Error as exc:
        raise TokenUnavailable("Không đọc được chứng thư số trên thiết bị ký số.", token=label,
                               error=type(exc).__name__) from exc
    if not found:
        raise NotFound("Thiết bị ký số không chứa chứng thư số nào" + (f" có nhãn {cert_label}." if cert_label
                                                                         else "."), token=label)
    return bytes(found[0])


def provision_issued(module: str, holder: str, issued: Any, user_pin: str, *, label: str | None = None,
                     object_label: str = "sign") -> dict[str, str]:
    """A token for `holder` (labelled token_label_of(holder)) with the key and certificate of a pki.Issued."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key_der = issued.key.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    return provision_softhsm_token(module, label or token_label_of(holder), user_pin, key_der,
                                   issued.cert.public_bytes(Encoding.DER), object_label)
