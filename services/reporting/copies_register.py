"""The copies register (Sổ bản sao) as printed, beside the incoming and outgoing registers of domain.py: pure rules
(no I/O) from the rows of `registry.report_register("copies", …)`.

A copy (sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27) is numbered from the agency's copies register, its
own yearly series (Phụ lục I Phần II mục II.1.c), and sealed electronically by the agency. Phụ lục IV has no form
for this register, so its columns are what the copy itself carries (hình thức sao, số và ký hiệu bản sao, thời
gian; Phụ lục I Phần II mục II.2), the document it copies, and where it went. An electronic copy is valid with
"chữ ký số cơ quan để thực hiện sao y bản chính thành bản điện tử" (Đà Nẵng QĐ 8849 Điều 9.4): the signer column
names the agency's seal and the clerk who made the copy.
"""

from __future__ import annotations

from typing import Any

from services.common.recipients import recipient_label
from services.reporting.domain import person_name, vn_day

COPIES_COLUMNS = (
    # widths: a dd/mm/yyyy day keeps to one line in the PDF, as in the outgoing register
    ("Số, ký hiệu bản sao", 18), ("Ngày sao", 17), ("Hình thức sao", 11), ("Số, ký hiệu văn bản được sao", 22),
    ("Ngày tháng văn bản được sao", 17), ("Cơ quan ban hành văn bản được sao", 28), ("Trích yếu nội dung", 44),
    ("Số tệp, số trang", 16), ("Người ký, đóng dấu bản sao", 28), ("Nơi nhận bản sao", 36), ("Ghi chú", 26),
)
COPIES_TITLE = "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN"
FORM_LABELS_VI = {"SY": "Sao y", "SL": "Sao lục", "TrS": "Trích sao"}
AGENCY_SEAL = "Chữ ký số của cơ quan"
RECALL_NOTES_VI = {"requested": "chờ trả lời thu hồi", "accepted": "đồng ý thu hồi", "refused": "từ chối thu hồi",
                   "paper_pending": "chờ nhận lại bản giấy", "paper_returned": "đã nhận lại bản giấy"}


def files_and_pages(row: dict[str, Any]) -> str:
    """Column 8: the copy's files (the main one, its appendices) and the source's pages where the registry knows them
    (a paper arrival's page count)."""
    files, appendices = int(row.get("files") or 0), int(row.get("appendices") or 0)
    parts = [f"{files} tệp" + (f" (gồm {appendices} phụ lục)" if appendices else "")] if files else []
    pages = ((row.get("source") or {}).get("page_amount"))
    if pages:
        parts.append(f"{pages} trang")
    return "; ".join(parts)


def copy_signer(row: dict[str, Any], staff: dict[str, dict[str, Any]]) -> str:
    """Column 9: the agency's seal, and the clerk who made the copy (by name where routing knows them)."""
    who = person_name(row.get("made_by"), staff) if row.get("made_by") in staff else row.get("made_by_username")
    return f"{AGENCY_SEAL}; Văn thư: {who}" if who else AGENCY_SEAL


def _recipient_note(recipient: dict[str, Any]) -> str:
    state = RECALL_NOTES_VI.get(recipient.get("recall_state") or "")
    if not state:
        return ""
    name = recipient.get("organ_name") or recipient.get("organ_id") or ""
    returned = f" ngày {vn_day(recipient['returned_on'])}" if recipient.get("returned_on") else ""
    return f"{name}: {state}{returned}"


def copies_register_rows(rows: list[dict[str, Any]], staff: dict[str, dict[str, Any]] | None = None
                         ) -> list[list[str]]:
    """One line of the copies register per copy, its eleven columns in order."""
    staff = staff or {}
    out = []
    for r in rows:
        source = r.get("source") or {}
        recipients = r.get("recipients") or []
        places = [recipient_label(rc.get("organ_name") or rc.get("organ_id") or "", rc.get("channel"))
                  for rc in recipients]
        notes = ["Đã thu hồi" if r.get("state") == "recalled" else ""]
        notes += [_recipient_note(rc) for rc in recipients]
        if not recipients:
            notes.append("Chưa gửi")
        out.append([r.get("number_and_notation") or "", vn_day(r.get("issued_date")),
                    FORM_LABELS_VI.get(r.get("copy_form") or r.get("type_code") or "", r.get("type_name") or ""),
                    source.get("number_and_notation") or "", vn_day(source.get("issued_date")),
                    source.get("organ_name") or "", r.get("subject") or "", files_and_pages(r),
                    copy_signer(r, staff), "; ".join(p for p in places if p), "; ".join(n for n in notes if n)])
    return out
