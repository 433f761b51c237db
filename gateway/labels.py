"""Words for what the services store as codes: file types, attachment roles, registers, interconnect hubs.

Staff read "PDF", "Phụ lục (đã đóng dấu)" and "Trục liên thông văn bản tỉnh Tuyên Quang", never "application/pdf",
"appendix_signed" or "hub.H60" (issue 18, item 9).
"""

from __future__ import annotations

from typing import Any

FILE_KINDS = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (DOCX)",
    "application/msword": "Word (DOC)",
    "application/vnd.oasis.opendocument.text": "OpenDocument (ODT)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (XLSX)",
    "application/vnd.ms-excel": "Excel (XLS)",
    "image/jpeg": "Ảnh JPEG", "image/png": "Ảnh PNG", "image/tiff": "Ảnh TIFF",
    "application/xml": "XML", "text/xml": "XML", "text/plain": "Văn bản thuần",
    "application/zip": "Tệp nén ZIP", "message/rfc822": "Thư điện tử",
}

ATTACHMENT_ROLES = {
    "main": "Văn bản", "signed": "Văn bản đã ban hành (đã ký số cơ quan)", "unsigned": "Văn bản chưa ký",
    "appendix": "Phụ lục", "appendix_signed": "Phụ lục (đã ký số cơ quan)", "scan": "Bản quét",
    "attachment": "Tệp đính kèm",
}


def file_kind(content_type: str | None, name: str | None = None) -> str:
    """The type of a file as staff say it; an unknown type by its extension, never a MIME string."""
    known = FILE_KINDS.get((content_type or "").split(";")[0].strip().lower())
    if known:
        return known
    extension = (name or "").rpartition(".")[2] if "." in (name or "") else ""
    return extension.upper() if extension and len(extension) <= 5 else "Tệp"


def attachment_role(role: str | None) -> str:
    return ATTACHMENT_ROLES.get(role or "", "Tệp đính kèm")


def register_label(register: dict[str, Any]) -> str:
    """A register's name with its year once: "Sổ văn bản đi năm 2026", not "Sổ văn bản đi năm 2026 (2026)"."""
    name = str(register.get("name") or register.get("label") or "Sổ văn bản")
    year = register.get("year")
    return name if not year or str(year) in name else f"{name} năm {year}"


NATIONAL_HUB = "Trục liên thông văn bản quốc gia"


def hub_label(code: str | None, hub_names: dict[str, str], province_names: dict[str, str]) -> str:
    """A hop of a package's trace (`hub.H60`, `hub.national`) by the hub's name: the provisioned name when the
    gateway knows it, else the province's name from the directory (mã cấp 1: H60 → tỉnh Tuyên Quang)."""
    raw = str(code or "")
    short = raw.removeprefix("hub.")
    if short in hub_names:
        return hub_names[short]
    if short == "national":
        return NATIONAL_HUB
    if short in province_names:
        return f"Trục liên thông văn bản {province_names[short]}"
    return f"Trục liên thông văn bản {short}" if raw.startswith("hub.") else raw


def province_names(records: list[Any]) -> dict[str, str]:
    """Level-1 code → "tỉnh Tuyên Quang" from the provinces' people's committees in the directory
    (000.00.00.H60 Ủy ban nhân dân tỉnh Tuyên Quang)."""
    names: dict[str, str] = {}
    prefix = "Ủy ban nhân dân "
    for r in records:
        organ_id, name = str(getattr(r, "organ_id", "")), str(getattr(r, "name", ""))
        if organ_id.startswith("000.00.00.") and name.startswith(prefix):
            names[organ_id.rsplit(".", 1)[1]] = name.removeprefix(prefix)
    return names
