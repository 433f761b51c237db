"""Pages of the staff web app (server-rendered, Vietnamese): the home page per role and shared page helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.labels import file_kind, register_label
from gateway.reads import Reads, prefetch, read
from services.common.errors import CongVanError
from services.reporting.domain import unit_name

DUE_LABELS = {"overdue": "Quá hạn", "due_soon": "Sắp đến hạn", "on_time": "Trong hạn"}
# A home page panel shows the most pressing rows and counts the rest ("Xem tất cả" opens the whole list): a clerk
# with a backlog of hundreds gets a page that is read at a glance and costs the same as with ten.
HOME_ROWS = 10
# A whole list ("Xem tất cả", the registers) a page at a time: a city's "Sổ văn bản đến" holds thousands of lines,
# and the page says how many there are and where it ends, so that nothing past the first page goes unseen.
LIST_ROWS = 50
CAPPED_KINDS = {"documents", "handlings", "drafts", "tasks", "notices"}  # not "progress": a row per unit
# Progress on the home page: the counts, and each unit's most pressing overdue items, enough for the first rows of
# "Văn bản quá hạn" (a child unit's items are its parent's too, in the same order: cut alike, merged alike).
HOME_PROGRESS: dict[str, Any] = {"open_items": False, "overdue_limit": HOME_ROWS}


@dataclass
class Panel:
    title: str
    rows: list[dict[str, Any]] | None = field(default_factory=list)
    error: str | None = None
    link: str | None = None
    kind: str = "documents"  # which row template: documents | handlings | drafts | tasks | progress | notices
    empty: str = "Không có văn bản nào."
    total: int | None = None  # every item of a paged list (`{items, total, ...}`), of which `rows` is one page
    note: str | None = None   # a line under the title (the hub operator's queues: dead letters, late inboxes)
    page: int = 1
    size: int | None = None   # a whole list's page size (list_panel); None: the rows are the whole list
    arrival: bool = False     # the incoming register: each line's "Số đến" and "Ngày đến" (NĐ 30 Phụ lục IV)

    @property
    def count(self) -> int:
        return len(self.rows or []) if self.total is None else self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.size)) if self.size else 1

    @property
    def first_row(self) -> int:
        return (self.page - 1) * (self.size or 0) + 1

    def capped(self, size: int | None = None) -> Panel:
        size = HOME_ROWS if size is None else size
        if self.kind in CAPPED_KINDS and self.rows is not None and len(self.rows) > size:
            self.total, self.rows = self.count, self.rows[:size]
        return self


def panel(g: Gateway, v: Viewer, title: str, service: str, method: str, link: str | None = None,
          **kwargs: Any) -> Panel:
    """One list of the home page; a service that does not answer shows its error instead of hiding the panel."""
    try:
        result = read(g, v, service, method, **kwargs)
    except CongVanError as exc:
        return Panel(title, None, exc.message_vi, link)
    rows = result.get("items", result) if isinstance(result, dict) else result
    total = result.get("total") if isinstance(result, dict) else None
    return Panel(title, list(rows or []), None, link, total=total)


def list_panel(g: Gateway, v: Viewer, title: str, method: str, page: int, **kwargs: Any) -> Panel:
    """One of the registry's whole lists, page `page` (`?trang=`) of LIST_ROWS rows, counted whole."""
    page = max(1, page)
    found = panel(g, v, title, "registry", method, page=page, size=LIST_ROWS, **kwargs)
    found.page, found.size = page, LIST_ROWS
    return found


def fetch(g: Gateway, v: Viewer, title: str, method: str, kind: str, link: str | None = None,
          keep: Any = None, empty: str = "Không có mục nào.", **kwargs: Any) -> Panel:
    """A routing list as a panel, optionally filtered by `keep(row)`."""
    found = panel(g, v, title, "routing", method, link, **kwargs)
    found.kind, found.empty = kind, empty
    if found.rows is not None and keep is not None:
        found.rows = [r for r in found.rows if keep(r)]
    return found


class People:
    """The agency's staff as the gateway knows them (it is the source of truth for accounts): names for ids,
    pickers for assignments. Locked accounts keep their names in history but are not offered in pickers."""

    def __init__(self, g: Gateway, agency_id: str) -> None:
        self._g = g
        self.agency_id = agency_id

    # Read on first use: most home pages name nobody, and an agency may have hundreds of accounts.
    @cached_property
    def users(self) -> list[Any]:
        return self._g.accounts.list_users(self.agency_id)

    @cached_property
    def by_id(self) -> dict[str, Any]:
        return {u.id: u for u in self.users}

    @cached_property
    def declared_units(self) -> list[Any]:
        return self._g.accounts.list_units(self.agency_id)

    @cached_property
    def unit_names(self) -> dict[str, str]:
        """Declared units' names by upper-case code (people carry codes in either case)."""
        return {u.code.upper(): u.name for u in self.declared_units if u.name}

    def unit_name(self, code: str | None) -> str:
        """A unit as a screen shows it: the name the agency declared, the code only when nobody declared it (as
        the registers and reports print it)."""
        return unit_name(code, self.unit_names)

    def unit_label(self, code: str | None) -> str:
        """A unit where people are listed too (pickers, assignments): its name, or "Đơn vị <code>" undeclared."""
        return self.unit_names.get((code or "").upper()) or f"Đơn vị {code or ''}"

    def name(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        if user_id.startswith("system:"):
            return "Hệ thống"
        user = self.by_id.get(user_id)
        return user.full_name if user else user_id

    def label(self, user_id: str | None) -> str:
        user = self.by_id.get(user_id or "")
        if user is None:
            return self.name(user_id)
        return f"{user.full_name} ({user.position or user.unit or ''})" if (user.position or user.unit) \
            else user.full_name

    def active(self, *roles: str, unit: str | None = None, exclude: str | None = None,
               units: set[str] | None = None) -> list[Any]:
        """Staff who can receive work: not locked, not only an administrator; of `unit`, or of one of `units`
        (a unit and those under it)."""
        out = [u for u in self.users if not u.disabled and u.id != exclude and set(u.roles or []) - {"admin"}]
        if roles:
            out = [u for u in out if set(roles) & set(u.roles or [])]
        if unit:
            out = [u for u in out if u.unit == unit]
        if units is not None:
            out = [u for u in out if (u.unit or "").upper() in units]
        return out

    def units(self) -> list[str]:
        """Units with at least one department head, not retired: only those can receive a document as a unit."""
        retired = {u.code.upper() for u in self.declared_units if not u.active}
        return sorted({u.unit for u in self.users if u.unit and not u.disabled
                       and "department_head" in (u.roles or []) and u.unit.upper() not in retired})

    def unit_choices(self) -> list[dict[str, Any]]:
        """The units that can receive a document (those with a head) in the order of the agency's tree, a
        sub-unit labelled with the unit it sits in: "Tổ Lưu trữ (thuộc Chi cục Văn thư)" ("Đơn vị CCVT (thuộc
        TCCB)" for codes nobody declared)."""
        from services.routing.domain import UnitTree

        tree = UnitTree.of((u.code, u.parent_code) for u in self.declared_units)
        order = {code: i for i, (code, _depth) in enumerate(tree.ordered())}
        out = []
        for code in sorted(self.units(), key=lambda c: (order.get(c.upper(), len(order)), c)):
            parent = tree.parent(code)
            out.append({"code": code, "depth": tree.depth(code),
                        "label": self.unit_label(code) + (f" (thuộc {self.unit_name(parent)})" if parent else "")})
        return out


def is_signing_step(draft: dict[str, Any]) -> bool:
    step = draft.get("step") or {}
    return draft.get("status") == "in_review" and bool(step.get("signs"))


def _overdue_count(progress: list[dict[str, Any]]) -> int:
    """Every overdue document once: the top rows' counts (a unit's row counts its sub-units' items already)."""
    units = {p["unit"] for p in progress}
    return sum(int(p.get("overdue") or 0) for p in progress if p.get("parent") not in units)


def _unit_overdue(progress: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each overdue item once, though a unit's row repeats the items of the units under it: in the place of its
    first row (units come parent first), named after the deepest unit that lists it."""
    found: dict[Any, dict[str, Any]] = {}
    for p in progress:
        for item in p.get("overdue_items") or []:
            found[item["incoming_id"]] = item | {"unit": p["unit"]}
    return list(found.values())


Job = Callable[[], list[Panel]]


def home_panels(g: Gateway, v: Viewer) -> list[Panel]:
    """The role's lists: asked of each service in one call (home_reads), then laid out in the order of the jobs,
    each cut to its first HOME_ROWS rows and counted whole."""
    prefetch(g, v, home_reads(v))
    return [p.capped() for job in home_jobs(g, v) for p in job()]


def home_reads(v: Viewer) -> Reads:
    """What home_jobs reads, by service: the same methods with the same arguments. A read missing here still
    works (it is then its own call); tests/gateway/test_home_reads.py checks that none is."""
    routing: list[tuple[str, dict[str, Any]]] = []
    registry: list[tuple[str, dict[str, Any]]] = []
    if v.has("leader"):
        routing += [("list_incoming", {"box": "to_direct", "limit": HOME_ROWS}), ("list_drafts", {}),
                    ("unit_progress", HOME_PROGRESS)]
    elif v.has("department_head", "specialist", "clerk"):
        routing.append(("list_incoming", {"box": "to_direct", "limit": HOME_ROWS}))
    if v.has("department_head"):
        routing += [("list_incoming", {"box": "mine"}), ("unit_progress", HOME_PROGRESS)]
    if v.has("specialist"):
        routing += [("list_incoming", {"box": "mine", "limit": HOME_ROWS}), ("list_drafts", {})]
    if v.has("leader", "department_head", "specialist"):
        routing.append(("list_tasks", {}))
    if v.has("clerk"):
        registry += [("list_change_requests", {}), ("list_waiting_reception", {}), ("list_waiting_issue", {})]
        # get_config: the reception clock
        routing += [("list_incoming", {"box": "to_submit", "limit": HOME_ROWS}), ("get_config", {})]
    if not v.has("admin") or len(v.user.roles or []) > 1:
        routing.append(("list_notices", {"unread_only": True}))
    from gateway.year_registers import home_reads as december_reads

    registry += december_reads(v)
    return {"routing": routing, "registry": registry}


def home_jobs(g: Gateway, v: Viewer) -> list[Job]:
    jobs: list[Job] = []
    if v.has("leader"):
        jobs += leader_jobs(g, v)
    elif v.has("department_head", "specialist"):
        jobs.append(lambda: delegated_panels(g, v))
    elif v.has("clerk"):
        jobs.append(lambda: delegated_panels(g, v, "Chờ nhập thay bút phê"))
    if v.has("department_head"):
        jobs += head_jobs(g, v)
    if v.has("specialist"):
        jobs.append(lambda: [fetch(g, v, "Văn bản cần xử lý", "list_incoming", "handlings", "/xu-ly", box="mine",
                                   limit=HOME_ROWS)])
        jobs.append(lambda: [fetch(g, v, "Dự thảo", "list_drafts", "drafts", "/du-thao",
                                   empty="Không có dự thảo nào.")])
    if v.has("leader", "department_head", "specialist"):
        jobs.append(lambda: [fetch(g, v, "Công việc", "list_tasks", "tasks", "/cong-viec",
                                   empty="Không có công việc nào.")])
    if v.has("clerk"):
        from gateway.recall import home_panels

        jobs.append(lambda: home_panels(g, v))
        from gateway.reception import waiting_panel

        jobs.append(lambda: [waiting_panel(g, v, "/van-ban-den/cho-tiep-nhan")])   # with the reception clock
        jobs.append(lambda: [fetch(g, v, "Văn bản đến chờ trình", "list_incoming", "handlings",
                                   "/xu-ly?hop=cho-trinh", box="to_submit", limit=HOME_ROWS)])
        jobs.append(lambda: [panel(g, v, "Văn bản đi chờ ban hành", "registry", "list_waiting_issue",
                                   "/van-ban-di/cho-ban-hanh")])
    from gateway import year_registers

    jobs += year_registers.home_jobs(g, v)   # the administrator's December panel: next year's registers
    if v.has("province_operator", "hub_operator"):
        from gateway.operator_home import operator_jobs

        jobs += operator_jobs(g, v)
    if not v.has("admin") or len(v.user.roles or []) > 1:
        jobs.append(lambda: [fetch(g, v, "Thông báo nội bộ chưa đọc", "list_notices", "notices", "/thong-bao",
                                   empty="Không có thông báo mới.", unread_only=True)])
    return jobs


def delegated_panels(g: Gateway, v: Viewer,
                     title: str = "Chờ cho ý kiến, chỉ đạo (được ủy quyền)") -> list[Panel]:
    """A delegate (ủy quyền) directs documents submitted to the leader, an entrant (nhập thay, usually the clerk)
    types in what the leader wrote on them on paper: shown only when there are some, so routing's box is asked
    without first reading the grants (it holds only the items of the leaders whose grant is in force)."""
    found = fetch(g, v, title, "list_incoming", "handlings",
                  "/xu-ly?hop=cho-y-kien", box="to_direct", limit=HOME_ROWS)
    return [found] if found.rows else []


def _overdue_and_progress(g: Gateway, v: Viewer, overdue_title: str, progress_title: str | None) -> list[Panel]:
    progress = fetch(g, v, progress_title or "", "unit_progress", "progress", "/tien-do",
                     empty="Chưa có văn bản nào được giao.", **HOME_PROGRESS)
    rows = progress.rows
    overdue = Panel(overdue_title, None if rows is None else _unit_overdue(rows), progress.error, "/tien-do",
                    "handlings", "Không có văn bản quá hạn.", total=None if rows is None else _overdue_count(rows))
    return [overdue, progress] if progress_title else [overdue]


def leader_jobs(g: Gateway, v: Viewer) -> list[Job]:
    return [
        lambda: [fetch(g, v, "Chờ cho ý kiến, chỉ đạo", "list_incoming", "handlings", "/xu-ly?hop=cho-y-kien",
                       box="to_direct", limit=HOME_ROWS)],
        lambda: [fetch(g, v, "Dự thảo chờ duyệt ký", "list_drafts", "drafts", "/du-thao", keep=is_signing_step,
                       empty="Không có dự thảo chờ duyệt ký.")],
        lambda: _overdue_and_progress(g, v, "Văn bản quá hạn", "Theo dõi tiến độ các đơn vị"),
    ]


def head_jobs(g: Gateway, v: Viewer) -> list[Job]:
    unit = v.user.unit

    from gateway.people import unit_tree

    tree = unit_tree(g, v.user.agency_id)

    def to_assign(h: dict[str, Any]) -> bool:
        # Given to my unit and not yet handed down: to a person, or to a unit under mine (its heads hand it on).
        active = [a for a in h.get("assignments") or [] if a.get("active")]
        below = [a for a in active if a.get("kind") == "main" and (
            a.get("user_id") or (a.get("unit") != unit and tree.within(a.get("unit"), unit)))]
        return any(a.get("unit") == unit for a in active) and not below

    def mine(h: dict[str, Any]) -> bool:
        return any(a.get("active") and a.get("user_id") == v.user.id for a in h.get("assignments") or [])

    def unit_lists() -> list[Panel]:
        found = fetch(g, v, "Văn bản cần phân công trong đơn vị", "list_incoming", "handlings", "/xu-ly",
                      box="mine")
        rows = found.rows
        return [Panel(found.title, None if rows is None else [h for h in rows if to_assign(h)], found.error,
                      "/xu-ly", "handlings", found.empty),
                Panel("Văn bản tôi xử lý", None if rows is None else [h for h in rows if mine(h)], found.error,
                      "/xu-ly", "handlings", found.empty)]

    return [unit_lists, lambda: _overdue_and_progress(g, v, "Văn bản quá hạn của đơn vị", None)]


def admin_links() -> list[tuple[str, str]]:
    """Every page of "Quản trị", in the order of its tabs (admin_nav.html)."""
    return [("/quan-tri/nguoi-dung", "Người dùng"), ("/quan-tri/don-vi", "Đơn vị"),
            ("/quan-tri/so-van-ban", "Sổ văn bản"), ("/quan-tri/nhom-noi-nhan", "Nhóm nơi nhận"),
            ("/quan-tri/danh-muc", "Danh mục"), ("/quan-tri/chung-thu-so", "Chứng thư số"),
            ("/quan-tri/cau-hinh", "Cấu hình")]


def template_globals() -> dict[str, Any]:
    from services.routing.domain import OUTCOME_LABELS_VI, PRIORITY_LABELS, STATUS_LABELS_VI

    return {"DUE_LABELS": DUE_LABELS, "PRIORITY_LABELS": PRIORITY_LABELS,
            "HANDLING_LABELS": {str(k): v for k, v in STATUS_LABELS_VI.items()},
            "OUTCOME_LABELS": {str(k): v for k, v in OUTCOME_LABELS_VI.items()},
            "DRAFT_LABELS": {"drafting": "Đang soạn", "in_review": "Đang trình duyệt", "returned": "Bị trả lại",
                             "signed": "Đã ký, chờ ban hành", "issued": "Đã ban hành"},
            "TASK_LABELS": {"open": "Đang thực hiện", "closed": "Đã kết thúc"}}


def install(app: FastAPI) -> None:
    app.state.gateway.templates.env.globals.update(template_globals())
    app.state.gateway.templates.env.filters.update(register_label=register_label, file_kind=file_kind)
    install_account(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        panels = home_panels(g, v)
        # The app's badge (layout.js): what waits for this person, as the lists below count it.
        from gateway.operator_home import NOT_WAITING

        waiting = sum(p.count for p in panels if p.rows is not None and p.kind not in NOT_WAITING)
        return render(request, "home.html", v, panels=panels, people=People(g, v.user.agency_id), waiting=waiting,
                      admin_links=admin_links() if v.has("admin") else [])


# -- the signed-in person's own account: API tokens ---------------------------------------------------------------

ACCOUNT_NOTICES = {"da-thu-hoi": "Đã thu hồi mã truy cập; hệ thống dùng mã này sẽ không truy cập được nữa."}


def _account_page(request: Request, g: Gateway, v: Viewer, issued: dict[str, str] | None = None,
                  error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "account.html", v, status_code=status_code, tokens=g.accounts.list_api_tokens(v.user.id),
                  issued=issued, error=error, notice=ACCOUNT_NOTICES.get(request.query_params.get("tb") or ""),
                  push_enabled=g.settings.push_enabled)


def install_account(app: FastAPI) -> None:
    @app.get("/tai-khoan", response_class=HTMLResponse, include_in_schema=False)
    def account(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _account_page(request, g, v)

    @app.post("/tai-khoan/ma-truy-cap", include_in_schema=False)
    def issue_token(request: Request, label: str = Form(""), v: Viewer = Depends(csrf_checked),
                    g: Gateway = Depends(gw)):
        label = label.strip()[:100]
        if not label:
            return _account_page(request, g, v, error="Hãy ghi mã truy cập dùng cho việc gì (ví dụ: hệ thống báo cáo).",
                                 status_code=422)
        # Shown once, on this answer only: the gateway keeps nothing but its SHA-256.
        return _account_page(request, g, v, issued={"token": g.accounts.issue_api_token(v.user.id, label),
                                                    "label": label})

    @app.post("/tai-khoan/ma-truy-cap/{token_id}/thu-hoi", include_in_schema=False)
    def revoke_token(token_id: str, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.accounts.revoke_api_token(v.user.id, token_id)  # only the viewer's own: another's is "not found"
        return RedirectResponse("/tai-khoan?tb=da-thu-hoi", status_code=303)
