"""Search on SQLite FTS5 and PostgreSQL full text: filters, diacritics-insensitive words, PDF contents, visibility."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from services.common.actor import Role
from services.common.errors import Forbidden
from services.registry import operations as ops
from services.registry import search as sr
from services.registry.models import Document
from tests.registry.conftest import AGENCY, OTHER, make_registry_db, person

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_pdf(*lines: str) -> bytes:
    """A one-page PDF with a real text layer (Vietnamese glyphs embedded)."""
    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", FONT))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setFont("DejaVu", 14)
    for n, line in enumerate(lines):
        pdf.drawString(72, 760 - 24 * n, line)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


class Blobs(dict):
    """sha256 -> bytes, the shape of the blob store's read()."""

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self[digest] = data
        return digest

    def fetch(self, sha256: str) -> bytes:
        return self[sha256]


def paper(db, clerk, blobs: Blobs, n: int, subject: str, body: str = "", **meta) -> str:
    pdf = blobs.put(text_pdf(subject, body) if body else text_pdf(subject))
    data = {"code_number": str(n), "code_notation": meta.pop("notation", "QĐ-UBND"), "subject": subject,
            "organ_name": meta.pop("organ_name", "Ủy ban nhân dân huyện Sơn Dương"),
            "issued_date": meta.pop("issued_date", "2026-01-05"), **meta}
    doc = ops.register_paper_incoming(db, clerk, data, [pdf])["id"]
    sr.index_document(db, doc, blobs.fetch, ocr=False)
    return doc


@pytest.fixture
def corpus(db, clerk, registers):
    blobs = Blobs()
    ids = {
        "qd": paper(db, clerk, blobs, 1, "Quyết định điều chỉnh quy hoạch sử dụng đất",
                    "Giao Phòng Tài nguyên và Môi trường thực hiện", signer_full_name="Nguyễn Văn An",
                    type_code="QĐ", priority=2, issued_date="2026-01-05"),
        "tb": paper(db, clerk, blobs, 2, "Thông báo lịch tiếp công dân", "Đồng chí Chủ tịch tiếp công dân",
                    notation="TB-UBND", signer_full_name="Trần Thị Bình", type_code="TB",
                    organ_name="Sở Tư pháp", issued_date="2026-02-10"),
        "cv": paper(db, clerk, blobs, 3, "Về việc phòng chống lụt bão năm 2026",
                    "Đề nghị các xã rà soát đê điều và hồ chứa thủy lợi", notation="UBND-VX",
                    issued_date="2026-03-01"),
    }
    return ids


def ids_of(result: dict) -> set[str]:
    return {i["id"] for i in result["items"]}


def test_words_without_diacritics_find_the_vietnamese_text(db, clerk, corpus):
    assert ids_of(sr.search(db, clerk, {"text": "quyet dinh"})) == {corpus["qd"]}
    assert ids_of(sr.search(db, clerk, {"text": "QUYẾT ĐỊNH quy hoạch"})) == {corpus["qd"]}
    assert ids_of(sr.search(db, clerk, {"text": "đe dieu"})) == {corpus["cv"]}      # only in the PDF's text
    assert ids_of(sr.search(db, clerk, {"text": "tai nguyen moi truong"})) == {corpus["qd"]}
    assert sr.search(db, clerk, {"text": "quyet dinh khong co"})["total"] == 0    # every word must occur


def test_attribute_filters(db, clerk, corpus):
    assert ids_of(sr.search(db, clerk, {"number": "02", "notation": "TB-UBND"})) == {corpus["tb"]}
    assert ids_of(sr.search(db, clerk, {"issuer": "Sở Tư pháp"})) == {corpus["tb"]}
    assert ids_of(sr.search(db, clerk, {"signer": "Nguyễn Văn"})) == {corpus["qd"]}
    assert ids_of(sr.search(db, clerk, {"type_code": "TB"})) == {corpus["tb"]}
    assert ids_of(sr.search(db, clerk, {"priority": 2})) == {corpus["qd"]}
    assert ids_of(sr.search(db, clerk, {"date_from": "2026-02-01", "date_to": "2026-02-28"})) == {corpus["tb"]}
    assert ids_of(sr.search(db, clerk, {"state": "registered", "direction": "incoming"})) == set(corpus.values())
    got = sr.search(db, clerk, {"text": "cong dan", "date_from": "2026-01-01", "issuer": "Tư pháp"})
    assert ids_of(got) == {corpus["tb"]} and got["total"] == 1


def test_drafts_are_found_only_by_their_handlers_and_the_clerk(db, clerk, edge, corpus):
    draft = ops.submit_for_issue(db, edge, {"draft_id": "s-1", "type_code": "QĐ", "handlers": ["anhnv.vp"],
                                            "subject": "Quyết định khen thưởng tập thể", "pdf_sha256": "a" * 64})
    sr.index_document(db, draft["id"])
    handler, colleague = person("anhnv.vp", Role.SPECIALIST), person("chitt.kt", Role.SPECIALIST)
    assert draft["id"] in ids_of(sr.search(db, handler, {"text": "khen thuong"}))
    assert draft["id"] in ids_of(sr.search(db, clerk, {"text": "khen thuong"}))
    assert sr.search(db, colleague, {"text": "khen thuong"})["total"] == 0
    assert ids_of(sr.search(db, colleague, {"text": "quyet dinh"})) == {corpus["qd"]}


def test_another_agency_never_sees_results(db, corpus, request, tmp_path):
    stranger = person("binh.dn", Role.CLERK, agency=OTHER)
    with pytest.raises(Forbidden):
        sr.search(db, stranger, {"text": "quyet dinh"})
    # the other agency's own database has none of these documents
    other_db = make_registry_db("sqlite", tmp_path / "other", request, agency=OTHER)
    try:
        assert sr.search(other_db, stranger, {"text": "quyet dinh"})["total"] == 0
    finally:
        other_db.dispose()
    assert AGENCY != OTHER


def test_index_pending_picks_up_new_and_changed_documents(db, clerk, registers):
    blobs = Blobs()
    doc = ops.register_paper_incoming(db, clerk, {"code_number": "9", "code_notation": "KH-UBND",
                                                  "subject": "Kế hoạch chuyển đổi số", "organ_name": "UBND"},
                                      [blobs.put(text_pdf("x"))])["id"]
    assert sr.search(db, clerk, {"text": "chuyen doi so"})["total"] == 0
    assert sr.index_pending(db, blobs.fetch, ocr=False) >= 1
    assert ids_of(sr.search(db, clerk, {"text": "chuyen doi so"})) == {doc}
    assert sr.index_pending(db, blobs.fetch, ocr=False) == 0
    assert sr.index_document(db, "khong-co-van-ban-nay", blobs.fetch) is False  # a document that is gone


def test_a_changed_document_is_indexed_again_in_its_one_row(db, clerk, registers):
    blobs = Blobs()
    doc = ops.register_paper_incoming(db, clerk, {"code_number": "10", "code_notation": "KH-UBND",
                                                  "subject": "Kế hoạch chuyển đổi số", "organ_name": "UBND"},
                                      [blobs.put(text_pdf("Phu luc kinh phi nam nay"))])["id"]
    assert sr.index_pending(db, blobs.fetch, ocr=False) >= 1
    with db.session() as session:
        found = session.get(Document, doc)
        found.subject, found.updated_at = "Kế hoạch phòng chống thiên tai", found.updated_at + timedelta(seconds=1)
    assert sr.index_pending(db, blobs.fetch, ocr=False) == 1
    assert ids_of(sr.search(db, clerk, {"text": "phong chong thien tai"})) == {doc}
    assert sr.search(db, clerk, {"text": "chuyen doi so"})["total"] == 0
    assert ids_of(sr.search(db, clerk, {"text": "kinh phi"})) == {doc}  # the file's text is indexed again too
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(sr.SearchText)
                              .where(sr.SearchText.document_pk == doc)) == 1
    assert sr.index_pending(db, blobs.fetch, ocr=False) == 0
