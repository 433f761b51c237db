"""Rules that differ between provinces and agencies, as settings (issue 19 item 5).

The regulations of Đà Nẵng (000), Bình Định (001), Tuyên Quang (002), TP.HCM (003) and Hưng Yên (004) disagree on a
few points; where the product used to hard-code one province's answer, the answer is now one of these rules, with a
default and the legal source of each allowed value shown to the administrator.

A rule belongs to the service that applies it (`owner`): that service keeps the agency's choice in its own data (the
`agency_rules` table of its schema or file; the gateway's, keyed by agency, in its own database) and reads it where
the rule is applied. The gateway's settings screen and `/api/v1/agency-rules` gather the rules of every owner.

To add a rule: one `Rule` in `RULES` below, then read it with `value_of(...)` where it is applied in its owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, select
from sqlalchemy.orm import Session

from services.common.errors import ValidationFailed

RULES_TABLE = "agency_rules"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str                 # Vietnamese, shown to the administrator
    source: str                # the article and regulation that says so


@dataclass(frozen=True)
class Rule:
    key: str
    label: str                 # Vietnamese
    owner: str                 # the service that stores and applies it: registry, routing, gateway, signing
    default: Any
    source: str                # the legal source of the rule as a whole (of the default when choices differ)
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None  # whole-number rules (no choices)
    maximum: int | None = None
    hint: str = ""
    column: str | None = field(default=None)  # kept in an older column of the owner instead of agency_rules

    def check(self, value: Any) -> Any:
        """The value as stored, or a Vietnamese refusal naming the rule."""
        if self.choices:
            allowed = [c.value for c in self.choices]
            if value not in allowed:
                raise ValidationFailed(f"“{self.label}”: giá trị không hợp lệ.", field=self.key, value=value,
                                       allowed=allowed)
            return value
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            raise ValidationFailed(f"“{self.label}” phải là số nguyên.", field=self.key, value=value) from None
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise ValidationFailed(f"“{self.label}” phải từ {self.minimum} đến {self.maximum}.", field=self.key,
                                   value=number)
        return number

    def to_dict(self, value: Any) -> dict[str, Any]:
        chosen = next((c for c in self.choices if c.value == value), None)
        return {"key": self.key, "label": self.label, "owner": self.owner, "value": value, "default": self.default,
                "source": chosen.source if chosen else self.source, "rule_source": self.source, "hint": self.hint,
                "kind": "choice" if self.choices else "integer", "minimum": self.minimum, "maximum": self.maximum,
                "choices": [{"value": c.value, "label": c.label, "source": c.source} for c in self.choices]}


RULES: dict[str, Rule] = {rule.key: rule for rule in (
    Rule("legal_validity", "Văn bản điện tử nhận được có giá trị pháp lý khi có", "registry", "seal_and_leader",
         "QĐ 8849/QĐ-UBND Đà Nẵng Điều 2.1; NĐ 30/2020/NĐ-CP",
         (Choice("seal_and_leader", "Chữ ký số của người có thẩm quyền và chữ ký số của cơ quan (con dấu); bản "
                                    "scan: chữ ký số của cơ quan",
                 "QĐ 8849/QĐ-UBND Đà Nẵng Điều 2.1; NĐ 30/2020/NĐ-CP Điều 13"),
          Choice("head_or_clerk", "Ít nhất một trong hai: chữ ký số của thủ trưởng cơ quan phát hành, hoặc của văn "
                                  "thư (chữ ký số cơ quan) phát hành văn bản",
                 "Quy chế ban hành kèm QĐ năm 2015 của UBND tỉnh Hưng Yên, Điều 8.3")),
         hint="Áp dụng khi kiểm tra chữ ký văn bản đến và khi “Gửi văn bản” đã ký."),
    Rule("registration_limit_hours", "Thời hạn văn thư vào sổ và chuyển văn bản đến (giờ làm việc)", "routing", 8,
         "QĐ 8849/QĐ-UBND Đà Nẵng Điều 5.2 (08 giờ làm việc); Quy định của Văn phòng HĐND và UBND TP.HCM "
         "Điều 6.2 (4 giờ làm việc)",
         minimum=1, maximum=40, column="registration_limit_hours"),
    Rule("late_forwarders", "Báo cáo “chưa chuyển văn bản đúng hạn” tính cho", "routing", "everyone",
         "Quy định của Văn phòng HĐND và UBND TP.HCM Điều 10",
         (Choice("everyone", "Mọi người nhận văn bản phải chuyển hoặc xử lý trong thời hạn trên: văn thư, lãnh đạo "
                             "được trình, người xử lý chính",
                 "Quy định của Văn phòng HĐND và UBND TP.HCM Điều 10 (các chuyên viên chưa chuyển trên mạng)"),
          Choice("clerk_only", "Chỉ văn thư (thời hạn vào sổ và chuyển văn bản đến)",
                 "QĐ 8849/QĐ-UBND Đà Nẵng Điều 5.2"))),
    Rule("leaver_accounts", "Tài khoản của người không còn công tác", "gateway", "lock",
         "NĐ 30/2020/NĐ-CP Phụ lục VI (truy vết lịch sử xử lý)",
         (Choice("lock", "Chỉ khóa: tài khoản giữ nguyên, có thể mở lại; lịch sử xử lý giữ tên người",
                 "NĐ 30/2020/NĐ-CP Phụ lục VI (truy vết lịch sử xử lý)"),
          Choice("delete", "Xóa tài khoản sau 01 ngày làm việc kể từ khi khóa (không đăng nhập, không mở lại "
                           "được; lịch sử xử lý vẫn giữ tên người)",
                 "QĐ 8849/QĐ-UBND Đà Nẵng Điều 13.5d"))),
    Rule("register_openers", "Người được mở và khóa sổ văn bản", "registry", "admin",
         "QĐ 8849/QĐ-UBND Đà Nẵng Điều 13.5a (quản trị cấu hình, tạo lập dữ liệu ban đầu)",
         (Choice("admin", "Quản trị viên của cơ quan",
                 "QĐ 8849/QĐ-UBND Đà Nẵng Điều 13.5a (quản trị cấu hình, tạo lập dữ liệu ban đầu)"),
          Choice("admin_and_clerk", "Quản trị viên và văn thư",
                 "NĐ 30/2020/NĐ-CP Điều 16, Điều 22 (văn thư đăng ký văn bản vào sổ)"))),
    Rule("dossier_transfer_due", "Hạn nộp lưu hồ sơ (nhắc nộp lưu)", "registry", "one_year_after_end",
         "NĐ 30/2020/NĐ-CP Điều 30",
         (Choice("one_year_after_end", "Trong 01 năm kể từ khi công việc kết thúc (hồ sơ xây dựng cơ bản: 03 tháng "
                                       "kể từ khi quyết toán)", "NĐ 30/2020/NĐ-CP Điều 30"),
          Choice("first_quarter_next_year", "Trong quý I năm sau năm hồ sơ kết thúc (hồ sơ xây dựng cơ bản: 03 "
                                            "tháng kể từ khi quyết toán)",
                 "Quy chế ban hành kèm QĐ 376/QĐ-SNV (Sở Nội vụ Bình Định) Điều 4.3, Bước 3"))),
    Rule("paper_signing", "Lãnh đạo duyệt và ký trên giấy", "routing", "no",
         "NĐ 30/2020/NĐ-CP Điều 13 (ký số văn bản điện tử)",
         (Choice("no", "Không: lãnh đạo duyệt và ký số trên hệ thống", "NĐ 30/2020/NĐ-CP Điều 13"),
          Choice("allowed", "Cho phép: lãnh đạo duyệt, ký trên giấy; người xử lý “Chuyển phát hành” kèm bản scan",
                 "Quy chế ban hành kèm QĐ năm 2015 của UBND tỉnh Hưng Yên, Điều 6.3a"))),
    Rule("seal_position", "Vị trí chữ ký số của cơ quan (con dấu) trên văn bản ban hành", "signing", "signature",
         "NĐ 30/2020/NĐ-CP Phụ lục I (ô 8)",
         (Choice("signature", "Hình con dấu màu đỏ, kích thước thực, trùm lên khoảng 1/3 hình chữ ký của người có "
                              "thẩm quyền về bên trái", "NĐ 30/2020/NĐ-CP Phụ lục I (ô 8)"),
          Choice("top_right", "Góc trên cùng bên phải trang đầu tiên (số, ký hiệu và thời gian ký, không có hình)",
                 "QĐ 8849/QĐ-UBND Đà Nẵng Điều 8.1")),
         hint="Áp dụng cho văn bản dự thảo tải lên từ khi thay đổi (vị trí được đặt khi chuẩn bị văn bản để ký)."),
)}


def owned_by(owner: str) -> list[Rule]:
    return [r for r in RULES.values() if r.owner == owner]


def rule(key: str) -> Rule:
    if key not in RULES:
        raise ValidationFailed("Quy định không có trong danh mục.", field=key, value=key)
    return RULES[key]


# -- storage in the owner's own data ----------------------------------------------------------------------------

def _columns() -> list[Column]:
    return [Column("agency_id", String(64), primary_key=True), Column("key", String(64), primary_key=True),
            Column("value", JSON, nullable=True), Column("changed_by", String(64), nullable=False, default=""),
            Column("changed_at", DateTime(timezone=True), nullable=True)]


def make_rules_table(metadata: MetaData) -> Table:
    """The table in a service's own metadata (`create_all` makes it in the service's schema or file, also for an
    agency whose data was made before it)."""
    if RULES_TABLE in metadata.tables:
        return metadata.tables[RULES_TABLE]
    return Table(RULES_TABLE, metadata, *_columns())


# Same name and columns in every schema and file, so one Table object reads any owner's (search_path / file).
_generic = make_rules_table(MetaData())


def stored(session: Session, agency_id: str) -> dict[str, Any]:
    rows = session.execute(select(_generic.c.key, _generic.c.value).where(_generic.c.agency_id == agency_id))
    return {key: value for key, value in rows}


def value_of(session: Session, agency_id: str, key: str) -> Any:
    """The agency's choice for one rule, else its default (also when the stored value is no longer allowed)."""
    found = rule(key)
    value = stored(session, agency_id).get(key, found.default)
    try:
        return found.check(value)
    except ValidationFailed:
        return found.default


def read(session: Session, agency_id: str, owner: str, columns: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every rule of `owner` with the agency's value (`columns`: values of rules kept in older columns)."""
    values = stored(session, agency_id)
    out = []
    for r in owned_by(owner):
        value = (columns or {}).get(r.column) if r.column else values.get(r.key, r.default)
        try:
            value = r.check(r.default if value is None else value)
        except ValidationFailed:
            value = r.default
        out.append(r.to_dict(value))
    return out


def write(session: Session, agency_id: str, owner: str, changes: dict[str, Any], user_id: str,
          now: datetime | None = None) -> dict[str, Any]:
    """Check every change first (nothing is written if one is wrong), then keep them. Rules kept in older columns
    are returned checked, for the owner to write into its column."""
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        found = rule(key)
        if found.owner != owner:
            raise ValidationFailed("Quy định này không thuộc dịch vụ được gọi.", field=key, owner=found.owner)
        checked[key] = found.check(value)
    moment = now or datetime.now(UTC)
    for key, value in checked.items():
        if RULES[key].column:
            continue
        where = (_generic.c.agency_id == agency_id) & (_generic.c.key == key)
        if session.execute(select(_generic.c.key).where(where)).first():
            session.execute(_generic.update().where(where).values(value=value, changed_by=user_id,
                                                                  changed_at=moment))
        else:
            session.execute(_generic.insert().values(agency_id=agency_id, key=key, value=value, changed_by=user_id,
                                                     changed_at=moment))
    return checked
