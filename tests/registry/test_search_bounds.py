"""Common-word queries are bounded: only RANK_CAP matches are ranked, totals are capped (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from services.common.errors import ValidationFailed
from services.registry import operations as ops
from services.registry import search as sr
from tests.registry.conftest import make_registry_db, numbering_year
from tests.registry.test_search import Blobs, ids_of, paper


def test_a_common_word_ranks_a_capped_set_and_reports_a_capped_total(db, clerk, registers, monkeypatch):
    blobs = Blobs()
    docs = [paper(db, clerk, blobs, n, f"Kế hoạch phòng chống dịch bệnh đợt {n}", issued_date=f"2026-01-{n:02d}")
            for n in range(1, 7)]
    monkeypatch.setattr(sr, "RANK_CAP", 4)
    monkeypatch.setattr(sr, "COUNT_CAP", 4)

    got = sr.search(db, clerk, {"text": "dich benh"}, size=3)
    assert got["total"] == 4 and got["total_capped"] is True
    assert len(got["items"]) == 3
    rest = sr.search(db, clerk, {"text": "dich benh"}, page=2, size=3)
    assert len(rest["items"]) == 1 and not ids_of(rest) & ids_of(got)       # the pages split the capped set
    assert (ids_of(got) | ids_of(rest)) <= set(docs)

    browse = sr.search(db, clerk, {"direction": "incoming"}, size=2)     # filters only: newest first, capped count
    assert browse["total"] == 4 and browse["total_capped"] is True
    assert [i["id"] for i in browse["items"]] == [docs[5], docs[4]]


def test_below_the_caps_totals_are_exact_and_the_best_match_comes_first(db, clerk, registers):
    blobs = Blobs()
    weak = paper(db, clerk, blobs, 1, "Báo cáo tổng hợp", "thiên tai được nhắc một lần", issued_date="2026-03-01")
    strong = paper(db, clerk, blobs, 2, "Thiên tai: phòng chống thiên tai", "thiên tai thiên tai thiên tai",
                   issued_date="2026-01-01")
    got = sr.search(db, clerk, {"text": "thien tai"})
    assert got["total"] == 2 and got["total_capped"] is False
    assert [i["id"] for i in got["items"]] == [strong, weak]


def test_a_bulk_loaded_batch_is_found_like_documents_indexed_one_by_one(db, clerk, registers):
    from services.registry.models import Document

    with db.session() as session:
        batch = [(Document(agency_id=clerk.agency_id, direction="incoming", state="registered", type_code="BC",
                           type_name="Báo cáo", code_number=str(n), code_notation="BC-UBND",
                           subject=f"Báo cáo số {n}", organ_name="Sở Nông nghiệp"),
                  "Tình hình sản xuất vụ Đông Xuân" if n % 2 else "Kết quả tiêm phòng gia súc") for n in range(1, 5)]
        for doc, _ in batch:
            session.add(doc)
        sr.index_new_batch(session, batch)
        ids = [doc.id for doc, _ in batch]
    assert ids_of(sr.search(db, clerk, {"text": "dong xuan"})) == {ids[0], ids[2]}
    assert ids_of(sr.search(db, clerk, {"text": "gia suc", "issuer": "Nông nghiệp"})) == {ids[1], ids[3]}


def test_a_postgresql_index_made_before_the_stored_vector_gets_it_at_the_next_start(clerk, admin, tmp_path,
                                                                                     request):
    from sqlalchemy import text

    db = make_registry_db("postgres", tmp_path, request)   # the stored vector exists on PostgreSQL only
    try:
        ops.create_register(db, admin, "incoming", numbering_year())
        with db.engine.begin() as conn:   # the schema as it was: no stored vector, an expression index
            conn.execute(text("ALTER TABLE search_text DROP COLUMN body_tsv"))
            conn.execute(text("CREATE INDEX ix_search_text_fts ON search_text USING gin "
                              "(to_tsvector('simple', body))"))
        doc = paper(db, clerk, Blobs(), 1, "Kế hoạch tổ chức Hội nghị tổng kết")   # indexed under the old schema
        db.create_all()                                                            # what every service start runs
        db.create_all()                                                            # and again: idempotent
        with db.engine.connect() as conn:
            indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'search_text'"))
                          .scalars())
        assert "ix_search_text_tsv" in indexes and "ix_search_text_fts" not in indexes
        assert ids_of(sr.search(db, clerk, {"text": "hoi nghi tong ket"})) == {doc}
    finally:
        db.dispose()


def test_term_scores_favour_more_occurrences_and_shorter_texts():
    often, once, once_long = sr.term_scores([[3, 2], [1, 1], [1, 1]], [100, 100, 400])
    assert often > once > once_long > 0
    assert sr.term_scores([], []) == []


def test_a_bad_filter_is_refused_in_vietnamese(db, clerk, registers):
    """Typed in the address bar or a stale link: the person gets what is wrong, not a system error."""
    for filters, field in (({"priority": "khẩn"}, "priority"), ({"priority": "9"}, "priority"),
                           ({"date_from": "31/02/2026"}, "date")):
        with pytest.raises(ValidationFailed) as refused:
            sr.search(db, clerk, filters)
        assert refused.value.details["field"] == field and "không" in refused.value.message_vi
