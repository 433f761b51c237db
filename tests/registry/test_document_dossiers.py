"""Documents show their dossiers (Đà Nẵng Đ5.4b item 5) and an issued document is filed in its handler's dossier
(Đà Nẵng Đ8.5), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from services.common.actor import Role
from services.common.errors import Forbidden
from services.registry import document_dossiers, dossier_items
from services.registry import dossiers as dz
from services.registry import operations as ops
from tests.registry.conftest import OTHER, person, sha
from tests.registry.test_flows import draft, fake_sign

RECIPIENTS = [{"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"}]
HANDLER = person("anhnv.vp", Role.SPECIALIST)
COLLEAGUE = person("binhtt.vp", Role.SPECIALIST)


def _incoming(db, clerk, n: int) -> str:
    return ops.register_paper_incoming(db, clerk, {
        "code_number": str(n), "code_notation": "SNV-TCBC", "subject": f"Về việc tuyển dụng đợt {n}",
        "organ_name": "Sở Nội vụ", "issued_date": "2026-02-01", "page_amount": 2}, [sha(f"scan{n}")])["id"]


def _dossier(db, keeper, n: int) -> str:
    return dz.open_dossier(db, keeper, title=f"Hồ sơ tuyển dụng {n}", file_notation=f"{n:02d}.TCCB", retention=10,
                           start_date="2026-01-01")["id"]


def test_the_document_lists_the_dossiers_that_hold_it(db, clerk, registers):
    incoming = _incoming(db, clerk, 41)
    assert document_dossiers.dossiers_holding(db, HANDLER, incoming) == []
    first, second = _dossier(db, HANDLER, 1), _dossier(db, COLLEAGUE, 2)
    dossier_items.add_document(db, HANDLER, first, incoming)
    dossier_items.add_document(db, COLLEAGUE, second, incoming)
    held = document_dossiers.dossiers_holding(db, clerk, incoming)
    assert {(d["file_notation"], d["keeper"], d["state_label"]) for d in held} == {
        ("01.TCCB", "anhnv.vp", "Đang mở"), ("02.TCCB", "binhtt.vp", "Đang mở")}
    with pytest.raises(Forbidden):  # another agency's data
        document_dossiers.dossiers_holding(db, person("x", Role.CLERK, agency=OTHER), incoming)


def test_the_issued_document_is_filed_in_the_handlers_dossier(db, edge, clerk, registers):
    incoming = _incoming(db, clerk, 42)
    mine, colleagues = _dossier(db, HANDLER, 3), _dossier(db, COLLEAGUE, 4)
    unrelated = _dossier(db, HANDLER, 5)
    dossier_items.add_document(db, HANDLER, mine, incoming)
    dossier_items.add_document(db, COLLEAGUE, colleagues, incoming)
    waiting = ops.submit_for_issue(db, edge, draft(71, answers=[incoming], handlers=[HANDLER.user_id]))
    assert document_dossiers.dossiers_holding(db, clerk, waiting["id"]) == []
    ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())

    held = document_dossiers.dossiers_holding(db, clerk, waiting["id"])
    assert [d["id"] for d in held] == [mine]  # the handler's dossier of the matter, not a colleague's, not another
    items = dz.get_dossier(db, HANDLER, mine)["items"]
    filed = next(i for i in items if i["document_pk"] == waiting["id"])
    assert filed["kind"] == "document" and filed["title"].startswith("Quyết định")
    assert unrelated not in [d["id"] for d in held]


def test_a_draft_filed_before_issue_becomes_the_issued_document(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(72, handlers=[HANDLER.user_id]))
    mine = _dossier(db, HANDLER, 6)
    dossier_items.add_document(db, HANDLER, mine, waiting["id"])
    assert next(i for i in dz.get_dossier(db, HANDLER, mine)["items"])["kind"] == "draft"
    issued = ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())
    [item] = dz.get_dossier(db, HANDLER, mine)["items"]
    assert item["kind"] == "document" and issued["code_number"] in item["title"]
