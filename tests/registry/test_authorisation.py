"""Authorisation inside one agency (issue 21 item 5): a dossier obeys each document's own access rule when it is
read or exported, a refused upload is refused before storage, and list counts never reveal what the list hides."""

from __future__ import annotations

import pytest

from services.common.actor import Role
from services.common.errors import Forbidden, ValidationFailed
from services.registry import archive_export, dossier_items
from services.registry import dossiers as dz
from services.registry import operations as ops
from tests.registry.conftest import package, person


@pytest.fixture
def reader():
    return person("anhnv.vp", Role.SPECIALIST)


@pytest.fixture
def leader():
    return person("anlv.ld", Role.LEADER)


def test_a_dossier_shows_and_exports_only_what_the_reader_may_see(db, clerk, edge, reader, registers, tmp_path):
    # An incoming document still waiting for reception: only the clerks' desk sees it (domain.can_view).
    waiting = ops.receive_package(db, edge, package(31, subject="Về việc mật số 31"))["incoming_id"]
    dossier = dz.open_dossier(db, clerk, title="Hồ sơ văn thư", file_notation="11.HC", retention=10)["id"]
    dossier_items.add_document(db, clerk, dossier, waiting)
    assert [i["document_pk"] for i in dz.get_dossier(db, clerk, dossier)["items"]] == [waiting]
    seen = dz.get_dossier(db, reader, dossier)
    assert seen["items"] == [] and "mật số 31" not in str(seen)
    dz.close_dossier(db, clerk, dossier)
    with pytest.raises(Forbidden, match="không có quyền xem"):
        archive_export.export_dossier(db, reader, dossier, lambda _sha: b"", tmp_path / "out")
    _data, files = dz.closed_dossier_files(db, clerk, dossier)  # the clerk sees every document: exports it all
    assert [f["document_pk"] for f in files] == [waiting]


def test_adding_a_file_to_a_dossier_is_checked_before_the_file_is_stored(db, clerk, reader, registers):
    dossier = dz.open_dossier(db, clerk, title="Hồ sơ của văn thư", file_notation="12.HC", retention=10)["id"]
    dossier_items.check_can_add(db, clerk, dossier)
    with pytest.raises(Forbidden):  # not the keeper
        dossier_items.check_can_add(db, reader, dossier)
    mine = dz.open_dossier(db, reader, title="Hồ sơ của tôi", file_notation="13.HC", retention=10)["id"]
    dossier_items.check_can_add(db, reader, mine)
    dossier_items.add_document(db, reader, mine, ops.register_paper_incoming(
        db, clerk, {"code_number": "5", "code_notation": "SNV", "subject": "Về việc 5", "organ_name": "Sở Nội vụ",
                    "issued_date": "2026-01-05", "page_amount": 1}, ["ab" * 32])["id"])
    dz.close_dossier(db, reader, mine)
    with pytest.raises(ValidationFailed):  # closed: nothing more goes in
        dossier_items.check_can_add(db, reader, mine)


def test_list_totals_count_only_the_rows_the_reader_may_see(db, clerk, edge, leader, reader, registers):
    for n in (41, 42, 43):
        ops.receive_package(db, edge, package(n))
    everything = ops.list_waiting_reception(db, clerk, 1, 2)
    assert everything["total"] == 3 and len(everything["items"]) == 2
    # The leader may open the list but sees none of these documents: neither rows nor a count of them.
    hidden = ops.list_waiting_reception(db, leader, 1, 2)
    assert (hidden["total"], hidden["items"]) == (0, [])
    for who in (leader, reader):
        page = ops.list_waiting_issue(db, who, 1, 50)
        assert page["total"] == len(page["items"])
