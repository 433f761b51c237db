"""Problem reports (Đà Nẵng annex, forms 1 and 2): reported from any page with a screenshot, handled by the
agency's administrator only, invisible to other agencies; both forms print as PDF with the Vietnamese text."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import time

import pytest
from PIL import Image

from gateway import problems
from services.common.errors import ValidationFailed
from tests.e2e.helpers import csrf_of
from tests.gateway.test_api import session_for

# -- pure rules --------------------------------------------------------------------------------------------


def test_the_page_decides_the_function_and_only_local_pages_are_kept():
    assert problems.function_of("/van-ban-den/cho-tiep-nhan") == "incoming"
    assert problems.function_of("/quan-tri/nguoi-dung") == "admin"
    assert problems.function_of("/") == "other"
    assert problems.safe_page("https://evil.example/x") == "" and problems.safe_page("//evil.example") == ""
    assert problems.referer_page("http://127.0.0.1:8080/ho-so?id=3", "127.0.0.1:8080") == "/ho-so?id=3"
    assert problems.referer_page("http://other:1/ho-so", "127.0.0.1:8080") == ""
    assert problems.default_role(["specialist", "admin"]) == "specialist"
    assert problems.default_role(["clerk", "leader"]) == "leader"     # the form's order: leader first


def test_form_fields_are_checked_in_vietnamese():
    good = {"role": "clerk", "function": "incoming", "description": "Không mở được văn bản đến",
            "occurred_at": "2026-11-21T09:30"}
    fields = problems.check_report(good)
    assert fields["occurred_at"].isoformat() == "2026-11-21T02:30:00+00:00"    # entered in Vietnam time
    with pytest.raises(ValidationFailed, match="Mô tả chi tiết"):
        problems.check_report({**good, "description": "  "})
    with pytest.raises(ValidationFailed, match="Khác"):
        problems.check_report({**good, "function": "other"})
    with pytest.raises(ValidationFailed, match="vai trò"):
        problems.check_report({**good, "role": "boss"})
    with pytest.raises(ValidationFailed, match="Chưa hoàn thành"):
        problems.check_handling({"cause": "a", "solution": "b", "result": "not_done"})


# -- through the deployed gateway -------------------------------------------------------------------------


def png(text: str) -> bytes:
    image = Image.new("RGB", (320, 80), "white")
    from PIL import ImageDraw

    ImageDraw.Draw(image).text((10, 30), text, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(done.stdout.decode().split())


def test_report_handle_and_print_both_forms(deployment):
    stamp = time.time_ns()
    description = f"Bấm “Tiếp nhận” văn bản đến thì trang báo lỗi máy chủ, không vào sổ được ({stamp})"
    proposal = "Đề nghị khắc phục sớm để kịp vào sổ trong ngày"
    shot = png(f"loi {stamp}")

    user = session_for(deployment, "trangdt.thtq")          # chuyên viên, UBND tỉnh Tuyên Quang
    home = user.get("/")
    assert 'href="/bao-loi?trang=/"' in home.text           # the link is on every page
    form = user.get("/bao-loi?trang=/van-ban-den/cho-tiep-nhan")
    assert form.status_code == 200
    assert re.search(r'value="incoming"\s+checked', form.text)          # the page's function is pre-chosen
    assert re.search(r'value="specialist"\s+checked', form.text)
    sent = user.post("/bao-loi", data={
        "csrf_token": csrf_of(form.text), "role": "specialist", "function": "incoming",
        "occurred_at": "2026-11-21T08:15", "description": description, "proposal": proposal,
        "page_url": "/van-ban-den/cho-tiep-nhan"}, files={"screenshot": ("man-hinh-loi.png", shot, "image/png")})
    assert sent.status_code == 303, sent.text[:2000]
    report_url = sent.headers["location"].split("?")[0]
    page = user.get(report_url)
    assert description in page.text and "Chưa xử lý" in page.text
    assert hashlib.sha256(shot).hexdigest() in page.text
    got = user.get(f"{report_url}/anh")
    assert got.status_code == 200 and got.content == shot

    form1 = pdf_text(user.get(f"{report_url}/mau-1.pdf").content)
    for text in ("BIÊN BẢN", "Ghi nhận lỗi Phần mềm Quản lý văn bản và điều hành", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                 "TUYÊN QUANG", "Đỗ Thu Trang", "☒ Chuyên viên",
                 "Quản lý VB đến", "08:15 ngày 21/11/2026", proposal, hashlib.sha256(shot).hexdigest()[:16]):
        assert text in form1, f"{text!r} not in form 1"
    assert " ".join(description.split()) in form1
    assert "BBGNL-QLVBĐH" in form1

    # Not the reporter's to record, nor a clerk's of the same agency to see, nor another agency's admin's.
    refused = user.post(f"{report_url}/xu-ly", data={"csrf_token": csrf_of(page.text), "cause": "x",
                                                     "solution": "y", "result": "done"})
    assert refused.status_code == 403 and "quản trị" in refused.text
    clerk = session_for(deployment, "hoalt.vptq")
    assert clerk.get(report_url).status_code == 404
    assert report_url not in clerk.get("/bao-loi/danh-sach").text
    other_admin = session_for(deployment, "ngocvt.vpdn")    # quản trị, UBND thành phố Đà Nẵng
    for path in ("", "/mau-1.pdf", "/anh"):
        assert other_admin.get(f"{report_url}{path}").status_code == 404
    assert description not in other_admin.get("/bao-loi/danh-sach").text
    assert user.get(f"{report_url}/mau-2.pdf").status_code == 422           # nothing recorded yet

    admin = session_for(deployment, "manhhd.vptq")          # quản trị, UBND tỉnh Tuyên Quang
    assert report_url in admin.get("/bao-loi/danh-sach").text
    admin_page = admin.get(report_url)
    assert "Ghi nhận xử lý lỗi" in admin_page.text
    cause = f"Dịch vụ sổ đăng ký mất kết nối cơ sở dữ liệu sau khi đổi mật khẩu ({stamp})"
    solution = "Cập nhật mật khẩu trong tệp cấu hình và khởi động lại dịch vụ"
    done = admin.post(f"{report_url}/xu-ly", data={"csrf_token": csrf_of(admin_page.text), "cause": cause,
                                                   "solution": solution, "result": "done"})
    assert done.status_code == 303, done.text[:2000]
    assert "Hoàn thành" in user.get(report_url).text

    form2 = pdf_text(user.get(f"{report_url}/mau-2.pdf").content)
    for text in ("Xử lý lỗi Phần mềm Quản lý văn bản và điều hành", " ".join(cause.split()), solution,
                 "☒ Hoàn thành.", "Quản trị Phần mềm QLVBĐH", "Đại diện Sở TT&TT"):
        assert text in form2, f"{text!r} not in form 2"
    for client in (user, clerk, other_admin, admin):
        client.close()
