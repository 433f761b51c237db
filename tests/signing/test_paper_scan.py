"""The scan of a paper original the leader signed by hand (Hưng Yên Đ6.3a, routing's paper.py) at issue: no fields
to fill, so the number, date and time go with the agency's seal signature at the top right of page 1; a PDF without
the leader's digital signature is still refused when it is not declared a scan."""

from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image, ImageDraw

from services.common.errors import ValidationFailed
from services.signing import layout, pades

NUMBER = "Số: 07/UBND-VP"
DATE = "Hưng Yên, ngày 04 tháng 12 năm 2026"


def scanned_page() -> bytes:
    """A page as a scanner makes it: one image, no text layer, no form."""
    page = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(page).text((200, 300), "CONG VAN - BAN GIAY DA KY", fill="black")
    out = io.BytesIO()
    page.save(out, "PDF", resolution=150)
    return out.getvalue()


def test_a_scan_is_sealed_with_its_number_and_date_as_text(signing, tmp_path):
    scan = signing.blobs.put_bytes(scanned_page()).sha256
    with pytest.raises(ValidationFailed) as refused:
        signing.fill_and_seal(scan, NUMBER, DATE, "07/UBND-VP")
    assert refused.value.code == "not_signed_by_leader"

    issued = signing.fill_and_seal(scan, NUMBER, DATE, "07/UBND-VP", operation_id="seal:o-1", paper_signed=True)
    assert signing.fill_and_seal(scan, NUMBER, DATE, "07/UBND-VP", operation_id="seal:o-1",
                                 paper_signed=True) == issued   # remembered by its operation
    report = signing.verify(issued["sha256"])
    [seal] = report["signatures"]
    assert seal["field"] == layout.SEAL_FIELD and seal["role"] == "seal", report
    assert seal["valid"] and seal["intact"] and seal["trusted"] and seal["coverage"] == "ENTIRE_FILE"
    pdf = signing.blobs.read(issued["sha256"])
    out = tmp_path / "ban-hanh.pdf"
    out.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "07/UBND-VP" in text and "Hưng Yên, ngày 04 tháng 12 năm 2026" in text
    assert layout.SEAL_FIELD in pades.field_names(pdf)
