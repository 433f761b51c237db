"""Pure aggregation rules of the reports (no I/O): what the monthly report of TP.HCM Đ10 and the usage report of
Hưng Yên Đ13 count, from the facts that the registry, routing and the hubs' relay logs give.

Inputs are the plain dicts of the read-only RPCs (`registry.report_register`, `routing.report_handlings`) and
relay-log rows; times are ISO strings (Vietnam time or UTC with offset).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.common.clock import to_vn
from services.common.recipients import recipient_label
from services.common.workcalendar import WorkCalendar

NO_UNIT = ""
NO_UNIT_LABEL = "Chưa phân công"
CLERK_DESK = "van-thu"          # the clerks' desk: a document not yet submitted waits there, not with a person
CLERK_DESK_LABEL = "Văn thư (chưa trình)"
DONE = "done"
RECEIVED_STATUS_CODES = ("03", "04", "05", "06")   # the recipient took the document in (registered or further)

STATUS_LABELS_VI = {
    "received": "Chờ trình", "submitted": "Chờ bút phê", "assigned": "Đã phân công", "in_progress": "Đang xử lý",
    "waiting": "Tạm dừng", "done": "Đã xử lý",
}


def parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    return to_vn(datetime.fromisoformat(str(value)))


def parse_day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- incoming handling ------------------------------------------------------------------------------------------


def working_days_late(calendar: WorkCalendar, deadline: datetime, until: datetime) -> int:
    """Whole working days past the deadline, a started day counting as one (0 when not late)."""
    late = calendar.working_hours_between(deadline, until).total_seconds() / 3600
    if late <= 0:
        return 0
    return max(1, math.ceil(late / calendar.hours_per_day - 1e-9))


def main_handler(handling: dict[str, Any], staff: dict[str, dict[str, Any]]) -> tuple[str | None, str]:
    """(user id or None, unit) of the current main handler: the last active main assignment."""
    active = [a for a in handling.get("main") or [] if a.get("active")]
    if not active:
        return None, NO_UNIT
    last = active[-1]
    user = last.get("user_id")
    unit = last.get("unit") or (staff.get(user or "", {}).get("unit")) or NO_UNIT
    return user, unit


def person_name(user_id: str | None, staff: dict[str, dict[str, Any]]) -> str:
    if not user_id:
        return ""
    if user_id == CLERK_DESK:
        return CLERK_DESK_LABEL
    return staff.get(user_id, {}).get("full_name") or user_id


@dataclass
class HandlingView:
    incoming_id: str
    subject: str
    status: str
    handler: str | None
    unit: str
    deadline: datetime | None
    done_at: datetime | None
    overdue: bool           # still open and past its deadline
    done_late: bool         # finished after its deadline
    days_late: int


def view(handling: dict[str, Any], staff: dict[str, dict[str, Any]], calendar: WorkCalendar,
         now: datetime) -> HandlingView:
    handler, unit = main_handler(handling, staff)
    deadline, done_at = parse_instant(handling.get("deadline")), parse_instant(handling.get("done_at"))
    is_done = handling.get("status") == DONE
    overdue = bool(deadline and not is_done and now >= deadline)
    done_late = bool(deadline and is_done and done_at and done_at > deadline)
    days = working_days_late(calendar, deadline, done_at if is_done and done_at else now) if deadline else 0
    return HandlingView(handling["incoming_id"], handling.get("subject") or "", handling.get("status") or "",
                        handler, unit, deadline, done_at, overdue, done_late, days if (overdue or done_late) else 0)


def _counts() -> dict[str, int]:
    return {"received": 0, "handled": 0, "in_progress": 0, "overdue": 0, "done_late": 0}


def _add(counts: dict[str, int], v: HandlingView) -> None:
    counts["received"] += 1
    counts["handled" if v.status == DONE else "in_progress"] += 1
    counts["overdue"] += int(v.overdue)
    counts["done_late"] += int(v.done_late)


def unit_within(code: str | None, root: str, parents: dict[str, str | None]) -> bool:
    """Whether unit `code` is `root` or sits under it in the agency's tree (`parents`: code -> the unit it sits in,
    routing's copy); a loop in the data ends the walk."""
    current, seen = (code or "").upper(), set()
    while current and current not in seen:
        if current == root.upper():
            return True
        seen.add(current)
        current = (parents.get(current) or "").upper()
    return False


def incoming_summary(facts: dict[str, Any], now: datetime, unit: str | None = None) -> dict[str, Any]:
    """Totals, per unit and per person; the overdue list with handler and working days late; late forwarders.

    `facts` is routing's `report_handlings` answer. `unit` limits everything to one unit (a department head).
    """
    calendar = WorkCalendar.from_config(facts.get("calendar"))
    staff = facts.get("staff") or {}
    names = facts.get("unit_names") or {}
    now = to_vn(now)
    views = [view(h, staff, calendar, now) for h in facts.get("handlings") or []]
    if unit is not None:  # the unit and the units under it (Bình Định QĐ 376 Đ4.1 Bước 3)
        parents = facts.get("units") or {}
        views = [v for v in views if unit_within(v.unit, unit, parents)]
    totals, by_unit, by_person = _counts(), defaultdict(_counts), defaultdict(_counts)
    for v in views:
        _add(totals, v)
        _add(by_unit[v.unit], v)
        if v.handler:
            _add(by_person[v.handler], v)
    overdue = sorted((v for v in views if v.overdue), key=lambda v: (-v.days_late, v.deadline or now))
    kept = {v.incoming_id for v in views}
    late = late_forwarders([h for h in facts.get("handlings") or [] if h["incoming_id"] in kept], staff, calendar,
                           float(facts.get("registration_limit_hours") or 8), now,
                           clerks_only=facts.get("late_forwarders_rule") == "clerk_only")
    return {
        "totals": totals,
        "by_unit": [{"unit": u, "unit_label": unit_name(u, names) or NO_UNIT_LABEL, **c}
                    for u, c in sorted(by_unit.items())],
        "by_person": sorted(({"user_id": p, "name": person_name(p, staff), "unit": staff.get(p, {}).get("unit") or "",
                              **c} for p, c in by_person.items()), key=lambda r: (r["unit"], r["name"])),
        "overdue": [{"incoming_id": v.incoming_id, "subject": v.subject, "status": v.status,
                     "status_label": STATUS_LABELS_VI.get(v.status, v.status), "handler": v.handler,
                     "handler_name": person_name(v.handler, staff), "unit": v.unit,
                     "deadline": v.deadline.isoformat(timespec="minutes") if v.deadline else None,
                     "working_days_late": v.days_late} for v in overdue],
        "late_forwarders": late,
        "registration_limit_hours": facts.get("registration_limit_hours"),
        "unit_names": names,
    }


@dataclass
class Holding:
    """A person (or the clerks' desk) had the document from `since` until they acted (`until`, or still open)."""

    incoming_id: str
    holder: str
    since: datetime
    until: datetime | None


def holdings(handling: dict[str, Any]) -> list[Holding]:
    """Who had to pass the document on, from when: the clerks' desk from registration, the person it was
    submitted to, each main handler from their assignment. A holding ends at that person's first action after
    receiving it (for the desk: the clerk's submit or a directive)."""
    events = [(parse_instant(e["at"]), e) for e in handling.get("events") or [] if e.get("at")]
    out: list[Holding] = []

    def first_action(user: str, since: datetime) -> datetime | None:
        for at, e in events:
            if at is None or at < since or e.get("action") == "registered":
                continue
            if user == CLERK_DESK:
                if e.get("action") in ("submitted", "directed"):
                    return at
            elif e.get("user_id") == user or e.get("on_behalf_of") == user:
                return at
        return None

    registered = parse_instant(handling.get("registered_at"))
    iid = handling["incoming_id"]
    if registered:
        out.append(Holding(iid, CLERK_DESK, registered, first_action(CLERK_DESK, registered)))
    for at, e in events:
        if e.get("action") == "submitted" and e.get("to") and at:
            out.append(Holding(iid, e["to"], at, first_action(e["to"], at)))
    for a in handling.get("main") or []:
        since = parse_instant(a.get("at"))
        if a.get("user_id") and since:
            out.append(Holding(iid, a["user_id"], since, first_action(a["user_id"], since)))
    return out


def late_forwarders(handlings: list[dict[str, Any]], staff: dict[str, dict[str, Any]], calendar: WorkCalendar,
                    limit_hours: float, now: datetime, clerks_only: bool = False) -> list[dict[str, Any]]:
    """People who did not pass a document on (or act on it) within the limit, in working hours [003 Đ10]; where the
    agency's rule says so (agency_rules "late_forwarders": clerk_only, [000 Đ5.2]) only the clerks' desk."""
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in handlings:
        for hold in holdings(h):
            if clerks_only and hold.holder != CLERK_DESK:
                continue
            end = hold.until or now
            spent = calendar.working_hours_between(hold.since, end).total_seconds() / 3600
            if spent > limit_hours:
                per[hold.holder].append({"incoming_id": hold.incoming_id, "subject": h.get("subject") or "",
                                         "since": hold.since.isoformat(timespec="minutes"),
                                         "still_holding": hold.until is None,
                                         "working_hours": round(spent, 1)})
    return sorted(({"user_id": u, "name": person_name(u, staff), "unit": staff.get(u, {}).get("unit") or "",
                    "count": len(items), "items": items} for u, items in per.items()),
                  key=lambda r: (-r["count"], r["name"]))


def overdue_by_unit(facts: dict[str, Any], now: datetime) -> dict[str, int]:
    """Open documents past their deadline per unit of the main handler (the gauge's values)."""
    calendar = WorkCalendar.from_config(facts.get("calendar"))
    staff = facts.get("staff") or {}
    out: Counter[str] = Counter()
    for h in facts.get("handlings") or []:
        v = view(h, staff, calendar, to_vn(now))
        if v.overdue:
            out[v.unit] += 1
    return dict(out)


# --- outgoing ------------------------------------------------------------------------------------------------


def outgoing_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Issued documents by type, the share signed electronically, and how many recipients reported back."""
    by_type: dict[str, dict[str, Any]] = {}
    signed = recalled = 0
    recipients = reported = taken_in = 0
    by_status: Counter[str] = Counter()
    for r in rows:
        key = r.get("type_code") or ""
        entry = by_type.setdefault(key, {"type_code": key, "type_name": r.get("type_name") or key, "count": 0,
                                         "signed": 0})
        entry["count"] += 1
        if r.get("signed"):
            signed += 1
            entry["signed"] += 1
        recalled += int(r.get("state") == "recalled")
        for rc in r.get("recipients") or []:
            if rc.get("channel", "interconnect") != "interconnect":
                continue
            recipients += 1
            code = rc.get("status_code")
            by_status[code or "none"] += 1
            reported += int(bool(code))
            taken_in += int(code in RECEIVED_STATUS_CODES)
    total = len(rows)
    return {
        "total": total, "signed": signed, "signed_share": round(signed / total, 4) if total else 0.0,
        "recalled": recalled, "by_type": sorted(by_type.values(), key=lambda e: (-e["count"], e["type_name"])),
        "recipients": recipients, "recipients_reported": reported, "recipients_taken_in": taken_in,
        "status_coverage": round(reported / recipients, 4) if recipients else 0.0,
        "recipients_by_status": dict(sorted(by_status.items())),
    }


# --- hubs: relay logs -----------------------------------------------------------------------------------------


def hub_summary(entries_by_hub: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per hub: packages sent (accepted from its agencies), received (delivered to its agencies' inboxes),
    rejected by reason, the median delivery time; per agency: sent and received (usage for the province).

    Entries are relay-log rows {event, message_id, sender, recipients (comma-separated), at, detail}. A delivery
    time runs from the first `received` of a message in any hub log to its `delivered` row, so a package that
    crosses three hubs is measured end to end.
    """
    first_seen: dict[str, datetime] = {}
    kind: dict[str, str] = {}
    for entries in entries_by_hub.values():
        for e in entries:
            at = parse_instant(e.get("at"))
            mid = e.get("message_id") or ""
            if e.get("event") == "received" and at and (mid not in first_seen or at < first_seen[mid]):
                first_seen[mid] = at
            if e.get("event") == "validated":
                kind[mid] = e.get("detail") or "edoc"
    hubs, agencies = [], defaultdict(lambda: {"sent": 0, "received": 0, "rejected": 0})
    for hub, entries in sorted(entries_by_hub.items()):
        sent = received = 0
        rejected: Counter[str] = Counter()
        delays: list[float] = []
        for e in entries:
            event, mid = e.get("event"), e.get("message_id") or ""
            if event == "validated":
                sent += 1
                if kind.get(mid, "edoc") == "edoc":
                    agencies[e.get("sender") or ""]["sent"] += 1
            elif event == "delivered":
                organs = [o for o in (e.get("recipients") or "").split(",") if o]
                received += len(organs)
                if kind.get(mid, "edoc") == "edoc":
                    for organ in organs:
                        agencies[organ]["received"] += 1
                at, start = parse_instant(e.get("at")), first_seen.get(mid)
                if at and start:
                    delays.append((at - start).total_seconds())
            elif event == "rejected":
                rejected[(e.get("detail") or "").split(":", 1)[0] or "UNKNOWN"] += 1
                agencies[e.get("sender") or ""]["rejected"] += 1
        hubs.append({"hub": hub, "sent": sent, "received": received, "rejected": sum(rejected.values()),
                     "rejected_by_reason": dict(sorted(rejected.items())),
                     "median_delivery_seconds": round(statistics.median(delays), 3) if delays else None,
                     "deliveries_measured": len(delays)})
    return {"hubs": hubs,
            "agencies": [{"organ_id": k, **v} for k, v in sorted(agencies.items()) if k]}


# --- printable registers (NĐ 30 Phụ lục IV, STANDARDS.md §4.5) --------------------------------------------------

INCOMING_COLUMNS = (
    ("Ngày đến", 16), ("Số đến", 11), ("Tác giả", 34), ("Số, ký hiệu văn bản", 24), ("Ngày tháng văn bản", 16),
    ("Tên loại và trích yếu nội dung", 62), ("Đơn vị hoặc người nhận", 30), ("Ngày chuyển", 16),
    ("Ký nhận", 26), ("Ghi chú", 24),
)
OUTGOING_COLUMNS = (
    ("Số, ký hiệu văn bản", 24), ("Ngày tháng văn bản", 16), ("Tên loại và trích yếu nội dung", 62),
    ("Người ký", 28), ("Nơi nhận văn bản", 40), ("Đơn vị, người nhận bản lưu", 24), ("Số lượng bản", 10),
    ("Ngày chuyển", 16), ("Ký nhận", 30), ("Ghi chú", 24),
)
REGISTER_TITLES = {"incoming": "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", "outgoing": "SỔ ĐĂNG KÝ VĂN BẢN ĐI"}
STATUS_SHORT_VI = {"01": "Đã đến", "02": "Từ chối", "03": "Đã tiếp nhận", "04": "Đã phân công", "05": "Đang xử lý",
                   "06": "Hoàn thành", "15": "Đồng ý thu hồi", "16": "Từ chối thu hồi"}
CHANNEL_VI = {"paper": "Bản giấy", "email": "Thư điện tử", "fax": "Fax", "interconnect": "Liên thông"}


def vn_day(value: str | None) -> str:
    if not value:
        return ""
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text).strftime("%d/%m/%Y")
    return to_vn(datetime.fromisoformat(text)).strftime("%d/%m/%Y")


def vn_moment(value: str | None) -> str:
    return to_vn(datetime.fromisoformat(str(value))).strftime("%d/%m/%Y %H:%M") if value else ""


def _type_and_subject(row: dict[str, Any]) -> str:
    type_name = (row.get("type_name") or "").strip()
    subject = (row.get("subject") or "").strip()
    return f"{type_name}: {subject}" if type_name and subject else type_name or subject


def unit_name(code: str | None, names: dict[str, str]) -> str:
    """A unit as a register or a report prints it: its declared name (routing's `unit_names`), else its code."""
    return names.get((code or "").upper()) or code or ""


def _incoming_receiver(handling: dict[str, Any] | None, staff: dict[str, dict[str, Any]],
                       names: dict[str, str]) -> tuple[str, str, str]:
    """(unit or person it was passed to, the date it was passed on, electronic receipt) from routing's facts."""
    if not handling:
        return "", "", ""
    mains = [a for a in handling.get("main") or []]
    first = mains[0] if mains else None
    if first:
        unit = unit_name(first.get("unit") or staff.get(first.get("user_id") or "", {}).get("unit"), names)
        who = person_name(first.get("user_id"), staff) if first.get("user_id") else unit
        receiver = f"{who} ({unit})" if unit and unit != who else who
        moved = first.get("at")
        acted = next((e.get("at") for e in handling.get("events") or []
                      if first.get("user_id") and e.get("user_id") == first.get("user_id")
                      and e.get("action") != "registered" and (e.get("at") or "") >= (moved or "")), None)
        receipt = f"Đã nhận trên Hệ thống {vn_moment(acted)}" if acted else "Chưa xem trên Hệ thống"
        return receiver, vn_day(moved), receipt
    submitted = next((e for e in handling.get("events") or [] if e.get("action") == "submitted"), None)
    if submitted:
        return person_name(submitted.get("to"), staff), vn_day(submitted.get("at")), "Chờ bút phê"
    return "", "", ""


def incoming_register_rows(rows: list[dict[str, Any]], facts: dict[str, Any] | None) -> list[list[str]]:
    """One line of the incoming register per document, its ten columns in order."""
    staff = (facts or {}).get("staff") or {}
    names = (facts or {}).get("unit_names") or {}
    by_id = {h["incoming_id"]: h for h in (facts or {}).get("handlings") or []}
    out = []
    for r in rows:
        receiver, moved, receipt = _incoming_receiver(by_id.get(r["id"]), staff, names)
        notes = [CHANNEL_VI.get(r.get("source_channel") or "", r.get("source_channel") or "")]
        if r.get("late_entry"):
            notes.append("Nhập muộn")  # entered after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2)
        if r.get("state") == "revoked":
            notes.append("Bên gửi đã thu hồi")
        if r.get("description"):
            notes.append(r["description"])
        out.append([vn_day(r.get("arrival_date")), str(r.get("number") or ""), r.get("organ_name") or "",
                    r.get("number_and_notation") or "", vn_day(r.get("issued_date")), _type_and_subject(r),
                    receiver, moved, receipt, "; ".join(n for n in notes if n)])
    return out


FILED_COPY_CLERK = "Văn thư (bản lưu điện tử)"


def filed_copy_holders(row: dict[str, Any]) -> str:
    """Column 6, "Đơn vị, người nhận bản lưu": the unit that drafted it (by name, its code when no name is known;
    as the document's own "Lưu: VT, <đơn vị soạn thảo>" line) and the clerk's office that keeps the original."""
    name = (row.get("drafting_unit_name") or "").strip()
    code = (row.get("drafting_unit") or "").strip().upper()
    unit = f"{name} ({code})" if name and code else name or code
    return f"{unit}; {FILED_COPY_CLERK}" if unit else FILED_COPY_CLERK


def outgoing_register_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One line of the outgoing register per document, its ten columns in order."""
    out = []
    for r in rows:
        signer = " ".join(x for x in (r.get("signer_position"), r.get("signer_full_name")) if x)
        recipients = r.get("recipients") or []
        places = list(r.get("to_places") or [])
        # Column 5: every recipient, those not reached over the interconnect marked by their channel (issue 18)
        places += [_by_channel(rc) for rc in recipients if (rc.get("organ_name") or rc.get("organ_id")) not in places]
        receipts = [f"{rc.get('organ_name') or rc.get('organ_id')}: "
                    f"{STATUS_SHORT_VI.get(rc.get('status_code') or '', 'Chưa báo nhận')}"
                    for rc in recipients if rc.get("channel", "interconnect") == "interconnect"]
        notes = ["Ký số" if r.get("signed") else ""]
        if r.get("state") == "recalled":
            notes.append("Đã thu hồi")
        if r.get("no_paper_copy"):
            notes.append("Không gửi bản giấy")
        if r.get("description"):
            notes.append(r["description"])
        out.append([r.get("number_and_notation") or "", vn_day(r.get("issued_date")), _type_and_subject(r), signer,
                    "; ".join(p for p in places if p), filed_copy_holders(r),
                    str(r.get("issued_amount") or ""), vn_day(r.get("registered_at")), "; ".join(receipts),
                    "; ".join(n for n in notes if n)])
    return out


def _by_channel(recipient: dict[str, Any]) -> str:
    return recipient_label(recipient.get("organ_name") or recipient.get("organ_id") or "", recipient.get("channel"))


# --- report tables (the same sections in the PDF, the XLSX and the screen) ---------------------------------------

def period_text(date_from: str, date_to: str) -> str:
    return f"Từ ngày {vn_day(date_from)} đến ngày {vn_day(date_to)}"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%".replace(".", ",")


def report_sections(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]], list[float]]]:
    """(section name, headers, rows, column widths) of a report made by the reporting service."""
    inc, out = report["incoming"], report["outgoing"]
    t = inc["totals"]
    names = inc.get("unit_names") or {}
    count_headers = ["Tổng số văn bản đến", "Đã xử lý", "Đang xử lý", "Quá hạn", "Xử lý trễ hạn"]

    def counts(c: dict[str, int]) -> list[int]:
        return [c["received"], c["handled"], c["in_progress"], c["overdue"], c["done_late"]]

    sections = [
        ("Văn bản đến", [*count_headers, "Từ chối tiếp nhận"],
         [[*counts(t), report.get("rejected", 0)]], [18, 12, 12, 12, 14, 16]),
        ("Theo đơn vị", ["Đơn vị", *count_headers],
         [[u["unit_label"], *counts(u)] for u in inc["by_unit"]], [30, 16, 12, 12, 12, 14]),
        ("Theo cán bộ", ["Cán bộ", "Đơn vị", *count_headers],
         [[p["name"], unit_name(p["unit"], names), *counts(p)] for p in inc["by_person"]],
         [30, 16, 16, 12, 12, 12, 14]),
        ("Văn bản đến quá hạn", ["Trích yếu", "Người xử lý chính", "Đơn vị", "Hạn xử lý", "Số ngày làm việc trễ",
                                 "Trạng thái"],
         [[o["subject"], o["handler_name"], unit_name(o["unit"], names), vn_moment(o["deadline"]),
           o["working_days_late"], o["status_label"]] for o in inc["overdue"]], [50, 26, 14, 18, 14, 16]),
        ("Cán bộ chưa chuyển đúng hạn", ["Cán bộ", "Đơn vị", "Số văn bản", "Văn bản (giờ làm việc đã giữ)"],
         [[p["name"], unit_name(p["unit"], names), p["count"], "; ".join(f"{i['subject']} ({i['working_hours']} giờ)"
                                                         for i in p["items"])] for p in inc["late_forwarders"]],
         [28, 14, 12, 70]),
        ("Văn bản đi", ["Tổng số văn bản đi", "Ký số", "Tỷ lệ ký số", "Đã thu hồi", "Lượt nơi nhận liên thông",
                        "Đã báo trạng thái", "Tỷ lệ báo trạng thái"],
         [[out["total"], out["signed"], _pct(out["signed_share"]), out["recalled"], out["recipients"],
           out["recipients_reported"], _pct(out["status_coverage"])]], [16, 10, 12, 12, 16, 16, 16]),
        ("Văn bản đi theo loại", ["Loại văn bản", "Số lượng", "Ký số"],
         [[e["type_name"] or e["type_code"], e["count"], e["signed"]] for e in out["by_type"]], [40, 14, 14]),
    ]
    return sections
