"""prepare_draft takes DOCX and ODT drafts too: LibreOffice headless converts them (type read from the bytes), the
Vietnamese text survives exactly, and a broken file gets a clear Vietnamese error. Files are generated here."""

from __future__ import annotations

import io
import subprocess
import zipfile

import pytest

from services.common.errors import ValidationFailed
from services.signing import convert, layout, pades, specimens

TITLE = "QUYẾT ĐỊNH về việc ban hành Quy chế công tác văn thư"
BODY = "Điều 1. Ban hành kèm theo Quyết định này Quy chế công tác văn thư, lưu trữ của Ủy ban nhân dân tỉnh."
SIGNER = "Nguyễn Văn An – Chủ tịch Ủy ban nhân dân tỉnh Tuyên Quang"
LINES = (TITLE, BODY, SIGNER)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_bytes(lines=LINES, document_xml: str | None = None) -> bytes:
    """The smallest DOCX Word and LibreOffice open: content types, package relationships, the document."""
    paragraphs = "".join(f'<w:p><w:r><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman"/>'
                         f'</w:rPr><w:t xml:space="preserve">{line}</w:t></w:r></w:p>' for line in lines)
    document_xml = document_xml or (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                    f'<w:document xmlns:w="{W}"><w:body>{paragraphs}</w:body></w:document>')
    return specimens.docx_package(document_xml)


def odt_bytes(lines=LINES) -> bytes:
    """The smallest ODT: `mimetype` first and stored, the manifest, the content."""
    paragraphs = "".join(f"<text:p>{line}</text:p>" for line in lines)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
            'manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
            'vnd.oasis.opendocument.text"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            '</manifest:manifest>'), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            f'<office:body><office:text>{paragraphs}</office:text></office:body></office:document-content>'),
            compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def test_type_is_read_from_the_content():
    assert convert.detect(docx_bytes()) == convert.DOCX
    assert convert.detect(odt_bytes()) == convert.ODT
    assert convert.detect(b"%PDF-1.7\n...") == convert.PDF
    assert convert.detect(b"PK\x03\x04 not really a zip") is None
    assert convert.detect("Công văn".encode()) is None


@pytest.mark.parametrize("make", [docx_bytes, odt_bytes], ids=["docx", "odt"])
def test_docx_and_odt_become_prepared_pdfs_with_the_exact_vietnamese_text(signing, make):
    source = signing.blobs.put_bytes(make()).sha256
    result = signing.prepare_draft(source)
    assert result["converted_from"] == make.__name__.removesuffix("_bytes")
    converted = signing.blobs.read(result["pdf_sha256"])
    prepared = signing.blobs.read(result["sha256"])
    assert converted.startswith(b"%PDF") and prepared.startswith(converted)  # an incremental update of it
    assert set(pades.field_names(prepared)) >= {layout.NUMBER_FIELD, layout.DATE_FIELD, layout.LEADER_FIELD}
    text = " ".join(pdftotext(prepared).split())  # a long line wraps on the page: compare across line breaks
    for line in LINES:
        assert line in text, (line, text)
    assert signing.prepare_draft(source) == result  # remembered: LibreOffice does not run twice


@pytest.mark.parametrize("broken", [
    docx_bytes(document_xml=f'<w:document xmlns:w="{W}"><w:body><w:p>Điều 1. Ban hành'),  # cut in the middle
    docx_bytes()[:300],                                                                        # truncated ZIP
], ids=["bad-xml", "truncated"])
def test_broken_docx_gets_a_clear_vietnamese_error(signing, broken):
    sha = signing.blobs.put_bytes(broken).sha256
    with pytest.raises(ValidationFailed) as err:
        signing.prepare_draft(sha)
    assert err.value.code == "broken_document"
    assert "Tệp DOCX bị hỏng hoặc không đúng định dạng, không chuyển được sang PDF" in err.value.message_vi


def test_other_files_are_refused(signing):
    sha = signing.blobs.put_bytes("Chỉ là văn bản thuần".encode()).sha256
    with pytest.raises(ValidationFailed) as err:
        signing.prepare_draft(sha)
    assert err.value.message_vi == "Tệp dự thảo phải là PDF, DOCX hoặc ODT."


def test_conversion_runs_inside_the_nameko_service(signing_process, settings):
    """The same conversion under eventlet (green subprocess and semaphore) in a real agency process."""
    from services.storage.blobs import blob_store
    from tests.signing.test_service import CLERK

    client, _ = signing_process
    sha = blob_store(settings, CLERK.agency_id).put_bytes(docx_bytes()).sha256
    result = client.call("signing", "prepare_draft", CLERK, sha)
    assert result["converted_from"] == "docx"
    assert TITLE in " ".join(pdftotext(blob_store(settings, CLERK.agency_id).read(result["sha256"])).split())
