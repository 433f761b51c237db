"""Recipient groups (nhóm nơi nhận) of an agency: named lists of agencies of the directory ("các sở, ban, ngành",
"UBND các huyện, thành phố") that the clerk adds at once on "Gửi văn bản" and "Ban hành" instead of picking dozens
of agencies one by one in a list of thousands.

DOMAIN: the agency's administration keeps its catalogues, correspondents among them (QĐ 8849/QĐ-UBND Đà Nẵng
Điều 13.5a: quản trị "quản trị cấu hình, tạo lập dữ liệu ban đầu"); the project has no rule letting clerks keep
catalogues (services/common/agency_rules.py has one for registers only), so only the administrator changes groups;
the clerk reads them to send.

Where they live: the gateway's own tables (gateway/models.py `RecipientGroup`), beside the units, because the
directory they name is the gateway's copy and only the gateway expands a group: the registry and the interconnect
receive organ ids, as from a hand-made choice. A change is an admin event and a row of the gateway's audit chain.

A member may leave the directory after it was added (an agency dissolved without successor, locked on the
interconnect, or gone from the directory file): it stays in the group, shown as such, and is skipped when
sending, the skipped ones named to the clerk (the document page, the API's `skipped_recipients`), never silently.
A member replaced by a successor is sent to the successor, as the hubs would deliver it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.app import Gateway, Viewer
from gateway.models import AdminEvent, RecipientGroup
from services.common import clock
from services.common.actor import Role
from services.common.clock import to_vn
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.interconnect import identifiers
from services.interconnect.directory import fold

NAME_MAX = 200
MEMBERS_MAX = 3000   # more than every agency of a province: a group is a part of the directory, never all of it
READERS = (Role.ADMIN, Role.CLERK)


@dataclass
class Member:
    organ_id: str
    name: str
    available: bool
    note: str = ""
    send_to: str | None = None   # the id a package goes to: itself, or its successor once replaced

    def to_dict(self) -> dict[str, Any]:
        return {"organ_id": self.organ_id, "name": self.name, "available": self.available, "note": self.note,
                "send_to": self.send_to}


@dataclass
class Expansion:
    """The recipients a send names: the chosen agencies and the groups' members, once each, without the sender."""

    organ_ids: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def warning(self) -> str:
        return skipped_text(self.skipped)


def skipped_text(skipped: list[dict[str, str]]) -> str:
    if not skipped:
        return ""
    names = "; ".join(f"{s['name']} ({s['organ_id']}, nhóm “{s['group']}”)" if s.get("group")
                      else f"{s['name']} ({s['organ_id']})" for s in skipped)
    return (f"Không gửi đến {len(skipped)} nơi nhận không còn nhận văn bản trên trục liên thông (đã rời danh bạ "
            f"hoặc bị khóa): {names}. Quản trị viên cần cập nhật nhóm nơi nhận.")


def skipped_query(doc: dict[str, Any]) -> str:
    """The members a send skipped, for the document page the clerk lands on (`&khong-gui=` organ ids)."""
    ids = [s["organ_id"] for s in doc.get("skipped_recipients") or []]
    return f"&khong-gui={quote(','.join(ids))}" if ids else ""


def skipped_from_query(g: Gateway, text: str) -> str:
    """The warning of the document page after a send that skipped members; only names from the directory. The
    address is anyone's to write: what is not an agency identifier is left out, lest a made-up link put its own
    words on the page (a member gone from the directory is named by its identifier)."""
    ids = [i.strip() for i in dict.fromkeys(text.split(","))][:MEMBERS_MAX] if text else []
    ids = [i for i in ids if identifiers.is_valid(i)]
    if not ids:
        return ""
    return skipped_text([{"organ_id": m.organ_id, "name": m.name} for m in members_of(g, ids)])


# -- reading ------------------------------------------------------------------------------------------------------

def groups(g: Gateway, agency_id: str) -> list[RecipientGroup]:
    with g.db.session() as s:
        return list(s.scalars(select(RecipientGroup).where(RecipientGroup.agency_id == agency_id)
                              .order_by(RecipientGroup.name_key)))


def group_of(g: Gateway, v: Viewer, group_id: str) -> RecipientGroup:
    """The viewer's agency's group; another agency's is not found, like one that never was."""
    v.actor.require(*READERS)
    with g.db.session() as s:
        found = s.get(RecipientGroup, str(group_id)[:32])
    if found is None or found.agency_id != v.user.agency_id:
        raise NotFound("Không tìm thấy nhóm nơi nhận.", group_id=group_id)
    return found


def member_of(directory: Any, organ_id: str, lookup: Any = None) -> Member:
    """A member as the directory has it today. `lookup`: the members' records read at once (Directory.lookup)."""
    get = lookup or directory.get
    record = get(organ_id)
    if record is None:
        return Member(organ_id, organ_id, False, "Không còn trong danh bạ liên thông")
    ok, reason = directory.is_deliverable(organ_id, lookup=get)
    if not ok:
        return Member(organ_id, record.name, False, reason)
    return Member(organ_id, record.name, True, reason, directory.current_id(organ_id, lookup=get))


def members_of(g: Gateway, organ_ids: list[str]) -> list[Member]:
    directory = g.directory()
    lookup = directory.lookup(organ_ids)
    return [member_of(directory, o, lookup) for o in organ_ids]


def describe(g: Gateway, group: RecipientGroup) -> dict[str, Any]:
    members = members_of(g, list(group.members or []))
    return {"id": group.id, "name": group.name, "members": [m.to_dict() for m in members],
            "member_count": len(members), "unavailable_count": sum(1 for m in members if not m.available),
            "updated_at": to_vn(group.updated_at).isoformat(timespec="seconds")}


def listed(g: Gateway, v: Viewer) -> list[dict[str, Any]]:
    v.actor.require(*READERS)
    return [describe(g, group) for group in groups(g, v.user.agency_id)]


def picker_groups(g: Gateway, v: Viewer) -> list[dict[str, Any]]:
    """The groups as the send, issue and copy screens offer them: each with how many agencies it adds and the
    members it cannot add, named. The members themselves are not in the page (the script reads them from the API
    when the group is ticked, the server adds them on sending): one lookup per group, whatever its size."""
    if not v.has(*READERS):
        return []
    shown = []
    for group in groups(g, v.user.agency_id):
        members = members_of(g, list(group.members or []))
        adds = {m.send_to for m in members if m.available and m.send_to and m.send_to != v.user.agency_id}
        left = [m for m in members if not m.available and m.organ_id != v.user.agency_id]
        shown.append({"id": group.id, "name": group.name, "count": len(adds), "left": [m.to_dict() for m in left]})
    return shown


# -- changing (the administrator) -----------------------------------------------------------------------------------

def _clean_name(name: str) -> tuple[str, str]:
    text = " ".join((name or "").split())
    if not text:
        raise ValidationFailed("Tên nhóm nơi nhận không được để trống.", field="name")
    if len(text) > NAME_MAX or "\x00" in text:
        raise ValidationFailed(f"Tên nhóm nơi nhận dài tối đa {NAME_MAX} ký tự.", field="name")
    return text, fold(text)[:NAME_MAX] or text.lower()[:NAME_MAX]


def _checked_members(g: Gateway, v: Viewer, members: list[str], kept: list[str]) -> list[str]:
    """The members as typed, once each, in order. An agency added now must be able to receive; one already in the
    group may stay although it left the directory (shown as such, skipped when sending)."""
    directory = g.directory()
    chosen: list[str] = []
    for raw in members:
        organ_id = (raw or "").strip()
        if not organ_id or organ_id in chosen:
            continue
        if organ_id == v.user.agency_id:
            raise ValidationFailed("Nhóm nơi nhận không gồm chính cơ quan mình.", field="members", value=organ_id)
        if organ_id not in kept:
            record = directory.get(organ_id)
            if record is None:
                raise ValidationFailed(f"Không có cơ quan mã {organ_id} trong danh bạ.", field="members",
                                       value=organ_id)
            ok, reason = directory.is_deliverable(organ_id)
            if not ok:
                raise ValidationFailed(reason, field="members", value=organ_id)
            organ_id = record.organ_id
        chosen.append(organ_id)
    if len(chosen) > MEMBERS_MAX:
        raise ValidationFailed(f"Một nhóm có tối đa {MEMBERS_MAX} nơi nhận.", field="members")
    return chosen


def _name_taken(s: Any, agency_id: str, key: str, group_id: str | None) -> None:
    same = s.scalars(select(RecipientGroup).where(RecipientGroup.agency_id == agency_id,
                                                  RecipientGroup.name_key == key)).first()
    if same is not None and same.id != group_id:
        raise Conflict(f"Cơ quan đã có nhóm nơi nhận “{same.name}”; hãy đặt tên khác.", code="group_name_taken",
                       field="name", value=same.name)


def _taken_meanwhile(g: Gateway, agency_id: str, key: str, group_id: str | None) -> None:
    """After the unique name refused a write: another request gave the name between the check and the write (a
    form sent twice at once, on two gateway workers); it is refused as a taken name, not a server error."""
    with g.db.session() as s:
        _name_taken(s, agency_id, key, group_id)


def create(g: Gateway, v: Viewer, name: str, members: list[str] | None = None) -> RecipientGroup:
    v.actor.require(Role.ADMIN)
    text, key = _clean_name(name)
    chosen = _checked_members(g, v, members or [], [])
    now = clock.now_utc()
    try:
        with g.db.session() as s:
            _name_taken(s, v.user.agency_id, key, None)
            group = RecipientGroup(id=secrets.token_hex(8), agency_id=v.user.agency_id, name=text, name_key=key,
                                   members=chosen, created_at=now, updated_at=now)
            s.add(group)
            _logged(s, v, group_id=group.id, change="created", name=text, added=chosen)
    except IntegrityError:
        _taken_meanwhile(g, v.user.agency_id, key, None)
        raise
    return group


def update(g: Gateway, v: Viewer, group_id: str, name: str | None = None, members: list[str] | None = None,
           add: list[str] | None = None, remove: list[str] | None = None) -> RecipientGroup:
    """Rename (None: unchanged); set the whole list of members (`members`, the API's PUT) or add and remove some
    (`add`, `remove`: the screens and POST …/members). The admin event names what changed.

    The group's row is read locked until the commit: two administrators changing one group at the same moment
    (two gateway workers on PostgreSQL) change it one after the other, each adding to and removing from the members
    the other left, so no addition is lost while the log records it."""
    v.actor.require(Role.ADMIN)
    group = group_of(g, v, group_id)   # another agency's: not found before anything is locked
    cleaned = _clean_name(name) if name is not None else None
    try:
        with g.db.session() as s:
            row = s.scalar(select(RecipientGroup).where(RecipientGroup.id == group.id).with_for_update()
                      .execution_options(populate_existing=True))
            if row is None:   # deleted meanwhile
                raise NotFound("Không tìm thấy nhóm nơi nhận.", group_id=group_id)
            before, old_name = list(row.members or []), row.name
            text, key = cleaned or (row.name, row.name_key)
            if members is None:
                dropped = set(remove or [])
                members = [m for m in before if m not in dropped] + list(add or [])
            chosen = _checked_members(g, v, members, before)
            _name_taken(s, v.user.agency_id, key, row.id)
            row.name, row.name_key, row.members, row.updated_at = text, key, chosen, clock.now_utc()
            _record_change(s, v, row.id, old_name, text, before, chosen)
            group = row
    except IntegrityError:
        _taken_meanwhile(g, v.user.agency_id, key, group.id)
        raise
    return group


def _logged(s: Any, v: Viewer, **details: Any) -> None:
    """The administrator's change to a group, in the group's own transaction: a change is logged if and only if
    it is made, in the order the row lock gave the changes."""
    s.add(AdminEvent(agency_id=v.user.agency_id, at=clock.now_utc(), admin_user_id=v.user.id, target_user_id=None,
                     action="recipient_group", details=details))


def _record_change(s: Any, v: Viewer, group_id: str, old_name: str, name: str, before: list[str],
                   after: list[str]) -> None:
    changes: dict[str, Any] = {}
    if name != old_name:
        changes["renamed"] = [old_name, name]
    if added := [o for o in after if o not in before]:
        changes["added"] = added
    if removed := [o for o in before if o not in after]:
        changes["removed"] = removed
    if changes:
        _logged(s, v, group_id=group_id, change="changed", name=name, **changes)


def delete(g: Gateway, v: Viewer, group_id: str) -> None:
    """Under the row lock, as a change: the log names the members the group had when it went, and of two deletes
    at once the second finds nothing (404)."""
    v.actor.require(Role.ADMIN)
    group = group_of(g, v, group_id)
    with g.db.session() as s:
        row = s.scalar(select(RecipientGroup).where(RecipientGroup.id == group.id).with_for_update()
                      .execution_options(populate_existing=True))
        if row is None:   # deleted meanwhile
            raise NotFound("Không tìm thấy nhóm nơi nhận.", group_id=group_id)
        _logged(s, v, group_id=row.id, change="deleted", name=row.name, removed=list(row.members or []))
        s.delete(row)


def changes(g: Gateway, v: Viewer, group_id: str | None = None, limit: int = 30) -> list[dict[str, Any]]:
    """The administrators' changes to the groups, newest first (admin events)."""
    v.actor.require(Role.ADMIN)
    names = {u.id: u.full_name for u in g.accounts.list_users(v.user.agency_id)}
    # one group's: among the groups' newest 500 changes (its id is in the event's JSON details)
    events = [e for e in g.accounts.admin_events(v.user.agency_id, limit=limit if group_id is None else 500,
                                                 action="recipient_group")
              if group_id is None or e.details.get("group_id") == group_id][:limit]
    return [{"at": to_vn(e.at).isoformat(timespec="seconds"), "admin": names.get(e.admin_user_id, e.admin_user_id),
             **{k: e.details.get(k) for k in ("group_id", "change", "name", "renamed", "added", "removed")}}
            for e in events]


# -- sending ----------------------------------------------------------------------------------------------------------

def expand(g: Gateway, v: Viewer, recipients: list[str], group_ids: list[str] | None) -> Expansion:
    """The union of the agencies chosen one by one and the members of the chosen groups, deduplicated in the order
    chosen, without the sending agency. A member that can no longer receive is skipped and named; a chosen
    agency that is not in the directory is refused later, as before (gateway/issuing.py)."""
    result = Expansion()
    seen = {v.user.agency_id}

    def add(organ_id: str) -> None:
        if organ_id and organ_id not in seen:
            seen.add(organ_id)
            result.organ_ids.append(organ_id)

    for organ_id in recipients:
        add((organ_id or "").strip())
    wanted = [str(i).strip() for i in group_ids or [] if str(i).strip()]
    if not wanted:
        return result
    for group_id in dict.fromkeys(wanted):
        group = group_of(g, v, group_id)
        for member in members_of(g, list(group.members or [])):
            organ_id = member.organ_id
            if member.available and member.send_to:
                add(member.send_to)
            elif organ_id != v.user.agency_id and organ_id not in {s["organ_id"] for s in result.skipped}:
                result.skipped.append({"organ_id": organ_id, "name": member.name, "group": group.name,
                                       "reason": member.note})
    return result
