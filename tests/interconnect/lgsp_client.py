"""An LGSP client as the Lạng Sơn LGSP v2.2 guide describes the calls (STANDARDS.md §1.9), and the receive
operations as docs/interconnect.md says we assumed them.

Written from those descriptions, deliberately without the server's or the edge's code (no services.interconnect
import): a mistake in a shared helper would otherwise pass unnoticed. The multipart body is built by hand, as a
client in another language would send it.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from typing import Any

from tests.interconnect import http_wire


class LgspTestClient:
    def __init__(self, base: str, system_id: str, secret: str) -> None:
        self.base, self.system_id, self.secret = base.rstrip("/"), system_id, secret

    def auth(self) -> list[tuple[str, str]]:
        return [("X-SystemId", self.system_id), ("X-SecretKey", self.secret)]

    def raw(self, method: str, operation: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
            query: dict[str, str] | None = None, credentials: bool = True) -> tuple[int, bytes]:
        url = f"{self.base}/v1/{operation}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        return http_wire.request(url, method, [*(self.auth() if credentials else []), *(headers or [])], body)

    def call(self, method: str, operation: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
             query: dict[str, str] | None = None, credentials: bool = True) -> tuple[int, dict[str, Any]]:
        status, raw = self.raw(method, operation, body, headers, query, credentials)
        return status, json.loads(raw)

    # -- the operations ------------------------------------------------------------------------------------
    def send_edoc(self, data: bytes, message_type: str | None = "edoc", field: str = "edocFile",
                  filename: str = "goi-tin.edxml") -> tuple[int, dict[str, Any]]:
        fields = {"messageType": message_type} if message_type is not None else {}
        body, content_type = multipart(fields, {field: (filename, data)})
        return self.call("POST", "sendEdoc", body, [("Content-Type", content_type)])

    def received(self, message_type: str = "edoc") -> list[dict[str, Any]]:
        status, answer = self.call("GET", "getReceivedEdocList", query={"messageType": message_type})
        assert status == 200 and answer["errorCode"] == 0, answer
        return answer["data"]

    def get_edoc(self, doc_id: str) -> tuple[int, dict[str, Any]]:
        return self.call("GET", f"getEdoc/{urllib.parse.quote(doc_id, safe='')}")

    def update_status(self, doc_id: str, status: str, description: str | None = None) -> tuple[int, dict[str, Any]]:
        body = {"docId": doc_id, "status": status, **({"description": description} if description else {})}
        return self.call("POST", "updateStatus", json.dumps(body).encode(), [("Content-Type", "application/json")])


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type (RFC 7578), built by hand."""
    boundary = f"----lgsp{secrets.token_hex(12)}"
    out = bytearray()
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/xml\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
