""""Gửi văn bản": a document signed elsewhere sent by the clerk (the form page and the send itself)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import Response

from gateway import recipient_groups as rg
from gateway.app import Gateway, Viewer, render
from gateway.drafting import store_appendices
from gateway.recipient_picker import picker_context
from gateway.registers import _registers
from services.common import clock
from services.common.errors import CongVanError, ValidationFailed
from services.registry.catalog import DOCUMENT_TYPES, URGENCY_LABELS
from services.storage.blobs import blob_store
from services.storage.ingest import ingest


def send_policy(g: Gateway, v: Viewer) -> dict[str, Any]:
    """The agency's rule for "Gửi văn bản": whether a document without a legally valid signature may leave,
    marked as such (registry setting, set by the administrator)."""
    try:
        return g.backends.call(v.actor, "registry", "get_send_policy")
    except CongVanError:
        return {"allow_unsigned_send": False}


def _send_page(request: Request, g: Gateway, v: Viewer, form: dict[str, Any], error: str | None = None,
               status_code: int = 200) -> Response:
    # One key per form shown: "back" and sending the same form again returns the first document (registry).
    form.setdefault("form_key", secrets.token_urlsafe(18))
    return render(request, "send.html", v, status_code=status_code, form=form, error=error,
                  policy=send_policy(g, v),
                  types=sorted(DOCUMENT_TYPES.items(), key=lambda kv: kv[1]),
                  priorities=[(int(k), label) for k, label in URGENCY_LABELS.items()],
                  **picker_context(g, v, form.get("recipients"), form.get("recipient_groups")),
                  max_mb=g.settings.max_upload_mb, today=clock.today_vn().isoformat())


def chosen_recipients(g: Gateway, organ_ids: list[str]) -> list[dict[str, str]]:
    """Recipients chosen in the picker, by organ id: each must be in the interconnect directory."""
    if not organ_ids:
        raise ValidationFailed("Thiếu trường bắt buộc “Nơi nhận”.", field="recipients")
    chosen = []
    for organ_id in organ_ids:
        record = g.directory().get(organ_id)
        if record is None:
            raise ValidationFailed(f"Không có cơ quan mã {organ_id} trong danh bạ.", field="recipients")
        chosen.append({"organ_id": record.organ_id, "organ_name": record.name})
    return chosen


def send_signed(g: Gateway, v: Viewer, form: dict[str, Any], file: UploadFile,
                appendices: list[UploadFile] | None = None) -> dict[str, Any]:
    """Stream the file (and its appendices) into the agency's blob store (checked by content), record them, then
    the registry checks the signatures, registers and dispatches (register_outgoing_signed). The recipients are
    those chosen and the members of the chosen groups; members that can no longer receive are skipped and
    returned as `skipped_recipients`."""
    expansion = rg.expand(g, v, form["recipients"], form.get("recipient_groups"))
    if not expansion.organ_ids:
        raise ValidationFailed(" ".join(x for x in ("Thiếu trường bắt buộc “Nơi nhận”.", expansion.warning()) if x),
                               field="recipients")
    recipients = chosen_recipients(g, expansion.organ_ids)
    registers = _registers(g, v, "outgoing")  # before storing: a refused send leaves no file behind
    if not registers:
        raise ValidationFailed("Chưa có sổ văn bản đi của năm nay; quản trị viên cần tạo sổ.", field="register")
    store = blob_store(g.settings, v.user.agency_id)
    result = ingest(store, file.file, file.filename or "van-ban.pdf", purpose="to_sign",
                    max_size=g.settings.max_upload_mb * 1024 * 1024)
    g.backends.call(v.actor, "storage", "record_file", result.sha256, result.display_name, result.content_type,
                    result.size, "signed_original", f"outgoing:{form['code_number']}/{form['code_notation']}")
    extra = store_appendices(g, v, appendices or [], f"outgoing:{form['code_number']}/{form['code_notation']}")
    metadata = {"code_number": form["code_number"].strip(), "code_notation": form["code_notation"].strip(),
                "issued_date": form["promulgation_date"], "type_code": form["type_code"],
                "subject": form["subject"], "priority": int(form["priority"]),
                "signer_full_name": form["signer_full_name"], "signer_position": form["signer_position"],
                "pdf_name": result.display_name, "appendices": extra,
                "no_paper_copy": bool(form.get("no_paper_copy")),
                "accept_not_legally_valid": bool(form.get("accept_not_legally_valid")),
                "request_key": form.get("form_key") or None}
    sent = g.backends.call(v.actor, "registry", "register_outgoing_signed", metadata, result.sha256, recipients,
                           registers[0]["id"])
    return {**sent, "skipped_recipients": expansion.skipped}
