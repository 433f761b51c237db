"""Reading edXML packages: the header as the JSON of docs/messages.md, `parse` (the whole package, attachments
decoded and checked) and `peek` (routing facts from the header alone). Part of the codec whose API is edxml.py:
import that module, not this one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from services.interconnect import edxml_attachments
from services.interconnect.edxml_base import (
    ACCEPTED_NAMESPACES,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_EXPANDED,
    MAX_IDENTIFIER,
    EdxmlError,
    ParsedPackage,
    _format_error,
    make_document_id,
    normalize_status_code,
    parse_date,
    parse_timestamp,
)
from services.interconnect.edxml_xml import (
    _boolean,
    _child,
    _children,
    _local,
    _namespace,
    _number,
    _parse_skeleton,
    _refuse_doctype,
    _split_payloads,
    _str,
    _text,
)

# --- the header -------------------------------------------------------------------------------------------------

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
    namespace = _namespace(envelope)
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


# --- parse / peek -----------------------------------------------------------------------------------------------

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
    header, envelope, namespace = _read_header(data, max_bytes)
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


def read_trace(data: bytes, *, max_bytes: int = MAX_BYTES) -> list[dict[str, Any]]:
    """The package's TraceHeaderList as `peek` and `parse` read it, and nothing else of the header: the first
    hub checks its trace splice with it (half the cost of a `peek`, which also reads every other header field)."""
    header, _envelope, _namespace = _read_header(data, max_bytes)
    return _trace(header)


def _read_header(data: bytes, max_bytes: int) -> tuple[etree._Element, etree._Element, str]:
    """edXMLHeader, its envelope and the envelope's namespace, parsed incrementally up to the header's end."""
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
    namespace = _namespace(envelope) if envelope is not None else ""
    if namespace not in ACCEPTED_NAMESPACES:
        raise _format_error(f"không gian tên “{namespace}” không được hỗ trợ")
    return header, envelope, namespace


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
