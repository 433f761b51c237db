"""The wire rules of the VDXP HTTP API (Trục liên thông văn bản quốc gia), as the VPCP/VNPT Java SDK speaks it.

Pure: no I/O. The national hub's server (vdxp_api.py) uses these to read a request and to write an answer;
STANDARDS.md §1.8 records what the SDK puts on the wire. In short:
- every parameter travels as an `XroadVnpt-<key>` header; the SDK signs them all: `XroadVnpt-sign-header` is the
  compact JSON of every `XroadVnpt-*` name and value, `XroadVnpt-hash-header` the lowercase hex HMAC-SHA256 of
  that JSON text keyed with the system's secret (never sent);
- the server recomputes the HMAC over the signed text it received and takes the values from that signed JSON,
  never from the loose headers (an unsigned header cannot change what the call means);
- a long-lived SDK object never clears its header map: a timestamp hours old and keys of earlier calls are
  normal, so neither is refused; of `docId` and `docid` together, `docId` counts (SignedRequest.get);
- `sendEdoc`'s body is the file followed by CRLF, and `hash-file` is SHA-256 of the file written with
  `Integer.toHexString(0xFF & b)` per byte (a byte below 0x10 loses its leading zero);
- answers are JSON with `status`, `ErrorCode`, `ErrorDesc` always as strings, and never a `null` (one null in a
  list item breaks the SDK's whole call).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# first_headers, header_text: re-exported (both APIs read requests so; the fuzz and wire tests call them here)
from services.interconnect.axis import Refusal, Why, first_headers, header_text  # noqa: F401

PREFIX = "XroadVnpt-"
SIGN_HEADER = "xroadvnpt-sign-header"
SIGN_HEADER_KEY = "xroadvnpt-sign-header-key"
HASH_HEADER = "xroadvnpt-hash-header"
UNSIGNED = {SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER, "xroadvnpt-version"}

KNOBSTICK = ("sendEdoc", "getReceivedEdocList", "getEdoc", "downloadEdoc", "updateStatus", "getSentEdocList",
             "countReceiveEdoc", "countReceiveStatus")
AGENCY = ("getAgenciesList", "registerAgency", "deleteAgency")
OPERATIONS = KNOBSTICK + AGENCY
MESSAGE_TYPES = ("edoc", "status")
TRANSPORT_STATUSES = ("processing", "done", "fail")
SERVICE_TYPE = "eDoc"


class Code:
    """ErrorCode values. The SDK knows only "0" (success); the others are this server's, stable and documented
    in docs/interconnect.md, with the HTTP status each travels under."""

    OK = "0"
    BAD_REQUEST = "1"             # a missing or malformed parameter
    UNAUTHENTICATED = "2"         # unknown system, missing or wrong HMAC
    HASH_MISMATCH = "3"           # hash-file does not match the body
    SENDER_NOT_REGISTERED = "4"   # `from` is not an agency registered to this system
    INVALID_EDXML = "5"           # the package is refused by the hardened edXML parser
    TOO_LARGE = "6"
    NOT_FOUND = "7"               # unknown docId (or not this system's)
    CONFLICT = "8"                # agency registration conflicts, final transport status already set
    INTERNAL = "99"               # the hub could not take the call now: retry later


HTTP_STATUS = {Code.OK: 200, Code.BAD_REQUEST: 400, Code.UNAUTHENTICATED: 401, Code.HASH_MISMATCH: 400,
               Code.SENDER_NOT_REGISTERED: 403, Code.INVALID_EDXML: 400, Code.TOO_LARGE: 413, Code.NOT_FOUND: 404,
               Code.CONFLICT: 409, Code.INTERNAL: 503}


# The shared refusals (axis.Why) as VDXP codes. A recipient the directory cannot serve is not refused at sendEdoc
# (the relay answers it with a status 02, as for an agency on RabbitMQ), so those two never occur here.
CODE_OF = {Why.BAD_REQUEST: Code.BAD_REQUEST, Why.SENDER_NOT_REGISTERED: Code.SENDER_NOT_REGISTERED,
           Why.INVALID_EDXML: Code.INVALID_EDXML, Why.TOO_LARGE: Code.TOO_LARGE, Why.NOT_FOUND: Code.NOT_FOUND,
           Why.CONFLICT: Code.CONFLICT, Why.RECIPIENT_UNKNOWN: Code.BAD_REQUEST,
           Why.RECIPIENT_LOCKED: Code.BAD_REQUEST}


class VdxpError(Exception):
    """A refused call: `code` and the Vietnamese `desc` go into the answer; `detail` (precise) into the log."""

    def __init__(self, code: str, desc: str, detail: str = "") -> None:
        super().__init__(f"{code}: {desc} {detail}".strip())
        self.code, self.desc, self.detail = code, desc, detail or desc

    @classmethod
    def of(cls, refusal: Refusal) -> VdxpError:
        return cls(CODE_OF[refusal.why], refusal.desc, refusal.detail)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)


@dataclass(frozen=True)
class SignedRequest:
    """What a request says once its signature is checked: the system and the signed parameters (prefix removed,
    in the order signed)."""

    system_id: str
    params: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str = "") -> str:
        """The signed value of `key`: spelt exactly, else the first spelt otherwise (`docid` for `docId`).

        A long-lived SDK object re-sends `docId` and `docid` together once its user has used both spellings;
        the SDK's map is a Java HashMap, where the two share a bucket and come in the order they were first
        put, not the order of use, so "first" alone would pick a stale value. `docId` is the spelling the
        SDK's own getEdoc and downloadEdoc read and VPCP's example loop passes to updateStatus."""
        for name, value in self.params:
            if name == key:
                return value
        wanted = key.lower()
        for name, value in self.params:
            if name.lower() == wanted:
                return value
        return default


def hmac_hex(secret: str, text: str) -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_system(headers: Mapping[str, str]) -> str:
    """The system id a request claims, read from the signed JSON (before the secret is known)."""
    pairs = _signed_pairs(headers)
    for name, value in pairs:
        if name.lower() == "systemid" and value:
            return value
    raise VdxpError(Code.UNAUTHENTICATED, "Thiếu mã hệ thống (XroadVnpt-systemid) trong phần ký.",
                    "no XroadVnpt-systemid in XroadVnpt-sign-header")


def verify(headers: Mapping[str, str], secret: str | None) -> SignedRequest:
    """Check the HMAC of a request's signed header with the system's secret; the parameters it carries.

    `headers`: lower-cased name -> first value. `secret` None means the system is unknown (refused the same way
    as a wrong HMAC, so that a caller cannot probe which system ids exist)."""
    sign = headers.get(SIGN_HEADER, "")
    given = headers.get(HASH_HEADER, "").strip().lower()
    if not sign or not given:
        raise VdxpError(Code.UNAUTHENTICATED, "Thiếu chữ ký HMAC (XroadVnpt-sign-header, XroadVnpt-hash-header).",
                        "missing sign-header or hash-header")
    pairs = _signed_pairs(headers)
    # As bytes: compare_digest refuses str with non-ASCII, and a header may carry anything.
    if secret is None or not hmac.compare_digest(hmac_hex(secret, sign).encode(), given.encode("utf-8", "replace")):
        raise VdxpError(Code.UNAUTHENTICATED, "Xác thực thất bại: mã hệ thống hoặc khóa bí mật không đúng.",
                        "HMAC mismatch" if secret is not None else "unknown system")
    system = next((v for k, v in pairs if k.lower() == "systemid"), "")
    return SignedRequest(system, pairs)


class _Pairs(list):
    """A JSON object's members in the order written (a JSON array stays a plain list, so it is told apart)."""


def _plain(value: Any) -> Any:
    if isinstance(value, _Pairs):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _signed_pairs(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    text = headers.get(SIGN_HEADER, "")
    try:
        pairs = json.loads(text, object_pairs_hook=_Pairs) if text else _Pairs()
    except (ValueError, RecursionError):
        raise VdxpError(Code.UNAUTHENTICATED, "Phần ký (XroadVnpt-sign-header) không phải JSON hợp lệ.",
                        f"sign-header is not JSON: {text[:80]!r}") from None
    if not isinstance(pairs, _Pairs):
        raise VdxpError(Code.UNAUTHENTICATED, "Phần ký (XroadVnpt-sign-header) phải là một đối tượng JSON.",
                        "sign-header is not a JSON object")
    out = []
    for name, value in pairs:
        if name.lower().startswith(PREFIX.lower()):
            name = name[len(PREFIX):]
        out.append((name, value if isinstance(value, str) else json.dumps(_plain(value), separators=(",", ":"))))
    return out


# --- sendEdoc's body and hash-file ---------------------------------------------------------------------------

def sdk_hex(digest: bytes) -> str:
    """The SDK's hex of a digest: `Integer.toHexString(0xFF & b)` per byte, so no leading zero below 0x10."""
    return "".join(format(b, "x") for b in digest)


def file_of(body: bytes, hash_file: str) -> bytes:
    """The edXML file a sendEdoc body carries, checked against `hash-file`.

    The SDK sends the file followed by CRLF and hashes the file alone; the unpadded form is the SDK's, and the
    standard 64-digit form is accepted too. A body sent without the CRLF is accepted when its hash matches."""
    given = (hash_file or "").strip().lower()
    if not given:
        raise VdxpError(Code.HASH_MISMATCH, "Thiếu mã băm tệp (XroadVnpt-hash-file).", "missing hash-file")
    candidates = [body[:-2], body] if body.endswith(b"\r\n") else [body]
    for candidate in candidates:
        digest = hashlib.sha256(candidate).digest()
        if given in (sdk_hex(digest), digest.hex()):
            return candidate
    raise VdxpError(Code.HASH_MISMATCH, "Mã băm tệp (hash-file) không khớp với nội dung gửi lên.",
                    f"hash-file {given} != sha256 {hashlib.sha256(candidates[0]).hexdigest()} of {len(body)} bytes")


# --- answers -----------------------------------------------------------------------------------------------

def prune(value: Any) -> Any:
    """Drop every None (in objects and lists, at any depth): the SDK breaks on a JSON null."""
    if isinstance(value, Mapping):
        return {str(k): prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [prune(v) for v in value if v is not None]
    return value


def answer(code: str = Code.OK, desc: str = "Thành công", **fields: Any) -> dict[str, Any]:
    """An answer the SDK parses: `status`, `ErrorCode`, `ErrorDesc` as strings, then the operation's fields."""
    body = {"status": "OK" if code == Code.OK else "FAIL", "ErrorCode": str(code), "ErrorDesc": str(desc)}
    body.update(fields)
    return prune(body)


def failure(error: VdxpError, **fields: Any) -> dict[str, Any]:
    return answer(error.code, error.desc, **fields)


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact JSON in pure ASCII: the SDK reads sendEdoc's answer as US-ASCII, and \\u escapes carry the
    Vietnamese text through that unchanged."""
    return json.dumps(prune(body), ensure_ascii=True, separators=(",", ":")).encode("ascii")


def require(params: SignedRequest, key: str, allowed: Iterable[str] | None = None) -> str:
    value = params.get(key).strip()
    if not value:
        raise VdxpError(Code.BAD_REQUEST, f"Thiếu tham số XroadVnpt-{key}.", f"missing XroadVnpt-{key}")
    if allowed is not None and value not in tuple(allowed):
        raise VdxpError(Code.BAD_REQUEST, f"Giá trị “{value}” của XroadVnpt-{key} không hợp lệ "
                        f"(chỉ nhận: {', '.join(allowed)}).", f"bad XroadVnpt-{key}={value!r}")
    return value
