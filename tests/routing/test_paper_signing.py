"""Approval signed on paper, then "Chuyển phát hành" with the scan (agency rule `paper_signing`, Hưng Yên Đ6.3a):
refused while the agency's rule is "no", the whole path once the admin allows it, who may do each step, delegation,
and retries keyed by the draft and its step. Over PostgreSQL, with routing's real outbox."""

from __future__ import annotations

import pytest

from services.common.errors import Conflict, Forbidden, NotFound
from tests.routing.conftest import outbox_rows, pdf


@pytest.fixture
def at_signing(routing, people, blobs):
    """A draft of KT with its appendix, waiting at the leader's signing step."""
    draft = routing.create_draft(people.spec_kt, "Kế hoạch chuyển đổi số năm 2026", pdf(blobs, "v1"),
                                 type_code="KH", appendix_sha256s=[pdf(blobs, "phu luc")])
    routing.submit_draft(people.spec_kt, draft["draft_id"])
    routing.approve_draft(people.head_kt, draft["draft_id"])
    routing.approve_draft(people.spec_vp, draft["draft_id"])
    return draft


def test_the_agency_setting_decides_whether_a_leader_may_sign_on_paper(routing, database, people, blobs, signer,
                                                                        at_signing):
    draft_id = at_signing["draft_id"]
    assert routing.get_draft(people.leader, draft_id)["paper_signing"] == "no"
    with pytest.raises(Forbidden) as refused:  # the default: leaders sign digitally (NĐ 30 Điều 13)
        routing.approve_on_paper(people.leader, draft_id, "Đã ký bản giấy")
    assert refused.value.code == "paper_signing_not_allowed" and "ký trên giấy" in refused.value.message_vi
    assert routing.get_draft(people.leader, draft_id)["status"] == "in_review"

    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    assert routing.get_draft(people.leader, draft_id)["paper_signing"] == "allowed"
    approved = routing.approve_on_paper(people.leader, draft_id, "Đã ký bản giấy")
    assert approved["status"] == "paper_approved" and approved["step"] is None
    assert approved["paper"]["approved_by"] == people.leader.user_id
    assert approved["paper"]["approved_at"] == "2026-03-02T08:00:00+07:00"  # Vietnam time, the test's clock
    assert approved["paper"]["signer"]["position"] == "Chủ tịch"
    assert signer.calls == [] and outbox_rows(database, "draft_signed") == []  # nothing signed digitally
    assert any(n["kind"] == "paper_signed" for n in routing.list_notifications(people.spec_kt))

    scan = pdf(blobs, "ban scan van ban giay da ky")
    forwarded = routing.forward_paper_scan(people.spec_kt, draft_id, scan, "Bản gốc đã ký, đóng dấu giáp lai")
    assert forwarded["status"] == "signed" and forwarded["signed_sha256"] == scan
    assert forwarded["signed_by"] == people.leader.user_id
    [event] = outbox_rows(database, "draft_signed")
    assert event["draft_id"] == draft_id and event["pdf_sha256"] == scan
    assert event["appendix_sha256s"] == at_signing["appendix_sha256s"]
    assert event["signer"] == {"user_id": people.leader.user_id, "full_name": "Nguyễn Văn An",
                               "position": "Chủ tịch", "competence": ""}
    paper = event["paper_signed"]
    assert (paper["approved_by_name"], paper["forwarded_by_name"]) == ("Nguyễn Văn An", "Hoàng Văn Chuyên")
    assert paper["forwarded_at"].endswith("+07:00")

    full = routing.get_draft(people.spec_kt, draft_id)
    assert [c["kind"] for c in full["comments"]][-2:] == ["paper_sign", "paper_forward"]
    assert full["initials"][-1]["signs"] and full["initials"][-1]["user_id"] == people.leader.user_id

    # the registry reports it issued: the same ending as a digitally signed draft
    routing.on_outgoing_issued(people.clerk, {"outgoing_id": "out-1", "draft_id": str(draft_id),
                                              "number": "5/KH-UBND", "issued_at": "2026-03-02T09:00:00+07:00",
                                              "answers": [], "agency_id": routing.agency_id})
    assert routing.get_draft(people.spec_kt, draft_id)["status"] == "issued"


def test_only_the_signing_leader_approves_on_paper_and_only_the_handler_forwards(routing, people, blobs,
                                                                                  at_signing):
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    with pytest.raises(Forbidden):  # the author is no leader
        routing.approve_on_paper(people.spec_kt, draft_id)
    with pytest.raises(NotFound):  # a department head of another unit does not even see the draft
        routing.approve_on_paper(people.head_th, draft_id)
    with pytest.raises(Conflict):  # nothing to forward before the leader approved on paper
        routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"))

    routing.approve_on_paper(people.leader, draft_id)
    with pytest.raises(Forbidden):  # the leader does not forward: the handler does (Đ6.3a "cán bộ xử lý")
        routing.forward_paper_scan(people.leader, draft_id, pdf(blobs, "scan"))
    with pytest.raises(NotFound):  # a missing file is refused before anything changes
        routing.forward_paper_scan(people.spec_kt, draft_id, "0" * 64)
    assert routing.get_draft(people.spec_kt, draft_id)["status"] == "paper_approved"


def test_not_before_the_signing_step(routing, people, blobs):
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    draft = routing.create_draft(people.spec_kt, "Báo cáo tháng 3", pdf(blobs, "bc"), type_code="BC")
    routing.submit_draft(people.spec_kt, draft["draft_id"])
    with pytest.raises(Conflict) as refused:  # the department head's step is an approval, not the signature
        routing.approve_on_paper(people.head_kt, draft["draft_id"])
    assert refused.value.code == "not_signing_step"


def test_a_delegate_approves_on_paper_inside_the_period(routing, people, clock, at_signing):
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.delegate(people.leader, people.deputy.user_id, "2026-03-09", "2026-03-14", ["approve"])
    with pytest.raises(NotFound):  # before the period
        routing.approve_on_paper(people.deputy, draft_id)
    clock.set(2026, 3, 10, 9, 0)
    approved = routing.approve_on_paper(people.deputy, draft_id)
    assert (approved["signed_by"], approved["signed_on_behalf_of"]) == (people.deputy.user_id, people.leader.user_id)
    assert approved["paper"]["signer"]["competence"] == "TUQ. CHỦ TỊCH"


def test_retries_are_keyed_by_the_draft_and_its_step_not_by_the_file(routing, database, people, blobs,
                                                                     at_signing):
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    first = routing.approve_on_paper(people.leader, draft_id, "Đồng ý")
    again = routing.approve_on_paper(people.leader, draft_id, "Đồng ý")
    assert again["paper"] == first["paper"]
    scan = pdf(blobs, "scan 1")
    routing.forward_paper_scan(people.spec_kt, draft_id, scan)
    # a retried upload (even a re-scan with other bytes) changes nothing: the draft was forwarded once
    repeated = routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan 2"))
    assert repeated["signed_sha256"] == scan
    assert len(outbox_rows(database, "draft_signed")) == 1
    kinds = [c["kind"] for c in routing.get_draft(people.spec_kt, draft_id)["comments"]]
    assert kinds.count("paper_sign") == 1 and kinds.count("paper_forward") == 1
    # the clerks are told once that a scan waits, with its paper original to fetch (not only when urgent)
    told = [n for n in routing.list_notifications(people.clerk) if n["kind"] == "paper_forwarded"]
    assert len(told) == 1 and told[0]["title"].endswith("Kế hoạch chuyển đổi số năm 2026")
    assert (told[0]["ref_kind"], str(told[0]["ref_id"])) == ("waiting_issue", str(draft_id))
    assert not [n for n in routing.list_notifications(people.spec_kt) if n["kind"] == "paper_forwarded"]


def test_a_leavers_draft_signed_on_paper_is_forwarded_by_the_successor(routing, database, people, blobs,
                                                                        at_signing):
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.approve_on_paper(people.leader, draft_id)
    assert [d["draft_id"] for d in routing.open_work(people.admin, people.spec_kt.user_id)["drafts"]] == [draft_id]
    routing.hand_over(people.admin, people.spec_kt.user_id, people.spec_kt2.user_id, "Chuyển công tác")
    with pytest.raises(Forbidden):  # the handler is now the successor
        routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"))
    assert routing.forward_paper_scan(people.spec_kt2, draft_id, pdf(blobs, "scan"))["status"] == "signed"
    assert outbox_rows(database, "draft_signed")[0]["drafted_by"] == people.spec_kt2.user_id


def test_the_scan_check_is_kept_with_the_forward_and_a_mismatch_needs_the_handlers_confirmation(
        routing, database, people, blobs, at_signing):
    """The gateway's comparison of the scan with the approved version (services/routing/scan_match.py) travels with the
    forward: kept in the draft's `paper`, and its score and confirmation in `paper_signed` for the clerk."""
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.approve_on_paper(people.leader, draft_id)
    wrong = {"score": 31, "matches": False, "version": 1, "missing": ["kiểm", "kê"] * 20, "added": ["mưa", "lũ"]}
    with pytest.raises(Conflict) as refused:  # not confirmed: nothing forwarded
        routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"), "", wrong)
    assert refused.value.code == "scan_mismatch" and refused.value.details["score"] == 31
    assert routing.get_draft(people.spec_kt, draft_id)["status"] == "paper_approved"

    forwarded = routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"), "",
                                           {**wrong, "confirmed": True})
    check = forwarded["paper"]["scan_check"]
    assert (check["score"], check["matches"], check["confirmed"], check["version"]) == (31, False, True, 1)
    assert len(check["missing"]) == 8 and check["added"] == ["mưa", "lũ"]   # a few words, bounded
    [event] = outbox_rows(database, "draft_signed")
    assert event["paper_signed"]["scan_check"] == {"score": 31, "matches": False, "confirmed": True}


def test_a_scan_with_nothing_readable_is_recorded_as_such(routing, database, people, blobs, at_signing):
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.approve_on_paper(people.leader, draft_id)
    forwarded = routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"), "",
                                           {"score": None, "matches": True, "confirmed": True, "version": 1})
    assert forwarded["paper"]["scan_check"]["score"] is None
    assert forwarded["paper"]["scan_check"]["matches"] is False   # nothing read never counts as a match


def test_scans_of_the_paper_appendices_replace_the_approved_versions_appendix_files(routing, database, people, blobs,
                                                                                  at_signing):
    """What is issued is what was signed (routing's paper.py): the scans of the signed paper appendices are the
    document's appendices, in the order chosen and each once, instead of the version's files, not beside them."""
    draft_id = at_signing["draft_id"]
    routing.set_rules(people.admin, {"paper_signing": "allowed"})
    routing.approve_on_paper(people.leader, draft_id)
    first, second = pdf(blobs, "ban scan phu luc 01 da dong dau"), pdf(blobs, "ban scan phu luc 02 da dong dau")
    with pytest.raises(NotFound):  # an appendix scan that was never stored: nothing forwarded
        routing.forward_paper_scan(people.spec_kt, draft_id, pdf(blobs, "scan"), "", None, [first, "0" * 64])
    assert routing.get_draft(people.spec_kt, draft_id)["status"] == "paper_approved"

    scan = pdf(blobs, "ban scan van ban giay da ky")
    forwarded = routing.forward_paper_scan(people.spec_kt, draft_id, scan, "", None, [first, second, first])
    assert forwarded["paper"]["appendix_scan_sha256s"] == [first, second]
    assert forwarded["appendix_sha256s"] == at_signing["appendix_sha256s"]   # the version itself is kept as it was
    [event] = outbox_rows(database, "draft_signed")
    assert event["appendix_sha256s"] == [first, second]
    assert (event["paper_signed"]["appendix_scans"], event["paper_signed"]["replaced_appendices"]) == (2, 1)
    # a retry with other appendix scans changes nothing: forwarded once
    again = routing.forward_paper_scan(people.spec_kt, draft_id, scan, "", None, [second])
    assert again["paper"]["appendix_scan_sha256s"] == [first, second]
    assert len(outbox_rows(database, "draft_signed")) == 1
