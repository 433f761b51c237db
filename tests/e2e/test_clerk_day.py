"""The clerk's day of issue 18 on the running demo topology (real processes, HTTP, Vietnamese screens and REST):

- appendices uploaded with the draft, sealed at issue, sent, verified and shown at the receiver (item 4);
- the notation carries the drafting unit and the draft says "Đã ban hành" with its number (item 7);
- "Gửi văn bản" checks signatures, keeps "Không có văn bản giấy", sends once per form (item 5);
- the defects of item 9 that show on these screens, each asserted where it used to show.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.signature_labels import AWAITING_SEAL
from services.common import clock
from tests.deployment import allow_unsigned_send, demo_password
from tests.e2e.helpers import csrf_of, legally_signed_pdf, signed_in, vietnamese_pdf, wait_for
from tests.gateway.test_drafting import post, prepare_agency_for_drafts

H60, H17 = "000.00.00.H60", "000.00.00.H17"
SPECIALIST, HEAD, LEADER, CLERK = "trangdt.thtq", "tuanpm.thtq", "annv.vptq", "hoalt.vptq"
CLERK_17 = "namtv.vpdn"
ADMIN = "manhhd.vptq"
DA_NANG = "Ủy ban nhân dân thành phố Đà Nẵng"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(scope="module")
def login(deployment):
    prepare_agency_for_drafts(deployment, H60, LEADER)
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    opened: list[httpx.Client] = []

    def sign_in(username: str) -> httpx.Client:
        client = signed_in(base, username, demo_password(deployment, username))
        client.timeout = httpx.Timeout(180)
        opened.append(client)
        return client

    yield sign_in
    for client in opened:
        client.close()


def meta(html: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt><dd[^>]*>(.*?)</dd>", html, re.S)
    return found.group(1).strip() if found else ""


def section(html: str, heading: str) -> str:
    return html.split(f"<h2>{heading}</h2>")[1].split("</section>")[0]


def with_appendices(client: httpx.Client, title: str, appendices: list[tuple[str, bytes]]) -> int:
    form = client.get("/du-thao/moi")
    r = client.post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": title, "type_code": "CV",
                                          "priority": "0", "note": ""},
                    files=[("file", ("Dự thảo.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", title),
                                     "application/pdf"))]
                    + [("appendices", (name, data, "application/pdf")) for name, data in appendices])
    assert r.status_code == 303, r.text[:2000]
    return int(re.search(r"/du-thao/(\d+)", r.headers["location"]).group(1))


def test_appendices_go_from_the_draft_to_the_receiver_and_the_draft_says_issued(login):
    specialist, head, leader, clerk = login(SPECIALIST), login(HEAD), login(LEADER), login(CLERK)
    title = f"Về việc rà soát danh mục thủ tục hành chính ({secrets.token_hex(3)})"
    appendices = [("Phụ lục I - Danh mục.pdf", vietnamese_pdf("PHỤ LỤC I", "Danh mục thủ tục")),
                  ("Phụ lục II - Kinh phí.pdf", vietnamese_pdf("PHỤ LỤC II", "Dự toán kinh phí"))]
    draft_id = with_appendices(specialist, title, appendices)
    page = specialist.get(f"/du-thao/{draft_id}").text
    assert "Phụ lục 01" in meta(page, "Phụ lục") and "Phụ lục 02" in meta(page, "Phụ lục")
    appendix_link = re.search(rf'href="(/du-thao/{draft_id}/tep/[0-9a-f]{{64}})">Phụ lục 01', page).group(1)
    assert specialist.get(appendix_link).content == appendices[0][1]

    assert post(specialist, draft_id, "trinh").status_code == 303
    assert post(head, draft_id, "duyet", comment="Đạt").status_code == 303
    assert post(leader, draft_id, "duyet", comment="Đồng ý ban hành").status_code == 303

    def waiting():
        rows = clerk.get("/van-ban-di/cho-ban-hanh").text
        return re.search(rf'href="/van-ban/([^"]+)">[^<]*</a></td>\s*<td>{re.escape(title)}', rows)

    doc_id = wait_for(waiting, 120, "the signed draft in the clerk's waiting-to-issue list").group(1)
    page = clerk.get(f"/van-ban/{doc_id}").text
    heading = page.split("<h1>")[1].split("</h1>")[0]
    assert "None" not in heading and "chưa cấp số" in heading and "UBND-THTQ" in heading
    assert meta(page, "Chữ ký số") == AWAITING_SEAL        # not "Không hợp lệ" (item 9)
    files = section(page, "Tệp đính kèm")
    assert files.count("Phụ lục ·") == 2 and "application/pdf" not in files

    form = clerk.get(f"/van-ban-di/{doc_id}/ban-hanh").text
    upcoming = re.search(r'id="so-se-cap">([^<]+)<', form).group(1)
    assert upcoming.endswith("/UBND-THTQ")                 # the drafting unit in the notation (item 7)
    options = re.findall(r'<option value="[^"]+">(Sổ[^<]*)</option>', form)
    assert options and not any(re.search(r"(\d{4}).*\(\1\)", o) for o in options)   # no "năm 2026 (2026)"
    issued = clerk.post(f"/van-ban-di/{doc_id}/ban-hanh", data={
        "csrf_token": csrf_of(form), "register_id": re.search(r'name="register_id">\s*<option value="([^"]+)"',
                                                               form).group(1),
        "recipients": [H17], "priority": "0"})
    assert issued.status_code == 303, issued.text[:2000]
    page = clerk.get(f"/van-ban/{doc_id}").text
    number = page.split("<h1>")[1].split("</h1>")[0]
    number = re.search(r"(\d{2,}/UBND-THTQ)", number).group(1)
    files = section(page, "Tệp đính kèm")
    assert files.count("Phụ lục (đã ký số cơ quan)") == 2

    def issued_draft():
        text = specialist.get(f"/du-thao/{draft_id}").text
        return text if "Đã ban hành" in meta(text, "Ban hành") else None

    draft_page = wait_for(issued_draft, 60, "the draft marked issued")
    assert number in meta(draft_page, "Ban hành")
    assert specialist.get(f"/api/v1/drafts/{draft_id}").json()["issued_number"] == number

    register = clerk.get("/van-ban-di").text
    row = re.search(rf"<tr[^>]*>\s*<td><a href=\"/van-ban/{doc_id}\">.*?</tr>", register, re.S).group(0)
    assert DA_NANG in row and "Ủy ban nhân dân tỉnh Tuyên Quang" not in row   # recipients, not us (item 9)
    assert "<th>Nơi nhận</th>" in register

    receiver = login(CLERK_17)

    def arrived():
        text = receiver.get("/van-ban-den/cho-tiep-nhan").text
        return re.search(rf'href="/van-ban/([^"]+)">{re.escape(number)}', text)

    incoming_id = wait_for(arrived, 120, "the document at Đà Nẵng").group(1)

    def verified():
        text = receiver.get(f"/van-ban/{incoming_id}").text
        rows = section(text, "Tệp đính kèm")
        return text if rows.count("Phụ lục ·") == 2 and rows.count(">Hợp lệ<") == 3 else None

    page = wait_for(verified, 120, "the receiver's page with the main file and two verified appendices")
    assert "hub.H60" not in page and "Trục liên thông văn bản tỉnh Tuyên Quang" in page
    assert not ISO_DATE.search(meta(page, "Ngày văn bản"))

    # "Tiếp nhận và vào sổ", then "Trình" on the same page; the handling credits the clerk, not "Hệ thống"
    accepted = receiver.post(f"/van-ban-den/{incoming_id}/tiep-nhan", data={
        "csrf_token": csrf_of(page), "register_id": re.search(r'name="register_id">\s*<option value="([^"]+)"',
                                                               page).group(1)})
    assert accepted.status_code == 303
    page = receiver.get(accepted.headers["location"]).text
    assert 'action="/xu-ly/' in page and ">Trình</button>" in section(page, "Trình văn bản")
    leader_option = re.search(r'name="to_user_id" required><option value="([^"]+)"', page).group(1)
    submitted = receiver.post(f"/xu-ly/{incoming_id}/trinh", data={"csrf_token": csrf_of(page),
                                                                    "to_user_id": leader_option, "note": ""})
    assert submitted.status_code == 303, submitted.text[:1000]
    handling = receiver.get(f"/xu-ly/{incoming_id}").text
    timeline = section(handling, "Lịch sử xử lý")
    assert re.search(r"Trần Văn Nam</strong>:\s*Vào sổ văn bản đến", timeline) and "Hệ thống" not in timeline

    # the leader assigns; the person assigned opens the page: "Đã đọc" is filled (item 9)
    leader_dn = login("vinhlq.vpdn")
    page = leader_dn.get(f"/xu-ly/{incoming_id}").text
    head_id = re.search(r'<option value="user:([^"]+)">Phan Thị Hằng', page).group(1)
    directed = leader_dn.post(f"/xu-ly/{incoming_id}/but-phe", data={
        "csrf_token": csrf_of(page), "directive": "Phòng Tổng hợp nghiên cứu, tham mưu", "main": f"user:{head_id}"})
    assert directed.status_code == 303, directed.text[:1000]
    unread = re.search(r"Phan Thị Hằng[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>",
                       section(leader_dn.get(f"/xu-ly/{incoming_id}").text, "Phân công"))
    assert unread and unread.group(1).strip() == ""     # the leader's own visit reads nothing for her
    head = login("hangpt.thdn")
    assignments = section(head.get(f"/xu-ly/{incoming_id}").text, "Phân công")
    read = re.search(r"Phan Thị Hằng[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>", assignments)
    assert read and re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", read.group(1).strip())

    # she drafts the reply: the handling page names the draft by its title, never "Dự thảo: 1" or a UUID
    reply = f"Về việc trả lời {number}"
    form = head.get(f"/du-thao/moi?tra-loi={incoming_id}")
    made = head.post("/du-thao/moi", data={"csrf_token": csrf_of(form.text), "title": reply, "type_code": "CV",
                                           "priority": "0", "note": "", "answers": [incoming_id]},
                     files={"file": ("Trả lời.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG", reply),
                                     "application/pdf")})
    assert made.status_code == 303, made.text[:1000]
    links = section(head.get(f"/xu-ly/{incoming_id}").text, "Văn bản, hồ sơ liên quan")
    assert f">{reply}</a>" in links
    assert not re.search(r">\d+</a>|>[0-9a-f]{8}-[0-9a-f]{4}-", links)


def test_send_refuses_an_unsigned_pdf_and_sends_a_signed_one_once(deployment, login):
    clerk = login(CLERK)
    subject = f"Về việc gửi văn bản đã ký ({secrets.token_hex(3)})"

    def fields(form: str, number: str) -> dict:
        return {"csrf_token": csrf_of(form), "form_key": re.search(r'name="form_key" value="([^"]+)"', form).group(1),
                "code_number": number, "code_notation": "UBND-VP", "promulgation_date": "2026-11-20",
                "type_code": "CV", "priority": "0", "subject": subject, "signer_full_name": "Nguyễn Văn An",
                "signer_position": "Chủ tịch", "recipients": [H17], "no_paper_copy": "true"}

    allow_unsigned_send(deployment, False)   # the default of an agency: nothing unsigned leaves
    try:
        form = clerk.get("/van-ban-di/gui").text
        assert "Không có văn bản giấy" in form and "Vẫn gửi nếu chữ ký số không hợp lệ" not in form
        number = re.search(r'name="code_number"[^>]*value="(\d+)"', form).group(1)
        refused = clerk.post("/van-ban-di/gui", data={**fields(form, number), "accept_not_legally_valid": "true"},
                             files={"file": ("chua-ky.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN", subject),
                                             "application/pdf")})
        assert refused.status_code == 422 and "chưa được ký số hợp lệ nên không gửi được" in refused.text
        after = clerk.get("/van-ban-di/gui").text
        assert re.search(r'name="code_number"[^>]*value="(\d+)"', after).group(1) == number  # no number taken

        signed, [appendix] = legally_signed_pdf(deployment, H60, "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject,
                                                appendices=(vietnamese_pdf("PHỤ LỤC", "Danh sách"),))
        data = fields(after, number)
        files = [("file", ("da-ky.pdf", signed, "application/pdf")),
                 ("appendices", ("phu-luc.pdf", appendix, "application/pdf"))]
        first = clerk.post("/van-ban-di/gui", data=data, files=files)
        assert first.status_code == 303, first.text[:2000]
        again = clerk.post("/van-ban-di/gui", data=data, files=files)     # "back", then "Gửi văn bản" again
        assert again.status_code == 303 and "da-gui-truoc-do" in again.headers["location"]
        doc_id = first.headers["location"].split("/van-ban/")[1].split("?")[0]
        assert again.headers["location"].split("/van-ban/")[1].split("?")[0] == doc_id
        doc = clerk.get(f"/api/v1/outgoing/{doc_id}").json()
        assert doc["no_paper_copy"] is True and doc["legally_valid"] is True
        assert sorted(a["role"] for a in doc["attachments"]) == ["appendix_signed", "signed"]
    finally:
        allow_unsigned_send(deployment, True)


def test_send_over_the_api_is_idempotent_and_unsigned_is_refused_unless_the_agency_allows_it(deployment, login):
    clerk, admin = login(CLERK), login(ADMIN)
    web = clerk.get("/van-ban-di/gui").text
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', web).group(1)
    headers = {"x-csrf-token": csrf_of(web)}
    fields = {"code_number": number, "code_notation": "UBND-VP", "promulgation_date": "2026-11-20",
              "type_code": "CV", "subject": f"Về việc thử API gửi ({secrets.token_hex(3)})", "recipients": [H17],
              "accept_not_legally_valid": "true"}
    unsigned = ("chua-ky.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN", "chưa ký"), "application/pdf")
    allow_unsigned_send(deployment, False)
    try:
        r = clerk.post("/api/v1/outgoing", data=fields, files={"file": unsigned}, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "not_legally_signed", r.text
        assert 'name="allow_unsigned_send" value="1" >' in admin.get("/quan-tri/cau-hinh").text  # unchecked
    finally:
        allow_unsigned_send(deployment, True)
    assert 'name="allow_unsigned_send" value="1" checked' in admin.get("/quan-tri/cau-hinh").text
    key = secrets.token_hex(8)
    sent = clerk.post("/api/v1/outgoing", data=fields, files={"file": unsigned},
                      headers={**headers, "Idempotency-Key": key})
    assert sent.status_code == 201, sent.text
    again = clerk.post("/api/v1/outgoing", data=fields, files={"file": unsigned},
                       headers={**headers, "Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]
    doc = sent.json()
    assert [a["role"] for a in doc["attachments"]] == ["unsigned"] and doc["legally_valid"] is False
    assert "không có giá trị pháp lý" in clerk.get(f"/van-ban/{doc['id']}").text


@pytest.mark.parametrize("utc", [(17, 30), (23, 59)], ids=["00:30", "06:59"])
def test_forms_default_to_vietnam_today_between_midnight_and_seven(deployment, monkeypatch, utc):
    """At 00:30 and 06:59 in Hà Nội the server's UTC date is still yesterday: "Gửi văn bản" and "Ban hành" show
    Vietnam's today. An in-process gateway over the deployment's services, with the clock helper set."""
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    today_utc = datetime.now(UTC).date()
    fake = datetime(today_utc.year, today_utc.month, today_utc.day, *utc, tzinfo=UTC)
    monkeypatch.setattr(clock, "now_utc", lambda: fake)
    vn_today = (fake + timedelta(hours=7)).date()
    assert vn_today != fake.date()
    settings = GatewaySettings(data_dir=deployment.data_dir, agencies_file=deployment.agencies_file,
                               directory_file=deployment.directory_file)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        r = client.post("/dang-nhap", data={"username": CLERK, "password": demo_password(deployment, CLERK),
                                            "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        form = client.get("/van-ban-di/gui").text
        assert re.search(r'name="promulgation_date" type="date" required value="([^"]+)"', form).group(1) == \
            vn_today.isoformat()
