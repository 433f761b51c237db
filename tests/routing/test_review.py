"""Outgoing review: versioned drafts, comments, the configured chain, the leader's approval and signature."""

import pytest

from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.routing.app import SigningUnavailable
from tests.routing.conftest import outbox_rows, pdf


@pytest.fixture
def draft(routing, people, blobs):
    return routing.create_draft(people.spec_kt, "Kế hoạch phát triển kinh tế năm 2026", pdf(blobs, "v1"),
                                type_code="KH", appendix_sha256s=[pdf(blobs, "phu luc")])


def test_chain_to_signature_lands_in_waiting_to_issue(routing, database, people, blobs, signer, draft):
    draft_id = draft["draft_id"]
    routing.invite_commenters(people.spec_kt, draft_id, [people.spec_kt2.user_id])
    routing.comment_draft(people.spec_kt2, draft_id, "Nên bổ sung số liệu quý IV.")
    v2 = routing.add_draft_version(people.spec_kt, draft_id, pdf(blobs, "v2"), draft["appendix_sha256s"],
                                   "Đã bổ sung số liệu")
    assert v2["version"] == 2

    routing.submit_draft(people.spec_kt, draft_id)
    with pytest.raises(Forbidden):  # a specialist cannot approve
        routing.approve_draft(people.spec_kt2, draft_id)
    with pytest.raises((Forbidden, NotFound)):  # the head of ANOTHER unit cannot review KT's draft
        routing.approve_draft(people.head_th, draft_id)
    step = routing.approve_draft(people.head_kt, draft_id, "Nội dung đạt")["step"]
    assert step["key"] == "office"
    step = routing.approve_draft(people.spec_vp, draft_id, "Thể thức đúng quy định")["step"]
    assert step["key"] == "leader" and step["signs"]
    assert outbox_rows(database) == []

    signed = routing.approve_draft(people.leader, draft_id, "Đồng ý ban hành")
    assert signed["status"] == "signed" and signed["signed_by"] == people.leader.user_id
    assert signer.calls == [(v2["pdf_sha256"], people.leader.user_id, "Phê duyệt và ký ban hành")]
    # the signature is remembered by signing under this draft's signing step, not under its file
    assert signer.operations == [f"draft:{draft_id}:step:2:sign"]
    [event] = outbox_rows(database, "draft_signed")
    assert event["draft_id"] == draft_id and event["subject"] == event["title"]
    assert event["pdf_sha256"] == signed["signed_sha256"] != v2["pdf_sha256"]
    assert blobs.exists(event["pdf_sha256"])
    assert event["signer"] == {"user_id": people.leader.user_id, "full_name": "Nguyễn Văn An", "position": "Chủ tịch",
                               "competence": ""}
    assert (event["title"], event["type_code"], event["drafted_by"], event["unit"]) == (
        "Kế hoạch phát triển kinh tế năm 2026", "KH", people.spec_kt.user_id, "KT")
    assert event["appendix_sha256s"] == draft["appendix_sha256s"] and event["answers"] == []

    full = routing.get_draft(people.spec_kt, draft_id)
    assert [c["kind"] for c in full["comments"]] == ["comment", "submit", "approve", "approve", "sign"]
    assert [v["number"] for v in full["versions"]] == [1, 2]
    assert any(n["title"].startswith("Dự thảo đã được duyệt và ký")
               for n in routing.list_notifications(people.spec_kt))


def test_return_with_comments_then_resubmit_from_the_first_step(routing, people, blobs, draft):
    draft_id = draft["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    routing.approve_draft(people.head_kt, draft_id)
    with pytest.raises(ValidationFailed):
        routing.return_draft(people.spec_vp, draft_id, "")
    returned = routing.return_draft(people.spec_vp, draft_id, "Sai thể thức phần nơi nhận")
    assert returned["status"] == "returned" and returned["step"] is None
    notes = [n for n in routing.list_notifications(people.spec_kt) if n["kind"] == "returned"]
    assert notes and "Sai thể thức phần nơi nhận" in notes[0]["body"]
    routing.add_draft_version(people.spec_kt, draft_id, pdf(blobs, "v2 sua the thuc"))
    again = routing.submit_draft(people.spec_kt, draft_id)
    assert again["status"] == "in_review" and again["step"]["key"] == "department"


def test_drafts_are_visible_only_to_participants(routing, people, draft):
    draft_id = draft["draft_id"]
    for outsider in (people.spec_kt2, people.spec_th, people.head_kt, people.leader):
        with pytest.raises(NotFound):
            routing.get_draft(outsider, draft_id)
        assert routing.list_drafts(outsider) == []
    routing.invite_commenters(people.spec_kt, draft_id, [people.spec_kt2.user_id])
    assert routing.get_draft(people.spec_kt2, draft_id)["draft_id"] == draft_id
    routing.submit_draft(people.spec_kt, draft_id)
    # the department head of the drafter's unit sees it now: it waits at their step
    assert [d["draft_id"] for d in routing.list_drafts(people.head_kt)] == [draft_id]
    assert routing.list_drafts(people.head_th) == [] and routing.list_drafts(people.leader) == []


def test_signing_unavailable_changes_nothing(routing, database, people, signer, draft):
    draft_id = draft["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    routing.approve_draft(people.head_kt, draft_id)
    routing.approve_draft(people.spec_vp, draft_id)
    signer.available = False
    with pytest.raises(SigningUnavailable) as err:
        routing.approve_draft(people.leader, draft_id)
    assert "dịch vụ ký số đang không sẵn sàng" in err.value.message_vi
    routing.sign = None
    with pytest.raises(SigningUnavailable):
        routing.approve_draft(people.leader, draft_id)
    after = routing.get_draft(people.leader, draft_id)
    assert (after["status"], after["step"]["key"], after["signed_sha256"]) == ("in_review", "leader", None)
    assert outbox_rows(database) == []


def test_delegate_approves_and_signs_only_inside_the_period(routing, database, people, clock, draft, signer):
    draft_id = draft["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    routing.approve_draft(people.head_kt, draft_id)
    routing.approve_draft(people.spec_vp, draft_id)
    routing.delegate(people.leader, people.deputy.user_id, "2026-03-09", "2026-03-14", ["approve"])
    with pytest.raises(NotFound):  # before the period the delegate is not a participant at all
        routing.approve_draft(people.deputy, draft_id)
    clock.set(2026, 3, 10, 9, 0)
    signed = routing.approve_draft(people.deputy, draft_id, "Đồng ý ban hành")
    assert (signed["signed_by"], signed["signed_on_behalf_of"]) == (people.deputy.user_id, people.leader.user_id)
    # the delegate signs with their own key; signing gets the verified delegation for the NĐ 30 signing line
    assert signer.calls[-1][1] == people.deputy.user_id
    assert signer.on_behalf_of[-1] == ({"user_id": people.leader.user_id, "full_name": "Nguyễn Văn An",
                                        "position": "Chủ tịch", "form": "TUQ."}, "Chánh Văn phòng")
    [event] = outbox_rows(database, "draft_signed")
    assert event["on_behalf_of"] == people.leader.user_id
    assert event["signer"]["competence"] == "TUQ. CHỦ TỊCH"
    assert event["signer"]["position"] == "Chánh Văn phòng"


def test_leader_signs_in_own_name_without_delegation_line(routing, people, signer, draft):
    routing.submit_draft(people.spec_kt, draft["draft_id"])
    routing.approve_draft(people.head_kt, draft["draft_id"])
    routing.approve_draft(people.spec_vp, draft["draft_id"])
    routing.approve_draft(people.leader, draft["draft_id"])
    assert signer.on_behalf_of == [(None, "Chủ tịch")]


def test_review_chain_is_per_agency_configuration(routing, people, blobs):
    with pytest.raises(ValidationFailed):  # the last step must be the leader's signature
        routing.configure(people.admin, review_chain=[{"key": "dept", "roles": ["department_head"]}])
    routing.configure(people.admin, review_chain=[
        {"key": "dept", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": True},
        {"key": "leader", "label": "Lãnh đạo cơ quan", "roles": ["leader"], "signs": True}])
    draft = routing.create_draft(people.spec_kt, "Thông báo lịch họp", pdf(blobs, "tb"), type_code="TB")
    routing.submit_draft(people.spec_kt, draft["draft_id"])
    assert routing.approve_draft(people.head_kt, draft["draft_id"])["step"]["key"] == "leader"
    assert routing.approve_draft(people.leader, draft["draft_id"])["status"] == "signed"


def test_draft_files_must_be_in_the_blob_store(routing, people):
    with pytest.raises(NotFound):
        routing.create_draft(people.spec_kt, "Không có tệp", "0" * 64)


def test_a_document_type_follows_its_own_chain(routing, people, blobs):
    """A decision (QD) goes through the office's legal review; a report (BC) goes straight to the department head
    and the leader; a type not named follows the agency's chain."""
    head_then_leader = [{"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"],
                         "same_unit": True}, {"key": "leader", "label": "Lãnh đạo", "roles": ["leader"], "signs": True}]
    with pytest.raises(ValidationFailed):  # each type's chain is checked like the agency's
        routing.configure(people.admin, review_chains={"BC": [{"key": "x", "roles": ["specialist"]}]})
    config = routing.configure(people.admin, review_chains={"BC": head_then_leader})
    assert [s["key"] for s in config["review_chains"]["BC"]] == ["department", "leader"]
    report = routing.create_draft(people.spec_kt, "Báo cáo quý I", pdf(blobs, "bc"), type_code="BC")["draft_id"]
    decision = routing.create_draft(people.spec_kt, "Quyết định", pdf(blobs, "qd"), type_code="QD")["draft_id"]
    routing.submit_draft(people.spec_kt, report)
    routing.submit_draft(people.spec_kt, decision)
    assert routing.approve_draft(people.head_kt, report)["step"]["key"] == "leader"
    assert routing.approve_draft(people.head_kt, decision)["step"]["key"] == "office"
    routing.configure(people.admin, review_chains=None)
    assert routing.get_config(people.admin)["review_chains"] == {}


def test_reviewers_initials_are_recorded_for_the_current_round(routing, people, draft):
    draft_id = draft["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    routing.approve_draft(people.head_kt, draft_id)
    initials = routing.get_draft(people.spec_kt, draft_id)["initials"]
    assert [(i["initials"], i["step"], i["version"]) for i in initials] == [("PTTP", "department", 1)]
    routing.return_draft(people.spec_vp, draft_id, "Sửa thể thức")
    routing.submit_draft(people.spec_kt, draft_id)  # a new round: the earlier initials no longer stand
    assert routing.get_draft(people.spec_kt, draft_id)["initials"] == []
    routing.approve_draft(people.head_kt, draft_id)
    routing.approve_draft(people.spec_vp, draft_id)
    assert [i["initials"] for i in routing.get_draft(people.spec_kt, draft_id)["initials"]] == ["PTTP", "NVPC"]


def test_the_deputy_in_charge_initials_before_the_leader_signs(routing, people, blobs, signer):
    """Tuyên Quang Đ12.1c: the drafter names the deputy in charge (phó phụ trách); the draft waits for that
    deputy alone, just before the signing step, and their approval is their initials."""
    deputy = people.leader.__class__(**{**vars(people.leader), "user_id": "u-vice", "username": "u-vice",
                                        "full_name": "Lý Văn Phó"})
    other = people.leader.__class__(**{**vars(people.leader), "user_id": "u-vice2", "username": "u-vice2",
                                       "full_name": "Mai Thị Hai"})
    routing.sync_staff(people.admin, [{"user_id": p.user_id, "username": p.username, "full_name": p.full_name,
                                       "unit": None, "roles": ["leader"]} for p in (deputy, other)])
    routing.configure(people.admin, review_chain=[
        {"key": "department", "label": "Lãnh đạo phòng", "roles": ["department_head"], "same_unit": True},
        {"key": "leader", "label": "Lãnh đạo", "roles": ["leader"], "signs": True}])
    draft_id = routing.create_draft(people.spec_kt, "Tờ trình", pdf(blobs, "tt"))["draft_id"]
    with pytest.raises(ValidationFailed):  # a deputy in charge is a leader
        routing.name_deputy(people.spec_kt, draft_id, people.head_kt.user_id)
    with pytest.raises(NotFound):  # the drafter names them; others do not even see the draft yet
        routing.name_deputy(people.head_kt, draft_id, deputy.user_id)
    assert routing.name_deputy(people.spec_kt, draft_id, deputy.user_id)["deputy_user_id"] == deputy.user_id
    routing.submit_draft(people.spec_kt, draft_id)
    view = routing.approve_draft(people.head_kt, draft_id)
    assert view["step"]["key"] == "deputy_in_charge" and view["step"]["user"] == deputy.user_id
    with pytest.raises(NotFound):  # another leader may not act at the deputy's step (nor skip it by signing)
        routing.approve_draft(other, draft_id)
    with pytest.raises(NotFound):
        routing.approve_draft(people.leader, draft_id)
    assert any(n["kind"] == "review" for n in routing.list_notifications(deputy))
    assert not any(n["kind"] == "review" for n in routing.list_notifications(other))
    view = routing.approve_draft(deputy, draft_id, "Ký tắt")
    assert view["step"]["key"] == "leader"
    assert routing.approve_draft(people.leader, draft_id)["status"] == "signed"
    initials = routing.get_draft(people.spec_kt, draft_id)["initials"]
    assert [(i["initials"], i["step"]) for i in initials] == [
        ("PTTP", "department"), ("LVP", "deputy_in_charge"), ("NVA", "leader")]


def test_the_drafts_list_asks_the_database_as_often_for_twelve_drafts_as_for_two(routing, database, people, blobs):
    """Every home page lists the drafts, and every draft in review of the agency is a candidate: its visibility, the
    caller's grants and its current version are read once for the list, not once a draft."""
    from sqlalchemy import event

    def statements(actor) -> tuple[int, int]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        event.listen(database.engine, "before_cursor_execute", count)
        try:
            shown = len(routing.list_drafts(actor))
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
        return len(seen), shown

    def drafts(count: int) -> None:
        for n in range(count):
            made = routing.create_draft(people.spec_kt, f"Báo cáo số {n}", pdf(blobs, f"bc {n}"))
            routing.submit_draft(people.spec_kt, made["draft_id"])
            if n % 2:  # on to the leader's signing step: the leader's authority is asked for those
                routing.approve_draft(people.head_kt, made["draft_id"])
                routing.approve_draft(people.spec_vp, made["draft_id"])

    # the office enters the leader's decisions (nhập thay): it sees what waits at the leader's step
    routing.delegate(people.leader, people.clerk.user_id, "2026-03-01T00:00", "2026-12-31T17:00", ["record"],
                     "Văn phòng cập nhật ý kiến bút phê")
    callers = (("outsider", people.spec_th), ("head", people.head_kt), ("leader", people.leader),
               ("entrant", people.clerk))
    drafts(2)
    few = {who: statements(actor) for who, actor in callers}
    drafts(10)
    many = {who: statements(actor) for who, actor in callers}
    assert [shown for _n, shown in few.values()] == [0, 2, 1, 1]
    assert [shown for _n, shown in many.values()] == [0, 12, 6, 6]
    assert {who: n for who, (n, _s) in many.items()} == {who: n for who, (n, _s) in few.items()}
