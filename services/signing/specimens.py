"""NĐ 30-shaped drafts of different layouts, made at run time: the placement tests, the screenshots and the bench.

Each draft is laid out as NĐ 30/2020 Phụ lục I draws it (A4; margins top 20 mm, bottom 20 mm, left 30 mm,
right 15 mm; Liberation Serif, metric-compatible with Times New Roman): agency name and "Số:      /…" on the left,
the motto and "…, ngày    tháng    năm …" on the right, the type and the subject, the body (căn cứ, articles,
tables), then "Nơi nhận:" on the left and the signing block on the right (authority line, title, blank room for
the signature, the signer's name). The number and the day are left as blanks, as drafters leave them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from services.signing.fonts import LIBERATION_DIR

MM = 72 / 25.4
LEFT, RIGHT, TOP, BOTTOM = 30 * MM, A4[0] - 15 * MM, A4[1] - 20 * MM, 20 * MM
LEFT_CX, RIGHT_CX = LEFT + 100, 420.0
FONTS = {"R": "LiberationSerif-Regular", "B": "LiberationSerif-Bold", "I": "LiberationSerif-Italic",
         "BI": "LiberationSerif-BoldItalic"}


def _fonts() -> None:
    registered = pdfmetrics.getRegisteredFontNames()
    for key, name in FONTS.items():
        if f"LS-{key}" not in registered:
            pdfmetrics.registerFont(TTFont(f"LS-{key}", str(LIBERATION_DIR / f"{name}.ttf")))


def wrap(text: str, width: float, font: str, size: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if pdfmetrics.stringWidth(candidate, font, size) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


@dataclass
class Spec:
    """One draft: what its header, body and signing block say."""

    key: str
    label: str                          # Vietnamese, shown in docs/signing.md
    agency: tuple[str, ...]             # ô 1: superior agency (optional) and the agency
    notation: str                       # "QĐ-UBND" → "Số:      /QĐ-UBND"
    place: str
    kind: str                           # ô 5a: "QUYẾT ĐỊNH", "TỜ TRÌNH"; empty for a công văn (V/v under the number)
    subject: str
    body: list[tuple[str, object]]      # ("p", text) | ("h", centred bold) | ("table", rows) | ("break", None)
    authority: tuple[str, ...]          # ô 7a/7b: "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"
    signer: str
    recipients: tuple[str, ...] = ("- Như trên;", "- Lưu: VT.")
    after: list[tuple[str, object]] = field(default_factory=list)  # an appendix in the same file


class _Writer:
    def __init__(self, spec: Spec) -> None:
        _fonts()
        self.spec, self.out = spec, io.BytesIO()
        self.c = canvas.Canvas(self.out, pagesize=A4, pageCompression=1)
        self.c.setTitle(spec.subject)
        self.page, self.y = 1, TOP

    def new_page(self) -> None:
        self.c.showPage()
        self.page += 1
        self.c.setFont("LS-R", 13)
        self.c.drawCentredString(A4[0] / 2, A4[1] - 12 * MM, str(self.page))  # NĐ 30: page number in the top margin
        self.y = TOP - 6

    def room(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.new_page()

    def centred(self, text: str, font: str, size: float, x: float = A4[0] / 2, step: float | None = None) -> None:
        self.c.setFont(f"LS-{font}", size)
        self.c.drawCentredString(x, self.y - size, text)
        self.y -= step or size * 1.25

    def paragraph(self, text: str, size: float = 14, indent: float = 1 * 28.35) -> None:
        lines = wrap(text, RIGHT - LEFT - indent, "LS-R", size)
        for i, line in enumerate(lines):
            self.room(size * 1.4)
            self.c.setFont("LS-R", size)
            self.c.drawString(LEFT + (indent if i == 0 else 0), self.y - size, line)
            self.y -= size * 1.35
        self.y -= 4

    def table(self, rows: list[list[str]], size: float = 12) -> None:
        widths = [(RIGHT - LEFT) * w for w in ([0.1, 0.5, 0.2, 0.2] if len(rows[0]) == 4 else
                                              [1 / len(rows[0])] * len(rows[0]))]
        height = size * 1.8
        for r, row in enumerate(rows):
            self.room(height)
            x = LEFT
            top = self.y
            for text, w in zip(row, widths, strict=True):
                self.c.rect(x, top - height, w, height)
                self.c.setFont("LS-B" if r == 0 else "LS-R", size)
                self.c.drawCentredString(x + w / 2, top - height + size * 0.6, text)
                x += w
            self.y -= height
        self.y -= 10

    def header(self) -> None:
        s, c = self.spec, self.c
        y = TOP
        for i, name in enumerate(s.agency):
            c.setFont("LS-B" if i == len(s.agency) - 1 else "LS-R", 13)
            c.drawCentredString(LEFT_CX, y - 13, name)
            y -= 16
        c.line(LEFT_CX - 30, y - 2, LEFT_CX + 30, y - 2)
        c.setFont("LS-B", 13)
        c.drawCentredString(RIGHT_CX, TOP - 13, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        c.setFont("LS-B", 14)
        c.drawCentredString(RIGHT_CX, TOP - 30, "Độc lập - Tự do - Hạnh phúc")
        c.line(RIGHT_CX - 82, TOP - 34, RIGHT_CX + 82, TOP - 34)
        row = min(y - 22, TOP - 62)
        c.setFont("LS-R", 13)
        c.drawCentredString(LEFT_CX, row, f"Số:        /{s.notation}")
        c.setFont("LS-I", 14)
        c.drawCentredString(RIGHT_CX, row, f"{s.place}, ngày      tháng      năm 2026")
        self.y = row - 12
        if not s.kind:  # công văn: the subject under the number (ô 5b)
            c.setFont("LS-R", 12)
            for line in wrap(f"V/v {s.subject}", 200, "LS-R", 12):
                c.drawCentredString(LEFT_CX, self.y - 12, line)
                self.y -= 14
            self.y -= 20
            return
        self.y -= 24
        self.centred(s.kind, "B", 14, step=18)
        for line in wrap(s.subject, 380, "LS-B", 14):
            self.centred(line, "B", 14, step=17)
        c.line(A4[0] / 2 - 40, self.y - 2, A4[0] / 2 + 40, self.y - 2)
        self.y -= 16

    def body(self, parts: list[tuple[str, object]]) -> None:
        for kind, value in parts:
            if kind == "p":
                self.paragraph(str(value))
            elif kind == "h":
                self.room(24)
                self.centred(str(value), "B", 14, step=20)
            elif kind == "table":
                self.table(value)  # type: ignore[arg-type]
            elif kind == "break":
                self.new_page()

    def signing_block(self) -> None:
        s, c = self.spec, self.c
        height = 16 * len(s.authority) + 100 + 20
        self.room(max(height, 14 * len(s.recipients) + 30))
        top = self.y - 10
        c.setFont("LS-BI", 12)
        c.drawString(LEFT, top - 12, "Nơi nhận:")
        c.setFont("LS-R", 11)
        for i, line in enumerate(s.recipients):
            c.drawString(LEFT, top - 26 - 13 * i, line)
        y = top
        for line in s.authority:
            c.setFont("LS-B", 14)
            c.drawCentredString(RIGHT_CX, y - 14, line)
            y -= 17
        y -= 95  # NĐ 30: room for the signature between the title and the name
        c.setFont("LS-B", 14)
        c.drawCentredString(RIGHT_CX, y - 14, s.signer)
        self.y = min(y - 24, top - 26 - 13 * len(s.recipients))

    def finish(self) -> bytes:
        self.c.showPage()
        self.c.save()
        return self.out.getvalue()


def draft(spec: Spec) -> bytes:
    w = _Writer(spec)
    w.header()
    w.body(spec.body)
    w.signing_block()
    if spec.after:
        w.new_page()
        w.body(spec.after)
    return w.finish()


CAN_CU = [("p", "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, bổ sung một số "
                "điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 năm 2019;"),
          ("p", "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;"),
          ("p", "Theo đề nghị của Giám đốc Sở Nội vụ tại Tờ trình số 125/TTr-SNV ngày 10 tháng 11 năm 2026.")]
TEXT = ("Các cơ quan, đơn vị triển khai thực hiện nghiêm túc việc ký số, phát hành và tiếp nhận văn bản điện tử "
        "trên Hệ thống quản lý văn bản và điều hành; văn bản điện tử được ký số bằng chữ ký số của người có thẩm "
        "quyền và chữ ký số của cơ quan, tổ chức theo đúng quy định; kịp thời báo cáo khó khăn, vướng mắc.")
ARTICLES = [("p", f"Điều {i}. {TEXT}") for i in (1, 2, 3)]
TABLE = [["STT", "Nội dung", "Số lượng", "Tỷ lệ (%)"], ["1", "Văn bản đến", "1.254", "100"],
         ["2", "Văn bản đi ký số", "876", "98,5"], ["3", "Hồ sơ công việc", "312", "87,2"],
         ["4", "Văn bản giấy", "13", "1,5"]]
UBND_TQ = ("ỦY BAN NHÂN DÂN", "TỈNH TUYÊN QUANG")
SNV = ("UBND TỈNH TUYÊN QUANG", "SỞ NỘI VỤ")


def _specs() -> list[Spec]:
    long_recipients = ("- Bộ Nội vụ (để b/c);", "- Thường trực Tỉnh ủy;", "- Thường trực HĐND tỉnh;",
                       "- Chủ tịch, các PCT UBND tỉnh;", "- Các sở, ban, ngành;", "- UBND các huyện, thành phố;",
                       "- Lưu: VT, NC.")
    return [
        Spec("cong-van-1-trang", "Công văn, 1 trang, KT. CHỦ TỊCH", UBND_TQ, "UBND-VP", "Tuyên Quang", "",
             "triển khai ký số văn bản điện tử", [("p", "Kính gửi: Các sở, ban, ngành thuộc tỉnh."), ("p", TEXT)],
             ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), "Trần Văn Bình"),
        Spec("cong-van-2-trang", "Công văn, 2 trang", SNV, "SNV-VP", "Tuyên Quang", "",
             "hướng dẫn lập hồ sơ điện tử", [("p", "Kính gửi: Các phòng, đơn vị thuộc Sở."),
                                            *[("p", TEXT)] * 6], ("GIÁM ĐỐC",), "Lê Thị Hoa"),
        Spec("quyet-dinh-can-cu", "Quyết định có căn cứ, 1 trang", UBND_TQ, "QĐ-UBND", "Tuyên Quang",
             "QUYẾT ĐỊNH", "Ban hành Quy chế quản lý, sử dụng chữ ký số",
             [*CAN_CU[:2], ("h", "QUYẾT ĐỊNH:"), ("p", "Điều 1. Ban hành kèm theo Quyết định này Quy chế.")],
             ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), "Nguyễn Văn An"),
        Spec("quyet-dinh-3-trang", "Quyết định dài, 3 trang", UBND_TQ, "QĐ-UBND", "Tuyên Quang", "QUYẾT ĐỊNH",
             "Phê duyệt Kế hoạch chuyển đổi số năm 2027",
             [*CAN_CU, ("h", "QUYẾT ĐỊNH:"), *ARTICLES * 4, ("p", TEXT)],
             ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), "Phạm Quốc Hùng"),
        Spec("to-trinh", "Tờ trình, KT. GIÁM ĐỐC", SNV, "TTr-SNV", "Tuyên Quang", "TỜ TRÌNH",
             "Về việc ban hành Quy chế công tác văn thư",
             [("p", "Kính gửi: Ủy ban nhân dân tỉnh Tuyên Quang."), ("p", TEXT), ("p", TEXT)],
             ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"), "Hoàng Minh Đức"),
        Spec("bao-cao-bang", "Báo cáo có bảng, Q. GIÁM ĐỐC", SNV, "BC-SNV", "Tuyên Quang", "BÁO CÁO",
             "Kết quả ứng dụng văn bản điện tử năm 2026",
             [("p", TEXT), ("table", TABLE), ("p", TEXT)], ("Q. GIÁM ĐỐC",), "Vũ Thanh Tâm"),
        Spec("bao-cao-bang-2-trang", "Báo cáo có bảng dài, 2 trang", ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ ĐÀ NẴNG"),
             "BC-UBND", "Đà Nẵng", "BÁO CÁO", "Tình hình xử lý văn bản quý IV",
             [("p", TEXT), ("table", TABLE + [[str(i), f"Đơn vị số {i}", str(100 + i), "95,0"]
                                              for i in range(5, 30)]), ("p", TEXT)],
             ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), "Lê Quang Vinh"),
        Spec("ke-hoach-phu-luc", "Kế hoạch, phụ lục sau chữ ký", UBND_TQ, "KH-UBND", "Tuyên Quang", "KẾ HOẠCH",
             "Triển khai chữ ký số chuyên dùng", [("p", TEXT), ("p", TEXT)],
             ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), "Trần Văn Bình",
             after=[("h", "PHỤ LỤC"), ("table", TABLE), ("p", TEXT)]),
        Spec("thong-bao-tl", "Thông báo, TL. CHỦ TỊCH", ("ỦY BAN NHÂN DÂN", "TỈNH TUYÊN QUANG"), "TB-UBND",
             "Tuyên Quang", "THÔNG BÁO", "Kết luận của Chủ tịch tại cuộc họp giao ban", [("p", TEXT)],
             ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"), "Đỗ Thị Lan"),
        Spec("cong-van-noi-nhan-dai", "Công văn, nơi nhận dài", ("BỘ NỘI VỤ", "CỤC VĂN THƯ VÀ LƯU TRỮ NHÀ NƯỚC"),
             "VTLTNN-NVTW", "Hà Nội", "", "hướng dẫn quản lý văn bản điện tử",
             [("p", "Kính gửi: Các bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ."), ("p", TEXT), ("p", TEXT)],
             ("KT. CỤC TRƯỞNG", "PHÓ CỤC TRƯỞNG"), "Nguyễn Thị Mai", recipients=long_recipients),
    ]


SPECS: dict[str, Spec] = {s.key: s for s in _specs()}
DOCX_KEY = "cong-van-docx"


def all_drafts() -> dict[str, Callable[[], bytes]]:
    """Every PDF specimen by key (the DOCX one is made by docx_draft and converted by the caller)."""
    return {key: (lambda s=spec: draft(s)) for key, spec in SPECS.items()}


# ---------------------------------------------------------------- a DOCX draft (converted by signing.convert)

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _run(text: str, bold: bool = False, italic: bool = False, size: int = 14) -> str:
    props = (f'<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:cs="Times New Roman"/>'
             f'{"<w:b/>" if bold else ""}{"<w:i/>" if italic else ""}<w:sz w:val="{size * 2}"/>')
    return f'<w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>'


def _para(text: str = "", align: str = "both", indent: bool = False, **run) -> str:
    ind = '<w:ind w:firstLine="567"/>' if indent else ""
    return (f'<w:p><w:pPr><w:spacing w:before="0" w:after="60"/><w:jc w:val="{align}"/>{ind}</w:pPr>'
            f'{_run(text, **run) if text else ""}</w:p>')


def _two_columns(left: list[str], right: list[str]) -> str:
    """A borderless two-column table, as NĐ 30 templates lay out the header and the signing block."""
    def cell(paras: list[str], width: int) -> str:
        return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>{"".join(paras) or _para()}</w:tc>'
    return ('<w:tbl><w:tblPr><w:tblW w:w="9356" w:type="dxa"/><w:tblBorders><w:top w:val="nil"/>'
            '<w:left w:val="nil"/><w:bottom w:val="nil"/><w:right w:val="nil"/><w:insideH w:val="nil"/>'
            '<w:insideV w:val="nil"/></w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr>'
            '<w:tblGrid><w:gridCol w:w="3686"/><w:gridCol w:w="5670"/></w:tblGrid>'
            f'<w:tr>{cell(left, 3686)}{cell(right, 5670)}</w:tr></w:tbl>')


def docx_package(document_xml: str) -> bytes:
    """The smallest DOCX Word and LibreOffice open: content types, package relationships, the document."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>'))
        z.writestr("word/document.xml", document_xml)
    return out.getvalue()


def docx_draft() -> bytes:
    """A công văn as a drafter writes it in Word (Times New Roman; header and signing block as tables)."""
    header = _two_columns(
        [_para("ỦY BAN NHÂN DÂN", "center", size=13), _para("TỈNH TUYÊN QUANG", "center", bold=True, size=13),
         _para("", "center"), _para("Số:        /UBND-NC", "center", size=13),
         _para("V/v triển khai văn bản điện tử", "center", size=12)],
        [_para("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "center", bold=True, size=13),
         _para("Độc lập - Tự do - Hạnh phúc", "center", bold=True), _para("", "center"),
         _para("Tuyên Quang, ngày      tháng      năm 2026", "center", italic=True)])
    body = [_para(), _para("Kính gửi: Các sở, ban, ngành thuộc tỉnh.", "center"),
            *[_para(TEXT, indent=True) for _ in range(3)], _para()]
    block = _two_columns(
        [_para("Nơi nhận:", "left", bold=True, italic=True, size=12), _para("- Như trên;", "left", size=11),
         _para("- Lưu: VT, NC.", "left", size=11)],
        [_para("TM. ỦY BAN NHÂN DÂN", "center", bold=True), _para("KT. CHỦ TỊCH", "center", bold=True),
         _para("PHÓ CHỦ TỊCH", "center", bold=True), *[_para("", "center")] * 5,
         _para("Trần Văn Bình", "center", bold=True)])
    sect = ('<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="851" w:bottom="1134" '
            'w:left="1701" w:header="0" w:footer="0" w:gutter="0"/></w:sectPr>')
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W_NS}"><w:body>'
                f'{header}{"".join(body)}{block}{sect}</w:body></w:document>')
    return docx_package(document)
