"""edXML codec's vocabulary: namespaces, limits, the reject reasons and their error, the parsed package, and the
wire forms of dates, timestamps, document ids and status codes (STANDARDS.md §1 and §8). Part of the codec whose
API is edxml.py: import that module, not this one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from services.common.clock import VN_TZ

NS_QCVN = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
NS_GOVN = "http://www.go.vn/eDoc"
ACCEPTED_NAMESPACES = (NS_QCVN, NS_GOVN, "")

MAX_BYTES = 60 * 2**20
MAX_EXPANDED = 60 * 2**20
MAX_DEPTH = 32
MAX_ATTACHMENTS = 200
MAX_ZIP_MEMBERS = 100
MAX_ZIP_RATIO = 100           # expanded/compressed, checked once an archive expands beyond ZIP_RATIO_FLOOR
ZIP_RATIO_FLOOR = 2**20
# Identifiers become keys of the relay log, the edges' inbox and the registry (organ ids 64, DocumentId 256):
# longer ones are refused here with a reason, not by a database in the middle of a delivery.
MAX_IDENTIFIER = {"organ_id": 64, "document_id": 256, "target_document_id": 256}
ZIP_CONTENT_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-zip")

DATE_FORMAT = "%Y/%m/%d"
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S"
STATUS_CODES_OUT = ("01", "02", "03", "04", "05", "06", "13", "15", "16")

REASONS = ("FORMAT_ERROR", "MISSING_OR_CORRUPT_ATTACHMENT", "WRONG_RECIPIENT", "TOO_LARGE", "OTHER")
_REASON_VI = {
    "FORMAT_ERROR": "Gói tin edXML không đúng định dạng",
    "MISSING_OR_CORRUPT_ATTACHMENT": "Tệp đính kèm bị thiếu hoặc bị hỏng",
    "WRONG_RECIPIENT": "Gói tin không gửi đúng cơ quan nhận",
    "TOO_LARGE": "Gói tin vượt quá kích thước cho phép",
    "OTHER": "Gói tin không hợp lệ",
}


class EdxmlError(Exception):
    """A package that cannot be accepted. `reason` is a RejectReason of STANDARDS §8.2 (sent back in status 02),
    `message_vi` is for people, `detail` says precisely what was wrong (for logs and the status description)."""

    def __init__(self, reason: str, detail: str, message_vi: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reject reason {reason!r}")
        self.reason = reason
        self.detail = detail
        self.message_vi = message_vi or f"{_REASON_VI[reason]}: {detail}"
        super().__init__(self.message_vi)


def _format_error(detail: str) -> EdxmlError:
    return EdxmlError("FORMAT_ERROR", detail)


def _attachment_error(detail: str) -> EdxmlError:
    return EdxmlError("MISSING_OR_CORRUPT_ATTACHMENT", detail)


@dataclass
class Attachment:
    content_id: str
    name: str
    content_type: str
    description: str
    data: bytes                    # decoded and, when the wire carried a one-file zip, unzipped
    size: int
    sha256: str
    zipped_on_wire: bool

    def meta(self) -> dict[str, Any]:
        """The attachment as it appears in the package header (no bytes)."""
        return {"content_id": self.content_id, "name": self.name, "content_type": self.content_type,
                "description": self.description, "size": self.size, "sha256": self.sha256}


@dataclass
class ParsedPackage:
    kind: Literal["edoc", "status"]
    header: dict[str, Any]
    attachments: list[Attachment]
    namespace: str
    # The envelope's XML-DSig as sent (serialised), kept as evidence; the legal signatures are in the PDFs.
    signature_xml: bytes | None = field(default=None, repr=False)


# --- dates ----------------------------------------------------------------------------------------------------

_DATE_INPUTS = ("%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y")
_TIMESTAMP_INPUTS = ("%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M",
                     "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_date(text: str | None) -> str | None:
    """A wire date (`2026/11/21`, `21/11/2026`, `2026-11-21`) as ISO `2026-11-21`; anything else is kept as
    sent (real packages carry dates such as `2014/02/30`), None when absent or empty."""
    if not text:
        return None
    for fmt in _DATE_INPUTS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return text


def parse_timestamp(text: str | None) -> str | None:
    """A wire timestamp (Vietnam local time, no zone) as ISO 8601 with +07:00; unparseable text kept as sent."""
    if not text:
        return None
    for fmt in _TIMESTAMP_INPUTS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=VN_TZ).isoformat()
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment.astimezone(VN_TZ)).isoformat()


def format_date(value: date | str | None) -> str | None:
    """ISO date or `date` -> `yyyy/MM/dd`; a string that is not ISO goes out as it came in."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).strftime(DATE_FORMAT) if value.tzinfo else value.strftime(DATE_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    try:
        return date.fromisoformat(value).strftime(DATE_FORMAT)
    except ValueError:
        return value


def format_timestamp(value: datetime | str | None) -> str | None:
    """An instant as `yyyy/MM/dd HH:mm:ss` in Vietnam time (naive values are taken as Vietnam time)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    moment = value.replace(tzinfo=VN_TZ) if value.tzinfo is None else value.astimezone(VN_TZ)
    return moment.strftime(TIMESTAMP_FORMAT)


def make_document_id(organ_id: str, promulgation_date: date | str, code_number: str, code_notation: str) -> str:
    """DocumentId `OrganId,yyyy/MM/dd,số/ký hiệu` (QCVN 1.14)."""
    return f"{organ_id},{format_date(promulgation_date)},{code_number}/{code_notation}"


def normalize_status_code(code: str | int) -> str:
    """`5` -> `05`, `13` -> `13`; anything numeric is accepted on input (some hubs send `1` or `999`)."""
    text = str(code).strip()
    if not re.fullmatch(r"\d{1,3}", text):
        raise _format_error(f"StatusCode “{code}” không phải là số")
    return text.zfill(2)

