"""A document's page: the registry's record decorated for people (history in words, file sizes, signature
verdict, the trace by name, the dossiers holding it) and the choices offered on it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from gateway.app import Gateway, Viewer, render, vn_time
from gateway.hub_reports import hub_config
from gateway.labels import attachment_role, file_kind, hub_label, province_names, register_label
from gateway.recall import CHANGE_ACTIONS, change_context, history_note
from gateway.recipient_picker import picker_context
from gateway.registers import _registers
from gateway.replacing import history_links, replace_context
from gateway.signature_labels import APPENDIX_ROLES, awaiting_seal, file_verdict, is_pdf_file, signature_label
from gateway.web import People
from services.common.errors import CongVanError, NotFound
from services.registry.catalog import REJECT_REASONS, STATUS_LABELS, URGENCY_LABELS
from services.registry.domain import RECIPIENT_CHANNELS, format_number
from services.registry.paper import CHANNELS
from services.storage.blobs import blob_store

HISTORY_LABELS = {
    "received": "Nhận gói tin liên thông", "verified": "Kiểm tra chữ ký số", "registered": "Vào sổ văn bản đến",
    "rejected": "Từ chối tiếp nhận", "status": "Nhận trạng thái từ nơi nhận", "issued": "Ban hành",
    "submitted_for_issue": "Chuyển văn thư ban hành", "recalled": "Thu hồi", "change_accepted": "Đồng ý thay đổi",
    "change_refused": "Từ chối thay đổi", "revoked": "Văn bản bị thu hồi", "change_requested": "Yêu cầu thay đổi",
    "change_answered": "Tự động trả lời yêu cầu về văn bản đã thu hồi",
    "replaced": "Được thay thế", "paper_copy_received": "Nhận bản giấy", "answered": "Đã có văn bản trả lời",
    "answer_received": "Nhận văn bản trả lời", "copied": "Sao văn bản, cấp số bản sao", "copy_made": "Được sao",
    "copy_sent": "Gửi bản sao qua trục liên thông", "copy_paper_recipients": "Ghi nơi nhận bản giấy của bản sao",
    "paper_returned": "Nhận lại bản giấy của bản sao", "paper_return_corrected": "Sửa ghi nhận nhận lại bản giấy",
    "paper_return_undone": "Hủy ghi nhận nhận lại bản giấy",
    "change_sent": "Gửi yêu cầu đến nơi nhận", "change_closed": "Nơi nhận đã trả lời hết yêu cầu",
    "content_withdrawn": "Xóa nội dung văn bản bị thu hồi (giữ thông tin và lịch sử)",
    "returned": "Lập phiếu trả văn bản giấy",
}


def _decorate(doc: dict[str, Any]) -> dict[str, Any]:
    doc["priority_label"] = URGENCY_LABELS.get(doc.get("priority") or 0, "")
    for h in doc.get("history") or []:
        h["action_label"] = HISTORY_LABELS.get(h.get("action"), h.get("action"))
        if h.get("action") == "paper_returned" and doc.get("direction") == "outgoing":
            h["action_label"] = "Nhận lại bản giấy của văn bản"
        h["actor_name"] = h.get("username") or ""
        details = h.get("details") or {}
        if h.get("action") in CHANGE_ACTIONS:
            h["note"] = history_note(h)
        history_links(h)
        if h.get("action") == "submitted_for_issue" and details.get("paper_signed"):
            h["note"] = paper_signed_text(details["paper_signed"])
        if h.get("action") == "status" and details.get("status_code") and not h.get("note"):
            # The sender follows its document by these codes (01 → 03 → 04 ...): show them in the timeline.
            code = str(details["status_code"])
            h["note"] = " — ".join(x for x in (f"{code} {STATUS_LABELS.get(code, '')}".strip(),
                                               details.get("organ_id") or "") if x)
    for r in doc.get("recipients") or []:
        r["status_label"] = STATUS_LABELS.get(r.get("status_code") or "", "")
        r["channel_label"] = RECIPIENT_CHANNELS.get(r.get("channel") or "", "")
    return doc


def vn_size(size: int | None) -> str:
    """A file size as people read it, with the Vietnamese decimal comma: 512 B, 146 KB, 1,2 MB."""
    size = int(size or 0)
    if size < 1024:
        return f"{size} B"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < scale * 1024 or unit == "GB":
            value = size / scale
            text = f"{value:.0f}" if value >= 100 or unit == "KB" else f"{value:.1f}".replace(".", ",")
            return f"{text.removesuffix(',0')} {unit}"
    return f"{size} B"  # unreachable: GB takes the rest


def _signed_file(doc: dict[str, Any]) -> str | None:
    """The file whose signatures tell the outgoing document's state: the last sealed copy, else the main file."""
    files = doc.get("attachments") or []
    for role in ("signed", "main"):
        found = [a["sha256"] for a in files if a.get("role") == role]
        if found:
            return found[-1]
    return None


PREVIEW_ROLES = ("signed", "main", "unsigned", "scan")  # the document itself before its appendices


def _preview(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The PDF whose first page the document page shows (the issued copy, else the main file), or None: a recalled
    document's files are gone, and a document without a PDF has nothing to show."""
    if doc.get("content_withdrawn_at"):
        return None
    pdfs = [a for a in doc.get("attachments") or [] if is_pdf_file(a)]
    for role in PREVIEW_ROLES:
        found = [a for a in pdfs if a.get("role") == role]
        if found:
            return found[-1]
    return pdfs[0] if pdfs else None


def name_trace(g: Gateway, trace: list[dict[str, Any]]) -> None:
    """Each hop of a package's trace by its name: a hub by its provisioned name, else its province's (read from the
    directory's record of the province's people's committee, 000.00.00.H60 for hub.H60); an agency by its own. Only
    the agencies named in the trace are read: the whole directory is tens of thousands in a national one."""
    hubs = {code: str(h.get("name")) for code, h in hub_config(g).items() if h.get("name")}
    organs = [str(hop.get("organ_id") or "") for hop in trace]
    committees = {f"000.00.00.{o.removeprefix('hub.')}" for o in organs if o.startswith("hub.") and o != "hub.national"}
    directory = g.directory()
    get = directory.lookup([*committees, *(o for o in organs if o and not o.startswith("hub."))])
    provinces = province_names([r for r in map(get, sorted(committees)) if r is not None])
    for hop, organ in zip(trace, organs, strict=True):
        if organ.startswith("hub."):
            hop["name"] = hub_label(organ, hubs, provinces)
        else:   # the sender's own line (its edge writes one first): the agency by its name
            record = get(organ) if organ else None
            hop["name"] = record.name if record is not None else organ


def _decorate_page(g: Gateway, v: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    """What the document page shows beyond the registry's record: real file sizes, the signature verdict in words
    and people's full names in the history."""
    file_sizes(g, v, doc)
    for a in doc.get("attachments") or []:
        a["kind_label"] = f"{attachment_role(a.get('role'))} · {file_kind(a.get('content_type'), a.get('name'))}"
        a["size_label"] = vn_size(a["size"]) if a.get("size") is not None else ""
    doc["preview"] = _preview(doc)
    report = doc.get("verification")
    if doc.get("direction") in ("outgoing", "copies") and not report and (sha := _signed_file(doc)):
        # The registry verifies incoming packages only; an outgoing document is judged by signing on its file.
        try:
            report = doc["verification"] = g.backends.call(v.actor, "signing", "verify", sha)
        except CongVanError:
            report = None
    # sent on "Gửi văn bản" without a legally valid signature, where the agency allows it (issue 18)
    doc["sent_not_legally_valid"] = any(a.get("role") in ("unsigned", "appendix_unsigned")
                                        for a in doc.get("attachments") or [])
    waiting = doc.get("direction") == "outgoing" and doc.get("state") == "waiting_issue"
    doc["signature_label"] = signature_label(report, doc.get("verification_state"), waiting)
    doc["signature_ok"] = isinstance(report, dict) and (bool(report.get("legally_valid"))
                                                        or (waiting and awaiting_seal(report)))
    doc["signature_text"] = doc["signature_label"]
    if isinstance(report, dict) and report.get("legally_valid") and report.get("summary_vi"):
        # who signed, and that the document has legal value: the word alone hides what people check
        doc["signature_text"] = f"{doc['signature_label']} — {report['summary_vi']}"
    for a in doc.get("attachments") or []:
        if a.get("role") in APPENDIX_ROLES:
            # each appendix carries its own seal signature (NĐ 30 Phụ lục I): checked file by file
            file_verdict(g, v, doc, a)
    if doc.get("trace"):
        name_trace(g, doc["trace"])
    people = g.accounts.full_names(v.user.agency_id, {str(h.get("username")) for h in doc.get("history") or []
                                                      if h.get("username")})
    for h in doc.get("history") or []:
        username = h.get("username") or ""
        if str(h.get("user_id") or "").startswith("system:"):
            h["actor_name"] = "hệ thống"
        else:
            h["actor_name"] = people.get(username) or username
    return doc


def file_sizes(g: Gateway, v: Viewer, doc: dict[str, Any]) -> None:
    """Each file's size; the registry records none for the files made in this agency, the store knows it."""
    store = blob_store(g.settings, v.user.agency_id)
    for a in doc.get("attachments") or []:
        if not a.get("size"):
            try:
                a["size"] = store.stat(a["sha256"]).size
            except Exception:  # a file not (yet) in the store: show no size rather than fail the page
                a["size"] = None


def dossiers_of(g: Gateway, v: Viewer, doc_id: str) -> list[dict[str, Any]] | None:
    """The dossiers that hold the document (Đà Nẵng Đ5.4b item 5); None when the registry cannot say."""
    try:
        return g.backends.call(v.actor, "registry", "dossiers_of_document", doc_id)
    except CongVanError:
        return None


def paper_signed_text(paper: dict[str, Any] | None) -> str | None:
    """"Lãnh đạo ký trên giấy; bản scan do … chuyển phát hành" for a document signed by hand (Hưng Yên Đ6.3a)."""
    if not paper:
        return None
    signed = f"{paper.get('approved_by_name') or ''}, {vn_time(paper.get('approved_at'))}"
    forwarded = f"{paper.get('forwarded_by_name') or ''} chuyển phát hành ({vn_time(paper.get('forwarded_at'))})"
    scans = paper.get("appendix_scans")
    appendices = f"; phụ lục: {scans} bản scan phụ lục giấy đã ký" if scans else ""
    return (f"Lãnh đạo ký trên giấy ({signed}); bản scan do {forwarded}" + scan_check_text(paper.get("scan_check"))
            + appendices)


def scan_check_text(check: dict[str, Any] | None) -> str:
    """How the scan compared with the version the leader approved (services/routing/scan_match.py: the lowest page's
    score); "" for a document forwarded before the check existed."""
    if not check:
        return ""
    if check.get("score") is None:
        text = "; bản scan không đọc được chữ, chưa so được với bản lãnh đạo đã duyệt"
    else:
        text = f"; bản scan {'' if check.get('matches') else 'chỉ '}khớp {check['score']} % với bản đã duyệt"
    return text + ("; người xử lý đã xác nhận đúng là bản lãnh đạo đã ký" if check.get("confirmed") else "")


def _meta(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    signer = doc.get("signer") or {}
    return [
        ("Loại văn bản", doc.get("type_name")), ("Cơ quan ban hành", doc.get("organ_name")),
        ("Ngày văn bản", vn_time(doc.get("issued_date"))), ("Mã văn bản", doc.get("document_id")),
        ("Số đến", doc.get("number") if doc.get("direction") == "incoming" else None),
        ("Nguồn", CHANNELS.get(doc.get("source_channel") or "") if doc.get("direction") == "incoming" else None),
        ("Lý do trả lại" if doc.get("reject_reason") == "RETURNED" else "Lý do từ chối", doc.get("reject_text")),
        ("Ngày đến", vn_time(doc.get("arrival_date"))), ("Hạn xử lý", vn_time(doc.get("due_date"))),
        ("Người ký", " ".join(x for x in (signer.get("position"), signer.get("full_name")) if x)),
        ("Ký ban hành", paper_signed_text(doc.get("paper_signed"))),
        ("Nơi nhận", ", ".join(doc.get("to_places") or [])),
        ("Chữ ký số", doc.get("signature_text") or signature_label(doc.get("verification"),
                                                                   doc.get("verification_state"))),
        ("Lưu ý", "; ".join(w.get("message", str(w)) if isinstance(w, dict) else str(w)
                            for w in doc.get("warnings") or [])),
    ]


def document_response(request: Request, g: Gateway, v: Viewer, doc_id: str, status_code: int = 200,
                      **extra: Any) -> Response:
    """A document's page; `extra`: what a form posted from it shows again (an error, the recipients chosen)."""
    doc = _decorate_page(g, v, _decorate(g.backends.call(v.actor, "registry", "get_document", doc_id)))
    registers = []
    if doc.get("direction") == "incoming" and v.has("clerk") and doc.get("state") == "waiting_reception":
        registers = _registers(g, v, "incoming")
    # a copy is sent from its page to agencies of the directory (gateway/copies.py), with the send screen's picker;
    # not while its recipients answer a recall, take back or update (registry: change_pending)
    sendable = (doc.get("direction") == "copies" and doc.get("state") == "issued" and not doc.get("pending_change")
                and v.has("clerk"))
    picker = picker_context(g, v, extra.pop("copy_chosen", None), extra.pop("copy_chosen_groups", None),
                            "copy_") if sendable else {}
    return render(request, "document.html", v, status_code=status_code, doc=doc, meta=_meta(doc),
                  registers=registers, reject_reasons=REJECT_REASONS, submit_to=_submit_choices(g, v, doc),
                  dossiers=dossiers_of(g, v, doc_id), copy_sendable=sendable, **picker,
                  year_turn_notice=year_turn_notice(doc, request.query_params.get("thong-bao", "")),
                  **change_context(doc, request), **replace_context(g, v, doc), **extra)


# the notices that follow a numbering (registration, issue, copy): they say so when the year turned meanwhile
NUMBERED_NOTICES = frozenset({"da-tiep-nhan", "da-vao-so", "da-gui", "da-sao"})


def year_turn_notice(doc: dict[str, Any], notice: str) -> str:
    """After a form opened before midnight (Vietnam time) was sent after it, with last year's register: which
    register numbered the document instead (services/registry/numbering.py `current`)."""
    turn = doc.get("year_turn")
    if notice not in NUMBERED_NOTICES or not turn or doc.get("number") is None:
        return ""
    name = register_label({"name": turn["register_name"], "year": turn["year"]})
    return f"Đã sang năm {turn['year']}: văn bản được vào {name}, số {format_number(int(doc['number']))}."


def _submit_choices(g: Gateway, v: Viewer, doc: dict[str, Any]) -> list[Any]:
    """Right after "Tiếp nhận và vào sổ" the clerk's next step is "Trình" (NĐ 30 Điều 22): the leaders to choose
    from while the document still waits to be submitted; none once it was submitted or directed."""
    if doc.get("direction") != "incoming" or doc.get("state") != "registered" or not v.has("clerk"):
        return []
    try:
        handling = g.backends.call(v.actor, "routing", "get_incoming", doc["id"])
        if handling.get("status") not in ("received", "submitted"):
            return []
    except NotFound:
        pass  # routing has not opened the handling yet (an event away): "Trình" waits for it
    except CongVanError:
        return []
    return People(g, v.user.agency_id).active("leader")
