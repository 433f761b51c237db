"""The paper scan checked off the request path (services/routing/scan_check.py): the handler's scan is recorded as
"checking", routing's worker compares every page with the approved version and records the outcome once, forwarding
a scan that matches; one that differs waits for the handler's confirmation or another scan. Real PDFs with a text
layer (OCR is tests/gateway's), over PostgreSQL."""

from __future__ import annotations

import pytest

from services.common.actor import system_actor
from services.common.errors import Forbidden
from services.routing import scan_check
from tests.gateway import scan_pages
from tests.routing.conftest import AGENCY, outbox_rows


@pytest.fixture
def paper_approved(routing, people, blobs):
    """A three-page letter approved and signed on paper by the leader."""
    approved = blobs.put_bytes(scan_pages.plan()).sha256
    draft = routing.create_draft(people.spec_kt, "Kiểm kê tài sản công năm 2026", approved, type_code="CV")
    routing.submit_draft(people.spec_kt, draft["draft_id"])
    routing.approve_draft(people.head_kt, draft["draft_id"])
    routing.approve_draft(people.spec_vp, draft["draft_id"])
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.approve_on_paper(people.leader, draft["draft_id"])
    return draft["draft_id"]


def work(routing, blobs) -> int:
    return scan_check.run_pending(routing, AGENCY, blobs.read)


def test_a_scan_of_the_same_pages_is_checked_in_the_background_and_forwarded(routing, database, people, blobs,
                                                                            paper_approved):
    scan = blobs.put_bytes(scan_pages.with_blank_backs(scan_pages.plan())).sha256   # duplex: blank backs
    waiting = routing.submit_paper_scan(people.spec_kt, paper_approved, scan, "Bản gốc đã ký")
    assert waiting["status"] == "paper_approved" and waiting["paper"]["scan_upload"]["state"] == "checking"
    assert outbox_rows(database, "draft_signed") == []                 # nothing forwarded before the check

    assert work(routing, blobs) == 1
    forwarded = routing.get_draft(people.spec_kt, paper_approved)
    assert forwarded["status"] == "signed" and forwarded["signed_sha256"] == scan
    check = forwarded["paper"]["scan_check"]
    assert check["matches"] and check["score"] == 100 and check["pages"] == []
    assert (check["scan_pages"], check["approved_pages"], check["blank_scan_pages"]) == (6, 3, [2, 4, 6])
    assert forwarded["paper"]["forwarded_by"] == people.spec_kt.user_id
    assert forwarded["paper"]["note"] == "Bản gốc đã ký"
    [event] = outbox_rows(database, "draft_signed")
    assert event["paper_signed"]["scan_check"] == {"score": 100, "matches": True, "confirmed": False}
    assert work(routing, blobs) == 0                                    # recorded once


def test_a_scan_whose_page_2_differs_waits_for_the_handler(routing, database, people, blobs, paper_approved):
    scan = blobs.put_bytes(scan_pages.plan(earlier=True)).sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, scan)
    assert work(routing, blobs) == 1
    view = routing.get_draft(people.spec_kt, paper_approved)
    upload = view["paper"]["scan_upload"]
    assert view["status"] == "paper_approved" and upload["state"] == "checked"
    [page] = upload["check"]["pages"]
    assert (page["page"], page["kind"]) == (2, "differs") and page["score"] < 85
    assert "hồ" in page["missing"] and "biên" in page["added"]
    assert not upload["check"]["matches"] and upload["check"]["score"] == page["score"]

    with pytest.raises(Forbidden):   # only the draft's handler confirms
        routing.submit_paper_scan(people.leader, paper_approved, scan, "", True)
    confirmed = routing.submit_paper_scan(people.spec_kt, paper_approved, scan, "Đã đối chiếu bản giấy", True)
    assert confirmed["status"] == "signed" and confirmed["paper"]["scan_check"]["confirmed"]
    assert confirmed["paper"]["scan_check"]["pages"][0]["page"] == 2
    [event] = outbox_rows(database, "draft_signed")
    assert event["paper_signed"]["scan_check"]["confirmed"] and not event["paper_signed"]["scan_check"]["matches"]


def test_a_missing_page_is_flagged_and_another_scan_replaces_the_first(routing, people, blobs, paper_approved):
    short = blobs.put_bytes(scan_pages.plan(pages=2)).sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, short)
    right = blobs.put_bytes(scan_pages.plan()).sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, right)   # chosen again before the check ran
    actor = system_actor(AGENCY, "routing")
    assert [j["scan_sha256"] for j in routing.pending_scan_checks(actor)] == [right]
    assert not routing.record_scan_check(actor, paper_approved, short, {"score": 100, "matches": True})
    assert work(routing, blobs) == 1
    assert routing.get_draft(people.spec_kt, paper_approved)["signed_sha256"] == right

    # the two-page scan on its own: page 3 missing
    result = scan_check.check_scan(blobs.read, right, short, 1)
    assert not result["matches"] and [(p["page"], p["kind"]) for p in result["pages"]] == [(3, "missing")]


def test_a_broken_scan_fails_in_vietnamese_and_may_be_checked_again(routing, people, blobs, paper_approved):
    broken = blobs.put_bytes(b"%PDF-1.7\n% not really a PDF\n%%EOF\n").sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, broken)
    assert work(routing, blobs) == 1
    upload = routing.get_draft(people.spec_kt, paper_approved)["paper"]["scan_upload"]
    assert upload["state"] == "failed" and "Không mở được tệp bản quét" in upload["error"]
    again = routing.submit_paper_scan(people.spec_kt, paper_approved, broken)   # the same file: checked again
    assert again["paper"]["scan_upload"]["state"] == "checking"


def test_a_file_that_cannot_be_read_fails_once_instead_of_every_pass(routing, people, blobs, paper_approved):
    scan = blobs.put_bytes(scan_pages.plan()).sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, scan)

    def unreachable(_sha256: str) -> bytes:
        raise OSError("blob store unreachable")

    assert scan_check.run_pending(routing, AGENCY, unreachable) == 1
    upload = routing.get_draft(people.spec_kt, paper_approved)["paper"]["scan_upload"]
    assert upload["state"] == "failed" and "Hãy tải lên lại bản scan" in upload["error"]
    assert work(routing, blobs) == 0                                   # not retried by itself
    confirmed = routing.submit_paper_scan(people.spec_kt, paper_approved, scan, "", True)   # the handler confirms
    assert confirmed["status"] == "signed" and confirmed["paper"]["scan_check"]["confirmed"]


def test_a_check_that_outlasts_its_time_budget_stops_and_says_so(routing, people, blobs, paper_approved, monkeypatch):
    # an image-only scan: every page needs OCR, and the budget is spent before the first
    scan = blobs.put_bytes(scan_pages.scanned(scan_pages.plan())).sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, scan)
    monkeypatch.setattr(scan_check, "CHECK_BUDGET", 0)
    assert work(routing, blobs) == 1
    upload = routing.get_draft(people.spec_kt, paper_approved)["paper"]["scan_upload"]
    assert upload["state"] == "failed" and "cần quá 1 phút nên đã dừng" in upload["error"]
    assert "tự kiểm tra từng trang rồi xác nhận" in upload["error"]
    assert work(routing, blobs) == 0                                   # not retried by itself
    confirmed = routing.submit_paper_scan(people.spec_kt, paper_approved, scan, "Đã đối chiếu bản giấy", True)
    assert confirmed["status"] == "signed" and confirmed["paper"]["scan_check"]["confirmed"]


def test_the_appendix_scans_stay_with_the_scan_until_it_is_forwarded(routing, database, people, blobs,
                                                                    paper_approved):
    """Sent with the scan, the paper appendices' scans wait with it through the check and the handler's
    confirmation (sent without files); a new scan has only the appendix scans sent with it."""
    appendix = blobs.put_bytes(scan_pages.scanned(scan_pages.inventory())).sha256
    wrong = blobs.put_bytes(scan_pages.plan(earlier=True)).sha256
    routing.submit_paper_scan(people.spec_kt, paper_approved, wrong, "", False, [appendix])
    other = blobs.put_bytes(scan_pages.plan(pages=2)).sha256
    replaced = routing.submit_paper_scan(people.spec_kt, paper_approved, other)   # another scan, no appendix scans
    assert replaced["paper"]["scan_upload"]["appendix_sha256s"] == []
    routing.submit_paper_scan(people.spec_kt, paper_approved, wrong, "", False, [appendix])
    assert work(routing, blobs) == 1
    upload = routing.get_draft(people.spec_kt, paper_approved)["paper"]["scan_upload"]
    assert upload["state"] == "checked" and upload["appendix_sha256s"] == [appendix]

    confirmed = routing.submit_paper_scan(people.spec_kt, paper_approved, wrong, "", True)   # no files again
    assert confirmed["status"] == "signed" and confirmed["paper"]["appendix_scan_sha256s"] == [appendix]
    [event] = outbox_rows(database, "draft_signed")
    assert event["appendix_sha256s"] == [appendix]
    assert (event["paper_signed"]["appendix_scans"], event["paper_signed"]["replaced_appendices"]) == (1, 0)
