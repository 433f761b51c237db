"""Pure rules of routing: handling states, deadlines, urgency order, delegation, status feedback. No I/O.

Incoming handling (DOMAIN.md incoming 6–10, STANDARDS.md §8.3):

    received ──submit──► submitted ──direct──► assigned ──first action──► in_progress ◄──► waiting
                                                   │                          │
                                                   └──────────────────────────┴──► done (kept | no_action | answered)

Statuses reported to an EXTERNAL sender: 04 on the first assignment, 05 on the first action (once), 06 when done.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from services.common.actor import Actor, Role
from services.common.clock import VN_TZ, to_vn
from services.common.errors import Conflict, Forbidden, ValidationFailed
from services.common.workcalendar import WorkCalendar

# -- urgency ------------------------------------------------------------------------------------------------

PRIORITY_LABELS = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc", 4: "Hỏa tốc hẹn giờ"}


def is_urgent(priority: int | None) -> bool:
    return (priority or 0) >= 1


def urgency_prefix(priority: int | None) -> str:
    """"[Hỏa tốc] " in front of a title, so urgency shows in lists, notifications and e-mail subjects."""
    return f"[{PRIORITY_LABELS.get(int(priority or 0), 'Khẩn')}] " if is_urgent(priority) else ""


FAR_FUTURE = datetime(9999, 1, 1, tzinfo=VN_TZ)


def list_order(priority: int | None, due: datetime | None, created: datetime | None) -> tuple:
    """Urgent first (hỏa tốc before khẩn) [000 Đ5.3], then the nearest deadline, then the oldest."""
    return (-(priority or 0), to_vn(due) if due else FAR_FUTURE, to_vn(created) if created else FAR_FUTURE)


# -- incoming handling --------------------------------------------------------------------------------------

class HandlingStatus(StrEnum):
    RECEIVED = "received"        # registered, waiting for the clerk to submit it
    SUBMITTED = "submitted"      # waiting for the leader's directive / the distributor
    ASSIGNED = "assigned"        # main handler named, nothing done yet
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"          # for a meeting, a verification...: a note says why
    DONE = "done"


STATUS_LABELS_VI = {
    HandlingStatus.RECEIVED: "Chờ trình",
    HandlingStatus.SUBMITTED: "Chờ phân công",
    HandlingStatus.ASSIGNED: "Đã phân công",
    HandlingStatus.IN_PROGRESS: "Đang xử lý",
    HandlingStatus.WAITING: "Tạm dừng chờ",
    HandlingStatus.DONE: "Hoàn thành",
}


class Outcome(StrEnum):
    KEPT = "kept"                # lưu tham khảo
    NO_ACTION = "no_action"      # không cần xử lý, có lý do
    ANSWERED = "answered"        # trả lời bằng văn bản đi đã ban hành


OUTCOME_LABELS_VI = {
    Outcome.KEPT: "Lưu tham khảo",
    Outcome.NO_ACTION: "Không cần xử lý",
    Outcome.ANSWERED: "Đã trả lời bằng văn bản đi",
}


class AssignmentKind(StrEnum):
    MAIN = "main"
    COORDINATOR = "coordinator"
    INFO = "info"


ACTIVE_STATES = {HandlingStatus.ASSIGNED, HandlingStatus.IN_PROGRESS, HandlingStatus.WAITING}


def require_state(status: str, allowed: Iterable[HandlingStatus], action_vi: str) -> None:
    if status not in {s.value for s in allowed}:
        label = STATUS_LABELS_VI.get(HandlingStatus(status), status)
        raise Conflict(f"Không thể {action_vi}: văn bản đang ở trạng thái \"{label}\".", status=status,
                       allowed=sorted(s.value for s in allowed))


def after_action(status: str, started: bool) -> tuple[HandlingStatus, bool]:
    """A handler's action moves an assigned or waiting item to in progress; 05 is sent the first time only."""
    require_state(status, ACTIVE_STATES, "xử lý văn bản")
    return HandlingStatus.IN_PROGRESS, not started


# -- status feedback to the external sender ------------------------------------------------------------------

STATUS_ASSIGNED, STATUS_IN_PROGRESS, STATUS_DONE = "04", "05", "06"

STATUS_DESCRIPTIONS = {
    STATUS_ASSIGNED: "Lãnh đạo: Phân công xử lý",
    STATUS_IN_PROGRESS: "Đang xử lý văn bản đến",
    STATUS_DONE: "Hoàn thành xử lý văn bản đến",
}


def is_external(event: dict[str, Any]) -> bool:
    """Statuses go back only for documents that arrived through the interconnect: the registry's `external`
    flag. A paper letter of another agency has no interconnect path back, so the sender does not decide it."""
    return bool(event.get("external"))


def parse_document_id(document_id: str) -> dict[str, str]:
    """`000.00.00.H60,2026/11/21,12/UBND-VX` -> organ id, promulgation date (ISO) and code (number/notation)."""
    parts = (document_id or "").split(",", 2)
    if len(parts) != 3:
        return {"organ_id": parts[0] if parts else "", "promulgation_date": "", "code": ""}
    organ, day, code = parts
    return {"organ_id": organ, "promulgation_date": day.replace("/", "-"), "code": code}


def status_message(*, code: str, agency_id: str, agency_name: str, sender_organ_id: str, document_id: str,
                   doc_code: str, promulgation_date: str, staff_name: str, staff_unit: str, at: datetime,
                   description: str | None = None) -> dict[str, Any]:
    """The status JSON of docs/messages.md; the outbox adds `message_id`."""
    return {
        "kind": "status",
        "from": {"organ_id": agency_id, "organ_name": agency_name},
        "to": {"organ_id": sender_organ_id},
        "response_for": {"organ_id": sender_organ_id, "code": doc_code, "promulgation_date": promulgation_date,
                         "document_id": document_id},
        "staff": {"department": staff_unit or "", "name": staff_name or "", "mobile": "", "email": ""},
        "status_code": code,
        "description": description or STATUS_DESCRIPTIONS[code],
        "timestamp": to_vn(at).isoformat(timespec="seconds"),
    }


# -- deadlines ------------------------------------------------------------------------------------------------

def end_of_day(day: date, calendar: WorkCalendar) -> datetime:
    """A deadline given as a date means the end of that day's working time."""
    return datetime.combine(day, calendar.periods[-1][1], tzinfo=VN_TZ)


def parse_deadline(value: str | date | datetime | None, calendar: WorkCalendar) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return to_vn(value)
    if isinstance(value, date):
        return end_of_day(value, calendar)
    text = str(value)
    try:
        if len(text) == 10:
            return end_of_day(date.fromisoformat(text), calendar)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed("Hạn xử lý không hợp lệ (dạng YYYY-MM-DD hoặc YYYY-MM-DDTHH:MM).",
                               value=text) from exc
    return to_vn(moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ))


def set_deadline(value: str | date | datetime | None, calendar: WorkCalendar, decided_at: datetime,
                 what: str = "Hạn xử lý", field: str = "deadline") -> datetime | None:
    """A deadline a person sets (a directive's, a changed one, a task's): not on a day already past when it is set.
    "Bộ phận, cá nhân được giao trách nhiệm chủ trì giải quyết công việc phải thực hiện đúng thời hạn yêu cầu của
    các cấp lãnh đạo" (Quy chế Đà Nẵng QĐ 8849 Điều 7.1): a day already past cannot be kept, and is nearly always a
    slip of the year or month that would show the work overdue from the start. `decided_at`: when the leader
    decided (a paper decision entered late is judged on its own day); a deadline earlier on that same day passes."""
    due = parse_deadline(value, calendar)
    if due is not None and due.date() < to_vn(decided_at).date():
        day = to_vn(decided_at).strftime("%d/%m/%Y")
        raise ValidationFailed(f"{what} {due.strftime('%d/%m/%Y')} đã qua: chọn từ ngày {day} trở đi.",
                               code="deadline_past", field=field, value=str(value))
    return due


def handling_deadline(*, leader: datetime | None, document: datetime | None, assigned_at: datetime,
                      default_days: int, calendar: WorkCalendar) -> tuple[datetime, str]:
    """Deadline and where it came from: the leader's, else the document's, else the agency default [000 Đ7]."""
    if leader is not None:
        return leader, "leader"
    if document is not None:
        return document, "document"
    return calendar.add_working_days(assigned_at, default_days), "default"


# -- delegation -------------------------------------------------------------------------------------------------

class Scope(StrEnum):
    """What a delegation (ủy quyền) lets the delegate do in the leader's name; nothing without a scope."""

    ASSIGN = "assign"         # phân công, bút phê; điều chỉnh hạn, chỉ đạo thêm, giao lại, thu hồi
    SUPERVISE = "supervise"   # theo dõi tiến độ các đơn vị và đôn đốc
    APPROVE = "approve"       # duyệt, ký ban hành
    # nhập thay: type in what the leader decided on paper; never acting by one's own judgement (entry.py)
    RECORD = "record"


SCOPE_LABELS_VI = {Scope.ASSIGN: "phân công xử lý", Scope.SUPERVISE: "theo dõi, đôn đốc tiến độ",
                   Scope.APPROVE: "duyệt, ký văn bản", Scope.RECORD: "nhập thay ý kiến lãnh đạo đã bút phê"}


@dataclass(frozen=True)
class Authority:
    """Who acts, and in whose name when acting under a delegation (ủy quyền)."""

    user_id: str
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class DelegationGrant:
    leader_user_id: str
    delegate_user_id: str
    starts_at: datetime
    ends_at: datetime
    scopes: frozenset[str]
    revoked: bool = False

    def covers(self, user_id: str, scope: str, now: datetime) -> bool:
        return (not self.revoked and self.delegate_user_id == user_id and scope in self.scopes
                and to_vn(self.starts_at) <= to_vn(now) < to_vn(self.ends_at))


def leader_authority(actor: Actor, scope: Scope, grants: Iterable[DelegationGrant], now: datetime) -> Authority:
    """A leader acts in their own name; anyone else only under a delegation valid NOW for this scope."""
    if actor.has(Role.LEADER) and not actor.on_behalf_of:
        return Authority(actor.user_id)
    for grant in grants:
        if grant.covers(actor.user_id, scope, now) and actor.on_behalf_of in (None, grant.leader_user_id):
            return Authority(actor.user_id, on_behalf_of=grant.leader_user_id)
    what = SCOPE_LABELS_VI[Scope(scope)]
    raise Forbidden(f"Bạn không có quyền {what}: cần là lãnh đạo cơ quan hoặc được ủy quyền trong thời hạn.",
                    user=actor.username, scope=str(scope))


def require_entry_grant(grants: Iterable[DelegationGrant], entrant_user_id: str, leader_user_id: str,
                        leader_name: str, now: datetime) -> None:
    """Nhập thay (TP.HCM QĐ 23/QĐ-VP Điều 3.2): the entrant types in the leader's decisions only while the leader's
    grant of the `record` scope is in force; the refusal says whether there never was one or it has ended."""
    mine = [g for g in grants if g.delegate_user_id == entrant_user_id and g.leader_user_id == leader_user_id
            and Scope.RECORD.value in g.scopes]
    if any(g.covers(entrant_user_id, Scope.RECORD.value, now) for g in mine):
        return
    if not mine:
        raise Forbidden(f"Đồng chí chưa được {leader_name} ủy nhiệm nhập thay ý kiến đã bút phê (Ủy quyền, phạm vi "
                        "“Nhập thay ý kiến đã bút phê”).", code="no_entry_grant", leader=leader_user_id)
    raise Forbidden(f"Ủy nhiệm nhập thay của {leader_name} không còn hiệu lực (đã hết hạn, chưa đến ngày bắt đầu "
                    "hoặc đã kết thúc).", code="entry_grant_ended", leader=leader_user_id)


def check_delegation_period(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationFailed("Thời hạn ủy quyền không hợp lệ: ngày kết thúc phải sau ngày bắt đầu.",
                               starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat())


def parse_instant(value: str | datetime, field_vi: str) -> datetime:
    if isinstance(value, datetime):
        return to_vn(value)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed(f"{field_vi} không hợp lệ.", value=str(value)) from exc
    if len(str(value)) == 10:
        moment = datetime.combine(moment.date(), time(0, 0))
    try:
        return to_vn(moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ))
    except OverflowError as exc:  # year 1 or 9999 with a zone: outside what a date can hold once converted
        raise ValidationFailed(f"{field_vi} không hợp lệ.", value=str(value)) from exc


def late_moment(value: str | datetime | None, now: datetime, not_before: datetime | None) -> datetime | None:
    """The real time of a step entered after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2: "tiếp tục cập nhật các thông tin
    đã xử lý ngay sau khi sự cố kỹ thuật đã được khắc phục"): Vietnam time when typed without a zone, never in the
    future, never before the document was registered. None for a step entered as it happens."""
    if value in (None, ""):
        return None
    moment = parse_instant(value, "Thời điểm thực tế")  # type: ignore[arg-type]
    if moment > now:
        raise ValidationFailed("Thời điểm thực tế không được ở tương lai.", code="future_date", field="happened_at")
    if not_before is not None and moment < to_vn(not_before):
        raise ValidationFailed(f"Thời điểm thực tế không được trước lúc văn bản vào sổ "
                               f"({to_vn(not_before).strftime('%d/%m/%Y %H:%M')}).", code="before_arrival",
                               field="happened_at")
    return moment


def require_in_order(moment: datetime, previous: datetime | None) -> None:
    """A late step is not put before the document's previous step, so that the history reads in the order things
    happened (pausing before the directive, resuming before the pause)."""
    if previous is not None and moment < to_vn(previous):
        raise ValidationFailed(f"Thời điểm thực tế không được trước bước xử lý trước đó "
                               f"({to_vn(previous).strftime('%d/%m/%Y %H:%M')}).", code="before_previous_step",
                               field="happened_at")


# -- permissions on units -----------------------------------------------------------------------------------

def require_same_unit(actor: Actor, unit: str | None, what_vi: str, tree: UnitTree | None = None) -> None:
    """A department head acts only inside their own unit [001 Đ4.1], and, given the agency's tree of units, inside
    the units under it too ("lãnh đạo các đơn vị trực thuộc Sở chuyển cho lãnh đạo các phòng thuộc đơn vị trực
    thuộc", Bình Định QĐ 376 Đ4.1 Bước 3)."""
    if unit and actor.unit and (tree.within(unit, actor.unit) if tree else actor.unit == unit):
        return
    where = "trong đơn vị của mình và các đơn vị trực thuộc" if tree and tree.children(actor.unit) else \
        "trong đơn vị của mình"
    raise Forbidden(f"Lãnh đạo phòng chỉ được {what_vi} {where}.",
                    user=actor.username, own_unit=actor.unit, target_unit=unit)


# -- the tree of units (Bình Định QĐ 376 Đ4.1 Bước 3) ------------------------------------------------------------

MAX_UNIT_DEPTH = 4  # agency > Chi cục > phòng > tổ: deeper trees are a mistake in the catalogue, not an agency


@dataclass(frozen=True)
class UnitTree:
    """The agency's units and the unit each one sits in (None: directly under the agency). Codes compare in upper
    case, as on people's accounts."""

    parents: dict[str, str | None]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str | None]]) -> UnitTree:
        return cls({code.upper(): (parent.upper() if parent else None) for code, parent in pairs})

    def parent(self, code: str | None) -> str | None:
        return self.parents.get((code or "").upper())

    def ancestors(self, code: str | None) -> list[str]:
        """The units above `code`, nearest first (a cycle in stored data stops the walk rather than looping)."""
        out: list[str] = []
        current = self.parent(code)
        while current and current not in out and current != (code or "").upper():
            out.append(current)
            current = self.parent(current)
        return out

    def within(self, code: str | None, root: str | None) -> bool:
        """Whether unit `code` is `root` or one of the units under it."""
        if not code or not root:
            return False
        return code.upper() == root.upper() or root.upper() in self.ancestors(code)

    def children(self, code: str | None) -> list[str]:
        key = (code or "").upper()
        return sorted(c for c, p in self.parents.items() if key and p == key)

    def subtree(self, root: str | None) -> set[str]:
        """`root` and every unit under it (empty for no unit)."""
        if not root:
            return set()
        return {c for c in set(self.parents) | {root.upper()} if self.within(c, root)}

    def depth(self, code: str | None) -> int:
        """1 for a unit directly under the agency."""
        return len(self.ancestors(code)) + 1

    def height(self, code: str | None, _seen: frozenset[str] = frozenset()) -> int:
        """Levels from `code` down to its deepest unit, itself included (1 for a unit with no sub-units)."""
        key = (code or "").upper()
        below = [c for c in self.children(key) if c not in _seen and c != key]
        return 1 + max((self.height(c, _seen | {key}) for c in below), default=0)

    def ordered(self) -> list[tuple[str, int]]:
        """Every unit with its depth, each followed by the units under it (for an indented list)."""
        out: list[tuple[str, int]] = []
        seen: set[str] = set()

        def visit(code: str, depth: int) -> None:
            seen.add(code)
            out.append((code, depth))
            for child in self.children(code):
                if child not in seen:
                    visit(child, depth + 1)

        for top in sorted(c for c, p in self.parents.items() if not p or p not in self.parents):
            visit(top, 1)
        return out + [(c, 1) for c in sorted(set(self.parents) - seen)]  # a loop in old data: still listed


def check_unit_parent(code: str, parent: str | None, tree: UnitTree, max_depth: int = MAX_UNIT_DEPTH) -> None:
    """A unit may sit under another unit of the same agency (`tree` holds only the agency's units), never under
    itself or one of its own sub-units, and the tree stays at most `max_depth` levels deep."""
    if not parent:
        return
    code, parent = code.upper(), parent.upper()
    if parent not in tree.parents:
        raise ValidationFailed("Đơn vị cấp trên phải là một đơn vị đã khai báo của cùng cơ quan.",
                               code="unknown_parent", field="parent_code", value=parent.lower())
    if parent == code or tree.within(parent, code):
        raise ValidationFailed("Không thể đặt đơn vị dưới chính nó hoặc dưới một đơn vị trực thuộc của nó.",
                               code="unit_cycle", field="parent_code", value=parent.lower())
    levels = tree.depth(parent) + tree.height(code)
    if levels > max_depth:
        raise ValidationFailed(f"Cây đơn vị chỉ được sâu tối đa {max_depth} cấp dưới cơ quan; đặt đơn vị ở đây "
                               f"sẽ thành {levels} cấp.", code="unit_too_deep", field="parent_code",
                               value=parent.lower(), depth=levels, max_depth=max_depth)


def progress_summary(items: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Counts per state for a leader's view of a unit; items carry `status` and `due_state`."""
    summary = {"total": 0, "in_progress": 0, "waiting": 0, "done": 0, "overdue": 0, "due_soon": 0}
    for item in items:
        summary["total"] += 1
        status = item["status"]
        if status == HandlingStatus.DONE:
            summary["done"] += 1
            continue
        summary["waiting" if status == HandlingStatus.WAITING else "in_progress"] += 1
        if item.get("due_state") in ("overdue", "due_soon"):
            summary[item["due_state"]] += 1
    return summary


def initials_of(full_name: str) -> str:
    """Ký tắt as the system records it: the first letter of each word of the name, "Phạm Thị Trưởng" -> "PTT"."""
    return "".join(word[0] for word in (full_name or "").split() if word).upper()


def sign_operation(draft_id: int, step_index: int) -> str:
    """The business operation a leader's signature belongs to, for signing's idempotency: a retry of the same
    approval gets the signature already made, another draft carrying the same file gets its own."""
    return f"draft:{draft_id}:step:{step_index}:sign"


UNIT_ABBREVIATION = re.compile(r"[A-ZĐ0-9]{1,10}")


def unit_abbreviation(value: Any) -> str | None:
    """A unit's abbreviation in notations ("VX" in 12/UBND-VX; NĐ 30 Phụ lục I, chữ viết tắt tên đơn vị soạn
    thảo): capital letters (Đ included) and digits, at most 10; empty means the unit's code is used."""
    text = str(value or "").strip().upper()
    if not text:
        return None
    if not UNIT_ABBREVIATION.fullmatch(text):
        raise ValidationFailed("Chữ viết tắt của đơn vị chỉ gồm chữ in hoa (có Đ) và chữ số, tối đa 10 ký tự "
                               "(ví dụ VX, TCKH).", field="abbreviation", value=str(value)[:40])
    return text

