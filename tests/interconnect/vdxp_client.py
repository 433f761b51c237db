"""A vendor system's VDXP client, as the VPCP/VNPT Java SDK (SDKVXP-2.0.1) behaves on the wire.

Written from the SDK's behaviour (STANDARDS.md §1.8), deliberately without the server's code: if both shared a
helper, a mistake in it would pass unnoticed. Like the SDK object a vendor keeps for its lifetime:
- one header map, never cleared: the timestamp set once at construction, every key of every earlier call re-sent;
- every map entry becomes an `XroadVnpt-<key>` header; `XroadVnpt-sign-header` is the compact JSON of those
  names and values, `XroadVnpt-hash-header` its HMAC-SHA256 (lowercase hex) with the secret;
- sendEdoc posts the file's bytes followed by CRLF, with `hash-file` = SHA-256 of the file, each byte written
  without its leading zero (Java's `Integer.toHexString(0xFF & b)`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from tests.interconnect import http_wire


def java_hex(digest: bytes) -> str:
    out = ""
    for byte in digest:
        out += "%x" % (byte & 0xFF)  # Integer.toHexString: no leading zero, on purpose
    return out


class SdkClient:
    def __init__(self, endpoint: str, system_id: str, secret: str, *, started: datetime | None = None) -> None:
        self.endpoint, self.secret = endpoint.rstrip("/"), secret
        started = started or datetime.now()
        # ddMMyyyy'T'HHmmss+SSSS: `+` is literal, SSSS the milliseconds padded to four digits.
        stamp = started.strftime("%d%m%YT%H%M%S") + f"+{started.microsecond // 1000:04d}"
        self.headers: dict[str, str] = {"timestamp": stamp, "systemid": system_id}

    # -- the wire ------------------------------------------------------------------------------------------
    def java_order(self) -> list[str]:
        """The keys as a java.util.HashMap iterates them: by bucket (String.hashCode spread, table of 16 doubled
        past 3/4 full), and within a bucket in the order first put (a later put replaces the value in place)."""
        def bucket(key: str, size: int) -> int:
            h = 0
            for char in key:
                h = (31 * h + ord(char)) & 0xFFFFFFFF
            return (h ^ (h >> 16)) & (size - 1)

        size = 16
        while len(self.headers) > size * 3 // 4:
            size *= 2
        keys = list(self.headers)
        return sorted(keys, key=lambda k: (bucket(k, size), keys.index(k)))

    def signed_headers(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        signed: dict[str, str] = {}
        for key in self.java_order():
            value = self.headers[key]
            if key == "Content-Type":
                out.append(("Content-Type", value))
            signed["XroadVnpt-" + key] = value
            out.append(("XroadVnpt-" + key, value))
        sign = json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
        digest = hmac.new(self.secret.encode("utf-8"), sign.encode("utf-8"), hashlib.sha256).hexdigest()
        out += [("XroadVnpt-sign-header-key", ";".join(self.java_order())), ("XroadVnpt-sign-header", sign),
                ("XroadVnpt-hash-header", digest), ("User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP"),
                ("XroadVnpt-version", "3.0.201608")]
        return out

    def raw(self, operation: str, method: str = "POST", body: bytes = b"",
            headers: list[tuple[str, str]] | None = None) -> tuple[int, bytes]:
        sent = [(name, value.encode("utf-8")) for name, value in
                (headers if headers is not None else self.signed_headers())]
        return http_wire.request(f"{self.endpoint}/{operation}", method, sent, body, accept_encoding=False)

    def call(self, operation: str, params: dict[str, str] | None = None, *, method: str = "POST",
             body: bytes = b"{}", content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
        self.headers["Content-Type"] = content_type
        self.headers.update(params or {})
        status, data = self.raw(operation, method, body)
        return status, json.loads(data.decode("ascii"))  # pure ASCII, as the SDK reads sendEdoc's answer

    # -- the SDK's operations ------------------------------------------------------------------------------
    def send_edoc(self, sender: str, edxml: bytes, message_type: str = "edoc",
                  hash_file: str | None = None) -> tuple[int, dict[str, Any]]:
        self.headers["hash-file"] = hash_file if hash_file is not None else java_hex(hashlib.sha256(edxml).digest())
        return self.call("sendEdoc", {"from": sender, "servicetype": "eDoc", "messagetype": message_type},
                         body=edxml + b"\r\n", content_type="application/octet-stream")

    def received(self, message_type: str = "edoc") -> list[dict[str, Any]]:
        status, answer = self.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": message_type},
                                   body=b"")
        assert status == 200 and answer["ErrorCode"] == "0", answer
        return answer["data"]

    def get_edoc(self, doc_id: str, key: str = "docId") -> tuple[int, dict[str, Any]]:
        return self.call("getEdoc", {key: doc_id, "filePath": "/opt/vendor/edoc"})

    def download(self, doc_id: str) -> tuple[int, bytes]:
        self.headers["Content-Type"] = "application/json"
        self.headers.update({"docId": doc_id, "filePath": "/opt/vendor/edoc"})
        return self.raw("downloadEdoc", "GET")

    def update_status(self, doc_id: str, status: str, key: str = "docid",
                      description: str | None = None) -> tuple[int, dict[str, Any]]:
        params = {key: doc_id, "status": status}
        if description is not None:
            params["description"] = description
        return self.call("updateStatus", params)


def days_ago(days: int) -> datetime:
    return datetime.now() - timedelta(days=days)
