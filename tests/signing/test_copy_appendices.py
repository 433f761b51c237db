"""A sao y copies the document's appendices too (NĐ 30/2020/NĐ-CP Điều 25–27): the registry makes the copy and the
real signing workflow seals each PDF (main and appendices) with the copy form; an appendix that is not a PDF is
copied as it is. The same request again, or a redelivered seal, makes nothing new."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from sqlalchemy import func, select

from services.common.actor import Role, system_actor
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.numbering import numbering_year
from services.signing import layout, models, pades
from tests.e2e.helpers import vietnamese_pdf
from tests.registry.conftest import AGENCY, make_registry_db, package, person

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def registry_db(request, tmp_path):
    (tmp_path / "registry").mkdir()
    database = make_registry_db("sqlite", tmp_path / "registry", request)
    yield database
    database.dispose()


def _file(name: str, content_type: str, data: bytes, description: str = "") -> dict:
    return {"name": name, "content_type": content_type, "size": len(data), "description": description,
            "sha256": hashlib.sha256(data).hexdigest()}


def _operations(signing) -> int:
    with signing.db.session() as s:
        return s.execute(select(func.count()).select_from(models.Operation)).scalar_one()


def test_a_sao_y_copies_and_seals_every_appendix_and_is_made_once(signing, registry_db, tmp_path):
    clerk, admin = person("thuvt.vp", Role.CLERK), person("quantri", Role.ADMIN)
    ops.set_agency_profile(registry_db, admin, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
    incoming = ops.create_register(registry_db, admin, Direction.INCOMING, numbering_year())["id"]
    copies = ops.create_register(registry_db, admin, Direction.COPIES, numbering_year())["id"]
    # the source: an incoming document with its main file and three appendices, the Word one between the PDFs;
    # "Phụ lục 10" comes last as in the package, not before "Phụ lục 2" as a sort by name would put it
    docx = b"PK\x03\x04 Word appendix: danh sach"
    contents = [vietnamese_pdf("ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG", "Công văn"),
                vietnamese_pdf("PHỤ LỤC 1", "Danh sách đơn vị"), docx, vietnamese_pdf("PHỤ LỤC 10", "Kinh phí")]
    files = [_file("cv.pdf", "application/pdf", contents[0]),
             _file("Phụ lục 1.pdf", "application/pdf", contents[1], "Phụ lục 1"),
             _file("Phụ lục 2.docx", DOCX, contents[2], "Phụ lục 2"),
             _file("Phụ lục 10.pdf", "application/pdf", contents[3], "Phụ lục 10")]
    for data in contents:
        signing.blobs.put_bytes(data)
    received = ops.receive_package(registry_db, system_actor(AGENCY, "interconnect"),
                                   package(31, attachments=files))["incoming_id"]
    ops.accept_incoming(registry_db, clerk, received, incoming)

    calls: list = []

    def seal(pdf, text, operation_id=None):
        calls.append((pdf, operation_id))
        return signing.seal_copy(pdf, text, operation_id=operation_id)

    made = ops.make_copy(registry_db, clerk, received, "SY", copies, seal, request_key="form:k1")
    copy = ops.get_document(registry_db, clerk, made["id"])
    got = copy["attachments"]
    assert len(got) == 4 and len(calls) == 3                     # three PDFs sealed, the Word file copied as is
    assert [a["role"] for a in got] == ["signed", "appendix_signed", "appendix", "appendix_signed"]
    assert [a["name"] for a in got[1:]] == ["Phụ lục 1.pdf", "Phụ lục 2.docx", "Phụ lục 10.pdf"]
    assert got[2]["sha256"] == files[2]["sha256"] == hashlib.sha256(signing.blobs.read(got[2]["sha256"])).hexdigest()
    assert (got[2]["content_type"], got[2]["size"]) == (DOCX, len(docx))
    for a, source in zip([got[0], got[1], got[3]], [contents[0], contents[1], contents[3]], strict=True):
        report = signing.verify(a["sha256"])                      # pyHanko, as everywhere in Công Văn
        [signature] = report["signatures"]
        assert report["legally_valid"] and signature["field"] == layout.COPY_FIELD, report
        assert signature["valid"] and signature["intact"] and signature["coverage"] == "ENTIRE_FILE"
        pdf = signing.blobs.read(a["sha256"])
        assert pdf != source and layout.COPY_FIELD in pades.field_names(pdf)
        out = tmp_path / f"{a['sha256'][:8]}.pdf"
        out.write_bytes(pdf)
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
        assert "SAO Y" in text and "01/SY-UBND" in text          # the same copy form on each file
    # each seal is the business operation: this copy's number, and which file
    source_ids = {a["name"]: a["id"] for a in ops.get_document(registry_db, clerk, received)["attachments"]}
    operation = f"copy:{received}:SY:{copies}:1"
    assert [op for _, op in calls] == [operation, f"{operation}:appendix:{source_ids['Phụ lục 1.pdf']}",
                                       f"{operation}:appendix:{source_ids['Phụ lục 10.pdf']}"]

    # the same request again (a second click, a redelivered message): the first copy, nothing sealed or stored
    operations = _operations(signing)
    again = ops.make_copy(registry_db, clerk, received, "SY", copies, seal, request_key="form:k1")
    assert again["id"] == made["id"] and again["duplicate"] and len(calls) == 3
    assert [d["id"] for d in ops.list_copies(registry_db, clerk)["items"]] == [made["id"]]
    # a seal redelivered later (its text has a later time) finds the signature made for its operation
    for (pdf, op), a in zip(calls, [got[0], got[1], got[3]], strict=True):
        text = "SAO Y\nỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG\nSố: 01/SY-UBND\n2099-01-01T00:00:00+07:00"
        assert signing.seal_copy(pdf, text, operation_id=op)["sha256"] == a["sha256"]
    assert _operations(signing) == operations

    # a trích sao copies only the uploaded extract, as before
    extract = signing.blobs.put_bytes(vietnamese_pdf("TRÍCH SAO", "Phần được trích")).sha256
    part = ops.make_copy(registry_db, clerk, received, "TrS", copies, seal, extract)
    assert [a["role"] for a in ops.get_document(registry_db, clerk, part["id"])["attachments"]] == ["signed"]
    assert calls[-1][0] == extract and len(calls) == 4


def test_a_paper_arrival_is_copied_from_its_scan_and_sealed(signing, registry_db):
    """NĐ 30 Điều 25.1.c: a copy from paper is the digitised paper document sealed by the agency. A paper (here
    e-mailed) arrival's scan is the copy's main file; its appendix follows, sealed too."""
    clerk, admin = person("thuvt.vp", Role.CLERK), person("quantri", Role.ADMIN)
    ops.set_agency_profile(registry_db, admin, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
    ops.create_register(registry_db, admin, Direction.INCOMING, numbering_year())
    copies = ops.create_register(registry_db, admin, Direction.COPIES, numbering_year())["id"]
    contents = [vietnamese_pdf("SỞ NỘI VỤ", "Bản scan công văn giấy"), vietnamese_pdf("PHỤ LỤC 01", "Danh sách")]
    for data in contents:
        signing.blobs.put_bytes(data)
    files = [{**_file("scan-cv-45.pdf", "application/pdf", contents[0]), "role": "scan"},
             {**_file("Phụ lục 01.pdf", "application/pdf", contents[1], "Phụ lục 01"), "role": "appendix"}]
    paper = {"code_number": "45", "code_notation": "SNV-TCBC", "subject": "Về việc tuyển dụng công chức",
             "organ_name": "Sở Nội vụ", "issued_date": "2026-01-03", "channel": "email"}
    arrival = ops.register_paper_incoming(registry_db, clerk, paper, files)["id"]

    made = ops.make_copy(registry_db, clerk, arrival, "SY", copies, signing.seal_copy, request_key="form:paper")
    got = ops.get_document(registry_db, clerk, made["id"])["attachments"]
    assert [a["role"] for a in got] == ["signed", "appendix_signed"]
    for a, source in zip(got, contents, strict=True):
        report = signing.verify(a["sha256"])
        [signature] = report["signatures"]
        assert report["legally_valid"] and signature["field"] == layout.COPY_FIELD, report
        assert signing.blobs.read(a["sha256"]) != source
    assert made["code_notation"] == "SY-UBND" and made["number"] == 1
