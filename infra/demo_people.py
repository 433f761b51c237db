"""The demo's staff: one person per role in each demo agency. Passwords are generated at start-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    full_name: str
    unit: str          # unit abbreviation, part of the account name
    roles: tuple[str, ...]
    position: str


PEOPLE: dict[str, tuple[Person, ...]] = {
    "000.00.00.H60": (
        Person("Lê Thị Hoa", "vptq", ("clerk",), "Văn thư"),
        Person("Nguyễn Văn An", "vptq", ("leader",), "Chủ tịch"),
        Person("Phạm Minh Tuấn", "thtq", ("department_head",), "Trưởng phòng Tổng hợp"),
        Person("Đỗ Thu Trang", "thtq", ("specialist",), "Chuyên viên"),
        Person("Hoàng Đức Mạnh", "vptq", ("admin",), "Quản trị hệ thống"),
        # Runs the province's hub (Sở KH&CN in a real province; the demo has none, so UBND tỉnh's IT centre).
        Person("Cao Minh Quân", "cntttq", ("hub_operator",), "Vận hành trục liên thông tỉnh"),
        # Runs the province's installation for every agency it hosts (Sở TTTT; issue 16): onboarding, maintenance
        # notices, every agency's problem reports, usage and the six-monthly report.
        Person("Lương Thị Thảo", "stttt", ("province_operator",), "Chuyên viên Sở Thông tin và Truyền thông"),
    ),
    "000.00.09.H60": (
        Person("Vũ Thị Lan", "snv", ("clerk",), "Văn thư"),
        Person("Trịnh Quang Huy", "snv", ("leader",), "Giám đốc"),
        Person("Bùi Thanh Sơn", "tccb", ("department_head",), "Trưởng phòng Tổ chức cán bộ"),
        Person("Ngô Thị Mai", "tccb", ("specialist",), "Chuyên viên"),
        Person("Đinh Văn Khoa", "snv", ("admin",), "Quản trị hệ thống"),
    ),
    # Two more departments of each province's installation: a clerk and an administrator each.
    "000.00.02.H60": (
        Person("Hà Thị Nhung", "stctq", ("clerk",), "Văn thư"),
        Person("Kiều Văn Dũng", "stctq", ("admin",), "Quản trị hệ thống"),
    ),
    "000.00.09.H17": (
        Person("Lâm Thị Thủy", "snvdn", ("clerk",), "Văn thư"),
        Person("Tạ Văn Hải", "snvdn", ("admin",), "Quản trị hệ thống"),
    ),
    "000.00.02.H17": (
        Person("Châu Thị Liên", "stcdn", ("clerk",), "Văn thư"),
        Person("Mạc Văn Toàn", "stcdn", ("admin",), "Quản trị hệ thống"),
    ),
    "000.00.00.H17": (
        Person("Trần Văn Nam", "vpdn", ("clerk",), "Văn thư"),
        Person("Lê Quang Vinh", "vpdn", ("leader",), "Chủ tịch"),
        Person("Phan Thị Hằng", "thdn", ("department_head",), "Trưởng phòng Tổng hợp"),
        Person("Huỳnh Văn Phúc", "thdn", ("specialist",), "Chuyên viên"),
        Person("Võ Thị Ngọc", "vpdn", ("admin",), "Quản trị hệ thống"),
    ),
    "000.00.00.G22": (
        Person("Nguyễn Thị Thu", "vpcp", ("clerk",), "Văn thư"),
        Person("Trần Đức Long", "vpcp", ("leader",), "Bộ trưởng, Chủ nhiệm"),
        Person("Lý Văn Bình", "tkbt", ("department_head",), "Vụ trưởng"),
        Person("Mai Thị Yến", "tkbt", ("specialist",), "Chuyên viên"),
        Person("Đặng Văn Tài", "vpcp", ("admin",), "Quản trị hệ thống"),
    ),
}

# The units the demo's administrators declared (gateway, pushed to routing): their names are printed in the
# registers' column 6 and in reports. Codes as in the account names.
UNITS: dict[str, dict[str, str]] = {
    "000.00.00.H60": {"vptq": "Văn phòng UBND tỉnh", "thtq": "Phòng Tổng hợp",
                      "cntttq": "Trung tâm Công nghệ thông tin tỉnh",
                      "stttt": "Sở Thông tin và Truyền thông (vận hành nền tảng)"},
    "000.00.09.H60": {"snv": "Văn phòng Sở", "tccb": "Phòng Tổ chức cán bộ"},
    "000.00.02.H60": {"stctq": "Văn phòng Sở Tài chính"},
    "000.00.00.H17": {"vpdn": "Văn phòng UBND thành phố", "thdn": "Phòng Tổng hợp"},
    "000.00.09.H17": {"snvdn": "Văn phòng Sở Nội vụ"},
    "000.00.02.H17": {"stcdn": "Văn phòng Sở Tài chính"},
    "000.00.00.G22": {"vpcp": "Văn phòng Chính phủ", "tkbt": "Vụ Tổng hợp"},
}
