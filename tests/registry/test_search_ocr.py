"""A scanned page (an image, no text layer) with Vietnamese text is found by a word in it after OCR."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from services.registry import operations as ops
from services.registry import search as sr
from tests.registry.test_search import Blobs

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
LINES = ["ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", "KẾ HOẠCH", "Phòng chống thiên tai và tìm kiếm cứu nạn",
         "Các huyện kiểm tra đê điều, hồ chứa thủy lợi trước mùa mưa bão."]


def scanned_pdf() -> bytes:
    """An A4 page at 300 dpi, as a scanner makes it: one image, nothing extractable."""
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 56)
    for n, line in enumerate(LINES):
        draw.text((200, 300 + 120 * n), line, fill=0, font=font)
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=300.0)
    return out.getvalue()


def test_scanned_vietnamese_page_is_found_by_a_word_after_ocr(sqlite_db, clerk, admin):
    from services.registry.numbering import numbering_year

    ops.set_agency_profile(sqlite_db, admin, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
    ops.create_register(sqlite_db, admin, "incoming", numbering_year())
    blobs = Blobs()
    scan = scanned_pdf()
    assert sr.pdf_text(scan).strip() == ""   # really a scan: no text layer
    doc = ops.register_paper_incoming(sqlite_db, clerk, {"code_number": "3", "code_notation": "KH-UBND",
                                                         "subject": "Kế hoạch năm 2026", "organ_name": "UBND tỉnh"},
                                      [blobs.put(scan)])["id"]
    assert sr.search(sqlite_db, clerk, {"text": "thien tai"})["total"] == 0
    sr.index_document(sqlite_db, doc, blobs.fetch, ocr=True)
    for words in ("thiên tai", "cuu nan", "thuy loi"):
        assert [i["id"] for i in sr.search(sqlite_db, clerk, {"text": words})["items"]] == [doc], words
    with sqlite_db.session() as session:
        assert session.get(sr.SearchText, doc).ocr


def test_scratch_left_by_a_killed_extraction_is_swept_and_nothing_else(tmp_path):
    import os
    import time

    now = time.time()
    old = now - sr.SCRATCH_ORPHAN_AFTER - 60
    orphan_dir = tmp_path / "congvan-ocr-abc123"       # ocr_pdf's folder of a process killed mid-OCR
    orphan_dir.mkdir()
    (orphan_dir / "in.pdf").write_bytes(b"%PDF-1.4")
    orphan_file = tmp_path / "congvan-text-def456.pdf"  # pdf_text's copy, likewise
    orphan_file.write_bytes(b"%PDF-1.4")
    running = tmp_path / "congvan-ocr-running"          # an extraction still under way
    running.mkdir()
    stranger = tmp_path / "congvan-test-stack"          # not a scratch file, however old
    stranger.mkdir()
    for path in (orphan_dir, orphan_file, stranger):
        os.utime(path, (old, old))

    removed = sr.sweep_scratch(str(tmp_path), now)

    assert sorted(removed) == ["congvan-ocr-abc123", "congvan-text-def456.pdf"]
    assert not orphan_dir.exists() and not orphan_file.exists()
    assert running.exists() and stranger.exists()
