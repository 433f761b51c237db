"""Work screens: tasks (công việc), internal notices (thông báo nội bộ) with read receipts, delegation (ủy quyền),
the progress / overdue view of units, and in-app reminders. The routing service owns and re-checks every rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway import people as agency_people
from gateway.accounts import unit_code
from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.auth import refuse_retired
from gateway.dates import typed_day
from gateway.handling import link_href
from gateway.web import Panel, People, fetch
from services.common import clock
from services.common.errors import ValidationFailed

RESULTS = {
    "da-tao": "Đã tạo công việc.", "da-gui-y-kien": "Đã gửi ý kiến.", "da-cap-nhat": "Đã cập nhật tiến độ.",
    "da-ket-thuc": "Đã kết thúc công việc.", "da-dang": "Đã đăng thông báo.", "da-uy-quyen": "Đã ủy quyền.",
    "da-thu-hoi": "Đã kết thúc ủy quyền.", "da-nhap-thay": "Đã nhập thay ý kiến của lãnh đạo; lãnh đạo được báo.",
}
SCOPE_LABELS = {"assign": "Phân công, bút phê, điều chỉnh hạn, giao lại, thu hồi",
                "supervise": "Theo dõi tiến độ các đơn vị, đôn đốc", "approve": "Duyệt, ký văn bản",
                # not acting: typing in what the leader decided on paper (TP.HCM QĐ 23/QĐ-VP Điều 3.2, 3.3)
                "record": "Nhập thay ý kiến đã bút phê (bút phê, phân công, điều hành văn bản đã giao; ý kiến trên "
                          "công việc; duyệt, trả lại, duyệt ký trên giấy dự thảo)"}
COMMENT_LABELS = {"comment": "Ý kiến", "progress": "Cập nhật tiến độ", "close": "Kết thúc", "handover": "Bàn giao"}
NOTICE_ROLES = ("leader", "clerk", "admin", "department_head")
NOTICES_PER_PAGE = 20


def _result(request: Request) -> str:
    return RESULTS.get(request.query_params.get("ket-qua", ""), "")


def _people(g: Gateway, v: Viewer) -> People:
    return People(g, v.user.agency_id)


def _int(value: str, field: str, label: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label} phải là số.", field=field, value=value) from None


# -- the task actions, shared by the forms below and the REST API (gateway/api_work.py) ----------------------------

def new_task(g: Gateway, v: Viewer, title: str, assignee: str | None, description: str, coordinators: list[str],
             due: str | None, priority: int, link_kind: str = "", link_id: str = "") -> dict[str, Any]:
    """A task given to a person (or kept by its creator), linked to the record it comes from, if any."""
    links = [{"kind": link_kind, "id": link_id.strip()}] if link_kind and link_id.strip() else None
    return g.backends.call(v.actor, "routing", "create_task", title, assignee or None, description,
                           [c for c in coordinators if c], due, priority, links)


def comment_task(g: Gateway, v: Viewer, task_id: int, text: str, operation: str | None = None) -> dict[str, Any]:
    """An opinion on the task; `operation` names the business operation (the form's id drawn with the page, the
    API's Idempotency-Key): sent twice, it is recorded once."""
    if not text.strip():
        raise ValidationFailed("Ý kiến không được để trống.", field="text")
    return g.backends.call(v.actor, "routing", "comment_task", task_id, text, operation or None)


# -- notices and delegation, shared by the forms below and the REST API (gateway/api_notices.py) ------------------

def notice_units(g: Gateway, v: Viewer) -> list[dict[str, str]]:
    """The units a notice can go to: the agency's working units in the order of its tree, and the codes people carry
    that nobody declared; a retired unit (ngừng hoạt động) is not offered. Codes as people carry them (upper case):
    routing reaches a unit's people by that code."""
    working = [u for u in agency_people.units(g, v.user.agency_id) if u["active"]]
    return [{"code": u["code"].upper(), "label": " – ".join(filter(None, (u["code"].upper(), u["name"])))}
            for u in working]


def publish_notice(g: Gateway, v: Viewer, title: str, body: str, units: list[str]) -> dict[str, Any]:
    """A notice to the whole agency, or only to the units named (a department head: their own unit). A retired unit
    sent anyway is refused: it keeps its name in history but is given nothing new."""
    for unit in [u for u in units if u]:
        refuse_retired(agency_people.declared_unit(g, v.user.agency_id, unit_code(unit)), "units")
    return g.backends.call(v.actor, "routing", "publish_notice", title, body, [u for u in units if u] or None)


def open_notice(g: Gateway, v: Viewer, notice_id: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The notice, with its readers for its publisher and leaders (None for others)."""
    # Opening the notice is the read receipt (idempotent in routing: one receipt per person).
    notice = g.backends.call(v.actor, "routing", "read_notice", notice_id)
    readers = None
    if notice["published_by"] == v.user.id or v.has("leader"):
        readers = g.backends.call(v.actor, "routing", "notice_readers", notice_id)
    return notice, readers


def delegate(g: Gateway, v: Viewer, delegate_user_id: str, starts_at: str, ends_at: str, scopes: list[str],
             note: str) -> dict[str, Any]:
    """A leader's delegation for a period and the scopes named (routing checks role, period and the agency's
    signing-delegation rule)."""
    if not [s for s in scopes if s]:
        raise ValidationFailed("Chọn ít nhất một phạm vi ủy quyền.", field="scopes")
    return g.backends.call(v.actor, "routing", "delegate", delegate_user_id, starts_at, ends_at,
                           [s for s in scopes if s], note)


def install(app: FastAPI) -> None:
    _install_tasks(app)
    _install_notices(app)
    _install_delegation(app)
    _install_progress(app)


# -- tasks ------------------------------------------------------------------------------------------------------

def _install_tasks(app: FastAPI) -> None:
    @app.get("/cong-viec", response_class=HTMLResponse, include_in_schema=False)
    def tasks(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        closed = request.query_params.get("da-ket-thuc") == "1"
        found: Panel = fetch(g, v, "Công việc", "list_tasks", "tasks", None, empty="Không có công việc nào.",
                             include_closed=closed)
        people = _people(g, v)
        return render(request, "work_tasks.html", v, panel=found, people=people, staff=people.active(),
                      closed=closed, result=_result(request))

    @app.post("/cong-viec", include_in_schema=False)
    def create_task(title: str = Form(...), assignee: str = Form(""), description: str = Form(""),
                    coordinators: list[str] = Form([]), due: str = Form(""), priority: str = Form("0"),
                    link_kind: str = Form(""), link_id: str = Form(""),
                    v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        task = new_task(g, v, title, assignee, description, coordinators, typed_day(due),
                        _int(priority, "priority", "Độ khẩn"), link_kind, link_id)
        return RedirectResponse(f"/cong-viec/{task['task_id']}?ket-qua=da-tao", status_code=303)

    @app.get("/cong-viec/{task_id}", response_class=HTMLResponse, include_in_schema=False)
    def task_page(request: Request, task_id: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        from gateway.entry import entered_note, task_entry_leaders
        from gateway.oversight import operation_id

        task = g.backends.call(v.actor, "routing", "get_task", task_id)
        people = _people(g, v)
        for c in task.get("comments") or []:
            c["entered"] = entered_note(people.name(c["entered_by"]), c.get("at")) if c.get("entered_by") else ""
        return render(request, "work_task.html", v, t=task, people=people, result=_result(request),
                      COMMENT_LABELS=COMMENT_LABELS, link_href=link_href,
                      entry_leaders=task_entry_leaders(g, v, task), operation=operation_id(),
                      comment_operation=operation_id(),
                      # the entrant of a leader taking part sees the task to type in the leader's opinions only
                      takes_part=v.user.id in {m["user_id"] for m in task.get("members") or []}
                      or v.has("leader") or v.has("department_head"),
                      MEMBER_LABELS={"creator": "Người giao", "assignee": "Người thực hiện",
                                     "coordinator": "Phối hợp"})

    @app.post("/cong-viec/{task_id}/y-kien", include_in_schema=False)
    def comment(task_id: int, text: str = Form(...), operation: str = Form("", max_length=40),
                v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        # a double click or a slow network's second post of the same page records the opinion once
        comment_task(g, v, task_id, text, f"form:{operation.strip()}" if operation.strip() else None)
        return RedirectResponse(f"/cong-viec/{task_id}?ket-qua=da-gui-y-kien", status_code=303)

    @app.post("/cong-viec/{task_id}/tien-do", include_in_schema=False)
    def progress(task_id: int, progress: str = Form(...), note: str = Form(""), v: Viewer = Depends(csrf_checked),
                 g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "task_progress", task_id, _int(progress, "progress", "Tiến độ"), note)
        return RedirectResponse(f"/cong-viec/{task_id}?ket-qua=da-cap-nhat", status_code=303)

    @app.post("/cong-viec/{task_id}/ket-thuc", include_in_schema=False)
    def close(task_id: int, note: str = Form(""), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "close_task", task_id, note)
        return RedirectResponse(f"/cong-viec/{task_id}?ket-qua=da-ket-thuc", status_code=303)


# -- notices ----------------------------------------------------------------------------------------------------

def _install_notices(app: FastAPI) -> None:
    @app.get("/thong-bao", response_class=HTMLResponse, include_in_schema=False)
    def notices(request: Request, trang: int = 1, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        page = max(1, trang)
        found = fetch(g, v, "Thông báo nội bộ", "list_notices", "notices", None, empty="Chưa có thông báo nào.",
                      page=page, size=NOTICES_PER_PAGE)
        last = max(1, -(-(found.total or 0) // NOTICES_PER_PAGE))
        if v.has("department_head") and not v.has("leader", "clerk", "admin"):
            units = [{"code": v.user.unit, "label": v.user.unit}] if v.user.unit else []
        else:
            units = notice_units(g, v)
        return render(request, "work_notices.html", v, panel=found, people=_people(g, v), units=units,
                      can_publish=v.has(*NOTICE_ROLES), result=_result(request), page=page, last=last,
                      previous=f"/thong-bao?trang={min(page, last + 1) - 1}" if page > 1 else None,
                      next=f"/thong-bao?trang={page + 1}" if page < last else None)

    @app.post("/thong-bao", include_in_schema=False)
    def publish(title: str = Form(...), body: str = Form(""), units: list[str] = Form([]),
                v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        notice = publish_notice(g, v, title, body, units)
        return RedirectResponse(f"/thong-bao/{notice['notice_id']}?ket-qua=da-dang", status_code=303)

    @app.get("/thong-bao/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
    def notice_page(request: Request, notice_id: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        notice, readers = open_notice(g, v, notice_id)
        return render(request, "work_notice.html", v, n=notice, readers=readers, people=_people(g, v),
                      result=_result(request))


# -- delegation -------------------------------------------------------------------------------------------------

def _install_delegation(app: FastAPI) -> None:
    @app.get("/uy-quyen", response_class=HTMLResponse, include_in_schema=False)
    def delegations(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        rows = g.backends.call(v.actor, "routing", "list_delegations")
        people = _people(g, v)
        start = clock.now_vn().replace(second=0, microsecond=0)
        scopes = dict(SCOPE_LABELS)
        if not g.backends.call(v.actor, "routing", "get_config").get("signing_delegation", True):
            scopes.pop("approve")  # the agency switched signing delegation off
        supervising = any(d["active"] and d["delegate_user_id"] == v.user.id and "supervise" in d["scopes"]
                          for d in rows)
        return render(request, "work_delegations.html", v, rows=rows, people=people, scopes=scopes,
                      supervising=supervising,
                      staff=people.active(exclude=v.user.id), SCOPE_LABELS=SCOPE_LABELS, result=_result(request),
                      default_start=start.strftime("%Y-%m-%dT%H:%M"),
                      default_end=(start + timedelta(days=7)).replace(hour=17, minute=0).strftime("%Y-%m-%dT%H:%M"))

    @app.post("/uy-quyen", include_in_schema=False)
    def delegate_form(delegate_user_id: str = Form(...), starts_at: str = Form(...), ends_at: str = Form(...),
                      scopes: list[str] = Form([]), note: str = Form(""), v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)):
        delegate(g, v, delegate_user_id, starts_at, ends_at, scopes, note)
        return RedirectResponse("/uy-quyen?ket-qua=da-uy-quyen", status_code=303)

    @app.post("/uy-quyen/{delegation_id}/ket-thuc", include_in_schema=False)
    def revoke(delegation_id: int, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "revoke_delegation", delegation_id)
        return RedirectResponse("/uy-quyen?ket-qua=da-thu-hoi", status_code=303)


# -- progress and reminders -------------------------------------------------------------------------------------

def _install_progress(app: FastAPI) -> None:
    @app.get("/tien-do", response_class=HTMLResponse, include_in_schema=False)
    def progress(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        # leaders, department heads and leaders' delegates with the "supervise" scope: routing decides
        unit = request.query_params.get("don-vi") or None
        rows: list[dict[str, Any]] = g.backends.call(v.actor, "routing", "unit_progress", unit)
        return render(request, "work_progress.html", v, panel=Panel("Tiến độ xử lý văn bản đến", rows,
                                                                     kind="progress"), units=rows, unit=unit,
                      people=_people(g, v))

    @app.get("/nhac-viec", response_class=HTMLResponse, include_in_schema=False)
    def reminders(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        rows = g.backends.call(v.actor, "routing", "list_notifications", False, 100)
        return render(request, "work_reminders.html", v, rows=rows, link_href=link_href)

    @app.post("/nhac-viec/{notification_id}/da-doc", include_in_schema=False)
    def reminder_read(notification_id: int, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "mark_notification_read", notification_id)
        return RedirectResponse("/nhac-viec", status_code=303)
