"""The acting user: who asks, for which agency, with which roles. Every service call carries one.

The gateway authenticates people; services re-check the actor's agency and role on every call, so a
bug in a page cannot leak another agency's data (ARCHITECTURE.md, Security).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from services.common.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    CLERK = "clerk"                      # văn thư
    LEADER = "leader"                    # lãnh đạo cơ quan
    DEPARTMENT_HEAD = "department_head"  # lãnh đạo phòng/ban
    SPECIALIST = "specialist"            # chuyên viên
    ADMIN = "admin"                      # quản trị
    HUB_OPERATOR = "hub_operator"        # vận hành trục liên thông (the hub serving the person's agency)
    PROVINCE_OPERATOR = "province_operator"  # Sở TTTT: runs the installation for every agency it hosts
    SYSTEM = "system"                    # a process of this agency (interconnect edge, scheduler)


ROLE_LABELS_VI = {
    Role.CLERK: "Văn thư",
    Role.LEADER: "Lãnh đạo cơ quan",
    Role.DEPARTMENT_HEAD: "Lãnh đạo phòng",
    Role.SPECIALIST: "Chuyên viên",
    Role.ADMIN: "Quản trị",
    Role.HUB_OPERATOR: "Vận hành trục liên thông",
    Role.PROVINCE_OPERATOR: "Vận hành nền tảng (Sở TTTT)",
    Role.SYSTEM: "Hệ thống",
}


@dataclass(frozen=True)
class Actor:
    user_id: str
    username: str
    agency_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    full_name: str = ""
    unit: str | None = None              # department (phòng/ban) code inside the agency
    on_behalf_of: str | None = None      # user_id of the leader who delegated (ủy quyền)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            wanted = ", ".join(ROLE_LABELS_VI.get(Role(r), r) for r in roles)
            raise Forbidden(f"Bạn không có quyền thực hiện thao tác này (cần vai trò: {wanted}).",
                            user=self.username, roles=sorted(self.roles), required=list(roles))

    def require_agency(self, agency_id: str) -> None:
        if agency_id != self.agency_id:
            raise Forbidden("Không được truy cập dữ liệu của cơ quan khác.",
                            user=self.username, own=self.agency_id, asked=agency_id)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = sorted(self.roles)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Actor:
        if not data or not data.get("user_id") or not data.get("agency_id"):
            raise Unauthenticated("Yêu cầu không có người thực hiện hợp lệ.", got=bool(data))
        return cls(
            user_id=str(data["user_id"]), username=str(data.get("username", "")),
            agency_id=str(data["agency_id"]), roles=frozenset(data.get("roles") or ()),
            full_name=str(data.get("full_name", "")), unit=data.get("unit"),
            on_behalf_of=data.get("on_behalf_of"),
        )


def system_actor(agency_id: str, process: str) -> Actor:
    return Actor(user_id=f"system:{process}", username=process, agency_id=agency_id,
                 roles=frozenset({Role.SYSTEM}), full_name=process)
