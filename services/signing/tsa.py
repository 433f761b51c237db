"""A local RFC 3161 timestamp authority for the demo and tests (never for production).

    python -m services.signing.tsa --port 19300 --pki-dir var/data/pki

POST application/timestamp-query → application/timestamp-reply, signed with the PKI's TSA key
(RSA, critical EKU timeStamping: pyHanko's DummyTimeStamper signs the tokens).
"""

from __future__ import annotations

import argparse
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from services.signing.pki import load_pki, read_p12

log = logging.getLogger("congvan.tsa")


def _asn1_cert(cert) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def timestamper(pki_dir: Path) -> DummyTimeStamper:
    pki = load_pki(pki_dir)
    tsa = read_p12(pki.dir / pki.manifest["tsa"]["p12"], pki.password)
    assert tsa.key is not None
    key_info = asn1_keys.PrivateKeyInfo.load(
        tsa.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
    return DummyTimeStamper(tsa_cert=_asn1_cert(tsa.cert), tsa_key=key_info,
                            certs_to_embed=[_asn1_cert(pki.issuing.cert), _asn1_cert(pki.root.cert)])


class _Current:
    """The TSA's stamper, reloaded when `congvan pki renew-tsa` replaces its key and certificate."""

    def __init__(self, pki_dir: Path) -> None:
        self.pki_dir, self.lock, self.seen, self.stamper = pki_dir, threading.Lock(), -1, None

    def reply(self, req: tsp.TimeStampReq) -> bytes:
        with self.lock:
            mtime = (self.pki_dir / "manifest.json").stat().st_mtime_ns
            if mtime != self.seen:
                self.stamper, self.seen = timestamper(self.pki_dir), mtime
            return self.stamper.request_tsa_response(req).dump()


def make_server(pki_dir: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    current = _Current(pki_dir)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = current.reply(tsp.TimeStampReq.load(self.rfile.read(length)))
            except Exception as exc:  # a malformed request gets a 400, the server stays up
                log.warning("bad timestamp request: %s", exc)
                self.send_response(400)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args) -> None:
            log.debug(fmt, *args)

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description="Local RFC 3161 TSA (demo/tests)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--pki-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = make_server(args.pki_dir, args.port, args.host)
    log.info("TSA listening on http://%s:%d/", args.host, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
