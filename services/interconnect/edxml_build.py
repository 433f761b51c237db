"""Building edXML packages exactly shaped like the national axis's samples, and the outbound rules (split from
edxml.py, which stays the codec's API: import that module, not this one)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from datetime import date
from typing import Any

from services.common import clock
from services.interconnect import outbound
from services.interconnect.edxml_base import (
    NS_QCVN,
    _attachment_error,
    _format_error,
    format_date,
    format_timestamp,
    make_document_id,
    normalize_status_code,
    parse_date,
)

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
        (_e("Timestamp"), format_timestamp(header.get("timestamp")) or format_timestamp(clock.now_vn())),
    ]
    header_nodes: list[Node] = [(_e("MessageHeader"), message)]
    if header.get("trace"):
        header_nodes.append((_e("TraceHeaderList"), _trace_nodes(header["trace"])))
    out = _document(header_nodes, None)
    out.append("</edXML>\n")
    return "".join(out).encode("utf-8")



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
        if promulgation is None or date.fromisoformat(promulgation) > clock.now_vn().date():
            problems.append("ngày ban hành không hợp lệ hoặc ở tương lai")
    except ValueError:
        problems.append(f"ngày ban hành “{promulgation}” không hợp lệ")
    doc_type = (header.get("business") or {}).get("doc_type", 0)
    if doc_type not in (0, 1, 2, 3):
        problems.append(f"BussinessDocType {doc_type} không hợp lệ (0–3)")
    return problems

