"""The score of a paper scan against the approved version (services/routing/scan_match.py), on real rendered pages: the
draft's PDF with its text layer, and its printout "scanned" (an image, OCRed with Tesseract's Vietnamese data).
Three OCR runs, a few seconds each."""

from __future__ import annotations

import pytest

from gateway.scans import first_page_text
from services.routing.scan_match import THRESHOLD, compare
from tests.gateway import scan_pages as pages


@pytest.fixture(scope="module")
def approved() -> str:
    text, how = first_page_text(pages.inventory())
    assert how == "text"
    return text


def ocr(pdf: bytes) -> str:
    text, how = first_page_text(pdf)
    assert how == "ocr"   # really a scan: no text layer
    return text


def test_the_same_page_scanned_matches_despite_ocr_noise(approved):
    match = compare(approved, ocr(pages.scanned(pages.inventory(), seed=2)))
    assert match.matches and match.score >= 90, match
    # the header's two columns read in another order are a move, not a difference shown to the handler
    assert "TUYÊN" not in match.missing + match.added


def test_an_earlier_version_with_a_rewritten_paragraph_falls_below_and_names_the_words(approved):
    match = compare(approved, ocr(pages.scanned(pages.inventory_earlier(), seed=6)))
    assert 50 <= match.score < THRESHOLD, match
    assert {"thừa", "thiếu"} <= set(match.missing)         # of the approved paragraph
    assert {"chủ", "động"} <= set(match.added)             # of the earlier one
    assert len(match.missing) <= 8 and len(match.added) <= 8


def test_another_document_scores_low(approved):
    match = compare(approved, ocr(pages.scanned(pages.flood(), seed=7)))
    assert match.score < 50, match


def test_a_scan_with_no_word_is_unreadable_not_a_score():
    match = compare("Kế hoạch phòng chống thiên tai", "  \n | _ . \f")
    assert match.score is None and not match.readable and not match.matches


def test_folding_and_specks():
    # tone marks lost by OCR and one-letter specks do not count; the score is symmetric in length
    assert compare("Ủy ban nhân dân tỉnh Tuyên Quang", "uy ban nhan dan tinh tuyen quang ' i . l").score == 100
    longer = compare("kiểm kê tài sản", "kiểm kê tài sản và đánh giá lại giá trị")
    assert longer.score < THRESHOLD and longer.missing == [] and longer.added[:2] == ["và", "đánh"]
