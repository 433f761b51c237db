"""An electronic copy (sao y; NĐ 30/2020/NĐ-CP Điều 25–27, Phụ lục I Phần II mục II.2): the copy form at the top right
of page 1, sealed with the agency's key over the issued document, whose own signatures stay intact."""

from __future__ import annotations

import subprocess

from services.signing import layout, pades
from tests.signing.test_flow import issue

FORM = "SAO Y\nỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG\nSố: 05/SY-UBND\n2026-12-04T09:15:00+07:00"


def test_a_copy_is_sealed_with_its_form_over_the_issued_document(signing, draft_bytes, tmp_path):
    issued = issue(signing, draft_bytes)
    copy = signing.seal_copy(issued["sha256"], FORM, operation_id="copy:1:SY:r:5")
    assert signing.seal_copy(issued["sha256"], FORM, operation_id="copy:1:SY:r:5") == copy   # remembered
    report = signing.verify(copy["sha256"])
    # the copy is a new document: the original's signatures are drawn into its pages (flattened), and its one
    # signature is the copying agency's seal, valid over the whole file
    [seal] = report["signatures"]
    assert seal["field"] == layout.COPY_FIELD and seal["valid"] and seal["intact"] and seal["trusted"], report
    assert seal["coverage"] == "ENTIRE_FILE"
    pdf = signing.blobs.read(copy["sha256"])
    out = tmp_path / "ban-sao.pdf"
    out.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "SAO Y" in text and "05/SY-UBND" in text
    assert layout.COPY_FIELD in pades.field_names(pdf)
