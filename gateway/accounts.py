"""Account rules (pure): account names, password policy, lockout.

Account name (Bình Định Đ6.3, DOMAIN.md): `<given name><initials of surname and middle names>.<unit>`,
ASCII, lower case, no spaces: "Lê Văn Hùng" in unit "STTTT" -> `hunglv.stttt`. Duplicates are resolved by
the administrator, who may append a digit (`hunglv2.stttt`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

ACCOUNT_RE = re.compile(r"^[a-z]+[0-9]*\.[a-z0-9]+$")
MIN_PASSWORD_LENGTH = 10
# What `check_password` asks, as the password forms and the API's descriptions say it.
PASSWORD_RULE_VI = (f"Ít nhất {MIN_PASSWORD_LENGTH} ký tự, gồm ít nhất 3 trong 4 loại: chữ thường, chữ hoa, chữ số, "
                    "ký tự đặc biệt; không chứa tên tài khoản; khác mật khẩu cũ.")


def ascii_fold(text: str) -> str:
    """Vietnamese to plain ASCII: đ/Đ have no decomposition, so they are mapped by hand."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def account_name(full_name: str, unit: str) -> str:
    words = [w for w in re.split(r"\s+", ascii_fold(full_name).lower().strip()) if w]
    if not words:
        raise ValueError("Họ tên không được để trống.")
    unit_part = re.sub(r"[^a-z0-9]", "", ascii_fold(unit).lower())
    if not unit_part:
        raise ValueError("Mã đơn vị không hợp lệ.")
    given = re.sub(r"[^a-z]", "", words[-1])
    initials = "".join(re.sub(r"[^a-z]", "", w)[:1] for w in words[:-1])
    return f"{given}{initials}.{unit_part}"


def check_account_name(name: str) -> str | None:
    """None when valid, else the Vietnamese reason."""
    if not ACCOUNT_RE.fullmatch(name):
        return ("Tên tài khoản phải theo quy tắc <tên><chữ cái đầu họ và đệm>.<đơn vị>, chữ thường không dấu, "
                "không khoảng trắng (ví dụ hunglv.stttt).")
    return None


def check_password(password: str, account: str = "") -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự."
    if account and account.split(".")[0] in password.lower():
        return "Mật khẩu không được chứa tên tài khoản."
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes < 3:
        return "Mật khẩu phải có ít nhất 3 trong 4 loại: chữ thường, chữ hoa, chữ số, ký tự đặc biệt."
    return None


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)

    def after_failure(self, failures: int, now: datetime) -> datetime | None:
        """The time until which the account is locked after this many consecutive failures, if any."""
        return now + self.lock_for if failures >= self.max_failures else None


# Roles a person may hold (the system role belongs to processes only).
# hub_operator: the person who runs the hub serving their agency (Sở KH&CN for a provincial hub) sees its report.
STAFF_ROLES = ("clerk", "leader", "department_head", "specialist", "admin", "hub_operator")
# Roles only the province operator grants and removes (gateway/platform.py): hub_operator shows the whole hub's
# traffic, queues and dead letters, every agency of the province, beyond what an agency's administrator answers for.
PROVINCE_GRANTED_ROLES = ("hub_operator",)
# Roles an agency's administrator gives to its people (their form and REST API).
AGENCY_ROLES = tuple(r for r in STAFF_ROLES if r not in PROVINCE_GRANTED_ROLES)
PROVINCE_GRANTS_ONLY = ("Vai trò “Vận hành trục liên thông” do vận hành nền tảng (Sở TTTT) cấp và thu hồi; quản trị "
                        "cơ quan không cấp được vai trò này.")
UNIT_CODE_RE = re.compile(r"^[a-z0-9]{1,32}$")


def check_roles(roles: list[str]) -> str | None:
    """None when the roles are acceptable for a person, else the Vietnamese reason."""
    if not roles:
        return "Cần chọn ít nhất một vai trò."
    if unknown := [r for r in roles if r not in STAFF_ROLES]:
        return f"Vai trò không hợp lệ: {', '.join(unknown)}."
    return None


def unit_code(text: str) -> str:
    """The unit part of account names: ASCII, lower case, letters and digits only ("Văn phòng" -> "vanphong")."""
    return re.sub(r"[^a-z0-9]", "", ascii_fold(text).lower())


def next_free_name(wanted: str, taken: set[str]) -> str:
    """The administrator's way out of a duplicate: `hunglv.stttt` -> `hunglv2.stttt`, `hunglv3.stttt`, ..."""
    if wanted not in taken:
        return wanted
    stem, _, unit = wanted.partition(".")
    stem = stem.rstrip("0123456789")
    n = 2
    while f"{stem}{n}.{unit}" in taken:
        n += 1
    return f"{stem}{n}.{unit}"


def temporary_password() -> str:
    """A one-time password the administrator hands over; the person must change it at first login."""
    import secrets

    while True:
        candidate = f"Cv-{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"
        if check_password(candidate) is None:
            return candidate
