"""Adapters for documents that arrive on paper, by fax or by e-mail: the uploaded scan (one PDF, or JPEG/PNG pages
joined into one PDF with img2pdf), the text of its first page (pdftotext, else Tesseract with Vietnamese data on
the page rendered by pdfium), and an .eml file (Python's email package) split into the document and its other files.

Every refusal is a ValidationFailed in Vietnamese saying what is wrong with which file; nothing is stored before
the whole upload was read and checked (storing is content-addressed, so a refused or abandoned form leaves at most
unreferenced blobs, never a half-registered document).
"""

from __future__ import annotations

import email
import email.policy
import io
import logging
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

import img2pdf
import pikepdf
from fastapi import UploadFile
from PIL import Image

from services.common import clock
from services.common.errors import ValidationFailed
from services.common.pdf_pages import run_tool

log = logging.getLogger(__name__)

IMAGE_TYPES = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG"}
MAX_PAGES_OF_IMAGES = 60
OCR_DPI = 200
OCR_TIMEOUT = 90
MIN_TEXT = 40  # fewer characters in the text layer than this: a scan without text, read by OCR


@dataclass
class FilePart:
    name: str
    data: bytes
    content_type: str = ""


@dataclass
class Scan:
    """The document's PDF, the other files (e-mail attachments), and what the sender's e-mail said."""

    pdf: bytes
    name: str
    others: list[FilePart] = field(default_factory=list)
    mail: dict[str, str] = field(default_factory=dict)


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def read_upload(upload: UploadFile, max_bytes: int) -> FilePart:
    """The whole upload, refused as soon as it passes max_bytes."""
    name = (upload.filename or "").strip() or "tep-tai-len"
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationFailed(f"Tệp '{name}' lớn quá {max_bytes // (1024 * 1024)} MB.", code="too_large",
                               field="files", name=name)
    if not data:
        raise ValidationFailed(f"Tệp '{name}' rỗng.", code="empty", field="files", name=name)
    return FilePart(name, data, upload.content_type or "")


def checked_pdf(part: FilePart) -> bytes:
    """A PDF that opens and has pages; an encrypted, broken or non-PDF file is refused by name."""
    if not part.data.startswith(b"%PDF-"):
        raise ValidationFailed(f"Tệp '{part.name}' không phải PDF.", code="content_mismatch", field="files",
                               name=part.name)
    try:
        with pikepdf.open(io.BytesIO(part.data)) as pdf:
            if len(pdf.pages) == 0:
                raise ValidationFailed(f"Tệp '{part.name}' không có trang nào.", code="bad_pdf", field="files")
    except pikepdf.PasswordError:
        raise ValidationFailed(f"Tệp '{part.name}' có mật khẩu; hãy quét hoặc lưu lại không mật khẩu.",
                               code="bad_pdf", field="files", name=part.name) from None
    except pikepdf.PdfError as exc:
        log.info("malformed PDF %s: %s", part.name, exc)
        raise ValidationFailed(f"Tệp '{part.name}' bị hỏng, không đọc được như một tệp PDF.", code="bad_pdf",
                               field="files", name=part.name) from None
    return part.data


def joined_images(parts: list[FilePart]) -> bytes:
    """JPEG/PNG pages, in the order chosen, as one PDF (img2pdf: the images are embedded as they are)."""
    if len(parts) > MAX_PAGES_OF_IMAGES:
        raise ValidationFailed(f"Chỉ ghép được tối đa {MAX_PAGES_OF_IMAGES} ảnh thành một văn bản.",
                               code="too_many", field="files")
    for part in parts:
        try:
            with Image.open(io.BytesIO(part.data)) as image:
                if image.format != IMAGE_TYPES[extension(part.name)]:
                    raise ValueError(f"{image.format} named {part.name}")
                image.verify()
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.info("bad image %s: %s", part.name, exc)
            raise ValidationFailed(f"Tệp '{part.name}' không phải ảnh JPEG/PNG đọc được.", code="content_mismatch",
                                   field="files", name=part.name) from None
    try:
        return img2pdf.convert([p.data for p in parts], rotation=img2pdf.Rotation.ifvalid)
    except Exception as exc:  # img2pdf raises its own kinds (alpha channel, unsupported mode, ...) on such pages
        log.info("img2pdf refused: %s", exc)
        raise ValidationFailed("Không ghép được các ảnh thành một tệp PDF (ảnh có kênh trong suốt hoặc hỏng).",
                               code="bad_image", field="files") from None


def scan_of(parts: list[FilePart]) -> Scan:
    """One PDF, or images joined; anything else (or both mixed) is refused."""
    if not parts:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản (bản quét)”.", code="missing_field",
                               field="files")
    kinds = {extension(p.name) for p in parts}
    if kinds == {"pdf"} and len(parts) == 1:
        return Scan(checked_pdf(parts[0]), parts[0].name)
    if kinds <= set(IMAGE_TYPES):
        stem = Path(parts[0].name).stem
        return Scan(joined_images(parts), f"{stem}.pdf")
    raise ValidationFailed("Chọn một tệp PDF, hoặc các ảnh JPEG/PNG của từng trang (không lẫn hai loại, không tệp "
                           "khác; thư điện tử thì chọn tệp .eml).", code="bad_format", field="files",
                           names=[p.name for p in parts][:10])


# --- text of the first page ------------------------------------------------------------------------------------

def _run(args: list[str], timeout: int) -> str:
    return run_tool(args, timeout, nice=False)   # the clerk waits for the fields read: not niced


def first_page_text(pdf: bytes) -> tuple[str, str]:
    """(text, how): "text" from the PDF's text layer, "ocr" by Tesseract (vie), "" when nothing could be read."""
    with tempfile.TemporaryDirectory(prefix="congvan-scan-") as tmp:
        path = Path(tmp) / "scan.pdf"
        path.write_bytes(pdf)
        text = _run(["pdftotext", "-f", "1", "-l", "1", "-enc", "UTF-8", str(path), "-"], 30)
        if len(text.strip()) >= MIN_TEXT:
            return text, "text"
        image = Path(tmp) / "page.png"
        try:
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(pdf)
            document[0].render(scale=OCR_DPI / 72).to_pil().convert("L").save(image)
            document.close()
        except Exception as exc:  # an unreadable page: the clerk types the fields
            log.warning("page rendering failed: %s", exc)
            return text, ""
        ocr = _run(["tesseract", str(image), "stdout", "-l", "vie"], OCR_TIMEOUT)
        return (ocr, "ocr") if ocr.strip() else (text, "")


# --- e-mail ---------------------------------------------------------------------------------------------------

def mail_of(part: FilePart) -> Scan:
    """An .eml: the first PDF (not named "Phụ lục") is the document, images are joined when there is no PDF; the
    other files stay with it. A file that is no e-mail, or one with nothing to register, is refused."""
    try:
        message = email.message_from_bytes(part.data, policy=email.policy.default)
        if not isinstance(message, EmailMessage) or not (message["from"] or message["subject"]):
            raise ValueError("no From/Subject header")
        files = [FilePart(p.get_filename() or "", p.get_payload(decode=True) or b"", p.get_content_type())
                 for p in message.iter_attachments()]
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        sender = parseaddr(str(message["from"] or ""))
        sent = parsedate_to_datetime(str(message["date"])) if message["date"] else None
        subject = str(message["subject"] or "")
    except Exception as exc:  # the email package raises many kinds on hostile input
        log.info("malformed e-mail %s: %s", part.name, exc)
        raise ValidationFailed(f"Tệp '{part.name}' không phải thư điện tử (.eml) đọc được.", code="bad_email",
                               field="files", name=part.name) from None
    files = [f for f in files if isinstance(f.data, bytes) and f.data]
    for n, f in enumerate(files, 1):
        f.name = f.name.strip() or f"tep-dinh-kem-{n}.bin"
    pdfs = [f for f in files if extension(f.name) == "pdf" and not _appendix_name(f.name)]
    if pdfs:
        main = pdfs[0]
        scan = Scan(checked_pdf(main), main.name, [f for f in files if f is not main])
    else:
        images = [f for f in files if extension(f.name) in IMAGE_TYPES]
        if not images:
            raise ValidationFailed(f"Thư '{subject or part.name}' không kèm tệp PDF hoặc ảnh quét của văn bản.",
                                   code="no_document", field="files", name=part.name)
        scan = Scan(joined_images(images), f"{Path(images[0].name).stem}.pdf",
                    [f for f in files if f not in images])
    when = clock.to_vn(sent).strftime("%d/%m/%Y %H:%M") if sent and sent.tzinfo else ""
    scan.mail = {"from_name": sender[0], "from_address": sender[1], "subject": subject, "sent": when,
                 "body": text[:2000]}
    return scan


def _appendix_name(name: str) -> bool:
    return name.lower().replace("_", " ").startswith(("phụ lục", "phu luc", "pl "))


def is_appendix(part: FilePart) -> bool:
    return extension(part.name) == "pdf" and _appendix_name(part.name)


def mail_note(mail: dict[str, Any]) -> str:
    """The register's "Ghi chú" of an e-mailed document: who sent it and when."""
    if not mail:
        return ""
    who = mail.get("from_name") or ""
    address = mail.get("from_address") or ""
    sender = f"{who} <{address}>" if who and address else who or address
    return f"Nhận qua thư điện tử từ {sender}" + (f" lúc {mail['sent']}" if mail.get("sent") else "")
