"""Placement read from the document (issue 20 item 4): on eleven NĐ 30-shaped drafts of different layouts (one to
three pages; công văn, quyết định with căn cứ, tờ trình, báo cáo with tables, an appendix after the signature, a
long recipient list, a DOCX converted by LibreOffice), the number, date, signature and seal boxes are found in the
text, and after the whole issue no stamp or image covers text: the pages rendered by poppler before and after are
the same outside the boxes, and under each box the draft was blank (a number or date box may cover only its own
placeholder line). Each layout's issued pages are saved as a screenshot (docs/signing.md, `congvan screenshots`).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from services.signing import layout, pades, placement, specimens
from tests import screenshots
from tests.signing.conftest import LEADER

DPI = 60
SCALE = DPI / 72
ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts" / "placement"
LAYOUTS = [*specimens.SPECS, specimens.DOCX_KEY]


def render(pdf: bytes, tmp: Path, name: str) -> list[Image.Image]:
    path = tmp / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(path), str(tmp / name)], check=True, timeout=120)
    return [Image.open(p).convert("RGB") for p in sorted(tmp.glob(f"{name}-*.png"))]


def pixels(rect, height: float, grow: int = 0) -> tuple[int, int, int, int]:
    """A PDF rectangle as a pixel box of the rendered page (origin top left), grown by `grow` pixels."""
    x1, y1, x2, y2 = rect
    return (int(x1 * SCALE) - grow, int((height - y2) * SCALE) - grow,
            int(x2 * SCALE + 0.999) + grow, int((height - y1) * SCALE + 0.999) + grow)


def draft_of(key: str, signing) -> tuple[bytes, str]:
    if key == specimens.DOCX_KEY:
        return specimens.docx_draft(), "docx"
    return specimens.draft(specimens.SPECS[key]), "pdf"


@pytest.mark.parametrize("key", LAYOUTS)
def test_boxes_are_read_from_the_text_and_cover_no_text(signing, key, tmp_path):
    data, kind = draft_of(key, signing)
    prepared = signing.prepare_draft(signing.blobs.put_bytes(data).sha256)
    draft = signing.blobs.read(prepared["pdf_sha256"]) if kind == "docx" else data
    found = prepared["placement"]
    assert all(f["found"] for f in found["fields"].values()), found
    assert found["warnings"] == []
    signer = specimens.SPECS[key].signer if key in specimens.SPECS else "Trần Văn Bình"
    leader_page = found["fields"][layout.LEADER_FIELD]["page"]
    pages, _ = placement.read_pages(draft, [leader_page])
    assert any(s.text == signer for s in pages[0].segments), "the signature goes on the page of the signer's name"

    signed = signing.sign_leader(prepared["sha256"], LEADER)
    issued = signing.blobs.read(signing.fill_and_seal(signed["sha256"], "Số: 15/QĐ-UBND",
                                                      "Tuyên Quang, ngày 21 tháng 11 năm 2026", "15/QĐ-UBND")["sha256"])
    assert signing.verify(signing.blobs.put_bytes(issued).sha256)["verdict"] == "valid"

    before, after = render(draft, tmp_path, "before"), render(issued, tmp_path, "after")
    assert len(before) == len(after)
    boxes = pades.field_places(issued)
    height = layout.A4[1]
    shots = []
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        mask = Image.new("L", old.size, 0)
        draw = ImageDraw.Draw(mask)
        mine = {name: place for name, place in boxes.items() if place.page == index}
        for place in mine.values():
            draw.rectangle(pixels(place.rect, height, grow=2), fill=255)
        changed = ImageChops.difference(old, new).convert("L").point(lambda v: 255 if v > 8 else 0)
        outside = ImageChops.subtract(changed, mask)
        assert outside.getbbox() is None, f"page {index + 1}: pixels changed outside the boxes at {outside.getbbox()}"
        for name, place in mine.items():
            under = old.convert("L").crop(pixels(place.rect, height, grow=-1))
            cover = found["fields"][name].get("placeholder")
            if cover:  # a number/date box may cover its own placeholder line, nothing else
                hole = pixels(cover, height, grow=1)
                box = pixels(place.rect, height, grow=-1)
                ImageDraw.Draw(under).rectangle((hole[0] - box[0], hole[1] - box[1], hole[2] - box[0],
                                                 hole[3] - box[1]), fill=255)
            assert under.getextrema()[0] > 200, f"page {index + 1}: the {name} box covers text"
        if mine or index == 0:
            shot = new.copy()
            outline = ImageDraw.Draw(shot)
            for place in mine.values():
                outline.rectangle(pixels(place.rect, height), outline=(0, 150, 80))
            shots.append(shot)
    blue = after[leader_page].crop(pixels(boxes[layout.LEADER_FIELD].rect, height))
    assert any(b > r + 60 for r, _, b in blue.get_flattened_data()), "the signature image is drawn in its box"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sheet = Image.new("RGB", (sum(s.width for s in shots) + 10 * (len(shots) - 1), shots[0].height), "white")
    x = 0
    for shot in shots:
        sheet.paste(shot, (x, 0))
        x += shot.width + 10
    out = ARTIFACTS / f"placement-{key}.png"
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    out.write_bytes(buf.getvalue())
    screenshots.publish([out])


def test_a_seal_rule_of_the_agency_puts_the_seal_top_right_of_page_one_as_text(signing, tmp_path):
    assert signing.seal_position() == "signature"  # NĐ 30 Phụ lục I unless the agency chose otherwise
    rules = signing.set_rules({"seal_position": "top_right"}, "admin-1")  # Đà Nẵng QĐ 8849/2016 Đ8.1
    assert next(r for r in rules if r["key"] == "seal_position")["value"] == "top_right"
    data = specimens.draft(specimens.SPECS["quyet-dinh-can-cu"])
    prepared = signing.prepare_draft(signing.blobs.put_bytes(data).sha256)
    seal = prepared["placement"]["fields"][layout.SEAL_FIELD]
    assert seal["page"] == 0 and seal["rect"][1] > layout.A4[1] - 25 * layout.MM  # inside the top margin
    signed = signing.sign_leader(prepared["sha256"], LEADER)
    issued = signing.blobs.read(signing.fill_and_seal(signed["sha256"], "Số: 15/QĐ-UBND", "Tuyên Quang, ngày 21 "
                                                      "tháng 11 năm 2026", "15/QĐ-UBND")["sha256"])
    path = tmp_path / "issued.pdf"
    path.write_bytes(issued)
    x1, y1, x2, y2 = pades.field_places(issued)[layout.SEAL_FIELD].rect
    text = subprocess.run(["pdftotext", "-r", "72", "-x", str(int(x1)), "-y", str(int(layout.A4[1] - y2)),
                           "-W", str(int(x2 - x1) + 1), "-H", str(int(y2 - y1) + 1), "-f", "1", "-l", "1",
                           str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert text.splitlines()[0] == "15/QĐ-UBND" and "+07:00" in text


def test_moving_a_box_before_signing_and_not_after(signing):
    data = specimens.draft(specimens.SPECS["to-trinh"])
    prepared = signing.prepare_draft(signing.blobs.put_bytes(data).sha256)
    moved = signing.move_fields(prepared["sha256"], {layout.LEADER_FIELD: {"rect": [330, 280, 500, 360]}})
    view = signing.placement(moved["sha256"])
    assert view["fields"][layout.LEADER_FIELD]["rect"] == [330, 280, 500, 360] and view["movable"]
    seal = view["fields"][layout.SEAL_FIELD]["rect"]
    assert seal[2] == pytest.approx(330 + 170 / 3, abs=1)  # the seal follows: its right edge at a third
    signed = signing.sign_leader(moved["sha256"], LEADER)
    assert signing.placement(signed["sha256"])["movable"] is False
    with pytest.raises(Exception, match="đã được ký số"):
        signing.move_fields(signed["sha256"], {layout.NUMBER_FIELD: {"rect": [80, 700, 290, 720]}})


def test_the_signature_of_a_long_draft_is_placed_on_its_last_page():
    pdf = specimens.draft(specimens.SPECS["quyet-dinh-3-trang"])
    result = placement.detect(pdf)
    assert len(result.page_sizes) == 3 and result.found[layout.LEADER_FIELD]
    assert result.places[layout.LEADER_FIELD].page == 2
