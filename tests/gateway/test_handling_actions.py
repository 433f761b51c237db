"""The rest of the handling screens over HTTP against the real deployment: a delegate directs on the leader's
behalf a paper letter whose own due date has already passed (a deadline already past typed in the bút phê is
refused, the form comes back as typed; with none, the document's due date is the deadline: overdue marks on the
lists); the coordinator's opinion, the reader's
receipt; the main handler waits (a reason is required), resumes, links a related document and forwards; the next
handler closes with no action (a reason is required)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from services.common.clock import now_vn
from tests.e2e.helpers import vietnamese_pdf, wait_for
from tests.gateway.test_api import token_for
from tests.gateway.test_api_writes import key, ok
from tests.gateway.test_handling_flow import (
    CLERK,
    HEAD,
    LEADER,
    SPECIALIST,
    home_panel,
    login,
    option_value,
    post,
)


def paper_arrival_due(deployment, subject: str, due: str) -> str:
    """A paper letter registered by the clerk with its own "Thời hạn giải quyết" `due`; returns the incoming id."""
    clerk = token_for(deployment, CLERK)
    with clerk:
        arrived = ok(clerk.post("/api/v1/incoming/paper", headers=key(), data={
            "code_number": str(100 + secrets.randbelow(9000)), "code_notation": "STP-VP", "subject": subject,
            "organ_name": "Sở Tư pháp thành phố Đà Nẵng", "issued_date": now_vn().date().isoformat(),
            "due_date": due}, files={"files": ("ban-giay.pdf", vietnamese_pdf("SỞ TƯ PHÁP", subject),
                                               "application/pdf")}), 201)
    return arrived["id"]


def test_delegate_directs_then_opinion_receipt_wait_resume_link_forward_and_close(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    subject = f"Về việc góp ý dự thảo quy định về lưu trữ điện tử ({secrets.token_hex(3)})"
    leader, head, specialist = (login(deployment, base, u) for u in (LEADER, HEAD, SPECIALIST))
    yesterday = now_vn().date() - timedelta(days=1)

    form = leader.get("/uy-quyen").text
    start = now_vn().replace(second=0, microsecond=0) - timedelta(minutes=1)
    made = post(leader, "/uy-quyen", form, delegate_user_id=option_value(form, "delegate_user_id", "Phan Thị Hằng"),
                starts_at=start.strftime("%Y-%m-%dT%H:%M"),
                ends_at=(start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), scopes=["assign"])
    assert made.status_code == 303, made.text[:1000]
    delegation_id = re.findall(r'action="/uy-quyen/(\d+)/ket-thuc"', leader.get("/uy-quyen").text)[-1]

    incoming = paper_arrival_due(deployment, subject, yesterday.isoformat())
    clerk = login(deployment, base, CLERK)
    wait_for(lambda: subject in clerk.get("/xu-ly?hop=cho-trinh").text, 180, "the document in 'chờ trình'")
    page = clerk.get(f"/xu-ly/{incoming}").text
    assert post(clerk, f"/xu-ly/{incoming}/trinh", page,
                to_user_id=option_value(page, "to_user_id", "Lê Quang Vinh")).status_code == 303

    # The delegate sees it waiting for a directive and writes it in the leader's name.
    assert subject in home_panel(head, "Chờ cho ý kiến, chỉ đạo (được ủy quyền)", subject)
    page = head.get(f"/xu-ly/{incoming}").text
    assert "Bút phê và phân công" in page
    specialist_id = option_value(page, "main", "Huỳnh Văn Phúc")
    # A refused bút phê (a late-entry time in the future) comes back on the same form with everything typed.
    coordinator = option_value(page, "coordinators", "Lê Quang Vinh")
    future = (now_vn() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    refused = post(head, f"/xu-ly/{incoming}/but-phe", page, directive="Đồng chí Phúc nghiên cứu (bản nháp).",
                   main=specialist_id, coordinators=[coordinator], deadline=yesterday.isoformat(),
                   late_entry_at=future)
    assert refused.status_code == 422, refused.text[:1000]
    assert 'role="alert">Chưa phân công:' in refused.text
    assert "Đồng chí Phúc nghiên cứu (bản nháp).</textarea>" in refused.text
    assert f'value="{specialist_id}" selected' in refused.text and f'value="{coordinator}" selected' in refused.text
    assert f'value="{yesterday.isoformat()}"' in refused.text and f'value="{future}"' in refused.text
    # A deadline on a day already past makes the work overdue from the start (nearly always a slip of the year):
    # refused by the service too (Đà Nẵng QĐ 8849 Điều 7.1), the form comes back as typed.
    past = post(head, f"/xu-ly/{incoming}/but-phe", page, directive="Đồng chí Phúc nghiên cứu (hạn nhầm).",
                main=specialist_id, deadline=yesterday.isoformat())
    assert past.status_code == 422, past.text[:1000]
    assert f'role="alert">Chưa phân công: Hạn xử lý {yesterday.strftime("%d/%m/%Y")} đã qua' in past.text
    assert "Đồng chí Phúc nghiên cứu (hạn nhầm).</textarea>" in past.text
    assert f'value="{yesterday.isoformat()}"' in past.text
    # No deadline typed: the document's own due date, already passed, is the handling's deadline.
    directed = post(head, f"/xu-ly/{incoming}/but-phe", page, directive="Đồng chí Phúc nghiên cứu, tham mưu góp ý.",
                    main=specialist_id, coordinators=[option_value(page, "coordinators", "Lê Quang Vinh")],
                    readers=[option_value(page, "readers", "Trần Văn Nam")])
    assert directed.status_code == 303, directed.text[:1000]
    page = head.get(directed.headers["location"]).text
    assert "(thay mặt Lê Quang Vinh)" in page

    # A deadline already passed: marked overdue on the handler's list and on the leader's overdue panel.
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", home_panel(specialist, "Văn bản cần xử lý", subject),
                                     re.S) if subject in r)
    assert "Quá hạn" in row and "overdue" in row and yesterday.strftime("%d/%m/%Y") in row
    assert subject in home_panel(leader, "Văn bản quá hạn", subject)
    assert subject in leader.get("/tien-do?don-vi=THDN").text
    ended = post(leader, f"/uy-quyen/{delegation_id}/ket-thuc", leader.get("/uy-quyen").text)
    assert ended.status_code == 303

    # The coordinator's opinion and the reader's receipt.
    page = leader.get(f"/xu-ly/{incoming}").text
    assert "Ý kiến phối hợp" in page and "Bút phê và phân công" not in page
    opinion = post(leader, f"/xu-ly/{incoming}/y-kien", page, text="Thống nhất nội dung dự thảo, lưu ý thời hạn.")
    assert opinion.status_code == 303
    # Opening the page is reading it (gateway/handling.py): the reader's row gets its time, nothing left to confirm.
    page = clerk.get(f"/xu-ly/{incoming}").text
    assert "Xác nhận đã đọc" not in page
    reader_row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S) if "Để biết" in r)
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d</td></tr>", reader_row), reader_row

    # The main handler: waiting needs a reason, then resumes, links a document and forwards.
    page = specialist.get(f"/xu-ly/{incoming}").text
    assert "Thống nhất nội dung dự thảo, lưu ý thời hạn." in page.split("Lịch sử xử lý", 1)[1]
    no_reason = post(specialist, f"/xu-ly/{incoming}/tam-dung", page, note="")
    assert no_reason.status_code == 422 and "Phải ghi chú lý do tạm dừng chờ" in no_reason.text
    waiting = post(specialist, f"/xu-ly/{incoming}/tam-dung", page, note="Chờ ý kiến Sở Tư pháp")
    assert waiting.status_code == 303
    page = specialist.get(f"/xu-ly/{incoming}").text
    assert "Tạm dừng chờ" in page and "Chờ ý kiến Sở Tư pháp" in page and "Tiếp tục xử lý" in page
    assert post(specialist, f"/xu-ly/{incoming}/tiep-tuc", page).status_code == 303
    page = specialist.get(f"/xu-ly/{incoming}").text
    assert "Đang xử lý" in page and 'action="/xu-ly/' + incoming + '/tam-dung"' in page
    linked = post(specialist, f"/xu-ly/{incoming}/lien-ket", page, kind="outgoing", target_id="vb-di-lien-quan-01")
    assert linked.status_code == 303
    page = specialist.get(linked.headers["location"]).text
    assert 'href="/van-ban/vb-di-lien-quan-01"' in page
    forwarded = post(specialist, f"/xu-ly/{incoming}/chuyen", page, to_user_id=option_value(
        page, "to_user_id", "Phan Thị Hằng"), note="Chuyển trưởng phòng kết luận")
    assert forwarded.status_code == 303
    page = specialist.get(f"/xu-ly/{incoming}").text
    assert "Chuyển xử lý — cho Phan Thị Hằng" in page and "Lưu tham khảo" not in page

    # The next handler closes it; no action needs a reason.
    page = head.get(f"/xu-ly/{incoming}").text
    no_reason = post(head, f"/xu-ly/{incoming}/ket-thuc", page, reason="  ")
    assert no_reason.status_code == 422 and "Phải ghi lý do" in no_reason.text
    closed = post(head, f"/xu-ly/{incoming}/ket-thuc", page, reason="Sở Tư pháp đã có ý kiến tổng hợp")
    assert closed.status_code == 303
    page = head.get(closed.headers["location"]).text
    assert "Hoàn thành" in page and "Không cần xử lý: Sở Tư pháp đã có ý kiến tổng hợp" in page
    assert "Kết thúc, không cần xử lý" in page.split("Lịch sử xử lý", 1)[1]
