"""Pure upload and retention rules (no I/O)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.common.errors import Conflict, ValidationFailed
from services.storage import domain

LIMITS = domain.UploadLimits()


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.7\n", "pdf"),
    (b"{\\rtf1\\ansi", "rtf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "ole2"),
    (b"PK\x03\x04\x14\x00", "zip"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00", "png"),
    (b"GIF89a\x01\x00", "gif"),
    (b"II*\x00\x08\x00", "tiff"),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00", "bmp"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
    (b"MZ\x90\x00\x03\x00", "exe"),
    (b"\x7fELF\x02\x01", "elf"),
    (b"Rar!\x1a\x07\x00", "rar"),
    ("Số,Ngày,Trích yếu\n12,2026-11-21,Về việc\n".encode(), "text"),
    (b"\x00\x01\x02\x03\x04binary", "binary"),
    (b"", "empty"),
])
def test_sniff_recognises_content_by_magic_bytes(head, kind):
    assert domain.sniff(head) == kind


def test_stored_name_is_ascii_letters_and_digits_and_keeps_the_extension():
    assert domain.stored_name("Công văn số 12 – Sở Nội vụ.pdf") == "CongVanSo12SoNoiVu.pdf"
    assert domain.stored_name("Đề án phát triển đô thị.DOCX") == "DeAnPhatTrienDoThi.docx"
    assert domain.stored_name("!!!.pdf") == "TepDinhKem.pdf"


def test_stored_name_is_at_most_50_characters():
    name = domain.stored_name("Báo cáo tổng kết công tác văn thư lưu trữ năm 2026 của Ủy ban nhân dân tỉnh.xlsx")
    assert len(name) <= 50
    assert name.endswith(".xlsx")
    assert name.replace(".xlsx", "").isalnum() and name.isascii()


def test_display_name_keeps_vietnamese_and_drops_browser_paths():
    assert domain.clean_display_name("C:\\fakepath\\Công văn số 12.pdf") == "Công văn số 12.pdf"
    with pytest.raises(ValidationFailed):
        domain.clean_display_name("   ")


def test_extension_must_be_allowed():
    with pytest.raises(ValidationFailed) as err:
        domain.expected_format("virus.exe", LIMITS)
    assert ".exe không được phép" in err.value.message_vi
    with pytest.raises(ValidationFailed) as err:
        domain.expected_format("khongduoi", LIMITS)
    assert "không có phần mở rộng" in err.value.message_vi


def test_files_to_sign_must_be_pdf():
    assert domain.expected_format("a.pdf", LIMITS, "to_sign").content == "pdf"
    with pytest.raises(ValidationFailed) as err:
        domain.expected_format("Dự thảo.docx", LIMITS, "to_sign")
    assert err.value.message_vi == "Tệp 'Dự thảo.docx' phải là PDF mới ký số được."


def test_content_must_match_the_extension():
    fmt = domain.expected_format("x.pdf", LIMITS)
    with pytest.raises(ValidationFailed) as err:
        domain.check_content("x.pdf", fmt, "exe")
    assert err.value.message_vi == "Tệp 'x.pdf' không phải PDF (nội dung là tệp thực thi Windows)."
    domain.check_content("x.pdf", fmt, "pdf")


def test_office_containers_are_told_apart():
    assert domain.classify_zip(["[Content_Types].xml", "word/document.xml"], None) == "docx"
    assert domain.classify_zip(["[Content_Types].xml", "xl/workbook.xml"], None) == "xlsx"
    assert domain.classify_zip(["mimetype", "content.xml"], b"application/vnd.oasis.opendocument.text") == "odt"
    assert domain.classify_zip(["a.txt"], None) == "zip"


def test_archive_expansion_is_bounded():
    with pytest.raises(ValidationFailed) as err:
        domain.check_archive("bom.docx", [("word/document.xml", 50_000, 900 * 1024 * 1024)], 60_000, LIMITS)
    assert "giải ra" in err.value.message_vi and err.value.code == "archive_bomb"
    with pytest.raises(ValidationFailed):  # small but expands 1000-fold
        domain.check_archive("x.docx", [("word/document.xml", 1000, 1_000_000)], 1000, LIMITS)
    domain.check_archive("ok.docx", [("word/document.xml", 10_000, 40_000)], 12_000, LIMITS)


def test_retention_only_grows():
    today = date(2026, 11, 21)
    assert domain.extend_retention(None, today + timedelta(days=10), today) == today + timedelta(days=10)
    assert domain.extend_retention(date(2030, 1, 1), domain.PERMANENT, today) == domain.PERMANENT
    with pytest.raises(Conflict) as err:
        domain.extend_retention(date(2030, 1, 1), date(2029, 1, 1), today)
    assert "rút ngắn" in err.value.message_vi
    with pytest.raises(ValidationFailed):
        domain.extend_retention(None, date(2020, 1, 1), today)
    assert domain.parse_retention("permanent") == domain.PERMANENT
    assert domain.parse_retention("2036-12-31") == date(2036, 12, 31)


def test_deletion_refused_under_retention_hold_or_for_unset_originals():
    today = date(2026, 11, 21)
    assert "đến 31/12/2036" in domain.deletion_refusal("attachment", date(2036, 12, 31), False, today)
    assert "vĩnh viễn" in domain.deletion_refusal("registered", domain.PERMANENT, False, today)
    assert "phong tỏa" in domain.deletion_refusal("draft", None, True, today)
    assert domain.deletion_refusal("signed_original", None, False, today) is not None
    assert domain.deletion_refusal("draft", None, False, today) is None
    assert domain.deletion_refusal("signed_original", date(2026, 11, 20), False, today) is None
