"""Pure rules of paper arrivals (services/registry/paper.py): what a scan's first page says, as text comes out of
pdftotext or Tesseract (two columns one after the other, stray spaces), and the return slip's reasons."""

from __future__ import annotations

import pytest

from services.common.errors import ValidationFailed
from services.registry.paper import check_return, number_and_notation, read_header, sentence_case

CONG_VAN = """ỦY BAN NHÂN DÂN
TỈNH HÀ GIANG
KHẨN
Số: 12/UBND-VX
V/v rà soát danh mục thủ tục
hành chính năm 2026
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Hà Giang, ngày 05 tháng 3 năm 2026
Kính gửi: Sở Nội vụ tỉnh Tuyên Quang
"""

QUYET_DINH = """UBND TỈNH BÌNH ĐỊNH
SỞ NỘI VỤ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 376 /QĐ-SNV
Bình Định, ngày 20 tháng 10 năm 2017
QUYẾT ĐỊNH
Ban hành Quy chế quản lý, sử dụng Hệ thống
Văn phòng điện tử liên thông của Sở Nội vụ
GIÁM ĐỐC SỞ NỘI VỤ
Căn cứ Luật Tổ chức chính quyền địa phương
"""


def test_a_cong_van_header_gives_every_field():
    assert read_header(CONG_VAN) == {
        "code_number": "12", "code_notation": "UBND-VX", "type_code": "CV", "issued_date": "2026-03-05",
        "organ_name": "Ủy ban nhân dân tỉnh Hà Giang", "subject": "rà soát danh mục thủ tục hành chính năm 2026",
        "priority": 1}


def test_a_decision_takes_its_type_from_the_notation_and_its_subject_after_its_name():
    found = read_header(QUYET_DINH)
    assert found["code_number"] == "376" and found["code_notation"] == "QĐ-SNV" and found["type_code"] == "QĐ"
    assert found["issued_date"] == "2017-10-20" and found["organ_name"] == "Sở Nội vụ"
    assert found["subject"] == ("Ban hành Quy chế quản lý, sử dụng Hệ thống Văn phòng điện tử liên thông của "
                                "Sở Nội vụ")
    assert "secrecy" not in found and "priority" not in found


@pytest.mark.parametrize(("text", "expected"), [
    ("Số: 09/2026/QĐ-UBND", ("09", "2026/QĐ-UBND")),   # legal-normative: the year belongs to the notation
    ("So: 5/UBND", None),                                # no diacritics is not "Số" (OCR without vie)
    ("Số:  7 / SNV - TCBC", ("7", "SNV-TCBC")),         # OCR spacing
])
def test_number_and_notation(text, expected):
    assert number_and_notation(text) == expected


def test_secrecy_mark_and_an_impossible_date():
    found = read_header("TỐI MẬT\nSỞ Y TẾ\nSố: 3/SYT-VP\nngày 31 tháng 2 năm 2026\nngày 1 tháng 3 năm 2026")
    assert found["secrecy"] == "TỐI MẬT" and found["issued_date"] == "2026-03-01"
    assert read_header("") == {}


def test_sentence_case_keeps_the_place_name_and_the_field_of_a_department():
    assert sentence_case("ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG") == "Ủy ban nhân dân thành phố Đà Nẵng"
    assert sentence_case("SỞ Y TẾ") == "Sở Y tế"


def test_a_return_slip_needs_a_listed_reason_and_words_for_other():
    assert check_return(["NO_SEAL", "NO_SEAL", "NO_DATE"], "") == ["NO_SEAL", "NO_DATE"]
    for defects, note in (([], ""), (["BAD"], ""), (["WRONG_FORM"], " ")):
        with pytest.raises(ValidationFailed):
            check_return(defects, note)
