"""Pure rules of documents that arrive on paper, by fax or by e-mail: what a scan's first page says (number and
notation, issuer, date, subject, secrecy and urgency marks), the channels, and the defects a return slip names.

Đà Nẵng QĐ 8849/2016 Điều 5.1: "Khi tiếp nhận văn bản từ mọi nguồn (đường công văn, đường thư điện tử, fax, chuyển
liên thông ...), văn thư ... phải thực hiện kiểm tra các thông tin và đăng ký văn bản đến"; Điều 5.4.a: "Văn thư đóng
dấu đến theo quy định, thực hiện quét văn bản thành tệp tin và nhập tệp tin vào Phần mềm". The header of a document
follows NĐ 30/2020 Phụ lục I (ô 1 issuer, ô 3 "Số: 12/UBND-VX", ô 4 "Tuyên Quang, ngày 05 tháng 3 năm 2026",
ô 5b "V/v ..." for a công văn, or the type name then its subject). No I/O here: the gateway reads the text
(text layer or OCR) and the clerk confirms every field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from services.common.errors import ValidationFailed
from services.registry.catalog import DOCUMENT_TYPES, NO_ABBREVIATION_TYPES

# Channels of an incoming document (Document.source_channel) as people read them.
CHANNELS = {"paper": "Giấy (bưu điện, trực tiếp)", "fax": "Fax", "email": "Thư điện tử",
            "interconnect": "Liên thông điện tử"}
PAPER_CHANNELS = ("paper", "fax", "email")
CHANNEL_SHORT = {"paper": "Giấy", "fax": "Fax", "email": "Thư điện tử", "interconnect": "Liên thông"}

# TP.HCM QĐ (Văn phòng HĐND và UBND thành phố) Điều 6.1: "văn bản không có số, ngày, không đóng dấu, mực dấu không
# rõ ràng,... nhân viên văn thư soạn thảo và in Phiếu trả trên chương trình phần mềm ... ký trả lại nơi phát hành".
RETURN_DEFECTS = {
    "NO_NUMBER": "Không có số, ký hiệu văn bản",
    "NO_DATE": "Không có ngày, tháng, năm ban hành",
    "NO_SEAL": "Không đóng dấu",
    "SEAL_UNCLEAR": "Mực dấu không rõ ràng",
    "NO_SIGNATURE": "Không có chữ ký của người có thẩm quyền",
    "WRONG_FORM": "Không đúng thể thức văn bản khác",
}
RETURN_RULE = ("Quy chế của Văn phòng HĐND và UBND TP. Hồ Chí Minh, Điều 6 khoản 1: văn bản đến không đúng thể "
               "thức (không có số, ngày, không đóng dấu, mực dấu không rõ ràng, ...) thì văn thư in Phiếu trả, "
               "trình ký trả lại nơi phát hành.")
CLASSIFIED_RULE = ("Quy chế Đà Nẵng (QĐ 8849/QĐ-UBND), Điều 1 khoản 3: quy chế không áp dụng đối với các loại văn bản "
                   "thuộc chế độ mật; văn bản mật được quản lý theo quy định về bảo vệ bí mật nhà nước, không nhập "
                   "vào hệ thống.")

MOTTO = ("CỘNG HÒA XÃ HỘI", "CỘNG HOÀ XÃ HỘI", "ĐỘC LẬP", "ĐỘC LẬP - TỰ DO")
NUMBER_RE = re.compile(r"\bS[ốô]\s*[:.]?\s*(\d{1,11})\s*/\s*"
                       r"((?:\d{4}\s*/\s*)?[0-9A-Za-zĐđ]+(?:\s*-\s*[0-9A-Za-zĐđ]+)*)")
DATE_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
BODY_WORDS = ("SỞ", "BỘ", "CỤC", "VỤ", "BAN", "PHÒNG")  # the field after them is written with a capital
PLACE_WORDS = ("TỈNH", "THÀNH PHỐ", "HUYỆN", "QUẬN", "THỊ XÃ", "XÃ", "PHƯỜNG", "THỊ TRẤN", "ĐẶC KHU")
SECRECY_LINES = {"MẬT": "MẬT", "TỐI MẬT": "TỐI MẬT", "TUYỆT MẬT": "TUYỆT MẬT"}
URGENCY_LINES = {"HỎA TỐC": 3, "HOẢ TỐC": 3, "THƯỢNG KHẨN": 2, "KHẨN": 1}
SUBJECT_STARTS = ("v/v", "về việc", "ban hành", "về ", "quy định", "phê duyệt", "triển khai")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def _lines(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", line).strip(" \t*_|") for line in _nfc(text).splitlines() if line.strip(" \t*_|-")]


def _is_upper(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def number_and_notation(text: str) -> tuple[str, str] | None:
    """"Số: 12/UBND-VX" -> ("12", "UBND-VX"); "Số: 09/2026/QĐ-UBND" -> ("09", "2026/QĐ-UBND")."""
    found = NUMBER_RE.search(_nfc(text))
    if not found:
        return None
    return found.group(1), re.sub(r"\s+", "", found.group(2))


def issued_date(text: str) -> date | None:
    """The first "ngày .. tháng .. năm ...." that is a real date."""
    for found in DATE_RE.finditer(_nfc(text)):
        day, month, year = (int(x) for x in found.groups())
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def type_code_of(notation: str) -> str:
    """The type from the notation's abbreviation (NĐ 30 Phụ lục III): "QĐ-UBND" -> QĐ; "UBND-VX" -> CV."""
    parts = notation.split("/")[-1].split("-")
    for code in DOCUMENT_TYPES:
        if parts and parts[0] == code and code not in NO_ABBREVIATION_TYPES:
            return code
    return "CV"


def sentence_case(line: str) -> str:
    """"ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG" -> "Ủy ban nhân dân tỉnh Tuyên Quang": the place name keeps capitals."""
    text = line.strip()
    head, _, rest = text.partition(" ")
    if head in BODY_WORDS and rest and not any(f" {w} " in f" {rest} " for w in PLACE_WORDS):
        return f"{head.capitalize()} {rest[:1]}{rest[1:].lower()}"  # "SỞ NỘI VỤ" -> "Sở Nội vụ"
    for word in sorted(PLACE_WORDS, key=len, reverse=True):
        head, sep, place = text.partition(f" {word} ")
        if sep and head:
            return f"{sentence_case(head)} {word.lower()} {place.title()}"
    return text[:1] + text[1:].lower()


def issuer(lines: list[str]) -> str:
    """The issuing body (ô 1): the upper-case lines above "Số:", without the national motto. "ỦY BAN NHÂN DÂN" +
    "TỈNH TUYÊN QUANG" are one name; "UBND TỈNH TUYÊN QUANG" + "SỞ NỘI VỤ" is Sở Nội vụ (the governing body above)."""
    head = []
    for line in lines:
        if NUMBER_RE.search(line) or DATE_RE.search(line):
            break
        if _is_upper(line) and not line.startswith(MOTTO) and line not in SECRECY_LINES and line not in URGENCY_LINES:
            head.append(line)
    if not head:
        return ""
    if len(head) >= 2 and head[-1].startswith(PLACE_WORDS):
        return sentence_case(f"{head[-2]} {head[-1]}")
    return sentence_case(head[-1])


def subject(lines: list[str], type_code: str) -> str:
    """"V/v ..." of a công văn; for a typed document the lines after its name ("QUYẾT ĐỊNH" / "Về việc ...")."""
    type_name = DOCUMENT_TYPES.get(type_code, "").upper()
    for i, line in enumerate(lines):
        low = line.lower()
        if low.startswith("v/v") or low.startswith("về việc"):
            return _continued(lines, i, re.sub(r"^(v/v|về việc)[:.]?\s*", "", line, flags=re.IGNORECASE))
        if type_name and type_code != "CV" and line == type_name and i + 1 < len(lines):
            return _continued(lines, i + 1, lines[i + 1])
    return ""


def _continued(lines: list[str], start: int, first: str) -> str:
    """A subject may wrap onto a second line (lower-case start, no heading in between)."""
    words = [first]
    for line in lines[start + 1:start + 3]:
        if (_is_upper(line) or NUMBER_RE.search(line) or DATE_RE.search(line)
                or line.lower().startswith(("kính gửi", "căn cứ", "v/v", "về việc"))):
            break
        words.append(line)
    return " ".join(words).strip()[:500]


def read_header(text: str) -> dict[str, Any]:
    """The Phụ lục VI fields a scan's first page shows, for the clerk to confirm: only what was found."""
    lines = _lines(text)
    found: dict[str, Any] = {}
    numbered = number_and_notation(text)
    if numbered:
        found["code_number"], found["code_notation"] = numbered
        found["type_code"] = type_code_of(numbered[1])
    when = issued_date(text)
    if when:
        found["issued_date"] = when.isoformat()
    name = issuer(lines)
    if name:
        found["organ_name"] = name
    about = subject(lines, found.get("type_code", "CV"))
    if about:
        found["subject"] = about
    marks = [line.upper() for line in lines[:15]]
    for mark in ("TUYỆT MẬT", "TỐI MẬT", "MẬT"):
        if mark in marks:
            found["secrecy"] = SECRECY_LINES[mark]
            break
    for mark, level in URGENCY_LINES.items():
        if mark in marks:
            found["priority"] = level
            break
    return found


def check_return(defects: list[str], note: str) -> list[str]:
    """A return slip names at least one defect of form, from the list (or "other" with words)."""
    chosen = [d for d in dict.fromkeys(defects or []) if d]
    unknown = [d for d in chosen if d not in RETURN_DEFECTS]
    if unknown:
        raise ValidationFailed("Lý do trả lại không có trong danh mục.", code="bad_reason", field="defects",
                               unknown=unknown[:5], allowed=sorted(RETURN_DEFECTS))
    if not chosen:
        raise ValidationFailed("Chọn ít nhất một lý do trả lại văn bản (không có số, ngày, không đóng dấu, ...).",
                               code="missing_field", field="defects")
    if "WRONG_FORM" in chosen and not (note or "").strip():
        raise ValidationFailed("Ghi rõ thể thức sai ở ô “Ghi chú” khi chọn “Không đúng thể thức văn bản khác”.",
                               code="missing_field", field="note")
    return chosen
