"""Storage rules, pure (no I/O): accepted formats, size, names, archive expansion, retention.

Upload rules come from Tuyên Quang's regulation (DOMAIN.md "Rules that the system enforces", 002 Đ7): formats
txt rtf doc docx odt pdf csv xls xlsx ods and images, checked by content and by extension; at most 50 MB a file;
stored names ASCII letters and digits, at most 50 characters (the Vietnamese display name is kept beside it);
files to be signed are PDF. Every refusal says why, in Vietnamese.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.common.errors import Conflict, ValidationFailed

SNIFF_BYTES = 8192  # enough head to recognise every format we accept

# --------------------------------------------------------------------------------------------- formats
# What the content is, in words a clerk understands (used in "nội dung là ...").
CONTENT_LABELS_VI = {
    "pdf": "PDF",
    "rtf": "văn bản RTF",
    "ole2": "tài liệu Office đời cũ (doc/xls)",
    "docx": "tài liệu Word (docx)",
    "xlsx": "bảng tính Excel (xlsx)",
    "odt": "văn bản OpenDocument (odt)",
    "ods": "bảng tính OpenDocument (ods)",
    "zip": "tệp nén ZIP",
    "text": "văn bản thuần",
    "jpeg": "ảnh JPEG",
    "png": "ảnh PNG",
    "gif": "ảnh GIF",
    "tiff": "ảnh TIFF",
    "bmp": "ảnh BMP",
    "webp": "ảnh WebP",
    "exe": "tệp thực thi Windows",
    "elf": "tệp thực thi Linux",
    "macho": "tệp thực thi macOS",
    "rar": "tệp nén RAR",
    "7z": "tệp nén 7z",
    "gzip": "tệp nén gzip",
    "bzip2": "tệp nén bzip2",
    "xz": "tệp nén xz",
    "binary": "dữ liệu nhị phân không rõ định dạng",
    "empty": "tệp rỗng",
}


@dataclass(frozen=True)
class Format:
    extension: str
    content: str          # the content class sniff() must find
    content_type: str
    label_vi: str         # what the extension promises ("không phải <label>")


FORMATS: dict[str, Format] = {f.extension: f for f in (
    Format("pdf", "pdf", "application/pdf", "PDF"),
    Format("rtf", "rtf", "application/rtf", "văn bản RTF"),
    Format("doc", "ole2", "application/msword", "tài liệu Word (doc)"),
    Format("xls", "ole2", "application/vnd.ms-excel", "bảng tính Excel (xls)"),
    Format("docx", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "tài liệu Word (docx)"),
    Format("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "bảng tính Excel (xlsx)"),
    Format("odt", "odt", "application/vnd.oasis.opendocument.text", "văn bản OpenDocument (odt)"),
    Format("ods", "ods", "application/vnd.oasis.opendocument.spreadsheet", "bảng tính OpenDocument (ods)"),
    Format("txt", "text", "text/plain; charset=utf-8", "văn bản thuần (txt)"),
    Format("csv", "text", "text/csv; charset=utf-8", "tệp CSV"),
    Format("jpg", "jpeg", "image/jpeg", "ảnh JPEG"),
    Format("jpeg", "jpeg", "image/jpeg", "ảnh JPEG"),
    Format("png", "png", "image/png", "ảnh PNG"),
    Format("gif", "gif", "image/gif", "ảnh GIF"),
    Format("tif", "tiff", "image/tiff", "ảnh TIFF"),
    Format("tiff", "tiff", "image/tiff", "ảnh TIFF"),
    Format("bmp", "bmp", "image/bmp", "ảnh BMP"),
    Format("webp", "webp", "image/webp", "ảnh WebP"),
)}

ZIP_CONTAINERS = frozenset({"docx", "xlsx", "odt", "ods"})

_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "pdf"),
    (b"{\\rtf", "rtf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"MZ", "exe"),
    (b"\x7fELF", "elf"),
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"\xfe\xed\xfa\xcf", "macho"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
]


def sniff(head: bytes) -> str:
    """The content class of a file from its first bytes (SNIFF_BYTES of them, or all if shorter)."""
    if not head:
        return "empty"
    # Some PDF writers put junk before the header; readers accept it within the first 1024 bytes.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"BM") and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return "text" if _looks_like_text(head) else "binary"


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 (or UTF-16 with a BOM) text, or a legacy 8-bit Vietnamese encoding (TCVN3/VNI): no NULs, few controls."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls <= len(head) // 100


def classify_zip(names: Iterable[str], mimetype: bytes | None) -> str:
    """Which office container a ZIP is, from its entry names and its `mimetype` entry (OpenDocument)."""
    names = set(names)
    if mimetype is not None:
        kind = mimetype.strip().decode("ascii", "replace")
        if kind == "application/vnd.oasis.opendocument.text":
            return "odt"
        if kind == "application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return "zip"


@dataclass(frozen=True)
class UploadLimits:
    max_size: int = 50 * 1024 * 1024
    allowed_extensions: frozenset[str] = frozenset(FORMATS)
    archive_max_expanded: int = 500 * 1024 * 1024
    archive_max_ratio: int = 200
    archive_max_entries: int = 10_000


def size_label(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:g} MB" if mb == int(mb) else f"{mb:.1f} MB"


def too_large(display_name: str, max_size: int) -> ValidationFailed:
    return ValidationFailed(f"Tệp '{display_name}' vượt quá {size_label(max_size)}.", code="too_large",
                            name=display_name, max_size=max_size)


def extension_of(display_name: str) -> str:
    _, dot, ext = display_name.rpartition(".")
    return ext.lower() if dot else ""


def expected_format(display_name: str, limits: UploadLimits, purpose: str = "attachment") -> Format:
    """The format the extension promises; refuses extensions that are not accepted (or not PDF for signing)."""
    ext = extension_of(display_name)
    allowed = sorted(e for e in limits.allowed_extensions if e in FORMATS)
    if not ext:
        raise ValidationFailed(f"Tệp '{display_name}' không có phần mở rộng nên không xác định được định dạng "
                               f"(chỉ nhận: {', '.join(allowed)}).", code="bad_format", name=display_name)
    if ext not in FORMATS or ext not in limits.allowed_extensions:
        raise ValidationFailed(f"Tệp '{display_name}' có định dạng .{ext} không được phép "
                               f"(chỉ nhận: {', '.join(allowed)}).", code="bad_format", name=display_name,
                               extension=ext)
    fmt = FORMATS[ext]
    if purpose == "to_sign" and fmt.content != "pdf":
        raise ValidationFailed(f"Tệp '{display_name}' phải là PDF mới ký số được.", code="must_be_pdf",
                               name=display_name, extension=ext)
    return fmt


def check_content(display_name: str, fmt: Format, content: str) -> None:
    """The content class found must be the one the extension promises."""
    if content == "empty":
        raise ValidationFailed(f"Tệp '{display_name}' rỗng.", code="empty", name=display_name)
    if content != fmt.content:
        found = CONTENT_LABELS_VI.get(content, content)
        raise ValidationFailed(f"Tệp '{display_name}' không phải {fmt.label_vi} (nội dung là {found}).",
                               code="content_mismatch", name=display_name, expected=fmt.content, found=content)


def check_archive(display_name: str, entries: list[tuple[str, int, int]], file_size: int,
                  limits: UploadLimits) -> None:
    """Refuse office containers that would expand beyond the bound (zip bombs). entries: (name, packed, unpacked)."""
    if len(entries) > limits.archive_max_entries:
        raise ValidationFailed(f"Tệp '{display_name}' bị từ chối: chứa {len(entries)} thành phần nén, vượt giới hạn "
                               f"{limits.archive_max_entries}.", code="archive_bomb", name=display_name,
                               entries=len(entries))
    expanded = sum(unpacked for _, _, unpacked in entries)
    if expanded > limits.archive_max_expanded:
        raise ValidationFailed(f"Tệp '{display_name}' bị từ chối: nội dung nén giải ra {size_label(expanded)}, "
                               f"vượt giới hạn {size_label(limits.archive_max_expanded)}.", code="archive_bomb",
                               name=display_name, expanded=expanded)
    ratio = expanded / max(file_size, 1)
    if ratio > limits.archive_max_ratio:
        raise ValidationFailed(f"Tệp '{display_name}' bị từ chối: nội dung nén giải ra gấp {ratio:.0f} lần, vượt "
                               f"giới hạn {limits.archive_max_ratio} lần.", code="archive_bomb",
                               name=display_name, ratio=round(ratio, 1))


# --------------------------------------------------------------------------------------------- names
MAX_DISPLAY_NAME = 255
MAX_STORED_NAME = 50
_VI_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})  # đ has no decomposition in Unicode, NFKD leaves it alone


def clean_display_name(name: str) -> str:
    """The name as the user gave it, minus browser path prefixes and control characters; diacritics kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # "C:\fakepath\x.pdf" from old browsers
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".").strip()
    if not name:
        raise ValidationFailed("Tên tệp trống.", code="bad_name")
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationFailed(f"Tên tệp dài quá {MAX_DISPLAY_NAME} ký tự.", code="bad_name", length=len(name))
    return name


def ascii_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.translate(_VI_EXTRA))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.findall(r"[A-Za-z0-9]+", text)


def stored_name(display_name: str, max_len: int = MAX_STORED_NAME) -> str:
    """ASCII letters and digits only (words joined in CamelCase), plus the extension, at most max_len characters.

    "Công văn số 12 – Sở Nội vụ.pdf" -> "CongVanSo12SoNoiVu.pdf".
    """
    base, dot, ext = display_name.rpartition(".")
    if not dot:
        base, ext = display_name, ""
    ext = "".join(ascii_words(ext)).lower()[:5]
    suffix = f".{ext}" if ext else ""
    words = ascii_words(base)
    stem = "".join(w[:1].upper() + w[1:] for w in words) or "TepDinhKem"
    return stem[: max_len - len(suffix)] + suffix


# --------------------------------------------------------------------------------------------- retention
PERMANENT = date(9999, 12, 31)

KINDS = frozenset({"attachment", "draft", "scan", "appendix", "signed_original", "registered", "raw_package",
                   "report"})
# Kinds that stay until their retention is set and has ended: with no retention date they cannot be deleted.
PROTECTED_KINDS = frozenset({"signed_original", "registered", "raw_package"})


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationFailed(f"Loại tệp '{kind}' không hợp lệ.", code="bad_kind", kind=kind, known=sorted(KINDS))
    return kind


def date_vi(day: date) -> str:
    return "vĩnh viễn" if day >= PERMANENT else day.strftime("%d/%m/%Y")


def parse_retention(until: date | str) -> date:
    """A retention end: a date, an ISO date string, or "permanent" (vĩnh viễn)."""
    if isinstance(until, date):
        return until
    text = str(until).strip().lower()
    if text in {"permanent", "vinh_vien", "vĩnh viễn"}:
        return PERMANENT
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ValidationFailed(f"Thời hạn bảo quản '{until}' không hợp lệ (cần ngày YYYY-MM-DD hoặc 'permanent').",
                               code="bad_retention", until=str(until)) from exc


def extend_retention(current: date | None, wanted: date, today: date) -> date:
    """Retention only grows (like S3 COMPLIANCE mode): it cannot be shortened or set in the past."""
    if wanted < today:
        raise ValidationFailed(f"Thời hạn bảo quản {date_vi(wanted)} đã qua.", code="bad_retention",
                               until=wanted.isoformat())
    if current is not None and wanted < current:
        raise Conflict(f"Không được rút ngắn thời hạn bảo quản (đang là {date_vi(current)}, yêu cầu "
                       f"{date_vi(wanted)}).", code="retention_shorten", current=current.isoformat(),
                       wanted=wanted.isoformat())
    return wanted


def deletion_refusal(kind: str, retention_until: date | None, legal_hold: bool, today: date) -> str | None:
    """Why a file may not be deleted today (Vietnamese), or None when it may."""
    if legal_hold:
        return "Tệp đang bị phong tỏa (giữ theo yêu cầu pháp lý), không được xóa."
    if retention_until is not None and retention_until >= today:
        return f"Tệp đang trong thời hạn bảo quản (đến {date_vi(retention_until)}), không được xóa."
    if retention_until is None and kind in PROTECTED_KINDS:
        return "Tệp là bản gốc/văn bản đã đăng ký chưa được xác định thời hạn bảo quản, không được xóa."
    return None
