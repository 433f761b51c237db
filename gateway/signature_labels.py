"""A document's and a file's signature verdict in words (the "Chữ ký số" row and each file's line)."""

from __future__ import annotations

from typing import Any

from gateway.app import Gateway, Viewer
from services.common.errors import CongVanError

AWAITING_SEAL = "Đã có chữ ký lãnh đạo, chờ văn thư cấp số và ký số cơ quan"


def awaiting_seal(report: Any) -> bool:
    """A draft the leader signed and the clerk has not yet numbered and sealed: complete for its stage (NĐ 30
    Điều 8: the seal comes with the number at issue), so not "invalid". Only an intact leader signature counts."""
    if not isinstance(report, dict) or report.get("verdict") != "incomplete":
        return False
    signatures = report.get("signatures") or []
    return (any(s.get("role") == "leader" and s.get("valid") for s in signatures)
            and not any(s.get("role") == "seal" for s in signatures))


def signature_label(report: dict[str, Any] | None, state: str | None = None, waiting_issue: bool = False) -> str:
    """The "Chữ ký số" row in words: Hợp lệ, Chưa ký, Đang kiểm tra, or Không hợp lệ: <why> (signing's report,
    docs/signing.md), never a raw verdict such as "none". An outgoing document waiting to be issued and signed by
    the leader says so (`waiting_issue`)."""
    if isinstance(report, dict) and report.get("verdict"):
        if report.get("legally_valid"):
            return "Hợp lệ"
        if waiting_issue and awaiting_seal(report):
            return AWAITING_SEAL
        if report.get("verdict") == "unsigned":
            return "Chưa ký"
        return f"Không hợp lệ: {report.get('summary_vi') or report.get('verdict')}"
    if state == "valid":
        return "Hợp lệ"
    if state == "pending":
        return "Đang kiểm tra"
    if state == "invalid":
        why = (report.get("summary_vi") or report.get("result")) if isinstance(report, dict) else ""
        return f"Không hợp lệ: {why}" if why else "Không hợp lệ"
    return "Chưa ký"


APPENDIX_ROLES = ("appendix", "appendix_signed", "appendix_unsigned")
NOT_PDF = "Không có chữ ký số: tệp không phải PDF"
NOT_PDF_COPY = ("Không đóng dấu bản sao: chỉ tệp PDF mang được thể thức và chữ ký số của bản sao; tệp được sao "
                "nguyên văn")


def is_pdf_file(a: dict[str, Any]) -> bool:
    return a.get("content_type") == "application/pdf" or str(a.get("name") or "").lower().endswith(".pdf")


def file_verdict(g: Gateway, v: Viewer, doc: dict[str, Any], a: dict[str, Any]) -> None:
    """One file's own signature verdict (`verification`, `signature_label`): signing's report on a PDF; a file of
    another type carries no signature, and in a copy says why it was copied without the copy form (`not_pdf`)."""
    if not is_pdf_file(a):
        a["not_pdf"] = True
        a["signature_label"] = NOT_PDF_COPY if doc.get("direction") == "copies" else NOT_PDF
        return
    try:
        a["verification"] = g.backends.call(v.actor, "signing", "verify", a["sha256"])
        a["signature_label"] = signature_label(a["verification"])
    except CongVanError:
        a["signature_label"] = "Đang kiểm tra"
