"""The Phiếu trả of a paper document returned for a wrong form (TP.HCM Điều 6.1: "nhân viên văn thư soạn thảo và in
Phiếu trả trên chương trình phần mềm, trình ... ký trả lại nơi phát hành"), printed from what the registry recorded
(services/registry/paper_intake.py: return_slip), so the same slip comes out every time it is downloaded."""

from __future__ import annotations

import urllib.parse
from datetime import date, datetime
from typing import Any

from fastapi.responses import Response

from gateway.app import Gateway, Viewer
from services.common import clock
from services.reporting.pdf import letter_pdf

ARRIVED_BY = {"paper": "đường bưu chính hoặc trực tiếp", "fax": "fax", "email": "thư điện tử"}


def _day(value: str | None) -> str:
    """dd/mm/yyyy of a day, or of a moment in Vietnam time (a UTC evening is the next day there)."""
    if not value:
        return ""
    if len(value) > 10:
        return clock.to_vn(datetime.fromisoformat(value)).strftime("%d/%m/%Y")
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def slip_text(slip: dict[str, Any], clerk_name: str) -> tuple[str, list[str]]:
    """(place and date line, paragraphs) of the slip, in the words a clerk writes them."""
    doc, agency = slip["document"], slip["agency"]
    made = clock.to_vn(datetime.fromisoformat(slip["returned_at"]))
    place_date = f"{agency.get('place') or ''}, ngày {made.day:02d} tháng {made.month:02d} năm {made.year}".lstrip(", ")
    number = f"số {doc['number_and_notation']}" if doc.get("number_and_notation") else "không ghi số, ký hiệu"
    when = f" ngày {_day(doc.get('issued_date'))}" if doc.get("issued_date") else " (không ghi ngày)"
    channel = ARRIVED_BY.get(doc.get("source_channel") or "paper", "bưu chính")
    paragraphs = [
        f"Kính gửi: {doc.get('organ_name') or ''}.",
        f"{agency.get('organ_name') or 'Cơ quan'} nhận được văn bản {number}{when} của {doc.get('organ_name')}"
        + (f" về việc: {doc['subject']}" if doc.get("subject") else "")
        + f", đến qua {channel} ngày {_day(doc.get('received_at'))}.",
        "Văn bản không đúng thể thức theo quy định, cụ thể:",
        *[f"– {d}." for d in slip["defects"]],
        *([f"Ghi chú: {slip['note']}"] if slip.get("note") else []),
        f"Căn cứ {slip['rule']} Văn bản được trả lại để Quý cơ quan hoàn thiện và gửi lại theo quy định.",
        f"Người lập phiếu: {clerk_name}.",
    ]
    return place_date, paragraphs


def slip_response(g: Gateway, v: Viewer, doc_id: str) -> Response:
    slip = g.backends.call(v.actor, "registry", "return_slip", doc_id)
    clerk = g.accounts.by_username(slip["returned_by"])
    clerk_name = getattr(clerk, "full_name", "") or slip["returned_by"]
    place_date, paragraphs = slip_text(slip, clerk_name)
    pdf = letter_pdf(slip["agency"].get("organ_name") or "", place_date, "PHIẾU TRẢ VĂN BẢN", paragraphs,
                     ["NGƯỜI LẬP PHIẾU", "THỦ TRƯỞNG ĐƠN VỊ"], [clerk_name])
    name = f"Phiếu trả - {slip['document'].get('organ_name') or 'van-ban'}.pdf"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}",
        "Cache-Control": "private, no-store"})
