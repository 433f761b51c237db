"""edXML attachments: the manifest, the encoded payloads, zipped files and their limits (split from edxml.py,
which stays the codec's API: import that module, not this one)."""

from __future__ import annotations

import binascii
import hashlib
import io
import mimetypes
import re
import zipfile
import zlib

from lxml import etree

from services.interconnect.edxml_base import (
    MAX_ATTACHMENTS,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    ZIP_CONTENT_TYPES,
    ZIP_RATIO_FLOOR,
    Attachment,
    EdxmlError,
    _attachment_error,
    _format_error,
)
from services.interconnect.edxml_xml import _SLOT_ATTR, _child, _children, _str


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


def read_attachments(root: etree._Element, envelope: etree._Element, payloads: list[bytes],
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


def envelope_signature(header: etree._Element) -> bytes | None:
    signature = _child(header, "Signature")
    if signature is None:
        signature = _child(header, "DigitalSignature")
    return etree.tostring(signature, encoding="utf-8") if signature is not None else None


