"""Dossiers, the archive and search through the gateway's pages, against the whole demo deployment (real processes).

One document is sent by Tuyên Quang's clerk; a specialist files it in a dossier opened from the approved plan,
sees every refusal in Vietnamese, the archive returns then accepts the dossier, and the export is downloaded.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import secrets
import zipfile
from datetime import date

import pytest

from gateway.accounts import account_name
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

AGENCY, SAME_PROVINCE = "000.00.00.H60", "000.00.09.H60"
CLERK, LEADER = account_name("Lê Thị Hoa", "vptq"), account_name("Nguyễn Văn An", "vptq")
SPECIALIST, STRANGER = account_name("Đỗ Thu Trang", "thtq"), account_name("Trần Văn Nam", "vpdn")


def _client(deployment, username):
    return signed_in(f"http://127.0.0.1:{deployment.topology.gateway_port}", username,
                     demo_password(deployment, username))


def _text(response) -> str:
    return html.unescape(response.text)


@pytest.fixture(scope="module")
def sent(deployment):
    """An outgoing 'Quyết định' of Tuyên Quang with a word no other test uses; its id, word and PDF."""
    word = "tk" + secrets.token_hex(4)
    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", f"Quyết định phê duyệt đề án {word}")
    clerk = _client(deployment, CLERK)
    form = clerk.get("/van-ban-di/gui")
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    sent = clerk.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",
        "code_number": number, "code_notation": "QĐ-UBND",
        "promulgation_date": date.today().isoformat(), "type_code": "QĐ", "priority": "0",
        "subject": f"Quyết định phê duyệt đề án chuyển đổi số {word}", "signer_full_name": "Nguyễn Văn An",
        "signer_position": "Chủ tịch", "recipients": [SAME_PROVINCE],
    }, files={"file": (f"QĐ {number}.pdf", pdf, "application/pdf")})
    assert sent.status_code == 303, sent.text[:2000]
    doc_id = re.search(r"/van-ban/([^?]+)", sent.headers["location"]).group(1)
    clerk.close()
    return {"id": doc_id, "word": word, "pdf": pdf}


def test_search_finds_the_vietnamese_words_typed_without_diacritics_only_inside_the_agency(deployment, sent):
    clerk, stranger = _client(deployment, CLERK), _client(deployment, STRANGER)
    specialist = _client(deployment, SPECIALIST)

    def found():   # the registry indexes on a timer: wait for it (bounded), never time it
        page = clerk.get("/tra-cuu", params={"text": f"quyet dinh {sent['word']}"})
        return page if f"/van-ban/{sent['id']}" in page.text else None

    page = _text(wait_for(found, 90, "the sent document in the search index"))
    assert "Quyết định phê duyệt đề án chuyển đổi số" in page and "Tìm thấy 1 văn bản." in page
    filtered = _text(clerk.get("/tra-cuu", params={"text": sent["word"], "type_code": "QĐ",
                                                  "direction": "outgoing", "date_from": date.today().isoformat()}))
    assert f"/van-ban/{sent['id']}" in filtered
    assert f"/van-ban/{sent['id']}" not in clerk.get("/tra-cuu", params={"text": sent["word"],
                                                                        "type_code": "TB"}).text
    assert f"/van-ban/{sent['id']}" in specialist.get("/tra-cuu", params={"text": sent["word"]}).text

    other = stranger.get("/tra-cuu", params={"text": f"quyet dinh {sent['word']}"})
    assert other.status_code == 200
    assert sent["id"] not in other.text and "Không tìm thấy văn bản nào." in _text(other)


def test_dossier_life_cycle_through_the_pages(deployment, sent):
    clerk, leader, keeper = (_client(deployment, u) for u in (CLERK, LEADER, SPECIALIST))
    year = date.today().year
    notation = f"01.{secrets.token_hex(3).upper()}"

    # The clerk drafts the year's file plan (once per agency and year), the leader approves it.
    plan_page = clerk.get(f"/ho-so?nam={year}")
    assert plan_page.status_code == 200
    if "Lập danh mục hồ sơ" in _text(plan_page):
        made = clerk.post("/ho-so/danh-muc", data={
            "csrf_token": csrf_of(plan_page.text), "year": year, "headings": "I | Tổng hợp | TH",
            "items": f"I | {notation} | Hồ sơ chuyển đổi số năm {year} | 20 năm | Phòng Tổng hợp"})
        assert made.status_code == 303, _text(made)[:2000]
    approval = leader.get(f"/ho-so?nam={year}")
    action = re.search(r'action="(/ho-so/danh-muc/[^"]+/phe-duyet)"', approval.text)
    if action:
        approved = leader.post(action.group(1), data={"csrf_token": csrf_of(approval.text), "year": year,
                                                      "approval_doc": "15/QĐ-UBND"})
        assert approved.status_code == 303
    plan = _text(keeper.get(f"/ho-so?nam={year}"))
    assert "Đã phê duyệt" in plan

    # The specialist opens a dossier from the plan's first item still unopened (or ad hoc if none is left).
    item = re.search(r'name="plan_item_id" value="([^"]+)"', plan)
    data = {"csrf_token": csrf_of(plan), "year": year}
    data |= {"plan_item_id": item.group(1)} if item else {
        "title": "Hồ sơ chuyển đổi số", "file_notation": notation, "retention": "20 năm"}
    opened = keeper.post("/ho-so/mo", data=data)
    assert opened.status_code == 303, _text(opened)[:2000]
    url = opened.headers["location"].split("?")[0]
    page = _text(keeper.get(url))
    assert "Đang mở" in page

    # Refusals, in Vietnamese, next to the forms.
    closing = keeper.post(f"{url}/ket-thuc", data={"csrf_token": csrf_of(page)})
    assert closing.status_code == 422 and "Hồ sơ chưa có văn bản nào, không thể kết thúc." in _text(closing)
    early = keeper.post(f"{url}/nop-luu", data={"csrf_token": csrf_of(page)})
    assert early.status_code == 422 and "Hồ sơ chưa kết thúc, không thể nộp lưu." in _text(early)

    # "Thêm vào hồ sơ" from the document's page, then a working draft uploaded into the dossier.
    doc_page = _text(keeper.get(f"/van-ban/{sent['id']}"))
    assert f"/ho-so/them-van-ban?van_ban={sent['id']}" in doc_page
    choose = keeper.get(f"/ho-so/them-van-ban?van_ban={sent['id']}")
    assert f'action="{url}/them"' in choose.text
    assert "Văn bản chưa thuộc hồ sơ nào." in doc_page
    added = keeper.post(f"{url}/them", data={"csrf_token": csrf_of(choose.text), "document_id": sent["id"]})
    assert added.status_code == 303
    # The document's page and the API list the dossiers that hold it (Đà Nẵng Đ5.4b item 5).
    holding = _text(clerk.get(f"/van-ban/{sent['id']}"))
    assert "Thuộc hồ sơ" in holding and f'href="{url}"' in holding
    listed = keeper.get(f"/api/v1/documents/{sent['id']}/dossiers").json()
    assert [f"/ho-so/{d['id']}" for d in listed] == [url] and listed[0]["state"] == "open"
    draft = keeper.post(f"{url}/tai-lieu", data={"csrf_token": csrf_of(page), "kind": "draft",
                                                 "title": "Dự thảo tờ trình", "pages": "1"},
                        files={"file": ("du-thao.pdf", vietnamese_pdf("DỰ THẢO", "Tờ trình"), "application/pdf")})
    assert draft.status_code == 303, _text(draft)[:2000]
    page = _text(keeper.get(url))
    assert page.index("Quyết định phê duyệt đề án chuyển đổi số") < page.index("Dự thảo tờ trình")
    up = re.search(rf'action="({url}/sap-xep/[^"]+)"[^>]*>\s*<input[^>]*>\s*<input type="hidden" '
                   r'name="ordinal" value="1"', page)
    assert keeper.post(up.group(1), data={"csrf_token": csrf_of(page), "ordinal": "1"}).status_code == 303
    page = _text(keeper.get(url))
    assert page.index("Dự thảo tờ trình") < page.index("Quyết định phê duyệt đề án chuyển đổi số")

    refused = keeper.post(f"{url}/ket-thuc", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    assert "Hồ sơ còn 1 dự thảo; phải loại bỏ dự thảo trước khi kết thúc hồ sơ." in _text(refused)
    closed = keeper.post(f"{url}/ket-thuc", data={"csrf_token": csrf_of(page), "remove_drafts": "1"})
    assert closed.status_code == 303
    page = _text(keeper.get(url))
    assert "Đã kết thúc" in page and "1 văn bản" in page and "Dự thảo tờ trình" not in page
    edit = keeper.post(f"{url}/them", data={"csrf_token": csrf_of(page), "document_id": sent["id"]})
    assert edit.status_code == 422 and "Hồ sơ đã kết thúc, không được sửa đổi" in _text(edit)

    # The archive: returned with a reason (required), then closed again, submitted again and accepted.
    dossier_id = url.rsplit("/", 1)[1]
    assert keeper.post(f"{url}/nop-luu", data={"csrf_token": csrf_of(page)}).status_code == 303
    inbox = clerk.get("/luu-tru")
    assert f"/luu-tru/{dossier_id}/tiep-nhan" in inbox.text
    no_reason = clerk.post(f"/luu-tru/{dossier_id}/tra-lai", data={"csrf_token": csrf_of(inbox.text)})
    assert no_reason.status_code == 422 and "Phải ghi lý do trả lại hồ sơ." in _text(no_reason)
    back = clerk.post(f"/luu-tru/{dossier_id}/tra-lai", data={"csrf_token": csrf_of(inbox.text),
                                                               "reason": "Thiếu văn bản báo cáo kết quả"})
    assert back.status_code == 303
    page = _text(keeper.get(url))
    assert "Đang mở" in page and "Thiếu văn bản báo cáo kết quả" in page
    assert keeper.post(f"{url}/ket-thuc", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert keeper.post(f"{url}/nop-luu", data={"csrf_token": csrf_of(page)}).status_code == 303
    accepted = clerk.post(f"/luu-tru/{dossier_id}/tiep-nhan", data={"csrf_token": csrf_of(inbox.text)})
    assert accepted.status_code == 303
    archive = _text(clerk.get("/luu-tru"))
    assert f"/luu-tru/{dossier_id}/xuat/goi.zip" in archive and "Lưu trữ cơ quan đã tiếp nhận" in _text(
        keeper.get(url))

    # The export: the combined PDF and the package whose stored file is byte for byte the one sent.
    pdf = clerk.get(f"/luu-tru/{dossier_id}/xuat/hoso.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    package = clerk.get(f"/luu-tru/{dossier_id}/xuat/goi.zip")
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.content)) as zf:
        names = zf.namelist()
        mets = zf.read(next(n for n in names if n.endswith("/METS.xml"))).decode()
        files = [n for n in names if n.endswith(".pdf") and not n.endswith("hoso.pdf")]
        assert [hashlib.sha256(zf.read(n)).hexdigest() for n in files] == [hashlib.sha256(sent["pdf"]).hexdigest()]
    assert hashlib.sha256(sent["pdf"]).hexdigest() in mets and 'CHECKSUMTYPE="SHA-256"' in mets
