"""Where the number, the date, the leader's signature and the seal go, read from the PDF's own text.

NĐ 30/2020 Phụ lục I places them by the document's own lines, not by fixed coordinates:
  - ô 2, number and notation: the "Số: …/…" line under the agency name (page 1);
  - ô 4, place and date: the "…, ngày … tháng … năm …" line under the motto (page 1, right column);
  - ô 7c, the signer's signature image: between the signing line ("KT. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN",
    "Q. GIÁM ĐỐC", the title) and the signer's name, on the last page of the body (an appendix may follow it);
  - ô 8, the seal: overlapping the left third of the signature image, at real size where the blank lines leave
    room; smaller, never over the text, where they do not.
Where a line is not found the default place of layout.DEFAULT_LAYOUT is kept and reported as not found, so the
preview shows the drafter what to check. Boxes never overlap another line of the page: a box over a placeholder
("Số:      /QĐ-UBND") replaces it (the filled field is drawn on white), and anything else bounds it.

Text comes from PDFium (pypdfium2): one call per page gives the text segments with their boxes, about a
millisecond a page (bench/signing.py).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium

from services.common.errors import ValidationFailed
from services.signing.layout import (
    DATE_FIELD,
    DEFAULT_LAYOUT,
    LEADER_FIELD,
    MM,
    NUMBER_FIELD,
    SEAL_FIELD,
    SEAL_SIZE,
    FieldPlace,
    Rect,
    appendix_rect,
    seal_rect,
)

NUMBER_LINE = re.compile(r"^\s*Số\s*:", re.IGNORECASE)
DATE_LINE = re.compile(r"ngày\s*[\d.…_ ]{0,12}\s*tháng\s*[\d.…_ ]{0,12}\s*năm", re.IGNORECASE)
AUTHORITY_LINE = re.compile(r"^\s*(KT|TM|TL|TUQ|Q)\s*\.\s*\S")
RECIPIENTS_LINE = re.compile(r"^\s*Nơi\s+nhận", re.IGNORECASE)
LEADER_WIDTH = 170.0
LEADER_MAX_HEIGHT = 90.0
MIN_SEAL = 0.6 * SEAL_SIZE       # below this a seal image is no longer legible: the preview warns instead
HEADER_SHARE = 0.42              # number and date lines lie in the top part of page 1
PAD = 2.0                        # clear space kept between a box and the nearest text


@dataclass(frozen=True)
class Segment:
    text: str
    rect: Rect  # left, bottom, right, top in PDF points

    @property
    def cx(self) -> float:
        return (self.rect[0] + self.rect[2]) / 2

    @property
    def top(self) -> float:
        return self.rect[3]

    @property
    def bottom(self) -> float:
        return self.rect[1]


@dataclass
class Page:
    index: int
    width: float
    height: float
    segments: list[Segment]


@dataclass
class Placement:
    """The fields' places, and for each whether it was read from the text (else the default was kept)."""

    places: dict[str, FieldPlace]
    found: dict[str, bool]
    page_sizes: list[tuple[float, float]]
    seal_position: str = "signature"
    replaces: dict[str, Segment] = field(default_factory=dict)  # field → the placeholder line it covers
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"fields": {name: {"page": p.page, "rect": [round(v, 1) for v in p.rect], "found": self.found.get(name,
                                                                                                               False),
                                  **({"replaces": self.replaces[name].text,
                                      "placeholder": [round(v, 1) for v in self.replaces[name].rect]}
                                     if name in self.replaces else {})}
                           for name, p in self.places.items()},
                "pages": [{"width": w, "height": h} for w, h in self.page_sizes],
                "seal_position": self.seal_position, "warnings": self.warnings}


def read_pages(pdf: bytes, indexes: list[int] | None = None) -> tuple[list[Page], int]:
    """Text segments of the given pages (all if None) and the page count."""
    try:
        doc = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise ValidationFailed("Tệp không phải PDF hợp lệ.", error=str(exc)) from exc
    try:
        count = len(doc)
        pages = []
        for index in (range(count) if indexes is None else [i for i in indexes if 0 <= i < count]):
            page = doc[index]
            width, height = page.get_size()
            text = page.get_textpage()
            segments = []
            for i in range(text.count_rects()):
                rect = text.get_rect(i)
                words = text.get_text_bounded(*rect).strip()
                if words:
                    segments.append(Segment(" ".join(words.split()), tuple(float(v) for v in rect)))
            text.close()
            page.close()
            pages.append(Page(index, float(width), float(height), segments))
        return pages, count
    finally:
        doc.close()


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _free_line_box(line: Segment, page: Page, min_width: float = 200.0, height: float = 18.0) -> Rect:
    """A box around a one-line placeholder, widened to `min_width` around its centre where the neighbours on the
    same row and the page margins allow, never touching another segment."""
    x1, y1, x2, y2 = line.rect
    cy = (y1 + y2) / 2
    h = max(height, y2 - y1 + 2 * PAD)
    half = max(min_width, x2 - x1 + 2 * PAD) / 2
    box = [max(10 * MM, line.cx - half), cy - h / 2, min(page.width - 10 * MM, line.cx + half), cy + h / 2]
    for seg in page.segments:
        if seg is line or not _overlaps(tuple(box), seg.rect):
            continue
        sx1, sy1, sx2, sy2 = seg.rect
        if sy1 < y2 and y1 < sy2:  # same row: a neighbour to the left or right
            if sx2 <= x1 + 1:
                box[0] = max(box[0], sx2 + PAD)
            elif sx1 >= x2 - 1:
                box[2] = min(box[2], sx1 - PAD)
        elif sy1 >= y2 - 1:  # the line above
            box[3] = min(box[3], sy1 - PAD / 2)
        else:  # the line below
            box[1] = max(box[1], sy2 + PAD / 2)
    return (box[0], box[1], box[2], box[3])


def _find_number(page: Page) -> Segment | None:
    limit = page.height * (1 - HEADER_SHARE)
    return next((s for s in sorted(page.segments, key=lambda s: -s.top)
                 if s.bottom >= limit and NUMBER_LINE.match(s.text)), None)


def _find_date(page: Page, number: Segment | None) -> Segment | None:
    limit = page.height * (1 - HEADER_SHARE)
    # the right column only: a body line of the header area ("căn cứ … ngày 19 tháng 6 năm 2015") starts at the
    # left margin
    candidates = [s for s in page.segments if s.bottom >= limit and s.rect[0] > page.width * 0.4
                  and DATE_LINE.search(s.text)]
    if not candidates:
        return None
    if number is not None:  # ô 4 sits on the row of ô 2, or just below it
        return min(candidates, key=lambda s: abs((s.top + s.bottom) / 2 - (number.top + number.bottom) / 2))
    return max(candidates, key=lambda s: s.top)


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


@dataclass
class SigningBlock:
    page: Page
    titles: list[Segment]
    name: Segment | None


def _find_block(page: Page) -> SigningBlock | None:
    right = [s for s in page.segments if s.cx > page.width * 0.5]
    start = next((s for s in sorted(right, key=lambda s: -s.top) if AUTHORITY_LINE.match(s.text)), None)
    if start is None:
        recipients = next((s for s in page.segments if RECIPIENTS_LINE.match(s.text)), None)
        if recipients is not None:  # ô 7a is written on the row of "Nơi nhận:"
            start = next((s for s in sorted(right, key=lambda s: abs(s.top - recipients.top))
                          if _is_upper(s.text) and abs(s.top - recipients.top) < 30), None)
    if start is None:
        uppers = [s for s in right if _is_upper(s.text) and s.top < page.height * 0.6]
        start = min(uppers, key=lambda s: s.top) if uppers else None
        while start is not None:  # the topmost of a run of title lines
            above = [s for s in uppers if 0 < s.bottom - start.top < 12 and abs(s.cx - start.cx) < 60]
            start = above[0] if above else start
            if not above:
                break
    if start is None:
        return None
    titles = [start]
    below = sorted((s for s in right if s.top < start.bottom + 1 and abs(s.cx - start.cx) < 90),
                   key=lambda s: -s.top)
    name = None
    for seg in below:
        if _is_upper(seg.text) and titles[-1].bottom - seg.top < 12:
            titles.append(seg)
            continue
        name = seg
        break
    return SigningBlock(page, titles, name)


def _leader_box(block: SigningBlock) -> Rect:
    page = block.page
    cx = sum(t.cx for t in block.titles) / len(block.titles)
    title_bottom = min(t.bottom for t in block.titles)
    name_top = block.name.top if block.name is not None else title_bottom - LEADER_MAX_HEIGHT - 2 * PAD
    y1, y2 = name_top + PAD, title_bottom - PAD
    if y2 - y1 > LEADER_MAX_HEIGHT:
        middle = (y1 + y2) / 2
        y1, y2 = middle - LEADER_MAX_HEIGHT / 2, middle + LEADER_MAX_HEIGHT / 2
    half = LEADER_WIDTH / 2
    x1, x2 = max(page.width * 0.5 - 20, cx - half), min(page.width - 10 * MM, cx + half)
    return (x1, y1, x2, y2)


def _seal_box(leader: Rect, page: Page, warnings: list[str]) -> Rect:
    """ô 8: the right edge at a third of the signature, at real size unless the lines around leave less room."""
    size = SEAL_SIZE
    while size >= MIN_SEAL:
        box = seal_rect(leader, size)
        if not any(_overlaps(box, s.rect) for s in page.segments):
            return box
        size -= 2
    warnings.append("Khoảng trống quanh chữ ký không đủ cho hình con dấu mà không che chữ; hãy xem và di chuyển "
                    "ô con dấu.")
    return seal_rect(leader, MIN_SEAL)


def top_right_seal(width: float, height: float) -> Rect:
    """Đà Nẵng QĐ 8849/2016 Đ8.1: the agency's seal signature at the top right of page 1 (text, in the margin)."""
    return appendix_rect(width, height)


def detect(pdf: bytes, seal_position: str = "signature") -> Placement:
    """The places of the four fields read from the PDF's text; defaults where a line is not found.

    `seal_position`: "signature" (NĐ 30 Phụ lục I, ô 8) or "top_right" (an agency rule such as Đà Nẵng Đ8.1)."""
    first, count = read_pages(pdf, [0])
    page0 = first[0]
    places = dict(DEFAULT_LAYOUT)
    found = {NUMBER_FIELD: False, DATE_FIELD: False, LEADER_FIELD: False, SEAL_FIELD: False}
    replaces: dict[str, Segment] = {}
    warnings: list[str] = []
    number = _find_number(page0)
    if number is not None:
        places[NUMBER_FIELD] = FieldPlace(0, _free_line_box(number, page0, 205))
        found[NUMBER_FIELD], replaces[NUMBER_FIELD] = True, number
    date = _find_date(page0, number)
    if date is not None:
        places[DATE_FIELD] = FieldPlace(0, _free_line_box(date, page0, 250))
        found[DATE_FIELD], replaces[DATE_FIELD] = True, date
    block = None
    for index in range(count - 1, -1, -1):  # the body's last page: appendices may follow the signature
        page = page0 if index == 0 else read_pages(pdf, [index])[0][0]
        block = _find_block(page)
        if block is not None:
            break
    sizes = [(page0.width, page0.height)] * count  # PDFium's page size of page 1; others read when used
    if block is not None:
        leader = _leader_box(block)
        places[LEADER_FIELD] = FieldPlace(block.page.index, leader)
        found[LEADER_FIELD] = True
        sizes[block.page.index] = (block.page.width, block.page.height)
        if seal_position != "top_right":
            places[SEAL_FIELD] = FieldPlace(block.page.index, _seal_box(leader, block.page, warnings))
            found[SEAL_FIELD] = True
    else:
        warnings.append("Không tìm thấy khối chữ ký (chức vụ, họ tên người ký); ô chữ ký ở vị trí mặc định.")
    if seal_position == "top_right":
        places[SEAL_FIELD] = FieldPlace(0, top_right_seal(page0.width, page0.height))
        found[SEAL_FIELD] = True
    elif SEAL_FIELD not in places:
        places[SEAL_FIELD] = FieldPlace(places[LEADER_FIELD].page, seal_rect(places[LEADER_FIELD].rect))
    return Placement(places, found, sizes, seal_position, replaces, warnings)


RENDER_TIMEOUT = 30.0


def render_page(pdf: bytes, page: int, dpi: int = 50) -> bytes:
    """One page as PNG with poppler's pdftoppm (widgets drawn), for the preview of the boxes."""
    with tempfile.TemporaryDirectory(prefix="congvan-page-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        try:
            subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page + 1), "-l", str(page + 1), "-png",
                            "-singlefile", str(source), str(Path(tmp) / "page")], check=True, capture_output=True,
                           timeout=RENDER_TIMEOUT)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ValidationFailed("Không hiển thị được trang của văn bản.", page=page, error=str(exc)) from exc
        return (Path(tmp) / "page.png").read_bytes()
