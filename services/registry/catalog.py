"""Catalogues of NĐ 30/2020: document types and their abbreviations (Phụ lục III), urgency, status codes.

Codes in code are the NĐ 30 abbreviations; labels are what users read.
"""

from __future__ import annotations

from enum import IntEnum

# Phụ lục III.I: type name -> abbreviation used in the notation (ký hiệu). Công văn and thư công have none.
DOCUMENT_TYPES: dict[str, str] = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "QC": "Quy chế", "QyĐ": "Quy định",
    "TC": "Thông cáo", "TB": "Thông báo", "HD": "Hướng dẫn", "CTr": "Chương trình", "KH": "Kế hoạch",
    "PA": "Phương án", "ĐA": "Đề án", "DA": "Dự án", "BC": "Báo cáo", "BB": "Biên bản", "TTr": "Tờ trình",
    "HĐ": "Hợp đồng", "CĐ": "Công điện", "BGN": "Bản ghi nhớ", "BTT": "Bản thỏa thuận", "GUQ": "Giấy ủy quyền",
    "GM": "Giấy mời", "GGT": "Giấy giới thiệu", "GNP": "Giấy nghỉ phép", "PG": "Phiếu gửi", "PC": "Phiếu chuyển",
    "PB": "Phiếu báo",
    # copies have their own yearly series (Phụ lục I Phần II.II.1.c)
    "SY": "Bản sao y", "TrS": "Bản trích sao", "SL": "Bản sao lục",
    # no abbreviation in the notation
    "CV": "Công văn", "TCg": "Thư công",
}
COPY_TYPES = frozenset({"SY", "TrS", "SL"})
NO_ABBREVIATION_TYPES = frozenset({"CV", "TCg"})


class Urgency(IntEnum):
    """Độ khẩn; the value is the edXML wire priority (STANDARDS §7.3)."""

    NORMAL = 0
    URGENT = 1          # khẩn
    VERY_URGENT = 2     # thượng khẩn
    FLASH = 3           # hỏa tốc


URGENCY_LABELS = {Urgency.NORMAL: "Thường", Urgency.URGENT: "Khẩn", Urgency.VERY_URGENT: "Thượng khẩn",
                  Urgency.FLASH: "Hỏa tốc"}

# "Hỏa tốc hẹn giờ" (4) survives on the wire from older software: accepted on receipt as hỏa tốc.
LEGACY_FLASH_TIMED = 4

SECRECY_MARKINGS = ("MẬT", "TỐI MẬT", "TUYỆT MẬT", "MAT", "TOI_MAT", "TUYET_MAT")

STATUS_LABELS = {
    "01": "Đã đến", "02": "Từ chối tiếp nhận", "03": "Đã tiếp nhận", "04": "Phân công", "05": "Đang xử lý",
    "06": "Hoàn thành", "13": "Lấy lại", "15": "Đồng ý lấy lại / cập nhật / thu hồi",
    "16": "Từ chối lấy lại / cập nhật / thu hồi",
}

# The only grounds on which a clerk may refuse an interconnected document (DOMAIN.md, incoming 2; Đà Nẵng QĐ 8849
# Điều 5.6.a: "Gửi nhầm đơn vị nhận, văn bản điện tử không đủ giá trị pháp lý"), told apart by the status-02 reasons
# of STANDARDS.md §3 (NĐ 30 Điều 21.2.b); the clerk adds free text, sent to the sender with the reason.
REJECT_REASONS = {
    "WRONG_RECIPIENT": "Gửi sai nơi nhận",
    "INVALID_SIGNATURE": "Văn bản không có giá trị pháp lý (chữ ký số không hợp lệ)",
    "CERTIFICATE_INVALID": "Văn bản không có giá trị pháp lý (chứng thư số không hợp lệ hoặc hết hiệu lực)",
    "INTEGRITY_FAILURE": "Văn bản không có giá trị pháp lý (nội dung bị thay đổi sau khi ký)",
    "MISSING_OR_CORRUPT_ATTACHMENT": "Văn bản không có giá trị pháp lý (thiếu tệp văn bản hoặc tệp bị hỏng)",
    "FORMAT_ERROR": "Văn bản không có giá trị pháp lý (sai thể thức, sai cấu trúc gói tin)",
}
# Reasons that say the signature is bad: not offered once signing found it legally valid.
SIGNATURE_REASONS = frozenset({"INVALID_SIGNATURE", "CERTIFICATE_INVALID", "INTEGRITY_FAILURE"})

BUSINESS_TYPES = {0: "Văn bản điện tử mới", 1: "Thu hồi văn bản", 2: "Cập nhật văn bản", 3: "Thay thế văn bản"}


def type_name(type_code: str) -> str:
    return DOCUMENT_TYPES.get(type_code, type_code)


def type_code_for_name(name: str) -> str | None:
    lowered = name.strip().lower()
    for code, label in DOCUMENT_TYPES.items():
        if label.lower() == lowered:
            return code
    return None
