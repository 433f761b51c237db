"""Scanned documents made at test time (nothing committed): a PDF with a text layer laid out like a Vietnamese
administrative document, the same page as a small grey image (JPEG/PNG, read by OCR), and an e-mail (.eml) that
carries a document with other files."""

from __future__ import annotations

import io
from email.message import EmailMessage

import img2pdf
from PIL import Image, ImageDraw, ImageFont

from tests.e2e.helpers import vietnamese_pdf

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def header(issuer: tuple[str, ...], number: str | None, place_date: str | None, subject: str,
           marks: tuple[str, ...] = ()) -> list[str]:
    """The first page's lines in reading order: issuer, marks, number, motto, place and date, subject."""
    lines = [*issuer, *marks]
    if number:
        lines.append(f"Số: {number}")
    lines += ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    if place_date:
        lines.append(place_date)
    return [*lines, f"V/v {subject}", "Kính gửi: Ủy ban nhân dân thành phố Đà Nẵng"]


def text_pdf(lines: list[str]) -> bytes:
    """A page with a text layer (what pdftotext reads), Vietnamese glyphs embedded."""
    return vietnamese_pdf(lines[0], "\n".join(lines[1:]))


def page_image(lines: list[str], fmt: str = "PNG") -> bytes:
    """The page's text as a small greyscale image (about 1100 × 60 px a line): enough for Tesseract's 'vie'."""
    font = ImageFont.truetype(SERIF, 28)
    image = Image.new("L", (1150, 40 + 56 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 24 + 56 * i), line, font=font, fill=0)
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def image_only_pdf(lines: list[str]) -> bytes:
    """A scan without a text layer: the page image in a PDF."""
    return img2pdf.convert(page_image(lines))


def eml(subject: str, attachments: list[tuple[str, bytes, str]], sender: str = "Văn thư Sở Y tế <vanthu@syt.vn>",
        ) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "vanthu@danang.gov.vn", subject
    message["Date"] = "Fri, 20 Nov 2026 09:15:00 +0700"
    message.set_content("Kính gửi Văn phòng, chúng tôi gửi văn bản đính kèm.")
    for name, data, ctype in attachments:
        main, sub = ctype.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message.as_bytes()
