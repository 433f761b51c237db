"""A small Cloud Signature Consortium API v2 signing server, for tests and the demo only (real HTTP, stdlib).

    python -m services.signing.csc_server --port N --config CONFIG.json

CONFIG (written at run time, never committed):
    {"token": "<bearer token of the installation>", "p12_password": "…",
     "credentials": {"<id>": {"user": "annv.ubnd", "p12": "/path/leader.p12", "pin_sha256": "<hex>",
                              "otp_secret": "<hex>" (SCAL2 when present)}}}
Methods (POST, JSON): info, credentials/list, credentials/info, credentials/authorize, signatures/signHash.
authorize checks the PIN (5 wrong in a row lock the credential) and, for SCAL2, a TOTP; the SAD it returns is
single-use, valid 5 minutes, and bound to the authorised hashes: signHash signs only those.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from services.signing.csc import SHA256_OID, totp

MAX_WRONG = 5
SAD_SECONDS = 300


class CscError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class Provider:
    def __init__(self, config: dict[str, Any]) -> None:
        self.token = config["token"]
        password = config["p12_password"].encode()
        self.credentials: dict[str, dict[str, Any]] = {}
        for cid, entry in config["credentials"].items():
            bundle = pkcs12.load_pkcs12(Path(entry["p12"]).read_bytes(), password)
            chain = [bundle.cert.certificate] + [c.certificate for c in bundle.additional_certs]
            self.credentials[cid] = {**entry, "key": bundle.key, "chain": chain, "wrong": 0}
        self.sads: dict[str, tuple[str, set[str], float]] = {}
        self.lock = threading.Lock()

    def _credential(self, body: dict[str, Any]) -> dict[str, Any]:
        found = self.credentials.get(str(body.get("credentialID")))
        if found is None:
            raise CscError("invalid_request", "Invalid parameter credentialID")
        return found

    def handle(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "info":
            return {"specs": "2.0.0.2", "name": "Công Văn test CSC", "region": "VN", "lang": "vi-VN",
                    "authType": ["external"], "methods": ["credentials/list", "credentials/info",
                                                          "credentials/authorize", "signatures/signHash"]}
        if method == "credentials/list":
            user = body.get("userID")
            return {"credentialIDs": [cid for cid, c in self.credentials.items() if not user or c["user"] == user]}
        if method == "credentials/info":
            c = self._credential(body)
            return {"key": {"status": "disabled" if c["wrong"] >= MAX_WRONG else "enabled", "algo": [
                        "1.2.840.113549.1.1.1"], "len": c["key"].key_size},
                    "cert": {"status": "valid", "certificates": [
                        base64.b64encode(x.public_bytes(Encoding.DER)).decode() for x in c["chain"]]},
                    "authMode": "explicit", "SCAL": "2" if c.get("otp_secret") else "1",
                    "PIN": {"presence": "true", "format": "N"},
                    "OTP": {"presence": "true" if c.get("otp_secret") else "false", "type": "offline"},
                    "multisign": 1}
        if method == "credentials/authorize":
            return self._authorize(body)
        if method == "signatures/signHash":
            return self._sign_hash(body)
        raise CscError("invalid_request", f"Unknown method {method}", 404)

    def _authorize(self, body: dict[str, Any]) -> dict[str, Any]:
        c = self._credential(body)
        hashes_ = [str(h) for h in body.get("hashes") or []]
        if not hashes_ or int(body.get("numSignatures") or 0) != len(hashes_):
            raise CscError("invalid_request", "SCAL2: hashes and numSignatures are required")
        with self.lock:
            if c["wrong"] >= MAX_WRONG:
                raise CscError("credential_locked", "The credential is locked")
            typed = hashlib.sha256(str(body.get("PIN") or "").encode()).hexdigest()
            if not hmac.compare_digest(typed, c["pin_sha256"]):
                c["wrong"] += 1
                raise CscError("credential_locked" if c["wrong"] >= MAX_WRONG else "invalid_pin", "Invalid PIN")
            c["wrong"] = 0
        if c.get("otp_secret"):
            otp, secret, now = str(body.get("OTP") or ""), bytes.fromhex(c["otp_secret"]), time.time()
            if not otp:
                raise CscError("otp_required", "OTP required (SCAL2)")
            if not any(hmac.compare_digest(otp, totp(secret, now + d)) for d in (-30, 0, 30)):
                raise CscError("invalid_otp", "Invalid OTP")
        sad = secrets.token_urlsafe(24)
        with self.lock:
            self.sads[sad] = (str(body["credentialID"]), set(hashes_), time.time() + SAD_SECONDS)
        return {"SAD": sad, "expiresIn": SAD_SECONDS}

    def _sign_hash(self, body: dict[str, Any]) -> dict[str, Any]:
        c = self._credential(body)
        with self.lock:
            cid, allowed, until = self.sads.pop(str(body.get("SAD")), ("", set(), 0.0))
        hashes_ = [str(h) for h in body.get("hashes") or []]
        if cid != str(body["credentialID"]) or time.time() > until or not hashes_ or not set(hashes_) <= allowed:
            raise CscError("invalid_request", "Invalid SAD for these hashes")
        if body.get("hashAlgorithmOID", SHA256_OID) != SHA256_OID:
            raise CscError("invalid_request", "Only SHA-256")
        return {"signatures": [base64.b64encode(c["key"].sign(base64.b64decode(h), padding.PKCS1v15(),
                                                              utils.Prehashed(hashes.SHA256()))).decode()
                               for h in hashes_]}


def handler_for(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # a PIN is in request bodies: log nothing
            pass

        def do_POST(self) -> None:
            try:
                if not hmac.compare_digest(self.headers.get("Authorization", ""), f"Bearer {provider.token}"):
                    raise CscError("invalid_token", "Bad bearer token", 401)
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                body = json.loads(self.rfile.read(length) or b"{}")
                method = self.path.split("/csc/v2/", 1)[-1].strip("/")
                status, answer = 200, provider.handle(method, body)
            except CscError as exc:
                status, answer = exc.status, {"error": exc.error, "error_description": exc.description}
            except (ValueError, KeyError) as exc:
                status, answer = 400, {"error": "invalid_request", "error_description": type(exc).__name__}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    provider = Provider(json.loads(args.config.read_text()))
    ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(provider)).serve_forever()


if __name__ == "__main__":
    main()
