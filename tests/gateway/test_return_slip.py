"""The Phiếu trả's words (gateway/return_slip.py) and its PDF (services/reporting/pdf.py), from what the registry
recorded: a document with or without number and date, each defect, the rule quoted, Vietnam dates."""

from __future__ import annotations

import subprocess
import tempfile

from gateway.return_slip import slip_text
from services.registry.paper import RETURN_RULE
from services.reporting.pdf import letter_pdf

SLIP = {"document": {"organ_name": "Sở Y tế thành phố Đà Nẵng", "subject": "Đề nghị hỗ trợ kinh phí",
                     "received_at": "2026-11-19T18:30:00+00:00", "source_channel": "paper"},
        "agency": {"organ_name": "Ủy ban nhân dân thành phố Đà Nẵng", "place": "Đà Nẵng"},
        "defects": ["Không có số, ký hiệu văn bản", "Không đóng dấu"], "note": "Đề nghị đóng dấu",
        "returned_at": "2026-11-19T18:45:00+00:00", "rule": RETURN_RULE, "returned_by": "namtv.vpdn"}


def test_the_slip_names_the_document_its_defects_and_the_rule_in_vietnam_time():
    place_date, paragraphs = slip_text(SLIP, "Trần Văn Nam")
    assert place_date == "Đà Nẵng, ngày 20 tháng 11 năm 2026"  # 01:45 in Vietnam on the 20th
    assert paragraphs[0] == "Kính gửi: Sở Y tế thành phố Đà Nẵng."
    assert ("nhận được văn bản không ghi số, ký hiệu (không ghi ngày) của Sở Y tế thành phố Đà Nẵng về việc: Đề "
            "nghị hỗ trợ kinh phí, đến qua đường bưu chính hoặc trực tiếp ngày 20/11/2026.") in paragraphs[1]
    assert "– Không đóng dấu." in paragraphs and "Ghi chú: Đề nghị đóng dấu" in paragraphs
    numbered = {**SLIP, "document": {**SLIP["document"], "number_and_notation": "05/SYT-VP",
                                     "issued_date": "2026-11-18", "source_channel": "fax"}}
    assert "văn bản số 05/SYT-VP ngày 18/11/2026" in slip_text(numbered, "A")[1][1]


def test_the_pdf_carries_the_vietnamese_text():
    place_date, paragraphs = slip_text(SLIP, "Trần Văn Nam")
    pdf = letter_pdf("Ủy ban nhân dân thành phố Đà Nẵng", place_date, "PHIẾU TRẢ VĂN BẢN", paragraphs,
                     ["NGƯỜI LẬP PHIẾU", "THỦ TRƯỞNG ĐƠN VỊ"], ["Trần Văn Nam"])
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        text = subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True, check=True).stdout
    assert "PHIẾU TRẢ VĂN BẢN" in text and "Độc lập - Tự do - Hạnh phúc" in text and "Trần Văn Nam" in text
