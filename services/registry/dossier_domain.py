"""Pure rules of file plans and dossiers (NĐ 30 Điều 28–30, Phụ lục V): retention, titles, file notations,
states and the submission due date."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from services.common.actor import Actor, Role
from services.common.errors import ValidationFailed
from services.registry.domain import State
from services.registry.dossier_models import Dossier

PERMANENT = "permanent"
RETENTION_YEARS = (70, 50, 30, 20, 15, 10, 5)   # TT 10/2022 values used in practice; others allowed 1..100
REMINDER_DAYS = 30
ITEM_KINDS = ("document", "draft", "note", "media")
STATE_LABELS = {"open": "Đang mở", "closed": "Đã kết thúc", "submitted": "Đã nộp lưu, chờ tiếp nhận",
                "archived": "Lưu trữ cơ quan đã tiếp nhận"}
FILE_NOTATION_RE = re.compile(r"^[0-9A-Za-zĐđ.\-/]{1,20}$")
# A registry document still awaiting issue is a draft (signed but without number): it never goes to the archive.
DRAFT_STATES = {State.WAITING_ISSUE}


def parse_retention(value: Any) -> str:
    """'Vĩnh viễn' / 'permanent' → 'permanent'; 20, '20', '20 năm', '20y' → '20y'."""
    text = str(value or "").strip().lower()
    if text in {PERMANENT, "vĩnh viễn", "vinh vien"}:
        return PERMANENT
    match = re.fullmatch(r"(\d{1,3})\s*(y|năm|nam)?", text)
    if match and 1 <= int(match.group(1)) <= 100:
        return f"{int(match.group(1))}y"
    raise ValidationFailed("Thời hạn bảo quản không hợp lệ (“Vĩnh viễn” hoặc số năm, ví dụ “20 năm”).",
                           code="bad_retention", field="retention", value=str(value)[:30])


def retention_label(retention: str) -> str:
    return "Vĩnh viễn" if retention == PERMANENT else f"{int(retention[:-1])} năm"


def check_title(title: Any) -> str:
    text = str(title or "").strip()
    if not text:
        raise ValidationFailed("Thiếu trường bắt buộc “Tiêu đề hồ sơ”.", code="missing_field", field="title")
    if len(text) > 500:
        raise ValidationFailed("Trường “Tiêu đề hồ sơ” dài quá 500 ký tự.", code="too_long", field="title",
                               max_len=500, length=len(text))
    return text


def check_file_notation(notation: Any) -> str:
    text = str(notation or "").strip()
    if not FILE_NOTATION_RE.match(text):
        raise ValidationFailed("Số và ký hiệu hồ sơ không hợp lệ (tối đa 20 ký tự, ví dụ 01.TCCB).",
                               code="bad_file_notation", field="file_notation", value=text[:40])
    return text


def submission_due(end: date, construction: bool) -> date:
    """Construction files within 3 months after settlement, others within 1 year after the work ends (Điều 30)."""
    if construction:
        month = end.month + 3
        year, month = end.year + (month - 1) // 12, (month - 1) % 12 + 1
        day = min(end.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                            31, 31, 30, 31, 30, 31][month - 1])
        return date(year, month, day)
    try:
        return end.replace(year=end.year + 1)
    except ValueError:  # 29 February
        return end.replace(year=end.year + 1, day=28)


def require_state(dossier: Dossier, *states: str, action: str) -> None:
    if dossier.state not in states:
        label = STATE_LABELS.get(dossier.state, dossier.state)
        raise ValidationFailed(f"Không thể {action}: hồ sơ đang ở trạng thái “{label}”.", code="dossier_state",
                               dossier=dossier.id, state=dossier.state, allowed=list(states))


def require_editable(dossier: Dossier) -> None:
    if dossier.state != "open":
        raise ValidationFailed("Hồ sơ đã kết thúc, không được sửa đổi (chỉ sửa được hồ sơ đang mở).",
                               code="dossier_closed", dossier=dossier.id, state=dossier.state)


def is_keeper(actor: Actor, dossier: Dossier) -> bool:
    return actor.user_id == dossier.creator or actor.has(Role.CLERK, Role.ADMIN)
