"""edXML codec (QCVN 102:2016): parse and build edoc and status packages, STANDARDS.md §1 and §8.

Emitting is exact: the shape of the national axis's samples (default namespace on `edXML`, `edXML:` prefixes
inside the envelope, the samples' element order, `yyyy/MM/dd` dates and `yyyy/MM/dd HH:mm:ss` Vietnam-local
timestamps). Parsing is lenient on what real senders vary (date styles, the go.vn/eDoc namespace, zipped or
raw attachments, numeric status codes such as `5`, odd CodeNumber values) and strict on what is dangerous:
no DOCTYPE, no entities, no network, bounded size, depth, attachment count and zip expansion, and every
attachment must match the manifest. The package header is the JSON of docs/messages.md.

Large base64 payloads would hit libxml2's text-node limit (10 MB) that protects us with `huge_tree=False`,
so the base64 text of each `ContentTransferEncoded` is cut out of the bytes before XML parsing and decoded
separately; what is left (the "skeleton") is parsed with every limit on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import mimetypes
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from lxml import etree

from services.common.clock import VN_TZ, now_vn
from services.interconnect import outbound

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


# --- hardened XML -----------------------------------------------------------------------------------------------

_CTE_RE = re.compile(
    rb"<(?P<tag>(?:[A-Za-z_][\w.\-]*:)?ContentTransferEncoded)(?P<attrs>(?:\s[^<>]*?)?)>"
    rb"(?P<body>[^<]*)</(?P=tag)\s*>"
)
_SLOT_ATTR = "cvslot"
_DOCTYPE_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _xml_parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share between threads (eventlet or not).
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, attribute_defaults=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


def _refuse_doctype(data: bytes) -> None:
    """A DOCTYPE can only come in the prolog, before the root element; refuse it outright (XXE, billion
    laughs). The prolog is walked item by item, so a comment cannot hide a DOCTYPE behind a fake `<a`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        raise _format_error("chỉ chấp nhận gói tin mã hóa UTF-8 (QCVN 102:2016)")
    position = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while position < len(data) and data[position] in b" \t\r\n":
            position += 1
        if data.startswith(b"<?", position):
            terminator = b"?>"
        elif data.startswith(b"<!--", position):
            terminator = b"-->"
        elif _DOCTYPE_RE.match(data, position):
            raise _format_error("gói tin có khai báo DOCTYPE/ENTITY, không được phép")
        else:
            return   # the root element (or garbage the XML parser will refuse)
        end = data.find(terminator, position)
        if end < 0:
            return
        position = end + len(terminator)


def _split_payloads(data: bytes) -> tuple[bytes, list[bytes]]:
    """Cut every ContentTransferEncoded text out of the package; its element gets a `cvslot` index."""
    pieces: list[bytes] = []
    payloads: list[bytes] = []
    last = 0
    for match in _CTE_RE.finditer(data):
        pieces.append(data[last:match.start()])
        tag, attrs = match.group("tag"), match.group("attrs")
        pieces.append(b"<%s%s %s=\"%d\"></%s>" % (tag, attrs, _SLOT_ATTR.encode(), len(payloads), tag))
        payloads.append(match.group("body"))
        last = match.end()
    if not payloads:
        return data, []
    pieces.append(data[last:])
    return b"".join(pieces), payloads


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _format_error(f"cấu trúc XML lồng quá sâu (> {MAX_DEPTH} mức)")
        stack.extend((child, depth + 1) for child in element)


def _parse_skeleton(skeleton: bytes) -> etree._Element:
    try:
        root = etree.fromstring(skeleton, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _format_error(f"XML không hợp lệ: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _format_error("gói tin có khai báo DOCTYPE, không được phép")
    _check_depth(root)
    return root


# --- reading helpers --------------------------------------------------------------------------------------------

def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    return [child for child in element if _local(child) == name]


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: etree._Element | None, name: str) -> str | None:
    """Text of the child `name`: None when the child is absent, "" when empty, else stripped text."""
    child = _child(element, name)
    if child is None:
        return None
    return (child.text or "").strip()


def _str(element: etree._Element | None, name: str) -> str:
    return _text(element, name) or ""


def _number(text: str | None) -> int | str | None:
    """Integers become int; odd values (real traffic has them) are kept as sent rather than rejected."""
    if text is None or text == "":
        return None
    return int(text) if re.fullmatch(r"-?\d{1,18}", text) else text


def _boolean(text: str | None) -> bool | str | None:
    if text is None or text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return text


def _organization(element: etree._Element | None) -> dict[str, str]:
    return {
        "organ_id": _str(element, "OrganId"),
        "organ_name": _str(element, "OrganName"),
        "organization_in_charge": _str(element, "OrganizationInCharge"),
        "address": _str(element, "OrganAdd"),
        "email": _str(element, "Email"),
        "telephone": _str(element, "Telephone"),
        "fax": _str(element, "Fax"),
        "website": _str(element, "Website"),
    }


def _staff(element: etree._Element | None) -> dict[str, str]:
    return {"department": _str(element, "Department"), "name": _str(element, "Staff"),
            "mobile": _str(element, "Mobile"), "email": _str(element, "Email")}


def _response_for(element: etree._Element) -> dict[str, Any]:
    return {"organ_id": _str(element, "OrganId"), "code": _str(element, "Code"),
            "promulgation_date": parse_date(_text(element, "PromulgationDate")),
            "document_id": _str(element, "DocumentId")}


def _trace(header: etree._Element | None) -> list[dict[str, Any]]:
    trace_list = _child(header, "TraceHeaderList")
    return [{"organ_id": _str(item, "OrganId"), "timestamp": parse_timestamp(_text(item, "Timestamp"))}
            for item in _children(trace_list, "TraceHeader")]


def _business(element: etree._Element | None) -> dict[str, Any]:
    info = _child(element, "BussinessDocumentInfo")
    document_info = None
    if info is not None:
        document_info = {
            "document_info": _number(_text(info, "DocumentInfo")),
            "document_receiver": _number(_text(info, "DocumentReceiver")),
            "receivers": [{"organ_id": _str(receiver, "OrganId"),
                           "receiver_type": _number(_text(receiver, "ReceiverType"))}
                          for receiver in _children(_child(info, "ReceiverList"), "Receiver")],
        }
    replacements = [
        {"document_id": _str(item, "DocumentId"),
         "organ_ids": [(organ.text or "").strip() for organ in _children(_child(item, "OrganIdList"), "OrganId")]}
        for item in _children(_child(element, "ReplacementInfoList"), "ReplacementInfo")
    ]
    doc_type = _number(_text(element, "BussinessDocType"))
    return {
        "doc_type": 0 if doc_type is None else doc_type,
        "reason": _str(element, "BussinessDocReason"),
        "target_document_id": _text(element, "DocumentId") or None,
        "paper": _number(_text(element, "Paper")),
        "staff": _staff(_child(element, "StaffInfo")),
        "document_info": document_info,
        "replacements": replacements,
    }


def _locate(root: etree._Element) -> tuple[etree._Element, str]:
    """The envelope and its namespace; the go.vn variant has the envelope as the root element."""
    envelope = root if _local(root) == "edXMLEnvelope" else _child(root, "edXMLEnvelope")
    if _local(root) not in ("edXML", "edXMLEnvelope") or envelope is None:
        raise _format_error(f"phần tử gốc “{_local(root)}” không phải edXML/edXMLEnvelope")
    namespace = etree.QName(envelope).namespace or ""
    if namespace not in ACCEPTED_NAMESPACES:
        raise _format_error(f"không gian tên “{namespace}” không được hỗ trợ")
    return envelope, namespace


def _message_header(envelope: etree._Element) -> tuple[etree._Element, etree._Element, str]:
    header = _child(envelope, "edXMLHeader")
    message = _child(header, "MessageHeader")
    if header is None or message is None:
        raise _format_error("thiếu edXMLHeader/MessageHeader")
    if _child(message, "StatusCode") is not None:
        return header, message, "status"
    if _child(message, "Code") is not None:
        return header, message, "edoc"
    raise _format_error("MessageHeader không có Code (văn bản) hay StatusCode (trạng thái)")


def _require(value: str | None, what: str) -> str:
    if not value:
        raise _format_error(f"thiếu trường bắt buộc {what}")
    return value


def _edoc_header(header: etree._Element, message: etree._Element) -> dict[str, Any]:
    sender = _organization(_child(message, "From"))
    _require(sender["organ_id"], "From/OrganId")
    recipients = [_organization(item) for item in _children(message, "To")]
    if not recipients:
        raise _format_error("thiếu trường bắt buộc To (cơ quan nhận)")
    seen: set[str] = set()
    for recipient in recipients:
        organ_id = _require(recipient["organ_id"], "To/OrganId")
        if organ_id in seen:
            raise _format_error(f"cơ quan nhận {organ_id} bị lặp trong To")
        seen.add(organ_id)
    code = _child(message, "Code")
    code_number = _require(_text(code, "CodeNumber"), "Code/CodeNumber")
    code_notation = _require(_text(code, "CodeNotation"), "Code/CodeNotation")
    promulgation = _child(message, "PromulgationInfo")
    promulgation_date = _require(parse_date(_text(promulgation, "PromulgationDate")),
                                 "PromulgationInfo/PromulgationDate")
    document_type = _child(message, "DocumentType")
    signer = _child(message, "SignerInfo")
    other = _child(message, "OtherInfo")
    trace_list = _child(header, "TraceHeaderList")
    return {
        "kind": "edoc",
        "document_id": _text(message, "DocumentId")
        or make_document_id(sender["organ_id"], promulgation_date, code_number, code_notation),
        "business": _business(_child(trace_list, "Bussiness")),
        "from": sender,
        "to": recipients,
        "code_number": code_number,
        "code_notation": code_notation,
        "promulgation_place": _str(promulgation, "Place"),
        "promulgation_date": promulgation_date,
        "document_type": {"type": _number(_text(document_type, "Type")),
                          "type_detail": _number(_text(document_type, "TypeDetail")),
                          "type_name": _str(document_type, "TypeName")},
        "subject": _str(message, "Subject"),
        "content": _str(message, "Content"),
        "signer": {"competence": _str(signer, "Competence"), "position": _str(signer, "Position"),
                   "full_name": _str(signer, "FullName")},
        "due_date": parse_date(_text(message, "DueDate")),
        "to_places": [(place.text or "").strip() for place in _children(_child(message, "ToPlaces"), "Place")],
        "other": {
            "priority": _number(_text(other, "Priority")),
            "sphere_of_promulgation": _str(other, "SphereOfPromulgation"),
            "typer_notation": _str(other, "TyperNotation"),
            "promulgation_amount": _number(_text(other, "PromulgationAmount")),
            "page_amount": _number(_text(other, "PageAmount")),
            "appendixes": [(item.text or "").strip()
                           for item in _children(_child(other, "Appendixes"), "Appendix")],
            "direction": _boolean(_text(other, "Direction")),
        },
        "response_for": [_response_for(item) for item in _children(message, "ResponseFor")],
        "steering_type": _number(_text(message, "SteeringType")),
        "trace": _trace(header),
    }


def _status_header(header: etree._Element, message: etree._Element) -> dict[str, Any]:
    sender = _organization(_child(message, "From"))
    _require(sender["organ_id"], "From/OrganId")
    response_for_element = _child(message, "ResponseFor")
    if response_for_element is None:
        raise _format_error("thiếu trường bắt buộc ResponseFor")
    response_for = _response_for(response_for_element)
    _require(response_for["organ_id"], "ResponseFor/OrganId")
    _require(response_for["code"], "ResponseFor/Code")
    _require(response_for["document_id"], "ResponseFor/DocumentId")
    status_code = normalize_status_code(_require(_text(message, "StatusCode"), "StatusCode"))
    return {
        "kind": "status",
        "from": sender,
        # A status goes to ResponseFor/OrganId: the original sender, or for 13 the original recipient
        # (the national axis's 13 sample swaps it that way).
        "to": {"organ_id": response_for["organ_id"]},
        "response_for": response_for,
        "staff": _staff(_child(message, "StaffInfo")),
        "status_code": status_code,
        "description": _str(message, "Description"),
        "timestamp": parse_timestamp(_text(message, "Timestamp")),
        "trace": _trace(header),
    }


# --- attachments ------------------------------------------------------------------------------------------------

def _content_id_key(content_id: str) -> str:
    value = content_id.strip().strip("<>")
    return value[4:] if value.lower().startswith("cid:") else value


def _b64decode(payload: bytes, content_id: str) -> bytes:
    # bytes.translate is a C loop: a regex over tens of megabytes of base64 costs seconds.
    compact = payload.translate(None, b" \t\r\n")
    if b"&" in compact:
        # Some writers escape line breaks as character references; nothing else may appear in base64.
        compact = re.sub(rb"&#(?:13|10|x[dDaA]|9|x9);", b"", compact)
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise _attachment_error(f"tệp {content_id}: dữ liệu base64 không hợp lệ ({exc})") from None


class _Budget:
    """Total decoded and expanded bytes of one package, bounded."""

    def __init__(self, max_expanded: int) -> None:
        self.max_expanded = max_expanded
        self.used = 0

    def spend(self, amount: int, what: str) -> None:
        self.used += amount
        if self.used > self.max_expanded:
            raise EdxmlError("TOO_LARGE", f"{what}: tổng dung lượng tệp sau giải nén vượt {self.max_expanded} byte")


def _expand_zip(raw: bytes, content_id: str, budget: _Budget, *, keep: bool) -> bytes | None:
    """Read every member of a zip with bounded streaming (declared sizes may lie); return the single
    member's bytes when `keep` is False, else None (the archive itself is the attachment)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _attachment_error(f"tệp {content_id}: tệp nén zip bị hỏng ({exc})") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise EdxmlError("TOO_LARGE", f"tệp {content_id}: tệp nén có {len(members)} tệp con")
    if not members:
        raise _attachment_error(f"tệp {content_id}: tệp nén zip rỗng")
    expanded_total = 0
    single: bytes | None = None
    for info in members:
        chunks: list[bytes] = []
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(256 * 1024):
                    expanded_total += len(chunk)
                    budget.spend(len(chunk), f"tệp {content_id}")
                    if expanded_total > ZIP_RATIO_FLOOR and expanded_total > MAX_ZIP_RATIO * len(raw):
                        raise EdxmlError("TOO_LARGE", f"tệp {content_id}: tỉ lệ giải nén vượt {MAX_ZIP_RATIO}:1 "
                                                      "(nghi zip bomb)")
                    if not keep:
                        chunks.append(chunk)
        except EdxmlError:
            raise
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, EOFError, OSError,
                zlib.error) as exc:
            # RuntimeError: encrypted member; NotImplementedError: unsupported compression method; zlib.error:
            # a corrupt deflate stream (zipfile lets it through unwrapped).
            raise _attachment_error(f"tệp {content_id}: không giải nén được {info.filename!r} ({exc})") from None
        if not keep:
            single = b"".join(chunks)
    return single


def _attachment_data(raw: bytes, wire_type: str, name: str, content_id: str,
                     budget: _Budget) -> tuple[bytes, str, bool]:
    """(data, content type, zipped_on_wire): a one-file zip (the national axis zips each file) is opened;
    an archive that is the document itself (a `.zip` name or several files) is kept, after a bounded check."""
    is_zip = wire_type.lower() in ZIP_CONTENT_TYPES
    if not is_zip:
        budget.spend(len(raw), f"tệp {content_id}")
        return raw, wire_type or "application/octet-stream", False
    keep = name.lower().endswith(".zip")
    if not keep:
        try:
            member_count = len([i for i in zipfile.ZipFile(io.BytesIO(raw)).infolist() if not i.is_dir()])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
            raise _attachment_error(f"tệp {content_id}: tệp nén zip bị hỏng ({exc})") from None
        keep = member_count != 1
    data = _expand_zip(raw, content_id, budget, keep=keep)
    if keep:
        budget.spend(len(raw), f"tệp {content_id}")
        return raw, wire_type, False
    assert data is not None
    guessed = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    return data, guessed, True


def _attachments(root: etree._Element, envelope: etree._Element, payloads: list[bytes],
                 max_expanded: int) -> list[Attachment]:
    manifest = _child(_child(envelope, "edXMLBody"), "edXMLManifest")
    references = _children(manifest, "Reference")
    encoded = _child(root, "AttachmentEncoded")
    if encoded is None:
        encoded = _child(envelope, "AttachmentEncoded")
    items = _children(encoded, "Attachment")
    if len(references) > MAX_ATTACHMENTS or len(items) > MAX_ATTACHMENTS:
        raise EdxmlError("TOO_LARGE", f"gói tin có quá {MAX_ATTACHMENTS} tệp đính kèm")

    by_id: dict[str, etree._Element] = {}
    for item in items:
        key = _content_id_key(_str(item, "ContentId"))
        if not key:
            raise _attachment_error("Attachment không có ContentId")
        if key in by_id:
            raise _attachment_error(f"ContentId {key} bị lặp trong AttachmentEncoded")
        by_id[key] = item
    referenced: set[str] = set()
    for reference in references:
        key = _content_id_key(_str(reference, "ContentId"))
        if not key:
            raise _format_error("Reference trong edXMLManifest không có ContentId")
        if key in referenced:
            raise _format_error(f"ContentId {key} bị lặp trong edXMLManifest")
        if key not in by_id:
            raise _attachment_error(f"tệp {key} có trong danh mục (manifest) nhưng không có dữ liệu đính kèm")
        referenced.add(key)
    for key in by_id:
        if key not in referenced:
            raise _attachment_error(f"tệp {key} được đính kèm nhưng không có trong danh mục (manifest)")

    budget = _Budget(max_expanded)
    result: list[Attachment] = []
    for reference in references:
        key = _content_id_key(_str(reference, "ContentId"))
        item = by_id[key]
        content_id = _str(reference, "ContentId")
        name = _str(reference, "AttachmentName") or _str(item, "AttachmentName")
        wire_type = _str(reference, "ContentType") or _str(item, "ContentType")
        description = _str(reference, "Description") or _str(item, "Description")
        raw = _payload(item, payloads, content_id)
        data, content_type, zipped = _attachment_data(raw, wire_type, name, content_id, budget)
        result.append(Attachment(content_id=content_id, name=name, content_type=content_type,
                                 description=description, data=data, size=len(data),
                                 sha256=hashlib.sha256(data).hexdigest(), zipped_on_wire=zipped))
    return result


def _payload(item: etree._Element, payloads: list[bytes], content_id: str) -> bytes:
    encoded = _child(item, "ContentTransferEncoded")
    if encoded is None:
        raise _attachment_error(f"tệp {content_id}: thiếu ContentTransferEncoded")
    slot = encoded.get(_SLOT_ATTR)
    if slot is not None and slot.isdigit() and int(slot) < len(payloads):
        return _b64decode(payloads[int(slot)], content_id)
    # Not cut out beforehand (e.g. CDATA): small enough to have passed the parser's own limits.
    return _b64decode((encoded.text or "").encode("ascii", "replace"), content_id)


def _signature(header: etree._Element) -> bytes | None:
    signature = _child(header, "Signature")
    if signature is None:
        signature = _child(header, "DigitalSignature")
    return etree.tostring(signature, encoding="utf-8") if signature is not None else None


# --- public API: parse / peek -----------------------------------------------------------------------------------

def parse(data: bytes, *, max_bytes: int = MAX_BYTES, max_expanded: int = MAX_EXPANDED) -> ParsedPackage:
    """Parse and check a whole package: header per docs/messages.md (without message_id), decoded attachments.

    Raises EdxmlError with the reason a status 02 should carry.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse() takes the package bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise EdxmlError("TOO_LARGE", f"gói tin {len(data)} byte, tối đa {max_bytes} byte")
    _refuse_doctype(data)
    skeleton, payloads = _split_payloads(data)
    root = _parse_skeleton(skeleton)
    envelope, namespace = _locate(root)
    header, message, kind = _message_header(envelope)
    if kind == "status":
        head = _status_header(header, message)
        _check_identifiers(head)
        return ParsedPackage("status", head, [], namespace, _signature(header))
    head = _edoc_header(header, message)
    _check_identifiers(head)
    attachments = _attachments(root, envelope, payloads, max_expanded)
    head["attachments"] = [attachment.meta() for attachment in attachments]
    return ParsedPackage("edoc", head, attachments, namespace, _signature(header))


def _check_identifiers(value: Any, where: str = "") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            limit = MAX_IDENTIFIER.get(key)
            if limit is not None and isinstance(item, str) and len(item) > limit:
                raise _format_error(f"{where}{key} dài {len(item)} ký tự, tối đa {limit}")
            _check_identifiers(item, f"{where}{key}.")
    elif isinstance(value, list):
        for item in value:
            _check_identifiers(item, where)


def peek(data: bytes, *, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Routing facts from the header alone, without decoding attachments: kind, document_id, `from` (organ id),
    `to` (organ ids), status_code (None for edoc), doc_type (None for status), trace, namespace.

    Reads the package incrementally and stops at the end of edXMLHeader, so it costs the header only.
    """
    data = bytes(data)
    if len(data) > max_bytes:
        raise EdxmlError("TOO_LARGE", f"gói tin {len(data)} byte, tối đa {max_bytes} byte")
    _refuse_doctype(data)
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
    header: etree._Element | None = None
    depth = 0
    try:
        for offset in range(0, len(data), 65536):
            parser.feed(data[offset:offset + 65536])
            for event, element in parser.read_events():
                depth += 1 if event == "start" else -1
                if depth > MAX_DEPTH:
                    raise _format_error(f"cấu trúc XML lồng quá sâu (> {MAX_DEPTH} mức)")
                if event == "end" and _local(element) == "edXMLHeader":
                    header = element
                    break
            if header is not None:
                break
        if header is None:
            parser.close()
    except etree.XMLSyntaxError as exc:
        raise _format_error(f"XML không hợp lệ: {exc}") from None
    if header is None:
        raise _format_error("thiếu edXMLHeader/MessageHeader")
    envelope = header.getparent()
    namespace = etree.QName(envelope).namespace or "" if envelope is not None else ""
    if namespace not in ACCEPTED_NAMESPACES:
        raise _format_error(f"không gian tên “{namespace}” không được hỗ trợ")
    _, message, kind = _message_header(envelope)
    if kind == "status":
        head = _status_header(header, message)
        return {"kind": "status", "document_id": head["response_for"]["document_id"],
                "from": head["from"]["organ_id"], "to": [head["to"]["organ_id"]],
                "status_code": head["status_code"], "doc_type": None, "trace": head["trace"],
                "namespace": namespace}
    head = _edoc_header(header, message)
    return {"kind": "edoc", "document_id": head["document_id"], "from": head["from"]["organ_id"],
            "to": [recipient["organ_id"] for recipient in head["to"]], "status_code": None,
            "doc_type": head["business"]["doc_type"], "trace": head["trace"], "namespace": namespace}


def check_recipient(header: dict[str, Any], organ_id: str) -> None:
    """WRONG_RECIPIENT unless `organ_id` is among the package's recipients (STANDARDS §8.6.2); for the edge."""
    recipients = ([item["organ_id"] for item in header.get("to") or []] if header.get("kind") == "edoc"
                  else [(header.get("to") or {}).get("organ_id")])
    if organ_id not in recipients:
        raise EdxmlError("WRONG_RECIPIENT", f"gói tin gửi cho {', '.join(map(str, recipients))}, không phải {organ_id}")


# --- building ---------------------------------------------------------------------------------------------------

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape(value: Any) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else "" if value is None else str(value)
    if _INVALID_XML_CHARS.search(text):
        raise _format_error(f"ký tự điều khiển không hợp lệ trong XML: {text[:40]!r}")
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


Node = tuple[str, Any]   # (qualified tag, text | list[Node] | None)


def _leaf(tag: str, value: Any) -> list[Node]:
    """One element, or none when the value is None (optional element absent)."""
    return [] if value is None else [(tag, value)]


def _render(node: Node, indent: int, out: list[str]) -> None:
    tag, value = node
    pad = "  " * indent
    if isinstance(value, list):
        if not value:
            out.append(f"{pad}<{tag} />\n")
            return
        out.append(f"{pad}<{tag}>\n")
        for child in value:
            _render(child, indent + 1, out)
        out.append(f"{pad}</{tag.split(' ', 1)[0]}>\n")
    else:
        out.append(f"{pad}<{tag}>{_escape(value)}</{tag.split(' ', 1)[0]}>\n")


def _e(name: str) -> str:
    return f"edXML:{name}"


def _org_nodes(org: dict[str, Any], order: tuple[str, ...]) -> list[Node]:
    keys = {"OrganId": "organ_id", "OrganName": "organ_name", "OrganizationInCharge": "organization_in_charge",
            "OrganAdd": "address", "Email": "email", "Telephone": "telephone", "Fax": "fax", "Website": "website"}
    return [(_e(name), org.get(keys[name]) or "") for name in order]


_EDOC_ORG_ORDER = ("OrganId", "OrganizationInCharge", "OrganName", "OrganAdd", "Email", "Telephone", "Fax", "Website")
_STATUS_ORG_ORDER = ("OrganId", "OrganName", "OrganizationInCharge", "OrganAdd", "Email", "Telephone", "Fax",
                     "Website")


def _trace_nodes(trace: list[dict[str, Any]]) -> list[Node]:
    return [(_e("TraceHeader"), [(_e("OrganId"), item.get("organ_id") or ""),
                                 (_e("Timestamp"), format_timestamp(item.get("timestamp")) or "")])
            for item in trace or []]


def _business_nodes(business: dict[str, Any]) -> list[Node]:
    staff = business.get("staff") or {}
    nodes: list[Node] = [
        *_leaf(_e("DocumentId"), business.get("target_document_id")),
        (_e("BussinessDocType"), business.get("doc_type", 0) if business.get("doc_type") is not None else 0),
        (_e("BussinessDocReason"), business.get("reason") or ""),
        *_leaf(_e("Paper"), business.get("paper")),
    ]
    info = business.get("document_info")
    if info:
        nodes.append((_e("BussinessDocumentInfo"), [
            *_leaf(_e("DocumentInfo"), info.get("document_info")),
            *_leaf(_e("DocumentReceiver"), info.get("document_receiver")),
            (_e("ReceiverList"), [(_e("Receiver"), [(_e("OrganId"), r.get("organ_id") or ""),
                                                    *_leaf(_e("ReceiverType"), r.get("receiver_type"))])
                                  for r in info.get("receivers") or []]),
        ]))
    nodes.append((_e("StaffInfo"), [(_e("Department"), staff.get("department") or ""),
                                    (_e("Staff"), staff.get("name") or ""),
                                    (_e("Email"), staff.get("email") or ""),
                                    (_e("Mobile"), staff.get("mobile") or "")]))
    replacements = business.get("replacements") or []
    if replacements:
        nodes.append((_e("ReplacementInfoList"), [
            (_e("ReplacementInfo"), [(_e("DocumentId"), item.get("document_id") or ""),
                                     (_e("OrganIdList"), [(_e("OrganId"), organ)
                                                          for organ in item.get("organ_ids") or []])])
            for item in replacements]))
    return nodes


def _edoc_message_nodes(header: dict[str, Any]) -> list[Node]:
    document_type = header.get("document_type") or {}
    signer = header.get("signer") or {}
    other = header.get("other") or {}
    promulgation_date = header.get("promulgation_date")
    document_id = header.get("document_id") or make_document_id(
        header["from"]["organ_id"], promulgation_date, header["code_number"], header["code_notation"])
    nodes: list[Node] = [(_e("From"), _org_nodes(header["from"], _EDOC_ORG_ORDER))]
    nodes += [(_e("To"), _org_nodes(recipient, _EDOC_ORG_ORDER)) for recipient in header["to"]]
    nodes += [
        (_e("DocumentId"), document_id),
        (_e("Code"), [(_e("CodeNumber"), header["code_number"]), (_e("CodeNotation"), header["code_notation"])]),
        (_e("PromulgationInfo"), [(_e("Place"), header.get("promulgation_place") or ""),
                                  (_e("PromulgationDate"), format_date(promulgation_date) or "")]),
        (_e("DocumentType"), [*_leaf(_e("Type"), document_type.get("type")),
                              *_leaf(_e("TypeDetail"), document_type.get("type_detail")),
                              (_e("TypeName"), document_type.get("type_name") or "")]),
        (_e("Subject"), header.get("subject") or ""),
        (_e("Content"), header.get("content") or ""),
        (_e("SignerInfo"), [(_e("Competence"), signer.get("competence") or ""),
                            (_e("Position"), signer.get("position") or ""),
                            (_e("FullName"), signer.get("full_name") or "")]),
        *_leaf(_e("DueDate"), format_date(header.get("due_date"))),
    ]
    other_nodes: list[Node] = [
        *_leaf(_e("Priority"), other.get("priority")),
        (_e("SphereOfPromulgation"), other.get("sphere_of_promulgation") or ""),
        (_e("TyperNotation"), other.get("typer_notation") or ""),
        *_leaf(_e("PromulgationAmount"), other.get("promulgation_amount")),
        *_leaf(_e("PageAmount"), other.get("page_amount")),
        *_leaf(_e("Direction"), other.get("direction")),
    ]
    if other.get("appendixes"):
        other_nodes.append((_e("Appendixes"), [(_e("Appendix"), item) for item in other["appendixes"]]))
    nodes.append((_e("OtherInfo"), other_nodes))
    for item in header.get("response_for") or []:
        nodes.append((_e("ResponseFor"), [(_e("OrganId"), item.get("organ_id") or ""),
                                          (_e("Code"), item.get("code") or ""),
                                          (_e("DocumentId"), item.get("document_id") or ""),
                                          (_e("PromulgationDate"), format_date(item.get("promulgation_date")) or "")]))
    nodes += _leaf(_e("SteeringType"), header.get("steering_type"))
    nodes.append((_e("ToPlaces"), [(_e("Place"), place) for place in header.get("to_places") or []]))
    return nodes


def _document(header_nodes: list[Node], body: list[Node] | None) -> list[str]:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<edXML xmlns="{NS_QCVN}">\n',
           f'  <edXML:edXMLEnvelope xmlns:edXML="{NS_QCVN}">\n']
    _render((_e("edXMLHeader"), header_nodes), 2, out)
    if body is not None:
        _render((_e("edXMLBody"), body), 2, out)
    out.append("  </edXML:edXMLEnvelope>\n")
    return out


def _zip_one(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # A fixed date keeps the package bytes (and their SHA-256) reproducible for the same input.
        info = zipfile.ZipInfo(name.replace("/", "_").replace("\\", "_") or "tep", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buffer.getvalue()


def build_edoc(header: dict[str, Any], attachments: list[tuple[dict[str, Any], bytes]], *,
               zip_attachments: bool = False, strict: bool = False) -> bytes:
    """An edoc package exactly shaped like the national axis's samples.

    `header` is the package JSON of docs/messages.md (message_id and header["attachments"] are ignored);
    `attachments` are (meta, bytes) with meta name/content_type/description and optionally content_id and
    sha256 (checked against the bytes). `zip_attachments` zips each file on the wire as the national axis
    does. `strict` applies the outbound rules of STANDARDS §8.4 (see validate_outgoing) and puts attachment
    names on the wire as Tuyên Quang Đ7.4 asks (outbound.wire_name). Every package carries the samples'
    Signature skeleton (outbound.signature_placeholder).
    """
    if strict:
        problems = validate_outgoing(header)
        if problems:
            raise _format_error("; ".join(problems))
    for key in ("from", "to", "code_number", "code_notation", "promulgation_date"):
        if not header.get(key):
            raise _format_error(f"thiếu trường bắt buộc {key}")
    header_nodes: list[Node] = [(_e("MessageHeader"), _edoc_message_nodes(header))]
    header_nodes.append((_e("TraceHeaderList"), [*_trace_nodes(header.get("trace") or []),
                                                 (_e("Bussiness"), _business_nodes(header.get("business") or {}))]))
    header_nodes.append(outbound.signature_placeholder(header["from"]["organ_id"]))
    references: list[Node] = []
    encoded: list[tuple[str, str, str, str, bytes]] = []
    wire_names: set[str] = set()
    for index, (meta, data) in enumerate(attachments, start=1):
        if meta.get("sha256") and meta["sha256"] != hashlib.sha256(data).hexdigest():
            raise _attachment_error(f"tệp {meta.get('name')}: SHA-256 không khớp với dữ liệu")
        content_id = meta.get("content_id") or f"cid:{index}"
        name = meta.get("name") or f"tep-{index}"
        description = meta.get("description") or ""
        if strict:   # the Vietnamese name travels in the description when the wire name had to change
            wire = outbound.wire_name(name, wire_names)
            description = description or (name if wire != name else "")
            name = wire
        content_type = meta.get("content_type") or "application/octet-stream"
        if zip_attachments:
            data, content_type = _zip_one(name, data), "application/zip"
        references.append((_e("Reference"), [(_e("ContentId"), content_id), (_e("ContentType"), content_type),
                                             (_e("Description"), description), (_e("AttachmentName"), name)]))
        encoded.append((content_id, name, description, content_type, data))
    out = _document(header_nodes, [('edXML:edXMLManifest version="1.0"', references)])
    parts = ["".join(out).encode("utf-8")]
    if encoded:
        parts.append(b"  <AttachmentEncoded>\n")
        for content_id, name, description, content_type, data in encoded:
            parts.append((f"    <Attachment>\n      <ContentId>{_escape(content_id)}</ContentId>\n"
                          f"      <AttachmentName>{_escape(name)}</AttachmentName>\n"
                          f"      <Description>{_escape(description)}</Description>\n"
                          f"      <ContentType>{_escape(content_type)}</ContentType>\n"
                          f'      <edXML:ContentTransferEncoded xmlns:edXML="{NS_QCVN}">').encode())
            parts.append(base64.b64encode(data))
            parts.append(b"</edXML:ContentTransferEncoded>\n    </Attachment>\n")
        parts.append(b"  </AttachmentEncoded>\n")
    parts.append(b"</edXML>\n")
    return b"".join(parts)


def build_status(header: dict[str, Any]) -> bytes:
    """A status package (docs/messages.md status JSON) shaped like the national axis's status samples.

    ResponseFor/OrganId carries where the status goes: header["to"]["organ_id"] when given (for a 13 that is
    the original recipient, as in the national axis's sample), else response_for.organ_id.
    """
    response_for = header.get("response_for") or {}
    destination = (header.get("to") or {}).get("organ_id") or response_for.get("organ_id")
    if not (header.get("from") or {}).get("organ_id"):
        raise _format_error("thiếu trường bắt buộc from.organ_id")
    if not destination or not response_for.get("document_id") or not response_for.get("code"):
        raise _format_error("thiếu trường bắt buộc response_for (organ_id, code, document_id)")
    staff = header.get("staff") or {}
    message: list[Node] = [
        (_e("From"), _org_nodes(header["from"], _STATUS_ORG_ORDER)),
        (_e("ResponseFor"), [(_e("OrganId"), destination), (_e("Code"), response_for["code"]),
                             (_e("PromulgationDate"), format_date(response_for.get("promulgation_date")) or ""),
                             (_e("DocumentId"), response_for["document_id"])]),
        (_e("StaffInfo"), [(_e("Department"), staff.get("department") or ""), (_e("Staff"), staff.get("name") or ""),
                           (_e("Mobile"), staff.get("mobile") or ""), (_e("Email"), staff.get("email") or "")]),
        (_e("StatusCode"), normalize_status_code(header["status_code"])),
        (_e("Description"), header.get("description") or ""),
        (_e("Timestamp"), format_timestamp(header.get("timestamp")) or format_timestamp(now_vn())),
    ]
    header_nodes: list[Node] = [(_e("MessageHeader"), message)]
    if header.get("trace"):
        header_nodes.append((_e("TraceHeaderList"), _trace_nodes(header["trace"])))
    out = _document(header_nodes, None)
    out.append("</edXML>\n")
    return "".join(out).encode("utf-8")


# --- hubs: append to the trace without touching anything else -----------------------------------------------------

_TRACE_LIST_RE = re.compile(
    rb"<(?P<prefix>(?:[A-Za-z_][\w.\-]*:)?)TraceHeaderList(?P<attrs>(?:\s[^<>]*?)?)(?P<empty>/?)>")
_TRACE_ITEM_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?TraceHeader\s*>")
_TRACE_LIST_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?TraceHeaderList\s*>")
_MESSAGE_HEADER_END_RE = re.compile(rb"</(?P<prefix>(?:[A-Za-z_][\w.\-]*:)?)MessageHeader\s*>")


_HIDDEN_RE = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)


def _visible(data: bytes) -> bytes:
    """`data` with every comment, CDATA section and processing instruction blanked out (same length, so
    offsets still point into `data`): markup-looking text inside them must not be taken for elements."""
    return _HIDDEN_RE.sub(lambda m: b" " * (m.end() - m.start()), data)


def append_trace(data: bytes, organ_id: str, timestamp: datetime) -> bytes:
    """The same package with one more TraceHeader (a hub adding itself), spliced in as bytes so that the
    attachments and the rest of the package stay byte-for-byte as the sender wrote them."""
    before = peek(data)
    stamp = format_timestamp(timestamp)
    text = _visible(data)  # searched; the splice itself goes into `data`
    list_match = _TRACE_LIST_RE.search(text)
    if list_match is not None and list_match.group("empty"):
        prefix = list_match.group("prefix")
        entry = _trace_entry(prefix, organ_id, stamp)
        replacement = b"<%sTraceHeaderList%s>%s</%sTraceHeaderList>" % (prefix, list_match.group("attrs"),
                                                                         entry, prefix)
        result = data[:list_match.start()] + replacement + data[list_match.end():]
    elif list_match is not None:
        prefix = list_match.group("prefix")
        end = _TRACE_LIST_END_RE.search(text, list_match.end())
        if end is None:
            raise _format_error("TraceHeaderList không đóng")
        position = list_match.end()
        for item_end in _TRACE_ITEM_END_RE.finditer(text, list_match.end(), end.start()):
            position = item_end.end()
        result = data[:position] + _trace_entry(prefix, organ_id, stamp) + data[position:]
    else:
        header_end = _MESSAGE_HEADER_END_RE.search(text)
        if header_end is None:
            raise _format_error("thiếu MessageHeader")
        prefix = header_end.group("prefix")
        block = b"<%sTraceHeaderList>%s</%sTraceHeaderList>" % (prefix, _trace_entry(prefix, organ_id, stamp),
                                                                 prefix)
        result = data[:header_end.end()] + block + data[header_end.end():]
    after = peek(result)
    expected = {"organ_id": organ_id, "timestamp": parse_timestamp(stamp)}
    if after["trace"] != [*before["trace"], expected]:
        # A comment or CDATA fooled the byte search: refuse rather than relay a package with a hidden trace.
        raise _format_error("không thể bổ sung TraceHeader vào gói tin")
    return result


def _trace_entry(prefix: bytes, organ_id: str, stamp: str | None) -> bytes:
    p = prefix.decode("ascii")
    return (f"<{p}TraceHeader><{p}OrganId>{_escape(organ_id)}</{p}OrganId>"
            f"<{p}Timestamp>{_escape(stamp)}</{p}Timestamp></{p}TraceHeader>").encode()


# --- outbound rules ---------------------------------------------------------------------------------------------

_CODE_NUMBER = re.compile(r"^\d{1,11}$")
_CODE_NOTATION = re.compile(r"^(?:\d{4}/)?[0-9A-Za-zĐđ]+(?:-[0-9A-Za-zĐđ]+)*$")
_LIMITS = {"subject": 500, "content": 500, "promulgation_place": 50}


def validate_outgoing(header: dict[str, Any]) -> list[str]:
    """Problems (Vietnamese) that forbid sending this edoc header (STANDARDS §1.3, §8.4); empty when fine.
    Outbound is strict, inbound lenient: parse() never applies these rules."""
    from services.interconnect import identifiers

    problems: list[str] = []
    sender = (header.get("from") or {}).get("organ_id") or ""
    if not identifiers.is_valid(sender):
        problems.append(f"mã định danh cơ quan gửi “{sender}” không hợp lệ")
    if not (header.get("from") or {}).get("organ_name"):
        problems.append("thiếu tên cơ quan gửi")
    recipients = [item.get("organ_id") or "" for item in header.get("to") or []]
    if not recipients:
        problems.append("chưa có cơ quan nhận")
    if len(set(recipients)) != len(recipients):
        problems.append("cơ quan nhận bị lặp")
    problems += [f"mã định danh cơ quan nhận “{r}” không hợp lệ" for r in recipients if not identifiers.is_valid(r)]
    if not _CODE_NUMBER.match(str(header.get("code_number") or "")):
        problems.append(f"số văn bản “{header.get('code_number')}” không hợp lệ (1–11 chữ số)")
    notation = str(header.get("code_notation") or "")
    if len(notation) > 30 or not _CODE_NOTATION.match(notation):
        problems.append(f"ký hiệu văn bản “{notation}” không hợp lệ")
    if (header.get("document_type") or {}).get("type") not in (1, 2):
        problems.append("loại văn bản (Type) phải là 1 hoặc 2")
    if not header.get("subject"):
        problems.append("thiếu trích yếu")
    for key, limit in _LIMITS.items():
        if len(header.get(key) or "") > limit:
            problems.append(f"{key} dài quá {limit} ký tự")
    promulgation = parse_date(format_date(header.get("promulgation_date")))
    try:
        if promulgation is None or date.fromisoformat(promulgation) > now_vn().date():
            problems.append("ngày ban hành không hợp lệ hoặc ở tương lai")
    except ValueError:
        problems.append(f"ngày ban hành “{promulgation}” không hợp lệ")
    doc_type = (header.get("business") or {}).get("doc_type", 0)
    if doc_type not in (0, 1, 2, 3):
        problems.append(f"BussinessDocType {doc_type} không hợp lệ (0–3)")
    return problems
