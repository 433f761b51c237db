"""What the HTTP axes share (the VDXP of vdxp.py, the LGSP of lgsp.py), pure: no I/O.

- `Why` / `Refusal`: why a hub's HTTP API refuses a call, before any protocol's code. The shared part of the APIs
  (axis_api.py) and the store of connected systems (vdxp_store.py) raise a `Refusal`; each protocol answers it
  with its own error code (vdxp.CODE_OF, lgsp.CODE_OF).
- `retry_delay`: the client edges' retry schedule (the LGSP client's 30 s doubling to 480 s).
- `status_key`: the identity of an outgoing status, on which a client edge de-duplicates what it sends.
- `first_headers`: a request's headers as both APIs read them.
"""

from __future__ import annotations

import hashlib
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


def retry_delay(attempts: int, first: float, cap: float) -> float:
    """Seconds before the next try once `attempts` tries have failed: first, doubling, at most `cap`
    (30, 60, 120, 240, 480, 480, ... with the LGSP client's 30 s and 480 s)."""
    return min(cap, first * 2 ** max(0, attempts - 1))


def status_key(document_id: str, recipient: str, code: str, description: str) -> str:
    """An outgoing status's identity (64 hex digits): (document, code), per recipient, and its text.

    The text is part of it because the receiving edges keep apart what differs in it (domain.inbox_kind): a 15
    answering an update and a 15 answering a recall, a 05 with new progress. The same status written twice is
    one key, whatever its message id or time."""
    parts = (document_id, recipient, code, description)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


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
