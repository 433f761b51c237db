"""Leaders acting on assigned work and the handover of a leaver, in Chromium against the real deployment (Đà Nẵng).

The leader (Lê Quang Vinh) has assigned a document to the specialist; from the progress page he extends its
deadline with a reason and adds a directive; he delegates "theo dõi, đôn đốc" to the clerk, who opens the progress
page from the delegation page and chases the handler in the leader's name; the handler gets the notice; a chase
over the REST API with the same Idempotency-Key is recorded once; finally the leader takes the item back and it
waits for his directive again.

A newcomer gets two tasks; the leader moves one of them to a colleague and lets the newcomer download their data
(a ZIP with an index); the administrator locks the account, is told work remains, and hands the rest over in one
step. Screenshots in tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import zipfile
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import expect

from services.common.clock import now_vn
from tests import screenshots
from tests.e2e.helpers import browser_home, csrf_of, demo_home, signed_in, wait_for
from tests.gateway.test_admin_deployment import _actor, _assign_task
from tests.gateway.test_handling_flow import CLERK, LEADER, SPECIALIST, login, option_value, post, send_and_register

pytestmark = pytest.mark.browser


def assigned_document(deployment, base: str, subject: str) -> tuple[str, httpx.Client]:
    """A document registered in Đà Nẵng, submitted to the leader and assigned to the specialist (over HTTP)."""
    _sender, _url, incoming = send_and_register(deployment, base, subject)
    clerk, leader = login(deployment, base, CLERK), login(deployment, base, LEADER)
    wait_for(lambda: subject in clerk.get("/xu-ly?hop=cho-trinh").text, 180, "the document in 'chờ trình'")
    page = clerk.get(f"/xu-ly/{incoming}").text
    assert post(clerk, f"/xu-ly/{incoming}/trinh", page,
                to_user_id=option_value(page, "to_user_id", "Lê Quang Vinh")).status_code == 303
    page = leader.get(f"/xu-ly/{incoming}").text
    directed = post(leader, f"/xu-ly/{incoming}/but-phe", page, directive="Đồng chí Phúc tham mưu trả lời.",
                    main=option_value(page, "main", "Huỳnh Văn Phúc"),
                    deadline=(now_vn().date() + timedelta(days=3)).isoformat())
    assert directed.status_code == 303, directed.text[:1000]
    clerk.close()
    return incoming, leader


def test_leader_and_delegated_supervisor_act_on_assigned_work(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    subject = f"Về việc báo cáo tiến độ giải ngân vốn đầu tư công ({secrets.token_hex(3)})"
    incoming, leader_http = assigned_document(deployment, base, subject)
    shots = []
    new_deadline = now_vn().date() + timedelta(days=10)

    leader = demo_home(browser, base, deployment, LEADER)
    leader.goto(f"{base}/tien-do")
    leader.get_by_role("link", name="Phòng Tổng hợp", exact=True).click()
    row = leader.get_by_role("row").filter(has_text=subject)
    shots.append(artifacts_dir / "dieu-hanh-01-tien-do.png")
    leader.screenshot(path=str(shots[-1]), full_page=True)
    row.get_by_role("link", name="Gia hạn").click()
    leader.get_by_label("Hạn xử lý mới").fill(new_deadline.isoformat())
    leader.get_by_label("Lý do gia hạn, rút ngắn").fill("Chờ số liệu của Kho bạc Nhà nước")
    leader.get_by_role("button", name="Điều chỉnh hạn").click()
    expect(leader.get_by_role("status")).to_have_text("Đã điều chỉnh hạn xử lý.")
    expect(leader.locator("dd").filter(has_text="đã điều chỉnh")).to_contain_text(new_deadline.strftime("%d/%m/%Y"))
    leader.get_by_label("Ý kiến chỉ đạo thêm").fill("Phối hợp Sở Tài chính để thống nhất số liệu.")
    leader.get_by_role("button", name="Gửi chỉ đạo").click()
    expect(leader.get_by_role("status")).to_have_text("Đã gửi ý kiến chỉ đạo thêm.")
    timeline = leader.locator("ol.timeline")
    expect(timeline).to_contain_text("Điều chỉnh hạn xử lý")
    expect(timeline).to_contain_text("Chờ số liệu của Kho bạc Nhà nước")
    expect(timeline).to_contain_text("Phối hợp Sở Tài chính để thống nhất số liệu.")
    shots.append(artifacts_dir / "dieu-hanh-02-gia-han-chi-dao.png")
    leader.screenshot(path=str(shots[-1]), full_page=True)

    # The leader delegates supervising (only that scope) to the clerk for a day.
    leader.goto(f"{base}/uy-quyen")
    leader.get_by_label("Người được ủy quyền").select_option(label="Trần Văn Nam (Văn thư)")
    start = now_vn().replace(second=0, microsecond=0) - timedelta(minutes=1)
    leader.get_by_label("Từ", exact=True).fill(start.strftime("%d/%m/%Y %H:%M"))
    leader.get_by_label("Theo dõi tiến độ các đơn vị, đôn đốc").check()
    leader.get_by_role("button", name="Ủy quyền", exact=True).click()
    expect(leader.get_by_role("status")).to_have_text("Đã ủy quyền.")

    supervisor = demo_home(browser, base, deployment, CLERK)
    supervisor.get_by_role("link", name="Ủy quyền").click()
    supervisor.get_by_role("link", name=re.compile("Xem tiến độ các đơn vị")).click()
    supervisor.get_by_role("link", name="Phòng Tổng hợp", exact=True).click()
    supervisor.get_by_role("row").filter(has_text=subject).get_by_role("link", name="Đôn đốc").click()
    supervisor.get_by_label("Nội dung đôn đốc").fill("Đề nghị báo cáo trước 16 giờ hôm nay.")
    supervisor.get_by_role("button", name="Đôn đốc", exact=True).click()
    expect(supervisor.get_by_role("status")).to_have_text("Đã đôn đốc người xử lý.")
    expect(supervisor.locator("ol.timeline li").last).to_contain_text("(thay mặt Lê Quang Vinh)")
    expect(supervisor.locator("#han-xu-ly")).to_have_count(0)  # supervising is not assigning
    shots.append(artifacts_dir / "dieu-hanh-03-don-doc-uy-quyen.png")
    supervisor.screenshot(path=str(shots[-1]), full_page=True)

    handler = login(deployment, base, SPECIALIST)
    reminders = handler.get("/nhac-viec").text
    assert "Đôn đốc xử lý văn bản" in reminders and subject in reminders

    # Over the REST API, the same Idempotency-Key chases once.
    csrf = csrf_of(leader_http.get("/").text)
    for _ in range(2):
        r = leader_http.post(f"/api/v1/handling/{incoming}/chase", json={"note": "Nhắc qua API"},
                             headers={"x-csrf-token": csrf, "Idempotency-Key": f"chase-{incoming}"})
        assert r.status_code == 200, r.text
    assert [e["note"] for e in r.json()["history"] if e["action"] == "chased"].count("Nhắc qua API") == 1

    leader.goto(f"{base}/xu-ly/{incoming}")
    leader.get_by_label("Lý do thu hồi").fill("Lãnh đạo giao đơn vị khác")
    leader.get_by_role("button", name="Thu hồi văn bản").click()
    expect(leader.get_by_role("status")).to_have_text("Đã thu hồi văn bản.")
    expect(leader.locator("h1 .badge").last).to_have_text("Chờ phân công")
    expect(leader.locator("#but-phe")).to_be_visible()  # it waits for his directive again
    leader_http.close()
    handler.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`


ADMIN = "ngocvt.vpdn"


def newcomer_with_two_tasks(deployment, base: str) -> tuple[str, str, str, str, list[str]]:
    """An account made by the administrator (over HTTP), its password changed, and two tasks from the leader."""
    admin, leader = login(deployment, base, ADMIN), login(deployment, base, LEADER)
    given = "".join(secrets.choice("bcdghklmnpqrstvx") for _ in range(7)).capitalize()
    page = admin.get("/quan-tri/nguoi-dung").text
    created = post(admin, "/quan-tri/nguoi-dung", page, full_name=f"Đặng Văn {given}", unit="thdn",
                   position="Chuyên viên", roles=["specialist"])
    username = re.search(r'class="issued-username">([^<]+)<', created.text).group(1)
    password = re.search(r'class="issued-password">([^<]+)<', created.text).group(1)
    user_id = re.search(rf'href="/quan-tri/nguoi-dung/([^"]+)">{re.escape(username)}<',
                        admin.get("/quan-tri/nguoi-dung").text).group(1)
    newcomer = signed_in(base, username, password)
    new_password = f"Nv-{secrets.token_urlsafe(12)}-7"  # always 3 of the 4 classes the policy asks for
    changed = newcomer.post("/doi-mat-khau", data={"csrf_token": csrf_of(newcomer.get("/doi-mat-khau").text),
                                                  "old_password": password, "new_password": new_password,
                                                  "confirm_password": new_password})
    assert changed.status_code == 303, changed.text[:1000]
    titles = [f"Rà soát hồ sơ lưu trữ {given} ({n})" for n in (1, 2)]
    for title in titles:
        _assign_task(deployment, _actor(leader), user_id, title)
    for c in (admin, leader, newcomer):
        c.close()
    return user_id, username, f"Đặng Văn {given}", new_password, titles


def test_leaver_data_download_single_move_and_handover_on_lock(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    user_id, username, name, password, (first, second) = newcomer_with_two_tasks(deployment, base)
    shots = []

    leader = demo_home(browser, base, deployment, LEADER)
    leader.goto(f"{base}/tien-do")
    leader.locator("#ban-giao select[name=nguoi]").select_option(label=name)
    leader.get_by_role("button", name="Xem công việc đang xử lý").click()
    expect(leader.locator("h1")).to_contain_text(f"Bàn giao công việc của {name}")
    row = leader.get_by_role("row").filter(has_text=first)
    row.get_by_label("Chuyển cho").select_option(label="Phan Thị Hằng (Trưởng phòng Tổng hợp)")
    row.get_by_label("Lý do chuyển").fill("Phòng cần xong trong tuần")
    row.get_by_role("button", name="Chuyển việc này").click()
    expect(leader.get_by_role("status")).to_have_text("Đã chuyển công việc.")
    expect(leader.get_by_role("row").filter(has_text=first)).to_have_count(0)
    leader.get_by_role("button", name="Cho phép tải dữ liệu").click()
    expect(leader.get_by_role("status")).to_have_text("Đã cho phép tải dữ liệu.")
    shots.append(artifacts_dir / "ban-giao-01-lanh-dao.png")
    leader.screenshot(path=str(shots[-1]), full_page=True)

    leaver = browser_home(browser, base, username, password)
    leaver.goto(f"{base}/tai-khoan")
    leaver.get_by_role("link", name="Dữ liệu đã xử lý của tôi").click()
    with leaver.expect_download() as download:
        leaver.get_by_role("link", name="Tải dữ liệu (ZIP)").click()
    archive = zipfile.ZipFile(download.value.path())
    index = list(csv.reader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert index[0][:3] == ["Loại", "Mã", "Trích yếu / tên"]
    assert [r[0] for r in index if r[2] == second] == ["Công việc"]  # still theirs; the first one moved away
    assert "du-lieu.json" in archive.namelist()

    admin = demo_home(browser, base, deployment, ADMIN)
    admin.goto(f"{base}/quan-tri/nguoi-dung/{user_id}")
    expect(admin.locator("#cong-viec")).to_contain_text("còn 1 việc đang xử lý")
    admin.get_by_role("button", name="Khóa tài khoản").click()
    expect(admin.get_by_role("status")).to_contain_text("còn công việc đang xử lý")
    shots.append(artifacts_dir / "ban-giao-02-khoa-con-viec.png")
    admin.screenshot(path=str(shots[-1]), full_page=True)
    admin.get_by_role("link", name="Bàn giao công việc").click()
    admin.get_by_label("Người nhận bàn giao").select_option(label="Huỳnh Văn Phúc (Chuyên viên)")
    admin.get_by_label("Ghi chú").fill("Nghỉ việc")
    admin.get_by_role("button", name="Bàn giao toàn bộ").click()
    expect(admin.get_by_role("status")).to_have_text("Đã bàn giao toàn bộ công việc.")
    expect(admin.locator("#cong-viec-dang-mo")).to_contain_text("Không còn công việc nào đứng tên người này.")
    shots.append(artifacts_dir / "ban-giao-03-da-ban-giao.png")
    admin.screenshot(path=str(shots[-1]), full_page=True)

    phuc = login(deployment, base, SPECIALIST)
    tasks = phuc.get("/cong-viec").text
    assert second in tasks
    task_url = re.search(rf'href="(/cong-viec/\d+)">{re.escape(second)}', tasks).group(1)
    assert "Bàn giao" in phuc.get(task_url).text and "Nghỉ việc" in phuc.get(task_url).text
    phuc.close()
    screenshots.publish(shots)

