"""Where the fields go (NĐ 30/2020 Phụ lục I) and the default signature and seal images.

Coordinates are PDF points from the bottom-left corner of an A4 page (595 × 842 pt). The defaults follow
the NĐ 30 form of an administrative document (margins: top 20 mm, left 30 mm, right 15 mm):
  - ô 2, number and notation (`so_van_ban`): under the agency name, top left of page 1;
  - ô 4, place and date (`ngay_ban_hanh`): under the national motto, top right of page 1;
  - ô 7, the leader's signature (`LanhDao`): between the title line and the signer's name, last page;
  - ô 8, the agency seal (`DauCoQuan`): the seal at its real size (≈ 36 mm) overlapping the left third
    of the leader's signature image;
  - appendices in separate files: the seal signature as text, top right of page 1.
A caller may move any field with a `layout` dict: {"LanhDao": {"page": -1, "rect": [x1, y1, x2, y2]}, ...}.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from services.common.errors import ValidationFailed

MM = 72 / 25.4
A4 = (595.28, 841.89)
NUMBER_FIELD = "so_van_ban"
DATE_FIELD = "ngay_ban_hanh"
LEADER_FIELD = "LanhDao"
SEAL_FIELD = "DauCoQuan"
APPENDIX_FIELD = "DauCoQuanPhuLuc"
COPY_FIELD = "DauBanSao"            # an electronic copy's form and seal (sao y, sao lục, trích sao)
TEXT_FIELDS = (NUMBER_FIELD, DATE_FIELD)
SEAL_SIZE = 36 * MM          # a round seal of an agency is 35–42 mm across
SIGNATURE_BLUE = (20, 40, 170)
SEAL_RED = (205, 20, 30)

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class FieldPlace:
    page: int       # 0-based; negative counts from the end (-1 = last page)
    rect: Rect

    def page_index(self, page_count: int) -> int:
        index = self.page if self.page >= 0 else page_count + self.page
        if not 0 <= index < page_count:
            raise ValidationFailed("Vị trí trường ký nằm ngoài số trang của văn bản.", page=self.page,
                                   pages=page_count)
        return index


DEFAULT_LAYOUT: dict[str, FieldPlace] = {
    NUMBER_FIELD: FieldPlace(0, (30 * MM, 698, 30 * MM + 205, 716)),
    DATE_FIELD: FieldPlace(0, (300, 698, A4[0] - 15 * MM, 716)),
    LEADER_FIELD: FieldPlace(-1, (355, 172, 525, 244)),
}


def seal_rect(leader: Rect, size: float = SEAL_SIZE) -> Rect:
    """The seal's box: its right part covers the left third of the leader's box, centred vertically on it."""
    x1, y1, x2, y2 = leader
    right = x1 + (x2 - x1) / 3
    cy = (y1 + y2) / 2
    return (right - size, cy - size / 2, right, cy + size / 2)


def appendix_rect(page_width: float = A4[0], page_height: float = A4[1]) -> Rect:
    """Top right corner of page 1, inside the top margin so that it never covers the text."""
    right = page_width - 15 * MM
    top = page_height - 6 * MM
    return (right - 62 * MM, top - 13 * MM, right, top)


def _rect(value: Any, name: str) -> Rect:
    try:
        x1, y1, x2, y2 = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationFailed("Tọa độ trường không hợp lệ (cần [x1, y1, x2, y2]).", field=name,
                               rect=value) from None
    if x2 <= x1 or y2 <= y1:
        raise ValidationFailed("Tọa độ trường không hợp lệ (x2 > x1 và y2 > y1).", field=name, rect=value)
    return (x1, y1, x2, y2)


def resolve_layout(overrides: dict[str, Any] | None = None,
                   base: dict[str, FieldPlace] | None = None) -> dict[str, FieldPlace]:
    """`base` (the places read from the document, placement.detect) or the defaults, with the caller's overrides;
    the seal follows a moved leader unless placed explicitly."""
    places = dict(base or DEFAULT_LAYOUT)
    overrides = overrides or {}
    unknown = set(overrides) - {*TEXT_FIELDS, LEADER_FIELD, SEAL_FIELD, "seal_size"}
    if unknown:
        raise ValidationFailed("Bố cục có trường không được hỗ trợ.", fields=sorted(unknown))
    for name, spec in overrides.items():
        if name == "seal_size":
            continue
        if not isinstance(spec, dict):
            raise ValidationFailed("Bố cục của trường phải là {page, rect}.", field=name)
        default = places.get(name)
        page = int(spec.get("page", default.page if default else places[LEADER_FIELD].page))
        places[name] = FieldPlace(page, _rect(spec.get("rect"), name))
    if SEAL_FIELD not in overrides and (
            LEADER_FIELD in overrides or "seal_size" in overrides or SEAL_FIELD not in places):
        leader = places[LEADER_FIELD]
        places[SEAL_FIELD] = FieldPlace(leader.page, seal_rect(leader.rect, float(overrides.get("seal_size",
                                                                                                 SEAL_SIZE))))
    return places


# ---------------------------------------------------------------- images (demo defaults)


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def default_signature_image(name: str, font_path: Path) -> Image.Image:
    """A blue, transparent 'handwritten' signature: used until the person uploads their own image."""
    img = Image.new("RGBA", (600, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    given = name.split()[-1] if name.split() else name
    draw.text((300, 110), given, font=_font(font_path, 110), fill=(*SIGNATURE_BLUE, 255), anchor="mm")
    draw.arc((60, 120, 560, 230), start=200, end=340, fill=(*SIGNATURE_BLUE, 255), width=6)
    return img


def default_seal_image(agency_name: str, font_path: Path) -> Image.Image:
    """A red round seal with the agency name around a star; transparent background."""
    size = 800
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    red = (*SEAL_RED, 235)
    c = size / 2
    draw.ellipse((8, 8, size - 8, size - 8), outline=red, width=22)
    draw.ellipse((150, 150, size - 150, size - 150), outline=red, width=10)
    _star(draw, c, c, 120, red)
    _text_on_circle(img, agency_name.upper(), c, 318, _font(font_path, 50), red)
    # drawn at 800 px for smooth edges, stored at 400 px (≈ 280 dpi at 36 mm): a quarter of the bytes to deflate
    return img.resize((400, 400), Image.LANCZOS)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple) -> None:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.4
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=fill)


def _text_on_circle(img: Image.Image, text: str, c: float, radius: float, font: ImageFont.FreeTypeFont,
                    fill: tuple) -> None:
    """Letters along the upper arc, each rotated to face outwards."""
    widths = [font.getlength(ch) for ch in text]
    total = sum(widths) * 1.05
    span = min(total / radius, 1.9 * math.pi)
    angle = -math.pi / 2 - span / 2
    for ch, w in zip(text, widths, strict=True):
        step = w * 1.05 / total * span
        mid = angle + step / 2
        glyph = Image.new("RGBA", (90, 90), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((45, 45), ch, font=font, fill=fill, anchor="mm")
        glyph = glyph.rotate(-math.degrees(mid) - 90, resample=Image.BICUBIC)
        x = c + radius * math.cos(mid) - 45
        y = c + radius * math.sin(mid) - 45
        img.alpha_composite(glyph, (int(x), int(y)))
        angle += step
