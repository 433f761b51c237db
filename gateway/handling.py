"""Incoming handling screens (điều hành văn bản đến): lists, the handling page with its timeline and the forms of
each role — the clerk submits, the leader writes the directive (bút phê) and assigns, the department head
re-assigns inside the unit, the main handler forwards / keeps / closes / waits / links / drafts a reply,
coordinators send opinions, readers confirm reading. Every rule is checked again by the routing service."""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.dates import typed_day
from gateway.drafting import settle
from gateway.entry import ENTERED_OVERSIGHT, entered_note, entry_leaders
from gateway.people import unit_tree
from gateway.steps import TextStep, install_text_steps
from gateway.web import Panel, People, fetch
from services.common.errors import CongVanError, Forbidden, NotFound, ValidationFailed
from services.routing.domain import UnitTree

BOXES = {  # URL name -> (routing box, title, who sees the tab)
    "can-xu-ly": ("mine", "Văn bản cần xử lý", ("leader", "department_head", "specialist", "clerk")),
    "cho-trinh": ("to_submit", "Văn bản đến chờ trình", ("clerk",)),
    # also to whoever holds a leader's `record` grant in force (nhập thay): the items submitted to that leader
    "cho-y-kien": ("to_direct", "Chờ cho ý kiến, chỉ đạo", ("leader", "department_head", "specialist")),
    "da-xu-ly": ("done", "Văn bản đã xử lý", ("leader", "department_head", "specialist", "clerk")),
    "tat-ca": ("all", "Tất cả văn bản đến trong luồng xử lý", ("leader", "clerk", "admin")),
}

HISTORY_LABELS = {
    "registered": "Vào sổ văn bản đến", "submitted": "Trình lãnh đạo", "directed": "Bút phê, phân công xử lý",
    "reassigned": "Giao lại trong đơn vị", "forwarded": "Chuyển xử lý", "waiting": "Tạm dừng chờ",
    "resumed": "Tiếp tục xử lý", "opinion": "Ý kiến phối hợp", "reply_drafted": "Soạn văn bản trả lời",
    "done_kept": "Lưu tham khảo, kết thúc", "done_no_action": "Kết thúc, không cần xử lý",
    "done_answered": "Đã trả lời bằng văn bản đi",
    "chased": "Đôn đốc xử lý", "deadline_changed": "Điều chỉnh hạn xử lý", "directive_added": "Chỉ đạo thêm",
    "handlers_changed": "Giao lại người xử lý", "taken_back": "Thu hồi văn bản", "handed_over": "Bàn giao công việc",
}
OPEN = ("assigned", "in_progress", "waiting")
KIND_LABELS = {"main": "Xử lý chính", "coordinator": "Phối hợp", "info": "Để biết"}
LINK_KINDS = {"incoming": "Văn bản đến", "outgoing": "Văn bản đi", "draft": "Dự thảo", "task": "Công việc",
              "dossier": "Hồ sơ"}
RESULTS = {
    "da-trinh": "Đã trình văn bản.", "da-phan-cong": "Đã bút phê và phân công xử lý.",
    "da-giao-lai": "Đã giao lại trong đơn vị.", "da-chuyen": "Đã chuyển xử lý.",
    "da-luu": "Đã lưu tham khảo; văn bản được kết thúc.", "da-ket-thuc": "Đã kết thúc văn bản không cần xử lý.",
    "da-tam-dung": "Đã tạm dừng chờ.", "da-tiep-tuc": "Đã tiếp tục xử lý.", "da-gui-y-kien": "Đã gửi ý kiến.",
    "da-doc": "Đã xác nhận đọc.", "da-lien-ket": "Đã liên kết văn bản.",
    "da-don-doc": "Đã đôn đốc người xử lý.", "da-doi-han": "Đã điều chỉnh hạn xử lý.",
    "da-chi-dao": "Đã gửi ý kiến chỉ đạo thêm.", "da-giao-xu-ly": "Đã giao lại người xử lý.",
    "da-thu-hoi": "Đã thu hồi văn bản.",
    "da-nhap-thay": "Đã nhập thay bút phê, phân công của lãnh đạo; lãnh đạo được báo.",
    "da-nhap-thay-dieu-hanh": "Đã nhập thay ý kiến điều hành của lãnh đạo; lãnh đạo được báo.",
}


def link_href(kind: str, record_id: str) -> str:
    quoted = urllib.parse.quote(str(record_id), safe="")
    return {"incoming": f"/xu-ly/{quoted}", "outgoing": f"/van-ban/{quoted}", "draft": f"/du-thao/{quoted}",
            "task": f"/cong-viec/{quoted}", "dossier": f"/ho-so/{quoted}", "notice": f"/thong-bao/{quoted}",
            "delegation": "/uy-quyen", "data_export": "/tai-khoan/du-lieu", "user": "/nhac-viec",
            "waiting_issue": "/van-ban-di/cho-ban-hanh"}.get(kind, "#")


def parse_target(value: str) -> dict[str, str]:
    """`user:<id>` or `unit:<code>` from a picker into routing's {"user_id"} / {"unit"}."""
    kind, _, ref = (value or "").partition(":")
    if kind not in ("user", "unit") or not ref:
        raise ValidationFailed("Chọn người hoặc đơn vị được giao.", field="main", value=value)
    return {"user_id": ref} if kind == "user" else {"unit": ref}


def holds(v: Viewer, a: dict[str, Any], tree: UnitTree | None = None) -> bool:
    """Mirror of routing's rule, only to decide which forms to show (routing decides again); given the tree, a
    head holds the assignments of the units under theirs too."""
    if not a.get("active"):
        return False
    if a.get("user_id"):
        return a["user_id"] == v.user.id
    if not v.has("department_head") or not v.user.unit:
        return False
    return tree.within(a.get("unit"), v.user.unit) if tree else a.get("unit") == v.user.unit


def abilities(g: Gateway, v: Viewer, h: dict[str, Any], tree: UnitTree | None = None) -> dict[str, bool]:
    status, assignments = h["status"], h.get("assignments") or []
    tree = tree or UnitTree({})
    open_ = status in ("assigned", "in_progress", "waiting")
    directable = status in ("received", "submitted")
    can_direct = directable and (v.has("leader") or h.get("submitted_to") == v.user.id
                                 or (h.get("submitted_to") and _delegated_by(g, v, h["submitted_to"])))
    main = open_ and any(a["kind"] == "main" and holds(v, a) for a in assignments)
    return {
        "submit": directable and v.has("clerk"),
        "direct": bool(can_direct),
        "reassign": open_ and v.has("department_head") and any(
            holds(v, a, tree) and (not a.get("user_id") or a["kind"] == "main") for a in assignments),
        "main": main, "waiting": main and status == "waiting",
        "opinion": open_ and any(a["kind"] == "coordinator" and holds(v, a) for a in assignments),
        "read": any(a["kind"] == "info" and holds(v, a) and not a.get("read_at") for a in assignments),
    }


def _delegated_by(g: Gateway, v: Viewer, leader_id: str) -> bool:
    try:
        grants = g.backends.call(v.actor, "routing", "list_delegations")
    except CongVanError:
        return False
    return any(d["active"] and d["leader_user_id"] == leader_id and "assign" in d["scopes"]
               and d["delegate_user_id"] == v.user.id for d in grants)


def timeline(h: dict[str, Any], people: People) -> list[dict[str, Any]]:
    out = []
    for e in h.get("history") or []:
        data = e.get("data") or {}
        detail = []
        if data.get("to"):
            detail.append(f"cho {people.name(data['to'])}")
        if data.get("to_unit"):
            detail.append(f"cho đơn vị {people.unit_name(data['to_unit'])}")
        if data.get("kind") and data["kind"] in KIND_LABELS:
            detail.append(KIND_LABELS[data["kind"]].lower())
        if data.get("deadline"):
            detail.append(f"hạn {_vn(data['deadline'])}")
        note = e.get("note") or ""
        if h.get("answered_by") and str(h["answered_by"]) in note:
            note = note.replace(str(h["answered_by"]), h.get("answered_label") or "")  # the reply by its number
        entered = entered_note(people.name(data["entered_by"]), e.get("at")) if data.get("entered_by") else ""
        out.append({"at": e.get("at"), "happened_at": data.get("happened_at"), "late_entry": data.get("late_entry"),
                    "entered": entered,
                    "entered_at": e.get("at"), "who": people.name(e.get("user_id")),
                    "on_behalf_of": people.name(e.get("on_behalf_of")) if e.get("on_behalf_of") else "",
                    "label": HISTORY_LABELS.get(e["action"], e["action"]), "detail": ", ".join(detail),
                    "note": note})
    return out


def _vn(value: str) -> str:
    from gateway.app import vn_time

    return vn_time(value)


def _document(g: Gateway, v: Viewer, incoming_id: str) -> dict[str, Any] | None:
    """The registry's record (number, sender, files); the handling page still works if the registry is slow."""
    try:
        return g.backends.call(v.actor, "registry", "get_document", incoming_id)
    except CongVanError:
        return None


def record_label(g: Gateway, v: Viewer, kind: str, record_id: str) -> str:
    """A linked record by what people call it: a document by its number and subject, a draft or a task by its
    title — never its database id (issue 18: "Dự thảo: 1" and raw UUIDs on the handling page)."""
    try:
        if kind in ("incoming", "outgoing"):
            doc = g.backends.call(v.actor, "registry", "get_document", record_id)
            number = doc.get("number_and_notation") or "chưa cấp số"
            return f"{number} — {doc.get('subject') or ''}".strip(" —")
        if kind == "draft":
            return str(g.backends.call(v.actor, "routing", "get_draft", int(record_id)).get("title") or "")
        if kind == "task":
            return str(g.backends.call(v.actor, "routing", "get_task", int(record_id)).get("title") or "")
        if kind == "dossier":
            return str(g.backends.call(v.actor, "registry", "get_dossier", record_id).get("title") or "")
    except (CongVanError, ValueError):
        pass  # not visible to this person, or gone: a neutral word rather than an id
    return "(không xem được)"


def _mark_read(g: Gateway, v: Viewer, h: dict[str, Any]) -> dict[str, Any]:
    """Opening the page is reading it: every assignment the viewer holds and has not read gets "Đã đọc" now."""
    if any(holds(v, a) and not a.get("read_at") for a in h.get("assignments") or []):
        try:
            fresh = g.backends.call(v.actor, "routing", "mark_read", h["incoming_id"])
            return {**h, "assignments": fresh.get("assignments", h.get("assignments"))}
        except CongVanError:
            return h  # the page still shows; the reading is recorded on the next visit
    return h


def handling_page(request: Request, g: Gateway, v: Viewer, incoming_id: str, *, status_code: int = 200,
                  refused: str = "", typed: dict[str, Any] | None = None) -> HTMLResponse:
    """The handling page; `refused` and `typed`: the bút phê form came back refused, shown again as typed."""
    from gateway import oversight

    h = _mark_read(g, v, g.backends.call(v.actor, "routing", "get_incoming", incoming_id))
    people = People(g, v.user.agency_id)
    tree = unit_tree(g, v.user.agency_id)
    can = abilities(g, v, h, tree)
    # nhập thay: the leaders who entrusted the viewer with typing in their paper directives, before the assignment
    # (bút phê) and after it (điều hành: the leader's forms, for the leader; routing checks the grant again)
    entering = entry_leaders(g, v) if h["status"] in ("received", "submitted", *OPEN) else []
    entry_for = entering if h["status"] in ("received", "submitted") else []
    entry_oversee = dict.fromkeys(ENTERED_OVERSIGHT, True) if entering and h["status"] in OPEN else {}
    for link in h.get("links") or []:
        link["label"] = record_label(g, v, link.get("kind", ""), str(link.get("id")))
    if h.get("answered_by"):
        h["answered_label"] = record_label(g, v, "outgoing", str(h["answered_by"]))
    return render(
        request, "handling_page.html", v, status_code=status_code, refused=refused, typed=typed or {},
        h=h, doc=_document(g, v, incoming_id), can=can, people=people,
        events=timeline(h, people), KIND_LABELS=KIND_LABELS, LINK_KINDS=LINK_KINDS, link_href=link_href,
        result=RESULTS.get(request.query_params.get("ket-qua", ""), ""),
        leaders=people.active("leader"), staff=people.active(exclude=v.user.id), units=people.unit_choices(),
        unit_staff=people.active(units=tree.subtree(v.user.unit), exclude=v.user.id) if can["reassign"] else [],
        sub_units=[u for u in people.unit_choices() if u["code"].upper() != (v.user.unit or "").upper()
                   and tree.within(u["code"], v.user.unit)] if can["reassign"] else [],
        oversee=oversight.options(g, v, incoming_id), operation=oversight.operation_id(), entry_for=entry_for,
        entry_oversee=entry_oversee, entry_for_oversight=entering)


def late_entry(value: str) -> dict[str, str]:
    """The "Thời điểm thực tế" of a step entered after an outage (TP.HCM Đ3.4, Hưng Yên Đ4.2), when one was typed."""
    return {"happened_at": value.strip()} if value.strip() else {}


def _done(incoming_id: str, result: str) -> RedirectResponse:
    return RedirectResponse(f"/xu-ly/{urllib.parse.quote(incoming_id, safe='')}?ket-qua={result}", status_code=303)


# -- the actions, shared by the forms below and the REST API (gateway/api_handling.py) ------------------------------

def submit_incoming(g: Gateway, v: Viewer, incoming_id: str, to_user_id: str | None, note: str,
                    happened_at: str | None = None) -> dict[str, Any]:
    """Trình (NĐ 30 Điều 22): the clerk submits the registered document to a leader (routing notifies them);
    `happened_at`: submitted on paper during an outage, entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2)."""
    late = {"happened_at": happened_at} if happened_at else {}
    try:
        view = g.backends.call(v.actor, "routing", "submit_incoming", incoming_id, to_user_id or None, note, **late)
    except NotFound:
        # Just registered: routing opens the handling when the registry's event arrives, a moment later.
        if not settle(lambda: bool(g.backends.call(v.actor, "routing", "get_incoming", incoming_id)), 15, 0.5):
            raise
        view = g.backends.call(v.actor, "routing", "submit_incoming", incoming_id, to_user_id or None, note, **late)
    return view


def direct_incoming(g: Gateway, v: Viewer, incoming_id: str, directive: str, main: dict[str, str],
                    coordinators: list[dict[str, str]], readers: list[dict[str, str]],
                    deadline: str | None, happened_at: str | None = None) -> dict[str, Any]:
    """Bút phê and giao xử lý: main handler (a person or a unit), coordinators, readers, deadline; `happened_at`: a
    directive given during an outage, entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2)."""
    return g.backends.call(v.actor, "routing", "direct_incoming", incoming_id, directive, main, coordinators,
                           readers, deadline, **({"happened_at": happened_at} if happened_at else {}))


def reassign_incoming(g: Gateway, v: Viewer, incoming_id: str, user_id: str | None, kind: str, note: str,
                      happened_at: str | None = None, unit: str | None = None) -> dict[str, Any]:
    """Giao lại: to a person of the head's unit or of a unit under it, or to such a unit (its heads hand it on;
    Bình Định QĐ 376 Đ4.1 Bước 3)."""
    if kind not in KIND_LABELS:
        raise ValidationFailed("Vai trò giao việc không hợp lệ.", field="kind", value=kind)
    extra: dict[str, Any] = {"happened_at": happened_at} if happened_at else {}
    if unit:
        extra["unit"] = unit
    return g.backends.call(v.actor, "routing", "reassign_incoming", incoming_id, user_id or None, kind, note,
                           **extra)


def link_incoming(g: Gateway, v: Viewer, incoming_id: str, kind: str, target_id: str) -> dict[str, Any]:
    if kind not in LINK_KINDS or not target_id.strip():
        raise ValidationFailed("Chọn loại và mã văn bản cần liên kết.", field="target_id", value=target_id)
    return g.backends.call(v.actor, "routing", "link", "incoming", incoming_id, kind, target_id.strip())


# Steps that carry one note to routing (the others take people, roles or dates: written out below).
TEXT_STEPS = [
    TextStep("luu-tham-khao", "note", "keep_for_reference", "da-luu", late_entry=True),
    TextStep("ket-thuc", "reason", "close_no_action", "da-ket-thuc", late_entry=True),
    TextStep("tam-dung", "note", "mark_waiting", "da-tam-dung", late_entry=True),
    TextStep("tiep-tuc", "note", "resume_incoming", "da-tiep-tuc", late_entry=True),
    TextStep("y-kien", "text", "send_opinion", "da-gui-y-kien", late_entry=True),
]


def install(app: FastAPI) -> None:
    install_text_steps(app, "/xu-ly", str, TEXT_STEPS, _done)
    @app.get("/xu-ly", response_class=HTMLResponse, include_in_schema=False)
    def boxes(request: Request, hop: str = "", v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        tabs = [(key, title) for key, (_box, title, roles) in BOXES.items()
                if v.has(*roles) or (key == "cho-y-kien" and entry_leaders(g, v))]
        if not tabs:
            v.actor.require("leader", "department_head", "specialist", "clerk")
        chosen = hop if hop in dict(tabs) else ("cho-y-kien" if v.has("leader") else tabs[0][0])
        box, title, _roles = BOXES[chosen]
        found: Panel = fetch(g, v, title, "list_incoming", "handlings", None, empty="Không có văn bản nào.", box=box)
        return render(request, "handling_list.html", v, panel=found, tabs=tabs, chosen=chosen)

    @app.get("/xu-ly/{incoming_id}", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, incoming_id: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return handling_page(request, g, v, incoming_id)

    @app.post("/xu-ly/{incoming_id}/trinh", include_in_schema=False)
    def submit(incoming_id: str, to_user_id: str = Form(...), note: str = Form(""), late_entry_at: str = Form(""),
               v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        submit_incoming(g, v, incoming_id, to_user_id, note, late_entry_at.strip() or None)
        return _done(incoming_id, "da-trinh")

    @app.post("/xu-ly/{incoming_id}/but-phe", include_in_schema=False)
    def direct(request: Request, incoming_id: str, directive: str = Form(...), main: str = Form(...),
               coordinators: list[str] = Form([]), readers: list[str] = Form([]), deadline: str = Form(""),
               late_entry_at: str = Form(""), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            direct_incoming(g, v, incoming_id, directive, parse_target(main),
                            [parse_target(c) for c in coordinators if c], [parse_target(r) for r in readers if r],
                            typed_day(deadline), late_entry_at.strip() or None)
        except CongVanError as exc:
            # A refused time or handler: the leader corrects it on the same form, nothing typed lost. Who may not
            # direct, or a document not found, has no form to come back to.
            if isinstance(exc, (NotFound, Forbidden)):
                raise
            typed = {"directive": directive, "main": [main], "coordinators": coordinators, "readers": readers,
                     "deadline": deadline, "late_entry_at": late_entry_at}
            return handling_page(request, g, v, incoming_id, status_code=exc.http_status, refused=exc.message_vi,
                                 typed=typed)
        return _done(incoming_id, "da-phan-cong")

    @app.post("/xu-ly/{incoming_id}/giao-lai", include_in_schema=False)
    def reassign(incoming_id: str, user_id: str = Form(...), kind: str = Form("main"), note: str = Form(""),
                 late_entry_at: str = Form(""), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        # one picker: a person's id, or `unit:<code>` for a unit under the head's
        kind_of, _, ref = user_id.partition(":")
        unit = ref if kind_of == "unit" and ref else None
        reassign_incoming(g, v, incoming_id, None if unit else user_id, kind, note, late_entry_at.strip() or None,
                          unit)
        return _done(incoming_id, "da-giao-lai")

    @app.post("/xu-ly/{incoming_id}/chuyen", include_in_schema=False)
    def forward(incoming_id: str, to_user_id: str = Form(...), note: str = Form(""), late_entry_at: str = Form(""),
                v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "forward_incoming", incoming_id, to_user_id, note,
                        **late_entry(late_entry_at))
        return _done(incoming_id, "da-chuyen")

    @app.post("/xu-ly/{incoming_id}/da-doc", include_in_schema=False)
    def read(incoming_id: str, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "mark_read", incoming_id)
        return _done(incoming_id, "da-doc")

    @app.post("/xu-ly/{incoming_id}/lien-ket", include_in_schema=False)
    def link(incoming_id: str, kind: str = Form(...), target_id: str = Form(...),
             v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        link_incoming(g, v, incoming_id, kind, target_id)
        return _done(incoming_id, "da-lien-ket")
