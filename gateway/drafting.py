"""Drafting screens (dự thảo): my drafts and drafts waiting for me, a new draft (PDF, or DOCX/ODT that the signing
service converts to PDF), versions, comments, submission along the review chain, approve / return at each step and
the leader's "Duyệt và ký". Routing decides who may see and act; these pages only ask and show."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from gateway.app import Gateway, Viewer, csrf_checked, gw, render, viewer
from gateway.backends import ServiceUnavailable
from gateway.entry import DECISIONS as ENTRY_DECISIONS
from gateway.entry import draft_entry_leaders, entered_note
from gateway.paper_scan import forward_paper_scan, scan_state
from gateway.steps import TextStep, install_text_steps
from gateway.web import People
from services.common.errors import CongVanError, Forbidden, NotFound, ValidationFailed
from services.registry.catalog import DOCUMENT_TYPES, URGENCY_LABELS
from services.routing.chains import ChainStep
from services.storage.blobs import blob_store
from services.storage.ingest import ingest

log = logging.getLogger(__name__)
CHUNK = 256 * 1024
OFFICE_EXTENSIONS = (".docx", ".odt")

STATUS_LABELS = {"drafting": "Đang soạn", "in_review": "Đang trình duyệt", "returned": "Bị trả lại",
                 "paper_approved": "Đã duyệt, ký trên giấy — chờ chuyển phát hành",
                 "signed": "Đã ký, chờ ban hành", "issued": "Đã ban hành"}
COMMENT_LABELS = {"comment": "Góp ý", "submit": "Trình duyệt", "approve": "Đồng ý, chuyển bước sau",
                  "return": "Trả lại", "sign": "Duyệt và ký", "handover": "Bàn giao", "deputy": "Chọn phó phụ trách",
                  "paper_sign": "Duyệt, ký trên giấy",
                  "paper_forward": "Chuyển phát hành (bản scan văn bản giấy đã ký)"}
NOTICES = {"da-tao": "Đã tạo dự thảo.", "da-them-phien-ban": "Đã tải lên phiên bản mới.",
           "da-moi-gop-y": "Đã mời góp ý.", "da-gop-y": "Đã gửi ý kiến.", "da-trinh": "Đã trình duyệt dự thảo.",
           "da-duyet": "Đã duyệt, dự thảo chuyển sang bước sau.", "da-tra-lai": "Đã trả lại dự thảo cho người soạn.",
           "da-ky": "Đã duyệt và ký số dự thảo; văn bản chuyển văn thư chờ ban hành.",
           "da-chon-pho-phu-trach": "Đã lưu phó phụ trách của dự thảo.",
           "da-duyet-tren-giay": "Đã ghi nhận: lãnh đạo duyệt, ký trên giấy; người soạn cần “Chuyển phát hành” kèm "
                                 "bản scan.",
           "da-chuyen-phat-hanh": "Đã chuyển phát hành bản scan; văn bản chuyển văn thư chờ ban hành.",
           "dang-doi-chieu": "Đã nhận bản scan. Bản scan được đối chiếu từng trang với phiên bản lãnh đạo đã duyệt; "
                             "khớp thì văn bản tự chuyển văn thư.",
           "da-nhap-thay": "Đã nhập thay ý kiến của lãnh đạo; lãnh đạo được báo.",
           "da-nhap-thay-ky-giay": "Đã nhập thay việc lãnh đạo duyệt, ký trên giấy kèm bản scan; lãnh đạo được báo, "
                                   "người soạn cần “Chuyển phát hành”."}


# -- files ---------------------------------------------------------------------------------------------------------

def store_draft_file(g: Gateway, v: Viewer, upload: UploadFile, owner_ref: str) -> tuple[str, str]:
    """Checks and stores the upload; returns (sha256 of the PDF prepared for signing, display name).

    The gateway only stores what was uploaded. signing.prepare_draft turns it into the PDF the leader signs: a
    DOCX/ODT is converted there (type read from the content, one conversion at a time, the whole LibreOffice process
    group killed on timeout — services/signing/convert.py), then the empty number/date fields and the signature
    fields are added so the clerk can fill them later without breaking the signature. The web process never runs
    LibreOffice: a slow or hostile document must not tie up the pages.
    """
    name = upload.filename or "du-thao.pdf"
    if not name.strip() or upload.size == 0:
        raise ValidationFailed("Chưa chọn tệp dự thảo.", field="file")
    store = blob_store(g.settings, v.user.agency_id)
    max_size = g.settings.max_upload_mb * 1024 * 1024
    office = name.lower().endswith(OFFICE_EXTENSIONS)
    result = ingest(store, upload.file, name, purpose="attachment" if office else "to_sign", max_size=max_size)
    g.backends.call(v.actor, "storage", "record_file", result.sha256, result.display_name, result.content_type,
                    result.size, "draft", owner_ref)
    prepared = _prepare(g, v, result.sha256)
    pdf_name = result.display_name
    if prepared.get("pdf_sha256"):  # signing converted a DOCX/ODT: the PDF it made is a file of the draft too
        pdf_name = f"{Path(result.display_name).stem}.pdf"
        pdf_sha = str(prepared["pdf_sha256"])
        g.backends.call(v.actor, "storage", "record_file", pdf_sha, pdf_name, "application/pdf",
                        store.stat(pdf_sha).size, "draft", owner_ref)
    return str(prepared["sha256"]), pdf_name


def store_appendices(g: Gateway, v: Viewer, uploads: list[UploadFile], owner_ref: str) -> list[str]:
    """Appendices (phụ lục) in separate PDF files (NĐ 30 Phụ lục I, mục II.10; Tuyên Quang Đ12.3d): stored as they
    are — at issue each one gets the agency's seal signature at the top right of its first page."""
    store = blob_store(g.settings, v.user.agency_id)
    shas = []
    for upload in chosen_files(uploads):
        result = ingest(store, upload.file, upload.filename or "phu-luc.pdf", purpose="to_sign",
                        max_size=g.settings.max_upload_mb * 1024 * 1024)
        g.backends.call(v.actor, "storage", "record_file", result.sha256, result.display_name, result.content_type,
                        result.size, "appendix", owner_ref)
        if result.sha256 not in shas:
            shas.append(result.sha256)
    return shas


def chosen_files(uploads: list[UploadFile] | None) -> list[UploadFile]:
    """The files actually chosen: a browser sends an empty part for a file input left empty."""
    return [u for u in uploads or [] if (u.filename or "").strip() and u.size != 0]


def _prepare(g: Gateway, v: Viewer, sha256: str) -> dict[str, Any]:
    """signing.prepare_draft; a conversion may outlast the gateway's RPC timeout on a busy server. The operation is
    remembered by signing, so asking again returns the finished result once the first call is done."""
    try:
        return g.backends.call(v.actor, "signing", "prepare_draft", sha256)
    except ServiceUnavailable:
        pass
    done: dict[str, Any] = {}
    refused: list[CongVanError] = []

    def finished() -> bool:
        try:
            done.update(g.backends.call(v.actor, "signing", "prepare_draft", sha256))
        except ServiceUnavailable:
            return False  # still converting: ask again
        except CongVanError as exc:  # e.g. a broken DOCX: say why at once instead of waiting for the bound
            refused.append(exc)
        return True

    if not settle(finished, every=5.0):
        raise StillWorking("Việc chuyển tệp dự thảo sang PDF đang lâu hơn bình thường. Hãy thử tải lên lại sau ít "
                           "phút, hoặc tải lên tệp PDF.", sha256=sha256)
    if refused:
        raise refused[0]
    return done


def stream_blob(g: Gateway, v: Viewer, sha256: str, name: str) -> Response:
    store = blob_store(g.settings, v.user.agency_id)
    size = store.stat(sha256).size

    def chunks():
        with store.open(sha256) as f:
            while block := f.read(CHUNK):
                yield block

    headers = {"Content-Disposition": f"inline; filename*=UTF-8''{urllib.parse.quote(name)}",
               "Cache-Control": "private, no-store", "Content-Length": str(size)}
    return StreamingResponse(chunks(), media_type="application/pdf", headers=headers)


# -- slow operations -----------------------------------------------------------------------------------------------

SETTLE_SECONDS = 90.0


def settle(check: Callable[[], bool], seconds: float = SETTLE_SECONDS, every: float = 2.0) -> bool:
    """After an RPC gave up waiting (the gateway's timeout), the service may still finish the work: signing and
    sealing are slow on a busy server. Look again for a while before telling the user it failed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except CongVanError:
            pass  # still busy: keep looking until the deadline
        time.sleep(every)
    return False


class StillWorking(CongVanError):
    code = "still_working"
    http_status = 503


# -- views ---------------------------------------------------------------------------------------------------------

def _step(view: dict[str, Any]) -> ChainStep | None:
    s = view.get("step")
    if not s:
        return None
    return ChainStep(key=s["key"], label=s["label"], roles=frozenset(s.get("roles") or ()), unit=s.get("unit"),
                     same_unit=bool(s.get("same_unit")), signs=bool(s.get("signs")), user=s.get("user"))


def waits_for(view: dict[str, Any], v: Viewer) -> bool:
    """Whether the draft waits at a step the viewer's own role fits (routing checks again on every action)."""
    step = _step(view)
    return view.get("status") == "in_review" and step is not None and step.admits(v.actor, view.get("unit"))


def step_people(g: Gateway, v: Viewer, view: dict[str, Any]) -> list[str] | None:
    """Who may act at the step where the draft waits (routing's staff directory), so a chain step that fits
    nobody (e.g. a unit that does not exist here) shows as such instead of leaving the draft silently stuck."""
    step = _step(view)
    if step is None or view.get("status") != "in_review":
        return None
    try:
        staff = g.backends.call(v.actor, "routing", "list_staff")
    except CongVanError:
        return None
    return [s.get("full_name") or s.get("username") or s["user_id"] for s in staff
            if step.admits_person(set(s.get("roles") or []), s.get("unit"), view.get("unit"), s.get("user_id"))]


def _people(g: Gateway, v: Viewer) -> dict[str, Any]:
    return {u.id: u for u in g.accounts.list_users(v.user.agency_id)}


def _decorate(view: dict[str, Any], people: dict[str, Any]) -> dict[str, Any]:
    def name(user_id: str | None) -> str:
        person = people.get(user_id or "")
        return person.full_name if person else (user_id or "")

    view["status_label"] = STATUS_LABELS.get(view.get("status"), view.get("status"))
    view["type_name"] = DOCUMENT_TYPES.get(view.get("type_code"), view.get("type_code"))
    view["priority_label"] = URGENCY_LABELS.get(view.get("priority") or 0, "")
    view["drafted_by_name"] = name(view.get("drafted_by"))
    view["signed_by_name"] = name(view.get("signed_by"))
    view["deputy_name"] = name(view.get("deputy_user_id"))
    if view.get("paper"):
        view["paper"] = {**view["paper"], "approved_by_name": name(view["paper"].get("approved_by")),
                         "on_behalf_name": name(view["paper"].get("on_behalf_of")),
                         "forwarded_by_name": name(view["paper"].get("forwarded_by")),
                         "entered": entered_note(name(view["paper"]["entered_by"]), view["paper"].get("entered_at"))
                         if view["paper"].get("entered_by") else ""}
    for c in view.get("comments") or []:
        c["user_name"] = name(c.get("user_id"))
        c["kind_label"] = COMMENT_LABELS.get(c.get("kind"), c.get("kind"))
        c["on_behalf_name"] = name(c.get("on_behalf_of")) if c.get("on_behalf_of") else ""
        c["entered"] = entered_note(name(c["entered_by"]), c.get("at")) if c.get("entered_by") else ""
    for ver in view.get("versions") or []:
        ver["uploaded_by_name"] = name(ver.get("uploaded_by"))
    view["participant_names"] = [name(p) for p in view.get("participants") or []]
    return view


def _draft_page(request: Request, g: Gateway, v: Viewer, draft_id: int, error: str | None = None,
                status_code: int = 200, approval_comment: str = "") -> Response:
    """The draft's page; after a refused approval (a wrong PIN, a locked token) with the error and the comment the
    reviewer typed, so that only the PIN is typed again."""
    people = _people(g, v)
    view = _decorate(g.backends.call(v.actor, "routing", "get_draft", draft_id), people)
    verdict = None
    if view.get("signed_sha256") and not view.get("paper"):  # a scan signed by hand carries no signature yet
        try:
            verdict = g.backends.call(v.actor, "signing", "verify", view["signed_sha256"])
        except CongVanError as exc:
            verdict = {"summary_vi": exc.message_vi, "legally_valid": False}
    colleagues = sorted((u for u in people.values() if u.id not in (view.get("participants") or [])
                         and not u.disabled and "admin" not in (u.roles or [])), key=lambda u: u.full_name)
    answered = [{"id": a, "label": _incoming_label(g, v, a)} for a in view.get("answers") or []]
    scan = scan_state(view.get("paper"))
    tb = request.query_params.get("tb", "")
    if tb == "dang-doi-chieu" and (scan or {}).get("state") != "checking":  # the page reloaded: the outcome says it
        tb = ""
    return render(request, "drafting_draft.html", v, status_code=status_code, draft=view, verdict=verdict,
                  answered=answered,
                  is_author=view.get("drafted_by") == v.user.id, waits_for_me=waits_for(view, v),
                  reviewers=step_people(g, v, view),
                  colleagues=colleagues, error=error, scan=scan,
                  leaders=sorted((u for u in people.values() if "leader" in (u.roles or []) and not u.disabled),
                                 key=lambda u: u.full_name), notice=NOTICES.get(tb),
                  entry_for=draft_entry_leaders(g, v, view, people), ENTRY_DECISIONS=ENTRY_DECISIONS,
                  approval_comment=approval_comment, unit_name=People(g, v.user.agency_id).unit_name)


def _incoming_label(g: Gateway, v: Viewer, incoming_id: str) -> str:
    """"12/UBND-VP — Về việc ..." for an incoming document the draft answers (its id if the registry is silent)."""
    try:
        doc = g.backends.call(v.actor, "registry", "get_document", incoming_id)
    except CongVanError:
        return incoming_id
    number = f"{doc.get('code_number') or ''}/{doc.get('code_notation') or ''}"
    return f"{number} — {doc.get('subject') or ''}"


def _new_page(request: Request, g: Gateway, v: Viewer, form: dict[str, Any], error: str | None = None,
              status_code: int = 200) -> Response:
    answers = []
    for incoming_id in form.get("answers") or []:
        answers.append({"id": incoming_id, "label": _incoming_label(g, v, incoming_id)})
    return render(request, "drafting_new.html", v, status_code=status_code, form=form, error=error, answers=answers,
                  types=sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
                  priorities=[(int(k), label) for k, label in URGENCY_LABELS.items()],
                  max_mb=g.settings.max_upload_mb)


def _back(draft_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/du-thao/{draft_id}?tb={notice}", status_code=303)


# -- the actions, shared by the forms below and the REST API (gateway/api_drafting.py) ------------------------------

def add_version(g: Gateway, v: Viewer, draft_id: int, note: str, file: UploadFile,
                appendices: list[UploadFile] | None) -> dict[str, Any]:
    """A new version of the draft (the author, while drafting or returned), with its appendices; without new
    appendices the current ones stay with the draft."""
    # Refused (not found, not the author, not editable) before anything is stored.
    g.backends.call(v.actor, "routing", "check_draft_version", draft_id)
    sha, _name = store_draft_file(g, v, file, f"draft:{draft_id}")
    extra = store_appendices(g, v, appendices or [], f"draft:{draft_id}")
    if not chosen_files(appendices):
        extra = list(g.backends.call(v.actor, "routing", "get_draft", draft_id).get("appendix_sha256s") or [])
    return g.backends.call(v.actor, "routing", "add_draft_version", draft_id, sha, extra, note)


def invite_commenters(g: Gateway, v: Viewer, draft_id: int, user_ids: list[str]) -> dict[str, Any]:
    people = _people(g, v)
    chosen = [u for u in user_ids if u in people]  # only colleagues of the viewer's own agency
    if not chosen:
        raise ValidationFailed("Chưa chọn người được mời góp ý.", field="user_ids")
    return g.backends.call(v.actor, "routing", "invite_commenters", draft_id, chosen)


def approve_on_paper(g: Gateway, v: Viewer, draft_id: int, comment: str,
                     happened_at: str | None = None) -> dict[str, Any]:
    """"Duyệt, ký trên giấy" (agency rule `paper_signing`, Hưng Yên Đ6.3a): routing refuses it where the agency
    does not allow it, and to anyone who may not sign at this step. `happened_at`: signed on paper during an
    outage, entered afterwards (TP.HCM Đ3.4, Hưng Yên Đ4.2)."""
    return g.backends.call(v.actor, "routing", "approve_on_paper", draft_id, comment,
                           **({"happened_at": happened_at} if happened_at else {}))


def draft_file_name(view: dict[str, Any], draft_id: int, sha256: str) -> tuple[str, str]:
    """(the download name, what the file is in Vietnamese) of a version, an appendix, a scan or the signed PDF of a
    draft, by its SHA-256; NotFound when the file is not the draft's (the caller got `view` from routing, which
    decides who may see the draft)."""
    if sha256 == view.get("signed_sha256"):
        return f"du-thao-{draft_id}-da-ky.pdf", "Văn bản đã ký"
    paper = view.get("paper") or {}
    if sha256 in (paper.get("entered_scan_sha256"), (paper.get("scan_upload") or {}).get("sha256")):
        return f"du-thao-{draft_id}-ban-scan-da-ky.pdf", "Bản scan văn bản giấy đã ký"
    for scans in (paper.get("appendix_scan_sha256s"), (paper.get("scan_upload") or {}).get("appendix_sha256s")):
        if sha256 in (scans or []):
            index = scans.index(sha256) + 1
            return f"du-thao-{draft_id}-ban-scan-phu-luc-{index:02d}.pdf", f"Bản scan phụ lục {index:02d}"
    for ver in view.get("versions") or []:
        if sha256 in (ver.get("appendix_sha256s") or []):
            index = ver["appendix_sha256s"].index(sha256) + 1
            return f"du-thao-{draft_id}-phu-luc-{index:02d}.pdf", f"Phụ lục {index:02d}"
    for ver in reversed(view.get("versions") or []):  # the same file uploaded twice: named after the later
        if sha256 == ver["pdf_sha256"]:
            return f"du-thao-{draft_id}-phien-ban-{ver['number']}.pdf", f"Phiên bản {ver['number']}"
    raise NotFound("Không tìm thấy tệp trong dự thảo này.", draft_id=draft_id, sha256=sha256)


def draft_file_response(g: Gateway, v: Viewer, draft_id: int, sha256: str) -> Response:
    """A file of a draft, streamed; routing decides who may see the draft."""
    view = g.backends.call(v.actor, "routing", "get_draft", draft_id)
    return stream_blob(g, v, sha256, draft_file_name(view, draft_id, sha256)[0])


def _approve(g: Gateway, v: Viewer, draft_id: int, comment: str, pin: str, otp: str,
             late_entry_at: str) -> Response:
    before = g.backends.call(v.actor, "routing", "get_draft", draft_id)
    # late_entry_at: approved on paper during an outage; routing refuses it at the signing step (a digital
    # signature's time is the key's own)
    late = {"happened_at": late_entry_at.strip()} if late_entry_at.strip() else {}
    try:  # the PIN of the signer's token goes to signing once (docs/signing.md "PINs"); never kept here
        view = g.backends.call(v.actor, "routing", "approve_draft", draft_id, comment, pin=pin or None,
                               otp=otp or None, **late)
    except ServiceUnavailable:
        def moved() -> bool:
            now = g.backends.call(v.actor, "routing", "get_draft", draft_id)
            return (now["status"], now.get("step")) != (before["status"], before.get("step"))

        if not settle(moved):
            raise StillWorking("Việc duyệt (và ký số) đang được xử lý lâu hơn bình thường. Hãy mở lại dự thảo "
                               "sau ít phút để xem kết quả trước khi thử lại.", draft_id=draft_id) from None
        view = g.backends.call(v.actor, "routing", "get_draft", draft_id)
    return _back(draft_id, "da-ky" if view.get("status") == "signed" else "da-duyet")


# Review steps that carry one text to routing (approval, versions and invitations are written out below).
TEXT_STEPS = [
    TextStep("gop-y", "text", "comment_draft", "da-gop-y"),
    # submitted or returned on paper during an outage: entered afterwards with the real time (TP.HCM Đ3.4)
    TextStep("trinh", "note", "submit_draft", "da-trinh", late_entry=True),
    TextStep("tra-lai", "comment", "return_draft", "da-tra-lai", late_entry=True),
]


def install(app: FastAPI) -> None:
    install_text_steps(app, "/du-thao", int, TEXT_STEPS, _back)
    @app.get("/du-thao", response_class=HTMLResponse, include_in_schema=False)
    def drafts(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        people = _people(g, v)
        rows = [_decorate(d, people) for d in g.backends.call(v.actor, "routing", "list_drafts")]
        waiting = [d for d in rows if waits_for(d, v)]
        mine = [d for d in rows if d.get("drafted_by") == v.user.id and d not in waiting]
        others = [d for d in rows if d not in waiting and d not in mine]
        return render(request, "drafting_list.html", v, waiting=waiting, mine=mine, others=others)

    @app.get("/du-thao/moi", response_class=HTMLResponse, include_in_schema=False)
    def new_form(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        v.actor.require("specialist", "department_head", "leader")
        answers = [a for a in request.query_params.getlist("tra-loi") if a]
        return _new_page(request, g, v, {"type_code": "CV", "priority": 0, "answers": answers})

    @app.post("/du-thao/moi", include_in_schema=False)
    def create(request: Request, title: str = Form(""), type_code: str = Form("CV"), priority: int = Form(0),
               note: str = Form(""), answers: list[str] = Form([]), file: UploadFile = File(...),
               appendices: list[UploadFile] = File([]), v: Viewer = Depends(csrf_checked),
               g: Gateway = Depends(gw)):
        v.actor.require("specialist", "department_head", "leader")
        form = {"title": title, "type_code": type_code, "priority": priority, "note": note,
                "answers": [a for a in answers if a]}
        try:
            if not title.strip():
                raise ValidationFailed("Trích yếu dự thảo không được để trống.", field="title")
            if type_code not in DOCUMENT_TYPES:
                raise ValidationFailed("Loại văn bản không hợp lệ.", field="type_code", value=type_code)
            sha, _name = store_draft_file(g, v, file, f"draft:new:{v.user.id}")
            extra = store_appendices(g, v, appendices, f"draft:new:{v.user.id}")
            view = g.backends.call(v.actor, "routing", "create_draft", title.strip(), sha, type_code,
                                   extra, form["answers"], int(priority), note)
        except CongVanError as exc:
            return _new_page(request, g, v, form, exc.message_vi, exc.http_status)
        return _back(view["draft_id"], "da-tao")

    @app.get("/du-thao/{draft_id}", response_class=HTMLResponse, include_in_schema=False)
    def draft_page(request: Request, draft_id: int, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return _draft_page(request, g, v, draft_id)

    @app.get("/du-thao/{draft_id}/tep/{sha256}", include_in_schema=False)
    def draft_file(draft_id: int, sha256: str, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return draft_file_response(g, v, draft_id, sha256)

    @app.post("/du-thao/{draft_id}/pho-phu-trach", include_in_schema=False)
    def deputy(draft_id: int, user_id: str = Form(""), v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        g.backends.call(v.actor, "routing", "name_deputy", draft_id, user_id or None)
        return _back(draft_id, "da-chon-pho-phu-trach")

    @app.post("/du-thao/{draft_id}/phien-ban", include_in_schema=False)
    def new_version(request: Request, draft_id: int, note: str = Form(""), file: UploadFile = File(...),
                    appendices: list[UploadFile] = File([]), v: Viewer = Depends(csrf_checked),
                    g: Gateway = Depends(gw)):
        try:
            add_version(g, v, draft_id, note, file, appendices)
        except ValidationFailed as exc:  # the upload was refused: say why on the draft's page
            return _draft_page(request, g, v, draft_id, exc.message_vi, exc.http_status)
        return _back(draft_id, "da-them-phien-ban")

    @app.post("/du-thao/{draft_id}/moi-gop-y", include_in_schema=False)
    def invite(draft_id: int, user_ids: list[str] = Form([]), v: Viewer = Depends(csrf_checked),
               g: Gateway = Depends(gw)):
        invite_commenters(g, v, draft_id, user_ids)
        return _back(draft_id, "da-moi-gop-y")

    @app.post("/du-thao/{draft_id}/duyet", include_in_schema=False)
    def approve(request: Request, draft_id: int, comment: str = Form(""), pin: str = Form("", max_length=64),
                otp: str = Form("", max_length=12), late_entry_at: str = Form("", max_length=40),
                v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        try:
            return _approve(g, v, draft_id, comment, pin, otp, late_entry_at)
        except (ValidationFailed, Forbidden) as exc:  # a wrong PIN, a locked token, not this reviewer's step
            return _draft_page(request, g, v, draft_id, exc.message_vi, exc.http_status, comment)

    @app.post("/du-thao/{draft_id}/duyet-tren-giay", include_in_schema=False)
    def approve_paper(draft_id: int, comment: str = Form(""), late_entry_at: str = Form("", max_length=40),
                      v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)):
        approve_on_paper(g, v, draft_id, comment, late_entry_at.strip() or None)
        return _back(draft_id, "da-duyet-tren-giay")

    @app.post("/du-thao/{draft_id}/chuyen-phat-hanh", include_in_schema=False)
    def forward_scan(request: Request, draft_id: int, note: str = Form("", max_length=500),
                     file: UploadFile | None = File(None), confirm_mismatch: bool = Form(False),
                     appendix_scans: list[UploadFile] = File([]), v: Viewer = Depends(csrf_checked),
                     g: Gateway = Depends(gw)):
        try:
            view = forward_paper_scan(g, v, draft_id, note, file, confirm_mismatch, appendix_scans)
        except ValidationFailed as exc:  # not a PDF, too large, too many pages: say why on the draft's page
            return _draft_page(request, g, v, draft_id, exc.message_vi, exc.http_status)
        if view.get("status") == "paper_approved":  # the check runs in routing's worker: the page shows it
            return _back(draft_id, "dang-doi-chieu")
        return _back(draft_id, "da-chuyen-phat-hanh")

