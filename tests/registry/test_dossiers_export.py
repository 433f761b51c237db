"""Export of a closed dossier: one PDF in chronological order + METS/PREMIS whose SHA-256 match the stored files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from defusedxml import ElementTree as ET

from services.common.actor import Role
from services.common.errors import ValidationFailed
from services.common.settings import CommonSettings
from services.registry import archive_export, dossier_items
from services.registry import dossiers as dz
from services.registry import operations as ops
from services.registry import search as sr
from services.storage.blobs import blob_store
from tests.registry.conftest import AGENCY, person
from tests.registry.test_search import text_pdf

NS = {"mets": archive_export.METS, "premis": archive_export.PREMIS, "xlink": archive_export.XLINK}


def test_export_hashes_match_the_stored_files_and_pdf_is_chronological(db, clerk, registers, tmp_path):
    store = blob_store(CommonSettings(agency_id=AGENCY, data_dir=tmp_path / "data"))
    keeper = person("anhnv.vp", Role.SPECIALIST)
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ phòng chống lụt bão năm 2026", file_notation="09.HC",
                              retention="Vĩnh viễn", start_date="2026-01-02")["id"]
    with pytest.raises(ValidationFailed, match="hồ sơ đang ở trạng thái “Đang mở”"):
        archive_export.export_dossier(db, keeper, dossier, store.read, tmp_path / "out")
    for n, issued in ((21, "2026-03-01"), (22, "2026-01-15"), (23, "2026-02-10")):
        sha = store.put_bytes(text_pdf(f"Van ban so {n} ngay {issued}")).sha256
        doc = ops.register_paper_incoming(db, clerk, {"code_number": str(n), "code_notation": "UBND-VX",
                                                      "subject": f"Văn bản {n}", "organ_name": "UBND huyện",
                                                      "issued_date": issued, "page_amount": 1}, [sha])["id"]
        dossier_items.add_document(db, keeper, dossier, doc)
    dz.close_dossier(db, keeper, dossier)

    got = archive_export.export_dossier(db, keeper, dossier, store.read, tmp_path / "out")
    root = Path(got["path"])
    mets = ET.parse(got["mets"]).getroot()
    entries = mets.findall(".//mets:fileGrp/mets:file", NS)
    assert len(entries) == 4   # three documents and the combined PDF
    for entry in entries:
        href = entry.find("mets:FLocat", NS).get(f"{{{archive_export.XLINK}}}href")
        on_disk = hashlib.sha256((root / href).read_bytes()).hexdigest()
        assert entry.get("CHECKSUMTYPE") == "SHA-256" and entry.get("CHECKSUM") == on_disk
        premis = mets.find(f".//mets:techMD[@ID='{entry.get('ADMID')}']//premis:messageDigest", NS)
        assert premis.text == on_disk
        if not href.endswith("hoso.pdf"):
            assert store.exists(on_disk)  # the export's file is byte for byte the stored blob
            assert hashlib.sha256(store.read(on_disk)).hexdigest() == entry.get("CHECKSUM")
    combined = Path(got["pdf"]).read_bytes()
    assert hashlib.sha256(combined).hexdigest() == got["pdf_sha256"]
    text = sr.pdf_text(combined)
    assert text.index("so 22") < text.index("so 23") < text.index("so 21")   # chronological order
    hoso = mets.find(".//HoSo")
    assert hoso.findtext("FileCode/FileNotation") == "09.HC" and hoso.findtext("Maintenance") == "Vĩnh viễn"
    assert (hoso.findtext("StartDate"), hoso.findtext("EndDate"), hoso.findtext("DocTotal")) == (
        "2026-01-02", "2026-03-01", "3")


def test_export_stores_pdf_mets_and_zip_in_the_blob_store(db, clerk, registers, tmp_path):
    import io
    import zipfile

    store = blob_store(CommonSettings(agency_id=AGENCY, data_dir=tmp_path / "data"))
    keeper = person("anhnv.vp", Role.SPECIALIST)
    dossier = dz.open_dossier(db, keeper, title="Hồ sơ tiếp công dân", file_notation="10.HC", retention="10 năm",
                              start_date="2026-01-02")["id"]
    sha = store.put_bytes(text_pdf("Thong bao tiep cong dan")).sha256
    doc = ops.register_paper_incoming(db, clerk, {"code_number": "31", "code_notation": "TB-UBND",
                                                  "subject": "Thông báo", "organ_name": "UBND huyện",
                                                  "issued_date": "2026-01-20", "page_amount": 1}, [sha])["id"]
    dossier_items.add_document(db, keeper, dossier, doc)
    dz.close_dossier(db, keeper, dossier)

    got = archive_export.export_dossier(db, keeper, dossier, store.read, tmp_path / "out",
                                        put=lambda data: store.put_bytes(data).sha256)
    blobs = got["blobs"]
    assert blobs["pdf"] == got["pdf_sha256"] and store.read(blobs["pdf"]) == Path(got["pdf"]).read_bytes()
    assert store.read(blobs["mets"]) == Path(got["mets"]).read_bytes()
    with zipfile.ZipFile(io.BytesIO(store.read(blobs["zip"]))) as zf:
        names = set(zf.namelist())
        assert f"{got['objid']}/METS.xml" in names
        assert f"{got['objid']}/representations/rep1/data/hoso.pdf" in names
        stored = [n for n in names if n.endswith(".pdf") and not n.endswith("hoso.pdf")]
        assert [hashlib.sha256(zf.read(n)).hexdigest() for n in stored] == [sha]
