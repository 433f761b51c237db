"""One HTTP request as a client in another language sends it: the test clients of the HTTP axes (lgsp_client.py,
vdxp_client.py) put their headers on the wire exactly as given, with no helper of the server's."""

from __future__ import annotations

import http.client
import urllib.parse


def request(url: str, method: str, headers: list[tuple[str, str | bytes]], body: bytes = b"",
            accept_encoding: bool = True) -> tuple[int, bytes]:
    """(status, body) of one request on its own connection: `headers` in their order, then Content-Length;
    `accept_encoding=False` leaves out the `Accept-Encoding: identity` http.client adds by default."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                        skip_accept_encoding=not accept_encoding)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
