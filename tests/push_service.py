"""A push service of the tests' own (RFC 8030), for the gateway's Web Push: it plays both the browser (a subscription
with its own P-256 key pair and auth secret, bound to the application server key it was made for) and the push
service, which checks each message as a real one does (RFC 8292: a VAPID JWT signed ES256 by the key the
subscription was made for, for this origin, not expired; RFC 8188/8291: aes128gcm) and then decrypts it with the
subscription's private key, as the browser would: what it keeps is what a phone would show."""

from __future__ import annotations

import json
import os
import secrets
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.webpush import b64url, content_keys, public_bytes, unb64url


@dataclass
class Subscription:
    server_key: str  # the application server key it was made for (base64url)
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    messages: list[dict] = field(default_factory=list)


class Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def decrypt(body: bytes, sub: Subscription) -> bytes:
    salt, (record_size, id_len) = body[:16], struct.unpack("!IB", body[16:21])
    as_public, record = body[21:21 + id_len], body[21 + id_len:]
    if id_len != 65 or len(record) > record_size:
        raise Refused(400, "bad aes128gcm header")
    ua_public = public_bytes(sub.private_key.public_key())
    secret = sub.private_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                                                             as_public))
    key, nonce = content_keys(secret, sub.auth, ua_public, as_public, salt)
    plain = AESGCM(key).decrypt(nonce, record, None).rstrip(b"\x00")
    if not plain.endswith(b"\x02"):
        raise Refused(400, "no last-record delimiter")
    return plain[:-1]


def check_vapid(authorization: str, sub: Subscription, origin: str) -> dict:
    scheme, _, params = authorization.partition(" ")
    fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    if scheme != "vapid" or "t" not in fields or "k" not in fields:
        raise Refused(401, "no vapid authorization")
    if fields["k"] != sub.server_key:
        raise Refused(403, "not the key the subscription was made for")
    header, claims, signature = fields["t"].split(".")
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    try:
        key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                   f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(403, "bad JWT signature") from None
    if json.loads(unb64url(header)) != {"typ": "JWT", "alg": "ES256"}:
        raise Refused(403, "not ES256")
    body = json.loads(unb64url(claims))
    if body.get("aud") != origin or not time.time() < body.get("exp", 0) <= time.time() + 24 * 3600:
        raise Refused(403, f"bad audience or expiry: {body}")
    if not str(body.get("sub", "")).startswith(("mailto:", "https://")):
        raise Refused(403, "no contact")
    return body


class PushService:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.refusals: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sub_id = self.path.removeprefix("/push/")
                sub = service.subscriptions.get(sub_id)
                try:
                    if sub is None:
                        raise Refused(410, "no such subscription")
                    if self.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in self.headers:
                        raise Refused(400, "needs TTL and Content-Encoding: aes128gcm")
                    check_vapid(self.headers.get("Authorization", ""), sub, service.origin)
                    sub.messages.append(json.loads(decrypt(body, sub)))
                except Refused as exc:
                    service.refusals.append(str(exc))
                    self.send_response(exc.status)
                    self.end_headers()
                    return
                self.send_response(201)
                self.send_header("Location", f"/message/{secrets.token_hex(8)}")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subscribe(self, server_key: str) -> tuple[str, dict]:
        """A browser's subscription for the application server key: (its id, PushSubscription.toJSON())."""
        sub_id = secrets.token_urlsafe(12)
        sub = self.subscriptions[sub_id] = Subscription(server_key)
        return sub_id, {"endpoint": f"{self.origin}/push/{sub_id}",
                        "keys": {"p256dh": b64url(public_bytes(sub.private_key.public_key())),
                                 "auth": b64url(sub.auth)}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
