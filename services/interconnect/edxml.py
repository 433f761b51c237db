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

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from lxml import etree

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
    # lxml's filter in C ("{*}": any namespace or none): fifty lookups per header, each comparing every
    # sibling's local name in Python, were most of the cost of reading a header.
    return list(element.iterchildren(f"{{*}}{name}"))


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


# --- public API: parse / peek -----------------------------------------------------------------------------------

def parse(data: bytes, *, max_bytes: int = MAX_BYTES, max_expanded: int = MAX_EXPANDED) -> ParsedPackage:
    """Parse and check a whole package: header per docs/messages.md (without message_id), decoded attachments.

    Raises EdxmlError with the reason a status 02 should carry.
    """
    from services.interconnect import edxml_attachments  # imports this module (see __getattr__ below)

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
        return ParsedPackage("status", head, [], namespace, edxml_attachments.envelope_signature(header))
    head = _edoc_header(header, message)
    _check_identifiers(head)
    attachments = edxml_attachments.read_attachments(root, envelope, payloads, max_expanded)
    head["attachments"] = [attachment.meta() for attachment in attachments]
    return ParsedPackage("edoc", head, attachments, namespace, edxml_attachments.envelope_signature(header))


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
        for offset, size in _chunks(len(data)):
            parser.feed(data[offset:offset + size])
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


def _chunks(length: int) -> Iterator[tuple[int, int]]:
    """(offset, size) of the pieces `peek` feeds its parser: 4 KB, doubling to 64 KB. libxml2 parses all it is
    fed, and a header is a few KB: a first piece of 64 KB parsed a third of a 200 KB package for nothing."""
    offset, size = 0, 4096
    while offset < length:
        yield offset, size
        offset += size
        size = min(size * 2, 65536)


def check_recipient(header: dict[str, Any], organ_id: str) -> None:
    """WRONG_RECIPIENT unless `organ_id` is among the package's recipients (STANDARDS §8.6.2); for the edge."""
    recipients = ([item["organ_id"] for item in header.get("to") or []] if header.get("kind") == "edoc"
                  else [(header.get("to") or {}).get("organ_id")])
    if organ_id not in recipients:
        raise EdxmlError("WRONG_RECIPIENT", f"gói tin gửi cho {', '.join(map(str, recipients))}, không phải {organ_id}")


# --- the rest of the codec, in modules of their own ------------------------------------------------------------

_ELSEWHERE = {"build_edoc": "edxml_build", "build_status": "edxml_build", "validate_outgoing": "edxml_build",
              "append_trace": "edxml_trace"}


def __getattr__(name: str) -> Any:
    """Building (with the outbound rules) and the hubs' trace splice live in modules of their own that use the
    helpers above; they are reached through this module by name on first use (PEP 562), so this module stays
    the codec's one API and importing any of them first works too."""
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"services.interconnect.{module}"), name)
