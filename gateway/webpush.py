"""The Web Push protocol, sender side: a message encrypted for one browser's subscription (RFC 8291, content
encoding aes128gcm of RFC 8188) and signed for the push service with the installation's VAPID key (RFC 8292), sent
as RFC 8030's POST to the subscription's endpoint. Only the `cryptography` package: the key pair of the
installation is made at run time and kept in DATA_DIR (never in the repository)."""

from __future__ import annotations

import base64
import json
import os
import struct
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RECORD_SIZE = 4096
JWT_LIFETIME = 12 * 3600  # RFC 8292 §2: at most 24 hours


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """An uncompressed P-256 point (65 bytes): the form RFC 8291 and the Push API use."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def content_keys(ecdh_secret: bytes, auth_secret: bytes, ua_public: bytes, as_public: bytes,
                 salt: bytes) -> tuple[bytes, bytes]:
    """RFC 8291 §3.4 then RFC 8188 §2.2: the content encryption key and the nonce of the (single) record."""
    ikm = _hkdf(auth_secret, ecdh_secret, b"WebPush: info\x00" + ua_public + as_public, 32)
    return (_hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16),
            _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12))


def encrypt(payload: bytes, ua_public: bytes, auth_secret: bytes) -> bytes:
    """The request body for one subscription (p256dh = ua_public, auth = auth_secret): a header naming an
    ephemeral key of ours, then one record (the message, its delimiter 0x02, encrypted with AES-128-GCM)."""
    if len(payload) > RECORD_SIZE - 17 - 86:
        raise ValueError("a push message carries at most 3993 bytes")
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    as_public = public_bytes(ephemeral.public_key())
    ua_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    secret = ephemeral.exchange(ec.ECDH(), ua_key)
    salt = os.urandom(16)
    key, nonce = content_keys(secret, auth_secret, ua_public, as_public, salt)
    record = AESGCM(key).encrypt(nonce, payload + b"\x02", None)
    return salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public + record


@dataclass(frozen=True)
class Vapid:
    """The installation's application server key pair (RFC 8292) and the contact the push services may use."""

    private_key: ec.EllipticCurvePrivateKey
    subject: str

    @classmethod
    def load_or_create(cls, path: Path, subject: str) -> Vapid:
        """The key in `path` (PEM, PKCS#8), made at the first start of an installation that enables push."""
        if not path.exists():
            cls._create(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path}: not a P-256 private key (VAPID needs one)")
        return cls(key, subject)

    @staticmethod
    def _create(path: Path) -> None:
        """Written whole under another name, then linked into place: of several gateway workers making it at
        once, the first link wins and every worker reads that one key (never a half-written file)."""
        key = ec.generate_private_key(ec.SECP256R1())
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another worker's key is the installation's
        finally:
            os.unlink(partial)

    @property
    def application_server_key(self) -> str:
        """What the browser's pushManager.subscribe() is given (base64url of the public point)."""
        return b64url(public_bytes(self.private_key.public_key()))

    def authorization(self, endpoint: str, now: float | None = None) -> str:
        """RFC 8292 §3: `vapid t=<JWT signed ES256 for the endpoint's origin>, k=<public key>`."""
        parts = urllib.parse.urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int((now or time.time()) + JWT_LIFETIME),
                  "sub": self.subject}
        signing_input = (b64url(json.dumps({"typ": "JWT", "alg": "ES256"}, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = self.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"vapid t={signing_input}.{b64url(signature)}, k={self.application_server_key}"

    def request(self, endpoint: str, p256dh: str, auth: str, message: dict, ttl: int = 86400,
                urgency: str = "normal") -> tuple[dict[str, str], bytes]:
        """The headers and body of RFC 8030 §5's POST of one message to one subscription."""
        body = encrypt(json.dumps(message, ensure_ascii=False).encode(), unb64url(p256dh), unb64url(auth))
        headers = {"Authorization": self.authorization(endpoint), "Content-Encoding": "aes128gcm",
                   "Content-Type": "application/octet-stream", "TTL": str(ttl), "Urgency": urgency}
        return headers, body
