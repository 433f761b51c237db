"""PDF adapter (reportlab): printable registers and reports, A4 landscape, Vietnamese with DejaVu.

reportlab embeds a TrueType subset and writes widths in 1/1000 em itself, so DejaVu's 2048 units per em are fine
here (the glyph-width trap of feasibility.md §4 is pyHanko's GlyphAccumulator, not reportlab). Every table
repeats its header row on each page; the last page carries the place for the clerk's and leader's signatures,
since a printed register is signed and bound (NĐ 30 Điều 16.2.b, 22.3.b).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
FONT, FONT_BOLD = "CV-DejaVuSans", "CV-DejaVuSans-Bold"
PAGE = landscape(A4)
MARGIN = 10 * mm


def _font_file(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{name}: install fonts-dejavu-core (Vietnamese glyphs)")


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(_font_file("DejaVuSans.ttf"))))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_font_file("DejaVuSans-Bold.ttf"))))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    _fonts()
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=14, leading=18, alignment=TA_CENTER),
        "sub": ParagraphStyle("sub", fontName=FONT, fontSize=10, leading=13, alignment=TA_CENTER),
        "organ": ParagraphStyle("organ", fontName=FONT_BOLD, fontSize=10, leading=13),
        "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=11, leading=15, spaceBefore=6, spaceAfter=3),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.2),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=7.5, leading=9.2, alignment=TA_CENTER),
        "sign": ParagraphStyle("sign", fontName=FONT_BOLD, fontSize=10, leading=13, alignment=TA_CENTER),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text if text is not None else "")).replace("\n", "<br/>"), style)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float],
           st: dict[str, ParagraphStyle], numbered: bool = False) -> Table:
    usable = PAGE[0] - 2 * MARGIN
    scale = usable / sum(widths)
    col_widths = [w * scale for w in widths]
    data: list[list[Any]] = [[_p(h, st["head"]) for h in headers]]
    if numbered:  # NĐ 30 numbers the columns (1)…(10) under their names
        data.append([_p(f"({i})", st["head"]) for i in range(1, len(headers) + 1)])
    data += [[_p(c, st["cell"]) for c in row] for row in rows]
    table = Table(data, colWidths=col_widths, repeatRows=2 if numbered else 1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 1 if numbered else 0), colors.HexColor("#eeeeee")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _page_number(canvas, doc) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawRightString(PAGE[0] - MARGIN, 6 * mm, f"Trang {doc.page}")
    canvas.restoreState()


def _build(story: list[Any], title: str) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=12 * mm, title=title, author="Công Văn")
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()


def _signatures(st: dict[str, ParagraphStyle]) -> Table:
    cells = [[_p("NGƯỜI LẬP SỔ", st["sign"]), _p("THỦ TRƯỞNG CƠ QUAN", st["sign"])],
             [_p("(Ký, ghi rõ họ tên)", st["sub"]), _p("(Ký, ghi rõ họ tên, đóng dấu)", st["sub"])]]
    return Table(cells, colWidths=[(PAGE[0] - 2 * MARGIN) / 2] * 2)


def register_pdf(title: str, organ_name: str, period_text: str, columns: Sequence[tuple[str, float]],
                 rows: Sequence[Sequence[str]], counted: str = "văn bản") -> bytes:
    """The register for a period: heading, every column of Phụ lục IV (numbered), one line per document (`counted`
    names what a line is in the total: "văn bản", "bản sao")."""
    st = _styles()
    story: list[Any] = [_p(organ_name.upper(), st["organ"]), Spacer(1, 4 * mm), _p(title, st["title"]),
                        _p(period_text, st["sub"]), Spacer(1, 5 * mm)]
    headers = [c[0] for c in columns]
    story.append(_table(headers, rows or [["" for _ in headers]], [c[1] for c in columns], st, numbered=True))
    story += [Spacer(1, 4 * mm), _p(f"Tổng số: {len(rows)} {counted}.", st["cell"]), Spacer(1, 8 * mm),
              _signatures(st)]
    return _build(story, title)


def report_pdf(title: str, organ_name: str, period_text: str,
               sections: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]], Sequence[float]]]) -> bytes:
    """A report: heading, then one titled table per section (heading row + rows)."""
    st = _styles()
    story: list[Any] = [_p(organ_name.upper(), st["organ"]), Spacer(1, 4 * mm), _p(title, st["title"]),
                        _p(period_text, st["sub"]), Spacer(1, 4 * mm)]
    for name, headers, rows, widths in sections:
        story.append(_p(name, st["h2"]))
        if rows:
            story.append(_table(headers, rows, widths, st))
        else:
            story.append(_p("Không có.", st["cell"]))
    return _build(story, title)


def letter_pdf(organ_name: str, place_date: str, title: str, paragraphs: Sequence[str], signers: Sequence[str],
               signer_names: Sequence[str] = ()) -> bytes:
    """A one-page A4 portrait paper in the NĐ 30 Phụ lục I layout (issuer left, national motto and place/date
    right, title, body, signatures): the Phiếu trả of a paper document (TP.HCM Điều 6.1)."""
    st = _styles()
    width = A4[0] - 40 * mm
    body = ParagraphStyle("body", fontName=FONT, fontSize=12, leading=17, spaceAfter=5)
    head = Table([[_p(organ_name.upper(), st["sign"]),
                   _p("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc", st["sign"])],
                  ["", _p(place_date, st["sub"])]], colWidths=[width * 0.42, width * 0.58])
    story: list[Any] = [head, Spacer(1, 10 * mm), _p(title, st["title"]), Spacer(1, 6 * mm)]
    story += [_p(text, body) for text in paragraphs]
    names = list(signer_names) + [""] * (len(signers) - len(signer_names))
    cells = [[_p(s, st["sign"]) for s in signers], [_p("(Ký, ghi rõ họ tên)", st["sub"]) for _ in signers],
             [Spacer(1, 18 * mm) for _ in signers], [_p(n, st["sign"]) for n in names]]
    story += [Spacer(1, 8 * mm), Table(cells, colWidths=[width / len(signers)] * len(signers))]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=25 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, title=title, author="Công Văn").build(story)
    return out.getvalue()
