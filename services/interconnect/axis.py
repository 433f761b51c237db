"""What the HTTP axes share (the VDXP of vdxp.py, and the next ones), pure: no I/O.

- `Why` / `Refusal`: why a hub's HTTP API refuses a call, before any protocol's code. The shared part of the APIs
  (axis_api.py) and the store of connected systems (vdxp_store.py) raise a `Refusal`; each protocol answers it
  with its own error code (vdxp.CODE_OF).
- `first_headers`: a request's headers as both APIs read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Why(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"                      # a missing or malformed parameter
    SENDER_NOT_REGISTERED = "SENDER_NOT_REGISTERED"  # the sender is not an agency registered to the system
    INVALID_EDXML = "INVALID_EDXML"                  # refused by the hardened edXML parser
    TOO_LARGE = "TOO_LARGE"                          # over the size limit, or expanding beyond it
    RECIPIENT_UNKNOWN = "RECIPIENT_UNKNOWN"          # not in the directory, or ended without a successor
    RECIPIENT_LOCKED = "RECIPIENT_LOCKED"            # locked in the directory (disabled by its operator)
    NOT_FOUND = "NOT_FOUND"                          # unknown docId (or another system's), operation, agency
    CONFLICT = "CONFLICT"                            # held by another system; final transport status already set


class Refusal(Exception):
    """A refused call: `desc` (Vietnamese) goes into the answer, `detail` (precise) into the log."""

    def __init__(self, why: Why, desc: str, detail: str = "") -> None:
        super().__init__(f"{why}: {desc} {detail}".strip())
        self.why, self.desc, self.detail = why, desc, detail or desc


def header_text(raw: bytes) -> str:
    """A header value as text: UTF-8 when it decodes, else Latin-1 (HTTP's historical charset)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def first_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased header name -> its first value (a repeated header keeps the value the current call sent)."""
    out: dict[str, str] = {}
    for name, value in raw_headers:
        out.setdefault(header_text(name).lower(), header_text(value))
    return out
