"""Routing's worker for the check of a paper scan against the version the leader approved, off the request path.

The gateway stores the handler's scan and asks routing to record it (submit_paper_scan, state "checking"); this
worker, a timer of the routing service like the registry's search indexer, reads both files from the agency's blob
store, extracts the text of every page (services/common/pdf_pages.py: text layer, else Tesseract in a niced child
process), compares them page by page (services/routing/scan_match.py) and records the outcome
(record_scan_check), which forwards a matching or confirmed scan. The state lives in the draft, so a restart of any
process loses nothing: a check interrupted is found again by the first pass (the worklist visits every agency at
start) and recomputed, and recording is once per (draft, scan).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import pikepdf

from services.common.actor import system_actor
from services.common.pdf_pages import OutOfTime, page_count, page_texts
from services.routing.scan_match import MAX_PAGES, THRESHOLD, PagesMatch, compare_pages

log = logging.getLogger(__name__)

Read = Callable[[str], bytes]

# Seconds one check may spend reading both files: 30 pages of OCR on each side would otherwise hold routing's scan
# timer (and every other agency's checks behind it) for hours. The handler then checks the pages by eye.
CHECK_BUDGET = 600


class Unreadable(Exception):
    """Nothing can be compared; the message says why, in Vietnamese, to the handler."""


def run_pending(app: Any, agency_id: str, read: Read) -> int:
    """Check every scan of the agency that waits for its check; returns how many were recorded."""
    actor = system_actor(agency_id, "routing")
    done = 0
    for job in app.pending_scan_checks(actor):
        # no transaction is open while the files are read: OCR takes seconds a page
        try:
            check, error = check_scan(read, job["approved_sha256"], job["scan_sha256"], job["version"]), ""
        except Unreadable as exc:
            check, error = None, str(exc)
        except Exception:  # the blob store unreachable, a tool's odd failure: said once, not retried every pass
            log.exception("paper scan check of draft %s failed", job["draft_id"])
            check, error = None, ("Không đọc được tệp để đối chiếu (lỗi khi đọc tệp). Hãy tải lên lại bản scan, hoặc "
                                  "tự kiểm tra và xác nhận.")
        done += app.record_scan_check(actor, job["draft_id"], job["scan_sha256"], check, error)
    return done


def check_scan(read: Read, approved_sha256: str, scan_sha256: str, version: int) -> dict[str, Any]:
    deadline = time.monotonic() + CHECK_BUDGET
    try:
        approved = _texts(read(approved_sha256), f"phiên bản {version} lãnh đạo đã duyệt", deadline)
        scan = _texts(read(scan_sha256), "bản quét", deadline)
    except OutOfTime:
        log.warning("scan %s against version %s: reading the pages took over %s s; stopped", scan_sha256[:12],
                    version, CHECK_BUDGET)
        raise Unreadable(f"Đọc chữ các trang để đối chiếu cần quá {max(1, math.ceil(CHECK_BUDGET / 60))} phút nên "
                         "đã dừng. Người xử lý tự kiểm tra từng trang rồi xác nhận, hoặc tải lên bản scan có lớp "
                         "chữ.") from None
    result = compare_pages(approved, scan)
    log.info("scan %s against version %s: %s pages against %s, lowest %s %%, %d differing", scan_sha256[:12],
             version, result.scan_pages, result.approved_pages, result.score, len(result.differing))
    return as_record(result, version)


def _texts(pdf: bytes, what: str, deadline: float) -> list[str]:
    try:
        pages = page_count(pdf)
    except pikepdf.PdfError:
        raise Unreadable(f"Không mở được tệp {what} như một tệp PDF nên chưa đối chiếu được.") from None
    if pages > MAX_PAGES:
        raise Unreadable(f"Tệp {what} có {pages} trang, quá {MAX_PAGES} trang đối chiếu được; người xử lý tự kiểm "
                         "tra từng trang rồi xác nhận.")
    return [page.text for page in page_texts(pdf, pages, deadline)]


def as_record(result: PagesMatch, version: int) -> dict[str, Any]:
    """The comparison as routing keeps it (paper.scan_check_record bounds it)."""
    first = next((p.match for p in result.differing if p.match is not None), None)
    return {"score": result.score, "matches": result.matches, "threshold": THRESHOLD, "version": version,
            "missing": first.missing if first else [], "added": first.added if first else [],
            "scan_pages": result.scan_pages, "approved_pages": result.approved_pages,
            "blank_scan_pages": result.blank_scan_pages,
            "pages": [{"page": p.page, "kind": p.kind, "score": p.score, "missing": p.match.missing if p.match else [],
                       "added": p.match.added if p.match else []} for p in result.differing]}
