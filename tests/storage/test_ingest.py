"""Upload validation while streaming (services.storage.ingest), on both backends."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook
from reportlab.pdfgen import canvas

from services.common.errors import ValidationFailed
from services.storage.ingest import ingest

MB = 1024 * 1024


class LazyPdfStream:
    """`size` bytes that start like a PDF, produced chunk by chunk so the test never holds them all."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

    def read(self, n: int = -1) -> bytes:
        n = min(self.left, 1 * MB if n is None or n < 0 else n)
        if n <= 0:
            return b""
        data, self.head = (self.head + b"0" * n)[:n], b""
        self.left -= n
        return data


def real_pdf() -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, "Cong van so 12")
    c.save()
    return out.getvalue()


def real_xlsx() -> bytes:
    wb = Workbook()
    wb.active["A1"] = "Sổ văn bản đến"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def minimal_docx(extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def test_a_vietnamese_name_is_kept_for_display_and_stored_as_ascii(store):
    data = real_pdf()
    result = ingest(store, io.BytesIO(data), "Công văn số 12 – Sở Nội vụ.pdf")
    assert result.display_name == "Công văn số 12 – Sở Nội vụ.pdf"
    assert result.stored_name == "CongVanSo12SoNoiVu.pdf"
    assert result.stored_name.isascii() and len(result.stored_name) <= 50
    assert result.content_type == "application/pdf"
    assert result.size == len(data)
    assert store.read(result.sha256) == data


def test_a_pdf_that_is_really_an_exe_is_refused_and_not_stored(store):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 5000
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(exe), "x.pdf")
    assert err.value.message_vi == "Tệp 'x.pdf' không phải PDF (nội dung là tệp thực thi Windows)."
    assert err.value.code == "content_mismatch"
    assert list(store.iter_blobs()) == []


def test_50_mb_plus_one_byte_is_refused_and_not_stored(store):
    with pytest.raises(ValidationFailed) as err:
        ingest(store, LazyPdfStream(50 * MB + 1), "Hồ sơ lớn.pdf")
    assert err.value.message_vi == "Tệp 'Hồ sơ lớn.pdf' vượt quá 50 MB."
    assert err.value.code == "too_large"
    assert list(store.iter_blobs()) == []


def test_memory_stays_bounded_while_50_mb_stream_through(store):
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = ingest(store, LazyPdfStream(50 * MB), "Bản quét hồ sơ.pdf")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size == 50 * MB  # exactly at the limit is accepted
    assert peak - before < 20 * MB, f"peak Python allocation grew by {(peak - before) / MB:.1f} MB"
    with store.open_range(result.sha256, 50 * MB - 4) as f:
        assert f.read() == b"0000"
    store.delete(result.sha256)  # 50 MB less in moto's memory


def test_files_to_sign_must_be_pdf(store):
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(minimal_docx()), "Dự thảo.docx", purpose="to_sign")
    assert "phải là PDF" in err.value.message_vi
    assert ingest(store, io.BytesIO(real_pdf()), "Dự thảo.pdf", purpose="to_sign").content_type == "application/pdf"


def test_office_files_are_recognised_inside_their_zip(store):
    docx = ingest(store, io.BytesIO(minimal_docx()), "Tờ trình.docx")
    assert docx.content_type.endswith("wordprocessingml.document")
    xlsx = ingest(store, io.BytesIO(real_xlsx()), "Sổ đăng ký.xlsx")
    assert xlsx.content_type.endswith("spreadsheetml.sheet")
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(real_xlsx()), "Giả mạo.docx")
    assert "nội dung là bảng tính Excel (xlsx)" in err.value.message_vi
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(plain_zip.getvalue()), "Báo cáo.docx")
    assert "tệp nén ZIP" in err.value.message_vi


def test_an_archive_that_expands_beyond_the_bound_is_refused(store):
    bomb = minimal_docx({"word/media/padding.bin": b"\x00" * (30 * MB)})  # ~30 KB packed, 30 MB unpacked
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(bomb), "Bom nén.docx")
    assert err.value.code == "archive_bomb"
    assert "giải ra" in err.value.message_vi
    assert list(store.iter_blobs()) == []


def test_disallowed_or_unrecognisable_files_are_refused(store):
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(b"#!/bin/sh\n"), "cai_dat.sh")
    assert "không được phép" in err.value.message_vi
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(b"\x00\x01\x02" * 100), "ghi_chu.txt")
    assert "dữ liệu nhị phân" in err.value.message_vi
    with pytest.raises(ValidationFailed) as err:
        ingest(store, io.BytesIO(b""), "rong.pdf")
    assert "rỗng" in err.value.message_vi
    csv = ingest(store, io.BytesIO("Số,Trích yếu\n12,Về việc\n".encode()), "Danh sách.csv")
    assert csv.content_type.startswith("text/csv")
