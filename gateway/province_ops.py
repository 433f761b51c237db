"""What the province operator (Sở TTTT) reads and announces across every hosted agency (issue 16, item 4).

- Maintenance notices (Tuyên Quang QĐ 51/2024 Đ19.6: "Thông báo ... cho các cơ quan, đơn vị, cá nhân sử dụng Hệ
  thống ... trước khi tiến hành bảo trì"): shown on every page, the sign-in page included, from publication until
  the window ends ("Sắp bảo trì" before, "Đang bảo trì" during).
- One queue of every agency's problem reports, each due 03 working days after it was filed (Đà Nẵng QĐ 8849/QĐ-UBND
  Đ10.3: "... hiệu chỉnh hoàn thành trong ngày và tối đa không quá 03 (ba) ngày làm việc"), flagged once overdue.
- Usage per agency (registered, issued, sent, received, signed share, overdue items, active users) and the
  six-monthly operations report (Tuyên Quang Đ19.9: "báo cáo định kỳ 06 tháng/lần ... tình hình hoạt động của Hệ
  thống"; Hưng Yên QĐ 2015 Đ9.1: "tập hợp báo cáo ... tình hình sử dụng phần mềm của các cơ quan, đơn vị").
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from gateway.dates import check_year
from gateway.models import HostedAgency, LoginEvent, MaintenanceNotice, User
from gateway.platform import AGENCY_WORKERS, each_agency, onboarding_actor
from gateway.problem_models import ProblemReport
from services.common import clock
from services.common.clock import to_vn
from services.common.errors import CongVanError, NotFound, ValidationFailed
from services.common.workcalendar import WorkCalendar

log = logging.getLogger(__name__)

PROBLEM_DUE_WORKING_DAYS = 3
MAX_NOTICE = 1000
_CALENDAR = WorkCalendar()


# -- maintenance notices -----------------------------------------------------------------------------------------

def parse_local(text: str, field: str) -> datetime:
    """`2026-12-05T18:00` (a datetime-local input) in Vietnam time, as an aware UTC instant."""
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(f"Thời điểm “{text}” không hợp lệ (dạng YYYY-MM-DDTHH:MM).", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return moment.astimezone(UTC)


def notice_view(row: MaintenanceNotice, now: datetime | None = None) -> dict[str, Any]:
    now = now or clock.now_utc()
    starts, ends = _aware(row.starts_at), _aware(row.ends_at)
    state = "withdrawn" if row.withdrawn else "ended" if ends <= now else "ongoing" if starts <= now else "upcoming"
    return {"id": row.id, "starts_at": starts.isoformat(), "ends_at": ends.isoformat(), "message": row.message,
            "published_by": row.published_by, "published_at": _aware(row.published_at).isoformat(), "state": state,
            "starts_vn": f"{to_vn(starts):%H:%M ngày %d/%m/%Y}", "ends_vn": f"{to_vn(ends):%H:%M ngày %d/%m/%Y}"}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Notices:
    """Maintenance notices. What every page shows is read on every page view (one query of a small table), not
    cached in the process: with several gateway workers, a notice published or withdrawn through one worker must
    show on the next page whichever worker serves it."""

    def __init__(self, db) -> None:
        self.db = db

    def publish(self, starts_at: str, ends_at: str, message: str, by: str) -> dict[str, Any]:
        starts, ends = parse_local(starts_at, "starts_at"), parse_local(ends_at, "ends_at")
        message = " ".join((message or "").split())
        if not message:
            raise ValidationFailed("Thiếu nội dung thông báo bảo trì.", field="message")
        if len(message) > MAX_NOTICE:
            raise ValidationFailed(f"Nội dung thông báo dài quá {MAX_NOTICE} ký tự.", field="message")
        if ends <= starts:
            raise ValidationFailed("Thời điểm kết thúc phải sau thời điểm bắt đầu.", field="ends_at")
        if ends <= clock.now_utc():
            raise ValidationFailed("Khoảng bảo trì đã kết thúc; không cần thông báo.", field="ends_at")
        with self.db.session() as s:
            row = MaintenanceNotice(starts_at=starts, ends_at=ends, message=message, published_by=by,
                                    published_at=clock.now_utc(), withdrawn=False)
            s.add(row)
            s.flush()
            view = notice_view(row)
        return view

    def withdraw(self, notice_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(MaintenanceNotice, notice_id)
            if row is None:
                raise NotFound("Không tìm thấy thông báo bảo trì.", notice_id=notice_id)
            row.withdrawn = True
            view = notice_view(row)
        return view

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(MaintenanceNotice).order_by(MaintenanceNotice.starts_at.desc()).limit(limit))
            return [notice_view(r) for r in rows]

    def current(self) -> list[dict[str, Any]]:
        """Notices not withdrawn whose window has not ended: what every person sees."""
        now = clock.now_utc()
        with self.db.session() as s:
            rows = s.scalars(select(MaintenanceNotice).where(MaintenanceNotice.withdrawn.is_(False),
                                                             MaintenanceNotice.ends_at > now)
                             .order_by(MaintenanceNotice.starts_at))
            return [notice_view(r, now) for r in rows]

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(MaintenanceNotice).where(MaintenanceNotice.starts_at < end,
                                                             MaintenanceNotice.ends_at > start)
                             .order_by(MaintenanceNotice.starts_at))
            return [notice_view(r) for r in rows]


# -- the problem queue -------------------------------------------------------------------------------------------

def problem_due(created_at: datetime) -> datetime:
    """End of the 3rd working day after the report was filed (national holidays and weekends skipped)."""
    return _CALENDAR.add_working_days(_aware(created_at), PROBLEM_DUE_WORKING_DAYS)


def problem_view(report: ProblemReport, agency_name: str, now: datetime) -> dict[str, Any]:
    from gateway.problems import FUNCTIONS, STATES, form_number

    due = problem_due(report.created_at)
    handled = _aware(report.handled_at) if report.handled_at else None
    return {"id": report.id, "agency_id": report.agency_id, "agency_name": agency_name,
            "number": form_number(report), "year": report.year, "reporter_name": report.reporter_name,
            "function": FUNCTIONS.get(report.function, report.function), "description": report.description[:300],
            "state": report.state, "state_label": STATES.get(report.state, report.state),
            "created_at": _aware(report.created_at).isoformat(), "due_at": due.isoformat(),
            "handled_at": handled.isoformat() if handled else None,
            "overdue": report.state == "open" and now > due,
            "handled_late": handled is not None and handled > due}


def problem_queue(db, names: dict[str, str], state: str = "", agency_id: str = "",
                  limit: int = 500) -> list[dict[str, Any]]:
    """Every agency's reports, open ones first and the oldest due first. `state` "overdue": the open ones past their
    due date (Đà Nẵng QĐ 8849 Đ10.3), the operator's first worry."""
    query = select(ProblemReport)
    if state in ("open", "done", "not_done", "overdue"):
        query = query.where(ProblemReport.state == ("open" if state == "overdue" else state))
    if agency_id:
        query = query.where(ProblemReport.agency_id == agency_id)
    with db.session() as s:
        rows = s.scalars(query.order_by(ProblemReport.created_at.desc()).limit(limit)).all()
    now = clock.now_utc()
    views = [problem_view(r, names.get(r.agency_id, r.agency_id), now) for r in rows]
    if state == "overdue":
        views = [v for v in views if v["overdue"]]
    return sorted(views, key=lambda v: (v["state"] != "open", v["due_at"] if v["state"] == "open" else ""))


# -- usage per agency ---------------------------------------------------------------------------------------------

def half_year(year: int, half: int) -> tuple[date, date]:
    check_year(year)
    if half not in (1, 2):
        raise ValidationFailed("Kỳ báo cáo là 6 tháng đầu năm (1) hoặc 6 tháng cuối năm (2).", field="half")
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


def active_users(db, start: date, end: date) -> dict[str, int]:
    """People who signed in at least once in the period, per agency."""
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=7)
    finish = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(hours=17)
    with db.session() as s:
        rows = s.execute(select(User.agency_id, func.count(func.distinct(User.id)))
                         .join(LoginEvent, LoginEvent.username == User.username)
                         .where(LoginEvent.outcome == "ok", LoginEvent.at >= begin, LoginEvent.at < finish)
                         .group_by(User.agency_id)).all()
    return {agency: count for agency, count in rows}


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    out = report.get("outgoing") or {}
    return {"registered": report.get("registered", 0), "issued": out.get("total", 0),
            "sent": out.get("recipients", 0), "received": sum((report.get("arrived_by_state") or {}).values()),
            "signed": out.get("signed", 0), "signed_share": out.get("signed_share", 0.0),
            "overdue": ((report.get("incoming") or {}).get("totals") or {}).get("overdue", 0)}


def usage(backends, db, agencies: list[HostedAgency], start: date, end: date,
          workers: int = AGENCY_WORKERS) -> list[dict[str, Any]]:
    """One row per hosted agency. The figures come from each agency's reporting service (asked in parallel, as
    the agency's own administrator would); an agency whose services do not answer says so in its row."""
    users = active_users(db, start, end)

    def base(row: HostedAgency) -> dict[str, Any]:
        return {"organ_id": row.organ_id, "name": row.name, "disabled": bool(row.disabled),
                "active_users": users.get(row.organ_id, 0), "available": True}

    def one(row: HostedAgency) -> dict[str, Any]:
        report = backends.call(onboarding_actor(row.organ_id), "reporting", "report", start.isoformat(),
                               end.isoformat())
        return {**base(row), **_figures(report)}

    def failed(row: HostedAgency, exc: CongVanError) -> dict[str, Any]:
        log.warning("usage of %s not available: %s", row.organ_id, exc)
        return {**base(row), "available": False, "registered": 0, "issued": 0, "sent": 0, "received": 0,
                "signed": 0, "signed_share": 0.0, "overdue": 0}

    return each_agency(agencies, one, failed, workers)


def percent(share: float) -> str:
    """A share as Vietnamese write it: a decimal comma (100,0%)."""
    return f"{share * 100:.1f}%".replace(".", ",")


USAGE_FIGURES = ("registered", "issued", "sent", "received", "signed", "overdue", "active_users")


def usage_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The province's totals of the usage rows; the signed share is that of every agency's issued documents."""
    totals: dict[str, Any] = {k: sum(r.get(k, 0) for r in rows) for k in USAGE_FIGURES}
    totals["signed_share"] = totals["signed"] / totals["issued"] if totals["issued"] else 0.0
    return totals


def operations_sections(agencies: list[HostedAgency], rows: list[dict[str, Any]], problems: list[dict[str, Any]],
                        notices: list[dict[str, Any]], start: date, end: date) -> list[tuple]:
    """The six-monthly report's tables (services/reporting/pdf.py and xlsx.py print them)."""
    joined = [[a.organ_id, a.name, "Ngừng sử dụng" if a.disabled else "Đang sử dụng",
               f"{to_vn(_aware(a.created_at)):%d/%m/%Y}" if a.created_at else ""] for a in agencies]
    in_period = [p for p in problems if start.isoformat() <= to_vn(datetime.fromisoformat(p["created_at"]))
                 .date().isoformat() <= end.isoformat()]
    by_agency: dict[str, list[int]] = {}
    for p in in_period:
        counts = by_agency.setdefault(p["agency_name"], [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += int(p["state"] != "open")
        counts[2] += int(p["state"] != "open" and not p["handled_late"])
        counts[3] += int(p["overdue"])
    totals = usage_totals(rows)
    return [
        ("Cơ quan sử dụng hệ thống", ["Mã định danh", "Tên cơ quan", "Trạng thái", "Ngày tham gia"], joined,
         [30, 80, 25, 25]),
        ("Tình hình sử dụng theo cơ quan",
         ["Cơ quan", "VB đến vào sổ", "VB đi phát hành", "Gửi liên thông", "Nhận liên thông", "Tỷ lệ ký số",
          "Quá hạn", "Người dùng hoạt động"],
         [[r["name"] + ("" if r["available"] else " (không lấy được số liệu)"), r["registered"], r["issued"],
           r["sent"], r["received"], percent(r["signed_share"]), r["overdue"], r["active_users"]] for r in rows]
         + [["Tổng cộng", *(totals[k] for k in ("registered", "issued", "sent", "received")),
             percent(totals["signed_share"]), totals["overdue"], totals["active_users"]]],
         [60, 18, 18, 18, 18, 16, 14, 18]),
        ("Báo lỗi phần mềm và xử lý (hạn 03 ngày làm việc)",
         ["Cơ quan", "Số biên bản", "Đã xử lý", "Xử lý đúng hạn", "Quá hạn chưa xử lý"],
         [[name, *counts] for name, counts in sorted(by_agency.items())]
         + ([["Tổng cộng", *(sum(c[i] for c in by_agency.values()) for i in range(4))]] if by_agency else []),
         [70, 20, 20, 22, 24]),
        ("Thông báo bảo trì", ["Bắt đầu", "Kết thúc", "Nội dung"],
         [[n["starts_vn"], n["ends_vn"], n["message"]] for n in notices], [35, 35, 90]),
    ]


def joined_by(agencies: list[HostedAgency], end: date) -> list[HostedAgency]:
    """The agencies on the platform by the end of the period (one that joined later was not using it then)."""
    return [a for a in agencies if a.created_at is None or to_vn(_aware(a.created_at)).date() <= end]


def operations_report(fmt: str, sections: list[tuple], start: date, end: date, half: int,
                      today: date | None = None) -> tuple[bytes, str]:
    from services.reporting import pdf, xlsx

    if fmt not in ("pdf", "xlsx"):
        raise ValidationFailed("Định dạng phải là pdf hoặc xlsx.", field="format", value=fmt)
    today = today or clock.today_vn()
    title = "BÁO CÁO TÌNH HÌNH HOẠT ĐỘNG HỆ THỐNG QUẢN LÝ VĂN BẢN VÀ ĐIỀU HÀNH 06 THÁNG"
    period = f"{'6 tháng đầu năm' if half == 1 else '6 tháng cuối năm'} {start.year} (từ ngày {start:%d/%m/%Y} " \
             f"đến ngày {end:%d/%m/%Y})"
    if today < end:   # an early or mid-period report: its figures stop today, not at the period's end
        period += f"; số liệu tính đến ngày {today:%d/%m/%Y}"
    maker = pdf.report_pdf if fmt == "pdf" else xlsx.report_xlsx
    data = maker(title, "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", period, sections)
    return data, f"bao-cao-van-hanh-{start.year}-{half}.{fmt}"
