"""Review chains for drafts: the agency's configured steps from the drafter to the leader's signature.

A chain is a list of steps, stored per agency (routing's agency configuration) as JSON:

    [{"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": true},
     {"key": "office", "label": "Văn phòng (pháp chế, thể thức)", "roles": ["department_head", "specialist"],
      "unit": "VP"},
     {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": true}]

- `roles`: who may act at the step; `unit`: only people of that unit; `same_unit`: only people of the
  drafter's unit (the department head reviews the content of their own staff's drafts).
- The last step, and only it, `signs`: its approval is the leader's approval and personal signature; a
  delegate with the "approve" scope may act there during the delegation period.
- A document type may have its own chain (`review_chains`, e.g. a decision goes through legal review, a
  report does not); other types follow the agency's chain.
- Any step approves (to the next step) or returns the draft to the drafter with comments; a resubmitted draft
  starts the chain again from the first step [001 Đ4.2, 002 Đ12].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.actor import Actor, Role
from services.common.errors import Forbidden, ValidationFailed

DEFAULT_CHAIN: list[dict[str, Any]] = [
    {"key": "department", "label": "Lãnh đạo phòng", "roles": [Role.DEPARTMENT_HEAD.value], "same_unit": True},
    {"key": "office", "label": "Văn phòng (pháp chế, thể thức)",
     "roles": [Role.DEPARTMENT_HEAD.value, Role.SPECIALIST.value], "unit": "VP"},
    {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": [Role.LEADER.value], "signs": True},
]

KNOWN_ROLES = {r.value for r in Role} - {Role.SYSTEM.value}


@dataclass(frozen=True)
class ChainStep:
    key: str
    label: str
    roles: frozenset[str]
    unit: str | None = None
    same_unit: bool = False
    signs: bool = False
    user: str | None = None  # one named person only: the deputy in charge of this draft (phó phụ trách)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "roles": sorted(self.roles), "unit": self.unit,
                "same_unit": self.same_unit, "signs": self.signs, "user": self.user}

    def admits(self, actor: Actor, draft_unit: str | None) -> bool:
        """Whether the actor's own role and unit fit the step (delegation is checked by the caller)."""
        if self.user:
            return actor.user_id == self.user and actor.has(*self.roles)
        if not actor.has(*self.roles):
            return False
        if self.unit and actor.unit != self.unit:
            return False
        return not (self.same_unit and actor.unit != draft_unit)

    def admits_person(self, roles: set[str], unit: str | None, draft_unit: str | None,
                      user_id: str | None = None) -> bool:
        """Same test on a staff-directory entry: whom to notify when a draft reaches the step."""
        if self.user and user_id != self.user:
            return False
        if not roles & self.roles:
            return False
        if self.unit and unit != self.unit:
            return False
        return not (self.same_unit and unit != draft_unit)


def parse_chain(raw: list[dict[str, Any]] | None) -> list[ChainStep]:
    """Validate a configured chain; a broken configuration is refused when saved, not when a draft is stuck."""
    raw = raw if raw is not None else DEFAULT_CHAIN
    if not raw:
        raise ValidationFailed("Quy trình duyệt phải có ít nhất một bước.", chain=raw)
    steps = []
    keys = set()
    for i, item in enumerate(raw):
        roles = frozenset(item.get("roles") or ())
        if not roles or not roles <= KNOWN_ROLES:
            raise ValidationFailed("Bước duyệt có vai trò không hợp lệ.", step=i, roles=sorted(roles))
        key = str(item.get("key") or f"step{i + 1}")
        if key in keys:
            raise ValidationFailed("Hai bước duyệt trùng mã.", key=key)
        keys.add(key)
        steps.append(ChainStep(key=key, label=str(item.get("label") or key), roles=roles,
                               unit=item.get("unit") or None, same_unit=bool(item.get("same_unit")),
                               signs=bool(item.get("signs")), user=item.get("user") or None))
    if not steps[-1].signs or any(s.signs for s in steps[:-1]):
        raise ValidationFailed("Bước cuối cùng (và chỉ bước cuối) là bước lãnh đạo duyệt và ký.",
                               chain=[s.key for s in steps])
    if Role.LEADER.value not in steps[-1].roles:
        raise ValidationFailed("Bước ký phải do lãnh đạo cơ quan thực hiện.", roles=sorted(steps[-1].roles))
    return steps


def parse_chains(raw: dict[str, Any] | None) -> dict[str, list[ChainStep]]:
    """Chains per document type code (NĐ 30 Phụ lục III: "QD", "TTr"...): each validated like the agency's chain."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationFailed("Quy trình theo loại văn bản phải có dạng {\"mã loại\": [các bước]}.", chains=str(raw))
    chains = {}
    for type_code, steps in raw.items():
        code = str(type_code).strip()
        if not code or len(code) > 20:
            raise ValidationFailed("Mã loại văn bản của quy trình không hợp lệ.", type_code=code[:40])
        chains[code] = parse_chain(steps if isinstance(steps, list) else [])
    return chains


def chain_for(type_code: str | None, default: list[dict[str, Any]] | None,
              per_type: dict[str, Any] | None) -> list[ChainStep]:
    """The chain a draft of this type follows: its type's own chain if the agency set one, else the agency's."""
    own = (per_type or {}).get(type_code or "")
    return parse_chain(own if own else default)


DEPUTY_KEY = "deputy_in_charge"


def with_deputy(steps: list[ChainStep], user_id: str | None) -> list[ChainStep]:
    """The deputy in charge named for a draft reviews and initials it just before the signing step ("Trình dự thảo
    ... tới Lãnh đạo được phân công phụ trách xem xét, ký tắt trước khi trình Lãnh đạo cơ quan ... ký ban hành",
    Tuyên Quang QĐ 51/2024 Đ12.1c)."""
    if not user_id:
        return steps
    deputy = ChainStep(key=DEPUTY_KEY, label="Phó phụ trách (ký tắt)", roles=frozenset({Role.LEADER.value}),
                       user=user_id)
    return [s for s in steps[:-1] if s.key != DEPUTY_KEY] + [deputy, steps[-1]]


def chain_from_snapshot(snapshot: list[dict[str, Any]]) -> list[ChainStep]:
    return parse_chain(snapshot)


def require_step(step: ChainStep, actor: Actor, draft_unit: str | None) -> None:
    if not step.admits(actor, draft_unit):
        raise Forbidden(f"Bạn không có quyền duyệt ở bước \"{step.label}\".", user=actor.username,
                        step=step.key, roles=sorted(actor.roles), unit=actor.unit)
