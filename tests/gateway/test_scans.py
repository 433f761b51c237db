"""The scan adapters of paper arrivals (gateway/scans.py), without services: what is accepted, joined, read, and
the Vietnamese refusal of each hostile file."""

from __future__ import annotations

import io

import pikepdf
import pytest

from gateway import scans
from gateway.scans import FilePart
from services.common.errors import ValidationFailed
from tests.e2e.scans import eml, header, page_image, text_pdf

LINES = header(("ỦY BAN NHÂN DÂN", "TỈNH TUYÊN QUANG"), "31/UBND-VP", "Tuyên Quang, ngày 20 tháng 11 năm 2026",
               "báo cáo công tác văn thư")


class Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.filename, self.file, self.content_type = name, io.BytesIO(data), ""


def refused(call, code: str) -> str:
    with pytest.raises(ValidationFailed) as exc:
        call()
    assert exc.value.code == code
    return exc.value.message_vi


def test_images_are_joined_in_order_into_one_pdf_and_a_pdf_is_kept_as_it_is():
    pages = [FilePart("trang-1.png", page_image(["Trang một"])), FilePart("trang-2.jpg", page_image(["Hai"], "JPEG"))]
    scan = scans.scan_of(pages)
    with pikepdf.open(io.BytesIO(scan.pdf)) as pdf:
        assert len(pdf.pages) == 2
    assert scan.name == "trang-1.pdf"
    pdf = text_pdf(LINES)
    assert scans.scan_of([FilePart("cv.pdf", pdf)]).pdf == pdf


def test_the_text_layer_is_read_without_ocr():
    text, how = scans.first_page_text(text_pdf(LINES))
    assert how == "text" and "Số: 31/UBND-VP" in text


def test_hostile_files_are_refused_by_name_in_vietnamese():
    assert "lớn quá" in refused(lambda: scans.read_upload(Upload("to.pdf", b"%PDF-" + b"x" * 2048), 1024),
                                "too_large")
    assert "bị hỏng" in refused(lambda: scans.scan_of([FilePart("hong.pdf", b"%PDF-1.7\nrubbish")]), "bad_pdf")
    refused(lambda: scans.scan_of([FilePart("anh.png", b"%PDF-1.7 not an image")]), "content_mismatch")
    refused(lambda: scans.scan_of([FilePart("a.pdf", text_pdf(LINES)), FilePart("b.png", page_image(["x"]))]),
            "bad_format")
    refused(lambda: scans.scan_of([FilePart("virus.exe", b"MZ")]), "bad_format")
    assert "thư điện tử" in refused(lambda: scans.mail_of(FilePart("thu.eml", b"\x00\x01 not a mail")), "bad_email")
    only_text = eml("Không có văn bản", [("ghi-chu.txt", "chỉ có chữ".encode(), "text/plain")])
    refused(lambda: scans.mail_of(FilePart("thu.eml", only_text)), "no_document")


def test_an_email_gives_its_pdf_as_the_document_and_keeps_the_other_files():
    data = eml("Gửi công văn số 31", [("Danh sách.csv", "STT;Tên\n1;An\n".encode(), "text/csv"),
                                      ("Công văn 31.pdf", text_pdf(LINES), "application/pdf"),
                                      ("Phụ lục I.pdf", text_pdf(["PHỤ LỤC I"]), "application/pdf")])
    scan = scans.mail_of(FilePart("thu.eml", data))
    assert scan.name == "Công văn 31.pdf"
    assert [(o.name, scans.is_appendix(o)) for o in scan.others] == [("Danh sách.csv", False),
                                                                     ("Phụ lục I.pdf", True)]
    assert scan.mail["from_address"] == "vanthu@syt.vn" and scan.mail["sent"] == "20/11/2026 09:15"
    assert scans.mail_note(scan.mail) == ("Nhận qua thư điện tử từ Văn thư Sở Y tế <vanthu@syt.vn> lúc "
                                          "20/11/2026 09:15")


def test_the_confirm_form_carries_only_the_files_this_session_stored():
    from types import SimpleNamespace

    from gateway.paper import opened_files, seal_files

    mine, other = SimpleNamespace(csrf="phien-cua-toi"), SimpleNamespace(csrf="phien-khac")
    files = [{"sha256": "a" * 64, "name": "Trang 1.pdf", "content_type": "application/pdf", "size": 10,
              "role": "scan"}]
    sealed = seal_files(mine, files)
    assert opened_files(mine, sealed) == files
    refused(lambda: opened_files(other, sealed), "stale_form")
    refused(lambda: opened_files(mine, sealed.replace("a" * 64, "b" * 64)), "stale_form")
    refused(lambda: opened_files(mine, ""), "stale_form")
