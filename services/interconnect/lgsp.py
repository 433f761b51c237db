"""The wire rules of a provincial LGSP (nền tảng tích hợp, chia sẻ dữ liệu cấp tỉnh) as the Lạng Sơn LGSP v2.2
guide describes it (STANDARDS.md §1.9), and what we assumed where our notes of the guide say nothing. Pure: no I/O.
The hub's server (lgsp_api.py) and the installation's client (lgsp_edge.py) both read them.

From the guide:
- `POST {base}/v1/sendEdoc`, a multipart form: the field `edocFile` carries the .edxml, `messageType` is `edoc`
  (a document) or `status` (a status package);
- `POST {base}/v1/updateStatus`, a JSON body `{docId, status}`;
- every call carries the headers `X-SystemId` and `X-SecretKey` (in production an OAuth2 bearer token as well);
- error codes 0 (ok), 10, 15, 18, 19, 20, 21, 22, 23 (`CODES`).

Our assumptions, modelled on the VDXP SDK's operations (vdxp.py):
- receiving: `GET {base}/v1/getReceivedEdocList?messageType=edoc|status` lists what waits for the system's
  agencies (items as VDXP's: `docId`, `messageType`, `from`, `to`, `created_time`, `status`, ...),
  `GET {base}/v1/getEdoc/{docId}` returns one (base64 of the .edxml in `data`), and `updateStatus` is the
  acknowledgement (`processing`, `done`, `fail`, with an optional `description`), as VDXP's;
- answers are JSON `{"errorCode": <int>, "errorDesc": "<Vietnamese text>", "data": ...}` (a client also reads
  `ErrorCode`, `code` and numbers written as strings);
- codes 40 (missing or invalid parameter), 44 (unknown docId or operation), 49 (final transport status already set)
  are ours, outside the guide's range.

What each code means to the client edge (`Handling`): 18, 23 the package's recipients are refused (each gets a
status 02 with the reason, and it is not sent again); 15, 19 a configuration error (logged precisely, never retried,
an alert); 20, 21 transient (retried with back-off); 10, 22, 40 the package is refused for good (status 02).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from services.interconnect.axis import Refusal, Why

SYSTEM_HEADER = "X-SystemId"
SECRET_HEADER = "X-SecretKey"  # noqa: S105 (a header name)
FILE_FIELD = "edocFile"
TYPE_FIELD = "messageType"
OPERATIONS = ("sendEdoc", "updateStatus", "getReceivedEdocList", "getEdoc")
MESSAGE_TYPES = ("edoc", "status")
TRANSPORT_STATUSES = ("processing", "done", "fail")
FORM_OVERHEAD = 64 * 1024   # multipart framing and the other fields, on top of the package's size limit


class Code(IntEnum):
    OK = 0
    INVALID_FILE = 10            # no edocFile, an empty one, a body that is not a form, over the size limit
    UNAUTHENTICATED = 15         # wrong X-SystemId or X-SecretKey
    RECIPIENT_UNKNOWN = 18
    SENDER_NOT_REGISTERED = 19   # From/OrganId is not an agency registered to the system
    AXIS_ERROR = 20              # the axis cannot take the call now
    FILE_PROCESSING = 21         # the axis failed while processing the file
    INVALID_EDXML = 22           # refused by the hardened edXML parser
    RECIPIENT_LOCKED = 23        # locked in the directory (the agency disabled by its operator)
    BAD_REQUEST = 40             # ours: a missing or invalid parameter (messageType, status, JSON body)
    NOT_FOUND = 44               # ours: unknown docId (or another system's), unknown operation
    CONFLICT = 49                # ours: the package's final transport status is already set


class Handling(StrEnum):
    """What the client edge does with an answer."""

    DONE = "done"                              # the call did what it was for (or there is nothing left to do)
    RECIPIENT_REFUSED = "recipient_refused"    # status 02 to the sender's registry for the recipients; not resent
    PACKAGE_REFUSED = "package_refused"        # status 02 likewise: this package can never be sent as it is
    CONFIGURATION = "configuration"            # our system id, secret or registration is wrong: stop, alert
    TRANSIENT = "transient"                    # try again later (back-off 30 s → 480 s)


@dataclass(frozen=True)
class CodeInfo:
    message_vi: str   # what the code means, for the sender's clerk and the operator
    handling: Handling
    http_status: int  # what our API answers it under (the client decides by the code, not by this)


CODES: dict[int, CodeInfo] = {
    Code.OK: CodeInfo("Thành công", Handling.DONE, 200),
    Code.INVALID_FILE: CodeInfo("Tệp gói tin không hợp lệ (thiếu, rỗng, không phải biểu mẫu tải tệp, hoặc vượt "
                                "quá dung lượng cho phép)", Handling.PACKAGE_REFUSED, 400),
    Code.UNAUTHENTICATED: CodeInfo("Sai mã hệ thống (X-SystemId) hoặc khóa bí mật (X-SecretKey) kết nối trục LGSP",
                                   Handling.CONFIGURATION, 401),
    Code.RECIPIENT_UNKNOWN: CodeInfo("Cơ quan nhận không tồn tại trên trục liên thông", Handling.RECIPIENT_REFUSED,
                                     422),
    Code.SENDER_NOT_REGISTERED: CodeInfo("Cơ quan gửi chưa được đăng ký cho hệ thống này trên trục LGSP",
                                         Handling.CONFIGURATION, 403),
    Code.AXIS_ERROR: CodeInfo("Trục liên thông đang gặp lỗi hệ thống, sẽ gửi lại sau", Handling.TRANSIENT, 503),
    Code.FILE_PROCESSING: CodeInfo("Trục liên thông lỗi khi xử lý tệp, sẽ gửi lại sau", Handling.TRANSIENT, 500),
    Code.INVALID_EDXML: CodeInfo("Gói tin edXML sai định dạng", Handling.PACKAGE_REFUSED, 400),
    Code.RECIPIENT_LOCKED: CodeInfo("Cơ quan nhận đang bị khóa trên trục liên thông", Handling.RECIPIENT_REFUSED,
                                    423),
    Code.BAD_REQUEST: CodeInfo("Thiếu hoặc sai tham số của lời gọi", Handling.PACKAGE_REFUSED, 400),
    Code.NOT_FOUND: CodeInfo("Không tìm thấy gói tin hoặc thao tác trên trục", Handling.DONE, 404),
    Code.CONFLICT: CodeInfo("Gói tin đã ở trạng thái nhận cuối cùng trên trục", Handling.DONE, 409),
}

# The shared refusals (axis.Why) as LGSP codes.
CODE_OF = {Why.BAD_REQUEST: Code.BAD_REQUEST, Why.SENDER_NOT_REGISTERED: Code.SENDER_NOT_REGISTERED,
           Why.INVALID_EDXML: Code.INVALID_EDXML, Why.TOO_LARGE: Code.INVALID_FILE,
           Why.RECIPIENT_UNKNOWN: Code.RECIPIENT_UNKNOWN, Why.RECIPIENT_LOCKED: Code.RECIPIENT_LOCKED,
           Why.NOT_FOUND: Code.NOT_FOUND, Why.CONFLICT: Code.CONFLICT}


def message_of(code: int) -> str:
    info = CODES.get(code)
    return info.message_vi if info else f"Trục LGSP trả mã lỗi {code} không có trong tài liệu"


def handling_of(code: int | None) -> Handling:
    """A code the guide does not list (a real LGSP may have more) is treated as transient: the package is kept and
    tried again at the back-off's pace, never dropped on a guess; the log names the code."""
    info = CODES.get(code) if code is not None else None
    return info.handling if info else Handling.TRANSIENT


class LgspError(Exception):
    """A refused call: `code` and the Vietnamese `desc` go into the answer; `detail` (precise) into the log."""

    def __init__(self, code: int, desc: str = "", detail: str = "", http_status: int | None = None,
                 data: Any = None) -> None:
        desc = desc or message_of(code)
        super().__init__(f"{int(code)}: {desc} {detail}".strip())
        self.code, self.desc, self.detail, self.data = int(code), desc, detail or desc, data
        self.http_status = http_status or (CODES[code].http_status if code in CODES else 400)

    @classmethod
    def of(cls, refusal: Refusal) -> LgspError:
        code = CODE_OF[refusal.why]
        # Too large is an invalid file under the guide's codes; its HTTP status says why.
        return cls(code, f"{message_of(code)}: {refusal.desc}", refusal.detail,
                   http_status=413 if refusal.why == Why.TOO_LARGE else None)


# --- requests --------------------------------------------------------------------------------------------------

def operation_of(path: str) -> tuple[str, str]:
    """(operation, docId in the path) of a request path: `…/v1/getEdoc/<docId>`, else its last segment, so that
    `{base}` may carry any prefix."""
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 2 and segments[-2] == "getEdoc":
        return "getEdoc", segments[-1]
    return (segments[-1] if segments else ""), ""


def message_type(value: str | None) -> str:
    value = (value or "").strip()
    if value not in MESSAGE_TYPES:
        raise LgspError(Code.BAD_REQUEST, f"Tham số {TYPE_FIELD} phải là edoc hoặc status (nhận được “{value}”).",
                        f"bad {TYPE_FIELD}={value[:40]!r}")
    return value


def status_update(body: bytes) -> tuple[str, str, str]:
    """(docId, status, description) of an updateStatus body (JSON)."""
    try:
        fields = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        fields = None
    if not isinstance(fields, dict):
        raise LgspError(Code.BAD_REQUEST, "Nội dung updateStatus phải là JSON {docId, status}.",
                        f"updateStatus body is not a JSON object: {body[:80]!r}")
    doc_id = fields.get("docId")
    status = fields.get("status")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise LgspError(Code.BAD_REQUEST, "Thiếu docId trong updateStatus.", "missing docId")
    if status not in TRANSPORT_STATUSES:
        raise LgspError(Code.BAD_REQUEST, f"Trạng thái “{str(status)[:40]}” không hợp lệ (chỉ nhận: "
                        f"{', '.join(TRANSPORT_STATUSES)}).", f"bad status {status!r}")
    description = fields.get("description")
    return doc_id.strip(), str(status), str(description)[:2000] if isinstance(description, str) else ""


# --- answers ---------------------------------------------------------------------------------------------------

def answer(code: int = Code.OK, desc: str = "", data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"errorCode": int(code), "errorDesc": desc or message_of(code)}
    if data is not None:
        body["data"] = data
    return body


def failure(error: LgspError) -> dict[str, Any]:
    return answer(error.code, error.desc, error.data)


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def read_answer(raw: bytes) -> tuple[int | None, str, Any]:
    """(code, description, data) of an answer; code None when it is no answer of this shape (a proxy's error
    page, a truncated body): the client treats that as the axis being unreachable."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None, f"not JSON: {raw[:120]!r}", None
    if not isinstance(body, dict):
        return None, f"not a JSON object: {raw[:120]!r}", None
    value = next((body[k] for k in ("errorCode", "ErrorCode", "code") if k in body), None)
    try:
        code = int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity, which Python's json reads (fuzz)
        code = None
    desc = next((str(body[k]) for k in ("errorDesc", "ErrorDesc", "message") if body.get(k) is not None), "")
    return code, desc, body.get("data")
