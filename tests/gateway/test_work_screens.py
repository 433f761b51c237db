"""Tasks, internal notices, delegation and the progress view through the screens, over HTTP against the real
deployment (Sở Nội vụ Tuyên Quang, 000.00.09.H60): the leader assigns a task, the specialist reports progress,
the coordinator comments but may not report progress, the leader closes it; a notice to everyone and who read it;
a delegation for a period, then ended; the progress view is for leaders and department heads only."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

from gateway.accounts import account_name
from gateway.work import NOTICES_PER_PAGE
from services.common.clock import now_vn
from tests.gateway.test_handling_flow import home_panel, login, option_value, post, section

LEADER, HEAD = account_name("Trịnh Quang Huy", "snv"), account_name("Bùi Thanh Sơn", "tccb")
SPECIALIST = account_name("Ngô Thị Mai", "tccb")


def test_task_assigned_progressed_commented_and_closed(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    leader, head, specialist = (login(deployment, base, u) for u in (LEADER, HEAD, SPECIALIST))
    title = f"Rà soát quy chế công tác văn thư ({secrets.token_hex(3)})"

    form = leader.get("/cong-viec").text
    assert "Tạo công việc" in form
    specialist_id = option_value(form, "assignee", "Ngô Thị Mai")
    head_id = option_value(form, "coordinators", "Bùi Thanh Sơn")
    due = (date.today() + timedelta(days=10)).isoformat()
    created = post(leader, "/cong-viec", form, title=title, assignee=specialist_id, coordinators=[head_id],
                   description="Báo cáo kết quả rà soát", due=due, priority="1")
    assert created.status_code == 303, created.text[:1000]
    task_url = created.headers["location"].split("?")[0]
    page = leader.get(created.headers["location"]).text
    assert "Đã tạo công việc." in page and title in page and "Ngô Thị Mai" in page
    assert date.fromisoformat(due).strftime("%d/%m/%Y") in page

    assert title in home_panel(specialist, "Công việc", title)
    page = specialist.get(task_url).text
    assert f'action="{task_url}/tien-do"' in page
    updated = post(specialist, f"{task_url}/tien-do", page, progress="60", note="Đã rà soát 3/5 quy chế")
    assert updated.status_code == 303
    operation = re.search(rf'action="{task_url}/y-kien">\s*<input[^>]*csrf_token[^>]*>'
                          r'<input type="hidden" name="operation" value="([^"]+)"', page).group(1)
    for _click in range(2):     # "Gửi ý kiến" clicked twice on one page (or a slow network's resend): one opinion
        commented = post(specialist, f"{task_url}/y-kien", page, text="Đề nghị phòng phối hợp góp ý",
                         operation=operation)
        assert commented.status_code == 303
    page = specialist.get(task_url).text
    assert "60%" in page and "Đã rà soát 3/5 quy chế" in page and page.count("Đề nghị phòng phối hợp góp ý") == 1
    assert operation not in page    # the page drawn again is a new operation

    page = head.get(task_url).text
    assert "Đề nghị phòng phối hợp góp ý" in page and f'action="{task_url}/tien-do"' not in page
    refused = post(head, f"{task_url}/tien-do", page, progress="100")
    assert refused.status_code == 403 and "Chỉ người được giao mới cập nhật tiến độ" in refused.text

    closed = post(leader, f"{task_url}/ket-thuc", leader.get(task_url).text, note="Hoàn thành tốt")
    assert closed.status_code == 303
    page = leader.get(closed.headers["location"]).text
    assert "Đã kết thúc công việc." in page and "Đã kết thúc" in page and "Hoàn thành tốt" in page
    assert title not in specialist.get("/cong-viec").text
    assert title in specialist.get("/cong-viec?da-ket-thuc=1").text


def test_notice_to_everyone_with_read_receipts(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    leader, specialist = login(deployment, base, LEADER), login(deployment, base, SPECIALIST)
    title = f"Lịch họp giao ban tháng 12 ({secrets.token_hex(3)})"

    assert "Đăng thông báo" not in specialist.get("/thong-bao").text  # specialists read, they do not publish
    form = leader.get("/thong-bao").text
    published = post(leader, "/thong-bao", form, title=title, body="Họp lúc 8 giờ sáng thứ Hai tại phòng họp số 1.")
    assert published.status_code == 303, published.text[:1000]
    notice_url = published.headers["location"].split("?")[0]
    page = leader.get(notice_url).text
    not_read = page.split("Chưa đọc", 1)[1]
    assert "Ngô Thị Mai" in not_read

    assert title in home_panel(specialist, "Thông báo nội bộ chưa đọc", title)
    page = specialist.get(notice_url).text
    assert "Họp lúc 8 giờ sáng thứ Hai" in page and "Tình hình đọc" not in page
    # the panel itself (its whole list, "Xem tất cả", holds read notices too)
    assert title not in section(specialist.get("/").text, "Thông báo nội bộ chưa đọc")

    page = leader.get(notice_url).text
    read = re.search(r"<h3>Đã đọc.*?</ul>", page, re.S).group(0)
    assert "Ngô Thị Mai" in read
    assert "Ngô Thị Mai" not in re.search(r"<h3>Chưa đọc.*?</ul>", page, re.S).group(0)



def test_notices_screen_offers_the_next_page(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    leader, specialist = login(deployment, base, LEADER), login(deployment, base, SPECIALIST)
    batch = secrets.token_hex(3)
    form = leader.get("/thong-bao").text
    for number in range(NOTICES_PER_PAGE + 1):   # one more than a page, the newest of the agency
        assert post(leader, "/thong-bao", form, title=f"Thông báo {batch} số {number:02d}").status_code == 303

    first = specialist.get("/thong-bao").text
    assert f"Thông báo {batch} số {NOTICES_PER_PAGE:02d}" in first and f"Thông báo {batch} số 00" not in first
    assert '<a href="/thong-bao?trang=2">Trang sau</a>' in first and "Trang trước" not in first
    second = specialist.get("/thong-bao?trang=2").text
    assert f"Thông báo {batch} số 00" in second and f"Thông báo {batch} số 01" not in second
    assert '<a href="/thong-bao?trang=1">Trang trước</a>' in second
    refused = specialist.get("/thong-bao?trang=abc")
    assert refused.status_code == 422 and "“Trang” phải là một số." in refused.text


def test_delegation_for_a_period_then_ended_and_progress_view_is_for_leaders(deployment):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    leader, head, specialist = (login(deployment, base, u) for u in (LEADER, HEAD, SPECIALIST))

    form = leader.get("/uy-quyen").text
    head_id = option_value(form, "delegate_user_id", "Bùi Thanh Sơn")
    start = now_vn().replace(second=0, microsecond=0) - timedelta(minutes=1)
    end = start + timedelta(days=3)
    made = post(leader, "/uy-quyen", form, delegate_user_id=head_id, starts_at=start.strftime("%Y-%m-%dT%H:%M"),
                ends_at=end.strftime("%Y-%m-%dT%H:%M"), scopes=["assign"], note="Đi công tác")
    assert made.status_code == 303, made.text[:1000]
    page = leader.get(made.headers["location"]).text
    row = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "Bùi Thanh Sơn" in r and "Kết thúc ủy quyền" in r]
    assert row and "Đang hiệu lực" in row[-1] and "Phân công, bút phê" in row[-1]
    assert end.strftime("%d/%m/%Y %H:%M") in row[-1]
    assert "Đang hiệu lực" in head.get("/uy-quyen").text  # the delegate sees the delegation too

    refused = post(specialist, "/uy-quyen", specialist.get("/uy-quyen").text, delegate_user_id=head_id,
                   starts_at=start.strftime("%Y-%m-%dT%H:%M"), ends_at=end.strftime("%Y-%m-%dT%H:%M"),
                   scopes=["assign"])
    assert refused.status_code == 403

    delegation_id = re.search(r'action="/uy-quyen/(\d+)/ket-thuc"', row[-1]).group(1)
    ended = post(leader, f"/uy-quyen/{delegation_id}/ket-thuc", page)
    assert ended.status_code == 303
    page = leader.get(ended.headers["location"]).text
    assert "Đã kết thúc ủy quyền." in page
    assert f'action="/uy-quyen/{delegation_id}/ket-thuc"' not in page

    progress = leader.get("/tien-do")
    assert progress.status_code == 200 and "Tiến độ xử lý văn bản đến" in progress.text
    assert head.get("/tien-do").status_code == 200
    denied = specialist.get("/tien-do")
    assert denied.status_code == 403 and "Bạn không có quyền" in denied.text
