"""Incoming handling through the screens, over HTTP against the real deployment: Tuyên Quang sends a document to
Đà Nẵng; the Đà Nẵng clerk registers it and submits it to the leader; a specialist cannot write the directive; the
leader writes it and assigns the unit; the department head re-assigns inside the unit; the specialist keeps it for
reference. Tuyên Quang sees 04 (Phân công) and then 05/06 (Đang xử lý / Hoàn thành) on its document page."""

from __future__ import annotations

import html
import re
import secrets
from datetime import date, timedelta

import httpx

from gateway.accounts import account_name
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

SENDER, RECEIVER = "000.00.00.H60", "000.00.00.H17"
CLERK_TQ = account_name("Lê Thị Hoa", "vptq")
CLERK, LEADER = account_name("Trần Văn Nam", "vpdn"), account_name("Lê Quang Vinh", "vpdn")
HEAD, SPECIALIST = account_name("Phan Thị Hằng", "thdn"), account_name("Huỳnh Văn Phúc", "thdn")


# A bound, not a timed assertion: on a loaded 2-core machine one agency call may wait for a busy service.
PATIENCE = httpx.Timeout(180)


def login(dep, base: str, username: str) -> httpx.Client:
    client = signed_in(base, username, demo_password(dep, username))
    client.timeout = PATIENCE
    home = client.get("/")  # the first call to routing also puts the person in routing's staff directory
    assert home.status_code == 200 and "Xin chào" in home.text, home.text[:500]
    return client


def option_value(html: str, select_name: str, label: str) -> str:
    select = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {select_name} on the page"
    match = re.search(rf'<option value="([^"]+)"[^>]*>{re.escape(label)}', select.group(1))
    assert match, f"no option {label!r} in {select_name}: {select.group(1)[:500]}"
    return match.group(1)


def section(html: str, title: str) -> str:
    """The home page's panel with this title (up to the end of its card)."""
    start = html.find(f"<h2>{title}")
    assert start >= 0, f"no panel {title!r}"
    return html[start:html.find("</section>", start)]


def home_panel(client: httpx.Client, title: str, text: str) -> str:
    """The home page's panel `title`, or, when it is cut to its first rows (gateway.web.HOME_ROWS, most pressing
    first) and `text` is not among them, its whole list ("Xem tất cả"): the deployment the tests share fills the
    same people's boxes, so a new item may rank after the first rows. Assert `text in` (or `not in`) the answer."""
    shown = section(client.get("/").text, title)
    cut = re.search(r'Hiện \d+ trong số \d+ mục\.</span> <a href="([^"]+)">Xem tất cả', shown)
    if text in shown or cut is None:
        return shown
    page = client.get(html.unescape(cut.group(1))).text
    return page[page.find("<main"):page.find("</main>")]


def post(client: httpx.Client, path: str, page_html: str, **data) -> httpx.Response:
    return client.post(path, data={"csrf_token": csrf_of(page_html), **data})


def send_and_register(dep, base: str, subject: str) -> tuple[httpx.Client, str, str]:
    """Tuyên Quang sends, Đà Nẵng registers; returns the sender's client, its document URL and the incoming id."""
    sender = signed_in(base, CLERK_TQ, demo_password(dep, CLERK_TQ))
    sender.timeout = PATIENCE
    form = sender.get("/van-ban-di/gui")
    assert form.status_code == 200, form.text[form.text.find("<main>"):][:1000]
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    sent = sender.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",
        "code_number": number, "code_notation": "UBND-KT",
        "promulgation_date": date.today().isoformat(), "type_code": "CV", "priority": "1", "subject": subject,
        "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch", "recipients": [RECEIVER],
    }, files={"file": ("cong-van.pdf", vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", subject),
                       "application/pdf")})
    assert sent.status_code == 303, sent.text[:1000]
    clerk = login(dep, base, CLERK)

    def arrived():
        page = clerk.get("/van-ban-den/cho-tiep-nhan").text
        return re.search(rf'href="/van-ban/([^"]+)">{number}/UBND-KT', page) if subject in page else None

    doc_id = wait_for(arrived, 180, "the document waiting for reception in Đà Nẵng").group(1)
    page = clerk.get(f"/van-ban/{doc_id}").text
    register_id = re.search(r'<select name="register_id"><option value="([^"]+)"', page).group(1)
    accepted = post(clerk, f"/van-ban-den/{doc_id}/tiep-nhan", page, register_id=register_id)
    assert accepted.status_code == 303, accepted.text[:1000]
    return sender, sent.headers["location"], doc_id


def test_leader_directs_head_reassigns_specialist_keeps_and_sender_sees_04_then_05_06(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    subject = f"Về việc kiểm tra công tác văn thư lưu trữ năm 2026 ({secrets.token_hex(3)})"
    leader, head, specialist = (login(deployment, base, u) for u in (LEADER, HEAD, SPECIALIST))
    sender, sent_url, incoming = send_and_register(deployment, base, subject)
    clerk = login(deployment, base, CLERK)

    # The clerk's "chờ trình" list gets it once routing has opened the handling (an event from the registry).
    wait_for(lambda: subject in clerk.get("/xu-ly?hop=cho-trinh").text, 180, "the document in 'chờ trình'")
    assert subject in home_panel(clerk, "Văn bản đến chờ trình", subject)
    page = clerk.get(f"/xu-ly/{incoming}").text
    assert "Trình văn bản" in page and "Bút phê và phân công" not in page
    leader_id = option_value(page, "to_user_id", "Lê Quang Vinh")
    submitted = post(clerk, f"/xu-ly/{incoming}/trinh", page, to_user_id=leader_id, note="Kính trình đồng chí")
    assert submitted.status_code == 303
    assert "Đã trình văn bản." in clerk.get(submitted.headers["location"]).text

    # A specialist may not write the directive: the routing service refuses, the page says why in Vietnamese.
    refused = post(specialist, f"/xu-ly/{incoming}/but-phe", specialist.get("/").text,
                   directive="Tôi tự phân công", main="unit:THDN")
    assert refused.status_code == 403
    assert "Bạn không có quyền phân công xử lý" in refused.text

    waiting = home_panel(leader, "Chờ cho ý kiến, chỉ đạo", subject)
    assert subject in waiting and "Khẩn" in waiting
    page = leader.get(f"/xu-ly/{incoming}").text
    assert "Bút phê và phân công" in page and "Xử lý chính" in page
    deadline = (date.today() + timedelta(days=14)).isoformat()
    directed = post(leader, f"/xu-ly/{incoming}/but-phe", page, directive="Giao phòng Tổng hợp chủ trì, báo cáo.",
                    main="unit:THDN", deadline=deadline)
    assert directed.status_code == 303, directed.text[:1000]
    page = leader.get(directed.headers["location"]).text
    assert "Đã bút phê và phân công xử lý." in page and "Giao phòng Tổng hợp chủ trì" in page
    assert "Đã phân công" in page and "<td>Phòng Tổng hợp</td>" in page
    assert date.fromisoformat(deadline).strftime("%d/%m/%Y") in page

    wait_for(lambda: "04 Phân công" in sender.get(sent_url).text, 180, "status 04 at the sender")

    assert subject in home_panel(head, "Văn bản cần phân công trong đơn vị", subject)
    page = head.get(f"/xu-ly/{incoming}").text
    assert "Giao trong đơn vị" in page, page[page.find("<main>"):]
    specialist_id = option_value(page, "user_id", "Huỳnh Văn Phúc")
    reassigned = post(head, f"/xu-ly/{incoming}/giao-lai", page, user_id=specialist_id, kind="main",
                      note="Đồng chí Phúc xử lý")
    assert reassigned.status_code == 303, reassigned.text[:1000]
    # the panel itself (its whole list, "Xem tất cả", is the unit's box, which still holds it)
    assert subject not in section(head.get("/").text, "Văn bản cần phân công trong đơn vị")

    assert subject in home_panel(specialist, "Văn bản cần xử lý", subject)
    page = specialist.get(f"/xu-ly/{incoming}").text
    assert "Lưu tham khảo" in page and f"/du-thao/moi?tra-loi={incoming}" in page
    assert "Bút phê và phân công" not in page and "Giao trong đơn vị" not in page
    # Waiting for others and resuming: each note reaches routing and stands in the history.
    paused = post(specialist, f"/xu-ly/{incoming}/tam-dung", page, note="Chờ số liệu của Sở Tài chính")
    assert paused.status_code == 303, paused.text[:1000]
    page = specialist.get(paused.headers["location"]).text
    assert "Chờ số liệu của Sở Tài chính" in page.split("Lịch sử xử lý", 1)[1]
    resumed = post(specialist, f"/xu-ly/{incoming}/tiep-tuc", page, note="Đã nhận số liệu")
    assert resumed.status_code == 303, resumed.text[:1000]
    page = specialist.get(resumed.headers["location"]).text
    assert "Đã nhận số liệu" in page.split("Lịch sử xử lý", 1)[1]
    kept = post(specialist, f"/xu-ly/{incoming}/luu-tham-khao", page, note="Đã nghiên cứu, lưu tham khảo")
    assert kept.status_code == 303, kept.text[:1000]
    page = specialist.get(kept.headers["location"]).text
    assert "Hoàn thành" in page and "Lưu tham khảo: Đã nghiên cứu" in page
    timeline = page.split("Lịch sử xử lý", 1)[1]
    for step in ("Vào sổ văn bản đến", "Trình lãnh đạo", "Bút phê, phân công xử lý", "Giao lại trong đơn vị",
                 "Lưu tham khảo, kết thúc"):
        assert step in timeline, step
    assert timeline.index("Trình lãnh đạo") < timeline.index("Bút phê") < timeline.index("Giao lại")
    assert "Lê Quang Vinh" in timeline and "Phan Thị Hằng" in timeline and "Huỳnh Văn Phúc" in timeline

    def after_04():
        text = sender.get(sent_url).text
        return ("05 Đang xử lý" in text or "06 Hoàn thành" in text) and text

    # 05 and 06 leave in one transaction; the sender's page shows the latest that arrived.
    wait_for(after_04, 180, "status 05/06 at the sender")
    done = specialist.get("/xu-ly?hop=da-xu-ly").text
    assert subject in done


def test_handling_pages_need_login_csrf_and_an_existing_document(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    anonymous = httpx.Client(base_url=base, follow_redirects=False, timeout=PATIENCE)
    for path in ("/xu-ly", "/cong-viec", "/thong-bao", "/uy-quyen", "/tien-do"):
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap"), path
    specialist = login(deployment, base, SPECIALIST)
    missing = specialist.get("/xu-ly/khong-co-van-ban-nay")
    assert missing.status_code == 404 and "Không tìm thấy văn bản đến trong luồng xử lý" in missing.text
    no_csrf = specialist.post("/xu-ly/khong-co-van-ban-nay/ket-thuc", data={"reason": "x"})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
