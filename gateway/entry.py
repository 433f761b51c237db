"""Nhập thay on the screens: the person a leader entrusted (Ủy quyền, scope "Nhập thay ý kiến đã bút phê") types in the
leader's bút phê and phân công on an incoming document, and the leader's approval or return of a draft, with the
time the leader really did it (TP.HCM QĐ 23/QĐ-VP Điều 3.2, 3.3; services/routing/entry.py holds the rules). The
forms sit on the handling page and the draft page; the same functions serve the REST API (gateway/api_entry.py)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, File, Form, UploadFile
from fastapi.responses import RedirectResponse

from gateway.app import Gateway, Viewer, csrf_checked, gw
from gateway.dates import typed_day
from services.common.clock import to_vn
from services.common.errors import CongVanError, ValidationFailed
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

DECISIONS = {"approve": "Lãnh đạo đồng ý, chuyển bước sau", "return": "Lãnh đạo trả lại người soạn"}
# the leader's steps after the first assignment that may be typed in for them (services/routing/entry.py); their
# forms are the leader's own (handling_oversight.html), posted under …/nhap-thay/
ENTERED_OVERSIGHT = ("chase", "deadline", "directive", "handlers", "take_back")


def entry_leaders(g: Gateway, v: Viewer) -> list[str]:
    """The leaders whose grant to type in their decisions the viewer holds now (routing checks again)."""
    try:
        grants = g.backends.call(v.actor, "routing", "list_delegations")
    except CongVanError:
        return []
    return sorted({d["leader_user_id"] for d in grants if d.get("active") and "record" in (d.get("scopes") or [])
                   and d.get("delegate_user_id") == v.user.id})


def entered_note(name: str, at: str | None) -> str:
    """"Trần Thị B nhập thay lúc 08:15 05/12/2026": who typed a leader's decision in, and when (Vietnam time)."""
    if not at:
        return f"{name} nhập thay"
    try:
        moment = to_vn(datetime.fromisoformat(at))
    except ValueError:
        return f"{name} nhập thay lúc {at}"
    return f"{name} nhập thay lúc {moment.strftime('%H:%M %d/%m/%Y')}"


def draft_entry_leaders(g: Gateway, v: Viewer, view: dict[str, Any], people: dict[str, Any]) -> list[Any]:
    """The viewer's leaders who act at the step the draft waits at (the draft page's "Nhập thay" form)."""
    from gateway.drafting import _step

    step = _step(view)
    if step is None or view.get("status") != "in_review":
        return []
    found = []
    for leader_id in entry_leaders(g, v):
        person = people.get(leader_id)
        if person is not None and step.admits_person(set(person.roles or []), person.unit, view.get("unit"),
                                                     person.id):
            found.append(person)
    return found


# -- the actions, shared by the forms below and the REST API ------------------------------------------------------

def enter_directive(g: Gateway, v: Viewer, leader_user_id: str, incoming_id: str, directive: str,
                    main: dict[str, str], coordinators: list[dict[str, str]], readers: list[dict[str, str]],
                    deadline: str | None, happened_at: str | None) -> dict[str, Any]:
    if not (leader_user_id or "").strip():
        raise ValidationFailed("Chọn lãnh đạo đã bút phê.", field="leader_user_id")
    return g.backends.call(v.actor, "routing", "enter_directive", leader_user_id, incoming_id, directive, main,
                           coordinators, readers, deadline, happened_at or None)


def enter_draft_decision(g: Gateway, v: Viewer, leader_user_id: str, draft_id: int, decision: str, step: str,
                         comment: str, happened_at: str | None) -> dict[str, Any]:
    if not (leader_user_id or "").strip():
        raise ValidationFailed("Chọn lãnh đạo đã cho ý kiến.", field="leader_user_id")
    return g.backends.call(v.actor, "routing", "enter_draft_decision", leader_user_id, draft_id, decision, step,
                           comment, happened_at or None)


def enter_paper_approval(g: Gateway, v: Viewer, leader_user_id: str, draft_id: int, step: str, comment: str,
                         file: UploadFile | None, happened_at: str | None) -> dict[str, Any]:
    """"Duyệt, ký trên giấy" entered for the leader with the scan (PDF) of the original they signed by hand. Routing
    is asked first whether the entry would be taken (the grant, the agency's rule, the step), so a refused one
    stores nothing; a draft already approved on paper is answered as it is, without storing the file. The scan is
    recorded with storage once routing took the entry."""
    from gateway.drafting import chosen_files

    if not (leader_user_id or "").strip():
        raise ValidationFailed("Chọn lãnh đạo đã duyệt, ký trên giấy.", field="leader_user_id")
    if g.backends.call(v.actor, "routing", "check_paper_entry", leader_user_id, draft_id, step):
        return g.backends.call(v.actor, "routing", "get_draft", draft_id)
    if file is None or not chosen_files([file]):
        raise ValidationFailed("Chưa chọn tệp bản scan văn bản giấy lãnh đạo đã ký (PDF).", field="file")
    result = ingest(blob_store(g.settings, v.user.agency_id), file.file, file.filename or "ban-scan.pdf",
                    purpose="to_sign", max_size=g.settings.max_upload_mb * 1024 * 1024)
    entered = g.backends.call(v.actor, "routing", "enter_paper_approval", leader_user_id, draft_id, step,
                              result.sha256, comment, happened_at or None)
    g.backends.call(v.actor, "storage", "record_file", result.sha256, result.display_name, result.content_type,
                    result.size, "scan", f"draft:{draft_id}")
    return entered


def enter_oversight(g: Gateway, v: Viewer, leader_user_id: str, incoming_id: str, action: str, operation: str,
                    fields: dict[str, Any], happened_at: str | None) -> dict[str, Any]:
    """The leader's đôn đốc, điều chỉnh hạn, chỉ đạo thêm, giao lại or thu hồi written on paper, typed in:
    `operation` names the business operation (the form's id drawn with the page, the API's Idempotency-Key), done
    once."""
    if not (leader_user_id or "").strip():
        raise ValidationFailed("Chọn lãnh đạo đã chỉ đạo.", field="leader_user_id")
    return g.backends.call(v.actor, "routing", "enter_oversight", leader_user_id, incoming_id, action, operation,
                           fields, happened_at or None)


def enter_task_opinion(g: Gateway, v: Viewer, leader_user_id: str, task_id: int, text: str, operation: str,
                       happened_at: str | None) -> dict[str, Any]:
    """The leader's opinion on a task they take part in, written on the paper file, typed in once per operation."""
    if not (leader_user_id or "").strip():
        raise ValidationFailed("Chọn lãnh đạo đã cho ý kiến.", field="leader_user_id")
    return g.backends.call(v.actor, "routing", "enter_task_opinion", leader_user_id, task_id, text, operation,
                           happened_at or None)


def task_entry_leaders(g: Gateway, v: Viewer, task: dict[str, Any]) -> list[str]:
    """The viewer's leaders who take part in the task (the task page's "Nhập thay ý kiến" form)."""
    if not task.get("members"):
        return []
    members = {m["user_id"] for m in task["members"]}
    return [leader for leader in entry_leaders(g, v) if leader in members]


def install(app: FastAPI) -> None:
    from gateway.handling import parse_target

    @app.post("/cong-viec/{task_id}/nhap-thay", include_in_schema=False)
    def task_form(task_id: int, leader_user_id: str = Form(""), text: str = Form("", max_length=4000),
                  operation: str = Form(""), late_entry_at: str = Form("", max_length=40),
                  v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        enter_task_opinion(g, v, leader_user_id, task_id, text, operation, late_entry_at.strip())
        return RedirectResponse(f"/cong-viec/{task_id}?ket-qua=da-nhap-thay", status_code=303)

    def entered(incoming_id: str) -> RedirectResponse:
        return RedirectResponse(f"/xu-ly/{urllib.parse.quote(incoming_id, safe='')}?ket-qua=da-nhap-thay-dieu-hanh",
                                status_code=303)

    @app.post("/xu-ly/{incoming_id}/nhap-thay/han-xu-ly", include_in_schema=False)
    def deadline_form(incoming_id: str, leader_user_id: str = Form(""), deadline: str = Form(""),
                      reason: str = Form("", max_length=2000), operation: str = Form(""),
                      late_entry_at: str = Form("", max_length=40), v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)):
        enter_oversight(g, v, leader_user_id, incoming_id, "deadline", operation,
                        {"deadline": typed_day(deadline) or deadline, "reason": reason}, late_entry_at.strip())
        return entered(incoming_id)

    for path, action, field, limit in (("don-doc", "chase", "note", 2000), ("chi-dao", "directive", "text", 4000),
                                       ("thu-hoi", "take_back", "reason", 2000)):
        _install_text_entry(app, path, action, field, limit, entered)

    @app.post("/xu-ly/{incoming_id}/nhap-thay/giao-xu-ly", include_in_schema=False)
    def handlers_form(incoming_id: str, leader_user_id: str = Form(""), main: str = Form(""),
                      coordinators: list[str] = Form([]), change_coordinators: str = Form(""),
                      note: str = Form("", max_length=2000), operation: str = Form(""),
                      late_entry_at: str = Form("", max_length=40), v: Viewer = Depends(csrf_checked),
                      g: Gateway = Depends(gw)):
        chosen = [parse_target(c) for c in coordinators if c] if change_coordinators else None
        enter_oversight(g, v, leader_user_id, incoming_id, "handlers", operation,
                        {"main": parse_target(main) if main else None, "coordinators": chosen, "note": note},
                        late_entry_at.strip())
        return entered(incoming_id)

    @app.post("/xu-ly/{incoming_id}/nhap-thay", include_in_schema=False)
    def directive_form(incoming_id: str, leader_user_id: str = Form(""), directive: str = Form(...),
                       main: str = Form(...), coordinators: list[str] = Form([]), readers: list[str] = Form([]),
                       deadline: str = Form(""), late_entry_at: str = Form("", max_length=40),
                       v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        enter_directive(g, v, leader_user_id, incoming_id, directive, parse_target(main),
                        [parse_target(c) for c in coordinators if c], [parse_target(r) for r in readers if r],
                        typed_day(deadline), late_entry_at.strip() or None)
        return RedirectResponse(f"/xu-ly/{urllib.parse.quote(incoming_id, safe='')}?ket-qua=da-nhap-thay",
                                status_code=303)

    @app.post("/du-thao/{draft_id}/nhap-thay/ky-tren-giay", include_in_schema=False)
    def paper_form(draft_id: int, leader_user_id: str = Form(""), step: str = Form(..., max_length=40),
                   comment: str = Form("", max_length=4000), file: UploadFile | None = File(None),
                   late_entry_at: str = Form("", max_length=40), v: Viewer = Depends(csrf_checked),
                   g: Gateway = Depends(gw)):
        view = enter_paper_approval(g, v, leader_user_id, draft_id, step, comment, file,
                                    late_entry_at.strip() or None)
        return RedirectResponse(f"/du-thao/{view['draft_id']}?tb=da-nhap-thay-ky-giay", status_code=303)

    @app.post("/du-thao/{draft_id}/nhap-thay", include_in_schema=False)
    def draft_form(draft_id: int, leader_user_id: str = Form(""), decision: str = Form(...),
                   step: str = Form(..., max_length=40), comment: str = Form("", max_length=4000),
                   late_entry_at: str = Form("", max_length=40), v: Viewer = Depends(csrf_checked),
                   g: Gateway = Depends(gw)):
        view = enter_draft_decision(g, v, leader_user_id, draft_id, decision, step, comment,
                                    late_entry_at.strip() or None)
        # the entrant stays a participant (routing adds them), so the draft's page opens for them afterwards
        return RedirectResponse(f"/du-thao/{view['draft_id']}?tb=da-nhap-thay", status_code=303)


def _install_text_entry(app: FastAPI, path: str, action: str, field: str, limit: int,
                        done: Callable[[str], RedirectResponse]) -> None:
    """The form of a leader's directing step that carries one text (`field`, as on the leader's own form)."""
    @app.post(f"/xu-ly/{{incoming_id}}/nhap-thay/{path}", include_in_schema=False)
    def form(incoming_id: str, leader_user_id: str = Form(""), text: str = Form("", alias=field, max_length=limit),
             operation: str = Form(""), late_entry_at: str = Form("", max_length=40),
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        enter_oversight(g, v, leader_user_id, incoming_id, action, operation, {field: text}, late_entry_at.strip())
        return done(incoming_id)
