"""Sample Vietnamese drafts in the NĐ 30 form, for the demo, the tests and the benchmark.

The page leaves blank the places of the number, the date and the signatures, where layout.DEFAULT_LAYOUT
puts the fields.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from services.signing.fonts import SERIF, SERIF_BOLD, system_font
from services.signing.specimens import wrap

BODY = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; căn cứ Nghị định số 30/2020/NĐ-CP "
        "ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư; xét đề nghị của Giám đốc Sở Nội vụ, "
        "Ủy ban nhân dân tỉnh quyết định ban hành Quy chế quản lý, sử dụng chữ ký số trong các cơ quan "
        "hành chính nhà nước; mọi văn bản điện tử phải được ký số trước khi phát hành.")


def _fonts() -> None:
    if "DVSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DVSerif", str(system_font(SERIF))))
        pdfmetrics.registerFont(TTFont("DVSerif-Bold", str(system_font(SERIF_BOLD))))


def draft_pdf(agency_name: str = "Ủy ban nhân dân tỉnh Tuyên Quang", signer_name: str = "Nguyễn Văn An",
              signer_title: str = "Chủ tịch", pages: int = 1, subject: str = "Về việc ban hành Quy chế "
              "quản lý chữ ký số") -> bytes:
    _fonts()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle(subject)
    width, height = A4
    for page in range(pages):
        if page:
            c.setFont("DVSerif", 11)
            c.drawCentredString(width / 2, height - 40, str(page + 1))
        if page == 0:
            _header(c, agency_name, subject)
            y = 590
        else:
            y = height - 90
        c.setFont("DVSerif", 12)
        for _ in range(2 if pages > 1 else 1):
            for line in wrap(BODY, width - 85 - 57, "DVSerif", 12):
                c.drawString(85, y, line)
                y -= 17
            y -= 8
        if page == pages - 1:
            _signature_block(c, signer_name, signer_title)
        c.showPage()
    c.save()
    return out.getvalue()


def _header(c: canvas.Canvas, agency_name: str, subject: str) -> None:
    width = A4[0]
    left_x, right_x = 85 + 102, 425
    c.setFont("DVSerif-Bold", 11)
    for i, line in enumerate(wrap(agency_name.upper(), 200, "DVSerif-Bold", 11)[:2]):
        c.drawCentredString(left_x, 775 - 14 * i, line)
    c.drawCentredString(right_x, 775, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.setFont("DVSerif-Bold", 12)
    c.drawCentredString(right_x, 760, "Độc lập - Tự do - Hạnh phúc")
    c.line(right_x - 80, 754, right_x + 80, 754)
    c.line(left_x - 30, 740, left_x + 30, 740)
    c.setFont("DVSerif-Bold", 13)
    c.drawCentredString(width / 2, 655, "QUYẾT ĐỊNH")
    c.setFont("DVSerif-Bold", 12)
    c.drawCentredString(width / 2, 637, subject)


def _signature_block(c: canvas.Canvas, signer_name: str, signer_title: str) -> None:
    c.setFont("DVSerif-Bold", 10)
    c.drawString(85, 258, "Nơi nhận:")
    c.setFont("DVSerif", 9)
    for i, line in enumerate(("- Như Điều 3;", "- Lưu: VT.")):
        c.drawString(85, 246 - 11 * i, line)
    c.setFont("DVSerif-Bold", 12)
    c.drawCentredString(440, 255, signer_title.upper())
    c.drawCentredString(440, 158, signer_name)


def appendix_pdf(title: str = "Phụ lục: Danh sách cơ quan áp dụng chữ ký số") -> bytes:
    _fonts()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setFont("DVSerif-Bold", 13)
    c.drawCentredString(A4[0] / 2, 700, title)
    c.setFont("DVSerif", 12)
    for i, line in enumerate(("1. Văn phòng Ủy ban nhân dân tỉnh", "2. Sở Nội vụ", "3. Sở Tư pháp")):
        c.drawString(85, 660 - 18 * i, line)
    c.showPage()
    c.save()
    return out.getvalue()
