"""Dossier life cycle on SQLite and PostgreSQL: file plan, open, add, close, submit, archive, and every refusal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.common.actor import Role
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.registry import dossier_domain, dossier_items, file_plans
from services.registry import dossiers as dz
from services.registry import operations as ops
from services.registry.dossier_models import Dossier
from tests.registry.conftest import OTHER, person, sha


@pytest.fixture
def leader():
    return person("anlv.ld", Role.LEADER)


@pytest.fixture
def keeper():
    return person("anhnv.vp", Role.SPECIALIST)


def paper(db, clerk, n: int, issued: str, pages: int = 2, subject: str | None = None) -> str:
    meta = {"code_number": str(n), "code_notation": "SNV-TCBC", "subject": subject or f"Về việc tuyển dụng đợt {n}",
            "organ_name": "Sở Nội vụ", "issued_date": issued, "page_amount": pages}
    return ops.register_paper_incoming(db, clerk, meta, [sha(f"scan{n}")])["id"]


def draft_doc(db, edge, n: int) -> str:
    return ops.submit_for_issue(db, edge, {"draft_id": f"dz-{n}", "type_code": "QĐ", "subject": f"Dự thảo {n}",
                                           "pdf_sha256": sha(f"dz{n}"), "handlers": ["anhnv.vp"]})["id"]


PLAN_HEADINGS = [{"code": "I", "title": "Tổ chức cán bộ", "abbreviation": "TCCB"},
                 {"code": "II", "title": "Hành chính, văn thư", "abbreviation": "HC"}]
PLAN_ITEMS = [{"heading": "I", "file_notation": "01.TCCB", "title": "Hồ sơ tuyển dụng công chức năm",
               "retention": "Vĩnh viễn", "creator": "Phòng Tổ chức"},
              {"heading": "II", "file_notation": "01.HC", "title": "Tập lưu công văn đi", "retention": "20 năm",
               "creator": "Văn thư"}]


def test_file_plan_is_approved_by_the_leader_before_dossiers_open_from_it(db, clerk, leader, keeper):
    plan = file_plans.create_file_plan(db, clerk, 2026, PLAN_HEADINGS, PLAN_ITEMS)
    assert [(i["file_notation"], i["retention_label"]) for i in plan["items"]] == [("01.HC", "20 năm"),
                                                                                 ("01.TCCB", "Vĩnh viễn")]
    item = next(i for i in plan["items"] if i["file_notation"] == "01.TCCB")
    with pytest.raises(ValidationFailed, match="chưa được lãnh đạo phê duyệt"):
        dz.open_dossier(db, keeper, plan_item_id=item["id"])
    with pytest.raises(Forbidden):
        file_plans.approve_file_plan(db, clerk, plan["id"])
    approved = file_plans.approve_file_plan(db, leader, plan["id"], "15/QĐ-UBND")
    assert approved["state"] == "approved" and approved["approved_by"] == leader.user_id
    opened = dz.open_dossier(db, keeper, plan_item_id=item["id"], start_date="2026-01-10")
    assert opened["file_code_text"] == "000.00.00.H60.2026.01.TCCB"
    assert opened["retention"] == "permanent" and opened["state"] == "open" and opened["creator"] == keeper.user_id
    with pytest.raises(ValidationFailed, match="trùng"):
        file_plans.create_file_plan(db, clerk, 2027, [], [PLAN_ITEMS[0], PLAN_ITEMS[0]])


def test_ad_hoc_dossier_needs_title_notation_and_retention(db, keeper):
    with pytest.raises(ValidationFailed, match="Thời hạn bảo quản"):
        dz.open_dossier(db, keeper, title="Hồ sơ hội nghị", file_notation="05.HC")
    with pytest.raises(ValidationFailed, match="Thời hạn bảo quản không hợp lệ"):
        dz.open_dossier(db, keeper, title="Hồ sơ hội nghị", file_notation="05.HC", retention="mãi mãi")
    with pytest.raises(ValidationFailed, match="Tiêu đề hồ sơ"):
        dz.open_dossier(db, keeper, title=" ", file_notation="05.HC", retention=10)
    got = dz.open_dossier(db, keeper, title="Hồ sơ hội nghị", file_notation="05.HC", retention="10 năm",
                          start_date="2026-02-01")
    assert got["retention_label"] == "10 năm" and got["file_code"]["file_catalog"] == 2026


def test_life_cycle_close_removes_duplicates_fills_totals_then_archive_accepts(db, clerk, edge, keeper, registers):
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ tuyển dụng", file_notation="02.TCCB", retention=70,
                              start_date="2026-01-02")["id"]
    late, early = paper(db, clerk, 7, "2026-03-05", pages=3), paper(db, clerk, 6, "2026-01-20", pages=2)
    dossier_items.add_document(db, keeper, dossier, late)
    dossier_items.add_document(db, keeper, dossier, late)  # at-least-once: no second entry
    got = dossier_items.add_document(db, keeper, dossier, early)
    assert [(i["ordinal"], i["document_pk"]) for i in got["items"]] == [(1, late), (2, early)]
    # the same scan added again as a media item is a duplicate, removed at closing
    dossier_items.add_item(db, keeper, dossier, "media", sha("scan7"), "Bản chụp lại", "2026-03-06", pages=3)
    dossier_items.add_item(db, keeper, dossier, "note", sha("note"), "Ghi chú họp", "2026-02-01", pages=1)
    closed = dz.close_dossier(db, keeper, dossier, title="Hồ sơ tuyển dụng công chức năm 2026")
    assert closed["state"] == "closed" and closed["title"] == "Hồ sơ tuyển dụng công chức năm 2026"
    assert [i["document_pk"] or i["title"] for i in closed["items"]] == [early, "Ghi chú họp", late]
    assert [i["ordinal"] for i in closed["items"]] == [1, 2, 3]
    assert (closed["doc_total"], closed["page_total"]) == (3, 6)
    assert (closed["start_date"], closed["end_date"]) == ("2026-01-02", "2026-03-05")
    assert closed["submission_due"] == "2027-03-05"
    assert dz.submit_to_archive(db, keeper, dossier)["state"] == "submitted"
    assert dz.archive_decide(db, clerk, dossier, accept=True)["state"] == "archived"


def test_closing_with_a_draft_inside_is_refused_unless_drafts_are_removed(db, clerk, edge, keeper, registers):
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ ban hành quy chế", file_notation="03.HC", retention=20)["id"]
    dossier_items.add_document(db, keeper, dossier, paper(db, clerk, 8, "2026-01-05"))
    dossier_items.add_document(db, keeper, dossier, draft_doc(db, edge, 1))
    with pytest.raises(ValidationFailed, match="còn 1 dự thảo") as refused:
        dz.close_dossier(db, keeper, dossier)
    assert refused.value.code == "dossier_has_drafts"
    closed = dz.close_dossier(db, keeper, dossier, remove_drafts=True)
    assert closed["doc_total"] == 1 and all(i["kind"] == "document" for i in closed["items"])


def test_closed_dossier_cannot_be_edited_and_open_one_cannot_be_transferred(db, clerk, keeper, registers):
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ thi đua", file_notation="04.TĐKT", retention=10)["id"]
    with pytest.raises(ValidationFailed, match="chưa kết thúc, không thể nộp lưu") as refused:
        dz.submit_to_archive(db, keeper, dossier)
    assert refused.value.code == "dossier_open"
    dossier_items.add_document(db, keeper, dossier, paper(db, clerk, 9, "2026-01-05"))
    dz.close_dossier(db, keeper, dossier)
    other_doc = paper(db, clerk, 10, "2026-01-06")
    for attempt in (lambda: dossier_items.add_document(db, keeper, dossier, other_doc),
                    lambda: dz.update_dossier(db, keeper, dossier, {"title": "Tên khác"}),
                    lambda: dossier_items.add_item(db, keeper, dossier, "note", sha("n"), "Ghi chú")):
        with pytest.raises(ValidationFailed, match="Hồ sơ đã kết thúc, không được sửa đổi"):
            attempt()


def test_archive_returns_with_a_reason_and_the_keeper_fixes_and_resubmits(db, clerk, keeper, registers):
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ hội nghị", file_notation="06.HC", retention=10)["id"]
    dossier_items.add_document(db, keeper, dossier, paper(db, clerk, 11, "2026-01-05"))
    dz.close_dossier(db, keeper, dossier)
    dz.submit_to_archive(db, keeper, dossier)
    with pytest.raises(Forbidden):
        dz.archive_decide(db, keeper, dossier, accept=True)
    with pytest.raises(ValidationFailed, match="lý do"):
        dz.archive_decide(db, clerk, dossier, accept=False)
    returned = dz.archive_decide(db, clerk, dossier, accept=False, reason="Thời hạn bảo quản chưa đúng danh mục")
    assert returned["state"] == "open" and returned["return_reason"].startswith("Thời hạn")
    dz.update_dossier(db, keeper, dossier, {"retention": "20 năm"})
    dz.close_dossier(db, keeper, dossier)
    assert dz.submit_to_archive(db, keeper, dossier)["state"] == "submitted"


def test_reminder_lists_closed_dossiers_due_within_30_days(db, clerk, keeper, registers):
    ids = []
    for n, end in ((12, "2025-02-10"), (13, "2025-06-01")):
        d = dz.open_dossier(db, keeper, title=f"Hồ sơ {n}", file_notation=f"{n}.HC", retention=10,
                            start_date="2025-01-01")["id"]
        dossier_items.add_document(db, keeper, d, paper(db, clerk, n, "2025-01-05"))
        dz.close_dossier(db, keeper, d, end_date=end)
        ids.append(d)
    due = dz.due_for_submission(db, clerk, today=date(2026, 1, 20))
    assert [d["id"] for d in due] == [ids[0]]   # due 2026-02-10, inside 30 days; the other one in June
    assert dz.due_for_submission(db, clerk, today=date(2026, 5, 10))[-1]["id"] == ids[1]
    assert dossier_domain.submission_due(date(2026, 11, 30), construction=True) == date(2027, 2, 28)
    assert dossier_domain.submission_due(date(2026, 3, 1), construction=False) - date(2026, 3, 1) == timedelta(days=365)


def test_other_agency_and_invisible_drafts_cannot_be_added(db, clerk, edge, keeper, registers):
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ A", file_notation="07.HC", retention=5)["id"]
    stranger = person("binh.dn", Role.SPECIALIST, agency=OTHER)
    with pytest.raises(Forbidden):
        dz.get_dossier(db, stranger, dossier)
    outsider = person("chitt.kt", Role.SPECIALIST)   # same agency, not a handler of the draft
    with pytest.raises(Forbidden):
        dossier_items.add_document(db, outsider, dossier, paper(db, clerk, 14, "2026-01-05"))  # not the keeper
    mine = dz.open_dossier(db, outsider, title="Hồ sơ B", file_notation="08.HC", retention=5)["id"]
    with pytest.raises(Forbidden, match="không có quyền xem"):
        dossier_items.add_document(db, outsider, mine, draft_doc(db, edge, 2))
    with pytest.raises(NotFound):
        dossier_items.add_document(db, outsider, mine, "no-such-document")
    with db.session() as session:
        assert session.get(Dossier, mine).doc_total == 0


def test_the_keeper_arranges_the_order_and_closing_keeps_it(db, clerk, keeper, registers):
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ giải quyết khiếu nại", file_notation="07.TTr",
                              retention=10, start_date="2026-01-02")["id"]
    first, second, third = (paper(db, clerk, n, issued) for n, issued in
                            ((11, "2026-03-01"), (12, "2026-01-10"), (13, "2026-02-01")))
    for doc in (first, second, third):
        dossier_items.add_document(db, keeper, dossier, doc)
    items = {i["document_pk"]: i["id"] for i in dz.get_dossier(db, keeper, dossier)["items"]}
    moved = dossier_items.move_item(db, keeper, dossier, items[third], 1)
    assert [i["document_pk"] for i in moved["items"]] == [third, first, second]
    assert [i["ordinal"] for i in moved["items"]] == [1, 2, 3]
    assert [i["document_pk"] for i in dossier_items.move_item(db, keeper, dossier, items[first], 99)["items"]] == [
        third, second, first]                                           # past the end: last
    with pytest.raises(NotFound, match="Không tìm thấy văn bản trong hồ sơ"):
        dossier_items.move_item(db, keeper, dossier, "khong-co", 1)
    with pytest.raises(Forbidden):
        dossier_items.move_item(db, person("chitt.kt", Role.SPECIALIST), dossier, items[first], 1)
    closed = dz.close_dossier(db, keeper, dossier)
    assert [i["document_pk"] for i in closed["items"]] == [third, second, first]   # not re-sorted by date
    with pytest.raises(ValidationFailed, match="Hồ sơ đã kết thúc, không được sửa đổi"):
        dossier_items.move_item(db, keeper, dossier, items[first], 1)
